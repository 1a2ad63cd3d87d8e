"""The OpenTelemetry Collector configuration a site runs to feed sovwatch OTLP metrics
(`sovwatch collect otelcol-config`), for the collector `docker/native/otelcol.sh` builds.

The prometheus receiver scrapes the site's dcgm-exporters, keeping metric names as they are
(`trim_metric_suffixes: false`: the names `schemas.dcgm` maps); the site, country and source are
static target labels, so every data point carries them as attributes. The kafka exporter writes
the worker's `topics.otlp` in its `otlp.encoding`, keyed by resource (one scrape target always
lands on one partition: a node's samples stay in order). Credentials are collector environment
references (`${env:SOVWATCH_KAFKA_SASL_PASSWORD}`), never values. The collector's own telemetry
server is off (no port taken on the node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.jurisdiction import kafka_for


@dataclass(frozen=True)
class SiteScrape:
    """What one site's collector scrapes."""

    site: str
    country: str
    source: str
    dcgm: list[str] = field(default_factory=list)
    interval_s: int = 10


def otelcol_config(site: SiteScrape, settings: Settings) -> str:
    """The collector's YAML for `site`, producing to the cluster and topic of `settings`."""
    kafka = kafka_for(settings, site.country)
    exporter: dict[str, object] = {
        "brokers": kafka.bootstrap_servers.split(","),
        "metrics": {"topic": settings.topics.otlp, "encoding": settings.otlp.encoding},
        "partition_metrics_by_resource_attributes": True,
        "producer": {"max_message_bytes": settings.topics.max_record_bytes, "required_acks": -1},
    }
    if kafka.uses_tls:
        exporter["tls"] = {"ca_file": str(kafka.ssl_cafile)} if kafka.ssl_cafile else {}
    if kafka.security_protocol.startswith("SASL_"):
        exporter["auth"] = {
            "sasl": {
                "mechanism": kafka.sasl_mechanism,
                "username": kafka.sasl_username,
                "password": "${env:SOVWATCH_KAFKA_SASL_PASSWORD}",
            }
        }
    labels = {"site_id": site.site, "country": site.country, "source": site.source}
    config = {
        "receivers": {
            "prometheus": {
                "trim_metric_suffixes": False,
                "config": {"scrape_configs": scrape_configs(site.dcgm, site.interval_s, labels)},
            }
        },
        "exporters": {"kafka": exporter},
        "service": {
            "telemetry": {"metrics": {"level": "none"}},
            "pipelines": {"metrics": {"receivers": ["prometheus"], "exporters": ["kafka"]}},
        },
    }
    header = (
        f"# OpenTelemetry Collector for sovwatch site {site.site} ({site.country}), written by\n"
        "# `sovwatch collect otelcol-config`. Start it with: otelcol --config otelcol.yaml\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False)


def scrape_configs(urls: list[str], interval_s: int, labels: dict[str, str]) -> list[object]:
    """One scrape job per scheme and path, its targets the URLs' host:port, labelled."""
    jobs: dict[tuple[str, str], list[str]] = {}
    for url in urls:
        parts = urlsplit(url)
        jobs.setdefault((parts.scheme, parts.path or "/metrics"), []).append(parts.netloc)
    return [
        {
            "job_name": "dcgm-exporter" + (f"-{index}" if index else ""),
            "scrape_interval": f"{interval_s}s",
            "scheme": scheme,
            "metrics_path": path,
            "static_configs": [{"targets": targets, "labels": labels}],
        }
        for index, ((scheme, path), targets) in enumerate(jobs.items())
    ]


def checked_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host and nothing the collector would expand."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or "$" in url:
        raise SovwatchError(
            f"--dcgm {url!r} is not a dcgm-exporter URL", "use http://<node>:9400/metrics"
        )
    return url
