"""A small variational quantum eigensolver, written as a Braket hybrid job.

Finds the ground energy of H = 0.5 Z0 + 0.5 Z1 + X0 X1 (exactly -sqrt(2)) with the
one-parameter ansatz Ry(theta) on qubit 0 then CNOT(0, 1), whose energy is
cos(theta) + sin(theta). Each energy takes two circuits (the Z terms from one, X0 X1 from
the other, measured after a Hadamard on each qubit); each step of gradient descent takes
the parameter-shift gradient (two energies) and ends with the new energy.

Runs unchanged on Braket's managed runtime and offline with `python -m jobs hybrid`:
the device comes from AMZN_BRAKET_DEVICE_ARN ("local:braket/<simulator>" offline), the
hyperparameters are this function's arguments, and the result, checkpoints and metrics
go through braket.jobs, to where Braket's environment variables point.

    python -m jobs hybrid --env dev --source examples/hybrid_vqe --entry-point hybrid_vqe.vqe:main
"""

import math
import os

from braket.aws import AwsDevice
from braket.circuits import Circuit
from braket.devices import LocalSimulator
from braket.jobs import load_job_checkpoint, save_job_checkpoint, save_job_result
from braket.jobs.metrics import log_metric

MAX_ITERATIONS = 4
MAX_SHOTS = 1000
# Read (never run) by `python -m jobs hybrid` to estimate and cap the tasks' cost, so a literal:
# an upper bound, which main() enforces. 2 tasks per energy; 1 energy, then 3 per step.
JOB_TASKS = {"tasks": 26, "shots": 1000}
assert JOB_TASKS == {"tasks": 2 * (1 + 3 * MAX_ITERATIONS), "shots": MAX_SHOTS}
EXACT_GROUND_ENERGY = -math.sqrt(2)


def device_from_environment():
    arn = os.environ.get("AMZN_BRAKET_DEVICE_ARN", "local:braket/braket_sv")
    if arn.startswith("local:"):
        return LocalSimulator(arn.split("/", 1)[1])
    return AwsDevice(arn)


def ansatz(theta: float, measure_x: bool) -> Circuit:
    circuit = Circuit().ry(0, theta).cnot(0, 1)
    return circuit.h(0).h(1) if measure_x else circuit


def expectation(counts: dict, sign) -> float:
    shots = sum(counts.values())
    return sum(sign(bits) * n for bits, n in counts.items()) / shots


def energy(device, theta: float, shots: int) -> float:
    z_counts = device.run(ansatz(theta, measure_x=False), shots=shots).result().measurement_counts
    x_counts = device.run(ansatz(theta, measure_x=True), shots=shots).result().measurement_counts
    z0 = expectation(z_counts, lambda bits: 1 - 2 * int(bits[0]))
    z1 = expectation(z_counts, lambda bits: 1 - 2 * int(bits[1]))
    x0x1 = expectation(x_counts, lambda bits: 1 - 2 * (int(bits[0]) ^ int(bits[1])))
    return 0.5 * z0 + 0.5 * z1 + x0x1


def main(iterations: int = 3, shots: int = 1000, learning_rate: float = 0.5, initial_theta: float = math.pi):
    if not 1 <= iterations <= MAX_ITERATIONS or not 1 <= shots <= MAX_SHOTS:
        raise ValueError(f"iterations must be 1-{MAX_ITERATIONS} and shots 1-{MAX_SHOTS} (JOB_TASKS is declared for those)")
    device = device_from_environment()
    try:  # a re-run job continues from its last step
        state = load_job_checkpoint()
    except FileNotFoundError:
        state = {"theta": initial_theta, "step": 0, "history": [energy(device, initial_theta, shots)]}
    theta = state["theta"]
    for step in range(state["step"], iterations):
        shift = math.pi / 2
        gradient = (energy(device, theta + shift, shots) - energy(device, theta - shift, shots)) / 2
        theta -= learning_rate * gradient
        state = {"theta": theta, "step": step + 1, "history": [*state["history"], energy(device, theta, shots)]}
        log_metric(metric_name="energy", value=state["history"][-1], iteration_number=step + 1)
        save_job_checkpoint(state)
        print(f"step {step + 1}: theta={theta:.4f} energy={state['history'][-1]:.4f}", flush=True)
    save_job_result(
        {
            "theta": theta,
            "energy": state["history"][-1],
            "exact_ground_energy": EXACT_GROUND_ENERGY,
            "energy_history": state["history"],
            "device": os.environ.get("AMZN_BRAKET_DEVICE_ARN", "local:braket/braket_sv"),
        }
    )
