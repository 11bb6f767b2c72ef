"""The command line that runs `python -m jobs ARGS` in tests (see jobs_zygote.py for why and how).

``run_jobs`` and ``start_jobs`` run it (``jobs_argv`` is its command line): the same process
behaviour as ``[sys.executable, "-m", "jobs", *args]``, without re-importing the SDK each time. Tests about the
interpreter's own start (import time, process start included in a deadline) keep the plain
command. ``QUANTUM_TESTS_FRESH_JOBS=1`` makes every test use a fresh interpreter.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZYGOTE = Path(__file__).with_name("jobs_zygote.py")
FRESH_VARIABLE = "QUANTUM_TESTS_FRESH_JOBS"
# The environment tests give `python -m jobs` (PYTHONPATH: the checkout, as from any directory).
JOBS_ENV = {"PYTHONPATH": str(REPO)}

_socket: str | None = None


def _server_socket() -> str | None:
    """This test process's warm server, started on first use; None if it could not warm up."""
    global _socket
    if _socket is None:
        directory = tempfile.mkdtemp(prefix="jobs-zygote-")
        path = os.path.join(directory, "socket")
        server = subprocess.Popen(
            [sys.executable, str(ZYGOTE), "serve", path],
            env={**os.environ, **JOBS_ENV}, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        )
        ready = server.stdout.readline().strip() == b"ready"

        def stop() -> None:
            server.kill()
            server.wait()
            shutil.rmtree(directory, ignore_errors=True)

        atexit.register(stop)
        _socket = path if ready else ""
    return _socket or None


def jobs_argv(*args: str) -> list[str]:
    """The argv of `python -m jobs ARGS`; run it with ``env={**os.environ, **JOBS_ENV}``."""
    path = None if os.environ.get(FRESH_VARIABLE) == "1" else _server_socket()
    if path is None:
        return [sys.executable, "-m", "jobs", *args]
    return [sys.executable, "-I", "-S", str(ZYGOTE), "client", path, sys.executable, *args]


def run_jobs(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m jobs ARGS` in ``cwd``, to completion: exit code and text output."""
    env = {**os.environ, **JOBS_ENV}
    return subprocess.run(jobs_argv(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def start_jobs(*args: str, cwd: Path, text: bool = False) -> subprocess.Popen:
    """`python -m jobs ARGS` started in ``cwd``, stdout and stderr piped (bytes unless ``text``)."""
    env = {**os.environ, **JOBS_ENV}
    return subprocess.Popen(jobs_argv(*args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text)
