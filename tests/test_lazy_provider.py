"""The lazy provider import: fewer modules, identical output, safe fall backs."""

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_constructs import lazy_provider
from quantum_constructs.framework import FAMILY

PROVIDER, NPM = FAMILY.provider, FAMILY.provider_npm  # the installed family's provider bindings

REPO = Path(__file__).resolve().parents[1]
LAZY_PROVIDER_FILE = Path(lazy_provider.__file__)
HOOK_DEBUG = "QUANTUM_CONSTRUCTS_LAZY_HOOK_DEBUG"
STACKS = {"stacks/dev/cdk.tf.json", "stacks/staging/cdk.tf.json", "stacks/prod/cdk.tf.json"}
# What the Node hook prints (with HOOK_DEBUG=1) when it made the provider's index.js lazy.
LAZY_IN_NODE = re.compile(r"^quantum_constructs lazy provider: lazy: (\d+) modules deferred$", re.MULTILINE)


def written_files(outdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outdir)): p.read_bytes() for p in sorted(outdir.rglob("*")) if p.is_file()}


def synthesize(tmp_path: Path, name: str, prelude: str = "", postlude: str = "") -> tuple[dict[str, bytes], str]:
    """Run main.py in a fresh process between ``prelude`` and ``postlude``; every written file's bytes, and stderr."""
    outdir = tmp_path / name
    code = f"{prelude}\nimport runpy\nrunpy.run_path('main.py', run_name='__main__')\n{postlude}"
    env = {key: value for key, value in os.environ.items() if key != "NODE_OPTIONS"}
    env = {**env, "CDKTF_OUTDIR": str(outdir), HOOK_DEBUG: "1"}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return written_files(outdir), run.stderr


def test_the_test_session_uses_the_lazy_package_and_few_modules():
    aws = sys.modules[PROVIDER]

    assert isinstance(aws, lazy_provider._LazyProviderPackage)
    loaded = [m for m in sys.modules if m.startswith(PROVIDER + ".")]
    # The library imports the modules of every type it can create (about 100 with the private network);
    # the ordinary import loads over 4,000.
    assert 0 < len(loaded) < 250
    status = lazy_provider.status()
    assert status.lazy and status.reason.startswith("lazy")
    assert 0 < status.provider_modules < 250


def test_attribute_access_imports_a_submodule_on_demand():
    import quantum_constructs.aws as aws

    assert aws.sns_topic.SnsTopic.__name__ == "SnsTopic"
    assert "sns_topic" in aws.__all__ and "_jsii" not in aws.__all__
    with pytest.raises(AttributeError, match="no attribute 'not_a_resource'"):
        aws.not_a_resource  # noqa: B018


def test_output_is_identical_when_the_provider_was_imported_the_ordinary_way_first(tmp_path):
    """Both halves lazy (Python stand-in, Node hook) against both ordinary: the same bytes, every stack."""
    lazy, lazy_stderr = synthesize(
        tmp_path,
        "lazy",
        "import quantum_constructs, sys\nassert len(sys.modules) < 2000",
        "from quantum_constructs import lazy_provider\nassert lazy_provider.status().node_hook",
    )
    ordinary, ordinary_stderr = synthesize(
        tmp_path,
        "ordinary",
        f"import os, {PROVIDER}, sys\n"
        "from quantum_constructs import lazy_provider\n"
        f"assert not lazy_provider.install({PROVIDER!r}, {NPM!r})\n"
        "status = lazy_provider.status()\n"
        "assert not status.node_hook and status.node_reason == ("
        "'the jsii kernel had started before quantum_constructs was imported: import it first'), status\n"
        "assert 'NODE_OPTIONS' not in os.environ\n"
        f"assert len([m for m in sys.modules if m.startswith('{PROVIDER}.')]) > 2000",
    )
    assert STACKS <= set(lazy)
    assert lazy == ordinary
    # The installed provider's index.js has the shape the hook expects: a provider upgrade that
    # changes it fails here rather than silently costing 2.5 s.
    assert int(LAZY_IN_NODE.search(lazy_stderr).group(1)) > 2000
    assert "lazy provider" not in ordinary_stderr  # the kernel had started first: no hook at all


FAKE_INSTALL = "module.install('cdktf_cdktf_provider_aws', '@cdktf/provider-aws')"
"""install() for the fake provider below (a package of the CDKTF family's name)."""


def run_lazy_provider_alone(code: str, **env: str) -> subprocess.CompletedProcess:
    """Load lazy_provider.py on its own in a fresh process (as ``module``), then run ``code``."""
    loader = (
        "import importlib.util, os, sys\n"
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
        f"assert {FAKE_INSTALL} is False\nimport cdktf_cdktf_provider_aws\nprint(cdktf_cdktf_provider_aws.ORDINARY)\n"
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
        f"print({FAKE_INSTALL}, module.status().lazy, module.status().reason)",
        PYTHONPATH=str(fake_provider(tmp_path)),
    )
    assert run.returncode == 0, run.stderr
    before, imported, installed = run.stdout.splitlines()
    assert before == "install() has not run"
    assert imported == "install() has not run"  # until install() names the package, nothing to say of it
    assert installed == (
        "False False cdktf_cdktf_provider_aws was imported before quantum_constructs, with all its resource "
        "modules: import quantum_constructs first"
    )
    assert run.stderr == ""  # nothing printed or warned


def test_opt_out_variable_keeps_the_ordinary_import():
    run = run_lazy_provider_alone(
        f"print({FAKE_INSTALL}, 'cdktf_cdktf_provider_aws' in sys.modules)\nstatus = module.status()\n"
        "print(status.reason)\nprint(status.node_hook, status.node_reason)\nprint(os.environ.get('NODE_OPTIONS'))",
        **{lazy_provider.OPT_OUT_VARIABLE: "1", "NODE_OPTIONS": "--no-warnings"},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "False False",
        f"{lazy_provider.OPT_OUT_VARIABLE} is set",
        f"False {lazy_provider.OPT_OUT_VARIABLE} is set",
        "--no-warnings",
    ]


def test_site_packages_is_untouched():
    """The provider's root __init__.py still matches the hash pip recorded at install time."""
    dist = importlib.metadata.distribution(PROVIDER.replace("_", "-"))
    [record] = [f for f in dist.files if str(f) == f"{PROVIDER}/__init__.py"]
    algorithm, expected = record.hash.mode, record.hash.value
    digest = hashlib.new(algorithm, Path(record.locate()).read_bytes()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == expected


# The Node half, on its own: a package laid out like @cdktf/provider-aws, required with the hook.
INDEX_JS = """\
"use strict";
/**
 * Copyright (c) HashiCorp, Inc.
 * SPDX-License-Identifier: MPL-2.0
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.provider = exports.s3Bucket = exports.iamRole = void 0;
// generated by cdktf get
exports.iamRole = require("./iam-role");
exports.s3Bucket = require("./s3-bucket");
exports.provider = require("./provider");
//# sourceMappingURL=data:application/json;base64,e30=
"""
# Requires the package, then reports what was loaded when, and what it exports.
PROBE_JS = """
globalThis.loaded = [];
const pkg = require(process.argv[1]);
const atRequire = [...globalThis.loaded];
const keys = Object.keys(pkg);
const className = pkg.s3Bucket.S3Bucket.name;
const sameModule = pkg.s3Bucket === require(process.argv[1] + "/lib/s3-bucket");
console.log(JSON.stringify({ atRequire, keys, className, sameModule, afterUse: globalThis.loaded }));
"""


def node_package(root: Path, index_js: str = INDEX_JS, name: str = NPM, where: str = NPM) -> Path:
    package = root / "node_modules" / where
    (package / "lib").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": name, "main": "lib/index.js"}))
    (package / "lib" / "index.js").write_text(index_js)
    for module, cls in (("iam-role", "IamRole"), ("s3-bucket", "S3Bucket"), ("provider", "AwsProvider")):
        (package / "lib" / f"{module}.js").write_text(
            f'"use strict";\nglobalThis.loaded.push("{module}");\nclass {cls} {{}}\nexports.{cls} = {cls};\n'
        )
    return package


def probe(package: Path, hook: bool = True) -> tuple[dict, str]:
    options = lazy_provider._with_require("", lazy_provider.NODE_HOOK) if hook else ""
    env = {**os.environ, "NODE_OPTIONS": options, HOOK_DEBUG: "1", lazy_provider.HOOK_PACKAGE_VARIABLE: NPM}
    run = subprocess.run(["node", "-e", PROBE_JS, str(package)], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), run.stderr


def test_the_hook_defers_each_module_to_its_first_use_and_keeps_the_exports(tmp_path):
    ordinary, quiet = probe(node_package(tmp_path / "ordinary"), hook=False)
    lazy, stderr = probe(node_package(tmp_path / "lazy"))
    assert ordinary["atRequire"] == ["iam-role", "s3-bucket", "provider"] and quiet == ""
    assert lazy["atRequire"] == [] and lazy["afterUse"] == ["s3-bucket"]
    assert lazy["keys"] == ordinary["keys"] == ["iamRole", "s3Bucket", "provider"]  # as the `void 0` line sets them
    assert lazy["className"] == "S3Bucket" and lazy["sameModule"] is True
    assert stderr == "quantum_constructs lazy provider: lazy: 3 modules deferred\n"


@pytest.mark.parametrize(
    "unexpected",
    [
        'exports.version = "1.0";',  # a value, not a module
        'globalThis.loaded.push("side effect");',  # code that would no longer run at require time
        'exports.s3Bucket = require("../lib/s3-bucket");',  # not a sibling module
        'Object.assign(exports, require("./iam-role"));',  # another compiler's shape
    ],
)
def test_an_index_js_of_unexpected_shape_is_loaded_the_ordinary_way(tmp_path, unexpected):
    index_js = INDEX_JS.replace("// generated by cdktf get", unexpected)
    result, stderr = probe(node_package(tmp_path, index_js))
    assert {"iam-role", "s3-bucket", "provider"} <= set(result["atRequire"])  # all at require time
    assert stderr.startswith("quantum_constructs lazy provider: ordinary load: line 8 has an unexpected shape: ")


def test_another_package_at_the_same_path_is_left_alone(tmp_path):
    result, stderr = probe(node_package(tmp_path, name="provider-aws-lookalike"))
    assert result["atRequire"] == ["iam-role", "s3-bucket", "provider"] and stderr == ""


USER_HOOK_JS = """require("fs").appendFileSync(process.env.USER_HOOK_LOG,
  JSON.stringify({ argv: process.argv.slice(1), options: process.env.NODE_OPTIONS }) + "\\n");
"""
# The user's program: quantum_constructs first, a stack, then a Node process of its own.
USER_PROGRAM = """
import json, os, subprocess, sys
import quantum_constructs
from quantum_constructs import lazy_provider
from stacks import add_environment_stacks
from quantum_constructs.cdk import App
app = App(outdir=sys.argv[1]); add_environment_stacks(app); app.synth()
later = subprocess.run(["node", "-e", "console.log(JSON.stringify(Object.keys(require.cache)))"],
                       capture_output=True, text=True, check=True)
print(json.dumps({"status": lazy_provider.status()._asdict(), "node_options": os.environ.get("NODE_OPTIONS"),
                  "later_loaded": json.loads(later.stdout)}))
"""


def test_the_users_node_options_are_kept_and_a_later_node_process_never_sees_the_hook(tmp_path):
    user_hook = tmp_path / "user's hooks" / "record.js"  # a space and a quote in the path
    user_hook.parent.mkdir()
    user_hook.write_text(USER_HOOK_JS)
    log = tmp_path / "node-processes.jsonl"
    users_options = f'--no-warnings --require "{user_hook}"'
    env = {**os.environ, "NODE_OPTIONS": users_options, "USER_HOOK_LOG": str(log), HOOK_DEBUG: "1"}
    run = subprocess.run(
        [sys.executable, "-c", USER_PROGRAM, str(tmp_path / "out")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["status"]["node_hook"] and report["node_options"] == users_options
    assert LAZY_IN_NODE.search(run.stderr)  # the kernel loaded the provider lazily
    *kernel, later = [json.loads(line) for line in log.read_text().splitlines()]
    # jsii-runtime.js and the kernel program it forks: the user's options, then the hook.
    assert [Path(process["argv"][0]).name for process in kernel] == ["jsii-runtime.js", "program.js"]
    assert {process["options"] for process in kernel} == {
        lazy_provider._with_require(users_options, lazy_provider.NODE_HOOK)
    }
    assert later == {"argv": [], "options": users_options}  # the program's own Node process: the user's options
    assert not any("lazy_provider_hook" in path for path in report["later_loaded"])
    assert STACKS <= set(written_files(tmp_path / "out"))


@pytest.mark.skipif(shutil.which("npx") is None or not (REPO / "node_modules" / ".bin" / "cdktf").exists(),
                    reason="the pinned cdktf CLI is not installed (make setup installs it)")
def test_npx_cdktf_synth_gets_the_node_hook_and_the_same_bytes(tmp_path, main_synth):
    """The CLI runs the app with its own NODE_OPTIONS (--max-old-space-size=4096): the hook joins them."""
    stderr_log = tmp_path / "app-stderr.txt"
    app = f"{sys.executable} main.py 2>{stderr_log}"
    env = {**os.environ, HOOK_DEBUG: "1", "CHECKPOINT_DISABLE": "1"}
    env.pop("CDKTF_OUTDIR", None)
    run = subprocess.run(
        ["npx", "--no-install", "cdktf", "synth", "--app", app, "--output", str(tmp_path / "cli")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    python = written_files(main_synth[1])  # `python main.py`
    cli = written_files(tmp_path / "cli")
    assert {name: cli[name] for name in STACKS} == {name: python[name] for name in STACKS}
    assert LAZY_IN_NODE.search(stderr_log.read_text())
