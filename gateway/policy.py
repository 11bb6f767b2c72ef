"""The gateway's policy decisions, made by Cedar (through ``cedarpy``) from policies a security team
can read, review and test: a folder of ``*.cedar`` files and, optionally, one ``*.cedarschema``.

Each submission is one Cedar request (https://docs.cedarpolicy.com/auth/authorization.html):

- principal ``User::"<subject>"``, a member of ``Group::"<group>"`` for each of its groups;
- action ``Action::"submit"``;
- resource ``Device::"<device ARN>"`` with attributes ``kind`` ("qpu" or "simulator"), ``provider``
  and ``region`` ("" for the managed simulators);
- context: shots, qubits, gates, depth, gate_set, the costs in USD as Cedar decimals and the local
  hour and weekday (``gateway/policies/gateway.cedarschema`` documents each attribute).

Cedar allows a request when some permit policy is satisfied and no forbid policy is; otherwise it
denies. A policy whose evaluation fails is *skipped* by Cedar (so an erroring forbid would let the
request through); the gateway instead refuses any request that produced an evaluation error.

Every policy carries ``@id("name")`` and ``@reason("text")`` annotations
(https://docs.cedarpolicy.com/policies/syntax-policy.html#term-parc-annotations): a refusal names the
rules that decided it and their reasons. The policies are loaded with their ``@id`` as Cedar's own
policy id, so Cedar's diagnostics (determining policies and errors) name them directly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from pathlib import Path
from typing import Optional, Union

import cedarpy

from jobs.devices import ARN_FORMAT, device_from_arn
from jobs.errors import UsageError

from .config import ConfigError
from .model import Principal

DEFAULT_DENY = "default-deny"
"""The rule a refusal names when no policy permitted the request."""
EVALUATION_ERROR = "evaluation-error"
"""The rule a refusal names when Cedar could not evaluate the request at all (no policy to blame)."""
_RESERVED_IDS = frozenset({DEFAULT_DENY, EVALUATION_ERROR})
_DEFAULT_DENY_REASON = "no policy permits this subject to submit to this device"
_EVALUATION_ERROR_REASON = "the request could not be evaluated against the policies, so it is refused"

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ERROR_POLICY = re.compile(r"policy `([^`]+)`")
_ACTION = {"type": "Action", "id": "submit"}

Usd = Union[Decimal, int, float, str]
_STEP = Decimal("0.0001")  # Cedar's decimal: 4 digits after the point, an i64 underneath
_MAX_USD = Decimal("922337203685477.5807")
_MAX_LONG = 2**63 - 1  # Cedar's Long is a signed 64-bit integer


class PolicyError(ConfigError):
    """A policy folder the gateway cannot run with (one line naming the file and what is wrong)."""


@dataclass(frozen=True)
class Rule:
    """One loaded policy, as a refusal names it."""

    id: str
    reason: str
    effect: str
    """"permit" or "forbid"."""
    file: Path


@dataclass(frozen=True)
class Decision:
    """Cedar's answer to one submission, with what decided it."""

    allowed: bool
    rules: tuple[str, ...]
    """The @id of each policy that determined the decision: the permits satisfied for an allow; for a
    deny, the forbids satisfied and the policies that failed to evaluate, or DEFAULT_DENY."""
    reasons: tuple[str, ...]
    """One text per rule, in the same order (its @reason, or why the rule is named)."""
    errors: tuple[str, ...] = ()
    """Cedar's evaluation errors (for the log and the audit, not for the caller)."""

    def refusal(self) -> dict:
        """The body of the 403 answer to a denied submission."""
        return {"error": "forbidden", "rules": list(self.rules), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class SubmissionContext:
    """What the policies may look at besides who asks and which device: the program's measures, the
    costs and the instant of the request (the caller's clock: nothing here reads one)."""

    shots: int
    qubits: int
    gates: int
    depth: int
    gate_set: frozenset[str]
    estimated_cost_usd: Usd
    spend_today_usd: Usd
    """Amounts in USD (Decimal, int, str, or float read by its repr); stored as Decimals rounded up to
    Cedar's 4 decimals, so a quota is never compared against less than the real amount."""
    now: datetime
    """Timezone-aware; the policies see its local hour and weekday in the engine's time zone."""

    def __post_init__(self) -> None:
        for name in ("shots", "qubits", "gates", "depth"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_LONG):
                raise ValueError(f"{name}={value!r}: expected a whole number from 0 to {_MAX_LONG}")
        gates = self.gate_set
        if isinstance(gates, str) or not isinstance(gates, Iterable) or not all(isinstance(g, str) for g in gates):
            raise ValueError(f"gate_set={gates!r}: expected a collection of gate names")
        object.__setattr__(self, "gate_set", frozenset(gates))
        object.__setattr__(self, "estimated_cost_usd", _usd("estimated_cost_usd", self.estimated_cost_usd))
        object.__setattr__(self, "spend_today_usd", _usd("spend_today_usd", self.spend_today_usd))
        if self.projected_spend_usd > _MAX_USD:
            raise ValueError(f"spend_today_usd + estimated_cost_usd = {self.projected_spend_usd}: expected at most {_MAX_USD}")
        if not isinstance(self.now, datetime) or self.now.utcoffset() is None:
            raise ValueError(f"now={self.now!r}: expected a timezone-aware datetime")

    @property
    def projected_spend_usd(self) -> Decimal:
        """Spend today including this task; Cedar's decimal has no addition, so the gateway adds."""
        return self.spend_today_usd + self.estimated_cost_usd

    def to_cedar(self, zone: tzinfo) -> dict:
        """The Cedar request context (entities and values in Cedar's JSON format,
        https://docs.cedarpolicy.com/auth/entities-syntax.html)."""
        local = self.now.astimezone(zone)
        return {
            "shots": self.shots,
            "qubits": self.qubits,
            "gates": self.gates,
            "depth": self.depth,
            "gate_set": sorted(self.gate_set),
            "estimated_cost_usd": _cedar_decimal(self.estimated_cost_usd),
            "spend_today_usd": _cedar_decimal(self.spend_today_usd),
            "projected_spend_usd": _cedar_decimal(self.projected_spend_usd),
            "hour": local.hour,
            "weekday": local.isoweekday(),
        }


def _usd(name: str, value: Usd) -> Decimal:
    """An amount of USD as a Decimal with 4 decimals (rounded up); ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ValueError(f"{name}={value!r}: expected an amount of USD (a number)")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}={value!r}: expected a finite amount of USD")
    try:
        # repr, not the float's binary value: 0.1 is "0.1", not 0.1000000000000000055511151231257827.
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{name}={value!r}: expected an amount of USD (a number)") from None
    if not amount.is_finite() or amount < 0 or amount > _MAX_USD:
        raise ValueError(f"{name}={value!r}: expected an amount of USD from 0 to {_MAX_USD}")
    # Rounded up, so a quota compares against no less than the real amount (and "-0" reads "0").
    return amount.copy_abs().quantize(_STEP, rounding=ROUND_CEILING)


def _cedar_decimal(amount: Decimal) -> dict:
    return {"__extn": {"fn": "decimal", "arg": f"{amount:.4f}"}}


class PolicyEngine:
    """Cedar policies loaded from a folder, deciding submissions. Immutable and safe to share between
    threads: reloading the policies means loading a new engine."""

    def __init__(self, policies: cedarpy.PolicySet, rules: Mapping[str, Rule],
                 schema: Optional[cedarpy.Schema], zone: tzinfo) -> None:
        self._policies, self._rules, self._schema, self.zone = policies, dict(rules), schema, zone
        self._order = {rule_id: n for n, rule_id in enumerate(self._rules)}

    @property
    def rules(self) -> Mapping[str, Rule]:
        """The loaded policies by @id."""
        return dict(self._rules)

    def describe(self) -> Iterator[str]:
        """One line per loaded rule (effect, @id, reason, file), for the log at start-up."""
        for rule in self._rules.values():
            yield f"{rule.effect} {rule.id}: {rule.reason} ({rule.file.name})"

    @classmethod
    def load(cls, folder: Path, zone: tzinfo = timezone.utc) -> "PolicyEngine":
        """The policies in ``folder`` (every ``*.cedar``, checked against the ``*.cedarschema`` if there
        is one), deciding office hours in ``zone``; PolicyError (one line naming the file) otherwise."""
        folder = Path(folder)
        if not folder.is_dir():
            raise PolicyError(f"{folder}: not a folder (expected a folder of Cedar policies, *.cedar)")
        schema_file, schema = _load_schema(folder)
        files = sorted(folder.glob("*.cedar"))
        if not files:
            raise PolicyError(f"{folder}: no policies (*.cedar); without a permit policy every submission is refused")
        rules: dict[str, Rule] = {}
        static: dict[str, dict] = {}
        for file in files:
            text = _read(file)
            for number, policy in enumerate(_parse(file, text), 1):
                rule = _rule(file, number, policy, rules)
                rules[rule.id], static[rule.id] = rule, policy
            if schema is not None:
                _validate(file, text, schema, schema_file)
        try:
            policies = cedarpy.PolicySet.from_json_str(
                json.dumps({"staticPolicies": static, "templates": {}, "templateLinks": []}))
        except ValueError as error:  # every file parsed on its own: not expected, but never a traceback
            raise PolicyError(f"{folder}: the policies cannot be combined: {_one_line(error)}") from None
        engine = cls(policies, rules, schema, zone)
        if schema is not None:
            engine._check_schema_matches_requests(schema_file)
        return engine

    def decide(self, principal: Principal, device_arn: str, context: SubmissionContext) -> Decision:
        """Cedar's decision on ``principal`` submitting to ``device_arn``, refusing on any evaluation
        error. ValueError (one line) if ``device_arn`` is not a Braket device ARN."""
        request = {
            "principal": {"type": "User", "id": principal.subject},
            "action": _ACTION,
            "resource": {"type": "Device", "id": device_arn},
            "context": context.to_cedar(self.zone),
        }
        result = cedarpy.is_authorized(request, self._policies, _entities(principal, device_arn), schema=self._schema)
        return self._decision(result)

    def _decision(self, result: cedarpy.AuthzResult) -> Decision:
        # The satisfied policies that decided, by our ids, in the order the folder lists them.
        determining = sorted(result.diagnostics.reasons, key=self._order.__getitem__)
        errors = tuple(_one_line(e) for e in result.diagnostics.errors)
        if result.decision is cedarpy.Decision.Allow and not errors:
            return Decision(True, tuple(determining), tuple(self._rules[r].reason for r in determining))
        # Refused: a Deny, or an Allow Cedar reached by skipping a policy that failed to evaluate (it
        # may have been a forbid). For a Deny, Cedar's determining policies are the satisfied forbids;
        # none means nothing permitted.
        forbids = [r for r in determining if self._rules[r].effect == "forbid"]
        failed = [r for r in dict.fromkeys(_failed_policy(e) for e in errors) if r in self._rules and r not in forbids]
        rules = forbids + failed
        reasons = [self._rules[r].reason for r in forbids]
        reasons += [f"the rule {r!r} could not be evaluated, so the submission is refused" for r in failed]
        if not rules:
            rules, reasons = ([EVALUATION_ERROR], [_EVALUATION_ERROR_REASON]) if errors else ([DEFAULT_DENY], [_DEFAULT_DENY_REASON])
        return Decision(False, tuple(rules), tuple(reasons), errors)

    def _check_schema_matches_requests(self, schema_file: Path) -> None:
        """Refuse a schema the gateway's requests do not conform to: otherwise every request would fail
        to build and be refused, and the mistake would show only as refusals."""
        probe = SubmissionContext(1, 1, 1, 1, frozenset({"h"}), 0, 0, datetime(2025, 1, 6, 12, tzinfo=timezone.utc))
        sv1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
        decision = self.decide(Principal("policy-check", ("policy-check",)), sv1, probe)
        failures = [e for e in decision.errors if _failed_policy(e) not in self._rules]
        if failures:
            raise PolicyError(f"{schema_file}: does not describe the requests the gateway sends "
                              f"(see gateway/policies/gateway.cedarschema): {failures[0]}")


def _entities(principal: Principal, device_arn: str) -> list[dict]:
    """The request's entities in Cedar's JSON format: the user in its groups, the groups, the device."""
    try:
        device = device_from_arn(device_arn)
    except UsageError:
        raise ValueError(f"device {device_arn!r} is not a Braket device ARN: expected {ARN_FORMAT}") from None
    groups = [{"type": "Group", "id": g} for g in dict.fromkeys(principal.groups)]
    return [
        {"uid": {"type": "User", "id": principal.subject}, "attrs": {}, "parents": groups},
        *({"uid": g, "attrs": {}, "parents": []} for g in groups),
        {"uid": {"type": "Device", "id": device_arn}, "parents": [],
         "attrs": {"kind": device.kind, "provider": device.provider, "region": device.region or ""}},
    ]


def _failed_policy(error: str) -> Optional[str]:
    """The policy id in Cedar's "error while evaluating policy `<id>`: ..." message, if any."""
    match = _ERROR_POLICY.search(error)
    return match.group(1) if match else None


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(f"{file}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise PolicyError(f"{file}: cannot be read ({error.strerror or error})") from None


def _load_schema(folder: Path) -> tuple[Optional[Path], Optional[cedarpy.Schema]]:
    files = sorted(folder.glob("*.cedarschema"))
    if not files:
        return None, None
    if len(files) > 1:
        raise PolicyError(f"{folder}: {len(files)} schemas ({', '.join(f.name for f in files)}): expected at most one *.cedarschema")
    try:
        return files[0], cedarpy.Schema.from_str(_read(files[0]))
    except ValueError as error:
        raise PolicyError(f"{files[0]}: not a valid Cedar schema: {_one_line(error)}") from None


def _parse(file: Path, text: str) -> list[dict]:
    """The file's static policies in Cedar's JSON form (EST), in source order."""
    try:
        est = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as error:
        line = _error_line(text, str(error))
        where = f"line {line}: " if line else ""
        raise PolicyError(f"{file}: {where}not valid Cedar: {_one_line(error)}") from None
    if est.get("templates"):
        raise PolicyError(f"{file}: templates (?principal, ?resource) are not supported: write each policy for its own group")
    # Cedar names a file's policies policy0, policy1, ... in source order.
    return [est["staticPolicies"][k] for k in sorted(est["staticPolicies"], key=lambda k: int(k.removeprefix("policy")))]


def _error_line(text: str, message: str) -> Optional[int]:
    """The line a parse error is on (Cedar's message has no position): the shortest prefix of whole
    lines that fails with the same message ends with it. Files are small; bounded anyway."""
    lines = text.split("\n")
    if message == "unexpected end of input":
        return max((n for n, line in enumerate(lines, 1) if line.strip()), default=1)
    if len(lines) > 2000:
        return None
    for count in range(1, len(lines) + 1):
        try:
            cedarpy.policies_to_json_str("\n".join(lines[:count]))
        except ValueError as error:
            if str(error) == message:
                return count
    return None


def _rule(file: Path, number: int, policy: dict, seen: Mapping[str, Rule]) -> Rule:
    annotations = policy.get("annotations") or {}
    effect = policy["effect"]
    rule_id, reason = annotations.get("id"), annotations.get("reason")
    if not (isinstance(rule_id, str) and _ID.fullmatch(rule_id)):
        shown = f"@id({rule_id!r})" if isinstance(rule_id, str) else "no @id"
        raise PolicyError(f"{file}: policy {number} (a {effect}) has {shown}: every policy needs @id(\"name\"), "
                          f"a name of letters, digits, '.', '_' or '-' (up to 64)")
    if rule_id in _RESERVED_IDS:
        raise PolicyError(f"{file}: @id({rule_id!r}) is reserved for the gateway's own refusals: choose another name")
    if rule_id in seen:
        raise PolicyError(f"{file}: @id({rule_id!r}) is already used in {seen[rule_id].file}: ids must be unique")
    if not (isinstance(reason, str) and reason.strip()):
        raise PolicyError(f"{file}: policy @id({rule_id!r}) has no @reason(\"...\"): every policy needs the "
                          f"reason a refusal gives")
    return Rule(rule_id, reason, effect, file)


def _validate(file: Path, text: str, schema: cedarpy.Schema, schema_file: Path) -> None:
    result = cedarpy.validate_policies(text, schema)
    if result.validation_passed:
        return
    first = result.errors[0]
    rule_id = result.id_annotations_by_policy_id.get(first.policy_id)
    which = f"policy @id({rule_id!r})" if rule_id else "a policy"
    more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
    raise PolicyError(f"{file}: {which} does not match the schema {schema_file.name}: {_one_line(first.error)}{more}")
