"""The Braket test service enforcing IAM: the unmodified SDK as the dev notebook role, end to end.

Braket answers a call IAM denies with HTTP 403 and error code AccessDeniedException
(Braket API Reference, "Common Errors"); the SDK raises it as botocore's ClientError.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsDevice
from braket.circuits import Circuit

from tests.braket_emulator import BraketEmulator, CallerIdentity, moto_s3_server, point_sdk_at

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
FORTE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
DEV_BUCKET = "amazon-braket-quantum-cloud-results-dev"
BELL = Circuit().h(0).cnot(0, 1)


@pytest.fixture(scope="module")
def s3_url():
    with moto_s3_server() as url:
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=DEV_BUCKET)
        yield url


@pytest.fixture
def as_identity(s3_url, monkeypatch):
    """Start the test service enforcing ``identity``; the SDK pointed at it."""
    emulators = []

    def start(identity: CallerIdentity) -> BraketEmulator:
        emulator = BraketEmulator(s3_endpoint=s3_url, identity=identity).start()
        emulators.append(emulator)
        point_sdk_at(monkeypatch, emulator.url, s3_url)
        return emulator

    yield start
    for emulator in emulators:
        emulator.stop()


def access_denied(excinfo) -> str:
    error = excinfo.value.response["Error"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDeniedException"
    return error["Message"]


def test_dev_role_runs_sv1_and_is_refused_on_a_qpu_dev_does_not_allow(as_identity, stack_json):
    emulator = as_identity(CallerIdentity.from_stack(stack_json["dev"]))
    task = AwsDevice(SV1).run(BELL, s3_destination_folder=(DEV_BUCKET, "results/e2e"), shots=50)
    assert sum(task.result().measurement_counts.values()) == 50

    forte = AwsDevice(FORTE)  # describing a device is allowed; spending on it is not
    with pytest.raises(ClientError) as excinfo:
        forte.run(BELL, s3_destination_folder=(DEV_BUCKET, "results/e2e"), shots=10)
    message = access_denied(excinfo)
    assert "braket:CreateQuantumTask on resource: arn:aws:braket:us-east-1:123456789012:device/qpu/ionq/Forte-1" in message
    assert "explicit deny" in message
    assert len(emulator.tasks()) == 1  # nothing was created for the refused call


def test_a_role_whose_policy_names_devices_as_the_sdk_does_cannot_run_anything(as_identity, stack_json, tmp_path):
    """The defect this guards against: without the account, the allowed device itself is denied."""
    notebook = CallerIdentity.from_stack(stack_json["dev"])
    sdk_form = json.loads(
        json.dumps(list(notebook.policies)).replace("arn:aws:braket:*:*:device/quantum-simulator/", "arn:aws:braket:::device/quantum-simulator/")
    )
    assert sdk_form != list(notebook.policies)
    as_identity(CallerIdentity(notebook.principal_arn, tuple(sdk_form)))
    with pytest.raises(ClientError) as excinfo:
        AwsDevice(SV1).run(BELL, s3_destination_folder=(DEV_BUCKET, "results/e2e"), shots=10)
    assert "arn:aws:braket::123456789012:device/quantum-simulator/amazon/sv1" in access_denied(excinfo)


def test_get_device_and_search_devices_need_their_own_permission(as_identity, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "braket:CreateQuantumTask", "Resource": "*"}]}))
    emulator = as_identity(CallerIdentity.from_policy_file(policy))
    with pytest.raises(ClientError) as excinfo:
        AwsDevice(SV1)
    assert "because no identity-based policy allows the braket:GetDevice action" in access_denied(excinfo)
    with pytest.raises(ClientError) as excinfo:
        boto3.client("braket", endpoint_url=emulator.url).search_devices(filters=[])
    assert "braket:SearchDevices on resource: *" in access_denied(excinfo)


def test_cli_refuses_an_unreadable_identity(tmp_path, capsys):
    """`python -m tests.braket_emulator` (its main, in this process: test_braket_emulator runs the command itself)."""
    from tests.braket_emulator.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--s3-endpoint", "http://127.0.0.1:1", "--identity-policy", str(tmp_path / "missing.json")])
    assert exit_.value.code == 2
    stderr = capsys.readouterr().err
    assert "cannot read the identity to enforce" in stderr and "missing.json" in stderr
