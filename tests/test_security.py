"""Security gate: checkov on every synthesized stack, parliament and our own rules on every IAM policy.

checkov and parliament live in .venv-checkov (installed by `make test` from security/requirements.txt).
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from stacks import ENVIRONMENTS, get_environment
from tests.synth_helpers import data_sources, only, resources

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".venv-checkov" / "bin"


@pytest.fixture(scope="module")
def stacks_dir(main_synth) -> Path:
    run, outdir = main_synth
    assert run.returncode == 0, run.stderr
    return outdir / "stacks"


@pytest.fixture(scope="module")
def checkov(stacks_dir) -> dict:
    assert (TOOLS / "checkov").exists(), "checkov is missing: `make test` installs it into .venv-checkov"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    run = subprocess.run(
        [str(TOOLS / "checkov"), "-d", str(stacks_dir), "--config-file", str(REPO / ".checkov.yaml"), "-o", "json"],
        cwd=stacks_dir, env=env, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(run.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_parses_every_stack_and_finds_no_failure(checkov):
    summary = checkov["summary"]
    assert summary["parsing_errors"] == 0  # a parse failure would otherwise look like a clean pass
    failed = [(c["check_id"], c["file_path"], c["resource"]) for c in checkov["results"]["failed_checks"]]
    assert failed == [] and summary["failed"] == 0


def test_checkov_ran_checks_on_every_stack(checkov):
    passed_per_stack = {}
    for check in checkov["results"]["passed_checks"]:
        stack = Path(check["file_path"]).parent.name
        passed_per_stack[stack] = passed_per_stack.get(stack, 0) + 1
    assert set(passed_per_stack) == set(ENVIRONMENTS)
    assert all(count >= 50 for count in passed_per_stack.values()), passed_per_stack


def test_every_checkov_skip_is_justified():
    lines = (REPO / ".checkov.yaml").read_text().splitlines()
    start = lines.index("skip-check:")
    skips = [line for line in lines[start + 1 :] if line.strip().startswith("- ")]
    assert skips
    for line in skips:
        assert re.fullmatch(r"  - CKV2?_AWS_\d+ +# .{20,}", line), f"skip without a justification: {line!r}"


@pytest.fixture(scope="module")
def stack_docs(stacks_dir) -> dict[str, dict]:
    return {env: json.loads((stacks_dir / env / "cdk.tf.json").read_text()) for env in ENVIRONMENTS}


def statements(doc: dict):
    for name, document in data_sources(doc, "aws_iam_policy_document").items():
        for statement in document.get("statement", []):
            yield name, statement


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_iam_least_privilege(env, stack_docs):
    doc = stack_docs[env]
    bucket = only(resources(doc, "aws_s3_bucket"))
    bucket_arn = "${aws_s3_bucket." + next(iter(resources(doc, "aws_s3_bucket"))) + ".arn}"
    allowed_devices = set(get_environment(env).allowed_devices)
    assert bucket["bucket"].startswith("amazon-braket-")
    for name, statement in statements(doc):
        actions = statement.get("actions", [])
        if statement.get("effect", "Allow") != "Allow":
            continue
        assert not [a for a in actions if a == "*" or a.endswith(":*")], (name, statement)
        if {"braket:CreateQuantumTask", "braket:CreateJob"} & set(actions):
            devices = {r for r in statement["resources"] if ":device/" in r}
            assert devices == allowed_devices, (name, statement)
        if any(a.startswith("s3:") for a in actions):
            assert all(r == bucket_arn or r.startswith(bucket_arn + "/") for r in statement["resources"]), (name, statement)


def test_parliament_finds_nothing_unaccepted(stacks_dir):
    paths = [str(stacks_dir / env / "cdk.tf.json") for env in sorted(ENVIRONMENTS)]
    run = subprocess.run(
        [str(TOOLS / "python"), str(REPO / "security" / "parliament_check.py"), *paths],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["findings"] == []
    assert all(entry["reason"] for entry in report["accepted"])
    linted = {entry["document"] for entry in report["accepted"]}
    assert any("NotebookRole" in name for name in linted)  # the notebook policy really was analysed
