"""The import order the READMEs show is the fast, quiet one.

Importing the AWS provider bindings before ``quantum_constructs`` loads all ~2,200 resource
modules (over 4,000 modules, about 570 MB, 10-20 s) and lets jsii print its Node 20
end-of-life banner; the other way round loads a few dozen modules and prints nothing.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from quantum_constructs.framework import FAMILIES, FAMILY

REPO = Path(__file__).resolve().parents[1]
READMES = [REPO / "README.md", REPO / "constructs" / "README.md"]
# Importing any of these starts jsii's Node kernel (the banner) or the provider's root package.
JSII_PACKAGES = {"jsii", "constructs"} | {name for f in FAMILIES.values() for name in (f.core, f.provider)}

MEASURE = """
import json, re, sys, time
started = time.perf_counter()
{imports}
seconds = time.perf_counter() - started
from quantum_constructs import lazy_provider
print(json.dumps({{
    "seconds": seconds,
    "provider_modules": len([m for m in sys.modules if m.startswith("{provider}.")]),
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (pytest) across exec.
    "peak_mb": int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) / 1024,
    "status": lazy_provider.status()._asdict(),
}}))
"""


def readme_snippets() -> list[tuple[str, str]]:
    """(name, code) of every Python block in the READMEs that uses quantum_constructs."""
    snippets = []
    for readme in READMES:
        blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.DOTALL)
        for number, code in enumerate(b for b in blocks if "quantum_constructs" in b):
            snippets.append((f"{readme.relative_to(REPO)}#{number}", code))
    return snippets


SNIPPETS = readme_snippets()


def imports(code: str) -> list[ast.stmt]:
    return [node for node in ast.parse(code).body if isinstance(node, (ast.Import, ast.ImportFrom))]


def top_level_names(node: ast.stmt) -> set[str]:
    names = [node.module] if isinstance(node, ast.ImportFrom) else [alias.name for alias in node.names]
    return {name.split(".")[0] for name in names if name}


def test_both_readmes_have_an_example():
    assert {name.split("#")[0] for name, _ in SNIPPETS} == {"README.md", "constructs/README.md"}


@pytest.mark.parametrize("name, code", SNIPPETS, ids=[name for name, _ in SNIPPETS])
def test_readme_examples_import_quantum_constructs_before_cdktf_and_the_provider(name, code):
    order = [top_level_names(node) for node in imports(code)]
    first_jsii = next(i for i, names in enumerate(order) if names & JSII_PACKAGES)
    first_ours = next(i for i, names in enumerate(order) if "quantum_constructs" in names)
    assert first_ours < first_jsii, f"{name}: quantum_constructs must be imported first"
    assert re.search(r"#.*quantum_constructs.*\b(first|before)\b", code, re.IGNORECASE), f"{name}: say why"


def in_this_family(statements: str) -> str:
    """The READMEs' CDKTF imports as a CDK Terrain app writes them (the README's migration, step 2)."""
    if FAMILY.name == "cdktf":
        return statements
    cdktf = FAMILIES["cdktf"]
    return re.sub(rf"\b{cdktf.provider}\b", FAMILY.provider, re.sub(r"\bfrom cdktf import", f"from {FAMILY.core} import", statements))


@pytest.mark.parametrize("name, code", SNIPPETS, ids=[name for name, _ in SNIPPETS])
def test_the_readme_import_order_is_fast_and_quiet(name, code, tmp_path):
    """The examples' imports, in their order, in a fresh process: few provider modules, no Node banner."""
    statements = in_this_family("\n".join(ast.unparse(node) for node in imports(code)))
    env = {
        k: v
        for k, v in os.environ.items()
        # This process imported quantum_constructs, which set the banner variable: a user's shell has not.
        if k not in ("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "QUANTUM_CONSTRUCTS_EAGER_PROVIDER")
    }
    run = subprocess.run(
        [sys.executable, "-c", MEASURE.format(imports=statements, provider=FAMILY.provider)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # the slow order takes 10-20 s on two cores, the fast one 2-4 s
    )
    assert run.returncode == 0, run.stderr
    measured = json.loads(run.stdout.splitlines()[-1])
    assert measured["status"]["lazy"], measured
    # The library imports what its constructs use (about 100 of them, with the gateway's Roles Anywhere and
    # Object Lock modules); the other order: over 4,000.
    assert measured["provider_modules"] < 120, measured
    assert measured["peak_mb"] < 250, measured  # the other order: about 570 MB
    assert "end-of-life" not in run.stderr, run.stderr
    seconds, modules, megabytes = measured["seconds"], measured["provider_modules"], measured["peak_mb"]
    print(f"{name}: {seconds:.1f} s, {modules} provider modules, {megabytes:.0f} MB")  # shown with pytest -s
