"""One Kafka record of an OpenTelemetry Collector's kafka exporter -> `ExportMetricsServiceRequest`.

The exporter writes one request per record, encoded as its `encoding` setting says: `otlp_proto`
(protobuf) or `otlp_json` (OTLP's JSON mapping, which protobuf's JSON parser reads). A record
that is not a request, or a request with no resource metrics (an exporter never sends one; it is
what bytes of another format often parse to as protobuf), is a `DecodeError`: dead-lettered whole.
"""

from __future__ import annotations

from typing import Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from agents.telegraf.metric import bad
from schemas.errors import DecodeError

Encoding = Literal["otlp_proto", "otlp_json"]
HINT = "SOVWATCH_OTLP__ENCODING must match the collector's kafka exporter metrics encoding"


def parse_request(raw: bytes, encoding: Encoding) -> ExportMetricsServiceRequest:
    """The request in `raw`; `DecodeError` saying why not."""
    request = ExportMetricsServiceRequest()
    try:
        if encoding == "otlp_json":
            json_format.Parse(raw, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(raw)
    except (ProtobufDecodeError, json_format.ParseError, ValueError, RecursionError) as exc:
        raise not_a_request(encoding, str(exc) or type(exc).__name__) from None
    if not request.resource_metrics:
        raise not_a_request(encoding, "it holds no resource metrics")
    return request


def not_a_request(encoding: Encoding, why: str) -> DecodeError:
    """The DecodeError of a record that is not an OTLP metrics request."""
    return bad(
        f"not an OTLP ExportMetricsServiceRequest in {encoding}: {why[:300]} ({HINT})",
        "", "otlp_format",
    )  # fmt: skip
