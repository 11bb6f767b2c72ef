"""`python -m jobs` on the AWS path, end to end: the real SDK against the Braket emulator and moto S3.

The stack outputs are the synthesized dev stack's; its bucket exists in moto.
Nothing here is faked inside the SDK or jobs: only the endpoints differ.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import boto3

from tests.conftest import DEV_BUCKET
from tests.jobs_process import run_jobs, start_jobs


def jobs(*args: str, cwd: Path, check_json: bool = True) -> tuple[subprocess.CompletedProcess, dict]:
    run = run_jobs(*args, cwd=cwd)
    document = json.loads(run.stdout) if check_json and "--json" in args else {}
    return run, document


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def assert_bell_counts(task: dict, shots: int) -> None:
    assert task["state"] == "COMPLETED", task
    assert set(task["counts"]) <= {"00", "11"} and sum(task["counts"].values()) == shots


def test_one_task_on_sv1_lands_in_the_stack_bucket(workdir, aws):
    run, document = jobs("run", "--env", "dev", "--device", "sv1", "--shots", "200", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    [task] = document["tasks"]
    assert_bell_counts(task, 200)
    assert task["id"].startswith("arn:aws:braket:us-east-1:") and ":quantum-task/" in task["id"]
    job_id = document["job_id"]
    assert aws.keys() == [f"results/{job_id}/{task['id'].split('/')[-1]}/results.json"]
    tags = boto3.client("braket", endpoint_url=os.environ["BRAKET_ENDPOINT"]).get_quantum_task(quantumTaskArn=task["id"])["tags"]
    assert tags == {"environment": "dev", "project": "quantum-cloud", "job_id": job_id}
    raw = json.loads((workdir / document["results_dir"] / "raw" / "task-0000.json").read_text())
    assert raw["taskMetadata"]["id"] == task["id"]  # the raw result as read from the bucket


def test_batch_of_50_with_progress_bar(workdir, aws):
    args = ["run", "--env", "dev", "--device", "sv1", "--shots", "100"] + ["--circuit", "bell"] * 40 + ["--circuit", "ghz:3"] * 10
    run, _ = jobs(*args, cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "50/50 tasks" in run.stderr and "[" + "#" * 30 + "]" in run.stderr
    [summary_path] = (workdir / "results" / "dev").glob("*/summary.json")
    tasks = json.loads(summary_path.read_text())["tasks"]
    assert len(tasks) == 50 and len({t["id"] for t in tasks}) == 50
    for task in tasks[:40]:
        assert_bell_counts(task, 100)
    for task in tasks[40:]:
        assert set(task["counts"]) <= {"000", "111"} and sum(task["counts"].values()) == 100
    assert len(aws.emulator.tasks()) == 50


def test_throttling_is_retried_and_no_task_is_created_twice(workdir, aws):
    aws.emulator.configure(throttle_rate=0.3, seed=7)
    run, document = jobs("run", "--env", "dev", "--device", "sv1", "--json", *["--circuit", "bell"] * 10, cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"] * 10
    assert aws.emulator.stats()["throttled_calls"] > 0
    created = aws.emulator.tasks()
    assert len(created) == 10 and len({t["clientToken"] for t in created}) == 10


def test_failed_tasks_are_reported_with_reason_and_others_kept(workdir, aws):
    aws.emulator.configure(failure_rate=0.5, seed=3)
    run, document = jobs("run", "--env", "dev", "--device", "sv1", "--json", *["--circuit", "bell"] * 8, cwd=workdir)
    assert run.returncode == 1
    states = [t["state"] for t in document["tasks"]]
    assert "FAILED" in states and "COMPLETED" in states
    for task in document["tasks"]:
        if task["state"] == "FAILED":
            assert "Injected device failure" in task["failure_reason"]
        else:
            assert_bell_counts(task, 1000)
    csv_rows = (workdir / document["results_dir"] / "counts.csv").read_text().splitlines()[1:]
    assert {row.split(",")[0] for row in csv_rows} == {str(t["index"]) for t in document["tasks"] if t["state"] == "COMPLETED"}
    human, _ = jobs("status", document["job_id"], "--env", "dev", cwd=workdir)
    assert "FAILED" in human.stdout and "Injected device failure" in human.stdout


def test_interrupted_batch_is_resumed_without_duplicates(workdir, aws):
    total, killed_after = 10, 4
    aws.emulator.configure(api_latency=0.2)
    client = start_jobs("run", "--env", "dev", "--device", "sv1", "--parallel", "1", *["--circuit", "bell"] * total, cwd=workdir, text=True)
    wait_until(lambda: len(aws.emulator.tasks()) >= killed_after)
    client.send_signal(signal.SIGKILL)
    client.wait()
    created_before_resume = len(aws.emulator.tasks())
    assert killed_after <= created_before_resume < total

    aws.emulator.configure(api_latency=0)
    run, document = jobs("resume", "--env", "dev", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"] * total
    assert len(aws.emulator.tasks()) == total  # exactly N: nothing submitted twice
    assert len({t["id"] for t in document["tasks"]}) == total


def test_cancel_a_queued_task(workdir, aws):
    aws.emulator.configure(queue_delay=60)
    client = start_jobs("run", "--env", "dev", "--device", "sv1", "--json", cwd=workdir, text=True)
    wait_until(lambda: list((workdir / "results" / "dev").glob("*/journal.jsonl")) and
               len(next((workdir / "results" / "dev").glob("*/journal.jsonl")).read_text().splitlines()) == 2)
    job_id = next((workdir / "results" / "dev").iterdir()).name
    run, document = jobs("cancel", job_id, "--env", "dev", "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    [cancelled] = document["tasks"]
    assert cancelled["state"] in ("CANCELLING", "CANCELLED")
    out, err = client.communicate(timeout=60)
    assert client.returncode == 1  # the run reports its task did not complete
    assert json.loads(out)["tasks"][0]["state"] == "CANCELLED"
    assert [t["status"] for t in aws.emulator.tasks()] == ["CANCELLED"]
    assert aws.keys() == []


def test_nothing_is_written_outside_the_stack_bucket_and_prefix(workdir, aws):
    run, document = jobs("run", "--env", "dev", "--device", "dm1", "--json", "--circuit", "bell", "--circuit", "ghz:2", cwd=workdir)
    assert run.returncode == 0, run.stderr
    buckets = [b["Name"] for b in aws.s3.list_buckets()["Buckets"]]
    assert buckets == [DEV_BUCKET]  # not even the SDK's default amazon-braket-<region>-<account>
    keys = aws.keys()
    assert len(keys) == 2 and all(k.startswith(f"results/{document['job_id']}/") for k in keys)


def test_results_and_status_by_task_arn(workdir, aws):
    _, document = jobs("run", "--env", "dev", "--device", "sv1", "--json", cwd=workdir)
    arn = document["tasks"][0]["id"]
    run, result = jobs("results", arn, "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert result["tasks"][0]["counts"] == document["tasks"][0]["counts"]
    run, status = jobs("status", arn, "--json", cwd=workdir)
    assert status["tasks"] == [{"id": arn, "job_id": None, "state": "COMPLETED", "failure_reason": None}]


def test_a_missing_results_object_is_a_service_error(workdir, aws):
    _, document = jobs("run", "--env", "dev", "--device", "sv1", "--json", cwd=workdir)
    [key] = aws.keys()
    aws.s3.delete_object(Bucket=DEV_BUCKET, Key=key)
    run, _ = jobs("results", document["tasks"][0]["id"], cwd=workdir)
    assert run.returncode == 1 and "results.json failed" in run.stderr and run.stderr.count("\n") == 1


def test_results_outside_the_stack_bucket_are_refused(aws):
    from braket.aws import AwsDevice
    from braket.circuits import Circuit

    from jobs.backends import AwsBackend
    from jobs.errors import ServiceError

    aws.s3.create_bucket(Bucket="amazon-braket-someone-else")
    task = AwsDevice("arn:aws:braket:::device/quantum-simulator/amazon/sv1").run(
        Circuit().h(0), s3_destination_folder=("amazon-braket-someone-else", "x"), shots=10
    )
    backend = AwsBackend(device_arn="", region="us-east-1", bucket=DEV_BUCKET, key_prefix="results")
    try:
        backend.wait(task.id, timeout_seconds=30)
    except ServiceError as error:
        assert "not the stack's bucket" in str(error)
    else:
        raise AssertionError("results from another bucket were accepted")


def test_after_the_kill_switch_fired_nothing_is_submitted_and_the_user_is_told_why(workdir, aws, stack_json):
    """The Braket test service enforcing the dev role's IAM: allowed before, denied once Budgets attached the deny policy."""
    from security.iam_documents import SynthesizedStack
    from tests.braket_emulator import CallerIdentity

    stack = SynthesizedStack(stack_json["dev"])
    role = stack.role("NotebookRole")
    aws.emulator.identity = CallerIdentity(role.arn, tuple(role.identity_policies))
    run, _ = jobs("run", "--env", "dev", "--device", "sv1", "--shots", "10", cwd=workdir)
    assert run.returncode == 0, run.stderr

    [deny_policy] = stack.resources("aws_iam_policy")
    kill_switch = stack.managed_policy(stack.arn("aws_iam_policy", deny_policy))
    aws.emulator.identity = CallerIdentity(role.arn, (*role.identity_policies, kill_switch))
    run, _ = jobs("run", "--env", "dev", "--device", "sv1", "--shots", "10", cwd=workdir)
    assert run.returncode == 1
    assert "AccessDeniedException" in run.stderr and "explicit deny" in run.stderr
    assert "budget kill switch" in run.stderr
    assert len(aws.emulator.tasks()) == 1  # only the task from before the switch fired
