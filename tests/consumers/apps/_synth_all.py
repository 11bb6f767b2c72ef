"""Synthesize consumer apps in one process, each into its own App: one jsii start for all of them.

    python -I _synth_all.py OUTDIR REPORT APP [APP ...]

APP names a module beside this file that defines ``build(app)``. Each app synthesizes into
``OUTDIR/<APP>/stacks/<stack>/cdk.tf.json``; a failing app is recorded with its traceback and
the others still run. REPORT (JSON) is rewritten after every app, so a crash of the process
still leaves what ran before it.
"""

import quantum_constructs  # noqa: I001  first: before any cdktf_cdktf_provider_aws import (the fast order)

import importlib
import importlib.metadata
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # run with -I: the script's directory is not on sys.path by itself

from cdktf import App  # noqa: E402


def environment() -> dict:
    import cdktf
    import cdktf_cdktf_provider_aws

    dist = importlib.metadata.distribution("quantum-constructs")
    # By the module's name: the README's migration renames the module, not a distribution's name.
    [bindings_name] = importlib.metadata.packages_distributions()[cdktf_cdktf_provider_aws.__name__]
    bindings = importlib.metadata.distribution(bindings_name)
    return {
        "python": sys.executable,
        "prefix": sys.prefix,
        "quantum_constructs_file": quantum_constructs.__file__,
        "lazy_provider": quantum_constructs.lazy_provider.status()._asdict(),
        "lazy_provider_hook": str(quantum_constructs.lazy_provider.NODE_HOOK),
        "quantum_constructs_version": dist.version,
        "quantum_constructs_direct_url": dist.read_text("direct_url.json"),
        "quantum_constructs_requires": dist.requires or [],
        "framework": quantum_constructs.framework.FAMILY.name,
        "cdktf_file": cdktf.__file__,
        "bindings_version": bindings.version,
        "bindings_path": list(getattr(cdktf_cdktf_provider_aws, "__path__", [])),
        "meta_path": [
            f"{getattr(finder, '__module__', '')}.{getattr(finder, '__qualname__', type(finder).__qualname__)}"
            for finder in sys.meta_path
        ],
    }


def write(report_path: Path, report: dict) -> None:
    partial = report_path.with_suffix(".partial")
    partial.write_text(json.dumps(report, indent=1, sort_keys=True))
    partial.replace(report_path)


def main(outdir: Path, report_path: Path, names: list[str]) -> int:
    report: dict = {"environment": environment(), "apps": {}}
    write(report_path, report)
    for name in names:
        start = time.perf_counter()
        try:
            module = importlib.import_module(name)
            (outdir / name).mkdir(parents=True, exist_ok=True)
            app = App(outdir=str(outdir / name))
            module.build(app)
            app.synth()
            result = {"ok": True}
        except Exception:  # noqa: BLE001  every failure is the app's result
            result = {"ok": False, "error": traceback.format_exc(limit=-8)}
        result["seconds"] = round(time.perf_counter() - start, 3)
        report["apps"][name] = result
        write(report_path, report)
        print(f"{name}: {'ok' if result['ok'] else 'FAILED'} in {result['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    outdir, report_path, *apps = sys.argv[1:]
    sys.exit(main(Path(outdir), Path(report_path), apps))
