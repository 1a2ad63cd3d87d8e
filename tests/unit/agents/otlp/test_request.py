"""A record that is not an OTLP metrics request is one DecodeError, saying which encoding was
expected and where to set it."""

from __future__ import annotations

import pytest

from agents.otlp.request import parse_request
from schemas.errors import DecodeError
from tests.unit.agents.otlp.requests import otlp_json, page, proto, request_of

REQUEST = request_of(page("dcgm_h100_node.prom"))


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"\xff\xff\xff\xff", "otlp_proto"),  # a truncated varint
        (otlp_json(REQUEST), "otlp_proto"),  # JSON where protobuf was expected
        (b"", "otlp_proto"),  # parses, as an empty request: no exporter sends one
        (b"{not json", "otlp_json"),
        (proto(REQUEST), "otlp_json"),
        (b'{"resourceMetrics": "not a list"}', "otlp_json"),
        (b"[1, 2]", "otlp_json"),
    ],
)
def test_garbage_is_not_a_request(raw: bytes, encoding: str) -> None:
    with pytest.raises(DecodeError) as caught:
        parse_request(raw, encoding)  # type: ignore[arg-type]
    assert f"not an OTLP ExportMetricsServiceRequest in {encoding}" in caught.value.reason
    assert "SOVWATCH_OTLP__ENCODING" in caught.value.reason
    assert caught.value.issues[0].constraint == "otlp_format"


@pytest.mark.parametrize(("encode", "encoding"), [(proto, "otlp_proto"), (otlp_json, "otlp_json")])
def test_both_encodings_read_the_same_request(encode: object, encoding: str) -> None:
    assert parse_request(encode(REQUEST), encoding) == REQUEST  # type: ignore[arg-type, operator]
