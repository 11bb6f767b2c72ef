"""Import only the AWS provider modules an app uses.

``cdktf_cdktf_provider_aws/__init__.py`` imports all of its ~2,200 resource
modules (about 20 s and 600 MB), although each module loads the jsii assembly
itself and works alone. ``install()`` registers a light stand-in for the root
package, so ``from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket`` loads the
assembly and that one module only. Attribute access on the stand-in
(``cdktf_cdktf_provider_aws.iam_role``) imports the submodule on demand, so code
written against the ordinary package keeps working.

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

Only code run at interpreter start (an executable ``.pth`` line) could make the order not
matter; this library ships none: it would run in every Python process of the environment,
it is the mechanism supply-chain malware uses, and PEP 829 deprecates it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path
from typing import NamedTuple

PACKAGE = "cdktf_cdktf_provider_aws"
OPT_OUT_VARIABLE = "QUANTUM_CONSTRUCTS_EAGER_PROVIDER"
# What the stand-in relies on: the assembly loader and ordinary submodules.
_EXPECTED = ("_jsii/__init__.py", "provider/__init__.py", "s3_bucket/__init__.py")

# Why the last install() left the ordinary package in place (None: not called, or it installed).
_fallback_reason: str | None = None


class Status(NamedTuple):
    """Whether the provider's root package is the lazy stand-in, why, and how many provider modules are loaded."""

    lazy: bool
    reason: str
    provider_modules: int


class _LazyProviderPackage(types.ModuleType):
    """The provider's root package, importing submodules on first attribute access."""

    def __getattr__(self, name: str):
        if name.startswith("__") or not (self._directory / name / "__init__.py").is_file():
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return importlib.import_module(f"{self.__name__}.{name}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__all__))

    @property
    def __all__(self) -> list[str]:  # what `from cdktf_cdktf_provider_aws import *` gets
        return sorted(
            p.name for p in self._directory.iterdir() if not p.name.startswith("_") and (p / "__init__.py").is_file()
        )


def install() -> bool:
    """Register the lazy root package; True if it is now in place, False if the ordinary one is used."""
    global _fallback_reason
    current = sys.modules.get(PACKAGE)
    if current is not None:
        if not isinstance(current, _LazyProviderPackage):
            _fallback_reason = (
                f"{PACKAGE} was imported before quantum_constructs, with all its resource modules: "
                "import quantum_constructs first"
            )
        return isinstance(current, _LazyProviderPackage)
    if os.environ.get(OPT_OUT_VARIABLE, "") not in ("", "0"):
        _fallback_reason = f"{OPT_OUT_VARIABLE} is set"
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        _fallback_reason = f"{PACKAGE} is not installed as a package"
        return False
    directory = Path(spec.origin).parent
    if not all((directory / expected).is_file() for expected in _EXPECTED):
        _fallback_reason = f"{directory} does not hold {', '.join(_EXPECTED)}: the ordinary import is used"
        return False

    module = _LazyProviderPackage(PACKAGE, "CDKTF bindings for the AWS provider, imported per module.")
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = PACKAGE
    module._directory = directory
    sys.modules[PACKAGE] = module
    _fallback_reason = None
    return True


def status() -> Status:
    """How the provider's root package is imported in this process, for an app or a test to check.

    ``lazy_provider.status().lazy`` is False when the provider was imported before
    ``quantum_constructs`` (``reason`` says so), when opted out, or when the package's layout is
    unexpected; ``provider_modules`` counts the ``cdktf_cdktf_provider_aws.*`` modules loaded.
    """
    loaded = sum(1 for name in list(sys.modules) if name.startswith(PACKAGE + "."))
    current = sys.modules.get(PACKAGE)
    if isinstance(current, _LazyProviderPackage):
        return Status(True, "lazy: provider modules are imported when first used", loaded)
    if _fallback_reason is not None:
        return Status(False, _fallback_reason, loaded)
    if current is not None:
        return Status(False, f"{PACKAGE} was imported the ordinary way, before install()", loaded)
    return Status(False, f"install() has not run and {PACKAGE} is not imported yet", loaded)
