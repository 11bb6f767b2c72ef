"""BraketJobsExecutionRole: the least-privilege IAM role Amazon Braket Hybrid Jobs run as."""

from __future__ import annotations

from typing import Optional, Sequence

from .cdk import TerraformProvider
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_region import DataAwsRegion
from .aws.iam_role import IamRole
from .aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from ._policy import service_trust
from ._scope import apply_provider, check_provider, path_sid
from ._validation import require
from .bucket import Grantable, QuantumResultsBucket
from .role import PolicyRoleBase, check_permissions_boundary, service_role_name, spending_limit_statements, task_statements

# The Braket SDK looks for a jobs role under this path and name prefix (AwsSession.get_default_jobs_role)
# and the AWS managed policies let callers pass only such roles (AmazonBraketFullAccess,
# AmazonBraketJobsExecutionPolicy: iam:PassRole on role/service-role/AmazonBraketJobsExecutionRole*).
JOBS_ROLE_PATH = "/service-role/"
JOBS_ROLE_NAME_PREFIX = "AmazonBraketJobsExecutionRole"
BRAKET_SERVICE = "braket.amazonaws.com"
# Where a hybrid job reads and writes in the bucket. The SDK's defaults (AwsQuantumJob.create,
# braket.jobs.quantum_job_creation) put everything under s3://<bucket>/jobs/<job-name>/: the
# source archive (script/), input channels (data/<channel>), outputs (data/), checkpoints
# (checkpoints/); inside a job the SDK sends its tasks' results to
# AMZN_BRAKET_TASK_RESULTS_S3_URI = s3://<bucket>/jobs/<job-name>/tasks
# (braket/jobs/local/local_job_container_setup.py). A different prefix would need every caller to
# override four SDK defaults and the job container's task-results location, which it cannot.
JOBS_PREFIX = "jobs"
# Braket's job images live in AWS-owned registries (braket/jobs/image_uri_config/*.json), in
# repositories named amazon-braket-*: the same scope as AmazonBraketJobsExecutionPolicy.
BRAKET_IMAGE_REPOSITORIES = "repository/amazon-braket*"
METRICS_NAMESPACE = "/aws/braket"
# Where Braket writes a job's logs (the SDK's AwsQuantumJob.logs() reads this group).
JOBS_LOG_GROUP = "/aws/braket/jobs"


class BraketJobsExecutionRole(PolicyRoleBase):
    """The IAM role an Amazon Braket hybrid job runs as, instead of ``AmazonBraketJobsExecutionPolicy``.

    - Trusted by ``braket.amazonaws.com`` only, and only for this account's jobs in this region
      (``aws:SourceAccount`` = the account, ``aws:SourceArn`` like
      ``arn:<partition>:braket:<region>:<account>:job/*``: confused-deputy protection). Path
      ``/service-role/``; name starting ``AmazonBraketJobsExecutionRole`` (where the SDK looks
      for a jobs role, and what the managed policies let callers pass).
    - One inline least-privilege policy: create quantum tasks only on ``allowed_device_arns``
      (an explicit Deny covers every other device; no ``CreateJob``: a job does not start
      jobs); tag, read and cancel this account's tasks, search tasks, describe the allowed
      devices; read the account's spending limits (never change them: explicit Deny); objects
      under ``jobs/`` of ``results_bucket`` only (and its key, through S3 only); the jobs' CloudWatch logs (``/aws/braket*``) and metrics (namespace
      ``/aws/braket``); pull Braket's job images (``amazon-braket*`` repositories). Nothing
      else: no ``iam:PassRole``. ``add_to_policy`` and grants append to the same policy.
    - ``force_detach_policies``: the budget kill switch may attach its deny policy to it.

    Jobs run in the role's region: one whose device is in another region is created there,
    and this role's trust does not cover it (deploy another with a provider for that region).

    :param allowed_device_arns: Braket device ARNs jobs may create tasks on (required,
        non-empty; the SDK's form, e.g. ``Devices.Amazon.SV1``).
    :param results_bucket: the ``QuantumResultsBucket`` jobs read and write, under
        ``jobs/`` only (required: without it the SDK would create its own bucket).
    :param role_name: default ``AmazonBraketJobsExecutionRole-<construct path>`` (unique in the
        app; cut to IAM's 64 characters with a hash when longer); must start with that prefix.
    :param permissions_boundary: ARN of a managed policy capping what the role may ever do.
        Default: None.
    :param provider: the AWS provider of every resource and data source of this role.
        Default: the stack's default provider.

    Attributes: ``role_arn``, ``role_name``, ``literal_role_name``, ``jobs_prefix``,
    ``allowed_device_arns``, ``allowed_device_policy_arns``, ``policy_json``; the resource
    ``role`` (``IamRole``). Grant: ``grant_pass_role(role)``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        allowed_device_arns: Sequence[str],
        results_bucket: QuantumResultsBucket,
        role_name: Optional[str] = None,
        permissions_boundary: Optional[str] = None,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_permissions_boundary(permissions_boundary)
        self._allow_devices(allowed_device_arns)
        require(
            isinstance(results_bucket, QuantumResultsBucket),
            "results_bucket",
            results_bucket,
            "a QuantumResultsBucket (the construct, not a bucket name)",
        )
        self._name = service_role_name(self, role_name, JOBS_ROLE_NAME_PREFIX)
        self._results_bucket = results_bucket

        document = self._start_policy()
        trust = service_trust(
            self,
            "Trust",
            service=BRAKET_SERVICE,
            account=self._account,
            source_arn=f"arn:{self._partition}:braket:{self._region}:{self._account}:job/*",
        )
        self.role = IamRole(  # the IamRole resource itself, for escape hatches
            self,
            "Role",
            name=self._name,
            path=JOBS_ROLE_PATH,
            assume_role_policy=trust.json,
            description="Amazon Braket hybrid jobs: tasks only on the allowed devices, objects only under jobs/",
            # The budget kill switch attaches its deny policy outside Terraform: without this,
            # `terraform destroy` fails with DeleteConflict once the switch has fired.
            force_detach_policies=True,
            permissions_boundary=permissions_boundary,
        )
        # One token for the ARN, so a pass-role statement granted twice compares equal.
        self._role_arn = self.role.arn
        IamRolePolicy(self, "Policy", name="braket-least-privilege", role=self.role.name, policy=document.json)
        results_bucket.grant_read_write(self, prefix=JOBS_PREFIX)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def role_arn(self) -> str:
        """The role's ARN (a Terraform reference): what ``CreateJob``'s ``roleArn`` takes."""
        return self._role_arn

    @property
    def role_name(self) -> str:
        """The role's name (a Terraform reference)."""
        return self.role.name

    @property
    def literal_role_name(self) -> str:
        """The role's name as given or derived (a plain string, never a Terraform reference)."""
        return self._name

    @property
    def role_path(self) -> str:
        """The role's IAM path, ``/service-role/``."""
        return JOBS_ROLE_PATH

    @property
    def jobs_prefix(self) -> str:
        """The key prefix under which jobs read and write in the bucket: ``jobs``."""
        return JOBS_PREFIX

    @property
    def results_bucket(self) -> QuantumResultsBucket:
        """The bucket jobs read and write."""
        return self._results_bucket

    # -- grants -------------------------------------------------------------
    def grant_pass_role(self, role: Grantable) -> bool:
        """Let ``role`` create hybrid jobs that run as this role, and nothing more.

        Appends to ``role``'s one policy: ``iam:PassRole`` on this role only, only to Braket
        (``iam:PassedToService`` = ``braket.amazonaws.com``; the Service Authorization Reference
        lists ``iam:PassRole`` as a dependent action of ``braket:CreateJob``); read, write and
        list under the bucket's jobs prefix (to upload a job's sources and read its outputs);
        and reading the jobs' log streams (``/aws/braket/jobs``, as the SDK's
        ``AwsQuantumJob.logs()`` does). ``CreateJob`` itself stays with ``role``'s own device
        allow-list. Granting twice changes nothing; returns whether anything was added.
        """
        require(
            callable(getattr(role, "add_to_policy", None)),
            "role",
            role,
            "a BraketNotebookRole, an ExistingNotebookRole or another role with add_to_policy(statement)",
        )
        require(role is not self, "role", role, "another role than the jobs role itself (a job does not pass roles)")
        passed = role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"Pass{path_sid(self)}ToBraket",
                actions=["iam:PassRole"],
                resources=[self._role_arn],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="iam:PassedToService", values=[BRAKET_SERVICE]
                    )
                ],
            )
        )
        logs = role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"Read{path_sid(self)}Logs",
                actions=["logs:DescribeLogStreams", "logs:GetLogEvents"],
                resources=[f"arn:{self._partition}:logs:{self._region}:{self._account}:log-group:{JOBS_LOG_GROUP}:*"],
            )
        )
        prefix = self._results_bucket.grant_read_write(role, prefix=JOBS_PREFIX)
        return passed or logs or prefix

    # -- internals ----------------------------------------------------------
    def _least_privilege(self, partition: str) -> list[DataAwsIamPolicyDocumentStatement]:
        self._account = DataAwsCallerIdentity(self, "Account").account_id
        self._region = DataAwsRegion(self, "Region").region
        own_tasks = f"arn:{partition}:braket:*:{self._account}:quantum-task/*"
        return [
            *task_statements(self.allowed_device_policy_arns, own_tasks),
            DataAwsIamPolicyDocumentStatement(
                # SearchQuantumTasks supports no resource-level permission.
                sid="SearchTasks",
                actions=["braket:SearchQuantumTasks"],
                resources=["*"],
            ),
            *spending_limit_statements(),
            DataAwsIamPolicyDocumentStatement(
                sid="JobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[f"arn:{partition}:logs:{self._region}:{self._account}:log-group:/aws/braket*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                # PutMetricData supports no resource-level permission: the namespace is the scope.
                sid="JobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                condition=[
                    DataAwsIamPolicyDocumentStatementCondition(
                        test="StringEquals", variable="cloudwatch:namespace", values=[METRICS_NAMESPACE]
                    )
                ],
            ),
            DataAwsIamPolicyDocumentStatement(
                # GetAuthorizationToken supports no resource-level permission.
                sid="EcrLogin",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="PullBraketJobImages",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[f"arn:{partition}:ecr:*:*:{BRAKET_IMAGE_REPOSITORIES}"],
            ),
        ]


__all__ = ["BraketJobsExecutionRole", "JOBS_PREFIX", "JOBS_ROLE_NAME_PREFIX", "JOBS_ROLE_PATH"]
