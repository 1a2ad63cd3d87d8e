"""One Telegraf metric from Kafka bytes, in either data format Telegraf's Kafka output writes.

- `json`: `{"fields": {...}, "name": "nvidia_smi", "tags": {...}, "timestamp": N}`, `N` an
  integer in `json_timestamp_units` (1s by default; the generated config uses 1ms). The unit is
  read from the magnitude, so any of 1s, 1ms, 1us or 1ns works.
- `influx`: one line of line protocol, `name,tag=v field=1i,other=2.5 1700000000000000000`
  (timestamp in ns), escapes as in the line protocol reference.

Every failure is a `DecodeError` naming what is wrong, for the dead-letter record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from schemas.errors import DecodeError, FieldIssue

DataFormat = Literal["json", "influx"]
FieldValue = float | int | bool | str


@dataclass(frozen=True)
class Metric:
    """What Telegraf measured: name, tags, fields and when."""

    name: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    ts: datetime


def bad(reason: str, field: str = "", constraint: str = "telegraf_format", value: str | None = None,
        ) -> DecodeError:  # fmt: skip
    """A DecodeError with one issue (value shown as given, truncated by the DLQ record)."""
    issue = FieldIssue(field=field, constraint=constraint, value=value, message=reason[:1024])
    return DecodeError(reason[:1024], (issue,))


def parse(raw: bytes, data_format: DataFormat) -> Metric:
    """The metric in `raw`, written in `data_format` (SOVWATCH_TELEGRAF__DATA_FORMAT)."""
    if data_format == "json":
        return parse_json(raw)
    return parse_influx(raw)


def from_timestamp(value: int) -> datetime:
    """An integer epoch timestamp in s, ms, us or ns (told apart by magnitude) as UTC."""
    magnitude = abs(value)
    if magnitude < 10**11:  # seconds until the year 5138
        divisor = 1
    elif magnitude < 10**14:
        divisor = 10**3
    elif magnitude < 10**17:
        divisor = 10**6
    else:
        divisor = 10**9
    seconds, fraction = divmod(value, divisor)
    try:
        ts = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise bad(
            f"timestamp {value} is out of range", "timestamp", "timestamp_range", str(value)
        ) from None
    return ts.replace(microsecond=fraction * 1_000_000 // divisor)


def parse_json(raw: bytes) -> Metric:
    """A metric of Telegraf's json serializer."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"not Telegraf json (SOVWATCH_TELEGRAF__DATA_FORMAT=json): {exc}") from None
    if not isinstance(doc, dict):
        raise bad("not Telegraf json: the record is not a JSON object")
    name, tags, fields, timestamp = (doc.get(k) for k in ("name", "tags", "fields", "timestamp"))
    if not isinstance(name, str) or not name:
        raise bad("Telegraf json has no metric name", "name", "missing")
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad(f"Telegraf metric {name}: tags must be an object of strings", "tags", "type")
    if not isinstance(fields, dict) or not fields:
        raise bad(f"Telegraf metric {name} has no fields", "fields", "missing")
    for key, value in fields.items():
        if not isinstance(value, int | float | str | bool):
            raise bad(
                f"Telegraf metric {name}: field {key} is {type(value).__name__}, expected a "
                "number, string or boolean", f"fields.{key}", "type", repr(value)[:120],
            )  # fmt: skip
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise bad(
            f"Telegraf metric {name}: timestamp must be an integer epoch (json_timestamp_units), "
            f"got {timestamp!r}"[:300], "timestamp", "type", repr(timestamp)[:120],
        )  # fmt: skip
    return Metric(name, tags, fields, from_timestamp(timestamp))


# Line protocol: runs of text where a backslash escapes the next character.
# (Unrolled loops, `[^x\\]*(?:\\.[^x\\]*)*`: several times faster than `(?:[^x\\]|\\.)+`.)
_HEAD = re.compile(r"[^ \\]*(?:\\.[^ \\]*)*")  # measurement and tags: up to an unescaped space
_PART = re.compile(r"[^,\\]+(?:\\.[^,\\]*)*|(?:\\.[^,\\]*)+")  # the measurement, then each tag
_UNESCAPE = re.compile(r"\\([,= \\])")
_FIELD = re.compile(  # key=value, the value quoted or bare
    r'([^=\\]*(?:\\.[^=\\]*)*)=("[^"\\]*(?:\\.[^"\\]*)*"|[^,]*)(?:,|$)'
)
_INT = re.compile(r"-?[0-9]+i")
_UINT = re.compile(r"[0-9]+u")
_BOOLS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True,
          "f": False, "F": False, "false": False, "False": False, "FALSE": False}  # fmt: skip


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(r"\1", text) if "\\" in text else text


def _value(text: str, name: str, key: str) -> FieldValue:
    if text.startswith('"'):
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text[-1:] in ("i", "u") and (_INT.fullmatch(text) or _UINT.fullmatch(text)):
        return int(text[:-1])
    if text in _BOOLS:
        return _BOOLS[text]
    try:
        return float(text)
    except ValueError:
        raise bad(
            f"Telegraf metric {name}: field {key} has no valid line-protocol value: {text!r}",
            f"fields.{key}", "type", text[:120],
        ) from None  # fmt: skip


def parse_influx(raw: bytes) -> Metric:
    """A metric of Telegraf's influx serializer: one line (a trailing newline is allowed)."""
    try:
        line = raw.decode("utf-8").strip("\n")
    except UnicodeDecodeError as exc:
        raise bad(f"not line protocol: {exc}") from None
    if not line or "\n" in line or line.startswith(("{", "#")):
        raise bad(
            "not one line of Telegraf influx line protocol (SOVWATCH_TELEGRAF__DATA_FORMAT=influx)"
        )
    escaped = "\\" in line
    head_match = _HEAD.match(line) if escaped else None
    head = head_match.group(0) if head_match else line.partition(" ")[0]
    rest = line[len(head) :].lstrip(" ")
    # String fields may: the timestamp is the last word, if it is a number.
    fields_text, _, timestamp_text = rest.rpartition(" ")
    if not fields_text or not timestamp_text.lstrip("-").isdigit():
        fields_text, timestamp_text = rest, ""
    parts = _PART.findall(head) if escaped else head.split(",")
    name = "" if head.startswith(",") else _unescape(parts[0])
    if not name:
        raise bad("line protocol has no measurement name", "name", "missing")
    tags: dict[str, str] = {}
    for pair in parts[1:]:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value:
            raise bad(f"Telegraf metric {name}: bad tag {pair!r}", "tags", "line_protocol", pair)
        tags[_unescape(key)] = _unescape(value)
    fields = _fields(fields_text, name, escaped or '"' in fields_text)
    if not timestamp_text:
        raise bad(f"Telegraf metric {name} has no timestamp", "timestamp", "missing")
    return Metric(name, tags, fields, from_timestamp(int(timestamp_text)))


def _fields(text: str, name: str, quoted_or_escaped: bool) -> dict[str, FieldValue]:
    """The field set `key=value,...`; a plain split unless a string or escape needs the regex."""
    fields: dict[str, FieldValue] = {}
    if not quoted_or_escaped:
        for pair in text.split(","):
            key, sep, value = pair.partition("=")
            if not sep or not key:
                fields = {}
                break
            fields[key] = _value(value, name, key)
    else:
        position = 0
        for match in _FIELD.finditer(text):
            if match.start() != position or not match.group(1):
                break
            fields[_unescape(match.group(1))] = _value(match.group(2), name, match.group(1))
            position = match.end()
        if position != len(text):
            fields = {}
    if not fields:
        raise bad(f"Telegraf metric {name}: bad field set {text[:80]!r}", "fields", "line_protocol")
    return fields
