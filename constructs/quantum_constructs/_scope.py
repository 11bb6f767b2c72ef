"""What every construct of the library shares: names derived from the construct path, and its provider."""

from __future__ import annotations

import hashlib
import re
from typing import Optional

from .cdk import TerraformDataSource, TerraformProvider, TerraformResource
from constructs import Construct

_HASH_LENGTH = 8


def bounded_name(name: str, limit: int) -> str:
    """``name``, or when too long its start and a hash of the whole, so distinct names stay distinct."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{name[: limit - _HASH_LENGTH - 1].rstrip('-')}-{digest}"


def path_name(prefix: str, scope: Construct, limit: int, allowed: str = r"A-Za-z0-9+=,.@_-") -> str:
    """``prefix-<construct path>``: unique in the app, cut to ``limit`` with a hash when longer.

    The path includes the stack, so the same construct in two stacks, or a wrapper construct
    used twice, never yields the same name; characters the service refuses become '-'.
    """
    path = "-".join(scope.node.path.split("/"))
    return bounded_name(re.sub(f"[^{allowed}]", "-", f"{prefix}-{path}"), limit)


def path_sid(scope: Construct) -> str:
    """An IAM statement id fragment from the construct path below the stack (Sids take A-Za-z0-9 only)."""
    return re.sub(r"[^A-Za-z0-9]", "", "".join(scope.node.path.split("/")[1:])) or "Root"


def apply_provider(scope: Construct, provider: Optional[TerraformProvider]) -> None:
    """Put every resource and data source under ``scope`` on ``provider`` (None: the stack's default)."""
    if provider is None:
        return
    for child in scope.node.find_all():
        if isinstance(child, (TerraformResource, TerraformDataSource)):
            child.provider = provider


def check_provider(provider: object) -> None:
    """``ValueError`` unless ``provider`` is None or a Terraform provider such as ``AwsProvider``."""
    if provider is not None and not isinstance(provider, TerraformProvider):
        raise ValueError(
            f"provider={provider!r} is not allowed: expected None (the stack's default AWS provider) "
            "or an AwsProvider, e.g. AwsProvider(stack, 'eu', region='eu-west-2', alias='eu')"
        )
