"""GPU detail: utilisation heatmap, temperature, power, XID/ECC errors and throttling per GPU."""

from __future__ import annotations

from dashboards.flux import TELEMETRY, series, source
from dashboards.model import Dashboard, Panel, Query, Row, Threshold
from dashboards.variables import COUNTRY, GPU, NODE, SITE, alert_annotation

GPU_FILTER = {"country": "country", "site": "site", "node": "node", "gpu": "gpu"}
PER_GPU = ("site", "node", "gpu")


def per_gpu_series(field: str, fn: str = "mean") -> Query:
    """One series per GPU of the selected nodes, averaged per window."""
    return Query(
        f"""{source(TELEMETRY, "gpu", [field], GPU_FILTER)}
{series(PER_GPU, fn)}""",
        expect=("Time", field),
    )


UTIL_HEATMAP = Query(
    f"""{source(TELEMETRY, "gpu", ["gpu_util_pct"], GPU_FILTER)}
{series(PER_GPU, "mean")}""",
    expect=("Time", "gpu_util_pct"),
)

XID_TABLE = Query(
    f"""{source(TELEMETRY, "gpu", ["xid_errors"], GPU_FILTER, "r._value > 0")}
  |> group(columns: ["site", "node", "gpu"])
  |> last()
  |> group()
  |> rename(columns: {{_value: "xid", _time: "last_seen"}})
  |> keep(columns: ["last_seen", "site", "node", "gpu", "xid"])
  |> sort(columns: ["last_seen"], desc: true)""",
    expect=("last_seen", "site", "node", "gpu", "xid"),
)

ECC_SERIES = Query(
    f"""{source(TELEMETRY, "gpu", ["ecc_dbe_volatile_total", "ecc_sbe_volatile_total"], GPU_FILTER)}
{series(PER_GPU, "max")}""",
    expect=("Time", "ecc_dbe_volatile_total", "ecc_sbe_volatile_total"),
)

THROTTLED = Query(
    f"""{source(TELEMETRY, "gpu", ["clock_throttle_reasons"], GPU_FILTER)}
  |> map(fn: (r) => ({{r with _value: if r._value > 0 then 1 else 0}}))
{series(PER_GPU, "max")}""",
    expect=("Time", "clock_throttle_reasons"),
)

THROTTLE_TABLE = Query(
    f"""{source(TELEMETRY, "gpu", ["clock_throttle_reasons"], GPU_FILTER, "r._value > 0")}
  |> group(columns: ["site", "node", "gpu"])
  |> last()
  |> group()
  |> rename(columns: {{_value: "reasons_bitmask", _time: "last_seen"}})
  |> keep(columns: ["last_seen", "site", "node", "gpu", "reasons_bitmask"])""",
    expect=("last_seen", "node", "gpu", "reasons_bitmask"),
)

THROTTLE_MAPPINGS = (
    {
        "type": "value",
        "options": {
            "0": {"text": "clocks free", "color": "green"},
            "1": {"text": "throttled", "color": "orange"},
        },
    },
)

DASHBOARD = Dashboard(
    uid="sovwatch-gpu",
    title="GPU detail",
    folder="Operations",
    description="Per node and GPU: utilisation, temperature, power, XID/ECC errors, throttling.",
    variables=(COUNTRY, SITE, NODE, GPU),
    annotations=(alert_annotation("ops"),),
    items=(
        Panel(
            "GPU utilisation",
            "heatmap",
            (UTIL_HEATMAP,),
            unit="percent",
            width=24,
            description="Distribution of per-GPU utilisation per time window.",
            options={
                "calculate": True,
                "calculation": {"yBuckets": {"mode": "count", "value": "10"}},
                "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                "yAxis": {"unit": "percent"},
                "cellGap": 1,
            },
        ),
        Panel(
            "GPU temperature",
            "timeseries",
            (per_gpu_series("gpu_temp_c", "max"),),
            unit="celsius",
            thresholds=(Threshold(None, "green"), Threshold(80, "orange"), Threshold(87, "red")),
            custom={"thresholdsStyle": {"mode": "line"}},
        ),
        Panel(
            "GPU power draw",
            "timeseries",
            (per_gpu_series("power_usage_w"),),
            unit="watt",
            minimum=0,
        ),
        Row("Errors and throttling"),
        Panel(
            "Last XID error per GPU",
            "table",
            (XID_TABLE,),
            description="XID code last reported (DCGM_FI_DEV_XID_ERRORS); 0 means none.",
            thresholds=(Threshold(None, "red"),),
        ),
        Panel(
            "ECC errors (volatile)",
            "timeseries",
            (ECC_SERIES,),
            unit="none",
            decimals=0,
            minimum=0,
            description="Single-bit (corrected) and double-bit (uncorrectable) ECC counters.",
        ),
        Panel(
            "Clock throttling",
            "state-timeline",
            (THROTTLED,),
            mappings=THROTTLE_MAPPINGS,
            thresholds=(Threshold(None, "green"), Threshold(1, "orange")),
            description="Any clock_throttle_reasons bit set (NVML clocks event reasons).",
        ),
        Panel(
            "Throttled GPUs (reason bitmask)",
            "table",
            (THROTTLE_TABLE,),
            description="Bits: see schemas/gpu.py THROTTLE_REASONS (NVML clocks event reasons).",
        ),
    ),
)
