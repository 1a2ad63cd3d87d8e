"""One jurisdiction run in-country: its own Kafka cluster, InfluxDB and consumer group.

`sovwatch worker --jurisdiction DE` runs a worker that consumes only DE's cluster
(SOVWATCH_RESIDENCY__KAFKA), stores only on DE's InfluxDB (SOVWATCH_INFLUXDB__RESIDENCY) and
joins the group `<app_id>-de`; an event of another country found on that cluster (a producer
pointed at the wrong one) is dead-lettered there, on DE's own DLQ, and stored nowhere. Collectors
given `--country DE` produce to DE's cluster. Nothing of one jurisdiction reaches another's
cluster or server: each worker only talks to its own.
"""

from __future__ import annotations

from schemas.errors import SovwatchError
from schemas.settings import KafkaSettings, Settings

KAFKA_MAP = "SOVWATCH_RESIDENCY__KAFKA"
INFLUX_MAP = "SOVWATCH_INFLUXDB__RESIDENCY"


def kafka_for(settings: Settings, country: str) -> KafkaSettings:
    """The cluster a producer of `country`'s records must use: its own once any jurisdiction has
    one (fail closed: a country without one is an error), else the main cluster."""
    clusters = settings.residency.kafka
    if not clusters:
        return settings.kafka
    if country not in clusters:
        listed = ", ".join(sorted(clusters))
        raise SovwatchError(
            f"no Kafka cluster for {country} in {KAFKA_MAP} (it lists {listed})",
            f"add {country} to {KAFKA_MAP}: its records must not go to another country's cluster",
        )
    return clusters[country]


def jurisdiction_settings(settings: Settings, country: str) -> Settings:
    """`settings` narrowed to one jurisdiction (`country`: a validated code): its cluster, its
    InfluxDB as the only store (no default for other countries; its own audit read token, if
    the target has one), its own consumer group."""
    if country not in settings.residency.kafka:
        raise SovwatchError(
            f"no Kafka cluster for {country}",
            f'add it to {KAFKA_MAP}=\'{{"{country}": {{"bootstrap_servers": "..."}}}}\'',
        )
    target = settings.influxdb.residency.get(country)
    if target is None:
        raise SovwatchError(
            f"no InfluxDB for {country}",
            f'add it to {INFLUX_MAP}=\'{{"{country}": {{"url": "...", "org": "...", '
            '"token": "..."}}\'',
        )
    influx = settings.influxdb.of_target(target, {country: target})
    app_id = f"{settings.worker.app_id}-{country.lower()}"
    return settings.model_copy(
        update={
            "kafka": settings.residency.kafka[country],
            "influxdb": influx,
            "residency": settings.residency.model_copy(update={"default": "none"}),
            "worker": settings.worker.model_copy(update={"app_id": app_id}),
        }
    )
