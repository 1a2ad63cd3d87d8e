"""Kafka and InfluxDB of the native stack, and nothing else, for the benchmarks.

`sovwatch stack up` also builds and starts a Grafana server, which the benchmarks neither need
nor may run here: this starts (installing on first use) only the two servers every benchmark
measures against, through the stack's own nodes, with the same settings and run dir.

    .venv/bin/python tests/bench/stack_up.py     # idempotent; stop with `sovwatch stack down`
"""

from __future__ import annotations

from schemas.settings import Settings
from streams.stack import Stack


def main() -> None:
    stack = Stack(Settings())
    for node in (stack.kafka, stack.influx):
        node.install()
        node.start()
    stack.kafka.wait_ready(stack.timeout_s)
    stack.influx.wait_ready(stack.timeout_s)
    stack.influx.initialise()
    print(f"kafka: up at {stack.kafka.bootstrap}; influxdb: up at {stack.influx.url}")


if __name__ == "__main__":
    main()
