"""The subcommands of `python -m jobs`. Each returns (JSON document, success) and prints for people unless --json."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Optional

from .backends import TERMINAL_STATES
from .device_status import live_statuses
from .devices import LOCAL, allowed_devices, device_for_arn
from .errors import UsageError
from .gateway_client import GatewayAccess, GatewayBackend, TASK_ID as GATEWAY_TASK_ID
from .journal import Journal, JobRecord, find_jobs
from .pricing import check_cap
from .pricing import estimate as estimate_cost
from .runner import backend_for, environment_config, load_job, plan_document, plan_job, resume_job, run_job
from .spending import Allowance, remaining_allowance
from .stack_outputs import resolve_outputs

TASK_ARN_MARK = ":quantum-task/"
# `devices` asks every device at once and gives up on it after this: the whole command stays under 6 s.
DEVICES_DEADLINE_SECONDS = 3.0


def _say(args, text: str = "") -> None:
    if not args.json:
        print(text)


def _plan(args):
    return plan_job(
        args.env,
        device=args.device,
        circuits=args.circuit,
        shots=args.shots,
        max_cost_usd=args.max_cost,
        outputs_file=args.outputs,
    )


def _print_plan(args, plan) -> None:
    stack = plan.outputs
    _say(args, f"Stack {plan.environment}: s3://{stack.results_bucket_name}/{stack.results_prefix}/ in {stack.region}")
    _say(
        args,
        f"Device {plan.device.alias} ({'LocalSimulator, offline' if plan.device is LOCAL else plan.device.arn}): "
        f"{len(plan.circuits)} task(s) x {plan.shots} shots, "
        f"estimated {plan.estimate.format()} [{plan.estimate.breakdown}], cap ${plan.max_cost_usd:.2f}",
    )


def _parallel(args) -> int:
    if not 1 <= args.parallel <= 64:
        raise UsageError(f"--parallel {args.parallel}: expected 1 to 64 tasks at once")
    return args.parallel


def _spending_limit(args, plan) -> dict:
    """The device's remaining Braket spending allowance, printed beside the estimate; UsageError above it."""
    if plan.device is LOCAL:
        return {}
    allowance = remaining_allowance(plan.device, plan.outputs.region)
    _say(args, allowance.describe())
    allowance.check(plan.estimate.usd)
    return {"spending_limit": allowance.document()}


def estimate(args, results_root: Path, progress):
    plan = _plan(args)
    _print_plan(args, plan)
    limit = _spending_limit(args, plan)
    _say(args, "Nothing submitted (estimate only).")
    return {**plan_document(plan), **limit, "tasks": [], "results_dir": None, "submitted": False}, True


def run(args, results_root: Path, progress):
    plan = _plan(args)
    gateway = _new_gateway(args, plan)
    _print_plan(args, plan)
    if gateway is None:
        limit = _spending_limit(args, plan)
    else:  # the user holds no AWS credentials: Braket's spending limit is the gateway's to meet
        _say(args, f"Through the gateway {gateway.url} ({gateway.authentication}): "
                   "it decides by policy and forwards with its own credentials")
        allowance = Allowance(plan.device, unknown_because="not readable here: the gateway holds the AWS credentials")
        _say(args, allowance.describe())
        limit = {"spending_limit": allowance.document()}
    report = run_job(plan, results_root=results_root, progress=progress, parallel=_parallel(args), gateway=gateway)
    return _finish(args, {**plan_document(plan), **limit, **report})


# -- the gateway ------------------------------------------------------------------------

_GATEWAY_OPTIONS = ("gateway", "token", "cert", "key", "ca")


def _given_gateway_options(args) -> list[str]:
    return [f"--{name}" for name in _GATEWAY_OPTIONS if getattr(args, name, None) is not None]


def _credentials(args) -> dict:
    return {"token": args.token, "certificate": args.cert, "key": args.key, "ca": args.ca}


def _new_gateway(args, plan) -> Optional[GatewayAccess]:
    """The gateway `run` goes through (--gateway), or None: straight to Braket."""
    if args.gateway is None:
        if _given_gateway_options(args):
            raise UsageError(f"{_given_gateway_options(args)[0]} needs --gateway URL (the gateway to submit through)")
        return None
    if plan.device is LOCAL:
        raise UsageError("--gateway with --device local: the local simulator runs here, a gateway forwards to Braket; "
                         "choose a device such as --device sv1, or drop --gateway")
    return GatewayAccess.from_options(args.gateway, **_credentials(args))


def _job_gateway(args, record: JobRecord) -> Optional[GatewayAccess]:
    """The gateway a journaled job went through, with the credentials given now; None for a direct job."""
    entry = record.header.get("gateway")
    if not entry:
        _refuse_gateway_options(args, record)
        return None
    return GatewayAccess.for_job(entry, record.job_id, url=getattr(args, "gateway", None),
                                 **_credentials(args))


def _refuse_gateway_options(args, record: JobRecord) -> None:
    given = _given_gateway_options(args)
    if given and not record.header.get("gateway"):
        raise UsageError(f"job {record.job_id} was not run through a gateway: {', '.join(given)} apply only to jobs "
                         "run with --gateway (and to gateway task ids)")


def _gateway_task_backend(args) -> GatewayBackend:
    """For a gateway task named by its id (status, results): the gateway --gateway names."""
    return GatewayBackend(GatewayAccess.from_options(args.gateway, **_credentials(args)))


def hybrid(args, results_root: Path, progress):
    from . import hybrid as hybrid_jobs

    plan = hybrid_jobs.plan_hybrid(
        args.env,
        source=args.source,
        entry_point=args.entry_point,
        device=args.device,
        hyperparameters=args.hyperparameter,
        instance_type=args.instance_type,
        max_runtime_minutes=args.max_runtime_minutes,
        max_cost_usd=args.max_cost,
        outputs_file=args.outputs,
    )
    stack = plan.outputs
    where = (
        "a local subprocess with the LocalSimulator, offline"
        if plan.device is LOCAL
        else f"{plan.instance_type} as {stack.jobs_role_arn}, files under s3://{stack.results_bucket_name}/{stack.jobs_prefix}/"
    )
    _say(args, f"Hybrid job {plan.entry_point} on {plan.device.alias}: {where}")
    _say(args, f"Estimated ${plan.estimate.usd:.2f} [{plan.estimate.breakdown}], cap ${plan.max_cost_usd:.2f}")
    _say(args, f"Not in the estimate: {plan.estimate.not_covered}")
    return _finish_hybrid(args, hybrid_jobs.start_hybrid(plan, results_root=results_root, echo=_job_output(args)))


def _job_output(args):
    """Where a local hybrid job's output lines go as they come: stderr, indented; nowhere with --json."""
    return None if args.json else (lambda line: print(f"  | {line}", file=sys.stderr, flush=True))


def _finish_hybrid(args, summary: dict):
    if not args.json:
        arn = f" ({summary['braket_job_arn']})" if summary.get("braket_job_arn") else ""
        print(f"Hybrid job {summary['job_id']}{arn}: {summary['state']}" +
              (f": {summary['failure_reason']}" if summary.get("failure_reason") else ""))
        if summary.get("result") is not None:
            print(f"Result: {json.dumps(_rounded(summary['result']), sort_keys=True)}")
        for note in summary.get("notes", []):
            print(f"Note: {note}")
        print(f"Results: {summary['results_dir']}/")
    return summary, summary["state"] == "COMPLETED"


def _resume_hybrid(args, record: JobRecord, cap: float):
    from . import hybrid as hybrid_jobs

    header = record.header
    if record.runs_locally or record.braket_job_arn is None:
        # It runs (again) now: estimated and capped like a new job.
        hybrid_jobs.check_cap_again(header, cap)
        _say(args, f"Resuming hybrid job {record.job_id}: {'running it again locally' if record.runs_locally else 'creating it'} "
                   f"(estimated ${header['estimated_cost_usd']:.2f}, cap ${cap:.2f})")
    else:
        _say(args, f"Resuming hybrid job {record.job_id}: waiting for {record.braket_job_arn}")
    return _finish_hybrid(args, hybrid_jobs.execute_hybrid(record, echo=_job_output(args)))


def resume(args, results_root: Path, progress):
    config = environment_config(args.env)
    if args.job_id:
        record = load_job(results_root, args.env, args.job_id)
        if record.complete:
            raise UsageError(f"job {record.job_id} is complete: nothing to resume (`python -m jobs results {record.job_id}`)")
        if record.discarded:
            raise UsageError(f"job {record.job_id} was discarded: nothing to resume")
    else:
        pending = [job for job in find_jobs(results_root, args.env) if not job.complete and not job.discarded]
        if not pending:
            raise UsageError(f"nothing to resume in {args.env}: every job under {results_root / args.env} is complete or discarded")
        if len(pending) > 1:
            ids = ", ".join(job.job_id for job in pending)
            raise UsageError(
                f"{len(pending)} unfinished jobs in {args.env} ({ids}): name one, "
                f"`python -m jobs resume --env {args.env} JOB_ID`, or drop one with `python -m jobs discard JOB_ID`"
            )
        [record] = pending
    if not record.header:
        raise UsageError(f"{record.directory}: the journal has no job header; nothing to resume")
    cap = config.max_cost_usd if args.max_cost is None else args.max_cost
    if record.is_hybrid:
        _refuse_gateway_options(args, record)
        return _resume_hybrid(args, record, cap)
    gateway = _job_gateway(args, record)
    # Money first: tasks the journal lacks are created now, so they are estimated and capped like a new run.
    device = device_for_arn(record.header["device"]["arn"])
    kept = record.completed_outcomes()
    to_create = record.indices_to_create(kept)
    cost = estimate_cost(device, len(to_create), record.header["shots"])
    check_cap(cost, cap)
    _say(
        args,
        f"Resuming job {record.job_id}: {len(kept)} of {len(record.header['circuits'])} task(s) done, "
        f"{len(to_create)} to create, estimated {cost.format()}, cap ${cap:.2f}",
    )
    report = resume_job(record, progress=progress, parallel=_parallel(args), gateway=gateway)
    return _finish(args, report)


def discard(args, results_root: Path, progress):
    """Stop tracking an unfinished job: `resume` passes it by; its files and journal stay."""
    [job_id] = args.ids
    if TASK_ARN_MARK in job_id:
        raise UsageError(f"{job_id!r} is a quantum task, not a job: discard takes a job id (`python -m jobs cancel ARN` cancels a task)")
    record = _job_records([job_id], args.env, results_root)[job_id]
    if record.complete:
        raise UsageError(f"job {job_id} is complete: there is nothing to discard")
    if not record.discarded:
        Journal(record.directory).discarded()
    remote = (bool(record.task_ids) or bool(record.braket_job_arn)) and not record.runs_locally
    _say(args, f"Discarded job {job_id}: `resume` will pass it by; its files stay in {record.directory}")
    if remote and record.header.get("gateway"):
        _say(args, f"Its {len(record.task_ids)} task(s) accepted by the gateway {record.header['gateway']['url']} still run")
    elif remote:
        what = f"hybrid job {record.braket_job_arn}" if record.is_hybrid else f"{len(record.task_ids)} created task(s)"
        _say(args, f"Its {what} may still run at Braket: `python -m jobs cancel {job_id}` stops it")
    created = [record.braket_job_arn] if record.braket_job_arn else sorted(record.task_ids.values())
    return {"job_id": job_id, "discarded": True, "created_tasks": created}, True


def _finish(args, report: dict):
    failed = [t for t in report["tasks"] if t["state"] != "COMPLETED"]
    if not args.json:
        _print_tasks(report["tasks"])
        print(f"Results: {report['results_dir']}/ (histogram: {report['files']['histogram_png']})")
        for task in failed:
            print(f"Task {task['index']} ({task['id']}) {task['state']}: {task['failure_reason'] or 'no reason given'}")
    return report, not failed


def _print_tasks(tasks: list[dict], limit: int = 20) -> None:
    print(f"{'#':>4}  {'circuit':12s} {'state':10s} counts")
    for task in tasks[:limit]:
        counts = ", ".join(f"{bits}: {n}" for bits, n in sorted((task.get("counts") or {}).items(), key=lambda kv: -kv[1])[:6])
        print(f"{task['index']:>4}  {task['circuit'][:12]:12s} {task['state']:10s} {counts or '-'}")
        _print_result_types(task)
    if len(tasks) > limit:
        print(f"      ... {len(tasks) - limit} more in counts.csv")


def _print_result_types(task: dict, indent: str = "      ") -> None:
    """One line per result type of the program: its label and value (samples summarised)."""
    for item in task.get("result_types") or []:
        value = item["value"]
        if item["result_type"].startswith("sample") and isinstance(value, list) and value:
            flat = [v for row in value for v in row] if isinstance(value[0], list) else value
            shown = f"{len(flat)} samples, mean {sum(flat) / len(flat):.6g}"
        else:
            shown = json.dumps(_rounded(value))
        print(f"{indent}{item['result_type']} = {shown}")


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def devices(args, results_root: Path, progress):
    environment_config(args.env)
    outputs = resolve_outputs(args.env, outputs_file=args.outputs)
    allowed = allowed_devices(outputs.allowed_devices)
    statuses = live_statuses(allowed, outputs.region, deadline_seconds=DEVICES_DEADLINE_SECONDS)
    rows = []
    for device in allowed:
        price = estimate_cost(device, 1, 1000)
        rows.append(
            {
                "alias": device.alias,
                "arn": device.arn,
                "region": device.region or (outputs.region if device is not LOCAL else "local"),
                "price": price.breakdown,
                "estimate_1000_shots_usd": round(price.usd, 4),
                "status": statuses[device.arn],
            }
        )
    if not args.json:
        print(f"{'alias':20s} {'region':10s} {'status':8s} {'1000 shots':>10s}  arn / price")
        for r in rows:
            cost = f"${r['estimate_1000_shots_usd']:.2f}"
            print(f"{r['alias']:20s} {r['region']:10s} {r['status']:8s} {cost:>10s}  {r['arn']}  [{r['price']}]")
    return {"environment": args.env, "devices": rows}, True


# -- task or job ids --------------------------------------------------------------


def _job_records(ids: list[str], env, results_root: Path, gateway: Optional[str] = None) -> dict[str, JobRecord]:
    """Job ids (not task ARNs, nor gateway task ids when a ``gateway`` is given) mapped to their
    journals, searched in every environment unless --env."""
    records = {}
    envs = [env] if env else sorted(p.name for p in results_root.iterdir()) if results_root.is_dir() else []
    for job_id in (i for i in ids if TASK_ARN_MARK not in i and not (gateway and GATEWAY_TASK_ID.match(i))):
        found = [load_job(results_root, e, job_id) for e in envs if (results_root / e / job_id).is_dir()]
        if not found:
            hint = " (a gateway task id needs --gateway URL)" if GATEWAY_TASK_ID.match(job_id) else ""
            raise UsageError(f"{job_id!r} is neither a quantum task ARN nor a job id under {results_root}/{hint}")
        records[job_id] = found[0]
    return records


_TASK_ARN = re.compile(r"^arn:aws[a-z-]*:braket:([a-z0-9-]+):[0-9]{12}:quantum-task/[A-Za-z0-9-]+$")


def _backend_for_arn(arn: str):
    """A backend for a task given by ARN alone (its region is in the ARN)."""
    from .backends import AwsBackend

    match = _TASK_ARN.match(arn)
    if match is None:
        raise UsageError(f"{arn!r} is not a quantum task ARN: expected arn:aws:braket:REGION:ACCOUNT:quantum-task/ID")
    return AwsBackend(device_arn="", region=match.group(1), bucket=None, key_prefix="")


def _job_task_states(record: JobRecord, args) -> list[dict]:
    """Each task of a job with its state: from the summary once collected, else asked of Braket (or the gateway).
    A hybrid job is one row: the job itself."""
    if record.is_hybrid:
        from .hybrid import state_of

        state, reason = state_of(record)
        return [{"id": record.braket_job_arn or record.job_id, "state": state, "failure_reason": reason}]
    if record.complete:
        return record.summary["tasks"]
    if record.runs_locally:
        # A local job that never finished: `resume` re-runs it.
        return [{"id": t, "state": "UNKNOWN"} for _, t in sorted(record.task_ids.items())]
    backend = backend_for(record.header, gateway=_job_gateway(args, record))  # one session for the whole job
    tasks = []
    for _, task_id in sorted(record.task_ids.items()):
        state, reason = backend.state(task_id)
        tasks.append({"id": task_id, "state": state, "failure_reason": reason})
    return tasks


def status(args, results_root: Path, progress):
    records = _job_records(args.ids, args.env, results_root, args.gateway)
    for record in records.values():
        _refuse_gateway_options(args, record)
    rows = []
    gateway_tasks = None
    for item in args.ids:
        if item in records:
            for task in _job_task_states(records[item], args):
                rows.append({"id": task["id"], "job_id": item, "state": task["state"], "failure_reason": task.get("failure_reason")})
        elif TASK_ARN_MARK not in item:
            gateway_tasks = gateway_tasks or _gateway_task_backend(args)
            state, reason = gateway_tasks.state(item)
            rows.append({"id": item, "job_id": None, "state": state, "failure_reason": reason})
        else:
            state, reason = _backend_for_arn(item).state(item)
            rows.append({"id": item, "job_id": None, "state": state, "failure_reason": reason})
    if not args.json:
        for r in rows:
            print(f"{r['id']}  {r['state']}" + (f"  ({r['failure_reason']})" if r["failure_reason"] else ""))
    return {"tasks": rows}, True


def results(args, results_root: Path, progress):
    [item] = args.ids
    records = _job_records([item], args.env, results_root, args.gateway)
    if item in records:
        record = records[item]
        _refuse_gateway_options(args, record)
        if not record.complete:
            raise UsageError(
                f"job {item} is not complete: `{record.resume_command}` collects it"
            )
        document = record.summary
        if record.is_hybrid:
            if not args.json:
                _finish_hybrid(args, document)
            return document, document["state"] == "COMPLETED"
    else:
        backend = _backend_for_arn(item) if TASK_ARN_MARK in item else _gateway_task_backend(args)
        outcome = backend.wait(item, timeout_seconds=0)
        if outcome.state != "COMPLETED":
            raise UsageError(f"task {item} is {outcome.state}: results exist only for COMPLETED tasks")
        document = {"tasks": [{"id": item, "state": outcome.state, "counts": outcome.counts,
                               **({"result_types": outcome.result_types} if outcome.result_types else {})}]}
    if not args.json:
        for task in document["tasks"]:
            print(f"{task['id']}  {task['state']}  {json.dumps(task.get('counts'), sort_keys=True)}")
            _print_result_types(task, indent="  ")
    return document, True


def cancel(args, results_root: Path, progress):
    [item] = args.ids
    records = _job_records([item], args.env, results_root, args.gateway)
    if item in records:
        record = records[item]
        _refuse_gateway_options(args, record)
        if record.runs_locally:
            raise UsageError(f"job {item} ran on the local simulator: there is nothing to cancel")
        if record.is_hybrid:
            return _cancel_hybrid(args, record)
        backend = backend_for(record.header, gateway=_job_gateway(args, record))
        candidates = list(record.task_ids.values())
    elif TASK_ARN_MARK not in item:  # a gateway task id
        backend, candidates = _gateway_task_backend(args), [item]
    else:
        backend, candidates = _backend_for_arn(item), [item]
    # A task that has finished has nothing to cancel, whether named by ARN or through its job.
    targets = [t for t in candidates if backend.state(t)[0] not in TERMINAL_STATES]
    rows = [{"id": t, "state": backend.cancel(t)} for t in targets]
    if not args.json:
        for r in rows:
            print(f"{r['id']}  {r['state']}")
        if not rows:
            print("Nothing to cancel: every task has finished.")
    return {"tasks": rows}, True


def _cancel_hybrid(args, record: JobRecord):
    from .hybrid import cancel_on_braket, state_of

    state, _ = state_of(record)
    if record.braket_job_arn is None or state in TERMINAL_STATES:
        rows = []
    else:
        rows = [{"id": record.braket_job_arn, "state": cancel_on_braket(record)}]
    if not args.json:
        for r in rows:
            print(f"{r['id']}  {r['state']}")
        if not rows:
            print(f"Nothing to cancel: hybrid job {record.job_id} is {state}.")
    return {"tasks": rows}, True
