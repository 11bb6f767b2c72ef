"""Readers for synthesized Terraform JSON, shared by the tests."""

from __future__ import annotations

import json

from quantum_constructs.cdk import Testing, TerraformStack

from stacks import ENVIRONMENTS

PRIVATE_ENVIRONMENTS = sorted(name for name, env in ENVIRONMENTS.items() if env.private_network)
"""Environments with network="private" (a VPC without internet)."""
PUBLIC_ENVIRONMENTS = sorted(name for name, env in ENVIRONMENTS.items() if not env.private_network)


def resources(doc: dict, type_: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(type_, {})


def data_sources(doc: dict, type_: str) -> dict[str, dict]:
    return doc.get("data", {}).get(type_, {})


def only(mapping: dict) -> dict:
    assert len(mapping) == 1, f"expected exactly one, got {list(mapping)}"
    return next(iter(mapping.values()))


def policy_statements(doc: dict) -> list[dict]:
    """Every statement of every DataAwsIamPolicyDocument in a synthesized stack."""
    return [s for d in data_sources(doc, "aws_iam_policy_document").values() for s in d.get("statement", [])]


def synth_json(stack: TerraformStack) -> dict:
    return json.loads(Testing.synth(stack))


def ref(doc: dict, type_: str, attribute: str) -> str:
    """The Terraform reference to ``attribute`` of the only resource of ``type_``."""
    [name] = resources(doc, type_)
    return "${" + f"{type_}.{name}.{attribute}" + "}"


def without_metadata(value):
    """``value`` without cdktf's "//" metadata blocks (they differ between Testing and a real App)."""
    if isinstance(value, dict):
        return {k: without_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [without_metadata(v) for v in value]
    return value
