"""BraketNotebookRole: the least-privilege IAM role a Braket notebook runs as."""

from __future__ import annotations

import re
from typing import Optional, Sequence

from .cdk import TerraformProvider
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.data_aws_region import DataAwsRegion
from .aws.iam_role import IamRole
from .aws.iam_role_policy import IamRolePolicy
from .aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from ._policy import PolicyStatements
from ._scope import apply_provider, check_provider, path_name
from ._validation import require, require_bool

# Braket's managed PassRole statements expect notebook roles under this path and name.
NOTEBOOK_ROLE_PATH = "/service-role/"
NOTEBOOK_ROLE_NAME_PREFIX = "AmazonBraketServiceSageMakerNotebookRole"
_CREATE_ACTIONS = ["braket:CreateQuantumTask", "braket:CreateJob"]
_IAM_NAME_LIMIT = 64
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/(?:[A-Za-z0-9+=,.@_/-]*/)?(?P<name>[A-Za-z0-9+=,.@_-]{1,64})$")
_POLICY_ARN = re.compile(r"^(arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+|\$\{[^}]+\})$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
# arn:aws:braket:<region or empty>::device/<qpu|quantum-simulator>/<provider>/<device>, as the SDK writes it
DEVICE_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):braket:(?P<region>[a-z0-9-]*)::"
    r"(?P<device>device/(qpu|quantum-simulator)/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+)$"
)


def device_policy_arn(device_arn: str) -> str:
    """The form of a device ARN that matches in an IAM policy; the only place one is built.

    The SDK writes device ARNs without an account (``arn:aws:braket:::device/...``), but
    the ARN IAM evaluates carries the caller's account (an AccessDenied in the SDK's
    tracker, amazon-braket-sdk-python#395, reads ``arn:aws:braket::178363055402:device/
    qpu/ionq/ionQdevice``), and Braket's guide writes device policies as
    ``arn:aws:braket:<region>:*:device/...``. So the account becomes ``*``, and so does the
    region of region-less devices (simulators), which IAM may see with or without one;
    regional QPUs keep their region.
    """
    match = DEVICE_ARN.match(device_arn) if isinstance(device_arn, str) else None
    require(match is not None, "device_arn", device_arn, "a Braket device ARN like 'arn:aws:braket:<region>::device/qpu/<provider>/<device>'")
    return _device_policy_form(match["partition"], match["region"], match["device"])


def _device_policy_form(partition: str, region: str, device: str) -> str:
    return f"arn:{partition}:braket:{region or '*'}:*:{device}"


SPENDING_LIMIT_CHANGES = ["braket:CreateSpendingLimit", "braket:UpdateSpendingLimit", "braket:DeleteSpendingLimit"]


def spending_limit_statements() -> list[DataAwsIamPolicyDocumentStatement]:
    """Read the account's Braket spending limits, never change them.

    ``braket:SearchSpendingLimits`` lets ``python -m jobs estimate|run`` show what a QPU has
    left; the Service Authorization Reference (Amazon Braket) lists no resource type for it, so
    ``"*"``. Creating, updating and deleting a limit is denied explicitly: a role that may spend
    must never raise its own cap, even with ``AmazonBraketFullAccess`` (``braket:*``) attached.
    """
    return [
        DataAwsIamPolicyDocumentStatement(
            sid="ReadSpendingLimits", actions=["braket:SearchSpendingLimits"], resources=["*"]
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="DenySpendingLimitChanges", effect="Deny", actions=SPENDING_LIMIT_CHANGES, resources=["*"]
        ),
    ]


def task_statements(allowed_device_policy_arns, own_tasks: str) -> list[DataAwsIamPolicyDocumentStatement]:
    """Create quantum tasks on ``allowed_device_policy_arns`` only (and this account's own tasks,
    ``own_tasks``: IAM's reference names quantum-task as the resource type, Braket's guide writes
    device ARNs, so both are allowed), an explicit Deny on every other device; get, cancel and tag
    the role's own tasks; describe the allowed devices. What a role that creates tasks but no jobs
    (the jobs execution role, the gateway's) is given."""
    create = [*allowed_device_policy_arns, own_tasks]
    return [
        DataAwsIamPolicyDocumentStatement(
            sid="CreateTasksOnAllowedDevices", actions=["braket:CreateQuantumTask"], resources=create
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="DenyCreateTasksOnOtherDevices",
            effect="Deny",
            actions=["braket:CreateQuantumTask"],
            not_resources=create,
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="ManageOwnTasks",
            actions=["braket:GetQuantumTask", "braket:CancelQuantumTask", "braket:TagResource"],
            resources=[own_tasks],
        ),
        DataAwsIamPolicyDocumentStatement(
            sid="DescribeAllowedDevices", actions=["braket:GetDevice"], resources=list(allowed_device_policy_arns)
        ),
    ]


def check_permissions_boundary(permissions_boundary: object) -> None:
    """``ValueError`` unless ``permissions_boundary`` is None or a managed policy ARN (or a reference to one)."""
    require(
        permissions_boundary is None
        or (isinstance(permissions_boundary, str) and bool(_POLICY_ARN.match(permissions_boundary))),
        "permissions_boundary",
        permissions_boundary,
        "None or a managed policy ARN such as 'arn:aws:iam::123456789012:policy/QuantumBoundary'",
    )


def service_role_name(scope: Construct, role_name: object, prefix: str) -> str:
    """``role_name``, or by default ``<prefix>-<construct path>`` cut to IAM's 64 characters; it must start with ``prefix``."""
    require(role_name is None or isinstance(role_name, str), "role_name", role_name, "None or an IAM role name")
    name = role_name or path_name(prefix, scope, _IAM_NAME_LIMIT)
    require(
        name.startswith(prefix) and bool(_ROLE_NAME.match(name)),
        "role_name",
        name,
        f"an IAM role name (1-64 of A-Za-z0-9+=,.@_-) starting with '{prefix}'",
    )
    return name


class PolicyRoleBase(Construct):
    """A role that owns one policy grants append to, and the devices it may spend money on.

    Subclasses write their least privilege in ``_least_privilege``; grants
    (``QuantumResultsBucket.grant_read_write``, ``BraketJobsExecutionRole.grant_pass_role``,
    ``add_to_policy``) append to the same document.
    """

    role_arn: str
    role_name: str

    def _allow_devices(self, allowed_device_arns: Sequence[str]) -> None:
        require(
            isinstance(allowed_device_arns, (list, tuple)) and bool(allowed_device_arns),
            "allowed_device_arns",
            allowed_device_arns,
            "a non-empty list of Braket device ARNs, e.g. ['arn:aws:braket:::device/quantum-simulator/amazon/sv1']",
        )
        for arn in allowed_device_arns:
            require(
                isinstance(arn, str) and bool(DEVICE_ARN.match(arn)),
                "allowed_device_arns",
                arn,
                "Braket device ARNs like 'arn:aws:braket:<region>::device/qpu/<provider>/<device>'",
            )
        self.allowed_device_arns: tuple[str, ...] = tuple(sorted(set(allowed_device_arns)))
        """The SDK's ARNs of the devices this role may create tasks (and, for a notebook, jobs) on."""
        self.allowed_device_policy_arns: tuple[str, ...] = tuple(
            sorted({device_policy_arn(arn) for arn in allowed_device_arns})
        )
        """The same devices as IAM policies write them (see ``device_policy_arn``)."""

    def _start_policy(self) -> DataAwsIamPolicyDocument:
        self._partition = DataAwsPartition(self, "PolicyPartition").partition
        self._policy = PolicyStatements(self, "PolicyDocument", self._least_privilege(self._partition))
        return self._policy.document

    def _least_privilege(self, partition: str) -> list[DataAwsIamPolicyDocumentStatement]:
        raise NotImplementedError

    @property
    def policy_json(self) -> str:
        """The role's one policy as JSON (a Terraform reference): least privilege plus every grant."""
        return self._policy.json

    def add_to_policy(self, statement: DataAwsIamPolicyDocumentStatement) -> bool:
        """Append ``statement`` (it must have a ``sid``) to the role's one policy; False if it was there already.

        A statement with the Sid of a different one already in the policy is refused (IAM
        needs unique Sids), so two grants can never silently replace each other.
        """
        return self._policy.add(statement)


class _NotebookRoleBase(PolicyRoleBase):
    """What every role a notebook runs as offers: its device allow-list and one policy that grants append to."""

    may_create: bool = True
    """Whether the role may create tasks and jobs (on its allowed devices); False: an explicit Deny."""

    def _allow_create(self, create_tasks_and_jobs: object) -> None:
        require_bool("create_tasks_and_jobs", create_tasks_and_jobs)
        self.may_create = create_tasks_and_jobs

    def _create_statements(self, own_tasks_and_jobs: list[str]) -> list[DataAwsIamPolicyDocumentStatement]:
        if not self.may_create:
            # Submissions go through a gateway: this role creates nothing, whatever else is attached
            # (an explicit Deny wins over AmazonBraketFullAccess and any later grant).
            return [
                DataAwsIamPolicyDocumentStatement(
                    sid="DenyCreateTasksAndJobs", effect="Deny", actions=_CREATE_ACTIONS, resources=["*"]
                )
            ]
        return [
            # IAM's reference lists quantum-task/job as these actions' resource types, while
            # Braket documents device-ARN policies: allow both, and deny every device not listed.
            DataAwsIamPolicyDocumentStatement(
                sid="CreateOnAllowedDevices",
                actions=_CREATE_ACTIONS,
                resources=[*self.allowed_device_policy_arns, *own_tasks_and_jobs],
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DenyCreateOnOtherDevices",
                effect="Deny",
                actions=_CREATE_ACTIONS,
                not_resources=[*self.allowed_device_policy_arns, *own_tasks_and_jobs],
            ),
        ]

    def _least_privilege(self, partition: str) -> list[DataAwsIamPolicyDocumentStatement]:
        account = DataAwsCallerIdentity(self, "Account").account_id
        region = DataAwsRegion(self, "Region").region
        braket = f"arn:{partition}:braket"
        logs = f"arn:{partition}:logs:{region}:{account}:log-group"
        own_tasks_and_jobs = [f"{braket}:*:{account}:quantum-task/*", f"{braket}:*:{account}:job/*"]
        return [
            *self._create_statements(own_tasks_and_jobs),
            DataAwsIamPolicyDocumentStatement(
                sid="ManageOwnTasksAndJobs",
                actions=[
                    "braket:GetQuantumTask",
                    "braket:CancelQuantumTask",
                    "braket:GetJob",
                    "braket:CancelJob",
                    "braket:ListTagsForResource",
                    "braket:TagResource",
                ],
                resources=own_tasks_and_jobs,
            ),
            DataAwsIamPolicyDocumentStatement(
                sid="DescribeDevices",
                actions=["braket:GetDevice"],
                resources=[_device_policy_form(partition, "", "device/*")],
            ),
            DataAwsIamPolicyDocumentStatement(
                # These list actions support no resource-level permissions.
                sid="SearchTasksJobsDevices",
                actions=["braket:SearchDevices", "braket:SearchQuantumTasks", "braket:SearchJobs"],
                resources=["*"],
            ),
            *spending_limit_statements(),
            DataAwsIamPolicyDocumentStatement(
                sid="NotebookAndJobLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                resources=[
                    f"{logs}:/aws/sagemaker/NotebookInstances:*",
                    f"{logs}:/aws/braket*",
                ],
            ),
        ]


class BraketNotebookRole(_NotebookRoleBase):
    """The IAM role a Braket notebook instance runs as.

    - Trusted by ``sagemaker.amazonaws.com`` only; path ``/service-role/``; name
      starting ``AmazonBraketServiceSageMakerNotebookRole`` (what Braket's managed
      PassRole statements expect).
    - One inline least-privilege policy: create quantum tasks and hybrid jobs only
      on ``allowed_device_arns`` (an explicit Deny covers every other device; with
      ``create_tasks_and_jobs=False``, on none); read, cancel and search tasks and jobs of this
      account; describe devices; read the account's Braket spending limits (an explicit Deny
      keeps it from creating, raising or deleting one); write the notebook's CloudWatch logs. Grants
      (``QuantumResultsBucket.grant_read_write``, a notebook's idle auto-stop,
      ``BraketJobsExecutionRole.grant_pass_role``, ``add_to_policy``) append their statements
      to that same policy: a role shared by several notebooks and buckets has one policy, and
      granting twice changes nothing.

    :param allowed_device_arns: Braket device ARNs this role may spend money on
        (required, non-empty; e.g. ``Devices.Amazon.SV1``).
    :param role_name: default ``AmazonBraketServiceSageMakerNotebookRole-<construct path>``
        (path parts joined by '-', unique in the app; cut to IAM's 64 characters with a
        hash of the whole when longer); must start with the prefix above.
    :param attach_braket_full_access: also attach the AWS managed
        ``AmazonBraketFullAccess`` policy, which allows every device. Default: False.
    :param create_tasks_and_jobs: False when researchers submit through a gateway
        (``QuantumGateway``): the policy then denies ``braket:CreateQuantumTask`` and
        ``braket:CreateJob`` on every resource instead of allowing them on the devices (an
        explicit Deny, which nothing attached later overrides); reading, cancelling and results
        stay. Default: True.
    :param permissions_boundary: ARN of a managed policy that caps what the role may ever
        do (a permissions boundary, as many organizations require). Default: None.
    :param provider: the AWS provider of every resource and data source of this role
        (e.g. an aliased one). Default: the stack's default provider.

    Attributes: ``role_arn``, ``role_name``, ``allowed_device_arns``,
    ``allowed_device_policy_arns``, ``may_create``, ``policy_json``; the resource ``role`` (``IamRole``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        allowed_device_arns: Sequence[str],
        role_name: Optional[str] = None,
        attach_braket_full_access: bool = False,
        create_tasks_and_jobs: bool = True,
        permissions_boundary: Optional[str] = None,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        check_permissions_boundary(permissions_boundary)
        self._allow_devices(allowed_device_arns)
        self._allow_create(create_tasks_and_jobs)
        require_bool("attach_braket_full_access", attach_braket_full_access)
        name = service_role_name(self, role_name, NOTEBOOK_ROLE_NAME_PREFIX)

        trust = DataAwsIamPolicyDocument(
            self,
            "Trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    actions=["sts:AssumeRole"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=["sagemaker.amazonaws.com"]
                        )
                    ],
                )
            ],
        )
        self.role = IamRole(  # the IamRole resource itself, for escape hatches
            self,
            "Role",
            name=name,
            path=NOTEBOOK_ROLE_PATH,
            assume_role_policy=trust.json,
            description="Amazon Braket notebook: create tasks only on the allowed devices",
            # The budget kill switch attaches its deny policy outside Terraform: without this,
            # `terraform destroy` fails with DeleteConflict once the switch has fired.
            force_detach_policies=True,
            permissions_boundary=permissions_boundary,
        )
        IamRolePolicy(self, "Policy", name="braket-least-privilege", role=self.role.name, policy=self._start_policy().json)
        if attach_braket_full_access:
            IamRolePolicyAttachment(
                self,
                "BraketFullAccess",
                role=self.role.name,
                policy_arn=f"arn:{self._partition}:iam::aws:policy/AmazonBraketFullAccess",
            )
        apply_provider(self, provider)

    @property
    def role_arn(self) -> str:
        """The role's ARN (a Terraform reference)."""
        return self.role.arn

    @property
    def role_name(self) -> str:
        """The role's name (a Terraform reference)."""
        return self.role.name


class ExistingNotebookRole(_NotebookRoleBase):
    """A notebook role that exists already (managed centrally), used in place of ``BraketNotebookRole``.

    The role itself is not created or changed. Everything a notebook needs from it (least
    privilege on ``allowed_device_arns``, results bucket grants, the idle auto-stop) is still
    collected in one policy document, ``policy_json``, for whoever manages the role; with
    ``attach_policy=True`` this construct attaches it to the role as one inline policy.

    :param role_arn: the role's ARN, e.g. ``arn:aws:iam::123456789012:role/service-role/AmazonBraketServiceSageMakerNotebookRole-central``.
    :param allowed_device_arns: Braket device ARNs the notebook may spend money on (as for ``BraketNotebookRole``).
    :param attach_policy: attach ``policy_json`` to the role as the inline policy
        ``braket-least-privilege``. Default: False (the role's owners apply it).
    :param create_tasks_and_jobs: as for ``BraketNotebookRole``. Default: True.
    :param provider: the AWS provider of every resource and data source of this construct.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_arn: str,
        allowed_device_arns: Sequence[str],
        attach_policy: bool = False,
        create_tasks_and_jobs: bool = True,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        self._allow_create(create_tasks_and_jobs)
        match = _ROLE_ARN.match(role_arn) if isinstance(role_arn, str) else None
        require(
            match is not None,
            "role_arn",
            role_arn,
            "an IAM role ARN such as 'arn:aws:iam::123456789012:role/service-role/NotebookRole'",
        )
        require_bool("attach_policy", attach_policy)
        self._allow_devices(allowed_device_arns)
        self._role_arn, self._role_name = role_arn, match["name"]
        document = self._start_policy()
        if attach_policy:
            IamRolePolicy(self, "Policy", name="braket-least-privilege", role=self._role_name, policy=document.json)
        apply_provider(self, provider)

    @property
    def role_arn(self) -> str:
        """The existing role's ARN, as given."""
        return self._role_arn

    @property
    def role_name(self) -> str:
        """The existing role's name (the last part of its ARN)."""
        return self._role_name
