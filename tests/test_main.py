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
