"""The consumer venv holds the built wheel, not the checkout: what a team that pip-installs the library gets."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import tomllib

from tests.consumers.conftest import CONSTRUCTS_DIR, REPO

PROBE = """
import importlib.util, json, sys
spec = importlib.util.find_spec("quantum_constructs")
print(json.dumps({"origin": spec.origin, "path": list(spec.submodule_search_locations), "sys_path": sys.path}))
"""


def _inside(path: str | Path, directory: Path) -> bool:
    return Path(path).resolve().is_relative_to(directory.resolve())


def test_the_wheel_holds_every_module_and_the_lifecycle_scripts(consumer_env):
    names = set(zipfile.ZipFile(consumer_env.wheel).namelist())
    package = consumer_env.source / "quantum_constructs"
    expected = {f"quantum_constructs/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    expected |= {"quantum_constructs/lazy_provider_hook.js", "quantum_constructs/py.typed"}
    expected |= {f"quantum_constructs/scripts/{p.name}" for p in (package / "scripts").iterdir() if p.is_file()}
    assert {"quantum_constructs/scripts/on_create.sh", "quantum_constructs/scripts/on_start.sh"} <= expected
    assert expected - names == set()
    assert not any("tests/" in n or n.startswith("constructs/") for n in names)


def test_quantum_constructs_resolves_to_the_installed_wheel_not_the_checkout(consumer_env, tmp_path):
    probe = consumer_env.run_python("-c", PROBE, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert _inside(found["origin"], consumer_env.site_packages), found
    assert not _inside(found["origin"], CONSTRUCTS_DIR), found
    # The running environment's site-packages comes after the consumer's own, and the checkout is nowhere.
    assert found["sys_path"].index(str(consumer_env.site_packages)) < found["sys_path"].index(
        consumer_env.dependency_paths[0]
    )
    others = [p for p in found["sys_path"] if p and p not in consumer_env.dependency_paths]
    assert not any(_inside(p, REPO) for p in others), others
    installed = Path(found["path"][0])
    assert (installed / "scripts" / "on_create.sh").is_file()
    assert (installed / "scripts" / "on_start.sh").is_file()


def test_the_apps_ran_against_the_wheel_with_the_locked_dependencies(consumer_apps, consumer_env):
    from quantum_constructs.framework import FAMILY

    environment = consumer_apps.report["environment"]
    assert environment["framework"] == FAMILY.name  # under CDK Terrain, the apps as the README migrates them
    assert _inside(environment["quantum_constructs_file"], consumer_env.site_packages), environment
    # Both halves of the lazy provider load, the Node hook from the wheel.
    assert environment["lazy_provider"]["lazy"] and environment["lazy_provider"]["node_hook"], environment
    assert _inside(environment["lazy_provider_hook"], consumer_env.site_packages), environment
    direct_url = json.loads(environment["quantum_constructs_direct_url"])
    assert direct_url["url"].endswith(".whl") and not direct_url.get("dir_info", {}).get("editable"), direct_url
    # No editable finder: the running environment's __editable__ .pth was not processed.
    assert not any("editable" in finder.lower() for finder in environment["meta_path"]), environment["meta_path"]
    # cdktf and the bindings come from the running environment, through the .pth file.
    assert any(_inside(environment["cdktf_file"], Path(p)) for p in consumer_env.dependency_paths)
    assert any(_inside(environment["bindings_path"][0], Path(p)) for p in consumer_env.dependency_paths)


def test_the_wheel_declares_the_dependencies_of_pyproject(consumer_apps, consumer_env):
    pyproject = consumer_env.source / "pyproject.toml"  # the copy the wheel was built from
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = project["dependencies"] + [f'{requirement}; extra == "{extra}"'
                                          for extra, requirements in project["optional-dependencies"].items()
                                          for requirement in requirements]
    requires = consumer_apps.report["environment"]["quantum_constructs_requires"]
    assert set(project["optional-dependencies"]) == {"cdktf", "cdktn"}  # the two framework families

    def normalized(requirement: str) -> str:
        from packaging.requirements import Requirement

        parsed = Requirement(requirement)
        return f"{parsed.name.lower()}{parsed.specifier};{parsed.marker}"

    assert sorted(map(normalized, requires)) == sorted(map(normalized, declared))


def test_an_app_runs_as_a_script_the_way_a_team_runs_it(consumer_env, consumer_apps, apps_dir, tmp_path):
    """``python app.py`` with CDKTF_OUTDIR set, as ``cdktf synth`` runs it: the same JSON as in the batch run."""
    outdir = tmp_path / "cdktf.out"
    done = consumer_env.run_python(str(apps_dir / "sse_s3.py"), cwd=tmp_path, CDKTF_OUTDIR=str(outdir))
    assert done.returncode == 0, done.stderr[-4000:]
    assert "end-of-life" not in done.stderr.lower(), done.stderr  # quantum_constructs silences jsii's Node banner
    alone = json.loads((outdir / "stacks" / "sse-s3-team" / "cdk.tf.json").read_text())
    batch = consumer_apps.stack("sse_s3", "sse-s3-team")
    for doc in (alone, batch):
        doc["terraform"].pop("backend", None)  # the local state path follows the working directory
    assert alone == batch
