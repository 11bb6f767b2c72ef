"""A small, faithful model of AWS IAM policy evaluation, for tests.

It decides a single request against the JSON policies our stacks synthesize,
following AWS's documented evaluation logic:

* IAM User Guide, "Policy evaluation logic" and "Determining whether a request
  is allowed or denied within an account"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
* IAM User Guide, "Cross-account policy evaluation logic"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
* IAM User Guide, "IAM JSON policy elements": Action/NotAction, Resource/NotResource,
  Principal/NotPrincipal, Condition operators, and "Creating a condition with
  multiple keys or values" (ForAnyValue / ForAllValues)
* KMS Developer Guide, "Key policies in AWS KMS" and "Default key policy"
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
* AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint policies"
  https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html

What is modelled: identity-based policies of the caller, one resource-based
policy (bucket/topic/queue policy, or a KMS key policy with ``key_policy=True``),
the policy of the VPC endpoint a request comes through (``endpoint_policy``),
explicit/implicit deny, same-account and cross-account logic, and the condition
operators listed in ``_POSITIVE``/``_NEGATED``.

What is not modelled (SCPs, RCPs, permissions boundaries, session policies,
role sessions, KMS grants, ACLs, Date/Binary operators, policy variables): any
policy or request that would need one of them raises ``PolicyError`` (a
``ValueError``) instead of returning an answer, so a test can never pass by
accident.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Iterable, Mapping, Sequence

__all__ = ["DEFAULT_ENDPOINT_POLICY", "Decision", "PolicyError", "Request", "Result", "evaluate"]


class PolicyError(ValueError):
    """A policy or request this evaluator cannot decide faithfully (or that AWS would reject)."""


class Decision(str, Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


# --------------------------------------------------------------------------- request

_IAM_PRINCIPAL = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):(root|role/.+|user/.+)$")
_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")
_REQUEST_ACTION = re.compile(r"^[a-z0-9-]+:[a-z0-9]+$", re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"^\d{12}$")

# Keys AWS puts in the context of every (signed) request. A policy that tests one of
# them against a context that lacks it would be evaluated against a request that cannot
# happen, so that raises instead (IAM User Guide, "AWS global condition context keys":
# aws:SecureTransport, aws:CurrentTime and aws:EpochTime are always present).
_ALWAYS_PRESENT = frozenset({"aws:securetransport", "aws:currenttime", "aws:epochtime"})


def _check_context_value(key: str, value: object) -> object:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(
        f"context[{key!r}] = {value!r}: values must be str, bool, int, float or a list of str"
    )


@dataclass(frozen=True)
class Request:
    """One request as AWS sees it.

    ``principal``: an IAM role or user ARN, an account root ARN
    (``arn:aws:iam::999999999999:root``) or a service principal
    (``budgets.amazonaws.com``). Role *sessions* are not modelled: pass the role ARN.

    ``context``: condition keys (case-insensitive) to values. The keys AWS derives from
    the caller are added automatically: ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:PrincipalType`` and ``aws:PrincipalIsAWSService`` (and
    ``aws:PrincipalServiceName`` for services, ``kms:CallerAccount`` for kms: actions).
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, object] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.principal, str) or not (
            _IAM_PRINCIPAL.match(self.principal) or _SERVICE_PRINCIPAL.match(self.principal)
        ):
            raise PolicyError(
                f"principal {self.principal!r}: expected an IAM role/user ARN, an account root "
                "ARN (arn:aws:iam::ACCOUNT:root) or a service principal (NAME.amazonaws.com); "
                "role sessions and federated users are not modelled"
            )
        if not isinstance(self.action, str) or not _REQUEST_ACTION.match(self.action):
            raise PolicyError(f"action {self.action!r}: expected 'service:Operation' without wildcards")
        if not isinstance(self.resource, str) or not (
            self.resource == "*" or (self.resource.startswith("arn:") and not set("*?") & set(self.resource))
        ):
            raise PolicyError(f"resource {self.resource!r}: expected a concrete ARN (or '*')")
        if not isinstance(self.context, Mapping):
            raise PolicyError("context must be a mapping of condition keys to values")

        ctx: dict[str, object] = {}
        for key, value in self.context.items():
            lowered = str(key).lower()
            if lowered in ctx:
                raise PolicyError(f"context key {key!r} given twice (keys are case-insensitive)")
            ctx[lowered] = _check_context_value(key, value)
        for key, value in self._derived_context().items():
            if key in ctx and ctx[key] != value:
                raise PolicyError(
                    f"context[{key!r}] = {ctx[key]!r} contradicts the principal ({value!r})"
                )
            ctx[key] = value
        object.__setattr__(self, "_ctx", ctx)

    # -- derived facts

    @property
    def principal_account(self) -> str | None:
        """The caller's account (None for a service principal)."""
        m = _IAM_PRINCIPAL.match(self.principal)
        return m.group(1) if m else None

    @property
    def principal_kind(self) -> str:
        """'root', 'role', 'user' or 'service'."""
        m = _IAM_PRINCIPAL.match(self.principal)
        if not m:
            return "service"
        return m.group(2).split("/", 1)[0]

    def _derived_context(self) -> dict[str, object]:
        kind = self.principal_kind
        if kind == "service":
            return {
                "aws:principalisawsservice": True,
                "aws:principalservicename": self.principal,
            }
        derived: dict[str, object] = {
            "aws:principalarn": self.principal,
            "aws:principalaccount": self.principal_account,
            "aws:principalisawsservice": False,
            "aws:principaltype": {"root": "Account", "role": "AssumedRole", "user": "User"}[kind],
        }
        if self.action.lower().startswith("kms:"):
            derived["kms:calleraccount"] = self.principal_account
        return derived


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Result:
    decision: Decision
    reason: str

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def __bool__(self) -> bool:  # `assert evaluate(...)` would always pass: refuse it
        raise TypeError("use Result.allowed or Result.decision, not the Result itself")

    def __str__(self) -> str:
        return f"{self.decision.value}: {self.reason}"


# --------------------------------------------------------------------------- matching helpers


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """`*` = any run of characters (including none), `?` = exactly one character."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: object, what: str) -> list:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{what}: empty list")
    return items


def _strings(value: object, what: str) -> list[str]:
    items = _as_list(value, what)
    for item in items:
        if not isinstance(item, str) or not item:
            raise PolicyError(f"{what}: {item!r} is not a non-empty string")
    return items


def _walk_strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)


# --------------------------------------------------------------------------- policies

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                   "Principal", "NotPrincipal", "Condition"}


@dataclass(frozen=True)
class _Statement:
    label: str  # "identity policy #0, statement 'Sid'" (for Result.reason)
    raw: Mapping[str, object]

    @property
    def effect(self) -> str:
        return self.raw["Effect"]  # type: ignore[return-value]


def _parse_policy(
    policy: object, where: str, *, resource_based: bool, trust_policy: bool = False
) -> list[_Statement]:
    if not isinstance(policy, Mapping):
        raise PolicyError(f"{where}: a policy is a JSON object (dict), got {type(policy).__name__}")
    unknown = set(policy) - {"Version", "Id", "Statement"}
    if unknown:
        raise PolicyError(f"{where}: unknown top-level keys {sorted(unknown)}")
    if policy.get("Version", "2008-10-17") not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(f"{where}: unknown Version {policy.get('Version')!r}")
    if "Statement" not in policy:
        raise PolicyError(f"{where}: no Statement")
    raw_statements = policy["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(f"{where}: Statement must be an object or a list of objects")

    statements = []
    for index, stmt in enumerate(raw_statements):
        if not isinstance(stmt, Mapping):
            raise PolicyError(f"{where}: statement #{index} is not an object")
        label = f"{where}, statement {stmt['Sid']!r}" if stmt.get("Sid") else f"{where}, statement #{index}"
        unknown = set(stmt) - _STATEMENT_KEYS
        if unknown:
            raise PolicyError(f"{label}: unknown keys {sorted(unknown)}")
        for text in _walk_strings(stmt):
            if "${" in text:
                raise PolicyError(
                    f"{label}: {text!r} contains a policy variable / unresolved token; "
                    "substitute concrete values first"
                )
        if stmt.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"{label}: Effect must be 'Allow' or 'Deny', got {stmt.get('Effect')!r}")
        if "Action" in stmt and "NotAction" in stmt or not ("Action" in stmt or "NotAction" in stmt):
            raise PolicyError(f"{label}: needs exactly one of Action / NotAction")
        if "Resource" in stmt and "NotResource" in stmt or not (
            trust_policy or "Resource" in stmt or "NotResource" in stmt
        ):
            # A role trust policy has no Resource element: its resource is the role itself.
            raise PolicyError(f"{label}: needs exactly one of Resource / NotResource")
        for element in ("Action", "NotAction"):
            for pattern in _strings(stmt.get(element, "*"), f"{label}: {element}"):
                if pattern != "*" and ":" not in pattern:
                    raise PolicyError(f"{label}: {element} {pattern!r} is not 'service:action'")
        for element in ("Resource", "NotResource"):
            _strings(stmt.get(element, "*"), f"{label}: {element}")
        has_principal = "Principal" in stmt or "NotPrincipal" in stmt
        if resource_based:
            if ("Principal" in stmt) == ("NotPrincipal" in stmt):
                raise PolicyError(f"{label}: a resource-based statement needs exactly one of Principal / NotPrincipal")
        elif has_principal:
            raise PolicyError(f"{label}: Principal/NotPrincipal cannot be used in an identity-based policy")
        for element in ("Principal", "NotPrincipal"):
            if element in stmt:
                for name in _principal_entries(stmt[element], label).get("AWS", []):
                    _aws_principal_form(name, label)
        _validate_condition(stmt.get("Condition", {}), label)
        statements.append(_Statement(label, stmt))
    return statements


def _action_matches(stmt: _Statement, action: str) -> bool:
    """Action names are case-insensitive (IAM JSON policy elements: Action)."""
    if "Action" in stmt.raw:
        return any(_glob(p, action, ignore_case=True) for p in _strings(stmt.raw["Action"], stmt.label))
    return not any(_glob(p, action, ignore_case=True) for p in _strings(stmt.raw["NotAction"], stmt.label))


def _resource_matches(stmt: _Statement, resource: str) -> bool:
    """ARNs are case-sensitive; `*` may span segments (IAM JSON policy elements: Resource)."""
    if "Resource" in stmt.raw:
        return any(_glob(p, resource) for p in _strings(stmt.raw["Resource"], stmt.label))
    if "NotResource" in stmt.raw:
        return not any(_glob(p, resource) for p in _strings(stmt.raw["NotResource"], stmt.label))
    return True  # a role trust policy statement: it is attached to (and only about) the role


# Principal matching ------------------------------------------------------------------

_ROOT_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):root$")
_ENTITY_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:(?:role|user)/.+$")
_SESSION_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:sts::\d{12}:(?:assumed-role|federated-user)/.+$")

# How a resource-based statement names the caller.
_DIRECT = "direct"      # the caller itself, "*", or NotPrincipal: grants without IAM help
_ACCOUNT = "account"    # the caller's account: only delegates to the account's IAM policies


def _principal_entries(value: object, label: str) -> dict[str, list[str]]:
    if value == "*":
        return {"*": ["*"]}
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(f"{label}: Principal must be '*' or an object like {{'AWS': [...]}}")
    entries = {}
    for kind, names in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise PolicyError(f"{label}: unknown principal type {kind!r}")
        entries[kind] = _strings(names, f"{label}: Principal.{kind}")
    return entries


def _aws_principal_form(name: str, label: str) -> str:
    """'*', 'account', 'entity' (role/user ARN) or 'session'; anything else raises."""
    if name == "*":
        return "*"
    if _ACCOUNT_ID.match(name) or _ROOT_ARN.match(name):
        return "account"
    if "*" in name or "?" in name:
        # "You cannot use a wildcard to match part of a principal name or ARN."
        raise PolicyError(
            f"{label}: {name!r}: wildcards cannot match part of a principal (use aws:PrincipalArn)"
        )
    if _ENTITY_ARN.match(name):
        return "entity"
    if _SESSION_ARN.match(name):
        return "session"
    raise PolicyError(f"{label}: unrecognised AWS principal {name!r}")


def _match_aws_principal(name: str, request: Request, label: str) -> str | None:
    """How one {"AWS": name} entry names the caller (None = not at all)."""
    form = _aws_principal_form(name, label)
    if form == "*":
        return _DIRECT
    if form == "account":
        # "The account ARN and the shortened account ID behave the same way. Both
        # delegate permissions to the account." (AWS JSON policy elements: Principal)
        account = name if _ACCOUNT_ID.match(name) else _ROOT_ARN.match(name).group(1)
        if request.principal_account != account:
            return None
        return _DIRECT if request.principal_kind == "root" else _ACCOUNT
    if form == "entity":
        return _DIRECT if name == request.principal else None
    return None  # role sessions are not modelled as callers; a role ARN never equals one


def _principal_match(stmt: _Statement, request: Request) -> str | None:
    """For a resource-based statement: _DIRECT, _ACCOUNT or None."""
    if "Principal" in stmt.raw:
        entries = _principal_entries(stmt.raw["Principal"], stmt.label)
        if "*" in entries:
            return _DIRECT
        best = None
        for name in entries.get("AWS", []):
            how = _match_aws_principal(name, request, stmt.label)
            if how == _DIRECT:
                return _DIRECT
            best = best or how
        if request.principal_kind == "service" and request.principal in entries.get("Service", []):
            return _DIRECT
        return best

    # NotPrincipal: the statement applies to every principal not listed. AWS checks the
    # caller's account and then the caller itself, so a caller is only exempt if every
    # link is listed (AWS JSON policy elements: NotPrincipal, "you must also specify the
    # account ARN of the not-denied principal").
    entries = _principal_entries(stmt.raw["NotPrincipal"], stmt.label)
    if "*" in entries or "*" in entries.get("AWS", []):
        return None  # everyone is exempt
    if request.principal_kind == "service":
        exempt = request.principal in entries.get("Service", [])
    else:
        listed = {_match_aws_principal(n, request, stmt.label) for n in entries.get("AWS", [])}
        if request.principal_kind == "root":
            exempt = _DIRECT in listed
        else:
            exempt = _DIRECT in listed and _ACCOUNT in listed
    return None if exempt else _DIRECT


# Conditions ----------------------------------------------------------------------------


def _policy_str(value: object, label: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise PolicyError(f"{label}: condition value {value!r} is not a string")


def _context_str(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_bool(value: object, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PolicyError(f"{label}: {value!r} is not a boolean ('true'/'false')")


def _to_number(value: object, label: str) -> Decimal:
    if isinstance(value, bool):
        raise PolicyError(f"{label}: {value!r} is not a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PolicyError(f"{label}: {value!r} is not a number") from None


def _arn_like(pattern: str, value: str, label: str) -> bool:
    """ArnEquals/ArnLike: "Each of the six colon-delimited components of the ARN is checked
    separately and each can include ... wildcards" (IAM JSON policy elements: Condition
    operators, ARN condition operators)."""
    pattern_parts = pattern.split(":", 5)
    if len(pattern_parts) != 6 or pattern_parts[0] != "arn":
        raise PolicyError(f"{label}: ARN condition value {pattern!r} is not a six-part ARN")
    value_parts = value.split(":", 5)
    if len(value_parts) != 6:
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts))


def _ip_in(network: str, address: str, label: str) -> bool:
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise PolicyError(f"{label}: {network!r} is not an IP address or CIDR block") from None
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        raise PolicyError(f"{label}: context value {address!r} is not an IP address") from None
    return addr.version == net.version and addr in net


# Each comparator: (policy value, context value, label) -> bool
_POSITIVE = {
    "StringEquals": lambda p, c, lbl: _policy_str(p, lbl) == _context_str(c),
    "StringEqualsIgnoreCase": lambda p, c, lbl: _policy_str(p, lbl).lower() == _context_str(c).lower(),
    "StringLike": lambda p, c, lbl: _glob(_policy_str(p, lbl), _context_str(c)),
    "NumericEquals": lambda p, c, lbl: _to_number(c, lbl) == _to_number(p, lbl),
    "NumericLessThan": lambda p, c, lbl: _to_number(c, lbl) < _to_number(p, lbl),
    "NumericLessThanEquals": lambda p, c, lbl: _to_number(c, lbl) <= _to_number(p, lbl),
    "NumericGreaterThan": lambda p, c, lbl: _to_number(c, lbl) > _to_number(p, lbl),
    "NumericGreaterThanEquals": lambda p, c, lbl: _to_number(c, lbl) >= _to_number(p, lbl),
    "Bool": lambda p, c, lbl: _to_bool(p, lbl) == _to_bool(c, lbl),
    # "The ArnEquals and ArnLike condition operators behave identically."
    "ArnEquals": lambda p, c, lbl: _arn_like(_policy_str(p, lbl), _context_str(c), lbl),
    "ArnLike": lambda p, c, lbl: _arn_like(_policy_str(p, lbl), _context_str(c), lbl),
    "IpAddress": lambda p, c, lbl: _ip_in(_policy_str(p, lbl), _context_str(c), lbl),
}
# Negated operators: true when the context value matches NONE of the policy values
# ("If a single negated matching condition operator includes multiple values for a
# context key, those values are evaluated using a logical NOR.")
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NotIpAddress": "IpAddress",
}


def _parse_operator(name: str, label: str) -> tuple[str | None, str, bool]:
    """'ForAnyValue:StringLikeIfExists' -> ('ForAnyValue', 'StringLike', True)."""
    set_op, _, base = name.rpartition(":")
    if set_op not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"{label}: unknown condition operator {name!r}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if if_exists or set_op:
            raise PolicyError(f"{label}: {name!r}: Null takes no IfExists suffix or set qualifier")
    elif base not in _POSITIVE and base not in _NEGATED:
        raise PolicyError(f"{label}: unknown or unsupported condition operator {name!r}")
    return set_op or None, base, if_exists


def _key_matches(operator: str, key: str, policy_values: object, ctx: Mapping[str, object], label: str) -> bool:
    set_op, base, if_exists = _parse_operator(operator, label)
    values = _as_list(policy_values, f"{label}: {operator} {key}")
    lkey = key.lower()
    present = lkey in ctx

    if base == "Null":
        # "true (the key doesn't exist — it is null) or false (the key exists ...)"
        return any(_to_bool(v, label) == (not present) for v in values)

    if not present:
        if lkey in _ALWAYS_PRESENT:
            raise PolicyError(
                f"{label}: {key} is present in every real request; put it in Request.context"
            )
        if if_exists:
            return True  # "If the key is not present, evaluate the condition element as true."
        if set_op == "ForAllValues":
            return True  # ForAllValues "also returns true if there are no context keys in the request"
        if set_op == "ForAnyValue":
            return False
        # "If the key that you specify in a policy condition is not present in the request
        # context, the values do not match and the condition is false. If the policy
        # condition requires that the key is not matched, such as StringNotLike or
        # ArnNotLike, and the right key is not present, the condition is true."
        return base in _NEGATED

    negated = base in _NEGATED
    compare = _POSITIVE[_NEGATED.get(base, base)]

    def one(context_value: object) -> bool:
        hit = any(compare(p, context_value, label) for p in values)
        return not hit if negated else hit

    context_value = ctx[lkey]
    if set_op is None:
        if isinstance(context_value, tuple):
            raise PolicyError(
                f"{label}: {key} has several values in the context; a multivalued key needs "
                "ForAnyValue: or ForAllValues:"
            )
        return one(context_value)

    members = list(context_value) if isinstance(context_value, tuple) else [context_value]
    if members in ([], [""]):
        # "If the key values in the request resolve to an empty data set (for example, an
        # empty string), ... ForAllValues returns true, and ... ForAnyValue returns false."
        return set_op == "ForAllValues"
    results = [one(member) for member in members]
    return all(results) if set_op == "ForAllValues" else any(results)


def _validate_condition(condition: object, label: str) -> None:
    """Check operators and policy values up front, so a statement that does not apply to
    this request still cannot hide a typo or an unsupported operator."""
    if not isinstance(condition, Mapping):
        raise PolicyError(f"{label}: Condition must be an object")
    for operator, block in condition.items():
        _, base, _ = _parse_operator(operator, label)
        if not isinstance(block, Mapping) or not block:
            raise PolicyError(f"{label}: Condition.{operator} must map keys to values")
        for key, policy_values in block.items():
            for value in _as_list(policy_values, f"{label}: {operator} {key}"):
                base_positive = _NEGATED.get(base, base)
                if base_positive in ("Bool", "Null"):
                    _to_bool(value, label)
                elif base_positive.startswith("Numeric"):
                    _to_number(value, label)
                else:
                    text = _policy_str(value, label)
                    if base_positive in ("ArnEquals", "ArnLike"):
                        _arn_like(text, "", label)
                    elif base_positive == "IpAddress":
                        _ip_in(text, "0.0.0.0", label)


def _conditions_match(stmt: _Statement, ctx: Mapping[str, object]) -> bool:
    """Operators AND, keys within an operator AND, values for one key OR."""
    condition = stmt.raw.get("Condition") or {}
    for operator, block in condition.items():
        if not isinstance(block, Mapping) or not block:
            raise PolicyError(f"{stmt.label}: Condition.{operator} must map keys to values")
        for key, policy_values in block.items():
            if not _key_matches(operator, key, policy_values, ctx, stmt.label):
                return False
    return True


def _applies(stmt: _Statement, request: Request) -> bool:
    return (
        _action_matches(stmt, request.action)
        and _resource_matches(stmt, request.resource)
        and _conditions_match(stmt, request._ctx)  # type: ignore[attr-defined]
    )


# --------------------------------------------------------------------------- VPC endpoint policies
# ENDPOINT_POLICIES: AWS PrivateLink Guide, "Control access to VPC endpoints using endpoint policies"
# (https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html): what an endpoint
# policy is, the default one, and the restrictions its "Considerations" list.

DEFAULT_ENDPOINT_POLICY = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}
"""'Default endpoint policy': "The default endpoint policy grants full access through the endpoint."
Also what a service without endpoint-policy support does: "If an AWS service doesn't support
endpoint policies, we allow full access to any endpoint for the service"."""

# "You can't use wildcard characters (* or ?) or numeric condition operators with global context
# keys that reference system-generated identifiers (for example, aws:PrincipalAccount or
# aws:SourceVpc)": the two it names, and the other account, organization and VPC identifiers.
_SYSTEM_GENERATED_ID_KEYS = frozenset({
    "aws:principalaccount", "aws:principalorgid", "aws:resourceaccount", "aws:resourceorgid",
    "aws:sourceaccount", "aws:sourceorgid", "aws:sourcevpc", "aws:sourcevpce",
})
_STRING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike"})
_MIN_RUN_BESIDE_WILDCARD = 6


def _check_endpoint_policy_restrictions(stmt: _Statement) -> None:
    """The Considerations of ENDPOINT_POLICIES that AWS enforces on an endpoint policy's text."""
    for element in ("Resource", "NotResource"):
        for arn in _strings(stmt.raw.get(element, "*"), f"{stmt.label}: {element}"):
            _check_arn_account(arn, stmt.label)
    for operator, block in (stmt.raw.get("Condition") or {}).items():
        _, base, _ = _parse_operator(operator, stmt.label)
        positive = _NEGATED.get(base, base)
        for key, values in block.items():
            values = [_policy_str(v, stmt.label) for v in _as_list(values, f"{stmt.label}: {operator} {key}")]
            if key.lower() in _SYSTEM_GENERATED_ID_KEYS and (
                positive.startswith("Numeric") or any(set("*?") & set(v) for v in values)
            ):
                raise PolicyError(
                    f"{stmt.label}: {operator} {key} {values}: an endpoint policy can't use wildcards or numeric "
                    "operators with keys of system-generated identifiers"
                )
            if positive in ("ArnEquals", "ArnLike"):
                for value in values:
                    _check_arn_account(value, stmt.label)
            if positive in _STRING_OPERATORS:
                for value in values:
                    _check_wildcard_runs(value, f"{stmt.label}: {operator} {key}")


def _check_arn_account(arn: str, label: str) -> None:
    """ENDPOINT_POLICIES: "When you specify an ARN in the resource or condition element, the account
    portion of the ARN can contain an account ID or a wildcard character, but not both." """
    parts = arn.split(":", 5)
    if len(parts) == 6 and set("*?") & set(parts[4]) and len(parts[4]) > 1:
        raise PolicyError(f"{label}: {arn!r}: the account portion mixes an account ID and a wildcard")


def _check_wildcard_runs(value: str, label: str) -> None:
    """ENDPOINT_POLICIES: "When using string condition operators, you must use at least six
    consecutive characters before or after each wildcard character." """
    for index, char in enumerate(value):
        if char not in "*?":
            continue
        before = re.search(r"[^*?]*$", value[:index]).group()
        after = re.match(r"[^*?]*", value[index + 1:]).group()
        if max(len(before), len(after)) < _MIN_RUN_BESIDE_WILDCARD:
            raise PolicyError(
                f"{label}: {value!r}: an endpoint policy needs six consecutive characters before or after "
                "each wildcard"
            )


def _endpoint_statements(request: Request, policy: dict | None, gateway: bool) -> list[_Statement] | None:
    """The endpoint policy's statements (None without an endpoint), after the checks AWS makes."""
    through_endpoint = "aws:sourcevpce" in request._ctx  # type: ignore[attr-defined]
    if policy is None:
        if gateway:
            raise PolicyError("gateway_endpoint=True needs the endpoint's policy")
        if through_endpoint:
            # IAM User Guide, "AWS global condition context keys", aws:SourceVpce: "This key is
            # included in the request context only if the requester uses a VPC endpoint to make
            # the request" -- and every such request is decided by that endpoint's policy too.
            raise PolicyError(
                "the context has aws:SourceVpce, so the request comes through a VPC endpoint: pass its "
                "policy as endpoint_policy (DEFAULT_ENDPOINT_POLICY if it has none)"
            )
        return None
    if not through_endpoint:
        raise PolicyError(
            "a request through a VPC endpoint carries aws:SourceVpce: put the endpoint's id in the context"
        )
    if request.principal_kind == "service":
        raise PolicyError(
            f"{request.principal} calls from its own network, never through a VPC endpoint of yours"
        )
    statements = _parse_policy(policy, "endpoint policy", resource_based=True)
    for stmt in statements:
        if "NotPrincipal" in stmt.raw:
            raise PolicyError(f"{stmt.label}: NotPrincipal in an endpoint policy is not modelled")
        _check_endpoint_policy_restrictions(stmt)
        for name in _principal_entries(stmt.raw["Principal"], stmt.label).get("AWS", []):
            if gateway and _aws_principal_form(name, stmt.label) not in ("*", "account"):
                # 'Principals for gateway endpoints': "With gateway endpoints, you must use the
                # aws:PrincipalArn condition key to grant access to a principal."
                raise PolicyError(
                    f"{stmt.label}: {name!r}: a gateway endpoint policy's Principal must be '*'; name "
                    "principals with the aws:PrincipalArn condition key"
                )
    return statements


def _endpoint_principal_match(stmt: _Statement, request: Request, gateway: bool) -> bool:
    """Whether an endpoint-policy statement's Principal names the caller.

    ``"*"`` names everyone. An account (``"123456789012"`` or its root ARN): in an interface
    endpoint policy, the account's principals (CodeArtifact User Guide, "Create a VPC endpoint
    policy for CodeArtifact": ``{"AWS": "arn:aws:iam::123456789012:root"}`` "specifies that
    principals in the account 123456789012 can call ..."); in a gateway endpoint policy, "If you
    specify the principal in the format "AWS": "account_id", access is granted to the AWS account
    root user only, and not all users and roles for the account" (ENDPOINT_POLICIES, 'Principals
    for gateway endpoints'). A role or user ARN names that principal (interface endpoints only).
    """
    entries = _principal_entries(stmt.raw["Principal"], stmt.label)
    if "*" in entries:
        return True
    for name in entries.get("AWS", []):
        form = _aws_principal_form(name, stmt.label)
        if form == "*":
            return True
        if form == "account":
            account = name if _ACCOUNT_ID.match(name) else _ROOT_ARN.match(name).group(1)
            if request.principal_account == account and (not gateway or request.principal_kind == "root"):
                return True
        elif form == "entity" and name == request.principal:
            return True
    return False


# --------------------------------------------------------------------------- evaluation


def evaluate(
    request: Request,
    identity_policies: Sequence[dict] = (),
    resource_policy: dict | None = None,
    *,
    resource_account: str = "123456789012",
    key_policy: bool = False,
    endpoint_policy: dict | None = None,
    gateway_endpoint: bool = False,
) -> Result:
    """Decide ``request`` the way AWS would.

    ``identity_policies``: every identity-based policy attached to the caller (role or
    user). Root users and service principals have none: passing any raises.
    ``resource_policy``: the policy attached to the resource (bucket/topic/queue policy;
    with ``key_policy=True``, the KMS key policy, which is then required).
    ``resource_account``: the account that owns the resource.
    ``endpoint_policy``: the policy of the VPC endpoint the request comes through (the
    request's context then carries ``aws:SourceVpce``); ``DEFAULT_ENDPOINT_POLICY`` for an
    endpoint without one, or of a service without endpoint-policy support. AWS PrivateLink
    Guide, "Control access to VPC endpoints using endpoint policies": "An endpoint policy does
    not override or replace identity-based policies or resource-based policies": the request
    must be allowed as without the endpoint *and* by the endpoint policy, and an explicit
    Deny in any of them wins. ``gateway_endpoint``: the endpoint is a gateway endpoint (S3,
    DynamoDB), whose policies name principals only by condition (see ``_endpoint_principal_match``).
    """
    if not isinstance(request, Request):
        raise TypeError("request must be a tests.access.Request")
    if isinstance(identity_policies, Mapping):
        raise TypeError("identity_policies is a list of policies; wrap a single policy in [...]")
    if not isinstance(resource_account, str) or not _ACCOUNT_ID.match(resource_account):
        raise PolicyError(f"resource_account {resource_account!r} is not a 12-digit account id")
    identity_policies = list(identity_policies)
    kind = request.principal_kind
    if kind in ("service", "root") and identity_policies:
        raise PolicyError(f"a {kind} principal has no identity-based policies; pass none")
    if key_policy and resource_policy is None:
        raise PolicyError("every KMS key has exactly one key policy: pass it as resource_policy")
    # sts:AssumeRole* (and sts:TagSession ...) on a role is decided by the role's trust policy.
    trust_policy = request.action.lower().startswith("sts:") and bool(
        re.match(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/", request.resource)
    )
    if trust_policy and (key_policy or resource_policy is None):
        raise PolicyError("a request to assume a role is decided by its trust policy: pass it as resource_policy")
    if (
        not key_policy
        and request.action.lower().startswith("kms:")
        and re.match(r"^arn:aws(?:-[a-z]+)*:kms:[^:]*:\d{12}:key/", request.resource)
    ):
        raise PolicyError("a request on a KMS key is decided by its key policy: pass key_policy=True")

    arn_parts = request.resource.split(":", 5)
    if len(arn_parts) == 6 and _ACCOUNT_ID.match(arn_parts[4]) and arn_parts[4] != resource_account:
        raise PolicyError(
            f"resource {request.resource!r} is in account {arn_parts[4]}, "
            f"but resource_account is {resource_account}"
        )

    identity = [
        stmt
        for i, policy in enumerate(identity_policies)
        for stmt in _parse_policy(policy, f"identity policy #{i}", resource_based=False)
    ]
    resource_where = "key policy" if key_policy else "trust policy" if trust_policy else "resource policy"
    resource = (
        _parse_policy(resource_policy, resource_where, resource_based=True, trust_policy=trust_policy)
        if resource_policy is not None
        else []
    )

    endpoint = _endpoint_statements(request, endpoint_policy, gateway_endpoint)

    # 1. An explicit deny in any applicable policy wins.
    for stmt in identity:
        if stmt.effect == "Deny" and _applies(stmt, request):
            return Result(Decision.EXPLICIT_DENY, f"{stmt.label} denies")
    for stmt in resource:
        if stmt.effect == "Deny" and _principal_match(stmt, request) and _applies(stmt, request):
            return Result(Decision.EXPLICIT_DENY, f"{stmt.label} denies")
    for stmt in endpoint or ():
        if (
            stmt.effect == "Deny"
            and _endpoint_principal_match(stmt, request, gateway_endpoint)
            and _applies(stmt, request)
        ):
            return Result(Decision.EXPLICIT_DENY, f"{stmt.label} denies")

    result = _allowed_without_endpoint(
        request, identity, resource, resource_policy, resource_account, key_policy, trust_policy, resource_where
    )
    if endpoint is None or not result.allowed:
        return result
    # The endpoint policy is one more policy that must allow: without an Allow in it, the request
    # is implicitly denied (Amazon S3 User Guide, "Troubleshoot access denied (403 Forbidden)
    # errors": "no VPC endpoint policy allows the s3:GetObject action", an implicit denial).
    endpoint_allow = next(
        (s for s in endpoint
         if s.effect == "Allow" and _endpoint_principal_match(s, request, gateway_endpoint) and _applies(s, request)),
        None,
    )
    if endpoint_allow is None:
        return Result(
            Decision.IMPLICIT_DENY,
            f"no statement of the endpoint policy allows the request (without the endpoint: {result.reason})",
        )
    return Result(Decision.ALLOW, f"{result.reason}; {endpoint_allow.label} allows it through the endpoint")


def _allowed_without_endpoint(
    request: Request,
    identity: list[_Statement],
    resource: list[_Statement],
    resource_policy: dict | None,
    resource_account: str,
    key_policy: bool,
    trust_policy: bool,
    resource_where: str,
) -> Result:
    """Steps 2-6 of the evaluation, once no explicit Deny applies."""
    kind = request.principal_kind

    # 2. Collect the allows.
    identity_allow = next((s for s in identity if s.effect == "Allow" and _applies(s, request)), None)
    direct_allow = account_allow = None
    for stmt in resource:
        if stmt.effect != "Allow":
            continue
        how = _principal_match(stmt, request)
        if how and _applies(stmt, request):
            if how == _DIRECT and direct_allow is None:
                direct_allow = stmt
            elif how == _ACCOUNT and account_allow is None:
                account_allow = stmt

    if kind == "root":
        # "all requests are implicitly denied with the exception of the AWS account root
        # user, which has full access" -- in its own account, and for its side of a
        # cross-account request. A KMS key policy still has to allow it.
        identity_reason = "the account root user has full access in its own account"
    elif identity_allow is not None:
        identity_reason = f"{identity_allow.label} allows"
    else:
        identity_reason = None
    same_account = request.principal_account == resource_account

    def names(stmt: _Statement) -> str:
        if stmt is direct_allow:
            return f"{stmt.label} allows the caller"
        return f"{stmt.label} allows the caller's account (delegation to its IAM policies)"

    # 3. Service principals have no identity policies: only the resource policy can allow.
    if kind == "service":
        if direct_allow is not None:
            return Result(Decision.ALLOW, names(direct_allow))
        return Result(Decision.IMPLICIT_DENY, f"no {resource_where} statement allows {request.principal}")

    # 4. KMS key policies and role trust policies: "IAM role trust policies and KMS key
    # policies are exceptions to this logic, because they must explicitly allow access for
    # principals" (Policy evaluation logic). IAM policies only count where the key/trust
    # policy allows the account ("Enable IAM policies"), and never on their own.
    if key_policy or trust_policy:
        if same_account and direct_allow is not None:
            return Result(Decision.ALLOW, names(direct_allow))
        key_side = direct_allow or account_allow
        if key_side is None:
            return Result(
                Decision.IMPLICIT_DENY,
                f"the {resource_where} allows neither the caller nor its account"
                + (f"; IAM policies are ineffective without it ({identity_reason})" if identity_reason else ""),
            )
        if identity_reason is None:
            where = "" if same_account else f" in account {request.principal_account}"
            return Result(Decision.IMPLICIT_DENY, f"{names(key_side)}, but no identity-based policy{where} allows")
        return Result(Decision.ALLOW, f"{names(key_side)}, and {identity_reason}")

    # 5. Same account: the union of identity-based and resource-based allows; a
    # resource-policy statement naming only the account delegates to IAM.
    if same_account:
        if identity_reason is not None:
            return Result(Decision.ALLOW, identity_reason)
        if direct_allow is not None:
            return Result(Decision.ALLOW, names(direct_allow))
        if account_allow is not None:
            return Result(Decision.IMPLICIT_DENY, f"{names(account_allow)}, but no identity-based policy allows")
        return Result(Decision.IMPLICIT_DENY, "no statement allows the request")

    # 6. Cross account: both the trusted account (identity) and the trusting account
    # (resource policy) must allow.
    resource_side = direct_allow or account_allow
    if resource_side is None:
        return Result(
            Decision.IMPLICIT_DENY,
            "cross-account: "
            + ("there is no resource policy" if resource_policy is None
               else f"no {resource_where} statement allows the caller or its account")
            + (f" (although {identity_reason})" if identity_reason else ""),
        )
    if identity_reason is None:
        return Result(
            Decision.IMPLICIT_DENY,
            f"cross-account: {names(resource_side)}, but no identity-based policy in "
            f"account {request.principal_account} allows",
        )
    return Result(Decision.ALLOW, f"cross-account: {names(resource_side)}, and {identity_reason}")
