"""The job journal: JSON lines under results/ENV/JOB_ID/, written the moment things happen.

The first line describes the job (device, circuits, shots, estimate); then one
line per created task, flushed and fsynced before the next task is created, so
`resume` can finish an interrupted batch without creating any task twice. A hybrid
job (``kind: hybrid``) has one such line instead: its Braket job ARN.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional

from .devices import LOCAL
from .errors import UsageError

if TYPE_CHECKING:
    from .backends import TaskOutcome

JOURNAL_NAME = "journal.jsonl"
SUMMARY_NAME = "summary.json"


@dataclass
class JobRecord:
    """A job as its journal tells it."""

    directory: Path
    header: dict
    task_ids: dict[int, str] = field(default_factory=dict)

    @property
    def job_id(self) -> str:
        return self.header["job_id"]

    discarded: bool = False
    braket_job_arn: Optional[str] = None
    """A hybrid job's ARN at Braket, once CreateJob returned it."""

    @property
    def is_hybrid(self) -> bool:
        return self.header.get("kind") == "hybrid"

    @property
    def summary(self) -> Optional[dict]:
        """The written summary (complete, or partial after an interruption), if any."""
        path = self.directory / SUMMARY_NAME
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @property
    def complete(self) -> bool:
        """Every task reached a final state and the results are written (summaries without the flag predate it)."""
        summary = self.summary
        return summary is not None and summary.get("complete", True)

    @property
    def resume_command(self) -> str:
        """The command that collects this job."""
        return f"python -m jobs resume --env {self.header.get('environment', 'ENV')} {self._name}"

    @property
    def cancel_command(self) -> "str | None":
        """The command that stops this job's unfinished tasks (or hybrid job) at Braket; None on the local simulator."""
        return None if self.runs_locally else f"python -m jobs cancel {self._name}"

    @property
    def _name(self) -> str:
        """The job id the commands name (its folder's name for a journal without one)."""
        return self.header.get("job_id", self.directory.name)

    @property
    def runs_locally(self) -> bool:
        return self.header.get("device", {}).get("arn") == LOCAL.arn

    def indices_to_create(self, kept: Mapping[int, object]) -> list[int]:
        """Tasks a resumed run creates: not ``kept`` from an earlier run and, on Braket, not journaled
        (local tasks live only in the process that ran them, so they run again)."""
        created = {} if self.runs_locally else self.task_ids
        return [i for i in range(len(self.header["circuits"])) if i not in created and i not in kept]

    def completed_outcomes(self) -> dict[int, "TaskOutcome"]:
        """Tasks a partial summary already holds as COMPLETED, with their raw results: kept on resume."""
        from .backends import TaskOutcome

        outcomes = {}
        for task in (self.summary or {}).get("tasks", []):
            if task.get("state") != "COMPLETED" or task.get("counts") is None:
                continue
            raw_path = self.directory / "raw" / f"task-{task['index']:04d}.json"
            raw = json.loads(raw_path.read_text(encoding="utf-8")) if raw_path.is_file() else None
            outcomes[int(task["index"])] = TaskOutcome(task["id"], "COMPLETED", task["counts"], raw_result=raw,
                                                       result_types=task.get("result_types"))
        return outcomes


class Journal:
    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_NAME
        self._lock = threading.Lock()

    def start(self, header: dict) -> None:
        self.path.parent.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.path.parent.mkdir()  # a new job's own folder: never another job's results
        except FileExistsError:
            raise UsageError(f"{self.path.parent} already exists: a new job never writes into another job's folder") from None
        self._append({"event": "job", **header})

    def discarded(self) -> None:
        self._append({"event": "discarded"})

    def task_created(self, index: int, task_id: str) -> None:
        self._append({"event": "task", "index": index, "id": task_id})

    def braket_job_created(self, job_arn: str) -> None:
        self._append({"event": "braket_job", "arn": job_arn})

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
    discarded = False
    braket_job_arn = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write: the task it named is re-found by its client token
        if entry.get("event") == "job":
            header = {k: v for k, v in entry.items() if k != "event"}
        elif entry.get("event") == "task":
            task_ids[int(entry["index"])] = entry["id"]
        elif entry.get("event") == "braket_job":
            braket_job_arn = entry["arn"]
        elif entry.get("event") == "discarded":
            discarded = True
    return JobRecord(directory, header, task_ids, discarded, braket_job_arn)


def find_jobs(results_root: Path, environment: str) -> list[JobRecord]:
    """Every journaled job of ``environment``, oldest first (job ids sort by creation time)."""
    base = results_root / environment
    if not base.is_dir():
        return []
    return [read_job(d) for d in sorted(base.iterdir()) if (d / JOURNAL_NAME).is_file()]
