"""Shipping the audit chain to the S3 Object Lock bucket (``[gateway.audit_shipping]``).

The local log (or the database's chain) can be rewritten by whoever administers the gateway; a copy
in a bucket whose objects are kept in COMPLIANCE mode (`quantum_constructs.gateway.QuantumAuditBucket`)
cannot. The gateway's role may only ``s3:PutObject`` under ``audit/*`` (``grant_append``): no Get,
no List, no Delete. So the shipper never asks S3 what is there; the store remembers what was shipped
(``shipped_seq``) and what is being shipped (``pending_last_seq``), and a round is:

1. Read the state. Without a pending range, pick the next one, up to ``max_records_per_object``
   records after ``shipped_seq`` and at most the recorded head, and set it pending with a
   compare-and-set: of several gateway instances sharing one store, one sets it, and the others
   leave this round to it.
2. Upload records ``shipped_seq + 1``..``pending_last_seq`` as one object,
   ``<prefix>/<env>/<first:012d>-<last:012d>.jsonl``, each record its exact JSONL line.
3. Mark it shipped (compare-and-set ``(shipped, pending)`` to ``(pending, None)``).

A crash or an S3 error between 1 and 3 leaves the range pending, and the next round (here or on
another instance) uploads the same key with the same bytes: at worst an identical object version,
never two objects whose ranges overlap, never a gap. The objects in key order are the chain, so
``python -m gateway audit verify DIR`` checks a download of them.

S3 refuses a PutObject into a bucket with a default retention unless it carries Content-MD5 or a
checksum header (Amazon S3 API Reference, PutObject): each object carries its SHA-256
(``ChecksumAlgorithm="SHA256"``), which S3 also checks against the bytes it received.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

LOG = logging.getLogger("gateway.shipping")
MAX_OBJECTS_PER_ROUND = 100
"""A round catching up on a backlog stops after this many objects; the next round goes on."""
STOP_SECONDS = 10.0
"""How long `AuditShipper.stop` waits for the last round; what it leaves stays pending for the next start."""
CONTENT_TYPE = "application/x-ndjson"


class ShippingError(Exception):
    """An upload failed (one line: the object, its records and S3's error); the range stays pending."""


def object_key(prefix: str, env: str, first: int, last: int) -> str:
    """Zero-padded, so the keys' name order is the records' order (what ``aws s3 cp --recursive`` and
    ``audit verify DIR`` rely on)."""
    return f"{prefix}/{env}/{first:012d}-{last:012d}.jsonl"


def s3_client(region: Optional[str], endpoint_url: Optional[str] = None, *, max_attempts: int = 3):
    """The S3 client the shipper uses: the stack's region, the configured endpoint (a VPC endpoint, or
    a test server), botocore's standard retries and timeouts short enough that a round, and the last
    one on stop, ends in bounded time; a failed round is retried by the next one anyway."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", region_name=region, endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=5, read_timeout=30),
    )


class AuditShipper:
    """Ships the audit chain in rounds (`run_once`), or as a thread (`start`/`stop`) doing one round every
    ``interval_seconds`` and a last one on stop. It appends nothing and holds no lock the audit trail's
    appends take: accepting a submission never waits for S3.

    :param store: the gateway's store (``audit_head`` and the shipping state).
    :param audit: the `gateway.audit.AuditTrail` whose records are shipped (``lines``).
    :param s3: a boto3 S3 client (`s3_client`); only ``put_object`` is called.
    """

    def __init__(self, store, audit, s3, *, bucket: str, prefix: str, env: str, interval_seconds: float = 60,
                 max_records_per_object: int = 10_000) -> None:
        if not (isinstance(bucket, str) and bucket):
            raise ValueError(f"bucket={bucket!r} is not allowed: expected the audit bucket's name")
        if not (isinstance(max_records_per_object, int) and max_records_per_object >= 1):
            raise ValueError(f"max_records_per_object={max_records_per_object!r} is not allowed: expected a whole number of at least 1")
        if not (isinstance(interval_seconds, (int, float)) and interval_seconds > 0):
            raise ValueError(f"interval_seconds={interval_seconds!r} is not allowed: expected a positive number of seconds")
        self._store = store
        self._audit = audit
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._env = env
        self._interval = interval_seconds
        self._max = max_records_per_object
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._deadline: Optional[float] = None  # of the last round, set by `stop`

    def ship_once(self) -> Optional[tuple[int, int]]:
        """Ship the pending range, or pick the next one and ship it; the (first, last) seq shipped, or
        None when there was nothing to ship or another instance took the range first. Raises what the
        store, the log or S3 raised; the range then stays pending."""
        shipped, pending = self._store.audit_shipping()
        if pending is None:
            head = self._store.audit_head()
            pending = min(head[0] if head else 0, shipped + self._max)
            if pending <= shipped:
                return None
            if not self._store.begin_audit_shipping(shipped, pending):
                return None  # another instance set its range: it ships it (or a later round does, if it died)
        key = object_key(self._prefix, self._env, shipped + 1, pending)
        body = b"".join(self._audit.lines(shipped + 1, pending))
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=CONTENT_TYPE, ChecksumAlgorithm="SHA256")
        except Exception as error:  # botocore's ClientError, EndpointConnectionError, ReadTimeoutError, ...
            raise ShippingError(f"s3://{self._bucket}/{key}: records {shipped + 1}-{pending} were not uploaded "
                                f"({type(error).__name__}: {_one_line(error)})") from None
        if not self._store.end_audit_shipping(shipped, pending):
            # Another instance uploaded the same range (the same key and bytes) and marked it first.
            LOG.debug("records %d-%d were marked shipped by another instance", shipped + 1, pending)
        LOG.info("shipped audit records %d-%d to s3://%s/%s", shipped + 1, pending, self._bucket, key)
        return shipped + 1, pending

    def run_once(self, deadline: Optional[float] = None) -> int:
        """One round: objects until the head read at its start is shipped (not chasing a head that keeps
        moving, which would make many small objects), at most `MAX_OBJECTS_PER_ROUND`, none begun after
        ``deadline`` (``time.monotonic()``); the number of records shipped."""
        head = self._store.audit_head()
        target = head[0] if head else 0
        count = 0
        for _ in range(MAX_OBJECTS_PER_ROUND):
            if deadline is not None and time.monotonic() >= deadline:
                break
            shipped = self.ship_once()
            if shipped is None:
                break
            count += shipped[1] - shipped[0] + 1
            if shipped[1] >= target:
                break
        return count

    def _round(self, deadline: Optional[float] = None) -> None:
        """`run_once`, its failure logged in one line: nothing is lost, the next round retries."""
        try:
            self.run_once(deadline)
        except Exception as error:  # S3 (ShippingError), the store (StoreError), the log (AuditError), any other
            LOG.error("audit shipping failed, retried in %g s: %s", self._interval, _one_line(error))

    # -- as a thread --------------------------------------------------------------
    def start(self) -> None:
        """A thread: a round now (a range left pending by a crash goes first), then one every interval."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="audit-shipper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop after one last round (records appended until now go too), waiting at most ``timeout``
        seconds: a slow S3 leaves the rest pending for the next start, nothing is lost."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._round()
            self._stop.wait(self._interval)
        self._round(self._deadline)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
