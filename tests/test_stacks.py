"""What every synthesized environment must show (issue 2's acceptance list)."""

import base64
import json

import pytest
from braket.devices import Devices
from quantum_constructs import cdk as cdktf
from quantum_constructs import device_policy_arn

from stacks import ENVIRONMENTS, get_environment
from stacks.config import OUTPUT_NAMES
from tests.synth_helpers import data_sources, only, policy_statements, resources

QPU = ":device/qpu/"


def named(doc: dict, type_: str, prefix: str) -> dict:
    """The only resource of ``type_`` whose Terraform name starts with ``prefix`` (e.g. ``Results_``):
    a gateway environment has an audit bucket beside the results bucket."""
    return only({name: r for name, r in resources(doc, type_).items() if name.startswith(prefix)})


def test_every_environment_is_synthesized(stack_json):
    assert set(stack_json) == {"dev", "staging", "prod"} == set(ENVIRONMENTS)


def test_results_bucket_is_braket_named_private_encrypted_versioned(env_name, stack_json, synthesized):
    doc, text = stack_json[env_name], synthesized[env_name]
    bucket = named(doc, "aws_s3_bucket", "Results_")
    assert bucket["bucket"].startswith("amazon-braket-")
    assert cdktf.Testing.to_have_resource_with_properties(
        text,
        "aws_s3_bucket_public_access_block",
        {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
    )
    sse = named(doc, "aws_s3_bucket_server_side_encryption_configuration", "Results_")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms" and "aws_kms_key" in default["kms_master_key_id"]
    key_name = default["kms_master_key_id"].split(".")[1]
    assert resources(doc, "aws_kms_key")[key_name]["enable_key_rotation"] is True
    versioning = named(doc, "aws_s3_bucket_versioning", "Results_")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    assert cdktf.Testing.to_have_resource_with_properties(
        text, "aws_s3_bucket_ownership_controls", {"rule": {"object_ownership": "BucketOwnerEnforced"}}
    )


def test_bucket_policy_denies_requests_without_tls(env_name, stack_json):
    doc = stack_json[env_name]
    policies = resources(doc, "aws_s3_bucket_policy")
    # The results bucket, and in a gateway environment the audit bucket (tests/test_gateway_constructs.py).
    assert len(policies) == (2 if get_environment(env_name).gateway_submission else 1)
    for name, policy in policies.items():
        document_name = policy["policy"].split(".")[2]
        statements = data_sources(doc, "aws_iam_policy_document")[document_name]["statement"]
        if name.startswith("Results_"):
            # Private environments add the VPC endpoint pin (tests/test_network.py); the TLS statement is the same.
            assert len(statements) == (2 if get_environment(env_name).private_network else 1)
        [deny] = [s for s in statements if s["sid"] == "DenyInsecureTransport"]
        assert deny["effect"] == "Deny" and deny["actions"] == ["s3:*"]
        assert deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
        assert deny["principals"] == [{"type": "*", "identifiers": ["*"]}]


def test_notebook_role_is_a_sagemaker_service_role(env_name, stack_json):
    doc = stack_json[env_name]
    role = next(r for name, r in resources(doc, "aws_iam_role").items() if name.startswith("NotebookRole"))
    assert role["path"] == "/service-role/"
    assert role["name"].startswith("AmazonBraketServiceSageMakerNotebookRole")
    trust_name = role["assume_role_policy"].split(".")[2]
    [trust] = data_sources(doc, "aws_iam_policy_document")[trust_name]["statement"]
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["sagemaker.amazonaws.com"]}]


def test_no_statement_allows_everything_or_a_whole_service(env_name, stack_json):
    allows = [s for s in policy_statements(stack_json[env_name]) if s.get("effect", "Allow") == "Allow"]
    assert allows
    for statement in allows:
        for action in statement["actions"]:
            assert action != "*" and not action.endswith(":*"), statement


def test_braket_create_actions_only_on_configured_devices(env_name, stack_json):
    config = get_environment(env_name)
    documents = data_sources(stack_json[env_name], "aws_iam_policy_document")
    creating = {
        name: [s for s in document["statement"] if {"braket:CreateQuantumTask", "braket:CreateJob"} & set(s["actions"])]
        for name, document in documents.items()
    }
    creating = {name: statements for name, statements in creating.items() if statements}
    # The notebook role's and the jobs role's policies, and the budget's kill switch (which denies all);
    # in a private environment also the Braket endpoint's policy (the devices of the roles it serves);
    # in a gateway environment the gateway's policy.
    expected = ["BraketBudget", "JobsExecutionRole", "NotebookRole"] + (["Network"] if config.private_network else [])
    expected += ["Gateway"] if config.gateway_submission else []
    assert sorted(n.split("_")[0] for n in creating) == sorted(expected)
    for name, statements in creating.items():
        if name.startswith("BraketBudget"):
            continue
        if name.startswith("NotebookRole") and config.gateway_submission:
            # Researchers submit through the gateway: their role creates nothing, anywhere.
            assert statements == [{"sid": "DenyCreateTasksAndJobs", "effect": "Deny", "resources": ["*"],
                                   "actions": ["braket:CreateQuantumTask", "braket:CreateJob"]}]
            continue
        if name.startswith("Gateway"):
            # No hybrid jobs through the gateway: an explicit Deny on every resource.
            [no_jobs] = [s for s in statements if s["actions"] == ["braket:CreateJob"]]
            assert no_jobs["effect"] == "Deny" and no_jobs["resources"] == ["*"]
            statements = [s for s in statements if s is not no_jobs]
        if name.startswith("Network_Endpoint-braket"):  # no Deny of its own: the roles' Denies cover other devices
            allows = [s for s in statements if s.get("effect", "Allow") == "Allow"]
            # Only roles that may create: the gateway's, or the notebook's without a gateway.
            assert [s["sid"] for s in allows] == (
                ["GatewayCreatesOnAllowedDevices"] if config.gateway_submission else ["NotebookRoleCreatesOnAllowedDevices"]
            )
            devices = sorted(r for r in allows[0]["resources"] if ":device/" in r)
            assert devices == sorted(device_policy_arn(arn) for arn in config.allowed_devices)
            continue
        [allow] = [s for s in statements if s.get("effect", "Allow") == "Allow"]
        [deny] = [s for s in statements if s.get("effect") == "Deny"]
        devices = [r for r in allow["resources"] if ":device/" in r]
        assert sorted(devices) == sorted(device_policy_arn(arn) for arn in config.allowed_devices)
        assert all(":*:device/" in arn for arn in devices)  # IAM sees the account: never the SDK's empty one
        # The only other resources are this account's own tasks (and jobs: IAM's resource types for these actions).
        assert all(r.endswith(("quantum-task/*", "job/*")) for r in allow["resources"] if ":device/" not in r)
        # Every device not listed is denied explicitly.
        assert deny["not_resources"] == allow["resources"] and "resources" not in deny
        assert deny["actions"] == allow["actions"]
    # A job creates tasks, never jobs; neither does the gateway (its only CreateJob is the Deny above).
    for role in ("JobsExecutionRole", "Gateway"):
        for statements in (st for name, st in creating.items() if name.startswith(role)):
            assert {a for s in statements if s.get("effect", "Allow") == "Allow" for a in s["actions"]} == {
                "braket:CreateQuantumTask"
            }


def test_dev_allows_no_qpu_and_prod_only_its_listed_qpus(stack_json):
    devices = {env: json.dumps(stack_json[env]["output"]["allowed_devices"]["value"]) for env in stack_json}
    assert QPU not in devices["dev"]
    prod_qpus = sorted(a for a in get_environment("prod").allowed_devices if QPU in a)
    assert prod_qpus
    assert sorted(a for a in stack_json["prod"]["output"]["allowed_devices"]["value"] if QPU in a) == prod_qpus


def test_configured_devices_are_known_to_the_braket_sdk():
    known = {d.value for group in (Devices.Amazon, Devices.IonQ, Devices.QuEra, Devices.Rigetti, Devices.IQM) for d in group}
    for config in ENVIRONMENTS.values():
        assert set(config.allowed_devices) <= known, config.name


def test_notebook_is_braket_named_rootless_with_lifecycle(env_name, stack_json):
    doc = stack_json[env_name]
    notebook = only(resources(doc, "aws_sagemaker_notebook_instance"))
    assert notebook["name"].startswith("amazon-braket-")
    assert notebook["root_access"] == "Disabled"
    assert notebook["instance_metadata_service_configuration"] == {"minimum_instance_metadata_service_version": "2"}
    lifecycle = only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration"))
    assert notebook["lifecycle_config_name"].endswith(".name}")
    assert lifecycle["on_create"] and lifecycle["on_start"]


def test_the_outputs_exist(env_name, stack_json):
    outputs = stack_json[env_name]["output"]
    assert tuple(sorted(outputs)) == tuple(sorted(OUTPUT_NAMES)) and len(OUTPUT_NAMES) == 16
    # appended: the first ones keep their places
    assert OUTPUT_NAMES[8:11] == ("jobs_role_arn", "jobs_prefix", "spending_limits")
    assert OUTPUT_NAMES[11:] == (
        "submission", "gateway_role_arn", "gateway_trust_anchor_arn", "gateway_profile_arn", "audit_bucket_name"
    )
    config = get_environment(env_name)
    assert outputs["submission"]["value"] == config.submission
    gateway = {name: outputs[name]["value"] for name in OUTPUT_NAMES[12:]}
    if config.gateway_submission:
        assert gateway == {
            "gateway_role_arn": "${aws_iam_role." + next(iter(named_like(stack_json[env_name], "aws_iam_role", "Gateway_Role"))) + ".arn}",
            "gateway_trust_anchor_arn": "${aws_rolesanywhere_trust_anchor."
            + only_name(stack_json[env_name], "aws_rolesanywhere_trust_anchor") + ".arn}",
            "gateway_profile_arn": "${aws_rolesanywhere_profile." + only_name(stack_json[env_name], "aws_rolesanywhere_profile") + ".arn}",
            "audit_bucket_name": "${aws_s3_bucket." + next(iter(named_like(stack_json[env_name], "aws_s3_bucket", "Audit_"))) + ".bucket}",
        }
    else:  # null: jobs reads None, and no such output is stored at deploy
        assert gateway == dict.fromkeys(gateway)
    assert outputs["environment"]["value"] == env_name
    assert outputs["region"]["value"] == get_environment(env_name).region
    assert outputs["jobs_prefix"]["value"] == "jobs"
    jobs_role = next(n for n in resources(stack_json[env_name], "aws_iam_role") if n.startswith("JobsExecutionRole"))
    assert outputs["jobs_role_arn"]["value"] == "${aws_iam_role." + jobs_role + ".arn}"


def named_like(doc: dict, type_: str, prefix: str) -> dict[str, dict]:
    return {name: r for name, r in resources(doc, type_).items() if name.startswith(prefix)}


def only_name(doc: dict, type_: str) -> str:
    [name] = resources(doc, type_)
    return name


def test_jobs_role_is_a_braket_service_role_for_this_accounts_jobs(env_name, stack_json):
    doc = stack_json[env_name]
    [role] = [r for name, r in resources(doc, "aws_iam_role").items() if name.startswith("JobsExecutionRole")]
    assert role["path"] == "/service-role/" and role["force_detach_policies"] is True
    assert role["name"] == f"AmazonBraketJobsExecutionRole-{env_name}-JobsExecutionRole"
    [trust] = data_sources(doc, "aws_iam_policy_document")[role["assume_role_policy"].split(".")[2]]["statement"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["braket.amazonaws.com"]}]
    assert {c["variable"]: c["test"] for c in trust["condition"]} == {
        "aws:SourceAccount": "StringEquals",
        "aws:SourceArn": "ArnLike",
    }
    # The notebook may run jobs as it (its stack outputs name it), the kill switch stops it.
    on_start = base64.b64decode(only(resources(doc, "aws_sagemaker_notebook_instance_lifecycle_configuration"))["on_start"]).decode()
    outputs = json.loads(on_start.split("<<'JSON'\n")[1].split("\nJSON\n")[0])
    assert outputs["jobs_prefix"] == "jobs"
    assert outputs["jobs_role_arn"] == f"arn:__RUNTIME_PARTITION__:iam::__RUNTIME_ACCOUNT__:role/service-role/{role['name']}"


def test_final_states_of_jobs_and_tasks_alert_the_budget_topic(env_name, stack_json):
    doc = stack_json[env_name]
    rule = only(resources(doc, "aws_cloudwatch_event_rule"))
    pattern = json.loads(rule["event_pattern"])
    account = "${data.aws_caller_identity." + next(
        n for n in data_sources(doc, "aws_caller_identity") if n.startswith("StateChangeAlerts")
    ) + ".account_id}"
    assert pattern == {
        "source": ["aws.braket"],
        "detail-type": ["Braket Job State Change", "Braket Task State Change"],
        "account": [account],
        "detail": {"status": ["COMPLETED", "FAILED", "CANCELLED"]},
    }
    assert rule["name"] == f"braket-state-changes-{env_name}-StateChangeAlerts" and rule["state"] == "ENABLED"
    target = only(resources(doc, "aws_cloudwatch_event_target"))
    assert target["arn"] == "${aws_sns_topic." + next(iter(resources(doc, "aws_sns_topic"))) + ".arn}"
    assert target["rule"] == "${aws_cloudwatch_event_rule." + next(iter(resources(doc, "aws_cloudwatch_event_rule"))) + ".name}"
    assert "role_arn" not in target  # SNS is a resource-policy target: EventBridge must not be given a role


def test_provider_region_and_default_tags(env_name, stack_json):
    [provider] = stack_json[env_name]["provider"]["aws"]
    assert provider["region"] == get_environment(env_name).region
    tags = provider["default_tags"][0]["tags"]
    assert tags["Project"] == "quantum-cloud" and tags["Environment"] == env_name and tags["ManagedBy"] == "cdktf"


def test_dev_keeps_local_state_and_is_disposable(stack_json):
    dev = stack_json["dev"]
    assert dev["terraform"]["backend"] == {"local": {"path": "../../../terraform.dev.tfstate"}}
    assert only(resources(dev, "aws_s3_bucket"))["force_destroy"] is True
    assert "aws_s3_bucket_logging" not in dev["resource"]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_shared_environments_use_locked_encrypted_s3_state(env, stack_json):
    backend = stack_json[env]["terraform"]["backend"]["s3"]
    assert backend["use_lockfile"] is True and backend["encrypt"] is True
    assert backend["key"] == f"quantum-cloud/{env}/terraform.tfstate"
    assert {bucket["force_destroy"] for bucket in resources(stack_json[env], "aws_s3_bucket").values()} == {False}


def test_shared_environments_log_access_and_prod_keeps_results_longest(stack_json):
    for env in ("staging", "prod"):
        # Every bucket of the stack (prod's audit bucket too) logs to the environment's log bucket.
        assert {log["target_bucket"] for log in resources(stack_json[env], "aws_s3_bucket_logging").values()} == {
            f"quantum-cloud-access-logs-{env}"
        }
        assert len(resources(stack_json[env], "aws_s3_bucket_logging")) == len(resources(stack_json[env], "aws_s3_bucket"))
    retention = {env: get_environment(env).results_retention_days for env in ENVIRONMENTS}
    assert retention["prod"] == max(retention.values())
    rules = named(stack_json["prod"], "aws_s3_bucket_lifecycle_configuration", "Results_")["rule"]
    expiry = [r["expiration"][0]["days"] for r in rules if r.get("expiration")]
    assert expiry == [retention["prod"]]


def test_every_stack_has_the_braket_budget_and_its_kill_switch(env_name, stack_json):
    doc = stack_json[env_name]
    config = get_environment(env_name)
    budget = only(resources(doc, "aws_budgets_budget"))
    assert budget["cost_filter"] == [{"name": "Service", "values": ["Amazon Braket"]}]
    assert float(budget["limit_amount"]) == config.monthly_budget_usd and budget["limit_unit"] == "USD"
    notifications = sorted((n["notification_type"], n["threshold"]) for n in budget["notification"])
    assert notifications == [("ACTUAL", 50), ("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    topic = only(resources(doc, "aws_sns_topic"))
    assert topic["kms_master_key_id"].startswith("${aws_kms_key.")
    topic_ref = "${aws_sns_topic." + next(iter(resources(doc, "aws_sns_topic"))) + ".arn}"
    assert all(n["subscriber_sns_topic_arns"] == [topic_ref] for n in budget["notification"])
    assert only(resources(doc, "aws_sns_topic_policy"))
    emails = sorted(s["endpoint"] for s in resources(doc, "aws_sns_topic_subscription").values())
    assert emails == sorted(config.budget_alert_emails)
    action = only(resources(doc, "aws_budgets_budget_action"))
    assert action["action_type"] == "APPLY_IAM_POLICY" and action["approval_model"] == "AUTOMATIC"
    assert action["action_threshold"] == {"action_threshold_type": "PERCENTAGE", "action_threshold_value": 100}
    spenders = ("NotebookRole", "JobsExecutionRole") + (("Gateway_Role",) if config.gateway_submission else ())
    role_names = [
        "${aws_iam_role." + next(n for n in resources(doc, "aws_iam_role") if n.startswith(prefix)) + ".name}"
        for prefix in spenders
    ]
    assert action["definition"]["iam_action_definition"]["roles"] == role_names  # the kill switch stops every spender
    deny_doc = data_sources(doc, "aws_iam_policy_document")[
        only(resources(doc, "aws_iam_policy"))["policy"].split(".")[2]
    ]
    [deny] = deny_doc["statement"]
    assert deny["effect"] == "Deny" and sorted(deny["actions"]) == ["braket:CreateJob", "braket:CreateQuantumTask"]


def test_spending_limits_one_per_qpu_in_the_shortest_form_with_the_stacks_tags(env_name, stack_json):
    """prod and staging: one awscc_braket_spending_limit per allowed QPU; dev: 0 on every QPU the project
    knows (it allows none). The awscc provider has no default tags: each limit carries the stack's."""
    from stacks.config import QPUS

    config = get_environment(env_name)
    doc = stack_json[env_name]
    limits = {c["device_arn"]: c for c in resources(doc, "awscc_braket_spending_limit").values()}
    allowed_qpus = {a for a in config.allowed_devices if ":device/qpu/" in a}
    expected = {qpu: "0" for qpu in QPUS} if env_name == "dev" else None
    if env_name != "dev":
        assert set(limits) == allowed_qpus
    assert {d: c["spending_limit"] for d, c in limits.items()} == (
        expected or {arn: {1000: "1000", 500: "500", 50: "50"}[config.spending_limits_usd[arn]] for arn in allowed_qpus}
    )
    tags = [{"key": k, "value": v} for k, v in sorted(config.default_tags.items())]
    for limit in limits.values():
        assert limit["tags"] == tags and limit["provider"] == "awscc"
        assert ("lifecycle" in limit) is (env_name == "prod")
    assert doc["terraform"]["required_providers"]["awscc"] == {"source": "hashicorp/awscc", "version": "~> 1.93"}
    assert doc["provider"]["awscc"] == [{"region": config.region}]
    assert doc["output"]["spending_limits"]["value"] == {d: c["spending_limit"] for d, c in limits.items()}
