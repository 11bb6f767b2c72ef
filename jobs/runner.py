"""Plan, run and resume jobs: every check before any API call, then bounded-parallel submission.

A job is one batch of circuits on one device. Its journal is written before the
first task is created and gets one line per task the moment Braket returns the
task's ARN; each task carries a client token derived from (job id, index), so a
resumed job re-finds, never re-creates, a task whose journal line was lost.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from stacks.config import PROJECT, get_environment

from .backends import AwsBackend, LocalBackend, TaskOutcome
from .circuits import CircuitSpec, parse_circuit
from .devices import LOCAL, Device, resolve_device
from .errors import UsageError
from .journal import JOURNAL_NAME, Journal, JobRecord, read_job
from .pricing import Estimate, check_cap, estimate
from .results import write_results
from .stack_outputs import StackOutputs, resolve_outputs

MAX_SHOTS = 100_000  # the largest shot count Braket's devices accept
DEFAULT_PARALLEL = 16
WAIT_TIMEOUT_SECONDS = 3600.0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class JobPlan:
    """A job that passed every check; nothing has been submitted yet."""

    environment: str
    outputs: StackOutputs
    device: Device
    circuits: tuple[CircuitSpec, ...]
    shots: int
    estimate: Estimate
    max_cost_usd: float


def environment_config(env: str):
    try:
        return get_environment(env)
    except ValueError as error:
        raise UsageError(f"--env: {error}") from None


def plan_job(
    env: str,
    *,
    device: str = "local",
    circuits: Optional[list[str]] = None,
    shots: int = 1000,
    max_cost_usd: Optional[float] = None,
    outputs_file: Optional[Path] = None,
    root: Path = Path("."),
) -> JobPlan:
    config = environment_config(env)
    if not 1 <= shots <= MAX_SHOTS:
        raise UsageError(f"--shots {shots}: expected a whole number from 1 to {MAX_SHOTS}")
    if max_cost_usd is not None and max_cost_usd < 0:
        raise UsageError(f"--max-cost {max_cost_usd}: expected an amount in USD of 0 or more")
    outputs = resolve_outputs(env, root=root, outputs_file=outputs_file)
    chosen = resolve_device(device, outputs.allowed_devices)
    specs = tuple(parse_circuit(spec) for spec in (circuits or ["bell"]))
    if chosen is not LOCAL:
        for name in ("results_bucket_name", "results_prefix", "region"):
            outputs.require(name)
        if chosen.region and chosen.region != outputs.region:
            raise UsageError(
                f"device {chosen.alias} runs in {chosen.region} but stack {env!r} is in {outputs.region}: "
                "Braket writes results to a bucket in the device's region; use a stack in that region"
            )
    cost = estimate(chosen, len(specs), shots)
    cap = config.max_cost_usd if max_cost_usd is None else max_cost_usd
    check_cap(cost, cap)
    return JobPlan(env, outputs, chosen, specs, shots, cost, cap)


def require_credentials(region: str) -> None:
    """Refuse (exit 2, nothing created) when boto3 finds no AWS credentials at all."""
    import boto3

    if boto3.Session(region_name=region).get_credentials() is None:
        raise UsageError(
            "no AWS credentials found for a Braket device: set AWS_PROFILE (or run `aws sso login`), "
            "or use --device local"
        )


def new_job_id(now: Optional[datetime] = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def plan_document(plan: JobPlan) -> dict:
    """What a plan resolved to: the JSON contract's environment, stack, device and estimate."""
    outputs = plan.outputs
    return {
        "environment": plan.environment,
        "stack": {
            "results_bucket_name": outputs.results_bucket_name,
            "results_prefix": outputs.results_prefix,
            "region": outputs.region,
            "allowed_devices": list(outputs.allowed_devices),
        },
        "device": {"alias": plan.device.alias, "arn": plan.device.arn},
        "shots": plan.shots,
        "estimated_cost_usd": round(plan.estimate.usd, 4),
        "estimate": plan.estimate.breakdown,
        "max_cost_usd": plan.max_cost_usd,
    }


def job_header(plan: JobPlan, job_id: str) -> dict:
    return {
        "job_id": job_id,
        **plan_document(plan),
        "circuits": [{"name": c.name, "source": c.source} for c in plan.circuits],
        "key_prefix": f"{plan.outputs.results_prefix}/{job_id}",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def backend_for(header: dict, poll_interval: Optional[float] = None):
    if header["device"]["arn"] == LOCAL.arn:
        return LocalBackend()
    stack = header["stack"]
    return AwsBackend(
        device_arn=header["device"]["arn"],
        region=stack["region"],
        bucket=stack["results_bucket_name"],
        key_prefix=header["key_prefix"],
        poll_interval=poll_interval,
    )


def run_job(
    plan: JobPlan,
    *,
    results_root: Path,
    parallel: int = DEFAULT_PARALLEL,
    progress: Optional[Progress] = None,
    poll_interval: Optional[float] = None,
) -> dict:
    if plan.device is not LOCAL:
        require_credentials(plan.outputs.region)
    job_id = new_job_id()
    header = job_header(plan, job_id)
    directory = results_root / plan.environment / job_id
    Journal(directory).start(header)
    return execute(JobRecord(directory, header), parallel=parallel, progress=progress, poll_interval=poll_interval)


def resume_job(record: JobRecord, *, parallel: int = DEFAULT_PARALLEL, progress: Optional[Progress] = None, poll_interval: Optional[float] = None) -> dict:
    if not record.header:
        raise UsageError(f"{record.directory}: the journal has no job header; nothing to resume")
    return execute(record, parallel=parallel, progress=progress, poll_interval=poll_interval)


def execute(record: JobRecord, *, parallel: int, progress: Optional[Progress], poll_interval: Optional[float]) -> dict:
    """Create the tasks the journal lacks, wait for all, write the results; the report as a dict."""
    header, journal = record.header, Journal(record.directory)
    circuits = [CircuitSpec(c["name"], c["source"]) for c in header["circuits"]]
    total = len(circuits)
    backend = backend_for(header, poll_interval)
    tags = {"environment": header["environment"], "project": PROJECT, "job_id": header["job_id"]}
    # Local tasks live only in the process that ran them: a resumed local job re-runs (free, offline).
    task_ids = {} if backend.is_local else dict(record.task_ids)
    done = 0
    done_lock = threading.Lock()  # collect() runs in the pool's threads
    started = time.monotonic()

    def tick() -> None:
        nonlocal done
        with done_lock:
            done += 1
            if progress:
                progress(done, total)

    def submit(index: int) -> None:
        task_id = backend.submit(circuits[index], header["shots"], tags, f"{header['job_id']}-{index}")
        journal.task_created(index, task_id)
        task_ids[index] = task_id

    def collect(index: int) -> TaskOutcome:
        outcome = backend.wait(task_ids[index], WAIT_TIMEOUT_SECONDS)
        tick()
        return outcome

    missing = [i for i in range(total) if i not in task_ids]
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, total))) as pool:
        list(pool.map(submit, missing))  # raises the first submission error, after the others finished
        submitted = time.monotonic()
        outcomes = list(pool.map(collect, range(total)))

    tasks = [
        {
            "index": i,
            "id": outcome.task_id,
            "circuit": circuits[i].name,
            "shots": header["shots"],
            "state": outcome.state,
            "counts": outcome.counts,
            "failure_reason": outcome.failure_reason,
        }
        for i, outcome in enumerate(outcomes)
    ]
    summary = {
        key: header[key]
        for key in ("job_id", "environment", "stack", "device", "shots", "estimated_cost_usd", "estimate", "created_at")
    }
    summary["timings"] = {
        "submit_seconds": round(submitted - started, 3),
        "total_seconds": round(time.monotonic() - started, 3),
    }
    files = write_results(record.directory, summary, tasks, {i: o.raw_result for i, o in enumerate(outcomes) if o.raw_result})
    return {**summary, "tasks": tasks, "results_dir": str(record.directory), "files": files}


def load_job(results_root: Path, env: str, job_id: str) -> JobRecord:
    directory = results_root / env / job_id
    if not (directory / JOURNAL_NAME).is_file():
        raise UsageError(f"no job {job_id!r} under {results_root / env}; `ls {results_root / env}` lists the jobs")
    return read_job(directory)
