"""`sovwatch collect otelcol-config`: the collector's YAML scrapes the given dcgm-exporters with
the site's labels and produces to the worker's OTLP topic in its encoding, credentials by
reference only. (The built collector runs it in tests/integration/collectors.)"""

from __future__ import annotations

from typing import Any

import yaml

from schemas.settings import Settings
from streams.collectors.otelcol_config import SiteScrape, otelcol_config
from tests.unit.streams.cli.run import run_cli

SITE = SiteScrape(
    "fra-1",
    "DE",
    "otelcol:n1",
    ["http://gpu-1:9400/metrics", "http://gpu-2:9400/metrics", "https://gpu-3:9443/dcgm"],
    15,
)


def config(site: SiteScrape = SITE, **settings: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(otelcol_config(site, Settings.model_validate(settings)))
    return loaded


def test_the_scrape_jobs_label_every_series_with_the_site() -> None:
    receiver = config()["receivers"]["prometheus"]
    assert receiver["trim_metric_suffixes"] is False  # DCGM names as schemas.dcgm knows them
    jobs = receiver["config"]["scrape_configs"]
    assert [(j["scheme"], j["metrics_path"]) for j in jobs] == [
        ("http", "/metrics"),
        ("https", "/dcgm"),
    ]
    assert jobs[0]["static_configs"] == [
        {
            "targets": ["gpu-1:9400", "gpu-2:9400"],
            "labels": {"site_id": "fra-1", "country": "DE", "source": "otelcol:n1"},
        }
    ]
    assert {j["scrape_interval"] for j in jobs} == {"15s"}
    assert len({j["job_name"] for j in jobs}) == 2


def test_the_kafka_exporter_matches_the_workers_settings() -> None:
    parsed = config(
        kafka={"bootstrap_servers": "k1:9092,k2:9092"},
        topics={"otlp": "site.otlp", "max_record_bytes": 4096},
        otlp={"encoding": "otlp_json"},
    )
    kafka = parsed["exporters"]["kafka"]
    assert kafka["brokers"] == ["k1:9092", "k2:9092"]
    assert kafka["metrics"] == {"topic": "site.otlp", "encoding": "otlp_json"}
    assert kafka["producer"]["max_message_bytes"] == 4096
    assert kafka["partition_metrics_by_resource_attributes"] is True
    assert parsed["service"]["pipelines"] == {
        "metrics": {"receivers": ["prometheus"], "exporters": ["kafka"]}
    }
    assert config()["exporters"]["kafka"]["metrics"]["encoding"] == "otlp_proto"


def test_sasl_credentials_are_an_environment_reference_never_the_secret() -> None:
    settings = {
        "kafka": {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "site-fra-1",
            "sasl_password": "s3cret-never-printed",
            "ssl_cafile": "/etc/sovwatch/ca.pem",
        }
    }
    text = otelcol_config(SITE, Settings.model_validate(settings))
    assert "s3cret-never-printed" not in text
    kafka = yaml.safe_load(text)["exporters"]["kafka"]
    assert kafka["auth"]["sasl"] == {
        "mechanism": "SCRAM-SHA-512",
        "username": "site-fra-1",
        "password": "${env:SOVWATCH_KAFKA_SASL_PASSWORD}",
    }
    assert kafka["tls"] == {"ca_file": "/etc/sovwatch/ca.pem"}


def test_the_command_prints_what_the_function_writes_for_its_options() -> None:
    site = SiteScrape("fra-1", "DE", "otelcol:edge-1", ["http://10.1.0.7:9400/metrics"], 30)
    args = ["--site", site.site, "--country", site.country, "--source", site.source]
    args += ["--dcgm", site.dcgm[0], "--interval", str(site.interval_s)]
    result = run_cli(["collect", "otelcol-config", *args])
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == otelcol_config(site, Settings())
