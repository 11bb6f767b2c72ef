"""Result types through the test service, as researchers' code and the SDK's own integration
tests use them: SV1 and DM1, with shots and analytic (shots=0), compared with the SDK's
LocalSimulator running the same circuit.

The matrix follows the SDK's integration suite (test_simulator_quantum_task.py,
test_density_matrix_simulator.py, test_measure.py in amazon-braket-sdk-python): Bell pair
with and without shots, each result type alone and together, non-commuting observables,
tensor products (Z@Z, X@Y, Z@H@Y, Hermitian@Hermitian, Z@Hermitian, Y@Hermitian),
observables on qubits no gate touches, marginal probabilities, 1,000-layer circuits,
batches and multithreaded submission. Tolerances are the SDK's: atol 0.1 and rtol 0.15 with
shots, atol 0.01 without.
"""

from __future__ import annotations

import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsDevice
from braket.circuits import Circuit, FreeParameter, Observable, ResultType
from braket.default_simulator import StateVectorSimulator
from braket.devices import LocalSimulator
from braket.ir.openqasm import Program

from tests.braket_emulator import BraketEmulator, gradients, moto_s3_server, results
from tests.braket_emulator.programs import ALL_QUBITS_MEASURED

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
GARNET = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"
BACKEND = {SV1: "braket_sv", DM1: "braket_dm"}
BUCKET = "amazon-braket-result-types"
SHOTS = 5000
THETA, PHI, VARPHI = 0.432, 0.123, -0.543
# A Hermitian observable with no special structure (real eigenvalues, complex entries), and a
# two-qubit one, as the SDK's suite uses.
H1 = np.array([[-6, 2 + 1j], [2 - 1j, 0]])
H2 = np.array([[-6, 2 + 1j, -3, -5 + 2j], [2 - 1j, 0, 2 - 1j, -5 + 4j],
               [-3, 2 + 1j, 0, -4 + 3j], [-5 - 2j, -5 - 4j, -4 - 3j, -6]])


@pytest.fixture(scope="module")
def sdk():
    """One moto S3 and one test service for the module, the SDK pointed at them."""
    with moto_s3_server() as s3_url, BraketEmulator(s3_endpoint=s3_url, max_workers=4) as emulator, \
            pytest.MonkeyPatch.context() as monkeypatch:
        from tests.braket_emulator import point_sdk_at

        point_sdk_at(monkeypatch, emulator.url, s3_url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield emulator
        _DEVICES.clear()


_DEVICES: dict[str, AwsDevice] = {}  # one per ARN while the module's service runs: AwsDevice() costs 0.1 s


def _device(arn: str) -> AwsDevice:
    if arn not in _DEVICES:
        _DEVICES[arn] = AwsDevice(arn)
    return _DEVICES[arn]


POLL_SECONDS = 0.02  # the SDK's own option: the service advertises 100 ms, most of a task's time here


def _run(arn: str, circuit: Circuit | Program, shots: int, prefix: str = "rt", **kwargs):
    return _device(arn).run(circuit, shots=shots, s3_destination_folder=(BUCKET, prefix),
                            poll_interval_seconds=POLL_SECONDS, **kwargs).result()


def _tol(shots: int) -> dict[str, float]:
    return {"atol": 0.1, "rtol": 0.15} if shots else {"atol": 0.01, "rtol": 0}


def _rotated(*result_types: Callable[[Circuit], Circuit]) -> Circuit:
    """Three qubits in a generic entangled state (no value is 0 or 1 by accident)."""
    circuit = Circuit().rx(0, THETA).rx(1, PHI).rx(2, VARPHI).cnot(0, 1).cnot(1, 2)
    for add in result_types:
        circuit = add(circuit)
    return circuit


def _expectation_variance(observable: Observable, targets: list[int], with_sample: bool) -> Circuit:
    adds = [lambda c: c.expectation(observable, targets), lambda c: c.variance(observable, targets)]
    if with_sample:
        adds.append(lambda c: c.sample(observable, targets))
    return _rotated(*adds)


def _analytic(circuit: Circuit) -> Circuit:
    """The circuit with each Sample replaced by the Expectation and Variance it estimates."""
    exact = Circuit().add(circuit.instructions)
    for result_type in circuit.result_types:
        if isinstance(result_type, ResultType.Sample):
            exact.expectation(result_type.observable, result_type.target)
            exact.variance(result_type.observable, result_type.target)
        else:
            exact.add_result_type(result_type)
    return exact


def _key(result_type, kind: str | None = None) -> str:
    """A result type's identity (its IR), optionally as another kind on the same observable."""
    fields = json.loads(result_type.json())
    return json.dumps(fields | ({"type": kind} if kind else {}), sort_keys=True)


def _assert_matches_local(arn: str, circuit: Circuit, shots: int) -> None:
    """The service's values equal the local simulator's exact ones for the same circuit, within
    the SDK's tolerance for ``shots`` (a Sample by its mean and variance)."""
    remote = _run(arn, circuit, shots)
    exact = {_key(rt.type): rt.value
             for rt in LocalSimulator(BACKEND[arn]).run(_analytic(circuit), shots=0).result().result_types}
    assert [type(rt.type) for rt in remote.result_types] == [type(rt.to_ir()) for rt in circuit.result_types]
    for remote_rt in remote.result_types:
        got = remote_rt.value
        if remote_rt.type.type.value == "sample":
            got = [np.mean(got), np.var(got)]
            want = [exact[_key(remote_rt.type, "expectation")], exact[_key(remote_rt.type, "variance")]]
        else:
            want = exact[_key(remote_rt.type)]
        if isinstance(got, dict):  # amplitude: {state: complex}
            got, want = [got[k] for k in sorted(got)], [want[k] for k in sorted(want)]
        assert np.allclose(np.asarray(got, dtype=complex), np.asarray(want, dtype=complex), **_tol(shots)), \
            (remote_rt.type, got, want)
    if shots:
        assert len(remote.measurements) == shots
    else:
        assert remote.measurements is None and remote.measurement_counts is None


@dataclass(frozen=True)
class Case:
    name: str
    circuit: Callable[[bool], Circuit]  # called with "the task has shots"
    shots: tuple[int, ...] = (SHOTS, 0)


CASES = [
    Case("expectation alone", lambda _s: _rotated(lambda c: c.expectation(Observable.Z(), [1]))),
    Case("variance alone", lambda _s: _rotated(lambda c: c.variance(Observable.X(), [0]))),
    Case("sample alone", lambda _s: _rotated(lambda c: c.sample(Observable.Y(), [2])), (SHOTS,)),
    Case("probability, full", lambda _s: Circuit().h(0).cnot(0, 1).probability()),
    Case("probability, marginal", lambda _s: Circuit().h(0).cnot(0, 1).x(2).probability([0, 2])),
    Case("expectation on every qubit (no target)",
         lambda _s: Circuit().h(0).x(1).i(2).expectation(Observable.Z())),
    Case("tensor Z@Z", lambda s: _expectation_variance(Observable.Z() @ Observable.Z(), [0, 2], s)),
    Case("tensor X@Y", lambda s: _expectation_variance(Observable.X() @ Observable.Y(), [0, 2], s)),
    Case("tensor Z@H@Y",
         lambda s: _expectation_variance(Observable.Z() @ Observable.H() @ Observable.Y(), [0, 1, 2], s)),
    Case("tensor Hermitian@Hermitian",
         lambda s: _expectation_variance(Observable.Hermitian(H1) @ Observable.Hermitian(H2), [0, 1, 2], s)),
    Case("tensor Z@Hermitian",
         lambda s: _expectation_variance(Observable.Z() @ Observable.Hermitian(H2), [0, 1, 2], s)),
    # Its sampled variance spreads widely: at 5,000 shots 1 run in 50 misses the SDK's tolerance
    # (measured over 100 runs of the local simulator); 20,000 halves the spread.
    Case("tensor Y@Hermitian",
         lambda s: _expectation_variance(Observable.Y() @ Observable.Hermitian(H2), [0, 1, 2], s), (4 * SHOTS, 0)),
    Case("Hermitian alone", lambda s: _expectation_variance(Observable.Hermitian(H1), [1], s)),
    Case("observables on qubits no gate touches",
         lambda _s: Circuit().x(0).x(1).variance(Observable.Z(), [2]).expectation(Observable.Z(), [3])),
    Case("all selected", lambda s: _rotated(
        lambda c: c.expectation(Observable.Z() @ Observable.Z(), [0, 1]),
        lambda c: c.variance(Observable.X(), [2]),
        lambda c: c.probability([0, 1]),
        *([lambda c: c.sample(Observable.Z(), [1])] if s else []))),
]


@pytest.mark.parametrize("case, shots", [
    pytest.param(case, shots, id=f"{case.name}-{'shots' if shots else 'analytic'}")
    for case in CASES for shots in case.shots])  # sample without shots: see test_refusals
@pytest.mark.parametrize("arn", [SV1, DM1], ids=["SV1", "DM1"])
def test_result_type_matches_the_local_simulator(sdk, arn, case, shots):
    _assert_matches_local(arn, case.circuit(bool(shots)), shots)


def test_bell_pair_without_result_types(sdk):
    for arn in (SV1, DM1):
        counts = _run(arn, Circuit().h(0).cnot(0, 1), SHOTS).measurement_counts
        assert set(counts) == {"00", "11"} and sum(counts.values()) == SHOTS
        assert math.isclose(counts["00"] / SHOTS, 0.5, abs_tol=0.05)


def test_analytic_bell_pair_amplitude_on_sv1_and_density_matrix_on_dm1(sdk):
    bell = Circuit().h(0).cnot(0, 1).expectation(Observable.H() @ Observable.X(), [0, 1])
    on_sv1 = _run(SV1, bell.copy().amplitude(["01", "10", "00", "11"]), 0)
    assert np.isclose(on_sv1.values[0], 1 / math.sqrt(2))
    amplitude = on_sv1.values[1]
    assert all(isinstance(a, complex) for a in amplitude.values())
    assert np.allclose([amplitude[k] for k in ("00", "01", "10", "11")],
                       [1 / math.sqrt(2), 0, 0, 1 / math.sqrt(2)])
    noisy = Circuit().bit_flip(0, 0.2).density_matrix([0])
    matrix = _run(DM1, noisy, 0).values[0]  # nested [re, im] pairs, as DM1 returns them
    assert isinstance(matrix, list) and np.allclose(matrix, [[[0.8, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.2, 0.0]]])


def test_non_commuting_observables_without_shots(sdk):
    circuit = Circuit().rx(0, THETA).ry(1, PHI).cnot(0, 1) \
        .variance(Observable.Y(), [0]).expectation(Observable.X(), [0]) \
        .expectation(Observable.Z(), [0]).expectation(Observable.Y() @ Observable.Z(), [0, 1])
    for arn in (SV1, DM1):
        _assert_matches_local(arn, circuit, 0)
    flipped = Circuit().h(0).cnot(0, 1).expectation(Observable.H() @ Observable.X(), [0, 1]) \
        .expectation(Observable.X() @ Observable.H(), [1, 0])
    assert np.allclose(_run(SV1, flipped, 0).values, [math.sqrt(2) / 2] * 2)


@pytest.mark.parametrize("arn, qubits", [(SV1, 10), (DM1, 6)], ids=["SV1", "DM1"])
def test_a_thousand_layers(sdk, arn, qubits):
    """1,000 layers of a rotation and an entangler (DM1 on 6 qubits: a 10-qubit density matrix
    takes this machine 6 s for the same depth, and depth is what the test is about)."""
    circuit = Circuit()
    for layer in range(1000):
        qubit = layer % qubits
        circuit.ry(qubit, 0.1 * (layer % 7)).cnot(qubit, (qubit + 1) % qubits)
    result = _run(arn, circuit, SHOTS)
    assert len(result.measurements) == SHOTS and len(result.measured_qubits) == qubits
    assert math.isclose(sum(result.measurement_probabilities.values()), 1.0)


def test_parametric_program_with_inputs(sdk):
    """Free parameters travel as the program's inputs; the service binds them."""
    theta = FreeParameter("theta")
    circuit = Circuit().rx(0, theta).expectation(Observable.Z(), [0])
    for arn in (SV1, DM1):
        result = _run(arn, circuit, 0, inputs={"theta": math.pi})
        assert np.isclose(result.values[0], -1.0)


@pytest.mark.parametrize("arn", [SV1, DM1], ids=["SV1", "DM1"])
def test_batch_and_multithreaded_submission(sdk, arn):
    bell = Circuit().h(0).cnot(0, 1)
    batch = _device(arn).run_batch([bell] * 3, s3_destination_folder=(BUCKET, "batch"),
                                     shots=SHOTS, max_parallel=3, poll_interval_seconds=POLL_SECONDS)
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(lambda _: _run(arn, bell, SHOTS), range(3)))
    for result in [*batch.results(fail_unsuccessful=True), *threaded]:
        assert set(result.measurement_counts) == {"00", "11"}
        assert math.isclose(result.measurement_probabilities["00"], 0.5, abs_tol=0.05)


def test_openqasm_source_with_result_pragmas(sdk):
    source = ("OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\n"
              "#pragma braket result expectation z(q[0]) @ z(q[1])\n"
              "#pragma braket result probability q[0]\n")
    on_one_line = source.replace("\n", "")  # as the SDK's own integration test writes it
    for arn, shots in ((SV1, SHOTS), (DM1, 0)):
        for text in (source, on_one_line):
            result = _run(arn, Program(source=text), shots)
            assert len(result.values) == 2, text
            assert np.isclose(result.values[0], 1.0)
            assert np.allclose(result.values[1], [0.5, 0.5], **_tol(shots))


def test_adjoint_gradient_of_a_hamiltonian_on_sv1(sdk):
    """VQE's workhorse: the energy of 2 Z0Z1 - 0.5 Z1 after rx(theta) q0, ry(gamma) q1, cnot, and its
    gradient, against the analytic values (<Z0Z1> = cos(gamma), <Z1> = cos(theta) cos(gamma))."""
    theta, gamma = FreeParameter("theta"), FreeParameter("gamma")
    hamiltonian = 2 * Observable.Z() @ Observable.Z() - 0.5 * Observable.Z()
    circuit = Circuit().rx(0, theta).ry(1, gamma).cnot(0, 1).expectation(Observable.X(), [1]) \
        .adjoint_gradient(hamiltonian, [[0, 1], [1]], [theta, gamma])
    t, g = 0.3, 0.7
    result = _run(SV1, circuit, 0, inputs={"theta": t, "gamma": g})
    [expectation, gradient] = result.result_types
    assert np.isclose(expectation.value, _local_value(circuit, t, g))
    assert gradient.type.observable == "2 * z @ z - 0.5 * z" and gradient.type.targets == [[0, 1], [1]]
    assert gradient.type.parameters == ["theta", "gamma"]
    assert gradient.value["expectation"] == pytest.approx(2 * np.cos(g) - 0.5 * np.cos(t) * np.cos(g), abs=1e-9)
    assert gradient.value["gradient"]["theta"] == pytest.approx(0.5 * np.sin(t) * np.cos(g), abs=1e-10)
    assert gradient.value["gradient"]["gamma"] == pytest.approx(
        -2 * np.sin(g) + 0.5 * np.cos(t) * np.sin(g), abs=1e-10)
    every = Circuit().rx(0, theta).ry(0, gamma).adjoint_gradient(Observable.Z(), [0])  # "all" parameters
    value = _run(SV1, every, 0, inputs={"theta": t, "gamma": g}).values[0]
    assert set(value["gradient"]) == {"theta", "gamma"}
    assert value["gradient"]["theta"] == pytest.approx(-np.sin(t) * np.cos(g), abs=1e-10)


def test_adjoint_gradient_pragmas_are_read_term_by_term():
    source = ("OPENQASM 3.0;\ninput float a;\nqubit[2] q;\nrx(a) q[0];\n#pragma braket result probability\n"
              "#pragma braket result adjoint_gradient expectation(-z(q[0]) + 2e-3 * x(q[1]) @ y(q[0])) all\n")
    rewritten, [gradient] = gradients.rewrite(source)
    assert rewritten.endswith("#pragma braket result expectation z(q[0])\n"
                              "#pragma braket result expectation x(q[1]) @ y(q[0])\n")
    assert gradient == gradients.Gradient((-1.0, 0.002), (("z",), ("x", "y")), None, first=1)


def _local_value(circuit: Circuit, t: float, g: float) -> float:
    """<X1> of ``circuit`` on the local simulator (which has no adjoint gradient)."""
    exact = Circuit().add(circuit.instructions).expectation(Observable.X(), [1])
    return LocalSimulator("braket_sv").run(exact, shots=0, inputs={"theta": t, "gamma": g}).result().values[0]


# --------------------------------------------------------------------------------- refusals
def _refusal(arn: str, circuit, shots: int, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        _run(arn, circuit, shots, **kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    return info.value.response["Error"]["Message"]


BELL = Circuit().h(0).cnot(0, 1)
# The SDK refuses to send an AwsDevice.run with free parameters and no inputs: a program carries them.
GRADIENT = Program(source="OPENQASM 3.0;\ninput float t;\nqubit[1] q;\nrx(t) q[0];\n"
                          "#pragma braket result adjoint_gradient expectation(z(q[0])) t\n", inputs={"t": 0.1})
MID_CIRCUIT = Program(source="OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\nb[0] = measure q[0];\n"
                             "if (b[0]) { x q[1]; }\nb[1] = measure q[1];\n")


@pytest.mark.parametrize("arn, circuit, shots, message", [
    (SV1, BELL.copy().state_vector(), 0, f"Result type StateVector is not supported by {SV1}"),
    (DM1, BELL.copy().state_vector(), 0, f"Result type StateVector is not supported by {DM1}"),
    (DM1, BELL.copy().amplitude(["00"]), 0, f"Result type Amplitude is not supported by {DM1}"),
    (SV1, BELL.copy().density_matrix([0]), 0, f"Result type DensityMatrix is not supported by {SV1}"),
    # The SDK refuses this Circuit itself; the program is what another client would send.
    (SV1, Program(source=BELL.copy().amplitude(["00"]).to_ir("OPENQASM").source), 100,
     "Result type Amplitude on .* requires shots=0 only; got shots=100"),
    (DM1, BELL.copy().density_matrix([0]), 100, "Result type DensityMatrix on .* requires shots=0 only"),
    (SV1, BELL.copy().sample(Observable.Z(), [0]), 0, "Result type Sample on .* requires shots between 1 and"),
    (SV1, Program(source=BELL.to_ir("OPENQASM").source), 0, "Result types must be specified when shots=0"),
    (SV1, Circuit().h(0).cnot(0, 1).h(2).measure([0, 1]), 100, ALL_QUBITS_MEASURED),
    (SV1, Circuit().h(0).h(2), 100, ALL_QUBITS_MEASURED),  # qubit[3] declared, q[1] never measured
    (SV1, MID_CIRCUIT, 100, f"Mid-circuit measurement is not available on {SV1}"),
    (GARNET, MID_CIRCUIT, 100, "enable experimental capabilities"),
    (DM1, GRADIENT, 0, f"Result type AdjointGradient is not supported by {DM1}"),
    (SV1, GRADIENT, 100, "Result type AdjointGradient on .* requires shots=0 only"),
    (SV1, Program(source=GRADIENT.source.replace("z(q[0])", "hermitian([[1, 0], [0, -1]]) q[0]"),
                  inputs={"t": 0.1}), 0, "computes adjoint_gradient of sums of products of x, y, z, h, i only"),
    (SV1, Circuit().h(range(16)).probability(), 0, "Probability is limited to 15 qubits; requested 16"),
    (DM1, Circuit().h(range(9)).density_matrix(range(9)), 0, "DensityMatrix is limited to 8 target qubits"),
    (DM1, Circuit().h(range(18)), 100, f"Program uses 18 qubits, more than the 17 of {DM1}"),
    (SV1, BELL, 100_001, f"Shot count should be between 0 and 100000 on {SV1}"),
    (GARNET, BELL.copy().probability(), 0, f"Shot count should be between 1 and 20000 on {GARNET}"),
], ids=["sv1 state vector", "dm1 state vector", "dm1 amplitude", "sv1 density matrix",
        "amplitude with shots", "density matrix with shots", "sample without shots",
        "no result type without shots", "partial measurement", "non-contiguous qubits",
        "mid-circuit measurement", "dynamic circuit without experimental capabilities",
        "adjoint gradient on dm1", "adjoint gradient with shots", "adjoint gradient of a hermitian",
        "probability over 15 qubits", "density matrix over 8 qubits", "too many qubits",
        "shots over the device's range", "a QPU without shots"])
def test_refusals(sdk, arn, circuit, shots, message):
    """The service refuses at creation (ValidationException), so nothing runs or is billed."""
    before = len(sdk.tasks())
    assert re.search(message, _refusal(arn, circuit, shots))
    assert len(sdk.tasks()) == before


def test_measuring_a_subset_where_the_device_allows_it(sdk):
    """IQM Garnet measures subsets (requiresAllQubitsMeasurement false), and runs a dynamic
    circuit when experimental capabilities are enabled."""
    result = _run(GARNET, Circuit().h(0).cnot(0, 1).measure([0]), 100)
    assert result.measured_qubits == [0] and len(result.measurements[0]) == 1
    dynamic = _run(GARNET, MID_CIRCUIT, 100, experimental_capabilities="ALL")
    assert set(dynamic.measurement_counts) <= {"00", "11"}  # x on q[1] exactly when b[0] is 1


# ------------------------------------------------------------------- the schema check itself
def test_every_stored_result_is_read_by_the_sdk_schema(sdk):
    """results.json bodies in S3 parse with GateModelTaskResult and carry typed values."""
    everything = _rotated(lambda c: c.expectation(Observable.Z(), [0]), lambda c: c.probability([1]))
    _run(SV1, everything.copy().sample(Observable.Z(), [1]), 100, "schema")
    _run(SV1, everything.copy().amplitude(["000", "111"]), 0, "schema")
    _run(DM1, everything.copy().density_matrix([0, 1]), 0, "schema")
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="schema/")["Contents"]]
    assert len(keys) == 3
    for key in keys:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        results.check(body, json.loads(body)["taskMetadata"]["shots"])


@pytest.mark.parametrize("mangle, reason", [
    (lambda doc: doc["resultTypes"][0].update(type="expectation"), "does not match GateModelTaskResult"),
    (lambda doc: doc["resultTypes"][1].update(value={"00": 0.7}), "the SDK cannot read results.json"),
    (lambda doc: doc["resultTypes"].append({"type": {"type": "probability", "targets": [0]},
                                            "value": {"0": 0.5}}), "probability has the wrong shape"),
    (lambda doc: doc["resultTypes"][0].update(value=[1.0, 0.0]), None),  # a list is a valid shape
    (lambda doc: doc.update(measurements=[]), "does not match GateModelTaskResult"),
])
def test_the_check_refuses_documents_the_sdk_cannot_read(mangle, reason):
    program = BELL.copy().expectation(Observable.Z(), [0]).amplitude(["00", "11"]).to_ir("OPENQASM")
    doc = json.loads(results.to_json(StateVectorSimulator().run(program, shots=0)))
    results.check(json.dumps(doc), 0)
    assert doc["resultTypes"][1]["value"]["11"] == pytest.approx([1 / math.sqrt(2), 0.0])
    mangle(doc)
    if reason is None:
        results.check(json.dumps(doc), 0)
    else:
        with pytest.raises(results.ResultsCheckError, match=reason):
            results.check(json.dumps(doc), 0)


def test_a_result_that_fails_the_check_fails_the_task_and_stores_nothing(sdk, monkeypatch):
    monkeypatch.setattr(results, "to_json", lambda _result: json.dumps({"measurements": []}))
    task = _device(SV1).run(BELL, shots=10, s3_destination_folder=(BUCKET, "broken"))
    assert task.result() is None  # the SDK's answer for a FAILED task
    metadata = task.metadata()
    assert metadata["status"] == "FAILED"
    assert metadata["failureReason"].startswith("results.json does not match GateModelTaskResult")
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="broken/")

