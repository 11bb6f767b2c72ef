"""The stack that composes the constructs for one environment."""

from __future__ import annotations

from pathlib import Path

from quantum_constructs.cdk import Annotations, LocalBackend, S3Backend, TerraformOutput, TerraformStack, Token
from quantum_constructs.aws.data_aws_caller_identity import DataAwsCallerIdentity
from quantum_constructs.aws.data_aws_partition import DataAwsPartition
from quantum_constructs.aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct
from quantum_constructs import (
    BraketBudget,
    BraketJobsExecutionRole,
    BraketNotebookRole,
    BraketSpendingLimits,
    BraketStateChangeAlerts,
    BucketEncryption,
    QuantumAuditBucket,
    QuantumDevNotebook,
    QuantumGateway,
    QuantumPackageMirror,
    QuantumPrivateNetwork,
    QuantumResultsBucket,
    SiteToSiteVpn,
    TransitGatewayLink,
    add_guardrails,
    ca_bundle,
)

from quantum_constructs.network import DEFAULT_INTERFACE_ENDPOINTS

from .config import OUTPUT_NAMES, PROJECT, TERRAFORM_REQUIRED_VERSION, EnvironmentConfig

REPOSITORY = Path(__file__).resolve().parents[1]
"""Where configured repository paths (``gateway_ca_certificate``) start."""


class QuantumStack(TerraformStack):
    """Results bucket, notebook and jobs roles, dev notebook, budget, alerts and Braket spending
    limits for one environment; with submission="gateway", the DMZ gateway's role and audit bucket."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name)
        # Warnings (gateway_warnings) without the Node stack trace the kernel's temporary paths are
        # in: the manifest stays byte for byte the same from one synthesis to the next.
        self.node.set_context("@cdktf/disable_stack_trace_in_metadata", True)
        self.config = config
        # S3-native state locking (use_lockfile) needs Terraform 1.10; say so before an obscure error does.
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags=config.default_tags)],
        )
        if config.backend is None:
            # cdktf's implicit local backend embeds the absolute checkout path; this
            # relative one (from cdktf.out/stacks/<env>/) keeps synthesis machine-independent.
            LocalBackend(self, path=f"../../../terraform.{config.name}.tfstate")
        else:
            backend = S3Backend(
                self,
                bucket=config.backend.bucket,
                key=config.backend.state_key(config.name),
                region=config.backend.region,
                encrypt=True,
                kms_key_id=config.backend.kms_key_id,
            )
            # S3-native state locking (Terraform >= 1.10); cdktf 0.21 has no typed prop for it.
            backend.add_override("use_lockfile", True)

        self.results = QuantumResultsBucket(
            self,
            "Results",
            bucket_name=config.results_bucket_name,
            results_prefix=config.results_prefix,
            encryption=BucketEncryption.KMS if config.use_kms else BucketEncryption.S3_MANAGED,
            transition_to_ia_days=config.transition_to_ia_days,
            expire_after_days=config.results_retention_days,
            access_log_bucket=config.access_log_bucket,
            force_destroy=config.force_destroy,
        )
        # With a gateway, researchers submit through it: their notebook role creates nothing.
        self.role = BraketNotebookRole(
            self,
            "NotebookRole",
            allowed_device_arns=config.allowed_devices,
            create_tasks_and_jobs=not config.gateway_submission,
        )
        # Hybrid jobs run as their own role: tasks on the same devices, objects under jobs/ only.
        self.jobs_role = BraketJobsExecutionRole(
            self, "JobsExecutionRole", allowed_device_arns=config.allowed_devices, results_bucket=self.results
        )
        self.network = self.package_mirror = None
        if config.private_network:
            self._private_network(config)
        self.gateway = self.audit = None
        if config.gateway_submission:
            self._gateway(config)
        self.notebook = QuantumDevNotebook(
            self,
            "Notebook",
            notebook_name=config.notebook_name,
            role=self.role,
            results_bucket=self.results,
            # The notebook role may pass the jobs role to Braket and use the jobs prefix
            # (jobs_role.grant_pass_role), and the notebook's stack outputs name the jobs role.
            jobs_role=self.jobs_role,
            instance_type=config.instance_type,
            volume_size_gb=config.volume_size_gb,
            idle_stop_minutes=config.idle_stop_minutes,
            pip_index_url=config.package_index_url,
            **self._notebook_network(config),
        )

        self.budget = BraketBudget(
            self,
            "BraketBudget",
            budget_name=f"{PROJECT}-braket-{config.name}",
            monthly_limit_usd=config.monthly_budget_usd,
            role=self.role,
            # The kill switch stops every role that spends: jobs, and the gateway where there is one.
            additional_roles=[self.jobs_role] + ([self.gateway] if self.gateway else []),
            alert_emails=config.budget_alert_emails,
        )
        # Final states of this account's hybrid jobs and quantum tasks, to the budget's encrypted topic.
        self.alerts = BraketStateChangeAlerts(self, "StateChangeAlerts", budget=self.budget)
        # Service-enforced caps per QPU, if this environment owns the account's limits. The awscc
        # provider has no default tags: the stack's tags are passed explicitly.
        self.spending_limits = None
        if config.spending_limits_usd is not None and config.qpu_devices:
            self.spending_limits = BraketSpendingLimits(
                self,
                "SpendingLimits",
                allowed_device_arns=list(config.qpu_devices),
                limits_usd=config.spending_limits_usd,
                default_limit_usd=0,  # config validation gives every allowed QPU its amount
                region=config.region,
                tags=config.default_tags,
                prevent_destroy=config.production,
            )
        add_guardrails(self, production=config.production)

        self._outputs(config)

    def _private_network(self, config: EnvironmentConfig) -> None:
        """The VPC without internet, its endpoints' grants and the bucket pinned to its S3 endpoint."""
        link = config.premises_link
        premises_link = None
        if link is not None and link.transit_gateway_id is not None:
            premises_link = TransitGatewayLink(link.transit_gateway_id, link.premises_cidrs)
        elif link is not None:
            premises_link = SiteToSiteVpn(link.vpn_customer_gateway_ip, link.vpn_bgp_asn, link.premises_cidrs)
        interface_endpoints = DEFAULT_INTERFACE_ENDPOINTS
        if config.package_mirror_domain is not None:
            interface_endpoints += QuantumPackageMirror.INTERFACE_ENDPOINTS
        self.network = QuantumPrivateNetwork(
            self,
            "Network",
            availability_zones=config.availability_zones,
            cidr_block=config.vpc_cidr,
            interface_endpoints=interface_endpoints,
            premises_link=premises_link,
        )
        self.network.grant_braket(self.role)
        self.network.grant_bucket(self.results)
        if config.package_mirror_domain is not None:
            self.package_mirror = QuantumPackageMirror(self, "PackageMirror", domain_name=config.package_mirror_domain)
        # Braket's service-linked role and the jobs role work from Braket's network, not this VPC.
        exempt = [self.jobs_role.role_arn]
        if config.break_glass_role_name is not None:
            partition = DataAwsPartition(self, "Partition").partition
            account = DataAwsCallerIdentity(self, "Account").account_id
            exempt.append(f"arn:{partition}:iam::{account}:role/{config.break_glass_role_name}")
        self.results.restrict_to_vpc_endpoints(self.network.s3_endpoint_ids, exempt_principal_arns=exempt)

    def _gateway(self, config: EnvironmentConfig) -> None:
        """The DMZ gateway's role (Braket only through the private network's endpoint, results under
        gateway/) and the Object Lock bucket its audit log is appended to."""
        self.gateway = QuantumGateway(
            self,
            "Gateway",
            allowed_device_arns=config.allowed_devices,
            results_bucket=self.results,
            ca_certificate_pem=_read_ca_bundle(config.gateway_ca_certificate),
            certificate_subject_cn=config.gateway_certificate_subject_cn,
        )
        self.network.grant_braket(self.gateway)
        self.audit = QuantumAuditBucket(
            self,
            "Audit",
            bucket_name=config.audit_bucket_name,
            retention_days=config.audit_retention_days,
            access_log_bucket=config.access_log_bucket,
            allow_retention_changes=config.audit_retention_changes_allowed,
        )
        self.audit.grant_append(self.gateway)
        self.network.grant_bucket(self.audit)  # the S3 endpoint admits the audit bucket too
        for warning in gateway_warnings(config):
            Annotations.of(self).add_warning(warning)

    def _notebook_network(self, config: EnvironmentConfig) -> dict:
        """The notebook's network props: SageMaker's managed network, or a private subnet without internet."""
        if self.network is None:
            return {}
        props = {
            "subnet_id": self.network.subnet_ids[0],
            "security_group_ids": [self.network.workload_security_group_id],
            "direct_internet_access": False,
        }
        if self.package_mirror is not None:
            props["package_mirror"] = self.package_mirror
        elif config.package_index_url is None:
            props["braket_sdk_version"] = None  # nothing to install from: the platform image's SDK
        return props

    def _outputs(self, config: EnvironmentConfig) -> None:
        outputs = {
            "environment": config.name,
            "region": config.region,
            "results_bucket_name": self.results.bucket_name,
            "results_bucket_arn": self.results.bucket_arn,
            "results_prefix": self.results.results_prefix,
            "notebook_role_arn": self.role.role_arn,
            "notebook_name": self.notebook.notebook_name,
            "allowed_devices": list(self.role.allowed_device_arns),
            "jobs_role_arn": self.jobs_role.role_arn,
            "jobs_prefix": self.jobs_role.jobs_prefix,
            # SDK device ARN -> USD (shortest form); empty when this environment owns no limits.
            "spending_limits": dict(self.spending_limits.limits) if self.spending_limits else {},
            "submission": config.submission,
            # The signing helper's --role-arn, --trust-anchor-arn and --profile-arn, and where the
            # gateway ships its audit log; null without a gateway.
            "gateway_role_arn": self.gateway.role_arn if self.gateway else Token.null_value(),
            "gateway_trust_anchor_arn": self.gateway.trust_anchor_arn if self.gateway else Token.null_value(),
            "gateway_profile_arn": self.gateway.profile_arn if self.gateway else Token.null_value(),
            "audit_bucket_name": self.audit.bucket_name if self.audit else Token.null_value(),
        }
        assert tuple(outputs) == OUTPUT_NAMES
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value).override_logical_id(name)


EXAMPLE_MARKER = "EXAMPLE ONLY - REPLACE BEFORE USE"
"""The first line of an example CA file shipped in the repository (``stacks/gateway-ca/``)."""


def gateway_warnings(config: EnvironmentConfig) -> list[str]:
    """What a gateway environment still lacks before the gateway on the premises can work; shown by
    ``cdktf synth`` and ``cdktf deploy`` (stack annotations), not fatal: the stack itself is sound."""
    warnings = []
    if config.premises_link is None:
        warnings.append(f"{config.name}: submission='gateway' but premises_link=None: a gateway on the premises cannot "
                        "reach the Braket endpoint until a SiteToSiteVpn or TransitGatewayLink is configured (stacks/config.py)")
    if (REPOSITORY / config.gateway_ca_certificate).read_text(encoding="utf-8").startswith(EXAMPLE_MARKER):
        warnings.append(f"{config.name}: gateway_ca_certificate={config.gateway_ca_certificate!r} is the EXAMPLE CA: replace "
                        "it with the premises CA that issues the gateway's certificate, or Roles Anywhere trusts no real gateway")
    return warnings


def _read_ca_bundle(path: str) -> str:
    """The CA certificates of the PEM file ``path`` of the repository (``ca_bundle``); ValueError in one
    line naming the setting and the file when it cannot be read or holds anything else."""
    file = REPOSITORY / path
    try:
        return ca_bundle(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        reason = "no such file" if isinstance(error, FileNotFoundError) else getattr(error, "strerror", None) or str(error)
    except ValueError as error:
        reason = str(error)
    raise ValueError(
        f"gateway_ca_certificate={path!r} is not allowed: expected a PEM file of the premises CA's "
        f"certificates in the repository ({file}: {reason})"
    )
