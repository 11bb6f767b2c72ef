"""The gateway's durable state: submissions and their claims, daily spend, rate-limit hits, the audit head.

One interface (`Store`), so a single instance runs on an embedded SQLite file and several
instances behind a load balancer share PostgreSQL. `SqliteStore` is the embedded backend:

- WAL mode with ``synchronous=FULL``: every commit fsyncs the write-ahead log, so a submission
  is on disk once `add_submission` returns (SQLite, "Write-Ahead Logging" and
  "PRAGMA synchronous": https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous).
- Every write is one ``BEGIN IMMEDIATE`` transaction: it takes the database's write lock
  before reading, so two threads or processes claiming at once are serialized and never both
  see the same submission unclaimed (https://www.sqlite.org/lang_transaction.html).
- Connections come from a small pool (one per concurrent caller, reused), so any thread may
  call any method; other processes open the same file with their own `SqliteStore`.

Every method that depends on time takes ``now`` (seconds since the epoch) from the caller: the
gateway passes ``time.time()``, tests pass the clock they want.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Protocol, Union, runtime_checkable

from .model import ACCEPTED, CANCELLED, CANCELLED_BEFORE_FORWARDING, FINAL_STATES, FORWARDED, FORWARDING, STATES, Submission

RATE_WINDOW_SECONDS = 60.0
"""Rate limits count the hits of the last 60 seconds (a sliding window, not calendar minutes)."""
BUSY_SECONDS = 30.0
"""How long a writer waits for another writer's transaction before giving up."""
SCHEMA_VERSION = 2
"""1: the first; 2: submissions.inputs and cancel_requested_at (``_ADDED_COLUMNS``)."""
_ADDED_COLUMNS = {
    "inputs": "TEXT NOT NULL DEFAULT '{}'",  # JSON object: input values by opaque name
    "cancel_requested_at": "REAL",  # when the owner asked to cancel it (forwarding or at Braket)
}
"""Columns of version 2, added to a new table and to a version-1 one alike."""
_NANO = 1_000_000_000  # spend is summed in whole nano-dollars: exact, where summing floats drifts
_MAX_SPEND = 1e9  # USD in one addition: keeps nano-dollars inside SQLite's 64-bit integers
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StoreError(Exception):
    """The database cannot be opened or used (one line: which file and why)."""


@runtime_checkable
class Store(Protocol):
    """What the gateway keeps across restarts, whichever database holds it.

    Claims are leases: `claim` hands a submission to one forwarder until ``lease_until``; a
    forwarder that dies stops renewing, its lease runs out and another forwarder claims the
    submission again (``attempts`` counts the claims). Forwarding a submission twice is then
    harmless because its id is Braket's client token. A PostgreSQL backend implements `claim`
    as one statement::

        UPDATE submissions SET state = 'FORWARDING', claimed_by = %s, lease_until = %s,
               attempts = attempts + 1
         WHERE seq = (SELECT seq FROM submissions
                       WHERE state = 'ACCEPTED' OR (state = 'FORWARDING' AND lease_until <= %s)
                       ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *

    (PostgreSQL, "The Locking Clause": https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE),
    and `take_rate_token` and `add_spend` as single transactions on their rows.
    """

    def add_submission(self, sub: Submission) -> None:
        """Store a new submission, durably before returning; ``ValueError`` if its id exists."""

    def get(self, id: str) -> Optional[Submission]:
        """The submission with this id, or None."""

    def claim(self, worker: str, now: float, lease_seconds: float) -> Optional[Submission]:
        """Atomically take the oldest ACCEPTED submission, or a FORWARDING one whose lease ran out,
        for ``worker`` until ``now + lease_seconds``; None when there is nothing to forward."""

    def mark_forwarded(self, id: str, task_arn: str, worker: str) -> bool:
        """Record Braket's task ARN; False (nothing changed) unless ``worker`` holds the claim."""

    def renew(self, id: str, worker: str, now: float, lease_seconds: float) -> bool:
        """Extend ``worker``'s claim to ``now + lease_seconds``; False unless it holds the claim."""

    def finish(self, id: str, state: str, *, counts: Optional[dict] = None, error: Optional[str] = None) -> bool:
        """Move a submission to a final state; False if it is unknown or already final."""

    def request_cancel(self, id: str, now: float) -> Optional[tuple[str, Submission]]:
        """Its owner's cancel, in one transaction: an ACCEPTED submission (never sent) becomes
        CANCELLED; a FORWARDING or FORWARDED one gets ``cancel_requested_at`` (the first request's
        ``now``), and the forwarder cancels it at Braket; a final one stays as it is. The state it
        was in when the cancel took effect and the submission afterwards, or None if there is no
        such id (so of two cancels at once, exactly one sees ACCEPTED)."""

    def forwarded(self, now: Optional[float] = None) -> list[Submission]:
        """FORWARDED submissions (at Braket, result not yet collected), oldest first."""

    def spend_today(self, subject: str, day: str) -> float:
        """What ``subject`` was charged (estimated USD) on ``day`` (the gateway's local date)."""

    def add_spend(self, subject: str, day: str, usd: float) -> float:
        """Add to ``subject``'s spend on ``day``, durably; the day's total after it, computed in the
        same statement (so callers at the same moment, in any instance, each see another total)."""

    def release_spend(self, subject: str, day: str, usd: float) -> None:
        """Take back what ``add_spend`` added for a submission that was then refused or not stored
        (the total never goes below 0)."""

    def take_rate_token(self, subject: str, now: float, per_minute: int) -> Optional[float]:
        """None if ``subject`` may make a request now (the hit is counted); else the seconds until
        one more is allowed (for Retry-After)."""

    def record_audit_head(self, seq: int, hash: str) -> None:
        """Remember the newest audit record written (kept only if ``seq`` is higher than the stored one)."""

    def audit_head(self) -> Optional[tuple[int, str]]:
        """(seq, hash) of the newest audit record recorded, for ``audit verify --head``; None if none."""

    def audit_shipping(self) -> tuple[int, Optional[int]]:
        """(shipped_seq, pending_last_seq) of `gateway.shipping`: the last record shipped to the audit
        bucket (0 before any), and the last one of the range being shipped (None between ranges)."""

    def begin_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        """Compare-and-set (shipped_seq, None) to (shipped_seq, last_seq): this range is the next object.
        False (nothing changed) if the state is not (shipped_seq, None): another shipper moved it first."""

    def end_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        """Compare-and-set (shipped_seq, last_seq) to (last_seq, None) once the object is uploaded; False
        (nothing changed) if the state is not (shipped_seq, last_seq)."""

    def close(self) -> None:
        """Release the database; the store is not usable afterwards."""


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY,              -- insertion order: breaks ties between equal created_at
    id TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    groups TEXT NOT NULL,                 -- JSON list
    device_arn TEXT NOT NULL,
    shots INTEGER NOT NULL,
    original_sha256 TEXT NOT NULL,
    forwarded_program TEXT NOT NULL,
    forwarded_sha256 TEXT NOT NULL,
    mapping TEXT NOT NULL,                -- JSON object
    correlation_id TEXT NOT NULL,
    estimate_usd REAL NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(f"'{s}'" for s in STATES)})),
    task_arn TEXT,
    attempts INTEGER NOT NULL,
    error TEXT,
    counts TEXT,                          -- JSON object or NULL
    claimed_by TEXT,
    lease_until REAL,
    extra TEXT NOT NULL                   -- JSON object
);
CREATE INDEX IF NOT EXISTS submissions_by_state ON submissions (state, created_at, seq);
CREATE TABLE IF NOT EXISTS spend (
    subject TEXT NOT NULL,
    day TEXT NOT NULL,
    nano_usd INTEGER NOT NULL,
    PRIMARY KEY (subject, day)
);
CREATE TABLE IF NOT EXISTS rate_hits (
    subject TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_hits_by_subject ON rate_hits (subject, at);
CREATE INDEX IF NOT EXISTS rate_hits_by_time ON rate_hits (at);
CREATE TABLE IF NOT EXISTS audit_head (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_shipping (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    shipped_seq INTEGER NOT NULL,         -- the last record in the audit bucket (0: none)
    pending_last_seq INTEGER              -- the last record of the object being uploaded, or NULL
);
INSERT OR IGNORE INTO audit_shipping (one, shipped_seq, pending_last_seq) VALUES (1, 0, NULL);
"""

_COLUMNS = ("id", "subject", "groups", "device_arn", "shots", "original_sha256", "forwarded_program",
            "forwarded_sha256", "mapping", "correlation_id", "estimate_usd", "created_at", "state", "task_arn",
            "attempts", "error", "counts", "claimed_by", "lease_until", "extra", "inputs", "cancel_requested_at")
_JSON_COLUMNS = frozenset({"groups", "mapping", "counts", "extra", "inputs"})
if set(_COLUMNS) != set(Submission.__dataclass_fields__):  # a field added to the model must get its column
    raise RuntimeError(f"the submissions table does not match Submission: {sorted(set(_COLUMNS) ^ set(Submission.__dataclass_fields__))}")


def _to_row(sub: Submission) -> tuple:
    def column(name: str):
        value = getattr(sub, name)
        if name == "groups":
            value = list(value)
        return json.dumps(value, ensure_ascii=False, allow_nan=False) if name in _JSON_COLUMNS and value is not None else value

    return tuple(column(name) for name in _COLUMNS)


def _from_row(row: sqlite3.Row) -> Submission:
    values = {name: row[name] for name in _COLUMNS}
    for name in _JSON_COLUMNS:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    values["groups"] = tuple(values["groups"])
    return Submission(**values)


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not allowed: expected a positive finite number of seconds")

# Argument checks every backend makes, with the same one-line errors.
def _check_state(state: str, allowed: tuple[str, ...]) -> None:
    if state not in allowed:
        raise ValueError(f"state={state!r} is not allowed: expected one of {', '.join(allowed)}")


def _check_worker(worker: str) -> None:
    if not (isinstance(worker, str) and worker):
        raise ValueError(f"worker={worker!r} is not allowed: expected a non-empty name (host and process, say)")


def _check_usd(usd: float) -> None:
    if not (isinstance(usd, (int, float)) and not isinstance(usd, bool) and 0 <= usd <= _MAX_SPEND):
        raise ValueError(f"usd={usd!r} is not allowed: expected an amount from 0 to {_MAX_SPEND:g}")


def _check_per_minute(per_minute: int) -> None:
    if not (isinstance(per_minute, int) and not isinstance(per_minute, bool) and per_minute >= 1):
        raise ValueError(f"per_minute={per_minute!r} is not allowed: expected a whole number of at least 1")


def _check_head(seq: int, hash: str) -> None:
    if not (isinstance(seq, int) and seq >= 1 and isinstance(hash, str) and _SHA256.match(hash)):
        raise ValueError(f"audit head ({seq!r}, {hash!r}) is not allowed: expected seq >= 1 and a SHA-256 hex digest")


def _check_shipping(shipped_seq: int, last_seq: int) -> None:
    if not (all(isinstance(n, int) and not isinstance(n, bool) for n in (shipped_seq, last_seq))
            and 0 <= shipped_seq < last_seq):
        raise ValueError(f"audit shipping range ({shipped_seq!r}, {last_seq!r}) is not allowed: "
                         "expected whole numbers 0 <= shipped_seq < last_seq")


class SqliteStore:
    """`Store` on one SQLite file in WAL mode; safe from many threads and several processes on one host.

    WAL needs every process on one host and the file on a local filesystem ("WAL does not work
    over a network filesystem": https://www.sqlite.org/wal.html, Overview); several hosts share
    PostgreSQL instead.
    """

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        try:
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreError(f"database {self.path}: schema version {version} is newer than this gateway's "
                                     f"({SCHEMA_VERSION}): upgrade the gateway")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                columns = {row["name"] for row in db.execute("PRAGMA table_info(submissions)")}
                for column, definition in _ADDED_COLUMNS.items():  # missing from a new or a version-1 table
                    if column not in columns:
                        db.execute(f"ALTER TABLE submissions ADD COLUMN {column} {definition}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"database {self.path}: cannot be used ({error})") from None

    # -- connections and transactions

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise StoreError(f"database {self.path}: cannot be opened ({error})") from None
        try:
            db.row_factory = sqlite3.Row
            mode = self._journal_mode_wal(db)
            if mode != "wal":
                raise StoreError(f"database {self.path}: journal_mode is {mode!r}, WAL could not be enabled "
                                 "(expected a file on a local filesystem)")
            db.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as error:
            db.close()
            raise StoreError(f"database {self.path}: cannot be opened ({error})") from None
        except BaseException:
            db.close()
            raise
        return db

    def _journal_mode_wal(self, db: sqlite3.Connection) -> str:
        """Switch to WAL (stored in the file: a no-op once done). Changing the mode needs an exclusive
        lock that the busy timeout does not wait for, so a process opening the file while another
        creates it retries for a bounded time."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                return db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._guard:
            if self._closed:
                raise StoreError(f"database {self.path}: the store is closed")
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            yield db
        finally:
            with self._guard:
                if self._closed:
                    db.close()
                else:
                    self._idle.append(db)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding the database's write lock from its first statement."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        with self._guard:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # -- submissions

    def add_submission(self, sub: Submission) -> None:
        _check_state(sub.state, STATES)
        row = _to_row(sub)
        try:
            with self._write() as db:
                db.execute(f"INSERT INTO submissions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", row)
        except sqlite3.IntegrityError:
            raise ValueError(f"submission id {sub.id!r} already exists: ids are unique") from None

    def get(self, id: str) -> Optional[Submission]:
        with self._connection() as db:
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (id,)).fetchone()
        return _from_row(row) if row else None

    def claim(self, worker: str, now: float, lease_seconds: float) -> Optional[Submission]:
        _positive("lease_seconds", lease_seconds)
        _check_worker(worker)
        with self._write() as db:
            row = db.execute(
                "SELECT seq FROM submissions WHERE state = ? OR (state = ? AND lease_until <= ?)"
                " ORDER BY created_at, seq LIMIT 1", (ACCEPTED, FORWARDING, now)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE submissions SET state = ?, claimed_by = ?, lease_until = ?, attempts = attempts + 1"
                       " WHERE seq = ?", (FORWARDING, worker, now + lease_seconds, row["seq"]))
            # Read back rather than RETURNING: SQLite returns RETURNING values before column affinity.
            claimed = db.execute("SELECT * FROM submissions WHERE seq = ?", (row["seq"],)).fetchone()
        return _from_row(claimed)

    def mark_forwarded(self, id: str, task_arn: str, worker: str) -> bool:
        """Also after the lease ran out, as long as no other forwarder claimed the submission since:
        Braket has the task, and recording its ARN is what stops it being forwarded again."""
        with self._write() as db:
            changed = db.execute(
                "UPDATE submissions SET state = ?, task_arn = ?, lease_until = NULL"
                " WHERE id = ? AND state = ? AND claimed_by = ?", (FORWARDED, task_arn, id, FORWARDING, worker)).rowcount
        return changed == 1

    def renew(self, id: str, worker: str, now: float, lease_seconds: float) -> bool:
        _positive("lease_seconds", lease_seconds)
        with self._write() as db:
            changed = db.execute(
                "UPDATE submissions SET lease_until = ? WHERE id = ? AND state = ? AND claimed_by = ?",
                (now + lease_seconds, id, FORWARDING, worker)).rowcount
        return changed == 1

    def finish(self, id: str, state: str, *, counts: Optional[dict] = None, error: Optional[str] = None) -> bool:
        """From any state that is not final: a forwarder gives up (FAILED), a poller collects a result
        (COMPLETED), a user cancels (CANCELLED). A final state is never overwritten, so a cancel
        racing a completion leaves whichever came first."""
        _check_state(state, FINAL_STATES)
        encoded = None if counts is None else json.dumps(counts, ensure_ascii=False, allow_nan=False)
        with self._write() as db:
            changed = db.execute(
                f"UPDATE submissions SET state = ?, counts = ?, error = ?, lease_until = NULL"
                f" WHERE id = ? AND state NOT IN ({', '.join('?' * len(FINAL_STATES))})",
                (state, encoded, error, id, *FINAL_STATES)).rowcount
        return changed == 1

    def request_cancel(self, id: str, now: float) -> Optional[tuple[str, Submission]]:
        with self._write() as db:
            before = db.execute("SELECT state FROM submissions WHERE id = ?", (id,)).fetchone()
            if before is None:
                return None
            db.execute("UPDATE submissions SET state = ?, error = ?, lease_until = NULL WHERE id = ? AND state = ?",
                       (CANCELLED, CANCELLED_BEFORE_FORWARDING, id, ACCEPTED))
            db.execute("UPDATE submissions SET cancel_requested_at = coalesce(cancel_requested_at, ?)"
                       " WHERE id = ? AND state IN (?, ?)", (now, id, FORWARDING, FORWARDED))
            row = db.execute("SELECT * FROM submissions WHERE id = ?", (id,)).fetchone()
        return before["state"], _from_row(row)

    def forwarded(self, now: Optional[float] = None) -> list[Submission]:
        """``now`` is accepted for callers written against a time-aware signature and not needed:
        every FORWARDED submission is due a poll, and two pollers reading one task is harmless
        (`finish` keeps the first final state)."""
        with self._connection() as db:
            rows = db.execute("SELECT * FROM submissions WHERE state = ? ORDER BY created_at, seq", (FORWARDED,)).fetchall()
        return [_from_row(row) for row in rows]

    # -- quotas

    def spend_today(self, subject: str, day: str) -> float:
        with self._connection() as db:
            row = db.execute("SELECT nano_usd FROM spend WHERE subject = ? AND day = ?", (subject, day)).fetchone()
        return row["nano_usd"] / _NANO if row else 0.0

    def add_spend(self, subject: str, day: str, usd: float) -> float:
        _check_usd(usd)
        with self._write() as db:
            row = db.execute("INSERT INTO spend (subject, day, nano_usd) VALUES (?, ?, ?)"
                             " ON CONFLICT (subject, day) DO UPDATE SET nano_usd = nano_usd + excluded.nano_usd"
                             " RETURNING nano_usd", (subject, day, round(usd * _NANO))).fetchone()
        return row["nano_usd"] / _NANO

    def release_spend(self, subject: str, day: str, usd: float) -> None:
        _check_usd(usd)
        with self._write() as db:
            db.execute("UPDATE spend SET nano_usd = max(nano_usd - ?, 0) WHERE subject = ? AND day = ?",
                       (round(usd * _NANO), subject, day))

    # -- rate limits

    def take_rate_token(self, subject: str, now: float, per_minute: int) -> Optional[float]:
        """A hit counts while ``now < hit + 60``. When the window is full, the wait is until enough
        of its oldest hits leave it for one more to fit (the oldest one, unless ``per_minute`` was
        lowered since those hits). Refused requests are not counted, so a client that keeps
        retrying early does not lock itself out for longer. HTTP's Retry-After takes whole seconds
        (RFC 9110, section 10.2.3): round the wait up."""
        _check_per_minute(per_minute)
        window_start = now - RATE_WINDOW_SECONDS
        with self._write() as db:
            db.execute("DELETE FROM rate_hits WHERE at <= ?", (window_start,))
            count = db.execute("SELECT count(*) FROM rate_hits WHERE subject = ? AND at > ?",
                               (subject, window_start)).fetchone()[0]
            if count < per_minute:
                db.execute("INSERT INTO rate_hits (subject, at) VALUES (?, ?)", (subject, now))
                return None
            blocking = db.execute("SELECT at FROM rate_hits WHERE subject = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?",
                                  (subject, window_start, count - per_minute)).fetchone()["at"]
        return blocking + RATE_WINDOW_SECONDS - now

    # -- the audit log's head

    def record_audit_head(self, seq: int, hash: str) -> None:
        """Several gateway processes append to one audit log and record its head in any order:
        only a higher ``seq`` replaces the stored head, so it never goes back."""
        _check_head(seq, hash)
        with self._write() as db:
            db.execute("INSERT INTO audit_head (one, seq, hash) VALUES (1, ?, ?)"
                       " ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
                       " WHERE excluded.seq > audit_head.seq", (seq, hash))

    def audit_head(self) -> Optional[tuple[int, str]]:
        with self._connection() as db:
            row = db.execute("SELECT seq, hash FROM audit_head").fetchone()
        return (row["seq"], row["hash"]) if row else None

    # -- shipping the audit log (gateway.shipping)

    def audit_shipping(self) -> tuple[int, Optional[int]]:
        with self._connection() as db:
            row = db.execute("SELECT shipped_seq, pending_last_seq FROM audit_shipping WHERE one = 1").fetchone()
        return row["shipped_seq"], row["pending_last_seq"]

    def begin_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        _check_shipping(shipped_seq, last_seq)
        with self._write() as db:
            changed = db.execute("UPDATE audit_shipping SET pending_last_seq = ?"
                                 " WHERE one = 1 AND shipped_seq = ? AND pending_last_seq IS NULL",
                                 (last_seq, shipped_seq)).rowcount
        return changed == 1

    def end_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        _check_shipping(shipped_seq, last_seq)
        with self._write() as db:
            changed = db.execute("UPDATE audit_shipping SET shipped_seq = ?, pending_last_seq = NULL"
                                 " WHERE one = 1 AND shipped_seq = ? AND pending_last_seq = ?",
                                 (last_seq, shipped_seq, last_seq)).rowcount
        return changed == 1


def open_store(database: str) -> Store:
    """The backend for the configuration's ``gateway.database``: a ``postgresql://`` URL opens
    `gateway.store_postgres.PostgresStore`, for several instances sharing one database; anything
    else is a file path and opens `SqliteStore`. Errors name the database without the URL's user
    and password."""
    if database.startswith("postgresql://"):
        from .store_postgres import PostgresStore  # psycopg only where PostgreSQL is used

        return PostgresStore(database)
    return SqliteStore(database)
