"""Cost estimates from the packaged Braket price table (``prices.json``), and the --max-cost check.

QPUs cost a fee per task plus a fee per shot. Managed simulators bill task
runtime per second with a minimum per task; the runtime is not known before the
task runs, so the table records an assumed runtime per task. A device the table
has no price for is refused rather than estimated at zero.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping, Optional

from .devices import LOCAL, Device
from .errors import UsageError

PriceTable = Mapping[str, Any]


@dataclass(frozen=True)
class Estimate:
    device_arn: str
    tasks: int
    shots_per_task: int
    usd: float
    breakdown: str
    """One line showing how ``usd`` was reached."""

    def format(self) -> str:
        return f"${self.usd:.2f}"


def _usd(amount: float) -> str:
    """$0.30, $0.08, $0.00145: cents, or as many decimals as a per-shot price needs."""
    text = f"{amount:.6f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


@functools.cache
def load_price_table() -> PriceTable:
    """The price table shipped in the package (read once; do not mutate it)."""
    return json.loads(resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8"))


def estimate(device: Device, tasks: int, shots: int, table: Optional[PriceTable] = None) -> Estimate:
    """What ``tasks`` tasks of ``shots`` shots each on ``device`` cost, in USD; UsageError if it has no price."""
    if tasks < 0 or shots < 0:
        raise ValueError(f"tasks={tasks}, shots={shots}: expected counts of 0 or more")
    if device == LOCAL:
        return Estimate(device.arn, tasks, shots, 0.0, "LocalSimulator: free")
    table = load_price_table() if table is None else table
    section = "qpus" if device.kind == "qpu" else "simulators"
    price = table.get(section, {}).get(device.arn)
    if price is None:
        raise UsageError(
            f"the price table has no entry for {device.alias} ({device.arn}), so nothing is submitted to it: "
            f"add its published price to {section} in jobs/prices.json"
        )
    if section == "qpus":
        usd = tasks * (price["per_task"] + shots * price["per_shot"])
        breakdown = f"{_tasks(tasks)} x ({_usd(price['per_task'])} + {shots} shots x {_usd(price['per_shot'])})"
    else:
        minimum, assumed = price["minimum_billed_seconds"], price["assumed_task_seconds"]
        usd = tasks * max(minimum, assumed) / 60 * price["per_minute"]
        breakdown = f"{_tasks(tasks)} x max({minimum} s minimum, {assumed} s assumed) at {_usd(price['per_minute'])}/min"
    # Rounded to a millionth of a dollar: float noise (24.900000000000002) would make a cap equal to the estimate refuse.
    return Estimate(device.arn, tasks, shots, round(usd, 6), breakdown)


def check_cap(estimate: Estimate, max_cost_usd: float, remedy: str = "use fewer circuits, fewer shots or a cheaper device") -> None:
    """UsageError if the estimate is above the cap, or the cap is no amount (NaN compares false with everything)."""
    if not (isinstance(max_cost_usd, (int, float)) and math.isfinite(max_cost_usd) and math.copysign(1, max_cost_usd) > 0):
        raise UsageError(f"--max-cost {max_cost_usd!r}: expected an amount in USD of 0 or more, such as 10 or 2.50")
    if not math.isfinite(estimate.usd) or estimate.usd > max_cost_usd:
        raise UsageError(
            f"estimated cost {_usd(estimate.usd)} exceeds --max-cost {_usd(max_cost_usd)}: {estimate.breakdown}; "
            f"raise --max-cost, or {remedy}"
        )


def job_instance_estimate(instance_type: str, minutes: int, table: Optional[PriceTable] = None) -> tuple[float, str]:
    """What a hybrid job's classical instance costs at most: its hourly price times the maximum runtime.

    UsageError naming the instance types the table prices when ``instance_type`` is not one of them.
    """
    table = load_price_table() if table is None else table
    prices = table["job_instances"]["per_hour"]
    if instance_type not in prices:
        raise UsageError(f"--instance-type {instance_type!r} is not one this tool prices: expected one of {', '.join(prices)}")
    usd = round(prices[instance_type] * minutes / 60, 6)
    return usd, f"{instance_type} at {_usd(prices[instance_type])}/h for at most {minutes} min"
