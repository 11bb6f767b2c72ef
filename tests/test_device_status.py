"""`jobs.device_status`: live device statuses through the run path's Braket endpoint, bounded in time.

Against the project's Braket emulator (the `aws` fixture), a loopback server that accepts and
never answers, and a closed port. Every server and thread here is bounded in time.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from jobs import device_status
from jobs.commands import DEVICES_DEADLINE_SECONDS
from jobs.devices import LOCAL, device_from_arn
from tests.jobs_process import run_jobs

REPO = Path(__file__).resolve().parents[1]

SV1 = device_from_arn("arn:aws:braket:::device/quantum-simulator/amazon/sv1")
DM1 = device_from_arn("arn:aws:braket:::device/quantum-simulator/amazon/dm1")
FORTE = device_from_arn("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1")
FORTE_ENTERPRISE = device_from_arn("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1")
AQUILA = device_from_arn("arn:aws:braket:us-east-1::device/qpu/quera/Aquila")
CEPHEUS = device_from_arn("arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q")  # a QPU outside us-east-1
FIVE = [SV1, DM1, FORTE, FORTE_ENTERPRISE, AQUILA]
HANG_GUARD = 30.0  # seconds: a test fails, rather than hangs, if live_statuses ever overruns this


# Longer than every "at once" bound below (3 s), so that none of them passes by waiting it out.
LONG_DEADLINE = 5.0


def statuses(devices, region: str = "us-east-1", deadline_seconds: float = LONG_DEADLINE) -> tuple[dict[str, str], float]:
    """live_statuses in a daemon thread (so a regression fails instead of hanging): (result, seconds)."""
    box: dict[str, object] = {}

    def call() -> None:
        try:
            box["result"] = device_status.live_statuses(devices, region, deadline_seconds=deadline_seconds)
        except BaseException as error:  # surfaced below
            box["error"] = error

    started = time.monotonic()
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    elapsed = time.monotonic() - started
    assert not worker.is_alive(), f"live_statuses still running after {HANG_GUARD} s"
    if "error" in box:
        raise box["error"]
    return box["result"], elapsed


class SilentServer:
    """Loopback TCP server that accepts every connection and never answers; counts connections
    and notes when the first one came (``first_connection_at``, time.monotonic)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._accepted: list[socket.socket] = []
        self.first_connection_at: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._accepted)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            with self._lock:
                self.first_connection_at = self.first_connection_at or time.monotonic()
                self._accepted.append(connection)  # held open, never read from or written to

    def __enter__(self) -> "SilentServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            for connection in self._accepted:  # the clients still waiting see the connection end
                connection.close()
        assert not self._thread.is_alive()


@pytest.fixture
def silent():
    with SilentServer() as server:
        yield server


@pytest.fixture
def closed_port_url():
    """A loopback URL nothing listens on: connections are refused at once.

    The port stays bound (never listening) while the test runs, so no other test or
    process, parallel ones included, can start listening on it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{reserved.getsockname()[1]}"


@pytest.fixture
def fake_credentials(monkeypatch, no_aws_credentials):
    """Credentials that only a test double accepts, no profile, no region variable, no configured endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


# -- against the Braket emulator --------------------------------------------------


def test_statuses_are_live_from_the_braket_endpoint(aws):
    from tests.braket_emulator import DEVICES

    devices = [LOCAL, *FIVE, CEPHEUS]
    first, _ = statuses(devices)
    # The catalogue's own statuses (all current devices, ONLINE); Cepheus-1-108Q is asked in
    # us-west-1, its own region: the emulator, like Braket, shows a QPU nowhere else.
    assert first == {"local": "ONLINE", **{d.arn: DEVICES[d.arn].status for d in devices[1:]}}
    assert first[CEPHEUS.arn] == "ONLINE" and first[AQUILA.arn] == "ONLINE"
    assert list(first) == [d.arn for d in devices]
    aws.emulator.configure(
        device_status={FORTE.arn: "OFFLINE", SV1.arn: "RETIRED", CEPHEUS.arn: "OFFLINE", AQUILA.arn: "OFFLINE"}
    )
    second, _ = statuses(devices)
    assert (second[FORTE.arn], second[SV1.arn], second[CEPHEUS.arn], second[AQUILA.arn]) == (
        "OFFLINE", "RETIRED", "OFFLINE", "OFFLINE")
    assert second[DM1.arn] == second[FORTE_ENTERPRISE.arn] == "ONLINE"
    assert aws.emulator.stats()["calls"]["GetDevice"] == 2 * 6  # local asked nothing


def test_aws_endpoint_url_braket_is_honoured_too(aws, monkeypatch):
    monkeypatch.delenv("BRAKET_ENDPOINT")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BRAKET", aws.emulator.url)
    aws.emulator.configure(device_status={FORTE.arn: "OFFLINE"})
    found, _ = statuses([LOCAL, SV1, FORTE, CEPHEUS])
    assert found == {"local": "ONLINE", SV1.arn: "ONLINE", FORTE.arn: "OFFLINE", CEPHEUS.arn: "ONLINE"}
    assert aws.emulator.stats()["calls"]["GetDevice"] == 3


def test_braket_endpoint_wins_over_aws_endpoint_url_braket_as_in_the_sdk(aws, monkeypatch, closed_port_url):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BRAKET", closed_port_url)
    aws.emulator.configure(device_status={DM1.arn: "OFFLINE"})
    found, _ = statuses([DM1])
    assert found == {DM1.arn: "OFFLINE"}


def test_the_client_is_resolved_as_the_run_path_resolves_it(aws, monkeypatch):
    from jobs.backends import AwsBackend

    def endpoints() -> tuple[str, str]:
        run_path = AwsBackend(device_arn=SV1.arn, region="us-east-1", bucket=None, key_prefix="results")
        client = device_status.braket_client("us-east-1", connect_timeout=1, read_timeout=2, max_attempts=1)
        return run_path._session.braket_client.meta.endpoint_url, client.meta.endpoint_url

    assert endpoints() == (aws.emulator.url, aws.emulator.url)
    monkeypatch.delenv("BRAKET_ENDPOINT")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BRAKET", aws.emulator.url + "/")
    assert endpoints() == (aws.emulator.url + "/", aws.emulator.url + "/")
    monkeypatch.delenv("AWS_ENDPOINT_URL_BRAKET")
    assert endpoints() == ("https://braket.us-east-1.amazonaws.com",) * 2

    client = device_status.braket_client("us-west-1", connect_timeout=1.5, read_timeout=2.5, max_attempts=1)
    assert (client.meta.region_name, client.meta.config.connect_timeout, client.meta.config.read_timeout) == (
        "us-west-1", 1.5, 2.5)
    assert client.meta.config.retries["total_max_attempts"] == 1  # one attempt: no retry
    assert "BraketSdk/" in client.meta.config.user_agent_extra  # the SDK's AwsSession built it


def test_simulators_are_asked_in_the_stack_region_and_qpus_in_their_own(aws, monkeypatch):
    asked: list[str] = []
    build = device_status.braket_client

    def recording(region, **kwargs):
        asked.append(region)
        return build(region, **kwargs)

    monkeypatch.setattr(device_status, "braket_client", recording)
    found, _ = statuses([SV1, DM1, FORTE, CEPHEUS], region="eu-west-2")
    assert sorted(asked) == ["eu-west-2", "us-east-1", "us-west-1"]  # one client per region
    assert set(found.values()) == {"ONLINE"}  # Forte-1 and Cepheus-1-108Q are found only in their own regions


def test_throttled_or_denied_is_unknown(aws):
    aws.emulator.configure(throttle_rate=1.0)
    found, elapsed = statuses([LOCAL, SV1, FORTE])
    assert found == {"local": "ONLINE", SV1.arn: "unknown", FORTE.arn: "unknown"}
    assert aws.emulator.stats()["throttled"]["GetDevice"] == 2  # asked once each: no retry
    assert elapsed < 3


# -- against endpoints that do not answer ----------------------------------------


def test_a_silent_endpoint_costs_at_most_the_deadline(fake_credentials, silent, monkeypatch):
    monkeypatch.setenv("BRAKET_ENDPOINT", silent.url)
    found, elapsed = statuses([LOCAL, *FIVE], deadline_seconds=1.0)
    print(f"\nfive devices against a silent endpoint, deadline 1 s: {elapsed:.2f} s")
    assert found == {"local": "ONLINE", **{d.arn: "unknown" for d in FIVE}}
    assert 1.0 <= elapsed < 2.0
    assert silent.connections == 5  # all five asked at once, not one after the other


def test_a_silent_endpoint_through_aws_endpoint_url_braket(fake_credentials, silent, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BRAKET", silent.url)
    found, elapsed = statuses(FIVE, deadline_seconds=1.5)
    print(f"\nfive devices, deadline 1.5 s: {elapsed:.2f} s")
    assert set(found.values()) == {"unknown"} and elapsed < 2.5
    assert silent.connections == 5


def test_a_refused_connection_is_unknown_at_once(fake_credentials, monkeypatch, closed_port_url):
    monkeypatch.setenv("BRAKET_ENDPOINT", closed_port_url)
    found, elapsed = statuses([LOCAL, *FIVE])
    print(f"\nfive devices against a closed port: {elapsed:.2f} s")
    assert found == {"local": "ONLINE", **{d.arn: "unknown" for d in FIVE}}
    assert elapsed < 3


def test_no_credentials_means_unknown_without_a_connection(silent, monkeypatch, no_aws_credentials):
    monkeypatch.setenv("BRAKET_ENDPOINT", silent.url)
    found, elapsed = statuses([LOCAL, *FIVE, CEPHEUS])
    assert found == {"local": "ONLINE", **{d.arn: "unknown" for d in [*FIVE, CEPHEUS]}}
    assert elapsed < 3
    time.sleep(0.2)  # a connection made late would still be counted
    assert silent.connections == 0


def test_only_the_local_simulator_needs_nothing(monkeypatch):
    monkeypatch.setattr(device_status, "braket_client", lambda *a, **k: pytest.fail("client built"))
    assert statuses([LOCAL])[0] == {"local": "ONLINE"}
    assert statuses([])[0] == {}


def test_importing_the_module_imports_neither_boto3_nor_the_sdk():
    code = "import sys, jobs.device_status; print(sorted(m for m in ('boto3', 'botocore', 'braket') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_devices_command_waits_at_most_its_deadline_for_a_silent_endpoint(fake_credentials, silent, workdir, monkeypatch):
    """The whole `python -m jobs devices --env prod`, as a user runs it: once it has asked the endpoint
    it ends within its 3 s deadline (plus exit). The interpreter's start comes before the deadline
    and depends on the machine's load, so the clock here starts at the first connection."""
    monkeypatch.setenv("BRAKET_ENDPOINT", silent.url)
    started = time.monotonic()
    run = run_jobs("devices", "--env", "prod", "--json", cwd=workdir)
    ended = time.monotonic()
    assert silent.first_connection_at is not None, "the command never asked the endpoint"
    waited = ended - silent.first_connection_at
    print(f"\n`jobs devices --env prod` against a silent endpoint: {ended - started:.2f} s, {waited:.2f} s of it after asking")
    assert run.returncode == 0, run.stderr
    statuses = {row["alias"]: row["status"] for row in json.loads(run.stdout)["devices"]}
    assert statuses["local"] == "ONLINE" and {s for a, s in statuses.items() if a != "local"} == {"unknown"}
    assert silent.connections == 5  # every remote device asked, at once
    assert waited < DEVICES_DEADLINE_SECONDS + 1.5
