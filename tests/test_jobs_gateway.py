"""`python -m jobs run --gateway URL`: the jobs client through a real gateway on loopback.

The gateway runs in this process (its real app, store, policies and audit trail: tests/
gateway_fixtures.py) under uvicorn on 127.0.0.1, with its forwarder thread sending to the Braket
test service and moto's S3. `python -m jobs` runs as a user runs it, in its own process, and with
no AWS credentials at all: through the gateway it needs none.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pytest

from gateway.tls import uvicorn_ssl_settings
from jobs import cli
from jobs.circuits import parse_circuit
from jobs.errors import UsageError
from jobs.gateway_client import RATE_LIMIT_BUDGET_SECONDS, TOKEN_VARIABLE, GatewayAccess, GatewayBackend
from jobs.journal import Journal
from jobs.runner import job_header, plan_job
from tests.gateway_fixtures import Gateway, token
from tests.gateway_pki import Pki, make_pki
from tests.jobs_process import JOBS_ENV, jobs_argv
from tests.test_gateway_auth import serving

TOKEN = token("alice")  # a dev API token the gateway knows (subject alice, group researchers)
TASK_KEYS = {"index", "id", "circuit", "shots", "state", "counts", "failure_reason"}
UUID_LENGTH = 36


class Served:
    """A gateway served on loopback with its forwarder running; ``url`` is where it answers."""

    def __init__(self, gateway: Gateway, url: str) -> None:
        self.gateway, self.url = gateway, url

    def decisions(self) -> list[str]:
        lines = self.gateway.config.audit_log.read_text().splitlines() if self.gateway.config.audit_log.exists() else []
        return [json.loads(line)["decision"] for line in lines if json.loads(line)["event"] == "decision"]


@contextmanager
def serve(gateway: Gateway, **settings) -> Iterator[Served]:
    forwarder = gateway.forwarder()
    forwarder.start(interval=0.02)
    try:
        with serving(gateway.app, **settings) as port:
            yield Served(gateway, f"{'https' if settings else 'http'}://127.0.0.1:{port}")
    finally:
        forwarder.stop()
        gateway.store.close()


@pytest.fixture
def served(aws, tmp_path) -> Iterator[Served]:
    """A plain-HTTP gateway (dev tokens) forwarding to the Braket test service."""
    with serve(Gateway(tmp_path / "gateway")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def client_env(gateway_token: Optional[str] = None) -> dict[str, str]:
    """The environment of a user on the premises: no AWS credentials or endpoints anywhere boto3
    looks (so any call to AWS would fail), and the gateway token if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("BRAKET_ENDPOINT", TOKEN_VARIABLE)}
    env.update(JOBS_ENV, AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true")
    if gateway_token is not None:
        env[TOKEN_VARIABLE] = gateway_token
    return env


def jobs(*args: str, cwd: Path, gateway_token: Optional[str] = None) -> subprocess.CompletedProcess:
    """`python -m jobs ARGS` as a user without AWS credentials runs it (tests/jobs_process.py's command line)."""
    return subprocess.run(jobs_argv(*args), cwd=cwd, env=client_env(gateway_token), capture_output=True, text=True,
                          timeout=120)


def one_line(run: subprocess.CompletedProcess) -> str:
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    return lines[0]


def files_under(directory: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def assert_bell_pair(task: dict, shots: int) -> None:
    assert task["state"] == "COMPLETED", task
    assert set(task["counts"]) <= {"00", "11"} and sum(task["counts"].values()) == shots, task


def test_a_bell_pair_through_the_gateway_comes_back_as_from_a_direct_run(workdir, aws, served):
    run = jobs("run", "--env", "dev", "--gateway", served.url, "--token", TOKEN, "--device", "sv1",
               "--circuit", "bell", "--shots", "100", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    [task] = document["tasks"]
    assert_bell_pair(task, 100)
    results = Path(document["results_dir"])
    summary = json.loads((workdir / results / "summary.json").read_text())
    assert summary["tasks"] == [task] and summary["complete"] is True
    assert summary["gateway"] == {"url": served.url, "authentication": "token", "ca": None}

    # The task id is the gateway's; the gateway forwarded it once, with its own tags and client token.
    assert len(task["id"]) == UUID_LENGTH and served.gateway.store.get(task["id"]).state == "COMPLETED"
    [forwarded] = aws.emulator.tasks()
    assert forwarded["clientToken"] == task["id"] and list(forwarded["tags"]) == ["correlation"]
    # The raw result is the gateway's answer: the counts per bit, named in the user's register.
    raw = json.loads((workdir / results / "raw" / "task-0000.json").read_text())
    assert raw["counts"]["counts"] == task["counts"] and {b["register"] for b in raw["counts"]["bits"]} == {"b"}

    # A direct run of the same circuit (with AWS credentials) writes the same shape.
    direct = subprocess.run(jobs_argv("run", "--env", "dev", "--device", "sv1", "--shots", "100", "--json"), cwd=workdir,
                            env={**os.environ, **JOBS_ENV}, capture_output=True, text=True, timeout=120)
    assert direct.returncode == 0, direct.stderr
    direct_document = json.loads(direct.stdout)
    [direct_task] = direct_document["tasks"]
    assert set(task) == set(direct_task) == TASK_KEYS
    direct_summary = json.loads((workdir / direct_document["results_dir"] / "summary.json").read_text())
    assert set(summary) - set(direct_summary) == {"gateway"} and set(direct_summary) <= set(summary)
    assert set(document) - set(direct_document) == {"gateway"}
    assert sorted(p.name for p in (workdir / results).iterdir()) == sorted(
        p.name for p in (workdir / direct_document["results_dir"]).iterdir())

    # The token was sent, never written: not in the journal, the results, or the output.
    written = files_under(workdir / "results")
    assert any(path.name == "journal.jsonl" for path in written)
    assert not [path for path, content in written.items() if TOKEN.encode() in content]
    assert TOKEN not in run.stdout + run.stderr


def test_a_policy_refusal_exits_2_with_the_rule_and_submits_nothing_more(workdir, aws, served):
    run = jobs("run", "--env", "dev", "--gateway", served.url, "--device", "sv1", "--shots", "10001",
               "--circuit", "bell", "--circuit", "bell", "--circuit", "ghz:3", "--parallel", "1",
               cwd=workdir, gateway_token=TOKEN)  # the token from QUANTUM_GATEWAY_TOKEN
    assert run.returncode == 2, run.stderr
    line = one_line(run)
    assert "shots-ceiling" in line and "at most 10,000 shots" in line and "nothing was submitted" in line
    assert served.decisions() == ["deny"]  # the first task was refused; the other two were never sent
    assert aws.emulator.tasks() == []
    assert TOKEN not in run.stdout + run.stderr


def test_a_bad_token_exits_2_unauthenticated_and_is_never_echoed(workdir, aws, served):
    bad = "not-a-token-the-gateway-knows"
    run = jobs("run", "--env", "dev", "--gateway", served.url, "--token", bad, "--device", "sv1", "--shots", "100",
               cwd=workdir)
    assert run.returncode == 2, run.stderr
    line = one_line(run)
    assert "unauthenticated" in line and "unknown_api_token" in line and TOKEN_VARIABLE in line
    assert bad not in run.stdout + run.stderr
    assert served.decisions() == [] and aws.emulator.tasks() == []


def test_mutual_tls_end_to_end_and_what_it_refuses(workdir, aws, pki, tmp_path):
    gateway = Gateway(tmp_path / "gateway", tls=pki.tls_config())
    with serve(gateway, **uvicorn_ssl_settings(pki.tls_config())) as served:
        common = ("run", "--env", "dev", "--gateway", served.url, "--device", "sv1", "--shots", "100")
        ca = str(pki.ca.certificate_path)
        run = jobs(*common, "--cert", str(pki.client.certificate_path), "--key", str(pki.client.key_path),
                   "--ca", ca, "--json", cwd=workdir, gateway_token="ignored-with-a-certificate")
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        assert_bell_pair(document["tasks"][0], 100)
        assert document["gateway"] == {"url": served.url, "authentication": "certificate", "ca": ca}
        assert served.gateway.store.get(document["tasks"][0]["id"]).subject == "alice"  # the certificate's CN

        # A certificate from another CA: the handshake is refused, the request never reaches the app.
        stranger = jobs(*common, "--cert", str(pki.stranger.certificate_path), "--key", str(pki.stranger.key_path),
                        "--ca", ca, cwd=workdir)
        assert stranger.returncode == 2 and "did not accept the client certificate" in one_line(stranger)
        # The gateway's own certificate checked against the wrong CA: refused before anything is sent.
        untrusted = jobs(*common, "--cert", str(pki.client.certificate_path), "--key", str(pki.client.key_path),
                         "--ca", str(pki.other_ca.certificate_path), cwd=workdir)
        assert untrusted.returncode == 2 and "certificate verify failed" in one_line(untrusted)
        assert "--ca" in one_line(untrusted)
        assert served.decisions() == ["allow"] and len(aws.emulator.tasks()) == 1


def test_an_unreachable_gateway_is_one_line_and_exit_1(workdir):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = jobs("run", "--env", "dev", "--gateway", f"http://127.0.0.1:{port}", "--device", "sv1", cwd=workdir,
               gateway_token=TOKEN)
    assert run.returncode == 1 and "cannot reach the gateway" in one_line(run) and "refused" in one_line(run)


def journaled_gateway_job(workdir: Path, served: Served, job_id: str, submitted: int):
    """A Bell and GHZ job journaled as `jobs run --gateway` writes it, its first ``submitted`` tasks
    accepted by the gateway (then interrupted): (the plan, a backend with alice's token, the task ids)."""
    access = GatewayAccess.from_options(served.url, token=TOKEN)
    plan = plan_job("dev", device="sv1", circuits=["bell", "ghz:3"], shots=50, root=workdir)
    journal = Journal(workdir / "results" / "dev" / job_id)
    journal.start({**job_header(plan, job_id), "gateway": access.journal_entry()})
    backend = GatewayBackend(access, plan.device.arn)
    ids = [backend.submit(plan.circuits[i], 50, {}, f"{job_id}-{i}") for i in range(submitted)]
    for index, task_id in enumerate(ids):
        journal.task_created(index, task_id)
    return plan, backend, ids


def test_resume_status_and_results_of_a_gateway_job(workdir, aws, served):
    """A job interrupted after its first task was accepted: `resume` creates only the second."""
    job_id = "20260101T000000Z-abcdef"
    _, backend, [first] = journaled_gateway_job(workdir, served, job_id, submitted=1)
    backend.close()

    # The credentials are never journaled: every command that talks to the gateway needs them again.
    blind = jobs("status", job_id, cwd=workdir)
    assert blind.returncode == 2 and f"job {job_id}" in one_line(blind) and TOKEN_VARIABLE in one_line(blind)
    status = jobs("status", job_id, "--json", cwd=workdir, gateway_token=TOKEN)
    assert status.returncode == 0, status.stderr
    assert [row["id"] for row in json.loads(status.stdout)["tasks"]] == [first]
    elsewhere = jobs("resume", "--env", "dev", job_id, "--gateway", "http://127.0.0.1:9", cwd=workdir, gateway_token=TOKEN)
    assert elsewhere.returncode == 2 and f"went through the gateway {served.url}" in one_line(elsewhere)

    resumed = jobs("resume", "--env", "dev", job_id, "--json", cwd=workdir, gateway_token=TOKEN)
    assert resumed.returncode == 0, resumed.stderr
    tasks = json.loads(resumed.stdout)["tasks"]
    assert tasks[0]["id"] == first and [t["state"] for t in tasks] == ["COMPLETED", "COMPLETED"]
    assert set(tasks[1]["counts"]) <= {"000", "111"} and sum(tasks[1]["counts"].values()) == 50
    assert len(aws.emulator.tasks()) == 2 and served.decisions() == ["allow", "allow"]  # nothing twice

    results = jobs("results", job_id, "--json", cwd=workdir)  # complete: read from disk, no gateway needed
    assert results.returncode == 0 and json.loads(results.stdout)["tasks"] == tasks
    by_id = jobs("results", "--gateway", served.url, tasks[1]["id"], "--json", cwd=workdir, gateway_token=TOKEN)
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["tasks"][0]["counts"] == tasks[1]["counts"]
    nobody = jobs("status", "--gateway", served.url, tasks[1]["id"], cwd=workdir, gateway_token=token("lena"))
    assert nobody.returncode == 2 and "no such task of yours" in one_line(nobody)  # another subject's task


def test_a_rate_limit_is_waited_out_by_retry_after_and_bounded(aws, tmp_path):
    """429 with Retry-After: wait that long (here on the gateway's clock, not the test's) and send
    again; a limit that does not clear within the budget is a refusal, and nothing more is sent."""
    skew = [0.0]
    gateway = Gateway(tmp_path / "gateway", rate_limit=2, clock=lambda: time.time() + skew[0])
    waits: list[float] = []
    with serve(gateway) as served:
        def wait_on_the_gateways_clock(seconds: float) -> None:
            waits.append(seconds)
            skew[0] += seconds

        access = GatewayAccess.from_options(served.url, token=TOKEN)
        backend = GatewayBackend(access, "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
                                 sleep=wait_on_the_gateways_clock)
        bell = parse_circuit("bell")
        ids = [backend.submit(bell, 10, {}, f"task-{n}") for n in range(3)]  # distinct tokens: distinct tasks
        assert len(set(ids)) == 3 and len(waits) == 1 and 59 <= waits[0] <= 60  # the third waited a minute
        assert [backend.wait(i, 20).state for i in ids] == ["COMPLETED"] * 3

        waits.clear()
        stuck = GatewayBackend(access, "arn:aws:braket:::device/quantum-simulator/amazon/sv1", sleep=waits.append)
        stuck.submit(bell, 10, {}, "stuck-0")  # the window (on the gateway's clock) has room for one more
        with pytest.raises(UsageError, match="still rate limiting") as refused:
            stuck.submit(bell, 10, {}, "stuck-1")  # the clock stands still: the limit never clears
        assert "nothing more is submitted" in str(refused.value)
        assert 0 < sum(waits) <= RATE_LIMIT_BUDGET_SECONDS and waits
        sent = len(waits)
        with pytest.raises(UsageError, match="still rate limiting"):
            stuck.submit(bell, 10, {}, "stuck-2")
        assert len(waits) == sent  # refused at once: not sent again
        backend.close()
        stuck.close()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--gateway", "http://127.0.0.1:8443", "--token", TOKEN, "--device", "local"], "--gateway with --device local"),
        (["--device", "sv1", "--token", TOKEN], "--token needs --gateway URL"),
        (["--device", "sv1", "--gateway", "http://127.0.0.1:8443"],
         f"no credentials: give --cert FILE --key FILE (mutual TLS) or a token in {TOKEN_VARIABLE}"),
        (["--device", "sv1", "--gateway", "http://gateway.example:8443", "--token", TOKEN], "a token is sent only over https://"),
        (["--device", "sv1", "--gateway", "http://127.0.0.1:8443", "--cert", "alice.pem"], "--cert needs an https:// gateway"),
        (["--device", "sv1", "--gateway", "https://127.0.0.1:8443", "--cert", "missing.pem"], "--cert missing.pem: no such file"),
        (["--device", "sv1", "--gateway", "https://127.0.0.1:8443", "--cert", "cdktf.out/stacks/dev/cdk.tf.json"],
         "not a PEM certificate with its unencrypted private key"),
        (["--device", "sv1", "--gateway", "https://127.0.0.1:8443", "--cert", "a.pem", "--token", TOKEN],
         "--token and --cert: choose one"),
        (["--device", "sv1", "--gateway", "https://user:secret@gateway.example", "--token", TOKEN],
         "credentials in the URL are not allowed"),
        (["--device", "sv1", "--gateway", "ftp://gateway.example", "--token", TOKEN], "expected a URL such as https://"),
        (["--device", "sv1", "--gateway", "https://127.0.0.1:8443", "--token", "two words"], "not a bearer token"),
    ],
)
def test_inconsistent_gateway_options_are_refused_before_anything_is_sent(workdir, capsys, monkeypatch, argv, message):
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    assert cli.main(["run", "--env", "dev", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (workdir / "results").exists()  # no job was journaled


def test_the_help_says_where_the_token_is_better_kept():
    [commands] = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name in ("run", "resume", "status", "results", "cancel"):
        help_text = " ".join(commands.choices[name].format_help().split())
        assert TOKEN_VARIABLE in help_text and "shell history" in help_text, name
    assert "--gateway" not in commands.choices["estimate"].format_help()


def test_cancel_of_a_gateway_job_and_of_one_gateway_task(workdir, aws, served):
    """`jobs cancel JOB_ID` stops every unfinished task of a job that went through the gateway (the
    gateway cancels them at Braket with its own credentials), and `cancel --gateway URL TASK_ID` one
    task; another subject's task is not found, and a finished one has nothing to cancel."""
    aws.emulator.configure(queue_delay=30.0)  # they wait at Braket long enough to be cancelled there
    job_id = "20260101T000000Z-cancel"
    plan, backend, ids = journaled_gateway_job(workdir, served, job_id, submitted=2)
    other = backend.submit(plan.circuits[0], 50, {}, f"{job_id}-other")
    deadline = time.monotonic() + 20
    while len(aws.emulator.tasks()) < 3:  # the forwarder sent them
        assert time.monotonic() < deadline
        time.sleep(0.02)

    cancelled = jobs("cancel", job_id, "--json", cwd=workdir, gateway_token=TOKEN)
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["tasks"] == [{"id": i, "state": "CANCELLING"} for i in ids]
    nobody = jobs("cancel", "--gateway", served.url, other, cwd=workdir, gateway_token=token("lena"))
    assert nobody.returncode == 2 and "no such task of yours" in one_line(nobody)
    one = jobs("cancel", "--gateway", served.url, other, cwd=workdir, gateway_token=TOKEN)
    assert one.returncode == 0 and one.stdout.split() == [other, "CANCELLING"], one.stderr

    while {backend.state(t)[0] for t in (*ids, other)} != {"CANCELLED"}:
        assert time.monotonic() < deadline + 20, [backend.state(t) for t in (*ids, other)]
        time.sleep(0.05)
    assert {t["status"] for t in aws.emulator.tasks()} == {"CANCELLED"}
    again = jobs("cancel", job_id, cwd=workdir, gateway_token=TOKEN)
    assert again.returncode == 0 and "Nothing to cancel: every task has finished." in again.stdout
    backend.close()
