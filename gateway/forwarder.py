"""The forwarder: takes accepted submissions from the store and sends them to Amazon Braket with the
gateway's own credentials, then collects their results.

At most once, whatever crashes: a submission is claimed with a lease before it is sent; Braket's
CreateQuantumTask gets the submission id as its client token, so a forwarder that died after sending
and before recording the task ARN is replaced, once its lease expires, by one whose identical request
Braket answers with the same task (Braket API Reference, CreateQuantumTask: ``clientToken``, "a unique
token that guarantees that the request is idempotent"). Throttling is retried by botocore (standard
mode, 10 attempts), then by claiming again later; a refusal (a spending limit, a validation error,
access denied) fails the submission with Braket's reason.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from jobs.backends import AwsBackend
from jobs.circuits import CircuitSpec
from jobs.errors import ServiceError, UsageError

from .audit import audit_record
from .model import COMPLETED, FAILED, Submission

LOG = logging.getLogger("gateway.forwarder")
LEASE_SECONDS = 15.0
"""How long a claim holds a submission. Short, because a crashed forwarder's claims wait it out
before another takes them over (the load bench's restart measured that wait); safe, because a send
that outlasts it (botocore backing off on throttling) and is taken over ends in the same task: the
second CreateQuantumTask carries the same client token."""
MAX_ATTEMPTS = 5
"""Claims of one submission before it fails (each claim's send is itself retried by botocore)."""
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
CANCELLING = "CANCELLING"  # Braket's state between CancelQuantumTask and CANCELLED
SENDERS = 8
"""Threads sending at once: each CreateQuantumTask mostly waits on the network."""


class Forwarder:
    """Sends claimed submissions to Braket and polls what was sent (``run_once``/``poll_once``, or a thread).

    :param store: the gateway's ``Store``.
    :param region: the stack's region; ``bucket``/``prefix``: where Braket writes results.
    :param backend_factory: ``device_arn -> AwsBackend``-like object (tests may count calls); default AwsBackend.
    """

    def __init__(
        self,
        store,
        *,
        region: str,
        bucket: Optional[str],
        prefix: str,
        worker: str,
        audit=None,
        clock: Callable[[], float] = time.time,
        backend_factory: Optional[Callable[[str], object]] = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._store = store
        self._worker = worker
        self._audit = audit
        self._clock = clock
        self._lease = lease_seconds
        self._backends: dict[str, object] = {}
        self._factory = backend_factory or (
            lambda device: AwsBackend(device_arn=device, region=region, bucket=bucket, key_prefix=prefix, poll_interval=0.05)
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._backends_lock = threading.Lock()

    def _backend(self, device: str):
        with self._backends_lock:
            if device not in self._backends:
                self._backends[device] = self._factory(device)
            return self._backends[device]

    def run_once(self) -> Optional[Submission]:
        """Claim one submission and send it; the submission, or None when there was none."""
        submission = self._store.claim(self._worker, self._clock(), self._lease)
        if submission is None:
            return None
        circuit = CircuitSpec(name=submission.id, source=submission.forwarded_program,
                              inputs=tuple(sorted(submission.inputs.items())))
        try:
            task_arn = self._backend(submission.device_arn).submit(
                circuit, submission.shots, {"correlation": submission.correlation_id}, client_token=submission.id
            )
        except UsageError as refusal:  # Braket refused (a spending limit): final
            self._fail(submission, str(refusal))
        except ServiceError as error:
            if submission.attempts >= MAX_ATTEMPTS or _refused(str(error)):
                self._fail(submission, str(error))
            else:  # left claimed: the lease expires and the next claim sends it again, same client token
                LOG.warning("forwarding %s failed (attempt %d), retried later: %s", submission.id, submission.attempts, error)
        else:
            if self._store.mark_forwarded(submission.id, task_arn, self._worker):
                self._record("forwarded", submission, task_arn=task_arn)
            else:  # our lease expired and another forwarder took it: it records the same task (same client token)
                LOG.warning("submission %s was claimed by another forwarder while being sent", submission.id)
        return submission

    def poll_once(self) -> int:
        """Collect the results of forwarded tasks that finished, and cancel at Braket those whose
        owner asked (again at each poll until Braket has them CANCELLING); how many finished."""
        finished = 0
        for submission in self._store.forwarded(self._clock()):
            backend = self._backend(submission.device_arn)
            outcome = backend.wait(submission.task_arn, timeout_seconds=0)
            if outcome.state not in TERMINAL:
                if submission.cancel_requested_at is not None and outcome.state != CANCELLING:
                    self._cancel_at_braket(backend, submission)
                continue
            if outcome.state == COMPLETED:
                # The measured qubits too: a device may order the result's bits its own way.
                measured = (outcome.raw_result or {}).get("measuredQubits")
                done = self._store.finish(submission.id, COMPLETED,
                                          counts={"counts": outcome.counts, "measured_qubits": measured})
            else:
                done = self._store.finish(submission.id, outcome.state, error=outcome.failure_reason)
            if done:  # another poller may have finished it first
                self._record("finished", submission, state=outcome.state, error=outcome.failure_reason)
                finished += 1
        return finished

    def _cancel_at_braket(self, backend, submission: Submission) -> None:
        try:
            state = backend.cancel(submission.task_arn)
        except (ServiceError, UsageError) as error:  # retried at the next poll
            LOG.warning("cancelling %s (%s) at Braket failed, retried: %s", submission.id, submission.task_arn, error)
            return
        self._record("cancel_sent", submission, task_arn=submission.task_arn, state=state)

    def _fail(self, submission: Submission, reason: str) -> None:
        if self._store.finish(submission.id, FAILED, error=reason):
            self._record("finished", submission, state=FAILED, error=reason)

    def _record(self, event: str, submission: Submission, **fields) -> None:
        if self._audit is not None:
            self._audit.append(audit_record(event, submission=submission, **fields))

    # -- as threads -----------------------------------------------------------
    def start(self, senders: int = SENDERS, interval: float = 0.05) -> None:
        """``senders`` threads claim and send (a CreateQuantumTask waits on the network, so several
        overlap), one thread polls what was sent."""
        self._stop.clear()
        steps = [self.run_once] * senders + [self.poll_once]
        self._threads = [
            threading.Thread(target=self._loop, args=(step, interval), name=f"forwarder-{self._worker}-{n}", daemon=True)
            for n, step in enumerate(steps)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, step: Callable[[], object], interval: float) -> None:
        while not self._stop.is_set():
            try:
                busy = bool(step())
            except Exception:  # one bad round must not end forwarding; the next round retries
                LOG.exception("forwarding round failed")
                busy = False
            if not busy:
                self._stop.wait(interval)


def _refused(message: str) -> bool:
    """Braket said no (not "try again"): retrying would only repeat the refusal."""
    return any(code in message for code in ("ValidationException", "AccessDenied", "ResourceNotFound", "ConflictException"))
