"""`python main.py`: the bootstrap and every environment written, silently, offline, as the in-process synthesis."""

import json

from stacks import ENVIRONMENTS, STACK_NAMES
from tests.synth_helpers import without_metadata


def test_main_writes_every_stack_quietly_and_deterministically(main_synth, synthesized_stacks):
    run, outdir = main_synth
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""  # no Node banner, no warnings
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == sorted(STACK_NAMES)
    assert set(STACK_NAMES) == {"bootstrap", *ENVIRONMENTS} == set(synthesized_stacks)
    for name, text in synthesized_stacks.items():
        written = json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text())
        assert without_metadata(written) == without_metadata(json.loads(text)), name


def test_prod_warns_at_synthesis_what_its_gateway_still_lacks(main_synth):
    """Stack annotations, which `cdktf synth` and `cdktf deploy` print: prod's gateway has no link
    to the premises yet and trusts the repository's EXAMPLE CA. Other environments warn of nothing."""
    _, outdir = main_synth
    manifest = json.loads((outdir / "manifest.json").read_text())
    warnings = {name: [a["message"] for a in stack["annotations"] if a["level"] == "@cdktf/warn"]
                for name, stack in manifest["stacks"].items()}
    assert warnings["dev"] == [] and warnings["staging"] == [] and warnings["bootstrap"] == []
    assert [w.split(":")[1].split("=")[0].strip() for w in warnings["prod"]] == ["submission", "gateway_ca_certificate"]


def test_a_gateway_with_a_premises_link_and_its_own_ca_warns_of_nothing(tmp_path, monkeypatch):
    import dataclasses

    from stacks import quantum_stack
    from stacks.config import ENVIRONMENTS, PremisesLink

    prod = ENVIRONMENTS["prod"]
    assert len(quantum_stack.gateway_warnings(prod)) == 2
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n...\n")
    monkeypatch.setattr(quantum_stack, "REPOSITORY", tmp_path)
    linked = dataclasses.replace(prod, gateway_ca_certificate="ca.pem", premises_link=PremisesLink(
        premises_cidrs=("192.168.0.0/16",), transit_gateway_id="tgw-0123456789abcdef0"))
    assert quantum_stack.gateway_warnings(linked) == []


def test_make_deploy_refuses_an_unknown_stack_in_one_line_before_installing_or_synthesizing():
    """`make deploy ENV=prd` (or no ENV) stops at once with the stacks it could have meant; a known
    stack passes the check, and `make -n` shows the deploy that follows (without running it)."""
    import os
    import re
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    # As a user's shell runs it, not as a sub-make of `make test` (which would pass its flags on).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    for target in ("deploy", "cdktn-deploy"):
        for name in ("prd", ""):
            run = subprocess.run(["make", "--no-print-directory", target, f"ENV={name}"], cwd=repo,
                                 capture_output=True, text=True, timeout=60, env=env)
            assert run.returncode != 0 and run.stdout == "", (target, name, run.stdout)
            first, *rest = run.stderr.splitlines()
            assert first == (f"ENV={name!r} is not a stack of this app: expected one of "
                             f"{', '.join(STACK_NAMES)} (bootstrap first, then the environments)")
            assert all(re.match(r"make(\[\d+\])?: \*\*\* ", line) for line in rest), run.stderr
    for name in STACK_NAMES:
        run = subprocess.run(["make", "--no-print-directory", "check-stack", f"ENV={name}"], cwd=repo,
                             capture_output=True, text=True, timeout=60, env=env)
        assert (run.returncode, run.stdout, run.stderr) == (0, "", ""), name
    run = subprocess.run(["make", "--no-print-directory", "-n", "deploy", "ENV=bootstrap"], cwd=repo,
                         capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0 and "npx cdktf deploy bootstrap --outputs-file outputs/bootstrap.json" in run.stdout
