"""Hybrid jobs: a classical algorithm next to a device, on Braket's managed runtime or, offline, in a subprocess.

Every check comes before anything is uploaded or created: the source (its size), the
entry point (found and importable), the hyperparameters, the instance type, the device
(allowed by the stack) and the cost (the instance's price for the maximum runtime, plus
the tasks the entry point declares) against the cap.

A job's folder (``results/ENV/JOB_ID/``) gets a snapshot of the source under ``code/``
(what runs, whatever happens to the original meanwhile) and a journal. On Braket the job
is created through the SDK's ``AwsQuantumJob.create`` as the stack's execution role, with
an ``AwsSession`` whose default bucket is the stack's (the SDK would otherwise create
``amazon-braket-<region>-<account>``), every S3 path under the jobs prefix, and a client
token derived from the job id: a client killed before it journaled the job's ARN creates
the same job again, which Braket answers with the first one's ARN (CreateJob's
``clientToken`` "guarantees that the request is idempotent", Braket API reference).
Offline, the entry point runs as Braket's container runs it (``container.py``), with the
environment variables the container sets and the local simulator as its device.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Callable, Optional

from stacks.config import PROJECT

from .backends import TERMINAL_STATES, describe_error, require_credentials
from .devices import LOCAL, Device, resolve_device
from .errors import Interrupted, ServiceError, UsageError
from .journal import Journal, JobRecord
from .pricing import check_cap, estimate, job_instance_estimate
from .results import write_text_atomically
from .runner import environment_config, new_job_id
from .stack_outputs import StackOutputs, resolve_outputs

# Braket publishes no size limit for a job's source that we could find; the source is code
# (data belongs in input channels), and uploading more than this is refused.
MAX_SOURCE_BYTES = 50 * 1024 * 1024
MAX_RUNTIME_MINUTES = 7200  # StoppingCondition.maxRuntimeInSeconds: at most 432000 (5 days)
DEFAULT_INSTANCE_TYPE = "ml.m5.large"  # the SDK's default InstanceConfig
DEFAULT_RUNTIME_MINUTES = 60
# The device an offline job's code sees, in the SDK's form for embedded simulators ("local:<provider>/<name>").
LOCAL_DEVICE = "local:braket/braket_sv"
# A module-level literal the entry point may declare so its tasks are estimated and capped.
TASKS_DECLARATION = "JOB_TASKS"
IMPORT_CHECK_SECONDS = 120.0
FIRST_POLL_SECONDS, MAX_POLL_SECONDS = 0.05, 5.0
CONTAINER = Path(__file__).with_name("container.py")
LOG_NAME, RESULT_NAME, SUMMARY_NAME = "job.log", "result.json", "summary.json"

_ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?$")
_NOT_COVERED = "S3 storage and requests, CloudWatch logs and metrics, data transfer"
_REMEDY = "use a shorter --max-runtime-minutes, a smaller --instance-type or a cheaper device"


@dataclass(frozen=True)
class HybridEstimate:
    usd: float
    breakdown: str
    not_covered: str
    """What the estimate leaves out, said next to it."""


@dataclass(frozen=True)
class HybridPlan:
    """A hybrid job that passed every check; nothing is uploaded or created yet."""

    environment: str
    outputs: StackOutputs
    device: Device
    source: Path
    entry_point: str
    hyperparameters: dict[str, str]
    instance_type: str
    max_runtime_minutes: int
    estimate: HybridEstimate
    max_cost_usd: float


def plan_hybrid(
    env: str,
    *,
    source: Path,
    entry_point: str,
    device: str = "local",
    hyperparameters: Optional[list[tuple[str, str]]] = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    max_runtime_minutes: int = DEFAULT_RUNTIME_MINUTES,
    max_cost_usd: Optional[float] = None,
    outputs_file: Optional[Path] = None,
) -> HybridPlan:
    config = environment_config(env)
    source = _check_source(source)
    module_file = _check_entry_point_form(source, entry_point)
    params = _check_hyperparameters(hyperparameters or [])
    if not 1 <= max_runtime_minutes <= MAX_RUNTIME_MINUTES:
        raise UsageError(f"--max-runtime-minutes {max_runtime_minutes}: expected 1 to {MAX_RUNTIME_MINUTES} (Braket's 5 days)")
    instance_usd, instance_line = job_instance_estimate(instance_type, max_runtime_minutes)
    outputs = resolve_outputs(env, outputs_file=outputs_file)
    chosen = resolve_device(device, outputs.allowed_devices)
    if chosen is not LOCAL:
        for name in ("results_bucket_name", "jobs_prefix", "jobs_role_arn", "region"):
            outputs.require(name)
        if chosen.region and chosen.region != outputs.region:
            raise UsageError(
                f"device {chosen.alias} runs in {chosen.region} but stack {env!r} is in {outputs.region}: "
                "a hybrid job runs in its device's region; use a stack in that region"
            )
    declared = _declared_tasks(module_file)
    cost = _estimate(chosen, instance_usd, instance_line, declared)
    cap = config.max_cost_usd if max_cost_usd is None else max_cost_usd
    check_cap(cost, cap, remedy=_REMEDY)
    _check_imports(source, entry_point)  # last: it starts a Python, and runs the module's top level
    return HybridPlan(env, outputs, chosen, source, entry_point, params, instance_type, max_runtime_minutes, cost, cap)


def _check_source(source: Path) -> Path:
    if not source.exists():
        raise UsageError(f"--source {source}: no such file or directory")
    source = source.resolve()
    if source.is_file() and source.suffix != ".py":
        raise UsageError(f"--source {source}: expected a directory or a .py file")
    if not source.name.isidentifier() and source.is_dir():
        raise UsageError(f"--source {source}: the directory's name is the entry point's first module name, so it must be a Python identifier")
    files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    size = sum(p.stat().st_size for p in files)
    if size > MAX_SOURCE_BYTES:
        raise UsageError(
            f"--source {source}: {size / 2**20:.1f} MiB is over the {MAX_SOURCE_BYTES // 2**20} MiB this tool uploads as a job's code; "
            "pass data as input channels, not in the source"
        )
    return source


def _check_entry_point_form(source: Path, entry_point: str) -> Path:
    """The module file the entry point names, found as the SDK and the container find it:
    relative to the source's parent (``source_dir.module:function``, or ``file:function``)."""
    if not _ENTRY_POINT.match(entry_point):
        raise UsageError(f"--entry-point {entry_point!r}: expected MODULE[:FUNCTION], such as {source.stem}.main:run")
    module = entry_point.partition(":")[0]
    parts = module.split(".")
    base = source.parent
    candidates = [base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")]
    found = next((c for c in candidates if c.is_file() and (c == source or source in c.parents)), None)
    if found is None:
        first = source.stem
        raise UsageError(
            f"--entry-point {entry_point!r}: no module {module} in {source}; "
            f"entry points start with the source's name, e.g. {first}{'.module' if source.is_dir() else ''}[:function]"
        )
    return found


def _check_hyperparameters(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise UsageError(f"--hyperparameter {key}: given twice")
        params[key] = value
    return params


def check_cap_again(header: dict, max_cost_usd: float) -> None:
    """A journaled job about to run (again): its estimate against today's cap."""
    check_cap(HybridEstimate(header["estimated_cost_usd"], header["estimate"], header["estimate_not_covered"]),
              max_cost_usd, remedy=_REMEDY)


def _declared_tasks(module_file: Path) -> Optional[tuple[int, int]]:
    """``JOB_TASKS = {"tasks": N, "shots": S}`` at the module's top level (read, never executed), or None."""
    try:
        tree = ast.parse(module_file.read_text(encoding="utf-8"), filename=str(module_file))
    except SyntaxError as error:
        raise UsageError(f"--entry-point: {module_file} does not import: SyntaxError: {error.msg} (line {error.lineno})") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == TASKS_DECLARATION for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
                tasks, shots = value["tasks"], value["shots"]
                if all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (tasks, shots)):
                    return tasks, shots
            except (ValueError, KeyError, TypeError):
                pass
            raise UsageError(f"{module_file}: {TASKS_DECLARATION} must be a literal such as {{\"tasks\": 20, \"shots\": 100}}")
    return None


def _estimate(device: Device, instance_usd: float, instance_line: str, declared: Optional[tuple[int, int]]) -> HybridEstimate:
    if device is LOCAL:
        return HybridEstimate(0.0, "local subprocess and LocalSimulator: free", "nothing: it runs on this machine")
    parts, usd = [instance_line], instance_usd
    if declared is None:
        not_covered = f"the tasks the job creates (declare {TASKS_DECLARATION} in the entry point to include them), {_NOT_COVERED}"
    else:
        tasks = estimate(device, *declared)
        parts.append(tasks.breakdown)
        usd += tasks.usd
        not_covered = f"tasks beyond the {declared[0]} declared, {_NOT_COVERED}"
    return HybridEstimate(round(usd, 6), " + ".join(parts), not_covered)


def _check_imports(source: Path, entry_point: str) -> None:
    """Import the entry point's module (and find its function) in a fresh Python, as the container will.

    A bare module runs its top level when run, so it is only compiled: importing it would run the job.
    """
    module, _, function = entry_point.partition(":")
    if not function:
        return
    probe = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(source.parent)!r})\n"
        f"module = importlib.import_module({module!r})\n"
        f"if not callable(getattr(module, {function!r}, None)):\n"
        f"    sys.exit(f'AttributeError: module {module} has no function {function}')\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-P", "-c", probe], cwd=source.parent, capture_output=True, text=True,
            timeout=IMPORT_CHECK_SECONDS, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"--entry-point {entry_point}: importing it took over {IMPORT_CHECK_SECONDS:.0f} s") from None
    if done.returncode != 0:
        raise UsageError(f"--entry-point {entry_point} does not import: {_last_line(done.stderr)}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "no error output"


# -- running -------------------------------------------------------------------------------


def job_name(environment: str, job_id: str) -> str:
    """The Braket job name: ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,49}$`` (CreateJob), unique per environment."""
    return f"{environment}-{job_id.lower()}"


def header_for(plan: HybridPlan, job_id: str) -> dict:
    outputs = plan.outputs
    return {
        "kind": "hybrid",
        "job_id": job_id,
        "environment": plan.environment,
        "stack": {
            "results_bucket_name": outputs.results_bucket_name,
            "jobs_prefix": outputs.jobs_prefix,
            "jobs_role_arn": outputs.jobs_role_arn,
            "region": outputs.region,
            "allowed_devices": list(outputs.allowed_devices or ()),
        },
        "device": {"alias": plan.device.alias, "arn": plan.device.arn},
        "job_name": job_name(plan.environment, job_id),
        "source_name": plan.source.name,
        "entry_point": plan.entry_point,
        "hyperparameters": plan.hyperparameters,
        "instance_type": plan.instance_type,
        "max_runtime_minutes": plan.max_runtime_minutes,
        "estimated_cost_usd": round(plan.estimate.usd, 4),
        "estimate": plan.estimate.breakdown,
        "estimate_not_covered": plan.estimate.not_covered,
        "max_cost_usd": plan.max_cost_usd,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def plan_document(header: dict) -> dict:
    keys = ("kind", "job_id", "environment", "stack", "device", "job_name", "entry_point", "hyperparameters",
            "instance_type", "max_runtime_minutes", "estimated_cost_usd", "estimate", "estimate_not_covered",
            "max_cost_usd", "created_at")
    return {key: header[key] for key in keys if key in header}


def start_hybrid(plan: HybridPlan, *, results_root: Path, echo: Optional[Callable[[str], None]] = None) -> dict:
    """Journal the job, snapshot its source, run it (locally or at Braket), collect it; the report."""
    if plan.device is not LOCAL:
        require_credentials(plan.outputs.region)
    job_id = new_job_id()
    directory = results_root / plan.environment / job_id
    header = header_for(plan, job_id)
    Journal(directory).start(header)
    code = directory / "code" / plan.source.name
    if plan.source.is_dir():
        shutil.copytree(plan.source, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        code.parent.mkdir(parents=True)
        shutil.copy2(plan.source, code)
    return execute_hybrid(JobRecord(directory, header), echo=echo)


def execute_hybrid(record: JobRecord, *, echo: Optional[Callable[[str], None]] = None) -> dict:
    """Run (or re-find) the job of ``record`` and collect it. Ctrl-C: ``Interrupted``; a job at Braket keeps running."""
    started = time.monotonic()
    try:
        outcome = _run_locally(record, echo) if record.runs_locally else _run_on_braket(record)
    except _Stopped as stopped:
        report = _write_summary(record, stopped.outcome, started, complete=False)
        raise Interrupted(report, record.resume_command, record.cancel_command) from None
    return _write_summary(record, outcome, started)


@dataclass
class _Outcome:
    state: str
    failure_reason: Optional[str] = None
    job_arn: Optional[str] = None
    result: Optional[dict] = None
    notes: tuple[str, ...] = ()


class _Stopped(Exception):
    """Ctrl-C while a job ran or was waited for: ``outcome`` is where it stood."""

    def __init__(self, outcome: _Outcome) -> None:
        super().__init__(outcome.state)
        self.outcome = outcome


def _write_summary(record: JobRecord, outcome: _Outcome, started: float, complete: bool = True) -> dict:
    directory = record.directory
    files = {"log": str(directory / LOG_NAME) if (directory / LOG_NAME).is_file() else None}
    if outcome.result is not None:
        write_text_atomically(directory / RESULT_NAME, json.dumps(outcome.result, indent=2, sort_keys=True, default=str) + "\n")
        files["result"] = str(directory / RESULT_NAME)
    summary = {
        **plan_document(record.header),
        "braket_job_arn": outcome.job_arn,
        "state": outcome.state,
        "failure_reason": outcome.failure_reason,
        "result": outcome.result,
        "notes": list(outcome.notes),
        "complete": complete and outcome.state in TERMINAL_STATES,
        "timings": {"total_seconds": round(time.monotonic() - started, 3)},
        "results_dir": str(directory),
        "files": files,
    }
    write_text_atomically(directory / SUMMARY_NAME, json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return summary


def _read_result(results_dir: Path) -> tuple[Optional[dict], tuple[str, ...]]:
    """The dict the job saved with ``save_job_result``, read by the SDK's reader (never unpickled)."""
    path = results_dir / "results.json"
    if not path.is_file():
        return None, ("the job saved no result (braket.jobs.save_job_result)",)
    from braket.jobs.data_persistence import load_job_result

    try:
        return load_job_result(path, allow_pickle=False), ()
    except RuntimeError as error:  # a pickled result: reading it could run code
        return None, (f"the result is not read: {error}",)


# -- offline ---------------------------------------------------------------------------------


def _run_locally(record: JobRecord, echo: Optional[Callable[[str], None]]) -> _Outcome:
    header, directory = record.header, record.directory.resolve()  # the job's code runs in code/
    paths = {name: directory / name for name in ("output", "checkpoints", "input/data", "input/config")}
    shutil.rmtree(paths["output"], ignore_errors=True)  # a re-run starts its results afresh; checkpoints stay
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    hp_file = paths["input/config"] / "hyperparameters.json"
    hp_file.write_text(json.dumps(header["hyperparameters"]), encoding="utf-8")
    stack = header["stack"]
    bucket, prefix, name = stack["results_bucket_name"], stack["jobs_prefix"] or "jobs", header["job_name"]
    environment = {
        **os.environ,
        # What Braket's container sets (braket/jobs/local/local_job_container_setup.py; braket.jobs reads them).
        "AMZN_BRAKET_DEVICE_ARN": LOCAL_DEVICE,
        "AMZN_BRAKET_JOB_NAME": name,
        "AMZN_BRAKET_JOB_RESULTS_DIR": str(paths["output"]),
        "AMZN_BRAKET_CHECKPOINT_DIR": str(paths["checkpoints"]),
        "AMZN_BRAKET_HP_FILE": str(hp_file),
        "AMZN_BRAKET_INPUT_DIR": str(paths["input/data"]),
        "AMZN_BRAKET_OUT_S3_BUCKET": bucket or "",
        "AMZN_BRAKET_TASK_RESULTS_S3_URI": f"s3://{bucket}/{prefix}/{name}/tasks" if bucket else "",
        "AMZN_BRAKET_SCRIPT_ENTRY_POINT": header["entry_point"],
        "PYTHONUNBUFFERED": "1",
    }
    deadline = time.monotonic() + header["max_runtime_minutes"] * 60
    with open(directory / LOG_NAME, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-P", str(CONTAINER), header["entry_point"]], cwd=directory / "code", env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        lines: list[str] = []
        copier = threading.Thread(target=_copy_lines, args=(process.stdout, log, lines, echo), daemon=True)
        copier.start()
        try:
            try:
                code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _stop(process)
                copier.join(5)
                return _Outcome("FAILED", f"the job ran over its maximum runtime of {header['max_runtime_minutes']} min and was stopped")
        except KeyboardInterrupt:
            _stop(process)
            copier.join(5)
            raise _Stopped(_Outcome("INTERRUPTED", "interrupted")) from None
        copier.join(5)
    if code != 0:
        return _Outcome("FAILED", _last_line("\n".join(lines[-20:])) if lines else f"exit code {code}")
    result, notes = _read_result(paths["output"])
    return _Outcome("COMPLETED", result=result, notes=notes)


def _copy_lines(stream, log, lines: list[str], echo: Optional[Callable[[str], None]]) -> None:
    for line in stream:
        log.write(line)
        log.flush()
        lines.append(line.rstrip("\n"))
        del lines[:-50]
        if echo:
            echo(line.rstrip("\n"))


def _stop(process: subprocess.Popen) -> None:
    """Ask the entry point to stop (it may save a checkpoint), then make it."""
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- on Braket -------------------------------------------------------------------------------


def _session(header: dict):
    from botocore.config import Config

    from .device_status import aws_session

    stack = header["stack"]
    session = aws_session(stack["region"], config=Config(retries={"mode": "standard", "max_attempts": 10}),
                          default_bucket=stack["results_bucket_name"])
    token = header["job_id"]

    def set_token(params, **_):
        params["clientToken"] = token

    session.braket_client.meta.events.register("before-parameter-build.braket.CreateJob", set_token)
    return session


def _s3_base(header: dict) -> str:
    stack = header["stack"]
    return f"s3://{stack['results_bucket_name']}/{stack['jobs_prefix']}/{header['job_name']}"


def create_on_braket(record: JobRecord, session=None) -> str:
    """CreateJob through the SDK (idempotent on the job id), journaled the moment its ARN is known."""
    from braket.aws import AwsQuantumJob
    from braket.jobs.config import CheckpointConfig, InstanceConfig, OutputDataConfig, StoppingCondition

    header = record.header
    session = session or _session(header)
    base = _s3_base(header)
    try:
        job = AwsQuantumJob.create(
            device=header["device"]["arn"],
            source_module=str(record.directory / "code" / header["source_name"]),
            entry_point=header["entry_point"],
            job_name=header["job_name"],
            code_location=f"{base}/script",
            role_arn=header["stack"]["jobs_role_arn"],
            hyperparameters=header["hyperparameters"],
            instance_config=InstanceConfig(instanceType=header["instance_type"]),
            stopping_condition=StoppingCondition(maxRuntimeInSeconds=header["max_runtime_minutes"] * 60),
            output_data_config=OutputDataConfig(s3Path=f"{base}/data"),
            checkpoint_config=CheckpointConfig(s3Uri=f"{base}/checkpoints"),
            aws_session=session,
            tags={"environment": header["environment"], "project": PROJECT, "job_id": header["job_id"]},
            quiet=True,
        )
    except Exception as error:
        message = f"creating hybrid job {header['job_name']} failed: {describe_error(error)}"
        if "AccessDeniedException" in message and "explicit deny" in message:
            message += " (if the environment's Braket budget kill switch fired, see README, 'Guardrails', to resume)"
        raise ServiceError(message) from error
    Journal(record.directory).braket_job_created(job.arn)
    record.braket_job_arn = job.arn
    return job.arn


def _run_on_braket(record: JobRecord) -> _Outcome:
    session = _session(record.header)
    try:
        arn = record.braket_job_arn or create_on_braket(record, session)
        metadata = wait_for(session, arn)
    except KeyboardInterrupt:
        if record.braket_job_arn is None:  # mid-CreateJob: resume re-finds the job by its token, or creates it once
            outcome = _Outcome("UNKNOWN", "interrupted while creating the job")
        else:
            outcome = _Outcome("RUNNING", "interrupted: the job keeps running at Braket", record.braket_job_arn)
        raise _Stopped(outcome) from None
    state = metadata["status"]
    logs, notes = _fetch_logs(session, record), []
    if logs is not None:
        (record.directory / LOG_NAME).write_text(logs, encoding="utf-8")
    else:
        notes.append("no logs were found in CloudWatch (/aws/braket/jobs)")
    if state != "COMPLETED":
        return _Outcome(state, metadata.get("failureReason") or "no reason given", arn, notes=tuple(notes))
    result, more = _download_result(session, record, metadata)
    return _Outcome(state, None, arn, result, (*notes, *more))


def job_state(session, arn: str) -> dict:
    try:
        return session.get_job(arn)
    except Exception as error:
        if "ResourceNotFoundException" in type(error).__name__ + str(error):
            raise UsageError(f"no hybrid job {arn} in this account and region") from None
        raise ServiceError(f"reading hybrid job {arn} failed: {describe_error(error)}") from error


def wait_for(session, arn: str, timeout_seconds: float = 5 * 24 * 3600.0) -> dict:
    """GetJob until the job ends: polled often at first (short jobs end fast), then every 5 s."""
    interval, give_up = FIRST_POLL_SECONDS, time.monotonic() + timeout_seconds
    while True:
        metadata = job_state(session, arn)
        if metadata["status"] in TERMINAL_STATES or time.monotonic() > give_up:
            return metadata
        time.sleep(interval)
        interval = min(MAX_POLL_SECONDS, interval * 1.25)  # each wait a quarter of the time waited so far, at most


def _download_result(session, record: JobRecord, metadata: dict) -> tuple[Optional[dict], tuple[str, ...]]:
    """``<outputDataConfig.s3Path>/output/model.tar.gz`` (where the SDK's ``download_result`` reads it),
    unpacked into the job's ``output/`` with tarfile's ``data`` filter (no paths outside, no devices)."""
    from braket.aws import AwsSession

    bucket, key = AwsSession.parse_s3_uri(f"{metadata['outputDataConfig']['s3Path']}/output/model.tar.gz")
    expected = record.header["stack"]["results_bucket_name"]
    if bucket != expected:
        raise ServiceError(f"hybrid job {metadata['jobArn']} wrote its output to {bucket!r}, not the stack's bucket {expected!r}")
    try:
        body = session.s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        if "NoSuchKey" in type(error).__name__ + str(error):
            return None, (f"the job left no output at s3://{bucket}/{key}",)
        raise ServiceError(f"downloading s3://{bucket}/{key} failed: {describe_error(error)}") from error
    output = record.directory / "output"
    shutil.rmtree(output, ignore_errors=True)
    with tarfile.open(fileobj=BytesIO(body), mode="r:gz") as archive:
        archive.extractall(output, filter="data")
    return _read_result(output)


def _fetch_logs(session, record: JobRecord, max_pages: int = 50) -> Optional[str]:
    """The job's CloudWatch log streams (``/aws/braket/jobs``, ``<job name>/...``), as the SDK's ``logs()`` reads
    them; None when there are none or they cannot be read (one attempt, short timeouts: logs never block results)."""
    from botocore.config import Config

    try:
        logs = session.boto_session.client(
            "logs", config=Config(retries={"max_attempts": 1}, connect_timeout=3, read_timeout=10)
        )
        streams = logs.describe_log_streams(
            logGroupName="/aws/braket/jobs", logStreamNamePrefix=f"{record.header['job_name']}/"
        ).get("logStreams", [])
        lines = []
        for stream in streams:
            token = None
            for _ in range(max_pages):
                kwargs = {"nextToken": token} if token else {}
                page = logs.get_log_events(logGroupName="/aws/braket/jobs", logStreamName=stream["logStreamName"],
                                           startFromHead=True, **kwargs)
                lines.extend(event["message"] for event in page["events"])
                if not page["events"] or page.get("nextForwardToken") == token:
                    break
                token = page.get("nextForwardToken")
        return "\n".join(lines) + "\n" if lines else None
    except Exception:  # noqa: BLE001 - logs are a convenience; the summary says they are missing
        return None


def cancel_on_braket(record: JobRecord) -> str:
    session = _session(record.header)
    try:
        return session.cancel_job(record.braket_job_arn)["cancellationStatus"]
    except Exception as error:
        raise ServiceError(f"cancelling hybrid job {record.braket_job_arn} failed: {describe_error(error)}") from error


def state_of(record: JobRecord) -> tuple[str, Optional[str]]:
    """A hybrid job's state: from its summary once collected, else from Braket (or NOT_CREATED)."""
    summary = record.summary
    if record.complete:
        return summary["state"], summary.get("failure_reason")
    if record.runs_locally:
        return (summary or {}).get("state", "INTERRUPTED"), "a local job runs again with `resume`"
    if record.braket_job_arn is None:
        return "NOT_CREATED", "no job ARN journaled; `resume` creates it, or re-finds it by its client token"
    metadata = job_state(_session(record.header), record.braket_job_arn)
    return metadata["status"], metadata.get("failureReason")
