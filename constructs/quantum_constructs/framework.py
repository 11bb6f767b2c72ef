"""The one place that knows which CDK framework family is installed: CDKTF or CDK Terrain.

HashiCorp ended CDK for Terraform with 0.21.0; its community fork, CDK Terrain (``cdktn``,
``cdktn-provider-aws``), continues it with the same Python API under other import names. This
library works with either, chosen when it is first imported, and never mixes them (jsii refuses
a ``cdktn`` object where a ``cdktf`` one is expected):

1. ``QUANTUM_CONSTRUCTS_FRAMEWORK=cdktf`` or ``=cdktn``, when set;
2. else the family the app has already imported (``cdktf`` or ``cdktn`` in ``sys.modules``);
3. else CDK Terrain when it is installed (the maintained one), else CDKTF.

Every module of the library, the app's stacks and the tests import the framework and the AWS
provider through two aliases that name the chosen family's packages::

    from quantum_constructs.cdk import TerraformStack          # cdktf or cdktn
    from quantum_constructs.aws.s3_bucket import S3Bucket      # cdktf_cdktf_provider_aws or cdktn_provider_aws

An alias is the real module (the same object in ``sys.modules`` under both names), so there is
one copy of each jsii class. ``FAMILY`` says which family was chosen.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from typing import Callable, Mapping, NamedTuple

VARIABLE = "QUANTUM_CONSTRUCTS_FRAMEWORK"
CORE_ALIAS = f"{__package__}.cdk"
PROVIDER_ALIAS = f"{__package__}.aws"


class Family(NamedTuple):
    name: str
    """``cdktf`` or ``cdktn``: also the value of QUANTUM_CONSTRUCTS_FRAMEWORK."""
    title: str
    core: str
    """The framework's Python package."""
    provider: str
    """The AWS provider bindings' Python package."""
    provider_npm: str
    """The npm package of the provider's jsii assembly (what the kernel loads)."""
    extra: str
    """The extra that installs it: ``pip install 'quantum-constructs[<extra>]'``."""


FAMILIES = {
    "cdktn": Family("cdktn", "CDK Terrain", "cdktn", "cdktn_provider_aws", "@cdktn/provider-aws", "cdktn"),
    "cdktf": Family("cdktf", "CDK for Terraform", "cdktf", "cdktf_cdktf_provider_aws", "@cdktf/provider-aws", "cdktf"),
}
PREFERENCE = ("cdktn", "cdktf")


class FrameworkError(ImportError):
    """No usable family, or a choice that would mix the two (one line)."""


def _installed(package: str) -> bool:
    return package in sys.modules or importlib.util.find_spec(package) is not None


def choose(
    environ: Mapping[str, str] = os.environ,
    imported: Callable[[str], bool] = lambda package: package in sys.modules,
    installed: Callable[[str], bool] = _installed,
) -> Family:
    """The family to use (rules in the module docstring); ``FrameworkError`` in one line otherwise."""
    def usable(family: Family) -> bool:
        return installed(family.core) and installed(family.provider)

    already = [FAMILIES[name] for name in PREFERENCE if imported(FAMILIES[name].core) or imported(FAMILIES[name].provider)]
    chosen = environ.get(VARIABLE, "").strip()
    if chosen:
        if chosen not in FAMILIES:
            raise FrameworkError(f"{VARIABLE}={chosen!r} is not allowed: expected 'cdktf' (CDK for Terraform) or 'cdktn' (CDK Terrain)")
        family = FAMILIES[chosen]
        if not usable(family):
            raise FrameworkError(f"{VARIABLE}={chosen!r} but {family.core} and {family.provider} are not both installed: "
                                 f"pip install 'quantum-constructs[{family.extra}]'")
        others = [f.core for f in already if f is not family]
        if others:
            raise FrameworkError(f"{VARIABLE}={chosen!r} but this app already imported {others[0]}: "
                                 "one app cannot mix CDKTF and CDK Terrain")
        return family
    if len(already) > 1:
        raise FrameworkError("this app imported both cdktf and cdktn: one app cannot mix CDKTF and CDK Terrain")
    if already:
        return already[0]
    for name in PREFERENCE:
        if usable(FAMILIES[name]):
            return FAMILIES[name]
    raise FrameworkError("quantum_constructs needs CDK Terrain or CDK for Terraform: "
                         "pip install 'quantum-constructs[cdktn]' (or '[cdktf]')")


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``<alias>.x.y`` as the real ``<package>.x.y``: the same module object under both names."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self.aliases = dict(aliases)

    def real_name(self, fullname: str) -> str | None:
        for alias, real in self.aliases.items():
            if fullname == alias or fullname.startswith(alias + "."):
                return real + fullname[len(alias):]
        return None

    def find_spec(self, fullname, path, target=None):
        real = self.real_name(fullname)
        if real is None or importlib.util.find_spec(real) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        module = importlib.import_module(self.real_name(spec.name))
        spec.loader_state = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module) -> None:
        # The import system has just set the alias's spec on the real module: give it back its own.
        module.__spec__ = module.__spec__.loader_state


def _install(family: Family) -> None:
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder({CORE_ALIAS: family.core, PROVIDER_ALIAS: family.provider}))


FAMILY = choose()
_install(FAMILY)
