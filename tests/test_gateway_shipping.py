"""Shipping the audit chain to the Object Lock bucket (gateway/shipping.py): against moto's S3 server on
loopback, with a bucket like `QuantumAuditBucket` (Object Lock, COMPLIANCE default retention), and both
stores (SQLite with its JSONL log, a real PostgreSQL server keeping the chain). The shipper's client
may only PutObject (the role's one permission), so every test counts its calls; the bucket is
inspected with a client of the test's own."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from gateway.audit import AuditError, AuditLog, AuditTrail, audit_record, verify_command
from gateway.shipping import AuditShipper, ShippingError, s3_client
from gateway.store import SqliteStore
from tests.test_gateway_cli import write_config as cli_config

pytest_plugins = ["tests.gateway_postgres"]

REPO = Path(__file__).resolve().parents[1]
BUCKET = "quantum-cloud-gateway-audit-dev"
ENV = "dev"
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
KEY = re.compile(r"^audit/dev/(\d{12})-(\d{12})\.jsonl$")


# -- S3 on loopback -----------------------------------------------------------------------------

@pytest.fixture
def aws_env(monkeypatch):
    """Test credentials only, and no endpoint or profile from the environment: nothing reaches AWS."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)


def reset_moto(url: str) -> None:
    """moto keeps its buckets per process, across servers: every test starts empty."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()


def make_audit_bucket(url: str):
    """The bucket as `QuantumAuditBucket` makes it; returns the test's own client (any call) to inspect it."""
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    return s3


@pytest.fixture
def s3(aws_env) -> Iterator[tuple[str, object]]:
    """(URL, inspecting client) of a fresh moto S3 server holding the audit bucket."""
    from tests.braket_emulator import moto_s3_server

    with moto_s3_server() as url:
        reset_moto(url)
        yield url, make_audit_bucket(url)


class S3Server:
    """moto's S3 server on one loopback port that can go down (connections refused: its listening socket
    is closed, which moto's ``stop`` does not do) and come back on the same port with the same buckets."""

    def __init__(self) -> None:
        self.port = 0
        self._server = None

    def up(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]

    def down(self) -> None:
        self._server.stop()
        self._server._server.server_close()
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Calls(list):
    """The operations a client called (botocore's ``before-call`` event, before anything is sent)."""

    def __call__(self, model, **_) -> None:
        self.append(model.name)


def shipper_client(url: str, *, max_attempts: int = 3):
    """The shipper's client as the gateway builds it (`s3_client`), its calls counted."""
    client = s3_client("us-east-1", url, max_attempts=max_attempts)
    client.calls = Calls()
    client.meta.events.register("before-call.s3", client.calls)
    return client


def shipper(store, trail, client, *, max_records: int = 5, interval: float = 60) -> AuditShipper:
    return AuditShipper(store, trail, client, bucket=BUCKET, prefix="audit", env=ENV, interval_seconds=interval,
                        max_records_per_object=max_records)


# -- the chain ----------------------------------------------------------------------------------

def sqlite_trail(root: Path) -> tuple[SqliteStore, AuditTrail]:
    """A gateway process's store and trail (a new call: a restarted process, nothing kept in memory)."""
    store = SqliteStore(root / "gateway.sqlite3")
    return store, AuditTrail(AuditLog(root / "audit.jsonl"), store)


def decide(trail: AuditTrail, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        trail.append(audit_record("decision", decision="deny", rules=["shots-ceiling"], reason=f"request {i}",
                                  subject="alice", device_arn=SV1, shots=i + 1))


def latest_objects(s3) -> dict[str, bytes]:
    """Key -> bytes of each object's current version, in key order."""
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in sorted(listed, key=lambda o: o["Key"])}


def all_versions(s3) -> dict[str, list[bytes]]:
    versions: dict[str, list[bytes]] = {}
    for v in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
        body = s3.get_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        versions.setdefault(v["Key"], []).append(body)
    return versions


def ranges(keys) -> list[tuple[int, int]]:
    found = []
    for key in keys:
        match = KEY.match(key)
        assert match, key
        found.append((int(match.group(1)), int(match.group(2))))
    return found


def assert_one_chain(objects: dict[str, bytes], head: int, max_records: int) -> None:
    """The objects, in key order, hold records 1..head once each: ranges that follow each other, no
    overlap, no gap, each object's lines the records its key names, at most ``max_records``."""
    spans = ranges(objects)
    assert spans and spans[0][0] == 1 and spans[-1][1] == head, spans
    for (_, last), (first, _) in zip(spans, spans[1:]):
        assert first == last + 1, spans
    for (first, last), body in zip(spans, objects.values()):
        seqs = [json.loads(line)["seq"] for line in body.splitlines()]
        assert seqs == list(range(first, last + 1)) and len(seqs) <= max_records and body.endswith(b"\n")


def download(objects: dict[str, bytes], directory: Path) -> Path:
    """What ``aws s3 cp s3://BUCKET/audit/dev/ DIR --recursive`` writes."""
    directory.mkdir()
    for key, body in objects.items():
        (directory / key.rsplit("/", 1)[1]).write_bytes(body)
    return directory


# -- SQLite ----------------------------------------------------------------------------------------

def test_records_are_shipped_in_objects_that_verify_as_the_log(s3, tmp_path, capsys):
    url, inspect = s3
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 23)
    client = shipper_client(url)
    ship = shipper(store, trail, client, max_records=5)

    assert ship.run_once() == 23
    objects = latest_objects(inspect)
    assert list(objects) == [f"audit/dev/{a:012d}-{b:012d}.jsonl" for a, b in [(1, 5), (6, 10), (11, 15), (16, 20), (21, 23)]]
    assert_one_chain(objects, 23, 5)
    log = (tmp_path / "audit.jsonl").read_bytes()
    assert b"".join(objects.values()) == log
    assert store.audit_shipping() == (23, None)
    assert client.calls == ["PutObject"] * 5

    for key, body in objects.items():
        head = inspect.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert head["ContentType"] == "application/x-ndjson"
        assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        # moto applies the bucket's default retention to each new object, as S3 does.
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > datetime.now(timezone.utc)

    directory = download(objects, tmp_path / "downloaded")
    assert verify_command(directory, head=store.audit_head()[1]) == 0
    assert capsys.readouterr().out == f"audit log OK: 23 records, head {store.audit_head()[1]}\n"

    assert ship.run_once() == 0 and client.calls == ["PutObject"] * 5  # nothing new: no call at all
    decide(trail, 2, start=23)
    assert ship.run_once() == 2
    assert list(latest_objects(inspect))[-1] == "audit/dev/000000000024-000000000025.jsonl"
    assert client.calls == ["PutObject"] * 6


def test_verify_dir_names_the_object_at_fault(s3, tmp_path, capsys):
    url, inspect = s3
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 12)
    shipper(store, trail, shipper_client(url), max_records=4).run_once()
    directory = download(latest_objects(inspect), tmp_path / "downloaded")

    middle = directory / "000000000005-000000000008.jsonl"
    kept = middle.read_bytes()
    middle.unlink()
    assert verify_command(directory) == 1
    assert ("line 5 (000000000009-000000000012.jsonl line 1): seq 9 where seq 5 was expected "
            "(line 4 (000000000001-000000000004.jsonl line 4) has seq 4): records are missing") in capsys.readouterr().out

    middle.write_bytes(kept.replace(b'"reason":"request 5"', b'"reason":"request X"'))
    assert verify_command(directory) == 1
    assert "line 6 (000000000005-000000000008.jsonl line 2): seq 6: the hash does not match" in capsys.readouterr().out

    empty = tmp_path / "empty"
    empty.mkdir()
    assert verify_command(empty) == 2
    assert capsys.readouterr().err == f"error: audit log {empty}: cannot be read (a directory without *.jsonl files)\n"


def test_the_bucket_refuses_an_upload_without_a_checksum(s3):
    """Why the shipper names a checksum: without one (and without botocore's default CRC32), the Object
    Lock bucket refuses the object, in moto as in S3."""
    url, _ = s3
    bare = boto3.client("s3", endpoint_url=url, region_name="us-east-1", config=Config(request_checksum_calculation="when_required"))
    with pytest.raises(ClientError) as refused:
        bare.put_object(Bucket=BUCKET, Key="audit/dev/x.jsonl", Body=b"{}\n")
    # S3 answers InvalidRequest; moto its own code, with the same reason.
    assert "header required to upload an object with a retention period configured using Object Lock" in \
        refused.value.response["Error"]["Message"]
    bare.put_object(Bucket=BUCKET, Key="audit/dev/x.jsonl", Body=b"{}\n", ChecksumAlgorithm="SHA256")


class CrashBeforeMark:
    """The store of a gateway that dies after the upload, before recording it."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def end_audit_shipping(self, shipped_seq: int, last_seq: int) -> bool:
        raise RuntimeError("killed")


def test_a_crash_between_upload_and_mark_uploads_the_same_object_again(s3, tmp_path):
    url, inspect = s3
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 8)
    crashing = shipper(CrashBeforeMark(store), trail, shipper_client(url), max_records=5)
    with pytest.raises(RuntimeError, match="killed"):
        crashing.run_once()
    assert store.audit_shipping() == (0, 5)  # uploaded, not marked
    store.close()

    decide(sqlite_trail(tmp_path)[1], 4, start=8)  # more records before the restart
    store, trail = sqlite_trail(tmp_path)  # the restarted gateway: no offset, no memory of the upload
    client = shipper_client(url)
    assert shipper(store, trail, client, max_records=5).run_once() == 12
    assert client.calls == ["PutObject"] * 3

    objects = latest_objects(inspect)
    assert list(objects) == ["audit/dev/000000000001-000000000005.jsonl", "audit/dev/000000000006-000000000010.jsonl",
                             "audit/dev/000000000011-000000000012.jsonl"]
    assert_one_chain(objects, 12, 5)
    assert b"".join(objects.values()) == (tmp_path / "audit.jsonl").read_bytes()
    versions = all_versions(inspect)
    assert len(versions["audit/dev/000000000001-000000000005.jsonl"]) == 2  # the re-upload: an identical version
    assert all(len(set(bodies)) == 1 for bodies in versions.values())
    assert store.audit_shipping() == (12, None)


def test_an_s3_outage_loses_nothing_and_the_next_round_ships(aws_env, tmp_path, caplog):
    server = S3Server()
    server.up()
    try:
        reset_moto(server.url)
        inspect = make_audit_bucket(server.url)
        store, trail = sqlite_trail(tmp_path)
        decide(trail, 7)
        server.down()  # before the shipper's first connection
        client = shipper_client(server.url, max_attempts=1)
        ship = shipper(store, trail, client, max_records=10, interval=0.05)
        with pytest.raises(ShippingError, match=r"records 1-7 were not uploaded \(EndpointConnectionError: "):
            ship.run_once()
        with caplog.at_level(logging.INFO, logger="gateway.shipping"):
            ship.start()
            deadline = time.monotonic() + 10
            while len([r for r in caplog.records if r.levelno == logging.ERROR]) < 2:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.02)
            decide(trail, 5, start=7)  # accepted during the outage
            assert store.audit_shipping() == (0, 7)  # the range chosen before the outage stays the next object
            server.up()
            while store.audit_shipping() != (12, None):
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.02)
            ship.stop()
        errors = [r for r in caplog.records if r.name == "gateway.shipping" and r.levelno == logging.ERROR]
        message = errors[0].getMessage()
        assert "\n" not in message and message.startswith("audit shipping failed, retried in 0.05 s: ")
        assert f"s3://{BUCKET}/audit/dev/000000000001-000000000007.jsonl: records 1-7 were not uploaded" in message
        objects = latest_objects(inspect)
        assert list(objects) == ["audit/dev/000000000001-000000000007.jsonl", "audit/dev/000000000008-000000000012.jsonl"]
        assert b"".join(objects.values()) == (tmp_path / "audit.jsonl").read_bytes()
        assert set(client.calls) == {"PutObject"} and len(client.calls) >= 5  # failed attempts, then the two objects
    finally:
        if server._server is not None:
            server.down()


def test_acceptance_never_waits_for_s3(s3, tmp_path):
    """An S3 that takes the connection and never answers: the round waits in PutObject, decisions go on
    being recorded; when the upload fails, the range stays pending and ships later."""
    url, inspect = s3
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 3)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen()
    hung.settimeout(10)
    ship = shipper(store, trail, shipper_client(f"http://127.0.0.1:{hung.getsockname()[1]}", max_attempts=1))
    ship.start()
    try:
        connection, _ = hung.accept()  # the round is in PutObject, waiting for an answer
        appending = threading.Thread(target=decide, args=(trail, 50, 3))
        appending.start()
        appending.join(10)
        assert not appending.is_alive()
        assert store.audit_head()[0] == 53 and store.audit_shipping() == (0, 3)
    finally:
        connection.close()  # the upload fails
        hung.close()
        started = time.monotonic()
        ship.stop(timeout=5)
    assert time.monotonic() - started < 5 and not ship._thread.is_alive()
    assert store.audit_shipping() == (0, 3)

    assert shipper(store, trail, shipper_client(url), max_records=100).run_once() == 53
    assert ranges(latest_objects(inspect)) == [(1, 3), (4, 53)]


def test_stop_ships_what_was_appended_since_the_last_round(s3, tmp_path):
    url, inspect = s3
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 3)
    client = shipper_client(url)
    ship = shipper(store, trail, client, max_records=10, interval=60)  # one round at start, the next at stop
    ship.start()
    deadline = time.monotonic() + 10
    while store.audit_shipping() != (3, None):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    decide(trail, 4, start=3)
    ship.stop()
    assert not ship._thread.is_alive()
    assert ranges(latest_objects(inspect)) == [(1, 3), (4, 7)]
    assert client.calls == ["PutObject"] * 2


def test_audit_log_lines_keeps_its_offset_and_starts_over_after_a_restart(tmp_path):
    store, trail = sqlite_trail(tmp_path)
    decide(trail, 10)
    lines = (tmp_path / "audit.jsonl").read_bytes().splitlines(keepends=True)
    log = trail.log
    assert trail.lines(1, 3) == lines[0:3] and trail.lines(4, 5) == lines[3:5]
    assert log.lines(2, 2) == lines[1:2] and log.lines(8, 10) == lines[7:10]  # back to the start; forward, skipping
    with pytest.raises(AuditError, match=r"does not start record 11: records 11-11 cannot be read"):
        log.lines(11, 11)
    with pytest.raises(ValueError, match=r"audit records 3-2 are not allowed: expected whole numbers 1 <= first <= last"):
        log.lines(3, 2)

    # Line 2 garbled (same length): a reader past it does not read it again, a new one (a restart) does.
    garbled = lines[1][:20] + b"#" * (len(lines[1]) - 21) + b"\n"
    (tmp_path / "audit.jsonl").write_bytes(b"".join(lines[:1] + [garbled] + lines[2:]))
    decide(trail, 2, start=10)
    added = (tmp_path / "audit.jsonl").read_bytes().splitlines(keepends=True)[10:]
    assert log.lines(11, 12) == added
    with pytest.raises(AuditError, match="byte [0-9]+ does not start record 2: records 11-12 cannot be read"):
        AuditLog(tmp_path / "audit.jsonl").lines(11, 12)


# -- the stores' shipping state ----------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "gateway.sqlite3")
    else:
        from gateway.store_postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgresql_dsn"))
    yield store
    store.close()


def test_the_shipping_state_moves_only_by_compare_and_set(any_store):
    store = any_store
    assert store.audit_shipping() == (0, None)
    assert store.end_audit_shipping(0, 5) is False  # nothing pending
    assert store.begin_audit_shipping(0, 5) is True
    assert store.begin_audit_shipping(0, 7) is False  # another instance's range is pending
    assert store.audit_shipping() == (0, 5)
    assert store.end_audit_shipping(0, 4) is False
    assert store.end_audit_shipping(0, 5) is True
    assert store.end_audit_shipping(0, 5) is False  # already marked (by another instance)
    assert store.begin_audit_shipping(0, 9) is False  # an old state
    assert store.audit_shipping() == (5, None)
    for bad in [(5, 5), (-1, 3), (True, 3), (0, 2.5)]:
        with pytest.raises(ValueError, match=r"^audit shipping range .* is not allowed: expected whole numbers 0 <= shipped_seq < last_seq$"):
            store.begin_audit_shipping(*bad)
        with pytest.raises(ValueError, match=r"is not allowed"):
            store.end_audit_shipping(*bad)
    assert store.audit_shipping() == (5, None)


# -- PostgreSQL: the database keeps the chain, several instances ship it --------------------------------

def test_postgres_records_in_a_range(postgresql_dsn):
    from gateway.store_postgres import PostgresStore

    store = PostgresStore(postgresql_dsn)
    try:
        trail = AuditTrail(None, store)
        decide(trail, 6)
        lines = store.audit_records(2, 4)
        assert [json.loads(line)["seq"] for line in lines] == [2, 3, 4] and all(line.endswith("\n") for line in lines)
        assert trail.lines(1, 6) == [line.encode() for line in store.audit_lines()]
        with pytest.raises(AuditError, match=r"records 5-7 were asked for, 2 are stored"):
            store.audit_records(5, 7)
        with pytest.raises(ValueError, match="audit records 0-2 are not allowed"):
            store.audit_records(0, 2)
    finally:
        store.close()


def test_postgres_two_instances_ship_one_chain_concurrently(s3, postgresql_dsn, tmp_path, capsys):
    from gateway.store_postgres import PostgresStore

    url, inspect = s3
    stores = [PostgresStore(postgresql_dsn) for _ in range(2)]
    try:
        trails = [AuditTrail(None, store) for store in stores]
        clients = [shipper_client(url) for _ in stores]
        shippers = [shipper(store, trail, client, max_records=4, interval=0.01)
                    for store, trail, client in zip(stores, trails, clients)]
        for ship in shippers:
            ship.start()
        appenders = [threading.Thread(target=decide, args=(trail, 30, 100 * n)) for n, trail in enumerate(trails)]
        for thread in appenders:
            thread.start()
        for thread in appenders:
            thread.join(30)
        for ship in shippers:  # one after the other: the second's last round ships what the first left
            ship.stop()
        assert stores[0].audit_shipping() == (60, None)

        objects = latest_objects(inspect)
        assert_one_chain(objects, 60, 4)
        assert all(len(set(bodies)) == 1 for bodies in all_versions(inspect).values())  # repeats are identical
        stores[0].export_audit(tmp_path / "exported.jsonl")
        assert b"".join(objects.values()) == (tmp_path / "exported.jsonl").read_bytes()
        assert verify_command(download(objects, tmp_path / "downloaded"), head=stores[1].audit_head()[1]) == 0
        assert capsys.readouterr().out.startswith("audit log OK: 60 records")
        calls = clients[0].calls + clients[1].calls
        assert set(calls) == {"PutObject"} and len(calls) >= len(objects)
    finally:
        for store in stores:
            store.close()


def test_postgres_instances_agree_on_one_range(s3, postgresql_dsn):
    """Both read the same state and pick different ranges (their heads differ): one range wins, the other
    instance ships nothing this round, and no object overlaps another."""
    from gateway.store_postgres import PostgresStore

    url, inspect = s3
    first, second = PostgresStore(postgresql_dsn), PostgresStore(postgresql_dsn)
    try:
        decide(AuditTrail(None, first), 3)
        assert first.begin_audit_shipping(0, 3)  # the first instance chose 1-3 ...
        decide(AuditTrail(None, second), 2, start=3)  # ... while the second saw 5 records
        late = shipper(second, AuditTrail(None, second), shipper_client(url), max_records=10)
        assert late.ship_once() == (1, 3)  # the pending range, not 1-5
        assert late.ship_once() == (4, 5)
        assert late.ship_once() is None
        assert ranges(latest_objects(inspect)) == [(1, 3), (4, 5)]
    finally:
        first.close()
        second.close()


# -- python -m gateway serve ------------------------------------------------------------------------

def write_outputs(root: Path, **outputs) -> None:
    """The dev stack's outputs as `jobs.stack_outputs` reads them from a synthesized stack."""
    path = root / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json"
    path.parent.mkdir(parents=True)
    values = {"environment": "dev", "region": "us-east-1", "allowed_devices": [SV1], "submission": "direct", **outputs}
    path.write_text(json.dumps({"output": {name: {"value": value} for name, value in values.items()}}))


def write_config(root: Path, port: int, shipping: str) -> Path:
    return cli_config(root, port, f"\n[gateway.audit_shipping]\n{shipping}\n")


def gateway(*args: str, cwd: Path, **kwargs):
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, **kwargs)


def test_serve_without_an_audit_bucket_is_one_line_and_exit_2(aws_env, tmp_path):
    write_outputs(tmp_path)  # dev: no gateway, no audit_bucket_name
    config = write_config(tmp_path, 8443, "interval_seconds = 5")
    run = gateway("serve", "--env", "dev", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert run.stderr == ("gateway: gateway.audit_shipping.bucket=None is not allowed: expected a bucket name "
                          "(the dev stack has no audit bucket output)\n")
    assert not (tmp_path / "state" / "gateway.sqlite3").exists()  # refused before anything was opened


@contextmanager
def serving(config: Path, port: int, cwd: Path) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--env", "dev", "--config", str(config)],
                               cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout.read() if process.poll() is not None else "no answer in 30 s"
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_ships_the_audit_log_on_stop(aws, free_port, tmp_path):
    """The gateway as an operator runs it, forwarding to the Braket test service: with a long interval,
    the decision, forwarded and finished records go in the last round, when SIGTERM stops it."""
    import signal

    from tests.conftest import DEV_BUCKET

    port = free_port
    url = os.environ["AWS_ENDPOINT_URL_S3"]
    inspect = make_audit_bucket(url)
    write_outputs(tmp_path, results_bucket_name=DEV_BUCKET)
    config = write_config(tmp_path, port, f'bucket = "{BUCKET}"\nendpoint_url = "{url}"\ninterval_seconds = 3600\n'
                                          "max_records_per_object = 2")
    with serving(config, port, tmp_path) as process:
        headers = {"Authorization": "Bearer dev-token-alice"}
        program = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;\n"
        accepted = httpx.post(f"http://127.0.0.1:{port}/v1/tasks", json={"device": SV1, "shots": 20, "program": program},
                              headers=headers, timeout=10)
        assert accepted.status_code == 202, accepted.text
        deadline = time.monotonic() + 30
        while httpx.get(f"http://127.0.0.1:{port}/v1/tasks/{accepted.json()['id']}", headers=headers, timeout=5).json()["state"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert latest_objects(inspect) == {}  # the first round, at start, had nothing to ship
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    objects = latest_objects(inspect)
    assert list(objects) == ["audit/dev/000000000001-000000000002.jsonl", "audit/dev/000000000003-000000000003.jsonl"]
    assert b"".join(objects.values()) == (tmp_path / "state" / "audit.jsonl").read_bytes()
    verified = gateway("audit", "verify", str(download(objects, tmp_path / "downloaded")),
                       "--database", str(tmp_path / "state" / "gateway.sqlite3"), cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.startswith("audit log OK: 3 records"), verified.stdout + verified.stderr


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
