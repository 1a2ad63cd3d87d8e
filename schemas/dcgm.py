"""dcgm-exporter's Prometheus text exposition -> `GpuSample`s. Pure parsing, no HTTP.

The text is parsed with prometheus-client's parser (escapes, quoting and HELP/TYPE handling
are its job). Series are grouped per GPU, or per MIG instance when `GPU_I_ID` is set. Label
names are matched case-insensitively (`Hostname` and `hostname` both work); counters a GPU does
not report are simply left `None`; metrics this module does not map are ignored.

Envelope fields come from the caller. `event_id` is a hash of site, GPU UUID, MIG instance and
timestamp, so producing the same parsed sample twice yields the same id (idempotent replay).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypedDict

from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from schemas.decode import decode_error_from
from schemas.envelope import SCHEMA_VERSION
from schemas.errors import DecodeError
from schemas.gpu import GpuSample

# DCGM metric name -> GpuSample field. Integer fields are converted from the float text value.
METRIC_FIELDS: Final[dict[str, str]] = {
    "DCGM_FI_DEV_GPU_UTIL": "gpu_util_pct",
    "DCGM_FI_DEV_MEM_COPY_UTIL": "mem_copy_util_pct",
    "DCGM_FI_DEV_ENC_UTIL": "enc_util_pct",
    "DCGM_FI_DEV_DEC_UTIL": "dec_util_pct",
    "DCGM_FI_DEV_FB_USED": "fb_used_mib",
    "DCGM_FI_DEV_FB_FREE": "fb_free_mib",
    "DCGM_FI_DEV_GPU_TEMP": "gpu_temp_c",
    "DCGM_FI_DEV_MEMORY_TEMP": "memory_temp_c",
    "DCGM_FI_DEV_POWER_USAGE": "power_usage_w",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "total_energy_consumption_mj",
    "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz",
    "DCGM_FI_DEV_MEM_CLOCK": "mem_clock_mhz",
    "DCGM_FI_DEV_XID_ERRORS": "xid_errors",
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": "ecc_sbe_volatile_total",
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": "ecc_dbe_volatile_total",
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": "ecc_sbe_aggregate_total",
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": "ecc_dbe_aggregate_total",
    "DCGM_FI_DEV_RETIRED_SBE": "retired_pages_sbe",
    "DCGM_FI_DEV_RETIRED_DBE": "retired_pages_dbe",
    "DCGM_FI_DEV_RETIRED_PENDING": "retired_pages_pending",
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": "correctable_remapped_rows",
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": "uncorrectable_remapped_rows",
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": "row_remap_failure",
    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL": "nvlink_crc_flit_errors_total",
    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL": "nvlink_crc_data_errors_total",
    "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL": "nvlink_replay_errors_total",
    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL": "nvlink_recovery_errors_total",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": "pcie_replay_counter",
    "DCGM_FI_DEV_PCIE_LINK_GEN": "pcie_link_gen",
    "DCGM_FI_DEV_PCIE_LINK_WIDTH": "pcie_link_width",
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": "clock_throttle_reasons",
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": "clock_throttle_reasons",  # name since DCGM 3.3
}

# Lower-cased exporter label -> GpuSample field.
LABEL_FIELDS: Final[dict[str, str]] = {
    "hostname": "node",
    "gpu": "gpu_index",
    "uuid": "gpu_uuid",
    "device": "device",
    "modelname": "model_name",
    "pci_bus_id": "pci_bus_id",
    "dcgm_fi_driver_version": "driver_version",
    "gpu_i_id": "mig_instance_id",
    "gpu_i_profile": "mig_profile",
    "namespace": "k8s_namespace",
    "pod": "k8s_pod",
    "container": "k8s_container",
}
INT_LABELS: Final[frozenset[str]] = frozenset({"gpu_index", "mig_instance_id"})
FLOAT_FIELDS: Final[frozenset[str]] = frozenset(
    {"gpu_util_pct", "mem_copy_util_pct", "enc_util_pct", "dec_util_pct"}
    | {"gpu_temp_c", "memory_temp_c", "power_usage_w"}
)
"""Metric fields that are floats; every other metric is an integer count, clock or code."""


@dataclass(frozen=True)
class RejectedGpu:
    """A GPU whose series did not make a valid sample, and why."""

    key: str
    error: DecodeError


@dataclass(frozen=True)
class DcgmScrape:
    """What one exposition page gave: valid samples, rejected GPUs, ignored values."""

    samples: tuple[GpuSample, ...]
    rejected: tuple[RejectedGpu, ...] = ()
    dropped: tuple[str, ...] = field(default=())
    """Series whose value was NaN/inf, as `metric{uuid}`: left out of their sample."""


def event_id(site_id: str, gpu_uuid: str, mig_instance_id: int | None, ts: datetime) -> str:
    """Deterministic event id of one GPU sample."""
    material = f"{site_id}|{gpu_uuid}|{mig_instance_id}|{ts.isoformat()}".encode()
    return "dcgm-" + hashlib.sha256(material).hexdigest()[:32]


def parse_exposition(
    text: str,
    *,
    site_id: str,
    country: str,
    source: str,
    ts: datetime,
    node: str | None = None,
) -> DcgmScrape:
    """Turn one dcgm-exporter page into samples. `node` is used when no Hostname label is set.

    Raises `DecodeError` only if the text is not Prometheus exposition at all; a GPU with bad
    values is reported in `rejected` so the other GPUs still get through.
    """
    try:
        series = list(_series(text_string_to_metric_families(text)))
    except ValueError as exc:
        raise DecodeError(f"not Prometheus text exposition: {exc}") from None
    envelope: SampleEnvelope = {"site_id": site_id, "country": country, "source": source, "ts": ts}
    return samples_from_series(series, envelope, node)


class SampleEnvelope(TypedDict):
    """The envelope every sample of one scrape shares."""

    site_id: str
    country: str
    source: str
    ts: datetime


def samples_from_series(
    series: Iterable[tuple[str, Mapping[str, str], float]],
    envelope: SampleEnvelope,
    node: str | None = None,
) -> DcgmScrape:
    """Samples of one instant from `(DCGM metric name, exporter labels, value)` series: what a
    dcgm-exporter page holds, and what an OTLP request's data points of one timestamp hold
    (`agents.otlp`). Metrics not in `METRIC_FIELDS` are ignored; `node` as above."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    dropped: list[str] = []
    for metric, labels, value in series:
        target = METRIC_FIELDS.get(metric)
        if target is None:
            continue
        fields = _label_fields(labels)
        key = (fields.get("node", node or ""), fields.get("gpu_uuid", ""), _mig_key(fields))
        sample = groups.setdefault(key, fields)
        if not math.isfinite(value):
            dropped.append(f"{metric}{{{key[1]}}}")
            continue
        sample[target] = int(value) if target not in FLOAT_FIELDS and value.is_integer() else value
    samples: list[GpuSample] = []
    rejected: list[RejectedGpu] = []
    for (host, uuid, mig), fields in groups.items():
        fields.setdefault("node", node)
        instance = fields.get("mig_instance_id")
        mig_id = instance if isinstance(instance, int) else None
        ids = {
            "schema_version": SCHEMA_VERSION,
            "event_id": event_id(envelope["site_id"], uuid, mig_id, envelope["ts"]),
        }
        try:
            samples.append(GpuSample.model_validate({**ids, **envelope, **fields}))
        except ValidationError as exc:
            where = f"{host}/{uuid}" + (f"/mig{mig}" if mig else "")
            rejected.append(RejectedGpu(where, decode_error_from(exc, GpuSample)))
    return DcgmScrape(tuple(samples), tuple(rejected), tuple(dropped))


def _mig_key(fields: dict[str, Any]) -> str:
    return str(fields.get("mig_instance_id", ""))


def _series(families: Iterable[Any]) -> Iterable[tuple[str, dict[str, str], float]]:
    for family in families:
        for sample in family.samples:
            # The parser renames counter samples X to X_total (OpenMetrics style): undo that.
            total = sample.name == family.name + "_total"
            name = family.name if total and family.type == "counter" else sample.name
            yield name, sample.labels, float(sample.value)


def _label_fields(labels: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for label, value in labels.items():
        target = LABEL_FIELDS.get(label.lower())
        if target is None or value == "":
            continue
        if target in INT_LABELS:
            fields[target] = int(value) if value.isdigit() else value
        else:
            fields[target] = value
    return fields
