"""`python -m jobs` and Braket's spending limits: the remaining allowance beside the estimate, a refusal
before submitting what the service would refuse, and the service's own refusal reported as one.

Braket enforces a spending limit at task creation, per QPU and region: a task whose estimated cost
exceeds the limit minus the spent and queued amounts is rejected (Braket Developer Guide, spending
limits). The Braket test service implements the four spending-limit operations and that rejection
(tests/braket_emulator/spending.py); the prices are the project's table, so the numbers below are
Forte-1's: $0.30 per task + $0.08 per shot, at least 100 shots (its shotsRange).
"""

import json
import os

import boto3
import pytest

from tests.braket_emulator import CallerIdentity
from tests.jobs_process import run_jobs

FORTE_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
STAGING_BUCKET = "amazon-braket-quantum-cloud-results-staging"


@pytest.fixture
def braket(aws):
    aws.s3.create_bucket(Bucket=STAGING_BUCKET)
    return boto3.client("braket", endpoint_url=os.environ["BRAKET_ENDPOINT"])


def jobs(*args, cwd):
    run = run_jobs(*args, "--env", "staging", "--device", "forte-1", "--json", cwd=cwd)
    return run, json.loads(run.stdout)


def test_the_allowance_is_shown_and_a_run_above_it_is_refused_before_submitting(workdir, aws, braket):
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="20.00")
    estimate, document = jobs("estimate", "--shots", "100", cwd=workdir)
    assert estimate.returncode == 0, estimate.stderr
    assert document["spending_limit"]["remaining_usd"] == 20 and document["estimated_cost_usd"] == 8.3
    human = run_jobs("estimate", "--env", "staging", "--device", "forte-1", "--shots", "100", cwd=workdir)
    assert "Braket spending limit on forte-1: $20.00 remaining ($20.00 limit - $0.00 spent - $0.00 queued)" in human.stdout

    ran, document = jobs("run", "--shots", "100", cwd=workdir)  # $8.30: within the limit
    assert ran.returncode == 0, ran.stderr
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"]

    refused, document = jobs("run", "--shots", "200", cwd=workdir)  # $16.30 > $11.70 left
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line == ("error: device forte-1: estimated $16.30 exceeds the $11.70 remaining under its Braket spending "
                    "limit ($20.00 - $8.30 spent - $0.00 queued); Braket would refuse it, so nothing is submitted")
    assert len(aws.emulator.tasks()) == 1


def test_the_service_refusal_is_reported_as_a_refusal(workdir, aws, braket):
    """A caller who cannot read the limit (or reads it just before someone else spends): a task within the
    limit runs, the next one that would exceed it is refused by Braket, and jobs says so as a refusal."""
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="10")
    aws.emulator.identity = CallerIdentity("arn:aws:iam::123456789012:role/CannotReadLimits", ({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "braket:*", "Resource": "*"},
                      {"Effect": "Deny", "Action": "braket:SearchSpendingLimits", "Resource": "*"}],
    },))
    ran, document = jobs("run", "--shots", "100", cwd=workdir)  # $8.30 of $10
    assert ran.returncode == 0, ran.stderr
    assert document["spending_limit"]["unknown_because"].startswith("unknown (") and "AccessDenied" in ran.stdout + json.dumps(document)

    refused, document = jobs("run", "--shots", "100", cwd=workdir)  # another $8.30: $1.70 left
    assert refused.returncode == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: Braket refused a task on " + FORTE_1 + " under its spending limit: ")
    assert "Traceback" not in refused.stderr and document["exit_code"] == 2
    assert len(aws.emulator.tasks()) == 1  # the refused task was never created


def test_without_credentials_the_allowance_is_unknown_and_the_cap_applies(workdir, no_aws_credentials):
    run = run_jobs("estimate", "--env", "staging", "--device", "forte-1", "--shots", "100", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "Braket spending limit: unknown without AWS credentials; --max-cost still applies" in run.stdout


def test_simulators_have_no_spending_limit(workdir, aws, braket):
    run = run_jobs("estimate", "--env", "staging", "--device", "sv1", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "Braket spending limit: none for simulators (Braket limits QPUs only)" in run.stdout
    assert "SearchSpendingLimits" not in aws.emulator.stats()["calls"]


def test_outside_its_time_period_the_limit_refuses_everything(workdir, aws, braket):
    """Braket Developer Guide, "How task validation works": outside the period CreateQuantumTask fails."""
    braket.create_spending_limit(deviceArn=FORTE_1, spendingLimit="100",
                                 timePeriod={"startAt": 4102444800, "endAt": 4133980800})  # 2100 to 2101
    run, document = jobs("run", "--shots", "100", cwd=workdir)
    assert run.returncode == 2
    assert "its Braket spending limit accepts tasks only within 2100-01-01 00:00 to 2101-01-01 00:00 UTC" in document["error"]
    assert aws.emulator.tasks() == []
