"""The devices a job can name: the local simulator, or an Amazon Braket device by alias or ARN.

Aliases come from the Braket SDK's ``braket.devices.Devices`` (the last path
segment of each ARN, lowercased), so a new SDK release brings its devices along
and retired ones (underscored there) drop out. Nothing here calls AWS.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from .errors import UsageError

_ARN = re.compile(r"^arn:aws:braket:([a-z0-9-]*)::device/(qpu|quantum-simulator)/([\w.-]+)/([\w.-]+)$")
_KINDS = {"qpu": "qpu", "quantum-simulator": "simulator"}
ARN_FORMAT = "arn:aws:braket:<region or empty>::device/<qpu|quantum-simulator>/<provider>/<name>"


@dataclass(frozen=True)
class Device:
    alias: str
    arn: str
    kind: str
    """"local", "simulator" or "qpu"."""
    provider: str
    region: Optional[str]
    """The region the device runs in; None for local and for the managed simulators (any Braket region)."""


LOCAL = Device("local", "local", "local", "local", None)


def device_from_arn(arn: str, alias: Optional[str] = None) -> Device:
    """The Device an ARN describes (alias: its last path segment, lowercased); UsageError if it is not a device ARN."""
    match = _ARN.match(arn)
    if match is None:
        raise UsageError(f"{arn!r} is not a Braket device ARN: expected {ARN_FORMAT}")
    region, kind, provider, name = match.groups()
    return Device(alias or name.lower(), arn, _KINDS[kind], provider, region or None)


@functools.cache
def known_devices() -> dict[str, Device]:
    """The SDK's current (public) devices by alias; RuntimeError if two of them derive the same alias."""
    # Imported here: braket.devices pulls in the local simulator, over a second of import time.
    from braket import devices as sdk

    found: dict[str, Device] = {}
    for group_name, group in vars(sdk.Devices).items():
        if group_name.startswith("_") or not (isinstance(group, type) and issubclass(group, enum.Enum)):
            continue
        for member_name, member in group.__members__.items():
            if member_name.startswith("_"):
                continue  # the SDK underscores retired devices
            device = device_from_arn(str(member.value))
            other = found.get(device.alias)
            if other is not None and other.arn != device.arn:
                raise RuntimeError(f"devices {other.arn} and {device.arn} both derive the alias {device.alias!r}")
            found[device.alias] = device
    return found


def device_for_arn(arn: str) -> Device:
    """The Device a journal or outputs file names by ARN ("local" for the local simulator)."""
    return LOCAL if arn == LOCAL.arn else _known_by_arn().get(arn) or device_from_arn(arn)


def _known_by_arn() -> dict[str, Device]:
    return {device.arn: device for device in known_devices().values()}


def allowed_devices(allowed_arns: Optional[Sequence[str]]) -> list[Device]:
    """Local first, then each allowed ARN as a Device (the SDK's alias when it knows the ARN)."""
    known = _known_by_arn()
    return [LOCAL] + [known.get(arn) or device_from_arn(arn) for arn in allowed_arns or ()]


def resolve_device(spec: str, allowed_arns: Optional[Sequence[str]]) -> Device:
    """The device ``spec`` (local, an alias or a device ARN) names, if this stack allows it; else UsageError."""
    if spec == LOCAL.alias:
        return LOCAL
    allowed = allowed_devices(allowed_arns)
    names = ", ".join(d.alias for d in allowed)
    if spec.startswith("arn:"):
        device = _known_by_arn().get(spec) or device_from_arn(spec)
    else:
        # The stack's own devices win, so an alias it lists always names the ARN it allows.
        by_alias = {**known_devices(), **{d.alias: d for d in allowed}}
        device = by_alias.get(spec.lower())
        if device is None:
            raise UsageError(f"unknown device {spec!r}: use one of {names} (or a full device ARN)")
    if device.arn not in (d.arn for d in allowed):
        raise UsageError(f"device {device.alias!r} ({device.arn}) is not allowed in this stack: allowed are {names}")
    return device
