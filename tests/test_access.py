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

The bootstrap stack (tests/access/bootstrap.py; BOOTSTRAP_MATRIX below):
- S3 User Guide, "Permissions for log delivery": S3 writes server access logs as the service
  principal logging.s3.amazonaws.com, which the destination bucket's policy must allow
  s3:PutObject under the log prefix, and AWS recommends restricting it with aws:SourceArn (the
  source bucket) and aws:SourceAccount (its account); with the bucket owner enforced setting
  (ACLs disabled) the policy is the only way to grant it. So the logging service may write only
  this account's configured buckets' logs, each under its own prefix, and nobody else may write
  there at all;
- S3 User Guide, "Enabling Amazon S3 server access logging": the destination is in the source's
  account and region, with SSE-S3 default encryption (tests/test_bootstrap.py checks that);
- the state bucket and key: the key policy delegates to IAM (KMS Developer Guide, "Default key
  policy"), so the deployer the generated deployer policy describes (stacks/deployer_policy.py) uses
  its own environment's state and the key through S3 only, matched by kms:ResourceAliases (KMS
  Developer Guide, "kms:ResourceAliases"), and nobody without a grant, or without TLS, does.
"""

from __future__ import annotations

import json
from typing import Optional

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


def failures(sim, rows, values: Optional[dict[str, str]] = None) -> list[str]:
    """Every row whose decision differs from the expected one, readably; the rows' placeholders
    filled from ``values`` (default: the environment simulation's, ``placeholders(sim)``)."""
    values = placeholders(sim) if values is None else values
    wrong = []
    for who, action, resource, context, expected in rows:
        who, resource, context = fill(who, values), fill(resource, values), fill(context, values)
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


# -- the bootstrap stack: access-log buckets and the Terraform state ---------------------------
LOGGING = "logging.s3.amazonaws.com"
LOG_OBJECT = "{logs}/s3-access/{source}/2026-01-01-00-00-00-0123456789ABCDEF"
# Date-partitioned log keys (TargetObjectKeyFormat PartitionedPrefix) stay under the same prefix.
PARTITIONED_LOG_OBJECT = "{logs}/s3-access/{source}/{account}/{region}/{source}/2026/01/01/2026-01-01-00-00-00-0123456789ABCDEF"
FROM_SOURCE = {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:s3:::{source}"}
STATE_OBJECT = "{state}/quantum-cloud/{env}/terraform.tfstate"
VIA_STATE_S3 = {"kms:ViaService": "s3.{region}.amazonaws.com"}

# who, action, resource, context, expected: for each bucket that logs to a log bucket the bootstrap
# creates ({logs}: that log bucket; {source}: the logging bucket's name; {other_source}: another
# source of the app, which logs elsewhere or under another prefix).
LOG_DELIVERY_MATRIX = [
    (LOGGING, "s3:PutObject", LOG_OBJECT, FROM_SOURCE, ALLOW),
    (LOGGING, "s3:PutObject", PARTITIONED_LOG_OBJECT, FROM_SOURCE, ALLOW),
    # Another account's bucket of the same name pattern, or the right name claimed from another account.
    (LOGGING, "s3:PutObject", LOG_OBJECT, {"aws:SourceAccount": OUTSIDER_ACCOUNT, "aws:SourceArn": "arn:aws:s3:::{source}"}, DENY),
    # Another bucket of this account: not a source of this log bucket, or not under this prefix.
    (LOGGING, "s3:PutObject", LOG_OBJECT, {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:s3:::amazon-braket-another-team"}, DENY),
    (LOGGING, "s3:PutObject", LOG_OBJECT, {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:s3:::{other_source}"}, DENY),
    # The source outside its prefix (another source's, or the bucket's root).
    (LOGGING, "s3:PutObject", "{logs}/s3-access/{other_source}/2026-01-01-00-00-00-0123456789ABCDEF", FROM_SOURCE, DENY),
    (LOGGING, "s3:PutObject", "{logs}/2026-01-01-00-00-00-0123456789ABCDEF", FROM_SOURCE, DENY),
    # Without the source keys (no delivery of S3 carries none), without TLS, or anything but PutObject.
    (LOGGING, "s3:PutObject", LOG_OBJECT, {}, DENY),
    (LOGGING, "s3:PutObject", LOG_OBJECT, {**FROM_SOURCE, "aws:SecureTransport": False}, DENY),
    (LOGGING, "s3:GetObject", LOG_OBJECT, FROM_SOURCE, DENY),
    (LOGGING, "s3:DeleteObject", LOG_OBJECT, FROM_SOURCE, DENY),
    (LOGGING, "s3:PutBucketPolicy", "{logs}", FROM_SOURCE, DENY),
    # Anyone else: a role of this account without a grant, another account's administrator.
    ("account-role", "s3:PutObject", LOG_OBJECT, {}, DENY),
    ("outsider", "s3:PutObject", LOG_OBJECT, {}, DENY),
    ("outsider", "s3:GetObject", LOG_OBJECT, {}, DENY),
    # This account's administrators read the logs, over TLS only.
    ("account-admin", "s3:GetObject", LOG_OBJECT, {}, ALLOW),
    ("account-admin", "s3:GetObject", LOG_OBJECT, {"aws:SecureTransport": False}, DENY),
]

# The state bucket and key ({env}: an environment with an S3 backend; {other_env}: another one).
STATE_MATRIX = [
    ("{env}-deployer", "s3:GetObject", STATE_OBJECT, {}, ALLOW),
    ("{env}-deployer", "s3:PutObject", STATE_OBJECT, {}, ALLOW),
    ("{env}-deployer", "s3:PutObject", STATE_OBJECT + ".tflock", {}, ALLOW),
    ("{env}-deployer", "s3:DeleteObject", STATE_OBJECT + ".tflock", {}, ALLOW),
    ("{env}-deployer", "s3:DeleteObject", STATE_OBJECT, {}, DENY),
    ("{env}-deployer", "s3:GetObject", "{state}/quantum-cloud/{other_env}/terraform.tfstate", {}, DENY),
    ("{env}-deployer", "s3:PutObject", "{state}/quantum-cloud/{other_env}/terraform.tfstate", {}, DENY),
    ("{env}-deployer", "s3:GetObject", STATE_OBJECT, {"aws:SecureTransport": False}, DENY),
    ("{env}-deployer", "kms:GenerateDataKey", "{state_key}", VIA_STATE_S3, ALLOW),
    ("{env}-deployer", "kms:Decrypt", "{state_key}", VIA_STATE_S3, ALLOW),
    ("{env}-deployer", "kms:Decrypt", "{state_key}", {}, DENY),  # a direct call, not through S3
    # Its key management (for the stack's own keys, whose ids are generated) reaches every key of
    # the region whose key policy delegates to IAM: explicitly denied on the state key, found by alias.
    ("{env}-deployer", "kms:ScheduleKeyDeletion", "{state_key}", {}, DENY),
    ("{env}-deployer", "kms:DisableKey", "{state_key}", {}, DENY),
    ("{env}-deployer", "kms:PutKeyPolicy", "{state_key}", {}, DENY),
    ("{env}-deployer", "kms:DisableKeyRotation", "{state_key}", {}, DENY),
    ("{env}-deployer", "kms:EnableKeyRotation", "{state_key}", {}, ALLOW),  # harmless: stays allowed
    ("{env}-deployer", "s3:GetObject", LOG_OBJECT, {}, DENY),
    ("account-role", "s3:GetObject", STATE_OBJECT, {}, DENY),
    ("account-role", "kms:Decrypt", "{state_key}", VIA_STATE_S3, DENY),
    ("outsider", "s3:GetObject", STATE_OBJECT, {}, DENY),
    ("outsider", "s3:ListBucket", "{state}", {"s3:prefix": "quantum-cloud/"}, DENY),
    ("outsider", "kms:Decrypt", "{state_key}", VIA_STATE_S3, DENY),
    ("account-admin", "s3:GetObject", STATE_OBJECT, {}, ALLOW),
    ("account-admin", "s3:GetObject", STATE_OBJECT, {"aws:SecureTransport": False}, DENY),
    # The logging service writes the state bucket's logs to its log bucket, never into the state bucket.
    (LOGGING, "s3:PutObject", STATE_OBJECT, {"aws:SourceAccount": "{account}", "aws:SourceArn": "arn:aws:s3:::{state_name}"}, DENY),
]


def log_sources() -> list[tuple[str, str]]:
    """(log bucket, source bucket) for every bucket the configuration logs to a bucket the bootstrap creates."""
    from stacks import BOOTSTRAP

    return [(plan.name, source) for plan in BOOTSTRAP.access_log_buckets(ENVIRONMENTS) for source in plan.sources]


def backend_environments() -> list[str]:
    return sorted(name for name, env in ENVIRONMENTS.items() if env.backend is not None)


@pytest.fixture(scope="module")
def bootstrap_simulation(bootstrap_json, stack_json):
    """The bootstrap stack, with each S3-backend environment's deployer (every document the deployer
    policy generator prints for that environment's stack) as a caller ``<env>-deployer``."""
    from stacks.deployer_policy import deployer_policies
    from tests.access.bootstrap import BootstrapSimulation
    from tests.access.simulation import Caller

    deployers = {
        f"{env}-deployer": Caller(f"arn:aws:iam::{ACCOUNT}:role/quantum-cloud-deployer-{env}", deployer_policies(stack_json[env]))
        for env in backend_environments()
    }
    return BootstrapSimulation(bootstrap_json, deployers)


def log_values(sim, log_bucket: str, source: str) -> dict[str, str]:
    sources = [s for _, s in log_sources()]
    other = next(s for s in sources if s != source)
    return {"account": ACCOUNT, "region": sim.stack.region, "logs": sim.bucket_arn(log_bucket), "source": source,
            "other_source": other}


@pytest.mark.parametrize("log_bucket, source", log_sources())
def test_bootstrap_log_delivery_matrix(log_bucket, source, bootstrap_simulation):
    """The logging service writes this account's configured buckets' logs, each under its own
    prefix of its own log bucket; nothing else writes there."""
    values = log_values(bootstrap_simulation, log_bucket, source)
    assert failures(bootstrap_simulation, LOG_DELIVERY_MATRIX, values) == []


def test_every_source_and_log_bucket_of_the_configuration_is_simulated():
    """The rows above run for each results, audit and state bucket that logs (none left out)."""
    sources = {source for _, source in log_sources()}
    for env in ENVIRONMENTS.values():
        if env.access_log_bucket is not None:
            assert env.results_bucket_name in sources
            if env.gateway_submission:
                assert env.audit_bucket_name in sources
    from stacks import BOOTSTRAP

    assert (BOOTSTRAP.state_access_log_bucket is not None) == (BOOTSTRAP.state.bucket in sources)
    assert len({log for log, _ in log_sources()}) >= 2


@pytest.mark.parametrize("env", backend_environments())
def test_bootstrap_state_matrix(env, bootstrap_simulation):
    """Each environment's deployer (as stacks/deployer_policy.py generates it) uses its own state
    and the state key through S3, and cannot disable or delete that key; nobody else uses them, and
    nothing without TLS."""
    sim = bootstrap_simulation
    assert failures(sim, STATE_MATRIX, state_values(sim, env)) == []


def state_values(sim, env: str) -> dict[str, str]:
    from stacks import BOOTSTRAP

    [log_bucket, source] = next([log, s] for log, s in log_sources() if s == get_environment(env).results_bucket_name)
    return {
        **log_values(sim, log_bucket, source),
        "env": env,
        "other_env": next(e for e in backend_environments() if e != env),
        "state": sim.bucket_arn(BOOTSTRAP.state.bucket),
        "state_name": BOOTSTRAP.state.bucket,
        "state_key": sim.key_arn(),
    }


def test_without_its_deny_a_deployer_could_delete_the_state_key(bootstrap_json, stack_json):
    """The Deny has teeth: the key management a stack's own keys need would otherwise reach the
    state key (its key policy delegates to IAM), and every environment's state with it."""
    from stacks.deployer_policy import deployer_policies
    from tests.access.bootstrap import BootstrapSimulation
    from tests.access.simulation import Caller

    env = backend_environments()[0]
    documents = [{**d, "Statement": [s for s in d["Statement"] if s["Sid"] != "TerraformStateKeyKept"]}
                 for d in deployer_policies(stack_json[env])]
    deployer = Caller(f"arn:aws:iam::{ACCOUNT}:role/quantum-cloud-deployer-{env}", documents)
    sim = BootstrapSimulation(bootstrap_json, {f"{env}-deployer": deployer})
    wrong = failures(sim, STATE_MATRIX, state_values(sim, env))
    assert {w.split()[1] for w in wrong} == {"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy",
                                             "kms:DisableKeyRotation"}, wrong


def test_the_log_delivery_matrix_fails_without_the_source_conditions(bootstrap_json):
    """The check has teeth: without aws:SourceArn and aws:SourceAccount any bucket of any account
    could deliver its logs into ours."""
    import copy

    from tests.access.bootstrap import BootstrapSimulation

    doc = copy.deepcopy(bootstrap_json)
    for name, document in doc["data"]["aws_iam_policy_document"].items():
        for statement in document["statement"]:
            if statement.get("sid", "").startswith("LogDeliveryFrom"):
                statement.pop("condition")
    sim = BootstrapSimulation(doc)
    log_bucket, source = log_sources()[0]
    wrong = failures(sim, LOG_DELIVERY_MATRIX, log_values(sim, log_bucket, source))
    assert any(OUTSIDER_ACCOUNT in w for w in wrong) and any("amazon-braket-another-team" in w for w in wrong)
    assert all(w.startswith(LOGGING) for w in wrong)
