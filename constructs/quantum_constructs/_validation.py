"""Input validation shared by the constructs: one clear error per bad prop."""

from typing import Any


def require(ok: bool, prop: str, value: Any, allowed: str) -> None:
    """Raise ``ValueError`` naming the prop, the bad value and what is allowed."""
    if not ok:
        raise ValueError(f"{prop}={value!r} is not allowed: expected {allowed}")
