"""sovwatch's InfluxDB as Grafana's datasource sees it: the read-only token Grafana is given
(`grafana_datasource_token`), the org, the default bucket and the minimum interval."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dashboards.flux_query import MIN_INTERVAL
from dashboards.queries.macros import DatasourceOptions
from dashboards.queries.runner import Runner
from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.admin.influx_tokens import grafana_datasource_token


@contextmanager
def grafana_runner(settings: Settings) -> Iterator[Runner]:
    """A query runner reading with the datasource's token, closed afterwards."""
    token, _ = grafana_datasource_token(settings)
    influx = settings.influxdb.model_copy(update={"token": token})
    options = DatasourceOptions(influx.org, influx.buckets.telemetry)
    with influx_client(influx) as client:
        yield Runner(client, options, MIN_INTERVAL)
