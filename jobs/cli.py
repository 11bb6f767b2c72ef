"""`python -m jobs`: run Braket circuits against a stack's outputs; offline and free by default.

Exit codes: 0 success; 2 bad input or refused (one line on stderr, nothing
submitted); 1 a task or the service failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import ServiceError, UsageError

RESULTS_ROOT = Path("results")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other refusal
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m jobs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def job_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--env", required=True, help="environment whose stack outputs to use")
        command.add_argument("--device", default="local", help="local (default), an alias such as sv1, or a device ARN")
        command.add_argument(
            "--circuit", action="append", help="bell (default), ghz:N or an OpenQASM 3 file; repeat for a batch"
        )
        command.add_argument("--shots", type=int, default=1000, help="shots per task (default 1000)")
        command.add_argument("--max-cost", type=float, help="refuse above this estimate in USD (default: per environment)")
        command.add_argument("--outputs", type=Path, help="deployed outputs file (default: found automatically)")
        command.add_argument("--json", action="store_true", help="print exactly one JSON document")
        command.add_argument("--parallel", type=int, default=16, help="tasks submitted and collected at once (default 16)")

    job_options(commands.add_parser("run", help="estimate, then submit and collect a batch"))
    job_options(commands.add_parser("estimate", help="print the cost estimate; submit nothing"))
    for name, help_text in (
        ("devices", "list the devices the stack allows"),
        ("resume", "collect an interrupted batch (the latest, or JOB_ID)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--env", required=True)
        command.add_argument("--outputs", type=Path)
        command.add_argument("--json", action="store_true")
        if name == "resume":
            command.add_argument("job_id", nargs="?")
            command.add_argument("--parallel", type=int, default=16)
    for name, help_text, many in (
        ("status", "state of quantum tasks (ARNs) or of jobs (job ids)", True),
        ("results", "counts of a completed task (ARN) or job (job id)", False),
        ("cancel", "cancel a quantum task (ARN) or every unfinished task of a job", False),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("ids", nargs="+" if many else 1, metavar="ID")
        command.add_argument("--env", help="environment of a job id (default: searched)")
        command.add_argument("--json", action="store_true")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    wants_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        args = build_parser().parse_args(argv)
        from . import commands  # after parsing: --help and bad flags stay instant

        document, ok = getattr(commands, args.command)(args, RESULTS_ROOT, _progress(args))
    except UsageError as error:
        return _fail(2, str(error), wants_json)
    except ServiceError as error:
        return _fail(1, str(error), wants_json)
    except KeyboardInterrupt:
        return _fail(1, "interrupted: created tasks are journaled; `python -m jobs resume --env ENV` collects them", wants_json)
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    return 0 if ok else 1


def _fail(code: int, message: str, wants_json: bool) -> int:
    print(f"error: {message}", file=sys.stderr)
    if wants_json:
        print(json.dumps({"error": message, "exit_code": code}))
    return code


def _progress(args):
    if getattr(args, "json", False):
        return None

    def show(done: int, total: int) -> None:
        if total < 2:
            return
        width = 30
        filled = width * done // total
        end = "\n" if done == total else ""
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} tasks", end=end, file=sys.stderr, flush=True)

    return show
