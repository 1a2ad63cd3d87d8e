"""Telegraf's json and influx data formats -> `Metric`; each malformed record -> DecodeError."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.telegraf.metric import from_timestamp, parse, parse_influx, parse_json
from schemas.errors import DecodeError

TS = datetime(2026, 12, 2, 10, 15, 42, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [1796206542, 1796206542123, 1796206542123000, 1796206542123000000],
    ids=["s", "ms", "us", "ns"],
)
def test_the_timestamp_unit_is_read_from_its_magnitude(value: int) -> None:
    expected = TS if value > 10**11 else TS.replace(microsecond=0)
    assert from_timestamp(value) == expected


def test_a_json_metric_keeps_name_tags_fields_and_time() -> None:
    metric = parse_json(
        b'{"fields":{"temperature_gpu":71,"power_draw":652.18,"driver_version":"550.54.15"},'
        b'"name":"nvidia_smi","tags":{"index":"0","site":"fra-1"},"timestamp":1796206542123}'
    )
    assert metric.name == "nvidia_smi"
    assert metric.tags == {"index": "0", "site": "fra-1"}
    assert metric.fields == {
        "temperature_gpu": 71,
        "power_draw": 652.18,
        "driver_version": "550.54.15",
    }
    assert metric.ts == TS


def test_a_line_protocol_metric_unescapes_names_tags_and_strings() -> None:
    metric = parse_influx(
        b"nvidia_smi,name=NVIDIA\\ H100\\,SXM,site=fra-1 temperature_gpu=71i,power_draw=652.18,"
        b'note="a \\"quoted\\" value, with space",ok=true 1796206542123000000\n'
    )
    assert metric.name == "nvidia_smi"
    assert metric.tags == {"name": "NVIDIA H100,SXM", "site": "fra-1"}
    assert metric.fields == {
        "temperature_gpu": 71,
        "power_draw": 652.18,
        "note": 'a "quoted" value, with space',
        "ok": True,
    }
    assert metric.ts == TS


def test_the_setting_picks_the_parser() -> None:
    line = b"m,site=s v=1i 1796206542123000000\n"
    assert parse(line, "influx").fields == {"v": 1}
    with pytest.raises(DecodeError, match="DATA_FORMAT=json"):
        parse(line, "json")
    with pytest.raises(DecodeError, match="DATA_FORMAT=influx"):
        parse(b'{"name":"m","tags":{},"fields":{"v":1},"timestamp":1}', "influx")


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"[1, 2]", "", "not a JSON object"),
        (b'{"tags":{},"fields":{"v":1},"timestamp":1}', "name", "no metric name"),
        (b'{"name":"m","tags":{"a":1},"fields":{"v":1},"timestamp":1}', "tags", "strings"),
        (b'{"name":"m","tags":{},"fields":{},"timestamp":1}', "fields", "no fields"),
        (b'{"name":"m","tags":{},"fields":{"v":[1]},"timestamp":1}', "fields.v", "list"),
        (b'{"name":"m","tags":{},"fields":{"v":1},"timestamp":"now"}', "timestamp", "integer"),
        (b'{"name":"m","tags":{},"fields":{"v":1},"timestamp":9' + b"9" * 25 + b"}",
         "timestamp", "out of range"),
    ],
)  # fmt: skip
def test_malformed_json_names_what_is_wrong(raw: bytes, field: str, words: str) -> None:
    with pytest.raises(DecodeError, match=words) as caught:
        parse_json(raw)
    assert caught.value.issues[0].field == field


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"", "not one line"),
        (b"m v=1 1\nm v=2 2", "not one line"),
        (b"m,tag v=1 1", "bad tag"),
        (b"m v=1", "no timestamp"),
        (b"m v=abc 1796206542", "no valid line-protocol value"),
        (b"m v= 1796206542", "no valid line-protocol value"),
        (b"m,site=a 1796206542", "bad field set"),
        (b"\xff", "not line protocol"),
    ],
)
def test_malformed_line_protocol_names_what_is_wrong(line: bytes, words: str) -> None:
    with pytest.raises(DecodeError, match=words):
        parse_influx(line)
