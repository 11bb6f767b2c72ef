"""QuantumPrivateNetwork: a VPC with no path to the internet, where AWS APIs are reached through
VPC endpoints that carry their own policies, and an optional private link to the premises."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from .cdk import TerraformProvider
from .aws.cloudwatch_log_group import CloudwatchLogGroup
from .aws.customer_gateway import CustomerGateway
from .aws.data_aws_caller_identity import DataAwsCallerIdentity
from .aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from .aws.data_aws_partition import DataAwsPartition
from .aws.data_aws_region import DataAwsRegion
from .aws.default_security_group import DefaultSecurityGroup
from .aws.ec2_transit_gateway_vpc_attachment import Ec2TransitGatewayVpcAttachment
from .aws.flow_log import FlowLog
from .aws.iam_role import IamRole
from .aws.iam_role_policy import IamRolePolicy
from .aws.kms_key import KmsKey
from .aws.route import Route
from .aws.route_table import RouteTable
from .aws.route_table_association import RouteTableAssociation
from .aws.security_group import SecurityGroup
from .aws.subnet import Subnet
from .aws.vpc import Vpc
from .aws.vpc_endpoint import VpcEndpoint, VpcEndpointDnsOptions
from .aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from .aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from .aws.vpn_connection import VpnConnection
from .aws.vpn_connection_route import VpnConnectionRoute
from .aws.vpn_gateway import VpnGateway
from constructs import Construct

from ._kms import account_administers_key
from ._policy import PolicyStatements, service_trust
from ._scope import apply_provider, check_provider, path_name, path_sid
from ._validation import is_whole, require, require_texts
from .bucket import S3_OBJECT_ACTIONS, QuantumResultsBucket
from .gateway import QuantumAuditBucket
from .private_apis import PACKAGE_MIRROR_API_CALLS, PRIVATE_API_CALLS, endpoint_actions, endpoints_for

# Short names of the endpoints: "com.amazonaws.<region>.<name>", except the notebook's UI.
NOTEBOOK_UI = "notebook"
"""The Jupyter UI of notebook instances: ``aws.sagemaker.<region>.notebook``."""
S3 = "s3"
"""The S3 gateway endpoint (no charge, routes in the route table, no security group)."""
DEFAULT_INTERFACE_ENDPOINTS = tuple(name for name in endpoints_for(PRIVATE_API_CALLS) if name != S3)
"""What the notebook, ``jobs`` and the auto-stop call, and the notebook's UI (``private_apis.py``
says which call needs which)."""

BRAKET_CREATE_ACTIONS = ["braket:CreateJob", "braket:CreateQuantumTask"]
# What a role granted Braket through the endpoint may call besides creating tasks and jobs.
BRAKET_ENDPOINT_ACTIONS = [a for a in endpoint_actions("braket") if a not in BRAKET_CREATE_ACTIONS]
# What the S3 endpoint lets through for a granted bucket: its objects, listing them, and where it is.
S3_DATA_ACTIONS = sorted([*S3_OBJECT_ACTIONS, "s3:GetBucketLocation", "s3:ListBucket"])
HTTPS = 443
# Interface endpoints are billed per hour and per availability zone (AWS PrivateLink pricing,
# us-east-1: USD 0.01 per endpoint-AZ hour, data processed extra; the S3 gateway endpoint is free).
INTERFACE_ENDPOINT_USD_PER_AZ_HOUR = 0.01
HOURS_PER_MONTH = 730
# CloudWatch Logs and the checkov baseline (CKV_AWS_338) keep flow logs for at least a year.
_LOG_RETENTION_DAYS = (365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
_AZ = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_TGW = re.compile(r"^tgw-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class SiteToSiteVpn:
    """An AWS Site-to-Site VPN to the premises: customer gateway, virtual private gateway, a
    VPN connection with static routes to ``premises_cidrs``.

    :param customer_gateway_ip: the premises VPN device's public IPv4 address.
    :param bgp_asn: the premises' BGP ASN (1-4294967294; AWS needs one even for static routing).
    :param premises_cidrs: the premises networks that reach the endpoints (IPv4 CIDRs).
    """

    customer_gateway_ip: str
    bgp_asn: int
    premises_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class TransitGatewayLink:
    """An attachment of the VPC to an existing Transit Gateway that reaches the premises.

    :param transit_gateway_id: ``tgw-...``, shared with this account (AWS RAM) if it lives in another.
    :param premises_cidrs: the premises networks routed to the Transit Gateway (IPv4 CIDRs).
    """

    transit_gateway_id: str
    premises_cidrs: tuple[str, ...]


PremisesLink = Union[SiteToSiteVpn, TransitGatewayLink]


def endpoint_service_name(endpoint: str, region: str) -> str:
    """The VPC endpoint service name of ``endpoint`` (a short name such as ``braket``) in ``region``."""
    if endpoint == NOTEBOOK_UI:
        return f"aws.sagemaker.{region}.notebook"
    return f"com.amazonaws.{region}.{endpoint}"


def monthly_endpoint_cost_usd(interface_endpoints: int, availability_zones: int) -> float:
    """What the interface endpoints cost a month before data processing (S3's gateway is free)."""
    return round(interface_endpoints * availability_zones * INTERFACE_ENDPOINT_USD_PER_AZ_HOUR * HOURS_PER_MONTH, 2)


def _is_ipv4_network(value: object) -> bool:
    try:
        return isinstance(value, str) and isinstance(ipaddress.ip_network(value), ipaddress.IPv4Network)
    except ValueError:
        return False


def _check_premises_link(link: object, vpc_cidr: str) -> None:
    require(
        link is None or isinstance(link, (SiteToSiteVpn, TransitGatewayLink)),
        "premises_link",
        link,
        "None, a SiteToSiteVpn or a TransitGatewayLink",
    )
    if link is None:
        return
    cidrs = link.premises_cidrs
    require(
        isinstance(cidrs, (list, tuple)) and bool(cidrs) and all(_is_ipv4_network(c) for c in cidrs),
        "premises_link.premises_cidrs",
        cidrs,
        "one or more IPv4 CIDRs such as '192.168.0.0/16'",
    )
    vpc = ipaddress.ip_network(vpc_cidr)
    overlapping = [c for c in cidrs if ipaddress.ip_network(c).overlaps(vpc)]
    require(not overlapping, "premises_link.premises_cidrs", overlapping, f"networks outside the VPC's {vpc_cidr}")
    if isinstance(link, SiteToSiteVpn):
        try:
            address = ipaddress.ip_address(link.customer_gateway_ip)
        except ValueError:
            address = None
        require(
            isinstance(address, ipaddress.IPv4Address) and address.is_global,
            "premises_link.customer_gateway_ip",
            link.customer_gateway_ip,
            "the public IPv4 address of the premises' VPN device",
        )
        require(
            is_whole(link.bgp_asn) and 1 <= link.bgp_asn <= 4294967294,
            "premises_link.bgp_asn",
            link.bgp_asn,
            "a BGP ASN from 1 to 4294967294 (64512-65534 are private)",
        )
    else:
        require(
            isinstance(link.transit_gateway_id, str) and bool(_TGW.match(link.transit_gateway_id)),
            "premises_link.transit_gateway_id",
            link.transit_gateway_id,
            "a Transit Gateway id such as 'tgw-0123456789abcdef0'",
        )


class QuantumPrivateNetwork(Construct):
    """A VPC for workloads that must not reach, or be reached from, the internet.

    - Private subnets in ``availability_zones`` (no public IPs), one route table with the VPC's
      local route, the S3 gateway endpoint's routes and, with ``premises_link``, routes to the
      premises: no internet gateway, no NAT gateway, no route to either.
    - Interface endpoints with private DNS for ``interface_endpoints`` (default: Braket,
      SageMaker API, the notebook UI, STS, CloudWatch Logs, KMS) in every subnet, behind one
      security group that admits HTTPS only from the workloads' security group (and from the
      premises' networks).
    - Endpoint policies instead of the default full access: Braket only for the roles given to
      ``grant_braket`` (tasks and jobs only on their allowed devices), S3 only for the buckets
      given to ``grant_bucket``; each other interface endpoint only the calls ``private_apis.py``
      lists for it, by principals of this account.
    - The workloads' security group (``workload_security_group_id``, for the notebook) may send
      HTTPS to the endpoints and to S3's prefix list only.
    - The default security group allows nothing; flow logs (all traffic) go to a CloudWatch log
      group encrypted with its own KMS key (rotated), kept ``flow_log_retention_days``.

    :param availability_zones: two or more zone names of the stack's region, e.g.
        ``['us-east-1a', 'us-east-1b']`` (required: synthesis asks AWS nothing).
    :param cidr_block: the VPC's IPv4 range, /16 to /24. Default ``10.42.0.0/16``.
    :param interface_endpoints: short names of the interface endpoints (``com.amazonaws.<region>.<name>``;
        ``notebook`` is ``aws.sagemaker.<region>.notebook``). Default: ``DEFAULT_INTERFACE_ENDPOINTS``.
    :param premises_link: None (default), a ``SiteToSiteVpn`` or a ``TransitGatewayLink``.
    :param flow_log_retention_days: default 365 (at least a year).
    :param provider: the AWS provider of every resource and data source. Default: the stack's.

    Attributes: ``vpc_id``, ``subnet_ids``, ``workload_security_group_id``,
    ``endpoint_security_group_id``, ``interface_endpoints``, ``availability_zones``,
    ``endpoint_id(name)`` (``s3`` included); resources ``vpc``, ``route_table``,
    ``endpoints`` (name -> ``VpcEndpoint``), ``flow_log``, ``flow_log_group``.
    Grants: ``grant_braket(role)`` (also denies the role Braket from anywhere else),
    ``grant_bucket(bucket)``; pin a bucket with
    ``bucket.restrict_to_vpc_endpoints(network.s3_endpoint_ids, ...)``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        availability_zones: Sequence[str],
        cidr_block: str = "10.42.0.0/16",
        interface_endpoints: Sequence[str] = DEFAULT_INTERFACE_ENDPOINTS,
        premises_link: Optional[PremisesLink] = None,
        flow_log_retention_days: int = 365,
        provider: Optional[TerraformProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        check_provider(provider)
        require_texts("availability_zones", availability_zones, "zone names such as ['us-east-1a', 'us-east-1b']")
        require(
            len(availability_zones) >= 2
            and len(set(availability_zones)) == len(availability_zones)
            and all(_AZ.match(az) for az in availability_zones)
            and len({az[:-1] for az in availability_zones}) == 1,
            "availability_zones",
            list(availability_zones),
            "two or more distinct zones of one region, e.g. ['us-east-1a', 'us-east-1b']",
        )
        network = None
        if isinstance(cidr_block, str):
            try:
                network = ipaddress.ip_network(cidr_block)
            except ValueError:
                pass
        require(
            isinstance(network, ipaddress.IPv4Network) and 16 <= network.prefixlen <= 24 and network.is_private,
            "cidr_block",
            cidr_block,
            "a private IPv4 range from /16 to /24, e.g. '10.42.0.0/16'",
        )
        require_texts("interface_endpoints", interface_endpoints, "short endpoint names such as ['braket', 'sts']")
        known = [name for name in endpoints_for((*PRIVATE_API_CALLS, *PACKAGE_MIRROR_API_CALLS)) if name != S3]
        require(
            len(set(interface_endpoints)) == len(interface_endpoints) and all(name in known for name in interface_endpoints),
            "interface_endpoints",
            list(interface_endpoints),
            "distinct endpoints whose calls private_apis.py lists (their policies allow exactly those): "
            f"{', '.join(known)} ('s3' is the gateway endpoint, always created)",
        )
        require(
            "braket" in interface_endpoints,
            "interface_endpoints",
            list(interface_endpoints),
            "a list that includes 'braket' (the reason for this network)",
        )
        require(
            is_whole(flow_log_retention_days) and flow_log_retention_days in _LOG_RETENTION_DAYS,
            "flow_log_retention_days",
            flow_log_retention_days,
            f"one of CloudWatch Logs' retention periods of a year or more: {', '.join(map(str, _LOG_RETENTION_DAYS))}",
        )
        _check_premises_link(premises_link, cidr_block)

        self.availability_zones = tuple(availability_zones)
        self.interface_endpoints = tuple(interface_endpoints)
        self.premises_link = premises_link
        self._region = DataAwsRegion(self, "Region").region
        self._partition = DataAwsPartition(self, "Partition").partition
        self._account = DataAwsCallerIdentity(self, "Account").account_id

        self.vpc = Vpc(self, "Vpc", cidr_block=cidr_block, enable_dns_support=True, enable_dns_hostnames=True)
        # Without rules, the VPC's default security group admits and sends nothing.
        DefaultSecurityGroup(self, "DefaultSecurityGroup", vpc_id=self.vpc.id)
        self.route_table = RouteTable(self, "RouteTable", vpc_id=self.vpc.id)
        subnet_ranges = list(network.subnets(new_prefix=min(network.prefixlen + 4, 28)))
        self._subnets = []
        for index, zone in enumerate(self.availability_zones):
            subnet = Subnet(
                self,
                f"Subnet{index}",
                vpc_id=self.vpc.id,
                availability_zone=zone,
                cidr_block=str(subnet_ranges[index]),
                map_public_ip_on_launch=False,
            )
            RouteTableAssociation(self, f"Subnet{index}Routes", subnet_id=subnet.id, route_table_id=self.route_table.id)
            self._subnets.append(subnet)

        self._workloads = SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc_id=self.vpc.id,
            name=path_name("workloads", self, 255),
            description="Workloads of the private network: HTTPS to its VPC endpoints and S3 only",
        )
        self._endpoint_group = SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc_id=self.vpc.id,
            name=path_name("endpoints", self, 255),
            description="Interface VPC endpoints: HTTPS from the workloads and the premises only",
        )
        self._https(VpcSecurityGroupIngressRule, "EndpointsFromWorkloads", self._endpoint_group, "HTTPS from the workloads",
                    referenced_security_group_id=self._workloads.id)
        self._https(VpcSecurityGroupEgressRule, "WorkloadsToEndpoints", self._workloads, "HTTPS to the interface endpoints",
                    referenced_security_group_id=self._endpoint_group.id)

        self.endpoints: dict[str, VpcEndpoint] = {}
        self._endpoint_policies: dict[str, PolicyStatements] = {}
        self._braket_roles: list = []
        for name in self.interface_endpoints:
            policy = self._policy(name, self._initial_statements(name))
            self.endpoints[name] = VpcEndpoint(
                self,
                f"Endpoint-{name}",
                vpc_id=self.vpc.id,
                service_name=endpoint_service_name(name, self._region),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.subnet_ids,
                security_group_ids=[self._endpoint_group.id],
                policy=policy.json,
            )
        s3_policy = self._policy(S3, [self._deny_other_accounts(S3)])
        self.endpoints[S3] = VpcEndpoint(
            self,
            "Endpoint-s3",
            vpc_id=self.vpc.id,
            service_name=endpoint_service_name(S3, self._region),
            vpc_endpoint_type="Gateway",
            route_table_ids=[self.route_table.id],
            policy=s3_policy.json,
        )
        self._s3_interface = None
        if premises_link is not None:
            # Gateway endpoints serve no traffic from the premises (PrivateLink Guide, "Gateway
            # endpoints for Amazon S3"): the premises reach S3 through an interface endpoint, with
            # the same policy. Private DNS answers the premises' resolver only, so the VPC keeps
            # using the free gateway ("private DNS only for inbound endpoint", S3 User Guide).
            self._s3_interface = VpcEndpoint(
                self,
                "Endpoint-s3-premises",
                vpc_id=self.vpc.id,
                service_name=endpoint_service_name(S3, self._region),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                dns_options=VpcEndpointDnsOptions(private_dns_only_for_inbound_resolver_endpoint=True),
                subnet_ids=self.subnet_ids,
                security_group_ids=[self._endpoint_group.id],
                policy=s3_policy.json,
                depends_on=[self.endpoints[S3]],  # AWS refuses inbound-only DNS without the gateway
            )
        self._https(VpcSecurityGroupEgressRule, "WorkloadsToS3", self._workloads, "HTTPS to S3 through the gateway endpoint",
                    prefix_list_id=self.endpoints[S3].prefix_list_id)
        self._flow_logs(flow_log_retention_days)
        if premises_link is not None:
            self._link_premises(premises_link)
        apply_provider(self, provider)

    # -- attributes ---------------------------------------------------------
    @property
    def vpc_id(self) -> str:
        return self.vpc.id

    @property
    def subnet_ids(self) -> list[str]:
        return [subnet.id for subnet in self._subnets]

    @property
    def workload_security_group_id(self) -> str:
        """The security group of workloads (the notebook): HTTPS to the endpoints and S3 only."""
        return self._workloads.id

    @property
    def endpoint_security_group_id(self) -> str:
        return self._endpoint_group.id

    def endpoint_id(self, name: str) -> str:
        """The id (``vpce-...``, a Terraform reference) of the endpoint ``name``, e.g. ``s3`` or ``braket``."""
        require(name in self.endpoints, "name", name, f"one of {', '.join(sorted(self.endpoints))}")
        return self.endpoints[name].id

    @property
    def s3_endpoint_ids(self) -> list[str]:
        """The ids of the endpoints S3 requests come through: the gateway, and with a premises link the
        premises' interface endpoint (pin a bucket to these: ``restrict_to_vpc_endpoints``)."""
        return [self.endpoints[S3].id] + ([self._s3_interface.id] if self._s3_interface else [])

    @property
    def monthly_cost_usd(self) -> float:
        """The interface endpoints' hourly charges over a month (data processing, flow logs and a VPN are extra)."""
        interface = len(self.interface_endpoints) + (1 if self._s3_interface else 0)
        return monthly_endpoint_cost_usd(interface, len(self.availability_zones))

    # -- grants -------------------------------------------------------------
    def grant_braket(self, role) -> bool:
        """Let ``role`` (a ``BraketNotebookRole``, ``BraketJobsExecutionRole`` or ``QuantumGateway``)
        call Braket through the endpoint: create tasks (and jobs) on its allowed devices only (none
        for a role that may not create: ``may_create`` False), read, tag and cancel. False if granted
        before."""
        require(
            hasattr(role, "allowed_device_policy_arns") and hasattr(role, "role_arn"),
            "role",
            role,
            "a BraketNotebookRole, a BraketJobsExecutionRole or a QuantumGateway (a role with allowed devices)",
        )
        if any(granted is role for granted in self._braket_roles):
            return False
        self._braket_roles.append(role)
        sid = path_sid(role)
        principal = self._principal_is(role.role_arn)
        creates = getattr(role, "may_create", True)
        added = [
            self._endpoint_policies["braket"].add(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"{sid}UsesBraket",
                    actions=BRAKET_ENDPOINT_ACTIONS,
                    resources=["*"],
                    principals=[_ANYONE],
                    condition=[principal],
                )
            ),
            creates and self._endpoint_policies["braket"].add(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"{sid}CreatesOnAllowedDevices",
                    actions=BRAKET_CREATE_ACTIONS,
                    # IAM decides creation on the device and on the new task or job (the role's
                    # policy allows both for the same reason): the latter is this account's.
                    resources=[
                        *role.allowed_device_policy_arns,
                        f"arn:{self._partition}:braket:*:{self._account}:quantum-task/*",
                        f"arn:{self._partition}:braket:*:{self._account}:job/*",
                    ],
                    principals=[_ANYONE],
                    condition=[principal],
                )
            ),
            # The role's credentials reach Braket through this endpoint only: copied off the
            # instance, they create and read nothing (no aws:SourceVpce outside the VPC).
            role.add_to_policy(
                DataAwsIamPolicyDocumentStatement(
                    sid=f"BraketOnlyThrough{path_sid(self)}Endpoint",
                    effect="Deny",
                    actions=["braket:*"],
                    resources=["*"],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringNotEquals", variable="aws:SourceVpce", values=[self.endpoints["braket"].id]
                        )
                    ],
                )
            ),
        ]
        return any(added)

    def grant_bucket(self, bucket: QuantumResultsBucket | QuantumAuditBucket) -> bool:
        """Let this account's principals read, write and list ``bucket`` through the S3 endpoint (their
        identity policies and the bucket's policy still decide: an audit bucket refuses deletion)."""
        require(
            isinstance(bucket, (QuantumResultsBucket, QuantumAuditBucket)),
            "bucket",
            bucket,
            "a QuantumResultsBucket or a QuantumAuditBucket",
        )
        return self._endpoint_policies[S3].add(
            DataAwsIamPolicyDocumentStatement(
                sid=f"{path_sid(bucket)}Objects",
                actions=S3_DATA_ACTIONS,
                resources=[bucket.bucket_arn, f"{bucket.bucket_arn}/*"],
                principals=[_ANYONE],
                condition=[self._principal_in_account()],
            )
        )

    # -- internals ----------------------------------------------------------
    def _policy(self, name: str, statements: list[DataAwsIamPolicyDocumentStatement]) -> PolicyStatements:
        policy = PolicyStatements(self, f"Endpoint-{name}-Policy", statements)
        self._endpoint_policies[name] = policy
        return policy

    def _initial_statements(self, name: str) -> list[DataAwsIamPolicyDocumentStatement]:
        if name == "braket":  # grants add who may do what
            return [self._deny_other_accounts(name)]
        # The calls this endpoint carries, for this account's principals; their identity policies
        # still decide.
        return [
            DataAwsIamPolicyDocumentStatement(
                sid="ThisAccountsCalls",
                actions=list(endpoint_actions(name)),
                resources=["*"],
                principals=[_ANYONE],
                condition=[self._principal_in_account()],
            )
        ]

    def _deny_other_accounts(self, name: str) -> DataAwsIamPolicyDocumentStatement:
        """No principal of another account uses the endpoint, whatever a later grant allows."""
        return DataAwsIamPolicyDocumentStatement(
            sid="DenyOtherAccounts",
            effect="Deny",
            actions=["*"],
            resources=["*"],
            principals=[_ANYONE],
            condition=[
                DataAwsIamPolicyDocumentStatementCondition(
                    test="StringNotEquals", variable="aws:PrincipalAccount", values=[self._account]
                )
            ],
        )

    def _principal_in_account(self) -> DataAwsIamPolicyDocumentStatementCondition:
        return DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals", variable="aws:PrincipalAccount", values=[self._account]
        )

    @staticmethod
    def _principal_is(arn: str) -> DataAwsIamPolicyDocumentStatementCondition:
        # By condition, not Principal: an endpoint policy naming a role that does not exist yet fails.
        return DataAwsIamPolicyDocumentStatementCondition(test="ArnEquals", variable="aws:PrincipalArn", values=[arn])

    def _https(self, rule_type, id: str, group: SecurityGroup, description: str, **peer: str) -> None:
        """A rule of ``rule_type`` (ingress or egress) on ``group``: TCP 443 to or from ``peer``."""
        rule_type(self, id, security_group_id=group.id, ip_protocol="tcp", from_port=HTTPS, to_port=HTTPS,
                  description=description, **peer)

    def _flow_logs(self, retention_days: int) -> None:
        log_group_name = "/aws/vpc/flow-logs/" + "/".join(self.node.path.split("/"))
        log_group_arn = f"arn:{self._partition}:logs:{self._region}:{self._account}:log-group:{log_group_name}"
        # CloudWatch Logs encrypts with the key only for this log group (User Guide, "Encrypt log
        # data in CloudWatch Logs using AWS KMS": the kms:EncryptionContext:aws:logs:arn condition).
        key_policy = DataAwsIamPolicyDocument(
            self,
            "FlowLogKeyPolicy",
            statement=[
                account_administers_key(self._partition, self._account),
                DataAwsIamPolicyDocumentStatement(
                    sid="CloudWatchLogsEncryptsThisLogGroup",
                    actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    resources=["*"],  # in a key policy, "*" is this key
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[f"logs.{self._region}.amazonaws.com"]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnEquals", variable="kms:EncryptionContext:aws:logs:arn", values=[log_group_arn]
                        )
                    ],
                ),
            ],
        )
        key = KmsKey(
            self,
            "FlowLogKey",
            description=f"Encrypts the flow logs of {self.node.path}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy.json,
        )
        self.flow_log_group = CloudwatchLogGroup(
            self, "FlowLogGroup", name=log_group_name, retention_in_days=retention_days, kms_key_id=key.arn
        )
        # VPC User Guide, "IAM role for publishing flow logs to CloudWatch Logs": trusted by
        # vpc-flow-logs.amazonaws.com, for this account's flow logs only (confused deputy).
        trust = service_trust(
            self,
            "FlowLogTrust",
            service="vpc-flow-logs.amazonaws.com",
            account=self._account,
            source_arn=f"arn:{self._partition}:ec2:{self._region}:{self._account}:vpc-flow-log/*",
        )
        role = IamRole(
            self,
            "FlowLogRole",
            name=path_name("QuantumFlowLogs", self, 64),
            assume_role_policy=trust.json,
            description=f"Publishes the flow logs of {self.node.path} to its log group",
        )
        permissions = DataAwsIamPolicyDocument(
            self,
            "FlowLogPermissions",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="PublishToTheFlowLogGroup",
                    actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[self.flow_log_group.arn, f"{self.flow_log_group.arn}:*"],
                ),
                DataAwsIamPolicyDocumentStatement(
                    sid="FindTheFlowLogGroup",
                    actions=["logs:DescribeLogGroups"],
                    resources=["*"],  # it lists the account's groups: no resource-level permission
                ),
            ],
        )
        IamRolePolicy(self, "FlowLogRolePolicy", name="publish-flow-logs", role=role.name, policy=permissions.json)
        self.flow_log = FlowLog(
            self,
            "FlowLog",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
        )

    def _link_premises(self, link: PremisesLink) -> None:
        for index, cidr in enumerate(link.premises_cidrs):
            self._https(VpcSecurityGroupIngressRule, f"EndpointsFromPremises{index}", self._endpoint_group,
                        f"HTTPS from the premises ({cidr})", cidr_ipv4=cidr)
        if isinstance(link, SiteToSiteVpn):
            customer = CustomerGateway(
                self, "CustomerGateway", bgp_asn=str(link.bgp_asn), ip_address=link.customer_gateway_ip, type="ipsec.1"
            )
            gateway = VpnGateway(self, "VpnGateway", vpc_id=self.vpc.id)
            connection = VpnConnection(
                self,
                "VpnConnection",
                customer_gateway_id=customer.id,
                vpn_gateway_id=gateway.id,
                type="ipsec.1",
                static_routes_only=True,
            )
            for index, cidr in enumerate(link.premises_cidrs):
                VpnConnectionRoute(
                    self, f"VpnRoute{index}", vpn_connection_id=connection.id, destination_cidr_block=cidr
                )
                Route(
                    self,
                    f"PremisesRoute{index}",
                    route_table_id=self.route_table.id,
                    destination_cidr_block=cidr,
                    gateway_id=gateway.id,
                )
        else:
            attachment = Ec2TransitGatewayVpcAttachment(
                self,
                "TransitGatewayAttachment",
                transit_gateway_id=link.transit_gateway_id,
                vpc_id=self.vpc.id,
                subnet_ids=self.subnet_ids,
            )
            for index, cidr in enumerate(link.premises_cidrs):
                Route(
                    self,
                    f"PremisesRoute{index}",
                    route_table_id=self.route_table.id,
                    destination_cidr_block=cidr,
                    transit_gateway_id=link.transit_gateway_id,
                    depends_on=[attachment],
                )


_ANYONE = DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])
