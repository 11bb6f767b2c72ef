"""The lazy provider import: fewer modules, identical output, safe fall backs."""

import base64
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_constructs import lazy_provider

REPO = Path(__file__).resolve().parents[1]
LAZY_PROVIDER_FILE = Path(lazy_provider.__file__)


def synthesize(tmp_path: Path, name: str, prelude: str = "") -> dict[str, bytes]:
    """Run main.py in a fresh process (after ``prelude``); return every written file's bytes."""
    outdir = tmp_path / name
    code = f"{prelude}\nimport runpy\nrunpy.run_path('main.py', run_name='__main__')"
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


def test_the_test_session_uses_the_lazy_package_and_few_modules():
    import cdktf_cdktf_provider_aws as aws

    assert isinstance(aws, lazy_provider._LazyProviderPackage)
    loaded = [m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws.")]
    assert 0 < len(loaded) < 100  # the ordinary import loads over 4,000
    status = lazy_provider.status()
    assert status.lazy and status.reason.startswith("lazy")
    assert 0 < status.provider_modules < 100


def test_attribute_access_imports_a_submodule_on_demand():
    import cdktf_cdktf_provider_aws as aws

    assert aws.sns_topic.SnsTopic.__name__ == "SnsTopic"
    assert "sns_topic" in aws.__all__ and "_jsii" not in aws.__all__
    with pytest.raises(AttributeError, match="no attribute 'not_a_resource'"):
        aws.not_a_resource  # noqa: B018


def test_output_is_identical_when_the_provider_was_imported_the_ordinary_way_first(tmp_path):
    lazy = synthesize(tmp_path, "lazy", "import quantum_constructs, sys\nassert len(sys.modules) < 2000")
    ordinary = synthesize(
        tmp_path,
        "ordinary",
        "import cdktf_cdktf_provider_aws, sys\n"
        "from quantum_constructs import lazy_provider\n"
        "assert not lazy_provider.install()\n"
        "assert len([m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')]) > 2000",
    )
    assert {"stacks/dev/cdk.tf.json", "stacks/staging/cdk.tf.json", "stacks/prod/cdk.tf.json"} <= set(lazy)
    assert lazy == ordinary


def run_lazy_provider_alone(code: str, **env: str) -> subprocess.CompletedProcess:
    """Load lazy_provider.py on its own in a fresh process (as ``module``), then run ``code``."""
    loader = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('lazy_provider', {str(LAZY_PROVIDER_FILE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", loader + code], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def fake_provider(tmp_path: Path) -> Path:
    """A directory holding a ``cdktf_cdktf_provider_aws`` package without the expected layout."""
    fake = tmp_path / "cdktf_cdktf_provider_aws"
    fake.mkdir()
    (fake / "__init__.py").write_text("ORDINARY = True\n")
    return tmp_path


def test_unexpected_package_layout_falls_back_to_the_ordinary_import(tmp_path):
    run = run_lazy_provider_alone(
        "assert module.install() is False\nimport cdktf_cdktf_provider_aws\nprint(cdktf_cdktf_provider_aws.ORDINARY)\n"
        "print(module.status())",
        PYTHONPATH=str(fake_provider(tmp_path)),
    )
    assert run.returncode == 0, run.stderr
    ordinary, status = run.stdout.splitlines()
    assert ordinary == "True"
    assert status.startswith("Status(lazy=False, reason=") and "does not hold _jsii/__init__.py" in status


def test_status_says_when_the_provider_was_imported_first(tmp_path):
    run = run_lazy_provider_alone(
        "print(module.status().reason)\nimport cdktf_cdktf_provider_aws\nprint(module.status().reason)\n"
        "print(module.install(), module.status().lazy, module.status().reason)",
        PYTHONPATH=str(fake_provider(tmp_path)),
    )
    assert run.returncode == 0, run.stderr
    before, imported, installed = run.stdout.splitlines()
    assert before == "install() has not run and cdktf_cdktf_provider_aws is not imported yet"
    assert imported == "cdktf_cdktf_provider_aws was imported the ordinary way, before install()"
    assert installed == (
        "False False cdktf_cdktf_provider_aws was imported before quantum_constructs, with all its resource "
        "modules: import quantum_constructs first"
    )
    assert run.stderr == ""  # nothing printed or warned


def test_opt_out_variable_keeps_the_ordinary_import():
    run = run_lazy_provider_alone(
        "print(module.install(), 'cdktf_cdktf_provider_aws' in sys.modules)\nprint(module.status().reason)",
        **{lazy_provider.OPT_OUT_VARIABLE: "1"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False False", f"{lazy_provider.OPT_OUT_VARIABLE} is set"]


def test_site_packages_is_untouched():
    """The provider's root __init__.py still matches the hash pip recorded at install time."""
    dist = importlib.metadata.distribution("cdktf-cdktf-provider-aws")
    [record] = [f for f in dist.files if str(f) == "cdktf_cdktf_provider_aws/__init__.py"]
    algorithm, expected = record.hash.mode, record.hash.value
    digest = hashlib.new(algorithm, Path(record.locate()).read_bytes()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == expected
