import pytest
from hypothesis import given

from schemas import PhysicalEvent, decode, personal_fields, pseudonymise
from schemas.physical import BADGE_KINDS, DEVICE_KINDS, PHYSICAL_KINDS
from tests.strategies.schemas import physical_events
from tests.unit.schemas.helpers import decode_error, encode, failing_fields, physical


@given(physical_events())
def test_round_trip(event: PhysicalEvent) -> None:
    assert decode(event.model_dump_json().encode(), "security.physical") == event


def test_all_twelve_kinds_exist() -> None:
    assert len(PHYSICAL_KINDS) == 12
    assert {"door_forced_open", "tailgating", "duress", "antipassback"} <= set(PHYSICAL_KINDS)


@pytest.mark.parametrize("kind", sorted(BADGE_KINDS))
def test_badge_required_for_badge_kinds(kind: str) -> None:
    error = decode_error(physical(kind=kind, badge_id=None), "physical")
    assert [(i.field, i.constraint) for i in error.issues] == [("badge_id", "required_when")]
    assert kind in error.reason


@pytest.mark.parametrize("kind", sorted(DEVICE_KINDS))
def test_device_required_for_device_kinds(kind: str) -> None:
    assert failing_fields(physical(kind=kind), "physical") == {"device_id"}


def test_door_forced_open_needs_no_badge() -> None:
    event = decode(
        encode(physical(kind="door_forced_open", badge_id=None, holder=None)), "physical"
    )
    assert event.kind == "door_forced_open"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "door_opened"),
        ("zone_type", "floor"),
        ("zone_id", ""),
        ("duration_s", -1.0),
        ("direction", "up"),
        ("badge_id", 1234),
    ],
)
def test_each_constraint_names_its_field(field: str, value: object) -> None:
    assert failing_fields(physical(**{field: value}), "physical") == {field}


def test_unknown_fields_are_rejected() -> None:
    error = decode_error(physical(employee_email="jane@example.org"), "physical")
    assert [(i.field, i.constraint) for i in error.issues] == [
        ("employee_email", "extra_forbidden")
    ]


def test_personal_fields_listed() -> None:
    assert personal_fields(PhysicalEvent) == ("badge_id", "holder")


def test_personal_values_withheld_from_errors() -> None:
    error = decode_error(physical(holder="x" * 300), "physical")
    assert error.issues[0].field == "holder"
    assert error.issues[0].value is None
    assert "xxx" not in error.reason


def test_pseudonymise_replaces_only_personal_fields() -> None:
    event = decode(encode(physical()), "physical")
    masked = pseudonymise(event, lambda value: "p-" + str(len(value)))
    assert (masked.badge_id, masked.holder) == ("p-6", "p-8")  # type: ignore[union-attr]
    assert masked.model_dump(exclude={"badge_id", "holder"}) == event.model_dump(
        exclude={"badge_id", "holder"}
    )
