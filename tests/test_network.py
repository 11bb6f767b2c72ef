"""QuantumPrivateNetwork, the bucket pinned to its S3 endpoint, and the private profile of the stacks."""

from __future__ import annotations

import dataclasses
import json

import pytest
from quantum_constructs import cdk as cdktf
from quantum_constructs.cdk import App, TerraformStack
from quantum_constructs.aws.provider import AwsProvider
from quantum_constructs import (
    BraketJobsExecutionRole,
    BraketNotebookRole,
    QuantumPrivateNetwork,
    QuantumResultsBucket,
    SiteToSiteVpn,
    TransitGatewayLink,
)
from quantum_constructs.network import DEFAULT_INTERFACE_ENDPOINTS, endpoint_service_name, monthly_endpoint_cost_usd
from quantum_constructs.private_apis import endpoint_actions

from stacks import ENVIRONMENTS, get_environment
from stacks.config import IONQ_FORTE_1, SV1, PremisesLink
from tests.synth_helpers import data_sources, only, resources, synth_json
from tests.synth_helpers import PRIVATE_ENVIRONMENTS

ZONES = ["us-east-1a", "us-east-1b"]
RIGETTI = "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3"


def build(**network_props):
    stack = TerraformStack(App(), "net")
    AwsProvider(stack, "aws", region="us-east-1")
    bucket = QuantumResultsBucket(stack, "Results", bucket_name="amazon-braket-network-test")
    role = BraketNotebookRole(stack, "NotebookRole", allowed_device_arns=[SV1, IONQ_FORTE_1])
    network = QuantumPrivateNetwork(stack, "Network", **{"availability_zones": ZONES, **network_props})
    return stack, network, bucket, role


@pytest.fixture(scope="module")
def granted():
    stack, network, bucket, role = build()
    jobs = BraketJobsExecutionRole(stack, "JobsRole", allowed_device_arns=[SV1], results_bucket=bucket)
    first = (network.grant_braket(role), network.grant_bucket(bucket))
    again = (network.grant_braket(role), network.grant_bucket(bucket))
    bucket.restrict_to_vpc_endpoints([network.endpoint_id("s3")], exempt_principal_arns=[jobs.role_arn])
    return {"doc": synth_json(stack), "first": first, "again": again, "network": network}


def endpoint(doc: dict, name: str) -> dict:
    [(_, found)] = [(k, v) for k, v in resources(doc, "aws_vpc_endpoint").items() if k.startswith(f"Network_Endpoint-{name.replace('.', '')}_")]
    return found


def named(doc: dict, type_: str, prefix: str, attribute: str, kind: str = "resource") -> str:
    """The Terraform reference to ``attribute`` of the one ``type_`` whose logical id starts with ``prefix``."""
    [name] = [n for n in doc[kind][type_] if n.startswith(prefix + "_")]
    return "${" + ("data." if kind == "data" else "") + f"{type_}.{name}.{attribute}" + "}"


def policy_of(doc: dict, reference: str) -> dict:
    name = reference.split(".")[2]
    return data_sources(doc, "aws_iam_policy_document")[name]


def test_a_vpc_without_any_path_to_the_internet(granted):
    doc = granted["doc"]
    vpc = only(resources(doc, "aws_vpc"))
    assert vpc["cidr_block"] == "10.42.0.0/16" and vpc["enable_dns_support"] and vpc["enable_dns_hostnames"]
    subnets = resources(doc, "aws_subnet").values()
    assert sorted(s["availability_zone"] for s in subnets) == ZONES
    assert sorted(s["cidr_block"] for s in subnets) == ["10.42.0.0/20", "10.42.16.0/20"]
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    for kind in ("aws_internet_gateway", "aws_nat_gateway", "aws_egress_only_internet_gateway", "aws_eip", "aws_route"):
        assert resources(doc, kind) == {}, kind
    assert "route" not in only(resources(doc, "aws_route_table"))
    assert len(resources(doc, "aws_route_table_association")) == 2
    default_group = only(resources(doc, "aws_default_security_group"))
    assert "ingress" not in default_group and "egress" not in default_group


def test_interface_endpoints_with_private_dns_behind_one_security_group(granted):
    doc = granted["doc"]
    assert set(DEFAULT_INTERFACE_ENDPOINTS) == {"braket", "sagemaker.api", "notebook", "sts", "logs", "kms"}
    group = "${aws_security_group.Network_EndpointSecurityGroup_" 
    for name in DEFAULT_INTERFACE_ENDPOINTS:
        found = endpoint(doc, name)
        assert found["vpc_endpoint_type"] == "Interface" and found["private_dns_enabled"] is True
        assert found["service_name"] == endpoint_service_name(name, named(doc, "aws_region", "Network_Region", "region", "data"))
        assert len(found["subnet_ids"]) == 2
        [sg] = found["security_group_ids"]
        assert sg.startswith(group)
        assert "policy" in found
    assert endpoint_service_name("notebook", "eu-west-2") == "aws.sagemaker.eu-west-2.notebook"
    s3 = endpoint(doc, "s3")
    assert s3["vpc_endpoint_type"] == "Gateway" and s3["route_table_ids"] == [named(doc, "aws_route_table", "Network_RouteTable", "id")]
    ingress = only(resources(doc, "aws_vpc_security_group_ingress_rule"))
    assert (ingress["from_port"], ingress["to_port"], ingress["ip_protocol"]) == (443, 443, "tcp")
    assert ingress["referenced_security_group_id"].startswith("${aws_security_group.Network_WorkloadSecurityGroup_")
    egress = sorted(resources(doc, "aws_vpc_security_group_egress_rule").values(), key=lambda r: r["description"])
    assert [(e["from_port"], e["to_port"], e["description"]) for e in egress] == [
        (443, 443, "HTTPS to S3 through the gateway endpoint"),
        (443, 443, "HTTPS to the interface endpoints"),
    ]
    assert egress[1]["referenced_security_group_id"].startswith(group)
    assert egress[0]["prefix_list_id"] == named(doc, "aws_vpc_endpoint", "Network_Endpoint-s3", "prefix_list_id")


def test_the_braket_endpoint_admits_the_granted_role_on_its_devices_only(granted):
    doc = granted["doc"]
    assert granted["first"] == (True, True) and granted["again"] == (False, False)
    statements = {s.get("sid"): s for s in policy_of(doc, endpoint(doc, "braket")["policy"])["statement"]}
    uses = statements["NotebookRoleUsesBraket"]["actions"]
    assert uses == [a for a in endpoint_actions("braket") if not a.startswith("braket:Create")]
    assert {"braket:GetQuantumTask", "braket:TagResource", "braket:SearchSpendingLimits"} <= set(uses)
    assert set(statements) == {"DenyOtherAccounts", "NotebookRoleUsesBraket", "NotebookRoleCreatesOnAllowedDevices"}
    create = statements["NotebookRoleCreatesOnAllowedDevices"]
    assert create["actions"] == ["braket:CreateJob", "braket:CreateQuantumTask"]
    assert create["resources"][:2] == [
        "arn:aws:braket:*:*:device/quantum-simulator/amazon/sv1",
        "arn:aws:braket:us-east-1:*:device/qpu/ionq/Forte-1",
    ]
    # The new task or job, which IAM also decides creation on: this account's only.
    assert [r.split(":")[-1] for r in create["resources"][2:]] == ["quantum-task/*", "job/*"]
    assert all("${data.aws_caller_identity.Network_Account_" in r for r in create["resources"][2:])
    # Copied off the instance, the role's credentials reach no Braket API.
    role_statements = {
        st["sid"]: st for n, d in data_sources(doc, "aws_iam_policy_document").items()
        if n.startswith("NotebookRole_PolicyDocument") for st in d["statement"]
    }
    deny = role_statements["BraketOnlyThroughNetworkEndpoint"]
    assert deny["effect"] == "Deny" and deny["actions"] == ["braket:*"]
    assert deny["condition"] == [{"test": "StringNotEquals", "variable": "aws:SourceVpce",
                                  "values": [named(doc, "aws_vpc_endpoint", "Network_Endpoint-braket", "id")]}]
    for sid in ("NotebookRoleUsesBraket", "NotebookRoleCreatesOnAllowedDevices"):
        [condition] = statements[sid]["condition"]
        assert condition["variable"] == "aws:PrincipalArn" and condition["test"] == "ArnEquals"
        assert condition["values"][0].startswith("${aws_iam_role.NotebookRole_")
    assert statements["DenyOtherAccounts"]["effect"] == "Deny"


def test_the_s3_endpoint_admits_the_granted_bucket_only(granted):
    doc = granted["doc"]
    statements = policy_of(doc, endpoint(doc, "s3")["policy"])["statement"]
    allows = [s for s in statements if s.get("effect", "Allow") == "Allow"]
    [objects] = allows
    bucket_arn = named(doc, "aws_s3_bucket", "Results_Bucket", "arn")
    assert objects["resources"] == [bucket_arn, bucket_arn + "/*"]
    assert "s3:GetObject*" in objects["actions"] and "s3:PutObject*" in objects["actions"]
    [condition] = objects["condition"]
    assert condition["variable"] == "aws:PrincipalAccount"


def test_the_other_endpoints_admit_this_account_only(granted):
    doc = granted["doc"]
    for name in ("sts", "logs", "kms", "sagemaker.api", "notebook"):
        [statement] = policy_of(doc, endpoint(doc, name)["policy"])["statement"]
        assert statement["actions"] == list(endpoint_actions(name)) and statement["sid"] == "ThisAccountsCalls"
        assert statement["condition"][0]["variable"] == "aws:PrincipalAccount"
    assert endpoint_actions("sts") == ("sts:GetCallerIdentity",)
    assert endpoint_actions("notebook") == ("sagemaker:CreatePresignedNotebookInstanceUrl",)
    assert "sagemaker:StopNotebookInstance" in endpoint_actions("sagemaker.api")


def test_the_bucket_refuses_object_access_from_outside_its_endpoint(granted):
    doc = granted["doc"]
    policy = only(resources(doc, "aws_s3_bucket_policy"))["policy"]
    statements = {s["sid"]: s for s in policy_of(doc, policy)["statement"]}
    pinned = statements["DenyObjectAccessOutsideVpcEndpoints"]
    assert pinned["effect"] == "Deny" and pinned["principals"] == [{"type": "*", "identifiers": ["*"]}]
    assert "s3:GetObject*" in pinned["actions"] and "s3:PutBucketPolicy" not in pinned["actions"]
    conditions = {c["variable"]: c for c in pinned["condition"]}
    assert conditions["aws:SourceVpce"] == {
        "test": "StringNotEquals",
        "variable": "aws:SourceVpce",
        "values": [named(doc, "aws_vpc_endpoint", "Network_Endpoint-s3", "id")],
    }
    exempt = conditions["aws:PrincipalArn"]
    assert exempt["test"] == "ArnNotEquals"
    assert exempt["values"][0].endswith(":role/aws-service-role/braket.amazonaws.com/AWSServiceRoleForAmazonBraket")
    assert exempt["values"][1].startswith("${aws_iam_role.JobsRole_")
    assert "DenyInsecureTransport" in statements


def test_pinning_a_bucket_twice_to_other_endpoints_is_refused(granted):
    stack, network, bucket, _ = build()
    bucket.restrict_to_vpc_endpoints([network.endpoint_id("s3")])
    with pytest.raises(ValueError, match="statement.sid"):
        bucket.restrict_to_vpc_endpoints(["vpce-0123456789abcdef0"])
    with pytest.raises(ValueError, match="endpoint_ids"):
        QuantumResultsBucket(stack, "Other", bucket_name="amazon-braket-network-other").restrict_to_vpc_endpoints([])


def test_flow_logs_to_an_encrypted_log_group_kept_a_year(granted):
    doc = granted["doc"]
    flow = only(resources(doc, "aws_flow_log"))
    assert flow["traffic_type"] == "ALL" and flow["vpc_id"] == named(doc, "aws_vpc", "Network_Vpc", "id")
    group = only(resources(doc, "aws_cloudwatch_log_group"))
    assert group["retention_in_days"] == 365 and group["kms_key_id"].startswith("${aws_kms_key.Network_FlowLogKey_")
    assert group["name"] == "/aws/vpc/flow-logs/net/Network"
    key_policy = [d for n, d in data_sources(doc, "aws_iam_policy_document").items() if n.startswith("Network_FlowLogKeyPolicy")]
    logs = next(s for s in key_policy[0]["statement"] if s.get("sid") == "CloudWatchLogsEncryptsThisLogGroup")
    assert logs["condition"][0]["variable"] == "kms:EncryptionContext:aws:logs:arn"
    assert logs["condition"][0]["values"][0].endswith(":log-group:/aws/vpc/flow-logs/net/Network")
    trust = next(d for n, d in data_sources(doc, "aws_iam_policy_document").items() if n.startswith("Network_FlowLogTrust"))
    [statement] = trust["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["vpc-flow-logs.amazonaws.com"]}]
    assert {c["variable"] for c in statement["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}


def test_a_site_to_site_vpn_to_the_premises():
    stack, _, _, _ = build(premises_link=SiteToSiteVpn("8.8.4.4", 65010, ("192.168.0.0/16", "172.16.8.0/24")))
    doc = synth_json(stack)
    customer = only(resources(doc, "aws_customer_gateway"))
    assert (customer["ip_address"], customer["bgp_asn"], customer["type"]) == ("8.8.4.4", "65010", "ipsec.1")
    connection = only(resources(doc, "aws_vpn_connection"))
    assert connection["static_routes_only"] is True
    assert sorted(r["destination_cidr_block"] for r in resources(doc, "aws_vpn_connection_route").values()) == ["172.16.8.0/24", "192.168.0.0/16"]
    routes = resources(doc, "aws_route").values()
    assert sorted(r["destination_cidr_block"] for r in routes) == ["172.16.8.0/24", "192.168.0.0/16"]
    assert all(r["gateway_id"].startswith("${aws_vpn_gateway.") for r in routes)
    premises_ingress = [r for r in resources(doc, "aws_vpc_security_group_ingress_rule").values() if "cidr_ipv4" in r]
    assert sorted(r["cidr_ipv4"] for r in premises_ingress) == ["172.16.8.0/24", "192.168.0.0/16"]
    assert all((r["from_port"], r["to_port"]) == (443, 443) for r in premises_ingress)
    # S3's gateway endpoint serves nothing from the premises: an interface endpoint does, same policy.
    premises_s3 = endpoint(doc, "s3-premises")
    assert premises_s3["vpc_endpoint_type"] == "Interface" and premises_s3["private_dns_enabled"] is True
    assert premises_s3["dns_options"] == {"private_dns_only_for_inbound_resolver_endpoint": True}
    assert premises_s3["policy"] == endpoint(doc, "s3")["policy"]
    assert premises_s3["depends_on"] == [named(doc, "aws_vpc_endpoint", "Network_Endpoint-s3", "x")[2:-3]]


def test_a_transit_gateway_attachment_to_the_premises():
    stack, _, _, _ = build(premises_link=TransitGatewayLink("tgw-0123456789abcdef0", ("192.168.0.0/16",)))
    doc = synth_json(stack)
    attachment = only(resources(doc, "aws_ec2_transit_gateway_vpc_attachment"))
    assert attachment["transit_gateway_id"] == "tgw-0123456789abcdef0" and len(attachment["subnet_ids"]) == 2
    route = only(resources(doc, "aws_route"))
    assert route["transit_gateway_id"] == "tgw-0123456789abcdef0" and route["destination_cidr_block"] == "192.168.0.0/16"
    assert route["depends_on"] == [named(doc, "aws_ec2_transit_gateway_vpc_attachment", "Network_TransitGatewayAttachment", "x")[2:-3]]
    assert resources(doc, "aws_vpn_gateway") == {}


@pytest.mark.parametrize(
    "props, prop",
    [
        ({"availability_zones": ["us-east-1a"]}, "availability_zones"),
        ({"availability_zones": ["us-east-1a", "us-west-2b"]}, "availability_zones"),
        ({"availability_zones": ["us-east-1a", "us-east-1a"]}, "availability_zones"),
        ({"availability_zones": "us-east-1a"}, "availability_zones"),
        ({"cidr_block": "52.0.0.0/16"}, "cidr_block"),
        ({"cidr_block": "10.0.0.0/8"}, "cidr_block"),
        ({"cidr_block": "10.0.0.0/33"}, "cidr_block"),
        ({"interface_endpoints": ["sts"]}, "interface_endpoints"),
        ({"interface_endpoints": ["braket", "s3"]}, "interface_endpoints"),
        ({"interface_endpoints": ["braket", "braket"]}, "interface_endpoints"),
        ({"interface_endpoints": ["braket", "ssm"]}, "interface_endpoints"),
        ({"flow_log_retention_days": 30}, "flow_log_retention_days"),
        ({"premises_link": "vpn"}, "premises_link"),
        ({"premises_link": SiteToSiteVpn("10.1.2.3", 65000, ("192.168.0.0/16",))}, "premises_link.customer_gateway_ip"),
        ({"premises_link": SiteToSiteVpn("8.8.8.8", 0, ("192.168.0.0/16",))}, "premises_link.bgp_asn"),
        ({"premises_link": SiteToSiteVpn("8.8.8.8", 65000, ("10.42.1.0/24",))}, "premises_link.premises_cidrs"),
        ({"premises_link": SiteToSiteVpn("8.8.8.8", 65000, ())}, "premises_link.premises_cidrs"),
        ({"premises_link": TransitGatewayLink("tgw-xyz", ("192.168.0.0/16",))}, "premises_link.transit_gateway_id"),
    ],
)
def test_bad_props_name_the_prop(props, prop):
    with pytest.raises(ValueError, match=f"^{prop.replace('.', '[.]')}="):
        build(**props)


def test_grant_braket_needs_a_role_with_devices():
    _, network, bucket, _ = build()
    with pytest.raises(ValueError, match="^role="):
        network.grant_braket("arn:aws:iam::123456789012:role/x")
    with pytest.raises(ValueError, match="^bucket="):
        network.grant_bucket("amazon-braket-x")
    with pytest.raises(ValueError, match="^name="):
        network.endpoint_id("ec2")


def test_an_aliased_provider_reaches_every_resource():
    stack = TerraformStack(App(), "aliased")
    AwsProvider(stack, "aws", region="us-east-1")
    london = AwsProvider(stack, "london", region="eu-west-2", alias="london")
    QuantumPrivateNetwork(stack, "Network", availability_zones=["eu-west-2a", "eu-west-2b"], provider=london)
    doc = synth_json(stack)
    for kind in ("resource", "data"):
        for type_, items in doc[kind].items():
            for name, item in items.items():
                assert item.get("provider") == "aws.london", (type_, name)


def test_monthly_cost_counts_endpoints_per_zone():
    assert monthly_endpoint_cost_usd(6, 2) == 87.6
    assert monthly_endpoint_cost_usd(8, 2) == 116.8
    assert monthly_endpoint_cost_usd(6, 3) == 131.4


# -- the stacks ----------------------------------------------------------------------------------
PRIVATE = PRIVATE_ENVIRONMENTS


def test_prod_and_staging_are_private_and_dev_is_public():
    assert PRIVATE == ["prod", "staging"]
    assert get_environment("dev").network == "public"


@pytest.mark.parametrize("env", PRIVATE)
def test_private_stacks_put_the_notebook_in_a_private_subnet(env, stack_json):
    doc = stack_json[env]
    notebook = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert notebook["direct_internet_access"] == "Disabled"
    assert notebook["subnet_id"].startswith("${aws_subnet.Network_Subnet0_")
    assert notebook["security_groups"] == ["${" + "aws_security_group." + next(
        n for n in resources(doc, "aws_security_group") if n.startswith("Network_WorkloadSecurityGroup")) + ".id}"]
    assert len(resources(doc, "aws_vpc_endpoint")) == len(DEFAULT_INTERFACE_ENDPOINTS) + 1 + 2  # + S3, + CodeArtifact's two
    assert only(resources(doc, "aws_flow_log"))["traffic_type"] == "ALL"
    policy = json.dumps(data_sources(doc, "aws_iam_policy_document"))
    assert "aws:SourceVpce" in policy and f"role/{get_environment(env).break_glass_role_name}" in policy


def test_dev_is_unchanged_by_the_private_profile(stack_json):
    doc = stack_json["dev"]
    assert only(resources(doc, "aws_sagemaker_notebook_instance"))["direct_internet_access"] == "Enabled"
    for kind in ("aws_vpc", "aws_vpc_endpoint", "aws_subnet", "aws_flow_log", "aws_security_group"):
        assert resources(doc, kind) == {}, kind
    assert "aws:SourceVpce" not in json.dumps(doc)


# -- configuration ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, prop",
    [
        ({"network": "vpc"}, "network"),
        ({"premises_link": PremisesLink(("192.168.0.0/16",), transit_gateway_id="tgw-0123456789abcdef0")}, "premises_link"),
        ({"break_glass_role_name": "admin"}, "break_glass_role_name"),
        ({"package_mirror_domain": "quantum"}, "package_mirror_domain"),
    ],
)
def test_private_only_settings_are_refused_in_a_public_environment(changes, prop):
    with pytest.raises(ValueError, match=f"^{prop}="):
        dataclasses.replace(get_environment("dev"), **changes)


def test_a_private_environment_refuses_a_qpu_in_another_region():
    prod = get_environment("prod")
    with pytest.raises(ValueError, match=r"^allowed_devices=\['arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3'\].*us-east-1"):
        dataclasses.replace(
            prod,
            allowed_devices=(*prod.allowed_devices, RIGETTI),
            spending_limits_usd={**prod.spending_limits_usd, RIGETTI: 100},
        )
    # Public, the same device is fine: its calls go over the internet to us-west-1.
    dataclasses.replace(get_environment("dev"), allowed_devices=(SV1, RIGETTI), spending_limits_usd={RIGETTI: 0})


def test_one_package_source_and_one_premises_link():
    with pytest.raises(ValueError, match="^package_index_url="):
        dataclasses.replace(get_environment("prod"), package_index_url="https://pypi.internal.example/simple")
    with pytest.raises(ValueError, match="^premises_link="):
        PremisesLink(("192.168.0.0/16",), vpn_customer_gateway_ip="8.8.8.8", vpn_bgp_asn=65000, transit_gateway_id="tgw-0123456789abcdef0")
    with pytest.raises(ValueError, match="^premises_link="):
        PremisesLink(("192.168.0.0/16",))
    with pytest.raises(ValueError, match="^break_glass_role_name="):
        dataclasses.replace(get_environment("prod"), break_glass_role_name="no spaces allowed")


@pytest.mark.parametrize(
    "link, expected",
    [
        (PremisesLink(("192.168.0.0/16",), vpn_customer_gateway_ip="8.8.8.8", vpn_bgp_asn=65000), "aws_vpn_connection"),
        (PremisesLink(("192.168.0.0/16",), transit_gateway_id="tgw-0123456789abcdef0"), "aws_ec2_transit_gateway_vpc_attachment"),
    ],
)
def test_a_configured_premises_link_reaches_the_stack(link, expected):
    from stacks.quantum_stack import QuantumStack

    config = dataclasses.replace(get_environment("staging"), premises_link=link)
    stack = QuantumStack(cdktf.Testing.app(), config)
    doc = json.loads(cdktf.Testing.synth(stack))
    assert len(resources(doc, expected)) == 1
    assert only(resources(doc, "aws_route"))["destination_cidr_block"] == "192.168.0.0/16"
    # The bucket takes object requests through either S3 endpoint: the VPC's gateway, the premises' interface.
    pin = next(
        c for d in data_sources(doc, "aws_iam_policy_document").values() for st in d["statement"]
        for c in st.get("condition", []) if c["variable"] == "aws:SourceVpce" and st.get("sid") == "DenyObjectAccessOutsideVpcEndpoints"
    )
    assert pin["values"] == [named(doc, "aws_vpc_endpoint", "Network_Endpoint-s3", "id"),
                             named(doc, "aws_vpc_endpoint", "Network_Endpoint-s3-premises", "id")]
    assert stack.network.monthly_cost_usd == monthly_endpoint_cost_usd(8 + 1, 2)


@pytest.mark.parametrize("env", PRIVATE)
def test_the_notebook_role_gets_no_network_interface_permission(env, stack_json):
    """SageMaker Developer Guide, "API Permissions Reference": CreateNotebookInstance in a VPC needs
    ec2:CreateNetworkInterface of the caller (the deployer, stacks/deployer_policy.py), and its
    execution role's section lists none: notebook code gets no EC2 write."""
    actions = {
        a for name, d in data_sources(stack_json[env], "aws_iam_policy_document").items()
        if name.startswith("NotebookRole_PolicyDocument") for st in d["statement"] for a in st.get("actions", [])
    }
    assert not [a for a in actions if a.startswith("ec2:")]


def test_the_readme_states_each_environments_endpoint_cost(stack_json):
    """README "What it costs": one row per environment, recomputed from the synthesized endpoints."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for env, doc in stack_json.items():
        endpoints = resources(doc, "aws_vpc_endpoint").values()
        interface = sum(1 for e in endpoints if e["vpc_endpoint_type"] == "Interface")
        zones = len({s["availability_zone"] for s in resources(doc, "aws_subnet").values()})
        cost = monthly_endpoint_cost_usd(interface, zones)
        shape = f"{interface} x {zones}" if interface else "0"
        [row] = [line for line in readme.splitlines() if line.startswith(f"| {env} | ")]
        assert row.endswith(f"| {shape} | ${cost:.2f} |"), (row, interface, zones, cost)
