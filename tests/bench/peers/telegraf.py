"""Peer: Telegraf (inputs.kafka_consumer -> json parser -> outputs.influxdb_v2), built by
docker/native/telegraf.sh. One input per topic, so each family gets its measurement and tags.
No validation, no pseudonymisation, no rules."""

from __future__ import annotations

from pathlib import Path

BIN = Path.home() / ".cache" / "sovwatch" / "telegraf-1.37.2" / "bin" / "telegraf"
TAGS = {
    "gpu": ["site_id", "country", "node", "gpu_index", "mig_instance_id"],
    "power": ["site_id", "country", "scope", "scope_id"],
    "physical": ["site_id", "country", "kind", "zone_type", "zone_id"],
    "audit": ["site_id", "country", "action", "outcome", "classification"],
}
# Telegraf's json parser drops string values not named here: every string the simulator sends
# (bench_peers' point check would not notice a dropped field, only a dropped point).
STRINGS = {
    "gpu": [
        "event_id",
        "source",
        "gpu_uuid",
        "device",
        "model_name",
        "mig_profile",
        "k8s_namespace",
        "k8s_pod",
        "k8s_container",
    ],
    "power": ["event_id", "source"],
    "physical": ["event_id", "source", "device_id", "badge_id", "holder", "direction"],
    "audit": [
        "event_id",
        "source",
        "actor_id",
        "actor_kind",
        "actor_role",
        "actor_clearance",
        "actor_nationality",
        "actor_organisation",
        "dataset_id",
        "model_id",
        "command",
        "justification",
        "session_id",
        "key_id",
        "key_custodian",
        "source_country",
        "source_region",
        "destination_country",
        "destination_region",
        "approval_ref",
    ],
}


def config(
    topics: dict[str, str], group: str, bootstrap: str, url: str, token: str, org: str, bucket: str
) -> str:
    """Telegraf TOML: `topics` maps family -> topic name."""
    parts = [
        '[agent]\n  interval = "1s"\n  flush_interval = "1s"\n  metric_batch_size = 5000\n'
        "  metric_buffer_limit = 100000\n  omit_hostname = true\n  quiet = true\n",
        f'[[outputs.influxdb_v2]]\n  urls = ["{url}"]\n  token = "{token}"\n'
        f'  organization = "{org}"\n'
        f'  bucket = "{bucket}"\n  content_encoding = "gzip"\n',
    ]
    for family, topic in topics.items():
        parts.append(
            "[[inputs.kafka_consumer]]\n"
            f'  name_override = "{family}"\n'
            f'  brokers = ["{bootstrap}"]\n'
            f'  topics = ["{topic}"]\n'
            f'  consumer_group = "{group}"\n'
            '  kafka_version = "3.6.0"\n'
            '  offset = "oldest"\n'
            "  max_undelivered_messages = 10000\n"
            '  data_format = "json"\n'
            f"  tag_keys = {TAGS[family]}\n"
            f"  json_string_fields = {STRINGS[family]}\n"
            '  json_time_key = "ts"\n'
            '  json_time_format = "2006-01-02T15:04:05Z07:00"\n'
        )
    return "\n".join(parts).replace("'", '"')
