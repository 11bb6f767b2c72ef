"""What a QPU's Braket spending limit still allows: read before submitting, never a substitute for the cap.

Braket enforces a spending limit at task creation, per QPU device and region: a task whose
estimated cost exceeds the limit minus what was spent and what is queued is rejected
(simulators have no limits). ``SearchSpendingLimits`` tells both numbers, so ``estimate`` and
``run`` print the remaining allowance next to the estimate and refuse what the service would
refuse, before anything is created. Without credentials, or when the call fails, the allowance
is unknown and said so; ``--max-cost`` still applies. The service remains the one that enforces:
a limit lowered (or spent by someone else) between this check and the submission is refused by
Braket, and ``jobs`` reports that refusal the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Optional

from .devices import Device
from .errors import UsageError

# One attempt with short timeouts: an allowance that cannot be read must not hold up an estimate.
_CONNECT_SECONDS, _READ_SECONDS = 3, 10


@dataclass(frozen=True)
class Allowance:
    """The remaining spending allowance of one device, or why it is not known."""

    device: Device
    remaining_usd: Optional[Decimal] = None
    limit_usd: Optional[Decimal] = None
    spent_usd: Optional[Decimal] = None
    queued_usd: Optional[Decimal] = None
    unknown_because: Optional[str] = None
    """None when known; else why (no credentials, no limit, simulators have none, the call failed)."""
    outside_period: Optional[str] = None
    """The limit's time period when now is outside it: Braket then refuses every task on the device."""

    def describe(self) -> str:
        if self.remaining_usd is None:
            return f"Braket spending limit: {self.unknown_because}"
        if self.outside_period:
            return f"Braket spending limit on {self.device.alias}: $0.00 remaining (outside its time period, {self.outside_period})"
        return (
            f"Braket spending limit on {self.device.alias}: ${self.remaining_usd:.2f} remaining "
            f"(${self.limit_usd:.2f} limit - ${self.spent_usd:.2f} spent - ${self.queued_usd:.2f} queued)"
        )

    def document(self) -> dict:
        known = self.remaining_usd is not None
        return {
            "remaining_usd": float(self.remaining_usd) if known else None,
            "limit_usd": float(self.limit_usd) if known else None,
            "spent_usd": float(self.spent_usd) if known else None,
            "queued_usd": float(self.queued_usd) if known else None,
            "unknown_because": self.unknown_because,
        }

    def check(self, estimated_usd: float) -> None:
        """UsageError (nothing submitted) when the estimate is above what the limit still allows."""
        if self.outside_period:
            raise UsageError(
                f"device {self.device.alias}: its Braket spending limit accepts tasks only within {self.outside_period}; "
                "Braket would refuse it, so nothing is submitted"
            )
        if self.remaining_usd is not None and Decimal(str(estimated_usd)) > self.remaining_usd:
            raise UsageError(
                f"device {self.device.alias}: estimated ${estimated_usd:.2f} exceeds the ${self.remaining_usd:.2f} "
                f"remaining under its Braket spending limit (${self.limit_usd:.2f} - ${self.spent_usd:.2f} spent - "
                f"${self.queued_usd:.2f} queued); Braket would refuse it, so nothing is submitted"
            )


def remaining_allowance(device: Device, region: Optional[str]) -> Allowance:
    """The allowance of ``device`` in ``region`` (``SearchSpendingLimits``), or why it is unknown."""
    if device.kind != "qpu":
        return Allowance(device, unknown_because="none for simulators (Braket limits QPUs only)")
    import boto3

    if boto3.Session(region_name=region).get_credentials() is None:
        return Allowance(device, unknown_because="unknown without AWS credentials; --max-cost still applies")
    from botocore.config import Config

    from .device_status import aws_session

    config = Config(retries={"max_attempts": 1}, connect_timeout=_CONNECT_SECONDS, read_timeout=_READ_SECONDS)
    try:
        client = aws_session(device.region or region, config=config).braket_client
        found = client.search_spending_limits(filters=[{"name": "deviceArn", "operator": "EQUAL", "values": [device.arn]}])
    except Exception as error:  # noqa: BLE001 - any failure leaves the allowance unknown, never the estimate
        from .backends import describe_error

        return Allowance(device, unknown_because=f"unknown ({describe_error(error)[:200]}); --max-cost still applies")
    # One limit per device and region ("rejected if a spending limit already exists for the device").
    limits = found.get("spendingLimits", [])
    if not limits:
        return Allowance(device, unknown_because=f"none set for {device.alias} (Braket refuses nothing on it)")
    try:
        limit, spent, queued = (Decimal(limits[0][key]) for key in ("spendingLimit", "totalSpend", "queuedSpend"))
    except (KeyError, InvalidOperation):
        return Allowance(device, unknown_because="unknown (an unreadable SearchSpendingLimits answer)")
    remaining = max(Decimal(0), limit - spent - queued)
    return Allowance(device, remaining, limit, spent, queued, outside_period=_outside(limits[0].get("timePeriod") or {}))


def _outside(period: dict) -> Optional[str]:
    """The period as text when now is outside it (Braket Developer Guide, "How task validation works":
    outside the time period CreateQuantumTask fails and no task is created); None inside it."""
    start, end = period.get("startAt"), period.get("endAt")
    now = datetime.now(timezone.utc)
    if (start is None or start <= now) and (end is None or now <= end):
        return None
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC" if start and end else "its time period"
