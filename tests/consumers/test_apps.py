"""Realistic consumer apps (tests/consumers/apps/), synthesized in the consumer venv, and their JSON.

Each test names its app; an app that failed to build or synthesize fails its tests with the
app's traceback.
"""

from __future__ import annotations

import re
from collections import Counter

from tests.consumers.tf import (
    actions,
    blocks,
    canonical,
    construct_path,
    document_statements,
    mentions,
    of_type,
    one,
    ref,
    resources_of,
    role_policies,
    role_statements,
    sid,
    under,
)

ROLE_PREFIX = "AmazonBraketServiceSageMakerNotebookRole"
IAM_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


def _role_name_checks(doc: dict) -> dict[str, str]:
    """Every notebook role's name (by Terraform name), checked against IAM's rules; names unique."""
    names = {
        key: body["name"]
        for key, body in of_type(doc, "aws_iam_role").items()
        if body["name"].startswith(ROLE_PREFIX)
    }
    for name in names.values():
        assert IAM_ROLE_NAME.match(name), f"not a valid IAM role name: {name!r} ({len(name)} characters)"
    duplicates = [n for n, count in Counter(names.values()).items() if count > 1]
    assert not duplicates, f"IAM role names must be unique in the account: {duplicates}"
    return names


def _inline_policy_names_unique(doc: dict, role: str) -> None:
    names = Counter(body["name"] for body in role_policies(doc, role).values())
    assert all(count == 1 for count in names.values()), f"role {role}: inline policy names repeat: {names}"


def _sids_unique(statements: list[dict], where: str) -> None:
    sids = Counter(sid(s) for s in statements if sid(s))
    assert all(count == 1 for count in sids.values()), f"{where}: repeated Sids {sids}"


def _role_of(doc: dict, path: str) -> str:
    """The Terraform name of the aws_iam_role created by the BraketNotebookRole at construct ``path``."""
    name, _ = one(under(doc, "aws_iam_role", path))
    return name


def _bucket(doc: dict, bucket_name: str) -> str:
    [name] = [k for k, b in of_type(doc, "aws_s3_bucket").items() if b["bucket"] == bucket_name]
    return name


def _notebook(doc: dict, notebook_name: str) -> str:
    [name] = [k for k, b in of_type(doc, "aws_sagemaker_notebook_instance").items() if b["name"] == notebook_name]
    return name


def _grants_bucket(statements: list[dict], bucket: str) -> bool:
    arn = ref("aws_s3_bucket", bucket, "arn")
    granted = {a for s in statements if any(arn in r for r in resources_of(s)) for a in actions(s)}
    return {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= granted


def _stops_notebook(statements: list[dict], notebook: str) -> bool:
    arn = ref("aws_sagemaker_notebook_instance", notebook, "arn")
    return any("sagemaker:StopNotebookInstance" in actions(s) and arn in resources_of(s) for s in statements)


# -- app 1: two teams in one stack ----------------------------------------------------------


def test_two_teams_in_one_stack_get_distinct_roles_and_policies(consumer_apps):
    doc = consumer_apps.stack("two_teams", "quantum-research-teams")
    assert len(of_type(doc, "aws_s3_bucket")) == len(of_type(doc, "aws_sagemaker_notebook_instance")) == 2
    names = _role_name_checks(doc)
    assert len(names) == 2
    for team in ("Alpha", "Beta"):
        role = _role_of(doc, f"quantum-research-teams/{team}NotebookRole")
        _inline_policy_names_unique(doc, role)
        _sids_unique(role_statements(doc, role), f"role of {team}")
        notebook = of_type(doc, "aws_sagemaker_notebook_instance")[_notebook(doc, f"amazon-braket-{team.lower()}")]
        assert notebook["role_arn"] == ref("aws_iam_role", role, "arn"), f"{team}'s notebook runs as another role"


def test_two_teams_in_one_stack_reach_only_their_own_bucket_and_notebook(consumer_apps):
    doc = consumer_apps.stack("two_teams", "quantum-research-teams")
    teams = {"Alpha": "alpha", "Beta": "beta"}
    for team, other in (("Alpha", "Beta"), ("Beta", "Alpha")):
        statements = role_statements(doc, _role_of(doc, f"quantum-research-teams/{team}NotebookRole"))
        own_bucket, other_bucket = (_bucket(doc, f"amazon-braket-{teams[t]}-results") for t in (team, other))
        own_notebook, other_notebook = (_notebook(doc, f"amazon-braket-{teams[t]}") for t in (team, other))
        assert _grants_bucket(statements, own_bucket) and _stops_notebook(statements, own_notebook)
        assert not mentions(statements, ref("aws_s3_bucket", other_bucket, "arn"))
        assert not mentions(statements, ref("aws_sagemaker_notebook_instance", other_notebook, "arn"))


# -- app 2: a wrapper construct used twice ---------------------------------------------------


def test_a_wrapper_construct_used_twice_gets_distinct_role_names(consumer_apps):
    doc = consumer_apps.stack("team_wrapper", "platform")
    names = _role_name_checks(doc)
    assert len(names) == 2, names
    for team in ("Chemistry", "Optimization"):
        role = _role_of(doc, f"platform/{team}/NotebookRole")
        _inline_policy_names_unique(doc, role)
        [notebook] = under(doc, "aws_sagemaker_notebook_instance", f"platform/{team}").values()
        assert notebook["role_arn"] == ref("aws_iam_role", role, "arn")
    lifecycles = of_type(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration").values()
    assert len({b["name"] for b in lifecycles}) == 2, [b["name"] for b in lifecycles]


# -- app 3: one role, two notebooks, two buckets ---------------------------------------------


def test_a_role_shared_by_two_notebooks_has_one_policy_with_every_grant(consumer_apps):
    doc = consumer_apps.stack("shared_role", "shared-role")
    role = _role_of(doc, "shared-role/SharedRole")
    policies = role_policies(doc, role)
    names = sorted(b["name"] for b in policies.values())
    assert len(policies) == 1, f"expected one inline policy on the shared role, got {names}"
    [policy] = policies.values()
    statements = document_statements(doc, policy["policy"])
    _sids_unique(statements, "the shared role's policy")
    assert all(sid(s) for s in statements if mentions(s, "aws_s3_bucket.")), "every S3 statement needs a Sid"
    for name in ("circuits", "annealing"):
        assert _grants_bucket(statements, _bucket(doc, f"amazon-braket-{name}-results")), name
        assert _stops_notebook(statements, _notebook(doc, f"amazon-braket-{name}")), name
    # The least-privilege statements are still in force next to the grants.
    assert any("braket:CreateQuantumTask" in actions(s) and s.get("effect", "Allow") == "Deny" for s in statements)
    for notebook in of_type(doc, "aws_sagemaker_notebook_instance").values():
        assert notebook["role_arn"] == ref("aws_iam_role", role, "arn")


# -- app 4: one bucket, two roles, a repeated grant ------------------------------------------


def test_a_bucket_granted_to_two_roles_reaches_both_without_duplicates(consumer_apps):
    doc = consumer_apps.stack("shared_bucket", "shared-bucket")
    bucket = _bucket(doc, "amazon-braket-shared-results")
    for role_id in ("AnalystsRole", "ResearchersRole"):
        role = _role_of(doc, f"shared-bucket/{role_id}")
        _inline_policy_names_unique(doc, role)
        statements = role_statements(doc, role)
        assert _grants_bucket(statements, bucket), f"{role_id} cannot reach the bucket"
        _sids_unique(statements, role_id)
        repeated = [c for c, count in Counter(map(canonical, statements)).items() if count > 1]
        assert not repeated, f"{role_id}: the same statement twice: {repeated}"


# -- app 5: SSE-S3, no budget ------------------------------------------------------------------


def test_sse_s3_without_a_budget_creates_no_key_and_no_budget(consumer_apps):
    doc = consumer_apps.stack("sse_s3", "sse-s3-team")
    present = {type_ for type_, _, _ in blocks(doc)}
    unexpected = present & {
        "aws_kms_key",
        "aws_kms_alias",
        "aws_budgets_budget",
        "aws_budgets_budget_action",
        "aws_sns_topic",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_iam_policy",
    }
    assert not unexpected, unexpected
    [encryption] = of_type(doc, "aws_s3_bucket_server_side_encryption_configuration").values()
    [rule] = encryption["rule"]
    default = rule["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "AES256" and not default.get("kms_master_key_id")
    [notebook] = of_type(doc, "aws_sagemaker_notebook_instance").values()
    assert "kms_key_id" not in notebook
    statements = [s for _, _, d in blocks(doc, "data") for s in d.get("statement", [])]
    assert not any(a.startswith("kms:") for s in statements for a in actions(s)), "no key, so no KMS grant"
    [role] = (k for k, b in of_type(doc, "aws_iam_role").items() if b["name"].startswith(ROLE_PREFIX))
    assert _grants_bucket(role_statements(doc, role), _bucket(doc, "amazon-braket-sse-s3-team"))


# -- app 6: an aliased provider ------------------------------------------------------------


def test_constructs_given_an_aliased_provider_put_every_block_on_it(consumer_apps):
    doc = consumer_apps.stack("aliased_provider", "two-regions")
    assert {"alias": "eu", "region": "eu-west-2"} in doc["provider"]["aws"]
    on_eu, on_default = Counter(), Counter()
    for kind in ("resource", "data"):
        for type_, name, body in blocks(doc, kind):
            path = construct_path(body)
            if path.startswith("two-regions/Eu"):
                assert body.get("provider") == "aws.eu", f"{kind} {type_}.{name} ({path}) is not on aws.eu"
                on_eu[(kind, type_)] += 1
            elif path.startswith("two-regions/Us"):
                assert "provider" not in body, f"{kind} {type_}.{name} ({path}) should use the default provider"
                on_default[(kind, type_)] += 1
    # Both teams are complete, data sources included.
    expected = {
        ("data", "aws_caller_identity"),
        ("data", "aws_partition"),
        ("data", "aws_region"),
        ("data", "aws_iam_policy_document"),
        ("resource", "aws_s3_bucket"),
        ("resource", "aws_kms_key"),
        ("resource", "aws_iam_role"),
        ("resource", "aws_iam_role_policy"),
        ("resource", "aws_sagemaker_notebook_instance"),
        ("resource", "aws_sagemaker_notebook_instance_lifecycle_configuration"),
        ("resource", "aws_budgets_budget"),
    }
    assert expected <= set(on_eu), expected - set(on_eu)
    assert on_eu == on_default, "the two teams differ in more than their provider"


# -- app 7: long names ------------------------------------------------------------------------


def test_roles_whose_default_names_would_collide_when_cut_get_distinct_names(consumer_apps):
    stack = "quantum-chemistry-and-materials-simulation-research"
    role_ids = ("AlgorithmsTeamNotebookRole", "MaterialsTeamNotebookRole")
    # The scenario: cut to 64 characters, the two default names are the same.
    assert len({f"{ROLE_PREFIX}-{stack}-{role_id}"[:64] for role_id in role_ids}) == 1
    doc = consumer_apps.stack("long_names", stack)
    names = _role_name_checks(doc)
    assert len(names) == 2
    for name in names.values():
        assert len(name) <= 64 and name.startswith(ROLE_PREFIX), name


# -- app 8: every feature -----------------------------------------------------------------------


def test_every_feature_synthesizes_and_passes_the_production_guardrails(consumer_apps):
    doc = consumer_apps.stack("all_features", "all-features")
    present = {type_ for type_, _, _ in blocks(doc)}
    assert {
        "aws_budgets_budget_action",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_notification",
        "aws_iam_role_policy_attachment",
        "aws_sagemaker_notebook_instance",
    } <= present
    [notebook] = of_type(doc, "aws_sagemaker_notebook_instance").values()
    assert notebook["platform_identifier"] == "notebook-al2023-v1"
    assert notebook["instance_metadata_service_configuration"]["minimum_instance_metadata_service_version"] == "2"
    assert notebook["direct_internet_access"] == "Disabled"


# -- app 9: a bank's private notebook ---------------------------------------------------------


def test_a_private_notebook_with_a_mirror_an_existing_key_and_a_central_role(consumer_apps):
    import base64

    doc = consumer_apps.stack("private_bank", "private-bank")
    notebooks = of_type(doc, "aws_sagemaker_notebook_instance")
    assert len(notebooks) == 2
    key = "arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    for notebook in notebooks.values():
        assert notebook["direct_internet_access"] == "Disabled" and notebook["subnet_id"] == "subnet-0private"
        assert notebook["kms_key_id"] == key
    central = [n for n in notebooks.values() if n["name"].endswith("centralnotebook")]
    assert central[0]["role_arn"].endswith(":role/service-role/AmazonBraketServiceSageMakerNotebookRole-central")
    for lifecycle in of_type(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration").values():
        assert 'PACKAGE_INDEX="https://pypi.bank.internal/simple"' in base64.b64decode(lifecycle["on_create"]).decode()
    [role] = of_type(doc, "aws_iam_role").values()  # only ours: the central one is not created
    assert role["permissions_boundary"] == "arn:aws:iam::123456789012:policy/QuantumBoundary"
    assert "aws_kms_key" not in doc["resource"]


# -- app 10: a sovereign team's own private network --------------------------------------------


def test_a_private_network_composed_from_the_installed_library(consumer_apps):
    doc = consumer_apps.stack("sovereign_network", "sovereign-network")
    subnets = of_type(doc, "aws_subnet")
    assert sorted(s["availability_zone"] for s in subnets.values()) == ["eu-west-2a", "eu-west-2b", "eu-west-2c"]
    assert sorted(s["cidr_block"] for s in subnets.values()) == ["10.80.0.0/24", "10.80.1.0/24", "10.80.2.0/24"]
    [notebook] = of_type(doc, "aws_sagemaker_notebook_instance").values()
    assert notebook["direct_internet_access"] == "Disabled" and notebook["subnet_id"].startswith("${aws_subnet.Network_Subnet2_")
    endpoints = of_type(doc, "aws_vpc_endpoint")
    services = sorted(e["service_name"].rsplit("}.", 1)[-1] for e in endpoints.values())
    assert services == sorted([
        "braket", "sts", "logs", "sagemaker.api", "kms", "notebook", "codeartifact.api", "codeartifact.repositories",
        "s3", "s3",  # the VPC's gateway and the premises' interface endpoint
    ])
    assert [e for e in endpoints.values() if e["service_name"].startswith("aws.sagemaker.")]  # the UI endpoint's form
    [attachment] = of_type(doc, "aws_ec2_transit_gateway_vpc_attachment").values()
    assert len(attachment["subnet_ids"]) == 3
    [bucket_policy] = of_type(doc, "aws_s3_bucket_policy").values()
    pin = [
        c for statement in document_statements(doc, bucket_policy["policy"]) for c in statement.get("condition", [])
        if c["variable"] == "aws:SourceVpce"
    ]
    assert len(pin) == 1 and len(pin[0]["values"]) == 2
    for kind in ("aws_internet_gateway", "aws_nat_gateway"):
        assert kind not in doc["resource"]
