"""Reading the alerts a pipeline raised, for scoring: from the alert topics on Kafka, or from the
InfluxDB `alerts` bucket (measurement `alert`; no creation time there, so no delays)."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.alert import Alert
from schemas.decode import decode_as
from schemas.errors import DecodeError
from schemas.settings import Settings
from streams.admin.connect import influx_client, values_to_end
from streams.simulator.score import AlertSeen


def alerts_from_kafka(settings: Settings, timeout_s: float = 30) -> list[AlertSeen]:
    """Every alert on the three alert topics, up to their end offsets at call time."""
    topics = settings.topics
    names = [topics.alerts_ops, topics.alerts_security, topics.alerts_compliance]
    seen: list[AlertSeen] = []
    for value in values_to_end(settings.kafka, names, timeout_s):
        try:
            alert = decode_as(value, Alert)
        except DecodeError:
            continue
        seen.append(_seen(alert))
    return seen


def _seen(alert: Alert) -> AlertSeen:
    return AlertSeen(
        alert.id,
        alert.rule_id,
        alert.site_id,
        alert.window_start,
        alert.window_end,
        alert.created_ts,
    )


def alerts_from_influxdb(settings: Settings, start: datetime, end: datetime) -> list[AlertSeen]:
    """Alerts whose window starts in [start, end], from the alerts bucket."""
    influx = settings.influxdb
    flux = (
        f'from(bucket: "{influx.buckets.alerts}") '
        f"|> range(start: {start.isoformat()}, stop: {(end + timedelta(seconds=1)).isoformat()}) "
        '|> filter(fn: (r) => r._measurement == "alert" '
        'and (r._field == "alert_id" or r._field == "window_end")) '
        '|> pivot(rowKey: ["_time", "rule_id", "site"], columnKey: ["_field"], '
        'valueColumn: "_value")'
    )
    seen = []
    with influx_client(influx) as client:
        for table in client.query_api().query(flux):
            for row in table:
                values = row.values
                seen.append(
                    AlertSeen(
                        values["alert_id"],
                        values["rule_id"],
                        values["site"],
                        values["_time"],
                        datetime.fromisoformat(values["window_end"]),
                    )
                )
    return seen
