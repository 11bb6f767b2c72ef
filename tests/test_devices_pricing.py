"""Device aliases from the Braket SDK, device refusals, the packaged price table and cost estimates."""

from __future__ import annotations

import datetime
import enum

import pytest
from braket.devices import Devices

from jobs.devices import LOCAL, Device, allowed_devices, known_devices, resolve_device
from jobs.errors import UsageError
from jobs.pricing import Estimate, check_cap, estimate, load_price_table
from stacks.config import ENVIRONMENTS

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
FORTE_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
ARIA_1 = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"  # retired: `_Aria1` in the SDK
DEV_STACK = (SV1, DM1)


def public_sdk_arns() -> set[str]:
    """Every public member of every public provider group of `braket.devices.Devices`."""
    return {
        str(member.value)
        for group_name, group in vars(Devices).items()
        if not group_name.startswith("_") and isinstance(group, type) and issubclass(group, enum.Enum)
        for member_name, member in group.__members__.items()
        if not member_name.startswith("_")
    }


@pytest.fixture
def fresh_devices():
    known_devices.cache_clear()
    yield
    known_devices.cache_clear()


# -- devices --------------------------------------------------------------------


def test_aliases_are_derived_from_the_sdk():
    devices = known_devices()
    assert {"sv1", "dm1", "forte-1", "forte-enterprise-1", "aquila", "garnet", "emerald"} <= set(devices)
    assert {d.arn for d in devices.values()} == public_sdk_arns()
    assert devices["sv1"] == Device("sv1", SV1, "simulator", "amazon", None)
    assert devices["forte-1"] == Device("forte-1", FORTE_1, "qpu", "ionq", "us-east-1")


def test_retired_sdk_devices_have_no_alias():
    devices = known_devices()
    assert not {"aria-1", "aria-2", "harmony", "aspen-m-3"} & set(devices)
    assert ARIA_1 not in {d.arn for d in devices.values()}


def test_two_devices_deriving_one_alias_fail_loudly(monkeypatch, fresh_devices):
    class FakeDevices:
        class IonQ(str, enum.Enum):
            Forte1 = FORTE_1

        class Acme(str, enum.Enum):
            Forte1 = "arn:aws:braket:us-west-2::device/qpu/acme/forte-1"

    monkeypatch.setattr("braket.devices.Devices", FakeDevices)
    with pytest.raises(RuntimeError, match="forte-1"):
        known_devices()


def test_resolve_by_alias_arn_and_local():
    allowed = (SV1, DM1, FORTE_1)
    assert resolve_device("local", ()) is LOCAL
    assert resolve_device("sv1", allowed).arn == SV1
    assert resolve_device("Forte-1", allowed).arn == FORTE_1
    by_arn = resolve_device(FORTE_1, allowed)
    assert (by_arn.alias, by_arn.kind, by_arn.provider, by_arn.region) == ("forte-1", "qpu", "ionq", "us-east-1")


def test_an_arn_the_sdk_does_not_know_is_accepted_when_allowed():
    new = "arn:aws:braket:us-west-2::device/qpu/acme/Zeta-9"
    expected = Device("zeta-9", new, "qpu", "acme", "us-west-2")
    assert resolve_device(new, (SV1, new)) == expected
    assert resolve_device("zeta-9", (SV1, new)) == expected


def test_unknown_alias_is_refused_naming_the_allowed_devices():
    with pytest.raises(UsageError, match="unknown device 'sv2'") as refused:
        resolve_device("sv2", DEV_STACK)
    message = str(refused.value)
    assert "local, sv1, dm1" in message and "\n" not in message


def test_a_malformed_arn_is_refused():
    with pytest.raises(UsageError, match="not a Braket device ARN"):
        resolve_device("arn:aws:braket:us-east-1::quantum-task/abc", DEV_STACK)


def test_a_device_the_stack_does_not_allow_is_refused():
    with pytest.raises(UsageError) as refused:
        resolve_device("forte-1", DEV_STACK)
    assert str(refused.value) == (
        f"device 'forte-1' ({FORTE_1}) is not allowed in this stack: allowed are local, sv1, dm1"
    )
    with pytest.raises(UsageError, match="not allowed in this stack"):
        resolve_device(FORTE_1, DEV_STACK)


def test_allowed_devices_list_local_first_then_the_stacks_devices():
    new = "arn:aws:braket:us-west-2::device/qpu/acme/Zeta-9"
    devices = allowed_devices((SV1, FORTE_1, new))
    assert [d.alias for d in devices] == ["local", "sv1", "forte-1", "zeta-9"]
    assert devices[0] is LOCAL
    assert allowed_devices(None) == [LOCAL]


# -- price table ----------------------------------------------------------------


def test_price_table_records_its_source_and_date():
    table = load_price_table()
    assert table["source"] == "https://aws.amazon.com/braket/pricing/"
    datetime.date.fromisoformat(table["retrieved"])  # raises unless an ISO date
    assert table["currency"] == "USD"
    assert "assum" in table["note"]


def test_every_public_sdk_device_has_a_price():
    table = load_price_table()
    for device in known_devices().values():
        section = "qpus" if device.kind == "qpu" else "simulators"
        assert device.arn in table[section], f"{device.alias} has no price in {section}"
        assert estimate(device, 1, 1000).usd > 0


def test_every_device_a_stack_allows_has_a_price():
    for config in ENVIRONMENTS.values():
        for device in allowed_devices(config.allowed_devices)[1:]:
            assert estimate(device, 1, 1).usd > 0, device.alias


def test_qpus_cost_per_task_plus_per_shot():
    table = load_price_table()
    assert {p["per_task"] for p in table["qpus"].values()} == {0.30}
    cost = estimate(known_devices()["forte-1"], 3, 100)
    assert cost == Estimate(FORTE_1, 3, 100, 24.90, "3 tasks x ($0.30 + 100 shots x $0.08)")
    assert cost.format() == "$24.90"
    assert estimate(known_devices()["garnet"], 1, 1000).breakdown == "1 task x ($0.30 + 1000 shots x $0.00145)"


def test_simulators_bill_the_assumed_runtime_but_at_least_the_minimum():
    sv1 = known_devices()["sv1"]
    assumed = estimate(sv1, 2, 1000)  # packaged: 10 s assumed, 3 s minimum, $0.075/min
    assert assumed.usd == pytest.approx(2 * 10 / 60 * 0.075)
    assert assumed.breakdown == "2 tasks x max(3 s minimum, 10 s assumed) at $0.075/min"
    assert estimate(sv1, 2, 100_000).usd == assumed.usd  # shots are not billed
    quick = {"simulators": {SV1: {"per_minute": 0.075, "minimum_billed_seconds": 3, "assumed_task_seconds": 1}}}
    assert estimate(sv1, 4, 1000, table=quick).usd == pytest.approx(4 * 3 / 60 * 0.075)


def test_the_local_simulator_is_free():
    cost = estimate(LOCAL, 50, 100_000)
    assert (cost.usd, cost.breakdown, cost.format()) == (0.0, "LocalSimulator: free", "$0.00")


def test_a_device_without_a_price_is_refused():
    with pytest.raises(UsageError, match="price table has no entry for forte-1"):
        estimate(known_devices()["forte-1"], 1, 10, table={"qpus": {}, "simulators": {}})
    retired = resolve_device(ARIA_1, (ARIA_1,))
    with pytest.raises(UsageError, match="no entry for aria-1"):
        estimate(retired, 1, 10)


def test_an_estimate_above_the_cap_is_refused():
    cost = estimate(known_devices()["forte-1"], 3, 100)
    check_cap(cost, 24.90)  # equal to the cap: allowed
    with pytest.raises(UsageError) as refused:
        check_cap(cost, 10)
    message = str(refused.value)
    assert message.startswith("estimated cost $24.90 exceeds --max-cost $10.00: 3 tasks x ($0.30")
    assert "\n" not in message
