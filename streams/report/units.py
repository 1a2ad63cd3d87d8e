"""Values written with the Grafana unit a panel's field config names (the ones sovwatch uses)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

SCALED: Final = {
    "watt": (("MW", 1e6), ("kW", 1e3), ("W", 1.0)),
    "kwatt": (("GW", 1e6), ("MW", 1e3), ("kW", 1.0)),
    "short": (("Bil", 1e9), ("Mil", 1e6), ("K", 1e3), ("", 1.0)),
}
SUFFIX: Final = {"percent": "%", "celsius": " °C"}


def _number(value: float, decimals: int | None) -> str:
    if decimals is None:
        decimals = 0 if float(value).is_integer() else (1 if abs(value) >= 10 else 2)
    return f"{value:,.{decimals}f}"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def format_value(value: Any, unit: str | None = None, decimals: int | None = None) -> str:
    """`1.23 kW`, `87.5%`, `95 s`, `2026-01-05 20:00:00Z`; text as it is; empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if unit in SCALED:
        for suffix, size in SCALED[unit]:
            if abs(number) >= size or size == 1.0:
                text = _number(number / size, decimals if size == 1.0 else 2)
                return f"{text} {suffix}".rstrip()
    if unit == "s":
        return _duration(number)
    return _number(number, decimals) + SUFFIX.get(unit or "", "")
