"""The native stack refuses addresses it cannot serve."""

from __future__ import annotations

import pytest

from streams.errors import StackError
from streams.settings import Settings
from streams.stack import Stack


def test_ports_come_from_the_client_settings() -> None:
    settings = Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": "localhost:29092"},
            "influxdb": {"url": "http://127.0.0.1:28086"},
        }
    )
    stack = Stack(settings)
    assert (stack.kafka.port, stack.kafka.controller_port) == (29092, 29093)
    assert stack.influx.url == "http://127.0.0.1:28086"


@pytest.mark.parametrize(
    ("kafka", "influx", "named"),
    [
        ("kafka.example:9092", "http://127.0.0.1:8086", "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS"),
        ("127.0.0.1:9092", "http://10.1.2.3:8086", "SOVWATCH_INFLUXDB__URL"),
        ("127.0.0.1", "http://127.0.0.1:8086", "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS"),
    ],
)
def test_remote_or_portless_addresses_are_refused_with_the_setting_to_change(
    kafka: str, influx: str, named: str
) -> None:
    settings = Settings.model_validate(
        {"kafka": {"bootstrap_servers": kafka}, "influxdb": {"url": influx}}
    )
    with pytest.raises(StackError) as err:
        Stack(settings)
    assert named in str(err.value)
