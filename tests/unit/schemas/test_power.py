from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import PowerReading, PueError, decode, pue_between, pue_from_energy
from tests.strategies.schemas import power_readings
from tests.unit.schemas.helpers import decode_error, encode, power


@given(power_readings())
def test_round_trip(reading: PowerReading) -> None:
    assert decode(reading.model_dump_json().encode(), "telemetry.power") == reading


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scope", "building"),
        ("scope_id", ""),
        ("power_w", -1.0),
        ("energy_kwh", -0.5),
        ("voltage_v", -230.0),
        ("current_a", -1.0),
        ("humidity_pct", 100.1),
        ("inlet_temp_c", 151.0),
        ("outlet_temp_c", -51.0),
        ("it_energy_kwh", "12"),
        ("facility_energy_kwh", -1.0),
    ],
)
def test_each_constraint_names_its_field(field: str, value: object) -> None:
    assert [i.field for i in decode_error(power(**{field: value}), "power").issues] == [field]


def test_unknown_fields_are_ignored() -> None:
    assert decode(encode(power(phase="L1")), "power").model_dump().get("phase") is None


def test_pue_from_energy() -> None:
    assert pue_from_energy(1350.0, 1000.0) == pytest.approx(1.35)
    assert pue_from_energy(1000.0, 1000.0) == 1.0


@pytest.mark.parametrize(
    ("facility", "it", "match"),
    [
        (900.0, 1000.0, "< 1"),
        (100.0, 0.0, "must be > 0"),
        (100.0, -5.0, "must be > 0"),
        (float("nan"), 10.0, "finite"),
        (10.0, float("inf"), "finite"),
    ],
)
def test_pue_from_energy_rejects(facility: float, it: float, match: str) -> None:
    with pytest.raises(PueError, match=match):
        pue_from_energy(facility, it)


@given(st.floats(1, 1e9), st.floats(1, 1e3))
def test_pue_is_at_least_one_when_defined(it: float, ratio: float) -> None:
    assert pue_from_energy(it * ratio, it) >= 1 - 1e-12


def _site(ts: datetime, facility: float | None, it: float | None, **extra: object) -> PowerReading:
    doc = power(scope="site", scope_id="fra-1", ts=ts.isoformat(), event_id=f"e{ts.hour}")
    doc |= {"facility_energy_kwh": facility, "it_energy_kwh": it} | extra
    reading = decode(encode(doc), "power")
    assert isinstance(reading, PowerReading)
    return reading


def test_pue_between_two_readings() -> None:
    start = _site(datetime(2025, 1, 1, 0, tzinfo=UTC), 10_000.0, 8_000.0)
    end = _site(datetime(2025, 1, 1, 12, tzinfo=UTC), 11_400.0, 9_000.0)
    assert pue_between(start, end) == pytest.approx(1.4)


def test_pue_between_rejects_bad_pairs() -> None:
    t0, t1 = datetime(2025, 1, 1, 0, tzinfo=UTC), datetime(2025, 1, 1, 1, tzinfo=UTC)
    start = _site(t0, 100.0, 80.0)
    with pytest.raises(PueError, match="later"):
        pue_between(start, _site(t0, 120.0, 90.0))
    with pytest.raises(PueError, match="backwards"):
        pue_between(start, _site(t1, 90.0, 90.0))
    with pytest.raises(PueError, match="need facility"):
        pue_between(start, _site(t1, 120.0, None))
    with pytest.raises(PueError, match="different scopes"):
        pue_between(start, _site(t1, 120.0, 90.0, scope_id="hall-1", scope="hall"))
    with pytest.raises(PueError, match=r"must be > 0"):
        pue_between(start, _site(t1, 120.0, 80.0))
    with pytest.raises(PueError, match="< 1"):
        pue_between(start, _site(t1, 101.0, 90.0))
