import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import (
    FAMILY_MODELS,
    DecodeError,
    Event,
    UnknownFamilyError,
    decode,
    family_of,
)
from tests.strategies.schemas import events, json_values
from tests.unit.schemas.helpers import audit, decode_error, encode, gpu, physical, power


@given(events())
def test_union_decode_picks_the_family(event: Event) -> None:
    decoded = decode(event.model_dump_json().encode())
    assert type(decoded) is type(event) and decoded == event


@pytest.mark.parametrize("doc", [gpu(), power(), physical(), audit()])
def test_topic_and_family_name_resolve_the_same(doc: dict[str, Any]) -> None:
    family = doc["family"]
    topic = {
        "gpu": "telemetry.gpu",
        "power": "telemetry.power",
        "physical": "security.physical",
        "audit": "audit.sovereignty",
    }[family]
    assert decode(encode(doc), topic) == decode(encode(doc), family) == decode(encode(doc))
    assert isinstance(decode(encode(doc)), FAMILY_MODELS[family])


def test_custom_topic_map() -> None:
    assert family_of("site7.gpu", {"site7.gpu": "gpu"}) == "gpu"
    assert decode(encode(gpu()), "site7.gpu", topics={"site7.gpu": "gpu"}).family == "gpu"


def test_unknown_topic_is_a_wiring_error() -> None:
    with pytest.raises(UnknownFamilyError, match=r"telemetry\.fan"):
        decode(encode(gpu()), "telemetry.fan")


def test_family_on_wrong_topic_is_rejected() -> None:
    error = decode_error(power(), "telemetry.gpu")
    assert "family" in {i.field for i in error.issues}


def test_family_may_be_omitted_when_the_topic_says_it() -> None:
    doc = gpu()
    del doc["family"]
    assert decode(encode(doc), "telemetry.gpu").family == "gpu"
    assert decode_error(doc).issues[0].constraint.startswith("union_tag_not_found")


@pytest.mark.parametrize(
    ("raw", "constraint"),
    [
        (b"", "json_invalid"),
        (b"\xff\xfe\x00garbage", "json_invalid"),
        (b'{"a": 1', "json_invalid"),
        (b"[]", "dict_type"),
        (b"42", "dict_type"),
        (b"null", "dict_type"),
        (b'"gpu"', "dict_type"),
        (b'{"family": "fan"}', "union_tag_invalid"),
        (b"{}", "union_tag_not_found"),
    ],
)
def test_garbage_gives_one_clean_error(raw: bytes, constraint: str) -> None:
    error = decode_error(raw)
    assert error.issues and error.issues[0].constraint.split()[0] == constraint
    assert error.reason.startswith("invalid ") and "\n" not in error.reason


def test_non_bytes_input_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="JSON input should be"):
        decode(None, "gpu")  # type: ignore[arg-type]


def test_decode_error_lists_every_field() -> None:
    error = decode_error(gpu(gpu_util_pct=101, fb_used_mib=-1, country="XX"), "gpu")
    assert {i.field for i in error.issues} == {"gpu_util_pct", "fb_used_mib", "country"}
    assert "and 2 more" in error.reason


def _assert_clean(raw: bytes, family: str | None) -> None:
    try:
        decode(raw, family)
    except DecodeError as exc:
        assert exc.reason and "\n" not in exc.reason
        assert exc.issues, "every DecodeError names at least one issue"
        assert all(i.constraint != "internal_error" for i in exc.issues), exc.reason


FAMILIES = st.sampled_from([None, "gpu", "power", "physical", "audit"])


@settings(max_examples=300)
@given(st.binary(max_size=300), FAMILIES)
def test_random_bytes_never_raise_anything_else(raw: bytes, family: str | None) -> None:
    _assert_clean(raw, family)


@settings(max_examples=300)
@given(json_values, FAMILIES)
def test_random_json_never_raises_anything_else(value: Any, family: str | None) -> None:
    _assert_clean(json.dumps(value).encode(), family)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.data())
def test_one_field_replaced_by_random_json(event: Event, data: st.DataObject) -> None:
    doc = json.loads(event.model_dump_json())
    field = data.draw(st.sampled_from(sorted(doc)))
    doc[field] = data.draw(json_values)
    _assert_clean(json.dumps(doc).encode(), data.draw(FAMILIES))


@settings(max_examples=200)
@given(events(), st.data())
def test_truncated_events_are_clean_errors(event: Event, data: st.DataObject) -> None:
    raw = event.model_dump_json().encode()
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(DecodeError):
        decode(raw[:cut], event.family)
