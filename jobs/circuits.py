"""Circuit specs from the command line: `bell`, `ghz:N` or a path to an OpenQASM 3 file.

Everything here runs before anything is priced or submitted. A file is checked in
three passes, each refusing with one line that names the file, line and column:

1. syntax, with the Braket simulator's own OpenQASM 3 parser;
2. what jobs cannot run whatever the device: OpenQASM 2, ``include``, an ``input``
   jobs has no way to bind, more qubits than it can check;
3. semantics, with two analyzers, because neither alone is right for Braket:

   * the Braket simulator's interpreter (``braket.default_simulator``), building the
     circuit without simulating it. It decides what Braket accepts: its gate names
     (``cnot``, ``i``, ``gpi``... but no ``cx`` without a definition), its pragmas
     (``#pragma braket result ...``), uninitialised bits. Its errors carry no position,
     so the interpreter below records the innermost statement that raised.
   * pyqasm (a maintained OpenQASM 3 semantic analyzer), for what that interpreter lets
     through although the program is wrong (a gate given the wrong number of qubits,
     the same qubit twice, a register declared twice: Braket then runs a different
     circuit, silently), and for its clearer messages when both refuse. pyqasm also
     refuses some programs Braket runs (non-integer ``pow`` modifiers, some branch
     conditions, negative indices, loops on measurement results) and knows no ``i``
     gate: those verdicts are set aside, Braket's stands.

``check_for_device`` then checks each circuit against the chosen device's limits
(``jobs.device_capabilities``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Sequence, Union

from . import device_capabilities
from .errors import UsageError

if TYPE_CHECKING:
    from .devices import Device

MAX_GHZ_QUBITS = 30  # SV1 runs up to 34; check_for_device holds each device (the local simulator: 26) to its own limit
SPEC_HELP = f"'bell', 'ghz:N' (2 <= N <= {MAX_GHZ_QUBITS}) or a path to an OpenQASM 3 file"

MAX_DECLARED_QUBITS = 10_000
"""Declaring more is refused before any analysis: both analyzers allocate per declared qubit
(pyqasm takes about 25 s per 10 million). No Braket device has more than a few hundred."""
MAX_CHECK_STEPS = 500_000
"""Interpreter steps (AST nodes visited, loops unrolled) before a program counts as too long to
check: about 1.5 s of interpretation, some 40,000 gate applications. (Parsing comes on top and is
the slow part for long files: about 0.25 s per 1,000 lines for each of the two parsers.)"""

InputValue = Union[bool, int, float]


@dataclass(frozen=True)
class CircuitSpec:
    """A validated circuit: its name as given (a file: the path as given) and its OpenQASM 3 source."""

    name: str
    source: str
    qubits: Optional[int] = field(default=None, compare=False, repr=False)
    """Qubits the program uses, when known (parse_circuit sets it; a journal's circuits leave it None)."""
    unmeasured: Optional[tuple[str, ...]] = field(default=None, compare=False, repr=False)
    """Declared qubits (``q[1]``) the program leaves unmeasured although it measures some; empty
    when it measures all or none (Braket then measures every qubit); None when not known."""
    inputs: tuple[tuple[str, float], ...] = ()
    """Values of the program's ``input`` parameters, (name, value) pairs, bound by Braket at task
    creation (the gateway forwards them; ``python -m jobs`` itself binds none)."""

    def program(self):
        """The Braket program to run (an OpenQASM 3 `Program`, accepted by every gate-model device)."""
        from braket.ir.openqasm import Program

        return Program(source=self.source, inputs=dict(self.inputs) or None)


def _ghz_source(qubits: int) -> str:
    lines = ["OPENQASM 3.0;", f"bit[{qubits}] b;", f"qubit[{qubits}] q;", "h q[0];"]
    lines += [f"cnot q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    lines.append("b = measure q;")
    return "\n".join(lines) + "\n"


def parse_circuit(spec: str) -> CircuitSpec:
    """Validate ``spec`` before anything is submitted; UsageError names what is wrong."""
    if spec == "bell":
        return CircuitSpec("bell", _ghz_source(2), 2, ())
    if spec.startswith("ghz:"):
        count = spec[4:]
        # ASCII digits only: str.isdigit() also accepts '³' and '١', which int() rejects or reads.
        if not (count.isascii() and count.isdigit() and len(count) <= 4 and 2 <= int(count) <= MAX_GHZ_QUBITS):
            raise UsageError(
                f"--circuit {spec!r}: the GHZ size must be a whole number from 2 to {MAX_GHZ_QUBITS} (digits 0-9)"
            )
        return CircuitSpec(spec, _ghz_source(int(count)), int(count), ())
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"--circuit {spec!r}: no such file; expected {SPEC_HELP}")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--circuit {spec!r}: cannot read the file ({error})") from None
    shape = _check_openqasm(spec, source)
    return CircuitSpec(spec, source, shape.qubits, shape.unmeasured)


def check_for_device(circuits: Sequence[CircuitSpec], device: Device, shots: int) -> None:
    """Refuse (UsageError) circuits or shots the device cannot run, before anything is priced or submitted.

    A device missing from ``jobs.device_capabilities`` is not checked: the service validates.
    """
    if device.kind == "local":
        caps = device_capabilities.LOCAL_SIMULATOR
    else:
        caps = device_capabilities.capabilities_for(device.arn)
        if caps is None:
            return
    named = f"device {device.alias} ({device.arn})" if device.kind != "local" else "the local simulator"
    if not caps.runs_gate_circuits and circuits:
        kinds = " and ".join("analog Hamiltonian simulation (AHS)" if a == device_capabilities.AHS else a
                             for a in sorted(caps.actions))
        raise UsageError(
            f"{named} runs {kinds} programs only, not gate circuits such as --circuit {circuits[0].name!r}: "
            "choose a gate-model device"
        )
    if caps.shots is not None:
        low, high = caps.shots
        if not low <= shots <= high:
            raise UsageError(f"--shots {shots}: {named} accepts {low} to {high} shots per task")
    for circuit in circuits if caps.measures_all else ():
        unmeasured = circuit.unmeasured if circuit.unmeasured is not None else _shape_of(circuit.source).unmeasured
        if unmeasured:
            raise UsageError(
                f"--circuit {circuit.name!r}: {named} requires every declared qubit to be measured, and the "
                f"program leaves {', '.join(unmeasured)} unmeasured: measure all of them, or none (Braket then "
                "measures every qubit)"
            )
    if caps.qubits is None:
        return
    for circuit in circuits:
        qubits = circuit.qubits if circuit.qubits is not None else _shape_of(circuit.source).qubits
        if qubits is None or qubits <= caps.qubits:
            continue
        if device.kind == "local":
            raise UsageError(
                f"--circuit {circuit.name!r}: uses {qubits} qubits but the local simulator is limited to "
                f"{caps.qubits}: its state vector needs 16 bytes x 2^{qubits} = {_bytes(16 << qubits)} of memory; "
                "use a managed simulator such as sv1 (up to 34 qubits)"
            )
        raise UsageError(f"--circuit {circuit.name!r}: uses {qubits} qubits but {named} has {caps.qubits}")


def _bytes(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:g} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Shape:
    """What the device checks need to know of a program (see ``CircuitSpec``)."""

    qubits: Optional[int]
    unmeasured: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _shape_of(source: str) -> _Shape:
    """The shape of a program known to be valid (e.g. a journal's); unknown if it is not."""
    try:
        return _check_openqasm("<journal>", source)
    except UsageError:
        return _Shape(None, ())


# --------------------------------------------------------------------------- OpenQASM checks


class _Refusal(Exception):
    """One finding: a message and, when known, the 1-based line and column it is about."""

    final = False
    """Set when no second opinion can help (too big to check): reported as is."""
    polished = False
    """Set when the message was reworded from Braket's (then preferred over pyqasm's)."""

    def __init__(self, message: str, line: Optional[int] = None, column: Optional[int] = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column

    @classmethod
    def at(cls, message: str, span) -> "_Refusal":
        """At an AST span (0-based columns, as the parsers give them)."""
        if span is None:
            return cls(message)
        return cls(message, span.start_line, span.start_column + 1)

    def usage_error(self, label: str) -> UsageError:
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        return UsageError(f"--circuit {label!r}: {where}{self.message}")


def check_openqasm(label: str, source: str, inputs: Optional[Mapping[str, InputValue]] = None) -> int:
    """Check an OpenQASM 3 program for Braket; the number of qubits it uses, or UsageError naming ``label``.

    ``inputs`` binds ``input`` declarations (jobs itself has no way to pass any, so it binds none:
    a program declaring an input is refused). Columns in messages count from 1, as editors do.
    Nothing is simulated: the check allocates nothing proportional to 2^qubits.
    """
    return _check_openqasm(label, source, inputs).qubits


def _check_openqasm(label: str, source: str, inputs: Optional[Mapping[str, InputValue]] = None) -> _Shape:
    """``check_openqasm``, returning the program's shape (its interpreter's findings)."""
    inputs = dict(inputs or {})
    try:
        tree = _parse(source)
        # Looked for in the syntax tree, so that a `measure` in a comment does not count. Before the
        # interpreter runs: it rewrites the tree as it goes.
        measures = any(type(node).__name__ in ("QuantumMeasurement", "QuantumMeasurementStatement")
                       for node in _walk(tree))
        result_types = _result_type_pragmas(tree)
        _check_structure(tree, source, inputs)
        # Before the interpreter: its pragma grammar misreads adjoint_gradient (and says so on stderr).
        analytic = _first([p for p in result_types if p.command.split()[2] in ANALYTIC_ONLY_RESULT_TYPES])
        if analytic is not None:
            raise _Refusal.at(
                f"'#pragma {analytic.command}': Braket computes {analytic.command.split()[2]} only without "
                "shots (shots=0), and jobs runs every task with shots (--shots 1 or more); expectation, "
                "variance, probability and sample work with shots",
                analytic.span,
            )
        shape = _check_semantics(tree, source, inputs)
        if not measures and not result_types:
            # With a result type and shots, Braket measures every qubit: counts come back.
            raise _Refusal("the OpenQASM program measures nothing, so it would return no counts")
    except _Refusal as refusal:
        raise refusal.usage_error(label) from None
    return shape


ANALYTIC_ONLY_RESULT_TYPES = frozenset({"amplitude", "state_vector", "density_matrix", "adjoint_gradient"})
"""Result types Braket computes only for shots=0 (every device lists them with maxShots 0)."""


def _result_type_pragmas(tree) -> list:
    """The program's ``#pragma braket result ...`` statements, in order."""
    from braket.default_simulator.openqasm.parser import openqasm_ast as ast

    return [s for s in tree.statements
            if isinstance(s, ast.Pragma) and s.command.split()[:2] == ["braket", "result"] and len(s.command.split()) > 2]


def _parse(source: str):
    """The Braket parser's AST; a syntax error is reported in the parser's own words (``line L:C ...``)."""
    from braket.default_simulator.openqasm.parser.openqasm_parser import parse

    syntax_errors = io.StringIO()  # ANTLR prints syntax errors to stderr: keep them for the message
    try:
        with contextlib.redirect_stderr(syntax_errors):
            return parse(source)
    except Exception as error:  # the parser raises several types; all mean "malformed"
        detail = "; ".join(syntax_errors.getvalue().split("\n")).strip("; ") or " ".join(str(error).split())
        raise _Refusal(f"not a valid OpenQASM 3 program: {detail or type(error).__name__}") from None


def _walk(node):
    """Every AST node under ``node`` (any order)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            yield item
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item) if f.name != "span")


def _first(nodes):
    return min(nodes, key=lambda n: (n.span.start_line, n.span.start_column) if n.span else (0, 0), default=None)


def _check_structure(tree, source: str, inputs: Mapping[str, InputValue]) -> None:
    """What jobs refuses whatever the semantics: other OpenQASM versions, includes, unbound inputs."""
    from braket.default_simulator.openqasm.parser import openqasm_ast as ast

    if tree.version is not None and not str(tree.version).startswith("3"):
        header = re.search(r"\bOPENQASM\b", source)
        line = source.count("\n", 0, header.start()) + 1 if header else 1
        column = header.start() - source.rfind("\n", 0, header.start()) if header else 1
        raise _Refusal(
            f"OpenQASM {tree.version} is not supported: Braket runs OpenQASM 3 programs "
            "(header 'OPENQASM 3.0;', Braket's gate names such as cnot, no include)",
            line,
            column,
        )
    include = _first([s for s in tree.statements if isinstance(s, ast.Include)])
    if include is not None:
        raise _Refusal.at(
            f'include "{include.filename}": Braket resolves no include files; '
            "its built-in gates (h, cnot, rx, ...) need none",
            include.span,
        )
    unbound = _first([s for s in tree.statements if isinstance(s, ast.IODeclaration)
                      and s.io_identifier == ast.IOKeyword.input and s.identifier.name not in inputs])
    if unbound is not None:
        raise _Refusal.at(
            f"the program declares input '{unbound.identifier.name}', which jobs cannot bind "
            "(it has no way to pass input values): give it a value in the program instead, "
            f"e.g. 'const float {unbound.identifier.name} = 0.5;'",
            unbound.span,
        )


def _check_semantics(tree, source: str, inputs: Mapping[str, InputValue]) -> _Shape:
    """Braket's interpreter, then pyqasm (see the module docstring); the program's shape."""
    braket_refusal: Optional[_Refusal] = None
    try:
        shape = _interpret(tree, inputs)
    except _Refusal as refusal:
        if refusal.final:
            raise
        braket_refusal = refusal
    pyqasm_refusal = _pyqasm_verdict(source, inputs)
    if braket_refusal is not None:
        if braket_refusal.polished or pyqasm_refusal is None or _PYQASM_LIMITATION.search(pyqasm_refusal.message):
            raise braket_refusal
        raise pyqasm_refusal  # both refuse: pyqasm words it better (it names the gate, the counts...)
    if pyqasm_refusal is not None and _PYQASM_ONLY_ERROR.match(pyqasm_refusal.message):
        raise pyqasm_refusal
    return shape


# Braket's messages for what is most often wrong, reworded. The first two name the register, so
# they are preferred to pyqasm's; for the others, pyqasm's (when it refuses too) is more specific.
_BRAKET_POLISH = (
    (re.compile(r"qubit register index `(-?\d+)` out of range for qubit register of length (\d+) `([^`]+)`\.?"),
     r"qubit index \1 out of range for register \3[\2]"),
    (re.compile(r"Classical register index (-?\d+) out of range for register of length (\d+) `([^`]+)`\.?"),
     r"bit index \1 out of range for register \3[\2]"),
    (re.compile(r"Undefined key: (\S+)"), r"'\1' is not declared"),
    (re.compile(r"Gate (\S+) is not defined\.?"), lambda match: _unknown_gate(match[1])),
)

# pyqasm 1.3.0 refusals of programs Braket's interpreter builds and runs although they are wrong.
_PYQASM_ONLY_ERROR = re.compile(
    r"(Invalid number of qubits|Duplicate qubit|Re-declaration of|Qubit count mismatch|Parameter count mismatch"
    r"|Expected \d+ parameters? for gate)"
)
# pyqasm 1.3.0 limitations: it refuses these valid programs, which Braket runs.
_PYQASM_LIMITATION = re.compile(
    r"(non-integer|must be an integer|Only simple comparison|Cannot unroll|Index -\d|not supported|Unsupported"
    r"|OpenQASM version)"
)


# OpenQASM's standard-library names (stdgates.inc, qelib1.inc) of gates Braket names otherwise.
_BRAKET_NAMES = {
    "cx": "cnot", "CX": "cnot", "ccx": "ccnot", "toffoli": "ccnot", "id": "i", "sdg": "si", "tdg": "ti",
    "sx": "v", "sxdg": "vi", "p": "phaseshift", "u1": "phaseshift", "cp": "cphaseshift", "cu1": "cphaseshift",
    "u": "U", "u3": "U", "rxx": "xx", "ryy": "yy", "rzz": "zz", "fredkin": "cswap",
}


def _unknown_gate(name: str) -> str:
    if name in _BRAKET_NAMES:
        return f"unknown gate '{name}': Braket calls it {_BRAKET_NAMES[name]}"
    return (f"unknown gate '{name}': not one of Braket's gates (h, x, rx, cnot, cz, swap, ccnot, ..., "
            "listed in each device's supportedOperations) and not defined with 'gate'")


def _braket_message(error: Exception) -> tuple[str, bool]:
    """A one-line message for an exception of Braket's interpreter, and whether to prefer it to pyqasm's."""
    text = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)
    text = " ".join(text.split())
    for rank, (pattern, replacement) in enumerate(_BRAKET_POLISH):
        if pattern.fullmatch(text):
            return pattern.sub(replacement, text), rank < 2
    return (f"{text}" if text else type(error).__name__), False


@functools.cache
def _checking_interpreter():
    """Braket's Interpreter, recording where it failed and bounding the work it may do."""
    from copy import deepcopy

    from braket.default_simulator.openqasm._helpers.arrays import convert_range_def_to_range
    from braket.default_simulator.openqasm.interpreter import Interpreter
    from braket.default_simulator.openqasm.parser import openqasm_ast as ast

    located = (ast.Statement, ast.Pragma)  # their spans are exact; some identifiers' are not

    class CheckingInterpreter(Interpreter):
        def __init__(self) -> None:
            super().__init__()
            self.steps = 0
            self.declared_qubits = 0
            self.failed_at = None  # the innermost statement that raised

        def visit(self, node):
            self.steps += 1
            if self.steps > MAX_CHECK_STEPS:
                raise _too_long(node)
            try:
                if isinstance(node, ast.QubitDeclaration):
                    self._declare(node)
                elif isinstance(node, ast.ForInLoop) and isinstance(node.set_declaration, ast.RangeDefinition):
                    self._check_range(node)
                return super().visit(node)
            except _Refusal:
                raise
            except Exception:
                if self.failed_at is None and isinstance(node, located) and node.span is not None:
                    self.failed_at = node.span
                raise

        def _declare(self, node) -> None:
            size = 1 if node.size is None else getattr(super().visit(deepcopy(node.size)), "value", None)
            if isinstance(size, int):
                self.declared_qubits += size
            if self.declared_qubits > MAX_DECLARED_QUBITS:
                raise _final(_Refusal.at(
                    f"the program declares {self.declared_qubits} qubits, more than jobs checks "
                    f"({MAX_DECLARED_QUBITS}); no device here runs more than "
                    f"{device_capabilities.MAX_GATE_QUBITS}", node.span))

        def _check_range(self, node) -> None:
            # Braket turns the whole range into a list before the first iteration: bound it first.
            try:
                iterations = len(convert_range_def_to_range(super().visit(deepcopy(node.set_declaration))))
            except Exception:
                return  # not a plain integer range: the interpreter itself will say what is wrong
            if self.steps + iterations > MAX_CHECK_STEPS:
                raise _too_long(node)

    return CheckingInterpreter


def _too_long(node) -> _Refusal:
    return _final(_Refusal.at(
        f"the program is too long to check (over {MAX_CHECK_STEPS:,} interpreter steps; a very long loop?)",
        getattr(node, "span", None)))


def _final(refusal: _Refusal) -> _Refusal:
    refusal.final = True
    return refusal


def _interpret(tree, inputs: Mapping[str, InputValue]) -> _Shape:
    """Build the circuit with Braket's interpreter, simulating nothing; the program's shape."""
    interpreter = _checking_interpreter()()
    if inputs:
        interpreter.context.load_inputs(dict(inputs))
    try:
        interpreter.visit(tree)
    except _Refusal:
        raise
    except RecursionError:
        raise _final(_Refusal("the program nests too deeply to check")) from None
    except Exception as error:  # the interpreter raises many types; all mean "Braket would refuse this"
        message, polished = _braket_message(error)
        refusal = _Refusal.at(message, interpreter.failed_at)
        refusal.polished = polished
        raise refusal from None
    context = interpreter.context
    if context.circuit.results:
        try:  # jobs runs with shots: Braket measures each qubit in the one basis its observables share
            context.circuit.basis_rotation_instructions
        except ValueError as error:
            raise _final(_Refusal(
                f"the result types cannot be measured in one task with shots ({error}): with shots, "
                "each qubit is measured in one basis, so give each qubit one observable")) from None
    measured = set(context.circuit.measured_qubits)
    names = {index: f"{register}[{offset}]" for register, indices in context.qubit_mapping.items()
             for offset, index in enumerate(indices)}
    unmeasured = tuple(names.get(i, str(i)) for i in sorted(set(range(context.num_qubits)) - measured)) if measured else ()
    # Declared qubits, or qubits used ($n physical qubits are used, not declared).
    return _Shape(max(context.num_qubits, len(context.circuit.qubit_set)), unmeasured)


_PYQASM_LOCK = threading.Lock()  # pyqasm reports positions through its logger, which is process-wide
_PYQASM_POSITION = re.compile(r"Error at line (\d+), column (\d+)")
_UNSET = object()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _pyqasm_verdict(source: str, inputs: Mapping[str, InputValue]) -> Optional[_Refusal]:
    """pyqasm's refusal of the program (None: it accepts, or cannot judge it)."""
    try:
        import openqasm3
        import pyqasm
        from openqasm3 import ast as oq
    except ImportError:  # pragma: no cover - pyqasm is a locked dependency
        return None
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            program = openqasm3.parse(source)
    except Exception:
        return None  # its parser disagrees with Braket's, which accepted the program: no verdict
    program.version = "3.0"  # Braket accepts a program without a header; pyqasm needs one
    _bind_inputs(program, inputs, oq)
    _define_braket_gates(program, openqasm3, oq)

    logger = logging.getLogger("pyqasm")
    records = _Records()
    with _PYQASM_LOCK:
        saved = (logger.handlers[:], logger.propagate, logger.level, sys.__dict__.get("tracebacklimit", _UNSET))
        logger.handlers, logger.propagate = [records], False
        logger.setLevel(logging.ERROR)
        try:
            pyqasm.loads(program).validate()
        except pyqasm.ValidationError as error:
            message = _pyqasm_message(str(error))
        except Exception:
            return None  # a crash inside pyqasm says nothing about the program
        else:
            return None
        finally:
            logger.handlers, logger.propagate = saved[0], saved[1]
            logger.setLevel(saved[2])
            # pyqasm sets sys.tracebacklimit = 0 whenever it raises, hiding every later traceback.
            if saved[3] is _UNSET:
                sys.__dict__.pop("tracebacklimit", None)
            else:
                sys.tracebacklimit = saved[3]
    for logged in records.messages:  # the first position logged is the innermost
        position = _PYQASM_POSITION.search(logged)
        if position:
            return _Refusal(message, int(position[1]), int(position[2]) + 1)
    return _Refusal(message)


def _pyqasm_message(text: str) -> str:
    # Some messages end with the offending node's repr ("... in gate operation QuantumGate(span=...").
    text = re.split(r"\s*(?:in (?:gate operation|statement)\s*)?\b\w+\(span=", text, maxsplit=1)[0]
    text = re.sub(r" in (?:QuantumGate|QuantumMeasurement\w*|QuantumPhase)$", "", " ".join(text.split()))
    return text[:300] or "invalid program"


def _bind_inputs(program, inputs: Mapping[str, InputValue], oq) -> None:
    """Replace bound ``input`` declarations with declarations initialised to their values."""
    literal = {bool: oq.BooleanLiteral, int: oq.IntegerLiteral, float: oq.FloatLiteral}
    for index, statement in enumerate(program.statements):
        if (isinstance(statement, oq.IODeclaration) and statement.io_identifier == oq.IOKeyword.input
                and type(inputs.get(statement.identifier.name)) in literal):
            value = inputs[statement.identifier.name]
            declaration = oq.ClassicalDeclaration(statement.type, statement.identifier, literal[type(value)](value))
            declaration.span = statement.span
            program.statements[index] = declaration


def _define_braket_gates(program, openqasm3, oq) -> None:
    """Define for pyqasm the Braket gates it does not know (only ``i``, the identity, in pyqasm 1.3.0)."""
    used = {node.name.name for node in _walk(program) if isinstance(node, oq.QuantumGate)}
    defined = {node.name.name for node in _walk(program) if isinstance(node, oq.QuantumGateDefinition)}
    if "i" in used and "i" not in defined:
        program.statements.insert(0, openqasm3.parse("gate i _q { U(0, 0, 0) _q; }").statements[0])
