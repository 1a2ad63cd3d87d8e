"""The newest checkpoint per site as witnessed outside InfluxDB: on the compacted Kafka topic
`audit.checkpoints` (keyed by site) and in the witness directory, for `audit verify`.

Signatures are not checked here: the verifier checks witnesses with the same key as stored
checkpoints, and reports the ones that fail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kafka.errors import KafkaError

from agents.audit.checkpoints import Checkpoint
from agents.audit.verify import Witnessed
from agents.audit.witness import newest_witnesses
from schemas.errors import ServiceUnreachableError, SovwatchError
from schemas.settings import Settings
from streams.admin.connect import kafka_unreachable, values_to_end


@dataclass
class Witnesses:
    sources: list[str] = field(default_factory=list)  # what was read
    items: list[Witnessed] = field(default_factory=list)

    def checkpoints(self) -> list[Checkpoint]:
        return [w.checkpoint for w in self.items if w.checkpoint is not None]


def read_witnesses(settings: Settings, site: str | None, *, kafka: bool = True) -> Witnesses:
    """The newest witnessed checkpoint of every site (or of `site`) from Kafka (unless `kafka`
    is False) and from the witness directory (if one is set)."""
    found = Witnesses()
    if kafka:
        topic = settings.topics.audit_checkpoints
        found.sources.append(f"Kafka topic {topic}")
        found.items += _newest(_from_kafka(settings, topic), site)
    directory = settings.audit.witness_dir
    if directory is not None:
        found.sources.append(f"witness directory {directory}")
        for file in newest_witnesses(directory, site):
            source = f"witness file {file.path}"
            found.items.append(Witnessed(source, file.site, file.checkpoint, file.problem))
    return found


def _from_kafka(settings: Settings, topic: str) -> list[Witnessed]:
    source = f"Kafka topic {topic}"
    try:
        values = values_to_end(settings.kafka, [topic])
    except (KafkaError, ServiceUnreachableError) as exc:
        unreachable = kafka_unreachable(settings.kafka).message
        raise SovwatchError(
            f"cannot read the witnessed checkpoints on topic {topic}: {unreachable} "
            f"({type(exc).__name__})",
            "start Kafka ('sovwatch stack up'), or pass --no-kafka to check InfluxDB against "
            "the witness directory (SOVWATCH_AUDIT__WITNESS_DIR) alone",
        ) from None
    witnessed = []
    for value in values:
        try:
            checkpoint = Checkpoint.from_dict(json.loads(value))
        except (ValueError, KeyError, TypeError) as exc:
            witnessed.append(Witnessed(source, "", None, f"a record is not a checkpoint ({exc})"))
            continue
        witnessed.append(Witnessed(source, checkpoint.site, checkpoint))
    return witnessed


def _newest(witnessed: list[Witnessed], site: str | None) -> list[Witnessed]:
    """Per site, the checkpoint reaching furthest (the topic keeps older ones until it is
    compacted); unreadable records are kept, to be reported."""
    newest: dict[str, Checkpoint] = {}
    unreadable = []
    for witness in witnessed:
        checkpoint = witness.checkpoint
        if checkpoint is None:
            unreadable.append(witness)
        elif site is None or checkpoint.site == site:
            best = newest.get(checkpoint.site)
            if best is None or checkpoint.last_seq > best.last_seq:
                newest[checkpoint.site] = checkpoint
    source = witnessed[0].source if witnessed else ""
    return [*unreadable, *(Witnessed(source, c.site, c) for c in newest.values())]
