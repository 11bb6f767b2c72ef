"""`python -m jobs` with OpenQASM result-type pragmas: their values next to the counts, in the
CLI output and summary.json, on the local simulator and through the Braket test service.

jobs runs every task with shots, so Braket measures every qubit (counts come back) and computes
expectation, variance, probability and sample from the measurements; amplitude, state vector,
density matrix and adjoint gradient exist only without shots and are refused before anything runs.
"""

from __future__ import annotations

import json

import pytest

from tests.jobs_process import run_jobs

BELL_WITH_RESULT_TYPES = """OPENQASM 3.0;
qubit[2] q;
h q[0];
cnot q[0], q[1];
#pragma braket result expectation z(q[0]) @ z(q[1])
#pragma braket result probability q[0]
#pragma braket result sample z(q[1])
"""


def _write(workdir, name: str, source: str) -> str:
    (workdir / name).write_text(source)
    return name


def _values(task: dict) -> dict[str, object]:
    return {item["result_type"]: item["value"] for item in task["result_types"]}


@pytest.mark.parametrize("device", ["local", "sv1"])
def test_result_type_values_are_reported_next_to_counts(workdir, aws, device):
    circuit = _write(workdir, "bell.qasm", BELL_WITH_RESULT_TYPES)
    run = run_jobs("run", "--env", "dev", "--device", device, "--circuit", circuit, "--shots", "400",
                   "--json", cwd=workdir)
    assert run.returncode == 0, run.stderr
    [task] = json.loads(run.stdout)["tasks"]
    assert set(task["counts"]) <= {"00", "11"} and sum(task["counts"].values()) == 400
    values = _values(task)
    assert list(values) == ["expectation(z@z) on qubits 0,1", "probability on qubits 0", "sample(z) on qubits 1"]
    assert values["expectation(z@z) on qubits 0,1"] == 1.0  # a Bell pair: always equal bits
    assert values["probability on qubits 0"] == pytest.approx([0.5, 0.5], abs=0.15)  # 6 sigma at 400 shots
    samples = values["sample(z) on qubits 1"]
    assert len(samples) == 400 and set(samples) <= {1.0, -1.0}
    # The probability agrees with the counts it was computed from.
    assert values["probability on qubits 0"][0] == pytest.approx(task["counts"].get("00", 0) / 400)
    summary = json.loads((workdir / json.loads(run.stdout)["results_dir"] / "summary.json").read_text())
    assert summary["tasks"][0]["result_types"] == task["result_types"]
    if device == "sv1":  # what the service stored is Braket's results.json, result types included
        [key] = aws.keys()
        stored = json.loads(aws.s3.get_object(Bucket="amazon-braket-quantum-cloud-results-dev", Key=key)["Body"].read())
        assert [rt["type"]["type"] for rt in stored["resultTypes"]] == ["expectation", "probability", "sample"]


def test_the_cli_prints_one_line_per_result_type(workdir):
    circuit = _write(workdir, "bell.qasm", BELL_WITH_RESULT_TYPES)
    run = run_jobs("run", "--env", "dev", "--circuit", circuit, "--shots", "100", cwd=workdir)
    assert run.returncode == 0, run.stderr
    assert "      expectation(z@z) on qubits 0,1 = 1.0\n" in run.stdout
    assert "      probability on qubits 0 = [" in run.stdout
    assert "      sample(z) on qubits 1 = 100 samples, mean " in run.stdout


def test_results_by_task_arn_carry_the_result_types(workdir, aws):
    circuit = _write(workdir, "bell.qasm", BELL_WITH_RESULT_TYPES)
    run = run_jobs("run", "--env", "dev", "--device", "sv1", "--circuit", circuit, "--json", cwd=workdir)
    [task] = json.loads(run.stdout)["tasks"]
    again = run_jobs("results", task["id"], cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert "  expectation(z@z) on qubits 0,1 = 1.0\n" in again.stdout


@pytest.mark.parametrize("pragma, words", [
    ('#pragma braket result amplitude "00", "11"', "Braket computes amplitude only without shots"),
    ("#pragma braket result state_vector", "Braket computes state_vector only without shots"),
    ("#pragma braket result density_matrix q[0]", "Braket computes density_matrix only without shots"),
    ("#pragma braket result adjoint_gradient expectation(z(q[0])) all", "Braket computes adjoint_gradient only"),
    ("#pragma braket result expectation x(q[0])\n#pragma braket result expectation z(q[0])",
     "the result types cannot be measured in one task with shots"),
])
def test_result_types_that_cannot_run_with_shots_are_refused_before_anything_is_submitted(workdir, aws, pragma, words):
    circuit = _write(workdir, "analytic.qasm", "OPENQASM 3.0;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\n" + pragma + "\n")
    run = run_jobs("run", "--env", "dev", "--device", "sv1", "--circuit", circuit, cwd=workdir)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and f"--circuit '{circuit}'" in run.stderr and words in run.stderr, run.stderr
    assert aws.emulator.tasks() == []
