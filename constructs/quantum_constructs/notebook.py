"""QuantumDevNotebook: the SageMaker notebook instance researchers use as their IDE."""

from __future__ import annotations

import base64
import gzip
import json
import re
from importlib import resources
from typing import Optional, Sequence, Union

from .aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from .aws.sagemaker_notebook_instance import (
    SagemakerNotebookInstance,
    SagemakerNotebookInstanceInstanceMetadataServiceConfiguration,
)
from .aws.sagemaker_notebook_instance_lifecycle_configuration import (
    SagemakerNotebookInstanceLifecycleConfiguration,
)
from .cdk import TerraformProvider, TerraformStack
from constructs import Construct

from ._scope import apply_provider, check_provider, path_sid
from ._validation import is_whole, require, require_optional_text, require_texts
from .bucket import QuantumResultsBucket
from .jobs_role import BraketJobsExecutionRole
from .package_mirror import QuantumPackageMirror
from .role import BraketNotebookRole, ExistingNotebookRole

BRAKET_NOTEBOOK_PREFIX = "amazon-braket-"
DEFAULT_BRAKET_SDK_VERSION = "1.127.5"
# SageMaker's name rule for notebook instances and lifecycle configurations.
_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

# Quoted into a shell script: letters, digits and URL punctuation only (no quotes, '$', spaces or backticks).
_INDEX_URL = re.compile(r"^https?://[A-Za-z0-9._~:/@%+=-]+$")
_LIFECYCLE_SCRIPT_LIMIT = 16384  # characters of each base64-encoded lifecycle script

# Instance types SageMaker accepts for notebook instances (CreateNotebookInstance's InstanceType enum).
_SIZES = {
    "t2": ("medium", "large", "xlarge", "2xlarge"),
    "t3": ("medium", "large", "xlarge", "2xlarge"),
    "m4": ("xlarge", "2xlarge", "4xlarge", "10xlarge", "16xlarge"),
    "m5": ("xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"),
    "m5d": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
    "m6i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "m7i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "c4": ("xlarge", "2xlarge", "4xlarge", "8xlarge"),
    "c5": ("xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
    "c5d": ("xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge"),
    "c6i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "c7i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "r5": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"),
    "r6i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"),
    "r7i": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "p2": ("xlarge", "8xlarge", "16xlarge"),
    "p3": ("2xlarge", "8xlarge", "16xlarge"),
    "p3dn": ("24xlarge",),
    "p4d": ("24xlarge",),
    "p5": ("48xlarge",),
    "g4dn": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"),
    "g5": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "g6": ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"),
    "inf1": ("xlarge", "2xlarge", "6xlarge", "24xlarge"),
    "trn1": ("2xlarge", "32xlarge"),
}
NOTEBOOK_INSTANCE_TYPES = frozenset(f"ml.{family}.{size}" for family, sizes in _SIZES.items() for size in sizes)


def _script(name: str) -> str:
    return resources.files(__package__).joinpath("scripts", name).read_text(encoding="utf-8")


class QuantumDevNotebook(Construct):
    """A SageMaker notebook instance for building and submitting Braket circuits.

    - Named ``amazon-braket-...`` so it appears in the Braket console.
    - Root access disabled; IMDSv2 only; the EBS volume encrypted with
      ``kms_key_arn`` (default: the results bucket's key, if it has one).
    - Without ``subnet_id`` it uses SageMaker's managed network; with one, direct
      internet access is disabled by default (traffic goes through your VPC).
    - A lifecycle configuration that installs a pinned Braket SDK into the
      ``python3`` kernel (from PyPI, ``pip_index_url`` or ``package_mirror``), writes the stack outputs to
      ``~/SageMaker/.quantum/stack-outputs.json`` and stops the instance after
      ``idle_stop_minutes`` without kernel activity.

    Attributes: ``notebook_name``, ``notebook_arn``; the resources ``notebook``
    (``SagemakerNotebookInstance``) and ``lifecycle`` (its lifecycle configuration).

    :param notebook_name: must start with ``amazon-braket-``.
    :param role: the ``BraketNotebookRole`` (or ``ExistingNotebookRole``) the instance runs as.
    :param results_bucket: where results land; granted to ``role`` read/write.
    :param jobs_role: a ``BraketJobsExecutionRole`` the notebook may run hybrid jobs as:
        ``role`` may pass it to Braket and read and write the jobs prefix
        (``jobs_role.grant_pass_role``), and the stack outputs file gains ``jobs_role_arn`` and
        ``jobs_prefix``. Default: None.
    :param instance_type: default ``ml.t3.medium``.
    :param volume_size_gb: default 10 (5-16384).
    :param kms_key_arn: default the results bucket's key (None with SSE-S3: AWS-managed).
    :param subnet_id: default None (SageMaker's network).
    :param security_group_ids: required with ``subnet_id``; default none.
    :param direct_internet_access: default True without a subnet, False with one.
    :param idle_stop_minutes: default 60; 0 disables auto-stop.
    :param braket_sdk_version: the amazon-braket-sdk installed into the ``python3`` kernel;
        default the version this library is tested with; None skips the install: nothing is
        installed and the kernel has the platform image's amazon-braket-sdk, if the image has
        one (the on-create log says so). For a notebook without internet access and without
        ``pip_index_url`` or ``package_mirror``, pass None. A failed install leaves
        ``~/SageMaker/.quantum/INSTALL-FAILED`` (one line: what failed) next to ``install.log``;
        the instance still starts.
    :param pip_index_url: the package index to install from, e.g. an internal mirror
        (``https://pypi.internal.example/simple``) for a notebook without internet access.
        Default: None (pip's own configuration, PyPI). Not together with ``package_mirror``.
    :param package_mirror: a ``QuantumPackageMirror`` (CodeArtifact) to install from, for a
        notebook without internet access: ``role`` may read it (``package_mirror.grant_read``,
        also when ``braket_sdk_version`` is None, so researchers can ``aws codeartifact login
        --tool pip`` themselves), and the on-create script gets a CodeArtifact token (1 hour) and
        the repository's pip endpoint in the instance's region and installs from it. The token is
        never written to a file or a log. The mirror must be in the notebook's region (and its
        VPC needs the mirror's ``INTERFACE_ENDPOINTS``). Default: None. Not together with
        ``pip_index_url``.
    :param platform_identifier: default ``notebook-al2023-v1``.
    :param provider: the AWS provider of every resource of this notebook (e.g. an aliased
        one for another region). Default: the stack's default provider.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        notebook_name: str,
        role: Union[BraketNotebookRole, ExistingNotebookRole],
        results_bucket: QuantumResultsBucket,
        jobs_role: Optional[BraketJobsExecutionRole] = None,
        instance_type: str = "ml.t3.medium",
        volume_size_gb: int = 10,
        kms_key_arn: Optional[str] = None,
        subnet_id: Optional[str] = None,
        security_group_ids: Sequence[str] = (),
        direct_internet_access: Optional[bool] = None,
        idle_stop_minutes: int = 60,
        braket_sdk_version: Optional[str] = DEFAULT_BRAKET_SDK_VERSION,
        pip_index_url: Optional[str] = None,
        package_mirror: Optional[QuantumPackageMirror] = None,
        platform_identifier: str = "notebook-al2023-v1",
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        require(
            isinstance(role, (BraketNotebookRole, ExistingNotebookRole)),
            "role",
            role,
            "a BraketNotebookRole or an ExistingNotebookRole (the construct, not an ARN)",
        )
        require(
            isinstance(results_bucket, QuantumResultsBucket),
            "results_bucket",
            results_bucket,
            "a QuantumResultsBucket (the construct, not a bucket name)",
        )
        require(
            jobs_role is None or isinstance(jobs_role, BraketJobsExecutionRole),
            "jobs_role",
            jobs_role,
            "None or a BraketJobsExecutionRole (the construct, not an ARN)",
        )
        require(
            isinstance(notebook_name, str)
            and notebook_name.startswith(BRAKET_NOTEBOOK_PREFIX)
            and bool(_SAGEMAKER_NAME.match(notebook_name)),
            "notebook_name",
            notebook_name,
            f"a name starting with '{BRAKET_NOTEBOOK_PREFIX}' (so Braket's console lists it), "
            "up to 63 letters, digits and '-'",
        )
        require(
            instance_type in NOTEBOOK_INSTANCE_TYPES,
            "instance_type",
            instance_type,
            "a SageMaker notebook instance type such as 'ml.t3.medium' or 'ml.m5.xlarge'",
        )
        require(
            is_whole(volume_size_gb) and 5 <= volume_size_gb <= 16384,
            "volume_size_gb",
            volume_size_gb,
            "an integer from 5 to 16384",
        )
        require(
            is_whole(idle_stop_minutes) and 0 <= idle_stop_minutes <= 24 * 60,
            "idle_stop_minutes",
            idle_stop_minutes,
            "0 (never stop) or 1-1440 minutes",
        )
        require(
            braket_sdk_version is None
            or (isinstance(braket_sdk_version, str) and bool(re.fullmatch(r"\d+\.\d+\.\d+", braket_sdk_version))),
            "braket_sdk_version",
            braket_sdk_version,
            "an exact version such as '1.127.5', or None to skip the install",
        )
        require(
            pip_index_url is None or (isinstance(pip_index_url, str) and bool(_INDEX_URL.match(pip_index_url))),
            "pip_index_url",
            pip_index_url,
            "None or an http(s) URL of a package index, e.g. 'https://pypi.internal.example/simple'",
        )
        require(
            package_mirror is None or isinstance(package_mirror, QuantumPackageMirror),
            "package_mirror",
            package_mirror,
            "None or a QuantumPackageMirror (the construct, not a domain name)",
        )
        require(
            package_mirror is None or pip_index_url is None,
            "package_mirror",
            package_mirror,
            f"None when pip_index_url is given (pip_index_url={pip_index_url!r}): one package source, "
            "a CodeArtifact mirror or an index URL, not both",
        )
        if package_mirror is not None:
            _require_same_region(self, package_mirror, provider)
        require_optional_text("subnet_id", subnet_id, "None or a subnet id such as 'subnet-0abc'")
        require_optional_text("kms_key_arn", kms_key_arn, "None or a KMS key ARN")
        require_texts("security_group_ids", security_group_ids, "a list of security group ids, e.g. ['sg-0abc']")
        require(
            direct_internet_access is None or isinstance(direct_internet_access, bool),
            "direct_internet_access",
            direct_internet_access,
            "None (the default for the network), True or False",
        )
        require(
            isinstance(platform_identifier, str) and bool(platform_identifier),
            "platform_identifier",
            platform_identifier,
            "a SageMaker notebook platform such as 'notebook-al2023-v1'",
        )
        require(
            subnet_id is not None or not security_group_ids,
            "security_group_ids",
            list(security_group_ids),
            "security groups only together with subnet_id",
        )
        require(
            subnet_id is not None or direct_internet_access is not False,
            "direct_internet_access",
            direct_internet_access,
            "False only with subnet_id (without a VPC the notebook needs SageMaker's internet access)",
        )
        if direct_internet_access is None:
            direct_internet_access = subnet_id is None

        self._notebook_name = notebook_name
        results_bucket.grant_read_write(role)
        # Literal values only, so the scripts are encoded here, byte-stable, and
        # never parsed as Terraform templates; on_start fills in the region, the
        # account and the partition from the instance's own metadata.
        stack_outputs = {
            "results_bucket_name": results_bucket.literal_bucket_name,
            "results_prefix": results_bucket.results_prefix,
            "region": "__RUNTIME_REGION__",
            "allowed_devices": list(role.allowed_device_arns),
            "notebook_name": notebook_name,
        }
        if jobs_role is not None:
            stack_outputs["jobs_prefix"] = jobs_role.jobs_prefix
            stack_outputs["jobs_role_arn"] = (
                f"arn:__RUNTIME_PARTITION__:iam::__RUNTIME_ACCOUNT__:role{jobs_role.role_path}{jobs_role.literal_role_name}"
            )
        on_create = (
            _script("on_create.sh")
            .replace("__BRAKET_SDK_VERSION__", braket_sdk_version or "")
            .replace("__PIP_INDEX_URL__", pip_index_url or "")
            # Literal names (QuantumPackageMirror validates them), never Terraform references.
            .replace("__CODEARTIFACT_DOMAIN__", package_mirror.domain_name if package_mirror else "")
            .replace("__CODEARTIFACT_REPOSITORY__", package_mirror.repository_name if package_mirror else "")
        )
        on_start = (
            _script("on_start.sh")
            .replace("__QUANTUM_CONFIG_JSON__", json.dumps(stack_outputs, sort_keys=True))
            .replace("__IDLE_STOP_MINUTES__", str(idle_stop_minutes))
            # gzip keeps the script under SageMaker's 16 KiB; mtime=0 keeps synthesis byte-stable.
            .replace(
                "__AUTOSTOP_PY_GZIP_BASE64__",
                base64.b64encode(gzip.compress(_script("autostop.py").encode(), mtime=0)).decode(),
            )
        )
        on_create_b64, on_start_b64 = (base64.b64encode(s.encode()).decode() for s in (on_create, on_start))
        require(
            len(on_start_b64) <= _LIFECYCLE_SCRIPT_LIMIT,
            "role.allowed_device_arns",
            f"{len(role.allowed_device_arns)} devices",
            f"few enough devices for the on-start script to fit SageMaker's {_LIFECYCLE_SCRIPT_LIMIT} characters",
        )
        self.lifecycle = SagemakerNotebookInstanceLifecycleConfiguration(
            self,
            "Lifecycle",
            name=f"{notebook_name}-lifecycle"[:63].rstrip("-"),
            on_create=on_create_b64,
            on_start=on_start_b64,
        )
        self.notebook = SagemakerNotebookInstance(
            self,
            "Notebook",
            name=notebook_name,
            role_arn=role.role_arn,
            instance_type=instance_type,
            volume_size=volume_size_gb,
            kms_key_id=kms_key_arn or results_bucket.kms_key_arn,
            root_access="Disabled",
            direct_internet_access="Enabled" if direct_internet_access else "Disabled",
            subnet_id=subnet_id,
            security_groups=list(security_group_ids) or None,
            platform_identifier=platform_identifier,
            lifecycle_config_name=self.lifecycle.name,
            instance_metadata_service_configuration=SagemakerNotebookInstanceInstanceMetadataServiceConfiguration(
                minimum_instance_metadata_service_version="2"
            ),
        )
        if idle_stop_minutes:
            self._grant_self_stop(role)
        if jobs_role is not None:
            jobs_role.grant_pass_role(role)
        if package_mirror is not None:
            package_mirror.grant_read(role)
        apply_provider(self, provider)

    @property
    def notebook_name(self) -> str:
        """The notebook instance's name (a Terraform reference)."""
        return self.notebook.name

    @property
    def notebook_arn(self) -> str:
        """The notebook instance's ARN (a Terraform reference)."""
        return self.notebook.arn

    def _grant_self_stop(self, role: Union[BraketNotebookRole, ExistingNotebookRole]) -> None:
        # The idle auto-stop runs on the instance with the notebook's own role.
        role.add_to_policy(
            DataAwsIamPolicyDocumentStatement(
                sid=f"Stop{path_sid(self)}WhenIdle",
                actions=["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"],
                resources=[self.notebook.arn],
            )
        )


def _is_aws(provider: object) -> bool:
    return isinstance(provider, TerraformProvider) and provider.terraform_resource_type == "aws"


def _literal_region(scope: Construct, provider: Optional[TerraformProvider]) -> Optional[str]:
    """The region of ``provider`` (None: the stack's default AWS provider) if it is a plain string, else None."""
    if provider is None:
        defaults = [c for c in TerraformStack.of(scope).node.children if _is_aws(c) and c.alias is None]
        provider = defaults[0] if len(defaults) == 1 else None
    region = getattr(provider, "region", None) if _is_aws(provider) else None
    return region if isinstance(region, str) and region and "${" not in region else None


def _require_same_region(notebook: Construct, mirror: QuantumPackageMirror, provider: Optional[TerraformProvider]) -> None:
    """The on-create script asks CodeArtifact in the instance's region, through VPC endpoints of that region:
    refuse a mirror whose provider has another region (when both regions are plain strings)."""
    if mirror.domain.provider is provider:
        return
    ours, theirs = _literal_region(notebook, provider), _literal_region(mirror, mirror.domain.provider)
    require(
        ours is None or theirs is None or ours == theirs,
        "package_mirror",
        mirror,
        f"a QuantumPackageMirror in the notebook's region ({ours}), not in {theirs}: the on-create "
        "script and the VPC endpoints reach CodeArtifact in the instance's own region",
    )
