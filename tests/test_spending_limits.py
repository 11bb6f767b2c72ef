"""BraketSpendingLimits and the hand-written awscc binding: what the synthesized JSON says.

Schema: terraform-provider-awscc docs/resources/braket_spending_limit.md and CloudFormation's
AWS::Braket::SpendingLimit schema (spendingLimit pattern \\d+(\\.\\d{1,2})?, TimePeriod needs
StartAt and EndAt, Tags a set of {Key, Value}). Braket API reference, CreateSpendingLimit:
"Simulators do not support spending limits".
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from quantum_constructs import cdk as cdktf
from quantum_constructs.cdk import TerraformOutput

from quantum_constructs import (
    AWSCC_VERSION_CONSTRAINT,
    AwsccProvider,
    BraketSpendingLimitResource,
    BraketSpendingLimits,
    SpendingLimitPeriod,
    shortest_amount,
)
from stacks.config import (
    DM1,
    ENVIRONMENTS,
    IONQ_FORTE_1,
    IONQ_FORTE_ENTERPRISE_1,
    QPUS,
    QUERA_AQUILA,
    SV1,
    EnvironmentConfig,
    get_environment,
)

RIGETTI_WEST = "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3"
IQM_EU = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"


def synth(stack) -> dict:
    return json.loads(cdktf.Testing.synth(stack))


def limits_of(doc: dict) -> dict[str, dict]:
    return doc.get("resource", {}).get("awscc_braket_spending_limit", {})


# -- amounts: the shortest form Braket stores ------------------------------------------------
@pytest.mark.parametrize(
    "value, expected",
    [
        (0, "0"), ("0", "0"), ("0.00", "0"), (0.0, "0"), (Decimal("0.00"), "0"),
        (500, "500"), ("500", "500"), (500.0, "500"), ("500.00", "500"), ("500.50", "500.5"),
        (12.5, "12.5"), ("12.50", "12.5"), (0.05, "0.05"), ("0.1", "0.1"), (1000, "1000"),
        (Decimal("1E+3"), "1000"), (Decimal("2.10"), "2.1"), (100000, "100000"),
    ],
)
def test_amounts_render_in_the_shortest_form(value, expected):
    assert shortest_amount("spending_limit", value) == expected


@pytest.mark.parametrize(
    "value",
    [-1, -0.01, "-5", -0.0, 12.345, "12.345", 0.001, float("nan"), float("inf"), Decimal("NaN"),
     Decimal("-1"), True, False, "1e3", "1E3", "", "12.", ".5", " 5", "five", None, [5], 0.1 + 0.2],
)
def test_amounts_braket_would_refuse_or_misread_are_refused(value):
    with pytest.raises(ValueError, match=r"spending_limit=.* is not allowed: expected an amount of USD"):
        shortest_amount("spending_limit", value)


# -- the binding -----------------------------------------------------------------------------
def test_provider_pins_hashicorp_awscc_and_writes_its_region(new_stack):
    stack = new_stack()
    AwsccProvider(stack, "awscc", region="us-east-1")
    doc = synth(stack)
    assert doc["terraform"]["required_providers"]["awscc"] == {"source": "hashicorp/awscc", "version": AWSCC_VERSION_CONSTRAINT}
    assert AWSCC_VERSION_CONSTRAINT.startswith("~> 1.")
    assert doc["provider"]["awscc"] == [{"region": "us-east-1"}]


@pytest.mark.parametrize("props", [{"region": "virginia"}, {"region": None}, {"region": "us-east-1", "alias": "1bad"}])
def test_provider_refuses_bad_props(new_stack, props):
    with pytest.raises(ValueError, match=r"(region|alias)=.* is not allowed"):
        AwsccProvider(new_stack(), "awscc", **props)


def test_resource_synthesizes_every_argument_and_references_its_computed_attributes(new_stack):
    stack = new_stack()
    west = AwsccProvider(stack, "west", region="us-west-1", alias="west")
    limit = BraketSpendingLimitResource(
        stack, "Limit", device_arn=RIGETTI_WEST, spending_limit="250.50", provider=west,
        time_period=SpendingLimitPeriod(start_at="2026-01-01T00:00:00Z", end_at="2027-01-01T00:00:00Z"),
        tags={"Team": "q", "Environment": "test"},
    )
    for attribute in ("spending_limit_arn", "total_spend", "queued_spend"):
        TerraformOutput(stack, attribute, value=getattr(limit, attribute))
    doc = synth(stack)
    [(name, config)] = limits_of(doc).items()
    assert config["device_arn"] == RIGETTI_WEST and config["spending_limit"] == "250.5"
    assert config["provider"] == "awscc.west"
    assert config["time_period"] == {"start_at": "2026-01-01T00:00:00Z", "end_at": "2027-01-01T00:00:00Z"}
    assert config["tags"] == [{"key": "Environment", "value": "test"}, {"key": "Team", "value": "q"}]
    for attribute in ("spending_limit_arn", "total_spend", "queued_spend"):
        assert doc["output"][attribute]["value"] == f"${{awscc_braket_spending_limit.{name}.{attribute}}}"


@pytest.mark.parametrize(
    "props, prop",
    [
        ({"device_arn": SV1}, "device_arn"),  # simulators take no spending limit
        ({"device_arn": "arn:aws:braket:::device/qpu/ionq/Forte-1"}, "device_arn"),  # a QPU has a region
        ({"spending_limit": "1e3"}, "spending_limit"),
        ({"time_period": {"start_at": "2026-01-01T00:00:00Z"}}, "time_period"),
        ({"time_period": {"start_at": "2026-01-01", "end_at": "2027-01-01"}}, "time_period.start_at"),
        ({"time_period": {"start_at": "2027-01-01T00:00:00Z", "end_at": "2026-01-01T00:00:00Z"}}, "time_period"),
        ({"tags": {"aws:owner": "x"}}, "tags"),
        ({"tags": {"k": 1}}, "tags"),
        ({"provider": object()}, "provider"),
    ],
)
def test_resource_refuses_bad_props(new_stack, props, prop):
    arguments = {"device_arn": IONQ_FORTE_1, "spending_limit": 10, **props}
    with pytest.raises(ValueError, match=rf"^{prop.replace('.', '[.]')}=.* is not allowed: expected"):
        BraketSpendingLimitResource(new_stack(), "Limit", **arguments)


# -- the construct ---------------------------------------------------------------------------
def test_one_limit_per_qpu_simulators_skipped(new_stack):
    stack = new_stack()
    limits = BraketSpendingLimits(
        stack, "Limits", allowed_device_arns=[SV1, DM1, IONQ_FORTE_1, QUERA_AQUILA], region="us-east-1",
        limits_usd={IONQ_FORTE_1: "500.50"}, default_limit_usd=0,
    )
    assert dict(limits.limits) == {IONQ_FORTE_1: "500.5", QUERA_AQUILA: "0"}
    assert set(limits.resources) == {IONQ_FORTE_1, QUERA_AQUILA}
    doc = synth(stack)
    by_device = {c["device_arn"]: c for c in limits_of(doc).values()}
    assert {d: c["spending_limit"] for d, c in by_device.items()} == {IONQ_FORTE_1: "500.5", QUERA_AQUILA: "0"}
    assert all(c["provider"] == "awscc" and "lifecycle" not in c and "tags" not in c for c in by_device.values())
    assert doc["provider"]["awscc"] == [{"region": "us-east-1"}]
    assert doc["terraform"]["required_providers"]["awscc"]["source"] == "hashicorp/awscc"
    # Construct ids come from the device, so reordering the list replaces nothing.
    assert sorted(limits_of(doc)) == sorted(n for n in limits_of(doc) if n.startswith(("Limits_IonqForte1_", "Limits_QueraAquila_")))


def test_only_simulators_make_no_limit_and_no_provider(new_stack):
    stack = new_stack()
    limits = BraketSpendingLimits(stack, "Limits", allowed_device_arns=[SV1], region="us-east-1", default_limit_usd=0)
    assert dict(limits.limits) == {} and "awscc" not in synth(stack).get("provider", {})


def test_a_qpu_in_another_region_gets_an_aliased_provider_created_once(new_stack):
    stack = new_stack()
    BraketSpendingLimits(stack, "A", allowed_device_arns=[IONQ_FORTE_1, RIGETTI_WEST, IQM_EU], region="us-east-1", default_limit_usd=5)
    BraketSpendingLimits(stack, "B", allowed_device_arns=[RIGETTI_WEST, QUERA_AQUILA], region="us-east-1", default_limit_usd=5)
    doc = synth(stack)
    providers = sorted(doc["provider"]["awscc"], key=lambda p: p.get("alias", ""))
    assert providers == [
        {"region": "us-east-1"},
        {"alias": "eu_north_1", "region": "eu-north-1"},
        {"alias": "us_west_1", "region": "us-west-1"},
    ]
    by_device = {}
    for config in limits_of(doc).values():
        by_device.setdefault(config["device_arn"], set()).add(config["provider"])
    assert by_device == {
        IONQ_FORTE_1: {"awscc"}, QUERA_AQUILA: {"awscc"}, RIGETTI_WEST: {"awscc.us_west_1"}, IQM_EU: {"awscc.eu_north_1"},
    }


def test_a_given_provider_is_used_and_must_match_the_region(new_stack):
    stack = new_stack()
    mine = AwsccProvider(stack, "mine", region="us-east-1", alias="mine")
    limits = BraketSpendingLimits(stack, "L", allowed_device_arns=[IONQ_FORTE_1], region="us-east-1", default_limit_usd=1, provider=mine)
    assert limits.providers["us-east-1"] is mine
    assert {c["provider"] for c in limits_of(synth(stack)).values()} == {"awscc.mine"}
    with pytest.raises(ValueError, match=r"^provider=.* is not allowed: expected an AwsccProvider for region 'eu-north-1'"):
        BraketSpendingLimits(stack, "M", allowed_device_arns=[IQM_EU], region="eu-north-1", default_limit_usd=1, provider=mine)


def test_tags_are_a_set_of_key_value_objects_and_prevent_destroy_is_a_lifecycle(new_stack):
    stack = new_stack()
    BraketSpendingLimits(
        stack, "L", allowed_device_arns=[IONQ_FORTE_1, IONQ_FORTE_ENTERPRISE_1], region="us-east-1", default_limit_usd="1000.00",
        tags={"Project": "quantum-cloud", "Environment": "prod"}, prevent_destroy=True,
        time_period={"start_at": "2026-01-01T00:00:00+00:00", "end_at": "2026-02-01T00:00:00+00:00"},
    )
    for config in limits_of(synth(stack)).values():
        assert config["spending_limit"] == "1000"
        assert config["tags"] == [{"key": "Environment", "value": "prod"}, {"key": "Project", "value": "quantum-cloud"}]
        assert config["lifecycle"] == {"prevent_destroy": True}
        assert config["time_period"] == {"start_at": "2026-01-01T00:00:00+00:00", "end_at": "2026-02-01T00:00:00+00:00"}


@pytest.mark.parametrize(
    "props, prop",
    [
        ({"allowed_device_arns": []}, "allowed_device_arns"),
        ({"allowed_device_arns": IONQ_FORTE_1}, "allowed_device_arns"),
        ({"allowed_device_arns": ["arn:aws:braket:::device/qpu/x"]}, "allowed_device_arns"),
        ({"default_limit_usd": None}, "default_limit_usd"),
        ({"default_limit_usd": -1}, "default_limit_usd"),
        ({"default_limit_usd": True}, "default_limit_usd"),
        ({"limits_usd": {QUERA_AQUILA: 5}}, "limits_usd"),  # not an allowed device
        ({"limits_usd": {SV1: 5}}, "limits_usd"),  # a simulator
        ({"limits_usd": {IONQ_FORTE_1: 1.005}}, "limits_usd"),
        ({"limits_usd": [IONQ_FORTE_1]}, "limits_usd"),
        ({"region": "Virginia"}, "region"),
        ({"prevent_destroy": "yes"}, "prevent_destroy"),
        ({"tags": {"aws:x": "y"}}, "tags"),
        ({"provider": "awscc"}, "provider"),
    ],
)
def test_construct_refuses_bad_props(new_stack, props, prop):
    arguments = {"allowed_device_arns": [SV1, IONQ_FORTE_1], "region": "us-east-1", "default_limit_usd": 0, **props}
    with pytest.raises(ValueError, match=rf"^{prop}(\[.*\])?=.* is not allowed: expected"):
        BraketSpendingLimits(new_stack(), "L", **arguments)


def test_default_limit_is_required(new_stack):
    with pytest.raises(TypeError, match="default_limit_usd"):
        BraketSpendingLimits(new_stack(), "L", allowed_device_arns=[IONQ_FORTE_1], region="us-east-1")  # type: ignore[call-arg]


# -- configuration ----------------------------------------------------------------------------
def _config(**changes) -> EnvironmentConfig:
    base = get_environment("staging")
    values = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return EnvironmentConfig(**{**values, **changes})


def test_every_allowed_qpu_needs_an_amount_when_the_environment_owns_limits():
    with pytest.raises(ValueError, match=r"^spending_limits_usd=.* expected an amount for every allowed QPU, also .*Forte-1"):
        _config(spending_limits_usd={})
    with pytest.raises(ValueError, match=r"spending_limits_usd=.* expected QPU ARNs"):
        _config(spending_limits_usd={IONQ_FORTE_1: 5, SV1: 5})
    with pytest.raises(ValueError, match=r"spending_limits_usd\[.*\]=-1 is not allowed"):
        _config(spending_limits_usd={IONQ_FORTE_1: -1})
    with pytest.raises(ValueError, match=r"spending_limits_usd\[.*\]=1.001 is not allowed"):
        _config(spending_limits_usd={IONQ_FORTE_1: 1.001})
    assert _config(spending_limits_usd=None).spending_limits_usd is None  # another environment owns them


def test_the_chosen_amounts():
    assert get_environment("prod").spending_limits_usd == {IONQ_FORTE_1: 1000, IONQ_FORTE_ENTERPRISE_1: 1000, QUERA_AQUILA: 500}
    assert get_environment("staging").spending_limits_usd == {IONQ_FORTE_1: 50}
    # dev allows no QPU; a limit of 0 on each makes "no QPU spend in dev" hold for the whole account.
    assert get_environment("dev").spending_limits_usd == {qpu: 0 for qpu in QPUS}
    for env in ENVIRONMENTS.values():
        assert sum(env.spending_limits_usd.values()) <= env.monthly_budget_usd
