"""Run a hybrid job's entry point as Braket's job container does (run with ``python -P``, cwd = the code).

The steps follow the container's own script (``braket_container.py`` in
amazon-braket-containers): the code directory goes on ``sys.path``; ``module:function``
imports the module and calls the function, with the hyperparameters of
``AMZN_BRAKET_HP_FILE`` as keyword arguments when its signature takes them (converted by
their annotations, ``str`` otherwise); a bare ``module`` runs as ``python -m module``. An
exception ends the process with code 1, its last stderr line naming it, as the service's
``failureReason`` does.

Standalone on purpose: ``-P`` keeps this file's folder (the ``jobs`` package, with modules
named ``results`` or ``devices``) off ``sys.path``, where it could shadow the user's modules.
"""

import importlib
import inspect
import json
import os
import runpy
import sys
import traceback


def _hyperparameter_kwargs(function):
    path = os.environ.get("AMZN_BRAKET_HP_FILE")
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        hyperparameters = json.load(handle)
    try:
        inspect.signature(function).bind(**hyperparameters)
    except TypeError:  # the function does not take them: it reads them itself
        return {}
    annotations = inspect.getfullargspec(function).annotations
    return {name: annotations.get(name, str)(value) for name, value in hyperparameters.items()}


def main(entry_point: str) -> int:
    sys.path.insert(0, os.getcwd())
    try:
        module_name, _, function_name = entry_point.partition(":")
        if function_name:
            function = getattr(importlib.import_module(module_name), function_name)
            function(**_hyperparameter_kwargs(function))
        else:
            runpy.run_module(module_name, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException as error:  # noqa: BLE001 - reported as the job's failure reason
        traceback.print_exc()
        print(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
