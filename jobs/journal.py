"""The job journal: JSON lines under results/ENV/JOB_ID/, written the moment things happen.

The first line describes the job (device, circuits, shots, estimate); then one
line per created task, flushed and fsynced before the next task is created, so
`resume` can finish an interrupted batch without creating any task twice.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

JOURNAL_NAME = "journal.jsonl"


@dataclass
class JobRecord:
    """A job as its journal tells it."""

    directory: Path
    header: dict
    task_ids: dict[int, str] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return self.header["job_id"]

    @property
    def complete(self) -> bool:
        return (self.directory / "summary.json").is_file()


class Journal:
    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_NAME
        self._lock = threading.Lock()

    def start(self, header: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._append({"event": "job", **header})

    def task_created(self, index: int, task_id: str) -> None:
        self._append({"event": "task", "index": index, "id": task_id})

    def _append(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


def read_job(directory: Path) -> JobRecord:
    path = directory / JOURNAL_NAME
    header: dict = {}
    task_ids: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write: the task it named is re-found by its client token
        if entry.get("event") == "job":
            header = {k: v for k, v in entry.items() if k != "event"}
        elif entry.get("event") == "task":
            task_ids[int(entry["index"])] = entry["id"]
    return JobRecord(directory, header, task_ids)


def find_jobs(results_root: Path, environment: str) -> list[JobRecord]:
    """Every journaled job of ``environment``, oldest first (job ids sort by creation time)."""
    base = results_root / environment
    if not base.is_dir():
        return []
    return [read_job(d) for d in sorted(base.iterdir()) if (d / JOURNAL_NAME).is_file()]
