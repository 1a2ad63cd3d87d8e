"""The native dev/CI stack: a real Kafka broker and InfluxDB, no containers; Alertmanager on
request (`extras`).

No Grafana: its only source is AGPL and marked not to use here (README, "Grafana").
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from schemas.errors import StackError
from schemas.settings import LOCAL_HOSTS, Settings
from streams.admin.kafka_principals import grants
from streams.stack.alertmanager import AlertmanagerNode
from streams.stack.influxdb import InfluxNode
from streams.stack.kafka import KafkaNode
from streams.stack.worker import WorkerNode


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    reachable: bool

    @property
    def state(self) -> str:
        if self.pid is not None:
            return "up" if self.reachable else "starting"
        return "down (address answered by another process)" if self.reachable else "down"


def _local_port(address: str, what: str, setting: str) -> int:
    parts = urlsplit(address if "//" in address else f"//{address}")
    if parts.hostname not in LOCAL_HOSTS or parts.port is None:
        raise StackError(
            f"the native stack serves only 127.0.0.1, but {what} is '{address}'",
            f"unset {setting} or point it at 127.0.0.1:<port>",
        )
    return parts.port


EXTRAS = ("alertmanager",)
DEFAULT_ALERTMANAGER = "http://127.0.0.1:9093"


class Stack:
    """`sovwatch stack up|down|status`. `extras`: servers started besides Kafka and InfluxDB
    (`EXTRAS`); `down` and `status` cover them whenever they run."""

    def __init__(self, settings: Settings, extras: tuple[str, ...] = ()) -> None:
        unknown = sorted(set(extras) - set(EXTRAS))
        if unknown:
            raise StackError(f"unknown server {', '.join(unknown)}", f"use {', '.join(EXTRAS)}")
        self.extras = extras
        self.settings = settings
        bootstrap = settings.kafka.bootstrap_servers.split(",")[0]
        kafka_port = _local_port(bootstrap, "Kafka", "SOVWATCH_KAFKA__BOOTSTRAP_SERVERS")
        influx_port = _local_port(settings.influxdb.url, "InfluxDB", "SOVWATCH_INFLUXDB__URL")
        self.kafka = KafkaNode(settings.stack, settings.kafka, kafka_port)
        self.influx = InfluxNode(settings.stack, settings.influxdb, influx_port)
        self.worker = WorkerNode(settings.stack, settings.worker)
        am_url = settings.alerts.alertmanager_url or DEFAULT_ALERTMANAGER
        try:
            am_port = _local_port(am_url, "Alertmanager", "SOVWATCH_ALERTS__ALERTMANAGER_URL")
        except StackError:  # a remote Alertmanager: fine unless this stack is to run one
            if "alertmanager" in extras:
                raise
            am_port = _local_port(DEFAULT_ALERTMANAGER, "Alertmanager", "")
        taken = {kafka_port: "Kafka", kafka_port + 1: "Kafka's controller", influx_port: "InfluxDB"}
        if "alertmanager" in extras and am_port in taken:
            raise StackError(
                f"Alertmanager's port {am_port} is {taken[am_port]}'s",
                "point SOVWATCH_ALERTS__ALERTMANAGER_URL at another port",
            )
        self.alertmanager = AlertmanagerNode(settings.stack, am_port)
        self.timeout_s = settings.stack.start_timeout_s

    def up(self) -> None:
        """Install what is missing, start what is stopped, wait until all answer."""
        self.kafka.install()
        self.influx.install()
        self.kafka.start()
        self.influx.start()
        if "alertmanager" in self.extras:
            self.alertmanager.start()
        self.kafka.wait_ready(self.timeout_s)
        self.kafka.authorize(grants(self.settings))
        self.influx.wait_ready(self.timeout_s)
        self.influx.initialise()
        if "alertmanager" in self.extras:
            self.alertmanager.wait_ready(self.timeout_s)

    def down(self) -> list[str]:
        """Stop everything; returns the names of what was running."""
        stopped = []
        nodes = (
            ("worker", self.worker),
            ("alertmanager", self.alertmanager),
            ("influxdb", self.influx),
            ("kafka", self.kafka),
        )
        for name, node in nodes:
            if node.stop():
                stopped.append(name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        """Kafka and InfluxDB; Alertmanager and the background worker too when they run."""
        kafka, influx, worker = self.kafka, self.influx, self.worker
        statuses = [
            ServiceStatus("kafka", kafka.bootstrap, kafka.process.pid(), kafka.is_up()),
            ServiceStatus("influxdb", influx.url, influx.process.pid(), influx.is_up()),
        ]
        am_pid = self.alertmanager.process.pid()
        if am_pid is not None:
            am = self.alertmanager
            statuses.append(ServiceStatus("alertmanager", am.url, am_pid, am.is_up()))
        worker_pid = worker.process.pid()
        if worker_pid is not None:
            statuses.append(ServiceStatus("worker", worker.url, worker_pid, worker.is_up()))
        return statuses
