"""The warm `python -m jobs` (and `python -c`, how xdist starts its workers) the tests use behaves as a fresh
one: same output, exit status, signals, sys.argv and sys.path."""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.jobs_process import FRESH_VARIABLE, JOBS_ENV, jobs_argv, python_argv

FRESH = [sys.executable, "-m", "jobs"]


@pytest.fixture
def warm_argv():
    if os.environ.get(FRESH_VARIABLE) == "1":
        pytest.skip(f"{FRESH_VARIABLE}=1: every test already runs a fresh interpreter")
    argv = jobs_argv("--help")
    assert argv[:4] == [sys.executable, "-I", "-S", argv[3]] and argv[4] == "client", argv
    return jobs_argv


def both(warm_argv, *args: str, cwd, env=None) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    env = env or {**os.environ, **JOBS_ENV}
    runs = [subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
            for argv in (warm_argv(*args), [*FRESH, *args])]
    return runs[0], runs[1]


def test_a_refusal_is_byte_for_byte_the_fresh_one(warm_argv, workdir):
    warm, fresh = both(warm_argv, "run", "--env", "nope", cwd=workdir)
    assert (warm.returncode, warm.stdout, warm.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert warm.returncode == 2 and warm.stderr.count("\n") == 1


def test_a_local_run_writes_the_same_document_in_the_working_directory(warm_argv, workdir):
    warm, fresh = both(warm_argv, "run", "--env", "dev", "--circuit", "bell", "--shots", "100", "--json", cwd=workdir)
    assert warm.returncode == fresh.returncode == 0, warm.stderr
    warm_doc, fresh_doc = json.loads(warm.stdout), json.loads(fresh.stdout)
    assert warm_doc.keys() == fresh_doc.keys() and warm_doc["job_id"] != fresh_doc["job_id"]
    assert (workdir / "results" / "dev" / warm_doc["job_id"] / "summary.json").is_file()  # the client's cwd


def test_other_interpreter_settings_run_a_fresh_interpreter_instead(warm_argv, workdir):
    env = {**os.environ, **JOBS_ENV, "PYTHONWARNINGS": "error::DeprecationWarning:nothing"}
    warm, fresh = both(warm_argv, "run", "--env", "nope", cwd=workdir, env=env)
    assert (warm.returncode, warm.stdout, warm.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)


# What a program sees of how it was started, printed unbuffered (-u), then an exit status of its own.
WHERE_AM_I = ("import os, sys; print(sys.argv, sys.path, os.getcwd(), sorted(k for k in globals() if k[0] != '_'),"
              " os.environ.get('ZYGOTE_TEST'), file=sys.stderr); sys.exit(3)")


@pytest.mark.parametrize("args", [["-u", "-c", WHERE_AM_I, "one", "two"], ["-c", WHERE_AM_I],
                                  ["-W", "error", "-c", WHERE_AM_I]],  # an option it does not serve: run fresh
                         ids=["execnet", "plain", "other-option"])
def test_python_c_sees_what_a_fresh_one_sees(warm_argv, tmp_path, args):
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "lib"), "ZYGOTE_TEST": "é"}
    warm, fresh = (subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
                   for argv in (python_argv(*args), [sys.executable, *args]))
    assert (warm.returncode, warm.stdout, warm.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr) == (3, "", fresh.stderr)
    assert str(tmp_path / "lib") in fresh.stderr and "é" in fresh.stderr


def test_python_c_is_forked_warm_unless_an_option_is_not_served(warm_argv, tmp_path):
    probe = "import sys; print('braket.aws' in sys.modules)"  # imported by the warm server only
    runs = [subprocess.run(python_argv(*options, "-c", probe), cwd=tmp_path, capture_output=True, text=True, timeout=60)
            for options in (["-u"], [], ["-W", "error"])]
    assert [run.stdout.strip() for run in runs] == ["True", "True", "False"], [run.stderr for run in runs]


def test_a_signal_to_the_client_reaches_the_jobs_process_and_its_status_comes_back(warm_argv, workdir):
    circuits = [arg for _ in range(40) for arg in ("--circuit", "ghz:16")]  # long enough to be interrupted
    codes = []
    for argv in (warm_argv("run", "--env", "dev", *circuits), [*FRESH, "run", "--env", "dev", *circuits]):
        process = subprocess.Popen(argv, cwd=workdir, env={**os.environ, **JOBS_ENV},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stderr.read(1)  # the progress bar: the jobs process is running
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        codes.append(process.returncode)
    assert codes[0] == codes[1] == -signal.SIGTERM  # ended by the signal, both


def test_a_reader_gone_before_the_output_ends_the_same_way(warm_argv, workdir):
    """Nobody reads stdout (`| head -c 0`): the end of the process, where the warm one skips the
    interpreter's teardown, gives the same exit status and stderr as a fresh one."""
    env = {**os.environ, **JOBS_ENV}
    ends = []
    for argv in (warm_argv("estimate", "--env", "dev", "--json"), [*FRESH, "estimate", "--env", "dev", "--json"]):
        process = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        process.stdout.close()  # before the process writes anything
        ends.append((process.wait(timeout=120), process.stderr.read()))
        process.stderr.close()
    assert ends[0] == ends[1]
    assert "Traceback" not in ends[0][1]


def test_a_client_killed_outright_takes_the_jobs_process_with_it(warm_argv, workdir):
    """SIGKILL cannot be forwarded: the jobs process must still end at once, as `python -m jobs`
    killed so does, and not go on running (or submitting tasks) behind the test's back."""
    circuits = [arg for _ in range(400) for arg in ("--circuit", "ghz:22")]  # a minute of work or more
    process = subprocess.Popen(warm_argv("run", "--env", "dev", *circuits), cwd=workdir, env={**os.environ, **JOBS_ENV},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.stderr.read(1)  # the progress bar: the jobs process is running
    process.kill()
    assert process.wait(timeout=10) == -signal.SIGKILL
    # Every writer of the stderr pipe (the jobs process too) gone: end of file, soon.
    give_up = time.monotonic() + 10
    while select.select([process.stderr], [], [], max(0.0, give_up - time.monotonic()))[0]:
        if not os.read(process.stderr.fileno(), 1 << 16):
            break
    else:
        pytest.fail("the jobs process still runs 10 s after its client was killed")
    process.stderr.close()
