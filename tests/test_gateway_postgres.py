"""The PostgreSQL backend (gateway/store_postgres.py) for several gateway instances on one database:
what the shared `Store` contract (tests/test_gateway_store.py, run on both backends) does not show.
Against a real server on loopback (tests/gateway_postgres.py): claims skip rows another instance
holds, one audit chain from two processes that `verify` accepts once exported, quotas and rate
limits shared by two instances, everything kept across a restart, failures in one line."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import threading
import time

import psycopg
import pytest

from gateway.audit import GENESIS, AuditError, AuditLog, AuditTrail, audit_record, record_hash, verify
from gateway.model import ACCEPTED, COMPLETED, FORWARDED, FORWARDING, Principal
from gateway.store import StoreError, open_store
from gateway.store_postgres import SCHEMA_VERSION, PostgresStore
from tests.test_gateway_store import submission

pytest_plugins = ["tests.gateway_postgres"]


@pytest.fixture
def store(postgresql_dsn):
    store = PostgresStore(postgresql_dsn)
    yield store
    store.close()


def admin(dsn: str) -> psycopg.Connection:
    """A connection of the test's own, outside any store: to look at and tamper with the tables."""
    return psycopg.connect(dsn, autocommit=True)


def test_the_machine_has_the_postgresql_server_binaries():
    """CI must run the PostgreSQL tests, not skip them: `make setup` installs the server where it is missing."""
    # Imported here, not above: the plugin module is imported (and its asserts rewritten) by pytest_plugins.
    from tests.gateway_postgres import MISSING, find_pg_ctl, server_version

    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        if os.environ.get("CI"):
            pytest.fail(f"{MISSING}: CI must run the PostgreSQL backend's tests")
        pytest.skip(MISSING)
    assert server_version(pg_ctl) >= (14,), f"{pg_ctl} is older than PostgreSQL 14, the oldest pytest-postgresql runs"


def test_open_store_opens_postgresql_urls(postgresql_dsn):
    store = open_store(postgresql_dsn)
    try:
        assert isinstance(store, PostgresStore)
        assert store.where.startswith("postgresql://127.0.0.1:") and "postgres@" not in store.where
    finally:
        store.close()
    with admin(postgresql_dsn) as db:  # the test server listens on loopback only
        assert db.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


@pytest.mark.parametrize("url, reason", [
    ("postgresql://gateway:s3cret@127.0.0.1:1/gateway",
     r"^database postgresql://127\.0\.0\.1:1/gateway: cannot be opened \(connection failed: .*Connection refused"),
    ("postgresql://gateway:s3cret@[::1/gateway",
     r"^gateway\.database is not a valid PostgreSQL connection URL: expected postgresql://USER\[:PASSWORD\]@HOST"),
])
def test_a_database_that_cannot_be_used_is_one_line_that_never_repeats_the_password(url, reason):
    with pytest.raises(StoreError, match=reason) as refused:
        open_store(url)
    assert "s3cret" not in str(refused.value) and "\n" not in str(refused.value)


def test_instances_starting_together_create_the_schema_once(postgresql_dsn):
    """Four instances opening an empty database at the same moment: the advisory lock lets one create
    the tables while the others wait, instead of racing on the catalog (a duplicate-key error)."""
    start, errors, stores = threading.Barrier(4), [], []

    def open_one() -> None:
        try:
            start.wait(timeout=30)
            stores.append(PostgresStore(postgresql_dsn))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for opened in stores:
        opened.close()
    assert errors == [] and len(stores) == 4
    with admin(postgresql_dsn) as db:
        assert db.execute("SELECT one, version FROM schema_version").fetchall() == [(1, SCHEMA_VERSION)]
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match=f"schema version 99 is newer than this gateway's \\({SCHEMA_VERSION}\\): upgrade"):
        PostgresStore(postgresql_dsn)


def test_a_claim_skips_a_submission_another_instance_holds_instead_of_waiting(postgresql_dsn, store):
    """What SKIP LOCKED buys: while another transaction holds the oldest row, a claim takes the next
    one at once (no wait for the lock), and the held row is claimable once it is released."""
    store.add_submission(submission("oldest", created_at=1.0))
    store.add_submission(submission("next", created_at=2.0))
    with admin(postgresql_dsn) as other:
        with other.transaction():
            other.execute("SELECT * FROM submissions WHERE id = 'oldest' FOR UPDATE")
            started = time.monotonic()
            assert store.claim("w", now=10.0, lease_seconds=30).id == "next"
            assert time.monotonic() - started < 2  # lock_timeout is 30 s: it was not waited for
            assert store.claim("w", now=10.0, lease_seconds=30) is None  # the held row is skipped, not handed out
    assert store.claim("w", now=10.0, lease_seconds=30).id == "oldest"


def _append_in_process(dsn: str, worker: str, count: int, start, results) -> None:
    """A gateway instance auditing ``count`` decisions through its AuditTrail (which finds the store's
    chain); reports the seq of each record it wrote."""
    try:
        store = PostgresStore(dsn)
        trail = AuditTrail(None, store)  # no file log: the store keeps the chain
        start.wait(timeout=30)
        principal = Principal(worker, ("researchers",), "oidc")
        seqs = [trail.append(audit_record("decision", principal=principal, decision="allow", reason=f"{worker} {n}"))["seq"]
                for n in range(count)]
        store.close()
        results.put((worker, seqs))
    except BaseException as error:
        results.put((worker, f"error: {error!r}"))


def test_two_processes_append_to_one_chain_that_verifies_once_exported(postgresql_dsn, store, tmp_path):
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_append_in_process, args=(postgresql_dsn, name, 200, start, results))
                 for name in ("gw-a", "gw-b")]
    for process in processes:
        process.start()
    try:
        reports = dict(results.get(timeout=60) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0, 0]
    assert all(isinstance(seqs, list) for seqs in reports.values()), reports
    for seqs in reports.values():
        assert seqs == sorted(seqs) and len(seqs) == 200  # each process's appends in its own order
    assert sorted(reports["gw-a"] + reports["gw-b"]) == list(range(1, 401))  # one chain: no seq twice, none missing
    # Interleaved, not one process after the other: the head lock is what kept the chain whole.
    assert max(reports["gw-a"]) > min(reports["gw-b"]) and max(reports["gw-b"]) > min(reports["gw-a"])

    head_seq, head = store.audit_head()
    exported = tmp_path / "audit.jsonl"
    assert (head_seq, store.export_audit(exported)) == (400, 400)
    assert verify(exported, head=head) == []
    records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 401)) and records[-1]["hash"] == head
    assert [r["time"] for r in records] == sorted(r["time"] for r in records)  # the database's clock, in chain order
    for name, seqs in reports.items():
        mine = [records[seq - 1] for seq in seqs]
        assert [r["reason"] for r in mine] == [f"{name} {n}" for n in range(200)]
        assert {r["subject"] for r in mine} == {name}


def test_the_database_chain_is_the_files_chain_and_verify_sees_tampering(postgresql_dsn, store, tmp_path):
    """Records stored in the database hash as AuditLog's do (gateway/audit.py's chain_entry); an edit or
    a deletion made in the table shows in the exported file, as it would in the log."""
    trail = AuditTrail(AuditLog(tmp_path / "audit.jsonl"), store)
    written = [trail.append(audit_record("decision", principal=Principal("alice", ("g",), "mtls"), decision="deny",
                                         rules=["policy3"], reason="ünïcode and \x00 are text like any other"))
               for _ in range(5)]
    assert not (tmp_path / "audit.jsonl").exists()  # the store keeps the chain: the file log is not written
    assert [w["seq"] for w in written] == [1, 2, 3, 4, 5] and written[0]["prev"] == GENESIS
    assert all(w["hash"] == record_hash(w) and w["prev"] == p["hash"] for p, w in zip(written, written[1:]))
    assert store.audit_head() == (5, written[-1]["hash"])
    assert [json.loads(line) for line in store.audit_lines(after_seq=3)] == written[3:]

    exported = tmp_path / "export.jsonl"
    store.export_audit(exported)
    assert [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()] == written
    with admin(postgresql_dsn) as db:
        db.execute("UPDATE audit_log SET line = replace(line, 'alice', 'mallory') WHERE seq = 2")
        db.execute("DELETE FROM audit_log WHERE seq = 4")
    store.export_audit(exported)  # replaces the file
    problems = verify(exported, head=store.audit_head()[1])
    assert problems[0] == "line 2: seq 2: the hash does not match the content: the record was edited"
    assert problems[1].startswith("line 4: seq 5 where seq 4 was expected")


def test_appending_refuses_a_head_that_is_not_the_chains_last_record(store):
    """A head recorded for a file log (`record_audit_head`), or records removed from the table: the chain
    would not verify, so the gateway stops auditing (and so accepting) rather than extend it."""
    first = store.append_audit(audit_record("decision", decision="allow"))
    with pytest.raises(ValueError, match="field 'seq' is not allowed: the log sets seq, time, prev, hash"):
        store.append_audit({"seq": 3})
    with pytest.raises(ValueError, match="expected JSON values only"):
        store.append_audit({"reason": object()})
    assert store.audit_head() == (1, first["hash"])  # the refused records changed nothing
    store.record_audit_head(7, "7" * 64)
    with pytest.raises(AuditError, match=r"the head \(seq 7\) is not the chain's last record"):
        store.append_audit(audit_record("decision", decision="allow"))
    assert store.audit_head() == (7, "7" * 64)
    assert [json.loads(line)["seq"] for line in store.audit_lines()] == [1]


def test_quotas_and_rate_limits_are_shared_by_two_instances(postgresql_dsn):
    """Two instances (two connection pools, as two processes have), four threads on each, all at once."""
    first, second = PostgresStore(postgresql_dsn), PostgresStore(postgresql_dsn)
    answers: list = []
    guard = threading.Lock()

    def work(store: PostgresStore) -> None:
        mine = []
        for _ in range(10):
            store.add_spend("alice", "2025-03-04", 0.05)
            mine.append(store.take_rate_token("alice", 1000.0, per_minute=25))
        with guard:
            answers.extend(mine)

    threads = [threading.Thread(target=work, args=(store,)) for store in (first, second) * 4]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert first.spend_today("alice", "2025-03-04") == second.spend_today("alice", "2025-03-04") == 4.0
        assert answers.count(None) == 25  # 80 requests, one limit for both instances
        assert second.take_rate_token("alice", 1030.0, per_minute=25) == pytest.approx(30.0)
        assert first.take_rate_token("alice", 1060.0, per_minute=25) is None  # the window moved on
        assert second.take_rate_token("bob", 1030.0, per_minute=25) is None  # per subject
    finally:
        first.close()
        second.close()


def test_a_restart_keeps_everything(postgresql_dsn, tmp_path):
    store = PostgresStore(postgresql_dsn)
    for id, at in (("done", 1.0), ("at-braket", 2.0), ("held", 3.0), ("waiting", 4.0)):
        store.add_submission(submission(id, created_at=at))
    for _ in range(3):
        store.claim("gw-a", now=100.0, lease_seconds=600)  # done, at-braket, held
    store.mark_forwarded("done", "arn:task/done", "gw-a")
    store.finish("done", COMPLETED, counts={"00": 7})
    store.mark_forwarded("at-braket", "arn:task/b", "gw-a")
    store.add_spend("alice", "2025-03-04", 1.25)
    assert [store.take_rate_token("alice", t, per_minute=2) for t in (100.0, 101.0)] == [None, None]
    before = {id: store.get(id) for id in ("done", "at-braket", "held", "waiting")}
    for n in range(3):
        store.append_audit(audit_record("decision", decision="allow", reason=f"before {n}"))
    head = store.audit_head()
    store.close()

    store = PostgresStore(postgresql_dsn)
    try:
        assert {id: store.get(id) for id in before} == before
        assert [s.state for s in before.values()] == [COMPLETED, FORWARDED, FORWARDING, ACCEPTED]
        assert [s.id for s in store.forwarded()] == ["at-braket"]
        assert store.claim("gw-b", now=200.0, lease_seconds=60).id == "waiting"  # "held" is still gw-a's until 700
        assert store.claim("gw-b", now=700.0, lease_seconds=60).id == "held"
        assert store.spend_today("alice", "2025-03-04") == 1.25
        assert store.take_rate_token("alice", 130.0, per_minute=2) == pytest.approx(30.0)
        assert store.audit_head() == head
        after = store.append_audit(audit_record("decision", decision="allow", reason="after"))
        assert (after["seq"], after["prev"]) == (4, head[1])
        assert store.export_audit(tmp_path / "audit.jsonl") == 4
        assert verify(tmp_path / "audit.jsonl", head=after["hash"]) == []
    finally:
        store.close()


def test_a_connection_the_server_dropped_fails_one_call_then_is_replaced(postgresql_dsn, store):
    """The server ends the store's connection (a restart, a failover, an administrator): the call that finds
    it dead fails in one line naming the database; the connection is dropped and the next call opens another."""
    store.add_submission(submission("kept"))
    with admin(postgresql_dsn) as db:
        dbname = db.info.dbname
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                   (dbname,))
        for _ in range(100):  # bounded: terminated backends leave within milliseconds
            if db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                          (dbname,)).fetchone()[0] == 0:
                break
            time.sleep(0.02)
    with pytest.raises(StoreError, match=f"^database {re.escape(store.where)}: .*connection") as failed:
        store.get("kept")
    assert "\n" not in str(failed.value)
    assert store.get("kept").id == "kept"


def test_text_postgresql_cannot_hold_is_refused_in_one_line(store):
    """PostgreSQL text cannot hold NUL (U+0000); a subject or id with one is refused by name, never a driver error."""
    with pytest.raises(ValueError, match=r"subject='al\\x00ice' is not allowed: PostgreSQL text cannot hold NUL"):
        store.take_rate_token("al\x00ice", 0.0, per_minute=5)
    with pytest.raises(ValueError, match=r"subject='al\\x00ice' is not allowed"):
        store.add_spend("al\x00ice", "2025-03-04", 1.0)
    with pytest.raises(ValueError, match=r"id='x\\x00' is not allowed"):
        store.add_submission(submission("x\x00"))
    with pytest.raises(ValueError, match=r"worker='w\\x00' is not allowed"):
        store.claim("w\x00", now=0.0, lease_seconds=30)
    assert store.spend_today("al\x00ice", "2025-03-04") == 0.0
    assert store.finish("x\x00", COMPLETED) is False
    store.add_submission(submission("ok", mapping={"q\x00": "fine in JSON"}, extra={"note": "\x00"}))
    assert store.get("ok").mapping == {"q\x00": "fine in JSON"}


def test_two_instances_cannot_each_pass_a_quota_only_one_fits_under(postgresql_dsn, tmp_path):
    """Two gateway instances on one database, each under uvicorn; room left today for exactly one
    more of alice's tasks, and eight of her requests arrive at once, alternately at each instance.
    One is accepted and seven refused by the daily quota: each decision saw the estimates the others
    had reserved (their per-process locks serialize nothing across instances), and the refused ones
    gave theirs back, so the day's spend ends at exactly one more task."""
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack
    from datetime import datetime

    import httpx

    from gateway.app import _estimate
    from tests.gateway_fixtures import BELL, SV1, Gateway, token
    from tests.test_gateway_auth import serving

    gateways = [Gateway(tmp_path / name, extra_settings={"database": postgresql_dsn}) for name in ("a", "b")]
    cost = _estimate(SV1, 100)
    day = datetime.fromtimestamp(time.time(), gateways[0].config.zone).date().isoformat()
    before = 100 - 1.5 * cost
    gateways[0].store.add_spend("alice", day, before)
    try:
        with ExitStack() as stack, httpx.Client(timeout=30) as client:
            ports = [stack.enter_context(serving(g.app)) for g in gateways]

            def submit(n: int) -> httpx.Response:
                return client.post(f"http://127.0.0.1:{ports[n % 2]}/v1/tasks",
                                   json={"device": SV1, "shots": 100, "program": BELL},
                                   headers={"Authorization": f"Bearer {token('alice')}", "Idempotency-Key": f"k{n}"})

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(submit, range(8)))
        assert sorted(a.status_code for a in answers) == [202] + [403] * 7, [a.text for a in answers]
        assert {tuple(a.json()["rules"]) for a in answers if a.status_code == 403} == {("daily-cost-quota",)}
        assert gateways[1].store.spend_today("alice", day) == pytest.approx(before + cost, abs=1e-9)
    finally:
        for gateway in gateways:
            gateway.store.close()

