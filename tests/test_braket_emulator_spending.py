"""Braket spending limits in the emulator (tests/braket_emulator/spending.py), driven through the
unmodified boto3 client and Braket SDK: the four operations on the wire, and the gate they put on
CreateQuantumTask (developer guide, "Cost tracking and saving": "How task validation works")."""

from __future__ import annotations

import json
import re
import os
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsDevice
from braket.circuits import Circuit

from tests.braket_emulator import ACCOUNT_ID, CallerIdentity

FORTE_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
FORTE_ENTERPRISE = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"
CEPHEUS = "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q"  # a QPU of another region
ARIA_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"  # retired
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BUCKET = "amazon-braket-quantum-cloud-results-dev"
# Forte-1's shotsRange starts at 100; jobs/prices.json: 0.30 per task + 0.08 per shot.
SHOTS, COST = 100, "8.3"
ARN = rf"arn:aws:braket:us-east-1:{ACCOUNT_ID}:spending-limit/[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}"
BELL = json.dumps({"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
                   "source": "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\n"
                             "b = measure q;", "inputs": {}})
END_2125 = datetime(2125, 12, 30, tzinfo=timezone.utc)


@pytest.fixture
def braket(aws):
    return boto3.client("braket", endpoint_url=os.environ["BRAKET_ENDPOINT"])


def _error(exc: pytest.ExceptionInfo) -> tuple[int, str, str]:
    err = exc.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


def _limit(braket, device: str = FORTE_1) -> dict:
    (found,) = braket.search_spending_limits(
        filters=[{"name": "deviceArn", "operator": "EQUAL", "values": [device]}])["spendingLimits"]
    return found


def _spend(braket, device: str = FORTE_1) -> tuple[str, str]:
    found = _limit(braket, device)
    return found["queuedSpend"], found["totalSpend"]


def _run(shots: int = SHOTS):
    """A Bell pair on Forte-1 through the SDK, as a user submits it."""
    return AwsDevice(FORTE_1).run(Circuit().h(0).cnot(0, 1), s3_destination_folder=(BUCKET, "results"),
                                  shots=shots, poll_interval_seconds=0.02)


def _create_task(braket, device: str = FORTE_1) -> str:
    return braket.create_quantum_task(clientToken=str(uuid.uuid4()), deviceArn=device, shots=SHOTS,
                                      action=BELL, outputS3Bucket=BUCKET,
                                      outputS3KeyPrefix="direct")["quantumTaskArn"]


def test_create_search_update_delete_round_trip(aws, braket):
    start, end = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 1, tzinfo=timezone.utc)
    created = braket.create_spending_limit(clientToken="create-1", deviceArn=FORTE_1, spendingLimit="25.50",
                                           timePeriod={"startAt": start, "endAt": end}, tags={"team": "q"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = created["spendingLimitArn"]
    assert re.fullmatch(ARN, arn)
    # The same clientToken again: the first limit's ARN, no second limit.
    assert braket.create_spending_limit(clientToken="create-1", deviceArn=FORTE_1,
                                        spendingLimit="99")["spendingLimitArn"] == arn

    found = _limit(braket)
    assert set(found) == {"spendingLimitArn", "deviceArn", "timePeriod", "spendingLimit", "queuedSpend",
                          "totalSpend", "createdAt", "updatedAt", "tags"}
    assert (found["spendingLimitArn"], found["deviceArn"], found["spendingLimit"], found["queuedSpend"],
            found["totalSpend"], found["tags"]) == (arn, FORTE_1, "25.5", "0", "0", {"team": "q"})
    assert found["timePeriod"] == {"startAt": start, "endAt": end}
    assert isinstance(found["createdAt"], datetime) and found["updatedAt"] == found["createdAt"]

    update = braket.update_spending_limit(spendingLimitArn=arn, clientToken="update-1", spendingLimit="30")
    assert update["ResponseMetadata"]["HTTPStatusCode"] == 200
    # UpdateSpendingLimit is idempotent on its clientToken: a repeat changes nothing.
    braket.update_spending_limit(spendingLimitArn=arn, clientToken="update-1", spendingLimit="40")
    new_end = datetime(2031, 6, 1, tzinfo=timezone.utc)
    braket.update_spending_limit(spendingLimitArn=arn, timePeriod={"startAt": start, "endAt": new_end})
    updated = _limit(braket)
    assert updated["spendingLimit"] == "30" and updated["timePeriod"] == {"startAt": start, "endAt": new_end}
    assert updated["updatedAt"] > updated["createdAt"]

    # The test control lists the same limit, with its region and what remains.
    with urllib.request.urlopen(f"{aws.emulator.url}/_emulator/spending-limits") as response:
        (listed,) = json.load(response)["spendingLimits"]
    assert listed == aws.emulator.spending_limits()[0]
    assert (listed["spendingLimitArn"], listed["region"], listed["remaining"]) == (arn, "us-east-1", "30")

    assert braket.delete_spending_limit(spendingLimitArn=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert braket.search_spending_limits()["spendingLimits"] == []
    for call in (lambda: braket.delete_spending_limit(spendingLimitArn=arn),
                 lambda: braket.update_spending_limit(spendingLimitArn=arn, spendingLimit="1")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc)[:2] == (404, "ResourceNotFoundException")
    # Limits are regional: another region's client sees none and cannot find this one's.
    west = boto3.client("braket", endpoint_url=os.environ["BRAKET_ENDPOINT"], region_name="us-west-1")
    west_arn = west.create_spending_limit(deviceArn=CEPHEUS, spendingLimit="1")["spendingLimitArn"]
    assert west_arn.startswith(f"arn:aws:braket:us-west-1:{ACCOUNT_ID}:spending-limit/")
    assert braket.search_spending_limits()["spendingLimits"] == []
    with pytest.raises(ClientError) as exc:
        braket.delete_spending_limit(spendingLimitArn=west_arn)
    assert _error(exc)[1] == "ResourceNotFoundException"


@pytest.mark.parametrize("sent, returned", [("0.00", "0"), ("5.50", "5.5"), ("5.25", "5.25"),
                                            ("100", "100"), ("007.10", "7.1")])
def test_amounts_come_back_in_their_shortest_form_and_no_period_runs_to_2125(braket, sent, returned):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit=sent)
    found = _limit(braket)
    assert found["spendingLimit"] == returned
    assert before <= found["timePeriod"]["startAt"] <= datetime.now(timezone.utc)
    assert found["timePeriod"]["endAt"] == END_2125


@pytest.mark.parametrize("request_body", [
    {"spendingLimit": "1.234"}, {"spendingLimit": "-1"}, {"spendingLimit": "ten"}, {"spendingLimit": "1."},
    {"spendingLimit": "1", "timePeriod": {"startAt": datetime(2030, 1, 1), "endAt": datetime(2029, 1, 1)}},
])
def test_malformed_requests_are_validation_errors(braket, request_body):
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=FORTE_1, **request_body)
    assert _error(exc)[:2] == (400, "ValidationException")


def test_search_filters_and_pages(braket):
    arns = [braket.create_spending_limit(deviceArn=d, spendingLimit="1")["spendingLimitArn"]
            for d in (FORTE_1, FORTE_ENTERPRISE, AQUILA)]
    first = braket.search_spending_limits(maxResults=2)
    assert [s["spendingLimitArn"] for s in first["spendingLimits"]] == arns[:2]
    rest = braket.search_spending_limits(maxResults=2, nextToken=first["nextToken"])
    assert [s["spendingLimitArn"] for s in rest["spendingLimits"]] == arns[2:] and "nextToken" not in rest
    pages = braket.get_paginator("search_spending_limits").paginate(PaginationConfig={"PageSize": 1})
    assert [s["spendingLimitArn"] for page in pages for s in page["spendingLimits"]] == arns
    with pytest.raises(ClientError) as exc:
        braket.search_spending_limits(filters=[{"name": "spendingLimit", "operator": "EQUAL", "values": ["1"]}])
    assert _error(exc)[1] == "ValidationException"


@pytest.mark.parametrize("device, status, code, words", [
    (SV1, 400, "ValidationException", "Simulators do not support spending limits."),
    ("arn:aws:braket:us-east-1::device/qpu/ionq/NoSuchDevice", 400, "ValidationException", "not a quantum device"),
    (CEPHEUS, 400, "ValidationException", "not a quantum device available in us-east-1"),
    (ARIA_1, 410, "DeviceRetiredException", "is retired"),
])
def test_only_an_available_qpu_of_the_region_takes_a_limit(aws, braket, device, status, code, words):
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=device, spendingLimit="10")
    got_status, got_code, message = _error(exc)
    assert (got_status, got_code) == (status, code) and words in message
    assert aws.emulator.spending_limits() == []


def test_a_device_retired_by_the_status_knob_is_refused(aws, braket):
    aws.emulator.configure(device_status={FORTE_1: "RETIRED"})
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    assert _error(exc)[:2] == (410, "DeviceRetiredException")


def test_a_second_limit_for_the_same_device_is_refused(aws, braket):
    arn = braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")["spendingLimitArn"]
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="20")
    status, code, message = _error(exc)
    assert (status, code) == (400, "ValidationException")
    assert "already exists" in message and FORTE_1 in message and arn in message
    assert [s["spendingLimit"] for s in braket.search_spending_limits()["spendingLimits"]] == ["10"]


def test_a_task_within_the_limit_runs_and_its_cost_moves_from_queued_to_total_spend(aws, braket):
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    aws.emulator.configure(queue_delay=0.2)
    task = _run()
    assert task.state() == "QUEUED" and _spend(braket) == (COST, "0")
    assert sum(task.result().measurement_counts.values()) == SHOTS
    assert _spend(braket) == ("0", COST)

    # The next one would cost 8.3 with 1.7 left: refused as a validation error, and nothing is created.
    keys = aws.keys()
    with pytest.raises(ClientError) as exc:
        _run()
    status, code, message = _error(exc)
    assert (status, code) == (400, "ValidationException")
    assert FORTE_1 in message and f"estimated cost of {COST} USD" in message and "remaining 1.7 USD" in message
    assert len(aws.emulator.tasks()) == 1 and aws.emulator.stats()["tasks_created"] == 1
    assert _spend(braket) == ("0", COST) and aws.keys() == keys
    # Raising the limit lets the same task through.
    braket.update_spending_limit(spendingLimitArn=_limit(braket)["spendingLimitArn"], spendingLimit="16.60")
    assert _run().result() is not None and _spend(braket) == ("0", "16.6")


def test_queued_spend_counts_and_a_cancelled_task_releases_it(aws, braket):
    arn = braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="16.60")["spendingLimitArn"]
    aws.emulator.configure(queue_delay=30)  # they stay QUEUED: the emulator's stop ends them
    first, _second = _create_task(braket), _create_task(braket)
    assert _spend(braket) == ("16.6", "0")
    with pytest.raises(ClientError) as exc:  # nothing completed, yet nothing remains
        _create_task(braket)
    assert _error(exc)[1] == "ValidationException" and "remaining 0 USD" in _error(exc)[2]
    # A limit cannot be lowered below what is spent and queued.
    with pytest.raises(ClientError) as exc:
        braket.update_spending_limit(spendingLimitArn=arn, spendingLimit="10")
    assert _error(exc)[1] == "ValidationException"

    assert braket.cancel_quantum_task(quantumTaskArn=first, clientToken="c")["cancellationStatus"] == "CANCELLED"
    assert _spend(braket) == ("8.3", "0")  # released, never spent
    _create_task(braket)
    assert _spend(braket) == ("16.6", "0") and len(aws.emulator.tasks()) == 3


def test_a_failed_task_releases_its_spend(aws, braket):
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    aws.emulator.configure(failure_rate=1.0)
    task = _run()
    assert task.result() is None and task.state() == "FAILED"
    assert _spend(braket) == ("0", "0")


def test_tasks_created_before_the_limit_never_count(aws, braket):
    aws.emulator.configure(queue_delay=0.1)
    task = _run()
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    assert task.result() is not None
    assert _spend(braket) == ("0", "0")


def test_outside_its_time_period_a_limit_refuses_every_task(aws, braket):
    """Developer guide, "How task validation works", Case 3: the current time outside the limit's time
    period: "CreateQuantumTask fails, and no task is created"; other devices are not affected."""
    now = time.time()
    past = {"startAt": datetime.fromtimestamp(now - 7200, timezone.utc),
            "endAt": datetime.fromtimestamp(now - 3600, timezone.utc)}
    arn = braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="100",
                                       timePeriod=past)["spendingLimitArn"]
    with pytest.raises(ClientError) as exc:
        _create_task(braket)
    status, code, message = _error(exc)
    assert (status, code) == (400, "ValidationException") and "time period" in message and FORTE_1 in message
    assert aws.emulator.tasks() == [] and _spend(braket) == ("0", "0")
    _create_task(braket, FORTE_ENTERPRISE)  # no limit on this one
    _create_task(braket, SV1)  # simulators are never limited

    future = {"startAt": datetime.fromtimestamp(now + 3600, timezone.utc),
              "endAt": datetime.fromtimestamp(now + 7200, timezone.utc)}
    braket.update_spending_limit(spendingLimitArn=arn, timePeriod=future)
    with pytest.raises(ClientError):
        _create_task(braket)
    braket.update_spending_limit(spendingLimitArn=arn, timePeriod={"startAt": past["startAt"],
                                                                   "endAt": future["endAt"]})
    _create_task(braket)
    assert _spend(braket) == (COST, "0")


def test_a_deleted_limit_no_longer_gates_or_counts(aws, braket):
    arn = braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="0")["spendingLimitArn"]
    with pytest.raises(ClientError):  # zero dollars blocks every task
        _create_task(braket)
    braket.delete_spending_limit(spendingLimitArn=arn)
    _create_task(braket)
    assert len(aws.emulator.tasks()) == 1 and aws.emulator.spending_limits() == []


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_iam_decides_each_operation_on_its_resources(aws, braket):
    device_only = {"Effect": "Allow", "Action": "braket:CreateSpendingLimit",
                   "Resource": "arn:aws:braket:*:*:device/qpu/ionq/*"}
    search = {"Effect": "Allow", "Action": "braket:SearchSpendingLimits", "Resource": "*"}
    aws.emulator.identity = CallerIdentity(f"arn:aws:iam::{ACCOUNT_ID}:role/Reader", (_policy(search),))
    assert braket.search_spending_limits()["spendingLimits"] == []
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    status, code, message = _error(exc)
    assert (status, code) == (403, "AccessDeniedException")
    assert f"braket:CreateSpendingLimit on resource: arn:aws:braket:us-east-1:{ACCOUNT_ID}:device/qpu/ionq/Forte-1" in message

    # CreateSpendingLimit needs both resource types: the device and the new spending limit.
    aws.emulator.identity = CallerIdentity(f"arn:aws:iam::{ACCOUNT_ID}:role/Half", (_policy(search, device_only),))
    with pytest.raises(ClientError) as exc:
        braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    assert f"on resource: arn:aws:braket:us-east-1:{ACCOUNT_ID}:spending-limit/" in _error(exc)[2]

    limits = {"Effect": "Allow", "Action": ["braket:CreateSpendingLimit", "braket:UpdateSpendingLimit"],
              "Resource": f"arn:aws:braket:us-east-1:{ACCOUNT_ID}:spending-limit/*"}
    aws.emulator.identity = CallerIdentity(f"arn:aws:iam::{ACCOUNT_ID}:role/Admin",
                                           (_policy(search, device_only, limits),))
    arn = braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")["spendingLimitArn"]
    braket.update_spending_limit(spendingLimitArn=arn, spendingLimit="12")
    with pytest.raises(ClientError) as exc:  # tags need braket:TagResource on the limit as well
        braket.create_spending_limit(deviceArn=FORTE_ENTERPRISE, spendingLimit="1", tags={"a": "b"})
    assert "braket:TagResource" in _error(exc)[2]
    with pytest.raises(ClientError) as exc:
        braket.delete_spending_limit(spendingLimitArn=arn)
    assert _error(exc)[:2] == (403, "AccessDeniedException") and "braket:DeleteSpendingLimit" in _error(exc)[2]
    assert [s["spendingLimit"] for s in aws.emulator.spending_limits()] == ["12"]
