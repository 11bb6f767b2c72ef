"""What leaves the company: a submitted OpenQASM 3 program, validated, held to the gateway's limits
and rewritten so that nothing of the user's text goes with it.

``anonymize`` takes a program as users send it (``python -m jobs``, Braket's OpenQASM 3 dialect:
Braket's built-in gates or the standard library's, ``qubit[n]``/``bit[n]``, ``measure``, gate
definitions, subroutines, ``input`` parameters, classical variables, ``#pragma braket ...``,
annotations) and, refusing with one line (``InvalidProgram``) whatever it will not forward:

1. parses it with the ``openqasm3`` reference parser (a syntax error names the line);
2. refuses what Braket cannot run or the gateway will not forward: includes other than
   ``stdgates.inc``, pulse-level code (``defcal``, ``cal``, ``defcalgrammar``), ``extern``,
   ``output``, ``input`` of other than float/angle type (they could change the circuit's size,
   which must be known here), names that shadow standard gates, constants or functions;
3. bounds the work of the next step statically (loop iterations, gate definitions and
   subroutines expanded), so a short program cannot make the checks run for minutes;
4. validates the semantics and unrolls the program with pyqasm (a maintained OpenQASM 3
   analyzer), counting qubits, gates and depth after unrolling, held to ``Limits``;
5. rewrites it: comments, annotations and non-Braket pragmas dropped; every user identifier
   (registers, gates, subroutines and their parameters, classical variables, inputs, loop
   variables, aliases) renamed to an opaque name in order of declaration (``q0``, ``c0``, ``g0``,
   ``f0``, ``a0``, ``p0``, ``v0``); the standard library's gates translated to Braket's spelling
   (``cx`` -> ``cnot``) or defined from ``stdgates.inc``; printed canonically by
   ``openqasm3.dumps``. Declarations keep their order, so qubit indices and the order of result
   bits are the user's. ``#pragma braket ...`` (result types, noise, verbatim boxes) changes what
   Braket computes, so it is kept, its register and parameter names renamed like the rest;
6. builds the forwarded program with Braket's own interpreter (``braket.default_simulator``):
   what it refuses, Braket would refuse. Its measurement slots give the result bit layout.

Only the language's own words, standard gate, constant and function names, Braket's pragma words
and numeric literals of the input reach the forwarded text: every identifier is either renamed or
checked against those lists, and every other free-text field of the syntax tree (comments,
annotations, pragmas, include names, calibration bodies) is dropped or refused.

Results come back in the user's names through ``deanonymize_counts`` and the ``mapping``, which
stays inside the gateway.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import math
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional, Sequence

import openqasm3
from openqasm3 import ast

from .config import Limits

__all__ = ["Anonymized", "InvalidProgram", "anonymize", "deanonymize_counts"]


class InvalidProgram(ValueError):
    """A program the gateway does not forward; the message is one line naming what and why."""


BRAKET_GATES = frozenset({
    "ccnot", "cnot", "cphaseshift", "cphaseshift00", "cphaseshift01", "cphaseshift10", "cswap", "cv", "cy",
    "cz", "ecr", "gpi", "gpi2", "h", "i", "iswap", "ms", "phaseshift", "prx", "pswap", "rx", "ry", "rz", "s",
    "si", "swap", "t", "ti", "v", "vi", "x", "xx", "xy", "y", "yy", "z", "zz", "U",
})
"""Gates Braket knows without a definition: ``braket.default_simulator.gate_operations.BRAKET_GATES``
(less ``unitary``, which is a pragma) and OpenQASM's built-in ``U``. Devices list the ones they run
in ``supportedOperations``."""

STDGATE_ALIASES = {
    "cx": "cnot", "CX": "cnot", "ccx": "ccnot", "p": "phaseshift", "phase": "phaseshift", "u1": "phaseshift",
    "cp": "cphaseshift", "cphase": "cphaseshift", "sdg": "si", "tdg": "ti", "sx": "v", "id": "i",
}
"""``stdgates.inc`` gates that Braket has under another name: the same operation by both files'
definitions (``p(λ)`` and ``phaseshift(λ)`` are both ``ctrl @ gphase(λ)``, ``sx`` and ``v`` both
``pow(1/2) @ x``...). The other standard gates (h, x, rx, cz, swap, cswap...) share Braket's names."""

STDGATE_DEFINITIONS = {
    "crx": "gate crx(θ) a, b { ctrl @ rx(θ) a, b; }",
    "cry": "gate cry(θ) a, b { ctrl @ ry(θ) a, b; }",
    "crz": "gate crz(θ) a, b { ctrl @ rz(θ) a, b; }",
    "ch": "gate ch a, b { ctrl @ h a, b; }",
    "cu": "gate cu(θ, φ, λ, γ) a, b { phaseshift(γ) a; ctrl @ U(θ, φ, λ) a, b; }",
    "u2": "gate u2(φ, λ) a { gphase(-(φ + λ) / 2); U(π / 2, φ, λ) a; }",
    "u3": "gate u3(θ, φ, λ) a { gphase(-(φ + λ) / 2); U(θ, φ, λ) a; }",
}
"""``stdgates.inc`` gates Braket lacks, forwarded with the standard library's definitions
(OpenQASM 3 specification, ``stdgates.inc``) written with Braket's gate names."""

STANDARD_GATES = BRAKET_GATES | STDGATE_ALIASES.keys() | STDGATE_DEFINITIONS.keys()
CONSTANTS = frozenset({"pi", "π", "tau", "τ", "euler", "ℇ"})
FUNCTIONS = frozenset({
    "arccos", "arcsin", "arctan", "ceiling", "cos", "exp", "floor", "log", "mod", "popcount", "pow", "rotl",
    "rotr", "sin", "sqrt", "tan", "real", "imag", "sizeof",
})
"""OpenQASM 3's built-in constants and functions (specification: types and classical instructions)."""

PRAGMA_WORDS = frozenset({
    "braket", "result", "noise", "unitary", "verbatim", "all", "im",
    "expectation", "variance", "probability", "sample", "amplitude", "state_vector", "density_matrix",
    "adjoint_gradient", "x", "y", "z", "h", "i", "hermitian",
    "bit_flip", "phase_flip", "pauli_channel", "depolarizing", "two_qubit_depolarizing",
    "two_qubit_dephasing", "two_qubit_pauli_channel", "amplitude_damping", "generalized_amplitude_damping",
    "phase_damping", "kraus",
})
"""Words of Braket's pragmas (Braket Developer Guide, "What OpenQASM features does Braket support?":
result types, noise, unitary, verbatim); any other word in a ``#pragma braket`` line must be a
declared name, which is renamed."""

INPUT_TYPES = (ast.FloatType, ast.AngleType)
"""``input`` types forwarded: parameters of gates (Braket binds them at task creation), which cannot
change the shape of the circuit. An int or bool input could size a loop the gateway cannot count."""

PREFIXES = {"qubit": "q", "bit": "c", "gate": "g", "subroutine": "f", "argument": "a", "input": "p", "variable": "v"}
"""Opaque names by kind of declaration: ``q0`` the first qubit register declared, ``c0`` the first bit
register, ``g0`` gates, ``f0`` subroutines, ``a0`` their parameters, ``p0`` inputs, ``v0`` other
classical variables, constants, loop variables and aliases."""

_PHYSICAL_QUBIT = re.compile(r"^\$\d+$")
_PRAGMA_TOKEN = re.compile(
    r'(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<physical>\$\d+)'
    r'|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<bits>"[01]*")|(?P<other>[\s\[\](),@*+\-/:])'
)


@dataclass(frozen=True)
class Anonymized:
    """A program ready to forward, with what the gateway keeps inside to answer in the user's names."""

    program: str
    """The forwarded OpenQASM 3 text."""
    original_sha256: str
    forwarded_sha256: str
    mapping: dict
    """JSON-serializable: ``names`` (opaque -> user name, every renamed identifier) and ``bits`` (one
    entry per result bit, in the order of Braket's bitstrings: the user's ``register`` and ``index``,
    or None for a measurement without destination, the ``qubit`` measured by its user name and its
    ``qubit_index``), and ``measures_all``: true when the program measures nothing, so that Braket
    measures every qubit the circuit uses."""
    qubits: int
    gates: int
    """Gate applications after unrolling loops, gate definitions and subroutines (built-in and
    standard-library gates count one each; ``gphase`` counts)."""
    depth: int
    gate_set: tuple[str, ...]
    """Gate names after unrolling, in Braket's spelling, sorted: for the policy's context."""
    inputs: dict = dataclasses.field(default_factory=dict)
    """The values of the program's inputs, by their opaque names (Braket binds them at task creation)."""


# --------------------------------------------------------------------------- the pipeline


def anonymize(source: str, limits: Limits, inputs: Optional[Mapping[str, float]] = None) -> Anonymized:
    """Validate ``source`` against ``limits`` and rewrite it for forwarding; ``InvalidProgram`` otherwise.

    ``inputs``: a value for each ``input float``/``input angle`` the program declares, by the user's
    name (none missing, none extra, finite numbers); forwarded under the inputs' opaque names."""
    if not isinstance(source, str):
        raise InvalidProgram(f"the program must be OpenQASM 3 text, not {type(source).__name__}")
    try:
        tree = _parse(source)
        _refuse_unforwardable(tree)
        declarations = _Declarations(tree)
        forwarded_inputs = _bind_inputs(tree, declarations, inputs or {})
        _bound_work(tree, declarations, limits)
        defined = _rename(tree, declarations)  # in place; refuses undeclared names and unknown gates
        forwarded = _print(tree, defined)
        size = _unroll_with_pyqasm(tree, declarations, limits)  # the last use of the tree, which it changes
        bits = _result_bits(forwarded, declarations)
    except RecursionError:  # an expression or block nested thousands deep
        raise InvalidProgram("the program nests too deeply to check") from None
    return Anonymized(
        program=forwarded,
        original_sha256=hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest(),
        forwarded_sha256=hashlib.sha256(forwarded.encode("utf-8")).hexdigest(),
        mapping={"names": declarations.users, "bits": bits,
                 "measures_all": all(bit["register"] is None and bit["index"] is None for bit in bits)},
        qubits=size.qubits,
        gates=size.gates,
        depth=size.depth,
        gate_set=size.gate_set,
        inputs=forwarded_inputs,
    )


def _bind_inputs(tree: ast.Program, declarations: "_Declarations", inputs: Mapping[str, object]) -> dict[str, float]:
    """The task's input values under the inputs' opaque names; ``InvalidProgram`` for one missing,
    one the program does not declare, or a value that is not a finite number."""
    declared = [s.identifier.name for s in tree.statements
                if isinstance(s, ast.IODeclaration) and s.io_identifier == ast.IOKeyword.input]
    missing = [name for name in declared if name not in inputs]
    if missing:
        raise InvalidProgram(f"input '{missing[0]}' has no value: give it in the task's inputs")
    unknown = sorted(set(inputs) - set(declared))
    if unknown:
        raise InvalidProgram(f"inputs names '{unknown[0]}', which the program does not declare as an input"
                             + (f" (its inputs: {', '.join(declared)})" if declared else ""))
    bound = {}
    for name in declared:
        value = inputs[name]
        if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
            raise InvalidProgram(f"input '{name}' = {value!r}: expected a finite number")
        bound[declarations.names[name]] = float(value)
    return bound


def _line(node: Any) -> str:
    span = getattr(node, "span", None)
    return f"line {span.start_line}: " if span is not None else ""


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse(source: str) -> ast.Program:
    """The openqasm3 reference parser's tree; a syntax error as ``line L: ...`` at the token that broke it."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # ANTLR's console listener prints what it raises
            return openqasm3.parse(source)
    except RecursionError:
        raise InvalidProgram("the program nests too deeply to parse") from None
    except Exception as error:  # QASM3ParsingError, or the AST builder's errors on odd input
        lexer = re.match(r"L(\d+):C(\d+): (.*)", str(error))  # the lexer's errors carry their position
        if lexer is not None:
            line, column, message = lexer.groups()
            raise InvalidProgram(f"line {line}: {_one_line(message)} (column {int(column) + 1})") from None
        token = _offending_token(error)
        if not re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S).strip():
            raise InvalidProgram("the program is empty: expected OpenQASM 3 statements such as 'qubit[2] q;'") from None
        if token is None:
            raise InvalidProgram(f"not a valid OpenQASM 3 program: {_one_line(error) or type(error).__name__}") from None
        if token.type == -1:  # EOF
            raise InvalidProgram(f"line {token.line}: the program ends in the middle of a statement") from None
        raise InvalidProgram(
            f"line {token.line}: syntax error at {_one_line(token.text, 40)!r} (column {token.column + 1}): "
            "not valid OpenQASM 3 here (a missing ';' before it?)") from None


def _offending_token(error: BaseException) -> Any:
    """The token ANTLR's parser stopped at (a RecognitionException inside the ParseCancellationException
    that openqasm3's bail-out strategy raises), or None."""
    seen = 0
    while error is not None and seen < 5:
        token = getattr(error, "offendingToken", None)
        if token is not None:
            return token
        error = error.__cause__ or (error.args[0] if error.args and isinstance(error.args[0], BaseException) else None)
        seen += 1
    return None


def _walk(node: Any, statement: Any = None) -> Iterator[tuple[ast.QASMNode, Any]]:
    """Every AST node under ``node`` in document order, each with the innermost statement holding it
    (whose span is reliable for line numbers; some identifiers' spans are not)."""
    stack = [(node, statement)]
    while stack:
        item, holder = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend((child, holder) for child in reversed(item))
        elif isinstance(item, ast.QASMNode):
            if isinstance(item, (ast.Statement, ast.Pragma)):
                holder = item
            yield item, holder
            children = [getattr(item, f.name) for f in dataclasses.fields(item) if f.name != "span"]
            stack.extend((child, holder) for child in reversed(children))


def _refuse_unforwardable(tree: ast.Program) -> None:
    if tree.version is not None and not str(tree.version).startswith("3"):
        raise InvalidProgram(f"OpenQASM {tree.version} is not forwarded: the gateway takes OpenQASM 3 programs")
    if not tree.statements:
        raise InvalidProgram("the program is empty: expected OpenQASM 3 statements such as 'qubit[2] q;'")
    for node, holder in _walk(tree):
        where = _line(holder)
        if isinstance(node, ast.Include) and node.filename != "stdgates.inc":
            raise InvalidProgram(
                f'{where}include "{_one_line(node.filename, 80)}" is not forwarded: the only include allowed is '
                '"stdgates.inc" (Braket resolves no include files; its built-in gates need none)')
        if isinstance(node, (ast.CalibrationGrammarDeclaration, ast.CalibrationStatement, ast.CalibrationDefinition)):
            raise InvalidProgram(
                f"{where}pulse-level code (defcalgrammar, cal, defcal) is not forwarded: submit gate-level programs")
        if isinstance(node, ast.ExternDeclaration):
            raise InvalidProgram(f"{where}extern declarations are not forwarded: no device here provides externs")
        if isinstance(node, ast.IODeclaration):
            if node.io_identifier != ast.IOKeyword.input:
                raise InvalidProgram(
                    f"{where}output declarations are not forwarded: Braket returns measured bits, not outputs")
            if not isinstance(node.type, INPUT_TYPES):
                raise InvalidProgram(
                    f"{where}input '{node.identifier.name}' has type {type(node.type).__name__[:-4].lower()}: "
                    "only float and angle inputs are forwarded (gate parameters; other inputs could change the "
                    "circuit's size, which the gateway must check)")


# --------------------------------------------------------------------------- names


class _Declarations:
    """The program's user identifiers and their opaque names, in order of declaration."""

    def __init__(self, tree: ast.Program) -> None:
        self.names: dict[str, str] = {}  # user name -> opaque name
        self.gates: set[str] = set()  # user names declared as gates (gate calls look only here)
        self.qubit_registers: list[tuple[str, int]] = []  # (user name, size), in declaration order
        self.consts: dict[str, int] = {}  # integer constants with a value known before running
        counters = dict.fromkeys(PREFIXES.values(), 0)
        has_braket_pragma = any(isinstance(node, ast.Pragma) and _is_braket_pragma(node) for node, _ in _walk(tree))
        # Gate calls and other references are renamed apart, so a variable may be called 'i' although
        # Braket has an 'i' gate; a gate of the user's may not take the name of one of Braket's.
        reserved = CONSTANTS | FUNCTIONS | (PRAGMA_WORDS if has_braket_pragma else frozenset())
        for node, holder in _walk(tree):
            for identifier, kind in _declared(node):
                name = identifier.name
                if name in reserved or (kind == "gate" and name in BRAKET_GATES):
                    what = ("one of Braket's gates" if kind == "gate" and name in BRAKET_GATES
                            else "a built-in constant" if name in CONSTANTS
                            else "a built-in function" if name in FUNCTIONS
                            else "a word of Braket's pragmas, which the program uses")
                    raise InvalidProgram(f"{_line(holder)}the name '{name}' is {what}: give the {kind} another name")
                if kind == "gate":
                    self.gates.add(name)
                if name not in self.names:
                    prefix = PREFIXES[kind]
                    self.names[name] = f"{prefix}{counters[prefix]}"
                    counters[prefix] += 1
            if isinstance(node, ast.ConstantDeclaration):
                value = _static_int(node.init_expression, self.consts)
                if value is not None:
                    self.consts[node.identifier.name] = value
            if isinstance(node, ast.QubitDeclaration):
                size = 1 if node.size is None else _static_int(node.size, self.consts)
                if size is None or size < 1:
                    raise InvalidProgram(
                        f"{_line(holder)}the size of qubit register '{node.qubit.name}' must be a positive integer "
                        "constant")
                self.qubit_registers.append((node.qubit.name, size))

    @property
    def users(self) -> dict[str, str]:
        """Opaque name -> user name."""
        return {opaque: user for user, opaque in self.names.items()}

    def in_user_names(self, message: str) -> str:
        """A checker's message about the renamed program, with the user's names back."""
        users = self.users
        return re.sub(r"\b[qcgfapv]\d+\b", lambda m: users.get(m.group(), m.group()), message)

    def qubit_label(self, index: int) -> str:
        """The user's name of qubit ``index`` (Braket numbers declared qubits in declaration order)."""
        offset = index
        for name, size in self.qubit_registers:
            if offset < size:
                return f"{name}[{offset}]"
            offset -= size
        return f"${index}"


def _declared(node: ast.QASMNode) -> list[tuple[ast.Identifier, str]]:
    """The identifiers ``node`` declares, with their kind."""
    if isinstance(node, ast.QubitDeclaration):
        return [(node.qubit, "qubit")]
    if isinstance(node, ast.ClassicalDeclaration):
        return [(node.identifier, "bit" if isinstance(node.type, ast.BitType) else "variable")]
    if isinstance(node, ast.ConstantDeclaration):
        return [(node.identifier, "variable")]
    if isinstance(node, ast.IODeclaration):
        return [(node.identifier, "input")]
    if isinstance(node, ast.QuantumGateDefinition):
        return [(node.name, "gate")] + [(a, "argument") for a in node.arguments + node.qubits]
    if isinstance(node, ast.SubroutineDefinition):
        return [(node.name, "subroutine")] + [(a.name, "argument") for a in node.arguments]
    if isinstance(node, ast.ForInLoop):
        return [(node.identifier, "variable")]
    if isinstance(node, ast.AliasStatement):
        return [(node.target, "variable")]
    return []


def _is_braket_pragma(pragma: ast.Pragma) -> bool:
    return pragma.command.split(None, 1)[:1] == ["braket"]


def _static_int(expression: Any, consts: Mapping[str, int]) -> Optional[int]:
    """The value of an integer expression of literals and integer constants; None when not known here."""
    if isinstance(expression, ast.IntegerLiteral):
        return expression.value
    if isinstance(expression, ast.Identifier):
        return consts.get(expression.name)
    if isinstance(expression, ast.UnaryExpression) and expression.op == ast.UnaryOperator["-"]:
        value = _static_int(expression.expression, consts)
        return None if value is None else -value
    if isinstance(expression, ast.BinaryExpression):
        left, right = _static_int(expression.lhs, consts), _static_int(expression.rhs, consts)
        if left is None or right is None:
            return None
        op = expression.op.name
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right if abs(left * right) < 10**12 else None
        if op == "/" and right:
            return left // right
        if op == "%" and right:
            return left % right
    return None


# --------------------------------------------------------------------------- bounding the work


def _bound_work(tree: ast.Program, declarations: _Declarations, limits: Limits) -> None:
    """Refuse, before unrolling anything, a program that declares more qubits than allowed or whose
    expansion (loops, gate definitions and subroutines unrolled) could apply far more gates than
    ``max_gates``: unrolling is about 0.1 ms per gate with pyqasm, so the check itself must be bounded.
    The count is an upper bound (both arms of a branch, every iteration of a loop whose bounds are
    not constants counted as ``max_gates`` iterations, classical statements too); 4 x ``max_gates``
    + 1,000 leaves room for that."""
    declared = sum(size for _, size in declarations.qubit_registers)
    if declared > limits.max_qubits:
        raise InvalidProgram(
            f"the program declares {declared} qubits, more than the gateway forwards (max_qubits={limits.max_qubits})")
    bound = _Work(declarations, limits.max_gates).of(tree.statements)
    ceiling = 4 * limits.max_gates + 1_000
    if bound > ceiling:
        raise InvalidProgram(
            f"the program expands to up to {bound:,} operations once loops, gate definitions and subroutines are "
            f"unrolled, more than the gateway checks for max_gates={limits.max_gates} (at most {ceiling:,})")


class _Work:
    """An upper bound on the operations a program performs once unrolled."""

    def __init__(self, declarations: _Declarations, loop_cap: int) -> None:
        self.consts = declarations.consts
        self.sizes = dict(declarations.qubit_registers)
        self.loop_cap = loop_cap
        self.gates: dict[str, int] = {}
        self.subroutines: dict[str, Optional[int]] = {}  # None while its body is being counted

    def of(self, statements: Sequence[Any]) -> int:
        return sum(self.statement(s) for s in statements)

    def statement(self, node: Any) -> int:
        if isinstance(node, ast.QuantumGateDefinition):
            self.gates[node.name.name] = max(1, self.of(node.body))
            return 0
        if isinstance(node, ast.SubroutineDefinition):
            self.subroutines[node.name.name] = None
            self.subroutines[node.name.name] = 1 + self.of(node.body)
            return 0
        if isinstance(node, ast.ForInLoop):
            return self.calls(node.set_declaration) + self.iterations(node.set_declaration) * (1 + self.of(node.block))
        if isinstance(node, ast.WhileLoop):
            return self.calls(node.while_condition) + self.loop_cap * (1 + self.of(node.block))
        if isinstance(node, ast.BranchingStatement):
            return 1 + self.calls(node.condition) + self.of(node.if_block) + self.of(node.else_block)
        if isinstance(node, ast.SwitchStatement):
            cases = sum(self.of(block.statements) for _, block in node.cases)
            return 1 + self.calls(node.target) + cases + (self.of(node.default.statements) if node.default else 0)
        if isinstance(node, ast.Box):
            return self.of(node.body)
        if isinstance(node, ast.CompoundStatement):
            return self.of(node.statements)
        if isinstance(node, ast.QuantumGate):
            repeat = 1
            for modifier in node.modifiers:
                if modifier.modifier == ast.GateModifierName.pow:
                    power = _static_int(modifier.argument, self.consts)
                    repeat *= abs(power) if power else 1
            return self.broadcast(node.qubits) * repeat * self.gates.get(node.name.name, 1) + self.calls(node.arguments)
        if isinstance(node, (ast.QuantumMeasurementStatement, ast.QuantumReset, ast.QuantumBarrier, ast.QuantumPhase)):
            targets = {ast.QuantumMeasurementStatement: lambda n: [n.measure.qubit], ast.QuantumReset: lambda n: [n.qubits],
                       ast.QuantumBarrier: lambda n: n.qubits, ast.QuantumPhase: lambda n: n.qubits}[type(node)](node)
            return self.broadcast(targets)
        return 1 + self.calls(node)

    def calls(self, node: Any) -> int:
        """The work of the subroutines called in an expression."""
        total = 0
        for child, holder in _walk(node):
            if isinstance(child, ast.FunctionCall) and child.name.name in self.subroutines:
                cost = self.subroutines[child.name.name]
                if cost is None:
                    raise InvalidProgram(
                        f"{_line(holder)}subroutine '{child.name.name}' calls itself: recursion is not forwarded "
                        "(its size could not be checked)")
                total += cost
        return total

    def iterations(self, loop_set: Any) -> int:
        if isinstance(loop_set, ast.RangeDefinition):
            start = 0 if loop_set.start is None else _static_int(loop_set.start, self.consts)
            end = _static_int(loop_set.end, self.consts) if loop_set.end is not None else None
            step = 1 if loop_set.step is None else _static_int(loop_set.step, self.consts)
            if start is None or end is None or not step:
                return self.loop_cap
            return max(0, (end - start) // step + 1)
        if isinstance(loop_set, ast.DiscreteSet):
            return len(loop_set.values)
        if isinstance(loop_set, ast.Identifier) and loop_set.name in self.sizes:
            return self.sizes[loop_set.name]
        return self.loop_cap

    def broadcast(self, operands: Sequence[Any]) -> int:
        """How many times a gate applied to these operands runs: a whole register or a slice of one
        applies it to each qubit."""
        width = 1
        for operand in operands:
            if isinstance(operand, ast.Identifier):
                width = max(width, self.sizes.get(operand.name, 1))
            elif isinstance(operand, ast.IndexedIdentifier) and any(_selects_several(i) for i in operand.indices):
                width = max(width, self.sizes.get(operand.name.name, 1))
        return width


def _selects_several(index: Any) -> bool:
    """Whether an index (``[1:3]``, ``{0, 2}``, ``[0]``) may select several elements."""
    items = index if isinstance(index, list) else [index]
    return any(isinstance(item, (ast.RangeDefinition, ast.DiscreteSet)) for item in items)


# --------------------------------------------------------------------------- semantics and size (pyqasm)


@dataclass(frozen=True)
class _Size:
    qubits: int
    gates: int
    depth: int
    gate_set: tuple[str, ...]


_PYQASM_LOCK = threading.Lock()  # pyqasm reports positions through its logger, which is process-wide
_PYQASM_POSITION = re.compile(r"Error at line (\d+), column (\d+)")
_UNSET = object()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _pyqasm_quietly() -> Iterator[_Records]:
    """Collect pyqasm's logged errors (they carry the position) instead of printing them, and undo
    its ``sys.tracebacklimit = 0`` (it sets it whenever it raises, hiding every later traceback)."""
    logger = logging.getLogger("pyqasm")
    records = _Records()
    with _PYQASM_LOCK:
        saved = (logger.handlers[:], logger.propagate, logger.level, sys.__dict__.get("tracebacklimit", _UNSET))
        logger.handlers, logger.propagate = [records], False
        logger.setLevel(logging.ERROR)
        try:
            yield records
        finally:
            logger.handlers, logger.propagate = saved[0], saved[1]
            logger.setLevel(saved[2])
            if saved[3] is _UNSET:
                sys.__dict__.pop("tracebacklimit", None)
            else:
                sys.tracebacklimit = saved[3]


def _unroll_with_pyqasm(program: ast.Program, declarations: _Declarations, limits: Limits) -> _Size:
    """Validate the renamed program with pyqasm and measure it unrolled (changing ``program``);
    messages in the user's names. (Copying a 10,000-gate tree costs more than pyqasm's whole check.)"""
    import pyqasm

    program.statements = [s for s in program.statements if not isinstance(s, ast.Pragma)]
    for index, statement in enumerate(program.statements):
        if isinstance(statement, ast.IODeclaration):
            # Any value does to check and count: a float input changes angles, never the circuit's shape.
            bound = ast.ClassicalDeclaration(statement.type, statement.identifier, ast.FloatLiteral(0.5))
            bound.span = statement.span
            program.statements[index] = bound
    if any(isinstance(node, ast.QuantumGate) and node.name.name == "i" for node, _ in _walk(program)):
        # Braket's identity, unknown to pyqasm 1.3
        program.statements.insert(0, openqasm3.parse("gate i _q { U(0, 0, 0) _q; }").statements[0])
    with _pyqasm_quietly() as records:
        try:
            module = pyqasm.loads(program)
            # Standard gates stay whole (one gate each, as devices count them); the user's are expanded.
            module.unroll(external_gates=sorted(STANDARD_GATES),
                          max_loop_iters=limits.max_gates)
        except RecursionError:
            raise InvalidProgram("the program nests too deeply to check") from None
        except Exception as error:  # pyqasm's ValidationError, UnrollError, LoopLimitExceededError...
            message = declarations.in_user_names(_pyqasm_message(error))
            where = next((m for m in map(_PYQASM_POSITION.search, records.messages) if m), None)
            line = f"line {where[1]}: " if where else ""
            if type(error).__name__ == "LoopLimitExceededError":
                message += f" (the gateway unrolls loops of up to max_gates={limits.max_gates} iterations)"
            if not isinstance(error, pyqasm.PyQasmError):
                message = f"pyqasm could not analyse the program, so its size cannot be checked ({message})"
            raise InvalidProgram(f"{line}{message}") from None
        qubits = module.num_qubits
    if qubits == 0:
        raise InvalidProgram("the program uses no qubits: declare some ('qubit[2] q;') and apply gates to them")
    statements = list(_quantum_statements(module.unrolled_ast.statements))
    operations = [s for s in statements if isinstance(s, (ast.QuantumGate, ast.QuantumPhase))]
    gate_set = {STDGATE_ALIASES.get(s.name.name, s.name.name) if isinstance(s, ast.QuantumGate) else "gphase"
                for s in operations}
    size = _Size(qubits, len(operations), _depth(statements), tuple(sorted(gate_set)))
    for what, value, limit in (("qubits", size.qubits, limits.max_qubits), ("gates", size.gates, limits.max_gates),
                               ("depth", size.depth, limits.max_depth)):
        if value > limit:
            unit = "" if what == "depth" else f" {what}"
            measure = f"has depth {value}" if what == "depth" else f"uses {value}{unit}"
            raise InvalidProgram(f"the program {measure} after unrolling, more than the gateway forwards "
                                 f"(max_{what}={limit})")
    return size


def _pyqasm_message(error: Exception) -> str:
    text = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)
    # Some messages end with the offending node's repr ("... in gate operation QuantumGate(span=...").
    text = re.split(r"\s*(?:in (?:gate operation|statement)\s*)?\b\w+\(span=", text, maxsplit=1)[0]
    return _one_line(text) or type(error).__name__


def _quantum_statements(statements: Sequence[Any]) -> Iterator[Any]:
    """The quantum operations of an unrolled program in order, inside branches and boxes too."""
    for statement in statements:
        if isinstance(statement, ast.BranchingStatement):
            yield from _quantum_statements(statement.if_block)
            yield from _quantum_statements(statement.else_block)
        elif isinstance(statement, ast.Box):
            yield from _quantum_statements(statement.body)
        elif isinstance(statement, (ast.QuantumStatement, ast.QuantumMeasurementStatement)):
            yield statement


def _depth(statements: Sequence[Any]) -> int:
    """Circuit depth: each gate, measurement and reset takes one layer after the latest layer of the
    qubits (and, for a measurement, the bit) it touches; a barrier aligns its qubits without a layer."""
    layer: dict[str, int] = {}

    def key(operand: Any) -> str:
        if isinstance(operand, ast.Identifier):
            return operand.name
        index = operand.indices[0] if len(operand.indices) == 1 else None
        if isinstance(index, list) and len(index) == 1 and isinstance(index[0], ast.IntegerLiteral):
            return f"{operand.name.name}[{index[0].value}]"  # what pyqasm's unrolling leaves: q[3]
        return openqasm3.dumps(operand)

    for statement in statements:
        if isinstance(statement, ast.QuantumMeasurementStatement):
            operands = [statement.measure.qubit] + ([statement.target] if statement.target is not None else [])
        elif isinstance(statement, ast.QuantumReset):
            operands = [statement.qubits]
        else:
            operands = list(getattr(statement, "qubits", []))
        keys = [key(operand) for operand in operands]
        if not keys:
            continue
        latest = max(layer.get(k, 0) for k in keys)
        for k in keys:
            layer[k] = latest if isinstance(statement, ast.QuantumBarrier) else latest + 1
    return max(layer.values(), default=0)


# --------------------------------------------------------------------------- renaming and printing


def _rename(program: ast.Program, declarations: _Declarations) -> list[str]:
    """Rename every user identifier in ``program`` (in place) and drop the rest of the user's text;
    return the standard-library gates it uses that need a definition."""
    names = declarations.names
    program.version = "3.0"
    defined: list[str] = []
    renamed: set[int] = set()  # ids of gate-name identifiers already handled
    _filter_statements(program, names)
    for node, holder in _walk(program):
        if isinstance(node, ast.Statement):
            node.annotations = []
        if isinstance(node, ast.QuantumGate):
            name = node.name.name
            if name in declarations.gates:
                node.name.name = names[name]
            elif name in STDGATE_ALIASES:
                node.name.name = STDGATE_ALIASES[name]
            elif name in STDGATE_DEFINITIONS:
                if name not in defined:
                    defined.append(name)
            elif name not in BRAKET_GATES:
                raise InvalidProgram(
                    f"{_line(holder)}unknown gate '{name}': not one of Braket's gates (h, x, rx, cnot, cz, swap, ccnot, "
                    "...), a stdgates.inc gate (cx, p, crx, ...) or a gate the program defines")
            renamed.add(id(node.name))
        elif isinstance(node, ast.Identifier) and id(node) not in renamed:
            if node.name in names:
                node.name = names[node.name]
                renamed.add(id(node))
            elif not (node.name in CONSTANTS or node.name in FUNCTIONS or _PHYSICAL_QUBIT.match(node.name)):
                raise InvalidProgram(f"{_line(holder)}'{node.name}' is not declared")
    return defined


def _filter_statements(node: Any, names: Mapping[str, str]) -> None:
    """Drop includes and non-Braket pragmas from every statement list; rename inside Braket pragmas."""
    for holder, _ in list(_walk(node)):
        for field in dataclasses.fields(holder):
            value = getattr(holder, field.name)
            if isinstance(value, list) and any(isinstance(s, (ast.Include, ast.Pragma)) for s in value):
                kept = []
                for statement in value:
                    if isinstance(statement, ast.Include):
                        continue
                    if isinstance(statement, ast.Pragma):
                        if not _is_braket_pragma(statement):
                            continue
                        statement.command = _braket_pragma(statement, names)
                    kept.append(statement)
                setattr(holder, field.name, kept)


def _braket_pragma(pragma: ast.Pragma, names: Mapping[str, str]) -> str:
    """A ``#pragma braket ...`` command with its declared names renamed; any other word refused."""
    out, position, command = [], 0, pragma.command.strip()
    while position < len(command):
        token = _PRAGMA_TOKEN.match(command, position)
        if token is None:
            raise InvalidProgram(
                f"{_line(pragma)}'#pragma {_one_line(command, 80)}': unexpected {command[position]!r} at character "
                f"{position + 1} (Braket pragmas hold words, numbers, register names and [ ] ( ) , @ * + - /)")
        word = token["word"]
        if word is not None:
            if word in names:
                word = names[word]
            elif word not in PRAGMA_WORDS:
                raise InvalidProgram(
                    f"{_line(pragma)}'#pragma {_one_line(command, 80)}': '{word}' is neither a word of Braket's pragmas "
                    "(result, expectation, probability, noise, verbatim, ...) nor a declared name")
            out.append(word)
        else:
            out.append(token.group())
        position = token.end()
    return " ".join("".join(out).split())


def _print(program: ast.Program, defined: Sequence[str]) -> str:
    """Canonical text (``openqasm3.dumps``), with the stdgates.inc definitions it needs first."""
    definitions = [openqasm3.parse(STDGATE_DEFINITIONS[name]).statements[0] for name in defined]
    return openqasm3.dumps(ast.Program(statements=definitions + program.statements, version=program.version))


# --------------------------------------------------------------------------- what Braket makes of it


def _result_bits(forwarded: str, declarations: _Declarations) -> list[dict]:
    """Build the forwarded program with Braket's interpreter (nothing simulated): what it refuses,
    Braket would refuse. One entry per bit of Braket's bitstrings, in their order: the measured
    register elements, registers in declaration order and elements in index order
    (``Circuit.measurement_slots``); without any measurement, every qubit the program uses, in
    index order (Braket then measures them all)."""
    from braket.default_simulator.openqasm.interpreter import Interpreter

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            circuit = Interpreter().run(forwarded).circuit
    except RecursionError:
        raise InvalidProgram("the program nests too deeply to check") from None
    except Exception as error:  # the interpreter raises many types; all mean "Braket would refuse this"
        text = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)
        message = declarations.in_user_names(_one_line(text)) or type(error).__name__
        raise InvalidProgram(f"Braket would refuse the program: {message}") from None
    slots = circuit.measurement_slots
    if not slots:
        return [{"register": None, "index": None, "qubit": declarations.qubit_label(q), "qubit_index": q}
                for q in sorted(circuit.qubit_set)]
    users = declarations.users
    return [{"register": users.get(register.name) if register.name is not None else None,
             "index": element if register.name is not None else None,
             "qubit": declarations.qubit_label(qubit), "qubit_index": qubit}
            for register, element, qubit in slots]


def deanonymize_counts(counts: Mapping[str, Any], mapping: Mapping[str, Any],
                       measured_qubits: Optional[Sequence[int]] = None) -> dict:
    """Braket's measurement counts in the user's names.

    ``counts`` maps bitstrings to counts (or probabilities: values are carried unchanged), bit ``i``
    of each key being result bit ``i`` (``GateModelQuantumTaskResult.measurement_counts``, whose
    columns follow ``measured_qubits``). Returns::

        {"bits": [{"register": "c", "index": 0, "qubit": "q[0]"}, ...],  # bit i of every key
         "counts": {"01": 480, "10": 520},                                # keys as Braket gave them
         "registers": {"c": {"01": 480, "10": 520}}}                      # per bit register

    ``registers`` has, for each of the user's bit registers holding results, its measured elements
    in index order (element 0 first), counts summed over the other registers' bits. A bit measured
    without a destination (``measure q[0];``) has register None and appears in ``bits`` only.
    ``measured_qubits`` is the result's own list: when given in another order than the program's
    measurements (qubit by qubit, each once), the labels follow it; ValueError if it cannot match.
    (A program measuring nothing has every used qubit measured, in index order, which the local
    simulator reports by position: 0, 1, ...)
    """
    layout = [dict(bit) for bit in mapping["bits"]]
    expected = [b["qubit_index"] for b in layout]
    # Measuring every qubit, the local simulator lists them by position among the used qubits (0, 1, ...).
    positions = mapping.get("measures_all") and list(measured_qubits or ()) == list(range(len(layout)))
    if measured_qubits is not None and expected != list(measured_qubits) and not positions:
        by_qubit = {b["qubit_index"]: b for b in layout}
        if len(by_qubit) != len(layout) or sorted(by_qubit) != sorted(measured_qubits):
            raise ValueError(f"the result's measured qubits {list(measured_qubits)} do not match the program's "
                             f"measurements of qubits {expected}")
        layout = [by_qubit[q] for q in measured_qubits]
    for key in counts:
        if len(key) != len(layout) or set(key) - {"0", "1"}:
            raise ValueError(f"bitstring {key!r} does not fit the program's {len(layout)} result bits")
    registers: dict[str, dict[str, Any]] = {}
    positions: dict[str, list[tuple[int, int]]] = {}
    for position, bit in enumerate(layout):
        if bit["register"] is not None:
            positions.setdefault(bit["register"], []).append((bit["index"], position))
    for register, members in positions.items():
        order = [position for _, position in sorted(members)]
        totals: dict[str, Any] = {}
        for key, value in counts.items():
            part = "".join(key[p] for p in order)
            totals[part] = totals.get(part, 0) + value
        registers[register] = dict(sorted(totals.items()))
    return {
        "bits": [{"register": b["register"], "index": b["index"], "qubit": b["qubit"]} for b in layout],
        "counts": dict(counts),
        "registers": registers,
    }
