"""A small, hand-written CDKTF binding for the AWS Cloud Control (``hashicorp/awscc``) provider.

Only what this library uses: the provider itself and ``awscc_braket_spending_limit``. There is
no prebuilt cdktf binding for awscc to install, and ``cdktf get`` needs the registry; cdktf's
public escape hatches (``TerraformProvider``, ``TerraformResource`` with an explicit
``terraform_resource_type`` and ``terraform_generator_metadata``, ``synthesize_attributes``)
are what cdktf's own generated bindings are made of, so this file is what ``cdktf get`` would
write for these two types, typed and validated the way the rest of the library is.

Schema: terraform-provider-awscc ``docs/resources/braket_spending_limit.md`` (generated from
CloudFormation's ``AWS::Braket::SpendingLimit``): required ``device_arn`` and
``spending_limit`` (USD as a string, pattern ``\\d+(\\.\\d{1,2})?``), optional ``time_period``
(an object with ``start_at`` and ``end_at``, both required by the CloudFormation schema) and
``tags`` (a set of ``{key, value}`` objects); read-only ``spending_limit_arn``,
``total_spend``, ``queued_spend``, ``created_at``, ``updated_at`` and ``id``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Sequence, Union

from .cdk import (
    ITerraformDependable,
    TerraformProvider,
    TerraformProviderGeneratorMetadata,
    TerraformResource,
    TerraformResourceLifecycle,
)
from constructs import Construct

from ._validation import require
from .role import DEVICE_ARN

AWSCC_PROVIDER_NAME = "awscc"
AWSCC_PROVIDER_SOURCE = "hashicorp/awscc"
AWSCC_VERSION_CONSTRAINT = "~> 1.93"
"""Any 1.x from 1.93: ``awscc_braket_spending_limit`` (Braket's spending-limit API, November 2025)
first appears in the 1.9x releases; ``~>`` keeps out a 2.0 that may rename attributes, while
Cloud Control schema updates (new properties) keep arriving in the weekly 1.x releases."""

SPENDING_LIMIT_TYPE = "awscc_braket_spending_limit"

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")  # the API's pattern for spendingLimit
_TAG_KEY = re.compile(r"^(?!aws:).{1,128}$", re.DOTALL)

Amount = Union[int, float, str, Decimal]
"""A USD amount: a number, or a string as the API takes it (``"500"``, ``"12.50"``)."""


def _metadata() -> TerraformProviderGeneratorMetadata:
    return TerraformProviderGeneratorMetadata(
        provider_name=AWSCC_PROVIDER_NAME, provider_version_constraint=AWSCC_VERSION_CONSTRAINT
    )


class AwsccProvider(TerraformProvider):
    """The ``hashicorp/awscc`` provider, pinned to ``AWSCC_VERSION_CONSTRAINT``.

    Synthesizes ``terraform.required_providers.awscc = {"source": "hashicorp/awscc",
    "version": "~> 1.93"}`` and a ``provider.awscc`` block with ``region`` (and ``alias``).
    Credentials come from the environment as for the AWS provider. Unlike the AWS provider,
    awscc has no ``default_tags``: pass tags to each resource.

    :param region: the AWS region, e.g. ``us-east-1`` (required: never guessed from the environment).
    :param alias: a Terraform provider alias for a second configuration (e.g. another region).
        Default: None (the default awscc provider).
    """

    def __init__(self, scope: Construct, id: str, *, region: str, alias: Optional[str] = None) -> None:
        require(isinstance(region, str) and bool(_REGION.match(region)), "region", region, "an AWS region such as 'us-east-1'")
        require(
            alias is None or (isinstance(alias, str) and bool(_ALIAS.match(alias))),
            "alias",
            alias,
            "None or a Terraform identifier (letters, digits, '_' and '-', not starting with a digit or '-')",
        )
        super().__init__(
            scope,
            id,
            terraform_resource_type=AWSCC_PROVIDER_NAME,
            terraform_generator_metadata=_metadata(),
            terraform_provider_source=AWSCC_PROVIDER_SOURCE,
        )
        self._region = region
        self._alias = alias

    @property
    def region(self) -> str:
        """The provider's region (a plain string)."""
        return self._region

    # cdktf's TerraformProvider leaves `alias` to the generated subclasses (its own getter returns
    # undefined); jsii calls this override for the provider block and for `fqn` (awscc.<alias>).
    @property
    def alias(self) -> Optional[str]:
        return self._alias

    @alias.setter
    def alias(self, value: Optional[str]) -> None:
        require(value is None or (isinstance(value, str) and bool(_ALIAS.match(value))), "alias", value, "None or a Terraform identifier")
        self._alias = value

    def _synthesize_attributes(self) -> Mapping[str, Any]:
        return {"region": self._region}


@dataclass(frozen=True)
class SpendingLimitPeriod:
    """When a spending limit applies: ISO 8601 date-times with a time zone, ``start_at`` before ``end_at``.

    Without one, Braket applies the limit from its creation on (to 2125): a cap on all spend to
    come, not a monthly allowance.
    """

    start_at: str
    end_at: str

    def __post_init__(self) -> None:
        start = _instant("time_period.start_at", self.start_at)
        end = _instant("time_period.end_at", self.end_at)
        require(end > start, "time_period", (self.start_at, self.end_at), "end_at after start_at")


def _instant(prop: str, value: object) -> datetime:
    parsed: Optional[datetime] = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    require(
        parsed is not None and parsed.tzinfo is not None,
        prop,
        value,
        "an ISO 8601 date-time with a time zone, e.g. '2026-01-01T00:00:00Z'",
    )
    return parsed  # type: ignore[return-value]


def as_period(value: object) -> Optional[SpendingLimitPeriod]:
    """``value`` as a ``SpendingLimitPeriod``: None, one already, or a mapping with ``start_at`` and ``end_at``."""
    if value is None or isinstance(value, SpendingLimitPeriod):
        return value
    require(
        isinstance(value, Mapping) and set(value) == {"start_at", "end_at"},
        "time_period",
        value,
        "None, a SpendingLimitPeriod or {'start_at': ISO 8601, 'end_at': ISO 8601}",
    )
    return SpendingLimitPeriod(start_at=value["start_at"], end_at=value["end_at"])  # type: ignore[index]


def shortest_amount(prop: str, value: object) -> str:
    """``value`` (USD) as the shortest string Braket keeps: ``0``, ``500``, ``12.5``, ``0.05``.

    Braket stores the amount normalised (``"0.00"`` comes back as ``"0"``), so any longer form
    would show a change on every plan. Accepted: an int, a finite float or Decimal, or a string
    in the API's form ``\\d+(\\.\\d{1,2})?``; at least 0 and at most two decimals (cents).
    Refused: bools, NaN and infinities, negative amounts, a third decimal, exponent strings.
    """
    allowed = "an amount of USD of at least 0 with at most 2 decimals, e.g. 0, 500, 12.5 or '12.50'"
    number: Optional[Decimal] = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value)) if math.isfinite(value) else None  # repr: 0.1 is '0.1', not its binary value
    elif isinstance(value, Decimal):
        number = value if value.is_finite() else None
    elif isinstance(value, str):
        number = Decimal(value) if _AMOUNT.match(value) else None
    require(number is not None and not number.is_signed(), prop, value, allowed)
    assert number is not None
    try:
        cents = number.quantize(Decimal("0.01"))
    except InvalidOperation:  # too large for the context's precision
        cents = None
    require(cents is not None and cents == number, prop, value, allowed)
    normal = number.normalize()
    text = "0" if normal.is_zero() else format(normal, "f")
    assert _AMOUNT.match(text), text
    return text


def tag_set(tags: object, prop: str = "tags") -> list[dict[str, str]]:
    """A mapping of tags as awscc's set of ``{key, value}`` objects, sorted by key (deterministic JSON)."""
    require(
        isinstance(tags, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()),
        prop,
        tags,
        "a mapping of tag keys to values, e.g. {'Project': 'quantum-cloud'}",
    )
    for key, value in tags.items():  # type: ignore[union-attr]
        require(bool(_TAG_KEY.match(key)), prop, key, "tag keys of 1-128 characters, not starting with 'aws:'")
        require(len(value) <= 256, prop, {key: value}, "tag values of at most 256 characters")
    return [{"key": key, "value": tags[key]} for key in sorted(tags)]  # type: ignore[index]


class BraketSpendingLimitResource(TerraformResource):
    """``awscc_braket_spending_limit``: Braket refuses new quantum tasks on ``device_arn`` whose
    cost would take the device's spend (total plus queued) in the period past ``spending_limit``.

    QPUs only: Braket does not support spending limits on simulators. A limit belongs to the
    account and the device's region (one per device there): two stacks in one account that
    create one for the same device compete for it.

    :param device_arn: the QPU's ARN as the SDK writes it, e.g.
        ``arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1`` (replacing it replaces the limit).
    :param spending_limit: the limit in USD, rendered in the shortest form (``shortest_amount``).
    :param time_period: a ``SpendingLimitPeriod`` (or mapping with ``start_at``/``end_at``).
        Default: None (from creation on, with no monthly reset).
    :param tags: tags of the limit (awscc has no default tags). Default: none.
    :param provider: the ``AwsccProvider`` for the device's region. Default: the stack's default
        awscc provider.
    :param lifecycle: Terraform lifecycle, e.g. ``TerraformResourceLifecycle(prevent_destroy=True)``.
    :param depends_on: resources to create first.

    Attributes (Terraform references): ``spending_limit_arn``, ``total_spend``, ``queued_spend``,
    ``created_at``, ``updated_at``; as given: ``device_arn``, ``spending_limit``, ``time_period``, ``tags``.
    """

    TF_RESOURCE_TYPE = SPENDING_LIMIT_TYPE

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        device_arn: str,
        spending_limit: Amount,
        time_period: Union[SpendingLimitPeriod, Mapping[str, str], None] = None,
        tags: Optional[Mapping[str, str]] = None,
        provider: Optional[AwsccProvider] = None,
        lifecycle: Optional[TerraformResourceLifecycle] = None,
        depends_on: Optional[Sequence[ITerraformDependable]] = None,
    ) -> None:
        match = DEVICE_ARN.match(device_arn) if isinstance(device_arn, str) else None
        require(
            match is not None and match["device"].startswith("device/qpu/") and bool(match["region"]),
            "device_arn",
            device_arn,
            "a QPU's ARN like 'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1' (simulators take no spending limit)",
        )
        amount = shortest_amount("spending_limit", spending_limit)
        period = as_period(time_period)
        tag_list = tag_set({} if tags is None else tags)
        require(provider is None or isinstance(provider, AwsccProvider), "provider", provider, "None or an AwsccProvider")
        require(
            lifecycle is None or isinstance(lifecycle, TerraformResourceLifecycle),
            "lifecycle",
            lifecycle,
            "None or a TerraformResourceLifecycle",
        )
        super().__init__(
            scope,
            id,
            terraform_resource_type=SPENDING_LIMIT_TYPE,
            terraform_generator_metadata=_metadata(),
            provider=provider,
            lifecycle=lifecycle,
            depends_on=depends_on,
        )
        self._device_arn = device_arn
        self._spending_limit = amount
        self._time_period = period
        self._tags = dict(tags or {})
        self._tag_list = tag_list

    # -- what Terraform gets -------------------------------------------------------------
    def _synthesize_attributes(self) -> Mapping[str, Any]:
        attributes: dict[str, Any] = {"device_arn": self._device_arn, "spending_limit": self._spending_limit}
        if self._time_period is not None:
            attributes["time_period"] = {"start_at": self._time_period.start_at, "end_at": self._time_period.end_at}
        if self._tag_list:
            attributes["tags"] = self._tag_list
        return attributes

    # -- as given --------------------------------------------------------------------------
    @property
    def device_arn(self) -> str:
        return self._device_arn

    @property
    def spending_limit(self) -> str:
        """The limit in USD, shortest form (``"500"``, ``"12.5"``)."""
        return self._spending_limit

    @property
    def time_period(self) -> Optional[SpendingLimitPeriod]:
        return self._time_period

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._tags)

    # -- computed by AWS (Terraform references) ----------------------------------------------
    @property
    def spending_limit_arn(self) -> str:
        return self.get_string_attribute("spending_limit_arn")

    @property
    def total_spend(self) -> str:
        return self.get_string_attribute("total_spend")

    @property
    def queued_spend(self) -> str:
        return self.get_string_attribute("queued_spend")

    @property
    def created_at(self) -> str:
        return self.get_string_attribute("created_at")

    @property
    def updated_at(self) -> str:
        return self.get_string_attribute("updated_at")


__all__ = [
    "AWSCC_PROVIDER_SOURCE",
    "AWSCC_VERSION_CONSTRAINT",
    "Amount",
    "AwsccProvider",
    "BraketSpendingLimitResource",
    "SpendingLimitPeriod",
    "shortest_amount",
]
