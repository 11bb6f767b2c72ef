#!/usr/bin/env python
"""Gateway load: concurrent clients submit Bell tasks through a real gateway, which is SIGKILLed midway.

``--clients`` clients (200) submit ``--tasks`` Bell tasks (2,000) on SV1, 10 shots each, through
``python -m gateway serve`` (dev configuration, one API token per client, SQLite) to the Braket test
service and moto's S3, both on loopback in this process. When half the tasks are accepted the
gateway is killed with SIGKILL and started again; a client whose POST fails because the gateway is
down retries (bounded, and with two instances it fails over to the other one). Each client submits
its share, then polls its tasks in order, every second, until each is final. In the same run, the
same load is submitted directly with the SDK (``AwsDevice(...).run``, same circuit, shots and
concurrency, ``.result()`` polled every second) as the baseline. Both sets of clients run in a
process of their own, so the test services keep this process's interpreter to themselves.

Prints accepted (answered 202), forwarded (accepted ids with a Braket task), completed (accepted ids
that came back COMPLETED with their counts), lost (accepted ids that did not: must be 0), duplicated
(accepted ids with more than one Braket task, by client token or by correlation tag: must be 0),
the acceptance latency (POST to 202, from a retried POST's first attempt) and, last,
``gateway: ratio X.XX (gateway N tasks/s / direct M tasks/s)``: tasks completed per second, first
submission to last result, the gateway's time including its kill and restart. Every task carries
an Idempotency-Key, so a POST repeated after the kill names the task it created: a gateway task at
Braket for no accepted id is reported too. Exits 1 if anything was lost, duplicated, left without an
accepted id or not accepted.

``--instances 2`` runs two gateway processes on one PostgreSQL (``--database postgresql://...``, or
a throwaway server started here with the machine's initdb and pg_ctl on loopback) and kills one.

Usage: pipenv run python bench/gateway.py [--tasks 2000] [--clients 200] [--instances 2 [--database URL]]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nh q[0];\ncnot q[0], q[1];\nc = measure q;\n"
SHOTS = 10
POLL_SECONDS = 1.0
"""How often a client asks after a task: the SDK's own default for ``.result()``
(``AwsQuantumTask.DEFAULT_RESULTS_POLL_INTERVAL``), used for the baseline too."""
FINAL = ("COMPLETED", "FAILED", "CANCELLED")
POST_ATTEMPTS = 100
"""A POST is tried at most this often (each retry waits up to 0.5 s): longer than a restart takes."""
HTTP_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
"""Long: an answer that is only slow is waited for rather than asked again."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def aws_environment(braket_url: str, s3_url: str) -> dict[str, str]:
    """The SDK and boto3 pointed at the test services with their supported settings; no real credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "AMZN_BRAKET_OUT_S3_BUCKET"}
    return env | {
        "BRAKET_ENDPOINT": braket_url, "AWS_ENDPOINT_URL_S3": s3_url,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
    }


# -- the gateway processes ----------------------------------------------------------------------

def client_token(n: int) -> str:
    return f"bench-token-{n:04d}"


def write_config(root: Path, name: str, port: int, database: str, clients: int) -> Path:
    """A dev configuration: one API token per client (subject client-NNNN, group researchers)."""
    tokens = "".join(
        f'\n[[gateway.api_tokens]]\nsubject = "client-{n:04d}"\ngroups = ["researchers"]\n'
        f'sha256 = "{hashlib.sha256(client_token(n).encode()).hexdigest()}"\n' for n in range(clients))
    path = root / f"{name}.toml"
    path.write_text(f"""[gateway]
host = "127.0.0.1"
port = {port}
database = "{database}"
audit_log = "state/audit.jsonl"
rate_limit_per_minute = 100000  # what is measured is throughput; a smaller --clients sends more a minute each
{tokens}""")
    return path


class GatewayProcess:
    """One ``python -m gateway serve`` on loopback: started, SIGKILLed and started again; its output in a log file."""

    def __init__(self, name: str, config: Path, port: int, cwd: Path, env: dict[str, str]) -> None:
        self.name, self.config, self.cwd, self.env = name, config, cwd, env
        self.url = f"http://127.0.0.1:{port}"
        self.log = cwd / f"{name}.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until /healthz answers; the seconds that took."""
        started = time.perf_counter()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--env", "dev", "--config", str(self.config)],
                cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"gateway {self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.05)
        self.kill()
        raise SystemExit(f"gateway {self.name} did not answer within {timeout:.0f} s:\n{self.tail()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL after 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""

    def first_error(self, lines: int = 150) -> Optional[str]:
        """The first ERROR the gateway logged, with its traceback; None if it logged none."""
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        start = next((i for i, line in enumerate(text) if " ERROR " in line), None)
        return None if start is None else "\n".join(text[start:start + lines])


@contextmanager
def throwaway_postgres(root: Path) -> Iterator[str]:
    """A PostgreSQL server on a free loopback port from the machine's initdb and pg_ctl (trust
    authentication, fsync on), removed afterwards; yields its URL. As root, it runs as the
    ``postgres`` user: the server refuses to run as root."""
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise SystemExit("gateway: --instances 2 without --database needs PostgreSQL's pg_ctl and initdb on PATH "
                         "(or pass --database postgresql://...)")
    bindir = Path(pg_ctl).resolve().parent
    data = root / "postgres"
    data.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(data, "postgres", "postgres")
        os.chmod(root, 0o755)  # the server's user must reach its data folder
    port = free_port()

    def run(*argv) -> None:
        subprocess.run(as_user + [str(a) for a in argv], check=True, capture_output=True, text=True)

    try:
        run(bindir / "initdb", "-D", data, "-U", "gateway", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(bindir / "pg_ctl", "-D", data, "-l", data / "server.log", "-w", "-t", "60",
            "-o", f"-h 127.0.0.1 -p {port} -k {data} -c max_connections=200", "start")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"gateway: starting PostgreSQL failed: {error.stderr or error.stdout}") from None
    try:
        yield f"postgresql://gateway@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)


# -- the clients: a process of their own (``--role``), so the test services keep this one's interpreter --

@dataclass
class Run:
    """What the gateway's clients saw."""

    started: float = 0.0
    accepted: dict[str, float] = field(default_factory=dict)  # id -> seconds from first attempt to 202
    last_accepted: float = 0.0
    retried: int = 0  # POSTs that needed more than one attempt
    refused: Counter = field(default_factory=Counter)  # "status body" of answers other than 202 -> how many
    gave_up: int = 0  # POSTs never accepted (attempts or deadline exhausted)
    completed: dict[str, float] = field(default_factory=dict)  # id -> when its COMPLETED answer came
    ended_otherwise: dict[str, str] = field(default_factory=dict)  # id -> final state and error, or wrong counts


async def submit(http: httpx.AsyncClient, urls: list[str], prefer: int, headers: dict, run: Run, deadline: float) -> Optional[str]:
    """POST one task until a 202, retrying while the gateway is down (bounded); the task id, or None.
    ``headers`` carry the task's Idempotency-Key: a POST the gateway stored before it was killed,
    and never answered, is answered with that task when it is sent again."""
    first = time.perf_counter()
    for attempt in range(POST_ATTEMPTS):
        url = urls[(prefer + attempt) % len(urls)]  # after a failure, the next instance (as a load balancer would)
        try:
            answer = await http.post(f"{url}/v1/tasks", json={"device": SV1, "shots": SHOTS, "program": BELL}, headers=headers)
        except httpx.TransportError:  # refused, reset or cut: the gateway is down
            wait = min(0.05 * 2 ** attempt, 0.5)
        else:
            if answer.status_code == 202:
                run.last_accepted = time.perf_counter()
                run.accepted[answer.json()["id"]] = run.last_accepted - first
                run.retried += attempt > 0
                return answer.json()["id"]
            if answer.status_code not in (429, 503):
                run.refused[f"{answer.status_code} {answer.text[:200]}"] += 1
                return None
            wait = float(answer.headers.get("retry-after", "1"))
        if time.perf_counter() + wait > deadline:
            break
        await asyncio.sleep(wait)
    run.gave_up += 1
    return None


async def collect(http: httpx.AsyncClient, urls: list[str], prefer: int, headers: dict, task_id: str, run: Run, deadline: float) -> None:
    """Poll one task every POLL_SECONDS until it is final (or the deadline); record how it ended."""
    attempt = 0
    while time.perf_counter() < deadline:
        url = urls[(prefer + attempt) % len(urls)]
        try:
            answer = await http.get(f"{url}/v1/tasks/{task_id}", headers=headers)
        except httpx.TransportError:
            attempt += 1
            await asyncio.sleep(0.2)
            continue
        status = answer.json() if answer.status_code == 200 else {"state": f"HTTP {answer.status_code}", "error": answer.text[:200]}
        if status["state"] == "COMPLETED":
            counts = (status.get("counts") or {}).get("registers", {}).get("c", {})
            if sum(counts.values()) == SHOTS and set(counts) <= {"00", "11"}:  # a Bell pair, in the user's register c
                run.completed[task_id] = time.perf_counter()
            else:
                run.ended_otherwise[task_id] = f"COMPLETED with counts {status.get('counts')}"
            return
        if status["state"] in FINAL or answer.status_code != 200:
            run.ended_otherwise[task_id] = f"{status['state']}: {status.get('error')}"
            return
        await asyncio.sleep(POLL_SECONDS)


async def client(n: int, count: int, urls: list[str], run: Run, deadline: float, tls: ssl.SSLContext) -> None:
    """One client with its own connections: submit its share, then collect each task in turn (as
    ``.result()`` on each would)."""
    headers = {"Authorization": f"Bearer {client_token(n)}"}
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT, verify=tls) as http:  # plain HTTP: the context is never used
        ids = [task_id for i in range(count)
               if (task_id := await submit(http, urls, n, headers | {"Idempotency-Key": f"bench-{n:04d}-{i:05d}"}, run, deadline))]
        for task_id in ids:
            await collect(http, urls, n, headers, task_id, run, deadline)


async def watch_half(run: Run, tasks: int, deadline: float) -> None:
    """Tell the bench (a line on stdout) once half the tasks are accepted: its cue to kill a gateway."""
    while len(run.accepted) < tasks // 2 and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    report({"event": "half", "accepted": len(run.accepted)})


def report(message: dict) -> None:
    print(json.dumps(message), flush=True)


def gateway_clients(urls: list[str], tasks: int, clients: int, seconds: float) -> None:
    """``--role gateway-clients``: drive the gateways; the outcome as one JSON line on stdout."""
    run = Run()
    deadline = time.perf_counter() + seconds
    tls = ssl.create_default_context()  # one for all: each client would otherwise load the CA bundle (40 ms)

    async def drive() -> None:
        run.started = time.perf_counter()
        await asyncio.gather(watch_half(run, tasks, deadline),
                             *(client(n, share(tasks, clients, n), urls, run, deadline, tls) for n in range(clients)))

    asyncio.run(drive())
    report({"event": "done", "accepted": run.accepted, "retried": run.retried, "refused": dict(run.refused),
            "gave_up": run.gave_up, "completed": len(run.completed), "ended_otherwise": run.ended_otherwise,
            "accepting_seconds": run.last_accepted - run.started,
            "seconds": (max(run.completed.values()) if run.completed else time.perf_counter()) - run.started})


def direct_clients(bucket: str, tasks: int, clients: int, seconds: float) -> None:
    """``--role direct-clients``: the same load straight to the test service with the SDK, one thread per
    client; the outcome as one JSON line on stdout."""
    import boto3
    from botocore.config import Config
    from braket.aws import AwsDevice, AwsSession
    from braket.ir.openqasm import Program

    deadline = time.perf_counter() + seconds
    # One session for every thread (botocore clients are thread-safe), with a connection per client.
    config = Config(max_pool_connections=clients, retries={"mode": "standard", "max_attempts": 10})
    device = AwsDevice(SV1, aws_session=AwsSession(boto3.Session(), config=config))
    latencies: list[float] = []
    done: list[float] = []

    def one_client(count: int) -> None:
        created = []
        for _ in range(count):
            start = time.perf_counter()
            created.append(device.run(Program(source=BELL), s3_destination_folder=(bucket, "direct"), shots=SHOTS,
                                      poll_timeout_seconds=max(1.0, deadline - time.perf_counter()),
                                      poll_interval_seconds=POLL_SECONDS))
            latencies.append(time.perf_counter() - start)
        for task in created:
            result = task.result()  # None once poll_timeout_seconds passed
            if result is not None and sum(result.measurement_counts.values()) == SHOTS:
                done.append(time.perf_counter())

    started = time.perf_counter()
    with ThreadPoolExecutor(clients, thread_name_prefix="direct") as pool:
        for future in [pool.submit(one_client, share(tasks, clients, n)) for n in range(clients)]:
            future.result()
    report({"event": "done", "completed": len(done), "latencies": latencies,
            "seconds": (max(done) if done else time.perf_counter()) - started})


def share(tasks: int, clients: int, n: int) -> int:
    """Client ``n``'s share of the tasks: as even as it gets."""
    return tasks // clients + (n < tasks % clients)


def spawn_clients(role: str, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--role", role, *argv], stdout=subprocess.PIPE, text=True)


def outcome(clients: subprocess.Popen, on_half=None) -> dict:
    """Read the clients' JSON lines until their outcome (their own deadline bounds this)."""
    result = None
    for line in clients.stdout:
        message = json.loads(line)
        if message["event"] == "half" and on_half is not None:
            on_half(message)
        elif message["event"] == "done":
            result = message
    clients.wait(timeout=60)
    if result is None:
        raise SystemExit(f"gateway: the clients ended ({clients.returncode}) without an outcome")
    return result


# -- the run ------------------------------------------------------------------------------------

def braket_tasks_per_submission(emulator, database: str, accepted: list[str]) -> tuple[Counter, int, int]:
    """For each accepted id, how many Braket tasks carry it as client token or its correlation tag;
    the gateway's Braket tasks of no accepted id (orphans); and the accepted submissions claimed more than once."""
    from gateway.store import open_store

    store = open_store(database)
    try:
        submissions = {task_id: store.get(task_id) for task_id in accepted}
        known = [s for s in submissions.values() if s is not None]
        reclaimed = sum(1 for s in known if s.attempts > 1)
    finally:
        store.close()
    by_token = Counter(t["clientToken"] for t in emulator.tasks())
    by_correlation = Counter(t["tags"].get("correlation") for t in emulator.tasks())
    per_id = Counter({task_id: max(by_token[task_id], by_correlation[s.correlation_id] if s else 0)
                      for task_id, s in submissions.items()})
    gateway_tasks = sum(1 for t in emulator.tasks() if "correlation" in t["tags"])
    orphans = gateway_tasks - sum(1 for task_id in accepted if by_token[task_id])
    return per_id, orphans, reclaimed


def warm_up(bucket: str) -> None:
    """One task first: the simulator compiles on its first run (seconds), which neither side should pay."""
    from braket.aws import AwsDevice
    from braket.ir.openqasm import Program

    AwsDevice(SV1).run(Program(source=BELL), s3_destination_folder=(bucket, "warm-up"), shots=SHOTS).result()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks in all (default 2000)")
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients, each with its share (default 200)")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=1, help="2: two gateways on one PostgreSQL")
    parser.add_argument("--database", help="postgresql://... for --instances 2 (default: a throwaway server on loopback)")
    parser.add_argument("--deadline", type=float, default=360.0, help="seconds each half of the run may take (default 360)")
    parser.add_argument("--role", choices=("gateway-clients", "direct-clients"), help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tasks < 2 or args.clients < 1 or args.clients > args.tasks:
        parser.error(f"--tasks {args.tasks} --clients {args.clients} is not allowed: expected 1 <= clients <= tasks, tasks >= 2")
    if not args.deadline > 0:
        parser.error(f"--deadline {args.deadline} is not allowed: expected a positive number of seconds")
    if args.database and (args.instances != 2 or not args.database.startswith("postgresql://")):
        parser.error(f"--database {args.database.split('://')[0]}://... is not allowed: expected a postgresql:// URL with --instances 2")
    if args.role == "gateway-clients":
        gateway_clients(args.urls.split(","), args.tasks, args.clients, args.deadline)
        return 0
    if args.role == "direct-clients":
        direct_clients(args.bucket, args.tasks, args.clients, args.deadline)
        return 0
    load = ["--tasks", str(args.tasks), "--clients", str(args.clients), "--deadline", str(args.deadline)]

    from tests.braket_emulator import BraketEmulator, moto_s3_server

    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gateway-")))
        subprocess.run([sys.executable, str(REPO / "main.py")], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "CDKTF_OUTDIR": str(root / "cdktf.out")})
        from jobs.stack_outputs import resolve_outputs

        bucket = resolve_outputs("dev", root=root).results_bucket_name
        s3_url = stack.enter_context(moto_s3_server())
        emulator = stack.enter_context(BraketEmulator(s3_endpoint=s3_url, max_workers=8))
        env = aws_environment(emulator.url, s3_url) | {"PYTHONPATH": str(REPO)}
        os.environ.clear()
        os.environ.update(env)  # for this process's SDK and every process started from here
        import boto3

        boto3.client("s3").create_bucket(Bucket=bucket)
        (root / "state").mkdir()
        if args.instances == 2:
            database = args.database or stack.enter_context(throwaway_postgres(Path(stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bench-gateway-pg-")))))
            from gateway.store import StoreError, open_store

            try:
                open_store(database).close()
            except StoreError as error:
                print(f"gateway: {error}", file=sys.stderr)
                return 2
        else:
            database = str(root / "state" / "gateway.sqlite3")
        warm_up(bucket)

        instances = []
        for i in range(args.instances):
            port, name = free_port(), f"gateway-{i + 1}"
            instances.append(GatewayProcess(name, write_config(root, name, port, database, args.clients), port, root, env))
        for instance in instances:
            instance.start()
            stack.callback(instance.stop)
        backend = "SQLite" if args.instances == 1 else "PostgreSQL"
        print(f"{args.tasks} Bell tasks ({SHOTS} shots, SV1), {args.clients} clients, {args.instances} gateway "
              f"instance{'s' if args.instances > 1 else ''} ({backend}), {instances[-1].name} SIGKILLed at half", flush=True)
        before = len(emulator.tasks())
        victim, kill = instances[-1], {}

        def kill_and_restart(message: dict) -> None:
            victim.kill()
            kill.update(accepted=message["accepted"], restart_seconds=victim.start())
            print(f"killed {victim.name} with SIGKILL at {kill['accepted']} accepted; it answered again after "
                  f"{kill['restart_seconds']:.1f} s", flush=True)

        run = outcome(spawn_clients("gateway-clients", "--urls", ",".join(i.url for i in instances), *load), kill_and_restart)
        for instance in instances:
            instance.stop()
            if (error := instance.first_error()) is not None:
                print(f"{instance.name} logged an error:\n{error}", file=sys.stderr)
        accepted = list(run["accepted"])
        per_id, orphans, reclaimed = braket_tasks_per_submission(emulator, database, accepted)
        forwarded = sum(1 for n in per_id.values() if n >= 1)
        duplicated = sum(1 for n in per_id.values() if n > 1)
        lost = len(accepted) - run["completed"]
        print(f"accepted {len(accepted)}, forwarded {forwarded}, completed {run['completed']}, lost {lost}, duplicated {duplicated}")
        if run["ended_otherwise"]:
            print(f"not completed: {Counter(run['ended_otherwise'].values()).most_common(5)}")
        if run["refused"] or run["gave_up"]:
            print(f"never accepted: {run['gave_up']} gave up retrying, refused {run['refused']}")
        print(f"Braket tasks from the gateway: {len(emulator.tasks()) - before}, of which {orphans} for no accepted id "
              f"(must be 0: a POST repeated after the kill names the task its Idempotency-Key created); "
              f"{reclaimed} accepted submissions claimed again after their lease ran out")
        if accepted:
            latencies = list(run["accepted"].values())
            print(f"acceptance latency (POST -> 202): p50 {percentile(latencies, 50) * 1000:.0f} ms, "
                  f"p99 {percentile(latencies, 99) * 1000:.0f} ms ({run['retried']} POSTs retried across the kill, "
                  f"timed from their first attempt); all accepted {run['accepting_seconds']:.1f} s after the first POST")
        print(f"gateway: {run['completed']} tasks completed in {run['seconds']:.1f} s", flush=True)

        print(f"direct SDK baseline: AwsDevice.run from {args.clients} threads", flush=True)
        after = len(emulator.tasks())
        direct = outcome(spawn_clients("direct-clients", "--bucket", bucket, *load))
        assert len(emulator.tasks()) - after == args.tasks, "the baseline created a task twice or not at all"

    print(f"direct: {direct['completed']} tasks completed in {direct['seconds']:.1f} s; creation latency (AwsDevice.run) "
          f"p50 {percentile(direct['latencies'], 50) * 1000:.0f} ms, p99 {percentile(direct['latencies'], 99) * 1000:.0f} ms")
    gateway_rate, direct_rate = run["completed"] / run["seconds"], direct["completed"] / direct["seconds"]
    print(f"gateway: ratio {gateway_rate / direct_rate:.2f} (gateway {gateway_rate:.1f} tasks/s / direct {direct_rate:.1f} tasks/s)")
    return 1 if lost or duplicated or orphans or len(accepted) < args.tasks else 0


if __name__ == "__main__":
    sys.exit(main())
