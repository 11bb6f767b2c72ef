"""Access simulation: would AWS let each principal do what the stacks promise, and nothing else?

Every IAM document in each synthesized stack (identity, trust, bucket, key and topic
policies) is rendered as AWS would store it (account 123456789012, the stack's region,
partition aws; security/iam_documents.py) and requests are formed as AWS forms them:
the caller's ARN, the resource ARN with the account, and the request context
(tests/access/simulation.py). The decision follows AWS's documented policy evaluation
logic (tests/access/evaluator.py, with its own tests from the IAM documentation).

Where each caller calls from is part of the request: in a private environment the notebook
(and its kill-switch twin) reaches every API through the stack's VPC endpoint for it, whose
policy is decided too (AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint
policies"); the jobs role, Braket's service-linked role and AWS services call from their own
network. So this matrix, the same for every environment, also checks that the private profile
leaves the notebook everything it has in dev; tests/test_access_private.py checks what the
private profile adds.

Documents this models:
- device ARNs carry the caller's account: an AccessDenied in the Braket SDK's tracker
  (amazon-braket-sdk-python#395) reads "braket:GetDevice on resource:
  arn:aws:braket::178363055402:device/qpu/ionq/ionQdevice"; region-less devices may
  also be seen with the caller's region, so both forms must match;
- Braket writes results.json as its service-linked role (AmazonBraketServiceRolePolicy:
  S3 on amazon-braket-*, no KMS), through S3 (kms:ViaService s3.<region>.amazonaws.com);
- "Key policies in AWS KMS": without a key-policy grant, IAM policies cannot use the key;
- the service principals Budgets, SNS and SageMaker call with aws:SourceAccount/SourceArn.

Hybrid jobs (the "jobs" callers):
- the Service Authorization Reference for Amazon Braket lists iam:PassRole as a dependent action
  of braket:CreateJob, and IAM's "Granting a user permissions to pass a role to an AWS service"
  gives iam:PassedToService as the key that names the service the role is passed to;
- Braket assumes the execution role as braket.amazonaws.com; IAM's "The confused deputy
  problem" has a service principal's requests carry aws:SourceAccount and aws:SourceArn (here the
  job's ARN, arn:aws:braket:<region>:<account>:job/<name>), which the trust policy tests;
- the job container calls AWS as that role: the SDK's defaults put a job's sources, input,
  outputs and checkpoints under s3://<bucket>/jobs/<job-name>/ and its tasks' results under
  jobs/<job-name>/tasks (AMZN_BRAKET_TASK_RESULTS_S3_URI, braket/jobs/local/
  local_job_container_setup.py); logs go to /aws/braket* and metrics to the namespace
  /aws/braket (AmazonBraketJobsExecutionPolicy; the "cloudwatch:namespace" key of PutMetricData);
  ecr:GetAuthorizationToken supports no resource (Service Authorization Reference for Amazon
  ECR), and the images live in AWS-owned registries (braket/jobs/image_uri_config/*.json), whose
  repository policy tests/access/simulation.py models (ECR: a cross-account pull needs both the
  caller's identity policy and the repository policy);
- the budget's kill switch attaches its deny policy to the jobs role too (Budgets
  APPLY_IAM_POLICY on each role of the action's definition).

EventBridge to the budget's encrypted topic:
- EventBridge User Guide, "Using resource-based policies for Amazon EventBridge" (Amazon SNS
  permissions): the topic policy must allow events.amazonaws.com sns:Publish, and "You can't
  use Condition blocks in Amazon SNS topic policies for EventBridge": the statement has none,
  so EventBridge may publish for any rule (at worst, someone else's alerts in the inbox);
- SNS Developer Guide, "Key management" (and the sns:topicArn encryption context): a publisher
  to an encrypted topic needs kms:GenerateDataKey* and kms:Decrypt in the key policy, and
  "adding aws:SourceAccount, aws:SourceArn and aws:SourceOrgID to a KMS policy is not supported
  for EventBridge-to-encrypted topics": the key statement is scoped to this topic's encryption
  context (kms:EncryptionContext:aws:sns:topicArn) only, so EventBridge uses the key for SNS only.
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
JOB_SOURCES = "{bucket}/jobs/bell-2026/script/source.tar.gz"
JOB_OUTPUT = "{bucket}/jobs/bell-2026/data/output/model.tar.gz"
JOB_CHECKPOINT = "{bucket}/jobs/bell-2026/checkpoints/bell-2026.json"
JOB_TASK_RESULT = "{bucket}/jobs/bell-2026/tasks/0b5b1d53/results.json"  # AMZN_BRAKET_TASK_RESULTS_S3_URI
TO_BRAKET = {"iam:PassedToService": "braket.amazonaws.com"}
FROM_OUR_JOB = {"aws:SourceAccount": "{account}", "aws:SourceArn": JOB}
JOB_LOG_STREAM = "arn:aws:logs:{region}:{account}:log-group:/aws/braket/jobs:log-stream:bell-2026/algo-1-1700000000"
BRAKET_IMAGE = "arn:aws:ecr:{region}:292282985366:repository/amazon-braket-base-jobs"
SPENDING_LIMIT = "arn:aws:braket:{region}:{account}:spending-limit/7c1f2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
LIMITED_QPU = "arn:aws:braket:us-east-1:{account}:device/qpu/ionq/Forte-1"
FROM_THE_RULE = {"aws:SourceAccount": "{account}", "aws:SourceArn": "{rule}"}
FOR_THE_TOPIC = {"kms:EncryptionContext:aws:sns:topicArn": "{topic}"}
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
    # Hybrid jobs. The notebook passes exactly the jobs role, to Braket only, and uses the jobs prefix.
    ("notebook", "iam:PassRole", "{jobs_role}", TO_BRAKET, ALLOW),
    ("notebook", "iam:PassRole", "{jobs_role}", {"iam:PassedToService": "sagemaker.amazonaws.com"}, DENY),
    ("notebook", "iam:PassRole", "{jobs_role}", {"iam:PassedToService": "ec2.amazonaws.com"}, DENY),
    ("notebook", "iam:PassRole", "{notebook_role}", TO_BRAKET, DENY),
    ("notebook", "iam:PassRole", "{action_role}", TO_BRAKET, DENY),
    # Not every role the managed policies' AmazonBraketJobsExecutionRole* pattern would let through.
    ("notebook", "iam:PassRole", "arn:aws:iam::{account}:role/service-role/AmazonBraketJobsExecutionRole-other",
     TO_BRAKET, DENY),
    ("notebook", "s3:PutObject", JOB_SOURCES, {}, ALLOW),
    ("notebook", "s3:GetObject", JOB_OUTPUT, {}, ALLOW),
    ("notebook", "s3:ListBucket", "{bucket}", {"s3:prefix": "jobs/bell-2026/"}, ALLOW),
    ("notebook", "s3:PutObject", JOB_SOURCES, {"aws:SecureTransport": False}, DENY),
    ("notebook", "logs:GetLogEvents", JOB_LOG_STREAM, {}, ALLOW),  # AwsQuantumJob.logs()
    ("notebook", "logs:GetLogEvents", "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/other:log-stream:x", {}, DENY),
    # Braket assumes the jobs role for this account's jobs in this region only.
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}", FROM_OUR_JOB, ALLOW),
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}",
     {"aws:SourceAccount": OUTSIDER_ACCOUNT, "aws:SourceArn": f"arn:aws:braket:us-east-1:{OUTSIDER_ACCOUNT}:job/theirs"}, DENY),
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}",
     {"aws:SourceAccount": "{account}", "aws:SourceArn": f"arn:aws:braket:us-east-1:{OUTSIDER_ACCOUNT}:job/theirs"}, DENY),
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}", {"aws:SourceAccount": "{account}", "aws:SourceArn": TASK}, DENY),
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}",
     {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:braket:eu-north-1:{account}:job/elsewhere"}, DENY),
    ("braket.amazonaws.com", "sts:AssumeRole", "{jobs_role}", {}, DENY),
    ("braket.amazonaws.com", "sts:AssumeRole", "{notebook_role}", FROM_OUR_JOB, DENY),
    ("sagemaker.amazonaws.com", "sts:AssumeRole", "{jobs_role}", {}, DENY),
    ("outsider", "sts:AssumeRole", "{jobs_role}", {}, DENY),
    ("outsider", "iam:PassRole", "{jobs_role}", TO_BRAKET, DENY),
    # The jobs role: tasks on the allowed devices, its own tasks, nothing of jobs or roles.
    ("jobs", "braket:CreateQuantumTask", TASK, {}, ALLOW),
    ("jobs", "braket:TagResource", TASK, {}, ALLOW),
    ("jobs", "braket:GetQuantumTask", TASK, {}, ALLOW),
    ("jobs", "braket:CancelQuantumTask", TASK, {}, ALLOW),
    ("jobs", "braket:SearchQuantumTasks", "*", {}, ALLOW),
    ("jobs", "braket:CreateQuantumTask", UNLISTED_QPU, {}, DENY),
    ("jobs", "braket:GetDevice", UNLISTED_QPU, {}, DENY),
    ("jobs", "braket:CreateQuantumTask", "arn:aws:braket:us-east-1:{account}:device/qpu/ionq/Aria-1", {}, DENY),
    ("jobs", "braket:CreateJob", JOB, {}, DENY),
    ("jobs", "braket:CancelJob", JOB, {}, DENY),
    ("jobs", "braket:SearchJobs", "*", {}, DENY),
    ("jobs", "iam:PassRole", "{jobs_role}", TO_BRAKET, DENY),
    ("jobs", "iam:PassRole", "{notebook_role}", {"iam:PassedToService": "sagemaker.amazonaws.com"}, DENY),
    ("jobs", "iam:DetachRolePolicy", "{jobs_role}", {"iam:PolicyARN": "{deny_policy}"}, DENY),
    ("jobs", "sagemaker:StopNotebookInstance", "{notebook}", {}, DENY),
    # ... objects under jobs/ of the stack's bucket only ...
    ("jobs", "s3:GetObject", JOB_SOURCES, {}, ALLOW),
    ("jobs", "s3:PutObject", JOB_OUTPUT, {}, ALLOW),
    ("jobs", "s3:PutObject", JOB_CHECKPOINT, {}, ALLOW),
    ("jobs", "s3:PutObject", JOB_TASK_RESULT, {}, ALLOW),
    ("jobs", "s3:ListBucket", "{bucket}", {"s3:prefix": "jobs/bell-2026/"}, ALLOW),
    ("jobs", "s3:ListBucket", "{bucket}", {"s3:prefix": "results/"}, DENY),
    ("jobs", "s3:GetObject", RESULT, {}, DENY),
    ("jobs", "s3:PutObject", RESULT, {}, DENY),
    ("jobs", "s3:PutObject", "{bucket}/other/data.json", {}, DENY),
    ("jobs", "s3:GetObject", "arn:aws:s3:::amazon-braket-another-team/jobs/bell-2026/script/source.tar.gz", {}, DENY),
    ("jobs", "s3:CreateBucket", "arn:aws:s3:::amazon-braket-us-east-1-{account}", {}, DENY),  # the SDK's default bucket
    ("jobs", "s3:GetObject", JOB_SOURCES, {"aws:SecureTransport": False}, DENY),
    # ... the bucket's key through S3 only ...
    ("jobs", "kms:GenerateDataKey", "{results_key}", VIA_S3, ALLOW),
    ("jobs", "kms:Decrypt", "{results_key}", VIA_S3, ALLOW),
    ("jobs", "kms:Decrypt", "{results_key}", {}, DENY),
    ("jobs", "kms:Decrypt", "{results_key}", {"kms:ViaService": "sns.{region}.amazonaws.com"}, DENY),
    ("jobs", "kms:Decrypt", "{budget_key}", VIA_S3, DENY),
    # ... its logs and metrics ...
    ("jobs", "logs:CreateLogStream", JOB_LOG_STREAM, {}, ALLOW),
    ("jobs", "logs:PutLogEvents", JOB_LOG_STREAM, {}, ALLOW),
    ("jobs", "logs:CreateLogGroup", "arn:aws:logs:{region}:{account}:log-group:/aws/braket/jobs", {}, ALLOW),
    ("jobs", "logs:PutLogEvents", "arn:aws:logs:{region}:{account}:log-group:/aws/lambda/other:log-stream:x", {}, DENY),
    ("jobs", "logs:PutLogEvents", "arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/NotebookInstances:log-stream:x",
     {}, DENY),
    ("jobs", "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "/aws/braket"}, ALLOW),
    ("jobs", "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/EC2"}, DENY),
    # ... and Braket's images.
    ("jobs", "ecr:GetAuthorizationToken", "*", {}, ALLOW),
    ("jobs", "ecr:BatchGetImage", BRAKET_IMAGE, {}, ALLOW),
    ("jobs", "ecr:BatchCheckLayerAvailability", BRAKET_IMAGE, {}, ALLOW),
    ("jobs", "ecr:GetDownloadUrlForLayer", BRAKET_IMAGE, {}, ALLOW),
    ("jobs", "ecr:PutImage", BRAKET_IMAGE, {}, DENY),
    ("jobs", "ecr:BatchGetImage", "arn:aws:ecr:{region}:292282985366:repository/someone-elses-image", {}, DENY),
    ("jobs", "ecr:BatchGetImage", "arn:aws:ecr:{region}:{account}:repository/my-own-image", {}, DENY),
    # The kill switch stops the jobs role's spend too; what it wrote stays readable.
    ("jobs+kill-switch", "braket:CreateQuantumTask", TASK, {}, DENY),
    ("jobs+kill-switch", "braket:GetQuantumTask", TASK, {}, ALLOW),
    ("jobs+kill-switch", "s3:GetObject", JOB_OUTPUT, {}, ALLOW),
    ("budget-action-role", "iam:AttachRolePolicy", "{jobs_role}", {"iam:PolicyARN": "{deny_policy}"}, ALLOW),
    ("budget-action-role", "iam:DetachRolePolicy", "{jobs_role}", {"iam:PolicyARN": "{deny_policy}"}, ALLOW),
    ("budget-action-role", "iam:AttachRolePolicy", "{jobs_role}",
     {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}, DENY),
    # EventBridge publishes the state changes to the topic (its guide allows no conditions there, so
    # any rule may: the documented limit), and uses the topic's key for that topic only (SNS: a key
    # policy for EventBridge takes no source conditions either, but the encryption context binds it).
    ("events.amazonaws.com", "sns:Publish", "{topic}", FROM_THE_RULE, ALLOW),
    ("events.amazonaws.com", "sns:Publish", "{topic}",
     {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:events:{region}:{account}:rule/another-rule"}, ALLOW),
    ("events.amazonaws.com", "sns:Subscribe", "{topic}", FROM_THE_RULE, DENY),
    ("events.amazonaws.com", "kms:GenerateDataKey", "{budget_key}", FOR_THE_TOPIC, ALLOW),
    ("events.amazonaws.com", "kms:Decrypt", "{budget_key}", FOR_THE_TOPIC, ALLOW),
    ("events.amazonaws.com", "kms:GenerateDataKey", "{budget_key}", {}, DENY),  # not for SNS
    ("events.amazonaws.com", "kms:GenerateDataKey", "{budget_key}",
     {"kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:{region}:{account}:another-topic"}, DENY),
    ("events.amazonaws.com", "kms:Decrypt", "{results_key}", FOR_THE_TOPIC, DENY),
    ("events.amazonaws.com", "kms:Decrypt", "{budget_key}", {"kms:ViaService": "s3.{region}.amazonaws.com"}, DENY),
    ("outsider", "sns:Publish", "{topic}", FROM_THE_RULE, DENY),
    # Braket spending limits: both roles read what is left (python -m jobs estimate|run), neither may
    # create, raise or delete one (it would lift its own cap). SearchSpendingLimits has no resource
    # type; CreateSpendingLimit is on the device and the new limit, Update/Delete on the limit
    # (Service Authorization Reference, Amazon Braket).
    *[(who, "braket:SearchSpendingLimits", "*", {}, ALLOW) for who in ("notebook", "jobs")],
    *[(who, action, resource, {}, DENY)
      for who in ("notebook", "jobs", "notebook+kill-switch", "jobs+kill-switch")
      for action, resource in (("braket:CreateSpendingLimit", LIMITED_QPU),
                               ("braket:CreateSpendingLimit", SPENDING_LIMIT),
                               ("braket:UpdateSpendingLimit", SPENDING_LIMIT),
                               ("braket:DeleteSpendingLimit", SPENDING_LIMIT),
                               ("braket:TagResource", SPENDING_LIMIT),
                               ("braket:UntagResource", SPENDING_LIMIT))],
    ("outsider", "braket:UpdateSpendingLimit", SPENDING_LIMIT, {}, DENY),
]


def device_forms(sdk_arn: str, region: str) -> list[str]:
    """The ARNs IAM may evaluate for a device the SDK names ``sdk_arn``: with the account, and a
    region-less device (a simulator) also with the caller's region."""
    arn, partition, service, device_region, _account, device = sdk_arn.split(":", 5)
    regions = [device_region] if device_region else ["", region]
    return [f"{arn}:{partition}:{service}:{r}:{ACCOUNT}:{device}" for r in regions]


NOTEBOOK_CREATES = ("braket:CreateQuantumTask", "braket:CreateJob")


def for_environment(env: str, rows) -> list[tuple]:
    """``rows`` as they hold in ``env``: where the DMZ gateway submits (submission="gateway"), the
    notebook role creates nothing (an explicit Deny; the gateway's own rows are in
    tests/access/simulation.py, gateway_rows, decided by tests/test_access_private.py)."""
    if not get_environment(env).gateway_submission:
        return list(rows)
    return [
        (who, action, resource, context, DENY if who == "notebook" and action in NOTEBOOK_CREATES else expected)
        for who, action, resource, context, expected in rows
    ]


def device_rows(env: str) -> list[tuple]:
    """Each allowed device, in every form: usable by the notebook and by jobs (tasks, not jobs), closed
    by the kill switch on both roles."""
    config = get_environment(env)
    rows = []
    for arn in config.allowed_devices:
        for form in device_forms(arn, config.region):
            rows += [("notebook", action, form, {}, ALLOW)
                     for action in ("braket:GetDevice", "braket:CreateQuantumTask", "braket:CreateJob")]
            rows.append(("notebook+kill-switch", "braket:CreateQuantumTask", form, {}, DENY))
            rows += [("jobs", action, form, {}, ALLOW) for action in ("braket:GetDevice", "braket:CreateQuantumTask")]
            rows.append(("jobs", "braket:CreateJob", form, {}, DENY))
            rows.append(("jobs+kill-switch", "braket:CreateQuantumTask", form, {}, DENY))
    return for_environment(env, rows)


def placeholders(sim: AccessSimulation) -> dict[str, str]:
    stack = sim.stack
    [bucket] = [name for name in stack.resources("aws_s3_bucket") if name.startswith("Results_")]
    keys = {name.split("_")[0]: name for name in stack.resources("aws_kms_key")}
    [topic] = stack.resources("aws_sns_topic")
    [budget] = stack.resources("aws_budgets_budget")
    [notebook] = stack.resources("aws_sagemaker_notebook_instance")
    [rule] = stack.resources("aws_cloudwatch_event_rule")
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
        "jobs_role": stack.role("JobsExecutionRole").arn,
        "rule": stack.arn("aws_cloudwatch_event_rule", rule),
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
    assert failures(simulations[env], for_environment(env, MATRIX)) == []


def test_with_a_gateway_the_notebook_creates_nothing_and_the_matrix_knows_it(simulations):
    """prod submits through the gateway: the same notebook rows that pass in dev (allowed) are refused
    there, by the notebook role's own explicit Deny (not by a missing grant)."""
    creates = [row for row in MATRIX if row[0] == "notebook" and row[1] in NOTEBOOK_CREATES and row[4] == ALLOW]
    assert creates
    assert get_environment("prod").gateway_submission and not get_environment("dev").gateway_submission
    assert failures(simulations["dev"], creates) == []
    refused = failures(simulations["prod"], creates)
    assert len(refused) == len(creates) and all("DenyCreateTasksAndJobs" in line for line in refused)


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_allowed_devices_in_every_form_iam_evaluates(env, simulations):
    rows = device_rows(env)
    assert len(rows) >= 8 * len(get_environment(env).allowed_devices)
    assert "arn:aws:braket::123456789012:device/quantum-simulator/amazon/sv1" in {row[2] for row in rows}
    assert failures(simulations[env], rows) == []


def test_devices_not_allowed_in_dev_are_denied(simulations):
    qpus = [a for a in get_environment("prod").allowed_devices if a not in get_environment("dev").allowed_devices]
    assert qpus
    rows = [(who, "braket:CreateQuantumTask", form, {}, DENY)
            for who in ("notebook", "jobs") for arn in qpus for form in device_forms(arn, "us-east-1")]
    assert failures(simulations["dev"], rows) == []


def test_the_matrix_fails_when_device_arns_are_written_as_the_sdk_writes_them(monkeypatch):
    """The check has teeth: the SDK's form (no account) matches nothing IAM evaluates."""
    from quantum_constructs.cdk import Testing

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
        # notebook, jobs execution, budget action; a private network's flow-log role; the gateway's role
        assert len(sim.roles) == 3 + bool(sim.vpc_id) + ("gateway" in sim.callers)


def test_the_matrix_fails_without_the_source_conditions(stack_json):
    """The check has teeth: without aws:SourceArn/SourceAccount, another account's jobs could assume the
    jobs role."""
    import copy

    doc = copy.deepcopy(stack_json["dev"])
    documents = doc["data"]["aws_iam_policy_document"]
    for name, document in documents.items():
        for statement in document["statement"]:
            if name.startswith("JobsExecutionRole_Trust"):
                statement.pop("condition")
    wrong = failures(AccessSimulation(doc), MATRIX)
    assert any(w.startswith("braket.amazonaws.com sts:AssumeRole") and OUTSIDER_ACCOUNT in w for w in wrong)
    assert all(w.startswith("braket.amazonaws.com") for w in wrong)


def test_spending_limit_changes_are_denied_explicitly_even_with_braket_full_access(simulations):
    """With AmazonBraketFullAccess (braket:*) attached, the roles still cannot raise their own cap:
    their policy denies the changes explicitly, and an explicit Deny wins (IAM policy evaluation)."""
    import dataclasses

    full_access = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "braket:*", "Resource": "*"}]}
    for env, sim in simulations.items():
        values = placeholders(sim)
        for who in ("notebook", "jobs"):
            caller = sim.callers[who]  # from where it calls: a private stack's notebook through its endpoints
            sim.callers[f"{who}+full-access"] = dataclasses.replace(
                caller, identity_policies=[*caller.identity_policies, full_access]
            )
            for action in ("braket:CreateSpendingLimit", "braket:UpdateSpendingLimit", "braket:DeleteSpendingLimit"):
                result = sim.decide(f"{who}+full-access", action, fill(SPENDING_LIMIT, values))
                assert result.decision is Decision.EXPLICIT_DENY, (env, who, action, result.reason)
            assert sim.decide(f"{who}+full-access", "braket:SearchSpendingLimits", "*").decision is Decision.ALLOW
