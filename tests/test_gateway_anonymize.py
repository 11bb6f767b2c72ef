"""The gateway's validation and anonymization of OpenQASM 3 programs (gateway/anonymize.py, issue 17).

What must hold: a program the gateway refuses gets one line saying what and why; a program it
forwards carries none of the user's text (identifiers, comments, annotations, pragmas) and runs,
on Braket's local simulator, to the same outcome distribution as the user's program, with result
bits brought back to the user's register names by ``deanonymize_counts``. The property tests
check both on generated programs; the reference for "the same distribution" is Braket's own
simulator and interpreter run on the user's program, not the gateway's code.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from typing import Any

import openqasm3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openqasm3 import ast

from gateway import anonymize as anonymize_module
from gateway.anonymize import Anonymized, InvalidProgram, anonymize, deanonymize_counts
from gateway.config import Limits
from jobs.circuits import parse_circuit

LIMITS = Limits()
BELL = parse_circuit("bell").source  # what `python -m jobs run --circuit bell` sends


def refusal(source: str, limits: Limits = LIMITS) -> str:
    with pytest.raises(InvalidProgram) as caught:
        anonymize(source, limits)
    message = str(caught.value)
    assert message and "\n" not in message and "Traceback" not in message, message
    return message


# --------------------------------------------------------------- Braket's view of a program (the reference)


def _simulator():
    from braket.devices import LocalSimulator

    return LocalSimulator()


def braket_slots(source: str) -> tuple[list[tuple[typing.Optional[str], int, int]], list[int]]:
    """Braket's interpreter on ``source``: its measurement slots (register name, element, qubit), in
    the order of the bits of its result bitstrings, and the qubits its circuit uses."""
    from braket.default_simulator.openqasm.interpreter import Interpreter

    circuit = Interpreter().run(source).circuit
    return [(r.name, e, q) for r, e, q in circuit.measurement_slots], sorted(circuit.qubit_set)


def without_measurements(source: str) -> str:
    """``source`` without its (final) measurements, for an exact probability run (Braket's simulator
    computes result types only without shots, and fails on measurements then)."""
    tree = openqasm3.parse(source)
    tree.statements = [s for s in tree.statements if not isinstance(s, ast.QuantumMeasurementStatement)]
    return openqasm3.dumps(tree)


def exact_distribution(source: str, inputs: dict | None = None) -> dict[str, float]:
    """The exact probability of each bitstring Braket returns for ``source``: bit i is measurement
    slot i; without measurements, every used qubit in index order (Braket then measures them all)."""
    from braket.ir.openqasm import Program

    slots, used = braket_slots(source)
    columns = [qubit for _, _, qubit in slots] or used
    qubits = sorted(set(columns) | set(used))
    names = qubit_names(source)
    targets = ", ".join(names(q) for q in qubits)
    program = without_measurements(source) + f"#pragma braket result probability {targets}\n"
    vector = _simulator().run(Program(source=program, inputs=inputs or {}), shots=0).result().values[0]
    distribution: dict[str, float] = {}
    for state, probability in enumerate(vector):
        if probability < 1e-12:
            continue
        value = dict(zip(qubits, format(state, f"0{len(qubits)}b")))
        key = "".join(value[q] for q in columns)
        distribution[key] = distribution.get(key, 0.0) + float(probability)
    return distribution


def qubit_names(source: str):
    """How ``source`` names each qubit index (Braket numbers declared registers in order): a function."""
    names = [f"{s.qubit.name}[{i}]" for s in openqasm3.parse(source).statements if isinstance(s, ast.QubitDeclaration)
             for i in range(s.size.value if s.size is not None else 1)]
    return lambda index: names[index] if index < len(names) else f"${index}"


def relabel(distribution: dict[str, Any], labels: list[tuple]) -> dict[tuple, Any]:
    """A distribution keyed by the set of (bit label, value) pairs instead of a bitstring."""
    out: dict[tuple, Any] = {}
    for key, value in distribution.items():
        labelled = tuple(sorted(zip(labels, key), key=repr))
        out[labelled] = out.get(labelled, 0) + value
    return out


def assert_same_distribution(original: str, forwarded: Anonymized, inputs: dict | None = None) -> None:
    """The user's program on Braket's simulator, its bits named as Braket's interpreter names them, and
    the forwarded program on the same simulator, its bits named by ``deanonymize_counts``, agree."""
    original = re.sub(r"^#pragma (?!braket).*\n", "", original, flags=re.M)  # Braket refuses others' pragmas
    slots, used = braket_slots(original)
    name = qubit_names(original)
    labels = [(register, element) if register is not None else (None, name(qubit))
              for register, element, qubit in slots] or [(None, name(q)) for q in used]
    expected = relabel(exact_distribution(original, inputs), labels)
    forwarded_inputs = {forwarded_name(forwarded, name): value for name, value in (inputs or {}).items()}
    result = deanonymize_counts(exact_distribution(forwarded.program, forwarded_inputs), forwarded.mapping)
    actual = relabel(result["counts"], [(b["register"], b["index"]) if b["register"] is not None else (None, b["qubit"])
                                        for b in result["bits"]])
    assert actual.keys() == expected.keys(), (actual, expected)
    for key, probability in expected.items():
        assert math.isclose(actual[key], probability, abs_tol=1e-9), (key, actual[key], probability)


def forwarded_name(forwarded: Anonymized, user_name: str) -> str:
    return next(opaque for opaque, user in forwarded.mapping["names"].items() if user == user_name)


# --------------------------------------------------------------- refusals, one line each


@pytest.mark.parametrize("source, expected", [
    ("OPENQASM 3.0;\nqubit[2] q;\nh q[0]\nx q[1];\n", r"^line 4: syntax error at 'x' \(column 1\)"),
    ("OPENQASM 3.0;\nqubit[2] q;\nh q[0;\n", r"^line 3: syntax error at ';'"),
    ("OPENQASM 3.0;\nqubit[2] q;\nh q[0]", r"^line 3: the program ends in the middle of a statement$"),
    ("OPENQASM 3.0;\nqubit q;\nh q; §\n", r"^line 3: token recognition error"),
    ("", r"^the program is empty"),
    ('OPENQASM 3.0;\ninclude "qelib1.inc";\nqubit q;\n', r'^line 2: include "qelib1.inc" is not forwarded: the only include allowed is "stdgates.inc"'),
    ('OPENQASM 3.0;\ndefcalgrammar "openpulse";\nqubit q;\n', r"^line 2: pulse-level code \(defcalgrammar, cal, defcal\) is not forwarded"),
    ('OPENQASM 3.0;\ncal { }\nqubit q;\n', r"^line 2: pulse-level code"),
    ('OPENQASM 3.0;\ndefcal x $0 { }\nqubit q;\n', r"^line 2: pulse-level code"),
    ("OPENQASM 3.0;\nextern rnd(int) -> float;\nqubit q;\n", r"^line 2: extern declarations are not forwarded"),
    ("OPENQASM 3.0;\noutput bit r;\nqubit q;\n", r"^line 2: output declarations are not forwarded"),
    ("OPENQASM 3.0;\ninput int n;\nqubit q;\n", r"^line 2: input 'n' has type int: only float and angle inputs are forwarded"),
    ("OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];\n", r"^line 3: unknown gate 'foo': not one of Braket's gates"),
    ("OPENQASM 3.0;\nqubit[2] q;\nh r[0];\n", r"^line 3: 'r' is not declared$"),
    ("OPENQASM 3.0;\ngate h a { x a; }\nqubit q;\nh q;\n", r"^line 2: the name 'h' is one of Braket's gates: give the gate another name$"),
    ("OPENQASM 3.0;\nfloat pi = 3;\nqubit q;\n", r"^line 2: the name 'pi' is a built-in constant"),
    ("OPENQASM 3.0;\ndef sin(qubit a) { h a; }\nqubit q;\n", r"^line 2: the name 'sin' is a built-in function"),
    ("OPENQASM 3.0;\nqubit[2] sample;\n#pragma braket result sample z(sample[0])\n", r"^line 2: the name 'sample' is a word of Braket's pragmas"),
    ("OPENQASM 3.0;\nqubit[2] q;\n#pragma braket result expectation z(q[0]) @ secret(q[1])\n", r"^line 3: '#pragma braket result expectation z\(q\[0\]\) @ secret\(q\[1\]\)': 'secret' is neither"),
    ("OPENQASM 3.0;\nqubit[2] q;\n#pragma braket result probability q[0]; x\n", r"^line 3: .*unexpected ';' at character"),
    ("OPENQASM 3.0;\nqubit[2] q; bit[2] c;\ncnot q[0], q[0];\nc = measure q;\n", r"^line 3: Duplicate qubit 'q\[0\]'"),
    ("OPENQASM 3.0;\nqubit[2] q;\nint n = 2;\nqubit[n] r;\n", r"^line 4: the size of qubit register 'r' must be a positive integer constant$"),
    ("OPENQASM 3.0;\nqubit q;\ndef f(int[32] n) { f(n); }\nf(1);\n", r"^line 3: subroutine 'f' calls itself: recursion is not forwarded"),
    ("OPENQASM 3.0;\nqubit q; bit c;\nc = measure q;\nwhile (c) { x q; c = measure q; }\n", r"^line 4: Cannot unroll while-loop"),
    ("OPENQASM 2.0;\nqreg q[1];\n", r"^OpenQASM 2.0 is not forwarded"),
])
def test_refusals(source, expected):
    assert re.search(expected, refusal(source)), refusal(source)


def test_a_program_must_be_text():
    with pytest.raises(InvalidProgram, match="^the program must be OpenQASM 3 text, not bytes$"):
        anonymize(b"OPENQASM 3.0;", LIMITS)


def test_qubits_limit_before_any_analysis():
    assert refusal("OPENQASM 3.0;\nqubit[3] q;\nqubit[2] r;\n", Limits(max_qubits=4)) == (
        "the program declares 5 qubits, more than the gateway forwards (max_qubits=4)")
    # Physical qubits are counted after unrolling: $0 and $5 are six qubits to pyqasm and Braket.
    assert refusal("OPENQASM 3.0;\nbit b;\nh $0;\ncnot $0, $5;\nb = measure $5;\n", Limits(max_qubits=4)) == (
        "the program uses 6 qubits after unrolling, more than the gateway forwards (max_qubits=4)")


def test_gates_are_counted_after_unrolling():
    loop = "OPENQASM 3.0;\nqubit[2] q;\ngate pair a, b { h a; cnot a, b; }\nfor int k in [0:4] { pair q[0], q[1]; }\n"
    assert anonymize(loop, Limits(max_gates=10)).gates == 10
    assert refusal(loop, Limits(max_gates=9)) == (
        "the program uses 10 gates after unrolling, more than the gateway forwards (max_gates=9)")
    # A gate on a whole register is one gate per qubit.
    assert anonymize("OPENQASM 3.0;\nqubit[3] q;\nh q;\n", LIMITS).gates == 3


def test_depth_limit():
    source = BELL  # h, cnot, measure: three layers on q[0]
    assert anonymize(source, Limits(max_depth=3)).depth == 3
    assert refusal(source, Limits(max_depth=2)) == (
        "the program has depth 3 after unrolling, more than the gateway forwards (max_depth=2)")


def test_depth_and_gates_agree_with_pyqasm():
    import pyqasm

    for source in (BELL, parse_circuit("ghz:5").source,
                   "OPENQASM 3.0;\nqubit[3] q;\nbit[3] c;\nh q;\ncnot q[0], q[2];\nx q[1];\nrz(0.2) q[1];\nc = measure q;\n"):
        module = pyqasm.loads(source)
        forwarded = anonymize(source, LIMITS)
        assert forwarded.depth == module.depth(decompose_native_gates=False)
        module.unroll(external_gates=["h", "cnot", "x", "rz"])
        assert forwarded.gates == sum(isinstance(s, ast.QuantumGate) for s in module.unrolled_ast.statements)


def test_the_work_of_checking_is_bounded_before_unrolling():
    # 10^10 gates in three short lines: refused in milliseconds, before pyqasm unrolls anything.
    nested = "OPENQASM 3.0;\nqubit q;\nfor int a in [1:100000] { for int b in [1:100000] { x q; } }\n"
    assert refusal(nested) == (
        "the program expands to up to 20,000,100,001 operations once loops, gate definitions and subroutines "
        "are unrolled, more than the gateway checks for max_gates=10000 (at most 41,000)")
    doubling = "OPENQASM 3.0;\nqubit q;\ngate g0 a { x a; x a; }\n" + "".join(
        f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, 40)) + "g39 q;\n"
    assert "expands to up to 1,099,511,627,777 operations" in refusal(doubling)  # 2**40 x, 1 declaration
    # A loop whose bound is not known here counts as max_gates iterations; pyqasm holds it to that.
    assert re.search(r"^line 3: .*exceeded max allowed .*\(the gateway unrolls loops of up to max_gates=10 iterations\)",
                     refusal("OPENQASM 3.0;\nqubit q;\nwhile (true) { x q; }\n", Limits(max_gates=10)))


# --------------------------------------------------------------- renaming, kind by kind


RENAMING = """OPENQASM 3.0;
include "stdgates.inc";
// comment: secret-project
/* block comment: secret-host */
@annotate.secret value-secret
qubit[2] alice;
qubit bob;
bit[2] carol;
bit dave;
input float theta;
const int reps = 2;
float[64] spin = 0.25;
#pragma compiler-hint secret-pragma
gate entangle(phi) left, right { cx left, right; rz(phi) right; }
def rotate(qubit target, float amount) { rx(amount) target; }
let both = alice;
for int step in [0:reps - 1] { h alice[step]; }
entangle(theta) alice[0], alice[1];
rotate(bob, spin);
crx(0.2) alice[1], bob;
p(0.1) bob;
carol[1] = measure alice[0];
carol[0] = measure alice[1];
dave = measure bob;
"""


def test_every_kind_of_user_name_is_renamed_in_order_of_declaration():
    forwarded = anonymize(RENAMING, LIMITS, {"theta": 0.5})
    assert forwarded.mapping["names"] == {
        "q0": "alice", "q1": "bob", "c0": "carol", "c1": "dave", "p0": "theta", "v0": "reps", "v1": "spin",
        "g0": "entangle", "a0": "phi", "a1": "left", "a2": "right", "f0": "rotate", "a3": "target",
        "a4": "amount", "v2": "both", "v3": "step",
    }
    assert forwarded.program == """OPENQASM 3.0;
gate crx(θ) a, b {
  ctrl @ rx(θ) a, b;
}
qubit[2] q0;
qubit q1;
bit[2] c0;
bit c1;
input float p0;
const int v0 = 2;
float[64] v1 = 0.25;
gate g0(a0) a1, a2 {
  cnot a1, a2;
  rz(a0) a2;
}
def f0(qubit a3, float a4) {
  rx(a4) a3;
}
let v2 = q0;
for int v3 in [0:v0 - 1] {
  h q0[v3];
}
g0(p0) q0[0], q0[1];
f0(q1, v1);
crx(0.2) q0[1], q1;
phaseshift(0.1) q1;
c0[1] = measure q0[0];
c0[0] = measure q0[1];
c1 = measure q1;
"""
    for secret in ("alice", "bob", "carol", "dave", "theta", "reps", "entangle", "phi", "left", "right",
                   "rotate", "target", "amount", "both", "step", "spin", "secret", "comment", "annotate", "compiler",
                   "include", "stdgates"):
        assert secret not in forwarded.program
    json.dumps(forwarded.mapping)  # stored with the submission
    assert forwarded.gate_set == ("cnot", "crx", "h", "phaseshift", "rx", "rz")
    assert forwarded.qubits == 3 and forwarded.gates == 7


def test_the_forwarded_program_is_canonical_and_hashed():
    import hashlib

    messy = "OPENQASM 3;  bit[2]   b;qubit[2] q;\n\n  h q[0] ;cnot q[0],q[1];// done\nb = measure q;"
    one, two = anonymize(messy, LIMITS), anonymize(BELL, LIMITS)
    assert one.program == two.program  # formatting and comments are not the user's any more
    assert one.forwarded_sha256 == two.forwarded_sha256 == hashlib.sha256(one.program.encode()).hexdigest()
    assert one.original_sha256 == hashlib.sha256(messy.encode()).hexdigest() != two.original_sha256


def test_standard_library_gates_in_brakets_spelling():
    source = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\n'
              "h q[0]; cx q[0], q[1]; ccx q[0], q[1], q[2]; sdg q[0]; tdg q[1]; sx q[2]; id q[0]; p(0.3) q[1];\n"
              "cp(0.2) q[0], q[1]; u3(0.1, 0.2, 0.3) q[2]; u2(0.4, 0.5) q[0]; cu(0.1, 0.2, 0.3, 0.4) q[1], q[2];\n"
              "ch q[0], q[2]; cry(0.5) q[1], q[0];\nc = measure q;\n")
    forwarded = anonymize(source, LIMITS)
    body = forwarded.program.split("qubit[3] q0;", 1)[1]
    assert re.findall(r"^(\w+)", body, re.M)[1:-1] == [
        "h", "cnot", "ccnot", "si", "ti", "v", "i", "phaseshift", "cphaseshift", "u3", "u2", "cu", "ch", "cry"]
    assert [line.split("(")[0].split()[1] for line in forwarded.program.splitlines() if line.startswith("gate ")] == [
        "u3", "u2", "cu", "ch", "cry"]
    without_include = source.replace('include "stdgates.inc";\n', "")
    assert anonymize(without_include, LIMITS).program == forwarded.program
    # Braket's simulator, which resolves no include file, runs it; the same state as stdgates.inc defines.
    assert_same_distribution(_braket_spelling_reference(source), forwarded)


def _braket_spelling_reference(source: str) -> str:
    """``source`` rewritten by hand with Braket's gates, for Braket's simulator to run as the user meant."""
    definitions = ("gate u3(t, f, l) a { gphase(-(f + l) / 2); U(t, f, l) a; }\n"
                   "gate u2(f, l) a { gphase(-(f + l) / 2); U(pi / 2, f, l) a; }\n"
                   "gate cu(t, f, l, g) a, b { phaseshift(g) a; ctrl @ U(t, f, l) a, b; }\n"
                   "gate ch a, b { ctrl @ h a, b; }\ngate cry(t) a, b { ctrl @ ry(t) a, b; }\n")
    text = source.replace('include "stdgates.inc";\n', definitions)
    for stdgate, braket in (("cx", "cnot"), ("ccx", "ccnot"), ("sdg", "si"), ("tdg", "ti"), ("sx", "v"), ("id", "i"),
                            ("cp", "cphaseshift"), ("p", "phaseshift")):
        text = re.sub(rf"(?<![\w.]){stdgate}(?=[ (])", braket, text)
    return text


def test_a_gate_the_user_defines_with_a_standard_library_name_is_the_users():
    source = "OPENQASM 3.0;\ngate cx a, b { cnot a, b; x b; }\nqubit[2] q;\nbit[2] c;\ncx q[0], q[1];\nc = measure q;\n"
    forwarded = anonymize(source, LIMITS)
    assert "g0 q0[0], q0[1];" in forwarded.program and forwarded.mapping["names"]["g0"] == "cx"
    assert forwarded.gate_set == ("cnot", "x")
    assert_same_distribution(source, forwarded)


def test_a_variable_may_share_a_name_with_a_braket_gate():
    source = "OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nfor int i in [0:1] { h q[i]; i q[i]; }\nc = measure q;\n"
    forwarded = anonymize(source, LIMITS)
    assert "for int v0 in [0:1] {\n  h q0[v0];\n  i q0[v0];\n}" in forwarded.program


def test_braket_pragmas_are_kept_and_renamed_others_dropped():
    source = ("OPENQASM 3.0;\nqubit[2] qs;\ninput float theta;\nrx(theta) qs[0];\ncnot qs[0], qs[1];\n"
              "#pragma vendor optimise secret-level\n"
              "#pragma braket result expectation z(qs[0]) @ x(qs[1])\n"
              "#pragma braket result amplitude \"00\", \"11\"\n"
              "#pragma braket result adjoint_gradient expectation(hermitian([[1, 0], [0, -1]]) qs[0]) theta\n"
              "#pragma braket noise bit_flip(0.1) qs[1]\n")
    program = anonymize(source, LIMITS, {"theta": 0.3}).program
    assert program.endswith(
        "pragma braket result expectation z(q0[0]) @ x(q0[1])\n"
        "pragma braket result amplitude \"00\", \"11\"\n"
        "pragma braket result adjoint_gradient expectation(hermitian([[1, 0], [0, -1]]) q0[0]) p0\n"
        "pragma braket noise bit_flip(0.1) q0[1]\n")
    assert "vendor" not in program and "secret" not in program


def test_verbatim_boxes_and_physical_qubits():
    source = "OPENQASM 3.0;\nbit[2] c;\n#pragma braket verbatim\nbox { rx(0.5) $0; cz $0, $1; }\nc[0] = measure $0;\nc[1] = measure $1;\n"
    forwarded = anonymize(source, LIMITS)
    assert "pragma braket verbatim\nbox {\n  rx(0.5) $0;\n  cz $0, $1;\n}" in forwarded.program
    assert [(b["register"], b["index"], b["qubit"]) for b in forwarded.mapping["bits"]] == [("c", 0, "$0"), ("c", 1, "$1")]


# --------------------------------------------------------------- what the gateway relies on elsewhere


def test_the_free_text_fields_of_the_syntax_tree_are_the_ones_handled():
    """Every str field of openqasm3's AST is an identifier (renamed or checked), or text the gateway
    drops or refuses. A new openqasm3 release with another str field fails here until it is handled."""
    fields = set()
    for name in dir(ast):
        node = getattr(ast, name)
        if isinstance(node, type) and dataclasses.is_dataclass(node):
            hints = typing.get_type_hints(node)
            fields |= {f"{name}.{f.name}" for f in dataclasses.fields(node) if "str" in str(hints.get(f.name))}
    assert fields == {
        "Identifier.name",  # renamed, or a standard name
        "Annotation.keyword", "Annotation.command",  # dropped
        "Pragma.command",  # dropped, or a Braket pragma rewritten word by word
        "Include.filename",  # dropped (stdgates.inc) or refused
        "CalibrationDefinition.body", "CalibrationStatement.body", "CalibrationGrammarDeclaration.name",  # refused
        "Program.version",  # set to 3.0
    }


def test_brakets_gates_are_the_simulators():
    from braket.default_simulator.gate_operations import BRAKET_GATES

    # 'unitary' is a pragma's word and gphase a statement of its own (QuantumPhase), not gate calls.
    assert anonymize_module.BRAKET_GATES == set(BRAKET_GATES) - {"unitary", "gphase"}


def test_jobs_circuits_run_the_same_through_the_gateway():
    for spec in ("bell", "ghz:3", "ghz:5"):
        source = parse_circuit(spec).source
        forwarded = anonymize(source, LIMITS)
        assert_same_distribution(source, forwarded)
        result = _simulator().run(_program(forwarded.program), shots=200).result()
        counts = deanonymize_counts(dict(result.measurement_counts), forwarded.mapping, result.measured_qubits)
        size = len(forwarded.mapping["bits"])
        assert set(counts["registers"]["b"]) <= {"0" * size, "1" * size} and sum(counts["registers"]["b"].values()) == 200
        assert [bit["qubit"] for bit in counts["bits"]] == [f"q[{i}]" for i in range(size)]


def _program(source: str):
    from braket.ir.openqasm import Program

    return Program(source=source)


# --------------------------------------------------------------- deanonymize_counts


def test_deanonymize_counts_names_each_bit_and_register():
    source = "OPENQASM 3.0;\nqubit[3] q;\nbit[2] c;\nbit d;\nx q[2];\nd = measure q[2];\nc[1] = measure q[0];\n"
    forwarded = anonymize(source, LIMITS)
    result = deanonymize_counts({"01": 7, "11": 3}, forwarded.mapping)
    assert result == {
        "bits": [{"register": "c", "index": 1, "qubit": "q[0]"}, {"register": "d", "index": 0, "qubit": "q[2]"}],
        "counts": {"01": 7, "11": 3},
        "registers": {"c": {"0": 7, "1": 3}, "d": {"1": 10}},
    }
    json.dumps(result)


def test_deanonymize_counts_follows_the_results_own_qubit_order():
    mapping = anonymize("OPENQASM 3.0;\nqubit[2] q;\nbit[2] c;\nc[0] = measure q[1];\nc[1] = measure q[0];\n", LIMITS).mapping
    assert [bit["qubit_index"] for bit in mapping["bits"]] == [1, 0]
    as_braket_orders = deanonymize_counts({"10": 5}, mapping, [1, 0])
    by_qubit_index = deanonymize_counts({"01": 5}, mapping, [0, 1])  # a device listing qubits in index order
    assert as_braket_orders["registers"] == by_qubit_index["registers"] == {"c": {"10": 5}}
    with pytest.raises(ValueError, match=r"measured qubits \[0, 2\] do not match the program's measurements of qubits \[1, 0\]"):
        deanonymize_counts({"01": 5}, mapping, [0, 2])
    with pytest.raises(ValueError, match="bitstring '011' does not fit the program's 2 result bits"):
        deanonymize_counts({"011": 5}, mapping)


def test_without_measurements_every_used_qubit_is_a_result_bit():
    forwarded = anonymize("OPENQASM 3.0;\nqubit[3] q;\nh q[0];\ncnot q[0], q[2];\n", LIMITS)
    assert [(b["register"], b["qubit"]) for b in forwarded.mapping["bits"]] == [(None, "q[0]"), (None, "q[2]")]
    assert forwarded.mapping["measures_all"]
    result = _simulator().run(_program(forwarded.program), shots=50).result()
    assert result.measured_qubits == [0, 1]  # positions among the used qubits
    counts = deanonymize_counts(dict(result.measurement_counts), forwarded.mapping, result.measured_qubits)
    assert set(counts["counts"]) == {"00", "11"} and counts["registers"] == {}


# --------------------------------------------------------------- property tests


ONE_QUBIT = ("h", "x", "y", "z", "s", "t", "si", "ti", "v", "vi")
ONE_QUBIT_ANGLE = ("rx", "ry", "rz", "phaseshift")
TWO_QUBIT = ("cnot", "cz", "cy", "swap", "iswap")
TWO_QUBIT_ANGLE = ("xx", "yy", "zz", "cphaseshift")


def secret_words(prefix: str):
    """Distinctive words: the prefix, then 6 to 9 lowercase letters and digits. No keyword, standard
    name or opaque name (q0, c1, g0...) contains one, so finding one in the output is a leak."""
    return st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=6, max_size=9).map(lambda s: prefix + s)


@st.composite
def user_programs(draw):
    """An OpenQASM 3 program with the user's names everywhere, and comments, annotations and pragmas
    between its statements; returns (source, the user's words, inputs to run it with)."""
    names = iter(draw(st.lists(secret_words("u"), min_size=64, max_size=64, unique=True)))
    words: list[str] = []

    def name() -> str:
        word = next(names)
        words.append(word)
        return word

    def noise(before_statement: bool = True) -> list[str]:
        """Comments, pragmas and (before a statement, where the grammar puts them) annotations, with
        secret words."""
        out = []
        kinds = ["line", "block", "pragma"] + (["annotation"] if before_statement else [])
        for kind in sorted(draw(st.lists(st.sampled_from(kinds), max_size=2)), key=lambda k: k == "annotation"):
            text = " ".join(draw(st.lists(secret_words("w"), min_size=1, max_size=3)))
            words.extend(text.split())
            out.append({"line": f"// {text}", "block": f"/* {text}\n   {text} */",
                        "annotation": f"@{text.split()[0]}.{name()} {text}", "pragma": f"#pragma {text}"}[kind])
        return out

    registers = [(name(), size) for size in draw(st.lists(st.integers(1, 2), min_size=1, max_size=2))]
    qubits = [f"{register}[{i}]" for register, size in registers for i in range(size)]
    bit_registers = [(name(), size) for size in draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))]
    statements = [f"qubit[{size}] {register};" for register, size in registers]
    statements += [f"bit[{size}] {register};" for register, size in bit_registers]
    inputs = {}
    angle = st.floats(-3.2, 3.2, allow_nan=False).map(lambda a: repr(round(a, 6)))
    angles = [draw(angle)]
    if draw(st.booleans()):
        parameter = name()
        statements.append(f"input float {parameter};")
        inputs[parameter] = float(draw(angle))
        angles.append(parameter)
    if draw(st.booleans()):
        variable = name()
        statements.append(f"float[64] {variable} = {draw(angle)};")
        angles.append(variable)
    calls = []  # (how many qubits, statement maker)
    if draw(st.booleans()):
        gate, theta, a, b = name(), name(), name(), name()
        statements.append(f"gate {gate}({theta}) {a}, {b} {{ h {a}; cnot {a}, {b}; rz({theta}) {b}; }}")
        calls.append((2, lambda qs, value, g=gate: f"{g}({value}) {qs[0]}, {qs[1]};"))
    if draw(st.booleans()):
        routine, target, amount = name(), name(), name()
        statements.append(f"def {routine}(qubit {target}, float {amount}) {{ ry({amount}) {target}; x {target}; }}")
        calls.append((1, lambda qs, value, r=routine: f"{r}({qs[0]}, {value});"))
    if draw(st.booleans()):
        counter = name()
        statements.append(f"for int {counter} in [0:1] {{ rx(0.5 * {counter} + {draw(angle)}) {qubits[0]}; }}")

    def gate_statement():
        width = 2 if len(qubits) >= 2 and draw(st.booleans()) else 1
        operands = draw(st.permutations(qubits))[:width]
        value = draw(st.sampled_from(angles))
        choices = [c for c in calls if c[0] <= len(qubits)]
        if choices and draw(st.integers(0, 4)) == 0:
            arity, make = draw(st.sampled_from(choices))
            return make(draw(st.permutations(qubits))[:arity], value)
        if width == 1:
            gate = draw(st.sampled_from(ONE_QUBIT + ONE_QUBIT_ANGLE))
        else:
            gate = draw(st.sampled_from(TWO_QUBIT + TWO_QUBIT_ANGLE))
        argument = f"({value})" if gate in ONE_QUBIT_ANGLE + TWO_QUBIT_ANGLE else ""
        return f"{gate}{argument} {', '.join(operands)};"

    statements += [gate_statement() for _ in range(draw(st.integers(0, 20)))]
    elements = [(register, i) for register, size in bit_registers for i in range(size)]
    for qubit in draw(st.permutations(qubits)):
        where = draw(st.sampled_from(["skip", "bit", "bit", "bit", "anonymous"]))
        if where == "bit":
            register, index = draw(st.sampled_from(elements))
            statements.append(f"{register}[{index}] = measure {qubit};")
        elif where == "anonymous":
            statements.append(f"measure {qubit};")
    lines = ["OPENQASM 3.0;"]
    for statement in statements:
        lines += noise() + [statement]
    return "\n".join(lines + noise(before_statement=False)) + "\n", words, inputs


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(user_programs())
def test_generated_programs_leak_nothing_and_run_the_same(case):
    source, words, inputs = case
    forwarded = anonymize(source, LIMITS, inputs)
    assert forwarded.inputs == {forwarded_name(forwarded, name): value for name, value in inputs.items()}
    # (a) nothing of the user's text: no identifier, comment, annotation or pragma word
    leaked = [word for word in words if word in forwarded.program]
    assert not leaked, (leaked, forwarded.program)
    assert set(re.findall(r"\b[A-Za-z_]\w*\b", forwarded.program)) <= _LANGUAGE_WORDS | set(forwarded.mapping["names"])
    # (b) the same outcome distribution, result bits brought back to the user's names
    assert_same_distribution(source, forwarded, inputs)
    slots, _ = braket_slots(forwarded.program)
    if len({register for register, _, _ in slots}) == 1:  # Braket's simulator reports one register only
        result = _simulator().run(_program_with_inputs(forwarded, inputs), shots=10).result()
        assert result.measured_qubits == [bit["qubit_index"] for bit in forwarded.mapping["bits"]]


_LANGUAGE_WORDS = (
    {"OPENQASM", "qubit", "bit", "float", "input", "gate", "def", "for", "int", "in", "measure", "pi", "U", "ctrl",
     "box", "pragma", "braket", "result"}
    | set(ONE_QUBIT + ONE_QUBIT_ANGLE + TWO_QUBIT + TWO_QUBIT_ANGLE) | set(anonymize_module.BRAKET_GATES)
)


def _program_with_inputs(forwarded: Anonymized, inputs: dict):
    from braket.ir.openqasm import Program

    return Program(source=forwarded.program,
                   inputs={forwarded_name(forwarded, name): value for name, value in inputs.items()})


# --------------------------------------------------------------- Braket's own verdict


def test_what_brakets_interpreter_refuses_is_refused_in_one_line():
    # pyqasm accepts a duration variable in a delay; Braket's interpreter (1.41) fails on it.
    message = refusal("OPENQASM 3.0;\nqubit[2] q;\nduration d = 100ns;\ndelay[d] q[0];\n")
    assert message.startswith("Braket would refuse the program: ")


def test_brakets_messages_come_back_in_the_users_names(monkeypatch):
    from braket.default_simulator.openqasm import interpreter

    def refuse(self, source, *args, **kwargs):
        assert "alpha" not in source
        raise IndexError("qubit register index `5` out of range for qubit register of length 2 `q0`.")

    monkeypatch.setattr(interpreter.Interpreter, "run", refuse)
    assert refusal("OPENQASM 3.0;\nqubit[2] alpha;\nh alpha[0];\n") == (
        "Braket would refuse the program: qubit register index `5` out of range for qubit register of length 2 `alpha`.")
