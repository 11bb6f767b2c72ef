"""Where tasks run: the SDK's LocalSimulator, or Amazon Braket through the real SDK.

Both backends take an OpenQASM program and give back a `TaskOutcome`; the
runner above them owns batching, the journal and money checks.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from .circuits import CircuitSpec
from .errors import ServiceError, UsageError

TERMINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED")

# Idempotency: the runner sets a token per (job, task index) so that a task
# re-submitted after a crash (or a retried call) is the same task at Braket.
_client_token: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("braket_client_token", default=None)


@dataclass
class TaskOutcome:
    """What became of one task."""

    task_id: str
    state: str
    counts: Optional[dict[str, int]] = None
    failure_reason: Optional[str] = None
    raw_result: Optional[dict] = field(default=None, repr=False)
    result_types: Optional[list[dict]] = None
    """The program's ``#pragma braket result`` values: ``{"result_type": label, "value": JSON}``."""


def _counts(result) -> dict[str, int]:
    return {bits: int(n) for bits, n in sorted(result.measurement_counts.items())}


def _completed(task_id: str, result, raw: dict) -> TaskOutcome:
    """The outcome of a COMPLETED task from the SDK's ``GateModelQuantumTaskResult``."""
    values = [{"result_type": result_type_label(rt.type), "value": _plain(rt.value)}
              for rt in result.result_types or []]
    return TaskOutcome(task_id, "COMPLETED", _counts(result), raw_result=raw, result_types=values or None)


def result_type_label(ir) -> str:
    """``expectation(z@z) on qubits 0,1``: a result type named from the IR the SDK returns."""
    observable = getattr(ir, "observable", None)
    factors = observable if isinstance(observable, list) else [observable] if observable else []
    names = "@".join(f if isinstance(f, str) else "hermitian" for f in factors)
    targets = getattr(ir, "targets", None)
    return ir.type.value + (f"({names})" if names else "") + (
        f" on qubits {','.join(map(str, targets))}" if targets else "")


def _plain(value):
    """A result value as JSON: numpy scalars and arrays as Python, complex numbers as [re, im]."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, complex):
        return [value.real, value.imag]
    return value


# numba's threading layer (under the local simulators) aborts the process when two threads
# simulate at once ("Concurrent access has been detected"): one local simulation at a time.
_LOCAL_SIMULATION = threading.Lock()


class LocalBackend:
    """The Braket SDK's LocalSimulator: offline and free; one simulation at a time in this process.

    ``submit`` only queues the circuit; ``wait`` simulates it, so a batch reports progress
    as each circuit finishes and an interrupted batch stops between circuits.
    """

    is_local = True

    def __init__(self) -> None:
        from braket.devices import LocalSimulator

        self._simulator = LocalSimulator()
        self._queued: dict[str, tuple[CircuitSpec, int, dict[str, str]]] = {}

    def submit(self, circuit: CircuitSpec, shots: int, tags: dict[str, str], client_token: str) -> str:
        task_id = f"local-{client_token}"
        self._queued[task_id] = (circuit, shots, tags)
        return task_id

    def wait(self, task_id: str, timeout_seconds: float, stop: Optional[threading.Event] = None) -> TaskOutcome:
        if task_id not in self._queued:
            raise ServiceError(f"local task {task_id} ran in another process; its results are in the job's folder")
        circuit, shots, tags = self._queued[task_id]
        with _LOCAL_SIMULATION:
            if stop is not None and stop.is_set():
                return TaskOutcome(task_id, "CREATED", failure_reason="interrupted before it ran")
            result = self._simulator.run(circuit.program(), shots=shots).result()
        outcome = _completed(task_id, result, {})
        outcome.raw_result = {
            "taskMetadata": {"id": task_id, "deviceId": "local", "shots": shots, "tags": tags},
            "measurementCounts": outcome.counts,
            "measuredQubits": list(result.measured_qubits),
            **({"resultTypes": outcome.result_types} if outcome.result_types else {}),
        }
        return outcome


def require_credentials(region: str) -> None:
    """Refuse (exit 2, nothing created) when boto3 finds no AWS credentials at all."""
    import boto3

    if boto3.Session(region_name=region).get_credentials() is None:
        raise UsageError(
            "no AWS credentials found for a Braket device: set AWS_PROFILE (or run `aws sso login`), "
            "or use --device local"
        )


class AwsBackend:
    """Amazon Braket via the SDK, results in the stack's bucket under ``key_prefix``.

    The SDK honours BRAKET_ENDPOINT and AWS_ENDPOINT_URL_S3 (used by the tests'
    emulators); nothing here is test-specific.
    """

    is_local = False

    def __init__(
        self, *, device_arn: str, region: str, bucket: Optional[str], key_prefix: str, poll_interval: Optional[float] = None
    ):
        from botocore.config import Config

        from .device_status import aws_session

        require_credentials(region)  # the same refusal (exit 2) for status, results and cancel as for run
        # Throttling is normal under a batch: retry with backoff, well past botocore's default 3 attempts.
        retries = Config(retries={"mode": "standard", "max_attempts": 10})
        self._session = aws_session(region, config=retries)
        self._session.braket_client.meta.events.register(
            "before-parameter-build.braket.CreateQuantumTask", _set_client_token
        )
        self._device_arn = device_arn
        self._device = None
        self._device_lock = threading.Lock()
        self._bucket = bucket
        self._destination = (bucket, key_prefix)
        self._poll_interval = poll_interval

    def _interval(self) -> float:
        """The poll interval the device advertises (as the SDK uses), else 1 s."""
        if self._poll_interval is None:
            service = getattr(getattr(self._device, "properties", None), "service", None)
            millis = getattr(service, "getTaskPollIntervalMillis", None)
            self._poll_interval = millis / 1000 if millis else 1.0
        return self._poll_interval

    def _aws_device(self):
        with self._device_lock:
            if self._device is None:  # GetDevice: the first API call, made only after every local check passed
                from braket.aws import AwsDevice

                self._device = AwsDevice(self._device_arn, aws_session=self._session)
        return self._device

    def submit(self, circuit: CircuitSpec, shots: int, tags: dict[str, str], client_token: str) -> str:
        _client_token.set(client_token)
        try:
            task = self._aws_device().run(
                circuit.program(), s3_destination_folder=self._destination, shots=shots, tags=tags, quiet=True
            )
        except Exception as error:
            if "spending limit" in describe_error(error).lower():  # Braket's own cap: a refusal, like --max-cost
                raise UsageError(
                    f"Braket refused a task on {self._device_arn} under its spending limit: {describe_error(error)}; "
                    "nothing more is submitted (raise the limit, or wait for its next period)"
                ) from None
            message = f"creating a task on {self._device_arn} failed: {describe_error(error)}"
            if "AccessDeniedException" in message and "explicit deny" in message:
                message += " (if the environment's Braket budget kill switch fired, see README, 'Guardrails', to resume)"
            raise ServiceError(message) from error
        finally:
            _client_token.set(None)
        return task.id

    def state(self, task_id: str) -> tuple[str, Optional[str]]:
        metadata = self._metadata(task_id)
        return metadata["status"], metadata.get("failureReason")

    def wait(self, task_id: str, timeout_seconds: float, stop: Optional[threading.Event] = None) -> TaskOutcome:
        deadline = time.monotonic() + timeout_seconds
        stop = stop or threading.Event()
        while True:
            metadata = self._metadata(task_id)
            if metadata["status"] in TERMINAL_STATES:
                break
            if time.monotonic() > deadline or stop.is_set():
                return TaskOutcome(task_id, metadata["status"], failure_reason="still running; collect later with `resume`")
            stop.wait(self._interval())
        if metadata["status"] != "COMPLETED":
            return TaskOutcome(task_id, metadata["status"], failure_reason=metadata.get("failureReason"))
        return self._read_result(task_id, metadata)

    def cancel(self, task_id: str) -> str:
        try:
            self._session.cancel_quantum_task(task_id)
        except Exception as error:
            raise ServiceError(f"cancelling {task_id} failed: {describe_error(error)}") from error
        return self.state(task_id)[0]

    def _metadata(self, task_id: str) -> dict:
        try:
            return self._session.get_quantum_task(task_id)
        except Exception as error:
            if "ResourceNotFoundException" in type(error).__name__ + str(error):
                raise UsageError(f"no quantum task {task_id} in this account and region") from None
            raise ServiceError(f"reading task {task_id} failed: {describe_error(error)}") from error

    def _read_result(self, task_id: str, metadata: dict) -> TaskOutcome:
        from braket.tasks import GateModelQuantumTaskResult

        bucket, directory = metadata["outputS3Bucket"], metadata["outputS3Directory"]
        if self._bucket is not None and bucket != self._bucket:
            raise ServiceError(f"task {task_id} wrote its results to {bucket!r}, not the stack's bucket {self._bucket!r}")
        try:
            body = self._session.retrieve_s3_object_body(bucket, f"{directory}/results.json")
        except Exception as error:
            raise ServiceError(f"downloading s3://{bucket}/{directory}/results.json failed: {describe_error(error)}") from error
        return _completed(task_id, GateModelQuantumTaskResult.from_string(body), json.loads(body))


def _set_client_token(params, **_):
    token = _client_token.get()
    if token:
        params["clientToken"] = token


def describe_error(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
