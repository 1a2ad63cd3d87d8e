"""The interval Grafana picks for a panel, and how it is written.

Grafana's front end divides the time range by the panel's max data points (by default its
width in pixels), rounds to a "nice" interval (`round_interval`, the ladder of
`rangeutil.roundInterval` in @grafana/data) and raises it to the minimum interval (the
panel's `interval`, else the datasource's `timeInterval`). It sends `intervalMs`; the Flux
datasource writes it as a Go duration for `v.windowPeriod` (`go_duration`) and as Grafana's
short form for `$__interval` (`format_interval`, gtime.FormatInterval of the plugin SDK).
"""

from __future__ import annotations

import re
from typing import Final

# (below this many ms, round to this many ms): rangeutil.roundInterval's ladder.
LADDER: Final = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
YEAR_MS: Final = 31_536_000_000
UNITS_MS: Final = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": YEAR_MS,
}
_INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")


def round_interval(ms: float) -> int:
    for below, rounded in LADDER:
        if ms < below:
            return rounded
    return YEAR_MS


def interval_ms(text: str) -> int:
    """Grafana's interval text (`15s`, `1m`, `500ms`; a bare number is seconds) in ms."""
    if text.isdigit():
        return int(text) * 1_000
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"interval {text!r}: expected a number and one of {', '.join(UNITS_MS)}")
    return int(match.group(1)) * UNITS_MS[match.group(2)]


def calculate_interval(range_ms: float, max_data_points: int, min_interval: str = "") -> int:
    """intervalMs of a panel query (rangeutil.calculateInterval)."""
    low = interval_ms(min_interval) if min_interval else 1
    return max(round_interval(range_ms / max_data_points), low)


def format_interval(ms: int) -> str:
    """`$__interval`: the largest whole unit only (90 s -> `1m`)."""
    for unit in ("y", "d", "h", "m", "s", "ms"):
        if ms >= UNITS_MS[unit]:
            return f"{ms // UNITS_MS[unit]}{unit}"
    return "1ms"


def go_duration(ms: int) -> str:
    """Go's time.Duration.String() of a whole number of ms: `30s`, `1m0s`, `1h30m0s`, `500ms`,
    `1.5s`. Flux reads it as a duration literal, which is why `v.windowPeriod` works there."""
    if ms == 0:
        return "0s"
    if ms < 1_000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1_000)
    text = f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text
