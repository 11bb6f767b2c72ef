"""The hash-chained audit log (gateway/audit.py): a real log verifies; each kind of tampering is
reported at its line; two processes appending to one file keep one chain; a head kept elsewhere
catches what the file alone cannot (records cut off its end, a rewritten tail)."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from gateway.audit import (
    GENESIS, RECORD_FIELDS, AuditError, AuditLog, audit_record, canonical_json, check, record_hash, verify,
    verify_command,
)
from gateway.model import COMPLETED, FAILED, FORWARDED, Principal, Submission

START = 1_741_000_000.0  # 2025-03-03T11:06:40Z


class Clock:
    """A clock that ticks one second per reading."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def a_submission(id: str = "task-1") -> Submission:
    return Submission(
        id=id, subject="alice", groups=("researchers",), device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        shots=1000, original_sha256="a" * 64, forwarded_program="OPENQASM 3.0;", forwarded_sha256="b" * 64,
        mapping={}, correlation_id="c-9", estimate_usd=0.375, created_at=START,
    )


def write_log(path: Path, count: int) -> list[dict]:
    log = AuditLog(path, clock=Clock())
    alice = Principal("alice", ("researchers",), "mtls")
    written = []
    for i in range(count):
        if i % 3 == 0:
            record = audit_record("decision", principal=alice, submission=a_submission(f"task-{i}"), decision="allow",
                                  rules=["policy0"], reason=None)
        elif i % 3 == 1:
            record = audit_record("decision", principal=alice, decision="deny", rules=["shots-ceiling"],
                                  reason="shots 200000 above the ceiling 100000", device_arn="arn:d", shots=200_000)
        else:
            record = audit_record("forwarded", submission=a_submission(f"task-{i - 2}"), task_arn=f"arn:task/{i}")
        written.append(log.append(record))
    return written


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def log_path(tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    write_log(path, 100)
    return path


def test_a_real_log_verifies(log_path):
    lines = lines_of(log_path)
    assert len(lines) == 100
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, 101))
    assert records[0]["prev"] == GENESIS
    assert all(r["prev"] == p["hash"] for p, r in zip(records, records[1:]))
    assert all(line == (canonical_json(r) + "\n").encode() for line, r in zip(lines, records))
    assert records[0]["time"] == "2025-03-03T11:06:41.000000Z"  # the injected clock, in UTC
    assert verify(log_path) == []
    result = check(log_path, head=records[-1]["hash"])
    assert (result.problems, result.records, result.head, result.head_seq) == ([], 100, records[-1]["hash"], 100)


def test_append_returns_what_it_wrote(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl", clock=lambda: START)
    first = log.append({"event": "decision", "note": "ünïcode kept as UTF-8"})
    second = log.append({"event": "decision"})
    assert (first["seq"], first["prev"], first["hash"]) == (1, GENESIS, record_hash(first))
    assert (second["seq"], second["prev"]) == (2, first["hash"])
    assert "ünïcode kept as UTF-8" in (tmp_path / "a.jsonl").read_text(encoding="utf-8")


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def test_an_edited_record_is_reported_at_its_line(log_path):
    lines = lines_of(log_path)
    record = json.loads(lines[36])
    record["decision"] = "allow" if record["decision"] != "allow" else "deny"
    lines[36] = (canonical_json(record) + "\n").encode()
    rewrite(log_path, lines)
    assert verify(log_path) == ["line 37: seq 37: the hash does not match the content: the record was edited"]


def test_an_edited_record_with_its_hash_recomputed_breaks_the_next_link(log_path):
    lines = lines_of(log_path)
    record = json.loads(lines[36])
    record["subject"] = "mallory"
    record["hash"] = record_hash(record)
    lines[36] = (canonical_json(record) + "\n").encode()
    rewrite(log_path, lines)
    assert verify(log_path) == ["line 38: seq 38: prev is not the hash of line 37: a record was replaced"]


def test_a_deleted_record_is_reported_where_it_is_missing(log_path):
    lines = lines_of(log_path)
    del lines[49]
    rewrite(log_path, lines)
    assert verify(log_path) == [
        "line 50: seq 51 where seq 50 was expected (line 49 has seq 49): records are missing"]


def test_swapped_records_are_reported_at_their_lines(log_path):
    lines = lines_of(log_path)
    lines[19], lines[20] = lines[20], lines[19]
    rewrite(log_path, lines)
    problems = verify(log_path)
    assert problems[0] == "line 20: seq 21 where seq 20 was expected (line 19 has seq 19): records are missing"
    assert problems[1] == "line 21: seq 20 where seq 22 was expected (line 20 has seq 21): records are out of order or repeated"
    assert all(p.startswith(("line 20:", "line 21:", "line 22:")) for p in problems)


def test_records_swapped_far_apart_are_reported_at_both_places(log_path):
    lines = lines_of(log_path)
    lines[9], lines[89] = lines[89], lines[9]
    rewrite(log_path, lines)
    reported = {int(p.split(":")[0].removeprefix("line ")) for p in verify(log_path)}
    assert {10, 90} <= reported
    assert reported <= {10, 11, 90, 91}


def test_a_line_cut_short_in_the_middle_is_reported(log_path):
    lines = lines_of(log_path)
    lines[59] = lines[59][: len(lines[59]) // 2] + b"\n"
    rewrite(log_path, lines)
    assert verify(log_path) == ["line 60: not JSON: a truncated or garbled line"]


def test_a_line_cut_short_and_run_into_the_next_is_reported(log_path):
    lines = lines_of(log_path)
    lines[59] = lines[59][:40]  # its newline gone too: the next record now continues this line
    rewrite(log_path, lines)
    problems = verify(log_path)
    assert problems[0] == "line 60: not JSON: a truncated or garbled line"
    assert problems[1] == "line 61: seq 62 where seq 61 was expected (line 59 has seq 59 and the lines between are unreadable): records are missing"


def test_non_json_and_non_utf8_lines_are_reported(log_path):
    lines = lines_of(log_path)
    lines[29] = b"hello, I am not JSON\n"
    lines[69] = b'{"seq": 70, "note": "\xff\xfe"}\n'
    lines.insert(80, b"[1, 2, 3]\n")
    rewrite(log_path, lines)
    problems = verify(log_path)
    assert problems[:3] == [
        "line 30: not JSON: a truncated or garbled line",
        "line 70: not UTF-8: a garbled line",
        "line 81: not an audit record: expected a JSON object with seq, time, prev and hash",
    ]
    assert problems[3].startswith("line 82: seq 81 where seq 82 was expected")  # the inserted line took a place


def test_records_cut_off_the_end_are_caught_only_with_the_head(log_path):
    records = [json.loads(line) for line in lines_of(log_path)]
    head = records[-1]["hash"]
    rewrite(log_path, lines_of(log_path)[:97])
    assert verify(log_path) == []  # a shorter chain is still a valid chain
    assert verify(log_path, head=head) == [
        f"end of file (after line 97): the expected head {head} is not the hash of any record: "
        "the log was cut short at its end or rewritten"]
    assert verify(log_path, head=records[96]["hash"]) == []


def test_a_rewritten_tail_is_caught_only_with_the_head(log_path):
    """The chain is not keyed: whoever may write the file can recompute every hash after an edit."""
    records = [json.loads(line) for line in lines_of(log_path)]
    head = records[-1]["hash"]
    for i in range(40, 100):
        if i == 40:
            records[i]["decision"] = "allow"
        records[i]["prev"] = records[i - 1]["hash"]
        records[i]["hash"] = record_hash(records[i])
    rewrite(log_path, [(canonical_json(r) + "\n").encode() for r in records])
    assert verify(log_path) == []
    assert len(verify(log_path, head=head)) == 1


def test_a_head_of_an_earlier_record_is_fine(log_path):
    """The gateway may stop between writing a record and recording it as the head."""
    records = [json.loads(line) for line in lines_of(log_path)]
    assert verify(log_path, head=records[98]["hash"]) == []
    with pytest.raises(ValueError, match="head='abc' is not allowed"):
        verify(log_path, head="abc")


def _append_in_process(path: str, writer: str, count: int, start, results) -> None:
    try:
        log = AuditLog(path)
        start.wait(timeout=30)
        for i in range(count):
            log.append({"event": "decision", "writer": writer, "n": i})
        results.put((writer, "done"))
    except BaseException as error:
        results.put((writer, f"error: {error!r}"))


def test_two_processes_appending_to_one_file_keep_one_chain(tmp_path):
    path = tmp_path / "shared.jsonl"
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_append_in_process, args=(str(path), name, 200, start, results))
                 for name in ("gateway-a", "gateway-b")]
    for process in processes:
        process.start()
    try:
        reports = dict(results.get(timeout=60) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert reports == {"gateway-a": "done", "gateway-b": "done"}
    assert verify(path) == []
    records = [json.loads(line) for line in lines_of(path)]
    assert [r["seq"] for r in records] == list(range(1, 401))
    for writer in ("gateway-a", "gateway-b"):
        assert [r["n"] for r in records if r["writer"] == writer] == list(range(200))
    writers = [r["writer"] for r in records]
    assert sum(a != b for a, b in zip(writers, writers[1:])) > 1, "the two processes must have interleaved"


def test_threads_and_two_log_objects_on_one_file_keep_one_chain(tmp_path):
    path = tmp_path / "threads.jsonl"
    logs = [AuditLog(path), AuditLog(path)]  # two objects: two file descriptions, so flock is what orders them

    def append(n: int) -> None:
        for i in range(25):
            logs[n % 2].append({"event": "decision", "thread": n, "n": i})

    threads = [threading.Thread(target=append, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert verify(path) == []
    assert check(path).records == 200


def test_a_torn_last_line_is_removed_before_the_next_append(tmp_path):
    path = tmp_path / "torn.jsonl"
    written = write_log(path, 5)
    with open(path, "ab") as handle:
        handle.write(b'{"event":"decision","seq":6,"ti')  # a crash in the middle of the sixth write
    assert verify(path) == ["line 6: no line end: a write torn by a crash, or the file was cut here",
                            "line 6: not JSON: a truncated or garbled line"]
    sixth = AuditLog(path).append({"event": "decision"})
    assert (sixth["seq"], sixth["prev"]) == (6, written[-1]["hash"])
    assert verify(path) == []


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "no-newline.jsonl"
    written = write_log(path, 3)
    path.write_bytes(path.read_bytes()[:-1])
    fourth = AuditLog(path).append({"event": "decision"})
    assert (fourth["seq"], fourth["prev"]) == (4, written[-1]["hash"])
    assert verify(path) == []


def test_append_refuses_a_damaged_log_and_bad_records(tmp_path):
    path = tmp_path / "damaged.jsonl"
    write_log(path, 2)
    before = path.read_bytes()
    log = AuditLog(path)
    with pytest.raises(ValueError, match="field 'seq' is not allowed: the log sets seq, time, prev, hash"):
        log.append({"event": "decision", "seq": 99})
    with pytest.raises(ValueError, match="expected JSON values only"):
        log.append({"event": "decision", "estimate_usd": float("nan")})
    with pytest.raises(ValueError, match="expected JSON values only"):
        log.append({"event": "decision", "groups": {"a", "b"}})
    assert path.read_bytes() == before
    with open(path, "ab") as handle:
        handle.write(b"garbage\n")
    with pytest.raises(AuditError, match="the last line is not an audit record: refusing to chain to it"):
        log.append({"event": "decision"})
    with pytest.raises(AuditError, match="cannot be opened"):
        AuditLog(tmp_path / "no-such-folder" / "audit.jsonl").append({"event": "decision"})


def test_audit_record_has_one_shape(tmp_path):
    alice = Principal("alice", ("researchers", "qpu"), "oidc")
    allowed = audit_record("decision", principal=alice, submission=a_submission(), decision="allow", rules=("policy0",))
    denied = audit_record("decision", principal=alice, decision="deny", rules=["office-hours"],
                          reason="QPU only 08:00-18:00 Europe/London", device_arn="arn:d", shots=10, estimate_usd=3.5,
                          errors=("policy3: attribute not found",))
    assert set(allowed) == set(denied) == set(RECORD_FIELDS) - {"program"}  # no program text unless passed
    assert allowed == {
        "event": "decision", "subject": "alice", "groups": ["researchers", "qpu"], "auth_method": "oidc",
        "decision": "allow", "rules": ["policy0"], "reason": None, "errors": None, "task_id": "task-1",
        "device_arn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1", "shots": 1000, "estimate_usd": 0.375,
        "original_sha256": "a" * 64, "forwarded_sha256": "b" * 64, "correlation_id": "c-9", "task_arn": None,
        "state": "ACCEPTED", "error": None,
    }
    assert (denied["task_id"], denied["shots"], denied["errors"]) == (None, 10, ["policy3: attribute not found"])
    finished = audit_record("finished", submission=a_submission(), state=COMPLETED, task_arn="arn:task/1")
    assert (finished["subject"], finished["auth_method"], finished["state"]) == ("alice", None, COMPLETED)
    failed = audit_record("finished", submission=a_submission(), state=FAILED, error="ValidationException")
    assert (failed["state"], failed["error"]) == (FAILED, "ValidationException")
    kept = audit_record("decision", principal=alice, decision="allow", program="OPENQASM 3.0;")
    assert kept["program"] == "OPENQASM 3.0;"
    with pytest.raises(ValueError, match="event='submitted' is not allowed: expected one of decision, forwarded, finished"):
        audit_record("submitted")
    with pytest.raises(ValueError, match="decision='maybe' is not allowed: expected one of allow, deny, reject"):
        audit_record("decision", decision="maybe")
    with pytest.raises(ValueError, match="decision=None is not allowed"):
        audit_record("decision", subject="alice")
    with pytest.raises(ValueError, match="audit field 'hostname' is not allowed"):
        audit_record("forwarded", hostname="laptop-of-alice")
    with pytest.raises(ValueError, match="original_sha256='abc' is not allowed"):
        audit_record("forwarded", original_sha256="abc")
    with pytest.raises(ValueError, match="state='FORWARDED' is not allowed for a finished event"):
        audit_record("finished", state=FORWARDED)
    with pytest.raises(ValueError, match="state=None is not allowed for a finished event"):
        audit_record("finished")


def test_verify_command_exit_codes_and_output(log_path, tmp_path, capsys):
    head = json.loads(lines_of(log_path)[-1])["hash"]
    assert verify_command(log_path) == 0
    assert capsys.readouterr().out == f"audit log OK: 100 records, head {head}\n"
    assert verify_command(log_path, head=head) == 0
    capsys.readouterr()

    lines = lines_of(log_path)
    del lines[10]
    rewrite(log_path, lines)
    assert verify_command(log_path) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"audit log BROKEN: 1 problem in {log_path}",
                   "  line 11: seq 12 where seq 11 was expected (line 10 has seq 10): records are missing"]

    for i in range(0, 60, 5):
        lines[i] = b"x\n"
    rewrite(log_path, lines)
    assert verify_command(log_path) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 10 + 1 and out[-1] == "  ... and 3 more"

    no_records = tmp_path / "no-records"  # a directory is read as shipped objects: here, none
    no_records.mkdir()
    for missing in (tmp_path / "nope.jsonl", no_records):
        assert verify_command(missing) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert len(captured.err.splitlines()) == 1 and captured.err.startswith(f"error: audit log {missing}: cannot be read (")
    assert verify_command(log_path, head="not-a-hash") == 2
    assert capsys.readouterr().err.startswith("error: head='not-a-hash' is not allowed")

    empty = tmp_path / "empty.jsonl"
    empty.touch()
    assert verify_command(empty) == 0
    assert capsys.readouterr().out == f"audit log OK: 0 records, head {GENESIS}\n"
