"""Input validation shared by the constructs: one clear error per bad prop."""

from typing import Any


def require(ok: bool, prop: str, value: Any, allowed: str) -> None:
    """Raise ``ValueError`` naming the prop, the bad value and what is allowed."""
    if not ok:
        raise ValueError(f"{prop}={value!r} is not allowed: expected {allowed}")


def is_whole(value: Any) -> bool:
    """An int that is not a bool (``True`` is an int to Python, never a count to us)."""
    return isinstance(value, int) and not isinstance(value, bool)


def require_bool(prop: str, value: Any) -> None:
    require(isinstance(value, bool), prop, value, "True or False")


def require_optional_text(prop: str, value: Any, allowed: str) -> None:
    require(value is None or (isinstance(value, str) and bool(value)), prop, value, allowed)


def require_texts(prop: str, value: Any, allowed: str) -> None:
    """A list or tuple of non-empty strings (a lone string is not a list of them)."""
    require(
        isinstance(value, (list, tuple)) and all(isinstance(item, str) and item for item in value),
        prop,
        value,
        allowed,
    )
