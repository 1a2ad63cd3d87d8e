"""Prometheus Alertmanager channel: incident records POSTed to /api/v2/alerts.

Labels identify the incident (`alertname` = rule id, `incident` = alert id, severity, team, site,
country), so Alertmanager routes and groups on them; annotations carry the summary, a description
and the evidence event ids; `generatorURL` links the Grafana dashboard of the rule's team. A
resolved record carries `endsAt`. Alertmanager resolves an alert it has not heard of for its
`resolve_timeout` (default 5 min): open incidents are re-posted every `alertmanager_repost_s`
(default 60 s), as re-posts of the latest record (dropped first when the queue is full).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp

from agents.channels.delivery import DeliveryError
from schemas.alert import Alert
from schemas.settings import Settings

TEAM_DASHBOARD = {
    "ops": "sovwatch-fleet",
    "security": "sovwatch-physical",
    "compliance": "sovwatch-compliance",
}
MAX_OPEN = 10_000
"""Open incidents remembered for re-posting (oldest forgotten first: Alertmanager then resolves
them after its resolve_timeout, and their next record posts them again)."""
EVIDENCE_SHOWN = 20


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def postable(alert: Alert, grafana_url: str, now: datetime) -> dict[str, object]:
    """One entry of the POST /api/v2/alerts body."""
    evidence = alert.evidence_event_ids
    shown = ",".join(evidence[:EVIDENCE_SHOWN]) + ("..." if len(evidence) > EVIDENCE_SHOWN else "")
    entry: dict[str, object] = {
        "labels": {
            "alertname": alert.rule_id,
            "incident": alert.id,
            "severity": alert.severity,
            "team": alert.team,
            "site": alert.site_id,
            "country": alert.country,
        },
        "annotations": {
            "summary": alert.message,
            "description": (
                f"{alert.rule_id} at {alert.site_id} ({alert.country}): {alert.message}; "
                f"{len(evidence)} events from {_rfc3339(alert.window_start)} "
                f"to {_rfc3339(alert.window_end)}"
            ),
            "evidence_event_ids": shown,
        },
        "startsAt": _rfc3339(alert.window_start),
        "generatorURL": (
            f"{grafana_url.rstrip('/')}/d/{TEAM_DASHBOARD[alert.team]}"
            f"?var-site={quote(alert.site_id)}"
        ),
    }
    if alert.ends_at is not None:
        # In the future Alertmanager would keep it firing until then: a resolve is now at most.
        entry["endsAt"] = _rfc3339(min(alert.ends_at, now))
    return entry


class Alertmanager:
    name = "alertmanager"

    def __init__(self, url: str, grafana_url: str, repost_s: float) -> None:
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.grafana_url = grafana_url
        self.repost_s = repost_s
        self._open: OrderedDict[str, tuple[Alert, float]] = OrderedDict()
        self._http: aiohttp.ClientSession | None = None

    async def send(self, alert: Alert) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = json.dumps([postable(alert, self.grafana_url, datetime.now(UTC))])
        async with self._http.post(
            self.url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            if response.status >= 300:
                text = (await response.text())[:200]
                raise DeliveryError(f"Alertmanager answered HTTP {response.status}: {text}")
        self.sent(alert)

    def sent(self, alert: Alert, now: float | None = None) -> None:
        """Remember an open incident for re-posting; forget a resolved one."""
        self._open.pop(alert.id, None)
        if alert.is_open:
            self._open[alert.id] = (alert, time.monotonic() if now is None else now)
            while len(self._open) > MAX_OPEN:
                self._open.popitem(last=False)

    def due(self, now: float) -> list[Alert]:
        """Open incidents last posted `repost_s` ago or more (the queue posts them again)."""
        due = []
        for alert, posted in self._open.values():
            if now - posted < self.repost_s:
                break  # ordered by last post
            # A re-post is an update: the first to go when the queue is full.
            due.append(alert.model_copy(update={"status": "updated"}))
        for alert in due:  # not due again until this re-post went out (or failed)
            self._open.move_to_end(alert.id)
            self._open[alert.id] = (alert, now)
        return due

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def from_settings(settings: Settings) -> Alertmanager | None:
    alerts = settings.alerts
    if not alerts.alertmanager_url:
        return None
    return Alertmanager(alerts.alertmanager_url, settings.grafana.url, alerts.alertmanager_repost_s)
