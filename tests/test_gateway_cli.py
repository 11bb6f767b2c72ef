"""`python -m gateway serve` and `python -m gateway audit verify` as an operator runs them: a real
process on loopback, forwarding to the Braket test service, stopped with SIGTERM and started again."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
TOKEN = "dev-token-alice"
BELL = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(root: Path, port: int, extra: str = "") -> Path:
    """A dev gateway's TOML in ``root`` (state under ``root/state``), alice's token, then ``extra``."""
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    path = root / "gateway.toml"
    path.write_text(f"""[gateway]
host = "127.0.0.1"
port = {port}
database = "state/gateway.sqlite3"
audit_log = "state/audit.jsonl"

[[gateway.api_tokens]]
subject = "alice"
groups = ["researchers"]
sha256 = "{digest}"
{extra}""")
    (root / "state").mkdir(exist_ok=True)
    return path


def gateway(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs)


class Served:
    def __init__(self, config: Path, port: int, cwd: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--env", "dev", "--config", str(config)],
            cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise AssertionError(self.process.stdout.read())
                time.sleep(0.1)
        self.process.kill()
        raise AssertionError("the gateway did not answer within 30 s")

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        return self.process.returncode, output


def test_serve_forward_stop_and_start_again(workdir, aws):
    port = free_port()
    config = write_config(workdir, port)
    served = Served(config, port, workdir)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        accepted = httpx.post(f"{served.url}/v1/tasks", json={"device": SV1, "shots": 50, "program": BELL}, headers=headers, timeout=10)
        assert accepted.status_code == 202, accepted.text
        task_id = accepted.json()["id"]
        deadline = time.monotonic() + 30
        while (state := httpx.get(f"{served.url}/v1/tasks/{task_id}", headers=headers, timeout=5).json())["state"] != "COMPLETED":
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert sum(state["counts"]["counts"].values()) == 50
        assert set(state["counts"]["registers"]["c"]) <= {"00", "11"}  # a Bell pair, in the user's register c
    finally:
        code, output = served.stop()
    assert code == 0, output  # SIGTERM: a graceful stop
    again = Served(config, port, workdir)
    try:  # the same task, from the durable store
        assert httpx.get(f"{again.url}/v1/tasks/{task_id}", headers=headers, timeout=5).json()["state"] == "COMPLETED"
    finally:
        again.stop()
    assert [t["clientToken"] for t in aws.emulator.tasks()] == [task_id]
    verified = gateway("audit", "verify", str(workdir / "state" / "audit.jsonl"), "--database", str(workdir / "state" / "gateway.sqlite3"))
    assert verified.returncode == 0 and verified.stdout.startswith("audit log OK: 3 records"), verified.stdout + verified.stderr


@pytest.mark.parametrize(
    "config_text, message",
    [
        ("[gateway]\nport = 99999\n", "gateway.port=99999 is not allowed"),
        ("[gateway]\n[[gateway.api_tokens]]\nsubject='a'\nsha256='abc'\n", "gateway.api_tokens[0].sha256='abc' is not allowed"),
        ("not toml [", "not valid TOML"),
        ("[gateway]\n", "gateway='no authentication' is not allowed"),
    ],
)
def test_a_bad_configuration_is_one_line_and_exit_2(tmp_path, config_text, message):
    path = tmp_path / "gateway.toml"
    path.write_text(config_text)
    run = gateway("serve", "--env", "dev", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_tokens_are_refused_outside_dev(tmp_path):
    path = write_config(tmp_path, 8443)
    run = gateway("serve", "--env", "prod", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2 and "gateway.api_tokens" in run.stderr and "outside dev" in run.stderr


def test_audit_verify_says_what_is_wrong(tmp_path):
    missing = gateway("audit", "verify", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
