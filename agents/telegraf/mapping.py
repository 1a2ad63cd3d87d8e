"""Telegraf metrics -> sovwatch events: `nvidia_smi` -> `GpuSample`; `redfish` and
`ipmi_sensor` -> `PowerReading`. Pure mapping, no I/O (the field tables are in schemas/README.md).

Envelope: `site_id` and `country` come from the `site` and `country` tags (Telegraf's
`[global_tags]`), required; `source` is `telegraf:<host tag>`; `event_id` is a hash of site,
metric name, tags and timestamp, so a replayed metric keeps its id. Field values keep the
family's strict types: a string where a number belongs is rejected, naming the field.

A MIG instance's metric (`nvidia_smi_mig`) does not carry its GPU's index; it is taken from the
latest `nvidia_smi` metric of the same GPU (UUID), which Telegraf writes just before it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

from agents.log_throttle import LogThrottle
from agents.telegraf.metric import DataFormat, FieldValue, Metric, bad, parse
from schemas.decode import Event, decode_error_from
from schemas.envelope import SCHEMA_VERSION
from schemas.errors import DecodeError
from schemas.gpu import GpuSample
from schemas.power import PowerReading

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

NVIDIA_SMI_FIELDS: Final[Mapping[str, str]] = {
    "utilization_gpu": "gpu_util_pct",
    "utilization_memory": "mem_copy_util_pct",
    "utilization_encoder": "enc_util_pct",
    "utilization_decoder": "dec_util_pct",
    "memory_used": "fb_used_mib",
    "memory_free": "fb_free_mib",
    "temperature_gpu": "gpu_temp_c",
    "power_draw": "power_usage_w",
    "clocks_current_sm": "sm_clock_mhz",
    "clocks_current_memory": "mem_clock_mhz",
    "retired_pages_multiple_single_bit": "retired_pages_sbe",
    "retired_pages_double_bit": "retired_pages_dbe",
    "retired_pages_pending": "retired_pages_pending",  # "Yes"/"No"
    "remapped_rows_correctable": "correctable_remapped_rows",
    "remapped_rows_uncorrectable": "uncorrectable_remapped_rows",
    "remapped_rows_failure": "row_remap_failure",  # "Yes"/"No"
    "pcie_link_gen_current": "pcie_link_gen",
    "pcie_link_width_current": "pcie_link_width",
    "driver_version": "driver_version",
}
NVIDIA_SMI_MIG_FIELDS: Final[Mapping[str, str]] = {
    "memory_fb_used": "fb_used_mib",
    "memory_fb_free": "fb_free_mib",
    "sram_uncorrectable": "ecc_dbe_volatile_total",
}
REDFISH_FIELDS: Final[Mapping[str, Mapping[str, str]]] = {
    "redfish_power_powercontrol": {
        "power_consumed_watts": "power_w",
        "power_capacity_watts": "capacity_w",
        "power_allocated_watts": "allocated_w",
    },
    "redfish_power_powersupplies": {
        "power_input_watts": "power_w",
        "line_input_voltage": "voltage_v",
        "power_capacity_watts": "capacity_w",
    },
}
CHASSIS_SCOPES: Final[Mapping[str, str]] = {"Rack": "rack", "PowerStrip": "pdu"}
"""Redfish ChassisType (tag `chassis_chassistype`) -> scope; any other chassis is a node."""
INLET = re.compile(r"inlet|intake|ambient", re.IGNORECASE)
EXHAUST = re.compile(r"exhaust|outlet", re.IGNORECASE)
YES_NO: Final[Mapping[FieldValue, int]] = {"Yes": 1, "No": 0}
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9._:/@-]+")
UNMAPPED_LOG_EVERY_S = 60.0


class TelegrafAdapter:
    """Kafka bytes of one Telegraf metric -> one validated event, or a `DecodeError`."""

    def __init__(
        self, data_format: DataFormat, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.data_format: DataFormat = data_format
        self._unmapped_logged = LogThrottle(UNMAPPED_LOG_EVERY_S, clock)
        self._gpu_index: dict[tuple[str, str, str], int] = {}
        self._mappers: dict[str, Callable[[Metric, dict[str, Any]], Event]] = {
            "nvidia_smi": self._nvidia_smi,
            "nvidia_smi_mig": self._nvidia_smi_mig,
            "redfish_power_powercontrol": _redfish_power,
            "redfish_power_powersupplies": _redfish_power,
            "redfish_thermal_temperatures": _redfish_temperature,
            "ipmi_sensor": _ipmi_sensor,
        }

    def decode(self, raw: bytes) -> Event:
        metric = parse(raw, self.data_format)
        mapper = self._mappers.get(metric.name)
        if mapper is None:
            self._log_unmapped(metric.name)
            raise bad(
                f"unmapped Telegraf metric {metric.name}"[:300], "name", "unmapped_metric",
                metric.name,
            )  # fmt: skip
        return mapper(metric, envelope(metric))

    def _log_unmapped(self, name: str) -> None:
        """One warning per metric name and minute: each record still goes to the DLQ."""
        if not self._unmapped_logged.due(name):
            return
        log.warning(
            "unmapped Telegraf metric %s: dead-lettered (filter it out with namepass in "
            "telegraf.conf, see `sovwatch collect telegraf-config`)",
            name[:200],
        )

    def _nvidia_smi(self, metric: Metric, event: dict[str, Any]) -> Event:
        tags = metric.tags
        event |= _renamed(metric.fields, NVIDIA_SMI_FIELDS)
        event |= {"node": tags.get("host"), "gpu_index": _int(tags.get("index"))}
        event |= {"gpu_uuid": tags.get("uuid"), "model_name": tags.get("name")}
        sample = validated(GpuSample, metric, event)
        if len(self._gpu_index) >= 65536:
            self._gpu_index.clear()
        self._gpu_index[(sample.site_id, sample.node, sample.gpu_uuid)] = sample.gpu_index
        return sample

    def _nvidia_smi_mig(self, metric: Metric, event: dict[str, Any]) -> Event:
        tags = metric.tags
        node, uuid = tags.get("host"), tags.get("uuid")
        index = self._gpu_index.get((event["site_id"], node or "", uuid or ""))
        if index is None and node and uuid:
            raise bad(
                f"Telegraf nvidia_smi_mig of GPU {uuid} on {node} came before any nvidia_smi "
                "metric of that GPU: its GPU index is not known (replay it after one)"[:600],
                "tags.uuid", "gpu_index_unknown", uuid,
            )  # fmt: skip
        event |= _renamed(metric.fields, NVIDIA_SMI_MIG_FIELDS)
        event |= {"node": node, "gpu_uuid": uuid, "model_name": tags.get("name")}
        event |= {"gpu_index": index, "mig_instance_id": _int(tags.get("gpu_index"))}
        return validated(GpuSample, metric, event)


def envelope(metric: Metric) -> dict[str, Any]:
    """The envelope fields of a metric's event; site and country tags are required."""
    tags = metric.tags
    for tag in ("site", "country"):
        if not tags.get(tag):
            raise bad(
                f"Telegraf metric {metric.name} has no {tag} tag: set [global_tags] {tag} = ... "
                "in telegraf.conf (`sovwatch collect telegraf-config` does)"[:600],
                f"tags.{tag}", "missing",
            )  # fmt: skip
    material = "|".join(
        [
            tags["site"],
            metric.name,
            *(f"{k}={tags[k]}" for k in sorted(tags)),
            metric.ts.isoformat(),
        ]
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": "telegraf-" + hashlib.sha256(material.encode()).hexdigest()[:32],
        "site_id": tags["site"],
        "country": tags["country"],
        "source": "telegraf:" + _identifier(tags.get("host") or "unknown"),
        "ts": metric.ts,
    }


def validated(model: type[M], metric: Metric, event: dict[str, Any]) -> M:
    """`model` from the mapped fields; a DecodeError naming the Telegraf metric otherwise."""
    try:
        return model.model_validate({k: v for k, v in event.items() if v is not None})
    except ValidationError as exc:
        error = decode_error_from(exc, model)
        raise DecodeError(f"Telegraf {metric.name}: {error.reason}"[:1024], error.issues) from None


def _redfish_power(metric: Metric, event: dict[str, Any]) -> Event:
    scope, scope_id = _redfish_scope(metric.tags)
    if metric.name == "redfish_power_powersupplies":
        scope_id += "/psu-" + _identifier(
            metric.tags.get("member_id") or metric.tags.get("name", "")
        )
    event |= _renamed(metric.fields, REDFISH_FIELDS[metric.name])
    return validated(PowerReading, metric, event | {"scope": scope, "scope_id": scope_id})


def _redfish_temperature(metric: Metric, event: dict[str, Any]) -> Event:
    sensor = metric.tags.get("name", "")
    field = _air_field(sensor)
    if field is None:
        raise bad(
            f"Telegraf redfish temperature sensor {sensor!r} is neither an inlet nor an exhaust "
            "sensor (filter it with tagpass in telegraf.conf)"[:600],
            "tags.name", "unmapped_sensor", sensor[:120],
        )  # fmt: skip
    scope, scope_id = _redfish_scope(metric.tags)
    event |= {"scope": scope, "scope_id": scope_id, field: metric.fields.get("reading_celsius")}
    return validated(PowerReading, metric, event)


def _ipmi_sensor(metric: Metric, event: dict[str, Any]) -> Event:
    tags = metric.tags
    sensor, unit = tags.get("name", ""), tags.get("unit", "")
    host = _identifier(tags.get("server") or tags.get("host") or "")
    value = metric.fields.get("value")
    if unit == "watts":
        event |= {"scope_id": f"{host}/{_identifier(sensor)}", "power_w": value}
    elif unit == "degrees_c" and (field := _air_field(sensor)) is not None:
        event |= {"scope_id": host, field: value}
    else:
        raise bad(
            f"Telegraf ipmi_sensor {sensor!r} (unit {unit!r}) is neither power (watts) nor an "
            "inlet or exhaust temperature (filter it with tagpass in telegraf.conf)"[:600],
            "tags.name", "unmapped_sensor", sensor[:120],
        )  # fmt: skip
    return validated(PowerReading, metric, event | {"scope": "node"})


def _redfish_scope(tags: Mapping[str, str]) -> tuple[str, str]:
    """The scope a Redfish chassis reports for (tag sets `chassis` and `chassis.location`)."""
    node = _identifier(tags.get("source") or tags.get("address") or "")
    scope = CHASSIS_SCOPES.get(tags.get("chassis_chassistype", ""), "node")
    if scope == "rack" and tags.get("rack"):
        return scope, _identifier(tags["rack"])
    return scope, node


def _air_field(sensor: str) -> str | None:
    if INLET.search(sensor):
        return "inlet_temp_c"
    if EXHAUST.search(sensor):
        return "outlet_temp_c"
    return None


def _renamed(fields: Mapping[str, FieldValue], names: Mapping[str, str]) -> dict[str, Any]:
    """Fields under their sovwatch names; "Yes"/"No" flags become 1/0, unknown fields dropped."""
    renamed: dict[str, Any] = {}
    for key, value in fields.items():
        target = names.get(key)
        if target is not None:
            renamed[target] = YES_NO.get(value, value) if isinstance(value, str) else value
    if "driver_version" in renamed:  # the one string field: keep it a string
        renamed["driver_version"] = str(fields["driver_version"])
    return renamed


def _int(tag: str | None) -> int | str | None:
    """A numeric tag as an int; anything else as given, for validation to name it."""
    return int(tag) if tag is not None and tag.isdigit() else tag


def _identifier(text: str) -> str:
    """`text` made fit for an id or tag: runs of other characters become `_`."""
    return _NOT_IDENTIFIER.sub("_", text.strip()).strip("_")[:128]
