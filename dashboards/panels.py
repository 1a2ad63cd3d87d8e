"""Small helpers over the SDK's builders for what every sovwatch panel repeats: thresholds,
field overrides, value mappings and the `organize` transformation that names a table's columns.

The column names given to `organize` and to overrides are what the panel's field config uses;
the query runner checks that each panel's query returns them (`dashboards.queries.expect`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models.dashboard import (
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)

Step = tuple[float | None, str]
GREEN: Final[tuple[Step, ...]] = ((None, "green"),)


def thresholds(*steps: Step) -> ThresholdsConfig:
    """Absolute thresholds: (None, base colour), then (from value, colour)..."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=colour) for value, colour in steps or GREEN])
    )


def value_colours(mapping: Mapping[str, tuple[str | None, str]]) -> ValueMap:
    """Value -> (display text or None, colour)."""
    return ValueMap(
        options={
            value: ValueMappingResult(text=text, color=colour, index=index)
            for index, (value, (text, colour)) in enumerate(mapping.items())
        }
    )


def props(
    *,
    unit: str | None = None,
    decimals: int | None = None,
    display_name: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    cell: str | None = None,
    mappings: list[ValueMap] | None = None,
    steps: tuple[Step, ...] | None = None,
) -> list[DynamicConfigValue]:
    """Override properties, in Grafana's ids (`unit`, `custom.cellOptions`, ...)."""
    values: list[tuple[str, Any]] = [
        ("displayName", display_name),
        ("unit", unit),
        ("decimals", decimals),
        ("min", minimum),
        ("max", maximum),
        ("custom.cellOptions", {"type": cell} if cell else None),
        ("mappings", [m.to_json() for m in mappings] if mappings else None),
        ("thresholds", thresholds(*steps).build().to_json() if steps else None),
    ]
    return [
        DynamicConfigValue(id_val=key, value=value) for key, value in values if value is not None
    ]


def organize(columns: Mapping[str, str]) -> DataTransformerConfig:
    """Show exactly these columns (query column -> header), in this order; hide the rest."""
    return DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {},
            "includeByName": dict.fromkeys(columns, True),
            "indexByName": {name: index for index, name in enumerate(columns)},
            "renameByName": {name: header for name, header in columns.items() if header != name},
        },
    )
