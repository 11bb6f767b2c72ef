#!/usr/bin/env python3
"""Stop this SageMaker notebook instance once Jupyter has been idle for --idle-minutes.

Runs as root every 5 minutes (a systemd timer, or cron where there is no systemd) on the system python, hence standard library only (boto3 if importable).
Exit 0 after a decision, 1 if deciding or stopping failed, 2 for bad arguments.
"""
import argparse
import json
import re
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

AWS_CLI_STOP = ["aws", "sagemaker", "stop-notebook-instance"]


def parse_time(text):
    # fromisoformat before Python 3.11 takes no 'Z' and only 3- or 6-digit fractions.
    text = re.sub(r"[Zz]$", "+00:00", text.strip())
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "00000")[:6], text, count=1)
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def is_idle(sessions, status, now, idle_minutes):
    """(idle, reason) from /api/sessions, or /api/status when no session has a kernel."""
    cutoff = now - timedelta(minutes=idle_minutes)
    limit = f"(idle limit {idle_minutes} min)"
    kernels = [s["kernel"] for s in sessions if s.get("kernel")]
    for kernel in kernels:
        name = kernel.get("name") or kernel.get("id")
        if kernel.get("execution_state") == "busy":
            return False, f"kernel {name} is busy"
        if not kernel.get("last_activity"):
            return False, f"kernel {name} reports no last_activity"
    if kernels:
        latest = max(parse_time(k["last_activity"]) for k in kernels)
        what = f"{len(kernels)} kernel(s), last activity"
    else:
        if not status or not status.get("started") or not status.get("last_activity"):
            return False, "no kernels and no Jupyter status"
        started = parse_time(status["started"])
        if started > cutoff:
            # A fresh server has not been idle for the whole window yet.
            return False, f"no kernels, Jupyter started {(now - started) // timedelta(minutes=1)} min ago {limit}"
        latest = parse_time(status["last_activity"])
        what = "no kernels, last server activity"
    reason = f"{what} {(now - latest) // timedelta(minutes=1)} min ago {limit}"
    return latest <= cutoff, reason


def read_metadata(path):
    with open(path) as handle:
        metadata = json.load(handle)
    # arn:aws:sagemaker:REGION:ACCOUNT:notebook-instance/NAME
    return metadata["ResourceName"], metadata["ResourceArn"].split(":")[3]


def get_json(url):
    context = None
    if urllib.parse.urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1"):
        # SageMaker's local Jupyter has a self-signed certificate; only loopback skips verification.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Jupyter is local: never go through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=10) as response:
        return json.load(response)


def read_jupyter(url):
    # no_track_activity keeps these polls from counting as user activity.
    sessions = get_json(url.rstrip("/") + "/api/sessions?no_track_activity=1")
    if any(s.get("kernel") for s in sessions):
        return sessions, None
    return sessions, get_json(url.rstrip("/") + "/api/status?no_track_activity=1")


def run_command(argv):
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def stop_instance(name, region, runner=run_command, command=AWS_CLI_STOP):
    argv = [*command, "--notebook-instance-name", name, "--region", region]
    runner(argv)
    return argv


def stop_with_boto3(name, region):
    try:
        import boto3
    except ImportError:
        return False
    boto3.client("sagemaker", region_name=region).stop_notebook_instance(NotebookInstanceName=name)
    return True


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage plus error
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(value):
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return int(value)


def timestamp(value):
    try:
        return parse_time(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 timestamp: {value!r}") from None


def parse_args(argv=None):
    parser = Parser(prog="autostop.py", description=__doc__.splitlines()[0])
    parser.add_argument("--idle-minutes", type=positive_int, required=True)
    parser.add_argument("--jupyter-url", default="https://localhost:8443")
    parser.add_argument("--metadata-file", default="/opt/ml/metadata/resource-metadata.json")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--now", type=timestamp, help="ISO-8601, default: now")
    parser.add_argument("--stop-command", help="instead of boto3/aws, gets the CLI's arguments")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    now = args.now or datetime.now(timezone.utc)
    log = now.strftime("%Y-%m-%dT%H:%M:%SZ autostop:")
    try:
        name, region = read_metadata(args.metadata_file)
        idle, reason = is_idle(*read_jupyter(args.jupyter_url), now, args.idle_minutes)
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as error:
        print(f"{log} keeping instance running, cannot decide: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if not idle:
        print(f"{log} busy, not stopping notebook instance {name}: {reason}")
    elif args.dry_run:
        print(f"{log} idle, dry run: would stop notebook instance {name} in {region}: {reason}")
    else:
        print(f"{log} idle, stopping notebook instance {name} in {region}: {reason}", flush=True)
        try:
            if args.stop_command:
                stop_instance(name, region, command=[args.stop_command])
            elif not stop_with_boto3(name, region):
                stop_instance(name, region)
        except Exception as error:  # boto3 or CLI; the timer retries in 5 minutes
            print(f"{log} failed to stop notebook instance {name}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
