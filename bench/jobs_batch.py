#!/usr/bin/env python
"""Batch throughput: `python -m jobs` against a naive sequential loop, both through the Braket emulator.

200 Bell tasks on SV1 with 50 ms API latency and a 0.5 s queue delay per task
(results in moto's S3 on loopback). In the same run: (a) `jobs run` with 200
`--circuit bell` (submission and collection), (b) the loop most notebooks start
with: `AwsDevice(SV1).run(bell, ...).result()` per task. Prints both times and,
last, `jobs_batch: ratio X.XX (jobs A s / naive B s)`.

Usage: pipenv run python bench/jobs_batch.py [--tasks 200] [--latency 0.05] [--queue-delay 0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.braket_emulator import BraketEmulator, moto_s3_server  # noqa: E402

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\nb = measure q;\n"


def naive(tasks: int, bucket: str, shots: int) -> float:
    """The sequential loop: create, wait, read; one task at a time."""
    from braket.aws import AwsDevice
    from braket.ir.openqasm import Program

    start = time.perf_counter()
    device = AwsDevice(SV1)
    for _ in range(tasks):
        counts = device.run(Program(source=BELL), s3_destination_folder=(bucket, "naive"), shots=shots).result().measurement_counts
        assert sum(counts.values()) == shots
    return time.perf_counter() - start


def with_jobs(tasks: int, workdir: Path, shots: int) -> float:
    argv = [sys.executable, "-m", "jobs", "run", "--env", "dev", "--device", "sv1", "--shots", str(shots), "--json"]
    argv += ["--circuit", "bell"] * tasks + ["--max-cost", "1000"]
    start = time.perf_counter()
    run = subprocess.run(argv, cwd=workdir, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"jobs run failed ({run.returncode}): {run.stderr[-2000:]}")
    document = json.loads(run.stdout)
    assert [t["state"] for t in document["tasks"]] == ["COMPLETED"] * tasks
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="API latency per call, seconds")
    parser.add_argument("--queue-delay", type=float, default=0.5, help="QUEUED -> RUNNING delay per task, seconds")
    parser.add_argument("--shots", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, moto_s3_server() as s3_url:
        workdir = Path(tmp)
        subprocess.run(
            [sys.executable, str(REPO / "main.py")],
            cwd=REPO,
            env={**os.environ, "CDKTF_OUTDIR": str(workdir / "cdktf.out")},
            check=True,
        )
        os.environ.update(
            AWS_ENDPOINT_URL_S3=s3_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        import boto3

        bucket = json.loads((workdir / "cdktf.out/stacks/dev/cdk.tf.json").read_text())["resource"]["aws_s3_bucket"]
        bucket = next(iter(bucket.values()))["bucket"]
        boto3.client("s3").create_bucket(Bucket=bucket)
        with BraketEmulator(
            s3_endpoint=s3_url, api_latency=args.latency, queue_delay=args.queue_delay, max_workers=64
        ) as emulator:
            os.environ["BRAKET_ENDPOINT"] = emulator.url
            print(f"{args.tasks} Bell tasks on SV1, API latency {args.latency * 1000:.0f} ms, queue delay {args.queue_delay} s")
            jobs_seconds = with_jobs(args.tasks, workdir, args.shots)
            print(f"jobs (submit + collect, --parallel 16): {jobs_seconds:.2f} s", flush=True)
            naive_seconds = naive(args.tasks, bucket, args.shots)
            print(f"naive sequential AwsDevice.run().result(): {naive_seconds:.2f} s")
            assert len(emulator.tasks()) == 2 * args.tasks, "a task was created twice or not at all"
        shutil.rmtree(workdir / "results", ignore_errors=True)
    print(f"jobs_batch: ratio {jobs_seconds / naive_seconds:.2f} (jobs {jobs_seconds:.2f} s / naive {naive_seconds:.2f} s)")


if __name__ == "__main__":
    main()
