"""Typed, validated configuration of every environment.

This is the configuration reference: edit the values below (bucket names are
global, so a fork must change them). Constructs validate their own props when
the stack is built; this module validates what only an environment knows.
No AWS call and no clock: synthesis stays pure and deterministic.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from dataclasses import dataclass, field
from typing import Mapping, Optional

PROJECT = "quantum-cloud"
# Terraform (or OpenTofu) that every stack requires: S3-native state locking needs 1.10.
TERRAFORM_REQUIRED_VERSION = ">= 1.10"

# The contract with `jobs`: every stack declares these outputs, with these exact names.
OUTPUT_NAMES = (
    "environment",
    "region",
    "results_bucket_name",
    "results_bucket_arn",
    "results_prefix",
    "notebook_role_arn",
    "notebook_name",
    "allowed_devices",
    "jobs_role_arn",
    "jobs_prefix",
    "spending_limits",
    # The DMZ gateway (issue 17): null where submission="direct".
    "submission",
    "gateway_role_arn",
    "gateway_trust_anchor_arn",
    "gateway_profile_arn",
    "audit_bucket_name",
)

# Braket device ARNs (checked against the Braket SDK's `braket.devices.Devices` by the tests).
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
IONQ_FORTE_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
IONQ_FORTE_ENTERPRISE_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1"
QUERA_AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"

QPUS = (IONQ_FORTE_1, IONQ_FORTE_ENTERPRISE_1, QUERA_AQUILA)
"""Every QPU any environment allows (dev puts a limit of 0 on each)."""

_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_QPU = re.compile(r"^arn:aws[a-z-]*:braket:[a-z0-9-]+::device/qpu/[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
# A PEM file of the repository, by a relative path without "..": synthesis reads it, nothing else.
_REPO_PEM = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9_.\-/]+\.pem$")
NETWORKS = ("public", "private")
SUBMISSIONS = ("direct", "gateway")
_GATEWAY_SETTINGS = ("gateway_ca_certificate", "gateway_certificate_subject_cn", "audit_bucket_name", "audit_retention_days")


def _is_amount(value: object) -> bool:
    """A number of USD: not a bool, NaN, an infinity or negative zero."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and math.copysign(1, value) > 0
    )


def _is_limit(value: object) -> bool:
    """A spending-limit amount: 0 or more USD, whole cents (Braket takes at most two decimals)."""
    if not _is_amount(value):
        return False
    number = Decimal(repr(value))  # repr: 0.1 is '0.1', not its binary expansion
    return number == number.quantize(Decimal("0.01"))


def _fail(prop: str, value: object, allowed: str) -> None:
    raise ValueError(f"{prop}={value!r} is not allowed: expected {allowed}")


@dataclass(frozen=True)
class S3StateBackend:
    """Remote Terraform state in S3, locked with an S3 lock file (Terraform >= 1.10).

    The bucket and key must exist before the first deploy: the ``bootstrap`` stack creates them
    (``BootstrapConfig``; README, "Bootstrap").
    """

    bucket: str
    region: str
    kms_key_id: str
    """ARN or alias of the KMS key that encrypts the state objects."""
    key_prefix: str = "quantum-cloud"

    def state_key(self, environment: str) -> str:
        return f"{self.key_prefix}/{environment}/terraform.tfstate"


@dataclass(frozen=True)
class PremisesLink:
    """The private link from the premises to a private environment's VPC endpoints: a Site-to-Site
    VPN (``vpn_customer_gateway_ip`` and ``vpn_bgp_asn``) or an existing Transit Gateway
    (``transit_gateway_id``), never both. The construct (QuantumPrivateNetwork) checks the values."""

    premises_cidrs: tuple[str, ...]
    """The premises networks that reach the endpoints (a DMZ gateway's among them)."""
    vpn_customer_gateway_ip: Optional[str] = None
    vpn_bgp_asn: Optional[int] = None
    transit_gateway_id: Optional[str] = None

    def __post_init__(self) -> None:
        vpn = self.vpn_customer_gateway_ip is not None or self.vpn_bgp_asn is not None
        if vpn == (self.transit_gateway_id is not None):
            _fail(
                "premises_link",
                self,
                "either vpn_customer_gateway_ip and vpn_bgp_asn (a Site-to-Site VPN) or transit_gateway_id",
            )


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between dev, staging and prod."""

    name: str
    region: str
    results_bucket_name: str
    notebook_name: str
    allowed_devices: tuple[str, ...]
    """Device ARNs the notebook role may create tasks and jobs on, and hybrid jobs tasks on (enforced by IAM)."""
    max_cost_usd: float
    """Default cost cap of one `python -m jobs run` in this environment."""
    monthly_budget_usd: float
    """Monthly Amazon Braket budget: alerts at 50/80/100 % actual and 100 % forecast; at 100 % actual
    the notebook role and the jobs execution role lose braket:CreateQuantumTask and braket:CreateJob
    (the kill switch)."""
    budget_alert_emails: tuple[str, ...] = ()
    """Addresses subscribed to the budget alerts (at least one)."""
    results_prefix: str = "results"
    instance_type: str = "ml.t3.medium"
    volume_size_gb: int = 10
    idle_stop_minutes: int = 60
    use_kms: bool = True
    """Customer-managed KMS key for results and the notebook volume (else SSE-S3)."""
    transition_to_ia_days: Optional[int] = None
    results_retention_days: Optional[int] = None
    """Days before results expire; None keeps them forever."""
    access_log_bucket: Optional[str] = None
    """Bucket that receives the S3 server access logs of the results bucket (and of the audit
    bucket): the ``bootstrap`` stack creates it, unless it is one of ``BootstrapConfig``'s
    ``existing_access_log_buckets``; None: no access logging."""
    force_destroy: bool = False
    backend: Optional[S3StateBackend] = None
    """None keeps state in a local file (dev only)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    network: str = "public"
    """'public': the notebook uses SageMaker's managed network, with internet access. 'private':
    a VPC without internet (QuantumPrivateNetwork): AWS APIs through VPC endpoints with their own
    policies, the notebook in a private subnet, the results bucket refusing object access from
    anywhere else (except Braket, the jobs role and ``break_glass_role_name``)."""
    vpc_cidr: str = "10.42.0.0/16"
    availability_zone_suffixes: tuple[str, ...] = ("a", "b")
    """Zones of ``region`` the private subnets and interface endpoints use (each endpoint costs per zone)."""
    premises_link: Optional[PremisesLink] = None
    """A private network's link to the premises; None: none."""
    package_mirror_domain: Optional[str] = None
    """A private network's CodeArtifact domain (a repository ``pypi`` with an upstream to public
    PyPI) the notebook installs the Braket SDK from; None: none."""
    package_index_url: Optional[str] = None
    """An existing package index the notebook installs the Braket SDK from. A private network
    with neither this nor a mirror installs nothing: the platform image's SDK, if any, is used."""
    break_glass_role_name: Optional[str] = None
    """A private network's administrator role (in this account) that may use the results bucket's
    objects from outside the VPC; None: none."""
    spending_limits_usd: Optional[Mapping[str, float]] = None
    """Braket spending limits this environment owns: QPU ARN -> USD, enforced by Braket at task
    creation (QPUs only). Every allowed QPU must have one (none is left unlimited by omission); a QPU
    the environment does not allow may have one too (0: nobody in the account spends on it).
    A limit belongs to the account and the device's region: when environments share an account,
    exactly one of them may own the limits; None: this environment creates none."""
    submission: str = "direct"
    """'direct': researchers create tasks and jobs themselves (the notebook role, ``python -m jobs``).
    'gateway': only the DMZ gateway creates tasks (QuantumGateway: an IAM role reached from the premises
    through IAM Roles Anywhere, Braket only through the private network's endpoint); the notebook role
    is denied braket:CreateQuantumTask and braket:CreateJob, and an audit bucket with Object Lock
    keeps the gateway's audit log. Needs network='private'; the gateway reaches the endpoints over
    ``premises_link`` (with none, from inside the VPC only)."""
    gateway_ca_certificate: Optional[str] = None
    """With submission='gateway': the premises CA's certificates (PEM), a path in the repository, e.g.
    'stacks/gateway-ca/prod.pem'; the gateway authenticates with a certificate this CA issued."""
    gateway_certificate_subject_cn: Optional[str] = None
    """With submission='gateway': admit only a gateway certificate with this subject CN; None: any
    certificate of the CA."""
    audit_bucket_name: Optional[str] = None
    """With submission='gateway': the audit bucket (S3 Object Lock, COMPLIANCE mode); a global name."""
    audit_retention_days: Optional[int] = None
    """With submission='gateway': how long each audit record can be neither deleted nor overwritten, by
    anyone. The audit bucket's policy refuses everyone, the deployer too, changing it: change it in two
    deploys, the first with ``audit_retention_changes_allowed=True``, the second with the new value
    and False again."""
    audit_retention_changes_allowed: bool = False
    """Lift the audit bucket's Deny on changing its retention and lifecycle, for one deploy."""

    def __post_init__(self) -> None:
        if not _ENV_NAME.match(self.name):
            _fail("name", self.name, "2-16 lowercase letters, digits and '-', starting with a letter")
        if not _REGION.match(self.region):
            _fail("region", self.region, "an AWS region such as 'us-east-1'")
        if not self.allowed_devices:
            _fail("allowed_devices", self.allowed_devices, "at least one Braket device ARN")
        if not (_is_amount(self.max_cost_usd) and self.max_cost_usd > 0):
            _fail("max_cost_usd", self.max_cost_usd, "a positive, finite amount in USD")
        if not (_is_amount(self.monthly_budget_usd) and self.monthly_budget_usd >= self.max_cost_usd):
            _fail("monthly_budget_usd", self.monthly_budget_usd, f"at least max_cost_usd ({self.max_cost_usd})")
        if not self.budget_alert_emails:
            _fail("budget_alert_emails", self.budget_alert_emails, "at least one address: alerts that reach nobody are no alerts")
        if self.name != "dev" and self.backend is None:
            _fail("backend", None, f"an S3StateBackend for {self.name!r}: only dev keeps local state")
        if self.name == "prod" and self.force_destroy:
            _fail("force_destroy", True, "False in prod: destroying the stack must never delete results")
        if self.spending_limits_usd is not None:
            self._check_spending_limits(self.spending_limits_usd)
        self._check_network()
        self._check_submission()
        reserved = {"Project", "Environment", "ManagedBy"} & set(self.tags)
        if reserved:
            _fail("tags", sorted(reserved), "tags other than Project, Environment and ManagedBy (set by the stack)")

    def _check_spending_limits(self, limits: object) -> None:
        if not isinstance(limits, Mapping):
            _fail("spending_limits_usd", limits, "None or a mapping of QPU ARNs to USD")
        for arn, amount in limits.items():
            if not (isinstance(arn, str) and _QPU.match(arn)):
                _fail("spending_limits_usd", arn, "QPU ARNs (simulators take no spending limit)")
            if not _is_limit(amount):
                _fail(f"spending_limits_usd[{arn!r}]", amount, "0 or more USD in whole cents")
        unlimited = sorted(a for a in self.allowed_devices if _QPU.match(a) and a not in limits)
        if unlimited:
            _fail("spending_limits_usd", dict(limits), f"an amount for every allowed QPU, also {', '.join(unlimited)}")

    def _check_network(self) -> None:
        if self.network not in NETWORKS:
            _fail("network", self.network, " or ".join(map(repr, NETWORKS)))
        if self.package_mirror_domain is not None and self.package_index_url is not None:
            _fail("package_index_url", self.package_index_url, "None when package_mirror_domain is set (one package source)")
        if self.network == "public":
            for prop in ("premises_link", "package_mirror_domain", "break_glass_role_name"):
                if getattr(self, prop) is not None:
                    _fail(prop, getattr(self, prop), "None unless network='private'")
            return
        if self.break_glass_role_name is not None and not _ROLE_NAME.match(str(self.break_glass_role_name)):
            _fail("break_glass_role_name", self.break_glass_role_name, "None or an IAM role name (1-64 of A-Za-z0-9+=,.@_-)")
        if self.premises_link is not None and not isinstance(self.premises_link, PremisesLink):
            _fail("premises_link", self.premises_link, "None or a PremisesLink")
        # A private network has Braket endpoints in its own region only; a QPU elsewhere is reachable
        # only over the internet (or with a network in its region, which this configuration has not).
        elsewhere = sorted(a for a in self.allowed_devices if _QPU.match(a) and a.split(":")[3] != self.region)
        if elsewhere:
            _fail(
                "allowed_devices",
                elsewhere,
                f"devices in {self.region} only with network='private' (its Braket endpoint is there): "
                "deploy an environment in the device's region for these",
            )

    def _check_submission(self) -> None:
        if self.submission not in SUBMISSIONS:
            _fail("submission", self.submission, " or ".join(map(repr, SUBMISSIONS)))
        if not isinstance(self.audit_retention_changes_allowed, bool):
            _fail("audit_retention_changes_allowed", self.audit_retention_changes_allowed, "True or False")
        if self.submission == "direct":
            for prop in _GATEWAY_SETTINGS:
                if getattr(self, prop) is not None:
                    _fail(prop, getattr(self, prop), "None unless submission='gateway'")
            if self.audit_retention_changes_allowed:
                _fail("audit_retention_changes_allowed", True, "False unless submission='gateway'")
            return
        if not self.private_network:
            _fail("submission", self.submission, "'direct' unless network='private' (the gateway reaches Braket only "
                  "through the private network's endpoint)")
        if not (isinstance(self.gateway_ca_certificate, str) and _REPO_PEM.match(self.gateway_ca_certificate)):
            _fail("gateway_ca_certificate", self.gateway_ca_certificate,
                  "the path of the premises CA's PEM bundle in the repository, e.g. 'stacks/gateway-ca/prod.pem'")
        cn = self.gateway_certificate_subject_cn
        if cn is not None and not (isinstance(cn, str) and 0 < len(cn) <= 64):
            _fail("gateway_certificate_subject_cn", cn, "None or a certificate subject CN (1-64 characters)")
        if not isinstance(self.audit_bucket_name, str) or self.audit_bucket_name == self.results_bucket_name:
            _fail("audit_bucket_name", self.audit_bucket_name, "a bucket name for the audit log, not the results bucket's")
        days = self.audit_retention_days
        if not (isinstance(days, int) and not isinstance(days, bool) and 1 <= days <= 36500):
            _fail("audit_retention_days", days, "a whole number of days from 1 to 36500")

    @property
    def gateway_submission(self) -> bool:
        """Only the DMZ gateway creates tasks (submission='gateway')."""
        return self.submission == "gateway"

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(f"{self.region}{suffix}" for suffix in self.availability_zone_suffixes)

    @property
    def private_network(self) -> bool:
        return self.network == "private"

    @property
    def qpu_devices(self) -> tuple[str, ...]:
        """The allowed devices that are QPUs, and the QPUs this environment puts a spending limit on."""
        limited = tuple(self.spending_limits_usd or ())
        return tuple(sorted({a for a in self.allowed_devices if _QPU.match(a)} | set(limited)))

    @property
    def production(self) -> bool:
        """Production stacks get the strictest guardrails (no force_destroy)."""
        return self.name == "prod"

    @property
    def default_tags(self) -> dict[str, str]:
        return {**self.tags, "Project": PROJECT, "Environment": self.name, "ManagedBy": "cdktf"}


BOOTSTRAP_STACK = "bootstrap"
"""The name of the stack that creates what the environments assume exists (``BootstrapConfig``)."""
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KEY_ALIAS = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")


def _is_days(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass(frozen=True)
class AccessLogBucketPlan:
    """One access-log bucket the bootstrap creates: its name, its region (its sources') and the
    buckets whose S3 server access logs it receives, by name."""

    name: str
    region: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class BootstrapConfig:
    """What staging and prod assume exists before their first deploy, created once by the
    ``bootstrap`` stack (its own local state; ``make deploy ENV=bootstrap``, then the environments):
    the Terraform state bucket with its KMS key and alias (``state``), and one access-log bucket per
    ``access_log_bucket`` the environments name.

    One source of truth: the environments' ``backend`` is ``state`` (checked), and the log buckets
    are derived from the environments' ``access_log_bucket`` (``access_log_buckets``), so the names a
    stack expects and the names the bootstrap creates cannot drift. Where an organization already has
    them, say so here and the bootstrap skips them: ``create_state_bucket=False`` (an existing state
    bucket and key), ``existing_access_log_buckets`` (e.g. a central log archive)."""

    state: S3StateBackend
    """The remote state of every environment that has one: bucket, region and key alias."""
    create_state_bucket: bool = True
    """False: ``state`` names an existing bucket and key; the bootstrap creates neither."""
    state_noncurrent_version_days: int = 90
    """Days a replaced or deleted state version is kept (the newest 10 are kept whatever their age)."""
    state_access_log_bucket: Optional[str] = None
    """Bucket that receives the state bucket's S3 server access logs (created by the bootstrap
    unless listed in ``existing_access_log_buckets``); None: no access logging."""
    existing_access_log_buckets: tuple[str, ...] = ()
    """Access-log buckets that already exist (a central log archive): environments may log to them,
    the bootstrap creates none of them, and each must already let ``logging.s3.amazonaws.com``
    write those logs (README, "Bootstrap")."""
    access_log_retention_days: int = 365
    """Days an access log is kept in the buckets the bootstrap creates."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.state, S3StateBackend):
            _fail("state", self.state, "an S3StateBackend")
        if not (isinstance(self.state.bucket, str) and _BUCKET.match(self.state.bucket)):
            _fail("state.bucket", self.state.bucket, "an S3 bucket name")
        if not (isinstance(self.state.region, str) and _REGION.match(self.state.region)):
            _fail("state.region", self.state.region, "an AWS region such as 'us-east-1'")
        if not isinstance(self.create_state_bucket, bool):
            _fail("create_state_bucket", self.create_state_bucket, "True or False")
        if self.create_state_bucket and not (isinstance(self.state.kms_key_id, str) and _KEY_ALIAS.match(self.state.kms_key_id)):
            _fail("state.kms_key_id", self.state.kms_key_id,
                  "a KMS alias 'alias/...' when create_state_bucket=True (the bootstrap creates the key under that alias)")
        for prop in ("state_noncurrent_version_days", "access_log_retention_days"):
            if not _is_days(getattr(self, prop)):
                _fail(prop, getattr(self, prop), "a positive number of days")
        existing = self.existing_access_log_buckets
        if not (isinstance(existing, tuple) and all(isinstance(b, str) and _BUCKET.match(b) for b in existing)):
            _fail("existing_access_log_buckets", existing, "a tuple of S3 bucket names")
        log = self.state_access_log_bucket
        if log is not None and not self.create_state_bucket:
            _fail("state_access_log_bucket", log, "None when create_state_bucket=False (the bootstrap leaves an existing state bucket as it is)")
        if log is not None and not (isinstance(log, str) and _BUCKET.match(log) and log != self.state.bucket):
            _fail("state_access_log_bucket", log, "None or the name of another S3 bucket than the state bucket")
        reserved = {"Project", "Environment", "ManagedBy"} & set(self.tags)
        if reserved:
            _fail("tags", sorted(reserved), "tags other than Project, Environment and ManagedBy (set by the stack)")

    @property
    def region(self) -> str:
        """The bootstrap stack's provider region: the state bucket's."""
        return self.state.region

    @property
    def default_tags(self) -> dict[str, str]:
        return {**self.tags, "Project": PROJECT, "Environment": BOOTSTRAP_STACK, "ManagedBy": "cdktf"}

    def logged_buckets(self, environments: Mapping[str, "EnvironmentConfig"]) -> dict[str, list[tuple[str, str]]]:
        """Every access-log bucket named anywhere (environments and the state bucket) -> the
        (region, source bucket) pairs that log to it, created or existing."""
        targets: dict[str, list[tuple[str, str]]] = {}
        for name in sorted(environments):
            env = environments[name]
            if env.access_log_bucket is None:
                continue
            # QuantumStack logs the results bucket and, with a gateway, the audit bucket there.
            sources = [env.results_bucket_name] + ([env.audit_bucket_name] if env.gateway_submission else [])
            targets.setdefault(env.access_log_bucket, []).extend((env.region, source) for source in sources)
        if self.create_state_bucket and self.state_access_log_bucket is not None:
            targets.setdefault(self.state_access_log_bucket, []).append((self.state.region, self.state.bucket))
        return targets

    def access_log_buckets(self, environments: Mapping[str, "EnvironmentConfig"]) -> tuple[AccessLogBucketPlan, ...]:
        """The access-log buckets the bootstrap creates: every one named by an environment's
        ``access_log_bucket`` or ``state_access_log_bucket``, except ``existing_access_log_buckets``."""
        return tuple(
            AccessLogBucketPlan(name=name, region=pairs[0][0], sources=tuple(source for _, source in pairs))
            for name, pairs in sorted(self.logged_buckets(environments).items())
            if name not in self.existing_access_log_buckets
        )

    def check(self, environments: Mapping[str, "EnvironmentConfig"]) -> None:
        """ValueError in one line where this bootstrap and ``environments`` disagree."""
        if BOOTSTRAP_STACK in environments:
            _fail("environment", BOOTSTRAP_STACK, "a name other than the bootstrap stack's")
        for name in sorted(environments):
            backend = environments[name].backend
            if backend is not None and backend != self.state:
                _fail(f"{name}.backend", backend, f"None or BootstrapConfig.state ({self.state}): the state the bootstrap creates or declares existing")
        buckets = {self.state.bucket: "the state bucket"}
        for env in environments.values():
            buckets[env.results_bucket_name] = f"{env.name}'s results bucket"
            if env.audit_bucket_name is not None:
                buckets[env.audit_bucket_name] = f"{env.name}'s audit bucket"
        targets = self.logged_buckets(environments)
        for log_bucket, pairs in sorted(targets.items()):
            if log_bucket in buckets:
                _fail("access_log_bucket", log_bucket, f"a bucket of its own, not {buckets[log_bucket]}")
            regions = sorted({region for region, _ in pairs})
            if len(regions) > 1:
                _fail("access_log_bucket", log_bucket,
                      f"one region for all its sources (S3 delivers access logs within a region), not {', '.join(regions)}")
        unused = sorted(set(self.existing_access_log_buckets) - set(targets))
        if unused:
            _fail("existing_access_log_buckets", unused, "only buckets an environment's access_log_bucket (or state_access_log_bucket) names")


BOOTSTRAP = BootstrapConfig(
    state=S3StateBackend(
        bucket="quantum-cloud-terraform-state",
        region="us-east-1",
        kms_key_id="alias/quantum-cloud-terraform-state",
    ),
    # Who read or wrote the state (it holds secrets): logged to a bucket of its own.
    state_access_log_bucket="quantum-cloud-access-logs-terraform-state",
    access_log_retention_days=365,
)
_STATE = BOOTSTRAP.state

ENVIRONMENTS: dict[str, EnvironmentConfig] = {
    env.name: env
    for env in (
        EnvironmentConfig(
            name="dev",
            region="us-east-1",
            results_bucket_name="amazon-braket-quantum-cloud-results-dev",
            notebook_name="amazon-braket-quantum-cloud-dev",
            allowed_devices=(SV1, DM1),
            max_cost_usd=5.0,
            monthly_budget_usd=50.0,
            budget_alert_emails=("quantum-platform@example.com",),
            results_retention_days=30,
            idle_stop_minutes=30,
            force_destroy=True,
            tags={"CostCenter": "quantum-research"},
            # No QPU in dev: IAM already denies our roles every QPU; a limit of 0 on each also stops
            # anyone else in the (dev) account from spending on one. Shares dev an account with
            # another environment? Set None here (only one environment may own the limits).
            spending_limits_usd={qpu: 0 for qpu in QPUS},
        ),
        EnvironmentConfig(
            name="staging",
            region="us-east-1",
            results_bucket_name="amazon-braket-quantum-cloud-results-staging",
            notebook_name="amazon-braket-quantum-cloud-staging",
            allowed_devices=(SV1, DM1, IONQ_FORTE_1),
            max_cost_usd=50.0,
            monthly_budget_usd=500.0,
            budget_alert_emails=("quantum-platform@example.com",),
            transition_to_ia_days=30,
            results_retention_days=180,
            access_log_bucket="quantum-cloud-access-logs-staging",
            backend=_STATE,
            network="private",
            vpc_cidr="10.43.0.0/16",  # apart from prod's, so both can reach the same premises
            package_mirror_domain="quantum-cloud-staging",
            break_glass_role_name="quantum-cloud-break-glass",
            tags={"CostCenter": "quantum-research"},
            # One run at the staging cap (max_cost_usd) on the one QPU staging allows. A cap on all
            # spend from creation on, not monthly: raise it in review when it is used up.
            spending_limits_usd={IONQ_FORTE_1: 50},
        ),
        EnvironmentConfig(
            name="prod",
            region="us-east-1",
            results_bucket_name="amazon-braket-quantum-cloud-results-prod",
            notebook_name="amazon-braket-quantum-cloud-prod",
            allowed_devices=(SV1, DM1, IONQ_FORTE_1, IONQ_FORTE_ENTERPRISE_1, QUERA_AQUILA),
            max_cost_usd=500.0,
            monthly_budget_usd=5000.0,
            budget_alert_emails=("quantum-platform@example.com", "quantum-finance@example.com"),
            instance_type="ml.m5.xlarge",
            volume_size_gb=50,
            transition_to_ia_days=90,
            results_retention_days=3650,
            access_log_bucket="quantum-cloud-access-logs-prod",
            backend=_STATE,
            network="private",
            package_mirror_domain="quantum-cloud-prod",
            break_glass_role_name="quantum-cloud-break-glass",
            tags={"CostCenter": "quantum-research", "DataClassification": "confidential"},
            # Two runs at the prod cap (max_cost_usd 500) per IonQ QPU, one on Aquila (analog, larger
            # shot counts, used less): 2,500 in all, half the monthly budget, so Braket stops QPU spend
            # before the budget's kill switch (hours late) has to. From creation on, not monthly: raise
            # an amount in review when it is used up.
            spending_limits_usd={IONQ_FORTE_1: 1000, IONQ_FORTE_ENTERPRISE_1: 1000, QUERA_AQUILA: 500},
            # Circuits leave only through the DMZ gateway (issue 17). The CA in the repository is an
            # EXAMPLE whose key was discarded: until it is replaced by the premises CA, no certificate
            # can assume the gateway's role.
            submission="gateway",
            gateway_ca_certificate="stacks/gateway-ca/prod.pem",
            gateway_certificate_subject_cn="quantum-gateway-prod",
            audit_bucket_name="quantum-cloud-gateway-audit-prod",
            # Seven years, as long as the longest record-keeping rules the audit log serves (e.g.
            # MiFID II's five, extendable to seven).
            audit_retention_days=2557,
        ),
    )
}


BOOTSTRAP.check(ENVIRONMENTS)


def get_environment(name: str) -> EnvironmentConfig:
    """The configuration of ``name``; ValueError naming the known environments otherwise."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        _fail("environment", name, f"one of {', '.join(sorted(ENVIRONMENTS))}")
        raise  # unreachable; keeps type checkers content
