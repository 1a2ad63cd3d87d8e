"""External alert channels. A channel is one module with a `from_settings(settings)` that returns
the channel, or None when it is not configured; `deliveries` builds a bounded delivery queue
(`agents.channels.delivery`) for each configured one. Adding a channel = adding a module to
`MODULES`."""

from __future__ import annotations

from agents.channels import alertmanager, syslog, webhook
from agents.channels.delivery import Backoff, Delivery
from schemas.settings import Settings

MODULES = (alertmanager, webhook, syslog)


def deliveries(settings: Settings) -> list[Delivery]:
    alerts = settings.alerts
    backoff = Backoff(alerts.retry_initial_s, alerts.retry_max_s, alerts.retry_attempts)
    return [
        Delivery(channel, alerts.delivery_queue_max, backoff)
        for module in MODULES
        if (channel := module.from_settings(settings)) is not None
    ]
