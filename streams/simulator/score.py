"""Scoring alerts against the ground truth: per-rule precision, recall and detection delay.

Matching, explicitly:
- alerts are deduplicated by id (a re-emitted alert is one alert, its latest window kept);
- an alert is *in scope* when its site is one of the run's sites and its whole window lies in the
  run's time range (an absence alert whose silence runs past the end of the run is not judged:
  the run ended, the fleet did not go silent);
- an in-scope alert *matches* an incident when rule and site are equal and the alert's window
  overlaps the incident's [start, end]; an incident is detected when some alert matches it;
- precision = matching alerts / in-scope alerts, recall = detected incidents / incidents, per rule
  (None when there is nothing to divide by); in-scope alerts of rules without injected incidents
  count against precision;
- delay = alert created - the moment the incident became detectable: the wall time the simulator
  produced the first event at or after the incident's `due` time when it wrote to Kafka, else the
  simulated `due` time itself (in-process runs, whose `created` is event time).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from streams.simulator.truth import Truth


@dataclass(frozen=True)
class AlertSeen:
    id: str
    rule_id: str
    site_id: str
    window_start: datetime
    window_end: datetime
    created: datetime | None = None


@dataclass
class RuleScore:
    rule: str
    incidents: int = 0
    detected: int = 0
    alerts: int = 0
    matching: int = 0
    delays_s: list[float] = field(default_factory=list)
    false_alerts: list[AlertSeen] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.matching / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.incidents if self.incidents else None

    @property
    def delay_p50_s(self) -> float | None:
        return statistics.median(self.delays_s) if self.delays_s else None


@dataclass
class Report:
    rules: dict[str, RuleScore]
    out_of_scope: int

    def totals(self) -> RuleScore:
        total = RuleScore("all")
        for r in self.rules.values():
            total.incidents += r.incidents
            total.detected += r.detected
            total.alerts += r.alerts
            total.matching += r.matching
            total.delays_s.extend(r.delays_s)
        return total


def dedupe(alerts: Iterable[AlertSeen]) -> list[AlertSeen]:
    """One alert per id: the latest window, the first creation time (when it was raised)."""
    latest: dict[str, AlertSeen] = {}
    for alert in alerts:
        seen = latest.get(alert.id)
        if seen is None:
            latest[alert.id] = alert
            continue
        newer = alert if alert.window_end >= seen.window_end else seen
        created = [c for c in (seen.created, alert.created) if c is not None]
        latest[alert.id] = replace(newer, created=min(created) if created else None)
    return list(latest.values())


def score(truth: Truth, alerts: Iterable[AlertSeen]) -> Report:
    rules: dict[str, RuleScore] = {}
    for inc in truth.incidents:
        rules.setdefault(inc.rule, RuleScore(inc.rule)).incidents += 1
    sites = set(truth.sites)
    in_scope, outside = [], 0
    for alert in dedupe(alerts):
        if (
            alert.site_id in sites
            and truth.start <= alert.window_start
            and alert.window_end <= truth.end
        ):
            in_scope.append(alert)
        else:
            outside += 1
    detected: dict[str, list[float]] = {}
    for alert in in_scope:
        rule = rules.setdefault(alert.rule_id, RuleScore(alert.rule_id))
        rule.alerts += 1
        matches = [
            inc
            for inc in truth.incidents
            if inc.rule == alert.rule_id
            and inc.site == alert.site_id
            and alert.window_start <= inc.end
            and alert.window_end >= inc.start
        ]
        if not matches:
            rule.false_alerts.append(alert)
            continue
        rule.matching += 1
        for inc in matches:
            delays = detected.setdefault(inc.id, [])
            if alert.created is not None:
                reference = truth.due_wall.get(inc.id, inc.due)
                delays.append((alert.created - reference).total_seconds())
    for inc in truth.incidents:
        rule = rules[inc.rule]
        if inc.id in detected:
            rule.detected += 1
            if detected[inc.id]:
                rule.delays_s.append(min(detected[inc.id]))
        else:
            rule.missed.append(inc.id)
    return Report(dict(sorted(rules.items())), outside)
