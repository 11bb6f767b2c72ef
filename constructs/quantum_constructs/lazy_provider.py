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
to opt out.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from pathlib import Path

PACKAGE = "cdktf_cdktf_provider_aws"
OPT_OUT_VARIABLE = "QUANTUM_CONSTRUCTS_EAGER_PROVIDER"
# What the stand-in relies on: the assembly loader and ordinary submodules.
_EXPECTED = ("_jsii/__init__.py", "provider/__init__.py", "s3_bucket/__init__.py")


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
    current = sys.modules.get(PACKAGE)
    if current is not None:
        return isinstance(current, _LazyProviderPackage)
    if os.environ.get(OPT_OUT_VARIABLE, "") not in ("", "0"):
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations or spec.origin is None:
        return False
    directory = Path(spec.origin).parent
    if not all((directory / expected).is_file() for expected in _EXPECTED):
        return False

    module = _LazyProviderPackage(PACKAGE, "CDKTF bindings for the AWS provider, imported per module.")
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__path__ = list(spec.submodule_search_locations)
    module.__package__ = PACKAGE
    module._directory = directory
    sys.modules[PACKAGE] = module
    return True
