"""Amazon Braket Hybrid Jobs for the emulator: the job model, request checks, and the "container".

What this models, and from where:

* The wire shapes (CreateJob, GetJob, CancelJob, SearchJobs; ``JobSummary``, ``JobEventDetails``,
  ``HybridJobQueueInfo``) and every request constraint (required members, lengths, ranges,
  enums, patterns such as ``jobName``'s ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,50}``) are botocore's
  ``braket`` service model (``botocore/data/braket/2019-09-01/service-2.json``), read at run
  time by ``shape_problems``. A request that breaks one is answered ``400 BadRequestException``
  "Invalid request body": what the service answers for a ``jobName`` with an underscore
  (amazon-braket-sdk-python#1096); botocore itself only checks required members and minimums.
* Job ARNs are ``arn:aws:braket:<region>:<account>:job/<uuid>``: the service moved from the job
  name to a UUID on 2024-02-15 (amazon-braket-sdk-python#877, #887), and since then job names
  may repeat (#896: "jobs with duplicate names"), so a second CreateJob with a new clientToken
  and a used name creates a second job. A repeated clientToken returns the first job's ARN.
* IAM: CreateJob authorizes ``braket:CreateJob``, ``braket:TagResource`` (with tags) and
  ``iam:PassRole`` on ``roleArn`` with ``iam:PassedToService`` = ``braket.amazonaws.com``
  (Service Authorization Reference, "Actions, resources, and condition keys for Amazon
  Braket": CreateJob's dependent actions; the reference also lists sagemaker.amazonaws.com as a
  possible value, Braket's own managed policy conditions on braket.amazonaws.com).
* What runs: the Braket container's ``braket_container.py`` (amazon-braket/amazon-braket-containers):
  download ``scriptModeConfig.s3Uri``, unpack it (GZIP) into the code directory, make that the
  working directory and put it on the path, then ``module:function`` imports the module and
  calls the function (hyperparameters bound to its parameters when they fit its signature),
  and a bare ``module`` is ``runpy.run_module(module, run_name="__main__")``. An exception is
  logged as ``"<Type>: <message>"`` and the job's ``failureReason`` becomes
  ``"AlgorithmError: <that>, exit code: <n>"`` (the SDK's integration test
  ``test_failed_quantum_job`` quotes the service's reason in this form).
* The environment variables are the ones the SDK's local container sets
  (``braket/jobs/local/local_job_container_setup.py``), with this machine's paths:
  AMZN_BRAKET_DEVICE_ARN, _JOB_NAME, _JOB_RESULTS_DIR, _CHECKPOINT_DIR, _HP_FILE, _INPUT_DIR,
  _OUT_S3_BUCKET, _TASK_RESULTS_S3_URI (``s3://<output bucket>/jobs/<jobName>/tasks``),
  _JOB_RESULTS_S3_PATH, _SCRIPT_S3_URI, _SCRIPT_ENTRY_POINT, _SCRIPT_COMPRESSION_TYPE,
  AWS_DEFAULT_REGION, plus AMZN_BRAKET_JOB_TOKEN (the SDK sends it as CreateQuantumTask's
  ``jobToken``, which associates the task with the job), BRAKET_ENDPOINT and
  AWS_ENDPOINT_URL_S3 (this emulator and its S3), and the job's own credentials: the job
  calls Braket as the role it was passed, never as its creator.
* S3 layout, as the SDK reads it (``AwsQuantumJob.download_result``) and its integration test
  ``test_completed_quantum_job`` lists it: ``<outputDataConfig.s3Path>/output/model.tar.gz``
  (the results directory, tarred; the job name is not appended), checkpoint files under
  ``<checkpointConfig.s3Uri>/``, the job's task results under ``jobs/<jobName>/tasks/<id>/``.

What this does not model: container images (``containerImage`` is recorded, never pulled; the
entry point runs with this interpreter), ``requirements.txt`` installs, distribution, several
instances, CloudWatch logs and metrics (the log is kept by the emulator: ``/_emulator/jobs``),
one-job-at-a-time QPU queues, and the real ``localPath`` of checkpoints (a temporary directory
stands in for ``/opt/jobs/checkpoints``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import botocore.loaders

from .devices import Device

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
PASSED_TO_SERVICE = "braket.amazonaws.com"
# The instance types this emulator provisions: the model's InstanceType enum is larger; these
# are the CPU and GPU types Braket's developer guide lists for hybrid jobs that a test needs.
INSTANCE_TYPES = frozenset({
    "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge",
    "ml.c5.xlarge", "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.p3.2xlarge", "ml.g4dn.xlarge",
})
# JobStoppingConditionMaxRuntimeInSecondsInteger's maximum (5 days), also the SDK's default.
DEFAULT_MAX_RUNTIME = 432000
LOCAL_DEVICE = re.compile(r"local:[^/\s]+/\S+")  # an embedded simulator, run inside the job
LOG_LIMIT = 256 * 1024  # bytes of stdout/stderr kept per stream
REASON_LIMIT = 1024  # failureReason is a String1024
POLL_SECONDS = 0.02  # how often a running job looks at its process, its deadline and cancellation
TERMINATE_GRACE_SECONDS = 2.0  # SIGTERM, then SIGKILL


def iso(ts: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds, the ``timestampFormat`` the model declares."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


# ------------------------------------------------------------------ request checks
@functools.cache
def _shapes() -> dict[str, dict[str, Any]]:
    return botocore.loaders.create_loader().load_service_model("braket", "service-2")["shapes"]


def shape_problems(shape_name: str, value: Any) -> list[str]:
    """What in ``value`` breaks the constraints botocore's braket model puts on ``shape_name``
    (required members, min/max, enum, pattern; URI and query-string members are skipped)."""
    return list(_problems(_shapes()[shape_name], value, ""))


def _problems(shape: dict[str, Any], value: Any, where: str) -> Any:
    shapes, kind, name = _shapes(), shape["type"], where or "request"
    if kind == "structure":
        if not isinstance(value, dict):
            yield f"{name} must be an object"
            return
        for member in shape.get("required", []):
            if value.get(member) is None:
                yield f"{where + '.' if where else ''}{member} is required"
        for member, spec in shape["members"].items():
            if "location" not in spec and value.get(member) is not None:
                yield from _problems(shapes[spec["shape"]], value[member],
                                     f"{where + '.' if where else ''}{member}")
    elif kind == "list":
        if not isinstance(value, list):
            yield f"{name} must be a list"
            return
        yield from _bounds(shape, len(value), name, "items")
        for i, item in enumerate(value):
            yield from _problems(shapes[shape["member"]["shape"]], item, f"{name}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield f"{name} must be an object"
            return
        yield from _bounds(shape, len(value), name, "entries")
        for key, item in value.items():
            yield from _problems(shapes[shape["key"]["shape"]], key, f"{name} key {key!r}")
            yield from _problems(shapes[shape["value"]["shape"]], item, f"{name}[{key!r}]")
    elif kind == "string":
        if not isinstance(value, str):
            yield f"{name} must be a string"
            return
        yield from _bounds(shape, len(value), name, "characters")
        if "enum" in shape and value not in shape["enum"]:
            yield f"{name} {value!r} is not one of {', '.join(shape['enum'])}"
        if "pattern" in shape and not re.fullmatch(shape["pattern"], value):
            yield f"{name} {value!r} does not match {shape['pattern']}"
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            yield f"{name} must be an integer"
            return
        yield from _bounds(shape, value, name, "")
    elif kind == "boolean" and not isinstance(value, bool):
        yield f"{name} must be a boolean"


def _bounds(shape: dict[str, Any], size: int, name: str, unit: str) -> Any:
    low, high = shape.get("min"), shape.get("max")
    if (low is not None and size < low) or (high is not None and size > high):
        span = f"between {low if low is not None else 0} and {high if high is not None else 'any'}"
        yield f"{name} must be {span}{' ' + unit if unit else ''}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key`` or a virtual-hosted ``https://`` object URL."""
    match = re.fullmatch(r"s3://([^/]+)/?(.*)", uri) or re.fullmatch(
        r"https://([^/.]+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com/?(.*)", uri)
    if not match:
        raise ValueError(f"Not a valid S3 location: {uri}")
    return match.group(1), match.group(2)


def _key(prefix: str, *parts: str) -> str:
    return "/".join(p.strip("/") for p in (prefix, *parts) if p.strip("/"))


# ------------------------------------------------------------------ the job
@dataclass
class Job:
    """One hybrid job: the CreateJob request as accepted, its state, and the credentials its
    container calls Braket with (``access_key`` is how the emulator recognizes them)."""

    arn: str
    name: str
    client_token: str
    region: str
    device_arn: str
    device: Device | None  # None: an embedded simulator (``local:...``)
    request: dict[str, Any]
    inject_failure: bool
    queue_delay: float
    access_key: str = field(default_factory=lambda: "ASIA" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    session_token: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    token: str = field(default_factory=lambda: secrets.token_hex(32))  # AMZN_BRAKET_JOB_TOKEN
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    status: str = "QUEUED"
    failure_reason: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    log: str = ""
    wake: threading.Event = field(default_factory=threading.Event)  # cancel or stop: leave now
    thread: threading.Thread | None = None
    container: JobContainer | None = None

    def __post_init__(self) -> None:
        self.event("QUEUED_FOR_EXECUTION")

    @property
    def role_arn(self) -> str:
        return self.request["roleArn"]

    @property
    def max_runtime(self) -> int:
        return int((self.request.get("stoppingCondition") or {}).get("maxRuntimeInSeconds")
                   or DEFAULT_MAX_RUNTIME)

    def event(self, kind: str, message: str | None = None) -> None:
        """A ``JobEventDetails`` entry; the model keeps at most 20, so do we (the last 20)."""
        entry = {"eventType": kind, "timeOfEvent": iso(time.time())}
        if message:
            entry["message"] = message[:2500]
        self.events = [*self.events, entry][-20:]

    def finish(self, status: str, reason: str | None = None) -> None:
        self.status, self.ended_at = status, time.time()
        if reason:
            self.failure_reason = reason[:REASON_LIMIT]
        self.event(status, self.failure_reason if status == "FAILED" else None)

    def summary(self) -> dict[str, Any]:
        """JobSummary (SearchJobs)."""
        out = {"status": self.status, "jobArn": self.arn, "jobName": self.name,
               "device": self.device_arn, "createdAt": iso(self.created_at),
               "startedAt": iso(self.started_at), "endedAt": iso(self.ended_at),
               "tags": self.request.get("tags") or {}}
        return {k: v for k, v in out.items() if v is not None}

    def describe(self) -> dict[str, Any]:
        """GetJobResponse, but for ``queueInfo``: the request as accepted, with the defaults
        the service fills (instanceCount 1, maxRuntimeInSeconds 5 days), and the job's state."""
        req = self.request
        out: dict[str, Any] = {
            "status": self.status, "jobArn": self.arn, "roleArn": req["roleArn"], "jobName": self.name,
            "algorithmSpecification": req["algorithmSpecification"],
            "instanceConfig": {"instanceCount": 1} | req["instanceConfig"],
            "outputDataConfig": req["outputDataConfig"],
            "stoppingCondition": {"maxRuntimeInSeconds": self.max_runtime},
            "deviceConfig": req["deviceConfig"], "hyperParameters": req.get("hyperParameters") or {},
            "inputDataConfig": req.get("inputDataConfig") or [], "tags": req.get("tags") or {},
            "associations": req.get("associations") or [], "events": list(self.events),
            "createdAt": iso(self.created_at), "startedAt": iso(self.started_at),
            "endedAt": iso(self.ended_at), "failureReason": self.failure_reason,
        }
        if req.get("checkpointConfig"):
            out["checkpointConfig"] = req["checkpointConfig"]
        if self.started_at is not None and self.ended_at is not None:
            # Milliseconds (the model says "Integer", nothing of the unit; tasks bill by the ms).
            out["billableDuration"] = int((self.ended_at - self.started_at) * 1000)
        return {k: v for k, v in out.items() if v is not None}

    def current_log(self) -> str:
        container = self.container
        return container.log_text() if container is not None and not self.log else self.log


# ------------------------------------------------------------------ the container
# The emulator's stand-in for braket_container.py, written next to (not into) the job's code.
CONTAINER_SCRIPT = r'''
"""Run a hybrid job's entry point as the Braket container does (braket_container.py)."""
import importlib
import inspect
import json
import os
import runpy
import sys


def log_failure(text):
    with open(sys.argv[1], "a", encoding="utf-8") as failure:
        failure.write(text)


def bound_hyperparameters(method):
    hp_file = os.getenv("AMZN_BRAKET_HP_FILE")
    if hp_file is None:
        return {}
    with open(hp_file, encoding="utf-8") as f:
        hyperparameters = json.load(f)
    try:
        inspect.signature(method).bind(**hyperparameters)
    except TypeError:
        return {}
    annotations = inspect.getfullargspec(method).annotations
    return {name: annotations.get(name, str)(value) for name, value in hyperparameters.items()}


def main():
    entry_point = os.environ["AMZN_BRAKET_SCRIPT_ENTRY_POINT"]
    print("Running Code As Process", flush=True)
    try:
        if ":" in entry_point:
            module, _, name = entry_point.partition(":")
            method = getattr(importlib.import_module(module), name)
            method(**bound_hyperparameters(method))
        else:
            runpy.run_module(entry_point, run_name="__main__")
    except Exception as e:
        log_failure(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        raise
    print("Code Run Finished", flush=True)


if __name__ == "__main__":
    main()
'''


@dataclass
class Outcome:
    """How a job's run ended: COMPLETED, FAILED (with its reason) or STOPPED (cancel/stop)."""

    status: str
    reason: str | None = None


class JobFailure(Exception):
    """A job fails before or after its entry point runs; the message is its failureReason."""


class JobContainer:
    """One job's workspace and process on this machine: the directories Braket's container has
    (code, input/config, input/data, model, checkpoints, output), the entry point in a
    subprocess of this interpreter in its own process group, and the uploads after it exits."""

    def __init__(self, job: Job, s3: Any, braket_url: str, s3_url: str) -> None:
        self.job, self.s3, self.braket_url, self.s3_url = job, s3, braket_url, s3_url
        self.root = Path(tempfile.mkdtemp(prefix="braket-job-"))
        self.code, self.model = self.root / "code", self.root / "model"
        self.checkpoints, self.output = self.root / "checkpoints", self.root / "output"
        self.input_data, self.config = self.root / "input" / "data", self.root / "input" / "config"
        self.bootstrap = self.root / "bootstrap" / "braket_container.py"
        self.stdout, self.stderr = self.root / "stdout.log", self.root / "stderr.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._group_gone = False  # the process group was ended (and its id is no longer ours)

    # -- the run, start to end
    def execute(self) -> Outcome:
        """Download, run (until exit, ``job.wake`` or ``maxRuntimeInSeconds``), upload."""
        job = self.job
        try:
            job.event("DOWNLOADING_DATA")
            self.prepare()
        except Exception as exc:  # noqa: BLE001 - the job fails, as the container would
            return Outcome("FAILED", f"AlgorithmError: {exc or type(exc).__name__}")
        if job.wake.is_set():
            return Outcome("STOPPED")
        job.event("RUNNING")
        ended = self.run(job.wake, job.max_runtime)
        if ended == "stopped":
            return Outcome("STOPPED")
        try:
            self.upload_checkpoints()
            if ended == "timeout":
                job.event("MAX_RUNTIME_EXCEEDED")
                return Outcome("FAILED", "MaxRuntimeExceeded: the hybrid job ran longer than its "
                               f"stoppingCondition.maxRuntimeInSeconds ({job.max_runtime} s)")
            assert self.process is not None
            if (code := self.process.returncode) != 0:
                return Outcome("FAILED", f"AlgorithmError: {self.failure_text()}, exit code: {code}")
            job.event("UPLOADING_RESULTS")
            self.upload_results()
        except Exception as exc:  # noqa: BLE001
            return Outcome("FAILED", f"InternalServiceError: uploading the job's output failed: {exc}")
        return Outcome("COMPLETED")

    def prepare(self) -> None:
        """The code (unpacked safely), hyperparameters, input channels, earlier checkpoints."""
        for path in (self.code, self.model, self.checkpoints, self.output, self.input_data,
                     self.config, self.bootstrap.parent):
            path.mkdir(parents=True, exist_ok=True)
        self.bootstrap.write_text(CONTAINER_SCRIPT)
        spec = self.job.request["algorithmSpecification"]["scriptModeConfig"]
        bucket, key = parse_s3_uri(spec["s3Uri"])
        archive = self.root / "original" / (PurePosixPath(key).name or "source")
        archive.parent.mkdir()
        try:
            self.s3.download_file(bucket, key, str(archive))
        except Exception as exc:  # noqa: BLE001
            raise JobFailure(f"Unable to download code. Exception: {exc}") from None
        if (spec.get("compressionType") or "NONE").upper() == "GZIP":
            try:
                with tarfile.open(archive, "r:gz") as tar:
                    tar.extractall(self.code, filter="data")  # no absolute paths, .., devices or links out
            except (tarfile.TarError, OSError) as exc:
                raise JobFailure(f"Got an exception while trying to unpack archive: {archive.name} "
                                 f"of type: GZIP. Exception: {exc}") from None
        else:
            shutil.copy(archive, self.code / archive.name)
        (self.config / "hyperparameters.json").write_text(
            json.dumps(self.job.request.get("hyperParameters") or {}))
        for channel in self.job.request.get("inputDataConfig") or []:
            self._download_channel(channel["channelName"], channel["dataSource"]["s3DataSource"]["s3Uri"])
        if checkpoint := self.job.request.get("checkpointConfig"):
            bucket, prefix = parse_s3_uri(checkpoint["s3Uri"])
            for key in self._keys(bucket, _key(prefix) + "/" if _key(prefix) else ""):
                self._download(bucket, key, self.checkpoints, key[len(_key(prefix)):].lstrip("/"))

    def _download_channel(self, channel: str, uri: str) -> None:
        """An input channel, as the SDK's local container lays it out (_download_input_data):
        a prefix naming a directory gives its contents, any other prefix the matching entries."""
        bucket, prefix = parse_s3_uri(uri)
        keys = self._keys(bucket, prefix)
        top = prefix if prefix.endswith("/") or all(k.startswith(f"{prefix}/") for k in keys) \
            else str(PurePosixPath(prefix).parent)
        top = "" if top == "." else top
        target = self.input_data / channel
        if target.exists():
            raise JobFailure(f"Duplicate channel names not allowed for input data: {channel}")
        target.mkdir()
        found = False
        for key in keys:
            if not key.endswith("/"):
                self._download(bucket, key, target, key[len(top):].lstrip("/"))
                found = True
        if not found:
            raise JobFailure(f"No data found for channel '{channel}'")

    def _keys(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def _download(self, bucket: str, key: str, under: Path, relative: str) -> None:
        path = (under / relative).resolve()
        if not relative or not path.is_relative_to(under.resolve()):
            raise JobFailure(f"Refusing to download s3://{bucket}/{key} outside {under.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.s3.download_file(bucket, key, str(path))

    def environment(self) -> dict[str, str]:
        """The variables Braket sets, this machine's paths, the job's credentials; nothing of
        this process's AWS or Braket configuration (no real account is reachable from a job)."""
        job, req = self.job, self.job.request
        spec = req["algorithmSpecification"]["scriptModeConfig"]
        bucket, location = parse_s3_uri(req["outputDataConfig"]["s3Path"])
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "BRAKET_", "AMZN_BRAKET_")) and k != "PYTHONPATH"}
        env.update({
            "AMZN_BRAKET_DEVICE_ARN": job.device_arn,
            "AMZN_BRAKET_JOB_NAME": job.name,
            "AMZN_BRAKET_JOB_RESULTS_DIR": str(self.model),
            "AMZN_BRAKET_CHECKPOINT_DIR": str(self.checkpoints),
            "AMZN_BRAKET_HP_FILE": str(self.config / "hyperparameters.json"),
            "AMZN_BRAKET_INPUT_DIR": str(self.input_data),
            "AMZN_BRAKET_OUT_S3_BUCKET": bucket,
            "AMZN_BRAKET_TASK_RESULTS_S3_URI": f"s3://{bucket}/jobs/{job.name}/tasks",
            # Where model.tar.gz goes. (The SDK's local container says <location>/<jobName>/output,
            # but the service and the SDK's download_result use <s3Path>/output.)
            "AMZN_BRAKET_JOB_RESULTS_S3_PATH": _key(location, "output"),
            "AMZN_BRAKET_SCRIPT_S3_URI": spec["s3Uri"],
            "AMZN_BRAKET_SCRIPT_ENTRY_POINT": spec["entryPoint"],
            "AMZN_BRAKET_JOB_TOKEN": job.token,
            "AWS_DEFAULT_REGION": job.region,
            "AWS_ACCESS_KEY_ID": job.access_key,
            "AWS_SECRET_ACCESS_KEY": job.secret_key,
            "AWS_SESSION_TOKEN": job.session_token,
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
            "BRAKET_ENDPOINT": self.braket_url,
            "AWS_ENDPOINT_URL_S3": self.s3_url,
            "PYTHONPATH": str(self.code),
            "PYTHONUNBUFFERED": "1",
        })
        if spec.get("compressionType"):
            env["AMZN_BRAKET_SCRIPT_COMPRESSION_TYPE"] = spec["compressionType"]
        return env

    def run(self, stop: threading.Event, max_runtime: float) -> str:
        """"exited", "stopped" (``stop`` set) or "timeout"; the process group is gone after."""
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(self.bootstrap), str(self.output / "failure")],
                cwd=self.code, env=self.environment(), stdin=subprocess.DEVNULL, stdout=out,
                stderr=err, start_new_session=True)
        deadline = time.monotonic() + max_runtime
        try:
            while self.process.poll() is None:
                if stop.wait(POLL_SECONDS):
                    return "stopped"
                if time.monotonic() >= deadline:
                    return "timeout"
            return "exited"
        finally:
            self.terminate()

    def terminate(self) -> None:
        """End the job's process group (the entry point and anything it started): SIGTERM,
        SIGKILL after a grace period, then SIGKILL for whatever of the group is left; bounded.
        Once only: afterwards the group's id is no longer this job's to signal."""
        process = self.process
        if process is None or self._group_gone:
            return
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(TERMINATE_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(process.pid, signal.SIGKILL)
        try:
            process.wait(5.0)
        except subprocess.TimeoutExpired:
            return  # unkillable (uninterruptible sleep): try again at cleanup
        self._group_gone = True

    # -- what the job leaves
    def upload_results(self) -> None:
        """The results directory as ``<outputDataConfig.s3Path>/output/model.tar.gz``."""
        bucket, location = parse_s3_uri(self.job.request["outputDataConfig"]["s3Path"])
        archive = self.root / "model.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for entry in sorted(self.model.iterdir()):
                tar.add(entry, arcname=entry.name)
        self.s3.upload_file(str(archive), bucket, _key(location, "output", "model.tar.gz"))

    def upload_checkpoints(self) -> None:
        """Every file of the checkpoint directory under ``checkpointConfig.s3Uri``."""
        checkpoint = self.job.request.get("checkpointConfig")
        if not checkpoint:
            return
        bucket, prefix = parse_s3_uri(checkpoint["s3Uri"])
        for path in sorted(p for p in self.checkpoints.rglob("*") if p.is_file()):
            self.s3.upload_file(str(path), bucket, _key(prefix, path.relative_to(self.checkpoints).as_posix()))

    def failure_text(self) -> str:
        """What the entry point logged as its failure, else the last line of its stderr."""
        failure = self.output / "failure"
        if failure.exists() and (text := failure.read_text(errors="replace").strip()):
            return " ".join(text.split("\n"))[:REASON_LIMIT]
        lines = [line for line in _tail(self.stderr).splitlines() if line.strip()]
        return lines[-1].strip()[:REASON_LIMIT] if lines else "the entry point exited"

    def log_text(self) -> str:
        """The job's log so far: its stdout, then its stderr (each bounded to its end)."""
        return _tail(self.stdout) + _tail(self.stderr)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def cleanup(self) -> None:
        self.terminate()
        self.job.log = self.log_text()
        shutil.rmtree(self.root, ignore_errors=True)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - LOG_LIMIT))
            return f.read().decode(errors="replace")
    except OSError:
        return ""
