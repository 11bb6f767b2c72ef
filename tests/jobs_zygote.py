"""`python -m jobs` for tests in milliseconds: forked from a warm interpreter, still its own process.

Each `python -m jobs` spends 1.2 to 1.9 s of CPU importing the Braket SDK (sympy, numba,
the OpenQASM parser) and matplotlib before it does anything; the suite starts about forty.
This script, run once per test run (``serve``; tests/jobs_process.py), imports them once, then forks one
process per request. A forked process becomes exactly what `python -m jobs ARGS` would be:
the requester's stdin, stdout and stderr (passed over the socket), environment, working
directory, ``sys.argv`` and ``sys.path[0]``, and it runs ``jobs`` as ``__main__`` through
runpy's own ``-m`` entry at this script's top level, so interpreter exit (exit codes,
uncaught KeyboardInterrupt, atexit, the final flush of a closed pipe) is the normal one.

Tests start ``client`` (a bare `python -I -S`, about 15 ms): it hands over its stdio and
environment, forwards the signals it receives (Ctrl-C, SIGTERM) and exits as the jobs
process did. A request whose interpreter-level settings (PYTHON* variables, locale) differ
from the server's is run the ordinary way instead: the client execs `python -m jobs`.

    python tests/jobs_zygote.py serve SOCKET            SOCKET appears once it serves
    python -I -S tests/jobs_zygote.py client SOCKET PYTHON [ARG ...]
"""

import json
import os
import signal
import socket
import sys

# Settings that shape the interpreter itself: a request must share them with the server.
_INTERPRETER_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# What `python -m jobs` imports on its paths (local simulator, AWS, results, charts).
_WARM_MODULES = (
    "jobs.cli", "jobs.commands", "jobs.backends", "jobs.runner", "jobs.results", "jobs.circuits",
    "jobs.device_status", "jobs.devices", "jobs.pricing", "jobs.stack_outputs",
    "braket.devices", "braket.aws", "braket.circuits", "braket.default_simulator",
    "matplotlib.figure", "matplotlib.backends.backend_agg", "boto3", "botocore.session",
)


def _interpreter_settings(environ) -> dict:
    return {k: v for k, v in environ.items() if k.startswith("PYTHON") or k in _INTERPRETER_VARIABLES}


def serve(path: str) -> None:
    """Serve requests until the socket is closed; returns only in a forked jobs process, ready to run."""
    import gc
    import importlib
    import threading

    for name in _WARM_MODULES:
        importlib.import_module(name)
    warm = threading.active_count() == 1  # forking a process with other threads is unsafe: then run fresh
    gc.freeze()  # as the gc docs advise for pre-fork servers: shared pages stay shared, exit is quick
    settings = _interpreter_settings(os.environ)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(f"{path}.warming")
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the waiters below reap themselves
    os.rename(f"{path}.warming", path)  # ``path`` appears listening: that is how a client knows it serves
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            return _wait_for_one(connection, settings if warm else None)
        connection.close()


def _wait_for_one(connection: socket.socket, settings: dict | None) -> None:
    """In a waiter: fork the jobs process (which returns), report its pid and status."""
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    if settings is None or _interpreter_settings(request["env"]) != settings:
        connection.send(b"fallback")
        os._exit(0)
    pid = os.fork()
    if pid == 0:
        connection.close()
        _become(request, fds)
        return
    for fd in fds:
        os.close(fd)
    try:
        connection.send(f"pid {pid}".encode())
        status = _wait_unless_the_client_dies(connection, pid)
        connection.send(f"status {status}".encode())
    except BrokenPipeError:  # the client is gone (a test killed it): nobody to tell
        pass
    os._exit(0)


def _wait_unless_the_client_dies(connection: socket.socket, pid: int) -> int:
    """The jobs process's wait status. The client forwards every signal it can catch; if it dies
    anyway (SIGKILL, as a test kills a process that must not clean up), the jobs process is killed
    too: SIGKILL of `python -m jobs` stops all its work, and nothing may go on submitting tasks."""
    import select

    try:
        process = os.pidfd_open(pid)  # readable once the process has ended; never a reused pid
    except OSError:  # a kernel before 5.3: just wait
        return os.waitpid(pid, 0)[1]
    poller = select.poll()
    poller.register(process, select.POLLIN)
    poller.register(connection, select.POLLIN)  # the client sends nothing more: readable means gone
    if all(fd != process for fd, _ in poller.poll()):
        signal.pidfd_send_signal(process, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def _become(request: dict, fds: list[int]) -> None:
    """Turn this forked process into `python -m jobs ARGS` started where and how the client was."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-m", *request["argv"]]
    sys.path[0] = request["cwd"]  # what `python -m` puts first
    if "numpy" in sys.modules:  # `random` reseeds itself after a fork; numpy's global generator does not
        sys.modules["numpy"].random.seed()


_ended_with: list[int] = []  # the exit code, once jobs ended with sys.exit(int) or sys.exit()


def _exit_without_teardown() -> None:
    """The end of a forked jobs process that called sys.exit(code), after the interpreter has joined
    its threads and run every other atexit handler: flush stdout and stderr as it would, then exit
    with the code, skipping what remains (freeing every module's objects, which in a process forked
    from a 200 MB interpreter copies most of its pages: 100 ms per run). Any other ending (uncaught
    exception, Ctrl-C, a flush that fails, as on a closed pipe) is left to the interpreter."""
    if not _ended_with:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        return
    os._exit(_ended_with[0])


def client(path: str, python: str, args: list[str]) -> None:
    """Run `python -m jobs ARGS` through the server at ``path``, or the ordinary way when it cannot."""
    child: list[int] = []
    pending: list[int] = []

    def forward(signum, _frame) -> None:
        if child:
            os.kill(child[0], signum)
        else:
            pending.append(signum)

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    request = {"argv": args, "env": dict(os.environ), "cwd": os.getcwd()}
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
        reply = connection.recv(64).decode()
    except OSError:
        reply = "fallback"
    if reply == "fallback":
        for signum in _FORWARDED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        os.execv(python, [python, "-m", "jobs", *args])
    child.append(int(reply.split()[1]))
    for signum in pending:
        os.kill(child[0], signum)
    code = os.waitstatus_to_exitcode(int(connection.recv(64).decode().split()[1]))
    if code < 0:  # killed by a signal: end the same way
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], sys.argv[4:])
    import atexit

    atexit.register(_exit_without_teardown)  # first registered, so last run: after the handlers jobs adds
    serve(sys.argv[2])
    # Only a forked jobs process gets here: run jobs exactly as `python -m jobs` does.
    import runpy

    try:
        runpy._run_module_as_main("jobs")
    except SystemExit as end:
        if end.code is None or isinstance(end.code, int):
            _ended_with.append(end.code or 0)
        raise
