#!/usr/bin/env python
"""Test-suite time: `make test`'s pytest run against the plain one-stack app's synthesis.

Measures both in the same run, each as a fresh process: the plain one-stack app
(bench/plain_app.py, run exactly as bench/synth.py runs it) before and after each
run of the whole suite, and the suite exactly as `make test` runs it (`make test`,
after an untimed `make setup`, so nothing is installed while the clock runs). The
suite's time is its pytest phase, as pytest reports it ("N passed ... in Y s": from
pytest's start to its last test's report); `make test`'s wall time, pipenv's start
included, is printed beside it. Prints each time and, last,
`tests: ratio X.XX (pytest Y s / plain one-stack app Z s)` with the medians.
Usage: pipenv run python bench/tests.py [--runs N]  (or make bench-tests)
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth import APPS, REPO, run_once  # bench/synth.py: the plain app, run and timed as it does

MAKE = ["make", "--no-print-directory", "-s"]


def suite_env() -> dict[str, str]:
    """The environment `make test` gets from a shell: without what `pipenv run` (make bench-tests) added,
    whose .venv/bin first on PATH would make the Makefile's python3 one without pipenv."""
    env = {k: v for k, v in os.environ.items() if k not in ("CDKTF_OUTDIR", "PIPENV_ACTIVE", "MAKEFLAGS", "MAKELEVEL")}
    if venv := env.pop("VIRTUAL_ENV", None):
        venv_bin = str(Path(venv) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p.rstrip("/") != venv_bin)
    return env


def run_suite(log: Path) -> tuple[float, float, str]:
    """`make test`: pytest's own seconds, the wall seconds of `make test`, and pytest's last line."""
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run([*MAKE, "test"], cwd=REPO, env=suite_env(), stdout=out, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - start
    text = log.read_text()
    if done.returncode != 0:
        sys.exit(f"make test failed (exit {done.returncode}); its output ends:\n{text[-3000:]}")
    summary = [line.strip("= ") for line in text.splitlines() if re.search(r"\d+ passed.* in [\d.]+s", line)]
    if not summary:
        sys.exit(f"make test printed no pytest summary line; its output ends:\n{text[-3000:]}")
    pytest_seconds = float(re.search(r" in ([\d.]+)s", summary[-1]).group(1))
    return pytest_seconds, elapsed, summary[-1]


def plain_once(outdir: str) -> float:
    return run_once(APPS["plain"], outdir)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of the test suite (default 1; the plain app runs one more time)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")

    print("make setup (not timed)", flush=True)
    if subprocess.run([*MAKE, "setup"], cwd=REPO, env=suite_env()).returncode != 0:
        sys.exit("make setup failed")
    plain: list[float] = []
    suite: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs + 1):  # the plain app before and after each suite run: drift hits both
            plain.append(plain_once(str(Path(tmp) / f"plain-{i}")))
            print(f"  plain one-stack app {plain[-1]:6.2f} s", flush=True)
            if i == args.runs:
                break
            seconds, wall, summary = run_suite(Path(tmp) / f"pytest-{i}.log")
            suite.append(seconds)
            print(f"  run {i + 1}/{args.runs} pytest {seconds:6.2f} s, make test {wall:6.2f} s  ({summary})", flush=True)
    pytest_s, plain_s = statistics.median(suite), statistics.median(plain)
    print(f"pytest: median {pytest_s:.2f} s of {len(suite)}; plain one-stack app: median {plain_s:.2f} s of {len(plain)}")
    print(f"tests: ratio {pytest_s / plain_s:.2f} (pytest {pytest_s:.2f} s / plain one-stack app {plain_s:.2f} s)")


if __name__ == "__main__":
    main()
