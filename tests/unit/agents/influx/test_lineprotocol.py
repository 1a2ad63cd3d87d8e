"""Line protocol encoding: escaping, types, and what InfluxDB would reject."""

from __future__ import annotations

import pytest

from agents.influx.lineprotocol import LineProtocolError, encode_line


def test_tags_are_sorted_and_field_types_are_encoded() -> None:
    line = encode_line(
        "gpu",
        {"site": "fra-1", "node": "n01", "gpu": "3"},
        {"util_pct": 87.5, "xid_last": 79, "throttled": True, "model": "H100"},
        1_700_000_000_000_000_000,
    )
    assert line == (
        "gpu,gpu=3,node=n01,site=fra-1 "
        'util_pct=87.5,xid_last=79i,throttled=true,model="H100" 1700000000000000000'
    )


def test_special_characters_are_escaped() -> None:
    line = encode_line(
        "door events",
        {"zone": "hall A,cage=2"},
        {"note": 'said "hi" \\ bye', "a b": 1.0},
        5,
    )
    assert line == (
        r"door\ events,zone=hall\ A\,cage\=2 "
        r'note="said \"hi\" \\ bye",a\ b=1.0 5'
    )


def test_empty_tags_and_none_fields_are_dropped() -> None:
    assert encode_line("m", {"a": "", "b": "x"}, {"f": None, "g": 2}, 1) == "m,b=x g=2i 1"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_are_rejected(value: float) -> None:
    with pytest.raises(LineProtocolError, match="not finite"):
        encode_line("m", {}, {"f": value}, 1)


def test_a_point_without_fields_is_rejected() -> None:
    with pytest.raises(LineProtocolError, match="no field"):
        encode_line("m", {"t": "x"}, {"f": None}, 1)


def test_a_tag_value_ending_in_a_backslash_does_not_escape_the_delimiter() -> None:
    line = encode_line("m", {"rack": "r1\\", "row": "a\\b"}, {"v": 1}, 5)
    # The trailing backslash is followed by an escaped space; one inside a value stays as it is.
    assert line == "m,rack=r1\\\\ ,row=a\\b v=1i 5"
