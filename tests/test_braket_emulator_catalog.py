"""The emulator's device catalogue is the SDK's `braket.devices.Devices`, with documents the SDK parses.

Every test here reads documents or calls GetDevice/CreateQuantumTask; none runs a task.
"""

from __future__ import annotations

import enum
import json
import uuid
import warnings

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.aws import AwsDevice
from braket.devices import Devices
from braket.schema_common import BraketSchemaBase

from tests.braket_emulator import DEVICES
from tests.braket_emulator.devices import AHS, OPENQASM, UNSUPPORTED, catalogue
from tests.test_braket_emulator import BUCKET, emulator, s3_url  # noqa: F401 - the same fixtures

REGIONS = AwsDevice.REGIONS
SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
BELL = json.dumps({"braketSchemaHeader": {"name": OPENQASM, "version": "1"},
                   "source": "OPENQASM 3.0;\nbit[2] b;\nqubit[2] q;\nh q[0];\ncnot q[0], q[1];\n"
                             "b = measure q;", "inputs": {}})


def _qpu(provider: str, name: str, region: str = "") -> str:
    return f"arn:aws:braket:{region}::device/qpu/{provider}/{name}"


# Qubits (AHS: atom sites; D-Wave: provider.qubitCount) and shots; None: not pinned here.
EXPECTED = {
    SV1: (34, (0, 100_000)),
    DM1: (17, (0, 150_000)),
    "arn:aws:braket:::device/quantum-simulator/amazon/tn1": (50, None),
    _qpu("ionq", "Forte-1", "us-east-1"): (36, (100, 5000)),
    _qpu("ionq", "Forte-Enterprise-1", "us-east-1"): (36, (100, 5000)),
    _qpu("ionq", "Harmony", "us-east-1"): (11, None),
    _qpu("ionq", "Aria-1", "us-east-1"): (25, None),
    _qpu("ionq", "Aria-2", "us-east-1"): (25, None),
    _qpu("iqm", "Garnet", "eu-north-1"): (20, None),
    _qpu("iqm", "Emerald", "eu-north-1"): (54, None),
    _qpu("aqt", "Ibex-Q1", "eu-north-1"): (12, (1, 2000)),
    _qpu("rigetti", "Cepheus-1-108Q", "us-west-1"): (108, None),
    _qpu("rigetti", "Ankaa-3", "us-west-1"): (84, None),
    _qpu("rigetti", "Ankaa-2", "us-west-1"): (84, None),
    _qpu("rigetti", "Aspen-M-3", "us-west-1"): (79, None),
    _qpu("quera", "Aquila", "us-east-1"): (256, (1, 1000)),
}
CURRENT = {SV1, DM1, _qpu("aqt", "Ibex-Q1", "eu-north-1"), _qpu("iqm", "Garnet", "eu-north-1"),
           _qpu("iqm", "Emerald", "eu-north-1"), _qpu("ionq", "Forte-1", "us-east-1"),
           _qpu("ionq", "Forte-Enterprise-1", "us-east-1"), _qpu("quera", "Aquila", "us-east-1"),
           _qpu("rigetti", "Cepheus-1-108Q", "us-west-1")}
# The ARN's provider field -> the schema class `AwsDevice(arn).properties` is an instance of.
SCHEMA_CLASS = {"amazon": "GateModelSimulatorDeviceCapabilities", "ionq": "IonqDeviceCapabilities",
                "iqm": "IqmDeviceCapabilities", "aqt": "AqtDeviceCapabilities",
                "rigetti": "RigettiDeviceCapabilities", "quera": "QueraDeviceCapabilities",
                "d-wave": "DwaveDeviceCapabilities", "oqc": "OqcDeviceCapabilities",
                "xanadu": "XanaduDeviceCapabilities"}


def sdk_members(devices: type = Devices) -> dict[str, set[str]]:
    """ARN -> the member names bound to it, over every provider class (underscored ones too)."""
    found: dict[str, set[str]] = {}
    for group in vars(devices).values():
        if isinstance(group, type) and issubclass(group, enum.Enum):
            for name, member in group.__members__.items():
                found.setdefault(str(member.value), set()).add(name)
    return found


def family(arn: str) -> str:
    return arn.split("/")[-2]


@pytest.fixture
def braket(emulator):
    """One Braket client per region, all pointed at the emulator (the region is the SigV4 scope's)."""
    return {region: boto3.client("braket", endpoint_url=emulator.url, region_name=region)
            for region in REGIONS}


def home(arn: str) -> str:
    """A region the device answers in."""
    return DEVICES[arn].region or "us-east-1"


# -- the catalogue, offline ---------------------------------------------------------


def test_the_catalogue_is_every_arn_of_the_sdk_enum():
    assert UNSUPPORTED == {}, f"SDK devices of an unknown family (add it to _FAMILIES): {UNSUPPORTED}"
    assert set(DEVICES) == set(sdk_members())
    assert CURRENT | set(EXPECTED) <= set(DEVICES)


def test_retired_are_exactly_the_underscored_members():
    retired = {arn for arn, names in sdk_members().items() if all(n.startswith("_") for n in names)}
    assert {arn for arn, d in DEVICES.items() if d.status == "RETIRED"} == retired
    assert {arn for arn, d in DEVICES.items() if d.status == "ONLINE"} == set(DEVICES) - retired
    assert CURRENT <= set(DEVICES) - retired
    assert {"arn:aws:braket:::device/quantum-simulator/amazon/tn1", _qpu("rigetti", "Ankaa-3", "us-west-1"),
            _qpu("oqc", "Lucy", "eu-west-2"), _qpu("xanadu", "Borealis", "us-east-1")} <= retired
    assert {arn for arn in DEVICES if family(arn) == "d-wave"} <= retired


def test_regions_come_from_the_arn():
    for arn, device in DEVICES.items():
        region = arn.split(":")[3]
        if device.type == "SIMULATOR":
            assert device.region is None, arn
        elif region:
            assert device.region == region, arn
        else:  # old ARNs without a region: where those QPUs ran
            assert device.region == {"rigetti": "us-west-1", "d-wave": "us-west-2"}[family(arn)], arn
    assert DEVICES[_qpu("rigetti", "Aspen-8")].region == "us-west-1"
    assert DEVICES[_qpu("d-wave", "Advantage_system1")].region == "us-west-2"


@pytest.mark.parametrize("arn", sorted(DEVICES))
def test_every_document_parses_with_the_sdk_schema(arn):
    properties = BraketSchemaBase.parse_raw_schema(json.dumps(DEVICES[arn].capabilities))
    assert type(properties).__name__ == SCHEMA_CLASS[family(arn)]
    assert tuple(properties.service.shotsRange) == DEVICES[arn].shots_range


def test_published_figures():
    for arn, (qubits, shots) in EXPECTED.items():
        device = DEVICES[arn]
        assert device.qubit_count == qubits, arn
        assert shots is None or device.shots_range == shots, arn
    assert DEVICES[_qpu("quera", "Aquila", "us-east-1")].actions == {AHS}


def test_simulator_result_types_and_pragmas():
    sv1, dm1 = (DEVICES[arn].capabilities["action"][OPENQASM] for arn in (SV1, DM1))
    ranges = {name: {rt["name"]: (rt["minShots"], rt["maxShots"]) for rt in action["supportedResultTypes"]}
              for name, action in (("sv1", sv1), ("dm1", dm1))}
    assert ranges["sv1"] == {"Sample": (1, 100_000), "Expectation": (0, 100_000), "Variance": (0, 100_000),
                             "Probability": (0, 100_000), "Amplitude": (0, 0), "AdjointGradient": (0, 0)}
    assert ranges["dm1"] == {"Sample": (1, 150_000), "Expectation": (0, 150_000), "Variance": (0, 150_000),
                             "Probability": (0, 150_000), "DensityMatrix": (0, 0)}
    for action in (sv1, dm1):
        assert action["requiresAllQubitsMeasurement"] is True
        sample = next(rt for rt in action["supportedResultTypes"] if rt["name"] == "Sample")
        assert sample["observables"] == ["x", "y", "z", "h", "i", "hermitian"]
        assert "braket_result_type_state_vector" not in action["supportedPragmas"]
    assert "braket_result_type_adjoint_gradient" in sv1["supportedPragmas"]
    assert "braket_result_type_adjoint_gradient" not in sv1["forbiddenPragmas"]
    assert "braket_result_type_density_matrix" not in sv1["supportedPragmas"]
    assert "braket_result_type_amplitude" not in dm1["supportedPragmas"]
    assert "braket_result_type_density_matrix" in dm1["supportedPragmas"]
    assert "braket_noise_bit_flip" in sv1["forbiddenPragmas"] and "braket_noise_bit_flip" in dm1["supportedPragmas"]
    assert (DEVICES[SV1].backend, DEVICES[DM1].backend) == ("braket_sv", "braket_dm")


def test_qpu_openqasm_actions():
    requires_all = {"ionq": True, "aqt": True, "iqm": False, "rigetti": False}
    for arn, device in DEVICES.items():
        assert device.dynamic_circuits == (family(arn) == "iqm"), arn
        if device.type == "SIMULATOR":
            continue
        if OPENQASM not in device.actions:  # AHS runs on the local AHS simulator; nothing else runs
            assert device.backend == ("braket_ahs" if device.actions == {AHS} else None), arn
            continue
        assert device.backend == "braket_sv", arn
        action = device.capabilities["action"][OPENQASM]
        low, high = device.shots_range
        assert [(rt["name"], rt["minShots"], rt["maxShots"]) for rt in action["supportedResultTypes"]] == [
            (name, max(1, low), high) for name in ("Sample", "Expectation", "Variance", "Probability")], arn
        assert action["supportedResultTypes"][0]["observables"] == ["x", "y", "z", "h", "i"]
        if family(arn) in requires_all:
            assert action["requiresAllQubitsMeasurement"] is requires_all[family(arn)], arn


def test_a_new_sdk_member_appears_with_its_family_document():
    class FakeDevices:
        class _IonQ(str, enum.Enum):
            Forte1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
            Tempo1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Tempo-1"
            _Old = "arn:aws:braket:us-east-1::device/qpu/ionq/Old-1"

        class _IQM(str, enum.Enum):
            Sirius = "arn:aws:braket:eu-north-1::device/qpu/iqm/Sirius"

        class _Amazon(str, enum.Enum):
            SV2 = "arn:aws:braket:::device/quantum-simulator/amazon/sv2"

        class _NewCo(str, enum.Enum):
            Q1 = "arn:aws:braket:us-east-1::device/qpu/newco/Q1"

        IonQ = _IonQ

    devices, unsupported = catalogue(FakeDevices)
    assert set(devices) == {m.value for group in (FakeDevices._IonQ, FakeDevices._IQM, FakeDevices._Amazon)
                            for m in group}
    assert set(unsupported) == {FakeDevices._NewCo.Q1.value}
    tempo, old = devices[FakeDevices._IonQ.Tempo1.value], devices[FakeDevices._IonQ._Old.value]
    assert (tempo.status, tempo.name, tempo.region, old.status) == ("ONLINE", "Tempo 1", "us-east-1", "RETIRED")
    assert devices[FakeDevices._IQM.Sirius.value].dynamic_circuits
    for device in devices.values():
        BraketSchemaBase.parse_raw_schema(json.dumps(device.capabilities))


# -- through the emulator ------------------------------------------------------------


@pytest.mark.parametrize("arn", sorted(DEVICES))
def test_aws_device_reads_every_device(emulator, arn):
    expected = DEVICES[arn]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        device = AwsDevice(arn)
        properties = device.properties
    assert not [w for w in caught if "Unable to determine device capabilities" in str(w.message)]
    assert type(properties).__name__ == SCHEMA_CLASS[family(arn)]
    retired = all(name.startswith("_") for name in sdk_members()[arn])
    assert device.status == ("RETIRED" if retired else "ONLINE")
    assert device.aws_session.region == home(arn)
    assert (device.name, device.provider_name, device.type.value) == (expected.name, expected.provider, expected.type)
    if family(arn) == "d-wave":
        assert properties.provider.qubitCount == expected.qubit_count
    elif family(arn) == "xanadu":
        assert properties.paradigm.modes
    else:
        assert properties.paradigm.qubitCount == expected.qubit_count
    if arn in EXPECTED:
        assert expected.qubit_count == EXPECTED[arn][0]


def test_create_on_a_retired_device_is_refused(braket, emulator):
    retired = sorted(arn for arn, d in DEVICES.items() if d.status == "RETIRED")
    for arn in retired:
        with pytest.raises(ClientError) as info:
            braket[home(arn)].create_quantum_task(
                clientToken=str(uuid.uuid4()), deviceArn=arn, shots=100, action=BELL,
                outputS3Bucket=BUCKET, outputS3KeyPrefix="retired", deviceParameters="{}")
        assert info.value.response["Error"]["Code"] == "DeviceRetiredException", arn
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410, arn
    assert retired and emulator.tasks() == []


def test_a_regional_device_answers_only_in_its_region(braket, emulator):
    for arn, device in DEVICES.items():
        for region, client in braket.items():
            if device.region in (None, region):
                assert client.get_device(deviceArn=arn)["deviceStatus"] == device.status, (arn, region)
                continue
            with pytest.raises(ClientError) as info:
                client.get_device(deviceArn=arn)
            assert info.value.response["Error"]["Code"] == "ResourceNotFoundException", (arn, region)
    simulators = [arn for arn, d in DEVICES.items() if d.type == "SIMULATOR"]
    assert simulators and all(DEVICES[arn].region is None for arn in simulators)
    assert emulator.stats()["calls"]["GetDevice"] == len(DEVICES) * len(REGIONS)
