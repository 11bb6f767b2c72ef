"""What the gateway's parts share: who asks, what was submitted, where it stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

# A submission's states, in order. ACCEPTED is stored before the 202 answer; the forwarder moves it on.
ACCEPTED = "ACCEPTED"
FORWARDING = "FORWARDING"  # claimed by a forwarder (with a lease: a crashed one's claim expires)
FORWARDED = "FORWARDED"  # Braket took it: task_arn known
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
STATES = (ACCEPTED, FORWARDING, FORWARDED, COMPLETED, FAILED, CANCELLED)
FINAL_STATES = (COMPLETED, FAILED, CANCELLED)
CANCELLED_BEFORE_FORWARDING = "cancelled by its owner before it was forwarded"


@dataclass(frozen=True)
class Principal:
    """Who is asking, as authentication established it."""

    subject: str
    groups: tuple[str, ...] = ()
    method: str = ""
    """How: "mtls", "oidc" or "token"."""


@dataclass
class Submission:
    """One task, from acceptance to its result. Stored durably; the program text that leaves is
    ``forwarded_program`` (anonymized); the user's is never stored unless configured."""

    id: str
    """The gateway's task id (a UUID), the user's handle, and Braket's client token (idempotency)."""
    subject: str
    groups: tuple[str, ...]
    device_arn: str
    shots: int
    original_sha256: str
    forwarded_program: str
    forwarded_sha256: str
    mapping: dict
    """Opaque names -> the user's (inside only: results come back in the user's names)."""
    correlation_id: str
    """The one opaque tag that leaves with the task."""
    estimate_usd: float
    created_at: float
    state: str = ACCEPTED
    task_arn: Optional[str] = None
    attempts: int = 0
    error: Optional[str] = None
    counts: Optional[dict] = None
    """Measurement counts in the forwarded program's bit order (de-anonymized on the way out)."""
    claimed_by: Optional[str] = None
    lease_until: Optional[float] = None
    extra: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    """The values of the forwarded program's inputs, by their opaque names (sent with it to Braket)."""
    cancel_requested_at: Optional[float] = None
    """When its owner asked to cancel it once it was with a forwarder or at Braket (the forwarder
    then cancels it there); None: not asked."""
