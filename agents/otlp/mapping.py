"""OTLP metrics -> `GpuSample`s, with the dcgm-exporter adapter's tables (`schemas.dcgm`).

An OpenTelemetry Collector's prometheus receiver turns each scraped series into a data point:
the metric keeps its DCGM name (`DCGM_FI_DEV_GPU_TEMP`), the series' labels (`Hostname`, `gpu`,
`UUID`, ...) and the scrape config's target labels (`site_id`, `country`, `source`, written by
`sovwatch collect otelcol-config`) become its attributes. The data points of one resource and
one timestamp are one scrape: they go through `schemas.dcgm.samples_from_series`, exactly as a
dcgm-exporter page does, so the samples, tags and event ids are those of the native path.

Resource attributes are labels the data points may override: `host.name` is the node,
`k8s.pod.name` / `k8s.namespace.name` / `k8s.container.name` the workload, and `site_id`,
`country`, `source` if a processor set them there. A data point whose metric maps to nothing
(another DCGM field, the receiver's `up` and `scrape_*`, a histogram) is counted per name, never
dead-lettered; a stale marker (flag "no recorded value") is skipped.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric, NumberDataPoint

from agents import metrics
from agents.log_throttle import LogThrottle
from agents.otlp.request import Encoding, parse_request
from agents.telegraf.metric import bad
from schemas.dcgm import METRIC_FIELDS, RejectedGpu, SampleEnvelope, samples_from_series
from schemas.gpu import GpuSample

log = logging.getLogger(__name__)

RESOURCE_LABELS: Final[Mapping[str, str]] = {
    "host.name": "hostname",
    "k8s.pod.name": "pod",
    "k8s.namespace.name": "namespace",
    "k8s.container.name": "container",
    "site_id": "site_id",
    "country": "country",
    "source": "source",
}
"""Resource attribute -> the exporter label it stands for (`schemas.dcgm.LABEL_FIELDS` maps
those), or an envelope label."""
SCRAPE_REPORT: Final[frozenset[str]] = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
    | {"scrape_samples_post_metric_relabeling", "scrape_series_added"}
)
"""What the prometheus receiver adds to every scrape: counted like any unmapped metric, not
logged (they arrive with every scrape by design)."""
DEFAULT_SOURCE: Final = "otelcol"
NO_RECORDED_VALUE: Final = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_UNMAPPED_NAMES: Final = 256
"""Distinct metric names labelled in the unmapped counter; the rest are counted as `_other`."""

Series = tuple[str, dict[str, str], float]


@dataclass(frozen=True)
class OtlpSamples:
    """What one request gave: samples, rejected GPUs, unmapped data points per metric name."""

    samples: tuple[GpuSample, ...]
    rejected: tuple[RejectedGpu, ...] = ()
    unmapped: Mapping[str, int] = field(default_factory=dict)


class OtlpAdapter:
    """Kafka bytes of one OTLP metrics request -> GPU samples (or a `DecodeError` if the record
    is not a request at all); counts and logs what maps to nothing."""

    def __init__(self, encoding: Encoding, clock: Callable[[], float] = time.monotonic) -> None:
        self.encoding: Encoding = encoding
        self._logged = LogThrottle(60.0, clock)
        self._counted: set[str] = set()

    def decode(self, raw: bytes) -> OtlpSamples:
        decoded = samples_of(parse_request(raw, self.encoding))
        for name, points in decoded.unmapped.items():
            self._count_unmapped(name, points)
        return decoded

    def _count_unmapped(self, name: str, points: int) -> None:
        name = name[:200]
        if name not in self._counted and len(self._counted) >= MAX_UNMAPPED_NAMES:
            label = "_other"
        else:
            self._counted.add(name)
            label = name
        metrics.OTLP_UNMAPPED_POINTS.labels(metric=label).inc(points)
        if name not in SCRAPE_REPORT and self._logged.due(name):
            log.warning(
                "OTLP metric %s maps to no GPU sample field: %d data points counted in "
                "sovwatch_otlp_unmapped_points_total, not stored (this is logged once a minute)",
                name,
                points,
            )


def samples_of(request: ExportMetricsServiceRequest) -> OtlpSamples:
    """The samples of every resource and timestamp of `request`."""
    scrapes: dict[tuple[str, str, str, int], list[Series]] = {}
    unmapped: Counter[str] = Counter()
    for resource_metrics in request.resource_metrics:
        base = _renamed(attributes(resource_metrics.resource.attributes), RESOURCE_LABELS)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                points = number_points(metric)
                if metric.name not in METRIC_FIELDS or points is None:
                    unmapped[metric.name] += point_count(metric)
                    continue
                for point in points:
                    if point.flags & NO_RECORDED_VALUE:
                        continue
                    labels = base | attributes(point.attributes)
                    key = (
                        labels.get("site_id", ""),
                        labels.get("country", ""),
                        labels.get("source", DEFAULT_SOURCE),
                        point.time_unix_nano,
                    )
                    scrapes.setdefault(key, []).append((metric.name, labels, _value(point)))
    samples: list[GpuSample] = []
    rejected: list[RejectedGpu] = []
    for (site_id, country, source, ts_ns), series in scrapes.items():
        missing = _missing(site_id, country, ts_ns)
        if missing is not None:
            rejected.append(missing)
            continue
        envelope: SampleEnvelope = {
            "site_id": site_id, "country": country, "source": source, "ts": from_unix_nano(ts_ns)
        }  # fmt: skip
        scrape = samples_from_series(series, envelope)
        samples += scrape.samples
        rejected += scrape.rejected
    return OtlpSamples(tuple(samples), tuple(rejected), dict(unmapped))


def number_points(metric: Metric) -> Iterable[NumberDataPoint] | None:
    """A gauge's or a sum's data points; None for any other kind (histogram, summary, ...)."""
    kind = metric.WhichOneof("data")
    if kind == "gauge":
        return metric.gauge.data_points
    if kind == "sum":
        return metric.sum.data_points
    return None


def point_count(metric: Metric) -> int:
    kind = metric.WhichOneof("data")
    return 0 if kind is None else len(getattr(metric, kind).data_points)


def attributes(pairs: Iterable[KeyValue]) -> dict[str, str]:
    """OTLP attributes as Prometheus-style string labels (scalars only)."""
    labels: dict[str, str] = {}
    for pair in pairs:
        kind = pair.value.WhichOneof("value")
        if kind == "string_value":
            labels[pair.key] = pair.value.string_value
        elif kind in ("int_value", "bool_value", "double_value"):
            labels[pair.key] = str(getattr(pair.value, kind))
    return labels


def from_unix_nano(ns: int) -> datetime:
    """An OTLP timestamp as UTC, to the microsecond (Prometheus scrapes are in milliseconds)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def _renamed(labels: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    return {names[key]: value for key, value in labels.items() if key in names}


def _value(point: NumberDataPoint) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _missing(site_id: str, country: str, ts_ns: int) -> RejectedGpu | None:
    """Why the data points of one scrape cannot make samples, if they cannot."""
    hint = "set it as a target label of the scrape (`sovwatch collect otelcol-config` does)"
    for name, value in (("site_id", site_id), ("country", country)):
        if not value:
            error = bad(f"OTLP data points have no {name} attribute: {hint}", name, "missing")
            return RejectedGpu(f"scrape at {ts_ns} ns", error)
    if ts_ns == 0:
        error = bad("OTLP data points have no time_unix_nano", "time_unix_nano", "missing")
        return RejectedGpu(f"scrape of {site_id}", error)
    return None
