"""What each device can run, offline: qubit count, shots per task and the program types it accepts.

``jobs.circuits.check_for_device`` reads this table before anything is priced or
submitted, so that a circuit a device would refuse is refused here (exit 2, nothing
billed) instead of becoming a created-then-FAILED task. The service validates every
task anyway: a device missing from the table, or a limit recorded as None, is simply
not checked here. Nothing in this module calls AWS or imports the Braket SDK.

Sources, retrieved 2026-11-24 (update the table and this date together):

* [devices]   https://docs.aws.amazon.com/braket/latest/developerguide/braket-devices.html
              (device names, ARNs, paradigm: gate-based or analog)
* [sims]      SV1 up to 34 qubits, DM1 up to 17, TN1 up to 50, from a third-party summary:
              https://cljdoc.org/d/org.soulspace/qclojure-braket/0.1.0-SNAPSHOT/doc/braket-devices
              (the AWS pages braket-submit-tasks-simulators.html and choose-a-simulator.html list the
              simulators; the excerpts read did not repeat the counts). The emulator agrees for SV1, DM1.
* [sv1-shots] https://docs.aws.amazon.com/braket/latest/developerguide/braket-submit-tasks-to-braket.html
              (SV1 device properties print maxShots=100000).
* [ionq]      Braket's own ValidationException quoted in unitaryfoundation/metriq-gym#781 (2026-07-22):
              "Shot count should be between 100 and 5000 on .../ionq/Forte-1"; qBraid/qBraid#1089
              (2025-12-01): IonQ's minimum of 100 shots is enforced server-side.
* [aqt]       Braket's ValidationException quoted in unitaryfoundation/metriq-gym#793 (2026-08-07):
              "Shot count should be between 1 and 2000 on .../aqt/Ibex-Q1".
* [aquila]    amazon-braket/amazon-braket-examples#370: Aquila refuses more than 1000 shots;
              QuEra's published 256-site lattice (numberSitesMax).
* [emulator]  tests/braket_emulator/devices.py, the capabilities documents this repository's
              Braket test double serves (its own choices where no public figure is pinned).
* [measure]   the SDK's integration test test/integ_tests/test_measure.py (amazon-braket-sdk-python):
              SV1 and IonQ refuse a program measuring a subset of its qubits ("Device requires all
              qubits in the program to be measured..."), IQM Garnet runs one. DM1 follows SV1
              (the managed simulators share the rule); other IonQ devices follow Aria-1.
* [vendor]    the vendors' published sizes (IonQ Forte: 36 qubits; IQM Garnet: 20, Emerald: 54;
              Rigetti Ankaa-3: 84, Cepheus-1-108Q: 108; AQT IBEX Q1: 12). Not confirmed in
              Braket's documentation: the service's own qubitCount wins where they differ.

The local simulator's limit is a choice, explained at ``LOCAL_SIMULATOR``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

OPENQASM = "braket.ir.openqasm.program"
"""The action type of gate circuits (every circuit jobs submits is an OpenQASM 3 program)."""
AHS = "braket.ir.ahs.program"
"""The action type of analog Hamiltonian simulation programs (QuEra Aquila)."""

RETRIEVED = "2026-11-24"


@dataclass(frozen=True)
class DeviceCapabilities:
    name: str
    qubits: Optional[int]
    """Qubits a program may use (for an AHS device: atom sites); None when not known offline."""
    shots: Optional[tuple[int, int]]
    """Shots per task, both ends inclusive; None when not known offline."""
    actions: frozenset[str]
    """The program types the device runs: OPENQASM, AHS."""
    source: str
    """Where the numbers come from (keys of the module docstring's list)."""
    measures_all: Optional[bool] = None
    """A program that measures any qubit must measure every declared one (the device's
    ``requiresAllQubitsMeasurement``); None when not known offline."""

    @property
    def runs_gate_circuits(self) -> bool:
        return OPENQASM in self.actions


# The local state-vector simulator holds 2^n complex128 amplitudes: 16 bytes x 2^n, so 1 GiB
# at 26 qubits, 16 GiB at 30 and 16 TiB at 40 (one program tried). The SDK advertises 26 as
# its own limit (LocalSimulator().properties.paradigm.qubitCount; AWS's guide says "up to 25
# qubits" for rapid prototyping), and 1 GiB fits a laptop or a notebook instance; beyond it,
# use SV1 (34 qubits).
LOCAL_SIMULATOR = DeviceCapabilities(
    "local simulator", 26, None, frozenset({OPENQASM}), "braket.devices.LocalSimulator properties; memory"
)

_GATES = frozenset({OPENQASM})

DEVICES: dict[str, DeviceCapabilities] = {
    caps_arn: caps
    for caps_arn, caps in (
        ("arn:aws:braket:::device/quantum-simulator/amazon/sv1",
         DeviceCapabilities("SV1", 34, (0, 100_000), _GATES, "sims, sv1-shots, emulator; measure", True)),
        ("arn:aws:braket:::device/quantum-simulator/amazon/dm1",
         DeviceCapabilities("DM1", 17, (0, 150_000), _GATES, "sims; shots: emulator; measure", True)),
        ("arn:aws:braket:::device/quantum-simulator/amazon/tn1",  # retired in the SDK; kept for its ARN
         DeviceCapabilities("TN1", 50, None, _GATES, "sims")),
        ("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1",
         DeviceCapabilities("IonQ Forte-1", 36, (100, 5_000), _GATES, "vendor, emulator; shots: ionq; measure", True)),
        ("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1",
         DeviceCapabilities("IonQ Forte-Enterprise-1", 36, (100, 5_000), _GATES,
                            "vendor, emulator; shots: ionq; measure", True)),
        ("arn:aws:braket:us-east-1::device/qpu/quera/Aquila",
         DeviceCapabilities("QuEra Aquila", 256, (1, 1_000), frozenset({AHS}), "devices, aquila, emulator")),
        ("arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3",  # retired in the SDK; kept for its ARN
         DeviceCapabilities("Rigetti Ankaa-3", 84, (10, 100_000), _GATES, "vendor, emulator")),
        ("arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q",
         DeviceCapabilities("Rigetti Cepheus-1-108Q", 108, None, _GATES, "vendor")),
        ("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet",
         DeviceCapabilities("IQM Garnet", 20, None, _GATES, "vendor; measure", False)),
        ("arn:aws:braket:eu-north-1::device/qpu/iqm/Emerald",
         DeviceCapabilities("IQM Emerald", 54, None, _GATES, "vendor; measure", False)),
        ("arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1",
         DeviceCapabilities("AQT IBEX Q1", 12, (1, 2_000), _GATES, "vendor; shots: aqt")),
    )
}
"""Capabilities by device ARN, as the SDK's ``braket.devices.Devices`` spells the ARNs."""

MAX_GATE_QUBITS = max(c.qubits or 0 for c in DEVICES.values() if c.runs_gate_circuits)
"""The most qubits any gate-model device in the table runs: no program may declare more."""


def capabilities_for(arn: str) -> Optional[DeviceCapabilities]:
    """The capabilities of the device ``arn`` names; None for a device not in the table."""
    return DEVICES.get(arn)
