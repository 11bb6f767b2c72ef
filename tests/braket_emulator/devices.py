"""The emulated device catalogue: every device the SDK's ``braket.devices.Devices`` names.

The catalogue is derived from the enum, never listed here: each member of each provider
class (``Devices._Amazon``, ``Devices._IonQ``, ...; some providers have no public alias) is one
device, deduplicated by ARN. The SDK underscores retired devices (``_TN1``, ``_Aria1``,
``_Ankaa3``, every D-Wave, ``_Lucy``, ``_Borealis``): those are RETIRED, every other one is
ONLINE (an ARN bound to both kinds of name counts as current). A member the SDK adds later
appears automatically with its provider family's generic document (``_FAMILIES`` defaults); a
member of an unknown family is left out and listed in ``UNSUPPORTED`` (the catalogue test then
fails, naming it).

Region: the ARN's own region field; simulators (``quantum-simulator`` ARNs) have region None
and answer in every region. Old QPU ARNs without a region (Rigetti Aspen-8..11, D-Wave
Advantage_system1/3/4 and DW_2000Q_6) are served in us-west-1 (Rigetti) and us-west-2
(D-Wave), where those QPUs ran.

``deviceCapabilities`` documents follow ``braket.device_schema`` (each parses with
``BraketSchemaBase.parse_raw_schema``, as ``AwsDevice(arn).properties`` does), and
``deviceParameters`` carries the JSON schema of the provider's parameter class where one
exists. Figures with a public source agree with ``jobs/device_capabilities.py`` (which cites
them): SV1 34 qubits [0, 100000], DM1 17 [0, 150000], TN1 50, IonQ Forte 36 [100, 5000],
IQM Garnet 20, Emerald 54, AQT Ibex-Q1 12 [1, 2000], Rigetti Cepheus-1-108Q 108, Ankaa-3 84,
QuEra Aquila 256 sites [1, 1000]; prices are those of ``jobs/prices.json``. SV1/DM1 result
types follow the developer guide's "List of result types" (Amplitude and AdjointGradient on
SV1 only, DensityMatrix on DM1 only, StateVector on neither), and both require every qubit
to be measured, as the SDK's integration test ``test_measure.py`` expects of SV1.

Choices where no public figure is pinned:

* shots: IonQ (every device) [100, 5000]; IQM [1, 20000]; Rigetti (every device) [10, 100000];
  TN1 [0, 1000]; OQC [1, 100000]; D-Wave [1, 10000]; Xanadu [1, 1000000];
* qubits: IonQ Harmony 11, Aria-1/Aria-2 25; Rigetti Ankaa-2 84, Aspen-M-3 79, Aspen-M-1/M-2
  80, Aspen-11 40, Aspen-8/9/10 32; OQC Lucy 8; D-Wave Advantage 5760, DW_2000Q_6 2048;
  Borealis modes {spatial 1, concurrent 44, temporal_max 331};
* connectivity: IQM and Rigetti a nearest-neighbour square grid (Garnet 4x5, Emerald 6x9,
  Cepheus 9x12, Ankaa 7x12, Aspen 8 or 10 wide), qubits numbered from 0; IonQ and AQT fully
  connected; OQC Lucy a ring; D-Wave couplers a chain (the Pegasus/Chimera graph is not built);
* requiresAllQubitsMeasurement: IonQ and AQT True, IQM, Rigetti and OQC False;
* TN1 result types Sample (1..1000), Expectation, Variance, Probability (0..1000);
* a result type pragma (``braket_result_type_*``) is supported exactly when the device lists
  that result type, and forbidden otherwise;
* IQM devices have ``dynamic_circuits`` (mid-circuit measurement and feed-forward through
  experimental capabilities, SDK 1.94); no capabilities field declares it;
* the simulators advertise ``getTaskPollIntervalMillis`` of 100 so that SDK polling
  (``AwsQuantumTask.result()``) stays fast in tests.

QPUs that take OpenQASM execute on the noise-free ``braket_sv`` backend, Aquila's AHS programs
on the local AHS simulator ``braket_ahs`` (``ahs.py``); the D-Wave annealers and Borealis
(Blackbird) have backend None.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from braket.device_schema.dwave import (
    Dwave2000QDeviceParameters,
    DwaveAdvantageDeviceParameters,
    DwaveDeviceParameters,
)
from braket.device_schema.ionq import IonqDeviceParameters
from braket.device_schema.iqm import IqmDeviceParameters
from braket.device_schema.oqc import OqcDeviceParameters
from braket.device_schema.rigetti import RigettiDeviceParameters
from braket.device_schema.simulators import GateModelSimulatorDeviceParameters
from braket.device_schema.xanadu import XanaduDeviceParameters
from braket.devices import Devices, LocalSimulator

OPENQASM = "braket.ir.openqasm.program"
AHS = "braket.ir.ahs.program"
ANNEALING = "braket.ir.annealing.problem"
BLACKBIRD = "braket.ir.blackbird.program"
QPU_PARADIGM = "braket.device_schema.gate_model_qpu_paradigm_properties"
UPDATED_AT = "2025-01-15T12:00:00"


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
    dynamic_circuits: bool = False  # mid-circuit measurement / feed-forward (experimental capabilities)

    @property
    def shots_range(self) -> tuple[int, int]:
        low, high = self.capabilities["service"]["shotsRange"]
        return int(low), int(high)

    @property
    def actions(self) -> set[str]:
        return set(self.capabilities["action"])

    @property
    def qubit_count(self) -> int | None:
        """``paradigm.qubitCount`` (gate model, AHS sites), D-Wave's ``provider.qubitCount``,
        None for a device with neither (Borealis counts modes)."""
        for section in ("paradigm", "provider"):
            count = (self.capabilities.get(section) or {}).get("qubitCount")
            if count is not None:
                return int(count)
        return None

    def summary(self, status: str | None = None) -> dict[str, str]:
        """DeviceSummary (SearchDevices) shape."""
        return {"deviceArn": self.arn, "deviceName": self.name, "providerName": self.provider,
                "deviceType": self.type, "deviceStatus": status or self.status}


# ---------------------------------------------------------------------- document pieces
def _header(name: str, version: str = "1") -> dict[str, str]:
    return {"name": name, "version": version}


def _schema(parameters: Any) -> dict[str, Any]:
    return json.loads(parameters.schema_json())


def _service(shots: tuple[int, int], price: float, unit: str, location: str,
             poll_ms: int | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {
        "braketSchemaHeader": _header("braket.device_schema.device_service_properties"),
        "executionWindows": [
            {"executionDay": "Everyday", "windowStartHour": "00:00", "windowEndHour": "23:59"}],
        "shotsRange": list(shots),
        "deviceCost": {"price": price, "unit": unit},
        "deviceLocation": location,
        "updatedAt": UPDATED_AT,
    }
    if poll_ms:
        service["getTaskPollIntervalMillis"] = poll_ms
    return service


# Result type (capabilities name) -> the suffix of its ``braket_result_type_*`` pragma.
_RESULT_PRAGMAS = {"Sample": "sample", "Expectation": "expectation", "Variance": "variance",
                   "Probability": "probability", "Amplitude": "amplitude",
                   "StateVector": "state_vector", "DensityMatrix": "density_matrix",
                   "AdjointGradient": "adjoint_gradient"}
_WITH_OBSERVABLES = {"Sample", "Expectation", "Variance", "AdjointGradient"}
SIMULATOR_OBSERVABLES = ["x", "y", "z", "h", "i", "hermitian"]
QPU_OBSERVABLES = ["x", "y", "z", "h", "i"]
_NOISE_PRAGMAS = [f"braket_noise_{n}" for n in (
    "amplitude_damping", "bit_flip", "depolarizing", "kraus", "pauli_channel",
    "generalized_amplitude_damping", "phase_flip", "phase_damping", "two_qubit_dephasing",
    "two_qubit_depolarizing")]

ResultTypes = tuple[tuple[str, int, int], ...]  # (name, minShots, maxShots)


def _result_types(spec: ResultTypes, observables: list[str]) -> list[dict[str, Any]]:
    return [{"name": name, **({"observables": observables} if name in _WITH_OBSERVABLES else {}),
             "minShots": low, "maxShots": high} for name, low, high in spec]


def _pragmas(supported: list[str], forbidden: list[str],
             spec: ResultTypes) -> tuple[list[str], list[str]]:
    """A result type pragma is supported exactly when its result type is listed."""
    listed = [f"braket_result_type_{_RESULT_PRAGMAS[name]}" for name, _, _ in spec]
    unlisted = [f"braket_result_type_{p}" for p in _RESULT_PRAGMAS.values()
                if f"braket_result_type_{p}" not in listed]
    kept = [p for p in supported if p not in unlisted]
    return (kept + [p for p in listed if p not in kept],
            [p for p in forbidden if p not in listed] + [p for p in unlisted if p not in forbidden])


def _grid(qubits: int, cols: int | None = None) -> dict[str, list[str]]:
    """Nearest-neighbour square lattice of ``qubits`` qubits, ``cols`` wide (default: as square
    as it gets), in the connectivityGraph format ("q": ["n", ...])."""
    cols = cols or math.ceil(math.sqrt(qubits))
    graph: dict[str, list[str]] = {}
    for q in range(qubits):
        nbrs = [n for n, ok in ((q + 1, (q + 1) % cols != 0), (q + cols, True)) if ok and n < qubits]
        if nbrs:
            graph[str(q)] = [str(n) for n in nbrs]
    return graph


def _ring(qubits: int) -> dict[str, list[str]]:
    return {str(q): [str((q + 1) % qubits)] for q in range(qubits)}


# ---------------------------------------------------------------------- per-device figures
@dataclass(frozen=True)
class Spec:
    """The figures one device's document is built from (its family supplies the rest)."""

    qubits: int
    shots: tuple[int, int]
    price: float
    cols: int | None = None  # grid width (IQM, Rigetti)
    native: tuple[str, ...] = ()
    result_types: ResultTypes = ()  # simulators: the managed simulator's own list
    extra: dict[str, Any] = field(default_factory=dict)


def _sim_spec(qubits: int, high: int, price: float, result_types: ResultTypes,
              backend: str = "braket_sv") -> Spec:
    return Spec(qubits, (0, high), price, result_types=result_types, extra={"backend": backend})


_SV1_RESULTS: ResultTypes = (("Sample", 1, 100000), ("Expectation", 0, 100000),
                             ("Variance", 0, 100000), ("Probability", 0, 100000),
                             ("Amplitude", 0, 0), ("AdjointGradient", 0, 0))
_DM1_RESULTS: ResultTypes = (("Sample", 1, 150000), ("Expectation", 0, 150000),
                             ("Variance", 0, 150000), ("Probability", 0, 150000),
                             ("DensityMatrix", 0, 0))
_TN1_RESULTS: ResultTypes = (("Sample", 1, 1000), ("Expectation", 0, 1000),
                             ("Variance", 0, 1000), ("Probability", 0, 1000))
_ARIA = ("gpi", "gpi2", "ms")
_ASPEN = ("rx", "rz", "cz", "cphaseshift", "xy")

# Family (the ARN's provider field) -> device (the ARN's last field) -> figures.
_KNOWN: dict[str, dict[str, Spec]] = {
    "amazon": {
        "sv1": _sim_spec(34, 100000, 0.075, _SV1_RESULTS),
        "dm1": _sim_spec(17, 150000, 0.075, _DM1_RESULTS, backend="braket_dm"),
        "tn1": _sim_spec(50, 1000, 0.275, _TN1_RESULTS),
    },
    "ionq": {
        "Forte-1": Spec(36, (100, 5000), 0.08),
        "Forte-Enterprise-1": Spec(36, (100, 5000), 0.08),
        "Aria-1": Spec(25, (100, 5000), 0.03, native=_ARIA),
        "Aria-2": Spec(25, (100, 5000), 0.03, native=_ARIA),
        "Harmony": Spec(11, (100, 5000), 0.01, native=_ARIA),
    },
    "iqm": {
        "Garnet": Spec(20, (1, 20000), 0.00145, cols=5),
        "Emerald": Spec(54, (1, 20000), 0.0016, cols=9),
    },
    "aqt": {"Ibex-Q1": Spec(12, (1, 2000), 0.0235)},
    "rigetti": {
        "Cepheus-1-108Q": Spec(108, (10, 100000), 0.0009, cols=12),
        "Ankaa-3": Spec(84, (10, 100000), 0.0009, cols=12),
        "Ankaa-2": Spec(84, (10, 100000), 0.0009, cols=12),
        "Aspen-M-3": Spec(79, (10, 100000), 0.00035, cols=10, native=_ASPEN),
        "Aspen-M-2": Spec(80, (10, 100000), 0.00035, cols=10, native=_ASPEN),
        "Aspen-M-1": Spec(80, (10, 100000), 0.00035, cols=10, native=_ASPEN),
        "Aspen-11": Spec(40, (10, 100000), 0.00035, cols=8, native=_ASPEN),
        "Aspen-10": Spec(32, (10, 100000), 0.00035, cols=8, native=_ASPEN),
        "Aspen-9": Spec(32, (10, 100000), 0.00035, cols=8, native=_ASPEN),
        "Aspen-8": Spec(32, (10, 100000), 0.00035, cols=8, native=_ASPEN),
    },
    "quera": {"Aquila": Spec(256, (1, 1000), 0.01)},
    "d-wave": {"DW_2000Q_6": Spec(2048, (1, 10000), 0.00019, extra={"topology": "chimera"})},
    "oqc": {"Lucy": Spec(8, (1, 100000), 0.00035)},
    "xanadu": {"Borealis": Spec(0, (1, 1000000), 0.00022)},  # photonic: modes, no qubits
}


# ---------------------------------------------------------------------- family builders
def _simulator(spec: Spec) -> dict[str, Any]:
    """SV1/DM1/TN1: the local backend's own OpenQASM action block (operations, modifiers,
    pragmas), with the managed simulator's qubit count, shots, result types and price."""
    local = json.loads(LocalSimulator(spec.extra["backend"]).properties.json(exclude_none=True))
    action = local["action"][OPENQASM]
    supported, forbidden = _pragmas(action["supportedPragmas"], action["forbiddenPragmas"],
                                     spec.result_types)
    action |= {"supportedPragmas": supported, "forbiddenPragmas": forbidden,
               "requiresAllQubitsMeasurement": True,
               "supportedResultTypes": _result_types(spec.result_types, SIMULATOR_OBSERVABLES)}
    return {
        "braketSchemaHeader": _header(
            "braket.device_schema.simulators.gate_model_simulator_device_capabilities"),
        "service": _service(spec.shots, spec.price, "minute", "us-east-1", poll_ms=100),
        "action": {OPENQASM: action},
        "paradigm": {"braketSchemaHeader": _header(
            "braket.device_schema.simulators.gate_model_simulator_paradigm_properties"),
            "qubitCount": spec.qubits},
        "deviceParameters": _schema(GateModelSimulatorDeviceParameters),
    }


def _qpu_action(operations: list[str], spec: Spec, requires_all: bool,
                physical: bool) -> dict[str, Any]:
    low, high = max(1, spec.shots[0]), spec.shots[1]
    result_types = tuple((name, low, high)
                         for name in ("Sample", "Expectation", "Variance", "Probability"))
    supported, forbidden = _pragmas(["verbatim"], ["braket_unitary_matrix", *_NOISE_PRAGMAS],
                                    result_types)
    return {OPENQASM: {
        "version": ["1"], "actionType": OPENQASM, "supportedOperations": operations,
        "supportedModifiers": [], "supportedPragmas": supported,
        "forbiddenPragmas": forbidden, "supportPhysicalQubits": physical,
        "requiresAllQubitsMeasurement": requires_all, "supportsPartialVerbatimBox": False,
        "disabledQubitRewiringSupported": physical,
        "supportedResultTypes": _result_types(result_types, QPU_OBSERVABLES),
    }}


def _gate_qpu(schema: str, location: str, operations: list[str], native: tuple[str, ...],
              connectivity: Callable[[Spec], dict[str, Any]], parameters: Any,
              requires_all: bool, physical: bool, version: str = "1"
              ) -> Callable[[Spec], dict[str, Any]]:
    def build(spec: Spec) -> dict[str, Any]:
        return {
            "braketSchemaHeader": _header(schema, version),
            "service": _service(spec.shots, spec.price, "shot", location),
            "action": _qpu_action(operations, spec, requires_all, physical),
            "paradigm": {"braketSchemaHeader": _header(QPU_PARADIGM),
                         "qubitCount": spec.qubits, "nativeGateSet": list(spec.native or native),
                         "connectivity": connectivity(spec)},
            "deviceParameters": _schema(parameters) if parameters else {},
        }
    return build


def _full(_spec: Spec) -> dict[str, Any]:
    return {"fullyConnected": True, "connectivityGraph": {}}


def _lattice(spec: Spec) -> dict[str, Any]:
    return {"fullyConnected": False, "connectivityGraph": _grid(spec.qubits, spec.cols)}


def _ring_of(spec: Spec) -> dict[str, Any]:
    return {"fullyConnected": False, "connectivityGraph": _ring(spec.qubits)}


_BASIC_OPS = ["ccnot", "cnot", "cphaseshift", "cswap", "cy", "cz", "h", "i", "iswap",
              "phaseshift", "pswap", "rx", "ry", "rz", "s", "si", "swap", "t", "ti", "v", "vi",
              "x", "y", "z"]
_IONQ_OPS = ["x", "y", "z", "rx", "ry", "rz", "h", "cnot", "s", "si", "t", "ti", "v", "vi",
             "xx", "yy", "zz", "swap"]
_RIGETTI_OPS = ["cz", "xy", "ccnot", "cnot", "cphaseshift", "cphaseshift00", "cphaseshift01",
                "cphaseshift10", "cswap", "h", "i", "iswap", "phaseshift", "pswap", "rx", "ry",
                "rz", "s", "si", "swap", "t", "ti", "x", "y", "z"]
_IQM_OPS = sorted({*_BASIC_OPS, "cphaseshift00", "cphaseshift01", "cphaseshift10", "ecr", "xy",
                   "xx", "yy", "zz", "prx"})
_AQT_OPS = ["cnot", "cz", "h", "i", "prx", "rx", "ry", "rz", "s", "si", "swap", "t", "ti", "v",
            "vi", "x", "xx", "y", "z"]
_OQC_OPS = ["ccnot", "cnot", "cphaseshift", "cswap", "cy", "cz", "ecr", "h", "i", "phaseshift",
            "rx", "ry", "rz", "s", "si", "swap", "t", "ti", "v", "vi", "x", "y", "z"]


def _aqt(spec: Spec) -> dict[str, Any]:
    """AQT requires provider (characterisation) and standardized (v3) sections."""
    doc = _gate_qpu("braket.device_schema.aqt.aqt_device_capabilities", "Innsbruck, Austria",
                    _AQT_OPS, ("prx", "rz", "xx"), _full, None, True, False)(spec)
    fidelity = {"value": 99.97, "uncertainty": 0.01}
    doc["provider"] = {
        "braketSchemaHeader": _header("braket.device_schema.aqt.aqt_provider_properties"),
        "properties": {
            "single_qubit_gate_fidelity": {str(q): fidelity for q in range(spec.qubits)},
            "mean_two_qubit_gate_fidelity": {"value": 97.5, "uncertainty": 0.5},
            "spam_fidelity_lower_bound": 99.5,
            "t2_coherence_time_s": {"value": 0.1, "uncertainty": 0.01},
            "t1_s": {"value": 1.168, "uncertainty": 0.007},
            "readout_time_micros": 300.0, "single_qubit_gate_duration_micros": 15.0,
            "two_qubit_gate_duration_micros": 200.0, "updated_at": UPDATED_AT}}
    rb = {"name": "RANDOMIZED_BENCHMARKING", "description": None}
    doc["standardized"] = {
        "braketSchemaHeader": _header(
            "braket.device_schema.standardized_gate_model_qpu_device_properties", "3"),
        "oneQubitProperties": {str(q): {"oneQubitFidelity": [
            {"fidelityType": rb, "fidelity": 0.9997, "unit": "fraction"}]}
            for q in range(spec.qubits)},
        "T1": {"value": 1.168, "standardError": None, "unit": "s"},
        "T2": {"value": 0.1, "standardError": None, "unit": "s"},
        "twoQubitGateFidelity": [{"fidelityType": rb, "fidelity": 0.975, "unit": "fraction"}],
        "updatedAt": UPDATED_AT}
    return doc


def _quera(spec: Spec) -> dict[str, Any]:
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
        "service": _service(spec.shots, spec.price, "shot", "Boston, Massachusetts"),
        "action": {AHS: {"version": ["1"], "actionType": AHS}},
        "paradigm": {
            "braketSchemaHeader": _header(
                "braket.device_schema.quera.quera_ahs_paradigm_properties"),
            "qubitCount": spec.qubits,
            "lattice": {"area": {"width": 7.5e-5, "height": 7.6e-5},
                        "geometry": {"spacingRadialMin": 4e-6, "spacingVerticalMin": 4e-6,
                                     "positionResolution": 1e-7, "numberSitesMax": spec.qubits}},
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


def _dwave(spec: Spec) -> dict[str, Any]:
    """An annealer: no paradigm section; its qubits and couplers are provider properties."""
    chimera = spec.extra.get("topology") == "chimera"
    parameters = Dwave2000QDeviceParameters if chimera else DwaveAdvantageDeviceParameters
    return {
        "braketSchemaHeader": _header("braket.device_schema.dwave.dwave_device_capabilities"),
        "service": _service(spec.shots, spec.price, "shot", "British Columbia, Canada"),
        "action": {ANNEALING: {"version": ["1"], "actionType": ANNEALING}},
        "provider": {
            "braketSchemaHeader": _header("braket.device_schema.dwave.dwave_provider_properties"),
            "annealingOffsetStep": 1.45e-4, "annealingOffsetStepPhi0": 1.43e-5,
            "annealingOffsetRanges": [[-0.7, 0.7]] * 4,
            "annealingDurationRange": [0.5, 2000.0], "couplers": [
                [q, q + 1] for q in range(spec.qubits - 1)],
            "defaultAnnealingDuration": 20, "defaultProgrammingThermalizationDuration": 1000,
            "defaultReadoutThermalizationDuration": 0, "extendedJRange": [-2.0, 1.0],
            "hGainScheduleRange": [-4.0, 4.0], "hRange": [-4.0, 4.0], "jRange": [-1.0, 1.0],
            "maximumAnnealingSchedulePoints": 12, "maximumHGainSchedulePoints": 20,
            "perQubitCouplingRange": [-18.0, 15.0],
            "programmingThermalizationDurationRange": [0, 10000],
            "qubits": list(range(spec.qubits)), "qubitCount": spec.qubits,
            "quotaConversionRate": 1.0, "readoutThermalizationDurationRange": [0, 10000],
            "taskRunDurationRange": [0, 1000000],
            "topology": ({"type": "chimera", "shape": [16, 16, 4]} if chimera
                         else {"type": "pegasus", "shape": [16]}),
        },
        "deviceParameters": _schema(parameters),
    }


def _xanadu(spec: Spec) -> dict[str, Any]:
    """Borealis: a photonic (continuous-variable) device taking Blackbird programs."""
    angle = [[-math.pi / 2, math.pi / 2]]
    return {
        "braketSchemaHeader": _header("braket.device_schema.xanadu.xanadu_device_capabilities"),
        "service": _service(spec.shots, spec.price, "shot", "Toronto, Canada"),
        "action": {BLACKBIRD: {"version": ["1"], "actionType": BLACKBIRD,
                               "supportedOperations": ["Sgate", "Rgate", "BSgate", "MeasureFock"],
                               "supportedResultTypes": []}},
        "paradigm": {
            "braketSchemaHeader": _header(
                "braket.device_schema.continuous_variable_qpu_paradigm_properties"),
            "modes": {"spatial": 1, "concurrent": 44, "temporal_max": 331},
            "layout": "name template_borealis\nversion 1.0\ntarget borealis (shots=1)\n",
            "compiler": ["borealis"], "supportedLanguages": ["blackbird:1.0"],
            "compilerDefault": "borealis", "target": "borealis",
            "nativeGateSet": ["s", "r0", "bs0", "r1", "bs1", "r2", "bs2", "m"],
            "gateParameters": {"s": [[0.0, 2.0]], "r0": angle, "bs0": [[0.0, math.pi / 2]],
                               "r1": angle, "bs1": [[0.0, math.pi / 2]], "r2": angle,
                               "bs2": [[0.0, math.pi / 2]]},
        },
        "deviceParameters": _schema(XanaduDeviceParameters),
    }


@dataclass(frozen=True)
class Family:
    """What every device of one provider (the ARN's provider field) shares."""

    provider: str  # providerName, as Braket spells it
    build: Callable[[Spec], dict[str, Any]]
    default: Spec  # figures of a device the SDK adds after this table was written
    backend: str | None = "braket_sv"
    legacy_region: str | None = None  # where a QPU whose ARN has no region is served
    dynamic_circuits: bool = False


_FAMILIES: dict[str, Family] = {
    "amazon": Family("Amazon Braket", _simulator, _sim_spec(34, 100000, 0.075, _SV1_RESULTS[:4])),
    "ionq": Family("IonQ", _gate_qpu(
        "braket.device_schema.ionq.ionq_device_capabilities", "Maryland, USA", _IONQ_OPS,
        ("gpi", "gpi2", "zz"), _full, IonqDeviceParameters, True, False),
        Spec(36, (100, 5000), 0.08)),
    "iqm": Family("IQM", _gate_qpu(
        "braket.device_schema.iqm.iqm_device_capabilities", "Espoo, Finland", _IQM_OPS,
        ("cz", "prx"), _lattice, IqmDeviceParameters, False, True),
        Spec(20, (1, 20000), 0.00145), dynamic_circuits=True),
    "aqt": Family("AQT", _aqt, Spec(12, (1, 2000), 0.0235)),
    "rigetti": Family("Rigetti", _gate_qpu(
        "braket.device_schema.rigetti.rigetti_device_capabilities", "California, USA",
        _RIGETTI_OPS, ("rx", "rz", "iswap"), _lattice, RigettiDeviceParameters, False, True),
        Spec(84, (10, 100000), 0.0009, cols=12), legacy_region="us-west-1"),
    "quera": Family("QuEra", _quera, Spec(256, (1, 1000), 0.01), backend="braket_ahs"),
    "d-wave": Family("D-Wave Systems", _dwave, Spec(5760, (1, 10000), 0.00019), backend=None,
                     legacy_region="us-west-2"),
    "oqc": Family("Oxford", _gate_qpu(
        "braket.device_schema.oqc.oqc_device_capabilities", "Reading, UK", _OQC_OPS,
        ("ecr", "i", "rz", "v", "x"), _ring_of, OqcDeviceParameters, False, True),
        Spec(8, (1, 100000), 0.00035)),
    "xanadu": Family("Xanadu", _xanadu, Spec(0, (1, 1000000), 0.00022), backend=None),
}

_ARN = re.compile(r"arn:aws:braket:([a-z0-9-]*)::device/(qpu|quantum-simulator)/([^/]+)/([^/]+)")


def sdk_devices(devices: type = Devices) -> dict[str, bool]:
    """ARN -> retired, for every member of every provider class of ``devices`` (the public
    aliases and the underscored classes alike); an ARN is retired when every name bound to
    it starts with an underscore."""
    found: dict[str, bool] = {}
    for group in vars(devices).values():
        if isinstance(group, type) and issubclass(group, enum.Enum):
            for name, member in group.__members__.items():
                arn = str(member.value)
                found[arn] = found.get(arn, True) and name.startswith("_")
    return found


def _display_name(family: str, name: str) -> str:
    if family == "amazon":
        return name.upper()
    return name.replace("-", " ") if family == "ionq" else name


def _device(arn: str, retired: bool) -> Device:
    """The catalogue entry of one SDK ARN; KeyError (with the reason) if its family is unknown."""
    match = _ARN.fullmatch(arn)
    if match is None:
        raise KeyError(f"not a Braket device ARN: {arn}")
    region, kind, family_name, name = match.groups()
    family = _FAMILIES.get(family_name)
    if family is None:
        raise KeyError(f"unknown device family {family_name!r}")
    spec = _KNOWN.get(family_name, {}).get(name, family.default)
    simulator = kind == "quantum-simulator"
    if not simulator and not region:
        if family.legacy_region is None:
            raise KeyError(f"QPU ARN without a region and no known region for {family_name!r}")
        region = family.legacy_region
    backend = spec.extra.get("backend", family.backend)
    return Device(arn, _display_name(family_name, name), family.provider,
                  "SIMULATOR" if simulator else "QPU", "RETIRED" if retired else "ONLINE",
                  None if simulator else region, backend, family.build(spec),
                  dynamic_circuits=family.dynamic_circuits)


def catalogue(devices: type = Devices) -> tuple[dict[str, Device], dict[str, str]]:
    """(devices by ARN, unsupported ARN -> reason) for the SDK enum container ``devices``."""
    out: dict[str, Device] = {}
    unsupported: dict[str, str] = {}
    for arn, retired in sdk_devices(devices).items():
        try:
            out[arn] = _device(arn, retired)
        except KeyError as missing:
            unsupported[arn] = str(missing.args[0])
    return out, unsupported


DEVICES: dict[str, Device]
"""Device table keyed by ARN."""
UNSUPPORTED: dict[str, str]
"""SDK ARNs left out of the catalogue (unknown family), with the reason; empty when complete."""
DEVICES, UNSUPPORTED = catalogue()
