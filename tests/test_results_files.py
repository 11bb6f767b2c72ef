"""jobs.results: one label and one histogram panel per task, few bars per panel, atomic writes."""

from __future__ import annotations

import csv
import json
import os
import time

import pytest
from matplotlib.text import Text

from jobs import results
from jobs.results import MAX_BARS, MAX_PLOTTED_CIRCUITS, histogram_figure, histogram_panels, task_labels, write_results

SUMMARY = {"job_id": "job-1", "environment": "dev", "device": {"alias": "local"}, "shots": 1000, "complete": True}


def task(index, circuit, counts, state="COMPLETED"):
    shots = sum(counts.values()) if counts else 1000
    return {
        "index": index,
        "id": f"local-{index}",
        "circuit": circuit,
        "shots": shots,
        "state": state,
        "counts": counts,
        "failure_reason": None if counts is not None else "boom",
    }


def uniform(n_qubits, shots_per_outcome=None):
    """Every outcome of n qubits, with distinct-ish counts and ties (deterministic)."""
    return {format(i, f"0{n_qubits}b"): (shots_per_outcome or 1 + (i * 7) % 13) for i in range(2**n_qubits)}


def read_csv(directory):
    with open(directory / "counts.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def panel_titles(figure):
    return [axis.get_title() for axis in figure.axes if axis.get_title()]


def figure_texts(figure):
    """Every text the figure draws (suptitle, notes, titles, tick labels...)."""
    return [artist.get_text() for artist in figure.findobj(Text)]


def test_same_file_name_in_two_folders_gets_two_labels_rows_and_panels(tmp_path):
    tasks = [task(0, "a/c.qasm", {"00": 600, "11": 400}), task(1, "b/c.qasm", {"01": 1000})]
    assert task_labels(tasks) == ["a/c.qasm", "b/c.qasm"]

    write_results(tmp_path, SUMMARY, tasks, {})
    rows = read_csv(tmp_path)
    assert list(rows[0]) == ["task_index", "task_id", "circuit", "bitstring", "count", "label"]
    assert {(r["task_index"], r["label"]) for r in rows} == {("0", "a/c.qasm"), ("1", "b/c.qasm")}
    assert [(r["label"], r["bitstring"], r["count"]) for r in rows] == [
        ("a/c.qasm", "00", "600"),
        ("a/c.qasm", "11", "400"),
        ("b/c.qasm", "01", "1000"),
    ]

    panels = histogram_panels(tasks)
    assert [(p.label, p.shots, p.bars) for p in panels] == [
        ("a/c.qasm", 1000, [("00", 600), ("11", 400)]),
        ("b/c.qasm", 1000, [("01", 1000)]),
    ]
    figure = histogram_figure(tasks, "dev / local / job-1")
    assert len(figure.axes) == 2
    titles = panel_titles(figure)
    assert len(titles) == 2 and titles[0].startswith("a/c.qasm") and titles[1].startswith("b/c.qasm")
    assert all("1000 shots" in title for title in titles)


def test_same_circuit_twice_is_suffixed_by_task_index():
    tasks = [task(0, "bell", {"00": 1}), task(1, "bell", {"11": 1}), task(2, "ghz:3", {"000": 1})]
    assert task_labels(tasks) == ["bell #0", "bell #1", "ghz:3"]
    assert [p.label for p in histogram_panels(tasks)] == ["bell #0", "bell #1", "ghz:3"]


def test_labels_stay_unique_in_corner_cases():
    # A circuit literally named like a suffixed label, and a task without a circuit name.
    tasks = [task(0, "bell", {}), task(1, "bell", {}), task(2, "bell #1", {}), task(3, "", {})]
    labels = task_labels(tasks)
    assert len(set(labels)) == len(labels)
    assert labels[0] == "bell #0" and labels[3] == "task 3"
    assert task_labels([]) == []


def test_failed_tasks_have_a_label_but_no_rows_and_no_panel(tmp_path):
    tasks = [task(0, "bell", {"00": 5, "11": 5}), task(1, "bell", None, state="FAILED")]
    write_results(tmp_path, SUMMARY, tasks, {})
    assert [r["label"] for r in read_csv(tmp_path)] == ["bell #0", "bell #0"]
    assert [p.label for p in histogram_panels(tasks)] == ["bell #0"]
    figure = histogram_figure(tasks, "t")
    assert len(figure.axes) == 1
    assert any("1 task without counts" in text for text in figure_texts(figure))


def test_128_outcomes_become_the_top_bars_plus_one_other_bar():
    counts = uniform(7)
    assert len(counts) == 128
    tasks = [task(0, "h7", counts)]
    [panel] = histogram_panels(tasks)
    assert len(panel.bars) == MAX_BARS and len(panel.all_bars) == MAX_BARS + 1
    kept = dict(panel.bars)
    rest = {bits: n for bits, n in counts.items() if bits not in kept}
    assert panel.other_outcomes == len(rest) == 128 - MAX_BARS
    assert panel.other_count == sum(rest.values())
    assert panel.all_bars[-1] == (f"other ({128 - MAX_BARS} outcomes)", panel.other_count)
    assert sum(n for _, n in panel.all_bars) == panel.shots == tasks[0]["shots"] == sum(counts.values())
    # The kept ones are the most frequent; ties broken by bitstring (deterministic); drawn in bitstring order.
    assert min(kept.values()) >= max(rest.values())
    expected = sorted(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS])
    assert panel.bars == expected
    assert histogram_panels(tasks) == [panel]

    figure = histogram_figure(tasks, "t")
    [axis] = figure.axes
    assert len(axis.patches) == MAX_BARS + 1
    assert [rect.get_height() for rect in axis.patches] == [n for _, n in panel.all_bars]
    ticks = [label.get_text() for label in axis.get_xticklabels()]
    assert ticks == [name for name, _ in panel.all_bars]
    assert all(label.get_rotation() == 90 for label in axis.get_xticklabels())


LAYOUT_CASES = {
    "one bell": [task(0, "bell", {"00": 52, "11": 48})],
    "128 outcomes, a long path, a million shots": [
        task(0, "/".join(["a-rather-long-folder-name"] * 6) + "/circuit.qasm", uniform(7, 10_000)),
        task(1, "bell", {"00": 520_000, "11": 480_000}),
    ],
    "two 30-qubit outcomes": [task(0, "wide", {"0" * 30: 3, "1" * 30: 4})],
    "more tasks than panels, one without counts": [task(i, "bell", {"00": i + 1, "11": 1}) for i in range(8)]
    + [task(8, "bell", None, state="FAILED")],
    "no completed task": [task(0, "bell", None, state="FAILED")],
    "84-qubit outcomes (Ankaa-3): labels taller than a panel": [
        task(i, f"qaoa-{i}.qasm", {format(j * 977, "084b"): 10 + j for j in range(20)}) for i in range(2)
    ],
}


@pytest.mark.parametrize("tasks", LAYOUT_CASES.values(), ids=LAYOUT_CASES.keys())
def test_every_text_is_inside_the_figure_and_none_overlaps(tasks):
    """The margins jobs.results computes leave room for every title, label and note, as drawn by Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = histogram_figure(tasks, "dev / local / 20260101T000000Z-abcdef")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    whole = figure.bbox
    panels = [axis.get_tightbbox(renderer) for axis in figure.axes]  # with its title, labels and tick labels
    notes = [text.get_window_extent(renderer) for text in (figure._suptitle, figure._supxlabel) if text]
    for box in panels + notes:
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 and whole.y0 <= box.y0 and box.y1 <= whole.y1, box
    for upper, lower in zip(panels, panels[1:]):
        assert lower.y1 < upper.y0  # panels stacked top to bottom, apart
    assert notes[0].y0 > panels[0].y1  # the job's title above the first panel
    if len(notes) > 1:
        assert notes[1].y1 < panels[-1].y0  # the note under the last one
    for axis in figure.axes:
        labels = [label.get_window_extent(renderer) for label in axis.get_xticklabels()]
        assert all(left.x1 < right.x0 for left, right in zip(labels, labels[1:]))  # side by side, never touching


def test_few_outcomes_have_no_other_bar_and_flat_tick_labels():
    tasks = [task(0, "bell", {"11": 480, "00": 520})]
    [panel] = histogram_panels(tasks)
    assert panel.bars == [("00", 520), ("11", 480)] and panel.other_outcomes == 0 and panel.other_label is None
    [axis] = histogram_figure(tasks, "t").axes
    assert [label.get_rotation() for label in axis.get_xticklabels()] == [0, 0]


def test_more_tasks_than_panels_are_noted(tmp_path):
    tasks = [task(i, "bell", {"00": i + 1, "11": 1}) for i in range(20)]
    figure = histogram_figure(tasks, "dev / local / job-1")
    assert len(figure.axes) == MAX_PLOTTED_CIRCUITS == 6
    assert [t.split(" — ")[0] for t in panel_titles(figure)] == [f"bell #{i}" for i in range(6)]
    assert any("+14 more tasks in counts.csv" in text for text in figure_texts(figure))

    write_results(tmp_path, SUMMARY, tasks, {})
    assert len({r["label"] for r in read_csv(tmp_path)}) == 20


def test_no_completed_task_still_draws_a_figure(tmp_path):
    tasks = [task(0, "bell", None, state="FAILED")]
    files = write_results(tmp_path, SUMMARY, tasks, {})
    assert (tmp_path / "histogram.png").read_bytes().startswith(b"\x89PNG")
    assert files["histogram_png"] == str(tmp_path / "histogram.png")
    assert read_csv(tmp_path) == []


def test_long_labels_are_shortened_in_titles_only(tmp_path):
    name = "/".join(["a-rather-long-folder-name"] * 6) + "/circuit.qasm"
    tasks = [task(0, name, {"0": 1})]
    [title] = panel_titles(histogram_figure(tasks, "t"))
    assert title.split(" — ")[0].endswith("/circuit.qasm") and len(title) < len(name)
    write_results(tmp_path, SUMMARY, tasks, {})
    assert read_csv(tmp_path)[0]["label"] == name


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path):
    directory = tmp_path / "job-1"
    tasks = [task(0, "bell", {"00": 1, "11": 1}), task(1, "bell", None, state="FAILED")]
    raw = {0: {"measurementCounts": {"00": 1, "11": 1}}}
    files = write_results(directory, {**SUMMARY, "complete": False}, tasks, raw)
    assert set(files) == {"raw", "counts_csv", "histogram_png", "summary_json"}

    every = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))
    assert every == ["counts.csv", "histogram.png", "raw", "raw/task-0000.json", "summary.json"]
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    assert summary["complete"] is False and summary["tasks"] == tasks and summary["files"]["raw"] == files["raw"]
    assert json.loads((directory / "raw" / "task-0000.json").read_text()) == raw[0]
    umask = os.umask(0)
    os.umask(umask)
    assert (directory / "summary.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600

    # Written again (resume), each file is replaced whole.
    write_results(directory, SUMMARY, tasks[:1], raw)
    assert json.loads((directory / "summary.json").read_text())["complete"] is True
    assert not [p for p in directory.rglob("*") if p.name.endswith(".tmp")]


def test_an_interrupted_write_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    tasks = [task(0, "bell", {"00": 1, "11": 1})]
    write_results(tmp_path, SUMMARY, tasks, {})
    before = {name: (tmp_path / name).read_bytes() for name in ("counts.csv", "summary.json", "histogram.png")}

    def interrupted(path, tasks, title):  # Ctrl-C while the histogram is saved: after counts.csv, before summary.json
        results._write_atomically(path, lambda handle: (handle.write(b"\x89PNG partial"), _raise(KeyboardInterrupt())))

    monkeypatch.setattr(results, "_plot", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, {**SUMMARY, "job_id": "job-1-again"}, [task(0, "ghz:3", {"000": 2})], {})
    assert (tmp_path / "histogram.png").read_bytes() == before["histogram.png"]
    assert (tmp_path / "summary.json").read_bytes() == before["summary.json"]
    assert json.loads((tmp_path / "summary.json").read_text())["job_id"] == "job-1"
    assert [r["circuit"] for r in read_csv(tmp_path)] == ["ghz:3"]  # written whole before the interruption
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv", "histogram.png", "raw", "summary.json"]


def _raise(error):
    raise error


def test_128_outcomes_plot_fast(tmp_path):
    tasks = [task(0, "h7", uniform(7))]
    histogram_figure(tasks, "warm-up")  # matplotlib's import is paid once per process, not per plot
    started = time.perf_counter()
    results._plot(tmp_path / "h.png", tasks, "dev / local / job-1")
    elapsed = time.perf_counter() - started
    print(f"128-outcome histogram: {elapsed * 1000:.0f} ms")
    assert elapsed < 0.5
    assert (tmp_path / "h.png").read_bytes().startswith(b"\x89PNG")


def test_histogram_png_is_deterministic(tmp_path):
    tasks = [task(0, "h7", uniform(7)), task(1, "bell", {"00": 3, "11": 3}), task(2, "bell", {"11": 6})]
    write_results(tmp_path / "one", SUMMARY, tasks, {})
    write_results(tmp_path / "two", SUMMARY, tasks, {})
    for name in ("histogram.png", "counts.csv"):  # summary.json names its own folder
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
