"""results.json as Braket writes it, and the check every one passes before it is stored.

The local simulators return a ``GateModelTaskResult`` whose result types hold numpy values
(shots = 0) or only the requested result types, to be computed from the measurements by the
SDK (shots > 0). The managed simulators store computed values in plain JSON, in the shape the
SDK's ``GateModelQuantumTaskResult.cast_result_types`` reads back:

* expectation, variance: a float (a list of floats when the observable has no target and
  applies to every qubit); sample: a list of eigenvalues (a list per qubit without target);
* probability: a list of floats;
* amplitude: ``{"00": [re, im], ...}``; state vector: ``[[re, im], ...]``;
  density matrix: ``[[[re, im], ...], ...]`` (the SDK's integration tests compare DM1's
  density matrix with exactly that nesting);
* adjoint gradient: ``{"expectation": float, "gradient": {parameter: float}}``.

``check`` validates a document with the SDK's own schema (``GateModelTaskResult``), the value
type of each result type above, and a round trip through ``GateModelQuantumTaskResult``: a
document that fails is a bug of the emulator, reported as the task's failure reason.
"""

from __future__ import annotations

import json
import numbers
from typing import Any

import numpy as np
from braket.task_result import AnalogHamiltonianSimulationTaskResult, GateModelTaskResult
from pydantic.v1 import ValidationError
from braket.tasks import AnalogHamiltonianSimulationQuantumTaskResult, GateModelQuantumTaskResult

_COMPLEX = {"amplitude", "statevector", "densitymatrix"}
AHS_RESULT = "braket.task_result.analog_hamiltonian_simulation_task_result"


class ResultsCheckError(ValueError):
    """A results document the SDK could not read, or with a value of the wrong type."""


def to_json(result: GateModelTaskResult | AnalogHamiltonianSimulationTaskResult) -> str:
    """The results.json body for a local simulator's ``result``, values computed and plain."""
    if isinstance(result, AnalogHamiltonianSimulationTaskResult):
        return result.json(exclude_none=True)
    computed = GateModelQuantumTaskResult.from_object(result).result_types or []
    # pydantic's json() of thousands of measurements costs more than the simulation: numpy's tolist.
    body = json.loads(result.json(exclude={"resultTypes", "measurements"}, exclude_none=True))
    if result.measurements is not None and len(result.measurements):
        body["measurements"] = np.asarray(result.measurements, dtype=int).tolist()
    else:  # shots = 0: no measurements (the schema forbids [])
        body.pop("measuredQubits", None)
    if computed:
        body["resultTypes"] = [
            {"type": json.loads(rt.type.json(exclude_none=True)), "value": _plain(rt.type.type, rt.value)}
            for rt in computed]
    return json.dumps(body)


def _plain(kind: Any, value: Any) -> Any:
    """``value`` as JSON: complex numbers as [re, im] pairs, numpy scalars and arrays as Python."""
    kind = getattr(kind, "value", kind)
    if kind in _COMPLEX:
        return _pairs(value)
    if isinstance(value, dict):
        return {str(k): _plain(kind, v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [_plain(kind, v) for v in value]
    if isinstance(value, (complex, np.complexfloating)):
        return float(np.real(value))  # a real-valued result computed in complex arithmetic
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value


def _pairs(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _pairs(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, list, tuple)):
        return [_pairs(v) for v in value]
    number = complex(value)
    return [number.real, number.imag]


def check(body: str, shots: int) -> None:
    """Raise ``ResultsCheckError`` unless the SDK reads ``body`` and every value has its type."""
    document = json.loads(body)
    if document.get("braketSchemaHeader", {}).get("name") == AHS_RESULT:
        try:
            read = AnalogHamiltonianSimulationQuantumTaskResult.from_string(body)
        except Exception as exc:  # noqa: BLE001 - the schema's or the reader's refusal
            raise ResultsCheckError(f"the SDK cannot read the AHS results.json: {type(exc).__name__}: {exc}") from None
        if len(read.measurements or []) != shots:
            raise ResultsCheckError(f"AHS results.json has {len(read.measurements or [])} shots, not {shots}")
        return
    try:
        GateModelQuantumTaskResult.from_string(body)  # GateModelTaskResult.parse_raw, then the reader
    except ValidationError as exc:  # the schema: what the SDK itself raises for a bad document
        raise ResultsCheckError(f"results.json does not match GateModelTaskResult: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any other failure of the SDK's reader
        raise ResultsCheckError(f"the SDK cannot read results.json: {type(exc).__name__}: {exc}") from None
    if shots > 0 and not document.get("measurements") and not document.get("measurementProbabilities"):
        raise ResultsCheckError("results.json of a task with shots > 0 has no measurements")
    if shots == 0 and not document.get("resultTypes"):
        raise ResultsCheckError("results.json of a task with shots = 0 has no result types")
    for result_type in document.get("resultTypes") or []:
        kind, value = result_type["type"]["type"], result_type["value"]
        if not _VALUE_CHECKS[kind](value):
            raise ResultsCheckError(f"results.json value of result type {kind} has the wrong shape: {str(value)[:200]}")


def _is_float(v: Any) -> bool:
    return isinstance(v, float)


def _floats(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, float) for x in v)


def _pair(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, float) for x in v)


_VALUE_CHECKS = {
    "expectation": lambda v: _is_float(v) or _floats(v),
    "variance": lambda v: _is_float(v) or _floats(v),
    "sample": lambda v: _floats(v) or (isinstance(v, list) and all(_floats(x) for x in v)),
    "probability": lambda v: _floats(v) and bool(v),
    "amplitude": lambda v: isinstance(v, dict) and all(_pair(x) for x in v.values()),
    "statevector": lambda v: isinstance(v, list) and all(_pair(x) for x in v),
    "densitymatrix": lambda v: isinstance(v, list) and all(
        isinstance(row, list) and len(row) == len(v) and all(_pair(x) for x in row) for row in v),
    "adjoint_gradient": lambda v: isinstance(v, dict) and _is_float(v.get("expectation"))
    and isinstance(v.get("gradient"), dict),
}
