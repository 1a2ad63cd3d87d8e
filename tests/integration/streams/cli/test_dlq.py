"""`sovwatch dlq` on a real broker with a real worker: a dead letter is sealed on the topic,
listed, opened for the key holder, and replayed once (however often) after the fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.dead_letters import DeadLetterMaker
from agents.dlq_crypto import DlqCipher
from agents.privacy import Pseudonymiser
from agents.rules.fixtures import build_event
from schemas.errors import DecodeError, FieldIssue
from streams.admin.connect import records_to_end
from streams.admin.dlq import REPLAY_HEADER, Marker
from streams.admin.produce import kafka_producer, produce
from streams.stack import Stack
from tests.integration.pipeline import Isolated, wait_for
from tests.readable import assert_not_readable
from tests.unit.streams.cli.run import run_cli


def test_a_dead_letter_is_sealed_listed_shown_and_replayed_once_after_the_fix(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    topics = pipeline.settings.topics
    badge, holder, site = f"B-CLEAR-{unique}", f"holder-CLEAR-{unique}", f"s{unique}-0"
    # Dated 20 h ahead: over the worker's default future skew (5 min), so dead-lettered.
    ahead = datetime.now(UTC) + timedelta(hours=20)
    event = build_event(
        {
            "family": "physical",
            "kind": "access_granted",
            "badge_id": badge,
            "holder": holder,
            "site_id": site,
            "ts": ahead.isoformat(),
        },
        f"e{unique}",
    )
    raw = event.model_dump_json().encode()
    env = {k: v for k, v in pipeline.env.items() if k.startswith("SOVWATCH_")}

    with pipeline.worker():
        produce(pipeline.settings.kafka, [(topics.physical, site.encode(), raw)])
        [value] = pipeline.dead_letters(expected=1)

    # On the topic: sealed, the badge and holder nowhere readable, pseudonyms instead.
    assert_not_readable(value.decode(), badge, holder)
    letter = json.loads(value)
    cipher = DlqCipher.from_settings(pipeline.settings.privacy)
    assert cipher is not None and letter["raw_sealed"]["key_id"] == cipher.key_id
    assert set(letter["pseudonyms"]) == {"badge_id", "holder"}
    source = f"{letter['topic']}:{letter['partition']}:{letter['offset']}"

    listed = run_cli(["dlq", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert "1 dead letters" in listed.stdout and "future_skew" in listed.stdout
    assert source in listed.stdout and badge not in listed.stdout

    shown = run_cli(["dlq", "show", source], env)
    assert shown.returncode == 0, shown.stderr
    assert badge in shown.stdout and "raw bytes (opened)" in shown.stdout
    without_key = {k: v for k, v in env.items() if k != "SOVWATCH_PRIVACY__DLQ_KEY"}
    keyless = run_cli(["dlq", "show", source], without_key)
    assert keyless.returncode == 0, keyless.stderr
    assert f"sealed under DLQ key {cipher.key_id}" in keyless.stdout
    assert badge not in keyless.stdout

    # The fix: the worker accepts events up to a day ahead. Replaying twice sends it once.
    with pipeline.worker("fixed", SOVWATCH_WORKER__MAX_FUTURE_SKEW_S=str(24 * 3600)):
        first = run_cli(["dlq", "replay", "--reason", "future_skew"], env)
        second = run_cli(["dlq", "replay", "--all"], env)
        assert first.returncode == 0, first.stderr
        assert "1 replayed, 0 already replayed" in first.stdout
        assert second.returncode == 0, second.stderr
        assert "0 replayed, 1 already replayed" in second.stdout
        assert wait_for(lambda: pipeline.points_by_measurement(f"s{unique}")["physical"] == 1)

    replays = [
        record
        for record in records_to_end(pipeline.settings.kafka, [topics.physical])
        if (REPLAY_HEADER, source.encode()) in list(record.headers or ())
    ]
    assert [(r.key, r.value, r.partition) for r in replays] == [
        (site.encode(), raw, letter["partition"])
    ]
    assert len(pipeline.dead_letters(expected=2, timeout_s=3)) == 1, "the replay was accepted"


def test_a_replay_cut_short_after_sending_is_not_sent_again_and_one_cut_before_is(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    """A `pending` marker without its `done`: the record may or may not have reached the topic."""
    pipeline = Isolated(unique, tmp_path)
    settings, topics = pipeline.settings, pipeline.settings.topics
    cipher = DlqCipher.from_settings(settings.privacy)
    make = DeadLetterMaker(topics, cipher, Pseudonymiser(b"unit-test-key-0123456789"))
    error = DecodeError("invalid", (FieldIssue(field="", constraint="x", value=None, message="m"),))
    sent, lost = (f"{topics.gpu}:0:{offset}" for offset in (7, 8))
    letters = [
        make(topic=topics.gpu, partition=0, offset=n, key=b"k", value=b"raw-%d" % n, error=error)
        for n in (7, 8)
    ]
    records = [(topics.dlq, b"k", letter.model_dump_json().encode()) for letter in letters]
    produce(settings.kafka, records)
    producer = kafka_producer(settings.kafka)
    try:
        for source in (sent, lost):
            marker = Marker(state="pending", dlq="-", from_offset=0, at=datetime.now(UTC))
            producer.send(
                topics.dlq_replays, key=source.encode(), value=marker.model_dump_json().encode()
            )
        # `sent` reached the topic before the crash; `lost` did not.
        producer.send(
            topics.gpu,
            value=b"raw-7",
            key=b"k",
            partition=0,
            headers=[(REPLAY_HEADER, sent.encode())],
        )
        producer.flush()
    finally:
        producer.close()
    env = {k: v for k, v in pipeline.env.items() if k.startswith("SOVWATCH_")}

    result = run_cli(["dlq", "replay", "--all"], env)

    assert result.returncode == 0, result.stderr
    assert f"already replayed {sent}" in result.stdout and f"replayed {lost}" in result.stdout
    on_topic = [
        (record.value, dict(record.headers or ())[REPLAY_HEADER].decode())
        for record in records_to_end(settings.kafka, [topics.gpu])
    ]
    assert sorted(on_topic) == [(b"raw-7", sent), (b"raw-8", lost)]
    again = run_cli(["dlq", "replay", "--all"], env)
    assert "0 replayed, 2 already replayed" in again.stdout, again.stderr
