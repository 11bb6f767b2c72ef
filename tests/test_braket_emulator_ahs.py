"""Analog Hamiltonian simulation on the test service's QuEra Aquila, through the unmodified SDK:
programs built with ``braket.ahs`` and discretized with the device's own properties run on the
SDK's local AHS simulator; what Aquila's properties refuse is a ValidationException."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError

from braket.ahs.analog_hamiltonian_simulation import AnalogHamiltonianSimulation
from braket.ahs.atom_arrangement import AtomArrangement
from braket.ahs.driving_field import DrivingField
from braket.devices import LocalSimulator
from braket.timings.time_series import TimeSeries

from tests.braket_emulator import results
from tests.braket_emulator.ahs import MAX_FILLED_SITES
from tests.test_braket_emulator_results import BUCKET, POLL_SECONDS, _device, sdk  # noqa: F401 - its service

AQUILA = "arn:aws:braket:us-east-1::device/qpu/quera/Aquila"


def _program(sites: list[tuple[float, float]], duration: float = 3e-6, rabi: float = 1.5e7) -> AnalogHamiltonianSimulation:
    """An adiabatic sweep into the ordered phase (QuEra's standard example): ramp the drive up,
    sweep the detuning from -50 to +50 MHz, ramp down."""
    register = AtomArrangement()
    for site in sites:
        register.add(site)
    ramp = 3e-7
    amplitude = TimeSeries().put(0, 0).put(ramp, rabi).put(duration - ramp, rabi).put(duration, 0)
    detuning = TimeSeries().put(0, -5e7).put(ramp, -5e7).put(duration - ramp, 5e7).put(duration, 5e7)
    phase = TimeSeries().put(0, 0).put(duration, 0)
    return AnalogHamiltonianSimulation(register=register, hamiltonian=DrivingField(amplitude, phase, detuning))


CHAIN = [(i * 6.1e-6, 0.0) for i in range(3)]  # inside the blockade radius: neighbours never both excited


def test_an_ahs_program_runs_on_aquila_as_on_the_local_simulator(sdk):
    aquila = _device(AQUILA)
    program = _program(CHAIN).discretize(aquila)
    task = aquila.run(program, shots=200, s3_destination_folder=(BUCKET, "ahs"), poll_interval_seconds=POLL_SECONDS)
    counts = task.result().get_counts()
    assert sum(counts.values()) == 200 and all(re.fullmatch("[rge]{3}", state) for state in counts)
    local = LocalSimulator("braket_ahs").run(program, shots=200).result().get_counts()
    # The ordered phase: 99% of 2,000 local shots end in rgr (neighbours inside the blockade radius).
    assert max(counts, key=counts.get) == max(local, key=local.get) == "rgr"
    [key] = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="ahs/")["Contents"]]
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    results.check(body, 200)  # the stored document is what the SDK reads
    assert json.loads(body)["taskMetadata"]["deviceId"] == AQUILA


@pytest.mark.parametrize("sites, duration, shots, message", [
    ([(0.0, 0.0), (80e-6, 0.0)], 3e-6, 100, "AHS program invalid for .*Aquila"),  # outside the 75 um area
    ([(0.0, 0.0), (2e-6, 0.0)], 3e-6, 100, "AHS program invalid for .*Aquila"),  # closer than 4 um
    (CHAIN, 5e-6, 100, "AHS program invalid for .*Aquila"),  # longer than timeMax, 4 us
    (CHAIN, 3e-6, 1001, f"Shot count should be between 1 and 1000 on {AQUILA}"),
    ([(i * 6.1e-6, j * 6.1e-6) for i in range(4) for j in range(3)], 3e-6, 100,
     f"The test service simulates at most {MAX_FILLED_SITES} filled sites; the program fills 12"),
], ids=["outside the area", "too close", "too long", "too many shots", "more atoms than the service simulates"])
def test_what_aquila_refuses(sdk, sites, duration, shots, message):
    before = len(sdk.tasks())
    program = _program(sites, duration)  # not discretized: the service judges what is sent
    with pytest.raises(ClientError) as info:
        _device(AQUILA).run(program, shots=shots, s3_destination_folder=(BUCKET, "ahs-refused"))
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert re.search(message, info.value.response["Error"]["Message"]), info.value.response["Error"]["Message"]
    assert len(sdk.tasks()) == before
