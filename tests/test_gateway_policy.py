"""The gateway's Cedar policies: each shipped rule refuses what it should, naming its @id and @reason,
and allows the nearest request on the other side of its boundary; a policy folder the gateway cannot
trust stops it with one line naming the file; a policy that fails to evaluate refuses, never allows.

Cedar semantics relied on (https://docs.cedarpolicy.com/auth/authorization.html): deny unless a permit
is satisfied, any satisfied forbid wins, and a policy that errors is skipped, which the gateway turns
into a refusal. Decimals have 4 digits after the point and comparisons only
(https://docs.cedarpolicy.com/policies/syntax-operators.html#decimal).
"""

import shutil
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.model import Principal
from gateway.policy import DEFAULT_DENY, Decision, PolicyEngine, PolicyError, SubmissionContext
from stacks.config import DM1, ENVIRONMENTS, IONQ_FORTE_1, QUERA_AQUILA, SV1

SHIPPED = Path(__file__).resolve().parents[1] / "gateway" / "policies"
LONDON = ZoneInfo("Europe/London")
RESEARCHER = Principal("alice", ("researchers",), "oidc")
LEAD = Principal("bob", ("quantum-leads",), "mtls")
MONDAY_NOON = datetime(2025, 6, 2, 12, 0, tzinfo=LONDON)  # a Monday in summer time (UTC+1)

RULE_IDS = {
    "simulators-for-researchers-and-leads", "qpus-for-quantum-leads",
    "shots-ceiling", "qpu-office-hours", "daily-cost-quota",
}


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load(SHIPPED, LONDON)


def context(**overrides) -> SubmissionContext:
    values = dict(shots=1000, qubits=2, gates=3, depth=2, gate_set={"h", "cnot"},
                  estimated_cost_usd="0.0750", spend_today_usd="0", now=MONDAY_NOON)
    return SubmissionContext(**{**values, **overrides})


def assert_refused_by(decision: Decision, engine: PolicyEngine, *rule_ids: str) -> None:
    assert not decision.allowed
    assert decision.rules == rule_ids
    assert decision.reasons == tuple(engine.rules[r].reason for r in rule_ids)
    assert decision.errors == ()


def test_the_shipped_policies_load_with_an_id_and_a_reason_each(engine):
    assert set(engine.rules) == RULE_IDS
    assert all(rule.reason and rule.file.parent == SHIPPED for rule in engine.rules.values())
    assert {r.id for r in engine.rules.values() if r.effect == "forbid"} == {"shots-ceiling", "qpu-office-hours", "daily-cost-quota"}
    assert len(list(engine.describe())) == len(RULE_IDS)


# Per-group device allow-lists.

def test_a_researcher_may_use_the_simulators_and_a_lead_every_device_prod_allows(engine):
    prod = ENVIRONMENTS["prod"].allowed_devices
    assert {SV1, DM1} < set(prod)
    for device in prod:
        decision = engine.decide(LEAD, device, context())
        expected = "qpus-for-quantum-leads" if "/qpu/" in device else "simulators-for-researchers-and-leads"
        assert decision == Decision(True, (expected,), (engine.rules[expected].reason,)), device
    for device in (SV1, DM1):
        assert engine.decide(RESEARCHER, device, context()).rules == ("simulators-for-researchers-and-leads",)


def test_a_researcher_on_a_qpu_in_office_hours_is_refused_by_default(engine):
    decision = engine.decide(RESEARCHER, IONQ_FORTE_1, context())
    assert decision == Decision(False, (DEFAULT_DENY,), ("no policy permits this subject to submit to this device",))
    assert decision.refusal() == {"error": "forbidden", "rules": [DEFAULT_DENY],
                                  "reasons": ["no policy permits this subject to submit to this device"]}


def test_no_group_or_an_unknown_device_is_refused_by_default(engine):
    assert engine.decide(Principal("carol"), SV1, context()).rules == (DEFAULT_DENY,)
    assert engine.decide(Principal("carol", ("Researchers", "researchers-x")), SV1, context()).rules == (DEFAULT_DENY,)
    tn1 = "arn:aws:braket:us-west-2::device/qpu/rigetti/Ankaa-3"
    assert engine.decide(LEAD, tn1, context()).rules == (DEFAULT_DENY,)
    # The same simulator written with a region is another resource: policies match ARNs exactly.
    assert engine.decide(RESEARCHER, "arn:aws:braket:us-east-1::device/quantum-simulator/amazon/sv1", context()).rules == (DEFAULT_DENY,)


def test_subjects_and_groups_are_data_not_cedar_syntax(engine):
    tricky = Principal('CN=alice "x", O=Org\n) || true', ("researchers", 'Group::"quantum-leads"'))
    assert engine.decide(tricky, SV1, context()).allowed
    assert engine.decide(tricky, IONQ_FORTE_1, context()).rules == (DEFAULT_DENY,)


# The shots ceiling.

def test_ten_thousand_shots_pass_and_ten_thousand_and_one_are_refused(engine):
    assert engine.decide(RESEARCHER, SV1, context(shots=10_000)).allowed
    assert_refused_by(engine.decide(RESEARCHER, SV1, context(shots=10_001)), engine, "shots-ceiling")
    assert_refused_by(engine.decide(LEAD, QUERA_AQUILA, context(shots=10_001)), engine, "shots-ceiling")


# QPUs only in office hours, in the gateway's time zone.

@pytest.mark.parametrize("local, allowed", [
    ("2025-06-02T07:59", False),  # Monday
    ("2025-06-02T08:00", True),
    ("2025-06-06T17:59", True),   # Friday
    ("2025-06-06T18:00", False),
    ("2025-06-07T12:00", False),  # Saturday
    ("2025-06-08T12:00", False),  # Sunday
])
def test_qpus_only_monday_to_friday_from_eight_to_six(engine, local, allowed):
    now = datetime.fromisoformat(local).replace(tzinfo=LONDON)
    decision = engine.decide(LEAD, IONQ_FORTE_1, context(now=now))
    if allowed:
        assert decision.allowed and decision.rules == ("qpus-for-quantum-leads",)
    else:
        assert_refused_by(decision, engine, "qpu-office-hours")
    assert engine.decide(LEAD, SV1, context(now=now)).allowed  # simulators any time


def test_office_hours_are_local_time_whatever_zone_the_instant_comes_in(engine):
    # 16:59 and 17:00 UTC on a summer Monday are 17:59 and 18:00 in London.
    assert engine.decide(LEAD, IONQ_FORTE_1, context(now=datetime(2025, 6, 2, 16, 59, tzinfo=timezone.utc))).allowed
    late = engine.decide(LEAD, IONQ_FORTE_1, context(now=datetime(2025, 6, 2, 17, 0, tzinfo=timezone.utc)))
    assert late.rules == ("qpu-office-hours",)
    in_utc = PolicyEngine.load(SHIPPED)  # the same instant is 17:00 in a UTC gateway: still open
    assert in_utc.decide(LEAD, IONQ_FORTE_1, context(now=datetime(2025, 6, 2, 17, 0, tzinfo=timezone.utc))).allowed


def test_the_context_carries_local_hour_weekday_and_decimals():
    cedar = context(now=datetime(2025, 6, 1, 23, 30, tzinfo=timezone.utc), estimated_cost_usd=0.1,
                    spend_today_usd=Decimal("2.5"), gate_set=["rz", "h", "h"]).to_cedar(LONDON)
    assert cedar["hour"] == 0 and cedar["weekday"] == 1  # Sunday 23:30 UTC is Monday 00:30 in London
    assert cedar["gate_set"] == ["h", "rz"]
    assert cedar["estimated_cost_usd"] == {"__extn": {"fn": "decimal", "arg": "0.1000"}}
    assert cedar["projected_spend_usd"] == {"__extn": {"fn": "decimal", "arg": "2.6000"}}


# The daily cost quota per subject.

@pytest.mark.parametrize("spent, fits, over", [
    ("99.99", "0.01", "0.02"),
    (99.99, 0.01, 0.02),  # 99.99 + 0.01 is 100.00000000000001 in floats: the sum must be exact
    (Decimal("99.99"), Decimal("0.01"), Decimal("0.02")),
])
def test_spend_up_to_one_hundred_dollars_passes_and_a_cent_more_is_refused(engine, spent, fits, over):
    assert engine.decide(RESEARCHER, SV1, context(spend_today_usd=spent, estimated_cost_usd=fits)).allowed
    refused = engine.decide(RESEARCHER, SV1, context(spend_today_usd=spent, estimated_cost_usd=over))
    assert_refused_by(refused, engine, "daily-cost-quota")


def test_amounts_are_rounded_up_so_the_quota_is_never_undercounted(engine):
    just_over = context(spend_today_usd="100", estimated_cost_usd="0.00001")
    assert just_over.projected_spend_usd == Decimal("100.0001")
    assert engine.decide(RESEARCHER, SV1, just_over).rules == ("daily-cost-quota",)


def test_every_rule_that_refuses_is_named_in_the_folders_order(engine):
    saturday = datetime(2025, 6, 7, 12, tzinfo=LONDON)
    decision = engine.decide(LEAD, IONQ_FORTE_1, context(shots=20_000, spend_today_usd=150, now=saturday))
    assert_refused_by(decision, engine, "daily-cost-quota", "qpu-office-hours", "shots-ceiling")
    assert decision.refusal()["rules"] == ["daily-cost-quota", "qpu-office-hours", "shots-ceiling"]


# Evaluation errors refuse.

def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


PERMIT_ALL = '@id("everyone") @reason("anyone may submit") permit (principal, action, resource);\n'
BROKEN_FORBID = ('@id("needs-project") @reason("tasks must name a project")\n'
                 'forbid (principal, action, resource) when { context.project == "" };\n')


def test_a_forbid_that_fails_to_evaluate_refuses_instead_of_being_skipped(tmp_path):
    # No schema: nothing catches the missing attribute before a request does. Cedar alone would skip the
    # broken forbid and allow (the permit is satisfied).
    write(tmp_path, "all.cedar", PERMIT_ALL)
    write(tmp_path, "project.cedar", BROKEN_FORBID)
    decision = PolicyEngine.load(tmp_path).decide(RESEARCHER, SV1, context())
    assert not decision.allowed
    assert decision.rules == ("needs-project",)
    assert decision.reasons == ("the rule 'needs-project' could not be evaluated, so the submission is refused",)
    [error] = decision.errors
    assert "needs-project" in error and "project" in error.split(":", 1)[1]


def test_an_overflow_in_a_schema_checked_policy_refuses_too(tmp_path):
    # Type-correct, so schema validation passes, but Long arithmetic overflows at evaluation.
    shutil.copytree(SHIPPED, tmp_path / "policies")
    write(tmp_path / "policies", "overflow.cedar", '@id("shot-weight") @reason("weighted shots under a ceiling")\n'
          'forbid (principal, action, resource) when { context.shots * 9223372036854775807 > 10 };\n')
    engine = PolicyEngine.load(tmp_path / "policies", LONDON)
    decision = engine.decide(RESEARCHER, SV1, context())
    assert not decision.allowed and decision.rules == ("shot-weight",)
    assert "overflow" in decision.errors[0]
    # A satisfied forbid is named before the broken one.
    assert engine.decide(RESEARCHER, SV1, context(shots=10_001)).rules == ("shots-ceiling", "shot-weight")


# Policy folders the gateway refuses to start with.

def refusal(folder: Path) -> str:
    with pytest.raises(PolicyError) as raised:
        PolicyEngine.load(folder)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "bad.cedar", PERMIT_ALL + '\n@id("x") @reason("y")\nforbid (principal, action, resource)\n'
                 'when { context.shots > };\n')
    assert refusal(tmp_path) == f"{path}: line 5: not valid Cedar: unexpected token `}}`"
    write(tmp_path, "bad.cedar", PERMIT_ALL + '@id("x") @reason("y")\nforbid (principal, action, resource)\n\n')
    assert refusal(tmp_path) == f"{path}: line 3: not valid Cedar: unexpected end of input"


def test_a_policy_without_an_id_or_a_reason_is_refused(tmp_path):
    path = write(tmp_path, "a.cedar", PERMIT_ALL + '@reason("r") forbid (principal, action, resource);\n')
    assert refusal(tmp_path).startswith(f"{path}: policy 2 (a forbid) has no @id: every policy needs @id(\"name\")")
    write(tmp_path, "a.cedar", '@id permit (principal, action, resource);\n')
    assert refusal(tmp_path).startswith(f"{path}: policy 1 (a permit) has no @id")
    write(tmp_path, "a.cedar", '@id("has spaces") @reason("r") permit (principal, action, resource);\n')
    assert refusal(tmp_path).startswith(f"{path}: policy 1 (a permit) has @id('has spaces'): every policy needs")
    write(tmp_path, "a.cedar", '@id("quiet") permit (principal, action, resource);\n')
    assert refusal(tmp_path) == f"{path}: policy @id('quiet') has no @reason(\"...\"): every policy needs the reason a refusal gives"


def test_duplicate_and_reserved_ids_are_refused(tmp_path):
    first = write(tmp_path, "a.cedar", PERMIT_ALL)
    second = write(tmp_path, "b.cedar", PERMIT_ALL)
    assert refusal(tmp_path) == f"{second}: @id('everyone') is already used in {first}: ids must be unique"
    second.unlink()
    write(tmp_path, "a.cedar", PERMIT_ALL.replace("everyone", DEFAULT_DENY))
    assert refusal(tmp_path) == f"{first}: @id('default-deny') is reserved for the gateway's own refusals: choose another name"


def test_a_policy_the_schema_rejects_is_refused_naming_file_policy_and_error(tmp_path):
    shutil.copytree(SHIPPED, tmp_path, dirs_exist_ok=True)
    path = write(tmp_path, "project.cedar", BROKEN_FORBID)
    message = refusal(tmp_path)
    assert message.startswith(f"{path}: policy @id('needs-project') does not match the schema gateway.cedarschema: ")
    assert "project" in message.split("gateway.cedarschema: ")[1]
    write(tmp_path, "project.cedar", '@id("typed") @reason("r")\nforbid (principal, action, resource) when { context.hour == "9" };\n')
    assert refusal(tmp_path).startswith(f"{path}: policy @id('typed') does not match the schema gateway.cedarschema: ")


def test_a_schema_that_does_not_describe_the_gateways_requests_is_refused(tmp_path):
    shutil.copytree(SHIPPED, tmp_path, dirs_exist_ok=True)
    schema = tmp_path / "gateway.cedarschema"
    schema.write_text(schema.read_text().replace("weekday: Long,", "weekday: Long, project: String,"))
    message = refusal(tmp_path)
    assert message.startswith(f"{schema}: does not describe the requests the gateway sends")
    assert "project" in message
    schema.write_text("entity User in [")
    assert refusal(tmp_path).startswith(f"{schema}: not a valid Cedar schema: ")


def test_folders_without_policies_templates_and_non_text_are_refused(tmp_path):
    assert refusal(tmp_path / "missing") == f"{tmp_path / 'missing'}: not a folder (expected a folder of Cedar policies, *.cedar)"
    assert refusal(tmp_path).startswith(f"{tmp_path}: no policies (*.cedar)")
    path = write(tmp_path, "t.cedar", '@id("t") @reason("r") permit (principal == ?principal, action, resource);\n')
    assert refusal(tmp_path).startswith(f"{path}: templates (?principal, ?resource) are not supported")
    path.write_bytes(b'@id("t") @reason("caf\xe9") permit (principal, action, resource);')
    assert refusal(tmp_path) == f"{path}: not UTF-8 text (byte 21)"


# Bad input to decide: one line, never a decision.

def test_bad_requests_are_errors_not_decisions(engine):
    with pytest.raises(ValueError, match=r"^device 'sv1' is not a Braket device ARN: expected arn:aws:braket:"):
        engine.decide(RESEARCHER, "sv1", context())
    for overrides, fragment in [
        ({"now": datetime(2025, 6, 2, 12)}, "now=datetime.datetime(2025, 6, 2, 12, 0): expected a timezone-aware datetime"),
        ({"shots": -1}, "shots=-1: expected a whole number from 0 to"),
        ({"qubits": True}, "qubits=True: expected a whole number"),
        ({"gate_set": "h"}, "gate_set='h': expected a collection of gate names"),
        ({"estimated_cost_usd": float("nan")}, "estimated_cost_usd=nan: expected a finite amount of USD"),
        ({"spend_today_usd": "-0.01"}, "spend_today_usd='-0.01': expected an amount of USD from 0 to"),
        ({"spend_today_usd": "ten"}, "spend_today_usd='ten': expected an amount of USD (a number)"),
    ]:
        with pytest.raises(ValueError) as raised:
            context(**overrides)
        assert str(raised.value).startswith(fragment) and "\n" not in str(raised.value)
