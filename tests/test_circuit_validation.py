"""Circuits are checked before anything is priced or submitted (issue 10, items 4 and 11).

OpenQASM files: semantically, for what Braket would refuse or silently run wrong, with one
line naming the file, line and column (columns count from 1). Every circuit: against the
device's limits (qubits, shots, program type), from the offline table in
``jobs.device_capabilities``.
"""

from __future__ import annotations

import logging
import sys
import time
import tracemalloc

import pytest

from jobs import circuits, device_capabilities
from jobs.circuits import CircuitSpec, check_for_device, check_openqasm, parse_circuit
from jobs.devices import LOCAL, device_for_arn
from jobs.errors import UsageError

HEADER = "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\n"  # lines 1-3: the statements under test start on line 4
SV1 = device_for_arn("arn:aws:braket:::device/quantum-simulator/amazon/sv1")
DM1 = device_for_arn("arn:aws:braket:::device/quantum-simulator/amazon/dm1")
FORTE = device_for_arn("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1")
AQUILA = device_for_arn("arn:aws:braket:us-east-1::device/qpu/quera/Aquila")


@pytest.fixture
def qasm_file(tmp_path, monkeypatch):
    """Write ``a/c.qasm`` (a path relative to the working directory, as a user types it); return the spec."""
    monkeypatch.chdir(tmp_path)

    def write(source: str, name: str = "a/c.qasm") -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return name

    return write


def refusal(call, *args) -> str:
    with pytest.raises(UsageError) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


# ------------------------------------------------------------------ bad programs, one test each


def test_undeclared_register(qasm_file):
    spec = qasm_file(HEADER + "h r[0];\nb = measure q;\n")
    message = refusal(parse_circuit, spec)
    assert message.startswith("--circuit 'a/c.qasm': line 4, column 1: "), message
    assert "'r'" in message and "declar" in message


def test_qubit_index_out_of_range(qasm_file):
    spec = qasm_file(HEADER + "x q[0];\n  h q[5];\nb = measure q;\n")
    assert refusal(parse_circuit, spec) == (
        "--circuit 'a/c.qasm': line 5, column 3: qubit index 5 out of range for register q[2]"
    )


def test_unknown_gate(qasm_file):
    spec = qasm_file(HEADER + "h q[0];\nfoo q[0], q[1];\nb = measure q;\n")
    message = refusal(parse_circuit, spec)
    assert message.startswith("--circuit 'a/c.qasm': line 5, column 1: unknown gate 'foo'"), message


def test_a_gate_braket_names_otherwise_is_unknown_to_braket(qasm_file):
    # cx is OpenQASM's standard-library name; Braket's simulators know it as cnot and refuse cx.
    spec = qasm_file(HEADER + "h q[0];\ncx q[0], q[1];\nb = measure q;\n")
    assert refusal(parse_circuit, spec) == (
        "--circuit 'a/c.qasm': line 5, column 1: unknown gate 'cx': Braket calls it cnot"
    )


def test_unbound_input_is_refused_because_jobs_cannot_bind_it(qasm_file):
    spec = qasm_file("OPENQASM 3.0;\ninput float theta;\nbit[1] b;\nqubit[1] q;\nrx(theta) q[0];\nb = measure q;\n")
    message = refusal(parse_circuit, spec)
    assert message.startswith("--circuit 'a/c.qasm': line 2, column 1: the program declares input 'theta', "
                              "which jobs cannot bind"), message


def test_openqasm_2_with_qelib1_is_refused(qasm_file):
    spec = qasm_file('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
                     "measure q -> c;\n")
    message = refusal(parse_circuit, spec)
    assert message.startswith("--circuit 'a/c.qasm': line 1, column 1: OpenQASM 2.0 is not supported"), message


def test_an_include_is_refused_even_in_openqasm_3(qasm_file):
    # Braket resolves no include; its interpreter would even read any local file the program names.
    spec = qasm_file('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] b;\nb = measure q;\n')
    message = refusal(parse_circuit, spec)
    assert message.startswith("--circuit 'a/c.qasm': line 2, column 1: include \"stdgates.inc\""), message


def test_40_qubits_locally_is_refused_fast_and_without_allocating_a_state_vector(qasm_file):
    spec = qasm_file("OPENQASM 3.0;\nbit[40] b;\nqubit[40] q;\nh q[0];\nb = measure q;\n")
    parse_circuit(qasm_file(HEADER + "h q[0];\nb = measure q;\n", "warm.qasm"))  # imports are not what is timed
    tracemalloc.start()
    started = time.monotonic()
    try:
        message = refusal(lambda: check_for_device([parse_circuit(spec)], LOCAL, 100))
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0, elapsed
    assert peak < 64 * 2**20, peak  # a 26-qubit state vector alone is 1 GiB
    assert message.startswith("--circuit 'a/c.qasm': uses 40 qubits but the local simulator is limited to 26"), message
    assert "16 TiB" in message and "sv1" in message


def test_a_gate_circuit_on_aquila_is_refused_before_pricing():
    message = refusal(check_for_device, [parse_circuit("bell")], AQUILA, 100)
    assert "aquila" in message and "analog Hamiltonian simulation (AHS) programs only" in message, message
    assert "'bell'" in message


def test_too_many_qubits_for_dm1(qasm_file):
    spec = qasm_file(circuits._ghz_source(18), "big/ghz18.qasm")
    assert refusal(check_for_device, [parse_circuit("bell"), parse_circuit(spec)], DM1, 100) == (
        "--circuit 'big/ghz18.qasm': uses 18 qubits but device dm1 "
        "(arn:aws:braket:::device/quantum-simulator/amazon/dm1) has 17"
    )


@pytest.mark.parametrize("device, shots, allowed", [(SV1, 100_001, "0 to 100000"), (FORTE, 5_001, "100 to 5000"),
                                                    (FORTE, 99, "100 to 5000")])
def test_shots_outside_the_device_range(device, shots, allowed):
    message = refusal(check_for_device, [parse_circuit("bell")], device, shots)
    assert message == f"--shots {shots}: device {device.alias} ({device.arn}) accepts {allowed} shots per task"


@pytest.mark.parametrize("body, unmeasured", [
    ("h q[0];\ncnot q[0], q[1];\nb[0] = measure q[0];\n", "q[1]"),
    ("qubit[2] r;\nh q[0];\nb = measure q;\n", "r[0], r[1]"),  # a second register, never measured
])
def test_a_device_that_measures_every_qubit_refuses_a_partial_measurement(qasm_file, body, unmeasured):
    spec = qasm_file(HEADER + body)
    circuit = parse_circuit(spec)
    for device in (SV1, DM1, FORTE):
        assert refusal(check_for_device, [parse_circuit("bell"), circuit], device, 100) == (
            f"--circuit 'a/c.qasm': device {device.alias} ({device.arn}) requires every declared qubit to be "
            f"measured, and the program leaves {unmeasured} unmeasured: measure all of them, or none "
            "(Braket then measures every qubit)")
    garnet = device_for_arn("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet")
    check_for_device([circuit], garnet, 100)  # IQM measures subsets
    check_for_device([circuit], LOCAL, 100)  # so does the local simulator
    unmeasured_none = parse_circuit(qasm_file(HEADER + "h q[0];\n#pragma braket result probability\n", "b.qasm"))
    check_for_device([unmeasured_none], SV1, 100)  # no measure at all: Braket measures every qubit


def test_measure_only_in_a_comment_measures_nothing(qasm_file):
    spec = qasm_file(HEADER + "h q[0];\n// b = measure q;\n/* measure q; */\n")
    assert refusal(parse_circuit, spec) == (
        "--circuit 'a/c.qasm': the OpenQASM program measures nothing, so it would return no counts"
    )


@pytest.mark.parametrize("size", ["³", "١٢", "１２", "²"])
def test_unicode_ghz_size(size):
    assert refusal(parse_circuit, f"ghz:{size}") == (
        f"--circuit 'ghz:{size}': the GHZ size must be a whole number from 2 to 30 (digits 0-9)"
    )


@pytest.mark.parametrize("body, where, words", [
    ("cnot q[0];", "line 4, column 1", "Invalid number of qubits 1"),  # Braket would run it, wrongly
    ("cnot q[0], q[0];", "line 4, column 1", "Duplicate qubit"),  # likewise
    ("qubit[2] q;", "line 4, column 1", "Re-declaration"),
    ("gate g a, c { cnot a, c; }\ng q[0];", "line 5, column 1", "Qubit count mismatch for gate 'g'"),
    ("rx q[0];", "line 4, column 1", "parameter"),
    ("if (b[0]) { x q[0]; }", "line 4, column 1", "'b' is not initialized"),
    ("#pragma braket result expectation z(q[7])", "line 4, column 1", "qubit index 7 out of range"),
    ("#pragma braket shiny", "line 4, column 1", "not supported"),
])
def test_other_semantic_errors_name_their_line(qasm_file, body, where, words):
    message = refusal(parse_circuit, qasm_file(HEADER + body + "\nb = measure q;\n"))
    assert message.startswith(f"--circuit 'a/c.qasm': {where}: ") and words in message, message


@pytest.mark.parametrize("source, words", [
    ("OPENQASM 3.0;\nqubit[1000000000] q;\nbit b;\nb = measure q[0];\n", "declares 1000000000 qubits"),
    ("OPENQASM 3.0;\nconst int n = 1000000000;\nqubit[n] q;\nbit b;\nb = measure q[0];\n", "declares 1000000000"),
    (HEADER + "for int k in [0:100000000] { h q[0]; }\nb = measure q;\n", "too long to check"),
])
def test_programs_too_big_to_check_are_refused_fast(qasm_file, source, words):
    started = time.monotonic()
    message = refusal(parse_circuit, qasm_file(source))
    assert time.monotonic() - started < 2.0 and words in message, message


def test_the_syntax_error_message_is_the_parser_s(qasm_file):
    message = refusal(parse_circuit, qasm_file("OPENQASM 3.0;\nqubit[2] q;\nh q[0;\nmeasure q;\n"))
    assert message.startswith("--circuit 'a/c.qasm': not a valid OpenQASM 3 program: line 3:"), message


# ------------------------------------------------------------------ good programs


@pytest.mark.parametrize("spec", ["bell"] + [f"ghz:{n}" for n in range(2, 12)])
def test_built_in_circuits_pass_every_check_locally(spec):
    circuit = parse_circuit(spec)
    assert check_openqasm(spec, circuit.source) == circuit.qubits  # the generated source is valid too
    check_for_device([circuit], LOCAL, 1000)
    check_for_device([circuit], SV1, 1000)


def test_ghz_30_is_a_valid_spec_for_sv1_but_too_big_locally():
    circuit = parse_circuit("ghz:30")
    check_for_device([circuit], SV1, 100)
    assert "uses 30 qubits but the local simulator is limited to 26" in refusal(check_for_device, [circuit], LOCAL, 1)


BRAKET_GATES = {  # name: (qubits, angles), the standard gates of Braket's simulators
    "i": (1, 0), "h": (1, 0), "x": (1, 0), "y": (1, 0), "z": (1, 0), "s": (1, 0), "si": (1, 0), "t": (1, 0),
    "ti": (1, 0), "v": (1, 0), "vi": (1, 0), "rx": (1, 1), "ry": (1, 1), "rz": (1, 1), "phaseshift": (1, 1),
    "gpi": (1, 1), "gpi2": (1, 1), "prx": (1, 2), "U": (1, 3), "cnot": (2, 0), "cy": (2, 0), "cz": (2, 0),
    "cv": (2, 0), "ecr": (2, 0), "swap": (2, 0), "iswap": (2, 0), "cphaseshift": (2, 1), "cphaseshift00": (2, 1),
    "cphaseshift01": (2, 1), "cphaseshift10": (2, 1), "pswap": (2, 1), "xy": (2, 1), "xx": (2, 1), "yy": (2, 1),
    "zz": (2, 1), "ms": (2, 3), "ccnot": (3, 0), "cswap": (3, 0),
}


def test_the_braket_gate_set_is_accepted(qasm_file):
    lines = ["OPENQASM 3.0;", "bit[3] b;", "qubit[3] q;", "gphase(0.125);"]
    for name, (qubits, angles) in BRAKET_GATES.items():
        arguments = "(" + ", ".join(["0.25"] * angles) + ")" if angles else ""
        lines.append(f"{name}{arguments} " + ", ".join(f"q[{i}]" for i in range(qubits)) + ";")
    lines.append("b = measure q;")
    circuit = parse_circuit(qasm_file("\n".join(lines) + "\n"))
    assert circuit.qubits == 3


def test_the_gate_set_covers_the_simulator_s():
    from braket.default_simulator.gate_operations import BRAKET_GATES as SIMULATOR_GATES

    assert set(SIMULATOR_GATES) - set(BRAKET_GATES) == {"unitary", "gphase"}  # a pragma, and tested above


@pytest.mark.parametrize("body", [
    "h q[0];\ncnot q[0], q[1];",  # the typical Braket program
    "rx(0.5) q[0];\nrz(pi/4) q[1];",
    "h q[0];\ncnot q[0], q[1];\n#pragma braket result expectation z(q[0])",
    "#pragma braket result probability q[0], q[1]\n#pragma braket result expectation x(q[0]) @ y(q[1])",
    "#pragma braket unitary([[0, 1.0], [1.0, 0]]) q[0]",
    "h q[0];\n#pragma braket noise bit_flip(0.1) q[0]",
    "pow(0.5) @ x q[0];\ninv @ s q[1];\nctrl @ x q[0], q[1];",  # pyqasm refuses non-integer pow; Braket runs it
    "h q[-1];",  # negative indices count from the end (pyqasm refuses them; Braket runs them)
    "gate bell a, c { h a; cnot a, c; }\nbell q[0], q[1];",
    "for int k in [0:1] { h q[k]; }\nreset q[0];\nbarrier q;",
    "// measure nothing here\nh q;",
])
def test_typical_braket_programs_are_accepted(qasm_file, body):
    assert parse_circuit(qasm_file(HEADER + body + "\nb = measure q;\n")).qubits == 2


@pytest.mark.parametrize("source", [
    "bit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\nb = measure q;\n",  # no header: Braket accepts it
    "OPENQASM 3;\nqubit[2] q;\nbit[2] b;\nh q[0];\nmeasure q -> b;\n",
    "OPENQASM 3.0;\nbit[2] b;\n#pragma braket verbatim\nbox {\n  rx(0.1) $0;\n  cz $0, $1;\n}\n"
    "b[0] = measure $0;\nb[1] = measure $1;\n",
])
def test_other_valid_forms_are_accepted(qasm_file, source):
    parse_circuit(qasm_file(source))


def test_an_input_with_a_value_supplied_is_accepted():
    source = "OPENQASM 3.0;\ninput float theta;\nbit[1] b;\nqubit[1] q;\nrx(theta) q[0];\nb = measure q;\n"
    assert check_openqasm("p.qasm", source, inputs={"theta": 0.5}) == 1
    assert "declares input 'theta'" in refusal(check_openqasm, "p.qasm", source)


# ------------------------------------------------------------------ names, devices, side effects


def test_a_file_is_named_by_its_path_as_given(qasm_file):
    first = parse_circuit(qasm_file(HEADER + "h q[0];\nb = measure q;\n", "a/c.qasm"))
    second = parse_circuit(qasm_file(HEADER + "x q[0];\nb = measure q;\n", "b/c.qasm"))
    assert (first.name, second.name) == ("a/c.qasm", "b/c.qasm")


def test_journal_circuits_without_a_qubit_count_are_still_checked():
    resumed = CircuitSpec("big.qasm", "OPENQASM 3.0;\nbit[30] b;\nqubit[30] q;\nh q[0];\nb = measure q;\n")
    assert resumed == CircuitSpec("big.qasm", resumed.source, 30)  # the count is not part of a spec's identity
    assert "uses 30 qubits" in refusal(check_for_device, [resumed], LOCAL, 10)
    check_for_device([resumed], SV1, 10)


def test_an_unknown_device_is_not_checked():
    device = device_for_arn("arn:aws:braket:us-east-1::device/qpu/acme/Huge-1")
    check_for_device([CircuitSpec("x.qasm", "not even OpenQASM", 5000)], device, 10**9)
    check_for_device([CircuitSpec("y.qasm", "not even OpenQASM")], SV1, 10)  # an unknown count is not checked


def test_checking_leaves_no_trace_in_the_process(qasm_file, capsys):
    logger = logging.getLogger("pyqasm")
    handlers, limit = logger.handlers[:], sys.__dict__.get("tracebacklimit", "unset")
    for body in ("h r[0];", "cnot q[0];", "pow(0.5) @ x q[0];"):  # pyqasm raises, and logs, on each
        try:
            parse_circuit(qasm_file(HEADER + body + "\nb = measure q;\n"))
        except UsageError:
            pass
    assert logger.handlers == handlers and sys.__dict__.get("tracebacklimit", "unset") == limit
    assert capsys.readouterr() == ("", "")  # nothing printed: the CLI prints the one line


def test_the_local_limit_is_the_sdk_s():
    from braket.devices import LocalSimulator

    assert device_capabilities.LOCAL_SIMULATOR.qubits == LocalSimulator().properties.paradigm.qubitCount


def test_the_table_agrees_with_the_braket_emulator():
    from tests.braket_emulator.devices import DEVICES as EMULATED

    for arn, emulated in EMULATED.items():  # every SDK device; the table need not list retired ones
        ours = device_capabilities.capabilities_for(arn)
        if ours is None:
            assert emulated.status == "RETIRED", f"current device missing from the table: {arn}"
            continue
        assert ours.qubits == emulated.qubit_count, arn
        assert ours.actions == emulated.actions, arn
        low, high = emulated.shots_range  # nothing we let through may be refused there
        assert ours.shots is None or low <= ours.shots[0] <= ours.shots[1] <= high, arn
        if ours.measures_all is not None:
            action = emulated.capabilities["action"][device_capabilities.OPENQASM]
            assert ours.measures_all == action["requiresAllQubitsMeasurement"], arn


def test_the_table_covers_the_devices_our_stacks_allow():
    from stacks import ENVIRONMENTS

    allowed = {arn for env in ENVIRONMENTS.values() for arn in env.allowed_devices}
    assert allowed <= set(device_capabilities.DEVICES)
