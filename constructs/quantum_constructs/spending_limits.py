"""BraketSpendingLimits: one service-enforced Amazon Braket spending limit per QPU."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping, Optional, Sequence, Union

from .cdk import TerraformResourceLifecycle, TerraformStack
from constructs import Construct

from ._validation import require, require_bool
from .awscc import (
    Amount,
    AwsccProvider,
    BraketSpendingLimitResource,
    SpendingLimitPeriod,
    as_period,
    shortest_amount,
    tag_set,
)
from .role import DEVICE_ARN

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


class BraketSpendingLimits(Construct):
    """Braket spending limits: Braket itself refuses a quantum task on a QPU whose cost would take
    that QPU's spend past its limit, at task creation, whoever creates it.

    - One ``awscc_braket_spending_limit`` per QPU of ``allowed_device_arns``, at
      ``limits_usd[arn]`` or else ``default_limit_usd``. Simulators are skipped: Braket does not
      support spending limits on them (their cost is capped by IAM, the budget and the client).
    - Amounts are rendered in the shortest form Braket stores (``0``, ``500``, ``12.5``), so a
      plan shows no change after apply. ``0`` means no spend on that QPU at all.
    - Without ``time_period`` a limit runs from its creation on (Braket: until 2125): it caps all
      spend to come, with no monthly reset. Raise it deliberately (a reviewed change) when spent.
    - Tagged with ``tags`` (the awscc provider has no default tags: pass the stack's).
    - ``prevent_destroy`` puts ``lifecycle.prevent_destroy`` on every limit: deleting one leaves
      its device unrestricted, so a production plan that would do it fails instead.
    - Providers: QPUs in ``region`` use ``provider`` (default: the stack's default awscc provider
      for ``region``, created when the stack has none); a QPU in another region uses an aliased
      awscc provider for its region (alias ``<region with '_'>``, e.g. ``us_west_1``), found in the
      stack or created once per region at the stack's root.

    A limit belongs to the account and the device's region, not to a stack: two environments in
    one account that both create a limit for the same device would overwrite each other's amount.
    Give each environment its own account (as AWS recommends), or let exactly one environment own
    the account's limits.

    :param allowed_device_arns: the devices, as the SDK writes them (e.g. a role's
        ``allowed_device_arns``); QPUs get a limit each, simulators none.
    :param limits_usd: USD per QPU ARN (each must be a QPU of ``allowed_device_arns``).
        Default: none (every QPU at ``default_limit_usd``).
    :param default_limit_usd: USD for every QPU not in ``limits_usd`` (required: no QPU is ever
        left unlimited by omission; 0 stops its spend).
    :param region: the stack's region: the region of its default awscc provider.
    :param time_period: a ``SpendingLimitPeriod`` or ``{'start_at': ..., 'end_at': ...}``
        (ISO 8601). Default: None (from creation on).
    :param tags: tags of every limit, e.g. the stack's default tags. Default: none.
    :param prevent_destroy: ``lifecycle.prevent_destroy`` on every limit. Default: False.
    :param provider: the ``AwsccProvider`` for QPUs in ``region``. Default: the stack's default
        awscc provider (created when missing).

    Attributes: ``limits`` (SDK device ARN -> shortest-form amount), ``resources`` (SDK device
    ARN -> ``BraketSpendingLimitResource``), ``providers`` (region -> ``AwsccProvider``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        allowed_device_arns: Sequence[str],
        default_limit_usd: Amount,
        region: str,
        limits_usd: Optional[Mapping[str, Amount]] = None,
        time_period: Union[SpendingLimitPeriod, Mapping[str, str], None] = None,
        tags: Optional[Mapping[str, str]] = None,
        prevent_destroy: bool = False,
        provider: Optional[AwsccProvider] = None,
    ) -> None:
        super().__init__(scope, id)
        require(
            isinstance(allowed_device_arns, (list, tuple)) and bool(allowed_device_arns),
            "allowed_device_arns",
            allowed_device_arns,
            "a non-empty list of Braket device ARNs, e.g. ['arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1']",
        )
        devices: dict[str, re.Match] = {}
        for arn in allowed_device_arns:
            match = DEVICE_ARN.match(arn) if isinstance(arn, str) else None
            require(match is not None, "allowed_device_arns", arn, "Braket device ARNs like 'arn:aws:braket:<region>::device/qpu/<provider>/<device>'")
            devices[arn] = match  # type: ignore[assignment]
        qpus = {arn: m for arn, m in devices.items() if m["device"].startswith("device/qpu/")}
        default = shortest_amount("default_limit_usd", default_limit_usd)
        require(
            limits_usd is None or isinstance(limits_usd, Mapping),
            "limits_usd",
            limits_usd,
            "None or a mapping of QPU ARNs to USD, e.g. {'arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1': 500}",
        )
        amounts: dict[str, str] = {}
        for arn, amount in (limits_usd or {}).items():
            require(
                arn in qpus,
                "limits_usd",
                arn,
                "QPU ARNs of allowed_device_arns (simulators take no spending limit; list the device first)",
            )
            amounts[arn] = shortest_amount(f"limits_usd[{arn!r}]", amount)
        require(isinstance(region, str) and bool(_REGION.match(region)), "region", region, "an AWS region such as 'us-east-1'")
        period = as_period(time_period)
        tag_set({} if tags is None else tags)  # validates
        require_bool("prevent_destroy", prevent_destroy)
        require(provider is None or isinstance(provider, AwsccProvider), "provider", provider, "None or an AwsccProvider (the awscc provider for region)")
        require(
            provider is None or provider.region == region,
            "provider",
            provider,
            f"an AwsccProvider for region {region!r}",
        )

        self._stack = TerraformStack.of(self)
        self._region = region
        self._providers: dict[str, AwsccProvider] = {}
        if provider is not None:
            self._providers[region] = provider
        lifecycle = TerraformResourceLifecycle(prevent_destroy=True) if prevent_destroy else None

        resources: dict[str, BraketSpendingLimitResource] = {}
        limits: dict[str, str] = {}
        ids: set[str] = set()
        for arn in sorted(qpus):
            match = qpus[arn]
            device_region = match["region"]
            _, _, vendor, name = match["device"].split("/", 3)
            # Construct ids are the Terraform addresses: from the device, never its position.
            construct_id = _camel(f"{vendor}-{name}")
            if construct_id in ids:
                construct_id = _camel(f"{device_region}-{vendor}-{name}")
            ids.add(construct_id)
            limits[arn] = amounts.get(arn, default)
            resources[arn] = BraketSpendingLimitResource(
                self,
                construct_id,
                device_arn=arn,
                spending_limit=limits[arn],
                time_period=period,
                tags=tags,
                provider=self._provider_for(device_region),
                lifecycle=lifecycle,
            )
        self._limits = MappingProxyType(limits)
        self._resources = MappingProxyType(resources)

    # -- attributes ---------------------------------------------------------
    @property
    def limits(self) -> Mapping[str, str]:
        """SDK device ARN -> the limit in USD, shortest form (plain strings, known at synth)."""
        return self._limits

    @property
    def resources(self) -> Mapping[str, BraketSpendingLimitResource]:
        """SDK device ARN -> its ``awscc_braket_spending_limit`` resource."""
        return self._resources

    @property
    def providers(self) -> Mapping[str, AwsccProvider]:
        """Region -> the awscc provider its limits use."""
        return MappingProxyType(dict(self._providers))

    # -- internals ----------------------------------------------------------
    def _provider_for(self, region: str) -> AwsccProvider:
        if region in self._providers:
            return self._providers[region]
        alias = None if region == self._region else region.replace("-", "_")
        existing = [
            child
            for child in self._stack.node.find_all()
            if isinstance(child, AwsccProvider) and child.alias == alias
        ]
        for found in existing:
            require(
                found.region == region,
                "region" if alias is None else "provider",
                found.region,
                f"the stack's {'default' if alias is None else repr(alias)} awscc provider to be for {region!r}",
            )
        provider = existing[0] if existing else AwsccProvider(
            self._stack, "awscc" if alias is None else f"awscc_{alias}", region=region, alias=alias
        )
        self._providers[region] = provider
        return provider


__all__ = ["BraketSpendingLimits"]
