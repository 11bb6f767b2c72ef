"""Access simulation: would AWS let each principal do what the stacks promise, and nothing else?

Every IAM document in each synthesized stack (identity, trust, bucket, key and topic
policies) is rendered as AWS would store it (account 123456789012, the stack's region,
partition aws; security/iam_documents.py) and requests are formed as AWS forms them:
the caller's ARN, the resource ARN with the account, and the request context
(tests/access/simulation.py). The decision follows AWS's documented policy evaluation
logic (tests/access/evaluator.py, with its own tests from the IAM documentation).

Documents this models:
- device ARNs carry the caller's account: an AccessDenied in the Braket SDK's tracker
  (amazon-braket-sdk-python#395) reads "braket:GetDevice on resource:
  arn:aws:braket::178363055402:device/qpu/ionq/ionQdevice"; region-less devices may
  also be seen with the caller's region, so both forms must match;
- Braket writes results.json as its service-linked role (AmazonBraketServiceRolePolicy:
  S3 on amazon-braket-*, no KMS), through S3 (kms:ViaService s3.<region>.amazonaws.com);
- "Key policies in AWS KMS": without a key-policy grant, IAM policies cannot use the key;
- the service principals Budgets, SNS and SageMaker call with aws:SourceAccount/SourceArn.
"""

from __future__ import annotations

import json

import pytest

from stacks import ENVIRONMENTS, get_environment
from tests.access.evaluator import Decision
from tests.access.simulation import OUTSIDER_ACCOUNT, AccessSimulation
from security.iam_documents import ACCOUNT

ALLOW, DENY = "allow", "deny"
TASK = "arn:aws:braket:{region}:{account}:quantum-task/0b5b1d53-5c2c-4bd4-9b3f-0c6a2f3e1a11"
JOB = "arn:aws:braket:{region}:{account}:job/bell-2026"
RESULT = "{bucket}/results/job-2026/0b5b1d53/results.json"
OTHER_ROLE = "arn:aws:iam::{account}:role/AnyOtherRole"
UNLISTED_QPU = "arn:aws:braket:us-west-1:{account}:device/qpu/rigetti/Ankaa-3"
VIA_S3 = {"kms:ViaService": "s3.{region}.amazonaws.com"}
FROM_THIS_ACCOUNT = {"aws:SourceAccount": "{account}", "aws:SourceArn": "{budget}"}
FROM_ANOTHER_ACCOUNT = {"aws:SourceAccount": OUTSIDER_ACCOUNT,
                        "aws:SourceArn": f"arn:aws:budgets::{OUTSIDER_ACCOUNT}:budget/theirs"}

# who, action, resource, context, expected: the same for every environment.
MATRIX = [
    # The notebook role: its own tasks and jobs, its results prefix, its key through S3 only.
    ("notebook", "braket:CreateQuantumTask", TASK, {}, ALLOW),
    ("notebook", "braket:TagResource", TASK, {}, ALLOW),  # CreateQuantumTask with tags needs it
    ("notebook", "braket:GetQuantumTask", TASK, {}, ALLOW),
    ("notebook", "braket:CancelQuantumTask", TASK, {}, ALLOW),
    ("notebook", "braket:CreateJob", JOB, {}, ALLOW),
    ("notebook", "braket:SearchDevices", "*", {}, ALLOW),
    ("notebook", "braket:SearchQuantumTasks", "*", {}, ALLOW),
    ("notebook", "braket:CreateQuantumTask", UNLISTED_QPU, {}, DENY),
    ("notebook", "braket:CreateJob", UNLISTED_QPU, {}, DENY),
    ("notebook", "braket:CreateQuantumTask", "arn:aws:braket:us-east-1:{account}:device/qpu/ionq/Aria-1", {}, DENY),
    ("notebook", "s3:PutObject", RESULT, {}, ALLOW),
    ("notebook", "s3:GetObject", RESULT, {}, ALLOW),
    ("notebook", "s3:ListBucket", "{bucket}", {"s3:prefix": "results/job-2026/"}, ALLOW),
    ("notebook", "s3:ListBucket", "{bucket}", {"s3:prefix": "other/"}, DENY),
    ("notebook", "s3:PutObject", "{bucket}/other/data.json", {}, DENY),
    ("notebook", "s3:GetObject", "arn:aws:s3:::amazon-braket-another-team/results/x.json", {}, DENY),
    ("notebook", "s3:GetObject", RESULT, {"aws:SecureTransport": False}, DENY),
    ("notebook", "s3:PutObject", RESULT, {"aws:SecureTransport": False}, DENY),
    ("notebook", "kms:GenerateDataKey", "{results_key}", VIA_S3, ALLOW),
    ("notebook", "kms:Decrypt", "{results_key}", VIA_S3, ALLOW),
    ("notebook", "kms:GenerateDataKey", "{results_key}", {}, DENY),  # a direct call, not through S3
    ("notebook", "kms:Decrypt", "{results_key}", {"kms:ViaService": "sns.{region}.amazonaws.com"}, DENY),
    ("notebook", "sagemaker:StopNotebookInstance", "{notebook}", {}, ALLOW),
    ("notebook", "sagemaker:StopNotebookInstance", "arn:aws:sagemaker:{region}:{account}:notebook-instance/other", {}, DENY),
    ("notebook", "iam:DetachRolePolicy", "{notebook_role}", {"iam:PolicyARN": "{deny_policy}"}, DENY),
    ("sagemaker.amazonaws.com", "sts:AssumeRole", "{notebook_role}", {}, ALLOW),
    # The kill switch fired: nothing new is spent, results stay readable.
    ("notebook+kill-switch", "braket:CreateQuantumTask", TASK, {}, DENY),
    ("notebook+kill-switch", "braket:CreateJob", JOB, {}, DENY),
    ("notebook+kill-switch", "braket:GetQuantumTask", TASK, {}, ALLOW),
    ("notebook+kill-switch", "s3:GetObject", RESULT, {}, ALLOW),
    # Braket's service-linked role writes results.json with SSE-KMS: bucket policy + key policy.
    ("braket-service-linked-role", "s3:PutObject", RESULT, {}, ALLOW),
    ("braket-service-linked-role", "kms:GenerateDataKey", "{results_key}", VIA_S3, ALLOW),
    ("braket-service-linked-role", "kms:Decrypt", "{results_key}", VIA_S3, ALLOW),
    ("braket-service-linked-role", "kms:GenerateDataKey", "{results_key}", {}, DENY),
    ("braket-service-linked-role", "s3:PutObject", RESULT, {"aws:SecureTransport": False}, DENY),
    # The budget action role attaches the deny policy to the notebook role, and nothing else.
    ("budget-action-role", "iam:AttachRolePolicy", "{notebook_role}", {"iam:PolicyARN": "{deny_policy}"}, ALLOW),
    ("budget-action-role", "iam:DetachRolePolicy", "{notebook_role}", {"iam:PolicyARN": "{deny_policy}"}, ALLOW),
    ("budget-action-role", "iam:AttachRolePolicy", "{notebook_role}",
     {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}, DENY),
    ("budget-action-role", "iam:AttachRolePolicy", OTHER_ROLE, {"iam:PolicyARN": "{deny_policy}"}, DENY),
    ("budget-action-role", "iam:PutRolePolicy", "{notebook_role}", {}, DENY),
    ("budgets.amazonaws.com", "sts:AssumeRole", "{action_role}", FROM_THIS_ACCOUNT, ALLOW),
    ("budgets.amazonaws.com", "sts:AssumeRole", "{action_role}", FROM_ANOTHER_ACCOUNT, DENY),
    ("budgets.amazonaws.com", "sns:Publish", "{topic}", FROM_THIS_ACCOUNT, ALLOW),
    ("budgets.amazonaws.com", "sns:Publish", "{topic}", FROM_ANOTHER_ACCOUNT, DENY),
    ("budgets.amazonaws.com", "kms:GenerateDataKey", "{budget_key}", {"aws:SourceAccount": "{account}"}, ALLOW),
    ("sns.amazonaws.com", "kms:Decrypt", "{budget_key}", {"aws:SourceAccount": "{account}"}, ALLOW),
    ("sns.amazonaws.com", "kms:Decrypt", "{budget_key}", {"aws:SourceAccount": OUTSIDER_ACCOUNT}, DENY),
    # Nobody outside the account, even an administrator there.
    ("outsider", "s3:GetObject", RESULT, {}, DENY),
    ("outsider", "s3:PutObject", RESULT, {}, DENY),
    ("outsider", "s3:ListBucket", "{bucket}", {"s3:prefix": "results/"}, DENY),
    ("outsider", "kms:Decrypt", "{results_key}", VIA_S3, DENY),
    ("outsider", "kms:GenerateDataKey", "{results_key}", VIA_S3, DENY),
    ("outsider", "sns:Publish", "{topic}", {}, DENY),
    ("outsider", "kms:Decrypt", "{budget_key}", {}, DENY),
    ("outsider", "sts:AssumeRole", "{notebook_role}", {}, DENY),
    ("outsider", "sts:AssumeRole", "{action_role}", {}, DENY),
    ("outsider", "braket:GetQuantumTask", TASK, {}, DENY),
    ("outsider", "iam:AttachRolePolicy", "{notebook_role}", {"iam:PolicyARN": "{deny_policy}"}, DENY),
]


def device_forms(sdk_arn: str, region: str) -> list[str]:
    """The ARNs IAM may evaluate for a device the SDK names ``sdk_arn``: with the account, and a
    region-less device (a simulator) also with the caller's region."""
    arn, partition, service, device_region, _account, device = sdk_arn.split(":", 5)
    regions = [device_region] if device_region else ["", region]
    return [f"{arn}:{partition}:{service}:{r}:{ACCOUNT}:{device}" for r in regions]


def device_rows(env: str) -> list[tuple]:
    """Each allowed device, in every form: usable by the notebook, closed by the kill switch."""
    config = get_environment(env)
    rows = []
    for arn in config.allowed_devices:
        for form in device_forms(arn, config.region):
            rows += [("notebook", action, form, {}, ALLOW)
                     for action in ("braket:GetDevice", "braket:CreateQuantumTask", "braket:CreateJob")]
            rows.append(("notebook+kill-switch", "braket:CreateQuantumTask", form, {}, DENY))
    return rows


def placeholders(sim: AccessSimulation) -> dict[str, str]:
    stack = sim.stack
    [(bucket, _)] = stack.resources("aws_s3_bucket").items()
    keys = {name.split("_")[0]: name for name in stack.resources("aws_kms_key")}
    [topic] = stack.resources("aws_sns_topic")
    [budget] = stack.resources("aws_budgets_budget")
    [notebook] = stack.resources("aws_sagemaker_notebook_instance")
    return {
        "account": ACCOUNT,
        "region": stack.region,
        "bucket": stack.arn("aws_s3_bucket", bucket),
        "results_key": stack.arn("aws_kms_key", keys["Results"]),
        "budget_key": stack.arn("aws_kms_key", keys["BraketBudget"]),
        "topic": stack.arn("aws_sns_topic", topic),
        "budget": stack.arn("aws_budgets_budget", budget),
        "notebook": stack.arn("aws_sagemaker_notebook_instance", notebook),
        "notebook_role": stack.role("NotebookRole").arn,
        "action_role": stack.role("BraketBudget_ActionRole").arn,
        "deny_policy": sim.deny_policy_arn,
    }


def fill(value, values: dict[str, str]):
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value.format(**values) if isinstance(value, str) else value


def failures(sim: AccessSimulation, rows) -> list[str]:
    """Every row whose decision differs from the expected one, readably."""
    values = placeholders(sim)
    wrong = []
    for who, action, resource, context, expected in rows:
        resource, context = fill(resource, values), fill(context, values)
        result = sim.decide(who, action, resource, context)
        got = ALLOW if result.decision is Decision.ALLOW else DENY
        if got != expected:
            wrong.append(f"{who} {action} {resource} {json.dumps(context)}: expected {expected}, "
                         f"got {result.decision.value} ({result.reason})")
    return wrong


@pytest.fixture(scope="module")
def simulations(stack_json) -> dict[str, AccessSimulation]:
    return {env: AccessSimulation(doc) for env, doc in stack_json.items()}


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_access_matrix(env, simulations):
    assert failures(simulations[env], MATRIX) == []


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_allowed_devices_in_every_form_iam_evaluates(env, simulations):
    rows = device_rows(env)
    assert len(rows) >= 4 * len(get_environment(env).allowed_devices)
    assert "arn:aws:braket::123456789012:device/quantum-simulator/amazon/sv1" in {row[2] for row in rows}
    assert failures(simulations[env], rows) == []


def test_devices_not_allowed_in_dev_are_denied(simulations):
    qpus = [a for a in get_environment("prod").allowed_devices if a not in get_environment("dev").allowed_devices]
    assert qpus
    rows = [("notebook", "braket:CreateQuantumTask", form, {}, DENY)
            for arn in qpus for form in device_forms(arn, "us-east-1")]
    assert failures(simulations["dev"], rows) == []


def test_the_matrix_fails_when_device_arns_are_written_as_the_sdk_writes_them(monkeypatch):
    """The check has teeth: the SDK's form (no account) matches nothing IAM evaluates."""
    from cdktf import Testing

    import quantum_constructs.role as role_module
    from stacks.quantum_stack import QuantumStack

    monkeypatch.setattr(role_module, "device_policy_arn", lambda arn: arn)
    doc = json.loads(Testing.synth(QuantumStack(Testing.app(), get_environment("dev"))))
    document = json.dumps(doc["data"]["aws_iam_policy_document"])
    assert "arn:aws:braket:::device/quantum-simulator/amazon/sv1" in document
    wrong = failures(AccessSimulation(doc), device_rows("dev"))
    creates = [w for w in wrong if "braket:CreateQuantumTask" in w and w.startswith("notebook ")]
    # Every allowed device in every form: the explicit Deny's NotResource no longer excludes it.
    assert len(creates) == 2 * len(get_environment("dev").allowed_devices)
    assert all("ExplicitDeny" in w for w in creates)


def test_every_policy_of_every_stack_is_rendered(simulations):
    """Nothing escapes the simulation: each document resolves to IAM JSON with no Terraform reference."""
    for sim in simulations.values():
        names = sim.stack.doc["data"]["aws_iam_policy_document"]
        rendered = json.dumps([sim.stack.policy_document(name) for name in names])
        assert "${" not in rendered and ":::device/" not in rendered
        assert len(sim.roles) == 2
