"""A job's results on disk: raw result JSON, counts as CSV, a histogram PNG and a summary."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

MAX_PLOTTED_CIRCUITS = 6


def write_results(directory: Path, summary: dict, tasks: list[dict], raw_results: dict[int, dict]) -> dict[str, str]:
    """Write every artifact of a job; return their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    raw_dir = directory / "raw"
    raw_dir.mkdir(exist_ok=True)
    for index, raw in raw_results.items():
        (raw_dir / f"task-{index:04d}.json").write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")

    counts_path = directory / "counts.csv"
    with open(counts_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task_index", "task_id", "circuit", "bitstring", "count"])
        for task in tasks:
            for bits, count in (task.get("counts") or {}).items():
                writer.writerow([task["index"], task["id"], task["circuit"], bits, count])

    histogram_path = directory / "histogram.png"
    _plot(histogram_path, tasks, title=f"{summary['environment']} / {summary['device']['alias']} / {summary['job_id']}")

    paths = {"raw": str(raw_dir), "counts_csv": str(counts_path), "histogram_png": str(histogram_path)}
    summary_path = directory / "summary.json"
    summary_path.write_text(json.dumps({**summary, "tasks": tasks, "files": paths}, indent=2, sort_keys=True) + "\n")
    return {**paths, "summary_json": str(summary_path)}


def _plot(path: Path, tasks: list[dict], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    per_circuit: dict[str, Counter] = {}
    for task in tasks:
        if task.get("counts"):
            per_circuit.setdefault(task["circuit"], Counter()).update(task["counts"])
    shown = list(per_circuit.items())[:MAX_PLOTTED_CIRCUITS]
    figure, axes = plt.subplots(max(1, len(shown)), 1, figsize=(8, 3 * max(1, len(shown))), squeeze=False)
    for axis, (circuit, counts) in zip(axes[:, 0], shown):
        bits = sorted(counts)
        axis.bar(bits, [counts[b] for b in bits], color="#4063d8")
        axis.set_title(f"{circuit} ({sum(counts.values())} shots)")
        axis.set_ylabel("count")
        axis.tick_params(axis="x", rotation=90 if len(bits) > 8 else 0)
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no completed task", ha="center", va="center")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
