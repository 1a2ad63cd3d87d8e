import pytest
from hypothesis import given

from schemas import AuditEvent, Classification, decode, personal_fields, pseudonymise
from schemas.audit import AUDIT_ACTIONS
from tests.strategies.schemas import audit_events
from tests.unit.schemas.helpers import audit, decode_error, encode, failing_fields


@given(audit_events())
def test_round_trip(event: AuditEvent) -> None:
    assert decode(event.model_dump_json().encode(), "audit.sovereignty") == event


def test_classification_is_ordered() -> None:
    levels = [Classification("secret"), Classification.PUBLIC, Classification.RESTRICTED]
    assert sorted(levels) == [
        Classification.PUBLIC,
        Classification.RESTRICTED,
        Classification.SECRET,
    ]
    assert Classification.INTERNAL < Classification.RESTRICTED <= Classification.RESTRICTED
    assert Classification.SECRET > Classification.PUBLIC
    assert not Classification.SECRET < Classification.INTERNAL
    with pytest.raises(TypeError):
        _ = Classification.SECRET < "public"


def test_decoded_classifications_compare() -> None:
    event = decode(encode(audit()), "audit")
    assert isinstance(event, AuditEvent) and event.actor.clearance is not None
    assert event.classification is Classification.RESTRICTED
    assert event.classification <= event.actor.clearance


@pytest.mark.parametrize("missing", ["source_country", "destination_country", "classification"])
def test_data_movement_requires_where_and_what(missing: str) -> None:
    error = decode_error(audit(**{missing: None}), "audit")
    assert [(i.field, i.constraint) for i in error.issues] == [(missing, "required_when")]


def test_data_movement_requires_a_dataset_or_model() -> None:
    assert failing_fields(audit(dataset_id=None), "audit") == {"dataset_id"}
    assert decode(encode(audit(dataset_id=None, model_id="llm-70b")), "audit")


def test_key_use_and_approval_requirements() -> None:
    assert failing_fields(audit(action="key_use"), "audit") == {"key_id"}
    assert failing_fields(audit(action="approval_granted"), "audit") == {"approval_ref"}
    ok = audit(action="approval_granted", approval_ref="CHG-1234", justification="DR drill")
    assert decode(encode(ok), "audit").approval_ref == "CHG-1234"  # type: ignore[union-attr]


def test_admin_session_needs_no_data_fields() -> None:
    doc = audit(action="admin_session_start", dataset_id=None, classification=None)
    doc |= {"source_country": None, "destination_country": None, "session_id": "s-1"}
    assert decode(encode(doc), "audit").action == "admin_session_start"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action", "data_deleted"),
        ("classification", "top_secret"),
        ("destination_country", "EU"),
        ("outcome", "maybe"),
        ("encrypted", "yes"),
        ("actor", "u-42"),
        ("actor.nationality", "ZZ"),
        ("actor.clearance", "cosmic"),
        ("actor.kind", "robot"),
    ],
)
def test_each_constraint_names_its_field(field: str, value: object) -> None:
    doc = audit()
    if field.startswith("actor."):
        doc["actor"] = doc["actor"] | {field.removeprefix("actor."): value}
    else:
        doc[field] = value
    assert failing_fields(doc, "audit") == {field}


def test_all_ten_actions_exist() -> None:
    assert len(AUDIT_ACTIONS) == 10


def test_unknown_fields_rejected_also_nested() -> None:
    assert failing_fields(audit(extra_note="x"), "audit") == {"extra_note"}
    doc = audit()
    doc["actor"] = doc["actor"] | {"email": "a@b.c"}
    assert failing_fields(doc, "audit") == {"actor.email"}


def test_actor_id_is_personal_and_pseudonymised() -> None:
    assert personal_fields(AuditEvent) == ("actor.id",)
    event = decode(encode(audit()), "audit")
    masked = pseudonymise(event, lambda v: "p-" + v[::-1])
    assert masked.actor.id == "p-24-u"  # type: ignore[union-attr]
    assert masked.actor.nationality == "DE"  # type: ignore[union-attr]


def test_bad_actor_id_value_withheld() -> None:
    doc = audit()
    doc["actor"] = doc["actor"] | {"id": "jane doe"}
    issue = decode_error(doc, "audit").issues[0]
    assert (issue.field, issue.value) == ("actor.id", None)
