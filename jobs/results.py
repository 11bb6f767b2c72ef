"""A job's results on disk: raw result JSON, counts as CSV, a histogram PNG and a summary.

Every file is written atomically (a temporary file in the same folder, then
``os.replace``), so an interrupted write never leaves a truncated file behind:
readers see the previous version or the new one.

Each task has its own label (:func:`task_labels`): its circuit name, with
`` #<task index>`` appended only when several tasks share that name. The label
names the task's rows in counts.csv and its panel in histogram.png.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MAX_PLOTTED_CIRCUITS = 6  # panels in histogram.png; the others are in counts.csv
MAX_BARS = 16  # outcomes drawn per panel; the rest become one "other (K outcomes)" bar
COUNTS_COLUMNS = ["task_index", "task_id", "circuit", "bitstring", "count", "label"]
_TITLE_CHARS = 70  # longer labels are shortened in the middle in panel titles (counts.csv has them whole)


def task_labels(tasks: list[dict]) -> list[str]:
    """One label per task, in order: its circuit name, made unique with `` #<index>`` when names repeat.

    ``a/c.qasm`` and ``b/c.qasm`` stay as they are; ``bell`` twice (tasks 0 and 1)
    becomes ``bell #0`` and ``bell #1``. A task without a circuit name is ``task <index>``.
    """
    indices = [task.get("index", position) for position, task in enumerate(tasks)]
    labels = [str(task.get("circuit") or f"task {index}") for task, index in zip(tasks, indices)]
    for _ in range(3):  # a suffixed label can collide with a circuit literally named "bell #1": suffix again
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        if not repeated:
            return labels
        labels = [f"{label} #{index}" if label in repeated else label for label, index in zip(labels, indices)]
    # Only reachable with duplicate task indices: fall back on positions, which are unique.
    return [f"{label} @{position}" for position, label in enumerate(labels)]


@dataclass(frozen=True)
class Panel:
    """What one histogram panel shows: a task's top outcomes, plus the rest as one bar."""

    task_index: int
    label: str
    shots: int  # the sum of the task's counts
    bars: list[tuple[str, int]]  # (bitstring, count) in bitstring order; the "other" bar excluded
    other_outcomes: int = 0  # distinct outcomes folded into the "other" bar
    other_count: int = 0  # their total count

    @property
    def other_label(self) -> Optional[str]:
        return f"other ({self.other_outcomes} outcomes)" if self.other_outcomes else None

    @property
    def all_bars(self) -> list[tuple[str, int]]:
        """Every bar as drawn, left to right."""
        other = [(self.other_label, self.other_count)] if self.other_outcomes else []
        return self.bars + other


def histogram_panels(tasks: list[dict], max_bars: int = MAX_BARS) -> list[Panel]:
    """One panel per task with counts, in task order (tasks without counts are skipped).

    A panel keeps the ``max_bars`` most frequent outcomes (ties broken by bitstring),
    drawn in bitstring order, and folds the others into one "other" bar.
    """
    panels = []
    for task, label in zip(tasks, task_labels(tasks)):
        counts = task.get("counts")
        if not counts:
            continue
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept, rest = ranked[:max_bars], ranked[max_bars:]
        panels.append(
            Panel(
                task_index=task.get("index", 0),
                label=label,
                shots=sum(counts.values()),
                bars=sorted(kept),
                other_outcomes=len(rest),
                other_count=sum(count for _, count in rest),
            )
        )
    return panels


def histogram_figure(tasks: list[dict], title: str, max_panels: int = MAX_PLOTTED_CIRCUITS, max_bars: int = MAX_BARS) -> "Figure":
    """The histogram as a matplotlib Figure (headless: no pyplot, no display, no global backend change)."""
    from matplotlib.figure import Figure

    panels = histogram_panels(tasks, max_bars)
    shown = panels[:max_panels]
    notes = []
    if len(panels) > len(shown):
        notes.append(f"+{len(panels) - len(shown)} more tasks in counts.csv")
    without_counts = sum(1 for task in tasks if not task.get("counts"))
    if without_counts:
        notes.append(f"{without_counts} task{'s' if without_counts > 1 else ''} without counts (see summary.json)")

    rows = max(1, len(shown))
    figure = Figure(figsize=(_WIDTH, 1.0 + 3.0 * rows))  # no layout engine: _place_panels computes it in one pass
    axes = [figure.add_axes((0, 0, 1, 1)) for _ in range(rows)]
    below_axes = []  # inches under each panel for its tick labels
    for axis, panel in zip(axes, shown):
        bars = panel.all_bars
        names = [name for name, _ in bars]
        positions = range(len(bars))
        colors = ["#4063d8"] * len(panel.bars) + ["#9a9a9a"] * (len(bars) - len(panel.bars))
        container = axis.bar(positions, [count for _, count in bars], color=colors)
        axis.bar_label(container, fontsize=7, padding=1)
        axis.set_xticks(list(positions), names)
        pad = max(0.6, (6 - len(bars)) / 2)  # a panel of 1 or 2 outcomes keeps slim bars
        axis.set_xlim(-pad, len(bars) - 1 + pad)
        widest = max(_text_width(name, _TICK_SIZE) for name in names)
        between_bars = (_WIDTH - 1.5) / (len(bars) - 1 + 2 * pad)  # inches, with a generous left margin
        crowded = len(bars) > 8 or widest > 0.9 * between_bars  # side by side the labels would touch
        axis.tick_params(axis="x", labelsize=_TICK_SIZE, rotation=90 if crowded else 0)
        axis.margins(y=0.12)  # room for the bar labels
        axis.set_ylabel("count")
        # y given: no tight-bbox pass to lift the title over ticks on top (there are none).
        axis.set_title(f"{_shorten(panel.label)} — {panel.shots} shots", fontsize=_TEXT_SIZE, y=1.0)
        below_axes.append(_TICK_SPACE + (widest if crowded else _line(_TICK_SIZE)))
    if not shown:
        axes[0].text(0.5, 0.5, "no completed task", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
        below_axes.append(0.0)
    _place_panels(figure, axes, below_axes, top=_EDGE + _line(11), bottom=_EDGE + (_line(9) if notes else 0.0))
    height = figure.get_figheight()
    figure.suptitle(title, fontsize=11, y=1 - _EDGE / height, va="top")
    if notes:
        figure.supxlabel("; ".join(notes), fontsize=9, color="#444444", y=_EDGE / height, va="bottom")
    return figure


# Layout, in inches: matplotlib's constrained layout finds the same margins by measuring every
# artist twice per save (half of a histogram's time); here they follow from the few texts that set them.
_WIDTH = 8.0
_EDGE = 0.08  # around the figure and between panels
_TICK_SIZE = 8  # points, x tick labels
_TEXT_SIZE = 10  # points, matplotlib's default: y tick labels, the y label, panel titles
_TICK_SPACE = (3.5 + 3.5) / 72  # tick length and pad (matplotlib's defaults)
_LABEL_PAD = 4 / 72  # between the y label and the tick labels (matplotlib's default)
_TITLE_SPACE = (_TEXT_SIZE * 1.25 + 6) / 72  # a panel title and its pad
_MIN_PANEL = 1.5


def _line(points: float) -> float:
    """The height of one line of text at ``points``, in inches."""
    return points * 1.25 / 72


def _text_width(text: str, points: float) -> float:
    """The width of ``text`` in matplotlib's default font at ``points``, in inches."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    return text_to_path.get_text_width_height_descent(text, FontProperties(size=points), ismath=False)[0] / 72


def _place_panels(figure: "Figure", axes: list, below_axes: list[float], top: float, bottom: float) -> None:
    """Stack the panels from ``top`` to ``bottom`` (inches from the figure's edges), equal in height,
    each with room above for its title and ``below_axes[i]`` under it for its tick labels; and
    one left margin for the widest y tick labels and the y label. The figure grows taller if
    long rotated labels would leave a panel less than _MIN_PANEL high."""
    tick_labels = 0.0
    for axis in axes:
        if axis.axison:
            locations = axis.yaxis.get_major_locator()()
            texts = axis.yaxis.get_major_formatter().format_ticks(locations)
            tick_labels = max([tick_labels, *(_text_width(text, _TEXT_SIZE) for text in texts)])
    left = _EDGE + _line(_TEXT_SIZE) + _LABEL_PAD + tick_labels + _TICK_SPACE
    right = _EDGE + 0.1
    decorations = sum(_TITLE_SPACE + below for below in below_axes) + _EDGE * (len(axes) - 1)
    width, height = figure.get_size_inches()
    height = max(height, top + bottom + decorations + _MIN_PANEL * len(axes))
    figure.set_size_inches(width, height)
    panel = (height - top - bottom - decorations) / len(axes)
    y = height - top
    for axis, below in zip(axes, below_axes):
        y -= _TITLE_SPACE + panel
        axis.set_position((left / width, y / height, (width - left - right) / width, panel / height))
        y -= below + _EDGE


def write_results(directory: Path, summary: dict, tasks: list[dict], raw_results: dict[int, dict]) -> dict[str, str]:
    """Write every artifact of a job (each atomically); return their paths by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    raw_dir = directory / "raw"
    raw_dir.mkdir(exist_ok=True)
    for index, raw in raw_results.items():
        write_text_atomically(raw_dir / f"task-{index:04d}.json", json.dumps(raw, indent=2, sort_keys=True) + "\n")

    counts_path = directory / "counts.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COUNTS_COLUMNS)
    for task, label in zip(tasks, task_labels(tasks)):
        for bits, count in (task.get("counts") or {}).items():
            writer.writerow([task["index"], task["id"], task["circuit"], bits, count, label])
    write_text_atomically(counts_path, buffer.getvalue())

    histogram_path = directory / "histogram.png"
    _plot(histogram_path, tasks, title=f"{summary['environment']} / {summary['device']['alias']} / {summary['job_id']}")

    paths = {"raw": str(raw_dir), "counts_csv": str(counts_path), "histogram_png": str(histogram_path)}
    summary_path = directory / "summary.json"  # last: its presence means the other files are written
    write_text_atomically(summary_path, json.dumps({**summary, "tasks": tasks, "files": paths}, indent=2, sort_keys=True) + "\n")
    return {**paths, "summary_json": str(summary_path)}


def _plot(path: Path, tasks: list[dict], title: str) -> None:
    figure = histogram_figure(tasks, title)
    _write_atomically(path, lambda handle: figure.savefig(handle, format="png", dpi=100))


def _shorten(label: str, limit: int = _TITLE_CHARS) -> str:
    """A long label cut in the middle, keeping its start and its end (the file name)."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 3
    return f"{label[:head]}…{label[len(label) - (limit - 1 - head):]}"


def write_text_atomically(path: Path, text: str) -> None:
    """``text`` (UTF-8) to ``path``, replacing it whole or not at all."""
    data = text.encode("utf-8")
    _write_atomically(path, lambda handle: handle.write(data))


def _write_atomically(path: Path, write: Callable) -> None:
    """Write through ``write(binary_handle)`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is created with the usual permissions (0666 minus the umask)
    and is removed if anything, Ctrl-C included, interrupts the write.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
