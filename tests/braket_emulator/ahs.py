"""Analog Hamiltonian simulation on QuEra Aquila: checked against the device's properties,
run on the SDK's local AHS simulator (``braket_ahs``).

At CreateQuantumTask a program is validated by the local simulator's own validators
(``braket.analog_hamiltonian_simulator.rydberg.validators``, their warnings about values outside
the "typical" range taken as refusals) with Aquila's limits read from its capabilities document (``paradigm.lattice`` and ``paradigm.rydberg.rydbergGlobal``): the area
atoms may occupy, the minimum spacing, the longest program, the Rabi frequency and detuning
ranges. Local detuning limits are the local simulator's (the catalogue declares no
``rydbergLocal``). The local simulator integrates the Schrödinger equation over every
configuration of the filled sites, so the test service runs at most ``MAX_FILLED_SITES`` atoms
(2**10 states, well under a second); a larger program Aquila itself would take is refused with a
message that says it is this service's limit.
"""

from __future__ import annotations

import warnings
from decimal import Decimal

from braket.analog_hamiltonian_simulator.rydberg.constants import capabilities_constants
from braket.analog_hamiltonian_simulator.rydberg.validators.capabilities_constants import CapabilitiesConstants
from braket.analog_hamiltonian_simulator.rydberg.validators.ir_validator import validate_program
from braket.ir.ahs import Program

from .devices import Device

MAX_FILLED_SITES = 10


class AhsRefused(ValueError):
    """The program breaks a limit of the device (or of this service); the ValidationException's message."""


def limits_of(device: Device) -> CapabilitiesConstants:
    """The validators' constants from ``device``'s capabilities document."""
    paradigm = device.capabilities["paradigm"]
    area, geometry = paradigm["lattice"]["area"], paradigm["lattice"]["geometry"]
    rydberg = paradigm["rydberg"]["rydbergGlobal"]
    local = capabilities_constants()
    return local.copy(update={
        "BOUNDING_BOX_SIZE_X": Decimal(str(area["width"])),
        "BOUNDING_BOX_SIZE_Y": Decimal(str(area["height"])),
        "MIN_DISTANCE": Decimal(str(geometry["spacingRadialMin"])),
        "MAX_TIME": Decimal(str(rydberg["timeMax"])),
        "GLOBAL_AMPLITUDE_VALUE_MIN": Decimal(str(rydberg["rabiFrequencyRange"][0])),
        "GLOBAL_AMPLITUDE_VALUE_MAX": Decimal(str(rydberg["rabiFrequencyRange"][1])),
        "GLOBAL_DETUNING_VALUE_MIN": Decimal(str(rydberg["detuningRange"][0])),
        "GLOBAL_DETUNING_VALUE_MAX": Decimal(str(rydberg["detuningRange"][1])),
    })


def check(device: Device, action: str) -> Program:
    """The program of ``action``, or ``AhsRefused`` naming what ``device`` (or this service) refuses."""
    try:
        program = Program.parse_raw(action)
    except Exception as exc:  # pydantic.ValidationError
        raise AhsRefused(f"Invalid AHS program: {exc}") from None
    try:
        with warnings.catch_warnings():
            # The validators only warn about a value outside the "typical" range (an area, a
            # spacing, a duration, a field strength); for a device those are limits.
            warnings.simplefilter("error", UserWarning)
            validate_program(program, limits_of(device))
    except (ValueError, UserWarning) as exc:  # pydantic's errors carry the validators' reasons
        raise AhsRefused(f"AHS program invalid for {device.arn}: {' '.join(str(exc).split())}") from None
    filled = sum(program.setup.ahs_register.filling)
    if filled > MAX_FILLED_SITES:
        raise AhsRefused(f"The test service simulates at most {MAX_FILLED_SITES} filled sites; the program "
                         f"fills {filled} (Aquila itself takes up to {device.qubit_count})")
    return program

