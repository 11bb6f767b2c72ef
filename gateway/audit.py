"""The audit log: one JSON line per decision, each chained to the one before by SHA-256.

Every record carries ``seq`` (1, 2, ...), ``time`` (UTC), ``prev`` (the previous record's
``hash``; 64 zeros for the first) and ``hash``: the SHA-256 of the record's canonical JSON
without ``hash`` (keys sorted, no spaces, UTF-8). Editing, dropping or reordering a record
breaks the chain at that line, which `verify` reports (``python -m gateway audit verify FILE``,
or a directory of the objects `gateway.shipping` uploaded, verified as their concatenation).

The chain is not keyed: someone who may write the file can rewrite a record and every hash
after it. What catches that, and a log cut short at its end, is a head kept elsewhere, out of
that person's reach: the gateway records each new head in its database (`Store.record_audit_head`)
and the log can be shipped to an S3 bucket with Object Lock; `verify(path, head=...)` checks it.

What goes in a record is `audit_record`'s shape; no program text unless the caller passes it
(``audit_program_text`` in the configuration).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

from .model import FINAL_STATES, Principal, Submission

GENESIS = "0" * 64
"""The ``prev`` of the first record."""
CHAIN_FIELDS = ("seq", "time", "prev", "hash")
"""Set by `AuditLog.append`; a caller's record may not carry them."""
EVENTS = ("decision", "forwarded", "finished", "cancel", "cancel_sent")
"""decision: a submission was allowed, denied by policy or rejected as invalid or over a limit;
forwarded: Braket accepted the task (``task_arn``); finished: it reached a final ``state``;
cancel: its owner asked to cancel it (``state``: where it stood then, CANCELLED if never sent);
cancel_sent: the forwarder cancelled it at Braket (``state``: what Braket answered)."""
DECISIONS = ("allow", "deny", "reject")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 65536
_SHOWN_PROBLEMS = 10
_log = logging.getLogger(__name__)


class AuditError(Exception):
    """The log cannot be appended to (one line: which file and why). The gateway stops accepting
    submissions rather than take decisions it cannot record."""


def canonical_json(record: dict) -> str:
    """The one serialization that is hashed and written: keys sorted by code point, no whitespace,
    text as UTF-8 (not \\u escapes), numbers as Python writes them, NaN and infinities refused.
    Close to, but not, RFC 8785 (JCS): a verifier in another language must serialize the same way."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record: dict) -> str:
    """SHA-256 (FIPS 180-4) hex digest of the canonical JSON of ``record`` without its ``hash``."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


RECORD_FIELDS = (
    "event", "subject", "groups", "auth_method", "decision", "rules", "reason", "errors", "task_id", "device_arn",
    "shots", "estimate_usd", "original_sha256", "forwarded_sha256", "correlation_id", "task_arn", "state", "error",
    "program",
)


def audit_record(
    event: str,
    *,
    principal: Optional[Principal] = None,
    submission: Optional[Submission] = None,
    decision: Optional[str] = None,
    rules: Sequence[str] = (),
    reason: Optional[str] = None,
    **fields,
) -> dict:
    """The record of one event, in the one shape every audit line has (absent values are null).

    - ``event``: one of `EVENTS`.
    - who: ``subject``, ``groups``, ``auth_method`` ("mtls", "oidc", "token"), from ``principal``
      or ``submission``.
    - ``decision`` ("allow", "deny", "reject"; required for a "decision" event), ``rules`` (the ids
      of the Cedar policies that decided, as Cedar's diagnostics name them, or the limit that
      rejected, e.g. "limits.max_shots"), ``reason`` (the one line the caller was given) and
      ``errors`` (policy evaluation errors, which make Cedar deny).
    - what: ``task_id`` (the gateway's id), ``device_arn``, ``shots``, ``estimate_usd``,
      ``original_sha256`` and ``forwarded_sha256`` (SHA-256 of the program as received and as
      forwarded), ``correlation_id`` (the one tag that leaves), ``task_arn`` (Braket's),
      ``state`` and ``error`` (a "finished" event's final state and failure reason).
    - ``program``: the user's program text, only when the caller passes it.

    Values come from ``submission`` when given; keyword arguments override them.
    """
    if event not in EVENTS:
        raise ValueError(f"event={event!r} is not allowed: expected one of {', '.join(EVENTS)}")
    if (decision is not None or event == "decision") and decision not in DECISIONS:
        raise ValueError(f"decision={decision!r} is not allowed: expected one of {', '.join(DECISIONS)}")
    record: dict = {name: None for name in RECORD_FIELDS}
    record.update(event=event, decision=decision, rules=list(rules), reason=reason)
    if submission is not None:
        record.update(
            subject=submission.subject, groups=list(submission.groups), task_id=submission.id,
            device_arn=submission.device_arn, shots=submission.shots, estimate_usd=submission.estimate_usd,
            original_sha256=submission.original_sha256, forwarded_sha256=submission.forwarded_sha256,
            correlation_id=submission.correlation_id, task_arn=submission.task_arn, state=submission.state,
        )
    if principal is not None:
        record.update(subject=principal.subject, groups=list(principal.groups), auth_method=principal.method or None)
    unknown = sorted(set(fields) - set(RECORD_FIELDS))
    if unknown:
        raise ValueError(f"audit field {unknown[0]!r} is not allowed: expected one of {', '.join(RECORD_FIELDS)}")
    record.update(fields)
    for name in ("groups", "errors"):  # tuples and sets as JSON lists
        if fields.get(name) is not None:
            record[name] = list(fields[name])
    for name in ("original_sha256", "forwarded_sha256"):
        if record[name] is not None and not (isinstance(record[name], str) and _SHA256.match(record[name])):
            raise ValueError(f"{name}={record[name]!r} is not allowed: expected 64 lowercase hex digits")
    if event == "finished" and record["state"] not in FINAL_STATES:
        raise ValueError(f"state={record['state']!r} is not allowed for a finished event: expected one of {', '.join(FINAL_STATES)}")
    if record["program"] is None:
        del record["program"]  # absent, not null: a reader sees at a glance that no program text was kept
    return record


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def refuse_chain_fields(record: dict) -> None:
    """``ValueError`` for a caller's record that carries a field the chain sets."""
    reserved = sorted(set(record) & set(CHAIN_FIELDS))
    if reserved:
        raise ValueError(f"audit record field {reserved[0]!r} is not allowed: the log sets {', '.join(CHAIN_FIELDS)}")


def check_range(first: int, last: int) -> None:
    """``ValueError`` unless records ``first``..``last`` can exist: whole numbers, 1 <= first <= last."""
    if not (all(isinstance(n, int) and not isinstance(n, bool) for n in (first, last)) and 1 <= first <= last):
        raise ValueError(f"audit records {first!r}-{last!r} are not allowed: expected whole numbers 1 <= first <= last")


def chain_entry(record: dict, seq: int, prev: str, seconds: float) -> tuple[dict, bytes]:
    """``record`` as the chain's record ``seq``, after the record whose hash is ``prev``, written at
    ``seconds`` (since the epoch): the record with its chain fields, and its line (UTF-8, with the
    newline). Every writer of a chain builds its records here: the JSONL file (`AuditLog`) and a
    database that keeps the chain itself (`gateway.store_postgres.PostgresStore.append_audit`).
    ``ValueError`` for a record holding values that are not JSON."""
    entry = {**record, "seq": seq, "time": _utc(seconds), "prev": prev}
    try:
        entry["hash"] = record_hash(entry)
        line = (canonical_json(entry) + "\n").encode("utf-8")
    except (TypeError, ValueError) as error:  # UnicodeEncodeError (lone surrogates) is a ValueError
        raise ValueError(f"audit record is not allowed: expected JSON values only ({error})") from None
    return entry, line


class AuditLog:
    """An append-only JSONL file; `append` is safe from many threads and several processes.

    Appends hold an exclusive ``flock`` on the file while they read the last record and write
    the next, so two gateway processes sharing one file keep one chain (flock(2): the lock is
    advisory, every writer must take it, and it does not work across hosts on NFS).
    """

    def __init__(self, path: Union[str, Path], *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()  # threads of one process queue here instead of on the file
        self._read_lock = threading.Lock()  # readers do not queue behind appends, nor appends behind them
        self._next = (1, 0)  # the seq of the next record `lines` reads, and its byte offset

    def append(self, record: dict) -> dict:
        """Write ``record`` with its chain fields, flushed and fsynced; returns the written record.
        Raises ``ValueError`` for a record that cannot be written and `AuditError` when the log cannot."""
        refuse_chain_fields(record)
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
            except OSError as error:
                raise AuditError(f"audit log {self.path}: cannot be opened ({error.strerror or error})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                created = os.fstat(fd).st_size == 0
                seq, prev = self._last(fd)
                entry, line = chain_entry(record, seq + 1, prev, self._clock())
                _write_all(fd, line)
                os.fsync(fd)
                if created:
                    _fsync_directory(self.path.parent)
            except OSError as error:
                raise AuditError(f"audit log {self.path}: cannot be written ({error.strerror or error})") from None
            finally:
                os.close(fd)  # releases the flock
        return entry

    def lines(self, first: int, last: int) -> list[bytes]:
        """Records ``first``..``last`` exactly as written (each line with its newline), for shipping.

        Only records already appended (at most the head the store recorded) are asked for, so the
        lines read are complete and fsynced, and no lock is taken: appends never wait for a reader.
        The offset after the last record read is kept in memory, so consecutive ranges read each
        line once; a range before it (and every range after a restart) is read from the start.
        `AuditError` if the file does not hold those records, line after line."""
        check_range(first, last)
        with self._read_lock:
            seq, offset = self._next if first >= self._next[0] else (1, 0)
            found: list[bytes] = []
            try:
                with open(self.path, "rb") as file:
                    file.seek(offset)
                    while seq <= last:
                        line = file.readline()
                        record = _record_or_none(line) if line.endswith(b"\n") else None
                        if record is None or record["seq"] != seq:
                            raise AuditError(f"audit log {self.path}: byte {offset} does not start record {seq}: "
                                             f"records {first}-{last} cannot be read (run `python -m gateway audit verify {self.path}`)")
                        if seq >= first:
                            found.append(line)
                        seq, offset = seq + 1, offset + len(line)
            except OSError as error:
                raise AuditError(f"audit log {self.path}: cannot be read ({error.strerror or error})") from None
            self._next = (seq, offset)
        return found

    def _last(self, fd: int) -> tuple[int, str]:
        """(seq, hash) of the last record, under the lock. A last line without its newline is a write
        torn by a crash: the append never returned, so nobody relied on it; it is removed (or, if it is
        a whole record that only lost its newline, completed) before the next record is chained."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, GENESIS
        start, line = _last_line(fd, size)
        if not line.endswith(b"\n"):
            if _record_or_none(line) is not None:
                _write_all(fd, b"\n")
            else:
                _log.warning("audit log %s: removing a torn last line (%d bytes) left by a crash", self.path, len(line))
                os.ftruncate(fd, start)
                os.fsync(fd)
                return self._last(fd)
        record = _record_or_none(line)
        if record is None:
            raise AuditError(f"audit log {self.path}: the last line is not an audit record: refusing to chain to it "
                             f"(run `python -m gateway audit verify {self.path}`)")
        return record["seq"], record["hash"]


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _fsync_directory(directory: Path) -> None:
    """A new file's name is durable only once its directory is synced (fsync(2))."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_line(fd: int, size: int) -> tuple[int, bytes]:
    """The offset and bytes of the file's last line (with its newline, if it has one), read backwards."""
    tail = b""
    position = size
    while position > 0:
        step = min(_CHUNK, position)
        position -= step
        tail = os.pread(fd, step, position) + tail
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return position + cut + 1, tail[cut + 1:]
    return 0, tail


def _record_or_none(line: bytes) -> Optional[dict]:
    """The record on ``line`` if it is a JSON object with well-formed chain fields (its hash unchecked)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        return None
    if not isinstance(record, dict):
        return None
    seq = record.get("seq")
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1 and isinstance(record.get("time"), str)):
        return None
    if not all(isinstance(record.get(k), str) and _SHA256.match(record[k]) for k in ("prev", "hash")):
        return None
    return record


@dataclass
class Verification:
    """What `check` found: the problems (each naming its line), the records read and the head."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    head: str = GENESIS
    head_seq: int = 0


class _Lines:
    """The lines of a log file; or, for a directory, of its ``*.jsonl`` files in name order: the objects
    `gateway.shipping` uploaded (``<first seq>-<last seq>.jsonl``, zero-padded) as downloaded, one chain
    when put end to end. `where` names a line for a problem: "line N" for a file, and for a directory
    also the object and its own line, which is what an operator looks at."""

    def __init__(self, path: Union[str, Path]) -> None:
        path = Path(path)
        self.files = [path]
        self._directory = path.is_dir()
        if self._directory:
            self.files = sorted((f for f in path.glob("*.jsonl") if f.is_file()), key=lambda f: f.name)
            if not self.files:
                raise FileNotFoundError(errno.ENOENT, "a directory without *.jsonl files", str(path))
        self._starts: list[tuple[int, str]] = []  # (line number of a file's first line, its name)

    def __iter__(self) -> Iterator[bytes]:
        number = 0
        for path in self.files:
            with open(path, "rb") as lines:
                self._starts.append((number + 1, path.name))
                for line in lines:
                    number += 1
                    yield line

    def where(self, number: int) -> str:
        if not self._directory or number == 0:
            return f"line {number}"
        start, name = next((s, n) for s, n in reversed(self._starts) if s <= number)
        return f"line {number} ({name} line {number - start + 1})"


def check(path: Union[str, Path], head: Optional[str] = None) -> Verification:
    """`verify` with the count of records and the last hash; ``OSError`` if the file cannot be read."""
    if head is not None and not (isinstance(head, str) and _SHA256.match(head)):
        raise ValueError(f"head={head!r} is not allowed: expected a SHA-256 hex digest (64 lowercase hex digits)")
    result = Verification()
    lines = _Lines(path)
    where = lines.where
    # The last readable record and its line (line 0: before the file, where the chain starts).
    anchor_seq, anchor_hash, anchor_line = 0, GENESIS, 0
    head_found = False
    number = 0
    for number, line in enumerate(lines, 1):
        if not line.endswith(b"\n"):
            result.problems.append(f"{where(number)}: no line end: a write torn by a crash, or the file was cut here")
        record = _record_or_none(line)
        if record is None:
            result.problems.append(f"{where(number)}: {_unreadable(line)}")
            continue
        result.records += 1
        seq = record["seq"]
        if record_hash(record) != record["hash"]:
            result.problems.append(f"{where(number)}: seq {seq}: the hash does not match the content: the record was edited")
        # Every line held one record (a torn last line is removed before the next append), so
        # unreadable lines in between still count towards the seq expected here.
        expected = anchor_seq + (number - anchor_line)
        adjacent = anchor_line == number - 1
        if seq != expected:
            what = "records are missing" if seq > expected else "records are out of order or repeated"
            after = ("the log starts there" if anchor_line == 0 and adjacent
                     else f"{where(anchor_line)} has seq {anchor_seq}" if adjacent
                     else f"{where(anchor_line)} has seq {anchor_seq} and the lines between are unreadable")
            result.problems.append(f"{where(number)}: seq {seq} where seq {expected} was expected ({after}): {what}")
        elif adjacent and record["prev"] != anchor_hash:
            before = "64 zeros (the start of the chain)" if anchor_line == 0 else f"the hash of {where(anchor_line)}"
            result.problems.append(f"{where(number)}: seq {seq}: prev is not {before}: a record was replaced")
        head_found = head_found or record["hash"] == head
        anchor_seq, anchor_hash, anchor_line = seq, record["hash"], number
        result.head, result.head_seq = anchor_hash, seq
    if head is not None and head != GENESIS and not head_found:
        result.problems.append(f"end of file (after {where(number)}): the expected head {head} is not the hash of any "
                               "record: the log was cut short at its end or rewritten")
    return result


def _unreadable(line: bytes) -> str:
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8: a garbled line"
    except ValueError:
        return "not JSON: a truncated or garbled line"
    return "not an audit record: expected a JSON object with seq, time, prev and hash" if not isinstance(value, dict) \
        else "not an audit record: seq, time, prev or hash missing or malformed"


def verify(path: Union[str, Path], head: Optional[str] = None) -> list[str]:
    """The problems of the log at ``path``, each naming its line; [] when the chain is intact.

    Detects an edited record (its hash), a dropped, added or reordered record (seq and prev do
    not follow the line before), a line cut short or garbled anywhere, a line that is not JSON.
    Records cut off the END of the file leave a shorter chain that is still valid: the file alone
    cannot show it. Pass ``head``, the last hash the gateway recorded elsewhere (`Store.audit_head`,
    the shipped copy), and a log that no longer contains that record is reported; so is a log
    rewritten from some record on with recomputed hashes. Records after the head are fine (the
    gateway may have stopped between writing a record and recording it). ``OSError`` if the file
    cannot be read.
    """
    return check(path, head).problems


def verify_command(path: Union[str, Path], head: Optional[str] = None) -> int:
    """``python -m gateway audit verify FILE|DIR``: one line "audit log OK: N records, head H" and 0;
    the problems (the first ten) and 1; one line on stderr and 2 if the file cannot be read (or the
    directory holds no ``*.jsonl`` file). A directory is the shipped objects, downloaded, e.g. with
    ``aws s3 cp s3://BUCKET/audit/ENV/ DIR --recursive``: their concatenation in name order is checked."""
    try:
        result = check(path, head)
    except OSError as error:
        print(f"error: audit log {path}: cannot be read ({error.strerror or error})", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not result.problems:
        print(f"audit log OK: {result.records} records, head {result.head}")
        return 0
    count = len(result.problems)
    print(f"audit log BROKEN: {count} problem{'' if count == 1 else 's'} in {path}")
    for problem in result.problems[:_SHOWN_PROBLEMS]:
        print(f"  {problem}")
    if len(result.problems) > _SHOWN_PROBLEMS:
        print(f"  ... and {len(result.problems) - _SHOWN_PROBLEMS} more")
    return 1


class AuditTrail:
    """The audit log and the store together, in one of two ways:

    - The store keeps the chain itself (it has ``append_audit``: `gateway.store_postgres.PostgresStore`,
      for several gateway instances on several hosts, where the file's flock serializes nothing):
      each record is chained and stored, and the chain's head moved, in one database transaction.
      ``log`` is not written (each instance's file would hold only its own records, a broken chain);
      ``PostgresStore.export_audit`` writes the JSONL file that `verify` checks.
    - Otherwise (`gateway.store.SqliteStore`, one host): records go to the JSONL ``log`` and every
      append also records the chain's head in the store (``Store.record_audit_head``), so `verify`
      can tell a log cut short or with a rewritten tail.
    """

    def __init__(self, log: Optional[AuditLog], store) -> None:
        self.log = log
        self._store = store
        self._append_to_store = getattr(store, "append_audit", None)
        self._read_from_store = getattr(store, "audit_records", None) if self._append_to_store else None
        if self._append_to_store is None and log is None:
            raise ValueError("log=None is not allowed with a store that does not keep the audit chain: expected an AuditLog")

    def append(self, record: dict) -> dict:
        if self._append_to_store is not None:
            return self._append_to_store(record)
        entry = self.log.append(record)
        self._store.record_audit_head(entry["seq"], entry["hash"])
        return entry

    def lines(self, first: int, last: int) -> list[bytes]:
        """Records ``first``..``last`` (at most the store's ``audit_head``), each its JSONL line with the
        newline, byte for byte as `verify` reads them, from wherever the chain is kept: what
        `gateway.shipping` uploads, without caring which. `AuditError` if they cannot be read."""
        if self._read_from_store is not None:
            return [line.encode("utf-8") for line in self._read_from_store(first, last)]
        return self.log.lines(first, last)
