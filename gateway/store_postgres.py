"""The gateway's durable state on PostgreSQL: several gateway instances, on several hosts, share one database.

The same contract as `gateway.store.SqliteStore` (`gateway.store.Store`); what several hosts need
is done by the database, each in one statement or one transaction:

- `claim` is one ``UPDATE`` whose subquery picks the oldest claimable submission with
  ``FOR UPDATE SKIP LOCKED``: a row another instance is claiming is skipped, not waited for, and
  never handed out twice (PostgreSQL, "The Locking Clause":
  https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE).
- `add_spend` is one upsert (``INSERT ... ON CONFLICT DO UPDATE``, atomic against concurrent
  inserts and updates: https://www.postgresql.org/docs/current/sql-insert.html#SQL-ON-CONFLICT).
- `take_rate_token` keeps one row per subject with the times of its hits in the last minute; the
  upsert that reads the row also locks it, so concurrent requests of one subject are counted one
  after the other, and other subjects' requests never wait for them.
- The audit chain lives in the database (`append_audit`): each record is chained to the head,
  read with ``SELECT ... FOR UPDATE`` on a one-row table, in the transaction that inserts it and
  moves the head, so appends from every instance form one chain. `export_audit` writes it as the
  JSONL file that `gateway.audit.verify` checks; `audit_records` reads a range for `gateway.shipping`,
  whose progress every instance shares through compare-and-set updates of one row.
- The schema is created on first connect (``CREATE TABLE IF NOT EXISTS``, a schema version),
  under a transaction-level advisory lock: two instances starting at once would otherwise race
  on the catalog (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS).

Tables go to the connection's current schema: point the URL's ``options=-csearch_path=...`` at a
schema of the gateway's own in a shared database. Connections come from a small bounded pool
(one per concurrent caller, reused), in autocommit mode with explicit transactions; a connection
that failed is dropped, and the next call opens a new one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Union

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from .audit import GENESIS, AuditError, chain_entry, check_range, refuse_chain_fields
from .model import ACCEPTED, CANCELLED, CANCELLED_BEFORE_FORWARDING, FINAL_STATES, FORWARDED, FORWARDING, STATES, Submission
from . import store
from .store import (
    _COLUMNS, _NANO, BUSY_SECONDS, RATE_WINDOW_SECONDS, StoreError, _check_head, _check_per_minute, _check_shipping,
    _check_state, _check_usd, _from_row, _positive, _to_row,
)

SCHEMA_VERSION = 2
"""This backend's schema version (its own: the SQLite file's is separate), kept in ``schema_version``.
1: the first; 2: submissions.inputs and cancel_requested_at, added by ``ALTER TABLE ... IF NOT
EXISTS`` to a new table and a version-1 one alike."""
MAX_CONNECTIONS = 8
"""Connections one store opens at most: a caller beyond them waits (up to `BUSY_SECONDS`). PostgreSQL
serves ``max_connections`` (100 by default) for every instance together."""
CONNECT_SECONDS = 10
_SCHEMA_LOCK = 0x6761_7465_7761_7931  # "gateway1": the advisory lock key that serializes schema creation
_EXPORT_BATCH = 1000

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS schema_version (
    one integer PRIMARY KEY CHECK (one = 1),
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order: breaks ties between equal created_at
    id text NOT NULL UNIQUE,
    subject text NOT NULL,
    groups text NOT NULL,                 -- JSON list (text, not jsonb: exactly what was stored comes back)
    device_arn text NOT NULL,
    shots bigint NOT NULL,
    original_sha256 text NOT NULL,
    forwarded_program text NOT NULL,
    forwarded_sha256 text NOT NULL,
    mapping text NOT NULL,                -- JSON object
    correlation_id text NOT NULL,
    estimate_usd double precision NOT NULL,
    created_at double precision NOT NULL,
    state text NOT NULL CHECK (state IN ({", ".join(f"'{s}'" for s in STATES)})),
    task_arn text,
    attempts integer NOT NULL,
    error text,
    counts text,                          -- JSON object or NULL
    claimed_by text,
    lease_until double precision,
    extra text NOT NULL                   -- JSON object
);
-- Version 2: input values by opaque name (JSON object), and when the owner asked to cancel (forwarding or at Braket).
ALTER TABLE submissions ADD COLUMN IF NOT EXISTS inputs text NOT NULL DEFAULT '{{}}';
ALTER TABLE submissions ADD COLUMN IF NOT EXISTS cancel_requested_at double precision;
CREATE INDEX IF NOT EXISTS submissions_by_state ON submissions (state, created_at, seq);
CREATE INDEX IF NOT EXISTS submissions_claimable ON submissions (created_at, seq)
    WHERE state IN ('{ACCEPTED}', '{FORWARDING}');
CREATE TABLE IF NOT EXISTS spend (
    subject text NOT NULL,
    day text NOT NULL,
    nano_usd bigint NOT NULL,
    PRIMARY KEY (subject, day)
);
CREATE TABLE IF NOT EXISTS rate_windows (
    subject text PRIMARY KEY,
    hits double precision[] NOT NULL      -- the subject's hits still in the window, oldest first
);
CREATE TABLE IF NOT EXISTS audit_head (
    one integer PRIMARY KEY CHECK (one = 1),
    seq bigint NOT NULL,                  -- 0 (and hash GENESIS) before the first record
    hash text NOT NULL
);
INSERT INTO audit_head (one, seq, hash) VALUES (1, 0, '{GENESIS}') ON CONFLICT (one) DO NOTHING;
CREATE TABLE IF NOT EXISTS audit_log (
    seq bigint PRIMARY KEY,
    hash text NOT NULL,
    line text NOT NULL                    -- the record's canonical JSON, exactly as hashed and exported
);
CREATE TABLE IF NOT EXISTS audit_shipping (
    one integer PRIMARY KEY CHECK (one = 1),
    shipped_seq bigint NOT NULL,          -- the last record in the audit bucket (0: none)
    pending_last_seq bigint               -- the last record of the object being uploaded, or NULL
);
INSERT INTO audit_shipping (one, shipped_seq, pending_last_seq) VALUES (1, 0, NULL) ON CONFLICT (one) DO NOTHING
"""


def describe(dsn: str) -> str:
    """The database a connection URL names, without user or password: ``postgresql://HOST:PORT/DBNAME``.
    Error messages name it this way (a URL may hold a password)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        # libpq's message may quote the string, password and all: it is not repeated.
        raise StoreError("gateway.database is not a valid PostgreSQL connection URL: expected "
                         "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE") from None
    host = params.get("host") or params.get("hostaddr") or "localhost"
    return f"postgresql://{host}:{params.get('port') or 5432}/{params.get('dbname') or params.get('user') or ''}"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _no_nul(name: str, value: Optional[str]) -> None:
    """PostgreSQL text cannot hold U+0000 (https://www.postgresql.org/docs/current/datatype-character.html);
    SQLite can. Refused in one line rather than a driver error; JSON columns escape it and need no check."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{name}={value!r} is not allowed: PostgreSQL text cannot hold NUL (U+0000) characters")


def _check_worker(worker: str) -> None:
    store._check_worker(worker)
    _no_nul("worker", worker)


class PostgresStore:
    """`gateway.store.Store` on a PostgreSQL database, shared by any number of gateway processes and hosts;
    plus the audit chain in the database (`append_audit`, `export_audit`)."""

    def __init__(self, dsn: str, *, max_connections: int = MAX_CONNECTIONS) -> None:
        if not (isinstance(max_connections, int) and max_connections >= 1):
            raise ValueError(f"max_connections={max_connections!r} is not allowed: expected a whole number of at least 1")
        self.where = describe(dsn)
        self._dsn = dsn
        self._idle: list[psycopg.Connection] = []
        self._guard = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            statements = [s for s in _SCHEMA.split(";") if s.strip()]
            db.execute(statements[0])  # schema_version first: what else exists depends on it
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row and row["version"] > SCHEMA_VERSION:
                raise StoreError(f"database {self.where}: schema version {row['version']} is newer than this gateway's "
                                 f"({SCHEMA_VERSION}): upgrade the gateway")
            for statement in statements[1:]:
                db.execute(statement)
            db.execute("INSERT INTO schema_version (one, version) VALUES (1, %s)"
                       " ON CONFLICT (one) DO UPDATE SET version = excluded.version", (SCHEMA_VERSION,))

    # -- connections and transactions

    def _connect(self) -> psycopg.Connection:
        try:
            db = psycopg.connect(self._dsn, autocommit=True, connect_timeout=CONNECT_SECONDS, row_factory=dict_row)
        except psycopg.Error as error:
            raise StoreError(f"database {self.where}: cannot be opened ({_one_line(error)})") from None
        try:
            # A lock held by a stuck instance fails a statement after a while instead of hanging it.
            db.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(BUSY_SECONDS * 1000)}ms")))
        except psycopg.Error as error:
            db.close()
            raise StoreError(f"database {self.where}: cannot be opened ({_one_line(error)})") from None
        return db

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A connection for one caller, at most ``max_connections`` at once. Database failures come out as
        `StoreError` in one line (a connection that failed is dropped, and the next caller opens a new
        one: no call is retried, since a write whose answer was lost may have committed); a value the
        database refuses, as ``ValueError``."""
        if not self._slots.acquire(timeout=BUSY_SECONDS):
            raise StoreError(f"database {self.where}: all connections stayed busy for {BUSY_SECONDS:g} s")
        try:
            with self._guard:
                if self._closed:
                    raise StoreError(f"database {self.where}: the store is closed")
                db = self._idle.pop() if self._idle else None
            if db is None:
                db = self._connect()
            broken = False
            try:
                yield db
            except psycopg.DataError as error:  # a value the database cannot take
                raise ValueError(f"value is not allowed in {self.where}: {_one_line(error)}") from None
            except psycopg.Error as error:
                broken = isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError))
                raise StoreError(f"database {self.where}: {_one_line(error)}") from None
            finally:
                reusable = not broken and not db.closed and db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                with self._guard:
                    if reusable and not self._closed:
                        self._idle.append(db)
                    else:
                        db.close()
        finally:
            self._slots.release()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._connection() as db:
            with db.transaction():
                yield db

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
        for name, value in zip(_COLUMNS, row):
            _no_nul(name, value)
        columns = sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))
        with self._connection() as db:
            inserted = db.execute(
                sql.SQL("INSERT INTO submissions ({}) VALUES ({}) ON CONFLICT (id) DO NOTHING RETURNING seq").format(
                    columns, sql.SQL(", ").join(sql.Placeholder() * len(_COLUMNS))), row).fetchone()
        if inserted is None:
            raise ValueError(f"submission id {sub.id!r} already exists: ids are unique")

    def get(self, id: str) -> Optional[Submission]:
        if "\x00" in id:  # cannot be stored here, so is not
            return None
        with self._connection() as db:
            row = db.execute("SELECT * FROM submissions WHERE id = %s", (id,)).fetchone()
        return _from_row(row) if row else None

    def claim(self, worker: str, now: float, lease_seconds: float) -> Optional[Submission]:
        _positive("lease_seconds", lease_seconds)
        _check_worker(worker)
        with self._connection() as db:
            row = db.execute(
                "UPDATE submissions SET state = %(forwarding)s, claimed_by = %(worker)s, lease_until = %(until)s,"
                "       attempts = attempts + 1"
                " WHERE seq = (SELECT seq FROM submissions"
                "               WHERE state = %(accepted)s OR (state = %(forwarding)s AND lease_until <= %(now)s)"
                "               ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
                " RETURNING *",
                {"forwarding": FORWARDING, "accepted": ACCEPTED, "worker": worker, "now": now,
                 "until": now + lease_seconds}).fetchone()
        return _from_row(row) if row else None

    def mark_forwarded(self, id: str, task_arn: str, worker: str) -> bool:
        """Also after the lease ran out, as long as no other forwarder claimed the submission since:
        Braket has the task, and recording its ARN is what stops it being forwarded again."""
        _no_nul("task_arn", task_arn)
        if "\x00" in id or "\x00" in worker:
            return False
        with self._connection() as db:
            changed = db.execute(
                "UPDATE submissions SET state = %s, task_arn = %s, lease_until = NULL"
                " WHERE id = %s AND state = %s AND claimed_by = %s", (FORWARDED, task_arn, id, FORWARDING, worker)).rowcount
        return changed == 1

    def renew(self, id: str, worker: str, now: float, lease_seconds: float) -> bool:
        _positive("lease_seconds", lease_seconds)
        if "\x00" in id or "\x00" in worker:
            return False
        with self._connection() as db:
            changed = db.execute(
                "UPDATE submissions SET lease_until = %s WHERE id = %s AND state = %s AND claimed_by = %s",
                (now + lease_seconds, id, FORWARDING, worker)).rowcount
        return changed == 1

    def finish(self, id: str, state: str, *, counts: Optional[dict] = None, error: Optional[str] = None) -> bool:
        """From any state that is not final; a final state is never overwritten (the first one stays)."""
        _check_state(state, FINAL_STATES)
        _no_nul("error", error)
        if "\x00" in id:
            return False
        encoded = None if counts is None else json.dumps(counts, ensure_ascii=False, allow_nan=False)
        with self._connection() as db:
            changed = db.execute(
                "UPDATE submissions SET state = %s, counts = %s, error = %s, lease_until = NULL"
                " WHERE id = %s AND state <> ALL(%s)", (state, encoded, error, id, list(FINAL_STATES))).rowcount
        return changed == 1

    def request_cancel(self, id: str, now: float) -> Optional[tuple[str, Submission]]:
        if "\x00" in id:
            return None
        with self._transaction() as db:
            before = db.execute("SELECT state FROM submissions WHERE id = %s FOR UPDATE", (id,)).fetchone()
            if before is None:
                return None
            db.execute("UPDATE submissions SET state = %s, error = %s, lease_until = NULL WHERE id = %s AND state = %s",
                       (CANCELLED, CANCELLED_BEFORE_FORWARDING, id, ACCEPTED))
            db.execute("UPDATE submissions SET cancel_requested_at = coalesce(cancel_requested_at, %s)"
                       " WHERE id = %s AND state IN (%s, %s)", (now, id, FORWARDING, FORWARDED))
            row = db.execute("SELECT * FROM submissions WHERE id = %s", (id,)).fetchone()
        return before["state"], _from_row(row)

    def forwarded(self, now: Optional[float] = None) -> list[Submission]:
        """``now`` is not needed: every FORWARDED submission is due a poll (see `SqliteStore.forwarded`)."""
        with self._connection() as db:
            rows = db.execute("SELECT * FROM submissions WHERE state = %s ORDER BY created_at, seq", (FORWARDED,)).fetchall()
        return [_from_row(row) for row in rows]

    # -- quotas

    def spend_today(self, subject: str, day: str) -> float:
        if "\x00" in subject or "\x00" in day:
            return 0.0
        with self._connection() as db:
            row = db.execute("SELECT nano_usd FROM spend WHERE subject = %s AND day = %s", (subject, day)).fetchone()
        return row["nano_usd"] / _NANO if row else 0.0

    def add_spend(self, subject: str, day: str, usd: float) -> float:
        _check_usd(usd)
        _no_nul("subject", subject)
        _no_nul("day", day)
        with self._connection() as db:
            row = db.execute("INSERT INTO spend (subject, day, nano_usd) VALUES (%s, %s, %s)"
                             " ON CONFLICT (subject, day) DO UPDATE SET nano_usd = spend.nano_usd + excluded.nano_usd"
                             " RETURNING nano_usd", (subject, day, round(usd * _NANO))).fetchone()
        return row["nano_usd"] / _NANO

    def release_spend(self, subject: str, day: str, usd: float) -> None:
        _check_usd(usd)
        if "\x00" in subject or "\x00" in day:
            return
        with self._connection() as db:
            db.execute("UPDATE spend SET nano_usd = GREATEST(nano_usd - %s, 0) WHERE subject = %s AND day = %s",
                       (round(usd * _NANO), subject, day))

    # -- rate limits

    def take_rate_token(self, subject: str, now: float, per_minute: int) -> Optional[float]:
        """A hit counts while ``now < hit + 60``; refused requests are not counted; the wait is until
        enough of the window's oldest hits leave it for one more to fit (`SqliteStore.take_rate_token`)."""
        _check_per_minute(per_minute)
        _no_nul("subject", subject)
        window_start = now - RATE_WINDOW_SECONDS
        with self._transaction() as db:
            # The upsert creates the subject's row or locks the existing one, and reads it: until the
            # commit, the subject's other requests (from any instance) wait here, one at a time.
            stored = db.execute(
                "INSERT INTO rate_windows (subject, hits) VALUES (%s, '{}') ON CONFLICT (subject)"
                " DO UPDATE SET subject = excluded.subject RETURNING hits", (subject,)).fetchone()["hits"]
            live = sorted(hit for hit in stored if hit > window_start)
            if len(live) >= per_minute:
                return live[len(live) - per_minute] + RATE_WINDOW_SECONDS - now
            db.execute("UPDATE rate_windows SET hits = %s::double precision[] WHERE subject = %s", (live + [now], subject))
        return None

    # -- the audit chain and its head

    def record_audit_head(self, seq: int, hash: str) -> None:
        """For a chain kept in a file (`gateway.audit.AuditLog`): only a higher ``seq`` replaces the
        stored head. `append_audit` keeps the head itself, and refuses to chain to a head recorded here."""
        _check_head(seq, hash)
        with self._connection() as db:
            db.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE one = 1 AND seq < %s", (seq, hash, seq))

    def audit_head(self) -> Optional[tuple[int, str]]:
        with self._connection() as db:
            row = db.execute("SELECT seq, hash FROM audit_head WHERE one = 1").fetchone()
        return (row["seq"], row["hash"]) if row and row["seq"] else None

    def audit_shipping(self) -> tuple[int, Optional[int]]:
        with self._connection() as db:
            row = db.execute("SELECT shipped_seq, pending_last_seq FROM audit_shipping WHERE one = 1").fetchone()
        return row["shipped_seq"], row["pending_last_seq"]

    def begin_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        """One conditional UPDATE: of two instances reading the same state, exactly one sets its range."""
        _check_shipping(shipped_seq, last_seq)
        with self._connection() as db:
            changed = db.execute("UPDATE audit_shipping SET pending_last_seq = %s"
                                 " WHERE one = 1 AND shipped_seq = %s AND pending_last_seq IS NULL",
                                 (last_seq, shipped_seq)).rowcount
        return changed == 1

    def end_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        _check_shipping(shipped_seq, last_seq)
        with self._connection() as db:
            changed = db.execute("UPDATE audit_shipping SET shipped_seq = %s, pending_last_seq = NULL"
                                 " WHERE one = 1 AND shipped_seq = %s AND pending_last_seq = %s",
                                 (last_seq, shipped_seq, last_seq)).rowcount
        return changed == 1

    def append_audit(self, record: dict) -> dict:
        """Chain ``record`` to the database's audit chain and store it, in one transaction; returns the
        stored record (with ``seq``, ``time``, ``prev``, ``hash``, built by `gateway.audit.chain_entry`).

        The head row is locked (``SELECT ... FOR UPDATE``) for the transaction, so appends from every
        process and host are serialized and commit in ``seq`` order. ``time`` is the database server's
        clock, read under that lock: the records' times follow their order whatever the instances'
        clocks say. ``ValueError`` for a record that cannot be written; `AuditError` when the chain
        cannot be (the gateway then refuses decisions it cannot record)."""
        refuse_chain_fields(record)
        try:
            with self._transaction() as db:
                head = db.execute("SELECT seq, hash, extract(epoch FROM clock_timestamp()) AS now"
                                  " FROM audit_head WHERE one = 1 FOR UPDATE").fetchone()
                if head["seq"]:
                    last = db.execute("SELECT hash FROM audit_log WHERE seq = %s", (head["seq"],)).fetchone()
                    if last is None or last["hash"] != head["hash"]:
                        raise AuditError(
                            f"audit chain in {self.where}: the head (seq {head['seq']}) is not the chain's last record "
                            "(a file log's head was recorded in this database, or records were removed): refusing to chain to it")
                entry, line = chain_entry(record, head["seq"] + 1, head["hash"], float(head["now"]))
                db.execute("INSERT INTO audit_log (seq, hash, line) VALUES (%s, %s, %s)",
                           (entry["seq"], entry["hash"], line.decode("utf-8").rstrip("\n")))
                db.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE one = 1", (entry["seq"], entry["hash"]))
        except StoreError as error:
            raise AuditError(f"audit chain in {self.where}: cannot be written ({error})") from None
        return entry

    def audit_lines(self, after_seq: int = 0, up_to: Optional[int] = None) -> Iterator[str]:
        """The chain's records after ``after_seq``, in order, one JSONL line each (with its newline),
        up to ``up_to`` or else the head when the call started; read in batches (one short query each)."""
        if up_to is None:
            head = self.audit_head()
            up_to = head[0] if head else 0
        end = up_to
        position = after_seq
        for _ in range(math.ceil(max(0, end - position) / _EXPORT_BATCH)):  # bounded by the head read above
            with self._connection() as db:
                rows = db.execute("SELECT seq, line FROM audit_log WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                                  (position, end, _EXPORT_BATCH)).fetchall()
            if not rows:
                break
            for row in rows:
                yield row["line"] + "\n"
            position = rows[-1]["seq"]

    def audit_records(self, first: int, last: int) -> list[str]:
        """Records ``first``..``last`` as JSONL lines (with their newlines), for `gateway.audit.AuditTrail.lines`;
        `AuditError` if any is not in the chain (the shipper then uploads nothing)."""
        check_range(first, last)
        lines = list(self.audit_lines(first - 1, last))
        if len(lines) != last - first + 1:
            raise AuditError(f"audit chain in {self.where}: records {first}-{last} were asked for, "
                             f"{len(lines)} are stored: the chain ends before {last} or records were removed")
        return lines

    def export_audit(self, path: Union[str, Path]) -> int:
        """Write the whole chain to ``path`` as the JSONL file `gateway.audit.verify` checks (replacing
        it atomically: a reader sees the old file or the new one); returns the number of records.
        Check it against the head read before the export: ``verify(path, head=store.audit_head()[1])``."""
        path = Path(path)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        count = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for line in self.audit_lines():
                    out.write(line.encode("utf-8"))
                    count += 1
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o640)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return count
