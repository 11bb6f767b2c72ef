"""`python -m jobs hybrid --device sv1` end to end: the unmodified SDK against the Braket emulator's hybrid
jobs and moto (S3, CloudWatch Logs), every call decided by the dev stack's own IAM policies.

The CLI calls Braket as the synthesized stack's notebook role, and the job's container as the
role it was passed: the emulator decides each call with those roles' identity policies as IAM
would (tests/braket_emulator/access.py), including the ``iam:PassRole`` that CreateJob depends on
with ``iam:PassedToService = braket.amazonaws.com`` (Service Authorization Reference, Amazon
Braket: CreateJob's dependent actions). So these runs also prove the stack's roles suffice.
"""

import json
import math
import os
import signal
import textwrap
import time

import boto3
import pytest

from jobs.pricing import load_price_table
from security.iam_documents import SynthesizedStack
from tests.braket_emulator import ACCOUNT_ID, CallerIdentity
from tests.conftest import DEV_BUCKET
from tests.jobs_process import REPO, run_jobs, start_jobs

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


@pytest.fixture
def stack_roles(aws, workdir):
    """The emulator decides as the dev stack's IAM would; its jobs role ARN is in the deployed outputs."""
    doc = json.loads((workdir / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text())
    aws.emulator.identity = CallerIdentity.from_stack(doc, "NotebookRole")
    jobs_role = CallerIdentity.from_stack(doc, "JobsExecutionRole")
    aws.emulator.register_role(jobs_role)
    write_outputs(workdir, jobs_role.principal_arn)
    return jobs_role.principal_arn


def write_outputs(workdir, jobs_role_arn: str) -> None:
    (workdir / "outputs").mkdir(exist_ok=True)
    (workdir / "outputs" / "dev.json").write_text(json.dumps({"dev": {"jobs_role_arn": jobs_role_arn}}))


def hybrid(*args, cwd):
    run = run_jobs("hybrid", "--env", "dev", *args, cwd=cwd)
    return run, json.loads(run.stdout)


def bell_algorithm(root):
    source = root / "bell_job"
    source.mkdir()
    # The SDK is imported in main(): the CLI's import check of the module then costs no SDK import.
    (source / "run.py").write_text(textwrap.dedent("""
        import os

        def main():
            from braket.aws import AwsDevice
            from braket.circuits import Circuit
            from braket.jobs import save_job_result

            device = AwsDevice(os.environ["AMZN_BRAKET_DEVICE_ARN"])
            counts = device.run(Circuit().h(0).cnot(0, 1), shots=50).result().measurement_counts
            save_job_result({"counts": dict(counts)})
    """))
    return source


def test_the_example_on_sv1_runs_as_the_stack_roles_and_stays_in_the_stack_bucket(workdir, aws, stack_roles):
    run, document = hybrid("--source", str(REPO / "examples" / "hybrid_vqe"), "--entry-point", "hybrid_vqe.vqe:main",
                           "--device", "sv1", "--hyperparameter", "iterations=1", "--hyperparameter", "shots=200",
                           "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert document["state"] == "COMPLETED", document
    [job] = aws.emulator.jobs()
    assert document["braket_job_arn"] == job["arn"] and job["roleArn"] == stack_roles
    assert job["deviceArn"] == SV1 and job["name"] == document["job_name"]
    # Its tasks ran on the service, as the jobs role: 1 energy, then 3 per step, 2 tasks each.
    tasks = aws.emulator.tasks()
    assert len(tasks) == 8 and {t["deviceArn"] for t in tasks} == {SV1} and {t["status"] for t in tasks} == {"COMPLETED"}
    result = document["result"]
    assert result["device"] == SV1 and len(result["energy_history"]) == 2
    assert -math.sqrt(2) - 0.3 < result["energy"] < 0

    # Everything under the stack bucket's jobs prefix; no other bucket (the SDK's default) exists.
    prefix = f"jobs/{document['job_name']}/"
    keys = aws.keys()
    assert keys and all(key.startswith(prefix) for key in keys), keys
    assert f"{prefix}script/source.tar.gz" in keys and f"{prefix}data/output/model.tar.gz" in keys
    assert sum(key.startswith(f"{prefix}tasks/") and key.endswith("/results.json") for key in keys) == 8
    assert any(key.startswith(f"{prefix}checkpoints/") for key in keys)
    assert [b["Name"] for b in aws.s3.list_buckets()["Buckets"]] == [DEV_BUCKET]

    directory = workdir / document["results_dir"]
    assert json.loads((directory / "result.json").read_text()) == result
    assert "step 1:" in (directory / "job.log").read_text()  # from CloudWatch Logs
    tags = boto3.client("braket", endpoint_url=os.environ["BRAKET_ENDPOINT"]).get_job(jobArn=job["arn"])["tags"]
    assert tags == {"environment": "dev", "project": "quantum-cloud", "job_id": document["job_id"]}

    # The estimate: the instance for the maximum runtime, plus the 26 tasks the example declares.
    prices = load_price_table()
    sv1 = prices["simulators"][SV1]
    expected = prices["job_instances"]["per_hour"]["ml.m5.large"] + 26 * sv1["assumed_task_seconds"] / 60 * sv1["per_minute"]
    assert document["estimated_cost_usd"] == round(expected, 4)
    assert "S3 storage" in document["estimate_not_covered"] and "beyond the 26 declared" in document["estimate_not_covered"]

    shown = run_jobs("results", document["job_id"], "--json", cwd=workdir)
    assert shown.returncode == 0 and json.loads(shown.stdout)["result"] == result


def test_a_client_killed_mid_run_is_found_again_and_never_creates_the_job_twice(workdir, aws, stack_roles):
    aws.emulator.configure(queue_delay=1.0)
    client = start_jobs("hybrid", "--env", "dev", "--source", str(bell_algorithm(workdir)), "--entry-point",
                        "bell_job.run:main", "--device", "sv1", cwd=workdir, text=True)
    deadline = time.monotonic() + 60
    while not list(workdir.glob("results/dev/*/journal.jsonl")) or '"braket_job"' not in next(
            workdir.glob("results/dev/*/journal.jsonl")).read_text():
        assert time.monotonic() < deadline and client.poll() is None, "the job was never journaled"
        time.sleep(0.02)
    client.send_signal(signal.SIGKILL)
    client.wait()
    [directory] = list((workdir / "results" / "dev").iterdir())
    job_id = directory.name

    status = run_jobs("status", job_id, "--json", cwd=workdir)
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)["tasks"]
    [job] = aws.emulator.jobs()
    assert row["id"] == job["arn"] and row["state"] in ("QUEUED", "RUNNING", "COMPLETED")

    # The harder case: a client killed after CreateJob returned but before it journaled the ARN.
    journal = directory / "journal.jsonl"
    journal.write_text("".join(line + "\n" for line in journal.read_text().splitlines() if '"braket_job"' not in line))
    resumed = run_jobs("resume", "--env", "dev", job_id, "--json", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    document = json.loads(resumed.stdout)
    assert document["state"] == "COMPLETED" and document["braket_job_arn"] == job["arn"]
    assert set(document["result"]["counts"]) <= {"00", "11"} and sum(document["result"]["counts"].values()) == 50
    assert len(aws.emulator.jobs()) == 1  # CreateJob was called twice, with the same client token
    assert aws.emulator.stats()["calls"]["CreateJob"] == 2
    assert run_jobs("resume", "--env", "dev", job_id, cwd=workdir).returncode == 2  # complete: nothing to resume


def test_only_the_stack_jobs_role_may_be_passed(workdir, aws, stack_roles):
    other = CallerIdentity(stack_roles.replace("AmazonBraketJobsExecutionRole", "AmazonBraketJobsExecutionRole-other"),
                           ())
    aws.emulator.register_role(other)  # it exists: IAM refuses because the notebook role may not pass it
    write_outputs(workdir, other.principal_arn)
    run, document = hybrid("--source", str(bell_algorithm(workdir)), "--entry-point", "bell_job.run:main",
                           "--device", "sv1", "--json", cwd=workdir)
    assert run.returncode == 1
    assert "not authorized to perform: iam:PassRole" in document["error"] and other.principal_arn in document["error"]
    assert aws.emulator.jobs() == []


def test_cancel_a_running_job(workdir, aws, stack_roles):
    source = workdir / "slow_job"
    source.mkdir()
    (source / "run.py").write_text("import time\n\ndef main():\n    time.sleep(60)\n")
    client = start_jobs("hybrid", "--env", "dev", "--source", str(source), "--entry-point", "slow_job.run:main",
                        "--device", "sv1", "--json", cwd=workdir, text=True)
    deadline = time.monotonic() + 60
    while not [j for j in aws.emulator.jobs() if j["status"] == "RUNNING"]:
        assert time.monotonic() < deadline and client.poll() is None
        time.sleep(0.02)
    [directory] = list((workdir / "results" / "dev").iterdir())
    cancelled = run_jobs("cancel", directory.name, "--json", cwd=workdir)
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["tasks"][0]["state"] in ("CANCELLING", "CANCELLED")
    stdout, stderr = client.communicate(timeout=60)
    assert client.returncode == 1, stderr
    assert json.loads(stdout)["state"] == "CANCELLED"


def test_once_the_kill_switch_fired_no_job_is_created_and_the_message_says_why(workdir, aws, stack_roles):
    """The budget action attaches the stack's deny policy to the notebook role (Budgets APPLY_IAM_POLICY)."""
    doc = json.loads((workdir / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json").read_text())
    stack = SynthesizedStack(doc, account=ACCOUNT_ID)
    [deny_policy] = stack.resources("aws_iam_policy")
    notebook = aws.emulator.identity
    aws.emulator.identity = CallerIdentity(
        notebook.principal_arn, (*notebook.policies, stack.managed_policy(stack.arn("aws_iam_policy", deny_policy))))
    run, document = hybrid("--source", str(bell_algorithm(workdir)), "--entry-point", "bell_job.run:main",
                           "--device", "sv1", "--json", cwd=workdir)
    assert run.returncode == 1
    assert "braket:CreateJob" in document["error"] and "explicit deny" in document["error"]
    assert "kill switch" in document["error"] and aws.emulator.jobs() == []
