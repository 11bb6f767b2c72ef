"""Braket spending limits for the emulator: the per-QPU cap the service enforces at CreateQuantumTask.

What each behaviour models, and where it comes from:

* **Operations and shapes** (CreateSpendingLimit ``POST /spending-limit`` 201, UpdateSpendingLimit
  ``PATCH /spending-limit/{arn}/update``, DeleteSpendingLimit ``DELETE /spending-limit/{arn}/delete``,
  SearchSpendingLimits ``POST /spending-limits``): botocore's braket model (2019-09-01), checked with
  ``jobs.shape_problems`` (required members, ``spendingLimit`` pattern ``\\d+(\\.\\d{1,2})?``, filter
  operator enum ``EQUAL``, 0..10 filters of 1..10 values, ``maxResults`` 1..100 (default 20, as the
  model's documentation says)). Bad input is a ValidationException (400), the error every one of
  these operations models.
* **ARN**: ``arn:aws:braket:<region>:<account>:spending-limit/<uuid4>``: the resource type
  ``spending-limit`` of the Service Authorization Reference ("Actions, resources, and condition keys
  for Amazon Braket": ``arn:${Partition}:braket:${Region}:${Account}:spending-limit/${RandomId}``),
  the id a UUID as in the developer guide's EventBridge example ("Braket Spending Limit Spend Change":
  ``arn:aws:braket:us-west-2:123456789012:spending-limit/b6951b86-8222-45b1-9908-2df6c3ac717d``).
* **QPUs only, in their own region**: "Simulators do not support spending limits." (API reference,
  CreateSpendingLimit), answered as a ValidationException with those words; a device unknown in the
  caller's region is a ValidationException too (CreateSpendingLimit models no ResourceNotFound).
  A retired device: DeviceRetiredException (410), as modeled. Limits are regional: SearchSpendingLimits
  lists the caller's region, an ARN of another region is not found (developer guide: "Commands
  executed on a different region than the device's will fail").
* **One limit per device**: developer guide, "Cost tracking and saving", Create: "The request is
  rejected if a spending limit already exists for the device." The error code is not documented;
  CreateSpendingLimit models no ConflictException, so this is a ValidationException (ASSUMPTION).
* **Update**: developer guide: "The request is rejected if the sum of the current spend and queued
  spend is already higher than the requested new maximum spend" (ValidationException, the modeled
  input error; the code is an ASSUMPTION). A given timePeriod replaces the old one.
* **Amounts** are returned in their shortest form ("0.00" comes back "0", "5.50" as "5.5"): measured
  against the real API by a public Terraform project (notes on its first awscc_braket_spending_limit
  apply: sending "0.00" returned "0"; the API's forms are "0", "5", "5.5", "5.25"). Spends are
  exact decimal sums (a public write-up saw ``11.125`` after 25 IQM Garnet tasks of 100 shots:
  25 x (0.30 + 100 x 0.00145)), so they are never rounded to cents.
* **An omitted timePeriod** runs from creation to 2125-12-30T00:00:00Z: the same Terraform project
  (omitting time_period, the API set a period from the creation time to 2125-12-30), and the
  developer guide's EventBridge example (``"endAt": 4922726400000`` ms).
* **Gating CreateQuantumTask** (developer guide, "How task validation works"): no limit for the
  device: created. A limit whose time period covers now: created if the estimated cost is lower than
  or equal to the remaining budget (limit - current spend - queued spend), else "CreateQuantumTask
  fails, and no task is created". A limit whose time period does *not* cover now: "CreateQuantumTask
  fails, and no task is created" (Case 3; also "Tasks submitted outside the time period will be
  rejected", and "A spending limit with zero dollars blocks all quantum tasks"). The error is "a
  validation error" ("If a task's estimated cost exceeds your remaining spending limit, Amazon Braket
  rejects the task immediately with a validation error"): ValidationException (400), one of
  CreateQuantumTask's modeled errors. The service's exact message is not public; the emulator's
  names the device, the task's estimated cost and the remaining amount (see ``Ledger.charge``).
* **Spend tracking** (developer guide, "How remaining budget is computed", its table): created:
  queued spend += estimated cost; QUEUED/RUNNING/CANCELLING: no change; CANCELLED (from QUEUED or
  CANCELLING, i.e. whether or not it ran): queued spend -= cost, current spend unchanged; FAILED:
  queued spend -= cost; COMPLETED: queued spend -= cost, current (total) spend += cost ("adjusted
  accordingly for partially completed tasks": the emulator always runs every shot). The estimated
  cost is the project's price table ``jobs/prices.json`` (QPUs: ``per_task + shots x per_shot``), read
  once; a QPU missing from it cannot be given a limit here (an emulator limitation, refused with a
  ValidationException saying so).
* **Edge cases** (same page): tasks created before a limit existed never count towards it, not even
  when they complete later; lowering a limit or its period ending never ends tasks already created;
  a deleted limit stops counting (a later limit for the device starts from zero).
* **IAM** (Service Authorization Reference): CreateSpendingLimit on ``device*`` and
  ``spending-limit*`` (plus ``braket:TagResource`` on the limit when tags are given, the API's
  dependent action); UpdateSpendingLimit and DeleteSpendingLimit on ``spending-limit*``;
  SearchSpendingLimits on no resource (``*``). The server decides these (``BraketEmulator._authorize``).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import jobs
from .access import ACCOUNT_ID
from .devices import Device

PRICES = Path(__file__).resolve().parents[2] / "jobs" / "prices.json"
# 2125-12-30T00:00:00Z: the end the service gives a limit created without a timePeriod.
DEFAULT_END_AT = 4922726400
ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:braket:[a-z0-9\-]+:[0-9]{12}:spending-limit/.*")
SIMULATORS_REFUSED = "Simulators do not support spending limits."
DEFAULT_MAX_RESULTS = 20


class Refused(Exception):
    """A modeled error (status, ``x-amzn-ErrorType`` code, message); the server answers it as its own."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _validation(message: str) -> Refused:
    return Refused(400, "ValidationException", message)


def usd(value: Decimal) -> str:
    """The shortest decimal form, as the API returns amounts: 0.00 -> "0", 5.50 -> "5.5", 100 -> "100"."""
    return format(value.normalize(), "f")


@functools.cache
def qpu_prices() -> dict[str, tuple[Decimal, Decimal]]:
    """(per task, per shot) in USD by QPU ARN, from the project's price table, read once, exactly."""
    table = json.loads(PRICES.read_text(), parse_float=Decimal)
    return {arn: (Decimal(p["per_task"]), Decimal(p["per_shot"])) for arn, p in table["qpus"].items()}


def estimated_cost(device_arn: str, shots: int) -> Decimal | None:
    """List price of one task: per-task fee + shots x per-shot fee; None for an unpriced device."""
    price = qpu_prices().get(device_arn)
    return None if price is None else price[0] + shots * price[1]


def _epoch(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def time_period_problems(req: dict[str, Any]) -> list[str]:
    """What the model cannot say about a timePeriod: epoch-second numbers, startAt before endAt."""
    period = req.get("timePeriod")
    if not isinstance(period, dict):
        return []
    problems = [f"timePeriod.{k} must be a timestamp in epoch seconds" for k in ("startAt", "endAt")
                if k in period and (isinstance(period[k], bool) or not isinstance(period[k], (int, float)))]
    if not problems and {"startAt", "endAt"} <= period.keys() and period["startAt"] >= period["endAt"]:
        problems.append("timePeriod.startAt must be before timePeriod.endAt")
    return problems


@dataclass
class Limit:
    arn: str
    device_arn: str
    region: str
    amount: Decimal
    start_at: float
    end_at: float
    tags: dict[str, str]
    client_token: str
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    total: Decimal = Decimal(0)  # current spend: completed tasks
    queued: Decimal = Decimal(0)  # estimated cost of created tasks not yet ended

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

    def covers(self, now: float) -> bool:
        return self.start_at <= now <= self.end_at

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.total - self.queued

    def summary(self) -> dict[str, Any]:
        """SpendingLimitSummary: amounts as shortest decimal strings, timePeriod in epoch seconds,
        createdAt/updatedAt ISO-8601 (the model's ``SyntheticTimestamp_date_time``)."""
        return {"spendingLimitArn": self.arn, "deviceArn": self.device_arn,
                "timePeriod": {"startAt": _epoch(self.start_at), "endAt": _epoch(self.end_at)},
                "spendingLimit": usd(self.amount), "queuedSpend": usd(self.queued),
                "totalSpend": usd(self.total), "createdAt": jobs.iso(self.created_at),
                "updatedAt": jobs.iso(self.updated_at), "tags": dict(self.tags)}


@dataclass
class Charge:
    """One task's estimated cost, queued against the limit in force when it was created."""

    limit: Limit
    cost: Decimal
    task_arn: str
    settled: bool = False


class Ledger:
    """Every spending limit of the emulated account, and the spend of the tasks charged to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, Limit] = {}  # by ARN, oldest first
        self._tokens: dict[str, str] = {}  # CreateSpendingLimit clientToken -> ARN
        self._update_tokens: set[tuple[str, str]] = set()  # (ARN, UpdateSpendingLimit clientToken)

    # ------------------------------------------------------------------ API
    @staticmethod
    def check(shape: str, req: dict[str, Any]) -> None:
        """ValidationException when the request breaks the model's constraints."""
        if problems := jobs.shape_problems(shape, req) + time_period_problems(req):
            raise _validation("Invalid request: " + "; ".join(problems))

    @staticmethod
    def check_arn(arn: str) -> None:
        if not ARN_PATTERN.fullmatch(arn) or len(arn) > 256:
            raise _validation(f"Invalid spending limit ARN {arn!r}: it must match {ARN_PATTERN.pattern}")

    def created_for(self, client_token: str) -> str | None:
        """The ARN a CreateSpendingLimit with this clientToken made, if one did (idempotent create)."""
        with self._lock:
            arn = self._tokens.get(client_token)
            return arn if arn in self._limits else None

    @staticmethod
    def qpu(device: Device | None, device_arn: str, region: str) -> Device:
        """The QPU a limit may be set on, or the ValidationException the service answers."""
        if device is not None and device.type == "SIMULATOR":
            raise _validation(f"{SIMULATORS_REFUSED} Device {device_arn} is a simulator.")
        if device is None or device.region != region:
            raise _validation(f"Device {device_arn} is not a quantum device available in {region}: "
                              "a spending limit is set on a QPU, in the QPU's own region")
        return device

    def create(self, arn: str, region: str, device: Device, req: dict[str, Any]) -> str:
        """Store a new limit (after the server's device and IAM checks); one per device and region."""
        if device.arn not in qpu_prices():
            raise _validation(f"The emulator has no price for {device.arn} (jobs/prices.json), "
                              "so it cannot estimate task costs against a spending limit")
        now = time.time()
        # Whole seconds, as the model's epoch-seconds TimePeriod (and the developer guide's example) has it.
        period = req.get("timePeriod") or {"startAt": int(now), "endAt": DEFAULT_END_AT}
        with self._lock:
            if existing := self._tokens.get(req["clientToken"]):
                if existing in self._limits:
                    return existing
            for other in self._limits.values():
                if other.device_arn == device.arn and other.region == region:
                    raise _validation(f"A spending limit already exists for device {device.arn} in "
                                      f"{region}: {other.arn}. Update or delete it instead.")
            self._limits[arn] = Limit(arn=arn, device_arn=device.arn, region=region,
                                      amount=Decimal(req["spendingLimit"]),
                                      start_at=float(period["startAt"]), end_at=float(period["endAt"]),
                                      tags=dict(req.get("tags") or {}), client_token=req["clientToken"],
                                      created_at=now)
            self._tokens[req["clientToken"]] = arn
            return arn

    def _get(self, arn: str, region: str) -> Limit:
        limit = self._limits.get(arn)
        if limit is None or limit.region != region:
            raise Refused(404, "ResourceNotFoundException", f"Spending limit '{arn}' not found")
        return limit

    def update(self, arn: str, region: str, req: dict[str, Any]) -> None:
        """New amount and/or time period; a clientToken seen before on this limit changes nothing."""
        with self._lock:
            limit = self._get(arn, region)
            if (arn, req["clientToken"]) in self._update_tokens:
                return
            if req.get("spendingLimit") is not None:
                amount = Decimal(req["spendingLimit"])
                if limit.total + limit.queued > amount:
                    raise _validation(
                        f"Spending limit {usd(amount)} USD is lower than the current spend "
                        f"{usd(limit.total)} USD plus the queued spend {usd(limit.queued)} USD "
                        f"of spending limit {arn}")
                limit.amount = amount
            if period := req.get("timePeriod"):
                limit.start_at, limit.end_at = float(period["startAt"]), float(period["endAt"])
            limit.updated_at = time.time()
            self._update_tokens.add((arn, req["clientToken"]))

    def delete(self, arn: str, region: str) -> None:
        with self._lock:
            self._get(arn, region)
            del self._limits[arn]

    def search(self, region: str, req: dict[str, Any]) -> list[dict[str, Any]]:
        """The region's limits, oldest first, filtered on ``deviceArn`` (EQUAL), the one filter name."""
        with self._lock:
            rows = [limit.summary() for limit in self._limits.values() if limit.region == region]
        for flt in req.get("filters") or []:
            if flt["name"] != "deviceArn":
                raise _validation(f"Unsupported filter name {flt['name']}: SearchSpendingLimits "
                                  "filters on deviceArn")
            rows = [r for r in rows if r["deviceArn"] in flt["values"]]
        return rows

    # ------------------------------------------------------------------ task gating and spend
    def charge(self, device: Device, region: str, shots: int, task_arn: str,
               now: float | None = None) -> Charge | None:
        """Gate one CreateQuantumTask: None when no limit covers the device (nothing to track), else
        its estimated cost queued against the limit; a ValidationException, and nothing queued, when
        the limit's time period does not cover now or the cost exceeds the remaining budget."""
        now = time.time() if now is None else now
        with self._lock:
            limit = next((lim for lim in self._limits.values()
                          if lim.device_arn == device.arn and lim.region == region), None)
            if limit is None:
                return None
            cost = estimated_cost(device.arn, shots)
            if cost is None:  # qpu() refuses a limit on an unpriced device; kept for a price table edit
                return None
            if not limit.covers(now):
                raise _validation(
                    f"Quantum task rejected by spending limit {limit.arn}: device {device.arn} accepts "
                    f"quantum tasks only within the limit's time period ({jobs.iso(limit.start_at)} to "
                    f"{jobs.iso(limit.end_at)}); estimated cost {usd(cost)} USD")
            if cost > limit.remaining:
                raise _validation(
                    f"Quantum task rejected by spending limit {limit.arn}: the estimated cost of "
                    f"{usd(cost)} USD for {shots} shots on device {device.arn} exceeds the remaining "
                    f"{usd(limit.remaining)} USD (spending limit {usd(limit.amount)} USD, total spend "
                    f"{usd(limit.total)} USD, queued spend {usd(limit.queued)} USD)")
            limit.queued += cost
            return Charge(limit, cost, task_arn)

    def settle(self, charge: Charge, status: str) -> None:
        """A charged task ended: its cost leaves the queued spend; COMPLETED adds it to the total.
        Once per task; nothing when its limit was deleted meanwhile."""
        with self._lock:
            if charge.settled or status not in jobs.TERMINAL:
                return
            charge.settled = True
            limit = charge.limit
            if self._limits.get(limit.arn) is not limit:
                return
            limit.queued -= charge.cost
            if status == "COMPLETED":
                limit.total += charge.cost

    def settler(self, charge: Charge | None) -> Callable[[str], None] | None:
        return None if charge is None else functools.partial(self.settle, charge)

    # ------------------------------------------------------------------ test controls
    def listing(self) -> list[dict[str, Any]]:
        """Every limit of every region, oldest first: its summary plus its region and remaining budget."""
        with self._lock:
            return [limit.summary() | {"region": limit.region, "remaining": usd(limit.remaining)}
                    for limit in self._limits.values()]


def new_arn(region: str) -> str:
    return f"arn:aws:braket:{region}:{ACCOUNT_ID}:spending-limit/{uuid.uuid4()}"
