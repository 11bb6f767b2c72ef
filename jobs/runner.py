"""Plan, run and resume jobs: every check before any API call, then bounded-parallel submission.

A job is one batch of circuits on one device. Its journal is written before the
first task is created and gets one line per task the moment Braket returns the
task's ARN; each task carries a client token derived from (job id, index), so a
resumed job re-finds, never re-creates, a task whose journal line was lost.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from stacks.config import PROJECT, get_environment

from .backends import TERMINAL_STATES, AwsBackend, LocalBackend, TaskOutcome, require_credentials
from .circuits import CircuitSpec, check_for_device, parse_circuit
from .devices import LOCAL, Device, resolve_device
from .errors import Interrupted, UsageError
from .gateway_client import GatewayAccess, GatewayBackend
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
    check_for_device(specs, chosen, shots)  # before pricing: what the device cannot run is never estimated
    cost = estimate(chosen, len(specs), shots)
    cap = config.max_cost_usd if max_cost_usd is None else max_cost_usd
    check_cap(cost, cap)
    return JobPlan(env, outputs, chosen, specs, shots, cost, cap)


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


def backend_for(header: dict, poll_interval: Optional[float] = None, gateway: Optional[GatewayAccess] = None):
    """The backend a job's tasks run on: local, the gateway its journal names (``gateway`` holds the
    credentials, given again to every command: they are never journaled), or Braket directly."""
    if header["device"]["arn"] == LOCAL.arn:
        return LocalBackend()
    if header.get("gateway"):
        if gateway is None or gateway.url != header["gateway"]["url"]:
            raise UsageError(f"job {header['job_id']} went through the gateway {header['gateway']['url']}: give its credentials")
        return GatewayBackend(gateway, header["device"]["arn"], poll_interval=poll_interval)
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
    gateway: Optional[GatewayAccess] = None,
) -> dict:
    """Journal a new job and execute it: on Braket with the user's AWS credentials, or through
    ``gateway``, which holds its own (the journal records the gateway's URL, never the credentials)."""
    if plan.device is not LOCAL and gateway is None:
        if plan.outputs.submission == "gateway":  # the stack's roles may not create tasks: say so before AWS does
            raise UsageError(
                f"{plan.outputs.environment} submits through its DMZ gateway only: "
                "add --gateway URL (with --cert/--key or a token), or use --device local"
            )
        require_credentials(plan.outputs.region)
    job_id = new_job_id()
    header = job_header(plan, job_id)
    if gateway is not None:
        header["gateway"] = gateway.journal_entry()
    directory = results_root / plan.environment / job_id
    Journal(directory).start(header)
    return execute(JobRecord(directory, header), parallel=parallel, progress=progress, poll_interval=poll_interval,
                   gateway=gateway)


def resume_job(record: JobRecord, *, parallel: int = DEFAULT_PARALLEL, progress: Optional[Progress] = None,
               poll_interval: Optional[float] = None, gateway: Optional[GatewayAccess] = None) -> dict:
    if not record.header:
        raise UsageError(f"{record.directory}: the journal has no job header; nothing to resume")
    return execute(record, parallel=parallel, progress=progress, poll_interval=poll_interval, gateway=gateway)


def execute(record: JobRecord, *, parallel: int, progress: Optional[Progress], poll_interval: Optional[float],
            gateway: Optional[GatewayAccess] = None) -> dict:
    """Create the tasks the journal lacks, wait for all, write the results; the report as a dict.

    Ctrl-C stops it at once: nothing more is submitted, what completed is written (the summary
    marked incomplete) and ``Interrupted`` says how to resume; tasks already at Braket keep running.
    """
    header, journal = record.header, Journal(record.directory)
    circuits = [CircuitSpec(c["name"], c["source"]) for c in header["circuits"]]
    total = len(circuits)
    backend = backend_for(header, poll_interval, gateway)
    tags = {"environment": header["environment"], "project": PROJECT, "job_id": header["job_id"]}
    # What an interrupted run already collected is kept, not run or downloaded again.
    outcomes: dict[int, TaskOutcome] = record.completed_outcomes()
    # Local tasks live only in the process that ran them: the rest of a local job runs again (free, offline).
    task_ids = {} if backend.is_local else dict(record.task_ids)
    done = len(outcomes)
    done_lock = threading.Lock()  # collect() runs in worker threads
    stop = threading.Event()
    started = time.monotonic()
    submitted = started

    def submit(index: int) -> None:
        task_id = backend.submit(circuits[index], header["shots"], tags, f"{header['job_id']}-{index}")
        journal.task_created(index, task_id)
        task_ids[index] = task_id

    def collect(index: int) -> None:
        nonlocal done
        outcome = backend.wait(task_ids[index], WAIT_TIMEOUT_SECONDS, stop)
        with done_lock:
            outcomes[index] = outcome
            if outcome.state in TERMINAL_STATES:
                done += 1
                if progress:
                    progress(done, total)

    pending = [i for i in range(total) if i not in outcomes]
    try:
        in_parallel(submit, record.indices_to_create(outcomes), parallel, stop)
        submitted = time.monotonic()
        in_parallel(collect, pending, parallel, stop)
    except KeyboardInterrupt:
        stop.set()
        with done_lock, _no_second_interrupt():  # saving takes well under a second: let it finish
            report = _write_report(record, circuits, task_ids, dict(outcomes), started, submitted)
        raise Interrupted(report, record.resume_command, record.cancel_command) from None
    return _write_report(record, circuits, task_ids, outcomes, started, submitted)


@contextlib.contextmanager
def _no_second_interrupt():
    """Ignore Ctrl-C while the partial results are written (signal handlers belong to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def in_parallel(work: Callable[[int], None], items: list[int], parallel: int, stop: threading.Event) -> None:
    """``work(item)`` for every item, at most ``parallel`` at once; the first error re-raised once all finished.

    Daemon threads and a main thread that waits in short slices: Ctrl-C reaches the main thread
    at once, and a worker blocked in a network call or a simulation never delays the exit.
    """
    if not items:
        return
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for item in items:
        todo.put(item)
    finished: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        while not stop.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                work(item)
                finished.put(None)
            except BaseException as error:  # noqa: BLE001 - handed to the main thread
                finished.put(error)

    for _ in range(max(1, min(parallel, len(items)))):
        threading.Thread(target=worker, daemon=True).start()
    errors = []
    for _ in items:
        while True:
            try:
                result = finished.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        if result is not None:
            errors.append(result)
    if errors:
        raise errors[0]


def _write_report(
    record: JobRecord,
    circuits: list[CircuitSpec],
    task_ids: dict[int, str],
    outcomes: dict[int, TaskOutcome],
    started: float,
    submitted: float,
) -> dict:
    """Write the job's results (complete or not) and return the report."""
    header = record.header
    tasks = []
    for i, circuit in enumerate(circuits):
        outcome = outcomes.get(i) or TaskOutcome(
            task_ids.get(i, ""), "PENDING" if i in task_ids else "NOT_CREATED", failure_reason="interrupted"
        )
        tasks.append(
            {
                "index": i,
                "id": outcome.task_id,
                "circuit": circuit.name,
                "shots": header["shots"],
                "state": outcome.state,
                "counts": outcome.counts,
                "failure_reason": outcome.failure_reason,
                **({"result_types": outcome.result_types} if outcome.result_types else {}),
            }
        )
    summary = {
        key: header[key]
        for key in ("job_id", "environment", "stack", "device", "shots", "estimated_cost_usd", "estimate", "created_at")
    }
    if header.get("gateway"):
        summary["gateway"] = header["gateway"]
    summary["complete"] = all(task["state"] in TERMINAL_STATES for task in tasks)
    summary["timings"] = {
        "submit_seconds": round(submitted - started, 3),
        "total_seconds": round(time.monotonic() - started, 3),
    }
    raw = {i: o.raw_result for i, o in outcomes.items() if o.raw_result}
    files = write_results(record.directory, summary, tasks, raw)
    return {**summary, "tasks": tasks, "results_dir": str(record.directory), "files": files}


def load_job(results_root: Path, env: str, job_id: str) -> JobRecord:
    directory = results_root / env / job_id
    if not (directory / JOURNAL_NAME).is_file():
        raise UsageError(f"no job {job_id!r} under {results_root / env}; `ls {results_root / env}` lists the jobs")
    return read_job(directory)
