"""The emulated device catalogue: six realistic Braket devices.

``deviceCapabilities`` documents are built from ``braket.device_schema`` classes
(the SDK's ``AwsDevice`` parses them with ``BraketSchemaBase.parse_raw_schema``),
and ``deviceParameters`` carries the JSON schema of each provider's parameter
class, as the real service does. Choices not pinned by public documentation:
IonQ shotsRange is [100, 5000] (the service refuses fewer than 100 shots); Rigetti Ankaa-3 is an 84-qubit 7x12 grid with
shotsRange [10, 100000]; the simulators advertise ``getTaskPollIntervalMillis``
of 100 so that SDK polling (``AwsQuantumTask.result()``) stays fast in tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from braket.device_schema.ionq import IonqDeviceParameters
from braket.device_schema.rigetti import RigettiDeviceParameters
from braket.device_schema.simulators import GateModelSimulatorDeviceParameters
from braket.devices import LocalSimulator

OPENQASM = "braket.ir.openqasm.program"
AHS = "braket.ir.ahs.program"
QPU_PARADIGM = "braket.device_schema.gate_model_qpu_paradigm_properties"


@dataclass(frozen=True)
class Device:
    """One catalogue entry. ``region`` None means available in every region (simulators)."""

    arn: str
    name: str
    provider: str
    type: str  # QPU | SIMULATOR
    status: str  # ONLINE | OFFLINE | RETIRED
    region: str | None
    backend: str | None  # LocalSimulator backend that executes OpenQASM, None = cannot run it
    capabilities: dict[str, Any]

    @property
    def shots_range(self) -> tuple[int, int]:
        low, high = self.capabilities["service"]["shotsRange"]
        return int(low), int(high)

    @property
    def actions(self) -> set[str]:
        return set(self.capabilities["action"])

    def summary(self, status: str | None = None) -> dict[str, str]:
        """DeviceSummary (SearchDevices) shape."""
        return {"deviceArn": self.arn, "deviceName": self.name, "providerName": self.provider,
                "deviceType": self.type, "deviceStatus": status or self.status}


def _header(name: str, version: str = "1") -> dict[str, str]:
    return {"name": name, "version": version}


def _service(shots: tuple[int, int], price: float, unit: str, location: str,
             poll_ms: int | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {
        "braketSchemaHeader": _header("braket.device_schema.device_service_properties"),
        "executionWindows": [
            {"executionDay": "Everyday", "windowStartHour": "00:00", "windowEndHour": "23:59"}],
        "shotsRange": list(shots),
        "deviceCost": {"price": price, "unit": unit},
        "deviceLocation": location,
        "updatedAt": "2025-01-15T12:00:00",
    }
    if poll_ms:
        service["getTaskPollIntervalMillis"] = poll_ms
    return service


def _result_types(max_shots: int, observables: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "observables": obs, "minShots": 1, "maxShots": max_shots}
            for n, obs in (("Sample", observables), ("Expectation", observables),
                           ("Variance", observables), ("Probability", None))]


def _qpu_action(operations: list[str], max_shots: int) -> dict[str, Any]:
    return {OPENQASM: {
        "version": ["1"], "actionType": OPENQASM, "supportedOperations": operations,
        "supportedModifiers": [], "supportedPragmas": ["verbatim"],
        "forbiddenPragmas": [], "supportPhysicalQubits": True,
        "requiresAllQubitsMeasurement": False, "supportsPartialVerbatimBox": False,
        "disabledQubitRewiringSupported": False,
        "supportedResultTypes": _result_types(max_shots, ["x", "y", "z", "h", "i"]),
    }}


def _simulator(backend: str, qubits: int, max_shots: int, price: float) -> dict[str, Any]:
    """SV1/DM1: the local backend's own OpenQASM action block (operations, pragmas, result
    types), with the managed simulator's qubit count, shots range and price."""
    local = json.loads(LocalSimulator(backend).properties.json(exclude_none=True))
    return {
        "braketSchemaHeader": _header(
            "braket.device_schema.simulators.gate_model_simulator_device_capabilities"),
        "service": _service((0, max_shots), price, "minute", "us-east-1", poll_ms=100),
        "action": {OPENQASM: local["action"][OPENQASM]},
        "paradigm": {"braketSchemaHeader": _header(
            "braket.device_schema.simulators.gate_model_simulator_paradigm_properties"),
            "qubitCount": qubits},
        "deviceParameters": json.loads(GateModelSimulatorDeviceParameters.schema_json()),
    }


_IONQ_OPS = ["x", "y", "z", "rx", "ry", "rz", "h", "cnot", "s", "si", "t", "ti", "v", "vi",
             "xx", "yy", "zz", "swap"]


def _ionq() -> dict[str, Any]:
    return {
        "braketSchemaHeader": _header("braket.device_schema.ionq.ionq_device_capabilities"),
        "service": _service((100, 5000), 0.08, "shot", "us-east-1"),
        "action": _qpu_action(_IONQ_OPS, 5000),
        "paradigm": {
            "braketSchemaHeader": _header(QPU_PARADIGM),
            "qubitCount": 36, "nativeGateSet": ["gpi", "gpi2", "zz"],
            "connectivity": {"fullyConnected": True, "connectivityGraph": {}}},
        "deviceParameters": json.loads(IonqDeviceParameters.schema_json()),
    }


def _grid(rows: int, cols: int) -> dict[str, list[str]]:
    """Nearest-neighbour square lattice, the connectivityGraph format ("q": ["n", ...])."""
    graph: dict[str, list[str]] = {}
    for q in range(rows * cols):
        r, c = divmod(q, cols)
        nbrs = [n for n, ok in ((q + 1, c + 1 < cols), (q + cols, r + 1 < rows)) if ok]
        if nbrs:
            graph[str(q)] = [str(n) for n in nbrs]
    return graph


def _rigetti() -> dict[str, Any]:
    ops = ["cz", "xy", "ccnot", "cnot", "cphaseshift", "cphaseshift00", "cphaseshift01",
           "cphaseshift10", "cswap", "h", "i", "iswap", "phaseshift", "pswap", "rx", "ry", "rz",
           "s", "si", "swap", "t", "ti", "x", "y", "z"]
    return {
        "braketSchemaHeader": _header("braket.device_schema.rigetti.rigetti_device_capabilities"),
        "service": _service((10, 100000), 0.0009, "shot", "California"),
        "action": _qpu_action(ops, 100000),
        "paradigm": {
            "braketSchemaHeader": _header(QPU_PARADIGM),
            "qubitCount": 84, "nativeGateSet": ["rx", "rz", "iswap"],
            "connectivity": {"fullyConnected": False, "connectivityGraph": _grid(7, 12)}},
        "deviceParameters": json.loads(RigettiDeviceParameters.schema_json()),
    }


def _quera() -> dict[str, Any]:
    """Aquila: AHS only (no OpenQASM action); values follow QuEra's published specs."""
    lattice_perf = dict.fromkeys(
        ["fillingErrorTypical", "fillingErrorWorst", "vacancyErrorTypical", "vacancyErrorWorst",
         "atomLossProbabilityTypical", "atomLossProbabilityWorst",
         "atomCaptureProbabilityTypical", "atomCaptureProbabilityWorst",
         "atomDetectionErrorFalsePositiveTypical", "atomDetectionErrorFalsePositiveWorst",
         "atomDetectionErrorFalseNegativeTypical", "atomDetectionErrorFalseNegativeWorst"], 0.01)
    global_perf = {
        "rabiFrequencyErrorRel": 0.03, "rabiFrequencyGlobalErrorRel": 0.02,
        "rabiFrequencyInhomogeneityRel": 0.02, "groundDetectionError": 0.05,
        "rydbergDetectionError": 0.1, "groundPrepError": 0.01, "rydbergPrepErrorBest": 0.05,
        "rydbergPrepErrorWorst": 0.07, "T1Single": 7.5e-5, "T1Ensemble": 7.5e-5,
        "T2StarSingle": 5e-6, "T2StarEnsemble": 4.5e-6, "T2EchoSingle": 5e-6,
        "T2EchoEnsemble": 5e-6, "T2RabiSingle": 5e-6, "T2RabiEnsemble": 5e-6,
        "T2BlockadedRabiSingle": 5e-6, "T2BlockadedRabiEnsemble": 5e-6,
        "detuningError": 1e6, "detuningInhomogeneity": 1e6,
        "rabiAmplitudeRampCorrection": [{"rampTime": 5e-8, "rabiCorrection": 0.92},
                                        {"rampTime": 1e-7, "rabiCorrection": 1.0}]}
    return {
        "braketSchemaHeader": _header("braket.device_schema.quera.quera_device_capabilities"),
        "service": _service((1, 1000), 0.01, "shot", "Boston, Massachusetts"),
        "action": {AHS: {"version": ["1"], "actionType": AHS}},
        "paradigm": {
            "braketSchemaHeader": _header(
                "braket.device_schema.quera.quera_ahs_paradigm_properties"),
            "qubitCount": 256,
            "lattice": {"area": {"width": 7.5e-5, "height": 7.6e-5},
                        "geometry": {"spacingRadialMin": 4e-6, "spacingVerticalMin": 4e-6,
                                     "positionResolution": 1e-7, "numberSitesMax": 256}},
            "rydberg": {"c6Coefficient": 5.42e-24, "rydbergGlobal": {
                "rabiFrequencyRange": [0, 1.58e7], "rabiFrequencyResolution": 400,
                "rabiFrequencySlewRateMax": 2.5e14, "detuningRange": [-1.25e8, 1.25e8],
                "detuningResolution": 0.2, "detuningSlewRateMax": 2.5e15,
                "phaseRange": [-99, 99], "phaseResolution": 5e-7, "timeResolution": 1e-9,
                "timeDeltaMin": 5e-8, "timeMin": 0, "timeMax": 4e-6}},
            "performance": {
                "lattice": {"positionErrorAbs": 2.5e-8, "sitePositionError": 2.5e-8,
                            "atomPositionError": 2.5e-8, **lattice_perf},
                "rydberg": {"rydbergGlobal": global_perf}},
        },
        "deviceParameters": {},
    }


def _catalogue() -> dict[str, Device]:
    ionq, sv1, dm1 = _ionq(), _simulator("braket_sv", 34, 100000, 0.075), \
        _simulator("braket_dm", 17, 150000, 0.075)
    devices = [
        Device("arn:aws:braket:::device/quantum-simulator/amazon/sv1", "SV1", "Amazon Braket",
               "SIMULATOR", "ONLINE", None, "braket_sv", sv1),
        Device("arn:aws:braket:::device/quantum-simulator/amazon/dm1", "DM1", "Amazon Braket",
               "SIMULATOR", "ONLINE", None, "braket_dm", dm1),
        Device("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", "Forte 1", "IonQ",
               "QPU", "ONLINE", "us-east-1", "braket_sv", ionq),
        Device("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1", "Forte Enterprise 1",
               "IonQ", "QPU", "ONLINE", "us-east-1", "braket_sv", ionq),
        Device("arn:aws:braket:us-east-1::device/qpu/quera/Aquila", "Aquila", "QuEra",
               "QPU", "OFFLINE", "us-east-1", None, _quera()),
        Device("arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3", "Ankaa-3", "Rigetti",
               "QPU", "ONLINE", "us-west-1", "braket_sv", _rigetti()),
    ]
    return {d.arn: d for d in devices}


DEVICES: dict[str, Device] = _catalogue()
"""Device table keyed by ARN."""
