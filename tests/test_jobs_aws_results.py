"""AWS-path results: the real SDK reads results.json from the stack's bucket in moto's S3 (loopback).

Braket's own API is faked at the client boundary with botocore's Stubber here;
the Braket emulator tests exercise the whole path against a wire-level double.
"""

import json

import boto3
import pytest
from botocore.stub import Stubber
from braket.devices import LocalSimulator
from braket.ir.openqasm import Program
from moto.server import ThreadedMotoServer

from jobs.backends import AwsBackend
from jobs.errors import ServiceError

BUCKET = "amazon-braket-quantum-cloud-results-dev"
TASK_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/11111111-2222-3333-4444-555555555555"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


@pytest.fixture
def moto_s3(monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL_S3": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    yield s3
    server.stop()


def braket_result_json(task_arn: str) -> str:
    """results.json as Braket writes it: a GateModelTaskResult from the SDK's own simulator."""
    program = Program(source="OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\nb = measure q;\n")
    result = LocalSimulator()._delegate.run(program, shots=200)
    result.taskMetadata.id = task_arn
    result.taskMetadata.deviceId = SV1
    return result.json()


def stub_task(backend: AwsBackend, bucket: str, directory: str) -> Stubber:
    stubber = Stubber(backend._session.braket_client)
    stubber.add_response(
        "get_quantum_task",
        {
            "quantumTaskArn": TASK_ARN,
            "status": "COMPLETED",
            "deviceArn": SV1,
            "deviceParameters": "{}",
            "shots": 200,
            "outputS3Bucket": bucket,
            "outputS3Directory": directory,
            "createdAt": "2026-11-24T00:00:00Z",
        },
        {"quantumTaskArn": TASK_ARN, "additionalAttributeNames": ["QueueInfo"]},  # what the SDK sends
    )
    stubber.activate()
    return stubber


def test_results_are_downloaded_from_the_stack_bucket(moto_s3):
    directory = "results/job-1/11111111-2222-3333-4444-555555555555"
    moto_s3.put_object(Bucket=BUCKET, Key=f"{directory}/results.json", Body=braket_result_json(TASK_ARN))
    backend = AwsBackend(device_arn=SV1, region="us-east-1", bucket=BUCKET, key_prefix="results/job-1")
    stubber = stub_task(backend, BUCKET, directory)

    outcome = backend.wait(TASK_ARN, timeout_seconds=5)

    stubber.assert_no_pending_responses()
    assert outcome.state == "COMPLETED"
    assert set(outcome.counts) <= {"00", "11"} and sum(outcome.counts.values()) == 200
    assert outcome.raw_result["taskMetadata"]["id"] == TASK_ARN


def test_results_outside_the_stack_bucket_are_refused(moto_s3):
    moto_s3.create_bucket(Bucket="amazon-braket-us-east-1-123456789012")  # the SDK's default bucket
    backend = AwsBackend(device_arn=SV1, region="us-east-1", bucket=BUCKET, key_prefix="results/job-1")
    stub_task(backend, "amazon-braket-us-east-1-123456789012", "tasks/x")
    with pytest.raises(ServiceError, match="not the stack's bucket"):
        backend.wait(TASK_ARN, timeout_seconds=5)


def test_missing_results_object_is_a_service_error(moto_s3):
    backend = AwsBackend(device_arn=SV1, region="us-east-1", bucket=BUCKET, key_prefix="results/job-1")
    stub_task(backend, BUCKET, "results/job-1/missing")
    with pytest.raises(ServiceError, match="results.json failed"):
        backend.wait(TASK_ARN, timeout_seconds=5)
