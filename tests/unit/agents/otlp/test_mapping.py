"""OTLP metrics -> GPU samples: the same samples, ids and values as the dcgm-exporter adapter
reads from the same page, in otlp_proto and otlp_json; what maps to nothing is counted per
metric name and logged once per name and minute, never rejected."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric

from agents import metrics
from agents.otlp import OtlpAdapter
from agents.otlp.mapping import samples_of
from schemas.dcgm import parse_exposition
from tests.unit.agents.otlp.requests import (
    TARGET,
    TS_NS,
    gauge,
    otlp_json,
    page,
    proto,
    request_of,
    with_metric,
)

TS = datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
GPU0 = {"gpu": "0", "UUID": "GPU-0", "Hostname": "n1"}


def native(name: str) -> list[dict[str, object]]:
    scrape = parse_exposition(page(name), site_id="fra-1", country="DE", source="otelcol:t", ts=TS)
    return [sample.model_dump() for sample in scrape.samples]


def unmapped(name: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "sovwatch_otlp_unmapped_points_total", {"metric": name}
    )
    return value or 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("fixture", ["dcgm_h100_node.prom", "dcgm_a100_mig_k8s.prom"])
@pytest.mark.parametrize(("encoding", "encode"), [("otlp_proto", proto), ("otlp_json", otlp_json)])
def test_the_samples_are_those_of_the_dcgm_exporter_adapter(
    fixture: str, encoding: str, encode: object
) -> None:
    raw = encode(request_of(page(fixture)))  # type: ignore[operator]
    decoded = OtlpAdapter(encoding).decode(raw)  # type: ignore[arg-type]
    assert not decoded.rejected
    assert [s.model_dump() for s in decoded.samples] == native(fixture)
    assert len(decoded.samples) >= 3


def test_a_replayed_request_gives_the_same_event_ids() -> None:
    raw = proto(request_of(page("dcgm_h100_node.prom")))
    first, again = OtlpAdapter("otlp_proto").decode(raw), OtlpAdapter("otlp_proto").decode(raw)
    assert [s.event_id for s in first.samples] == [s.event_id for s in again.samples]
    assert len({s.event_id for s in first.samples}) == len(first.samples)


def test_unmapped_data_points_are_counted_per_name_and_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = request_of(page("dcgm_h100_node.prom"))
    with_metric(request, gauge("DCGM_FI_PROF_SM_ACTIVE", 0.5, GPU0 | TARGET))
    with_metric(request, gauge("up", 1.0, TARGET))
    histogram = Metric(name="DCGM_FI_DEV_GPU_TEMP")  # a mapped name, of a kind that is not
    histogram.histogram.data_points.add(time_unix_nano=TS_NS, count=1)
    with_metric(request, histogram)
    raw = proto(request)
    clock = Clock()
    adapter = OtlpAdapter("otlp_proto", clock)
    before = {name: unmapped(name) for name in ("DCGM_FI_PROF_SM_ACTIVE", "up")}
    with caplog.at_level(logging.WARNING, logger="agents.otlp.mapping"):
        decoded = adapter.decode(raw)
        adapter.decode(raw)
        clock.now = 61.0
        adapter.decode(raw)
    assert not decoded.rejected and len(decoded.samples) == 4
    assert decoded.unmapped["DCGM_FI_PROF_SM_ACTIVE"] == 1 and decoded.unmapped["up"] == 1
    assert decoded.unmapped["DCGM_FI_DEV_GPU_TEMP"] == 1
    assert unmapped("DCGM_FI_PROF_SM_ACTIVE") - before["DCGM_FI_PROF_SM_ACTIVE"] == 3
    assert unmapped("up") - before["up"] == 3
    logged = [r.getMessage().split()[2] for r in caplog.records]
    assert logged.count("DCGM_FI_PROF_SM_ACTIVE") == 2  # at 0 s and at 61 s, not at 0 s again
    assert "up" not in logged  # the receiver's own scrape report: counted, not logged


def test_a_stale_marker_is_skipped() -> None:
    request = request_of("")
    with_metric(request, gauge("DCGM_FI_DEV_GPU_TEMP", 50.0, GPU0 | TARGET, flags=1))
    assert samples_of(request).samples == ()


def test_resource_attributes_fill_what_the_series_do_not_say() -> None:
    labels = {"gpu": "0", "UUID": "GPU-0", "pod": "from-the-series"} | TARGET
    request = request_of("", resource={"host.name": "node-7", "k8s.pod.name": "exporter-pod"})
    with_metric(request, gauge("DCGM_FI_DEV_GPU_TEMP", 50.0, labels))
    [sample] = samples_of(request).samples
    assert (sample.node, sample.k8s_pod, sample.gpu_temp_c) == ("node-7", "from-the-series", 50)
    assert (sample.site_id, sample.country, sample.source) == ("fra-1", "DE", "otelcol:t")


def test_data_points_without_a_site_are_rejected_saying_how_to_set_it() -> None:
    request = request_of(page("dcgm_h100_node.prom"), target={"country": "DE"})
    decoded = samples_of(request)
    assert decoded.samples == ()
    [rejected] = decoded.rejected
    assert "no site_id attribute" in rejected.error.reason
    assert "otelcol-config" in rejected.error.reason


def test_one_bad_gpu_is_rejected_and_the_others_kept() -> None:
    request = request_of(page("dcgm_h100_node.prom"))
    with_metric(request, gauge("DCGM_FI_DEV_GPU_UTIL", 250.0, GPU0 | TARGET))
    decoded = samples_of(request)
    assert len(decoded.samples) == 4
    [rejected] = decoded.rejected
    assert rejected.key == "n1/GPU-0"
    assert rejected.error.issues[0].field == "gpu_util_pct"
