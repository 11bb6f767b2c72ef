"""Two framework families, one library: quantum_constructs.framework chooses CDKTF or CDK Terrain,
is the only module that names their packages, and both synthesize the same Terraform.

This file runs under both (``make test`` with CDKTF, ``make test-cdktn`` with CDK Terrain)."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from quantum_constructs import framework
from quantum_constructs.framework import FAMILIES, FAMILY, FrameworkError, choose
from stacks import STACK_NAMES
from tests.migration import migrate
from tests.synth_helpers import without_metadata
from tests.test_snapshots import snapshot_file

REPO = Path(__file__).resolve().parents[1]
OTHER = FAMILIES["cdktn" if FAMILY.name == "cdktf" else "cdktf"]
FRAMEWORK_PACKAGES = {package for family in FAMILIES.values() for package in (family.core, family.provider)}

# What may differ between the two families' synthesized stacks, and why. Nothing else may.
PROVIDER_PIN = "terraform.required_providers.aws"
"""Each provider bindings release pins its own hashicorp/aws version (cdktf-cdktf-provider-aws
21.22.1: 6.25.0; cdktn-provider-aws 25.8.1: 6.69.1), and writes the source its own way: CDKTF
``"aws"``, CDK Terrain ``"hashicorp/aws"``; Terraform reads both as registry.terraform.io/hashicorp/aws
(a source without a namespace means hashicorp's: Terraform's "Provider Requirements" documentation)."""


def comparable(stack: dict) -> dict:
    """A synthesized stack without what the family decides: cdktf/cdktn's "//" metadata (framework
    name and version) and the provider's version pin, with its source written in full."""
    stack = without_metadata(stack)
    aws = stack["terraform"]["required_providers"]["aws"]
    aws.pop("version")
    aws["source"] = "hashicorp/aws" if aws["source"] == "aws" else aws["source"]
    return stack


@pytest.mark.parametrize("env", STACK_NAMES)
def test_both_families_synthesize_the_same_stacks_but_for_the_provider_pin(env, synthesized_stacks):
    """This family's synthesis of every stack main.py writes (the bootstrap too) against the other
    family's snapshot (both sets are committed)."""
    other = json.loads(snapshot_file(OTHER.name, env).read_text())
    mine = json.loads(synthesized_stacks[env])
    assert comparable(mine) == comparable(other)
    # And the differences removed above are real ones, not a stripped document.
    pins = {FAMILY.name: mine["terraform"]["required_providers"]["aws"], OTHER.name: other["terraform"]["required_providers"]["aws"]}
    assert pins["cdktf"] == {"source": "aws", "version": "6.25.0"} and pins["cdktn"] == {"source": "hashicorp/aws", "version": "6.69.1"}


def test_the_family_in_use_is_the_installed_one_and_never_mixed():
    assert FAMILY.core in sys.modules and FAMILY.provider in sys.modules
    assert OTHER.core not in sys.modules and OTHER.provider not in sys.modules
    import quantum_constructs.aws.s3_bucket as alias
    import quantum_constructs.cdk as cdk

    real = sys.modules[f"{FAMILY.provider}.s3_bucket"]
    assert alias is real and alias.__spec__.name == real.__name__ == f"{FAMILY.provider}.s3_bucket"
    assert cdk is sys.modules[FAMILY.core] and cdk.__spec__.name == FAMILY.core


def imports_of(path: Path) -> set[str]:
    """The top-level packages ``path`` imports (absolute imports, anywhere in the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_framework_module_imports_the_framework_and_provider_packages():
    """The library, the app (main.py, stacks/, jobs/, gateway/) and the tests go through
    quantum_constructs.cdk and quantum_constructs.aws. Exceptions: tests/consumers/ (apps written
    as a team's own CDKTF app would be) and bench/plain_app.py (a plain app, the baseline)."""
    roots = [REPO / "constructs" / "quantum_constructs", REPO / "stacks", REPO / "jobs", REPO / "gateway", REPO / "tests",
             REPO / "bench", REPO / "security", REPO / "examples"]
    files = [REPO / "main.py"] + [p for root in roots for p in root.rglob("*.py")]
    allowed = {REPO / "constructs" / "quantum_constructs" / "framework.py", REPO / "bench" / "plain_app.py"}
    offenders = {
        str(p.relative_to(REPO)): sorted(imports_of(p) & FRAMEWORK_PACKAGES)
        for p in files
        if p not in allowed and "consumers" not in p.parts and imports_of(p) & FRAMEWORK_PACKAGES
    }
    assert len(files) > 100 and offenders == {}
    # The check sees what it looks for: framework.py names the packages only as strings, and the
    # consumer apps do import cdktf.
    assert imports_of(REPO / "tests" / "consumers" / "apps" / "sse_s3.py") & FRAMEWORK_PACKAGES == {"cdktf", "cdktf_cdktf_provider_aws"}


def installed(*packages: str):
    return lambda package: package in packages


CDKTF_ONLY = installed("cdktf", "cdktf_cdktf_provider_aws")
BOTH = installed("cdktf", "cdktf_cdktf_provider_aws", "cdktn", "cdktn_provider_aws")
NOTHING_IMPORTED = installed()


@pytest.mark.parametrize("environ, imported, available, chosen", [
    ({}, NOTHING_IMPORTED, BOTH, "cdktn"),  # the maintained fork first
    ({}, NOTHING_IMPORTED, CDKTF_ONLY, "cdktf"),
    ({}, installed("cdktf"), BOTH, "cdktf"),  # the app imported CDKTF first: never mix
    ({}, installed("cdktf_cdktf_provider_aws"), BOTH, "cdktf"),
    ({framework.VARIABLE: "cdktf"}, NOTHING_IMPORTED, BOTH, "cdktf"),
    ({framework.VARIABLE: " cdktn "}, installed("cdktn"), BOTH, "cdktn"),
])
def test_the_choice(environ, imported, available, chosen):
    assert choose(environ, imported, available).name == chosen


@pytest.mark.parametrize("environ, imported, available, error", [
    ({framework.VARIABLE: "terraform"}, NOTHING_IMPORTED, BOTH,
     "QUANTUM_CONSTRUCTS_FRAMEWORK='terraform' is not allowed: expected 'cdktf' (CDK for Terraform) or 'cdktn' (CDK Terrain)"),
    ({framework.VARIABLE: "cdktn"}, NOTHING_IMPORTED, CDKTF_ONLY,
     "QUANTUM_CONSTRUCTS_FRAMEWORK='cdktn' but cdktn and cdktn_provider_aws are not both installed: "
     "pip install 'quantum-constructs[cdktn]'"),
    ({framework.VARIABLE: "cdktn"}, installed("cdktf"), BOTH,
     "QUANTUM_CONSTRUCTS_FRAMEWORK='cdktn' but this app already imported cdktf: one app cannot mix CDKTF and CDK Terrain"),
    ({}, installed("cdktf", "cdktn"), BOTH,
     "this app imported both cdktf and cdktn: one app cannot mix CDKTF and CDK Terrain"),
    ({}, NOTHING_IMPORTED, installed("cdktn"),  # the framework without its provider bindings
     "quantum_constructs needs CDK Terrain or CDK for Terraform: pip install 'quantum-constructs[cdktn]' (or '[cdktf]')"),
])
def test_a_choice_that_cannot_work_is_one_line(environ, imported, available, error):
    with pytest.raises(FrameworkError) as caught:
        choose(environ, imported, available)
    assert str(caught.value) == error


def test_importing_the_library_with_a_wrong_choice_fails_with_that_line_and_nothing_else():
    import subprocess

    run = subprocess.run([sys.executable, "-c", "import quantum_constructs"], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, framework.VARIABLE: "terraform"})
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == (
        "quantum_constructs.framework.FrameworkError: QUANTUM_CONSTRUCTS_FRAMEWORK='terraform' is not allowed: "
        "expected 'cdktf' (CDK for Terraform) or 'cdktn' (CDK Terrain)")


def synthesize_app(python: Path, app: Path, outdir: Path, **env: str) -> dict:
    import os
    import subprocess

    run = subprocess.run([str(python), str(app)], cwd=app.parent, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "CDKTF_OUTDIR": str(outdir), **env})
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((outdir / "stacks" / "sse-s3-team" / "cdk.tf.json").read_text())


@pytest.mark.skipif(FAMILY.name != "cdktn", reason="migrates a CDKTF app to CDK Terrain: runs under make test-cdktn")
def test_the_readme_migration_steps_move_a_teams_cdktf_app_to_cdk_terrain(tmp_path):
    """Steps 1 to 3 of the README's migration on a team's CDKTF app (tests/consumers/apps/sse_s3.py):
    its README sed command, run as written, then the app under CDK Terrain (this environment)
    against the original under CDKTF (the main .venv, which `make test` installs first)."""
    cdktf_python = REPO / ".venv" / "bin" / "python"
    if not cdktf_python.exists():
        pytest.skip("the CDKTF environment (.venv) is not installed: make setup")
    app = tmp_path / "app" / "sse_s3.py"  # one place for both runs: the implicit local backend's path is the app's
    app.parent.mkdir()
    app.write_text((REPO / "tests" / "consumers" / "apps" / "sse_s3.py").read_text())
    before = synthesize_app(cdktf_python, app, tmp_path / "before", QUANTUM_CONSTRUCTS_FRAMEWORK="cdktf")
    migrate(app.parent)
    migrated = app.read_text()
    assert "cdktf" not in migrated and "from cdktn import App" in migrated and "cdktn_provider_aws.provider" in migrated
    after = synthesize_app(Path(sys.executable), app, tmp_path / "after")
    assert comparable(after) == comparable(before)
    assert before["//"]["metadata"]["version"] == "0.21.0" and after["//"]["metadata"]["version"] == "0.24.0"


CDKTN_CLI = REPO / "compat" / "cdktn" / "node_modules" / ".bin" / "cdktn"


@pytest.mark.skipif(FAMILY.name != "cdktn" or not CDKTN_CLI.exists(),
                    reason="the cdktn CLI under CDK Terrain: runs under make test-cdktn (make setup-cdktn installs it)")
def test_cdktn_synth_runs_the_app_from_cdktf_json(tmp_path, synthesized_stacks):
    """`cdktn synth` reads the app's own cdktf.json (its `app`: `pipenv run python main.py`, here
    in compat/cdktn/.venv through PIPENV_PIPFILE) and writes the stacks the in-process synthesis does."""
    import os
    import shutil
    import subprocess

    assert json.loads((REPO / "cdktf.json").read_text())["app"] == "pipenv run python main.py"
    if shutil.which("pipenv") is None:
        pytest.skip("pipenv is not on PATH (make puts it there)")
    env = {**os.environ, "PIPENV_PIPFILE": str(REPO / "compat" / "cdktn" / "Pipfile"), "CHECKPOINT_DISABLE": "1"}
    env.pop("CDKTF_OUTDIR", None)
    run = subprocess.run([str(CDKTN_CLI), "synth", "--output", str(tmp_path / "out")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert sorted(p.name for p in (tmp_path / "out" / "stacks").iterdir()) == sorted(STACK_NAMES)
    for name, text in synthesized_stacks.items():
        written = json.loads((tmp_path / "out" / "stacks" / name / "cdk.tf.json").read_text())
        assert without_metadata(written) == without_metadata(json.loads(text)), name
    assert "prod: submission='gateway' but premises_link=None" in run.stdout + run.stderr  # the CLI shows the warnings
