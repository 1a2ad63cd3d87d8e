"""GPU health: what GPU operators ask dcgm-exporter for. A fleet heat map of utilisation per
node, temperature and power, XID events by code with their meaning, clock-throttle reasons by
type, ECC and row-remap counters, NVLink errors, and utilisation by MIG instance and by
Kubernetes pod (top 10 each, so the series stay bounded). MIG instance samples carry the `mig`
tag; whole-GPU panels leave them out."""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.builders.heatmap import HeatmapColorOptions, RowsHeatmapOptions
from grafana_foundation_sdk.models.heatmap import HeatmapColorMode

from dashboards.base import (
    bars_over_time,
    heat_map,
    line_thresholds,
    new_dashboard,
    table_panel,
    time_series,
)
from dashboards.flux import TELEMETRY, matches, series, source
from dashboards.gpu_flux import (
    BITWISE_IMPORT,
    XID_IMPORTS,
    any_positive,
    reason_names,
    throttle_by_reason,
    top_n,
    xid_events,
)
from dashboards.panels import organize, props, thresholds
from dashboards.variables import alert_annotation, country, gpu, node, site

FOLDER = "Operations"
GPU_FILTER: Final = {"country": "country", "site": "site", "node": "node", "gpu": "gpu"}
PER_GPU: Final = ("site", "node", "gpu")
WHOLE_GPU: Final = "not exists r.mig"
ECC_FIELDS: Final = (
    "ecc_sbe_volatile_total",
    "ecc_dbe_volatile_total",
    "retired_pages_pending",
    "correctable_remapped_rows",
    "uncorrectable_remapped_rows",
    "row_remap_failure",
)
NVLINK_FIELDS: Final = (
    "nvlink_crc_flit_errors_total",
    "nvlink_crc_data_errors_total",
    "nvlink_replay_errors_total",
    "nvlink_recovery_errors_total",
)
TOP: Final = 10


def _gpu(fields: list[str] | tuple[str, ...], extra: str = WHOLE_GPU) -> str:
    return source(TELEMETRY, "gpu", fields, GPU_FILTER, extra)


HEATMAP = f"""{_gpu(["gpu_util_pct"])}
{series(["site", "node"], "mean")}"""

XID_BY_CODE = f"""{XID_IMPORTS}{xid_events(_gpu(["xid_errors"]))}
xid
  |> set(key: "_field", value: "xid_events")
  |> group(columns: ["code", "meaning", "_field"])
  |> aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: false)
  |> keep(columns: ["_time", "_value", "_field", "code", "meaning"])"""

XID_TABLE = f"""{XID_IMPORTS}{xid_events(_gpu(["xid_errors"]))}
xid
  |> group(columns: ["code", "meaning"])
  |> reduce(
      identity: {{events: 0, gpus: "", last_seen: time(v: 0)}},
      fn: (r, accumulator) => ({{
          events: accumulator.events + 1,
          gpus: if accumulator.gpus == "" then r.node + "/" + r.gpu
                else accumulator.gpus + ", " + r.node + "/" + r.gpu,
          last_seen: if r._time > accumulator.last_seen then r._time else accumulator.last_seen}}))
  |> group()
  |> keep(columns: ["code", "meaning", "events", "last_seen", "gpus"])
  |> sort(columns: ["events"], desc: true)"""

THROTTLE_BY_REASON = f"""{BITWISE_IMPORT}{throttle_by_reason(_gpu(["clock_throttle_reasons"]))}
{series(["reason"], "count", field="gpu_samples")}"""

THROTTLED_GPUS = f"""{BITWISE_IMPORT}{_gpu(["clock_throttle_reasons"])}
  |> filter(fn: (r) => r._value > 1)
  |> group(columns: ["site", "node", "gpu"])
  |> last()
  |> group()
  |> map(fn: (r) => ({{last_seen: r._time, site: r.site, node: r.node, gpu: r.gpu,
                       reasons: {reason_names()}}}))
  |> filter(fn: (r) => r.reasons != "")
  |> sort(columns: ["last_seen"], desc: true)"""

ECC_TABLE = f"""{_gpu(ECC_FIELDS)}
  |> group(columns: ["site", "node", "gpu", "_field"])
  |> max()
  |> group(columns: ["site", "node", "gpu"])
  |> pivot(rowKey: ["site", "node", "gpu"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> filter(fn: (r) => {any_positive(ECC_FIELDS)})
  |> sort(columns: ["ecc_dbe_volatile_total", "uncorrectable_remapped_rows"], desc: true)"""

_ECC_COUNTERS = ["ecc_sbe_volatile_total", "ecc_dbe_volatile_total"]
ECC_SERIES = f"""{_gpu(_ECC_COUNTERS, WHOLE_GPU + " and r._value > 0")}
{series(PER_GPU, "max")}"""

# Counters still at 0 cannot have increased: left out early, which keeps this query cheap.
NVLINK = f"""{_gpu(NVLINK_FIELDS, WHOLE_GPU + " and r._value > 0")}
  |> group(columns: ["site", "node", "gpu", "_field"])
  |> aggregateWindow(every: v.windowPeriod, fn: max, createEmpty: false)
  |> difference(nonNegative: true)
  |> filter(fn: (r) => r._value > 0)
  |> keep(columns: ["_time", "_value", "_field", "site", "node", "gpu"])"""

MIG = top_n(
    f"""{_gpu(["gpu_util_pct"], "exists r.mig")}
  |> map(fn: (r) => ({{r with instance: r.node + " gpu " + r.gpu + " mig " + r.mig}}))""",
    "instance",
    TOP,
)

_POD_SOURCE = f"""from(bucket: "{TELEMETRY}")
  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)
  |> filter(fn: (r) => r._measurement == "gpu"
                       and (r._field == "gpu_util_pct" or r._field == "k8s_pod"))
  |> filter(fn: (r) => {matches(GPU_FILTER)})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> filter(fn: (r) => exists r.k8s_pod and exists r.gpu_util_pct)
  |> map(fn: (r) => ({{_time: r._time, pod: r.k8s_pod, _field: "gpu_util_pct",
                       _value: r.gpu_util_pct}}))"""
PODS = top_n(_POD_SOURCE, "pod", TOP)

BAD = ((None, "green"), (1.0, "red"))
TEMP_STEPS = ((None, "green"), (80.0, "orange"), (87.0, "red"))


def dashboard() -> Dashboard:
    return (
        new_dashboard(
            "sovwatch-gpu",
            "GPU health",
            FOLDER,
            "Fleet heat map, temperature, power, XID events, throttle reasons, ECC and row "
            "remapping, NVLink errors, MIG and pod utilisation.",
        )
        .with_variable(country())
        .with_variable(site())
        .with_variable(node())
        .with_variable(gpu())
        .annotation(alert_annotation("ops"))
        .with_panel(
            heat_map("Fleet heat map: GPU utilisation per node", HEATMAP)
            .description("Mean utilisation of each node's GPUs per window; one row per node.")
            .calculate(False)
            .rows_frame(RowsHeatmapOptions().value("GPU utilisation"))
            .color(HeatmapColorOptions().mode(HeatmapColorMode.SCHEME).scheme("Oranges").steps(64))
            .unit("percent")
            .cell_gap(1)
        )
        .with_panel(
            time_series(
                "GPU temperature (hottest GPU per node)",
                f"{_gpu(['gpu_temp_c'])}\n{series(['site', 'node'], 'max')}",
            )
            .unit("celsius")
            .thresholds(thresholds(*TEMP_STEPS))
            .thresholds_style(line_thresholds())
        )
        .with_panel(
            time_series(
                "GPU power draw (mean per GPU, per node)",
                f"{_gpu(['power_usage_w'])}\n{series(['site', 'node'], 'mean')}",
            )
            .unit("watt")
            .min(0)
        )
        .with_row(Row("Errors and throttling"))
        .with_panel(
            bars_over_time("XID events by code", XID_BY_CODE, width=12)
            .description(
                "Each change of a GPU's last XID code to a new non-zero code is one event "
                "(DCGM_FI_DEV_XID_ERRORS sticks at its last value)."
            )
            .decimals(0)
        )
        .with_panel(
            table_panel("XID codes in the range", XID_TABLE, width=12).with_transformation(
                organize(
                    {
                        "code": "XID",
                        "meaning": "Meaning",
                        "events": "Events",
                        "gpus": "GPUs (node/gpu)",
                        "last_seen": "Last seen",
                    }
                )
            )
        )
        .with_panel(
            bars_over_time("Clock throttle reasons", THROTTLE_BY_REASON, width=12)
            .description(
                "GPU samples per window with each NVML clocks-event reason bit set "
                "(gpu_idle left out: an idle GPU is not slowed down)."
            )
            .decimals(0)
        )
        .with_panel(
            table_panel(
                "Throttled GPUs (last reasons)", THROTTLED_GPUS, width=12
            ).with_transformation(
                organize(
                    {
                        "last_seen": "Last seen",
                        "site": "Site",
                        "node": "Node",
                        "gpu": "GPU",
                        "reasons": "Reasons",
                    }
                )
            )
        )
        .with_panel(
            table_panel("ECC errors and row remapping (GPUs with any)", ECC_TABLE, width=24)
            .description(
                "Highest value in the range. Single-bit errors are corrected; double-bit ones "
                "are not and retire a page or remap a row; a remap failure needs an RMA."
            )
            .with_transformation(
                organize(
                    {
                        "site": "Site",
                        "node": "Node",
                        "gpu": "GPU",
                        "ecc_sbe_volatile_total": "SBE (volatile)",
                        "ecc_dbe_volatile_total": "DBE (volatile)",
                        "retired_pages_pending": "Retirement pending",
                        "correctable_remapped_rows": "Rows remapped (CE)",
                        "uncorrectable_remapped_rows": "Rows remapped (UE)",
                        "row_remap_failure": "Remap failed",
                    }
                )
            )
            .override_by_name(
                "ecc_dbe_volatile_total",
                props(cell="color-background", steps=BAD),
            )
            .override_by_name(
                "row_remap_failure",
                props(cell="color-background", steps=BAD),
            )
        )
        .with_panel(
            time_series("ECC error counters (GPUs with errors)", ECC_SERIES)
            .unit("none")
            .decimals(0)
            .min(0)
        )
        .with_panel(
            bars_over_time("NVLink errors per window", NVLINK)
            .description("Increase of the NVLink CRC flit/data, replay and recovery counters.")
            .decimals(0)
        )
        .with_row(Row("Who uses the GPUs"))
        .with_panel(
            time_series(f"Utilisation by MIG instance (top {TOP})", MIG)
            .unit("percent")
            .min(0)
            .max(100)
        )
        .with_panel(
            time_series(f"Utilisation by Kubernetes pod (top {TOP})", PODS)
            .unit("percent")
            .min(0)
            .max(100)
        )
    )
