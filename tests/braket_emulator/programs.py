"""What CreateQuantumTask refuses in an OpenQASM program, decided from the device's properties.

Braket validates a task against the device's capabilities document before it is created
(a ``ValidationException``; nothing is queued or billed). The rules here read the same
document the SDK shows as ``AwsDevice(arn).properties``:

* ``paradigm.qubitCount``: a program may not use more qubits;
* ``action[openqasm].supportedResultTypes``: each ``#pragma braket result`` must name a listed
  result type, with a listed observable, and shots within its ``minShots``..``maxShots``
  (so ``shots = 0`` is allowed exactly for the result types whose minShots is 0);
  ``shots = 0`` needs at least one result type;
* with shots, every qubit is measured in one basis: observables that need two bases for one
  qubit (X and Z on q[0]) are refused, as the SDK refuses such a Circuit itself;
* ``requiresAllQubitsMeasurement``: a program that measures must measure every declared qubit;
  the message is the service's, as the SDK's integration test ``test_measure.py`` expects it;
* probability on at most 15 qubits and a reduced density matrix on at most 8 (the developer
  guide's "List of result types");
* mid-circuit measurement (a measured qubit used again, or a branch on a measured bit) only on
  a device with ``dynamic_circuits`` and with experimental capabilities enabled (Braket offers
  it on IQM devices that way; no capabilities field declares it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from braket.default_simulator.openqasm.interpreter import Interpreter
from braket.default_simulator.openqasm.parser import openqasm_ast as ast
from braket.default_simulator.openqasm.parser.openqasm_parser import parse
from braket.default_simulator.openqasm.program_context import ProgramContext

from . import gradients
from .devices import OPENQASM, Device

ALL_QUBITS_MEASURED = ("Device requires all qubits in the program to be measured. This may be caused "
                       "by declaring non-contiguous qubits or measuring partial qubits")
MAX_PROBABILITY_QUBITS = 15
MAX_DENSITY_MATRIX_QUBITS = 8

# IR result type -> the name the capabilities document lists.
_CAPABILITY_NAMES = {"expectation": "Expectation", "variance": "Variance", "sample": "Sample",
                     "probability": "Probability", "amplitude": "Amplitude",
                     "statevector": "StateVector", "densitymatrix": "DensityMatrix",
                     "adjoint_gradient": "AdjointGradient"}


_INLINE_PRAGMA = re.compile(r"(?<=[^\s])[ \t]*(?=#pragma\b)")


def one_pragma_per_line(source: str) -> str:
    """``source`` with every ``#pragma`` starting a line. The managed simulators read
    ``...cnot q[0], q[1];#pragma braket result expectation ...#pragma braket result sample ...``
    (no newlines: the SDK's integration test ``openqasm_result_types_bell_pair_testing``) as two
    result types; the local simulator's grammar runs a pragma to the end of its line."""
    return _INLINE_PRAGMA.sub("\n", source)


class ProgramRefused(ValueError):
    """The program breaks a rule of the device; the message is the ValidationException's."""


@dataclass(frozen=True)
class ProgramShape:
    """What validation needs to know about a program, read without running it."""

    result_types: list[Any]  # braket.ir result type objects, in program order
    used_qubits: set[int]
    measured_qubits: list[int]
    source: str  # what to run: one pragma per line, adjoint gradients as expectations (gradients.py)
    adjoint_gradients: list[gradients.Gradient]
    declared_qubits: int | None  # None: physical qubits ($n), nothing declared
    mid_circuit_measurement: bool
    basis_conflict: str | None  # why the observables cannot be measured in one run with shots


def shape_of(source: str, inputs: dict[str, Any] | None = None) -> ProgramShape:
    """Parse and interpret ``source`` with its ``inputs`` (raises on programs the OpenQASM
    interpreter refuses), parsing once: long programs spend most of their time there."""
    source, requested_gradients = gradients.rewrite(one_pragma_per_line(source))
    program = parse(source)
    mid_circuit = _measures_mid_circuit(program.statements)  # before the interpreter rewrites the tree
    interpreter = Interpreter(ProgramContext())
    if inputs:
        interpreter.context.load_inputs(inputs)
    interpreter.visit(program)
    circuit = interpreter.context.circuit
    try:
        circuit.basis_rotation_instructions  # with shots, each qubit is measured in one basis
        conflict = None
    except ValueError as error:
        conflict = str(error)
    return ProgramShape(gradients.fold(list(circuit.results), requested_gradients, inputs or {}),
                        set(circuit.qubit_set), list(circuit.measured_qubits), source, requested_gradients,
                        interpreter.context.num_qubits or None, mid_circuit, conflict)


def check(device: Device, shape: ProgramShape, shots: int, experimental: bool) -> None:
    """Raise ``ProgramRefused`` for what ``device`` refuses in ``shape`` with ``shots``."""
    action = device.capabilities["action"][OPENQASM]
    qubits = device.capabilities["paradigm"]["qubitCount"]
    used = max([len(shape.used_qubits), shape.declared_qubits or 0, *(q + 1 for q in shape.used_qubits)])
    if used > qubits:
        raise ProgramRefused(f"Program uses {used} qubits, more than the {qubits} of {device.arn}")
    if shots == 0 and not shape.result_types:
        raise ProgramRefused("Result types must be specified when shots=0")
    supported = {rt["name"]: rt for rt in action.get("supportedResultTypes") or []}
    for result_type in shape.result_types:
        _check_result_type(device, supported, result_type, shots, shape)
    if shots and shape.basis_conflict:
        raise ProgramRefused(f"Observables cannot be measured together with shots > 0: {shape.basis_conflict}")
    if shape.mid_circuit_measurement and not (device.dynamic_circuits and experimental):
        how = ("enable experimental capabilities to use it" if device.dynamic_circuits
               else "it is not supported by this device")
        raise ProgramRefused(f"Mid-circuit measurement is not available on {device.arn}: {how}")
    # Declared qubits 0..n-1 must all be measured once a program measures any (no measurement at
    # all: the service measures every qubit). Physical qubits ($n) declare nothing.
    declared = range(shape.declared_qubits) if shape.declared_qubits is not None else None
    if (action.get("requiresAllQubitsMeasurement") and shape.measured_qubits and declared is not None
            and sorted(set(shape.measured_qubits)) != list(declared)):
        raise ProgramRefused(ALL_QUBITS_MEASURED)


def _check_result_type(device: Device, supported: dict[str, dict], result_type: Any, shots: int,
                       shape: ProgramShape) -> None:
    kind = result_type.type.value
    name = _CAPABILITY_NAMES.get(kind, kind)
    spec = supported.get(name)
    if spec is None:
        raise ProgramRefused(f"Result type {name} is not supported by {device.arn}; supported result "
                             f"types: {', '.join(supported) or 'none'}")
    low, high = spec.get("minShots", 0), spec.get("maxShots", shots)
    if not low <= shots <= high:
        allowed = "shots=0 only" if high == 0 else f"shots between {low} and {high}"
        raise ProgramRefused(f"Result type {name} on {device.arn} requires {allowed}; got shots={shots}")
    for observable in _observable_factors(getattr(result_type, "observable", None)):
        if spec.get("observables") is not None and observable not in spec["observables"]:
            raise ProgramRefused(f"Observable {observable} is not supported for result type {name} on "
                                 f"{device.arn}; supported: {', '.join(spec['observables'])}")
    targets = getattr(result_type, "targets", None)
    width = len(targets) if targets else len(shape.used_qubits)
    if kind == "probability" and width > MAX_PROBABILITY_QUBITS:
        raise ProgramRefused(f"Probability is limited to {MAX_PROBABILITY_QUBITS} qubits; requested {width}")
    if kind == "densitymatrix" and width > MAX_DENSITY_MATRIX_QUBITS:
        raise ProgramRefused(f"DensityMatrix is limited to {MAX_DENSITY_MATRIX_QUBITS} target qubits; "
                             f"requested {width}")


def _observable_factors(observable: Any) -> Iterator[str]:
    """Names of the factors of an IR observable: ["x", "y"], ["z", [[...hermitian matrix...]]] or a
    Hamiltonian's text."""
    if observable is None:
        return
    if isinstance(observable, str):  # an adjoint gradient's Hamiltonian, "2 * x @ y + 1 * z"
        yield from re.findall(r"\b[a-z]+\b", observable)
        return
    for factor in observable:
        if isinstance(factor, str):
            yield factor
        else:  # a matrix: the Hermitian observable
            yield "hermitian"


def _walk(statements: list) -> Iterator[Any]:
    for statement in statements:
        yield statement
        for block in ("if_block", "else_block", "block"):
            inner = getattr(statement, block, None)
            if isinstance(inner, list):
                yield from _walk(inner)


def _measures_mid_circuit(statements: list) -> bool:
    """True when a measured qubit is used again, or control flow follows a measurement."""
    measured: list[tuple[str, int | None]] = []
    for statement in _walk(statements):
        if measured and isinstance(statement, (ast.BranchingStatement, ast.WhileLoop)):
            return True
        if isinstance(statement, ast.QuantumMeasurementStatement):
            qubits = [statement.measure.qubit]
        elif isinstance(statement, ast.QuantumGate):
            qubits = statement.qubits
        elif isinstance(statement, ast.QuantumReset):
            qubits = [statement.qubits]
        else:
            continue
        keys = [_key(q) for q in qubits]
        if any(_overlaps(key, done) for key in keys for done in measured):
            return True
        if isinstance(statement, ast.QuantumMeasurementStatement):
            measured.extend(keys)
    return False


def _key(qubit: Any) -> tuple[str, int | None]:
    """(register, index) of a qubit operand; index None for a whole register or a range."""
    if isinstance(qubit, ast.IndexedIdentifier):
        index = qubit.indices[0][0] if qubit.indices and isinstance(qubit.indices[0], list) else None
        return qubit.name.name, index.value if isinstance(index, ast.IntegerLiteral) else None
    return getattr(qubit, "name", str(qubit)), None


def _overlaps(a: tuple[str, int | None], b: tuple[str, int | None]) -> bool:
    return a[0] == b[0] and (a[1] is None or b[1] is None or a[1] == b[1])
