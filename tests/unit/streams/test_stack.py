"""The native stack refuses addresses it cannot serve."""

from __future__ import annotations

import pytest

from schemas.errors import StackError
from schemas.settings import Settings
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


def test_alertmanager_serves_where_its_url_points_and_only_locally_when_started() -> None:
    local = Settings.model_validate({"alerts": {"alertmanager_url": "http://127.0.0.1:19093"}})
    assert Stack(local, ("alertmanager",)).alertmanager.url == "http://127.0.0.1:19093"
    assert Stack(Settings()).alertmanager.url == "http://127.0.0.1:9093"
    remote = Settings.model_validate({"alerts": {"alertmanager_url": "http://am.example:9093"}})
    assert Stack(remote).alertmanager.port == 9093  # posting to a remote one is fine
    with pytest.raises(StackError, match="SOVWATCH_ALERTS__ALERTMANAGER_URL"):
        Stack(remote, ("alertmanager",))


def test_alertmanager_may_not_take_a_port_of_the_stack_nor_unknown_servers_be_asked() -> None:
    clash = Settings.model_validate(
        {
            "kafka": {"bootstrap_servers": "127.0.0.1:29092"},
            "alerts": {"alertmanager_url": "http://127.0.0.1:29093"},
        }
    )
    with pytest.raises(StackError, match="controller"):
        Stack(clash, ("alertmanager",))
    with pytest.raises(StackError, match="use alertmanager"):
        Stack(Settings(), ("grafana",))
