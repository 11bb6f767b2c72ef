"""Every AWS API that the notebook, the ``jobs`` package and the auto-stop call, and the VPC endpoint
that carries each in a private network: the one list the network's endpoints derive from.

tests/test_reachability.py holds this list to the code that makes the calls (every call ``jobs``
makes to the test services, recorded in its process; the lifecycle scripts' ``aws`` commands and
pip; the auto-stop's boto3 client and its ``aws`` CLI fallback; the Braket SDK's source for what
researchers' notebook code calls through it) and to the endpoints a private stack synthesizes.
"""

from __future__ import annotations

from dataclasses import dataclass

# Who makes the calls (``ApiCalls.made_by``), which decides what the tests check them against.
JOBS = "jobs"
"""``python -m jobs`` (the Braket SDK and boto3, in its process): recorded against the test services."""
AUTOSTOP = "autostop"
"""The notebook's idle auto-stop (``scripts/autostop.py``): its boto3 calls and its ``aws`` CLI fallback."""
LIFECYCLE = "lifecycle"
"""The notebook's lifecycle scripts (``scripts/on_create.sh``, ``on_start.sh``): ``aws`` commands and pip."""
SAGEMAKER = "sagemaker"
"""SageMaker's own agent on the notebook instance, as the notebook's role: documented, not our code."""
NOTEBOOK_CODE = "notebook code"
"""Researchers: their notebook code (through the Braket SDK, whose source is checked, or boto3), the
console or ``aws`` CLI on the premises, their browsers. Not enumerable: each call says why it is here."""
MADE_BY = (JOBS, AUTOSTOP, LIFECYCLE, SAGEMAKER, NOTEBOOK_CODE)

# Operations whose IAM action has another name (Service Authorization Reference, Amazon S3:
# HeadObject is authorized as s3:GetObject, ListObjectsV2 as s3:ListBucket).
_IAM_ACTIONS = {("s3", "HeadObject"): "s3:GetObject", ("s3", "ListObjectsV2"): "s3:ListBucket"}


@dataclass(frozen=True)
class ApiCalls:
    """Calls one caller makes to one AWS service.

    :param endpoint: the VPC endpoint's short name (``com.amazonaws.<region>.<endpoint>``).
    :param signing_name: the service name in the requests' SigV4 credential scope
        (and the ``aws`` CLI's command); None for the notebook UI, which a browser reaches.
    :param caller: who makes the calls.
    :param operations: the API operations, as the service names them.
    :param authorizes: IAM actions AWS also authorizes for these calls, which are not calls
        themselves (``braket:TagResource`` for a task created with tags).
    :param service: the IAM service prefix of the actions; default ``signing_name``.
    :param made_by: one of ``MADE_BY``: who makes the calls, and so what the tests hold them to.

    A private network's endpoint policy allows exactly the actions of the calls it carries
    (``actions``), so a call missing here is refused there.
    """

    endpoint: str
    signing_name: str | None
    caller: str
    operations: tuple[str, ...]
    authorizes: tuple[str, ...] = ()
    service: str | None = None
    made_by: str = NOTEBOOK_CODE

    @property
    def actions(self) -> tuple[str, ...]:
        """The IAM actions of the calls: ``service:Operation``, then ``authorizes``."""
        service = self.service or self.signing_name
        return (
            *(_IAM_ACTIONS.get((service, operation), f"{service}:{operation}") for operation in self.operations),
            *self.authorizes,
        )


PRIVATE_API_CALLS: tuple[ApiCalls, ...] = (
    ApiCalls(
        "braket",
        "braket",
        "jobs (the Braket SDK and boto3): tasks, hybrid jobs, device status, spending limits",
        (
            "CancelJob",
            "CancelQuantumTask",
            "CreateJob",
            "CreateQuantumTask",
            "GetDevice",
            "GetJob",
            "GetQuantumTask",
            "SearchSpendingLimits",
        ),
        # Braket authorizes the tags of CreateQuantumTask and CreateJob as braket:TagResource.
        authorizes=("braket:TagResource",),
        made_by=JOBS,
    ),
    ApiCalls(
        "s3",
        "s3",
        "jobs (the Braket SDK): task results, hybrid job sources and outputs",
        ("GetObject", "PutObject"),
        made_by=JOBS,
    ),
    ApiCalls(
        "sts",
        "sts",
        "researchers' notebook code: the Braket SDK's AwsSession.account_id (its default bucket's name)",
        ("GetCallerIdentity",),
    ),
    ApiCalls(
        "logs", "logs", "jobs hybrid (a job's CloudWatch logs)", ("DescribeLogStreams", "GetLogEvents"), made_by=JOBS
    ),
    # SageMaker API Reference, CreateNotebookInstanceLifecycleConfig: the scripts' output goes to
    # the log group /aws/sagemaker/NotebookInstances, stream <notebook>/<hook>; the notebook role
    # allows these three there.
    ApiCalls(
        "logs",
        "logs",
        "SageMaker on the notebook instance: the lifecycle scripts' output",
        ("CreateLogGroup", "CreateLogStream", "PutLogEvents"),
        made_by=SAGEMAKER,
    ),
    ApiCalls(
        "sagemaker.api",
        "sagemaker",
        "the idle auto-stop (autostop.py, boto3 or the aws CLI)",
        ("StopNotebookInstance",),
        made_by=AUTOSTOP,
    ),
    ApiCalls(
        "sagemaker.api",
        "sagemaker",
        "a researcher opening the notebook from the premises (the console or the aws CLI)",
        ("CreatePresignedNotebookInstanceUrl", "DescribeNotebookInstance"),
    ),
    ApiCalls(
        "kms",
        "kms",
        "researchers' own code only (client-side encryption): S3 decrypts the stack's objects itself",
        ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey"),
    ),
    # SageMaker Developer Guide, "Connect to a Notebook Instance Through a VPC Interface Endpoint":
    # its endpoint policy example allows sagemaker:CreatePresignedNotebookInstanceUrl.
    ApiCalls(
        "notebook",
        None,
        "researchers' browsers: the Jupyter UI of the notebook instance",
        ("CreatePresignedNotebookInstanceUrl",),
        service="sagemaker",
    ),
    ApiCalls(
        "braket",
        "braket",
        "researchers' notebook code: the Braket SDK's device search and a hybrid job's task search, "
        "and SearchJobs (boto3; the notebook role may)",
        ("SearchDevices", "SearchJobs", "SearchQuantumTasks"),
    ),
    ApiCalls(
        "s3",
        "s3",
        "researchers' notebook code: the Braket SDK's AwsSession.list_keys and download_file (s3transfer heads first)",
        ("HeadObject", "ListObjectsV2"),
    ),
)
"""What every private network needs (``DEFAULT_INTERFACE_ENDPOINTS`` plus the S3 gateway)."""

PACKAGE_MIRROR_API_CALLS: tuple[ApiCalls, ...] = (
    ApiCalls(
        "codeartifact.api",
        "codeartifact",
        "the on-create script (a package mirror): token and pip endpoint",
        ("GetAuthorizationToken", "GetRepositoryEndpoint"),
        # CodeArtifact User Guide, "Create a VPC endpoint policy for CodeArtifact": the token is an
        # STS service bearer token, authorized through this endpoint as sts:GetServiceBearerToken.
        authorizes=("sts:GetServiceBearerToken",),
        made_by=LIFECYCLE,
    ),
    ApiCalls(
        "codeartifact.repositories",
        "codeartifact",
        "pip in the on-create script (a package mirror)",
        ("ReadFromRepository",),
        made_by=LIFECYCLE,
    ),
)
"""What a private network with a CodeArtifact package mirror needs in addition (pip needs no S3 for
Python packages: CodeArtifact User Guide, "Create the Amazon S3 gateway endpoint")."""


def endpoints_for(calls: tuple[ApiCalls, ...]) -> tuple[str, ...]:
    """The endpoint short names ``calls`` need, in order, without repeats."""
    return tuple(dict.fromkeys(call.endpoint for call in calls))


def endpoint_actions(endpoint: str) -> tuple[str, ...]:
    """Every IAM action of the calls ``endpoint`` carries (empty for an endpoint not listed)."""
    calls = (c for c in (*PRIVATE_API_CALLS, *PACKAGE_MIRROR_API_CALLS) if c.endpoint == endpoint)
    return tuple(sorted({action for call in calls for action in call.actions}))
