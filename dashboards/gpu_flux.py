"""Flux for the GPU dashboard's error and health panels: XID events, throttle reasons by type,
top-N series. Kept apart from the panel layout because each is a small algorithm of its own.

dcgm-exporter reports DCGM_FI_DEV_XID_ERRORS as the *last* XID code, a value that sticks
until the next error: counting samples with a code counts how long it stuck, not how often it
happened. An XID *event* here is a sample whose code differs from the previous sample of the
same GPU and is not 0 (a code already showing at the start of the range counts once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from schemas.gpu import THROTTLE_REASON_BITS

# NVIDIA's XID catalogue (GPU deployment and management documentation), the codes a data-centre
# fleet of A100/H100 class GPUs reports; anything else shows as "see NVIDIA XID catalogue".
XID_MEANINGS: Final[Mapping[int, str]] = {
    13: "graphics engine exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    45: "preemptive cleanup after earlier errors",
    48: "double-bit ECC error",
    61: "internal micro-controller breakpoint/warning",
    62: "internal micro-controller halt",
    63: "ECC page retirement or row remap recorded",
    64: "ECC page retirement or row remap failed",
    68: "video processor (NVDEC) exception",
    69: "graphics engine class error",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
}
UNKNOWN_XID: Final = "see NVIDIA XID catalogue"
# The bits that mean the clocks were held back (gpu_idle is not a slowdown).
SLOWDOWN_BITS: Final = {bit: name for bit, name in THROTTLE_REASON_BITS.items() if bit != 0x1}


def flux_dict(values: Mapping[int, str]) -> str:
    body = ", ".join(f'"{key}": "{text}"' for key, text in values.items())
    return f"[{body}]"


def xid_events(source: str) -> str:
    """Rows of XID events (time, site, node, gpu, code as text, meaning) from a source of the
    `xid_errors` field; imports `dict` (the caller's query must start with `XID_IMPORTS`)."""
    return f"""meanings = {flux_dict(XID_MEANINGS)}
xid = {source}
  |> filter(fn: (r) => not exists r.mig)
  |> group(columns: ["site", "node", "gpu"])
  |> sort(columns: ["_time"])
  |> duplicate(column: "_value", as: "code")
  |> difference(keepFirst: true)
  |> filter(fn: (r) => r.code > 0 and (not exists r._value or r._value != 0))
  |> map(fn: (r) => ({{r with code: string(v: r.code), _value: 1}}))
  |> map(fn: (r) => ({{r with
      meaning: dict.get(dict: meanings, key: r.code, default: "{UNKNOWN_XID}")}}))"""


XID_IMPORTS: Final = 'import "dict"\n'


def throttle_by_reason(source: str, bits: Mapping[int, str] = SLOWDOWN_BITS) -> str:
    """One row per (sample, reason bit set), with a `reason` column; needs `BITWISE_IMPORT`."""
    branches = ",\n    ".join(
        f"throttled |> filter(fn: (r) => bitwise.sand(a: r._value, b: {bit}) != 0)"
        f' |> set(key: "reason", value: "{name}")'
        for bit, name in bits.items()
    )
    return f"""throttled = {source}
  |> filter(fn: (r) => r._value > 0 and not exists r.mig)
union(tables: [
    {branches}])"""


BITWISE_IMPORT: Final = 'import "experimental/bitwise"\n'


def reason_names(column: str = "_value", bits: Mapping[int, str] = SLOWDOWN_BITS) -> str:
    """A Flux expression: the names of the bits set in `r.<column>`, space-separated."""
    parts = [
        f'(if bitwise.sand(a: r.{column}, b: {bit}) != 0 then "{name} " else "")'
        for bit, name in bits.items()
    ]
    return " + ".join(parts)


def any_positive(columns: Iterable[str]) -> str:
    """`(exists r.a and r.a > 0) or ...`: a pivoted row with any non-zero counter."""
    return " or ".join(f"(exists r.{c} and r.{c} > 0)" for c in columns)


def top_n(base: str, key: str, n: int, every_fn: str = "mean") -> str:
    """Series of only the `n` values of `key` with the highest mean in the range (bounded
    series); `base` must define rows with `_time`, `_value`, `_field` and `key`."""
    return f"""base = {base}
busiest = base
  |> group(columns: ["{key}"])
  |> mean()
  |> group()
  |> top(n: {n})
  |> findColumn(fn: (key) => true, column: "{key}")
base
  |> filter(fn: (r) => contains(value: r.{key}, set: busiest))
  |> group(columns: ["{key}", "_field"])
  |> aggregateWindow(every: v.windowPeriod, fn: {every_fn}, createEmpty: false)
  |> keep(columns: ["_time", "_value", "_field", "{key}"])"""
