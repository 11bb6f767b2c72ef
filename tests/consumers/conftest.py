"""Session fixtures of the consumer tests (issue 11): the constructs as another team installs them.

``consumer_env`` builds the wheel of ``constructs/`` and installs it, not editable, into a
throwaway venv, once per session (about 1.5 s here):

1. ``constructs/`` is copied to a temporary directory and ``pip wheel --no-deps`` builds the
   wheel from the copy (setuptools builds in-tree, writing ``build/`` and ``*.egg-info``: the
   checkout stays untouched). The running environment's setuptools builds it
   (``--no-build-isolation``, nothing downloaded) when it satisfies ``[build-system]``;
   otherwise pip's isolated build fetches one from PyPI.
2. ``venv --without-pip`` creates the consumer venv; the running pip installs the wheel into it
   (``pip --python <venv python> install --no-deps --no-index``).
3. A ``.pth`` file in the consumer's site-packages appends the running environment's
   site-packages, so cdktf, the provider bindings, constructs and jsii import from there
   without being downloaded again. Python does not process ``.pth`` files inside a directory
   added that way, so the running environment's editable finder for ``quantum_constructs``
   stays off and ``import quantum_constructs`` finds the wheel (``test_install.py`` checks it).

``consumer_apps`` runs every app of ``apps/`` once, in one process of the consumer venv's
Python (``python -I``: no cwd, no user site, no PYTHON* variables): each app builds its own
``App(outdir=...)``, and a failing app is reported without stopping the others (about 2.5 s
for the eight apps: one jsii start).

The apps are CDKTF apps, as teams write them today. Under CDK Terrain (``make test-cdktn``) they
run as a team migrates them: ``apps_dir`` is a copy of ``apps/`` after the README's migration
command (tests/migration.py), and the consumer venv reaches compat/cdktn/.venv's packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONSTRUCTS_DIR = REPO / "constructs"
APPS_DIR = Path(__file__).resolve().parent / "apps"
RUNNER = APPS_DIR / "_synth_all.py"
# Every module of apps/ but the runner is an app; each defines build(app).
APPS = sorted(p.stem for p in APPS_DIR.glob("*.py") if not p.name.startswith("_"))
DEPENDENCIES_PTH = "_quantum_consumer_dependencies.pth"
SYNTH_TIMEOUT_S = 600


def dependency_paths() -> list[str]:
    """The running environment's site-packages, where cdktf, the bindings and jsii are installed."""
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return [p for i, p in enumerate(paths) if p not in paths[:i] and Path(p).is_dir()]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a consumer process: no PYTHON* variables, no AWS credentials or config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "AWS_", "VIRTUAL_ENV", "PIPENV_")) and k != "CDKTF_OUTDIR"
    }
    # Credentials that fail any AWS call: synthesis must make none.
    env.update(AWS_ACCESS_KEY_ID="invalid", AWS_SECRET_ACCESS_KEY="invalid", AWS_EC2_METADATA_DISABLED="true")
    env.update(CHECKPOINT_DISABLE="1", **extra)
    return env


def run(args: list[str], *, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None):
    return subprocess.run(
        args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _build_system_satisfied(pyproject: Path) -> bool:
    """Whether the running environment can build the wheel without pip's isolated (downloading) build."""
    try:
        import tomllib
        from importlib.metadata import PackageNotFoundError, version

        from packaging.requirements import Requirement

        requires = tomllib.loads(pyproject.read_text())["build-system"]["requires"]
        for text in requires:
            requirement = Requirement(text)
            if not requirement.specifier.contains(version(requirement.name), prereleases=True):
                return False
        return True
    except (ImportError, KeyError, PackageNotFoundError):
        return False


def build_wheel(workdir: Path) -> tuple[Path, Path]:
    """The wheel of a copy of ``constructs/``, and that copy (what the wheel was built from)."""
    source = workdir / "source"
    shutil.copytree(
        CONSTRUCTS_DIR,
        source,
        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc"),
    )
    dist = workdir / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source)]
    result = None
    if _build_system_satisfied(source / "pyproject.toml"):
        result = run([*command, "--no-build-isolation"], cwd=workdir)
    if result is None or result.returncode != 0:  # e.g. an old setuptools without bdist_wheel
        result = run(command, cwd=workdir, timeout=600)
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    [wheel] = dist.glob("quantum_constructs-*.whl")
    return wheel, source


@dataclass
class ConsumerEnv:
    root: Path
    python: Path
    site_packages: Path
    wheel: Path
    source: Path  # the copy of constructs/ the wheel was built from
    dependency_paths: list[str]
    setup_seconds: float = 0.0

    def run_python(self, *args: str, cwd: Path, timeout: float = 300, **env: str):
        # -I: no cwd, user site or PYTHON* variables on the path; -B: no __pycache__ in tests/consumers/apps.
        return run([str(self.python), "-I", "-B", *args], cwd=cwd, timeout=timeout, env=clean_env(**env))


def make_consumer_env(root: Path, *, extra_requirements: tuple[str, ...] = ()) -> ConsumerEnv:
    """A venv at ``root`` with the constructs' wheel (and ``extra_requirements``, from PyPI) installed."""
    start = time.perf_counter()
    wheel, source = build_wheel(root / "wheel")
    venv_dir = root / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(venv_dir)
    python = venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet"]
    if not extra_requirements:
        install.append("--no-index")
    result = run([*install, str(wheel), *extra_requirements], cwd=root, env=clean_env(), timeout=900)
    assert result.returncode == 0, f"installing the wheel failed:\n{result.stdout}\n{result.stderr}"
    probe = run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    site_packages = Path(probe.stdout.strip())
    assert site_packages.is_dir(), probe.stderr
    paths = dependency_paths()
    (site_packages / DEPENDENCIES_PTH).write_text("".join(f"{p}\n" for p in paths))
    return ConsumerEnv(
        root=root,
        python=python,
        site_packages=site_packages,
        wheel=wheel,
        source=source,
        dependency_paths=paths,
        setup_seconds=time.perf_counter() - start,
    )


@pytest.fixture(scope="session")
def consumer_env(tmp_path_factory) -> ConsumerEnv:
    return make_consumer_env(tmp_path_factory.mktemp("consumer"))


@dataclass
class AppsRun:
    """One run of apps/_synth_all.py: its report and where each app wrote its stacks."""

    outdir: Path
    report: dict
    stdout: str
    stderr: str
    returncode: int
    seconds: float
    _cache: dict = field(default_factory=dict)

    def result(self, app: str) -> dict:
        result = self.report.get("apps", {}).get(app)
        if result is None:
            pytest.fail(
                f"app {app!r} did not report (exit {self.returncode}):\n"
                f"stdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"
            )
        return result

    def require_ok(self, app: str) -> None:
        result = self.result(app)
        if not result["ok"]:
            pytest.fail(f"app {app!r} failed in the consumer venv:\n{result['error']}", pytrace=False)

    def stack(self, app: str, stack: str) -> dict:
        """The synthesized cdk.tf.json of ``stack`` in ``app``; fails the test with the app's error if it failed."""
        self.require_ok(app)
        key = (app, stack)
        if key not in self._cache:
            path = self.outdir / app / "stacks" / stack / "cdk.tf.json"
            assert path.is_file(), f"{app} reported success but wrote no {path}"
            self._cache[key] = json.loads(path.read_text())
        return self._cache[key]


def synth_apps(env: ConsumerEnv, workdir: Path, apps: list[str] = APPS, apps_dir: Path = APPS_DIR) -> AppsRun:
    outdir, report = workdir / "out", workdir / "report.json"
    start = time.perf_counter()
    done = env.run_python(
        str(apps_dir / RUNNER.name), str(outdir), str(report), *apps, cwd=workdir, timeout=SYNTH_TIMEOUT_S
    )
    seconds = time.perf_counter() - start
    data = json.loads(report.read_text()) if report.is_file() else {}
    return AppsRun(outdir, data, done.stdout, done.stderr, done.returncode, seconds)


@pytest.fixture(scope="session")
def apps_dir(tmp_path_factory) -> Path:
    """``apps/`` as the framework of this run needs them: as written (CDKTF), or migrated (CDK Terrain)."""
    from quantum_constructs.framework import FAMILY

    if FAMILY.name == "cdktf":
        return APPS_DIR
    from tests.migration import migrate

    migrated = tmp_path_factory.mktemp("migrated") / "apps"
    shutil.copytree(APPS_DIR, migrated, ignore=shutil.ignore_patterns("__pycache__"))
    migrate(migrated)
    return migrated


@pytest.fixture(scope="session")
def consumer_apps(consumer_env, apps_dir, tmp_path_factory) -> AppsRun:
    return synth_apps(consumer_env, tmp_path_factory.mktemp("apps"), apps_dir=apps_dir)
