"""`python -m jobs`: run Braket circuits against a stack's outputs; offline and free by default.

Exit codes: 0 success; 2 bad input or refused (one line on stderr, nothing
submitted); 1 a task or the service failed; 130 interrupted (what completed is
saved, and the line says how to resume). With --json, every exit prints exactly
one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import Interrupted, ServiceError, UsageError

RESULTS_ROOT = Path("results")
INTERRUPTED = 130  # 128 + SIGINT, as shells report it
DEBUG_VARIABLE = "JOBS_DEBUG"  # set to 1 to see the traceback of an unexpected error

_WHOLE = re.compile(r"^[0-9]+$")  # ASCII digits only: int() also takes '１２', '+5' and ' 5 '
_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]+)?$")  # no nan, inf, -0, exponents or signs


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, allow_abbrev=False, **kwargs)  # `--js` must not pass for `--json`

    def error(self, message: str) -> None:  # one line, exit 2, like every other refusal
        raise UsageError(f"{self.prog}: {message}")


def whole_number(text: str) -> int:
    """A count such as shots: ASCII digits only."""
    if not _WHOLE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (digits 0-9)")
    return int(text)


def usd_amount(text: str) -> float:
    """An amount in USD: digits with an optional decimal part; never NaN, infinite or negative."""
    if not _AMOUNT.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount in USD such as 10 or 2.50")
    return float(text)


def hybrid_hyperparameter(text: str) -> tuple[str, str]:
    """KEY=VALUE: a key of letters, digits, '_', '-' and '.'; the value anything."""
    key, equals, value = text.partition("=")
    if not equals or not re.match(r"^[A-Za-z0-9_.-]+$", key):
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. iterations=10; keys of letters, digits, '_', '-', '.')")
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m jobs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary)

    def env_option(cmd: argparse.ArgumentParser, required: bool = True) -> None:
        if required:
            cmd.add_argument("--env", required=True, help="environment whose stack outputs to use (dev, staging, prod)")
        else:
            cmd.add_argument("--env", help="environment of a job id (default: searched in every environment)")

    def json_option(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--json", action="store_true", help="print exactly one JSON document, whatever the outcome")

    def parallel_option(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--parallel", type=whole_number, default=16, help="tasks submitted and collected at once, 1-64 (default 16)")

    def gateway_options(cmd: argparse.ArgumentParser, new_job: bool) -> None:
        from .gateway_client import TOKEN_VARIABLE

        cmd.add_argument(
            "--gateway", metavar="URL",
            help="submit through the DMZ gateway at URL (https://host:port): it authenticates, decides by policy "
                 "and forwards with its own AWS credentials; none are needed here"
            if new_job else "the gateway a job went through (default: the one its journal names); with it, IDs may "
                            "also be the gateway's task ids",
        )
        cmd.add_argument(
            "--token",
            help=f"bearer token for the gateway (OIDC or dev token); better in the environment variable "
                 f"{TOKEN_VARIABLE}, read when --token is not given: a --token value stays in shell history "
                 "and shows in the process list",
        )
        cmd.add_argument("--cert", type=Path, metavar="FILE", help="client certificate (PEM) for mutual TLS with the gateway")
        cmd.add_argument(
            "--key", type=Path, metavar="FILE", help="the client certificate's private key (PEM, unencrypted; default: in --cert's file)"
        )
        cmd.add_argument(
            "--ca", type=Path, metavar="FILE",
            help="CA certificate (PEM) that signed the gateway's certificate (default: the system's trust store"
                 + (")" if new_job else "; for a job, the one it ran with)"),
        )

    def max_cost_option(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument(
            "--max-cost", type=usd_amount, help="refuse when the estimate is above this many USD (default: the environment's)"
        )

    for name, summary in (
        ("run", "estimate, then submit a batch of circuits and collect the results"),
        ("estimate", "print the cost estimate of a batch; submit nothing"),
    ):
        cmd = command(name, summary)
        env_option(cmd)
        cmd.add_argument("--device", default="local", help="local (default), an alias such as sv1, or a device ARN")
        cmd.add_argument(
            "--circuit", action="append", help="bell (default), ghz:N or an OpenQASM 3 file; repeat for a batch"
        )
        cmd.add_argument("--shots", type=whole_number, default=1000, help="shots per task (default 1000)")
        max_cost_option(cmd)
        cmd.add_argument("--outputs", type=Path, help="deployed outputs file (default: found automatically)")
        json_option(cmd)
        if name == "run":
            parallel_option(cmd)
            gateway_options(cmd, new_job=True)

    cmd = command("hybrid", "estimate, then run a hybrid job (an algorithm with its tasks) and collect its result")
    env_option(cmd)
    cmd.add_argument("--source", type=Path, required=True, help="the algorithm's directory (or one .py file)")
    cmd.add_argument(
        "--entry-point", required=True, help="MODULE[:FUNCTION] from the source's name, e.g. hybrid_vqe.vqe:main"
    )
    cmd.add_argument("--device", default="local", help="local (default: offline, free), an alias such as sv1, or a device ARN")
    cmd.add_argument(
        "--hyperparameter", action="append", type=hybrid_hyperparameter, default=[], metavar="KEY=VALUE",
        help="passed to the job as Braket passes hyperparameters; repeat for more",
    )
    cmd.add_argument("--instance-type", default="ml.m5.large", help="the job's classical instance (default ml.m5.large)")
    cmd.add_argument(
        "--max-runtime-minutes", type=whole_number, default=60, help="stop the job after this long, 1-7200 (default 60)"
    )
    max_cost_option(cmd)
    cmd.add_argument("--outputs", type=Path, help="deployed outputs file (default: found automatically)")
    json_option(cmd)

    cmd = command("devices", "list the devices the stack allows, with prices and live status")
    env_option(cmd)
    cmd.add_argument("--outputs", type=Path, help="deployed outputs file (default: found automatically)")
    json_option(cmd)

    cmd = command("resume", "collect an interrupted job: create the tasks it lacks (estimated and capped), wait, write results")
    env_option(cmd)
    cmd.add_argument("job_id", nargs="?", metavar="JOB_ID", help="the job to resume (default: the only unfinished one)")
    max_cost_option(cmd)
    parallel_option(cmd)
    json_option(cmd)
    gateway_options(cmd, new_job=False)

    for name, summary, many in (
        ("status", "state of quantum tasks (ARNs) or of jobs (job ids)", True),
        ("results", "counts of a completed task (ARN) or job (job id)", False),
        ("cancel", "cancel a quantum task (ARN or gateway task id) or every unfinished task of a job", False),
        ("discard", "stop tracking an unfinished job: resume passes it by (its files stay)", False),
    ):
        cmd = command(name, summary)
        what = "job id" if name == "discard" else "quantum task ARN or job id"
        cmd.add_argument("ids", nargs="+" if many else 1, metavar="ID", help=what + ("s" if many else ""))
        env_option(cmd, required=False)
        json_option(cmd)
        if name in ("status", "results", "cancel"):
            gateway_options(cmd, new_job=False)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        from . import commands  # after parsing: --help and bad flags stay instant

        document, ok = getattr(commands, args.command)(args, RESULTS_ROOT, _progress(args))
        if args.json:
            print(json.dumps(document, indent=2, sort_keys=True))
        return 0 if ok else 1
    except UsageError as error:
        return _fail(2, str(error), wants_json)
    except ServiceError as error:
        return _fail(1, str(error), wants_json)
    except Interrupted as stopped:
        report = stopped.report
        if "tasks" in report:
            saved = sum(task["state"] == "COMPLETED" for task in report["tasks"])
            done = f"{saved} of {len(report['tasks'])} task(s) completed"
        else:  # a hybrid job
            done = f"hybrid job {report['state']}" + (f" ({report['braket_job_arn']})" if report.get("braket_job_arn") else "")
        message = f"interrupted: {done}, saved in {report['results_dir']}/; collect the rest with `{stopped.resume_command}`"
        if stopped.cancel_command:  # what is queued or running at Braket goes on (and costs) unless cancelled
            message += f", or stop it at Braket with `{stopped.cancel_command}`"
        return _fail(INTERRUPTED, message, wants_json, {**report, "resume_command": stopped.resume_command,
                                                        "cancel_command": stopped.cancel_command})
    except KeyboardInterrupt:
        return _fail(INTERRUPTED, "interrupted before anything was submitted", wants_json)
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except SystemExit:
        raise  # --help
    except Exception as error:  # noqa: BLE001 - one line, never a traceback (JOBS_DEBUG=1 shows it)
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        detail = " ".join(str(error).split()) or "no detail"
        return _fail(1, f"unexpected {type(error).__name__}: {detail} (set {DEBUG_VARIABLE}=1 for the traceback)", wants_json)


_progress_line_open = False  # a progress bar is drawn without its newline yet


def _fail(code: int, message: str, wants_json: bool, document: Optional[dict] = None) -> int:
    print(f"{chr(10) if _progress_line_open else ''}error: {message}", file=sys.stderr)
    if wants_json:
        print(json.dumps({**(document or {}), "error": message, "exit_code": code}, indent=2, sort_keys=True))
    return code


def _progress(args):
    if getattr(args, "json", False):
        return None

    def show(done: int, total: int) -> None:
        global _progress_line_open
        if total < 2:
            return
        _progress_line_open = done != total
        width = 30
        filled = width * done // total
        end = "\n" if done == total else ""
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tasks", end=end, file=sys.stderr, flush=True)

    return show
