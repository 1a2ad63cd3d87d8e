"""The fault suite's own traffic, without servers: its incidents do not depend on when it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.faults.harness import incident_hour
from tests.integration.agents.test_compliance import event_driven_rule_ids


def test_the_incident_hour_plans_the_same_incidents_at_every_hour_of_the_week() -> None:
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    plans = {
        tuple(
            sorted(
                p.incident.rule
                for p in incident_hour("f-s", now=monday + timedelta(hours=h)).placed
            )
        )
        for h in range(7 * 24)
    }
    assert len(plans) == 1, f"{len(plans)} different plans over one week"
    (plan,) = plans
    time_driven = set(plan) - event_driven_rule_ids()
    # What the two-worker timed-alert scenario needs to prove anything.
    assert len(time_driven) >= 3, time_driven
