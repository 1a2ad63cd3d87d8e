"""`sovwatch dlq` on a real broker with a real worker: a dead letter is sealed on the topic,
listed, opened for the key holder, and replayed once (however often) after the fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.rules.fixtures import build_event
from streams.connect import records_to_end
from streams.dlq import REPLAY_HEADER
from streams.dlq_crypto import DlqCipher
from streams.produce import produce
from streams.stack import Stack
from tests.integration.pipeline import Isolated, wait_for
from tests.readable import assert_not_readable
from tests.unit.streams.cli_run import run_cli


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
    fixed = {"SOVWATCH_WORKER__MAX_FUTURE_SKEW_S": str(24 * 3600)}
    with pipeline.worker("fixed", **fixed):
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
