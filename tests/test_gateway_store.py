"""The gateway's durable state: the `Store` contract, run against both backends (``[sqlite]``:
gateway/store.py's SqliteStore on a file; ``[postgresql]``: gateway/store_postgres.py's
PostgresStore on a real server, tests/gateway_postgres.py). Submissions survive a restart, claims
never hand one submission to two forwarders (threads or processes), and quotas and rate limits
are counted in the database. What only SQLite has (WAL, a process killed mid-write, files) is
tested on SQLite; what only PostgreSQL has, in tests/test_gateway_postgres.py."""

from __future__ import annotations

import multiprocessing
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gateway.model import ACCEPTED, CANCELLED, COMPLETED, FAILED, FORWARDED, FORWARDING, Submission
from gateway.store import SqliteStore, Store, StoreError, open_store

pytest_plugins = ["tests.gateway_postgres"]

ROOT = Path(__file__).resolve().parent.parent


def submission(id: str, created_at: float = 1_700_000_000.0, **overrides) -> Submission:
    values = dict(
        id=id, subject="alice", groups=("researchers",), device_arn="arn:aws:braket:::device/quantum-simulator/amazon/sv1",
        shots=100, original_sha256="a" * 64, forwarded_program="OPENQASM 3.0;\nqubit[1] q0;\n", forwarded_sha256="b" * 64,
        mapping={"q0": "q"}, correlation_id=f"corr-{id}", estimate_usd=0.375, created_at=created_at,
    )
    values.update(overrides)
    return Submission(**values)


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "gateway.sqlite3"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, path) -> str:
    """Where a store lives, as the configuration's ``gateway.database`` names it: a SQLite file, or
    the URL of a fresh PostgreSQL database. `open_store` opens either; so do the tests' reopenings."""
    return str(path) if request.param == "sqlite" else request.getfixturevalue("postgresql_dsn")


@pytest.fixture
def store(database):
    store = open_store(database)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(path):
    store = SqliteStore(path)
    yield store
    store.close()


def test_every_field_round_trips_and_survives_reopening(database, store):
    original = submission(
        "3f2c", groups=("physics", "ünïcode"), mapping={"r0": "alice_register", "g1": {"nested": [1, 2.5]}},
        state=FORWARDED, task_arn="arn:aws:braket:us-east-1:123456789012:quantum-task/t-1", attempts=3,
        error="throttled once", counts={"00": 48, "11": 52}, claimed_by="host-a:17", lease_until=1_700_000_030.25,
        extra={"client": "jobs 1.0", "tags": ["x"]},
    )
    store.add_submission(original)
    assert store.get("3f2c") == original
    assert isinstance(store.get("3f2c").groups, tuple)
    assert store.get("missing") is None
    assert store.get("3f2c\x00") is None  # PostgreSQL text cannot hold NUL: such an id is simply not there
    store.close()
    reopened = open_store(database)
    try:
        assert reopened.get("3f2c") == original
    finally:
        reopened.close()


def test_the_backend_implements_the_interface(store):
    assert isinstance(store, Store)


def test_wal_and_full_sync_on_every_connection(sqlite_store):
    """FULL makes each commit fsync the WAL: what makes an accepted submission survive a power cut."""
    with sqlite_store._connection() as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_duplicate_id_is_refused_and_the_first_kept(store):
    store.add_submission(submission("same", shots=10))
    with pytest.raises(ValueError, match="'same' already exists"):
        store.add_submission(submission("same", shots=20))
    assert store.get("same").shots == 10


def test_an_unknown_state_is_refused(store):
    with pytest.raises(ValueError, match="state='QUEUED' is not allowed"):
        store.add_submission(submission("x", state="QUEUED"))


def test_claims_take_the_oldest_first_and_ties_in_insertion_order(store):
    store.add_submission(submission("late", created_at=30.0))
    store.add_submission(submission("early-1", created_at=10.0))
    store.add_submission(submission("early-2", created_at=10.0))
    store.add_submission(submission("done", created_at=1.0, state=COMPLETED))
    claimed = [store.claim("w", now=100.0, lease_seconds=60) for _ in range(3)]
    assert [c.id for c in claimed] == ["early-1", "early-2", "late"]
    assert all(c.state == FORWARDING and c.claimed_by == "w" and c.lease_until == 160.0 and c.attempts == 1 for c in claimed)
    assert store.claim("w", now=100.0, lease_seconds=60) is None


def test_a_lease_holds_until_it_expires_then_another_worker_takes_over(store):
    store.add_submission(submission("s"))
    first = store.claim("w1", now=0.0, lease_seconds=30)
    assert (first.id, first.attempts, first.lease_until) == ("s", 1, 30.0)
    assert store.claim("w2", now=29.9, lease_seconds=30) is None
    assert store.renew("s", "w2", now=20.0, lease_seconds=30) is False  # not its claim
    assert store.renew("s", "w1", now=20.0, lease_seconds=30) is True
    assert store.claim("w2", now=49.9, lease_seconds=30) is None  # renewed to 50
    second = store.claim("w2", now=50.0, lease_seconds=30)
    assert (second.id, second.claimed_by, second.attempts, second.lease_until) == ("s", "w2", 2, 80.0)
    assert store.mark_forwarded("s", "arn:task/1", "w1") is False  # w1 lost the claim
    assert store.get("s").state == FORWARDING
    assert store.mark_forwarded("s", "arn:task/1", "w2") is True
    forwarded = store.get("s")
    assert (forwarded.state, forwarded.task_arn, forwarded.lease_until) == (FORWARDED, "arn:task/1", None)
    assert store.claim("w3", now=1e12, lease_seconds=30) is None  # at Braket: never forwarded again
    assert [s.id for s in store.forwarded(now=60.0)] == ["s"]
    assert store.renew("s", "w2", now=60.0, lease_seconds=30) is False  # no longer a claim to renew


def test_a_claimer_whose_lease_ran_out_may_still_record_the_task_if_nobody_took_over(store):
    store.add_submission(submission("s"))
    store.claim("w1", now=0.0, lease_seconds=1)
    assert store.mark_forwarded("s", "arn:task/9", "w1") is True


def test_bad_leases_and_workers_are_refused(store):
    with pytest.raises(ValueError, match="worker='' is not allowed"):
        store.claim("", now=0.0, lease_seconds=30)
    with pytest.raises(ValueError, match="lease_seconds=0 is not allowed"):
        store.claim("w", now=0.0, lease_seconds=0)
    with pytest.raises(ValueError, match="lease_seconds=nan is not allowed"):
        store.renew("s", "w", now=0.0, lease_seconds=float("nan"))


def test_finish_moves_to_a_final_state_once(store):
    for id in ("ok", "bad", "stop"):
        store.add_submission(submission(id))
    store.claim("w", now=0.0, lease_seconds=30)
    assert store.finish("ok", COMPLETED, counts={"0": 60, "1": 40}) is True
    assert store.finish("bad", FAILED, error="ValidationException: too many qubits") is True
    assert store.finish("stop", CANCELLED) is True
    assert store.finish("ok", CANCELLED) is False  # a final state is never overwritten
    assert store.finish("nobody", FAILED) is False
    ok, bad = store.get("ok"), store.get("bad")
    assert (ok.state, ok.counts, ok.lease_until) == (COMPLETED, {"0": 60, "1": 40}, None)
    assert (bad.state, bad.error) == (FAILED, "ValidationException: too many qubits")
    assert store.claim("w", now=1e12, lease_seconds=30) is None
    assert store.forwarded() == []
    with pytest.raises(ValueError, match="state='FORWARDED' is not allowed: expected one of COMPLETED, FAILED, CANCELLED"):
        store.finish("ok", FORWARDED)


def test_threads_never_claim_the_same_submission(store):
    for i in range(100):
        store.add_submission(submission(f"t{i:03d}", created_at=float(i)))
    claimed: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        mine = claimed.setdefault(name, [])
        for _ in range(150):  # bounded: more than there is to claim
            taken = store.claim(name, now=1000.0, lease_seconds=60)
            if taken is None:
                return
            mine.append(taken.id)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    every = [id for ids in claimed.values() for id in ids]
    assert sorted(every) == [f"t{i:03d}" for i in range(100)]


def _claim_in_process(database: str, worker: str, start, results) -> None:
    """A forwarder process: claims until nothing is left, forwarding each claim (a short pause
    outside the transaction, as a call to Braket would be), and reports what it claimed and
    which claims it had lost by the time it recorded the task (or its error)."""
    try:
        store = open_store(database)
        start.wait(timeout=30)
        taken, lost = [], []
        for _ in range(400):  # bounded: more than there is to claim
            claim = store.claim(worker, now=time.time(), lease_seconds=300)
            if claim is None:
                break
            taken.append(claim.id)
            time.sleep(0.001)
            if not store.mark_forwarded(claim.id, f"arn:task/{claim.id}", worker):
                lost.append(claim.id)
        store.close()
        results.put((worker, (taken, lost)))
    except BaseException as error:
        results.put((worker, f"error: {error!r}"))


def test_two_processes_claim_every_submission_exactly_once(database, store):
    for i in range(200):
        store.add_submission(submission(f"p{i:03d}", created_at=float(i)))
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_claim_in_process, args=(database, f"proc{n}", start, results)) for n in (1, 2)]
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
    assert all(isinstance(report, tuple) for report in reports.values()), reports
    claimed = {worker: taken for worker, (taken, lost) in reports.items()}
    assert [lost for taken, lost in reports.values()] == [[], []]
    assert sorted(claimed["proc1"] + claimed["proc2"]) == [f"p{i:03d}" for i in range(200)]  # each exactly once
    assert claimed["proc1"] and claimed["proc2"], "both processes must have contended for the queue"
    for worker, ids in claimed.items():
        for id in ids:
            stored = store.get(id)
            assert (stored.state, stored.claimed_by, stored.attempts) == (FORWARDED, worker, 1)


def test_a_submission_survives_the_process_being_killed_right_after_it_was_added(path):
    """SIGKILL right after add_submission returns: nothing is closed or checkpointed, the row
    lives only in the write-ahead log, and the next open recovers it."""
    script = textwrap.dedent(f"""
        import sys, time
        from gateway.model import Submission
        from gateway.store import SqliteStore
        store = SqliteStore({str(path)!r})
        store.add_submission(Submission(
            id="killed", subject="bob", groups=("g",), device_arn="arn:d", shots=7, original_sha256="c" * 64,
            forwarded_program="OPENQASM 3.0;", forwarded_sha256="d" * 64, mapping={{}}, correlation_id="k",
            estimate_usd=0.5, created_at=5.0))
        print("added", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=30), "the child did not report the submission added"
        assert process.stdout.readline() == b"added\n"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    assert Path(f"{path}-wal").stat().st_size > 0  # the row was in the WAL, not yet in the main file
    reopened = SqliteStore(path)
    try:
        survivor = reopened.get("killed")
        assert (survivor.subject, survivor.shots, survivor.state) == ("bob", 7, ACCEPTED)
        assert reopened.claim("w", now=10.0, lease_seconds=30).id == "killed"
    finally:
        reopened.close()


def test_spend_is_summed_exactly_and_survives_reopening(database, store):
    for _ in range(10):
        store.add_spend("alice", "2025-03-04", 0.1)
    store.add_spend("alice", "2025-03-05", 2.5)
    store.add_spend("bob", "2025-03-04", 1.25)
    assert store.spend_today("alice", "2025-03-04") == 1.0  # summing the floats would give 0.9999999999999999
    store.close()
    reopened = open_store(database)
    try:
        assert reopened.spend_today("alice", "2025-03-04") == 1.0
        assert reopened.spend_today("alice", "2025-03-05") == 2.5
        assert reopened.spend_today("bob", "2025-03-04") == 1.25
        assert reopened.spend_today("carol", "2025-03-04") == 0.0
        for bad in (-1, float("inf"), float("nan"), 2e9):
            with pytest.raises(ValueError, match=f"usd={bad!r} is not allowed: expected an amount from 0 to 1e"):
                reopened.add_spend("alice", "2025-03-04", bad)
        assert reopened.spend_today("alice", "2025-03-04") == 1.0
    finally:
        reopened.close()


def test_rate_limit_window_edge_and_retry_after(store):
    assert [store.take_rate_token("alice", t, per_minute=3) for t in (0.0, 10.0, 20.0)] == [None, None, None]
    assert store.take_rate_token("alice", 30.0, per_minute=3) == pytest.approx(30.0)  # the hit at 0 leaves at 60
    assert store.take_rate_token("alice", 59.75, per_minute=3) == pytest.approx(0.25)
    assert store.take_rate_token("bob", 59.75, per_minute=3) is None  # counted per subject
    assert store.take_rate_token("alice", 60.0, per_minute=3) is None  # at the edge the hit at 0 is out
    assert store.take_rate_token("alice", 60.5, per_minute=3) == pytest.approx(9.5)  # now the hit at 10 blocks
    assert store.take_rate_token("alice", 70.0, per_minute=3) is None  # refusals were not counted


def test_rate_limit_holds_across_reopening(database, store):
    for t in (100.0, 101.0):
        assert store.take_rate_token("alice", t, per_minute=2) is None
    store.close()
    reopened = open_store(database)
    try:
        assert reopened.take_rate_token("alice", 130.0, per_minute=2) == pytest.approx(30.0)
        assert reopened.take_rate_token("alice", 160.0, per_minute=2) is None
    finally:
        reopened.close()


def test_a_lowered_limit_waits_for_enough_hits_to_leave(store):
    for t in (0.0, 10.0, 20.0):
        store.take_rate_token("alice", t, per_minute=3)
    assert store.take_rate_token("alice", 30.0, per_minute=1) == pytest.approx(50.0)  # all three must leave: at 80
    with pytest.raises(ValueError, match="per_minute=0 is not allowed"):
        store.take_rate_token("alice", 30.0, per_minute=0)


def test_the_audit_head_only_moves_forward_and_survives_reopening(database, store):
    assert store.audit_head() is None
    store.record_audit_head(5, "5" * 64)
    store.record_audit_head(3, "3" * 64)  # a slower process recording an older head
    assert store.audit_head() == (5, "5" * 64)
    store.record_audit_head(6, "6" * 64)
    store.close()
    reopened = open_store(database)
    try:
        assert reopened.audit_head() == (6, "6" * 64)
        with pytest.raises(ValueError, match="audit head"):
            reopened.record_audit_head(7, "not a hash")
    finally:
        reopened.close()


def test_unusable_files_fail_in_one_line(tmp_path):
    with pytest.raises(StoreError, match=r"cannot be opened \(unable to open database file\)"):
        SqliteStore(tmp_path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 512)
    with pytest.raises(StoreError, match=r"junk.sqlite3: cannot be opened \(file is not a database\)"):
        SqliteStore(junk)


def test_a_closed_store_fails_in_one_line(store):
    store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        store.get("x")


def test_open_store_picks_the_backend_by_the_database_it_is_given(request, database, store):
    from gateway.store_postgres import PostgresStore

    assert isinstance(store, {"sqlite": SqliteStore, "postgresql": PostgresStore}[request.node.callspec.params["database"]])


def test_concurrent_spend_is_summed_exactly(store):
    """Eight threads adding at once: the sum is the database's, not a read-modify-write that loses
    additions, and each addition answers a total no other one saw (the gateway's quota reservation)."""
    totals: list[float] = []
    guard = threading.Lock()

    def add() -> None:
        mine = [store.add_spend("alice", "2025-03-04", 0.01) for _ in range(25)]
        with guard:
            totals.extend(mine)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert store.spend_today("alice", "2025-03-04") == 2.0
    assert sorted(round(t * 100) for t in totals) == list(range(1, 201))


def test_released_spend_is_taken_back_never_below_zero(store):
    assert store.add_spend("alice", "2025-03-04", 1.25) == 1.25
    assert store.add_spend("alice", "2025-03-04", 0.5) == 1.75
    store.release_spend("alice", "2025-03-04", 0.5)
    assert store.spend_today("alice", "2025-03-04") == 1.25
    store.release_spend("alice", "2025-03-04", 5.0)
    assert store.spend_today("alice", "2025-03-04") == 0.0
    store.release_spend("carol", "2025-03-04", 1.0)  # nothing reserved: nothing to take back
    assert store.spend_today("carol", "2025-03-04") == 0.0
    assert store.add_spend("carol", "2025-03-04", 0.25) == 0.25
    with pytest.raises(ValueError, match=r"^usd=-1 is not allowed"):
        store.release_spend("alice", "2025-03-04", -1)


def test_concurrent_requests_get_exactly_the_limit(store):
    """Eight threads asking for 10 tokens each in one instant with a limit of 30: 30 granted, 50 refused
    (each told to wait the full minute), however the requests interleave."""
    answers: list = []
    guard = threading.Lock()

    def ask() -> None:
        mine = [store.take_rate_token("alice", 500.0, per_minute=30) for _ in range(10)]
        with guard:
            answers.extend(mine)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert answers.count(None) == 30
    assert sorted(a for a in answers if a is not None) == [pytest.approx(60.0)] * 50


def test_a_cancel_ends_an_unsent_submission_and_flags_one_at_braket(store):
    """ACCEPTED (never sent): CANCELLED at once. FORWARDING or FORWARDED: flagged for the forwarder,
    with the first request's time. Final: left as it is. Each answer says where it stood."""
    for id, at in (("waiting", 1.0), ("sending", 2.0), ("sent", 3.0), ("done", 4.0)):
        store.add_submission(submission(id, created_at=at))
    store.claim("gw", now=100.0, lease_seconds=60)  # the oldest, "waiting", is now FORWARDING
    before, cancelled = store.request_cancel("waiting", 200.0)
    assert (before, cancelled.state, cancelled.cancel_requested_at) == (FORWARDING, FORWARDING, 200.0)
    store.request_cancel("waiting", 300.0)
    assert store.get("waiting").cancel_requested_at == 200.0  # the first request's time stays

    before, cancelled = store.request_cancel("sending", 200.0)
    assert (before, cancelled.state, cancelled.cancel_requested_at) == (ACCEPTED, CANCELLED, None)
    assert cancelled.error == "cancelled by its owner before it was forwarded"
    assert store.request_cancel("sending", 201.0)[0] == CANCELLED
    assert store.claim("gw", now=100.0, lease_seconds=60).id == "sent"  # a cancelled one is never claimed
    store.mark_forwarded("sent", "arn:task/sent", "gw")
    before, flagged = store.request_cancel("sent", 250.0)
    assert (before, flagged.state, flagged.cancel_requested_at) == (FORWARDED, FORWARDED, 250.0)
    assert [s.cancel_requested_at for s in store.forwarded()] == [250.0]

    store.finish("done", COMPLETED, counts={"00": 1})
    before, done = store.request_cancel("done", 260.0)
    assert (before, done.state, done.cancel_requested_at) == (COMPLETED, COMPLETED, None)
    assert store.request_cancel("no-such-id", 260.0) is None



def schema_version(database: str, downgrade: bool = False) -> int:
    """The schema version a database records; with ``downgrade``, first turned back into one the
    first schema wrote (no inputs or cancel_requested_at, version 1)."""
    if database.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database, autocommit=True) as db:
            if downgrade:
                db.execute("ALTER TABLE submissions DROP COLUMN inputs, DROP COLUMN cancel_requested_at")
                db.execute("UPDATE schema_version SET version = 1")
            return db.execute("SELECT version FROM schema_version").fetchone()[0]
    import sqlite3

    with sqlite3.connect(database) as db:
        if downgrade:
            db.execute("ALTER TABLE submissions DROP COLUMN inputs")
            db.execute("ALTER TABLE submissions DROP COLUMN cancel_requested_at")
            db.execute("PRAGMA user_version = 1")
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_a_version_1_database_gets_the_inputs_and_cancel_columns(database):
    """A database written by the first schema (no inputs, no cancel_requested_at) opens, keeps its
    rows (without inputs) and can be cancelled; a new submission keeps its inputs."""
    store = open_store(database)
    store.add_submission(submission("old"))
    store.close()
    assert schema_version(database, downgrade=True) == 1
    store = open_store(database)
    try:
        assert store.get("old").state == ACCEPTED and store.get("old").cancel_requested_at is None
        assert store.get("old").inputs == {}
        assert store.request_cancel("old", 5.0)[1].state == CANCELLED
        store.add_submission(submission("new", inputs={"p0": 0.25}))
        assert store.get("new").inputs == {"p0": 0.25}
    finally:
        store.close()
    assert schema_version(database) == 2
