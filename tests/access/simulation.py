"""Requests as AWS forms them, decided against a synthesized stack's policies.

``AccessSimulation(stack_doc)`` knows who may call (the stack's roles, Braket's
service-linked role, AWS service principals, an administrator of this account, an
outsider account) and from where (the stack's VPC, through its endpoints; outside it;
an AWS service's own network), which resource policy AWS consults for a request
(bucket, key, topic, trust policy, or the repository policy of Braket's job images)
and which VPC endpoint policy, and fills in the global condition keys AWS puts in
every request context.

Where requests come from (a private stack, ``network="private"``: QuantumPrivateNetwork):
- the notebook runs in the VPC's private subnet without internet: it reaches each AWS API
  through the VPC endpoint of that API (Braket through the ``braket`` interface endpoint, S3
  through the S3 gateway endpoint), and its requests carry ``aws:SourceVpce`` (that endpoint's
  id) and ``aws:SourceVpc``: IAM User Guide, "AWS global condition context keys": aws:SourceVpce
  "is included in the request context only if the requester uses a VPC endpoint to make the
  request". An API without an endpoint in the VPC cannot be reached at all;
- Braket's service-linked role (results.json) and the jobs execution role (hybrid job containers)
  call from Braket's network, never through our endpoints (DESIGN.md, "Braket has an interface
  VPC endpoint": "Braket's own writes (service-linked role, job containers) do not come through
  your endpoint"), so their requests carry no aws:SourceVpce; the same for AWS service principals
  and the role AWS Budgets assumes;
- a researcher's laptop, the console, another account's network: no aws:SourceVpce;
- a request a service makes on the caller's behalf (``kms:ViaService`` in the context: S3 asking
  KMS for the bucket key) comes from that service, not through our endpoint, and ``iam:PassRole``
  is authorized inside the request that passes the role, not sent on its own.
The VPC endpoint's policy is decided with the identity and resource policies (evaluator.py).

The DMZ gateway (``submission="gateway"``: QuantumGateway): it runs on the premises and reaches AWS
over the private link (the premises link of QuantumPrivateNetwork), so its requests arrive at the
stack's interface endpoints and carry their ``aws:SourceVpce`` as the VPC's own do (PrivateLink Guide:
on-premises networks connected by VPN or Direct Connect use the interface endpoints); its home is the
VPC. It becomes its role through IAM Roles Anywhere, whose service principal
``rolesanywhere.amazonaws.com`` assumes the role (calling from AWS's network) with the trust anchor's
ARN as ``aws:SourceArn`` and the certificate's attributes as principal tags (IAM Roles Anywhere User
Guide, "Trust model", "Attribute mapping and trust policy").
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Mapping, NamedTuple, Sequence

from security.iam_documents import ACCOUNT, PARTITION, SynthesizedStack

from .evaluator import DEFAULT_ENDPOINT_POLICY, Decision, PolicyError, Request, Result, evaluate

OUTSIDER_ACCOUNT = "999999999999"
# Where a caller's requests come from.
VPC = "vpc"
"""Inside the stack's VPC (the notebook's subnet): through the VPC endpoint of each API."""
OUTSIDE = "outside"
"""Outside the stack's VPC: a laptop, the console, another account's network, SageMaker's managed
network (a public stack's notebook). No aws:SourceVpce."""
AWS_NETWORK = "aws"
"""An AWS service's own network: service principals, Braket's service-linked role and job
containers, the role AWS Budgets assumes. Never through a VPC endpoint of the stack."""
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


def default_key_policy(account: str) -> dict:
    """The default key policy of a key in ``account`` (KMS Developer Guide, "Default key policy":
    the statement "Enable IAM User Permissions" lets the account's IAM policies use the key)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


# The worst outsider: an administrator of another account.
ADMINISTRATOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


# A bucket of the outsider's, open to everyone: where exfiltrated results would go.
EXFILTRATION_BUCKET = "attacker-exfiltration-bucket"
EXFILTRATION_BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AnyoneMayWriteAndRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
            "Resource": [
                f"arn:{PARTITION}:s3:::{EXFILTRATION_BUCKET}",
                f"arn:{PARTITION}:s3:::{EXFILTRATION_BUCKET}/*",
            ],
        }
    ],
}


@dataclass(frozen=True)
class Caller:
    """Who calls (``principal``, with its identity-based policies) and from where (``home``:
    ``VPC``, ``OUTSIDE`` or ``AWS_NETWORK``), unless a request says otherwise."""

    principal: str
    identity_policies: Sequence[dict] = ()
    home: str = OUTSIDE


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint of the stack: its short name (``braket``, ``s3``, ``sagemaker.api``, ``notebook``),
    the id requests through it carry as ``aws:SourceVpce``, its type and its policy (rendered)."""

    name: str
    id: str
    gateway: bool
    policy: dict


# The VPC endpoint (short name, com.amazonaws.<region>.<name>) that carries an action's requests, by
# the action's service prefix where it differs (private_apis.py lists the endpoints our callers use).
_ENDPOINT_OF_SERVICE = {"sagemaker": "sagemaker.api", "codeartifact": "codeartifact.api", "cloudwatch": "monitoring"}
# CodeArtifact User Guide, "Create VPC endpoints for CodeArtifact": codeartifact.repositories "for
# package manager and build tool access", codeartifact.api for its API. sts:GetServiceBearerToken is
# not a call of its own: CodeArtifact authorizes it inside GetAuthorizationToken ("Create a VPC
# endpoint policy for CodeArtifact" lists it in the codeartifact endpoint's policy).
_ENDPOINT_OF_ACTION = {
    "codeartifact:readfromrepository": "codeartifact.repositories",
    "sts:getservicebearertoken": "codeartifact.api",
}


def endpoint_for(action: str) -> str:
    """The short name of the VPC endpoint that carries ``action``'s requests."""
    service = action.split(":")[0].lower()
    return _ENDPOINT_OF_ACTION.get(action.lower(), _ENDPOINT_OF_SERVICE.get(service, service))


class AccessSimulation:
    """Decides requests against one synthesized stack as AWS would (same-account and cross-account,
    through the stack's VPC endpoints or from outside its VPC).

    ``break_glass_role_name``: the configuration's break-glass role (``EnvironmentConfig``), a
    caller ``"break-glass"`` with administrator rights in the stack's account.
    """

    def __init__(self, stack_doc: dict, *, break_glass_role_name: str | None = None) -> None:
        self.stack = SynthesizedStack(stack_doc)
        self.roles = self.stack.roles()
        self.endpoints = self._endpoints()
        self.vpc_id = self._vpc_id()
        notebook = self.stack.role("NotebookRole")
        jobs = self.stack.role("JobsExecutionRole")
        action_role = self.stack.role("BraketBudget_ActionRole")
        [deny_policy] = self.stack.resources("aws_iam_policy")
        self.deny_policy_arn = self.stack.arn("aws_iam_policy", deny_policy)
        deny = self.stack.managed_policy(self.deny_policy_arn)
        # A private stack's notebook runs in its VPC; a public one's in SageMaker's managed network.
        notebook_home = VPC if self.vpc_id is not None else OUTSIDE
        self.callers = {
            "notebook": Caller(notebook.arn, notebook.identity_policies, notebook_home),
            # The kill switch fired: AWS Budgets attached the deny policy to the notebook role.
            "notebook+kill-switch": Caller(notebook.arn, [*notebook.identity_policies, deny], notebook_home),
            # A hybrid job's container calls AWS as the jobs execution role, from Braket's network.
            "jobs": Caller(jobs.arn, jobs.identity_policies, AWS_NETWORK),
            # The kill switch fired: AWS Budgets attached the deny policy to the jobs role too.
            "jobs+kill-switch": Caller(jobs.arn, [*jobs.identity_policies, deny], AWS_NETWORK),
            "budget-action-role": Caller(action_role.arn, action_role.identity_policies, AWS_NETWORK),
            "braket-service-linked-role": Caller(BRAKET_SERVICE_LINKED_ROLE, [BRAKET_SERVICE_ROLE_POLICY], AWS_NETWORK),
            # An administrator of this account (AdministratorAccess), from outside unless told otherwise.
            "account-admin": Caller(f"arn:{PARTITION}:iam::{ACCOUNT}:role/Administrator", [ADMINISTRATOR]),
            "outsider": Caller(f"arn:{PARTITION}:iam::{OUTSIDER_ACCOUNT}:role/Administrator", [ADMINISTRATOR]),
            **{
                service: Caller(service, (), AWS_NETWORK)
                for service in (
                    "budgets.amazonaws.com",
                    "sns.amazonaws.com",
                    "sagemaker.amazonaws.com",
                    "braket.amazonaws.com",
                    "events.amazonaws.com",
                )
            },
        }
        gateway = next((r for name, r in self.roles.items() if name.startswith("Gateway_Role")), None)
        if gateway is not None:
            gateway_home = VPC if self.vpc_id is not None else OUTSIDE
            self.callers["gateway"] = Caller(gateway.arn, gateway.identity_policies, gateway_home)
            # The kill switch fired: AWS Budgets attached the deny policy to the gateway's role too.
            self.callers["gateway+kill-switch"] = Caller(gateway.arn, [*gateway.identity_policies, deny], gateway_home)
            self.callers["rolesanywhere.amazonaws.com"] = Caller("rolesanywhere.amazonaws.com", (), AWS_NETWORK)
        if break_glass_role_name is not None:
            self.callers["break-glass"] = Caller(
                f"arn:{PARTITION}:iam::{ACCOUNT}:role/{break_glass_role_name}", [ADMINISTRATOR]
            )
        # Buckets of other accounts (name -> account, bucket policy).
        self.foreign_buckets: dict[str, tuple[str, dict | None]] = {
            EXFILTRATION_BUCKET: (OUTSIDER_ACCOUNT, EXFILTRATION_BUCKET_POLICY)
        }

    # -- deciding -------------------------------------------------------------------------------
    def decide(
        self,
        who: str,
        action: str,
        resource: str,
        context: Mapping[str, object] = (),
        *,
        network: str | None = None,
    ) -> Result:
        """The evaluator's result for ``who`` calling ``action`` on ``resource`` over TLS, from
        ``network`` (default: the caller's home): ``VPC`` sends it through the stack's endpoint
        for the action (a request whose endpoint does not exist is refused: the VPC has no other
        way out), ``OUTSIDE`` from anywhere else."""
        caller = self.callers[who]
        endpoint = self._endpoint_of(caller, action, context, network or caller.home)
        if isinstance(endpoint, Result):
            return endpoint
        request = Request(
            caller.principal, action, resource, self._context(caller, action, resource, context, endpoint)
        )
        service = action.split(":")[0].lower()
        resource_policy = self._resource_policy(service, resource)
        return evaluate(
            request,
            caller.identity_policies,
            resource_policy,
            resource_account=self._resource_account(caller, resource),
            key_policy=service == "kms" and resource_policy is not None,
            endpoint_policy=endpoint and endpoint.policy,
            gateway_endpoint=bool(endpoint and endpoint.gateway),
        )

    def decide_all(
        self,
        who: str,
        action: str,
        resources: Sequence[str],
        context: Mapping[str, object] = (),
        *,
        network: str | None = None,
    ) -> Result:
        """One request that names several resources, allowed only if allowed on each (the first
        refusal, else the last allow). Braket's CreateQuantumTask names the device and the new task
        (and CreateJob the device and the job): Braket's guide writes device-ARN policies ("Restrict
        user access to certain devices") while IAM's reference names quantum-task and job, and the
        Braket test service authorizes both (tests/braket_emulator/server.py)."""
        if not resources:
            raise PolicyError("decide_all needs at least one resource")
        result = None
        for resource in resources:
            result = self.decide(who, action, resource, context, network=network)
            if not result.allowed:
                return Result(result.decision, f"on {resource}: {result.reason}") if len(resources) > 1 else result
        return result

    def _endpoint_of(self, caller: Caller, action: str, context: Mapping[str, object], network: str):
        """The Endpoint a request goes through, None (not through one), or a refusal (unreachable)."""
        if network not in (VPC, OUTSIDE, AWS_NETWORK):
            raise PolicyError(f"network {network!r}: expected {VPC!r}, {OUTSIDE!r} or {AWS_NETWORK!r}")
        if network != caller.home and AWS_NETWORK in (network, caller.home):
            raise PolicyError(
                f"{caller.principal} calls from an AWS service's network ({caller.home}), never from {network}"
                if caller.home == AWS_NETWORK
                else f"{caller.principal} is not an AWS service's own role"
            )
        if network != VPC:
            return None
        if self.vpc_id is None:
            raise PolicyError("this stack has no VPC: its callers are outside any VPC of it")
        if action.lower() == "iam:passrole" or any(str(k).lower() == "kms:viaservice" for k in context):
            return None  # not a request the caller sends (see the module's docstring)
        name = endpoint_for(action)
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return Result(
                Decision.IMPLICIT_DENY,
                f"unreachable: the VPC has no {name} endpoint, and a private network no other way out "
                f"(tests/test_reachability.py), so {action} cannot be sent",
            )
        return endpoint

    def _resource_account(self, caller: Caller, resource: str) -> str:
        """The account that owns ``resource``: its ARN's, a foreign bucket's, else the stack's (for
        "*", the caller's own: a call on no resource stays in the caller's account)."""
        if resource == "*":
            return caller.principal.split(":")[4] if caller.principal.startswith("arn:") else ACCOUNT
        bucket = _bucket_of(resource)
        if bucket in self.foreign_buckets:
            return self.foreign_buckets[bucket][0]
        return _account_of(resource) or ACCOUNT

    def _resource_policy(self, service: str, resource: str) -> dict | None:
        if service == "s3":
            bucket = _bucket_of(resource)
            if bucket in self.foreign_buckets:
                return self.foreign_buckets[bucket][1]
            return self.stack.resource_policy("aws_s3_bucket_policy", f"arn:{PARTITION}:s3:::{bucket}")
        if service == "kms" and resource != "*":  # a call on no key (ListKeys) has no key policy
            account = _account_of(resource)
            if account != self.stack.account:
                return default_key_policy(account)  # another account's own key
            return self.stack.resource_policy("aws_kms_key", resource)
        if service == "sns":
            return self.stack.resource_policy("aws_sns_topic_policy", resource)
        if service == "sts":  # AssumeRole: the role's trust policy is its resource policy
            trust = next((r.trust for r in self.roles.values() if r.arn == resource), None)
            return trust and _with_resource(trust, resource)
        if service == "ecr" and _account_of(resource) in braket_image_registries():
            return braket_image_repository_policy(_account_of(resource))
        return None  # Braket, IAM, SageMaker, CloudWatch and this account's ECR resources here have none

    def _context(
        self, caller: Caller, action: str, resource: str, given: Mapping[str, object], endpoint: Endpoint | None
    ) -> dict:
        """Global keys AWS adds to every request (IAM "AWS global condition context keys"), then ``given``.

        Through a VPC endpoint: aws:SourceVpce (the endpoint's id), aws:SourceVpc (its VPC) and
        aws:VpcSourceIp (the caller's address in the VPC), which "AWS global condition context keys"
        includes in the request context only then."""
        context: dict[str, object] = {"aws:SecureTransport": True}
        if caller.principal.startswith("arn:"):
            account = caller.principal.split(":")[4]
            context.update({"aws:PrincipalArn": caller.principal, "aws:PrincipalAccount": account})
            if action.lower().startswith("kms:"):
                context["kms:CallerAccount"] = account
        resource_account = resource.split(":")[4] if resource.count(":") >= 5 else ""
        if resource.startswith(f"arn:{PARTITION}:s3:::"):
            resource_account = self._resource_account(caller, resource)
        if resource_account:
            context["aws:ResourceAccount"] = resource_account
        if endpoint is not None:
            context.update(
                {"aws:SourceVpce": endpoint.id, "aws:SourceVpc": self.vpc_id, "aws:VpcSourceIp": self._vpc_address()}
            )
        for key in given:
            if endpoint is None and str(key).lower() in _ENDPOINT_KEYS:
                raise PolicyError(f"{key} is in the context only through a VPC endpoint: use network={VPC!r}")
        context.update(given)
        return context

    # -- the stack's network --------------------------------------------------------------------
    def _endpoints(self) -> dict[str, Endpoint]:
        endpoints = {}
        for name, config in self.stack.resources("aws_vpc_endpoint").items():
            service = self.stack.resolve(config["service_name"])
            short = _endpoint_short_name(service, self.stack.region)
            if short in endpoints:
                raise PolicyError(f"two VPC endpoints for {service}: which one a request takes is not modelled")
            policy = self.stack.policy(config["policy"]) if "policy" in config else DEFAULT_ENDPOINT_POLICY
            endpoints[short] = Endpoint(
                name=short,
                id=self.stack.generated_id("aws_vpc_endpoint", name),
                gateway=config.get("vpc_endpoint_type", "Gateway") == "Gateway",  # the provider's default
                policy=policy,
            )
        return endpoints

    def _vpc_id(self) -> str | None:
        vpcs = list(self.stack.resources("aws_vpc"))
        if len(vpcs) > 1:
            raise PolicyError("a stack with several VPCs is not modelled")
        return self.stack.generated_id("aws_vpc", vpcs[0]) if vpcs else None

    def _vpc_address(self) -> str:
        subnets = sorted(self.stack.resources("aws_subnet").values(), key=lambda s: s["cidr_block"])
        if not subnets:
            raise PolicyError("the VPC has no subnet to call from")
        return str(ipaddress.ip_network(subnets[0]["cidr_block"])[10])  # the first four and the last are AWS's


_ENDPOINT_KEYS = frozenset({"aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip"})
_SERVICE_NAME = re.compile(
    r"^(?:com\.amazonaws\.(?P<region>[a-z0-9-]+)\.(?P<name>.+)|aws\.sagemaker\.(?P<ui_region>[a-z0-9-]+)\.notebook)$"
)


def _endpoint_short_name(service_name: str, region: str) -> str:
    """``com.amazonaws.<region>.<name>`` -> ``<name>``; ``aws.sagemaker.<region>.notebook`` -> ``notebook``."""
    match = _SERVICE_NAME.match(service_name)
    if not match or (match["region"] or match["ui_region"]) != region:
        raise PolicyError(f"VPC endpoint service {service_name!r}: not an AWS service of {region}")
    return match["name"] or "notebook"


def _bucket_of(resource: str) -> str:
    return resource.split(":::", 1)[1].split("/")[0] if resource.startswith(f"arn:{PARTITION}:s3:::") else ""


def _account_of(resource: str) -> str:
    """The account an ARN names ("" for "*", S3 ARNs and ARNs without one)."""
    parts = resource.split(":")
    return parts[4] if len(parts) >= 6 and parts[4].isdigit() and len(parts[4]) == 12 else ""


def _with_resource(trust: dict, role_arn: str) -> dict:
    """A trust policy names no Resource (IAM: "the role itself"); make that explicit for the evaluator."""
    statements = trust["Statement"] if isinstance(trust["Statement"], list) else [trust["Statement"]]
    return {**trust, "Statement": [{"Resource": role_arn, **s} for s in statements]}


# --------------------------------------------------------------------------- the private profile
ALLOW, DENY = "allow", "deny"
TASK_ID = "0b5b1d53-5c2c-4bd4-9b3f-0c6a2f3e1a11"
JOB_NAME = "bell-2026"
# Devices no environment allows (in the SDK's form): a simulator, QPUs in and out of us-east-1.
NEVER_ALLOWED_DEVICES = (
    "arn:aws:braket:::device/quantum-simulator/amazon/tn1",
    "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1",
    "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3",
)
# One request per interface endpoint that an outsider's credentials could use from inside the VPC to
# reach their own account (exfiltration): the endpoint must refuse principals of other accounts.
# "notebook" (the Jupyter UI, reached by browsers with a presigned URL) is not a signed API call.
# Each is an action the endpoint carries for the stack (private_apis.py), so that it is the account,
# not the action, that the endpoint must refuse.
OUTSIDER_REQUESTS = {
    "sts": ("sts:GetCallerIdentity", "*"),
    "logs": ("logs:PutLogEvents", "arn:aws:logs:{region}:{outsider}:log-group:exfiltration:log-stream:x"),
    "kms": ("kms:Encrypt", "arn:aws:kms:{region}:{outsider}:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"),
    "sagemaker.api": (
        "sagemaker:CreatePresignedNotebookInstanceUrl",
        "arn:aws:sagemaker:{region}:{outsider}:notebook-instance/theirs",
    ),
    "codeartifact.api": (
        "codeartifact:GetAuthorizationToken",
        "arn:aws:codeartifact:{region}:{outsider}:domain/theirs",
    ),
    "codeartifact.repositories": (
        "codeartifact:ReadFromRepository",
        "arn:aws:codeartifact:{region}:{outsider}:repository/theirs/pypi",
    ),
}
NOT_SIGNED_API_CALLS = frozenset({"notebook"})


class Row(NamedTuple):
    """One request of the private profile's matrix and what AWS must decide.

    ``promise``: which of the profile's promises it checks (1 the notebook and Braket, 2 the
    notebook and S3, 3 who else may use the bucket and Braket, 4 other accounts). ``by``: for a
    denial, a part of the reason it must carry (the policy that must be the one refusing)."""

    promise: int
    who: str
    action: str
    resources: tuple[str, ...]
    network: str | None  # None: the caller's home
    expected: str  # ALLOW or DENY
    why: str
    context: Mapping[str, object] = {}
    by: str | None = None

    def __str__(self) -> str:
        where = self.network or "home"
        context = f" {json.dumps(self.context)}" if self.context else ""
        return f"{self.who} ({where}) {self.action} {' + '.join(self.resources)}{context} [{self.why}]"


def device_forms(sdk_arn: str, region: str, account: str = ACCOUNT) -> list[str]:
    """The ARNs IAM may evaluate for a device the SDK names ``sdk_arn``: with the caller's account, and a
    region-less device (a simulator) also with the caller's region."""
    arn, partition, service, device_region, _account, device = sdk_arn.split(":", 5)
    regions = [device_region] if device_region else ["", region]
    return [f"{arn}:{partition}:{service}:{r}:{account}:{device}" for r in regions]


def private_network_rows(sim: AccessSimulation, config) -> list[Row]:
    """What the private profile (issue 16) promises, as requests: ``config`` is the environment's
    ``EnvironmentConfig`` (``region``, ``allowed_devices``, ``break_glass_role_name``)."""
    region = config.region
    [bucket_name] = [n for n in sim.stack.resources("aws_s3_bucket") if n.startswith("Results_")]
    bucket = sim.stack.arn("aws_s3_bucket", bucket_name)
    task = f"arn:{PARTITION}:braket:{region}:{ACCOUNT}:quantum-task/{TASK_ID}"
    job = f"arn:{PARTITION}:braket:{region}:{ACCOUNT}:job/{JOB_NAME}"
    result = f"{bucket}/results/job-2026/{TASK_ID}/results.json"
    job_sources = f"{bucket}/jobs/{JOB_NAME}/script/source.tar.gz"
    job_output = f"{bucket}/jobs/{JOB_NAME}/data/output/model.tar.gz"
    job_task_result = f"{bucket}/jobs/{JOB_NAME}/tasks/{TASK_ID}/results.json"
    exfiltrated = f"arn:{PARTITION}:s3:::{EXFILTRATION_BUCKET}/loot/results.json"
    allowed, others = _device_forms(config)
    rows: list[Row] = []
    promise = 0

    def add(who, action, resources, expected, why, network=None, context=None, by=None):
        resources = (resources,) if isinstance(resources, str) else tuple(resources)
        rows.append(Row(promise, who, action, resources, network, expected, why, context or {}, by))

    bucket_pin = "DenyObjectAccessOutsideVpcEndpoints"  # bucket.py: QuantumResultsBucket.restrict_to_vpc_endpoints

    # 1. The notebook, through the Braket interface endpoint: its allowed devices only (none where the
    # gateway submits: its role denies creating anything, tests/test_access_private.py).
    promise = 1
    creates = not getattr(config, "gateway_submission", False)
    for device in allowed:
        if creates:
            add("notebook", "braket:CreateQuantumTask", (device, task), ALLOW, "a task on an allowed device")
            add("notebook", "braket:CreateJob", (device, job), ALLOW, "a hybrid job on an allowed device")
        else:
            add("notebook", "braket:CreateQuantumTask", (device, task), DENY, "researchers submit through the gateway",
                by="DenyCreateTasksAndJobs")
            add("notebook", "braket:CreateJob", (device, job), DENY, "researchers submit through the gateway",
                by="DenyCreateTasksAndJobs")
        add("notebook", "braket:GetDevice", device, ALLOW, "an allowed device's properties")
    for device in others:
        add("notebook", "braket:CreateQuantumTask", (device, task), DENY, "a task on a device not allowed")
        add("notebook", "braket:CreateJob", (device, job), DENY, "a hybrid job on a device not allowed")
    for action, resource in (
        ("braket:GetQuantumTask", task),
        ("braket:CancelQuantumTask", task),
        ("braket:GetJob", job),
        ("braket:SearchDevices", "*"),
        ("braket:SearchQuantumTasks", "*"),
        ("braket:SearchSpendingLimits", "*"),
    ):
        add("notebook", action, resource, ALLOW, "the SDK's reads through the Braket endpoint")

    # 2. The notebook, through the S3 gateway endpoint: the stack's bucket, and nothing else.
    promise = 2
    for action, resource in (
        ("s3:GetObject", result),
        ("s3:PutObject", result),
        ("s3:PutObject", job_sources),
        ("s3:GetObject", job_output),
    ):
        add("notebook", action, resource, ALLOW, "the stack's bucket through the S3 endpoint")
    add("notebook", "s3:ListBucket", bucket, ALLOW, "listing results through the S3 endpoint",
        context={"s3:prefix": "results/"})
    # ... the same credentials outside the VPC (copied off the instance): the bucket policy refuses.
    for action, resource in (("s3:GetObject", result), ("s3:PutObject", result), ("s3:GetObject", job_output)):
        add("notebook", action, resource, DENY, "the notebook's credentials outside the VPC", network=OUTSIDE,
            by=bucket_pin)
    add("notebook", "s3:PutObject", exfiltrated, DENY, "exfiltration to another account's open bucket")
    # ... and the other APIs it calls (private_apis.py), each through its endpoint.
    add("notebook", "logs:GetLogEvents",
        f"arn:{PARTITION}:logs:{region}:{ACCOUNT}:log-group:/aws/braket/jobs:log-stream:{JOB_NAME}/algo-1", ALLOW,
        "a hybrid job's logs through the logs endpoint")
    [notebook] = sim.stack.resources("aws_sagemaker_notebook_instance")
    add("notebook", "sagemaker:StopNotebookInstance", sim.stack.arn("aws_sagemaker_notebook_instance", notebook),
        ALLOW, "the idle auto-stop through the sagemaker.api endpoint")
    # ... and, with a package mirror, pip's calls to CodeArtifact (on-create script).
    for domain_name in sim.stack.resources("aws_codeartifact_domain"):
        domain = sim.stack.arn("aws_codeartifact_domain", domain_name)
        add("notebook", "codeartifact:GetAuthorizationToken", domain, ALLOW, "the mirror's token")
        add("notebook", "sts:GetServiceBearerToken", "*", ALLOW, "the mirror's token (a service bearer token)",
            context={"sts:AWSServiceName": "codeartifact.amazonaws.com"})
    for repository_name in sim.stack.resources("aws_codeartifact_repository"):
        repository = sim.stack.arn("aws_codeartifact_repository", repository_name)
        add("notebook", "codeartifact:GetRepositoryEndpoint", repository, ALLOW, "pip's index URL")
        add("notebook", "codeartifact:ReadFromRepository", repository, ALLOW, "pip downloads from the mirror")

    # 3. Braket's own writes come from its network (no aws:SourceVpce): exempt by aws:PrincipalArn.
    promise = 3
    add("braket-service-linked-role", "s3:PutObject", result, ALLOW, "Braket writes results.json")
    add("braket-service-linked-role", "s3:PutObject", job_task_result, ALLOW, "Braket writes a job's task results")
    add("jobs", "s3:GetObject", job_sources, ALLOW, "a job container reads its sources")
    add("jobs", "s3:PutObject", job_output, ALLOW, "a job container writes its output")
    # ... the break-glass administrator from outside: objects allowed.
    if config.break_glass_role_name is not None:
        for action, resource in (("s3:GetObject", result), ("s3:PutObject", result), ("s3:DeleteObject", result)):
            add("break-glass", action, resource, ALLOW, "the break-glass role from outside the VPC")
        add("break-glass", "s3:ListBucket", bucket, ALLOW, "the break-glass role lists from outside",
            context={"s3:prefix": "results/"})
    # ... any other administrator of the account from outside: objects refused.
    for action, resource in (("s3:GetObject", result), ("s3:PutObject", result), ("s3:GetObject", job_output)):
        add("account-admin", action, resource, DENY, "an account administrator outside the VPC", by=bucket_pin)
    # ... an account administrator inside the VPC: the Braket endpoint serves the stack's notebook
    # role only (grant_braket), and the S3 endpoint keeps data in the stack's bucket.
    for device in [*allowed, *others]:
        add("account-admin", "braket:CreateQuantumTask", (device, task), DENY,
            "an account administrator through the Braket endpoint", network=VPC, by="endpoint policy")
    add("account-admin", "braket:GetQuantumTask", task, DENY, "an account administrator through the Braket endpoint",
        network=VPC, by="endpoint policy")
    add("account-admin", "s3:PutObject", exfiltrated, DENY, "exfiltration by an administrator through the S3 endpoint",
        network=VPC, by="endpoint policy")
    add("account-admin", "s3:GetObject", result, ALLOW, "this account's principals use the stack's bucket in the VPC",
        network=VPC)

    # 4. Another account's credentials inside the VPC: every endpoint refuses them.
    promise = 4
    for device in config.allowed_devices:
        for form in device_forms(device, region, OUTSIDER_ACCOUNT):
            theirs = f"arn:{PARTITION}:braket:{region}:{OUTSIDER_ACCOUNT}:quantum-task/{TASK_ID}"
            add("outsider", "braket:CreateQuantumTask", (form, theirs), DENY,
                "another account's tasks through our Braket endpoint", network=VPC, by="endpoint policy")
    add("outsider", "braket:GetQuantumTask", task, DENY, "another account through our Braket endpoint", network=VPC)
    add("outsider", "s3:GetObject", result, DENY, "another account through our S3 endpoint", network=VPC)
    add("outsider", "s3:PutObject", exfiltrated, DENY, "exfiltration with the attacker's own credentials", network=VPC,
        by="endpoint policy")
    add("outsider", "s3:GetObject", result, DENY, "another account from outside")
    for name, (action, resource) in OUTSIDER_REQUESTS.items():
        if name in sim.endpoints:
            add("outsider", action, resource.format(region=region, outsider=OUTSIDER_ACCOUNT), DENY,
                f"another account through our {name} endpoint", network=VPC, by="endpoint policy")
    return rows


def _qpus_not_allowed(config) -> list[str]:
    from stacks.config import QPUS  # the QPUs the configuration knows

    return [qpu for qpu in QPUS if qpu not in config.allowed_devices]


def _device_forms(config) -> tuple[list[str], list[str]]:
    """Every form IAM may evaluate of the allowed devices, and of devices never allowed."""
    allowed = [form for arn in config.allowed_devices for form in device_forms(arn, config.region)]
    others = sorted(
        {form for arn in (*NEVER_ALLOWED_DEVICES, *_qpus_not_allowed(config)) for form in device_forms(arn, config.region)}
        - set(allowed)
    )
    return allowed, others


# Where the gateway's tasks write results (QuantumGateway's results_prefix) and its audit log goes.
GATEWAY_RESULT = "gateway/2026/0b5b1d53/results.json"
AUDIT_RECORD = "audit/2026/06/01/segment-000042.jsonl"


def gateway_rows(sim: AccessSimulation, config) -> list[Row]:
    """What the DMZ gateway's side in AWS promises (issue 17), as requests: ``config`` is an environment
    with ``submission="gateway"`` (``region``, ``allowed_devices``, ``gateway_certificate_subject_cn``).

    5. The gateway's role creates tasks on the allowed devices only, only through the Braket endpoint
       (over the private link), never hybrid jobs; the notebook role creates nothing.
    6. Only IAM Roles Anywhere, for a session of the stack's trust anchor (and the configured CN), becomes
       the gateway's role.
    7. The gateway reads and writes its results prefix of the results bucket, and only appends to the
       audit bucket, where nobody deletes a record or changes its retention."""
    region = config.region
    [results] = [n for n in sim.stack.resources("aws_s3_bucket") if n.startswith("Results_")]
    [audit] = [n for n in sim.stack.resources("aws_s3_bucket") if n.startswith("Audit_")]
    results, audit = sim.stack.arn("aws_s3_bucket", results), sim.stack.arn("aws_s3_bucket", audit)
    keys = {name.split("_")[0]: sim.stack.arn("aws_kms_key", name) for name in sim.stack.resources("aws_kms_key")}
    [anchor] = sim.stack.resources("aws_rolesanywhere_trust_anchor")
    anchor = sim.stack.arn("aws_rolesanywhere_trust_anchor", anchor)
    gateway_role = sim.stack.role("Gateway_Role").arn
    task = f"arn:{PARTITION}:braket:{region}:{ACCOUNT}:quantum-task/{TASK_ID}"
    job = f"arn:{PARTITION}:braket:{region}:{ACCOUNT}:job/{JOB_NAME}"
    record = f"{audit}/{AUDIT_RECORD}"
    allowed, others = _device_forms(config)
    endpoint_only = "BraketOnlyThrough"  # network.py: grant_braket's Deny without aws:SourceVpce
    rows: list[Row] = []
    promise = 0

    def add(who, action, resources, expected, why, network=None, context=None, by=None):
        resources = (resources,) if isinstance(resources, str) else tuple(resources)
        rows.append(Row(promise, who, action, resources, network, expected, why, context or {}, by))

    promise = 5
    for device in allowed:
        add("gateway", "braket:CreateQuantumTask", (device, task), ALLOW, "a task on an allowed device, through the endpoint")
        add("gateway", "braket:GetDevice", device, ALLOW, "an allowed device's properties")
        add("gateway", "braket:CreateJob", (device, job), DENY, "no hybrid job through the gateway", by="DenyHybridJobs")
        add("gateway", "braket:CreateQuantumTask", (device, task), DENY, "the gateway's credentials outside the private link",
            network=OUTSIDE, by=endpoint_only)
        add("gateway+kill-switch", "braket:CreateQuantumTask", (device, task), DENY, "the budget's kill switch fired")
        add("notebook", "braket:CreateQuantumTask", (device, task), DENY, "researchers submit through the gateway",
            by="DenyCreateTasksAndJobs")
        add("notebook", "braket:CreateQuantumTask", (device, task), DENY, "researchers submit through the gateway",
            network=OUTSIDE, by="DenyCreateTasksAndJobs")
        add("notebook", "braket:CreateJob", (device, job), DENY, "researchers submit through the gateway",
            by="DenyCreateTasksAndJobs")
    for device in others:
        add("gateway", "braket:CreateQuantumTask", (device, task), DENY, "a task on a device not allowed",
            by="DenyCreateTasksOnOtherDevices")
    for action in ("braket:GetQuantumTask", "braket:CancelQuantumTask", "braket:TagResource"):
        add("gateway", action, task, ALLOW, "the forwarder follows, tags and cancels its tasks")
        add("gateway", action, task, DENY, "the gateway's credentials outside the private link", network=OUTSIDE,
            by=endpoint_only)
    add("gateway", "braket:SearchSpendingLimits", "*", ALLOW, "what a QPU's limit has left")
    add("gateway", "braket:UpdateSpendingLimit", f"arn:{PARTITION}:braket:{region}:{ACCOUNT}:spending-limit/x", DENY,
        "never its own cap", by="DenySpendingLimitChanges")

    promise = 6
    source = {"aws:SourceArn": anchor}
    cn = getattr(config, "gateway_certificate_subject_cn", None)
    session = {**source, **({"aws:PrincipalTag/x509Subject/CN": cn} if cn else {})}
    for action in ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"):
        add("rolesanywhere.amazonaws.com", action, gateway_role, ALLOW, "a session of the stack's trust anchor",
            context=session)
    other_anchor = anchor.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    add("rolesanywhere.amazonaws.com", "sts:AssumeRole", gateway_role, DENY, "another trust anchor (another CA)",
        context={**session, "aws:SourceArn": other_anchor})
    if cn:
        add("rolesanywhere.amazonaws.com", "sts:AssumeRole", gateway_role, DENY,
            "a certificate of the CA with another subject CN",
            context={**session, "aws:PrincipalTag/x509Subject/CN": "researcher-laptop"})
        add("rolesanywhere.amazonaws.com", "sts:AssumeRole", gateway_role, DENY, "no subject CN mapped",
            context=source)
    add("rolesanywhere.amazonaws.com", "sts:AssumeRole", sim.stack.role("NotebookRole").arn, DENY,
        "Roles Anywhere becomes the gateway's role only", context=session)
    add("sagemaker.amazonaws.com", "sts:AssumeRole", gateway_role, DENY, "another service")
    add("account-admin", "sts:AssumeRole", gateway_role, DENY, "an administrator of the account")
    add("outsider", "sts:AssumeRole", gateway_role, DENY, "another account")

    promise = 7
    via_s3 = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    add("gateway", "s3:PutObject", f"{results}/{GATEWAY_RESULT}", ALLOW, "its tasks' results, through the S3 endpoint")
    add("gateway", "s3:GetObject", f"{results}/{GATEWAY_RESULT}", ALLOW, "reads its tasks' results back")
    add("gateway", "s3:GetObject", f"{results}/results/job-2026/{TASK_ID}/results.json", DENY, "researchers' results")
    add("gateway", "s3:GetObject", f"{results}/{GATEWAY_RESULT}", DENY, "its credentials outside the private link",
        network=OUTSIDE, by="DenyObjectAccessOutsideVpcEndpoints")
    add("gateway", "s3:PutObject", record, ALLOW, "appends an audit record, through the S3 endpoint")
    add("gateway", "kms:GenerateDataKey", keys["Audit"], ALLOW, "encrypts a record, through S3", context=via_s3)
    add("gateway", "kms:Decrypt", keys["Audit"], ALLOW, "completes a multipart record, through S3", context=via_s3)
    add("gateway", "kms:Decrypt", keys["Audit"], DENY, "the audit key outside S3")
    add("gateway", "s3:GetObject", record, DENY, "append only: the gateway reads no record")
    add("gateway", "s3:DeleteObject", record, DENY, "no delete marker hides a record", by="DenyDeletingRecords")
    add("gateway", "s3:PutObject", f"{audit}/elsewhere/x.jsonl", DENY, "outside the records prefix")
    add("gateway", "s3:PutObject", record, DENY, "a record in GOVERNANCE mode (which a bypass could delete)",
        context={"s3:object-lock-mode": "GOVERNANCE"}, by="DenyGovernanceModeRecords")
    for action, resource, by in (
        ("s3:DeleteObject", record, "DenyDeletingRecords"),
        ("s3:DeleteObjectVersion", record, "DenyDeletingRecords"),
        ("s3:BypassGovernanceRetention", record, "DenyDeletingRecords"),
        ("s3:PutBucketObjectLockConfiguration", audit, "DenyRetentionAndLifecycleChanges"),
        ("s3:PutLifecycleConfiguration", audit, "DenyRetentionAndLifecycleChanges"),
    ):
        add("account-admin", action, resource, DENY, "an administrator of the account: nobody shortens the audit log",
            by=by)
        if config.break_glass_role_name is not None:
            add("break-glass", action, resource, DENY, "not even the break-glass role", by=by)
    add("account-admin", "s3:GetObject", record, ALLOW, "auditors read the records (the bucket is not pinned)")
    # What no bucket policy can refuse without locking the account out: replacing the policy itself.
    # Object Lock's COMPLIANCE retention still holds every record then (S3 User Guide).
    add("account-admin", "s3:PutBucketPolicy", audit, ALLOW, "the documented residual: cap it with an SCP")
    add("notebook", "s3:PutObject", record, DENY, "only the gateway writes the audit log")
    add("outsider", "s3:GetObject", record, DENY, "another account")
    add("outsider", "s3:PutObject", record, DENY, "another account")
    return rows


def decide_rows(sim: AccessSimulation, rows: Iterable[Row]) -> list[str]:
    """Every row whose decision differs from the expected one (or that cannot be decided), readably."""
    wrong = []
    for row in rows:
        try:
            result = sim.decide_all(row.who, row.action, row.resources, row.context, network=row.network)
        except ValueError as exc:  # PolicyError, or a reference the stack cannot resolve
            wrong.append(f"{row}: cannot be decided: {exc}")
            continue
        got = ALLOW if result.allowed else DENY
        if got != row.expected:
            wrong.append(f"{row}: expected {row.expected}, got {result.decision.value} ({result.reason})")
        elif got == DENY and row.by is not None and row.by not in result.reason:
            wrong.append(f"{row}: denied, but not by the {row.by}: {result.decision.value} ({result.reason})")
    return wrong


def private_network_violations(stack_doc: dict, config) -> list[str]:
    """What a synthesized private stack violates of the private profile's promises ([] when none):
    ``private_network_rows`` decided as AWS would, plus the endpoints a VPC without internet needs."""
    try:
        sim = AccessSimulation(stack_doc, break_glass_role_name=config.break_glass_role_name)
    except ValueError as exc:
        return [f"the stack cannot be simulated: {exc}"]
    wrong = [
        f"no {name} endpoint: the VPC cannot reach {name}" for name in ("braket", "s3") if name not in sim.endpoints
    ]
    rows = private_network_rows(sim, config)
    if getattr(config, "gateway_submission", False):
        if "gateway" not in sim.callers:
            return wrong + ["submission='gateway', but the stack has no gateway role"]
        rows += gateway_rows(sim, config)
    return wrong + decide_rows(sim, rows)
