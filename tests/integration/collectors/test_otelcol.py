"""A real OpenTelemetry Collector feeds sovwatch: built from its Go modules
(docker/native/otelcol.sh), configured by `sovwatch collect otelcol-config`, its prometheus
receiver scrapes two dcgm-exporter pages (an H100 node; an A100 with MIG instances and
Kubernetes labels) and its kafka exporter produces OTLP metrics -> the native Kafka -> a real
worker -> InfluxDB. InfluxDB holds exactly the scraped values, with the tags and event ids the
native dcgm path gives the same pages; what maps to no field is counted, not dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.influx.points import NOT_FIELDS, SPECS
from schemas.dcgm import event_id, parse_exposition
from schemas.settings import Settings
from streams.collectors.otelcol_config import SiteScrape, otelcol_config
from streams.stack import Stack
from tests.integration.collectors.harness import (
    DcgmExporter,
    OtelCol,
    last_records,
    otelcol_binary,
)
from tests.integration.pipeline import Isolated, wait_for

PAGES = Path(__file__).parents[2] / "unit" / "schemas" / "fixtures"
SOURCE = "otelcol:it"
TAGS = SPECS["gpu"].tags  # InfluxDB tag -> GpuSample attribute


@pytest.fixture(scope="module")
def otelcol(settings: Settings) -> Path:
    return otelcol_binary(settings)


@pytest.fixture
def exporters() -> Iterator[list[DcgmExporter]]:
    pages = ("dcgm_h100_node.prom", "dcgm_a100_mig_k8s.prom")
    h100, a100 = (DcgmExporter((PAGES / page).read_text()) for page in pages)
    with h100, a100:
        yield [h100, a100]


Series = tuple[tuple[str, str], ...]


def expected(site: str, exporters: list[DcgmExporter]) -> dict[Series, dict[str, Any]]:
    """Tag set -> fields, as the native dcgm path stores the same pages (event_id aside: it
    is the sample's time's, checked against the stored time)."""
    out: dict[Series, dict[str, Any]] = {}
    for exporter in exporters:
        scrape = parse_exposition(
            exporter.page, site_id=site, country="DE", source=SOURCE, ts=datetime.now(UTC)
        )
        for sample in scrape.samples:
            values = sample.model_dump()
            tags = tuple(
                sorted((tag, str(values[a])) for tag, a in TAGS.items() if values[a] is not None)
            )
            fields = {
                k: v
                for k, v in values.items()
                if v is not None and k not in NOT_FIELDS and k not in TAGS.values()
            }
            out[tags] = fields
    return out


def stored(pipeline: Isolated, site: str) -> dict[Series, dict[str, Any]]:
    """Tag set -> field -> last stored value (and `_time`), for one site's GPU series."""
    series: dict[Series, dict[str, Any]] = {}
    for record in last_records(pipeline, site, "gpu"):
        tags = tuple(sorted((t, str(record.values[t])) for t in TAGS if record.values.get(t)))
        fields = series.setdefault(tags, {})
        fields[record.get_field()] = record.get_value()
        fields["_time"] = record.get_time()
    return series


@pytest.mark.parametrize("encoding", ["otlp_proto", "otlp_json"])
def test_the_collector_s_scrapes_are_stored_as_the_native_path_stores_them(
    stack: Stack,
    unique: str,
    tmp_path: Path,
    otelcol: Path,
    exporters: list[DcgmExporter],
    encoding: str,
) -> None:
    pipeline = Isolated(unique, tmp_path, SOVWATCH_OTLP__ENCODING=encoding)
    site = f"otel-{unique}"
    scrape = SiteScrape(site, "DE", SOURCE, [e.metrics_url for e in exporters], interval_s=1)
    config = otelcol_config(scrape, pipeline.settings)
    wanted = expected(site, exporters)
    with pipeline.worker() as worker, OtelCol(otelcol, tmp_path, config) as collector:

        def missing() -> set[Series]:
            return wanted.keys() - stored(pipeline, site).keys()

        assert wait_for(lambda: not missing(), timeout_s=90), (
            f"series never stored: {sorted(missing())}",
            collector.log.read_text()[-3000:],
        )
        assert worker.metric("sovwatch_dead_letters_total") == 0
        assert worker.metric("sovwatch_otlp_unmapped_points_total", 'metric="up"') > 0
    found = stored(pipeline, site)
    assert found.keys() == wanted.keys()  # exactly the scraped GPUs and MIG instances
    for tags, fields in wanted.items():
        got = dict(found[tags])
        at = got.pop("_time")
        values = dict(tags)
        mig = int(values["mig"]) if "mig" in values else None
        assert got.pop("event_id") == event_id(site, fields["gpu_uuid"], mig, at)
        fields.pop("event_id")
        assert got == fields, tags
