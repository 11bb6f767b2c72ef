"""Requests as AWS forms them, decided against a synthesized stack's policies.

``AccessSimulation(stack_doc)`` knows who may call (the stack's roles, Braket's
service-linked role, AWS service principals, an outsider account) and which
resource policy AWS consults for a request (bucket, key, topic, trust policy, or
the repository policy of Braket's job images), and fills in the global condition
keys AWS puts in every request context.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Mapping, Sequence

from security.iam_documents import ACCOUNT, PARTITION, SynthesizedStack

from .evaluator import Request, evaluate

OUTSIDER_ACCOUNT = "999999999999"
BRAKET_SERVICE_LINKED_ROLE = (
    f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/braket.amazonaws.com/AWSServiceRoleForAmazonBraket"
)
# AmazonBraketServiceRolePolicy v3, the service-linked role's only policy, as the AWS Managed
# Policy Reference publishes it ("AmazonBraketServiceRolePolicy"), with the policy variable
# ${aws:PrincipalAccount} resolved for a role in ACCOUNT. It has no KMS action.
BRAKET_SERVICE_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
            "Resource": "arn:aws:s3:::amazon-braket-*",
            "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "logs:PutLogEvents",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:CreateLogGroup",
                "logs:DescribeLogGroups",
            ],
            "Resource": "arn:aws:logs:*:*:log-group:/aws/braket:*",
            "Condition": {"StringEquals": {"aws:ResourceAccount": ACCOUNT}},
        },
    ],
}


@lru_cache(maxsize=1)
def braket_image_registries() -> frozenset[str]:
    """The AWS-owned accounts whose ECR registries hold Braket's job images, as the SDK names them
    (braket/jobs/image_uri_config/*.json: "registry" and "repository")."""
    config = resources.files("braket.jobs").joinpath("image_uri_config")
    return frozenset(
        json.loads(entry.read_text())["registry"] for entry in config.iterdir() if entry.name.endswith(".json")
    )


def braket_image_repository_policy(registry: str) -> dict:
    """A repository policy on Braket's job images in ``registry``, as this simulation models it.

    AWS does not publish it; what is known is that every customer's job execution role pulls
    these images across accounts, which ECR allows only when the repository policy lets the
    caller's account pull (ECR User Guide, "Private repository policies"). So: anyone may pull
    the amazon-braket* repositories, and nothing else. The caller's identity policy still decides.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AnyAccountPullsBraketJobImages",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"],
                "Resource": f"arn:{PARTITION}:ecr:*:{registry}:repository/amazon-braket*",
            }
        ],
    }


# The worst outsider: an administrator of another account.
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Caller:
    principal: str
    identity_policies: Sequence[dict] = ()


class AccessSimulation:
    """Decides requests against one synthesized stack as AWS would (same-account and cross-account)."""

    def __init__(self, stack_doc: dict) -> None:
        self.stack = SynthesizedStack(stack_doc)
        self.roles = self.stack.roles()
        notebook = self.stack.role("NotebookRole")
        jobs = self.stack.role("JobsExecutionRole")
        action_role = self.stack.role("BraketBudget_ActionRole")
        [deny_policy] = self.stack.resources("aws_iam_policy")
        self.deny_policy_arn = self.stack.arn("aws_iam_policy", deny_policy)
        deny = self.stack.managed_policy(self.deny_policy_arn)
        self.callers = {
            "notebook": Caller(notebook.arn, notebook.identity_policies),
            # The kill switch fired: AWS Budgets attached the deny policy to the notebook role.
            "notebook+kill-switch": Caller(notebook.arn, [*notebook.identity_policies, deny]),
            # A hybrid job's container calls AWS as the jobs execution role.
            "jobs": Caller(jobs.arn, jobs.identity_policies),
            # The kill switch fired: AWS Budgets attached the deny policy to the jobs role too.
            "jobs+kill-switch": Caller(jobs.arn, [*jobs.identity_policies, deny]),
            "budget-action-role": Caller(action_role.arn, action_role.identity_policies),
            "braket-service-linked-role": Caller(BRAKET_SERVICE_LINKED_ROLE, [BRAKET_SERVICE_ROLE_POLICY]),
            "outsider": Caller(f"arn:{PARTITION}:iam::{OUTSIDER_ACCOUNT}:role/Administrator", [ADMINISTRATOR]),
            "budgets.amazonaws.com": Caller("budgets.amazonaws.com"),
            "sns.amazonaws.com": Caller("sns.amazonaws.com"),
            "sagemaker.amazonaws.com": Caller("sagemaker.amazonaws.com"),
            "braket.amazonaws.com": Caller("braket.amazonaws.com"),
            "events.amazonaws.com": Caller("events.amazonaws.com"),
        }

    def decide(self, who: str, action: str, resource: str, context: Mapping[str, object] = ()):
        """The evaluator's result for ``who`` calling ``action`` on ``resource`` over TLS."""
        caller = self.callers[who]
        request = Request(caller.principal, action, resource, self._context(caller, action, resource, context))
        service = action.split(":")[0].lower()
        resource_policy = self._resource_policy(service, resource)
        return evaluate(
            request,
            caller.identity_policies,
            resource_policy,
            resource_account=_account_of(resource) or ACCOUNT,
            key_policy=service == "kms",
        )

    def _resource_policy(self, service: str, resource: str) -> dict | None:
        if service == "s3":
            bucket = resource.split(":::")[1].split("/")[0]
            return self.stack.resource_policy("aws_s3_bucket_policy", f"arn:{PARTITION}:s3:::{bucket}")
        if service == "kms":
            return self.stack.resource_policy("aws_kms_key", resource)
        if service == "sns":
            return self.stack.resource_policy("aws_sns_topic_policy", resource)
        if service == "sts":  # AssumeRole: the role's trust policy is its resource policy
            trust = next((r.trust for r in self.roles.values() if r.arn == resource), None)
            return trust and _with_resource(trust, resource)
        if service == "ecr" and _account_of(resource) in braket_image_registries():
            return braket_image_repository_policy(_account_of(resource))
        return None  # Braket, IAM, SageMaker, CloudWatch and this account's ECR resources here have none

    def _context(self, caller: Caller, action: str, resource: str, given: Mapping[str, object]) -> dict:
        """Global keys AWS adds to every request (IAM "AWS global condition context keys"), then ``given``."""
        context: dict[str, object] = {"aws:SecureTransport": True}
        if caller.principal.startswith("arn:"):
            account = caller.principal.split(":")[4]
            context.update({"aws:PrincipalArn": caller.principal, "aws:PrincipalAccount": account})
            if action.lower().startswith("kms:"):
                context["kms:CallerAccount"] = account
        resource_account = resource.split(":")[4] if resource.count(":") >= 5 else ""
        if resource.startswith(f"arn:{PARTITION}:s3:::"):
            resource_account = ACCOUNT  # every bucket named here lives in the stack's account
        if resource_account:
            context["aws:ResourceAccount"] = resource_account
        context.update(given)
        return context


def _account_of(resource: str) -> str:
    """The account an ARN names ("" for "*", S3 ARNs and ARNs without one)."""
    parts = resource.split(":")
    return parts[4] if len(parts) >= 6 and parts[4].isdigit() and len(parts[4]) == 12 else ""


def _with_resource(trust: dict, role_arn: str) -> dict:
    """A trust policy names no Resource (IAM: "the role itself"); make that explicit for the evaluator."""
    statements = trust["Statement"] if isinstance(trust["Statement"], list) else [trust["Statement"]]
    return {**trust, "Statement": [{"Resource": role_arn, **s} for s in statements]}
