"""The compliance agent on real Kafka and InfluxDB: each pack's scripted scenario gives exactly
the alert ids the rule engine computes in-process, on the alert topics and in InfluxDB; a worker
killed mid-window still fires the windowed alert once; timer-driven rules fire from the worker."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import yaml

from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.rules.engine import RuleEngine
from agents.rules.fixtures import DEFAULT_SITE, build_event, fixture_registry, load_fixtures
from agents.rules.loader import load_packs
from agents.sites.lint import load_registry
from agents.sites.registry import Sites
from schemas.decode import Event
from schemas.settings import Settings
from streams.admin.connect import influx_client
from streams.admin.produce import produce
from streams.stack import Stack
from tests.integration.pipeline import Isolated, wait_for

TIMER_RULES = {rule.id for pack in load_packs() for rule in pack.rules if rule.judged_on_timer}


def topic_of(settings: Settings, event: Event) -> str:
    return str(getattr(settings.topics, event.family))


def records(settings: Settings, events: list[Event]) -> list[tuple[str, bytes, bytes]]:
    return [
        (topic_of(settings, e), e.site_id.encode(), e.model_dump_json(exclude_none=True).encode())
        for e in events
    ]


def alert_ids_on_topics(pipeline: Isolated, expected: int) -> dict[str, str]:
    """alert id -> rule id, from the three alert topics."""
    values = pipeline.records(pipeline.alert_topics(), expected, timeout_s=60)
    return {json.loads(v)["id"]: json.loads(v)["rule_id"] for v in values}


def alert_ids_in_influxdb(settings: Settings, site_prefix: str) -> dict[str, str]:
    with influx_client(settings.influxdb) as client:
        tables = client.query_api().query(
            f'from(bucket: "{settings.influxdb.buckets.alerts}") |> range(start: 0) '
            f'|> filter(fn: (r) => r._measurement == "alert" and r._field == "alert_id" '
            f"and r.site =~ /^{site_prefix}/)"
        )
        return {rec.get_value(): rec.values["rule_id"] for table in tables for rec in table}


def scenario_registry(events: list[Event], path: Path) -> Path:
    """The fixture registry with each scenario site as a copy of the fixture site it stands for
    (`{fixture site}@{scenario site}` event ids name it), written where the worker reads it."""
    fixture = fixture_registry().data
    by_id = {site.id: site for site in fixture.sites}
    copies = {
        event.site_id: by_id[event.event_id.split("@")[0]].model_copy(update={"id": event.site_id})
        for event in events
    }
    registry = fixture.model_copy(update={"sites": (*fixture.sites, *copies.values())})
    path.write_text(json.dumps(registry.model_dump(mode="json")))
    return path


def pack_scenario(pack_name: str, site_prefix: str) -> list[Event]:
    """The positive and negative fixtures of a pack's event-driven rules, each on its own site
    (a copy of the fixture site its events name, see `scenario_registry`)."""
    pack = yaml.safe_load((Path("agents/rules/packs") / f"{pack_name}.yaml").read_text())
    fixtures = load_fixtures()
    events: list[Event] = []
    for index, rule in enumerate(pack["rules"]):
        if rule["id"] in TIMER_RULES:
            continue
        for case in ("positive", "negative"):
            site = f"{site_prefix}-{index}{case[0]}"
            for i, spec in enumerate(fixtures[rule["id"]][case]["events"]):
                fixture_site = spec.get("site_id", DEFAULT_SITE)
                country = fixture_registry().sites[fixture_site].site.country
                fields = {"country": country, **spec, "site_id": site}
                events.append(build_event(fields, f"{fixture_site}@{site}-{i}"))
    return events


def expected_alerts(
    settings: Settings, events: list[Event], rule_ids: set[str], registry: Path
) -> dict[str, str]:
    """What the engine computes in-process, on events pseudonymised as the worker does."""
    engine = RuleEngine(load_packs(), sites=Sites(load_registry(registry)))
    ingest = Ingest(settings, Pseudonymiser.from_settings(settings.privacy))
    found: dict[str, str] = {}
    for event in events:
        for alert in engine.process(ingest.pseudonymised(event)):
            if alert.rule_id in rule_ids:
                found[alert.id] = alert.rule_id
    return found


def event_driven_rule_ids() -> set[str]:
    return {rule.id for pack in load_packs() for rule in pack.rules if not rule.judged_on_timer}


def test_each_pack_scenario_gives_exactly_the_expected_alert_ids(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    rule_ids = event_driven_rule_ids()
    scenario: list[Event] = []
    for pack in ("ops", "security", "sovereignty"):
        scenario += pack_scenario(pack, f"s{unique}{pack[:3]}")
    registry = scenario_registry(scenario, tmp_path / "sites.yaml")
    pipeline = Isolated(unique, tmp_path, SOVWATCH_SITES__REGISTRY=str(registry))
    expected = expected_alerts(pipeline.settings, scenario, rule_ids, registry)
    # The scenario exercises every event-driven rule, those reading the registry included.
    assert set(expected.values()) == rule_ids
    with pipeline.worker():
        produce(pipeline.settings.kafka, records(pipeline.settings, scenario))

        def stored() -> dict[str, str]:
            found = alert_ids_in_influxdb(pipeline.settings, f"s{unique}")
            return {k: v for k, v in found.items() if v in rule_ids}

        wait_for(lambda: stored() == expected, timeout_s=90)
        got = stored()
        missing = {v for k, v in expected.items() if k not in got}
        extra = {v for k, v in got.items() if k not in expected}
        assert got == expected, f"missing alerts of {missing}, unexpected alerts of {extra}"
        on_topics = alert_ids_on_topics(pipeline, len(expected))
    assert {k: v for k, v in on_topics.items() if v in rule_ids} == expected


def test_a_worker_killed_mid_window_still_fires_the_windowed_alert_once(
    stack: Stack, unique: str, tmp_path: Path
) -> None:
    pipeline = Isolated(unique, tmp_path)
    site = f"s{unique}"
    denials = [
        build_event(
            {
                "family": "physical",
                "at": f"{10 * i}s",
                "kind": "access_denied",
                "badge_id": f"p_b{i}",
                "site_id": site,
            },
            f"{site}-d{i}",
        )
        for i in range(5)
    ]
    worker = pipeline.worker("w1")
    with worker:
        produce(pipeline.settings.kafka, records(pipeline.settings, denials[:3]))
        assert wait_for(lambda: worker.metric("sovwatch_events_in_total") >= 3)
        time.sleep(2)  # the changelog write of the window state is flushed
        worker.stop(signal.SIGKILL)
    assert alert_ids_in_influxdb(pipeline.settings, site) == {}
    with pipeline.worker("w2"):
        produce(pipeline.settings.kafka, records(pipeline.settings, denials[3:]))
        assert wait_for(lambda: len(alert_ids_in_influxdb(pipeline.settings, site)) == 1)
        time.sleep(3)
    alerts = [json.loads(v) for v in pipeline.records(pipeline.alert_topics(), 1)]
    assert {a["id"] for a in alerts} == set(alert_ids_in_influxdb(pipeline.settings, site))
    assert {a["rule_id"] for a in alerts} == {"sec.denied_badge_burst"}
    assert max(len(a["evidence_event_ids"]) for a in alerts) == 5


def test_timer_driven_rules_fire_from_the_worker(stack: Stack, unique: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "timers.yaml").write_text(
        """
rules:
  - id: t.audit_silent
    title: audit silent
    desc: short window for the test
    kind: absence
    applies_to: audit
    output: "no audit from {site_id} for {silent_s} s"
    severity: high
    team: compliance
    group_by: [site_id]
    window: 3s
"""
    )
    pipeline = Isolated(
        unique,
        tmp_path,
        SOVWATCH_ALERTS__RULES_DIR=str(rules),
        SOVWATCH_ALERTS__TICK_INTERVAL_S="0.5",
    )
    site = f"s{unique}"
    event = build_event(
        {
            "family": "audit",
            "action": "key_use",
            "key_id": "k1",
            "key_custodian": "site-hsm",
            "site_id": site,
        },
        f"{site}-a1",
    )
    with pipeline.worker():
        produce(pipeline.settings.kafka, records(pipeline.settings, [event]))
        assert wait_for(lambda: len(alert_ids_in_influxdb(pipeline.settings, site)) == 1, 60)
    assert set(alert_ids_in_influxdb(pipeline.settings, site).values()) == {"t.audit_silent"}
