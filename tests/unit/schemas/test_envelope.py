from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas import GpuSample, decode
from schemas.country import COUNTRY_CODES
from tests.unit.schemas.helpers import ENVELOPE, decode_error, encode, failing_fields, gpu


def test_country_list_is_the_249_assigned_codes() -> None:
    assert len(COUNTRY_CODES) == 249
    assert {"DE", "FR", "US", "SG", "AE", "GB"} <= COUNTRY_CODES
    assert "XK" not in COUNTRY_CODES and "UK" not in COUNTRY_CODES


def test_timestamp_is_normalised_to_utc() -> None:
    event = decode(encode(gpu(ts="2025-03-01T14:30:00+02:00")), "gpu")
    assert event.ts == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    assert event.ts.utcoffset() == timedelta(0)


def test_python_construction_normalises_too() -> None:
    local = datetime(2025, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    sample = GpuSample.model_validate({**gpu(), "ts": local}, strict=False)
    assert sample.ts.utcoffset() == timedelta(0) and sample.ts.hour == 12


@pytest.mark.parametrize("ts", ["2025-03-01T12:00:00", "2025-03-01 12:00:00"])
def test_naive_timestamp_rejected(ts: str) -> None:
    error = decode_error(gpu(ts=ts), "gpu")
    assert [i.field for i in error.issues] == ["ts"]
    assert error.issues[0].constraint == "timezone_aware"


def test_timestamp_out_of_range_in_utc_is_a_clean_error() -> None:
    issue = decode_error(gpu(ts="0001-01-01T00:00:00+01:00"), "gpu").issues[0]
    assert (issue.field, issue.constraint) == ("ts", "datetime_utc_range")


@pytest.mark.parametrize("version", ["1", "1.0", "1.7", "1.1234"])
def test_major_1_versions_accepted(version: str) -> None:
    assert decode(encode(gpu(schema_version=version)), "gpu").schema_version == version


@pytest.mark.parametrize("version", ["2", "2.0", "0.9", "10.1"])
def test_other_major_versions_rejected_clearly(version: str) -> None:
    error = decode_error(gpu(schema_version=version), "gpu")
    assert error.issues[0].field == "schema_version"
    assert error.issues[0].constraint.startswith("schema_version_unsupported")
    assert "major version" in error.reason and version in error.reason


@pytest.mark.parametrize("version", ["v1", "1.x", "", "1.0.0", 1])
def test_malformed_versions_rejected(version: object) -> None:
    assert failing_fields(gpu(schema_version=version), "gpu") == {"schema_version"}


def test_schema_version_defaults_to_current() -> None:
    doc = gpu()
    del doc["schema_version"]
    assert decode(encode(doc), "gpu").schema_version == "1.0"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "de"),
        ("country", "DEU"),
        ("site_id", ""),
        ("site_id", "has space"),
        ("site_id", "x" * 129),
        ("event_id", ""),
        ("source", "\n"),
        ("ts", 1740830400),
    ],
)
def test_envelope_constraints(field: str, value: object) -> None:
    assert failing_fields(gpu(**{field: value}), "gpu") == {field}


@pytest.mark.parametrize("field", sorted(ENVELOPE.keys() - {"schema_version"}))
def test_envelope_fields_required(field: str) -> None:
    doc = gpu()
    del doc[field]
    error = decode_error(doc, "gpu")
    assert [(i.field, i.constraint, i.value) for i in error.issues] == [(field, "missing", None)]


def test_models_are_frozen() -> None:
    sample = decode(encode(gpu()), "gpu")
    with pytest.raises(ValueError, match="frozen"):
        sample.site_id = "other"
