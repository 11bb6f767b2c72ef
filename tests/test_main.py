"""`python main.py`: every environment written, silently, offline, as the in-process synthesis."""

import json

from tests.synth_helpers import without_metadata


def test_main_writes_every_stack_quietly_and_deterministically(main_synth, stack_json):
    run, outdir = main_synth
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""  # no Node banner, no warnings
    for name, expected in stack_json.items():
        written = json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text())
        assert without_metadata(written) == without_metadata(expected), name
