"""Import only the AWS provider modules an app uses.

The AWS provider bindings are ``cdktf_cdktf_provider_aws`` or, with CDK Terrain,
``cdktn_provider_aws`` (``quantum_constructs.framework`` chooses). CDKTF's ``__init__.py`` imports
all of its ~2,200 resource modules (about 20 s and 600 MB), although each module loads the jsii
assembly itself and works alone. ``install(package, npm_package)`` registers a light stand-in for
the root package, so ``from <package>.s3_bucket import S3Bucket`` loads the
assembly and that one module only. Attribute access on the stand-in
(``<package>.iam_role``) imports the submodule on demand, so code
written against the ordinary package keeps working.

A root package that already imports its modules on demand itself (``cdktn_provider_aws``: a module
``__getattr__`` over its 2,433 modules, and no module imported up front) is left as it is: the
stand-in would gain nothing. ``install()`` tells it from its source, without importing it.

It is safe by construction:
- if the provider was already imported (another app, a notebook), nothing changes;
- if the installed package does not look as expected, nothing changes and the
  ordinary (slow) import happens;
- nothing on disk is modified; the synthesized JSON is identical (tested).

``quantum_constructs`` calls ``install()`` on import, so any app that imports the
constructs before the provider gets the gain. Set ``QUANTUM_CONSTRUCTS_EAGER_PROVIDER=1``
to opt out. The order therefore matters: import ``quantum_constructs`` first.
``status()`` tells whether the stand-in is in use and, if not, why; nothing is printed
or warned, so an app that imports the provider first keeps working (at the ordinary cost).

The same problem exists one process over, for both families: the jsii kernel (Node) requires the
provider package's ``lib/index.js``, which requires all its resource modules (2,212 for
@cdktf/provider-aws, 2.5 s and 450 MB; 2,433 for @cdktn/provider-aws, 4-7 s and over 700 MB).
The Node half, ``lazy_provider_hook.js``, is handed to the kernel with ``node --require`` through
``NODE_OPTIONS`` and compiles that one file with lazy getters instead (see the file); which npm
package's file, it reads from ``QUANTUM_CONSTRUCTS_LAZY_HOOK_PACKAGE`` (``npm_package``). It can
only be given to a kernel that has not started: ``install()`` adds it to ``NODE_OPTIONS``
(after whatever the user already has there), starts the kernel by loading the first
assembly, then puts both variables back as they were, so no later process sees them.

Only code run at interpreter start (an executable ``.pth`` line) could make the order not
matter; this library ships none: it would run in every Python process of the environment,
it is the mechanism supply-chain malware uses, and PEP 829 deprecates it.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import NamedTuple

HOOK_PACKAGE_VARIABLE = "QUANTUM_CONSTRUCTS_LAZY_HOOK_PACKAGE"
# The provider's Python and npm packages, as the last install() was given them.
PACKAGE = ""
NPM_PACKAGE = ""
OPT_OUT_VARIABLE = "QUANTUM_CONSTRUCTS_EAGER_PROVIDER"
# What the stand-in relies on: the assembly loader and ordinary submodules.
_EXPECTED = ("_jsii/__init__.py", "provider/__init__.py", "s3_bucket/__init__.py")
NODE_HOOK = Path(__file__).with_name("lazy_provider_hook.js")

# Why the last install() left the ordinary package in place (None: not called, or it installed).
_fallback_reason: str | None = None
# Whether the last install() found a root package that imports its modules on demand itself.
_lazy_itself = False
# Whether the jsii kernel was started with NODE_HOOK, and why or why not (None: install() has not run).
_node_hook: tuple[bool, str] | None = None


class Status(NamedTuple):
    """How the provider is loaded: in Python (the stand-in) and in the jsii kernel (the Node hook)."""

    lazy: bool
    reason: str
    provider_modules: int
    node_hook: bool = False
    node_reason: str = ""


class _LazyProviderPackage(types.ModuleType):
    """The provider's root package, importing submodules on first attribute access."""

    def __getattr__(self, name: str):
        if name.startswith("__") or not (self._directory / name / "__init__.py").is_file():
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return importlib.import_module(f"{self.__name__}.{name}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__all__))

    @property
    def __all__(self) -> list[str]:  # what `from <package> import *` gets
        return sorted(
            p.name for p in self._directory.iterdir() if not p.name.startswith("_") and (p / "__init__.py").is_file()
        )


def install(package: str, npm_package: str) -> bool:
    """Make both halves lazy for the provider bindings ``package`` (Python) and ``npm_package`` (its
    jsii assembly's npm name); True if the root package imports its modules on demand (the lazy
    stand-in is in place, or the package does so itself), False if the ordinary eager one is used.

    The Node half is independent: ``status().node_hook`` says whether the kernel got it.
    """
    global _node_hook, PACKAGE, NPM_PACKAGE
    PACKAGE, NPM_PACKAGE = package, npm_package
    if _node_hook is None:
        _node_hook = _start_kernel_with_node_hook()
    return _install_python_package()


def _install_python_package() -> bool:
    global _fallback_reason, _lazy_itself
    _lazy_itself = False
    current = sys.modules.get(PACKAGE)
    if current is not None:
        if isinstance(current, _LazyProviderPackage):
            return True
        if _imports_on_demand(getattr(current, "__file__", None)):
            _fallback_reason, _lazy_itself = None, True
            return True
        _fallback_reason = (
            f"{PACKAGE} was imported before quantum_constructs, with all its resource modules: "
            "import quantum_constructs first"
        )
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is not None and spec.submodule_search_locations and _imports_on_demand(spec.origin):
        _fallback_reason, _lazy_itself = None, True  # whether opted out or not: nothing to replace
        return True
    if _opted_out():
        _fallback_reason = f"{OPT_OUT_VARIABLE} is set"
        return False
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        _fallback_reason = f"{PACKAGE} is not installed as a package"
        return False
    directory = Path(spec.origin).parent
    if not all((directory / expected).is_file() for expected in _EXPECTED):
        _fallback_reason = f"{directory} does not hold {', '.join(_EXPECTED)}: the ordinary import is used"
        return False

    module = _LazyProviderPackage(PACKAGE, "Bindings for the AWS provider, imported per module.")
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = PACKAGE
    module._directory = directory
    sys.modules[PACKAGE] = module
    _fallback_reason = None
    return True


@functools.lru_cache(maxsize=None)
def _imports_on_demand(init_file: str | None) -> bool:
    """Whether the package ``__init__.py`` at ``init_file`` imports its modules on demand itself:
    it defines a module ``__getattr__`` and, at module level, imports none of its public modules
    (``from . import x``, ``from .x import ...``; ``_jsii``, ``_private`` and the like are fine).
    Read, never run: CDKTF's ``__init__.py`` has no ``__getattr__`` and is not even parsed."""
    if not init_file or not init_file.endswith("__init__.py"):
        return False
    try:
        source = Path(init_file).read_bytes()
    except OSError:
        return False
    if b"def __getattr__(" not in source:
        return False
    try:
        tree = ast.parse(source, init_file)
    except (SyntaxError, ValueError):
        return False
    defines_getattr = False
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == "__getattr__":
            defines_getattr = True
        elif isinstance(statement, ast.ImportFrom) and statement.level > 0:
            imported = [statement.module.split(".")[0]] if statement.module else [a.name for a in statement.names]
            if any(not name.startswith("_") for name in imported):
                return False  # a public module imported up front
    return defines_getattr


def _opted_out() -> bool:
    return os.environ.get(OPT_OUT_VARIABLE, "") not in ("", "0")


def _kernel_started() -> bool:
    # Every jsii package loads its assembly, the kernel's first request, in its `_jsii` module.
    return any(name.endswith("._jsii") for name in list(sys.modules))


def _with_require(node_options: str, script: Path) -> str:
    """``node_options`` with ``--require "script"`` appended (Node reads double quotes in NODE_OPTIONS)."""
    quoted = '"' + str(script).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{node_options} --require {quoted}".strip()


def _start_kernel_with_node_hook() -> tuple[bool, str]:
    """Start the jsii kernel with NODE_HOOK, leaving NODE_OPTIONS as it was; (hooked, why)."""
    if _opted_out():
        return False, f"{OPT_OUT_VARIABLE} is set"
    if _kernel_started():
        return False, "the jsii kernel had started before quantum_constructs was imported: import it first"
    if not NODE_HOOK.is_file():
        return False, f"{NODE_HOOK} is missing"
    previous = {name: os.environ.get(name) for name in ("NODE_OPTIONS", HOOK_PACKAGE_VARIABLE)}
    os.environ["NODE_OPTIONS"] = _with_require(previous["NODE_OPTIONS"] or "", NODE_HOOK)
    os.environ[HOOK_PACKAGE_VARIABLE] = NPM_PACKAGE
    try:
        import constructs  # noqa: F401  loads the first assembly: the kernel starts now, with the hook
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    return True, f"the jsii kernel was started with {NODE_HOOK.name}"


def status() -> Status:
    """How the provider's root package is imported in this process, for an app or a test to check.

    ``lazy_provider.status().lazy`` is False when the provider was imported before
    ``quantum_constructs`` (``reason`` says so), when opted out, or when the package's layout is
    unexpected; it is True, the stand-in aside, when the package imports its modules on demand
    itself (``cdktn_provider_aws``). ``provider_modules`` counts the ``<package>.*`` modules loaded.
    ``node_hook`` is False when the kernel had started first or when opted out (``node_reason``);
    when True, the hook still loads an ``index.js`` of unexpected shape the ordinary way
    (``QUANTUM_CONSTRUCTS_LAZY_HOOK_DEBUG=1`` prints which way it went).
    """
    loaded = sum(1 for name in list(sys.modules) if name.startswith(PACKAGE + "."))
    current = sys.modules.get(PACKAGE)
    if isinstance(current, _LazyProviderPackage):
        lazy, reason = True, "lazy: provider modules are imported when first used"
    elif _lazy_itself:
        lazy, reason = True, f"lazy: {PACKAGE} imports its modules on demand itself"
    elif _fallback_reason is not None:
        lazy, reason = False, _fallback_reason
    elif current is not None:
        lazy, reason = False, f"{PACKAGE} was imported the ordinary way, before install()"
    elif not PACKAGE:
        lazy, reason = False, "install() has not run"
    else:
        lazy, reason = False, f"{PACKAGE} is not imported yet"
    return Status(lazy, reason, loaded, *(_node_hook or (False, "install() has not run")))
