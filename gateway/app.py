"""The gateway's HTTP API (FastAPI; its OpenAPI description is served at /openapi.json).

    POST /v1/tasks         {"device": ARN, "shots": N, "program": "OPENQASM 3; ..."}  -> 202 {"id", "state"}
    GET  /v1/tasks/{id}    the state and, once completed, the counts in the user's register names
    GET  /healthz          liveness

Every answer that is not a success is JSON {"error": code, "reason": one line} (403 adds the
deciding policies' "rules" and "reasons"; 429 a Retry-After header): never a traceback. A
submission is stored durably, and its decision audited, before the 202.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Callable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from jobs.devices import device_for_arn
from jobs.errors import UsageError
from jobs.pricing import estimate

from .anonymize import InvalidProgram, anonymize, deanonymize_counts
from .audit import AuditError, audit_record
from .auth import Authenticator, Unauthenticated
from .config import GatewayConfig
from .model import ACCEPTED, CANCELLED, COMPLETED, FAILED, Principal, Submission
from .policy import PolicyEngine, SubmissionContext
from .store import StoreError
from .tls import client_cert_der

LOG = logging.getLogger("gateway.app")


class TaskRequest(BaseModel):
    """A quantum task to forward: the device, the shots, an OpenQASM 3 program and its input values."""

    model_config = ConfigDict(extra="forbid")  # tags and metadata never leave: refused, not dropped

    device: str = Field(description="A Braket device ARN this gateway serves", max_length=256)
    shots: int = Field(description="Shots (1 to the gateway's limit)", ge=1)
    program: str = Field(description="An OpenQASM 3 program")
    inputs: dict[str, float] = Field(default_factory=dict, max_length=256,
                                     description="A value for each `input float` or `input angle` the program declares, by name")


class TaskAccepted(BaseModel):
    id: str
    state: str


class TaskStatus(BaseModel):
    id: str
    state: str
    device: str
    shots: int
    counts: Optional[dict] = Field(default=None, description="In the user's register names, once COMPLETED")
    error: Optional[str] = None
    cancel_requested: bool = Field(default=False, description="Its owner asked to cancel it; the gateway cancels it at Braket")


class Problem(Exception):
    """An answer other than success: status, code and one line."""

    def __init__(self, status: int, code: str, reason: str, headers: Optional[dict] = None, **extra) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.headers, self.extra = status, code, reason, headers, extra


def _problem(status: int, code: str, reason: str, headers: Optional[dict] = None, **extra) -> JSONResponse:
    return JSONResponse({"error": code, "reason": _one_line(reason), **extra}, status_code=status, headers=headers)


def _one_line(text: str) -> str:
    """A reason on one printable line, whatever of the request it quotes (control characters escaped)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def create_app(
    config: GatewayConfig,
    *,
    store,
    audit,
    policy: PolicyEngine,
    authenticator: Optional[Authenticator] = None,
    devices: tuple[str, ...],
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The API over ``store`` (durable state), ``audit`` (the hash-chained log: an ``AuditTrail``) and ``policy``."""
    app = FastAPI(title="Quantum gateway", version="1", description=__doc__)
    authenticator = authenticator or Authenticator(config)
    limits = config.limits
    proxy_header = config.tls_proxy.header if config.tls_proxy else None
    # The quota: a submission's estimate is added to the subject's spend before the decision, in one
    # statement that answers the new total, and taken back if the submission is refused or not
    # stored. Requests deciding at the same moment, in this process or in another instance on the
    # same database, each see the others' estimates, so together they cannot pass a quota only one
    # fits under. One subject's submissions are also decided one at a time in this process, so its
    # own requests refuse each other only when they must.
    subject_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
    subject_locks_guard = threading.Lock()

    def day_of(timestamp: float) -> str:
        """The gateway's local date of ``timestamp``: the day a spend counts against."""
        return datetime.fromtimestamp(timestamp, config.zone).date().isoformat()

    def subject_lock(subject: str) -> threading.Lock:
        with subject_locks_guard:
            return subject_locks[subject]

    @app.exception_handler(Problem)
    async def problem(_: Request, error: Problem) -> JSONResponse:
        return _problem(error.status, error.code, error.reason, error.headers, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _problem(422, "invalid_request", f"{where}: {first.get('msg', 'not valid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _problem(error.status_code, "http_error", str(error.detail))

    @app.exception_handler(StoreError)
    @app.exception_handler(AuditError)
    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        # The database or the audit log cannot be written: nothing was accepted; try again shortly.
        LOG.error("state unavailable: %s", error)
        return _problem(503, "unavailable", "the gateway cannot record submissions right now: try again shortly",
                        {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:  # logged, never shown
        LOG.exception("unexpected error")
        return _problem(500, "internal_error", "the gateway failed to answer; its log has the details")

    def who(request: Request) -> Principal:
        try:
            return authenticator.authenticate(
                request.headers.get("authorization"), client_cert_der(request.scope),
                proxied_certificate=request.headers.get(proxy_header) if proxy_header else None,
                peer=request.client.host if request.client else None,
            )
        except Unauthenticated as error:
            raise Problem(401, "unauthenticated", error.reason, {"WWW-Authenticate": error.www_authenticate},
                          cause=error.code) from None

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    # The body is read by hand (size limit first, then UTF-8, then JSON, then the model), so its
    # schema is declared here for the OpenAPI description.
    body_schema = {"required": True, "content": {"application/json": {"schema": TaskRequest.model_json_schema()}}}
    idempotency_key = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {
        "type": "string", "pattern": _KEY.pattern, "maxLength": 128},
        "description": "The same key again returns the task it created (422 if the request differs)"}

    @app.post("/v1/tasks", status_code=202, response_model=TaskAccepted, openapi_extra={"requestBody": body_schema, "parameters": [idempotency_key]}, responses={
        400: {"description": "invalid program or body"}, 401: {"description": "unauthenticated"},
        403: {"description": "refused by policy"}, 413: {"description": "body too large"},
        422: {"description": "invalid request"}, 429: {"description": "rate limited"}})
    async def submit(request: Request) -> TaskAccepted:
        # Who first (a JWKS fetch and the database block: off the event loop), then the body.
        principal = await run_in_threadpool(who, request)
        key = _idempotency_key(request.headers.get("idempotency-key"))
        body = await _read_body(request, limits.max_body_bytes)
        return await run_in_threadpool(accept, principal, _parse_task(body), key)

    def accept(principal: Principal, task: TaskRequest, key: Optional[str]) -> TaskAccepted:
        # A repeated Idempotency-Key names the task it created: the same answer, nothing new.
        task_id = str(uuid.uuid5(_KEYS, f"{principal.subject}\n{key}")) if key else str(uuid.uuid4())
        if key and (earlier := store.get(task_id)) is not None:
            return _replayed(earlier, task)
        now = clock()
        retry_after = store.take_rate_token(principal.subject, now, config.rate_limit_per_minute)
        if retry_after is not None:
            seconds = max(1, math.ceil(retry_after))
            raise Problem(429, "rate_limited", f"more than {config.rate_limit_per_minute} submissions a minute",
                          {"Retry-After": str(seconds)})
        if task.device not in devices:
            raise Problem(400, "unknown_device", f"device={task.device!r} is not served here: expected one of {', '.join(devices)}")
        if task.shots > limits.max_shots:
            raise Problem(400, "too_many_shots", f"shots={task.shots} is over this gateway's limit of {limits.max_shots}")
        try:
            program = anonymize(task.program, limits, task.inputs)
        except InvalidProgram as error:
            raise Problem(400, "invalid_program", str(error)) from None
        with subject_lock(principal.subject):
            return decide_and_store(principal, task, key, task_id, program, now)

    def decide_and_store(principal: Principal, task: TaskRequest, key: Optional[str], task_id: str, program,
                         now: float) -> TaskAccepted:
        cost = _estimate(task.device, task.shots)
        day = day_of(now)
        spent = round(store.add_spend(principal.subject, day, cost) - cost, 9)  # reserved: see create_app
        stored = False
        try:
            accepted, stored = decide(principal, task, key, task_id, program, now, cost, spent)
            return accepted
        finally:
            if not stored:
                try:
                    store.release_spend(principal.subject, day, cost)
                except StoreError as error:  # the estimate stays counted: the quota errs on the safe side
                    LOG.warning("could not release %s's reserved estimate of %.2f USD: %s", principal.subject, cost, error)

    def decide(principal: Principal, task: TaskRequest, key: Optional[str], task_id: str, program, now: float,
               cost: float, spent: float) -> tuple[TaskAccepted, bool]:
        """The policy's decision, and the submission stored if allowed: (the answer, whether this
        request stored a submission, which then keeps its reserved estimate)."""
        context = SubmissionContext(
            shots=task.shots, qubits=program.qubits, gates=program.gates, depth=program.depth,
            gate_set=frozenset(program.gate_set), estimated_cost_usd=cost, spend_today_usd=spent,
            now=datetime.fromtimestamp(now, config.zone),
        )
        decision = policy.decide(principal, task.device, context)
        if not decision.allowed:
            reason = "; ".join(decision.reasons) or "refused by policy"
            audit.append(audit_record(
                "decision", principal=principal, decision="deny", rules=decision.rules, reason=reason,
                errors=list(decision.errors), device_arn=task.device, shots=task.shots, estimate_usd=cost,
                original_sha256=program.original_sha256,
            ))
            if decision.errors:
                LOG.warning("policy errors refused a submission of %s: %s", principal.subject, decision.errors)
            raise Problem(403, "forbidden", reason, rules=list(decision.rules), reasons=list(decision.reasons))
        submission = Submission(
            id=task_id, subject=principal.subject, groups=principal.groups, device_arn=task.device,
            shots=task.shots, original_sha256=program.original_sha256, forwarded_program=program.program,
            forwarded_sha256=program.forwarded_sha256, mapping=program.mapping,
            correlation_id=uuid.uuid4().hex, estimate_usd=cost, created_at=now, inputs=program.inputs,
        )
        # The decision on record first: a submission is never forwarded without one.
        extra = {"program": task.program} if config.audit_program_text else {}
        audit.append(audit_record("decision", principal=principal, submission=submission, decision="allow",
                                  rules=decision.rules, **extra))
        try:
            store.add_submission(submission)  # durable before the 202
        except ValueError:  # the same key, sent twice at once: the other request stored it
            if key and (earlier := store.get(task_id)) is not None:
                return _replayed(earlier, task), False
            raise
        return TaskAccepted(id=submission.id, state=ACCEPTED), True

    def owned(task_id: str, principal: Principal) -> Submission:
        submission = store.get(task_id) if len(task_id) <= 64 else None
        if submission is None or submission.subject != principal.subject:  # another's task is not yours to see
            raise Problem(404, "not_found", f"no task {task_id[:64]!r} of {principal.subject!r}")
        return submission

    @app.post("/v1/tasks/{task_id}/cancel", response_model=TaskStatus, responses={
        200: {"description": "cancelled: it had not been forwarded (or was cancelled already)"},
        202: {"description": "being cancelled: the gateway cancels it at Braket (GET shows CANCELLED once done)"},
        401: {"description": "unauthenticated"}, 404: {"description": "no such task of yours"},
        409: {"description": "it completed or failed: nothing to cancel"}})
    def cancel(task_id: str, request: Request) -> JSONResponse:
        principal = who(request)
        owned(task_id, principal)
        now = clock()
        # Where it stood when the cancel took effect, from the store: of two cancels at once, one saw ACCEPTED.
        before, submission = store.request_cancel(task_id, now)
        if before in (COMPLETED, FAILED):
            raise Problem(409, "already_final", f"task {task_id} is {before}: there is nothing to cancel")
        if before == ACCEPTED or (before != CANCELLED and submission.cancel_requested_at == now):  # this request's doing
            audit.append(audit_record("cancel", principal=principal, submission=submission, state=submission.state))
        if before == ACCEPTED:  # never sent: its reserved estimate is given back
            store.release_spend(submission.subject, day_of(submission.created_at), submission.estimate_usd)
        code = 200 if submission.state == CANCELLED else 202
        return JSONResponse(_status(submission).model_dump(), status_code=code)

    @app.get("/v1/tasks/{task_id}", response_model=TaskStatus, responses={
        401: {"description": "unauthenticated"}, 404: {"description": "no such task of yours"}})
    def status(task_id: str, request: Request) -> TaskStatus:
        return _status(owned(task_id, who(request)))

    return app


def _status(submission: Submission) -> TaskStatus:
    """A submission as its owner sees it: counts in the user's register names once COMPLETED."""
    counts, error = None, submission.error
    if submission.state == COMPLETED and submission.counts is not None:
        result = submission.counts
        try:
            counts = deanonymize_counts(result["counts"], submission.mapping, result.get("measured_qubits"))
        except ValueError as mismatch:  # the device's bits do not fit the program: say so, never a 500
            error = f"the result could not be put in your register names: {mismatch}"
    return TaskStatus(id=submission.id, state=submission.state, device=submission.device_arn,
                      shots=submission.shots, counts=counts, error=error,
                      cancel_requested=submission.cancel_requested_at is not None)


_KEYS = uuid.UUID("5b1f0a3e-6f3c-4d55-9a43-1f0c2b7e9d10")
"""Namespace of task ids derived from (subject, Idempotency-Key): a key names one task of one subject."""
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _idempotency_key(value: Optional[str]) -> Optional[str]:
    """The request's Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header), if any."""
    if value is None:
        return None
    if not _KEY.match(value):
        raise Problem(400, "invalid_idempotency_key", "Idempotency-Key: expected 1-128 letters, digits, '.', '_', ':' or '-'")
    return value


def _replayed(earlier: Submission, task: TaskRequest) -> TaskAccepted:
    """The answer to a repeated key: the task it created, if the request is the same one."""
    users = earlier.mapping.get("names", {})  # the stored inputs are by opaque name
    same = (earlier.device_arn, earlier.shots, earlier.original_sha256, {users.get(k, k): v for k, v in earlier.inputs.items()}) == (
        task.device, task.shots, hashlib.sha256(task.program.encode("utf-8", "surrogatepass")).hexdigest(),
        {k: float(v) for k, v in task.inputs.items()})
    if not same:
        raise Problem(422, "idempotency_key_reused", "Idempotency-Key was used for another request: use a new key for a new task")
    return TaskAccepted(id=earlier.id, state=earlier.state)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Problem(413, "body_too_large", f"the body is over this gateway's limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Problem(413, "body_too_large", f"the body is over this gateway's limit of {limit} bytes")
    return bytes(body)


def _parse_task(body: bytes) -> TaskRequest:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Problem(400, "not_utf8", f"the body is not UTF-8 (byte {error.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise Problem(400, "malformed_json", f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if not isinstance(data, dict):
        raise Problem(422, "invalid_request", "body: expected a JSON object with device, shots and program")
    unknown = sorted(set(data) - set(TaskRequest.model_fields))
    if unknown:
        raise Problem(422, "invalid_request", f"body.{unknown[0]}: not a field (device, shots, program, inputs); tags and metadata never leave the gateway")
    try:
        return TaskRequest.model_validate(data)
    except Exception as error:  # pydantic's ValidationError: first problem, one line
        errors = getattr(error, "errors", lambda: [])()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise Problem(422, "invalid_request", f"{where}: {first.get('msg', 'not valid')}") from None


def _estimate(device_arn: str, shots: int) -> float:
    """What one task costs by the shipped price table (a device without a price is refused)."""
    try:
        return estimate(device_for_arn(device_arn), 1, shots).usd
    except UsageError as error:
        raise Problem(400, "no_price", str(error)) from None

