"""BraketBudget: the Braket cost budget, its alerts and its automatic kill switch."""

import math

import pytest
from quantum_constructs.cdk import TerraformOutput

from quantum_constructs._kms import KEY_POLICY_ACTIONS
from quantum_constructs.budget import BraketBudget
from quantum_constructs.role import BraketNotebookRole
from tests.synth_helpers import data_sources, only, ref, resources, synth_json

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
EMAILS = ["quantum-team@example.com", "finance@example.org"]


def build(new_stack, **props):
    """A stack with a notebook role and a budget on it; ``props`` override the budget's."""
    stack = new_stack()
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    budget = BraketBudget(
        stack,
        "Budget",
        **{"budget_name": "braket-unit", "monthly_limit_usd": 25, "role": role, "alert_emails": EMAILS, **props},
    )
    return stack, role, budget


def document(doc, reference: str) -> dict:
    """The policy document data source a ``${data.aws_iam_policy_document.<name>.json}`` reference points to."""
    prefix, name, attribute = reference.removeprefix("${").removesuffix("}").rsplit(".", 2)
    assert (prefix, attribute) == ("data.aws_iam_policy_document", "json"), reference
    return data_sources(doc, "aws_iam_policy_document")[name]


def by_sid(policy: dict) -> dict[str, dict]:
    return {s["sid"]: s for s in policy["statement"]}


def conditions(statement: dict) -> dict[tuple[str, str], list[str]]:
    return {(c["test"], c["variable"]): c["values"] for c in statement.get("condition", [])}


def action_role(doc) -> tuple[str, dict]:
    """Terraform name and body of the role AWS Budgets assumes to run the kill switch."""
    [(name, role)] = [(n, r) for n, r in resources(doc, "aws_iam_role").items() if r["name"] == "braket-unit-budget-action"]
    return name, role


def notebook_role_ref(doc, attribute: str) -> str:
    [name] = [n for n, r in resources(doc, "aws_iam_role").items() if r["name"].startswith("AmazonBraketService")]
    return "${aws_iam_role." + name + "." + attribute + "}"


def is_account_id(value: str) -> bool:
    return value.startswith("${data.aws_caller_identity.") and value.endswith(".account_id}")


@pytest.fixture
def budget_stack(new_stack):
    stack, role, budget = build(new_stack)
    return stack, budget, synth_json(stack)


# -- budget and notifications ---------------------------------------------------


def test_budget_is_a_monthly_usd_cost_budget_filtered_to_braket(budget_stack):
    _, _, doc = budget_stack
    budget = only(resources(doc, "aws_budgets_budget"))
    assert budget["name"] == "braket-unit"
    assert budget["budget_type"] == "COST"
    assert (budget["limit_amount"], budget["limit_unit"], budget["time_unit"]) == ("25.00", "USD", "MONTHLY")
    assert budget["cost_filter"] == [{"name": "Service", "values": ["Amazon Braket"]}]


def test_limit_is_kept_to_cents(new_stack):
    stack, *_ = build(new_stack, monthly_limit_usd=1234.5)
    assert only(resources(synth_json(stack), "aws_budgets_budget"))["limit_amount"] == "1234.50"


def test_notifications_at_50_80_100_actual_and_100_forecast_all_to_the_topic(budget_stack):
    _, _, doc = budget_stack
    topic = ref(doc, "aws_sns_topic", "arn")
    notifications = only(resources(doc, "aws_budgets_budget"))["notification"]
    assert sorted((n["notification_type"], n["threshold"]) for n in notifications) == [
        ("ACTUAL", 50),
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    ]
    for n in notifications:
        assert n["comparison_operator"] == "GREATER_THAN"
        assert n["threshold_type"] == "PERCENTAGE"
        assert n["subscriber_sns_topic_arns"] == [topic]
        assert "subscriber_email_addresses" not in n


def test_custom_thresholds(new_stack):
    stack, *_ = build(new_stack, actual_thresholds=(90, 25), forecast_threshold=120)
    notifications = only(resources(synth_json(stack), "aws_budgets_budget"))["notification"]
    assert sorted((n["notification_type"], n["threshold"]) for n in notifications) == [
        ("ACTUAL", 25),
        ("ACTUAL", 90),
        ("FORECASTED", 120),
    ]


# -- topic, key and subscriptions ----------------------------------------------


def test_topic_is_named_after_the_budget_and_encrypted_with_the_rotating_key(budget_stack):
    _, _, doc = budget_stack
    topic = only(resources(doc, "aws_sns_topic"))
    assert topic["name"] == "braket-unit"
    assert topic["kms_master_key_id"] == ref(doc, "aws_kms_key", "arn")
    key = only(resources(doc, "aws_kms_key"))
    assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30


def test_key_policy_root_administers_and_budgets_and_sns_use_it_for_this_account_only(budget_stack):
    _, _, doc = budget_stack
    statements = by_sid(document(doc, only(resources(doc, "aws_kms_key"))["policy"]))
    admin = statements.pop("AccountAdministersAndDelegatesUse")
    assert admin["actions"] == KEY_POLICY_ACTIONS
    [root] = admin["principals"]
    assert root["type"] == "AWS" and root["identifiers"][0].endswith(":root")
    [use] = statements.values()
    assert use["actions"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert use["principals"] == [{"type": "Service", "identifiers": ["budgets.amazonaws.com", "sns.amazonaws.com"]}]
    [account] = conditions(use)[("StringEquals", "aws:SourceAccount")]
    assert is_account_id(account)


def test_topic_policy_lets_only_budgets_of_this_account_publish(budget_stack):
    _, _, doc = budget_stack
    topic_policy = only(resources(doc, "aws_sns_topic_policy"))
    assert topic_policy["arn"] == ref(doc, "aws_sns_topic", "arn")
    [statement] = document(doc, topic_policy["policy"])["statement"]
    assert statement.get("effect", "Allow") == "Allow"
    assert statement["actions"] == ["SNS:Publish"]
    assert statement["resources"] == [ref(doc, "aws_sns_topic", "arn")]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["budgets.amazonaws.com"]}]
    found = conditions(statement)
    [account] = found[("StringEquals", "aws:SourceAccount")]
    assert is_account_id(account)
    [source] = found[("ArnLike", "aws:SourceArn")]
    assert source.endswith(f":budgets::{account}:budget/*")


def test_budget_waits_for_the_topic_policy(budget_stack):
    _, _, doc = budget_stack
    [policy_name] = resources(doc, "aws_sns_topic_policy")
    assert only(resources(doc, "aws_budgets_budget"))["depends_on"] == [f"aws_sns_topic_policy.{policy_name}"]


def test_one_email_subscription_per_address(budget_stack):
    _, _, doc = budget_stack
    subscriptions = resources(doc, "aws_sns_topic_subscription").values()
    assert sorted(s["endpoint"] for s in subscriptions) == sorted(EMAILS)
    assert {s["protocol"] for s in subscriptions} == {"email"}
    assert {s["topic_arn"] for s in subscriptions} == {ref(doc, "aws_sns_topic", "arn")}


def test_subscriptions_are_deduplicated_and_keep_their_ids_when_reordered(new_stack):
    first, *_ = build(new_stack, alert_emails=EMAILS + [EMAILS[0].upper()])
    second, *_ = build(new_stack, alert_emails=list(reversed(EMAILS)))
    ids = [
        {s["endpoint"]: name for name, s in resources(synth_json(stack), "aws_sns_topic_subscription").items()}
        for stack in (first, second)
    ]
    assert len(ids[0]) == 2 and ids[0] == ids[1]  # same address, same resource: no replacement, no re-confirmation


def test_no_emails_no_subscriptions(new_stack):
    stack, *_ = build(new_stack, alert_emails=())
    doc = synth_json(stack)
    assert "aws_sns_topic_subscription" not in doc["resource"]
    assert only(resources(doc, "aws_sns_topic"))["name"] == "braket-unit"


# -- kill switch -----------------------------------------------------------------


def test_kill_switch_applies_the_deny_policy_to_the_notebook_role_at_100_percent_actual(budget_stack):
    _, _, doc = budget_stack
    action = only(resources(doc, "aws_budgets_budget_action"))
    assert action["budget_name"] == ref(doc, "aws_budgets_budget", "name")
    assert (action["action_type"], action["approval_model"], action["notification_type"]) == (
        "APPLY_IAM_POLICY",
        "AUTOMATIC",
        "ACTUAL",
    )
    assert action["action_threshold"] == {"action_threshold_type": "PERCENTAGE", "action_threshold_value": 100}
    assert action["definition"] == {
        "iam_action_definition": {
            "policy_arn": ref(doc, "aws_iam_policy", "arn"),
            "roles": [notebook_role_ref(doc, "name")],
        }
    }
    role_name, _ = action_role(doc)
    assert action["execution_role_arn"] == f"${{aws_iam_role.{role_name}.arn}}"
    assert action["subscriber"] == [{"subscription_type": "SNS", "address": ref(doc, "aws_sns_topic", "arn")}]
    # Budgets validates the execution role when the action is created: its policy must exist first.
    [policy_name] = [
        n for n, p in resources(doc, "aws_iam_role_policy").items() if p["role"] == f"${{aws_iam_role.{role_name}.name}}"
    ]
    assert action["depends_on"] == [f"aws_iam_role_policy.{policy_name}"]


def test_deny_policy_denies_exactly_new_tasks_and_jobs(budget_stack):
    _, _, doc = budget_stack
    policy = only(resources(doc, "aws_iam_policy"))
    assert policy["name"] == "braket-unit-deny-braket-spend"
    [statement] = document(doc, policy["policy"])["statement"]
    assert statement["effect"] == "Deny"
    assert statement["actions"] == ["braket:CreateQuantumTask", "braket:CreateJob"]
    assert statement["resources"] == ["*"]
    assert "condition" not in statement


def test_execution_role_is_trusted_by_budgets_of_this_account_only(budget_stack):
    _, _, doc = budget_stack
    _, role = action_role(doc)
    [trust] = document(doc, role["assume_role_policy"])["statement"]
    assert trust.get("effect", "Allow") == "Allow"
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["budgets.amazonaws.com"]}]
    [account] = conditions(trust)[("StringEquals", "aws:SourceAccount")]
    assert is_account_id(account)
    assert conditions(trust)[("ArnLike", "aws:SourceArn")][0].endswith(f":budgets::{account}:budget/*")


def test_execution_role_may_only_attach_and_detach_the_deny_policy_on_the_notebook_role(budget_stack):
    _, _, doc = budget_stack
    name, _ = action_role(doc)
    [policy] = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == f"${{aws_iam_role.{name}.name}}"]
    [statement] = document(doc, policy["policy"])["statement"]
    assert statement.get("effect", "Allow") == "Allow"
    assert statement["actions"] == ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    assert statement["resources"] == [notebook_role_ref(doc, "arn")]
    assert conditions(statement) == {("ArnEquals", "iam:PolicyARN"): [ref(doc, "aws_iam_policy", "arn")]}


def test_no_allow_statement_anywhere_grants_a_wildcard_action(budget_stack):
    _, _, doc = budget_stack
    documents = data_sources(doc, "aws_iam_policy_document")
    assert len(documents) >= 6  # key, topic, deny, trust, execution and the notebook role's own
    for name, policy in documents.items():
        for statement in policy["statement"]:
            if statement.get("effect", "Allow") != "Allow":
                continue
            assert "not_actions" not in statement, name
            wildcards = [a for a in statement["actions"] if a == "*" or a.endswith(":*")]
            assert not wildcards, f"{name} allows {wildcards}"


def test_without_kill_switch_there_is_no_action_role_or_deny_policy(new_stack):
    stack, _, budget = build(new_stack, kill_switch=False)
    doc = synth_json(stack)
    assert budget.deny_policy_arn is None
    for type_ in ("aws_budgets_budget_action", "aws_iam_policy"):
        assert type_ not in doc["resource"], type_
    assert [r["name"] for r in resources(doc, "aws_iam_role").values()] == [
        "AmazonBraketServiceSageMakerNotebookRole-test-Role"
    ]
    assert only(resources(doc, "aws_budgets_budget"))["name"] == "braket-unit"  # alerts stay


def test_long_budget_names_give_distinct_iam_names_within_iam_limits(new_stack):
    role_names = []
    for last in ("a", "b"):
        stack, *_ = build(new_stack, budget_name="b" * 99 + last)
        doc = synth_json(stack)
        [role] = [r for r in resources(doc, "aws_iam_role").values() if not r["name"].startswith("AmazonBraketService")]
        role_names.append(role["name"])
        assert len(only(resources(doc, "aws_iam_policy"))["name"]) <= 128
    assert all(len(name) <= 64 for name in role_names)
    assert role_names[0] != role_names[1]


# -- the kill switch on more roles -------------------------------------------------


def jobs_role_of(stack, name="Jobs"):
    from quantum_constructs import BraketJobsExecutionRole, QuantumResultsBucket

    bucket = QuantumResultsBucket(stack, f"{name}Results", bucket_name=f"amazon-braket-{name.lower()}-unit")
    return BraketJobsExecutionRole(stack, name, allowed_device_arns=[SV1], results_bucket=bucket)


def role_ref(doc, prefix: str, attribute: str) -> str:
    [name] = [n for n, r in resources(doc, "aws_iam_role").items() if r["name"].startswith(prefix)]
    return "${aws_iam_role." + name + "." + attribute + "}"


def test_the_kill_switch_stops_the_additional_roles_too(new_stack):
    stack = new_stack()
    role = BraketNotebookRole(stack, "Role", allowed_device_arns=[SV1])
    jobs = jobs_role_of(stack)
    budget = BraketBudget(stack, "Budget", budget_name="braket-unit", monthly_limit_usd=25, role=role, additional_roles=[jobs])
    doc = synth_json(stack)
    definition = only(resources(doc, "aws_budgets_budget_action"))["definition"]["iam_action_definition"]
    names = [role_ref(doc, "AmazonBraketService", "name"), role_ref(doc, "AmazonBraketJobs", "name")]
    assert definition["roles"] == names
    name, _ = action_role(doc)
    [policy] = [p for p in resources(doc, "aws_iam_role_policy").values() if p["role"] == f"${{aws_iam_role.{name}.name}}"]
    [statement] = document(doc, policy["policy"])["statement"]
    assert statement["resources"] == [role_ref(doc, "AmazonBraketService", "arn"), role_ref(doc, "AmazonBraketJobs", "arn")]
    assert conditions(statement) == {("ArnEquals", "iam:PolicyARN"): [ref(doc, "aws_iam_policy", "arn")]}
    assert budget.kill_switch_roles == (role, jobs)


def test_a_role_added_later_joins_the_action_once(new_stack):
    stack, role, budget = build(new_stack)
    jobs = jobs_role_of(stack)
    assert budget.add_kill_switch_role(jobs) is True
    assert budget.add_kill_switch_role(jobs) is False and budget.add_kill_switch_role(role) is False
    doc = synth_json(stack)
    roles = only(resources(doc, "aws_budgets_budget_action"))["definition"]["iam_action_definition"]["roles"]
    assert roles == [role_ref(doc, "AmazonBraketService", "name"), role_ref(doc, "AmazonBraketJobs", "name")]


def test_without_the_kill_switch_added_roles_are_only_recorded(new_stack):
    stack, role, budget = build(new_stack, kill_switch=False)
    jobs = jobs_role_of(stack)
    assert budget.add_kill_switch_role(jobs) is True and budget.kill_switch_roles == (role, jobs)
    assert "aws_budgets_budget_action" not in synth_json(stack)["resource"]


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("arn:aws:iam::123456789012:role/x", r"additional_roles='arn:aws:iam::123456789012:role/x' .* a list of roles"),
        ([object()], r"additional_roles=<object object .* role_name and role_arn"),
    ],
)
def test_additional_roles_are_validated(new_stack, extra, expected):
    with pytest.raises(ValueError, match=expected):
        build(new_stack, additional_roles=extra)


# -- other services publishing to the topic -------------------------------------------------


RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/braket-state-changes"


def test_grant_publish_lets_eventbridge_publish_and_use_the_key_only_for_the_topic(budget_stack):
    stack, budget, _ = budget_stack
    assert budget.grant_publish("events.amazonaws.com", RULE_ARN, sid="Alerts") is True
    assert budget.grant_publish("events.amazonaws.com", RULE_ARN, sid="Alerts") is False  # twice: no change
    doc = synth_json(stack)
    topic = by_sid(document(doc, only(resources(doc, "aws_sns_topic_policy"))["policy"]))
    publish = topic["AlertsPublishes"]
    assert publish["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert publish["actions"] == ["SNS:Publish"] and publish["resources"] == [ref(doc, "aws_sns_topic", "arn")]
    # EventBridge's guide: "You can't use Condition blocks in Amazon SNS topic policies for EventBridge".
    assert conditions(publish) == {}
    key = by_sid(document(doc, only(resources(doc, "aws_kms_key"))["policy"]))["AlertsEncryptsForTheTopic"]
    assert key["actions"] == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert key["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    # SNS: aws:SourceAccount/aws:SourceArn in a key policy are not supported for EventBridge-to-encrypted topics.
    [(condition, [topic_arn])] = conditions(key).items()
    assert condition == ("StringEquals", "kms:EncryptionContext:aws:sns:topicArn")
    assert topic_arn.startswith("arn:${data.aws_partition.") and topic_arn.endswith(":braket-unit")
    assert ":sns:${data.aws_region." in topic_arn and "aws_sns_topic" not in topic_arn  # no cycle: the key precedes the topic


def test_grant_publish_keeps_the_source_conditions_for_other_services(budget_stack):
    stack, budget, _ = budget_stack
    budget.grant_publish("cloudwatch.amazonaws.com", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x", sid="Alarm")
    doc = synth_json(stack)
    topic = by_sid(document(doc, only(resources(doc, "aws_sns_topic_policy"))["policy"]))["AlarmPublishes"]
    found = conditions(topic)
    assert found[("ArnEquals", "aws:SourceArn")] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"]
    assert is_account_id(found[("StringEquals", "aws:SourceAccount")][0])
    key = by_sid(document(doc, only(resources(doc, "aws_kms_key"))["policy"]))["AlarmEncryptsForTheTopic"]
    assert set(conditions(key)) == {
        ("StringEquals", "kms:EncryptionContext:aws:sns:topicArn"),
        ("StringEquals", "aws:SourceAccount"),
        ("ArnEquals", "aws:SourceArn"),
    }


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        (("events", RULE_ARN), {"sid": "A"}, r"service_principal='events' .* an AWS service principal"),
        (("events.amazonaws.com", ""), {"sid": "A"}, r"source_arn='' .* the ARN of what publishes"),
        (("events.amazonaws.com", RULE_ARN), {"sid": "a-b"}, r"sid='a-b' .* letters and digits"),
    ],
)
def test_grant_publish_is_validated(budget_stack, args, kwargs, expected):
    _, budget, _ = budget_stack
    with pytest.raises(ValueError, match=expected):
        budget.grant_publish(*args, **kwargs)


def test_a_grant_name_serves_one_service(budget_stack):
    _, budget, _ = budget_stack
    budget.grant_publish("events.amazonaws.com", RULE_ARN, sid="Alerts")
    with pytest.raises(ValueError, match=r"sid='Alerts' .* a name not used by another grant \(it grants events.amazonaws.com\)"):
        budget.grant_publish("cloudwatch.amazonaws.com", RULE_ARN, sid="Alerts")


# -- attributes --------------------------------------------------------------------


def test_attributes_point_at_the_topic_budget_key_and_deny_policy(new_stack):
    stack, _, budget = build(new_stack)
    for name in ("topic_arn", "budget_name", "kms_key_arn", "deny_policy_arn"):
        TerraformOutput(stack, name, value=getattr(budget, name))
    doc = synth_json(stack)
    outputs = {name: output["value"] for name, output in doc["output"].items()}
    assert outputs == {
        "topic_arn": ref(doc, "aws_sns_topic", "arn"),
        "budget_name": ref(doc, "aws_budgets_budget", "name"),
        "kms_key_arn": ref(doc, "aws_kms_key", "arn"),
        "deny_policy_arn": ref(doc, "aws_iam_policy", "arn"),
    }
    assert budget.literal_budget_name == "braket-unit"


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"monthly_limit_usd": 0}, r"monthly_limit_usd=0 is not allowed: expected a finite amount of USD greater than 0"),
        ({"monthly_limit_usd": -10}, r"monthly_limit_usd=-10 .* greater than 0"),
        ({"monthly_limit_usd": 0.001}, r"monthly_limit_usd=0.001 .*\(at least 0.01\)"),
        ({"monthly_limit_usd": math.inf}, r"monthly_limit_usd=inf .* finite"),
        ({"monthly_limit_usd": "25"}, r"monthly_limit_usd='25' .* amount of USD"),
        ({"monthly_limit_usd": True}, r"monthly_limit_usd=True .* amount of USD"),
        ({"alert_emails": ["not-an-email"]}, r"alert_emails='not-an-email' is not allowed: expected email addresses"),
        ({"alert_emails": ["a@example.com", "two words@example.com"]}, r"alert_emails='two words@example.com'"),
        ({"alert_emails": "a@example.com"}, r"alert_emails='a@example.com' .* a list of email addresses"),
        ({"actual_thresholds": (0, 50)}, r"actual_thresholds=0 is not allowed: expected whole percents of the limit from 1 to 1000"),
        ({"actual_thresholds": (50, 1001)}, r"actual_thresholds=1001 .* from 1 to 1000"),
        ({"actual_thresholds": (50.5,)}, r"actual_thresholds=50.5 .* whole percents"),
        ({"actual_thresholds": (80, 80)}, r"actual_thresholds=\[80, 80\] .* unique percents"),
        ({"actual_thresholds": (10, 20, 30, 40, 50)}, r"actual_thresholds=\[10, 20, 30, 40, 50\] .* at most 4 thresholds"),
        ({"forecast_threshold": 0}, r"forecast_threshold=0 .* from 1 to 1000"),
        ({"forecast_threshold": True}, r"forecast_threshold=True .* whole percents"),
        ({"budget_name": "braket:dev"}, r"budget_name='braket:dev' is not allowed: expected 1-100 letters, digits, '-' and '_'"),
        ({"budget_name": "braket.dev"}, r"budget_name='braket.dev' .* SNS topic name"),
        ({"budget_name": ""}, r"budget_name='' .* 1-100"),
        ({"budget_name": "x" * 101}, r"budget_name='x{101}' .* 1-100"),
        ({"role": object()}, r"role=<object object .* role_name and role_arn"),
    ],
)
def test_bad_budget_props(new_stack, props, expected):
    with pytest.raises(ValueError, match=expected):
        build(new_stack, **props)


def test_largest_valid_props_are_accepted(new_stack):
    stack, _, budget = build(
        new_stack, budget_name="B_" + "x" * 98, monthly_limit_usd=0.01, actual_thresholds=(1, 500, 999, 1000)
    )
    budget_resource = only(resources(synth_json(stack), "aws_budgets_budget"))
    assert budget_resource["limit_amount"] == "0.01"
    assert len(budget_resource["notification"]) == 5
