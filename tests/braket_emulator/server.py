"""In-process emulator of the Amazon Braket control plane (rest-json, API version 2019-09-01).

Wire format, as botocore's ``braket`` service model describes it:

* Requests and responses are JSON bodies; ARNs in the path are single URI labels,
  so botocore percent-encodes ``:`` and ``/`` (``/quantum-task/arn%3Aaws%3Abraket...``).
* ``action``, ``deviceParameters`` and ``deviceCapabilities`` are ``jsonvalue`` strings:
  a JSON document serialized *inside* a JSON string.
* Timestamps (``createdAt``/``endedAt``) are ISO-8601 strings (``2025-01-15T12:00:00.123Z``),
  the ``timestampFormat`` the model declares; botocore would also accept epoch numbers.
* Errors carry the status code, the code in the ``x-amzn-ErrorType`` header, and a body
  ``{"message": ...}``; botocore's rest-json parser reads the code from that header.
* The region of a call is read from the SigV4 credential scope of the ``Authorization``
  header (``Credential=AKID/20250101/us-west-1/braket/aws4_request``), then from a
  ``braket.<region>.amazonaws.com`` Host, else the constructor default. Signatures are
  never verified; every ARN uses account ``123456789012``.

What a task does: ``programs.py`` decides at CreateQuantumTask what the device's properties
refuse (a ValidationException, nothing queued); a worker runs the program on the local
simulator the device maps to (``gradients.py`` adds SV1's adjoint gradient); ``results.py``
writes results.json in Braket's shape and checks it with the SDK's schema before storing it.

Spending limits (CreateSpendingLimit, UpdateSpendingLimit, DeleteSpendingLimit,
SearchSpendingLimits) are ``spending.py``'s, which also gates CreateQuantumTask on a QPU with a limit
and tracks each charged task's queued and total spend until it ends (``Task.settle``).

Hybrid jobs (CreateJob, GetJob, CancelJob, SearchJobs) are ``jobs.py``'s: each runs its entry
point in a subprocess of this interpreter, as the role it was passed. The job's calls carry
credentials the emulator issued for it (their access key id, read from the SigV4 credential
scope, names the job), and with IAM enforced they are decided by that role's policies
(``roles=``), every other call by ``identity``'s.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import sys
import threading
import warnings
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from ipaddress import ip_address
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError

from braket.ir.ahs import Program as AhsProgram
from braket.ir.openqasm import Program as OpenQASMProgram

from . import ahs, gradients, jobs, programs, results, spending
from .access import ACCOUNT_ID, CallerIdentity, iam_device_arn
from .devices import AHS, DEVICES, OPENQASM, Device

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}
DEVICE_STATUSES = {"ONLINE", "OFFLINE", "RETIRED"}
DEVICE_FILTERS = {"deviceArn", "deviceName", "providerName", "deviceType", "deviceStatus"}
Response = tuple[int, dict[str, Any]]


_SIMULATION_LOCK = threading.Lock()
# botocore's service models (S3's is large), parsed once per process and shared by every
# emulator's own session: a new session would parse them again (50 ms per emulator).
_BOTOCORE_LOADER = botocore.loaders.create_loader()


def _fresh_session() -> boto3.session.Session:
    """A session of its own (nothing shared with the SDK's), reading the shared models."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _BOTOCORE_LOADER)
    return boto3.session.Session(botocore_session=core)


# DM1 runs whatever it is sent, as the service does; the simulator's advice is noise here.
warnings.filterwarnings("ignore", message="You are running a noise-free circuit", category=UserWarning)


class ApiError(Exception):
    """A modeled Braket error: HTTP status + error code (``x-amzn-ErrorType``) + message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _validation(message: str) -> ApiError:
    return ApiError(400, "ValidationException", message)


def _iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds, the format Braket uses for timestamps."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


@dataclass
class Knobs:
    """Fault-injection settings; every field can be changed at runtime with ``configure``."""

    api_latency: float = 0.0  # seconds slept before answering each API call
    queue_delay: float = 0.0  # seconds a task stays QUEUED before RUNNING
    failure_rate: float = 0.0  # fraction of tasks that end FAILED (seeded)
    throttle_rate: float = 0.0  # fraction of API calls answered 429 ThrottlingException (seeded)
    seed: int = 0
    device_status: dict[str, str] = field(default_factory=dict)  # ARN -> ONLINE|OFFLINE|RETIRED


@dataclass
class Task:
    arn: str
    client_token: str
    device: Device
    region: str
    shots: int
    bucket: str
    directory: str
    action: str  # as created (results.json echoes it)
    shape: programs.ProgramShape | None  # an OpenQASM program's (shape.source runs); None: AHS
    device_parameters: str
    tags: dict[str, str]
    inject_failure: bool
    queue_delay: float
    job_arn: str | None = None  # the hybrid job whose token (jobToken) it was created with
    created_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    status: str = "QUEUED"
    failure_reason: str | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    # Called with the end state when the task ends: moves its charge on a spending limit (spending.py).
    settle: Callable[[str], None] | None = None

    def summary(self) -> dict[str, Any]:
        """QuantumTaskSummary (SearchQuantumTasks) shape."""
        out = {"quantumTaskArn": self.arn, "status": self.status, "deviceArn": self.device.arn,
               "shots": self.shots, "outputS3Bucket": self.bucket,
               "outputS3Directory": self.directory, "createdAt": _iso(self.created_at),
               "endedAt": _iso(self.ended_at), "tags": self.tags}
        return {k: v for k, v in out.items() if v is not None}

    def finish(self, status: str, reason: str | None = None) -> None:
        self.status, self.failure_reason, self.ended_at = status, reason, time.time()
        self.wake.set()
        if self.settle is not None:
            self.settle(status)


class _Server(ThreadingHTTPServer):
    """Like Braket's endpoint under load: hundreds of clients connecting at once are queued, not
    dropped (socketserver's default listen backlog is 5, ``TCPServer.request_queue_size``), and a
    client that goes away mid-request (a killed process) is not worth a traceback."""

    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipeError, ConnectionResetError
            super().handle_error(request, client_address)


class BraketEmulator:
    """Braket REST-JSON test double backed by the local simulators and an S3 endpoint (moto).

    ``BraketEmulator(s3_endpoint=url).start()`` serves on a loopback ThreadingHTTPServer in
    a daemon thread; point the SDK at it with ``BRAKET_ENDPOINT=emulator.url``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, s3_endpoint: str | None = None,
                 region: str = "us-east-1", api_latency: float = 0.0, queue_delay: float = 0.0,
                 failure_rate: float = 0.0, throttle_rate: float = 0.0, seed: int = 0,
                 device_status: dict[str, str] | None = None, max_workers: int = 4,
                 identity: CallerIdentity | None = None,
                 roles: Mapping[str, CallerIdentity] | Iterable[CallerIdentity] = ()) -> None:
        if host != "localhost" and not ip_address(host).is_loopback:
            raise ValueError(f"refusing to bind non-loopback host {host!r}")
        s3_endpoint = s3_endpoint or os.environ.get("AWS_ENDPOINT_URL_S3")
        if not s3_endpoint:
            raise ValueError("s3_endpoint (or AWS_ENDPOINT_URL_S3) is required: "
                             "the emulator never talks to real AWS")
        self.host, self.port, self.region, self.s3_endpoint = host, port, region, s3_endpoint
        # None: every call is allowed; else each call is decided by IAM against this identity.
        self.identity = identity
        # The roles hybrid jobs may be passed, by role ARN: with IAM enforced, a job's own calls
        # are decided by its role's policies, and passing a role not registered here is denied.
        self.role_identities: dict[str, CallerIdentity] = (
            dict(roles) if isinstance(roles, Mapping) else {r.principal_arn: r for r in roles})
        self._request = threading.local()  # the identity the current request is decided as
        self.knobs = Knobs()
        self._lock = threading.RLock()
        self._tasks: dict[str, Task] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        self._jobs: dict[str, jobs.Job] = {}
        self._job_tokens: dict[tuple[str, str], str] = {}  # (account, clientToken) -> job ARN
        self._job_keys: dict[str, jobs.Job] = {}  # a job's access key id -> the job
        self._job_by_token: dict[str, jobs.Job] = {}  # AMZN_BRAKET_JOB_TOKEN -> the job
        self._spending = spending.Ledger()
        self._calls: dict[str, int] = {}
        self._throttled: dict[str, int] = {}
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._server: ThreadingHTTPServer | None = None
        self._s3, self._logs = (_fresh_session().client(
            service, endpoint_url=s3_endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing") for service in ("s3", "logs"))
        self.configure(api_latency=api_latency, queue_delay=queue_delay, seed=seed,
                       failure_rate=failure_rate, throttle_rate=throttle_rate,
                       device_status=device_status or {})

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> BraketEmulator:
        handler = type("Handler", (_Handler,), {"emulator": self})
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_cls = type("Server", (_Server,), {"address_family": family})
        self._server = server_cls((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="braket-task")
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="braket-emulator",
                         daemon=True).start()
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving, end every running job's process group, then the task workers; bounded."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            running = [job for job in self._jobs.values() if job.thread is not None]
        for job in running:
            job.wake.set()  # queued jobs leave the queue, running ones end their process group
        for job in running:
            job.thread.join(timeout=jobs.TERMINATE_GRACE_SECONDS + 10)
        if self._pool:
            for task in self._tasks.values():
                task.wake.set()  # wake sleepers; they see the emulator is stopping
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> BraketEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ test controls
    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Update fault knobs (see ``Knobs``); ``seed`` re-seeds both random streams.
        ``device_status`` entries are merged; a None/"" status drops the override."""
        unknown = set(knobs) - {f.name for f in fields(Knobs)}
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        for name in ("failure_rate", "throttle_rate"):
            if name in knobs and not 0.0 <= float(knobs[name]) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        for arn, status in (knobs.get("device_status") or {}).items():
            if arn not in DEVICES or (status and status not in DEVICE_STATUSES):
                raise ValueError(f"bad device status override {arn}={status}")
        with self._lock:
            for name, value in knobs.items():
                if name == "device_status":
                    merged = self.knobs.device_status | value
                    self.knobs.device_status = {arn: s for arn, s in merged.items() if s}
                else:
                    setattr(self.knobs, name, int(value) if name == "seed" else float(value))
            if "seed" in knobs:
                self._throttle_rng = random.Random(f"throttle-{self.knobs.seed}")
                self._failure_rng = random.Random(f"failure-{self.knobs.seed}")
            return self.config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return {f.name: getattr(self.knobs, f.name) for f in fields(Knobs)} | {
                "device_status": dict(self.knobs.device_status)}

    def register_role(self, identity: CallerIdentity) -> None:
        """Let hybrid jobs be passed ``identity``'s role (see ``role_identities``)."""
        self.role_identities[identity.principal_arn] = identity

    def jobs(self) -> list[dict[str, Any]]:
        """Every hybrid job ever created, oldest first, with its log (stdout then stderr)."""
        with self._lock:
            found = list(self._jobs.values())
        return [{"arn": j.arn, "name": j.name, "clientToken": j.client_token, "status": j.status,
                 "deviceArn": j.device_arn, "roleArn": j.role_arn, "region": j.region,
                 "createdAt": jobs.iso(j.created_at), "startedAt": jobs.iso(j.started_at),
                 "endedAt": jobs.iso(j.ended_at), "failureReason": j.failure_reason,
                 "pid": j.container.pid if j.container else None, "log": j.current_log()}
                for j in found]

    def tasks(self) -> list[dict[str, Any]]:
        """Every task ever created, oldest first."""
        with self._lock:
            return [{"arn": t.arn, "clientToken": t.client_token, "status": t.status,
                     "deviceArn": t.device.arn, "region": t.region, "shots": t.shots,
                     "createdAt": _iso(t.created_at), "endedAt": _iso(t.ended_at),
                     "failureReason": t.failure_reason, "tags": dict(t.tags),
                     "source": t.shape.source if t.shape else None, "action": t.action}
                    for t in self._tasks.values()]

    def spending_limits(self) -> list[dict[str, Any]]:
        """Every spending limit (all regions), oldest first: SpendingLimitSummary + region + remaining."""
        return self._spending.listing()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"create_quantum_task_calls": self._calls.get("CreateQuantumTask", 0),
                    "throttled_calls": sum(self._throttled.values()),
                    "tasks_created": len(self._tasks), "jobs_created": len(self._jobs),
                    "calls": dict(self._calls), "throttled": dict(self._throttled)}

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, method: str, raw_path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, Any], str | None]:
        """Route one HTTP request; returns (status, JSON body, error code or None)."""
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        for verb, pattern, op, func in _ROUTES:
            match = re.fullmatch(pattern, parts.path)
            if verb != method or not match:
                continue
            args = [unquote(g) for g in match.groups()]
            try:
                payload = json.loads(body or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object")
            except ValueError as exc:
                return 400, {"message": f"Invalid JSON body: {exc}"}, "ValidationException"
            try:
                if op.startswith("_"):  # control endpoint: no latency, throttling or stats
                    return 200, func(self, payload, *args), None
                self._request.identity = self._identity_of(headers)
                self._before_api_call(op)
                status, out = func(self, self._region_of(headers), payload, query, *args)
                return status, out, None
            except (ApiError, spending.Refused) as err:
                return err.status, {"message": err.message}, err.code
            except ValueError as exc:
                return 400, {"message": str(exc)}, "ValidationException"
            except Exception as exc:  # noqa: BLE001 - surfaced as the service's 500
                return 500, {"message": f"{type(exc).__name__}: {exc}"}, "InternalServiceException"
        return 404, {"message": f"No route for {method} {parts.path}"}, "UnknownOperationException"

    def _before_api_call(self, op: str) -> None:
        with self._lock:
            self._calls[op] = self._calls.get(op, 0) + 1
            latency = self.knobs.api_latency
            throttle = self._throttle_rng.random() < self.knobs.throttle_rate
            if throttle:
                self._throttled[op] = self._throttled.get(op, 0) + 1
        if latency:
            time.sleep(latency)
        if throttle:
            raise ApiError(429, "ThrottlingException", "Rate exceeded")

    def _region_of(self, headers: dict[str, str]) -> str:
        found = re.search(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/braket/",
                          headers.get("authorization", "")) or re.match(
            r"braket\.([a-z0-9-]+)\.amazonaws\.com", headers.get("host", ""))
        return found.group(1) if found else self.region

    def _identity_of(self, headers: dict[str, str]) -> CallerIdentity | None:
        """Who a request is decided as: nobody (None: allowed) without IAM enforced; a hybrid
        job's role for the credentials issued to that job; else ``identity``."""
        if self.identity is None:
            return None
        found = re.search(r"Credential=([^/,\s]+)/", headers.get("authorization", ""))
        job = self._job_keys.get(found.group(1)) if found else None
        if job is None:
            return self.identity
        # Registered when the job was created (PassRole required it); no policies: denied.
        return self.role_identities.get(job.role_arn) or CallerIdentity(job.role_arn, ())

    def _caller(self) -> CallerIdentity | None:
        return getattr(self._request, "identity", self.identity)

    def _authorize(self, action: str, *resources: str, context: Mapping[str, object] | None = None) -> None:
        """AccessDeniedException (403), as Braket answers, unless IAM allows ``action`` on each resource."""
        caller = self._caller()
        if caller is not None and (message := caller.denial(action, resources, context)):
            raise ApiError(403, "AccessDeniedException", message)

    def _device(self, arn: str, region: str) -> tuple[Device, str]:
        """A device visible in ``region`` (simulators everywhere, QPUs in their own region)."""
        device = DEVICES.get(arn)
        if device is None or device.region not in (None, region):
            raise ApiError(404, "ResourceNotFoundException", f"Braket device '{arn}' not found")
        return device, self.knobs.device_status.get(arn, device.status)

    def _task(self, arn: str) -> Task:
        task = self._tasks.get(arn)
        if task is None:
            raise ApiError(404, "ResourceNotFoundException", f"Quantum task '{arn}' not found")
        return task

    # ------------------------------------------------------------------ operations
    def create_quantum_task(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """CreateQuantumTask. Idempotent on (account, clientToken): a repeated token returns
        the first task's ARN, which is also what makes botocore's retries safe."""
        missing = [k for k in ("clientToken", "deviceArn", "shots", "outputS3Bucket",
                               "outputS3KeyPrefix", "action") if req.get(k) in (None, "")]
        if missing:
            raise _validation(f"Missing required parameters: {', '.join(missing)}")
        with self._lock:
            if existing := self._tokens.get((ACCOUNT_ID, req["clientToken"])):
                return 201, {"quantumTaskArn": existing}
        device, status = self._device(req["deviceArn"], region)
        task_id = str(uuid.uuid4())
        task_arn = f"arn:aws:braket:{region}:{ACCOUNT_ID}:quantum-task/{task_id}"
        self._authorize("braket:CreateQuantumTask", iam_device_arn(device), task_arn)
        if req.get("tags"):  # tagging on create needs braket:TagResource too
            self._authorize("braket:TagResource", task_arn)
        if status == "RETIRED":
            raise ApiError(410, "DeviceRetiredException", f"Device {device.arn} is retired")
        if status == "OFFLINE":
            raise ApiError(424, "DeviceOfflineException", f"Device {device.arn} is offline")
        experimental = (req.get("experimentalCapabilities") or {}).get("enabled") == "ALL"
        shots, shape = self._validate_program(device, req["action"], req["shots"], experimental)
        params = req.get("deviceParameters") or "{}"
        try:
            json.loads(params)
        except ValueError:
            raise _validation("deviceParameters is not valid JSON") from None
        try:
            self._s3.head_bucket(Bucket=req["outputS3Bucket"])
        except ClientError:
            raise _validation(f"Caller doesn't have access to {req['outputS3Bucket']} "
                              "or it doesn't exist") from None
        with self._lock:
            if existing := self._tokens.get((ACCOUNT_ID, req["clientToken"])):
                return 201, {"quantumTaskArn": existing}
            job = self._job_by_token.get(req.get("jobToken") or "")
            # Last, on an otherwise valid request: the device's spending limit (raises, nothing queued).
            charge = self._spending.charge(device, region, shots, task_arn)
            task = Task(arn=task_arn, job_arn=job.arn if job else None,
                        client_token=req["clientToken"], device=device, region=region,
                        shots=shots, bucket=req["outputS3Bucket"],
                        directory=f"{req['outputS3KeyPrefix']}/{task_id}", action=req["action"],
                        shape=shape,
                        device_parameters=params, tags=req.get("tags") or {},
                        inject_failure=self._failure_rng.random() < self.knobs.failure_rate,
                        queue_delay=self.knobs.queue_delay,
                        settle=self._spending.settler(charge))
            self._tasks[task.arn] = task
            self._tokens[(ACCOUNT_ID, task.client_token)] = task.arn
            assert self._pool is not None, "emulator not started"
            self._pool.submit(self._execute, task)
        return 201, {"quantumTaskArn": task.arn}

    def _validate_program(self, device: Device, action: str, shots: Any,
                          experimental: bool) -> tuple[int, programs.ProgramShape | None]:
        """Reject what the service rejects at creation: unsupported action types, programs
        the OpenQASM 3 interpreter refuses, shots outside the device's ``shotsRange``, and
        whatever the device's properties refuse (``programs.check``, ``ahs.check``); the shots
        and an OpenQASM program's shape (``shape.source`` is what runs; None for AHS)."""
        try:
            name = json.loads(action)["braketSchemaHeader"]["name"]
        except (ValueError, KeyError, TypeError):
            raise _validation("action is not a valid Braket IR document") from None
        if name not in device.actions:
            raise _validation(f"Device {device.arn} does not support action type {name}")
        if name not in (OPENQASM, AHS) or device.backend is None:
            raise _validation(f"The emulator cannot execute {name} on {device.arn}")
        low, high = device.shots_range
        if not isinstance(shots, int) or not low <= shots <= high:
            # The service's words, as quoted in unitaryfoundation/metriq-gym#781 and #793.
            raise _validation(f"Shot count should be between {low} and {high} on {device.arn}")
        if name == AHS:
            try:
                ahs.check(device, action)
            except ahs.AhsRefused as refused:
                raise _validation(str(refused)) from None
            return shots, None
        try:
            program = OpenQASMProgram.parse_raw(action)
            shape = programs.shape_of(program.source, program.inputs)
        except gradients.UnsupportedGradient as exc:
            raise _validation(str(exc)) from None
        except Exception as exc:  # pydantic.ValidationError, QASM3ParsingError, interpreter errors
            raise _validation(f"Invalid OpenQASM program: {exc or type(exc).__name__}") from None
        try:
            programs.check(device, shape, shots, experimental)
        except programs.ProgramRefused as refused:
            raise _validation(str(refused)) from None
        return shots, shape

    def get_quantum_task(self, _region: str, _req: Any, query: dict[str, list[str]],
                         arn: str) -> Response:
        """GetQuantumTask; ``queueInfo`` only when ``additionalAttributeNames=QueueInfo``."""
        self._authorize("braket:GetQuantumTask", arn)
        with self._lock:
            task = self._task(arn)
            out = task.summary() | {
                "deviceParameters": task.device_parameters, "associations": [],
                "actionMetadata": {"actionType": OPENQASM if task.shape else AHS, "programCount": 1}}
            if task.failure_reason:
                out["failureReason"] = task.failure_reason
            if task.job_arn:
                out["jobArn"] = task.job_arn
            if task.status == "COMPLETED":
                out["numSuccessfulShots"] = task.shots
            if "QueueInfo" in query.get("additionalAttributeNames", []):
                queued = [t.arn for t in self._tasks.values()
                          if t.device is task.device and t.status == "QUEUED"]
                position = str(queued.index(arn) + 1) if arn in queued else "None"
                out["queueInfo"] = {"queue": "QUANTUM_TASKS_QUEUE", "position": position,
                                    "queuePriority": "Normal"}
                if arn not in queued:  # the SDK's QuantumTaskQueueInfo docstring quotes this message
                    out["queueInfo"]["message"] = (f"Task is in {task.status} status. AmazonBraket does "
                                                   "not show queue position for this status.")
            return 200, out

    def cancel_quantum_task(self, _region: str, _req: Any, _q: Any, arn: str) -> Response:
        """CancelQuantumTask: QUEUED -> CANCELLED at once (it never runs); RUNNING ->
        CANCELLING (CANCELLED when the run ends, results discarded); cancelling a COMPLETED or
        FAILED task is a ConflictException (409), the modeled error for state conflicts."""
        self._authorize("braket:CancelQuantumTask", arn)
        with self._lock:
            task = self._task(arn)
            if task.status in ("CREATED", "QUEUED"):
                task.finish("CANCELLED")
            elif task.status == "RUNNING":
                task.status = "CANCELLING"
            elif task.status not in ("CANCELLING", "CANCELLED"):
                raise ApiError(409, "ConflictException", f"Quantum task is {task.status}")
            return 200, {"quantumTaskArn": arn, "cancellationStatus": task.status}

    def search_quantum_tasks(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """SearchQuantumTasks: EQUAL on status/deviceArn/quantumTaskArn/jobArn; LT/LTE/EQUAL/GT/
        GTE/BETWEEN on createdAt (ISO-8601 values); tasks of the caller's region only."""
        self._authorize("braket:SearchQuantumTasks", "*")
        filters = req.get("filters") or []
        with self._lock:
            found = [t for t in self._tasks.values() if t.region == region]
        for flt in (f for f in filters if f.get("name") == "jobArn"):  # not a QuantumTaskSummary member
            if flt.get("operator", "EQUAL") != "EQUAL":
                raise _validation(f"Operator {flt.get('operator')} is not supported for jobArn")
            found = [t for t in found if t.job_arn in (flt.get("values") or [])]
        rows = [t.summary() for t in found]
        for flt in (f for f in filters if f.get("name") != "jobArn"):
            rows = [r for r in rows if _matches(r, flt)]
        return _page(rows, req, "quantumTasks")

    def get_device(self, region: str, _req: Any, _q: Any, arn: str) -> Response:
        device, status = self._device(arn, region)
        self._authorize("braket:GetDevice", iam_device_arn(device))
        with self._lock:
            queued = sum(t.device is device and t.status == "QUEUED" for t in self._tasks.values())
            queued_jobs = sum(j.device is device and j.status == "QUEUED" for j in self._jobs.values())
        queue = "QUANTUM_TASKS_QUEUE"
        return 200, device.summary(status) | {
            "deviceCapabilities": json.dumps(device.capabilities),
            "deviceQueueInfo": [
                {"queue": queue, "queueSize": str(queued), "queuePriority": "Normal"},
                {"queue": queue, "queueSize": "0", "queuePriority": "Priority"},
                {"queue": "JOBS_QUEUE", "queueSize": str(queued_jobs)}]}

    def search_devices(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """SearchDevices: filters are ``{name, values}`` on any DeviceSummary field."""
        self._authorize("braket:SearchDevices", "*")
        rows = [d.summary(self.knobs.device_status.get(d.arn)) for d in DEVICES.values()
                if d.region in (None, region)]
        for flt in req.get("filters") or []:
            if flt.get("name") not in DEVICE_FILTERS:
                raise _validation(f"Unsupported filter name {flt.get('name')}")
            rows = [r for r in rows if r[flt["name"]] in flt.get("values", [])]
        return _page(rows, req, "devices")

    # ------------------------------------------------------------------ spending limits
    def create_spending_limit(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """CreateSpendingLimit (spending.py). In order: the request against the model, a repeated
        clientToken (the first limit's ARN), the device (a QPU of this region, else
        ValidationException), IAM (braket:CreateSpendingLimit on the device and the limit,
        braket:TagResource with tags), a retired device (DeviceRetiredException), one per device."""
        self._spending.check("CreateSpendingLimitRequest", req)
        if existing := self._spending.created_for(req["clientToken"]):
            return 201, {"spendingLimitArn": existing}
        device = self._spending.qpu(DEVICES.get(req["deviceArn"]), req["deviceArn"], region)
        arn = spending.new_arn(region)
        self._authorize("braket:CreateSpendingLimit", iam_device_arn(device), arn)
        if req.get("tags"):  # tagging on create needs braket:TagResource too
            self._authorize("braket:TagResource", arn)
        if self.knobs.device_status.get(device.arn, device.status) == "RETIRED":
            raise ApiError(410, "DeviceRetiredException", f"Device {device.arn} is retired")
        return 201, {"spendingLimitArn": self._spending.create(arn, region, device, req)}

    def update_spending_limit(self, region: str, req: dict[str, Any], _q: Any, arn: str) -> Response:
        """UpdateSpendingLimit: new amount and/or timePeriod; idempotent on clientToken."""
        self._spending.check_arn(arn)
        self._spending.check("UpdateSpendingLimitRequest", req | {"spendingLimitArn": arn})
        self._authorize("braket:UpdateSpendingLimit", arn)
        self._spending.update(arn, region, req)
        return 200, {}

    def delete_spending_limit(self, region: str, _req: Any, _q: Any, arn: str) -> Response:
        """DeleteSpendingLimit: the device is unrestricted again; its tasks stop counting."""
        self._spending.check_arn(arn)
        self._authorize("braket:DeleteSpendingLimit", arn)
        self._spending.delete(arn, region)
        return 200, {}

    def search_spending_limits(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """SearchSpendingLimits: the caller's region, ``deviceArn`` EQUAL filters, 20 a page by default."""
        self._spending.check("SearchSpendingLimitsRequest", req)
        self._authorize("braket:SearchSpendingLimits", "*")
        rows = self._spending.search(region, req)
        return _page(rows, {"maxResults": spending.DEFAULT_MAX_RESULTS} | {
            k: v for k, v in req.items() if v is not None}, "spendingLimits")

    # ------------------------------------------------------------------ hybrid jobs
    def _job(self, arn: str) -> jobs.Job:
        job = self._jobs.get(arn)
        if job is None:
            raise ApiError(404, "ResourceNotFoundException", f"Hybrid job '{arn}' not found")
        return job

    def _authorize_pass_role(self, role_arn: str) -> None:
        """``iam:PassRole`` on the job's role, passed to Braket (``iam:PassedToService``). With IAM
        enforced, the role must also be one the emulator knows (``roles=``): a role it has no
        policies for is refused as IAM refuses to pass a role that does not exist."""
        caller = self._caller()
        if caller is None:
            return
        self._authorize("iam:PassRole", role_arn, context={"iam:PassedToService": jobs.PASSED_TO_SERVICE})
        if role_arn not in self.role_identities:
            raise ApiError(403, "AccessDeniedException", caller.refusal(
                "iam:PassRole", role_arn, "because no such role exists (the emulator knows no "
                "identity for it: BraketEmulator(roles=...) or register_role)"))

    def create_job(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """CreateJob (jobs.py). In order: the request against the model (400
        BadRequestException), a repeated clientToken (the first job's ARN: idempotent; a used
        jobName with a new token is a new job, as the service allows since 2024), the device
        (ValidationException: CreateJob has no ResourceNotFoundException in the model; ``local:``
        embedded simulators are accepted, as the SDK documents), IAM (braket:CreateJob on the
        device and the job, braket:TagResource with tags, iam:PassRole), the device's status,
        the instance type, the output bucket."""
        if problems := jobs.shape_problems("CreateJobRequest", req):
            raise ApiError(400, "BadRequestException", "Invalid request body: " + "; ".join(problems))
        with self._lock:
            if existing := self._job_tokens.get((ACCOUNT_ID, req["clientToken"])):
                return 201, {"jobArn": existing}
        if not req["algorithmSpecification"].get("scriptModeConfig"):
            raise _validation("The emulator runs script-mode hybrid jobs only: "
                              "algorithmSpecification.scriptModeConfig is required")
        device_arn = req["deviceConfig"]["device"]
        device, status = None, "ONLINE"
        if not jobs.LOCAL_DEVICE.fullmatch(device_arn):
            try:
                device, status = self._device(device_arn, region)
            except ApiError:
                raise _validation(f"Device {device_arn} is not available in {region}") from None
        job_arn = f"arn:aws:braket:{region}:{ACCOUNT_ID}:job/{uuid.uuid4()}"
        self._authorize("braket:CreateJob", *([iam_device_arn(device)] if device else []), job_arn)
        if req.get("tags"):  # tagging on create needs braket:TagResource too
            self._authorize("braket:TagResource", job_arn)
        self._authorize_pass_role(req["roleArn"])
        if status == "RETIRED":
            raise ApiError(410, "DeviceRetiredException", f"Device {device_arn} is retired")
        if status == "OFFLINE":
            raise ApiError(424, "DeviceOfflineException", f"Device {device_arn} is offline")
        instance_type = req["instanceConfig"]["instanceType"]
        if instance_type not in jobs.INSTANCE_TYPES:
            raise _validation(f"Instance type {instance_type} is not available for hybrid jobs here "
                              f"(the emulator provisions {', '.join(sorted(jobs.INSTANCE_TYPES))})")
        bucket, _ = jobs.parse_s3_uri(req["outputDataConfig"]["s3Path"])
        try:
            self._s3.head_bucket(Bucket=bucket)
        except ClientError:
            raise _validation(f"Caller doesn't have access to {bucket} or it doesn't exist") from None
        with self._lock:
            if existing := self._job_tokens.get((ACCOUNT_ID, req["clientToken"])):
                return 201, {"jobArn": existing}
            job = jobs.Job(arn=job_arn, name=req["jobName"], client_token=req["clientToken"],
                           region=region, device_arn=device_arn, device=device,
                           request={k: v for k, v in req.items() if k != "clientToken"},
                           inject_failure=self._failure_rng.random() < self.knobs.failure_rate,
                           queue_delay=self.knobs.queue_delay)
            self._jobs[job.arn] = job
            self._job_tokens[(ACCOUNT_ID, job.client_token)] = job.arn
            self._job_keys[job.access_key] = job
            self._job_by_token[job.token] = job
            job.thread = threading.Thread(target=self._run_job, args=(job,), daemon=True,
                                          name=f"braket-job-{job.name}")
            job.thread.start()
        return 201, {"jobArn": job.arn}

    def get_job(self, _region: str, _req: Any, query: dict[str, list[str]], arn: str) -> Response:
        """GetJob; ``queueInfo`` (JOBS_QUEUE) only when ``additionalAttributeNames=QueueInfo``."""
        self._authorize("braket:GetJob", arn)
        with self._lock:
            job = self._job(arn)
            out = job.describe()
            if "QueueInfo" in query.get("additionalAttributeNames", []):
                queued = [j.arn for j in self._jobs.values()
                          if j.device_arn == job.device_arn and j.status == "QUEUED"]
                out["queueInfo"] = {"queue": "JOBS_QUEUE",
                                    "position": str(queued.index(arn) + 1) if arn in queued else "None"}
                if arn not in queued:  # the SDK's AwsQuantumJob.queue_position docstring quotes this
                    out["queueInfo"]["message"] = (f"Job is in {job.status} status. AmazonBraket does "
                                                   "not show queue position for this status.")
        return 200, out

    def cancel_job(self, _region: str, _req: Any, _q: Any, arn: str) -> Response:
        """CancelJob: QUEUED -> CANCELLED at once; RUNNING -> CANCELLING, its process group is
        ended, then CANCELLED; again on a cancelled one: its status (the model marks CancelJob
        idempotent); a COMPLETED or FAILED job: ConflictException (409), as the model lists."""
        self._authorize("braket:CancelJob", arn)
        with self._lock:
            job = self._job(arn)
            if job.status == "QUEUED":
                job.finish("CANCELLED")
                job.wake.set()
            elif job.status == "RUNNING":
                job.status = "CANCELLING"
                job.wake.set()
            elif job.status not in ("CANCELLING", "CANCELLED"):
                raise ApiError(409, "ConflictException", f"Hybrid job {arn} is {job.status}: "
                               "only a QUEUED or RUNNING hybrid job can be cancelled")
            return 200, {"jobArn": arn, "cancellationStatus": job.status}

    def search_jobs(self, region: str, req: dict[str, Any], _q: Any) -> Response:
        """SearchJobs: ``jobArn`` (EQUAL, CONTAINS) and ``createdAt`` (LT/LTE/EQUAL/GT/GTE/
        BETWEEN, ISO-8601), the filter names SearchJobsFilter documents; the caller's region."""
        if problems := jobs.shape_problems("SearchJobsRequest", req):
            raise ApiError(400, "BadRequestException", "Invalid request body: " + "; ".join(problems))
        self._authorize("braket:SearchJobs", "*")
        with self._lock:
            rows = [j.summary() for j in self._jobs.values() if j.region == region]
        for flt in req["filters"]:
            name, op, values = flt["name"], flt["operator"], flt["values"]
            if name == "createdAt":
                rows = [r for r in rows if _matches(r, flt)]
            elif name == "jobArn" and op in ("EQUAL", "CONTAINS"):
                rows = [r for r in rows if (r["jobArn"] in values if op == "EQUAL"
                                            else any(v in r["jobArn"] for v in values))]
            else:
                raise _validation(f"Unsupported filter {name} {op}: SearchJobs filters on "
                                  "jobArn (EQUAL, CONTAINS) or createdAt")
        return _page(rows, req, "jobs")

    def _run_job(self, job: jobs.Job) -> None:
        """A job's own thread (never a task worker: its tasks need those): QUEUED for
        ``queue_delay``, RUNNING, the container (jobs.py), then its end state."""
        job.wake.wait(job.queue_delay)  # set early by cancel or stop
        with self._lock:
            if job.status != "QUEUED" or self._server is None:
                return
            job.status, job.started_at = "RUNNING", time.time()
            job.event("STARTING_INSTANCE")
            if job.inject_failure:
                job.finish("FAILED", "InternalServiceError: injected failure (emulator failure_rate)")
                return
            container = job.container = jobs.JobContainer(job, self._s3, self.url, self.s3_endpoint)
        try:
            outcome = container.execute()
        except Exception as exc:  # noqa: BLE001 - a bug here fails the job, never the thread silently
            outcome = jobs.Outcome("FAILED", f"InternalServiceError: {type(exc).__name__}: {exc}")
        finally:
            container.cleanup()
            self._publish_log(job)
        with self._lock:
            if job.status == "CANCELLING":
                job.finish("CANCELLED")
            elif outcome.status == "STOPPED":
                job.finish("FAILED", "InternalServiceError: the emulator stopped while the hybrid job ran")
            else:
                job.finish(outcome.status, outcome.reason)

    def _publish_log(self, job: jobs.Job) -> None:
        """The job's output to CloudWatch Logs (moto, at the S3 endpoint) where Braket puts it and the
        SDK's ``AwsQuantumJob.logs()`` reads it: group ``/aws/braket/jobs``, stream ``<jobName>/algo-1-<epoch>``."""
        lines = [line for line in job.log.splitlines() if line] or ["(no output)"]
        group, stream = "/aws/braket/jobs", f"{job.name}/algo-1-{int(job.started_at or time.time())}"
        try:
            self._logs.create_log_group(logGroupName=group)
        except ClientError:
            pass  # it exists already
        self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now = int(time.time() * 1000)
        self._logs.put_log_events(logGroupName=group, logStreamName=stream,
                                  logEvents=[{"timestamp": now, "message": line} for line in lines])

    # ------------------------------------------------------------------ execution
    def _execute(self, task: Task) -> None:
        """Worker: QUEUED for ``queue_delay``, RUNNING, simulate, write results.json, COMPLETED."""
        task.wake.wait(task.queue_delay)  # set early by cancel or stop
        with self._lock:
            if task.status != "QUEUED" or self._server is None:
                return
            task.status = "RUNNING"
        try:
            if task.inject_failure:
                raise RuntimeError("Injected device failure (emulator failure_rate)")
            # The simulator LocalSimulator(name) delegates to, resolved through the same
            # "braket.simulators" entry point (braket_sv/braket_dm/braket_ahs); run() returns the
            # task result that Braket stores as results.json.
            backend = entry_points(group="braket.simulators")[task.device.backend].load()()
            with _SIMULATION_LOCK:  # numba's JIT (used by the simulators) crashes when compiling in two threads
                if task.shape is None:  # an AHS program, checked by ahs.check
                    result = backend.run(AhsProgram.parse_raw(task.action), shots=task.shots)
                else:
                    result = _simulate(backend, OpenQASMProgram.parse_raw(task.action), task.shape, task.shots)
            with self._lock:
                if task.status == "CANCELLING":
                    task.finish("CANCELLED")
                    return
            ended = time.time()
            meta = result.taskMetadata
            meta.id, meta.deviceId, meta.status = task.arn, task.device.arn, "COMPLETED"
            meta.createdAt, meta.endedAt = _iso(task.created_at), _iso(ended)
            body = results.to_json(result)
            results.check(body, task.shots)  # a bug here fails the task; no unreadable file is stored
            self._s3.put_object(Bucket=task.bucket, Key=f"{task.directory}/results.json",
                                Body=body.encode(), ContentType="application/json")
        except Exception as exc:  # noqa: BLE001 - any failure ends the task FAILED
            with self._lock:
                if task.status == "CANCELLING":
                    task.finish("CANCELLED")
                else:
                    task.finish("FAILED", str(exc) or type(exc).__name__)
            return
        with self._lock:
            task.finish("COMPLETED")
            task.ended_at = ended


def _simulate(backend: Any, action: OpenQASMProgram, shape: programs.ProgramShape, shots: int) -> Any:
    """Run ``shape.source`` (the program as ``programs.shape_of`` rewrote it) with the action's
    inputs; fold adjoint gradients into their values (``gradients.py``); echo the action as created."""
    inputs = dict(action.inputs or {})

    def run(with_inputs: dict[str, Any]) -> Any:
        return backend.run(OpenQASMProgram(source=shape.source, inputs=with_inputs), shots=shots)

    result = run(inputs)
    if shape.adjoint_gradients:
        # Result values at shifted inputs, each simulated once however many gradients ask.
        simulated = {tuple(sorted(inputs.items())): [rt.value for rt in result.resultTypes]}

        def values_at(at: dict[str, Any]) -> list[Any]:
            key = tuple(sorted(at.items()))
            if key not in simulated:
                simulated[key] = [rt.value for rt in run(at).resultTypes]
            return simulated[key]

        result.resultTypes = gradients.fold(result.resultTypes, shape.adjoint_gradients, inputs,
                                            lambda gradient: gradients.values(values_at, gradient, inputs))
    result.additionalMetadata.action = action
    return result


def _matches(row: dict[str, Any], flt: dict[str, Any]) -> bool:
    name, values, op = flt.get("name"), flt.get("values") or [], flt.get("operator", "EQUAL")
    if name in ("status", "deviceArn", "quantumTaskArn"):
        if op != "EQUAL":
            raise _validation(f"Operator {op} is not supported for {name}")
        return row[name] in values
    if name != "createdAt":
        raise _validation(f"Unsupported filter name {name}")
    try:
        at, (low, *rest) = datetime.fromisoformat(row[name]), map(datetime.fromisoformat, values)
        return {"LT": at < low, "LTE": at <= low, "EQUAL": at == low, "GT": at > low,
                "GTE": at >= low, "BETWEEN": bool(rest) and low <= at <= rest[0]}[op]
    except (KeyError, ValueError, TypeError):
        raise _validation(f"Invalid createdAt filter {flt}") from None


def _page(rows: list[dict[str, Any]], req: dict[str, Any], key: str) -> Response:
    """Offset pagination; ``nextToken`` is the decimal offset of the next page."""
    try:
        start, size = int(req.get("nextToken") or 0), int(req.get("maxResults") or 100)
    except ValueError:
        raise _validation("Invalid nextToken") from None
    if not 1 <= size <= 100:
        raise _validation("maxResults must be between 1 and 100")
    out: dict[str, Any] = {key: rows[start:start + size]}
    if start + size < len(rows):
        out["nextToken"] = str(start + size)
    return 200, out


_ROUTES: list[tuple[str, str, str, Callable[..., Any]]] = [
    ("POST", r"/quantum-task", "CreateQuantumTask", BraketEmulator.create_quantum_task),
    ("GET", r"/quantum-task/([^/]+)", "GetQuantumTask", BraketEmulator.get_quantum_task),
    ("PUT", r"/quantum-task/([^/]+)/cancel", "CancelQuantumTask",
     BraketEmulator.cancel_quantum_task),
    ("POST", r"/quantum-tasks", "SearchQuantumTasks", BraketEmulator.search_quantum_tasks),
    ("POST", r"/job", "CreateJob", BraketEmulator.create_job),
    ("GET", r"/job/([^/]+)", "GetJob", BraketEmulator.get_job),
    ("PUT", r"/job/([^/]+)/cancel", "CancelJob", BraketEmulator.cancel_job),
    ("POST", r"/jobs", "SearchJobs", BraketEmulator.search_jobs),
    ("POST", r"/spending-limit", "CreateSpendingLimit", BraketEmulator.create_spending_limit),
    ("PATCH", r"/spending-limit/([^/]+)/update", "UpdateSpendingLimit",
     BraketEmulator.update_spending_limit),
    ("DELETE", r"/spending-limit/([^/]+)/delete", "DeleteSpendingLimit",
     BraketEmulator.delete_spending_limit),
    ("POST", r"/spending-limits", "SearchSpendingLimits", BraketEmulator.search_spending_limits),
    ("GET", r"/device/([^/]+)", "GetDevice", BraketEmulator.get_device),
    ("POST", r"/devices", "SearchDevices", BraketEmulator.search_devices),
    ("GET", r"/_emulator/tasks", "_tasks", lambda em, _b: {"tasks": em.tasks()}),
    ("GET", r"/_emulator/jobs", "_jobs", lambda em, _b: {"jobs": em.jobs()}),
    ("GET", r"/_emulator/spending-limits", "_spending_limits",
     lambda em, _b: {"spendingLimits": em.spending_limits()}),
    ("GET", r"/_emulator/stats", "_stats", lambda em, _b: em.stats()),
    ("GET", r"/_emulator/config", "_config", lambda em, _b: em.config()),
    ("POST", r"/_emulator/config", "_configure", lambda em, body: em.configure(**body)),
]


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler; every response carries Content-Length."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body then waits for the
    # client's delayed ACK, 40 ms on every call (measured: 44 ms per GetDevice, 2 ms without).
    disable_nagle_algorithm = True
    emulator: BraketEmulator

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, error = self.emulator.dispatch(self.command, self.path, headers, body)
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass
