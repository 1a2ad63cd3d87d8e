"""Flux tables as Grafana's data frames (Grafana 11, pkg/tsdb/influxdb/flux/builder.go).

A table with a `_value` column and a time column is a *time series*: two fields, `Time` (the
`_time` column; another time column keeps its own name) and the value, named after the row's
`_field` (else unnamed), labelled with every column whose name does not start with `_`
(except `result` and `table`). Any other table is a *table frame*: one field per column,
`result` and `table` left out. Panels' field config (overrides, reduce options) refers to these
field names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from influxdb_client.client.flux_table import FluxColumn, FluxTable

FieldType = Literal["time", "number", "string", "boolean", "other"]
TIME_TYPES: Final = ("dateTime:RFC3339", "dateTime:RFC3339Nano")
NUMBER_TYPES: Final = ("double", "long", "unsignedLong", "duration")


@dataclass
class Field:
    name: str
    type: FieldType
    values: list[Any] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def display_name(self, frame_name: str = "") -> str:
        """What a legend shows: the name and its labels (`gpu_util_pct site=a`)."""
        base = self.name or frame_name or "Value"
        if not self.labels:
            return base
        return base + " " + ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))

    def numbers(self) -> list[float]:
        """The field's numeric values, nulls left out."""
        return [float(v) for v in self.values if isinstance(v, int | float) and v is not None]

    def has_nan(self) -> bool:
        return any(isinstance(v, float) and math.isnan(v) for v in self.values)


@dataclass
class Frame:
    name: str
    fields: list[Field]
    is_series: bool

    @property
    def rows(self) -> int:
        return len(self.fields[0].values) if self.fields else 0

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def time(self) -> Field | None:
        return next((f for f in self.fields if f.type == "time"), None)


def _type(column: FluxColumn) -> FieldType:
    kind = str(column.data_type)
    if kind in TIME_TYPES:
        return "time"
    if kind in NUMBER_TYPES:
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind in ("string", "base64Binary"):
        return "string"
    return "other"


def _is_label(name: str) -> bool:
    return name not in ("result", "table") and not name.startswith("_")


def _time_column(columns: list[FluxColumn]) -> FluxColumn | None:
    # builder.go's first test reads `name == "_time" && RFC3339 || RFC3339Nano`.
    for column in columns:
        if (column.label == "_time" and column.data_type == TIME_TYPES[0]) or (
            column.data_type == TIME_TYPES[1]
        ):
            return column
    return next((c for c in columns if c.data_type in TIME_TYPES), None)


def to_frame(table: FluxTable) -> Frame:
    columns = list(table.columns)
    names = [c.label for c in columns]
    time_column = _time_column(columns) if "_value" in names else None
    if time_column is not None:
        value_type = _type(next(c for c in columns if c.label == "_value"))
        first = table.records[0].values if table.records else {}
        time_name = "Time" if time_column.label == "_time" else time_column.label
        labels = {n: str(first[n]) for n in names if _is_label(n) and isinstance(first.get(n), str)}
        time_field = Field(time_name, "time")
        value_field = Field(str(first.get("_field") or ""), value_type, labels=labels)
        for record in table.records:
            time_field.values.append(record.values.get(time_column.label))
            value_field.values.append(record.values.get("_value"))
        return Frame(str(first.get("_measurement") or ""), [time_field, value_field], True)
    kept = [
        c
        for c in columns
        if not (c.index == 0 and c.label == "result") and not (c.index == 1 and c.label == "table")
    ]
    fields = [Field(c.label, _type(c)) for c in kept]
    for record in table.records:
        for f, c in zip(fields, kept, strict=True):
            f.values.append(record.values.get(c.label))
    return Frame("", fields, False)


def to_frames(tables: Iterable[FluxTable]) -> list[Frame]:
    return [to_frame(table) for table in tables]
