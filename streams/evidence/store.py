"""Reading chained audit records and checkpoints back from InfluxDB (Flux), for the CLI.

A record comes back exactly as it was hashed: tags and fields of the `audit` point, plus
`time_ns` (the point time in nanoseconds, converted in Flux: the Python client's datetimes stop
at microseconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final

from influxdb_client import InfluxDBClient

from agents.audit.checkpoints import CHECKPOINT_MEASUREMENT, Checkpoint
from agents.audit.records import MEASUREMENT, TIME, Record

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE: Final = datetime(2200, 1, 1, tzinfo=UTC)
_FLUX_COLUMNS: Final = frozenset({"result", "table", "_start", "_stop", "_time", "_measurement"})


@dataclass(frozen=True)
class Filters:
    """What `audit query` (and export/verify) select. Tags are filtered before the pivot."""

    site: str | None = None
    country: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    actor: str | tuple[str, ...] | None = None  # a pseudonym (p_...), or any of several
    action: str | None = None
    dataset: str | None = None
    model: str | None = None
    classification: str | None = None
    destination: str | None = None
    approval: str | None = None
    seq_from: int | None = None
    seq_to: int | None = None


_TAG_FILTERS: Final = {
    "site": "site",
    "country": "country",
    "action": "action",
    "classification": "classification",
    "destination": "destination_country",
}
_FIELD_FILTERS: Final = {
    "actor": "actor_id",
    "dataset": "dataset_id",
    "model": "model_id",
    "approval": "approval_ref",
}


def flux_string(value: str) -> str:
    """A Flux string literal (user input never reaches Flux unquoted)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${") + '"'


def _any_of(column: str, value: object) -> str:
    """`r.column == value`, or an `or` of them for a tuple of values."""
    values = value if isinstance(value, tuple) else (value,)
    either = " or ".join(f"r.{column} == {flux_string(str(v))}" for v in values)
    return f"({either})" if len(values) > 1 else either


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def records_flux(
    bucket: str, filters: Filters, *, limit: int | None = None, offset: int = 0
) -> str:
    start = _time(filters.since or EPOCH)
    stop = _time(filters.until or FAR_FUTURE)
    tag_conds = [f'r._measurement == "{MEASUREMENT}"'] + [
        f"r.{column} == {flux_string(str(getattr(filters, name)))}"
        for name, column in _TAG_FILTERS.items()
        if getattr(filters, name) is not None
    ]
    field_conds = [
        _any_of(column, getattr(filters, name))
        for name, column in _FIELD_FILTERS.items()
        if getattr(filters, name) is not None
    ]
    if filters.seq_from is not None:
        field_conds.append(f"r.seq >= {int(filters.seq_from)}")
    if filters.seq_to is not None:
        field_conds.append(f"r.seq <= {int(filters.seq_to)}")
    lines = [
        f"from(bucket: {flux_string(bucket)})",
        f"  |> range(start: {start}, stop: {stop})",
        f"  |> filter(fn: (r) => {' and '.join(tag_conds)})",
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")',
        '  |> drop(columns: ["_start", "_stop", "_measurement"])',
        "  |> group()",
    ]
    if field_conds:
        lines.append(f"  |> filter(fn: (r) => {' and '.join(field_conds)})")
    lines += [
        f"  |> map(fn: (r) => ({{r with {TIME}: int(v: r._time)}}))",
        '  |> sort(columns: ["site", "seq", "_time"])',
    ]
    if limit is not None:
        lines.append(f"  |> limit(n: {int(limit)}, offset: {int(offset)})")
    return "\n".join(lines)


def _record(values: dict[str, Any]) -> Record:
    return {
        key: value
        for key, value in values.items()
        if key not in _FLUX_COLUMNS and value is not None
    }


def read_records(
    client: InfluxDBClient, org: str, bucket: str, filters: Filters, page_size: int = 5000
) -> Iterator[Record]:
    """Every matching record, sorted by site and seq, fetched in pages of `page_size`."""
    offset = 0
    while True:
        page = read_page(client, org, bucket, filters, limit=page_size, offset=offset)
        yield from page
        if len(page) < page_size:
            return
        offset += page_size


def read_page(
    client: InfluxDBClient, org: str, bucket: str, filters: Filters, *, limit: int, offset: int
) -> list[Record]:
    tables = client.query_api().query(
        records_flux(bucket, filters, limit=limit, offset=offset), org=org
    )
    return [_record(row.values) for table in tables for row in table]


def count_records(client: InfluxDBClient, org: str, bucket: str, filters: Filters) -> int:
    flux = records_flux(bucket, filters) + '\n  |> count(column: "event_id")'
    tables = client.query_api().query(flux, org=org)
    return sum(int(row.values.get("event_id") or 0) for table in tables for row in table)


def read_checkpoints(
    client: InfluxDBClient, org: str, bucket: str, site: str | None = None
) -> list[Checkpoint]:
    """All checkpoints (of one site), sorted by site and sequence range."""
    site_cond = f" and r.site == {flux_string(site)}" if site else ""
    flux = (
        f"from(bucket: {flux_string(bucket)}) |> range(start: {_time(EPOCH)}, "
        f"stop: {_time(FAR_FUTURE)})"
        f' |> filter(fn: (r) => r._measurement == "{CHECKPOINT_MEASUREMENT}"{site_cond})'
        ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
        ' |> group() |> sort(columns: ["site", "first_seq", "last_seq"])'
    )
    names = {f.name for f in fields(Checkpoint)}
    checkpoints = []
    for table in client.query_api().query(flux, org=org):
        for row in table:
            data = {k: v for k, v in row.values.items() if k in names and v is not None}
            checkpoints.append(Checkpoint.from_dict(data))
    return checkpoints
