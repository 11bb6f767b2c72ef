"""The lazy provider import: fewer modules, identical output, safe fall backs."""

import base64
import hashlib
import importlib.metadata
import importlib.util
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
# Whether the installed bindings' root package imports its modules on demand itself (cdktn_provider_aws
# does; cdktf_cdktf_provider_aws imports all of them): then the stand-in is not used.
LAZY_ITSELF = FAMILY.name == "cdktn"
LAZY_ITSELF_REASON = f"lazy: {PROVIDER} imports its modules on demand itself"

REPO = Path(__file__).resolve().parents[1]
LAZY_PROVIDER_FILE = Path(lazy_provider.__file__)
HOOK_DEBUG = "QUANTUM_CONSTRUCTS_LAZY_HOOK_DEBUG"
STACKS = {"stacks/bootstrap/cdk.tf.json", "stacks/dev/cdk.tf.json", "stacks/staging/cdk.tf.json", "stacks/prod/cdk.tf.json"}
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

    # The stand-in, unless the package is lazy by itself (then it is left as it is).
    assert isinstance(aws, lazy_provider._LazyProviderPackage) is not LAZY_ITSELF
    loaded = [m for m in sys.modules if m.startswith(PROVIDER + ".")]
    # The library imports the modules of every type it can create (about 100 with the private network);
    # CDKTF's ordinary import loads over 4,000.
    assert 0 < len(loaded) < 250
    status = lazy_provider.status()
    assert status.lazy and status.reason == (
        LAZY_ITSELF_REASON if LAZY_ITSELF else "lazy: provider modules are imported when first used"
    )
    assert 0 < status.provider_modules < 250


def test_the_installed_provider_is_lazy_by_itself_exactly_under_cdk_terrain():
    """Told from its source without importing it: a provider upgrade that changes that fails here."""
    init_file = importlib.util.find_spec(PROVIDER).origin
    assert lazy_provider._imports_on_demand(init_file) is LAZY_ITSELF


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
    # CDKTF's ordinary import loads every module; CDK Terrain's package is lazy by itself in Python,
    # so there the ordinary side differs in the kernel only (every module of index.js required).
    python_side = (
        f"assert lazy_provider.install({PROVIDER!r}, {NPM!r})\n"
        f"assert lazy_provider.status()[:2] == (True, {LAZY_ITSELF_REASON!r}), lazy_provider.status()\n"
        if LAZY_ITSELF else
        f"assert not lazy_provider.install({PROVIDER!r}, {NPM!r})\n"
        f"assert len([m for m in sys.modules if m.startswith('{PROVIDER}.')]) > 2000\n"
    )
    ordinary, ordinary_stderr = synthesize(
        tmp_path,
        "ordinary",
        f"import os, {PROVIDER}, sys\n"
        "from quantum_constructs import lazy_provider\n"
        + python_side +
        "status = lazy_provider.status()\n"
        "assert not status.node_hook and status.node_reason == ("
        "'the jsii kernel had started before quantum_constructs was imported: import it first'), status\n"
        "assert 'NODE_OPTIONS' not in os.environ\n",
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


# A root package that imports its modules on demand itself (as cdktn_provider_aws's does), with the
# layout the stand-in expects; {imports} goes at module level.
LAZY_ITSELF_INIT = """\
'''Bindings.

def __getattr__(name): a docstring is not code
'''
import importlib as _importlib
from ._jsii import *
{imports}
ORDINARY = True
_SUBMODULES = {{"provider", "s3_bucket"}}

def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(f".{{name}}", __name__)
    raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
"""
# Reports, after install(): its result, the status, whether the stand-in is in place, which
# submodules were loaded before and after `.s3_bucket` was used.
REPORT_LAZY_ITSELF = """
import json
installed = module.install('cdktf_cdktf_provider_aws', '@cdktf/provider-aws')
import cdktf_cdktf_provider_aws as aws
before = sorted(m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.'))
aws.s3_bucket
print(json.dumps({"installed": installed, "status": module.status()[:3], "ordinary": getattr(aws, 'ORDINARY', False),
                  "stand_in": isinstance(aws, module._LazyProviderPackage), "before": before,
                  "after": sorted(m for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.'))}))
"""


def lazy_itself_provider(tmp_path: Path, imports: str = "") -> Path:
    """A directory holding a ``cdktf_cdktf_provider_aws`` package that is lazy by itself."""
    fake = tmp_path / "cdktf_cdktf_provider_aws"
    for module in ("_jsii", "provider", "s3_bucket"):
        (fake / module).mkdir(parents=True)
        (fake / module / "__init__.py").write_text("")
    (fake / "__init__.py").write_text(LAZY_ITSELF_INIT.format(imports=imports))
    return tmp_path


@pytest.mark.parametrize("when", ["before install()", "after install()", "opted out"])
def test_a_package_lazy_by_itself_is_left_as_it_is(tmp_path, when):
    prelude = "import cdktf_cdktf_provider_aws\n" if when == "before install()" else ""
    env = {lazy_provider.OPT_OUT_VARIABLE: "1"} if when == "opted out" else {}
    run = run_lazy_provider_alone(prelude + REPORT_LAZY_ITSELF, PYTHONPATH=str(lazy_itself_provider(tmp_path)), **env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "installed": True,
        "status": [True, "lazy: cdktf_cdktf_provider_aws imports its modules on demand itself", 2],
        "ordinary": True,  # its own module, not the stand-in
        "stand_in": False,
        "before": ["cdktf_cdktf_provider_aws._jsii"],
        "after": ["cdktf_cdktf_provider_aws._jsii", "cdktf_cdktf_provider_aws.s3_bucket"],
    }


@pytest.mark.parametrize("imports", ["from . import provider, s3_bucket", "from .s3_bucket import *"])
def test_a_package_with_a_getattr_that_imports_modules_up_front_gets_the_stand_in(tmp_path, imports):
    run = run_lazy_provider_alone(REPORT_LAZY_ITSELF, PYTHONPATH=str(lazy_itself_provider(tmp_path, imports)))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["installed"] and report["stand_in"] and not report["ordinary"]
    assert report["status"][:2] == [True, "lazy: provider modules are imported when first used"]
    assert report["before"] == []  # the stand-in does not even run the package's __init__.py


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
# The second shape, @cdktn/provider-aws's (TypeScript with esModuleInterop): TypeScript's module
# helpers, then each module through __importStar, from its directory's index.js.
TS_HELPERS = """\
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
"""
INDEX_JS_IMPORT_STAR = """\
"use strict";
/**
 * Copyright IBM Corp. 2021, 2026
 * SPDX-License-Identifier: MPL-2.0
 */
""" + TS_HELPERS + """\
Object.defineProperty(exports, "__esModule", { value: true });
exports.provider = exports.s3Bucket = exports.iamRole = void 0;
// generated by cdktn get
exports.iamRole = __importStar(require("./iam-role/index"));
exports.s3Bucket = __importStar(require("./s3-bucket/index"));
exports.provider = __importStar(require("./provider/index"));
//# sourceMappingURL=data:application/json;base64,e30=
"""
HELPERS_LINES = len(TS_HELPERS.splitlines())  # 33
# Requires the package, then reports what was loaded when, and what it exports: for each module,
# whether the export is the module itself (or __importStar's copy of it) and its keys.
PROBE_JS = """
globalThis.loaded = [];
const lib = process.argv[1] + "/lib/";
const pkg = require(process.argv[1]);
const atRequire = [...globalThis.loaded];
const keys = Object.keys(pkg);
const className = pkg.s3Bucket.S3Bucket.name;
const sameModule = pkg.s3Bucket === require(lib + "s3-bucket");
const afterUse = [...globalThis.loaded];
const files = { iamRole: "iam-role", s3Bucket: "s3-bucket", provider: "provider" };
const exported = Object.fromEntries(keys.map((key) => {
  const value = pkg[key], module = require(lib + files[key]);
  return [key, { same: value === module, keys: Object.keys(value), esModule: value.__esModule === true,
                 isDefault: value.default === module, descriptor: Object.getOwnPropertyDescriptor(pkg, key),
                 classes: Object.keys(value).map((name) => value[name] === module[name]) }];
}));
console.log(JSON.stringify({ atRequire, keys, className, sameModule, afterUse, exported }));
"""
# The modules' classes; with es_module, like TypeScript's output (__importStar returns such a module
# itself), otherwise plain CommonJS (__importStar returns a copy: getters and a `default`).
MODULES = (("iam-role", "IamRole", True), ("s3-bucket", "S3Bucket", True), ("provider", "AwsProvider", False))


def node_package(
    root: Path, index_js: str = INDEX_JS, name: str = NPM, where: str = NPM, directories: bool = False
) -> Path:
    """A package laid out like @cdktf/provider-aws (lib/<module>.js) or, with ``directories``, like
    @cdktn/provider-aws (lib/<module>/index.js)."""
    package = root / "node_modules" / where
    (package / "lib").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": name, "main": "lib/index.js"}))
    (package / "lib" / "index.js").write_text(index_js)
    for module, cls, es_module in MODULES:
        es = 'Object.defineProperty(exports, "__esModule", { value: true });\n' if es_module and directories else ""
        file = package / "lib" / module / "index.js" if directories else package / "lib" / f"{module}.js"
        file.parent.mkdir(exist_ok=True)
        file.write_text(
            f'"use strict";\n{es}globalThis.loaded.push("{module}");\nclass {cls} {{}}\nexports.{cls} = {cls};\n'
        )
    return package


def probe(package: Path, hook: bool = True, npm: str = NPM) -> tuple[dict, str]:
    options = lazy_provider._with_require("", lazy_provider.NODE_HOOK) if hook else ""
    env = {**os.environ, "NODE_OPTIONS": options, HOOK_DEBUG: "1", lazy_provider.HOOK_PACKAGE_VARIABLE: npm}
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
    assert lazy["exported"] == ordinary["exported"]
    assert stderr == "quantum_constructs lazy provider: lazy: 3 modules deferred\n"


CDKTN = "@cdktn/provider-aws"


def test_the_hook_defers_each_module_of_the_import_star_shape_and_keeps_the_exports(tmp_path):
    """@cdktn/provider-aws's shape: the helpers kept, each module through __importStar on first use."""
    def cdktn_package(where: str) -> Path:
        return node_package(tmp_path / where, INDEX_JS_IMPORT_STAR, CDKTN, CDKTN, directories=True)

    ordinary, quiet = probe(cdktn_package("ordinary"), hook=False, npm=CDKTN)
    lazy, stderr = probe(cdktn_package("lazy"), npm=CDKTN)
    assert ordinary["atRequire"] == ["iam-role", "s3-bucket", "provider"] and quiet == ""
    assert lazy["atRequire"] == [] and lazy["afterUse"] == ["s3-bucket"]
    assert lazy["keys"] == ordinary["keys"] == ["iamRole", "s3Bucket", "provider"]
    assert lazy["className"] == "S3Bucket" and lazy["sameModule"] is True
    assert lazy["exported"] == ordinary["exported"]
    # __importStar's semantics, kept: a TypeScript module is exported itself; a plain CommonJS one
    # as a copy with getters to its exports and the module as `default`.
    assert [lazy["exported"][key]["same"] for key in ("iamRole", "s3Bucket", "provider")] == [True, True, False]
    assert lazy["exported"]["provider"] == {
        "same": False, "keys": ["AwsProvider", "default"], "esModule": False, "isDefault": True,
        "descriptor": {"value": {"default": {}}, "writable": True, "enumerable": True, "configurable": True},
        "classes": [True, False],
    }
    assert stderr == "quantum_constructs lazy provider: lazy: 3 modules deferred\n"


HELPERS_START = 6  # the line of `var __createBinding` in INDEX_JS_IMPORT_STAR
HELPERS_END = HELPERS_START + HELPERS_LINES  # the line after them: Object.defineProperty(exports, "__esModule"...


@pytest.mark.parametrize(
    ("change", "line"),
    [
        # The helper block, not exactly TypeScript's (it is recognised whole or not at all): a statement
        # added in it, a line changed, a line missing.
        (lambda index: index.replace("    o[k2] = m[k];\n", '    o[k2] = m[k];\nglobalThis.loaded.push("x");\n'),
         HELPERS_START),
        (lambda index: index.replace('if (k[i] !== "default")', 'if (k[i] !== "defaults")'), HELPERS_START),
        (lambda index: index.replace("        __setModuleDefault(result, mod);\n", ""), HELPERS_START),
        # Code after the helpers that would no longer run at require time.
        (lambda index: index.replace("// generated by cdktn get", 'globalThis.loaded.push("side effect");'),
         HELPERS_END + 2),
        # A module line of the other shape, in a file that defines the helpers.
        (lambda index: index.replace('__importStar(require("./s3-bucket/index"))', 'require("./s3-bucket/index")'),
         HELPERS_END + 4),
        # A module line through another function than __importStar.
        (lambda index: index.replace('__importStar(require("./s3-bucket/index"))',
                                     'Object.freeze(require("./s3-bucket/index"))'), HELPERS_END + 4),
        # Not a module of the package.
        (lambda index: index.replace('require("./s3-bucket/index")', 'require("../lib/s3-bucket/index")'),
         HELPERS_END + 4),
    ],
    ids=["statement-in-helpers", "changed-helper", "missing-helper-line", "side-effect", "plain-require-line",
         "other-function", "not-a-sibling"],
)
def test_an_import_star_index_js_of_unexpected_shape_is_loaded_the_ordinary_way(tmp_path, change, line):
    index_js = change(INDEX_JS_IMPORT_STAR)
    assert index_js != INDEX_JS_IMPORT_STAR
    result, stderr = probe(node_package(tmp_path, index_js, CDKTN, CDKTN, directories=True), npm=CDKTN)
    assert {"iam-role", "s3-bucket", "provider"} <= set(result["atRequire"])  # all at require time
    assert stderr.startswith(
        f"quantum_constructs lazy provider: ordinary load: line {line} has an unexpected shape: "
    )


def lazy_source(index_js: str) -> dict:
    """What the hook makes of ``index_js``: {source, reason}, source null when it is loaded the ordinary way."""
    code = (
        "const { lazySource } = require(process.argv[1]);"
        'console.log(JSON.stringify(lazySource(require("fs").readFileSync(0, "utf8"))));'
    )
    run = subprocess.run(["node", "-e", code, str(lazy_provider.NODE_HOOK)], input=index_js,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_import_star_lines_need_the_helpers_before_them():
    """Each shape alone: __importStar lines in a file without the helpers, or before them (where the
    ordinary load would fail: they are not defined yet), are not made lazy."""
    without = INDEX_JS.replace('exports.s3Bucket = require("./s3-bucket");',
                               'exports.s3Bucket = __importStar(require("./s3-bucket"));')
    source_map = "//# sourceMappingURL"
    after = INDEX_JS_IMPORT_STAR.replace(TS_HELPERS, "").replace(source_map, TS_HELPERS + source_map)
    assert lazy_source(without) == {
        "source": None, "reason": f"line 10 has an unexpected shape: {without.splitlines()[9]}"
    }
    assert lazy_source(after)["source"] is None
    assert lazy_source(after)["reason"].startswith("line 9 has an unexpected shape: exports.iamRole = __importStar(")
    helpers_only = INDEX_JS_IMPORT_STAR.split("// generated by cdktn get")[0]
    assert lazy_source(helpers_only) == {"source": None, "reason": "no `exports.x = __importStar(require(...))` line"}
    assert lazy_source(INDEX_JS_IMPORT_STAR)["reason"] == "3 modules deferred"


USER_HOOK_JS = """require("fs").appendFileSync(process.env.USER_HOOK_LOG,
  JSON.stringify({ argv: process.argv.slice(1), options: process.env.NODE_OPTIONS }) + "\\n");
"""
# The user's program: quantum_constructs first, a stack, then a Node process of its own.
USER_PROGRAM = """
import json, os, subprocess, sys
import quantum_constructs
from quantum_constructs import lazy_provider
from stacks import add_stacks
from quantum_constructs.cdk import App
app = App(outdir=sys.argv[1]); add_stacks(app); app.synth()
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


@pytest.mark.skipif(FAMILY.name != "cdktf", reason="the cdktf CLI synthesizes CDKTF apps only: under CDK Terrain "
                    "(QUANTUM_CONSTRUCTS_FRAMEWORK=cdktn) the cdktn CLI has a test of its own")
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
