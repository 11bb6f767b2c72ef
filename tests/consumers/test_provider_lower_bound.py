"""The lower bound on cdktf-cdktf-provider-aws in constructs/pyproject.toml (issue 11, item 5).

Each bindings release pins one hashicorp/aws version: it is what the synthesized
``terraform.required_providers.aws.version`` says, so Terraform installs that provider and
validates the plan with it. ``QuantumDevNotebook`` emits ``platform_identifier =
"notebook-al2023-v1"``, which the provider's plan-time validation (a regexp over
``internal/service/sagemaker/notebook_instance.go``'s known identifiers) accepts from
hashicorp/aws 6.19.0 on. The bound must therefore name a bindings release pinning >= 6.19.0.

Sources of the tables below:
- hashicorp/terraform-provider-aws CHANGELOG.md, "6.19.0 (October 30, 2025)", ENHANCEMENTS:
  "resource/aws_sagemaker_notebook_instance: Add `notebook-al2023-v1` to valid
  `platform_identifier` values (#44570)"; the PR closes issue #44556, which quotes the regexp
  before it: ``^(notebook-al1-v1|notebook-al2-v1|notebook-al2-v2|notebook-al2-v3)$``.
- The hashicorp/aws version each bindings release pins: the ``cdktf.provider.version`` field of
  the package.json of each @cdktf/provider-aws 21.x release (``npm view
  "@cdktf/provider-aws@>=21 <22" version cdktf.provider.version``; the PyPI wheels are built
  from the same jsii package: ``cdktf_cdktf_provider_aws/_jsii/provider-aws@<v>.jsii.tgz``), and
  the PyPI description of each release ("CDKTF prebuilt bindings for hashicorp/aws provider
  version X"); checked in the 21.16.0 and 21.22.1 wheels.
- Nothing else the constructs emit needs a later provider: ``aws_s3_bucket_notification.eventbridge``,
  ``instance_metadata_service_configuration``, ``aws_budgets_budget_action`` and ``aws_region``'s
  ``region`` attribute (6.0.0) all predate 6.19.0; ``use_lockfile`` is an S3 backend option
  (Terraform >= 1.10), not a provider argument. The opt-in test below synthesizes every
  consumer app with the lower-bound bindings themselves.
"""

from __future__ import annotations

import functools
import json
import os
import tarfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

from tests.consumers.conftest import APPS, CONSTRUCTS_DIR, make_consumer_env, synth_apps

BINDINGS = "cdktf-cdktf-provider-aws"
LOWER_BOUND_TEST_VARIABLE = "QUANTUM_CONSTRUCTS_LOWER_BOUND_TEST"
# The first hashicorp/aws release that accepts platform_identifier = "notebook-al2023-v1" (CHANGELOG 6.19.0, #44570).
FIRST_PROVIDER_ACCEPTING_AL2023 = Version("6.19.0")
# cdktf-cdktf-provider-aws release -> the hashicorp/aws version it pins (package.json cdktf.provider.version).
BUNDLED_PROVIDER = {
    "21.0.0": "6.0.0",
    "21.1.0": "6.2.0",
    "21.2.0": "6.3.0",
    "21.3.0": "6.4.0",
    "21.4.0": "6.5.0",
    "21.5.0": "6.6.0",
    "21.6.0": "6.7.0",
    "21.7.0": "6.8.0",
    "21.8.0": "6.9.0",
    "21.9.0": "6.10.0",
    "21.9.1": "6.11.0",
    "21.10.0": "6.12.0",
    "21.10.1": "6.13.0",
    "21.11.0": "6.14.0",
    "21.11.1": "6.14.1",
    "21.12.0": "6.15.0",
    "21.13.0": "6.16.0",
    "21.14.0": "6.17.0",
    "21.15.0": "6.18.0",
    "21.16.0": "6.19.0",
    "21.17.0": "6.20.0",
    "21.18.0": "6.21.0",
    "21.19.0": "6.22.1",
    "21.20.0": "6.23.0",
    "21.21.0": "6.24.0",
    "21.22.0": "6.25.0",
    "21.22.1": "6.25.0",  # the last release: HashiCorp stopped publishing prebuilt bindings in December 2025
}


def bindings_requirement(pyproject: Path = CONSTRUCTS_DIR / "pyproject.toml") -> Requirement:
    dependencies = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["cdktf"]
    [requirement] = [Requirement(d) for d in dependencies if Requirement(d).name == BINDINGS]
    return requirement


def lower_bound(requirement: Requirement) -> Version:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    assert len(bounds) == 1, f"expected one lower bound in {requirement}"
    return bounds[0]


@functools.cache  # reading package.json means inflating most of a 37 MB archive: 1.6 s
def bundled_provider_of_installed_bindings() -> tuple[str, str]:
    """(bindings version, hashicorp/aws version) of the bindings installed in the running environment."""
    import importlib.metadata
    import importlib.util

    version = importlib.metadata.version(BINDINGS)
    package_dir = Path(importlib.util.find_spec("cdktf_cdktf_provider_aws").origin).parent
    [tgz] = (package_dir / "_jsii").glob("provider-aws@*.jsii.tgz")
    with tarfile.open(tgz) as archive:
        package = json.load(archive.extractfile("package/package.json"))
    assert package["version"] == version
    return version, package["cdktf"]["provider"]["version"]


def test_the_lower_bound_pins_a_provider_that_accepts_the_default_platform():
    bound = lower_bound(bindings_requirement())
    assert str(bound) in BUNDLED_PROVIDER, f"{bound} is not a known {BINDINGS} release: extend the table"
    assert Version(BUNDLED_PROVIDER[str(bound)]) >= FIRST_PROVIDER_ACCEPTING_AL2023


def test_the_lower_bound_is_the_first_such_release():
    """Not needlessly high: the release before it pins a provider that rejects notebook-al2023-v1."""
    bound = lower_bound(bindings_requirement())
    older = [Version(v) for v in BUNDLED_PROVIDER if Version(v) < bound]
    assert older, "no older release in the table"
    assert Version(BUNDLED_PROVIDER[str(max(older))]) < FIRST_PROVIDER_ACCEPTING_AL2023


def test_the_major_version_stays_capped():
    requirement = bindings_requirement()
    assert "<22" in {str(s) for s in requirement.specifier}
    assert all(Version(v).major == 21 for v in BUNDLED_PROVIDER if requirement.specifier.contains(v))


def test_the_installed_bindings_satisfy_the_bound_and_the_table_matches_them():
    version, provider = bundled_provider_of_installed_bindings()
    assert bindings_requirement().specifier.contains(version)
    if version in BUNDLED_PROVIDER:
        assert BUNDLED_PROVIDER[version] == provider


def test_a_consumer_app_requires_the_provider_its_bindings_pin(consumer_apps):
    """What the test table relies on: required_providers.aws.version is the bindings' pinned version."""
    version, provider = bundled_provider_of_installed_bindings()
    assert consumer_apps.report["environment"]["bindings_version"] == version
    doc = consumer_apps.stack("sse_s3", "sse-s3-team")
    assert doc["terraform"]["required_providers"]["aws"]["version"] == provider
    [notebook] = doc["resource"]["aws_sagemaker_notebook_instance"].values()
    # The reason for the bound: revisit it if the default platform changes.
    assert notebook["platform_identifier"] == "notebook-al2023-v1"


@pytest.mark.skipif(
    os.environ.get(LOWER_BOUND_TEST_VARIABLE) != "1",
    reason=f"opt-in: set {LOWER_BOUND_TEST_VARIABLE}=1 (downloads the ~60 MB lower-bound bindings wheel from PyPI)",
)
def test_every_consumer_app_synthesizes_the_same_with_the_lower_bound_bindings(
    consumer_apps, tmp_path_factory
):
    """Opt-in (``QUANTUM_CONSTRUCTS_LOWER_BOUND_TEST=1 pytest tests/consumers``; about 20 s plus the download).

    A second consumer venv gets the wheel and ``cdktf-cdktf-provider-aws==<lower bound>`` from
    PyPI (~60 MB; its own site-packages shadows the locked bindings, the other dependencies
    come through the .pth file as in the default consumer venv). Every app of apps/ that
    synthesizes with the locked bindings must synthesize there too, pin the hashicorp/aws
    version of the table (>= 6.19.0), and produce the same JSON but for that version.
    """
    bound = lower_bound(bindings_requirement())
    env = make_consumer_env(tmp_path_factory.mktemp("lower-bound"), extra_requirements=(f"{BINDINGS}=={bound}",))
    workdir = tmp_path_factory.mktemp("lower-bound-apps")
    lower = synth_apps(env, workdir)
    assert lower.report["environment"]["bindings_version"] == str(bound), lower.report["environment"]
    expected_provider = BUNDLED_PROVIDER[str(bound)]
    compared = 0
    for app in APPS:
        if not consumer_apps.result(app)["ok"]:
            continue  # failing with the locked bindings already; reported by its own test
        lower.require_ok(app)
        for stack_dir in sorted((consumer_apps.outdir / app / "stacks").iterdir()):
            locked_doc = consumer_apps.stack(app, stack_dir.name)
            lower_doc = lower.stack(app, stack_dir.name)
            assert lower_doc["terraform"]["required_providers"]["aws"]["version"] == expected_provider
            assert Version(expected_provider) >= FIRST_PROVIDER_ACCEPTING_AL2023
            assert _without_run_specifics(lower_doc) == _without_run_specifics(locked_doc), f"{app}/{stack_dir.name}"
            compared += 1
    assert compared, "no app synthesized with the locked bindings"


def _without_run_specifics(doc: dict) -> dict:
    """``doc`` without what differs by run: the pinned provider version and the local state path."""
    doc = json.loads(json.dumps(doc))
    doc["terraform"]["required_providers"]["aws"].pop("version", None)
    doc["terraform"].pop("backend", None)
    return doc
