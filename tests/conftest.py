"""Shared fixtures: every environment is synthesized once per test session.

Importing the AWS provider bindings is the expensive part of a cdktf run, so
stacks are built once here and the tests read the synthesized JSON.
"""

from __future__ import annotations

import json
import os

import pytest

import quantum_constructs  # noqa: F401  first: silences jsii's Node 20 banner
from cdktf import App, Testing, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider

from stacks import ENVIRONMENTS, add_environment_stacks


@pytest.fixture(scope="session")
def environment_stacks():
    return add_environment_stacks(Testing.app())


@pytest.fixture(scope="session")
def synthesized(environment_stacks) -> dict[str, str]:
    """Each environment's synthesized Terraform JSON, as text (what Testing.synth returns)."""
    return {name: Testing.synth(stack) for name, stack in environment_stacks.items()}


@pytest.fixture(scope="session")
def stack_json(synthesized) -> dict[str, dict]:
    return {name: json.loads(text) for name, text in synthesized.items()}


@pytest.fixture(params=sorted(ENVIRONMENTS))
def env_name(request) -> str:
    return request.param


@pytest.fixture
def new_stack():
    """A fresh, empty stack with an AWS provider, for construct-level tests."""

    def make(name: str = "test") -> TerraformStack:
        stack = TerraformStack(App(), name)
        AwsProvider(stack, "aws", region="us-east-1")
        return stack

    return make


@pytest.fixture(scope="session")
def project_root(tmp_path_factory, synthesized) -> "Path":
    """A directory laid out like the repository after `main.py`: cdktf.out/stacks/<env>/cdk.tf.json."""
    root = tmp_path_factory.mktemp("project")
    for env, text in synthesized.items():
        path = root / "cdktf.out" / "stacks" / env / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    return root


@pytest.fixture
def workdir(project_root, tmp_path, monkeypatch):
    """A fresh working directory with the synthesized stacks and no results yet; cwd while the test runs."""
    import shutil

    shutil.copytree(project_root / "cdktf.out", tmp_path / "cdktf.out")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def aws(monkeypatch):
    """Fresh moto S3 and Braket emulator on loopback, the SDK pointed at them, the dev stack's bucket created."""
    import urllib.request

    import boto3

    from tests.braket_emulator import BraketEmulator, moto_s3_server, point_sdk_at

    with moto_s3_server() as s3_url, BraketEmulator(s3_endpoint=s3_url, max_workers=16) as emulator:
        point_sdk_at(monkeypatch, emulator.url, s3_url)
        # moto keeps its state per process, across server instances: start every test empty.
        urllib.request.urlopen(urllib.request.Request(f"{s3_url}/moto-api/reset", method="POST")).close()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=DEV_BUCKET)
        yield AwsDoubles(emulator, s3)


DEV_BUCKET = "amazon-braket-quantum-cloud-results-dev"


@pytest.fixture
def no_aws_credentials(monkeypatch):
    """No AWS credentials anywhere boto3 looks, and no configured endpoint: nothing can reach AWS."""
    for name in [n for n in os.environ if n.startswith("AWS_") or n == "BRAKET_ENDPOINT"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    # On a cloud CI runner the instance metadata service would hand out real credentials.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class AwsDoubles:
    def __init__(self, emulator, s3) -> None:
        self.emulator, self.s3 = emulator, s3

    def keys(self, bucket: str = DEV_BUCKET) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="session")
def main_synth(tmp_path_factory):
    """`python main.py` run once, as a user runs it: (completed process, output directory)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    outdir = tmp_path_factory.mktemp("main") / "cdktf.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Credentials that would fail any AWS call: synthesis must not make one.
    env.update(CDKTF_OUTDIR=str(outdir), AWS_ACCESS_KEY_ID="invalid", AWS_SECRET_ACCESS_KEY="invalid")
    env.pop("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", None)
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "main.py"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return run, outdir
