"""A warm Python for tests: `python -m jobs` and the pytest workers, forked in milliseconds.

Each `python -m jobs` spends 1.2 to 1.9 s of CPU importing the Braket SDK (sympy, numba,
the OpenQASM parser) and matplotlib before it does anything, and each pytest-xdist worker
2 s importing pytest, the SDK, matplotlib and moto before its first test; the suite starts
about forty of the one and three of the other. This script, run once per test run (``serve``;
tests/jobs_process.py), imports them once, then forks one process per request. A forked
process becomes exactly what `python ARGS` would be for the two command lines it takes,
``-m MODULE ...`` (runpy's own ``-m`` entry) and ``[-u] -c CODE ...`` (execnet's bootstrap
of an xdist worker): the requester's stdin, stdout and stderr (passed over the socket),
environment, working directory, ``sys.argv`` and ``sys.path``, run at this script's top
level, so interpreter exit (exit codes, uncaught KeyboardInterrupt, atexit, the final flush
of a closed pipe) is the normal one. It never imports the jsii runtime's kernel (a Node
process and threads: nothing a process may fork with).

Tests start ``client`` (a bare `python -I -S`, about 15 ms): it hands over its stdio and
environment, forwards the signals it receives (Ctrl-C, SIGTERM) and exits as the forked
process did. Any other command line, or interpreter-level settings (PYTHON* variables but
PYTHONPATH, locale) that differ from the server's, run the ordinary way instead: the client
execs `python ARGS`.

    python tests/jobs_zygote.py serve SOCKET             SOCKET appears once it listens
    python -I -S tests/jobs_zygote.py client SOCKET PYTHON ARG...
"""

import io
import json
import os
import signal
import socket
import sys

# Settings that shape the interpreter itself: a request must share them with the server
# (PYTHONPATH is not one: it only adds to sys.path, which each request gets its own of).
_INTERPRETER_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# What `python -m jobs` imports on its paths (local simulator, AWS, results, charts).
_WARM_MODULES = (
    "jobs.cli", "jobs.commands", "jobs.backends", "jobs.runner", "jobs.results", "jobs.circuits",
    "jobs.device_status", "jobs.devices", "jobs.pricing", "jobs.stack_outputs",
    "braket.devices", "braket.aws", "braket.circuits", "braket.default_simulator", "pyqasm", "boto3.s3.transfer",
    "matplotlib.figure", "matplotlib.backends.backend_agg", "boto3", "botocore.session",
    # and what a pytest-xdist worker imports before and while it collects the suite, but pytest's
    # plugins (xdist, hypothesis, syrupy: pytest rewrites their asserts as it loads them)
    "pytest", "execnet", "jsii", "moto.moto_server.threaded_moto_server", "moto.s3.responses", "moto.s3.urls",
    "moto.sts.models", "moto.moto_api._internal.urls",
)


def _interpreter_settings(environ) -> dict:
    return {k: v for k, v in environ.items()
            if (k.startswith("PYTHON") and k != "PYTHONPATH") or k in _INTERPRETER_VARIABLES}


def _pythonpath(environ) -> list[str]:
    return [entry for entry in environ.get("PYTHONPATH", "").split(os.pathsep) if entry]


class Command:
    """A command line served: ``python [-u] -m MODULE ARGS`` or ``python [-u] -c CODE ARGS``.
    (A plain class: typing's NamedTuple would add 12 ms to every client's start.)"""

    def __init__(self, unbuffered: bool, option: str, target: str, rest: list[str]) -> None:
        self.unbuffered = unbuffered
        self.option = option  # -m or -c
        self.target = target  # the module or the code
        self.rest = rest


def _served_command(args: list[str]) -> Command | None:
    unbuffered = args[:1] == ["-u"]
    args = args[1:] if unbuffered else args
    if len(args) >= 2 and args[0] in ("-m", "-c"):
        return Command(unbuffered, args[0], args[1], args[2:])
    return None


def serve(path: str) -> Command:
    """Serve requests until the socket is closed; returns only in a forked process, ready to run its command."""
    import gc
    import importlib
    import threading

    base_path = sys.path[1 + len(_pythonpath(os.environ)):]  # without the script's folder and PYTHONPATH
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(f"{path}.binding")
    listener.listen(64)  # requests queue while the imports below run
    os.rename(f"{path}.binding", path)  # ``path`` appears listening: clients connect from then on
    sys.path.insert(1, _REPO)
    for name in _WARM_MODULES:
        importlib.import_module(name)
    warm = threading.active_count() == 1  # forking a process with other threads is unsafe: then run fresh
    gc.freeze()  # as the gc docs advise for pre-fork servers: shared pages stay shared, exit is quick
    settings = _interpreter_settings(os.environ)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the waiters below reap themselves
    while True:
        connection, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            return _wait_for_one(connection, settings if warm else None, base_path)
        connection.close()


def _wait_for_one(connection: socket.socket, settings: dict | None, base_path: list[str]) -> Command:
    """In a waiter: fork the requested process (which returns), report its pid and status."""
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    request = json.loads(message)
    command = _served_command(request["args"])
    if settings is None or _interpreter_settings(request["env"]) != settings or command is None:
        connection.send(b"fallback")
        os._exit(0)
    pid = os.fork()
    if pid == 0:
        connection.close()
        _become(command, request, fds, base_path)
        return command
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
    """The forked process's wait status. The client forwards every signal it can catch; if it dies
    anyway (SIGKILL, as a test kills a process that must not clean up), the forked process is killed
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


def _become(command: Command, request: dict, fds: list[int], base_path: list[str]) -> None:
    """Turn this forked process into `python ARGS` started where and how the client was."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in set(fds) - {0, 1, 2}:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if command.unbuffered:  # -u: stdout and stderr written through, down to the file descriptor
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            setattr(sys, name, io.TextIOWrapper(io.FileIO(stream.fileno(), "w", closefd=False), encoding=stream.encoding,
                                                errors=stream.errors, write_through=True))
    # What the interpreter puts first: the working directory for -m, "" (the same, looked up late) for -c.
    sys.path[:] = [request["cwd"] if command.option == "-m" else "", *_pythonpath(request["env"]), *base_path]
    sys.argv = [command.option, *command.rest]
    if "numpy" in sys.modules:  # `random` reseeds itself after a fork; numpy's global generator does not
        sys.modules["numpy"].random.seed()


_ended_with: list[int] = []  # the exit code, once the program ended with sys.exit(int), sys.exit() or its last line


def _exit_without_teardown() -> None:
    """The end of a forked process that called sys.exit(code) or ran to its end, after the interpreter has joined
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
    """Run `python ARGS` through the server at ``path``, or the ordinary way when it cannot."""
    child: list[int] = []
    pending: list[int] = []

    def forward(signum, _frame) -> None:
        if child:
            os.kill(child[0], signum)
        else:
            pending.append(signum)

    for signum in _FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    request = {"args": args, "env": dict(os.environ), "cwd": os.getcwd()}
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(path)
        socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
        reply = connection.recv(64).decode()  # empty if the server died warming up
    except OSError:
        reply = "fallback"
    if not reply.startswith("pid "):
        for signum in _FORWARDED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        os.execv(python, [python, *args])
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

    atexit.register(_exit_without_teardown)  # first registered, so last run: after the handlers the program adds
    command = serve(sys.argv[2])
    # Only a forked process gets here: run the program as `python -m MODULE` or `python -c CODE` does.
    try:
        if command.option == "-m":
            import runpy

            runpy._run_module_as_main(command.target)
        else:
            import types

            main = types.ModuleType("__main__")
            sys.modules["__main__"] = main
            exec(compile(command.target, "<string>", "exec"), main.__dict__)
        _ended_with.append(0)
    except SystemExit as end:
        if end.code is None or isinstance(end.code, int):
            _ended_with.append(end.code or 0)
        raise
