"""The Telegraf configuration a site runs to feed sovwatch (`sovwatch collect telegraf-config`).

Inputs (nvidia_smi, redfish, ipmi_sensor) keep only the metrics `agents.telegraf` maps, so
nothing else reaches the dead-letter topic; the site and country are global tags; outputs.kafka
writes to `topics.telegraf`, keyed by site, in the worker's `telegraf.data_format`. Credentials
are Telegraf environment references (`${REDFISH_PASSWORD}`), never values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from agents.telegraf.mapping import NVIDIA_SMI_FIELDS, NVIDIA_SMI_MIG_FIELDS, REDFISH_FIELDS
from schemas.settings import Settings
from streams.jurisdiction import kafka_for

AIR_SENSOR_GLOBS = [
    f"*{word}*"
    for stem in ("inlet", "intake", "ambient", "exhaust", "outlet")
    for word in (stem, stem.capitalize(), stem.upper())
]
"""Telegraf tagpass globs (case-sensitive) for the sensors `agents.telegraf` maps to air
temperatures (its INLET and EXHAUST patterns are case-insensitive)."""


@dataclass(frozen=True)
class SiteCollectors:
    """What one site's Telegraf collects."""

    site: str
    country: str
    nvidia_smi: bool = False
    nvidia_smi_bin: str = "/usr/bin/nvidia-smi"
    redfish: list[str] = field(default_factory=list)
    redfish_system_id: str = "System.Embedded.1"
    interval_s: int = 10
    ipmi: bool = False


def _toml(value: object) -> str:
    """A TOML string/array literal (JSON's escapes are TOML's basic-string escapes)."""
    return json.dumps(value)


def telegraf_config(site: SiteCollectors, settings: Settings) -> str:
    """The telegraf.conf text for `site`, producing to the cluster and topic of `settings`."""
    kafka, data_format = kafka_for(settings, site.country), settings.telegraf.data_format
    lines = [
        f"# Telegraf for sovwatch site {site.site} ({site.country}), written by",
        "# `sovwatch collect telegraf-config`. Start it with: telegraf --config telegraf.conf",
        "",
        "[global_tags]",
        f"  site = {_toml(site.site)}",
        f"  country = {_toml(site.country)}",
        "",
        "[agent]",
        f'  interval = "{site.interval_s}s"',
        '  flush_interval = "1s"',
        "",
        "[[outputs.kafka]]",
        f"  brokers = {_toml(kafka.bootstrap_servers.split(','))}",
        f"  topic = {_toml(settings.topics.telegraf)}",
        '  routing_tag = "site"  # the Kafka key is the site, as for every sovwatch producer',
        "  required_acks = -1",
        f"  max_message_bytes = {settings.topics.max_record_bytes}",
        f"  data_format = {_toml(data_format)}",
    ]
    if data_format == "json":
        lines.append('  json_timestamp_units = "1ms"')
    if kafka.uses_tls:
        lines.append("  enable_tls = true")
        if kafka.ssl_cafile:
            lines.append(f"  tls_ca = {_toml(str(kafka.ssl_cafile))}")
    if kafka.security_protocol.startswith("SASL_"):
        lines += [
            f"  sasl_mechanism = {_toml(kafka.sasl_mechanism)}",
            f"  sasl_username = {_toml(kafka.sasl_username)}",
            '  sasl_password = "${SOVWATCH_KAFKA_SASL_PASSWORD}"',
        ]
    if site.nvidia_smi:
        lines += [
            "",
            "[[inputs.nvidia_smi]]",
            f"  bin_path = {_toml(site.nvidia_smi_bin)}",
            '  namepass = ["nvidia_smi", "nvidia_smi_mig"]',
            f"  fieldinclude = {_toml(sorted({*NVIDIA_SMI_FIELDS, *NVIDIA_SMI_MIG_FIELDS}))}",
        ]
    for address in site.redfish:
        lines += _redfish(address, site.redfish_system_id)
    if site.ipmi:
        lines += [
            "",
            "[[inputs.ipmi_sensor]]  # the local BMC, through ipmitool",
            '  namepass = ["ipmi_sensor"]',
            "  [inputs.ipmi_sensor.tagpass]  # power sensors, or air temperatures by name",
            '    unit = ["watts"]',
            f"    name = {_toml([glob for glob in AIR_SENSOR_GLOBS if glob.islower()])}",
        ]
    return "\n".join(lines) + "\n"


def _redfish(address: str, system_id: str) -> list[str]:
    """Two redfish inputs per BMC: power (both metrics mapped) and thermal (air sensors only)."""
    common = [
        f"  address = {_toml(address)}",
        '  username = "${REDFISH_USERNAME}"',
        '  password = "${REDFISH_PASSWORD}"',
        f"  computer_system_id = {_toml(system_id)}",
        '  include_tag_sets = ["chassis", "chassis.location"]  # scope: node, rack or PDU',
    ]
    return [
        "",
        "[[inputs.redfish]]",
        *common,
        '  include_metrics = ["power"]',
        f"  namepass = {_toml(sorted(REDFISH_FIELDS))}",
        "",
        "[[inputs.redfish]]",
        *common,
        '  include_metrics = ["thermal"]',
        '  namepass = ["redfish_thermal_temperatures"]',
        "  [inputs.redfish.tagpass]",
        f"    name = {_toml(AIR_SENSOR_GLOBS)}",
    ]
