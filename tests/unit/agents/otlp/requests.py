"""OTLP requests as an OpenTelemetry Collector's prometheus receiver builds them from a
dcgm-exporter page: one resource per target, a gauge or a sum per metric family, a data point
per series whose attributes are the series' labels plus the scrape's target labels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, NumberDataPoint
from prometheus_client.parser import text_string_to_metric_families

FIXTURES = Path(__file__).parents[2] / "schemas" / "fixtures"
TS_NS = 1_740_830_400_123_000_000  # 2025-03-01T12:00:00.123Z, a scrape's millisecond
TARGET = {"site_id": "fra-1", "country": "DE", "source": "otelcol:t"}
RESOURCE = {"service.name": "dcgm-exporter", "service.instance.id": "node:9400"}


def page(name: str) -> str:
    return (FIXTURES / name).read_text()


def pairs(labels: Mapping[str, str | int]) -> list[KeyValue]:
    out = []
    for key, value in labels.items():
        any_value = (
            AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
        )
        out.append(KeyValue(key=key, value=any_value))
    return out


def request_of(
    text: str,
    target: Mapping[str, str] = TARGET,
    resource: Mapping[str, str] = RESOURCE,
    ts_ns: int = TS_NS,
) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    resource_metrics.resource.attributes.extend(pairs(resource))
    scope = resource_metrics.scope_metrics.add()
    for family in text_string_to_metric_families(text):
        metric = scope.metrics.add(name=family.name)
        points = metric.sum.data_points if family.type == "counter" else metric.gauge.data_points
        for sample in family.samples:
            labels = {k: v for k, v in sample.labels.items() if v} | dict(target)
            points.add(
                time_unix_nano=ts_ns, as_double=float(sample.value), attributes=pairs(labels)
            )
    return request


def with_metric(request: ExportMetricsServiceRequest, metric: Metric) -> None:
    request.resource_metrics[0].scope_metrics[0].metrics.append(metric)


def gauge(name: str, value: float, labels: Mapping[str, str], flags: int = 0) -> Metric:
    metric = Metric(name=name)
    metric.gauge.data_points.append(
        NumberDataPoint(
            time_unix_nano=TS_NS, as_double=value, attributes=pairs(labels), flags=flags
        )
    )
    return metric


def proto(request: ExportMetricsServiceRequest) -> bytes:
    return request.SerializeToString()


def otlp_json(request: ExportMetricsServiceRequest) -> bytes:
    """OTLP's JSON encoding (lowerCamelCase keys, 64-bit integers as strings)."""
    return json_format.MessageToJson(request).encode()
