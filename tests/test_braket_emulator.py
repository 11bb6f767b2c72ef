"""The unmodified Braket SDK and boto3 against the offline Braket emulator + moto S3."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsDevice, AwsQuantumTask
from braket.circuits import Circuit
from braket.tasks import GateModelQuantumTaskResult

from tests.braket_emulator import DEVICES, BraketEmulator, moto_s3_server, point_sdk_at

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"
CEPHEUS = "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q"  # a QPU outside us-east-1
ARIA_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"  # retired: `_Aria1` in the SDK
BUCKET = "amazon-braket-emulator-tests"
BELL = json.dumps({"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                   "source": "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\n"
                             "b = measure q;", "inputs": {}})
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def s3_url():
    with moto_s3_server() as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=BUCKET)
        yield url


@pytest.fixture
def emulator(s3_url, monkeypatch):
    with BraketEmulator(s3_endpoint=s3_url) as em:
        point_sdk_at(monkeypatch, em.url, s3_url)
        yield em


@pytest.fixture
def braket(emulator):
    return boto3.client("braket", endpoint_url=emulator.url, region_name="us-east-1")


def _keys(prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for obj in listing.get("Contents", [])]


def _create(client, **overrides):
    kwargs = {"clientToken": str(uuid.uuid4()), "deviceArn": SV1, "shots": 10, "action": BELL,
              "outputS3Bucket": BUCKET, "outputS3KeyPrefix": "direct",
              "deviceParameters": "{}"} | overrides
    return client.create_quantum_task(**kwargs)["quantumTaskArn"]


def test_sdk_runs_bell_circuit_and_writes_results_to_s3(emulator):
    task = AwsDevice(SV1).run(Circuit().h(0).cnot(0, 1),
                              s3_destination_folder=(BUCKET, "results/x"), shots=100)
    counts = task.result().measurement_counts
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100
    task_id = task.id.split("/")[-1]
    key = f"results/x/{task_id}/results.json"
    assert _keys(f"results/x/{task_id}/") == [key]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    result = GateModelQuantumTaskResult.from_string(body)
    assert result.task_metadata.id == task.id and result.task_metadata.deviceId == SV1
    meta = task.metadata()
    assert meta["status"] == "COMPLETED" and meta["outputS3Directory"] == f"results/x/{task_id}"
    assert meta["endedAt"] >= meta["createdAt"]  # parsed to datetimes by botocore


def test_qpu_in_other_region_runs_through_regional_session(emulator):
    task = AwsDevice(CEPHEUS).run(Circuit().h(0).cnot(0, 1), (BUCKET, "cepheus"), shots=20)
    assert task.id.startswith("arn:aws:braket:us-west-1:123456789012:quantum-task/")
    assert sum(task.result().measurement_counts.values()) == 20


def test_throttled_create_is_retried_and_creates_one_task(emulator, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")  # headroom for the throttled polls too
    device = AwsDevice(SV1)
    emulator.configure(throttle_rate=0.5, seed=9)  # seed 9: the first two calls are throttled
    task = device.run(Circuit().h(0).cnot(0, 1), (BUCKET, "throttled"), shots=10)
    assert sum(task.result().measurement_counts.values()) == 10
    stats = emulator.stats()
    assert len(emulator.tasks()) == 1
    assert stats["create_quantum_task_calls"] == 3 and stats["throttled"]["CreateQuantumTask"] == 2
    assert stats["throttled_calls"] > 0 and stats["tasks_created"] == 1


def test_failed_task_reports_reason_and_writes_nothing(emulator):
    emulator.configure(failure_rate=1.0)
    task = AwsDevice(SV1).run(Circuit().h(0), (BUCKET, "failing"), shots=10)
    assert task.result() is None
    assert task.state() == "FAILED"
    assert "Injected device failure" in task.metadata()["failureReason"]
    assert _keys("failing/") == []


def test_cancel_queued_task_never_runs(emulator):
    emulator.configure(queue_delay=5)
    task = AwsDevice(SV1).run(Circuit().h(0), (BUCKET, "cancelled"), shots=10)
    queued = task.queue_position()
    assert task.state() == "QUEUED" and (queued.queue_position, queued.message) == ("1", None)
    task.cancel()
    assert task.state() == "CANCELLED"
    gone = task.queue_position()  # no position once it left the queue, and the service says why
    assert (gone.queue_position, gone.message) == (
        None, "Task is in CANCELLED status. AmazonBraket does not show queue position for this status.")
    time.sleep(0.3)
    assert task.state() == "CANCELLED" and task.result() is None
    assert [t["status"] for t in emulator.tasks()] == ["CANCELLED"]
    assert _keys("cancelled/") == []


@pytest.mark.parametrize("overrides, status, code", [
    ({"deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/nope"}, 404,
     "ResourceNotFoundException"),
    ({"deviceArn": CEPHEUS}, 404, "ResourceNotFoundException"),  # us-west-1 QPU from us-east-1
    ({"deviceArn": ARIA_1}, 410, "DeviceRetiredException"),
    ({"outputS3Bucket": "no-such-bucket-here"}, 400, "ValidationException"),
    ({"shots": 100001}, 400, "ValidationException"),
    ({"deviceArn": FORTE, "shots": 0}, 400, "ValidationException"),
    ({"shots": 0}, 400, "ValidationException"),  # shots=0 needs a result type
    ({"action": BELL.replace("cnot q[0], q[1];", "cnot q[0] q[1]")}, 400, "ValidationException"),
    ({"action": '{"not": "braket ir"}'}, 400, "ValidationException"),
])
def test_create_validation_errors(braket, emulator, overrides, status, code):
    with pytest.raises(ClientError) as info:
        _create(braket, **overrides)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert emulator.tasks() == []


def test_device_status_overrides(braket, emulator):
    emulator.configure(device_status={FORTE: "OFFLINE", SV1: "RETIRED"})
    with pytest.raises(ClientError) as info:  # through the SDK (its own client's classes)
        AwsDevice(FORTE).run(Circuit().h(0), (BUCKET, "offline"), shots=10)
    assert info.value.response["Error"]["Code"] == "DeviceOfflineException"
    with pytest.raises(braket.exceptions.DeviceRetiredException):
        _create(braket)
    with pytest.raises(braket.exceptions.ValidationException, match="does not support"):
        _create(braket, deviceArn=AQUILA)  # AHS-only device rejects OpenQASM
    with pytest.raises(braket.exceptions.ResourceNotFoundException):
        braket.get_device(deviceArn="arn:aws:braket:::device/quantum-simulator/amazon/nope")
    emulator.configure(device_status={SV1: None})
    assert braket.get_device(deviceArn=SV1)["deviceStatus"] == "ONLINE"


def test_client_token_is_idempotent(braket, emulator):
    token = str(uuid.uuid4())
    first, second = _create(braket, clientToken=token), _create(braket, clientToken=token)
    assert first == second
    assert [t["clientToken"] for t in emulator.tasks()] == [token]
    assert first.startswith("arn:aws:braket:us-east-1:123456789012:quantum-task/")


def test_search_quantum_tasks_and_devices(braket, emulator):
    emulator.configure(queue_delay=5)
    arns = [_create(braket) for _ in range(3)]
    braket.cancel_quantum_task(quantumTaskArn=arns[0], clientToken=str(uuid.uuid4()))
    queued = braket.search_quantum_tasks(
        filters=[{"name": "status", "values": ["QUEUED"], "operator": "EQUAL"}], maxResults=1)
    assert len(queued["quantumTasks"]) == 1 and "nextToken" in queued
    page2 = braket.search_quantum_tasks(
        filters=[{"name": "status", "values": ["QUEUED"], "operator": "EQUAL"}],
        maxResults=1, nextToken=queued["nextToken"])
    found = queued["quantumTasks"] + page2["quantumTasks"]
    assert {t["quantumTaskArn"] for t in found} == set(arns[1:]) and "nextToken" not in page2
    assert braket.get_quantum_task(quantumTaskArn=arns[0])["status"] == "CANCELLED"
    recent = braket.search_quantum_tasks(filters=[
        {"name": "createdAt", "values": ["2000-01-01T00:00:00Z"], "operator": "GT"},
        {"name": "deviceArn", "values": [SV1], "operator": "EQUAL"}])["quantumTasks"]
    assert len(recent) == 3
    devices = braket.search_devices(filters=[])["devices"]
    assert {d["deviceArn"] for d in devices} == {
        arn for arn, d in DEVICES.items() if d.region in (None, "us-east-1")}
    assert FORTE in {d["deviceArn"] for d in devices} and CEPHEUS not in {d["deviceArn"] for d in devices}
    online = {d.name for d in AwsDevice.get_devices(statuses=["ONLINE"])}  # every region
    assert online == {d.name for d in DEVICES.values() if d.status == "ONLINE"}
    assert online >= {"SV1", "DM1", "Forte 1", "Forte Enterprise 1", "Aquila", "Cepheus-1-108Q",
                      "Garnet", "Emerald", "Ibex-Q1"}


def test_cli_serves_get_device_and_control_endpoints(s3_url):
    # --port 0: the kernel picks a free port and the banner names it (a port probed here first
    # could be taken by a parallel test before the emulator binds it).
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.braket_emulator", "--host", "127.0.0.1", "--port", "0",
         "--s3-endpoint", s3_url], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        banner = re.fullmatch(r"braket emulator listening on (http://127\.0\.0\.1:(\d+))",
                              proc.stdout.readline().strip())
        assert banner and 0 < int(banner.group(2)) < 65536, banner
        url = banner.group(1)
        client = boto3.client("braket", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        assert client.get_device(deviceArn=SV1)["deviceName"] == "SV1"
        request = urllib.request.Request(
            f"{url}/_emulator/config", method="POST",
            data=json.dumps({"device_status": {SV1: "OFFLINE"}}).encode())
        assert json.load(urllib.request.urlopen(request))["device_status"] == {SV1: "OFFLINE"}
        assert client.get_device(deviceArn=SV1)["deviceStatus"] == "OFFLINE"
        stats = json.load(urllib.request.urlopen(f"{url}/_emulator/stats"))
        assert stats["calls"] == {"GetDevice": 2}
        assert json.load(urllib.request.urlopen(f"{url}/_emulator/tasks")) == {"tasks": []}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_refuses_non_loopback_hosts(s3_url, host):
    with pytest.raises(ValueError, match="non-loopback"):
        BraketEmulator(host=host, s3_endpoint=s3_url)
