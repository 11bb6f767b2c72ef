"""A stack's outputs, as far as they are known: synthesized values, overridden by deployed ones.

The synthesized stack (``cdktf.out/stacks/ENV/cdk.tf.json``) already knows the
literal outputs (environment, region, prefix, devices) and the ones that
reference a literal resource argument (the bucket name, the notebook name).
Attributes computed by AWS (ARNs) are only known after deploy, from one of the
files the tools write:

- ``npx cdktf deploy ENV --outputs-file F``  -> ``{"ENV": {"name": value, ...}}``
- ``npx cdktf output ENV --outputs-file F``  -> ``{"name": value, ...}``
- ``terraform output -json``                 -> ``{"name": {"value": value, "type": ...}, ...}``
- the local state ``terraform.ENV.tfstate``  -> ``{"outputs": {"name": {"value": value, ...}}, ...}``

Without ``--outputs FILE`` the first of ``outputs/ENV.json``, ``outputs.json``
and ``terraform.ENV.tfstate`` (under the repository root) that holds this
stack's outputs is used. No AWS call, no clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from jobs.errors import UsageError
from stacks.config import ENVIRONMENTS, OUTPUT_NAMES

SYNTHESIZED = "synthesized"
GATEWAY_OUTPUTS = ("gateway_role_arn", "gateway_trust_anchor_arn", "gateway_profile_arn", "audit_bucket_name")
"""The outputs only a stack with submission="gateway" has (null in the others)."""

# `${type.name.attr}` and nothing else: one reference making up the whole string.
_REFERENCE = re.compile(r"^\$\{([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)\}$")


@dataclass(frozen=True)
class StackOutputs:
    """The outputs of one stack (``OUTPUT_NAMES``); None where the value is not known (yet), and for the
    gateway's outputs in an environment without a gateway."""

    environment: Optional[str]
    region: Optional[str]
    results_bucket_name: Optional[str]
    results_bucket_arn: Optional[str]
    results_prefix: Optional[str]
    notebook_role_arn: Optional[str]
    notebook_name: Optional[str]
    allowed_devices: Optional[tuple[str, ...]]
    jobs_role_arn: Optional[str]
    """The hybrid jobs execution role (known after deploy)."""
    jobs_prefix: Optional[str]
    """The key prefix hybrid jobs use in the results bucket, ``jobs`` (known at synth)."""
    spending_limits: Optional[Mapping[str, str]] = field(default=None, hash=False)
    """Braket spending limit per QPU, SDK device ARN -> USD as a string (known at synth; empty
    when the environment owns no limits). What is left of one is only known to Braket."""
    submission: Optional[str] = None
    """"direct", or "gateway" where only the DMZ gateway creates tasks (known at synth; None in the
    outputs of a stack synthesized before the gateway existed)."""
    gateway_role_arn: Optional[str] = None
    """The DMZ gateway's IAM role (after deploy; None without a gateway)."""
    gateway_trust_anchor_arn: Optional[str] = None
    """Its IAM Roles Anywhere trust anchor (after deploy; None without a gateway)."""
    gateway_profile_arn: Optional[str] = None
    """Its IAM Roles Anywhere profile (after deploy; None without a gateway)."""
    audit_bucket_name: Optional[str] = None
    """The Object Lock bucket of the gateway's audit log (known at synth; None without a gateway)."""
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)
    """For each output name: "synthesized" or the path of the deployed outputs file."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OUTPUT_NAMES}

    def require(self, name: str) -> Any:
        """The value of ``name``; UsageError telling what to run when it is not known."""
        if name not in OUTPUT_NAMES:
            raise ValueError(f"unknown output {name!r}: expected one of {', '.join(OUTPUT_NAMES)}")
        value = getattr(self, name)
        env = self.environment or "ENV"
        if value is None and name in GATEWAY_OUTPUTS and self.submission == "direct":
            raise UsageError(f"stack {env!r} has no DMZ gateway (submission is 'direct'), so no {name}")
        if value is None:
            raise UsageError(
                f"{name} of stack {env!r} is only known after deploy: "
                f"run `npx cdktf deploy {env} --outputs-file outputs/{env}.json` (or pass --outputs FILE)"
            )
        return value


def resolve_outputs(env: str, *, root: Optional[Path] = None, outputs_file: Optional[Path] = None) -> StackOutputs:
    """The outputs of stack ``env`` under repository ``root`` (default: the current directory)."""
    if env not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {env!r}: use one of {', '.join(sorted(ENVIRONMENTS))}")
    root = Path.cwd() if root is None else root

    values = _synthesized_outputs(env, root)
    sources = {name: SYNTHESIZED for name in OUTPUT_NAMES}

    found = _explicit_outputs(env, outputs_file) if outputs_file is not None else _discover_outputs(env, root)
    if found is not None:
        path, deployed = found
        if deployed.get("environment") not in (None, env):
            raise UsageError(
                f"{path} holds the outputs of stack {deployed['environment']!r}, not {env!r}: "
                f"pass the outputs file of {env!r} with --outputs FILE"
            )
        _check_types(path, deployed)
        for name in OUTPUT_NAMES:
            if deployed.get(name) is not None:
                values[name] = deployed[name]
                sources[name] = str(path)

    devices = values["allowed_devices"]
    if devices is not None:
        values["allowed_devices"] = (devices,) if isinstance(devices, str) else tuple(str(d) for d in devices)
    limits = values["spending_limits"]
    if limits is not None:
        values["spending_limits"] = {str(k): str(v) for k, v in limits.items()}
    return StackOutputs(**values, sources=MappingProxyType(sources))


def _synthesized_outputs(env: str, root: Path) -> dict[str, Any]:
    path = root / "cdktf.out" / "stacks" / env / "cdk.tf.json"
    if not path.is_file():
        raise UsageError(
            f"stack {env!r} was never synthesized ({path} is missing): "
            "run `pipenv run python main.py` (or `npx cdktf synth`)"
        )
    doc = _read_json(path, fix="run `pipenv run python main.py` again")
    outputs = doc.get("output") or {}
    return {name: _resolve(outputs.get(name, {}).get("value"), doc) for name in OUTPUT_NAMES}


def _resolve(value: Any, doc: dict) -> Any:
    """A literal as is; a lone `${type.name.attr}` whose resource argument is a literal; else None."""
    if _is_literal(value):
        return value
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None:
        return None  # text mixed with references, data sources (`${data.T.N.A}`): known at plan at best
    type_, name, attr = match.groups()
    target = doc.get("resource", {}).get(type_, {}).get(name, {}).get(attr)
    return target if target is not None and _is_literal(target) else None


def _is_literal(value: Any) -> bool:
    if isinstance(value, str):
        return "${" not in value
    if isinstance(value, list):
        return all(_is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(_is_literal(item) for item in value.values())
    return value is not None


def _check_types(path: Path, deployed: dict[str, Any]) -> None:
    """Every deployed output has its type: text, a list of device ARNs for ``allowed_devices`` and
    an object of device ARN -> amount text for ``spending_limits``."""
    for name, value in deployed.items():
        if value is None:
            continue
        if name == "spending_limits":
            if not (isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())):
                raise UsageError(
                    f"{path}: output {name} is {json.dumps(value)[:60]}: expected an object of device ARNs to amounts (text)"
                )
            continue
        devices = name == "allowed_devices"
        ok = (
            (isinstance(value, list) and all(isinstance(item, str) for item in value)) or isinstance(value, str)
            if devices
            else isinstance(value, str)
        )
        if not ok:
            expected = "a list of device ARNs" if devices else "text"
            raise UsageError(f"{path}: output {name} is {json.dumps(value)[:60]}: expected {expected}")


def _explicit_outputs(env: str, path: Path) -> tuple[Path, dict[str, Any]]:
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise UsageError(
            f"outputs file {path} {problem}: "
            f"pass the file written by `npx cdktf deploy {env} --outputs-file FILE`"
        )
    deployed, stacks = _parse_outputs(_read_json(path, fix=_refresh(env, path)), env)
    if deployed is None:
        holds = f"it has stacks {', '.join(map(repr, stacks))}" if stacks else "it has none of the outputs"
        raise UsageError(
            f"{path} has no outputs for stack {env!r} ({holds}): pass the file written by "
            f"`npx cdktf deploy {env} --outputs-file outputs/{env}.json`"
        )
    return path, deployed


def _discover_outputs(env: str, root: Path) -> Optional[tuple[Path, dict[str, Any]]]:
    for path in (root / "outputs" / f"{env}.json", root / "outputs.json", root / f"terraform.{env}.tfstate"):
        if path.is_file():
            deployed, _ = _parse_outputs(_read_json(path, fix=_refresh(env, path)), env)
            if deployed is not None:
                return path, deployed
    return None


def _parse_outputs(data: Any, env: str) -> tuple[Optional[dict[str, Any]], list[str]]:
    """This stack's outputs in any of the four forms (None if absent) and the stacks a nested file holds."""
    if not isinstance(data, dict):
        return None, []
    if isinstance(data.get("outputs"), dict):  # a Terraform state file
        data = data["outputs"]
    nested = sorted(key for key, value in data.items() if isinstance(value, dict) and _has_outputs(value))
    if env in nested:  # cdktf deploy --outputs-file
        data = data[env]
    elif nested:
        return None, nested  # other stacks only
    if not _has_outputs(data):
        return None, []
    wrapped = all(isinstance(data[n], dict) and "value" in data[n] for n in OUTPUT_NAMES if n in data)
    if wrapped:  # terraform output -json, state outputs
        return {name: data[name]["value"] for name in OUTPUT_NAMES if name in data}, []
    return {name: data[name] for name in OUTPUT_NAMES if name in data}, []  # cdktf output --outputs-file


def _has_outputs(mapping: dict) -> bool:
    return any(name in mapping for name in OUTPUT_NAMES)


def _refresh(env: str, path: Path) -> str:
    if path.suffix == ".tfstate":
        return f"restore it from {path.name}.backup (Terraform state: do not delete it)"
    return f"write it again with `npx cdktf output {env} --outputs-file {path}`"


def _read_json(path: Path, *, fix: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno}): {fix}"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a JSON text file (it is not UTF-8): {fix}") from None
    except OSError as error:
        raise UsageError(f"cannot read {path} ({error.strerror or error}): {fix}") from None
