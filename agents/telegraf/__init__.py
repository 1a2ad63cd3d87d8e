"""Telegraf as a producer: its Kafka output's metrics mapped to sovwatch families.

`metric` parses the json and influx data formats; `mapping` turns a metric into an event.
"""

from agents.telegraf.mapping import TelegrafAdapter

__all__ = ["TelegrafAdapter"]
