"""`python main.py`: every environment written, silently, offline, as the in-process synthesis."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.synth_helpers import without_metadata

REPO = Path(__file__).resolve().parents[1]


def test_main_writes_every_stack_quietly_and_deterministically(tmp_path, stack_json):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Credentials that would fail any AWS call: synthesis must not make one.
    env.update(CDKTF_OUTDIR=str(tmp_path), AWS_ACCESS_KEY_ID="invalid", AWS_SECRET_ACCESS_KEY="invalid")
    env.pop("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", None)
    run = subprocess.run([sys.executable, "main.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""  # no Node banner, no warnings
    for name, expected in stack_json.items():
        written = json.loads((tmp_path / "stacks" / name / "cdk.tf.json").read_text())
        assert without_metadata(written) == without_metadata(expected), name
