"""Tasks through the DMZ gateway (gateway/app.py) instead of straight to Braket.

In sovereign mode the user holds no AWS credentials: the gateway authenticates them (a client
certificate, or a bearer token), decides by policy, anonymizes the program and forwards it with
its own. ``GatewayBackend`` is a backend like ``AwsBackend`` (submit, state, wait, cancel, giving
``TaskOutcome``), so the runner batches, journals, resumes and writes results exactly as it does
for direct runs. What differs:

- A task's id is the gateway's (a UUID), not a Braket ARN. Tags stay here: the gateway makes its
  own (one opaque correlation id, and its task id as Braket's client token).
- Each POST carries the task's client token as its ``Idempotency-Key`` (IETF
  draft-ietf-httpapi-idempotency-key-header): the gateway answers a repeated key with the task the
  first request created. So a POST whose answer was lost is repeated (bounded), and ``resume`` never
  makes a second task. A POST is also repeated after a rate limit (HTTP 429, RFC 6585 §4, after its
  ``Retry-After``, RFC 9110 §10.2.3).
- A refusal (401 unauthenticated, 403 by policy, 4xx invalid, a rate limit that does not clear) or a
  failed POST ends the batch's submissions: it is remembered and nothing more is submitted.
- Cancelling is not in the gateway's API yet.

The token is sent only in the ``Authorization`` header (RFC 6750 §2.1) and only over TLS, or over
plain HTTP to a loopback address (RFC 6750 §5.3: bearer tokens must be protected by TLS). It is
never written to the journal, the results or an error message.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable, Mapping, Optional
from urllib.parse import urlsplit

from .backends import TERMINAL_STATES, TaskOutcome
from .circuits import CircuitSpec
from .errors import ServiceError, UsageError

TOKEN_VARIABLE = "QUANTUM_GATEWAY_TOKEN"
"""Where --token is read from when not given: an environment variable stays out of shell history."""


POLL_START_SECONDS = 0.2  # first wait between GETs of a running task; then x1.5 up to POLL_MAX_SECONDS
POLL_MAX_SECONDS = 5.0
RETRY_AFTER_MAX_SECONDS = 60.0  # one 429 wait at most (the gateway counts a minute's window)
RATE_LIMIT_BUDGET_SECONDS = 300.0  # all 429 waits of one request together: then a refusal
TRANSIENT_BUDGET_SECONDS = 60.0  # an unreachable gateway (a restart) or its 5xx, retried this long
TRANSIENT_MAX_ATTEMPTS = 10
CONNECT_SECONDS, READ_SECONDS = 10.0, 30.0
KEEPALIVE_SECONDS = 2.0

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9._~+/-]+=*$")
TASK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""The gateway's task ids (gateway/app.py: ``uuid.uuid4()``): never a job id (a timestamp) nor an ARN."""


@dataclass(frozen=True)
class GatewayAccess:
    """Where the gateway is and how this client proves who it is. The token is never shown or written."""

    url: str
    token: Optional[str] = field(default=None, repr=False)
    certificate: Optional[Path] = None
    key: Optional[Path] = None
    ca: Optional[Path] = None

    @property
    def authentication(self) -> str:
        return "certificate" if self.certificate else "token"

    def journal_entry(self) -> dict:
        """What the job's journal keeps: the gateway and how it was reached, never the credentials."""
        return {"url": self.url, "authentication": self.authentication, "ca": str(self.ca) if self.ca else None}

    @classmethod
    def from_options(
        cls,
        url: str,
        *,
        token: Optional[str] = None,
        certificate: Optional[Path] = None,
        key: Optional[Path] = None,
        ca: Optional[Path] = None,
        environ: Mapping[str, str] = os.environ,
    ) -> "GatewayAccess":
        """The access the command line asks for; UsageError (one line) for anything inconsistent.

        The token is --token, else $QUANTUM_GATEWAY_TOKEN; a client certificate replaces it (the
        gateway lets a certificate win over a token anyway, so sending both would only expose it)."""
        url = gateway_url(url)
        scheme, host = urlsplit(url).scheme, urlsplit(url).hostname or ""
        if token is not None and certificate is not None:
            raise UsageError("--token and --cert: choose one way to authenticate to the gateway")
        if key is not None and certificate is None:
            raise UsageError("--key needs --cert (the client certificate the key belongs to)")
        if certificate is None:
            token = token if token is not None else (environ.get(TOKEN_VARIABLE) or None)
            if token is None:
                raise UsageError(
                    f"--gateway {url}: no credentials: give --cert FILE --key FILE (mutual TLS) or a token "
                    f"in {TOKEN_VARIABLE} (or --token TOKEN)"
                )
            if not _B64TOKEN.match(token):
                raise UsageError("the gateway token is not a bearer token: expected letters, digits and -._~+/ (RFC 6750)")
            if scheme == "http" and not _is_loopback(host):
                raise UsageError(
                    f"--gateway {url}: a token is sent only over https:// (or plain http:// to this machine); "
                    "over plain HTTP anyone on the path could read and reuse it"
                )
        else:
            token = None
        for option, path in (("--cert", certificate), ("--key", key), ("--ca", ca)):
            if path is not None:
                if scheme != "https":
                    raise UsageError(f"{option} needs an https:// gateway: {url} is plain HTTP")
                if not Path(path).is_file():
                    raise UsageError(f"{option} {path}: no such file (expected a PEM file)")
        access = cls(url, token, Path(certificate) if certificate else None, Path(key) if key else None,
                     Path(ca) if ca else None)
        access.ssl_context()  # unreadable PEM files refused now, before any job is journaled
        return access

    @classmethod
    def for_job(
        cls,
        entry: dict,
        job_id: str,
        *,
        url: Optional[str] = None,
        token: Optional[str] = None,
        certificate: Optional[Path] = None,
        key: Optional[Path] = None,
        ca: Optional[Path] = None,
        environ: Mapping[str, str] = os.environ,
    ) -> "GatewayAccess":
        """The access for a job its journal says went through the gateway ``entry``: that gateway
        (--gateway, if given, must name it), its CA unless --ca, the credentials given now."""
        if url is not None and gateway_url(url) != entry["url"]:
            raise UsageError(f"job {job_id} went through the gateway {entry['url']}, not {gateway_url(url)}")
        if ca is None and entry.get("ca") and Path(entry["ca"]).is_file():
            ca = Path(entry["ca"])
        try:
            return cls.from_options(entry["url"], token=token, certificate=certificate, key=key, ca=ca, environ=environ)
        except UsageError as error:
            raise UsageError(f"job {job_id}: {error}") from None

    def ssl_context(self) -> Optional[ssl.SSLContext]:
        """The TLS context: the gateway's server certificate checked against --ca (default: the
        system's trust store), the client certificate presented if given. None for plain HTTP."""
        if urlsplit(self.url).scheme != "https":
            return None
        try:
            context = ssl.create_default_context(cafile=str(self.ca) if self.ca else None)
        except (ssl.SSLError, OSError) as error:
            raise UsageError(f"--ca {self.ca}: not a readable PEM CA certificate ({_describe(error)})") from None
        if self.certificate is not None:
            try:
                context.load_cert_chain(str(self.certificate), str(self.key) if self.key else None, password=_no_password)
            except (ssl.SSLError, OSError, _EncryptedKey) as error:
                what = f"--cert {self.certificate}" + (f" --key {self.key}" if self.key else "")
                raise UsageError(
                    f"{what}: not a PEM certificate with its unencrypted private key ({_describe(error)})"
                ) from None
        return context


class _EncryptedKey(Exception):
    def __str__(self) -> str:
        return "the key is encrypted; decrypt it (e.g. `openssl pkey -in KEY -out KEY.plain`) and keep it private"


def _no_password() -> str:
    """The key's passphrase callback: never prompt (a batch must not hang on a terminal)."""
    raise _EncryptedKey()


def gateway_url(text: str) -> str:
    """``http(s)://host[:port][/base]`` without a trailing slash; UsageError otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"--gateway {text!r}: expected a URL such as https://gateway.example:8443")
    if parts.username or parts.password:
        raise UsageError("--gateway: credentials in the URL are not allowed (they would be journaled): use --token or --cert")
    if parts.query or parts.fragment:
        raise UsageError(f"--gateway {text!r}: expected no query or fragment, only https://host[:port][/path]")
    try:
        parts.port
    except ValueError:
        raise UsageError(f"--gateway {text!r}: the port must be a number from 1 to 65535") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GatewayBackend:
    """The gateway's API as a backend: POST /v1/tasks to submit, GET /v1/tasks/{id} to follow.

    One HTTP client for all the runner's threads (``httpx.Client`` "can be shared between threads",
    its docstring). The first request checks the connection (GET /healthz, which needs no
    credentials): a TLS failure or a refused client certificate is then told apart from a lost answer.
    """

    is_local = False

    def __init__(
        self,
        access: GatewayAccess,
        device_arn: str = "",
        *,
        poll_interval: Optional[float] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        self._access = access
        self._device_arn = device_arn
        self._poll_start = POLL_START_SECONDS if poll_interval is None else poll_interval
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {access.token}"} if access.token else {}
        self._client = httpx.Client(
            headers=headers, verify=access.ssl_context() or True,
            timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
            # Idle connections dropped before the server drops them (uvicorn: timeout_keep_alive=5 s), so a
            # POST is never sent on a connection the server is closing: its answer would be lost.
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )
        self._checked = False
        self._check_lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._stopped: Optional[Exception] = None  # the first refusal or failure of a POST: later ones repeat it
        self._accepted = 0  # tasks accepted so far: a refusal then says "nothing more is submitted"

    def close(self) -> None:
        self._client.close()

    # -- the backend interface ----------------------------------------------------------

    def submit(self, circuit: CircuitSpec, shots: int, tags: dict[str, str], client_token: str) -> str:
        """POST the task; its id is the gateway's. ``tags`` and ``client_token`` stay here (see above)."""
        if self._stopped is not None:
            raise type(self._stopped)(str(self._stopped))
        try:
            # The task's client token as the Idempotency-Key: a POST whose answer was lost, or a resume,
            # names the task the first one created, never a second one.
            response = self._send("POST", "/v1/tasks", {"device": self._device_arn, "shots": shots, "program": circuit.source},
                                  idempotency_key=client_token)
            if response.status_code != 202:
                raise self._problem(response, f"submitting {circuit.name}")
        except (UsageError, ServiceError) as error:
            with self._stop_lock:
                if self._stopped is None:
                    more = "nothing more is submitted" if self._accepted else "nothing was submitted"
                    self._stopped = type(error)(f"{error}; {more}")
                raise type(self._stopped)(str(self._stopped)) from None
        task_id = _json(response).get("id")
        if not isinstance(task_id, str) or not TASK_ID.match(task_id):
            raise ServiceError(
                f"the gateway at {self._access.url} accepted {circuit.name} but answered no task id ({_excerpt(response)})"
            )
        with self._stop_lock:
            self._accepted += 1
        return task_id

    def state(self, task_id: str) -> tuple[str, Optional[str]]:
        answer = self._task(task_id)
        return answer["state"], answer.get("error")

    def wait(self, task_id: str, timeout_seconds: float, stop: Optional[threading.Event] = None) -> TaskOutcome:
        """GET until the task is final, waiting longer each time (bounded), or until ``timeout_seconds``
        or ``stop``: then its state so far, to be collected later."""
        deadline = time.monotonic() + timeout_seconds
        stop = stop or threading.Event()
        interval = self._poll_start
        while True:
            answer = self._task(task_id)
            if answer["state"] in TERMINAL_STATES:
                return self._outcome(task_id, answer)
            if time.monotonic() > deadline or stop.is_set():
                return TaskOutcome(task_id, answer["state"], failure_reason="still running; collect later with `resume`")
            stop.wait(interval)
            interval = min(interval * 1.5, POLL_MAX_SECONDS)

    def cancel(self, task_id: str) -> str:
        """POST /v1/tasks/{id}/cancel: CANCELLED when the gateway had not forwarded it yet, CANCELLING
        when the gateway cancels it at Braket; a task that finished meanwhile, its final state.
        Repeatable: asking twice changes nothing."""
        if not TASK_ID.match(task_id):
            raise UsageError(f"{task_id!r} is not a gateway task id (a UUID such as 0b6f...-...)")
        response = self._send("POST", f"/v1/tasks/{task_id}/cancel", repeatable=True)
        if response.status_code == 409:  # it completed or failed before the cancel
            return self.state(task_id)[0]
        if response.status_code not in (200, 202):
            raise self._problem(response, f"cancelling task {task_id}")
        return "CANCELLED" if response.status_code == 200 else "CANCELLING"

    # -- HTTP -----------------------------------------------------------------------------

    def _task(self, task_id: str) -> dict:
        if not TASK_ID.match(task_id):
            raise UsageError(f"{task_id!r} is not a gateway task id (a UUID such as 0b6f...-...)")
        response = self._send("GET", f"/v1/tasks/{task_id}")
        if response.status_code != 200:
            raise self._problem(response, f"reading task {task_id}")
        answer = _json(response)
        if not isinstance(answer.get("state"), str):
            raise ServiceError(
                f"the gateway at {self._access.url} answered task {task_id} without a state ({_excerpt(response)})"
            )
        return answer

    def _outcome(self, task_id: str, answer: dict) -> TaskOutcome:
        if answer["state"] != "COMPLETED":
            return TaskOutcome(task_id, answer["state"], failure_reason=answer.get("error"))
        counts = (answer.get("counts") or {}).get("counts")
        if not isinstance(counts, dict):
            raise ServiceError(f"the gateway at {self._access.url} reported task {task_id} COMPLETED without counts")
        # The gateway's whole answer is the raw result: it also names each bit in the user's registers.
        return TaskOutcome(task_id, "COMPLETED", {bits: int(n) for bits, n in sorted(counts.items())}, raw_result=answer)

    def _send(self, method: str, path: str, body: Optional[dict] = None, idempotency_key: Optional[str] = None,
              repeatable: bool = False):
        """One exchange. Repeated: a connection never made (any method); a GET (or a ``repeatable``
        request, such as a cancel) answered 5xx, or lost in transit, as is a POST with an
        Idempotency-Key; any request answered 429, after its Retry-After. All of it bounded."""
        repeatable = repeatable or method == "GET"
        import httpx

        self._check_connection()
        url = self._access.url + path
        transient_until: Optional[float] = None
        transient_attempts = 0
        rate_waited = 0.0
        while True:
            try:
                headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
                response = self._client.request(method, url, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                self._raise_if_tls(error)
                failure = ServiceError(f"cannot reach the gateway at {self._access.url}: {_describe(error)}")
            except httpx.TransportError as error:
                if not (repeatable or idempotency_key):  # it may have been accepted: repeating could make a second task
                    raise ServiceError(
                        f"the gateway at {self._access.url} did not answer {method} {path} ({_describe(error)}): "
                        "the task may or may not have been accepted"
                    ) from None
                failure = ServiceError(f"the gateway at {self._access.url} did not answer ({_describe(error)})")
            else:
                if response.status_code == 429:
                    wait = _retry_after(response)
                    if rate_waited + wait > RATE_LIMIT_BUDGET_SECONDS:
                        raise UsageError(
                            f"the gateway at {self._access.url} is still rate limiting after {rate_waited:.0f} s of waiting "
                            f"({_reason(response)}); `resume` creates the rest later"
                        )
                    rate_waited += wait
                    self._sleep(wait)
                    continue
                if not (response.status_code >= 500 and repeatable):
                    return response
                failure = self._problem(response, f"{method} {path}")
            now = time.monotonic()
            transient_until = transient_until or now + TRANSIENT_BUDGET_SECONDS
            transient_attempts += 1
            if now >= transient_until or transient_attempts >= TRANSIENT_MAX_ATTEMPTS:
                raise failure
            self._sleep(min(0.5 * 2 ** (transient_attempts - 1), transient_until - now))

    def _check_connection(self) -> None:
        """GET /healthz once, before the first real request: TLS problems surface on a request that
        changes nothing, so they are reported as what they are (exit 2), never as a lost task."""
        import httpx

        with self._check_lock:
            if self._checked:
                return
            try:
                self._client.get(self._access.url + "/healthz")
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                self._raise_if_tls(error)
                raise ServiceError(f"cannot reach the gateway at {self._access.url}: {_describe(error)}") from None
            except httpx.TransportError as error:
                if self._access.certificate is not None:
                    # Mutual TLS refusals close the connection without a word (gateway/tls.py: the alert
                    # is dropped, CPython gh-98078); the gateway's log says why.
                    raise UsageError(
                        f"the gateway at {self._access.url} closed the connection: it did not accept the client "
                        f"certificate {self._access.certificate} (not from its client CA, expired, or not for "
                        "client use; its log says which)"
                    ) from None
                raise ServiceError(
                    f"the gateway at {self._access.url} closed the connection without answering ({_describe(error)}); "
                    "if it serves mutual TLS, use https:// and --cert/--key"
                ) from None
            self._checked = True

    def _raise_if_tls(self, error: Exception) -> None:
        """A TLS failure is a setting to fix (--ca, --cert, the URL's host), not an outage: exit 2."""
        cause: Optional[BaseException] = error
        while cause is not None and not isinstance(cause, ssl.SSLError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            hint = ("--ca names the CA that signed the gateway's certificate" if isinstance(cause, ssl.SSLCertVerificationError)
                    else "check that it serves https:// at that address, and --cert/--key")
            raise UsageError(f"TLS with the gateway at {self._access.url} failed: {_describe(cause)} ({hint})") from None

    def _problem(self, response, doing: str) -> Exception:
        """The gateway's non-success answer as the CLI's error: a refusal (exit 2) or a failure (exit 1)."""
        status, answer, url = response.status_code, _json(response), self._access.url
        code = answer.get("error") or f"HTTP {status}"
        if status == 401:
            cause = f", {answer['cause']}" if answer.get("cause") else ""
            return UsageError(
                f"the gateway at {url} refused the credentials (unauthenticated{cause}): {_reason(response)}; "
                f"check the token ({TOKEN_VARIABLE} or --token) or --cert/--key"
            )
        if status == 403:
            rules, reasons = answer.get("rules") or [], answer.get("reasons") or []
            paired = len(rules) == len(reasons)
            named = "; ".join(f"{rule} ({reason})" for rule, reason in zip(rules, reasons)) if paired else None
            refusal = named or ", ".join(map(str, rules)) or _reason(response)
            return UsageError("refused by the gateway's policy: " + " ".join(refusal.split()))
        if status == 404:
            return UsageError(f"{doing}: the gateway at {url} has no such task of yours ({_reason(response)})")
        if 400 <= status < 500:
            return UsageError(f"{doing}: the gateway at {url} refused it ({code}): {_reason(response)}")
        return ServiceError(f"{doing}: the gateway at {url} failed (HTTP {status}, {code}): {_reason(response)}")


def _json(response) -> dict:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(response) -> str:
    return " ".join(str(_json(response).get("reason") or _excerpt(response)).split())


def _excerpt(response) -> str:
    text = " ".join(response.text.split())
    return text[:200] or f"an empty HTTP {response.status_code} answer"


def _retry_after(response) -> float:
    """Seconds to wait by Retry-After (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); 1 s when it
    is absent or unreadable; at most RETRY_AFTER_MAX_SECONDS."""
    value = response.headers.get("retry-after", "").strip()
    seconds = 1.0
    if value.isascii() and value.isdigit():
        seconds = float(value)
    elif value:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            pass
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


def _describe(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and getattr(error, "verify_message", None):
        return f"certificate verify failed: {error.verify_message}"
    return " ".join(str(error).split()) or type(error).__name__
