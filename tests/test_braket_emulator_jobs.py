"""Braket Hybrid Jobs on the emulator, through the unmodified SDK (``AwsQuantumJob``) and boto3.

A job's entry point runs in a subprocess as the Braket container runs it, with the variables
Braket sets and credentials of its own: its tasks go to the same emulator, as the role it was
passed. The S3 layout asserted here is the one the SDK's integration test
``test_completed_quantum_job`` lists for the real service (tests/braket_emulator/jobs.py).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsQuantumJob, AwsSession
from braket.jobs.config import CheckpointConfig, OutputDataConfig, StoppingCondition

from tests.braket_emulator import ACCOUNT_ID, CallerIdentity

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BUCKET = "amazon-braket-quantum-cloud-results-dev"  # the dev stack's, created by the aws fixture
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/AmazonBraketJobsExecutionRole-test"
CALLER = f"arn:aws:iam::{ACCOUNT_ID}:role/BraketCaller"
JOB_ARN = re.compile(rf"arn:aws:braket:us-east-1:{ACCOUNT_ID}:job/[0-9a-f-]{{36}}")
POLL = 0.02

BELL_JOB = '''
import os

from braket.aws import AwsDevice
from braket.circuits import Circuit
from braket.jobs import get_input_data_dir, save_job_checkpoint, save_job_result


def start_here(shots: int, label):
    angles = os.path.join(get_input_data_dir("angles"), "angles.txt")
    if os.path.exists(angles):  # the input channel, when the job was given one
        with open(angles) as f:
            label = f"{label} {f.read().strip()}"
    device = AwsDevice(os.environ["AMZN_BRAKET_DEVICE_ARN"])
    task = device.run(Circuit().h(0).cnot(0, 1), shots=shots, poll_interval_seconds=0.02)
    counts = dict(task.result().measurement_counts)
    save_job_checkpoint({"task": task.id}, checkpoint_file_suffix="bell")
    save_job_result({"counts": counts, "task": task.id, "label": label})
    print("bell job done", flush=True)
'''
FAILING_JOB = '''
print("Test job started!!!!!")
open("fake_file")
'''
SLEEPING_JOB = '''
import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("sleeping", child.pid, flush=True)
time.sleep(60)
'''


def source(tmp_path: Path, module: str, text: str) -> Path:
    path = tmp_path / "src" / f"{module}.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def create(tmp_path: Path, name: str, module: str, text: str, entry_point: str, **kwargs) -> AwsQuantumJob:
    """``AwsQuantumJob.create`` as a user calls it, everything under s3://<bucket>/jobs/<name>/."""
    prefix = f"s3://{BUCKET}/jobs/{name}"
    return AwsQuantumJob.create(
        device=SV1, source_module=str(source(tmp_path, module, text)), entry_point=entry_point,
        aws_session=AwsSession(default_bucket=BUCKET), role_arn=ROLE, job_name=name,
        code_location=f"{prefix}/script", output_data_config=OutputDataConfig(s3Path=f"{prefix}/data"),
        checkpoint_config=CheckpointConfig(s3Uri=f"{prefix}/checkpoints"), wait_until_complete=False,
        **kwargs)


def wait_for(job: AwsQuantumJob, states: set[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while (state := job.state()) not in states:
        assert time.monotonic() < deadline, f"{job.arn} still {state}"
        time.sleep(POLL)
    return state


def emulated(aws, arn: str) -> dict:
    """The emulator's record of a job, its log included (GET /_emulator/jobs)."""
    with urllib.request.urlopen(f"{aws.emulator.url}/_emulator/jobs") as response:
        [job] = [j for j in json.load(response)["jobs"] if j["arn"] == arn]
    return job


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (a killed grandchild waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def braket_client(aws):
    return boto3.client("braket", endpoint_url=aws.emulator.url)


def raw_request(name: str, **overrides) -> dict:
    """A CreateJob request as the SDK builds it (prepare_quantum_job), without the upload."""
    prefix = f"s3://{BUCKET}/jobs/{name}"
    request = {
        "jobName": name, "roleArn": ROLE,
        "algorithmSpecification": {"scriptModeConfig": {
            "entryPoint": "job:main", "s3Uri": f"{prefix}/script/source.tar.gz", "compressionType": "GZIP"}},
        "instanceConfig": {"instanceType": "ml.m5.large", "instanceCount": 1, "volumeSizeInGb": 30},
        "outputDataConfig": {"s3Path": f"{prefix}/data"},
        "checkpointConfig": {"localPath": "/opt/jobs/checkpoints", "s3Uri": f"{prefix}/checkpoints"},
        "deviceConfig": {"device": SV1}, "hyperParameters": {}, "stoppingCondition": {"maxRuntimeInSeconds": 600},
    }
    return request | overrides


def error_of(excinfo) -> tuple[int, str, str]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


# ------------------------------------------------------------------ jobs that run
def test_a_job_runs_a_circuit_on_sv1_and_its_saved_result_comes_back(aws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # download_result writes model.tar.gz into the working directory
    name = "bell-job"
    (tmp_path / "angles.txt").write_text("0.1 0.2\n")
    job = create(tmp_path, name, "bell_job", BELL_JOB, "bell_job:start_here",
                 hyperparameters={"shots": 20, "label": "first"}, tags={"team": "quantum"},
                 input_data={"angles": str(tmp_path / "angles.txt")})
    assert JOB_ARN.fullmatch(job.arn)
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES) == "COMPLETED", emulated(aws, job.arn)

    result = job.result(poll_interval_seconds=POLL)
    # Hyperparameters bound to the entry point's parameters; the input channel downloaded.
    assert result["label"] == "first 0.1 0.2"
    assert sum(result["counts"].values()) == 20 and set(result["counts"]) <= {"00", "11"}

    # Its one task ran on this emulator, as part of the job, its results under jobs/<name>/tasks/.
    [task] = aws.emulator.tasks()
    assert task["arn"] == result["task"] and task["status"] == "COMPLETED"
    assert [t.id for t in job.get_tasks()] == [task["arn"]]  # SearchQuantumTasks on jobArn
    task_id = task["arn"].rsplit("/", 1)[1]
    [input_key] = [k for k in aws.keys() if k.endswith("/angles.txt")]  # uploaded by the SDK
    assert re.fullmatch(rf"jobs/{name}/\d+/data/angles/angles.txt", input_key)
    assert sorted(aws.keys()) == sorted([
        input_key,
        f"jobs/{name}/script/source.tar.gz",
        f"jobs/{name}/data/output/model.tar.gz",
        f"jobs/{name}/checkpoints/{name}_bell.json",
        f"jobs/{name}/tasks/{task_id}/results.json",
    ])
    assert [b["Name"] for b in aws.s3.list_buckets()["Buckets"]] == [BUCKET]

    metadata = job.metadata()
    assert metadata["jobName"] == name and metadata["roleArn"] == ROLE
    assert metadata["deviceConfig"] == {"device": SV1}
    assert metadata["instanceConfig"]["instanceType"] == "ml.m5.large"  # the SDK's default
    assert metadata["hyperParameters"] == {"shots": "20", "label": "first"}
    assert metadata["tags"] == {"team": "quantum"}
    assert metadata["startedAt"] <= metadata["endedAt"] and metadata["billableDuration"] >= 0
    assert [e["eventType"] for e in metadata["events"]] == [
        "QUEUED_FOR_EXECUTION", "STARTING_INSTANCE", "DOWNLOADING_DATA", "RUNNING",
        "UPLOADING_RESULTS", "COMPLETED"]
    assert "failureReason" not in metadata
    queue = job.queue_position()
    assert queue.queue_position is None and queue.message.startswith("Job is in COMPLETED status.")

    braket = job._aws_session.braket_client
    found = braket.search_jobs(filters=[{"name": "jobArn", "operator": "EQUAL", "values": [job.arn]}])["jobs"]
    assert [(j["jobName"], j["status"], j["device"]) for j in found] == [(name, "COMPLETED", SV1)]
    log = emulated(aws, job.arn)["log"]
    assert "Running Code As Process" in log and "bell job done" in log and "Code Run Finished" in log


def test_a_failing_entry_point_fails_the_job_with_its_exception(aws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "failing-job"
    job = create(tmp_path, name, "failing_job", FAILING_JOB, "failing_job")  # a module: run as __main__
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES) == "FAILED"
    # The service's reason for the same script in the SDK's integration test (test_failed_quantum_job).
    assert job.metadata()["failureReason"] == (
        "AlgorithmError: FileNotFoundError: [Errno 2] No such file or directory: 'fake_file', exit code: 1")
    assert job.result(poll_interval_seconds=POLL) == {}  # nothing saved: the SDK answers {}
    assert aws.keys() == [f"jobs/{name}/script/source.tar.gz"]
    log = emulated(aws, job.arn)["log"]
    assert "Test job started!!!!!" in log and "Traceback" in log


def test_cancelling_a_running_job_ends_its_process_group(aws, tmp_path):
    job = create(tmp_path, "sleeping-job", "sleeping_job", SLEEPING_JOB, "sleeping_job")
    deadline = time.monotonic() + 30
    while not (found := re.search(r"sleeping (\d+)", (record := emulated(aws, job.arn))["log"])):
        assert time.monotonic() < deadline and record["status"] in ("QUEUED", "RUNNING"), record
        time.sleep(POLL)
    leader, child = record["pid"], int(found.group(1))
    assert job.state() == "RUNNING" and alive(leader) and alive(child)

    assert job.cancel() == "CANCELLING"
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES, timeout=10) == "CANCELLED"
    assert job.cancel() == "CANCELLED"  # CancelJob is idempotent
    deadline = time.monotonic() + 5
    while alive(leader) or alive(child):  # the entry point and what it started
        assert time.monotonic() < deadline, "a job process outlived its cancellation"
        time.sleep(POLL)
    assert emulated(aws, job.arn)["pid"] is None
    assert not [k for k in aws.keys() if "/data/output/" in k]  # nothing uploaded for a cancelled job


def test_a_job_past_its_max_runtime_is_stopped_and_failed(aws, tmp_path):
    job = create(tmp_path, "slow-job", "slow_job", SLEEPING_JOB, "slow_job",
                 stopping_condition=StoppingCondition(maxRuntimeInSeconds=1))
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES, timeout=15) == "FAILED"
    metadata = job.metadata()
    assert metadata["failureReason"].startswith("MaxRuntimeExceeded")
    assert metadata["stoppingCondition"] == {"maxRuntimeInSeconds": 1}
    assert "MAX_RUNTIME_EXCEEDED" in [e["eventType"] for e in metadata["events"]]
    if found := re.search(r"sleeping (\d+)", emulated(aws, job.arn)["log"]):  # it started its child in time
        deadline = time.monotonic() + 5
        while alive(int(found.group(1))):
            assert time.monotonic() < deadline, "a job process outlived its max runtime"
            time.sleep(POLL)


# ------------------------------------------------------------------ the API, no job process
def test_create_job_is_idempotent_on_its_client_token(aws):
    aws.emulator.configure(queue_delay=60)  # stays QUEUED: no job process in this test
    braket = braket_client(aws)
    first = braket.create_job(clientToken="token-1", **raw_request("twice"))["jobArn"]
    assert braket.create_job(clientToken="token-1", **raw_request("twice"))["jobArn"] == first
    assert JOB_ARN.fullmatch(first) and len(aws.emulator.jobs()) == 1
    # A new token with a used name is a new job: names repeat since job ARNs are UUIDs.
    second = braket.create_job(clientToken="token-2", **raw_request("twice"))["jobArn"]
    assert second != first and [j["name"] for j in aws.emulator.jobs()] == ["twice", "twice"]

    queue = braket.get_job(jobArn=second, additionalAttributeNames=["QueueInfo"])["queueInfo"]
    assert queue == {"queue": "JOBS_QUEUE", "position": "2"}
    # An embedded simulator (local:<provider>/<name>) is a device a job may name, as the SDK documents.
    local = braket.create_job(**raw_request("embedded", deviceConfig={"device": "local:braket/braket.local.qubit"}))
    assert braket.get_job(jobArn=local["jobArn"])["deviceConfig"]["device"] == "local:braket/braket.local.qubit"
    sv1_queues = braket.get_device(deviceArn=SV1)["deviceQueueInfo"]
    assert {"queue": "JOBS_QUEUE", "queueSize": "2"} in sv1_queues

    assert braket.cancel_job(jobArn=first)["cancellationStatus"] == "CANCELLED"  # QUEUED: at once
    assert braket.get_job(jobArn=first)["status"] == "CANCELLED"
    page = braket.search_jobs(filters=[], maxResults=1)
    assert len(page["jobs"]) == 1 and page["nextToken"]
    created = braket.get_job(jobArn=second)["createdAt"].isoformat()
    later = braket.search_jobs(filters=[{"name": "createdAt", "operator": "GTE", "values": [created]}])
    assert [j["jobArn"] for j in later["jobs"]] == [second, local["jobArn"]]


def test_create_job_refuses_what_the_model_and_the_service_refuse(aws):
    aws.emulator.configure(queue_delay=60)
    braket = braket_client(aws)

    def refused(**overrides) -> tuple[int, str, str]:
        with pytest.raises(ClientError) as excinfo:
            braket.create_job(**raw_request("refused") | overrides)
        return error_of(excinfo)

    # Model constraints botocore does not check itself: the service's "Invalid request body".
    assert refused(jobName="snake_case_name")[:2] == (400, "BadRequestException")
    assert refused(instanceConfig={"instanceType": "ml.x9.huge", "volumeSizeInGb": 30})[:2] == (400, "BadRequestException")
    assert refused(stoppingCondition={"maxRuntimeInSeconds": 432001})[:2] == (400, "BadRequestException")
    assert refused(roleArn="arn:aws:iam::123:role/short-account")[:2] == (400, "BadRequestException")
    # What the service decides: ValidationException.
    assert refused(deviceConfig={"device": "arn:aws:braket:::device/quantum-simulator/amazon/nope"})[:2] == (
        400, "ValidationException")
    assert refused(instanceConfig={"instanceType": "ml.p4d.24xlarge", "volumeSizeInGb": 30})[:2] == (
        400, "ValidationException")
    status, code, message = refused(outputDataConfig={"s3Path": "s3://no-such-bucket/jobs/refused/data"})
    assert (status, code) == (400, "ValidationException") and "no-such-bucket" in message
    assert aws.emulator.jobs() == []

    with pytest.raises(ClientError) as excinfo:
        braket.get_job(jobArn=f"arn:aws:braket:us-east-1:{ACCOUNT_ID}:job/00000000-0000-0000-0000-000000000000")
    assert error_of(excinfo)[:2] == (404, "ResourceNotFoundException")

    # failure_rate fails a job (seeded) without running it; a FAILED job cannot be cancelled.
    aws.emulator.configure(queue_delay=0, failure_rate=1.0)
    arn = braket.create_job(**raw_request("unlucky"))["jobArn"]
    job = AwsQuantumJob(arn, AwsSession(braket_client=braket))
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES) == "FAILED"
    assert "failure_rate" in job.metadata()["failureReason"]
    with pytest.raises(ClientError) as excinfo:
        braket.cancel_job(jobArn=arn)
    assert error_of(excinfo)[:2] == (409, "ConflictException")


# ------------------------------------------------------------------ IAM
def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALL_BRAKET = {"Effect": "Allow", "Action": "braket:*", "Resource": "*"}


def pass_role(service: str) -> dict:
    return {"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE,
            "Condition": {"StringEquals": {"iam:PassedToService": service}}}


def test_creating_a_job_needs_iam_pass_role_to_braket(aws):
    emulator = aws.emulator
    emulator.configure(queue_delay=60)
    emulator.register_role(CallerIdentity(ROLE, (policy(ALL_BRAKET),)))
    braket = braket_client(aws)

    def create_as(*statements: dict, role: str = ROLE) -> str:
        emulator.identity = CallerIdentity(CALLER, (policy(*statements),))
        return braket.create_job(**raw_request("iam-job", roleArn=role))["jobArn"]

    with pytest.raises(ClientError) as excinfo:
        create_as(ALL_BRAKET)
    status, code, message = error_of(excinfo)
    assert (status, code) == (403, "AccessDeniedException")
    assert f"iam:PassRole on resource: {ROLE}" in message and "assumed-role/BraketCaller/" in message

    with pytest.raises(ClientError) as excinfo:  # PassRole, but only to SageMaker
        create_as(ALL_BRAKET, pass_role("sagemaker.amazonaws.com"))
    assert "iam:PassRole" in error_of(excinfo)[2]

    unknown = f"arn:aws:iam::{ACCOUNT_ID}:role/NoSuchRole"
    with pytest.raises(ClientError) as excinfo:  # allowed to pass any role, but this one does not exist
        create_as(ALL_BRAKET, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, role=unknown)
    assert f"iam:PassRole on resource: {unknown}" in error_of(excinfo)[2]

    with pytest.raises(ClientError) as excinfo:  # braket:CreateJob itself is needed too
        create_as({"Effect": "Allow", "Action": "braket:GetDevice", "Resource": "*"}, pass_role("braket.amazonaws.com"))
    assert "braket:CreateJob" in error_of(excinfo)[2]
    assert emulator.jobs() == []

    arn = create_as(ALL_BRAKET, pass_role("braket.amazonaws.com"))
    assert [j["arn"] for j in emulator.jobs()] == [arn]
    assert braket.cancel_job(jobArn=arn)["cancellationStatus"] == "CANCELLED"


def test_a_jobs_tasks_are_decided_by_the_role_it_was_passed(aws, tmp_path):
    """The caller may run SV1; the job's role may not: the job's CreateQuantumTask is denied."""
    emulator = aws.emulator
    emulator.identity = CallerIdentity(CALLER, (policy(ALL_BRAKET, pass_role("braket.amazonaws.com")),))
    emulator.register_role(CallerIdentity(ROLE, (policy(
        {"Effect": "Allow", "Action": ["braket:GetDevice", "braket:GetQuantumTask"], "Resource": "*"},
        {"Effect": "Allow", "Action": "braket:CreateQuantumTask",
         "Resource": f"arn:aws:braket:*:{ACCOUNT_ID}:device/quantum-simulator/amazon/dm1"}),)))
    job = create(tmp_path, "denied-tasks", "bell_job", BELL_JOB, "bell_job:start_here",
                 hyperparameters={"shots": 10, "label": "denied"})
    assert wait_for(job, AwsQuantumJob.TERMINAL_STATES) == "FAILED"
    reason = job.metadata()["failureReason"]
    assert reason.startswith("AlgorithmError: AccessDeniedException: An error occurred (AccessDeniedException) "
                             "when calling the CreateQuantumTask operation"), reason
    assert ("assumed-role/AmazonBraketJobsExecutionRole-test/" in reason
            and "braket:CreateQuantumTask on resource: arn:aws:braket::123456789012:device/"
                "quantum-simulator/amazon/sv1" in reason)
    assert emulator.tasks() == []
