"""The command line that runs `python -m jobs ARGS` in tests (see jobs_zygote.py for why and how).

``run_jobs`` and ``start_jobs`` run it (``jobs_argv`` is its command line): the same process
behaviour as ``[sys.executable, "-m", "jobs", *args]``, without re-importing the SDK each time. Tests about the
interpreter's own start (import time, process start included in a deadline) keep the plain
command. ``QUANTUM_TESTS_FRESH_JOBS=1`` makes every test (and pytest worker) use a fresh interpreter.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZYGOTE = Path(__file__).with_name("jobs_zygote.py")
FRESH_VARIABLE = "QUANTUM_TESTS_FRESH_JOBS"
# The environment tests give `python -m jobs` (PYTHONPATH: the checkout, as from any directory).
JOBS_ENV = {"PYTHONPATH": str(REPO)}

# Set by start_shared_server() in a pytest run's main process: "SOCKET PID" of the server its workers share.
SHARED_VARIABLE = "QUANTUM_TESTS_JOBS_ZYGOTE"
READY_WAIT_SECONDS = 60.0

_socket: str | None = None


def _start_server() -> tuple[str, int]:
    """A warm server, stopped when this process exits: (socket path, pid)."""
    directory = tempfile.mkdtemp(prefix="jobs-zygote-")
    path = os.path.join(directory, "socket")
    # Its own session: a Ctrl-C at the terminal reaches the processes it forks once, through their client.
    server = subprocess.Popen(
        [sys.executable, str(ZYGOTE), "serve", path], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True,
    )

    def stop() -> None:
        server.kill()
        server.wait()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    return path, server.pid


def start_shared_server() -> str:
    """In the main process of a parallel run: start one server for all its workers, which inherit
    its address; one server instead of one per worker. Returns the command line that starts a
    worker through it (execnet appends ``-u -c BOOTSTRAP``); the workers wait while it warms up."""
    path, pid = _start_server()
    os.environ[SHARED_VARIABLE] = f"{path} {pid}"
    return shlex.join(_client_argv(path))


def _client_argv(path: str) -> list[str]:
    return [sys.executable, "-I", "-S", str(ZYGOTE), "client", path, sys.executable]


def _serves(path: str, pid: int) -> bool:
    """Whether the server ``pid`` serves at ``path``: it renames its socket to ``path`` once listening."""
    give_up = time.monotonic() + READY_WAIT_SECONDS
    while not os.path.exists(path):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > give_up:
            return False
        time.sleep(0.02)
    return True


def _server_socket() -> str | None:
    """The warm server's socket: the run's shared one, else this process's own, started on first
    use; None if there is none that could warm up."""
    global _socket
    if _socket is None:
        if shared := os.environ.get(SHARED_VARIABLE):
            path, pid = shared.rsplit(" ", 1)
        else:
            path, pid = _start_server()
        _socket = path if _serves(path, int(pid)) else ""
    return _socket or None


def python_argv(*args: str) -> list[str]:
    """The argv of `python ARGS`, through the warm server when there is one."""
    path = None if os.environ.get(FRESH_VARIABLE) == "1" else _server_socket()
    return [*_client_argv(path), *args] if path else [sys.executable, *args]


def jobs_argv(*args: str) -> list[str]:
    """The argv of `python -m jobs ARGS`; run it with ``env={**os.environ, **JOBS_ENV}``."""
    return python_argv("-m", "jobs", *args)


def run_jobs(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m jobs ARGS` in ``cwd``, to completion: exit code and text output."""
    env = {**os.environ, **JOBS_ENV}
    return subprocess.run(jobs_argv(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def start_jobs(*args: str, cwd: Path, text: bool = False) -> subprocess.Popen:
    """`python -m jobs ARGS` started in ``cwd``, stdout and stderr piped (bytes unless ``text``)."""
    env = {**os.environ, **JOBS_ENV}
    return subprocess.Popen(jobs_argv(*args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text)
