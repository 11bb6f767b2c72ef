"""`python -m jobs` under a demanding user (issue 10): each defect found, as the behaviour it must have."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from jobs import backends, cli
from tests.jobs_process import JOBS_ENV, run_jobs, start_jobs

MIXED_GHZ = [f"ghz:{n}" for n in range(2, 12)] * 2  # 20 circuits, 2 to 11 qubits


def circuits(*specs: str) -> list[str]:
    return [arg for spec in specs for arg in ("--circuit", spec)]


class StreamReader:
    """Collects a pipe's bytes in a thread (progress bars end with '\\r', not a newline)."""

    def __init__(self, stream) -> None:
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(4096):
            self.data += chunk

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.data:
            assert time.monotonic() < deadline, f"{text!r} never appeared: {self.data[-500:]!r}"
            time.sleep(0.02)

    def text(self) -> str:
        self._thread.join(timeout=5)
        return self.data.decode()


@pytest.fixture
def nothing_submitted(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("something was submitted")

    monkeypatch.setattr(backends.LocalBackend, "submit", refuse)
    monkeypatch.setattr(backends.AwsBackend, "__init__", refuse)


# -- 1. money through a NaN --------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-0", "1e3", "-5", "", "１０", "0x10", " 10"])
def test_max_cost_that_is_not_an_amount_is_refused(workdir, capsys, nothing_submitted, value):
    code = cli.main(["run", "--env", "prod", "--device", "forte-1", "--shots", "5000", *circuits("bell", "bell"),
                     f"--max-cost={value}", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and "argument --max-cost" in captured.err and "amount in USD" in captured.err
    assert json.loads(captured.out)["exit_code"] == 2
    assert not (workdir / "results").exists()


@pytest.mark.parametrize("option, value", [("--shots", "１０"), ("--shots", "+5"), ("--shots", "1e2"), ("--parallel", "²")])
def test_counts_take_ascii_digits_only(workdir, capsys, nothing_submitted, option, value):
    assert cli.main(["run", "--env", "dev", f"{option}={value}"]) == 2
    assert "is not a whole number" in capsys.readouterr().err


def test_a_nan_cap_given_through_the_api_is_refused_too():
    from jobs.devices import LOCAL
    from jobs.errors import UsageError
    from jobs.pricing import check_cap, estimate

    for cap in (float("nan"), float("inf"), -0.0):
        with pytest.raises(UsageError, match="expected an amount in USD"):
            check_cap(estimate(LOCAL, 1, 10), cap)


# -- 2. local batches abort the process --------------------------------------------------


def test_a_20_circuit_local_batch_of_mixed_sizes_completes_at_parallel_16(workdir):
    run = run_jobs("run", "--env", "dev", *circuits(*MIXED_GHZ), "--shots", "200", "--parallel", "16", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr[-2000:]
    document = json.loads(run.stdout)
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"] * 20
    for task, spec in zip(document["tasks"], MIXED_GHZ):
        size = int(spec.split(":")[1])
        assert set(task["counts"]) <= {"0" * size, "1" * size} and sum(task["counts"].values()) == 200


def test_local_progress_advances_as_each_circuit_finishes(workdir):
    run = run_jobs("run", "--env", "dev", *circuits("bell", "ghz:3", "ghz:4"), "--shots", "10", cwd=workdir)
    assert run.returncode == 0, run.stderr
    positions = [run.stderr.find(f"{n}/3 tasks") for n in (1, 2, 3)]
    assert -1 not in positions and positions == sorted(positions)


# -- 3. Ctrl-C ----------------------------------------------------------------------------


def interrupt_after_first_task(process: subprocess.Popen, total: int) -> tuple[float, str, str]:
    """SIGINT once one task finished; (seconds from SIGINT to exit, stdout, stderr)."""
    err, out = StreamReader(process.stderr), StreamReader(process.stdout)
    err.wait_for(f"1/{total} tasks")
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    return time.monotonic() - sent, out.text(), err.text()


def test_sigint_during_a_local_batch_stops_saves_and_resumes(workdir):
    big = ["ghz:22"] * 10  # about half a second each: the batch is still running when SIGINT comes
    process = start_jobs("run", "--env", "dev", *circuits(*big), "--shots", "20", cwd=workdir)
    latency, _, err = interrupt_after_first_task(process, len(big))
    print(f"SIGINT to exit (local batch): {latency:.2f} s")
    assert process.returncode == 130 and latency < 2.0, err
    [directory] = (workdir / "results" / "dev").iterdir()
    command = f"python -m jobs resume --env dev {directory.name}"
    assert command in err and "Traceback" not in err
    assert "jobs cancel" not in err  # nothing runs elsewhere: the local simulator stopped with the process
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["complete"] is False
    done = [t for t in summary["tasks"] if t["state"] == "COMPLETED"]
    assert 1 <= len(done) < len(big)
    assert sorted(p.name for p in (directory / "raw").iterdir()) == [f"task-{t['index']:04d}.json" for t in done]
    assert len((directory / "counts.csv").read_text().splitlines()) == 1 + 2 * len(done)

    resumed = run_jobs(*command.split()[3:], "--json", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"] * len(big)
    assert [t["id"] for t in document["tasks"] if t["index"] < len(done)] == [t["id"] for t in done]  # kept, not rerun
    again = run_jobs(*command.split()[3:], cwd=workdir)
    assert again.returncode == 2 and f"job {directory.name} is complete: nothing to resume" in again.stderr


def test_sigint_while_waiting_on_queued_braket_tasks(workdir, aws):
    aws.emulator.configure(queue_delay=3.0)
    process = start_jobs("run", "--env", "dev", "--device", "sv1", *circuits("bell", "bell", "bell"), "--shots", "10",
                           cwd=workdir)
    err = StreamReader(process.stderr)
    deadline = time.monotonic() + 30
    while len(aws.emulator.tasks()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    latency = time.monotonic() - sent
    print(f"SIGINT to exit (waiting on queued SV1 tasks): {latency:.2f} s")
    assert process.returncode == 130 and latency < 2.0
    [directory] = (workdir / "results" / "dev").iterdir()
    assert f"python -m jobs resume --env dev {directory.name}" in err.text()
    # The tasks are still queued at Braket, where they would run (and cost) anyway: the way to stop them.
    assert f"or stop it at Braket with `python -m jobs cancel {directory.name}`" in err.text()
    resumed = run_jobs("resume", "--env", "dev", directory.name, "--json", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert [t["state"] for t in json.loads(resumed.stdout)["tasks"]] == ["COMPLETED"] * 3
    assert len(aws.emulator.tasks()) == 3  # nothing created twice


# -- 5. resume and discard ----------------------------------------------------------------


def journaled_job(workdir: Path, job_id: str, env: str = "dev", device: str = "local", specs=("bell", "ghz:3")):
    from jobs.journal import Journal
    from jobs.runner import job_header, plan_job

    header = job_header(plan_job(env, device=device, circuits=list(specs), shots=100, root=workdir), job_id)
    Journal(workdir / "results" / env / job_id).start(header)
    return header


def test_resume_of_a_finished_job_is_refused_and_overwrites_nothing(workdir, capsys):
    assert cli.main(["run", "--env", "dev", "--json"]) == 0
    job_id = json.loads(capsys.readouterr().out)["job_id"]
    summary = workdir / "results" / "dev" / job_id / "summary.json"
    before = summary.read_bytes()
    assert cli.main(["resume", "--env", "dev", job_id]) == 2
    assert f"job {job_id} is complete: nothing to resume" in capsys.readouterr().err
    assert summary.read_bytes() == before


def test_a_new_job_never_writes_into_an_existing_folder(workdir, monkeypatch, capsys):
    from jobs import runner

    monkeypatch.setattr(runner, "new_job_id", lambda: "20260101T000000Z-aaaaaa")
    assert cli.main(["run", "--env", "dev"]) == 0
    capsys.readouterr()
    assert cli.main(["run", "--env", "dev"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_several_unfinished_jobs_are_listed_and_one_must_be_named(workdir, capsys):
    journaled_job(workdir, "20260101T000000Z-aaaaaa")
    journaled_job(workdir, "20260102T000000Z-bbbbbb")
    assert cli.main(["resume", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "2 unfinished jobs in dev (20260101T000000Z-aaaaaa, 20260102T000000Z-bbbbbb)" in err and err.count("\n") == 1


def test_discard_makes_resume_pass_a_job_by(workdir, capsys):
    journaled_job(workdir, "20260101T000000Z-aaaaaa")
    journaled_job(workdir, "20260102T000000Z-bbbbbb")
    assert cli.main(["discard", "20260102T000000Z-bbbbbb"]) == 0
    assert "Discarded job 20260102T000000Z-bbbbbb" in capsys.readouterr().out
    assert cli.main(["resume", "--env", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["job_id"] == "20260101T000000Z-aaaaaa"
    assert cli.main(["resume", "--env", "dev", "20260102T000000Z-bbbbbb"]) == 2
    assert "was discarded" in capsys.readouterr().err
    assert cli.main(["discard", "20260101T000000Z-aaaaaa"]) == 2  # complete now
    assert "is complete: there is nothing to discard" in capsys.readouterr().err


def test_resume_estimates_and_caps_the_tasks_it_creates(workdir, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(backends.AwsBackend, "__init__", lambda *a, **k: pytest.fail("something was submitted"))
    from jobs.journal import Journal

    journaled_job(workdir, "20260101T000000Z-aaaaaa", env="prod", device="forte-1", specs=("bell",) * 3)
    assert cli.main(["resume", "--env", "prod", "--max-cost", "10"]) == 2
    assert "estimated cost $24.90 exceeds --max-cost $10.00: 3 tasks" in capsys.readouterr().err
    # A task the journal holds exists at Braket already: only the other two are created, and priced.
    Journal(workdir / "results" / "prod" / "20260101T000000Z-aaaaaa").task_created(
        0, "arn:aws:braket:us-east-1:123456789012:quantum-task/first")
    assert cli.main(["resume", "--env", "prod", "--max-cost", "10"]) == 2
    assert "estimated cost $16.60 exceeds --max-cost $10.00: 2 tasks" in capsys.readouterr().err


def test_resume_takes_no_outputs_option(workdir, capsys):
    assert cli.main(["resume", "--env", "dev", "--outputs", "x.json"]) == 2
    assert "unrecognized arguments: --outputs" in capsys.readouterr().err


# -- 8. one line, never a traceback --------------------------------------------------------


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: p.write_text(json.dumps({"allowed_devices": 5})), "output allowed_devices is 5: expected a list of device ARNs"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00binary"), "is not a JSON text file"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_bad_outputs_files_are_one_line(workdir, capsys, nothing_submitted, write, message):
    path = workdir / "outputs.json"
    write(path)
    assert cli.main(["run", "--env", "dev", "--outputs", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_malformed_task_arn_is_one_line(workdir, capsys):
    assert cli.main(["status", "x:quantum-task/abc"]) == 2
    assert "is not a quantum task ARN" in capsys.readouterr().err


def test_status_and_cancel_without_credentials_exit_2_like_run(workdir, capsys, no_aws_credentials):
    arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/abc"
    for command in ("status", "cancel", "results"):
        assert cli.main([command, arn]) == 2
        assert "no AWS credentials found" in capsys.readouterr().err


def test_cancelling_a_finished_task_by_arn_is_nothing_to_cancel(workdir, aws, capsys):
    assert cli.main(["run", "--env", "dev", "--device", "sv1", "--shots", "10", "--json"]) == 0
    [task] = json.loads(capsys.readouterr().out)["tasks"]
    assert cli.main(["cancel", task["id"]]) == 0
    assert "Nothing to cancel" in capsys.readouterr().out


def test_a_closed_pipe_is_no_traceback(workdir):
    assert run_jobs("run", "--env", "dev", "--shots", "10", cwd=workdir).returncode == 0
    shell = subprocess.run(
        f"{sys.executable} -m jobs status $(ls results/dev) | head -c 1",
        shell=True, cwd=workdir, env={**os.environ, **JOBS_ENV}, capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr


# -- 9. --json is one document on every exit ------------------------------------------------


def test_an_unexpected_error_is_one_line_and_one_json_document(workdir, capsys, monkeypatch):
    from jobs import commands

    monkeypatch.setattr(commands, "estimate", lambda *a: {}["boom"])
    assert cli.main(["estimate", "--env", "dev", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "unexpected KeyError" in captured.err and "JOBS_DEBUG=1" in captured.err
    assert json.loads(captured.out)["exit_code"] == 1


def test_abbreviated_options_are_refused(workdir, capsys, nothing_submitted):
    assert cli.main(["estimate", "--env", "dev", "--js"]) == 2
    assert "unrecognized arguments: --js" in capsys.readouterr().err


# -- 11. help ---------------------------------------------------------------------------------


def test_every_subcommand_and_option_has_help():
    import argparse

    parser = cli.build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subparsers.choices) == {"run", "estimate", "hybrid", "devices", "resume", "status", "results", "cancel", "discard"}
    for name, command in subparsers.choices.items():
        assert command.description, name
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, (name, action.dest)
    assert "--parallel" not in subparsers.choices["estimate"].format_help()
