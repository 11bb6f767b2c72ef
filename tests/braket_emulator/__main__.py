"""``python -m tests.braket_emulator --port PORT --s3-endpoint URL``: serve in the foreground."""

from __future__ import annotations

import argparse
import signal
import threading

from .access import CallerIdentity
from .server import BraketEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.braket_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address only")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--s3-endpoint", required=True, help="S3 (moto) endpoint URL")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--api-latency", type=float, default=0.0)
    parser.add_argument("--queue-delay", type=float, default=0.0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--throttle-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device-status", action="append", default=[], metavar="ARN=STATUS",
                        help="override a device's status (ONLINE|OFFLINE|RETIRED); repeatable")
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--identity-policy", metavar="FILE",
                     help="enforce IAM: every call is made by a role with this identity policy (JSON)")
    who.add_argument("--stack-role", metavar="CDK_TF_JSON",
                     help="enforce IAM: every call is made by the notebook role of this synthesized stack, "
                          "and hybrid jobs run as its jobs execution role")
    args = parser.parse_args(argv)
    try:
        identity = (CallerIdentity.from_policy_file(args.identity_policy) if args.identity_policy
                    else CallerIdentity.from_stack(args.stack_role) if args.stack_role else None)
        roles = [CallerIdentity.from_stack(args.stack_role, "JobsExecutionRole")] if args.stack_role else []
    except (OSError, ValueError, KeyError) as exc:
        parser.error(f"cannot read the identity to enforce: {exc}")
    overrides = dict(item.rsplit("=", 1) for item in args.device_status)
    try:
        emulator = BraketEmulator(
            host=args.host, port=args.port, s3_endpoint=args.s3_endpoint, region=args.region,
            api_latency=args.api_latency, queue_delay=args.queue_delay,
            failure_rate=args.failure_rate, throttle_rate=args.throttle_rate, seed=args.seed,
            device_status=overrides, identity=identity, roles=roles).start()
    except ValueError as exc:  # non-loopback host, bad knob values
        parser.error(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"braket emulator listening on {emulator.url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
