"""Which InfluxDB must store a country's records, failing closed.

With a residency map (SOVWATCH_INFLUXDB__RESIDENCY) a country it does not list has no store:
`target_for` raises `DecodeError` ("no residency target for XX"), so the event is dead-lettered
and nothing of it (point, audit record, alert) is written anywhere, unless the operator chose
SOVWATCH_RESIDENCY__DEFAULT=influxdb, which the worker logs at start. With no map at all, the main
InfluxDB is the one store of every country (a single-jurisdiction deployment).

With a site registry, the jurisdiction is the site's registered country: `resident` first refuses
an event of an unregistered site or whose country differs from its site's
(`agents.sites.binding`), so a collector cannot move a site's data across a border.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from agents.sites.binding import bind_country
from agents.sites.registry import Sites
from schemas.envelope import Envelope
from schemas.errors import DecodeError, FieldIssue
from schemas.settings import InfluxSettings, InfluxTarget, ResidencySettings, Settings

log = logging.getLogger(__name__)
E = TypeVar("E", bound=Envelope)


class Residency:
    def __init__(
        self, influx: InfluxSettings, policy: ResidencySettings, sites: Sites | None = None
    ) -> None:
        self.influx = influx
        self.sites = sites if sites is not None else Sites()
        self._fallback: InfluxTarget | None = (
            influx if not influx.residency or policy.default == "influxdb" else None
        )

    @classmethod
    def from_settings(cls, settings: Settings, sites: Sites | None = None) -> Residency:
        return cls(settings.influxdb, settings.residency, sites)

    def target_for(self, country: str) -> InfluxTarget:
        """The target that must store this country's records; `DecodeError` if there is none."""
        target = self.influx.residency.get(country, self._fallback)
        if target is None:
            message = (
                f"no residency target for {country}: add it to SOVWATCH_INFLUXDB__RESIDENCY "
                "(or set SOVWATCH_RESIDENCY__DEFAULT=influxdb to store it on the main InfluxDB)"
            )
            issue = FieldIssue(
                field="country", constraint="residency", value=country, message=message
            )
            raise DecodeError(message, (issue,))
        return target

    def resident(self, event: E) -> E:
        """`event` if its site is registered in its country (with a registry) and that country
        has a store (see `target_for`); else `DecodeError`."""
        bind_country(event, self.sites)
        self.target_for(event.country)
        return event

    def log_policy(self) -> None:
        """Say at start where each country's records go (hosts only: never a token)."""
        countries = sorted(self.influx.residency)
        if not countries:
            log.warning(
                "no residency map: every country is stored on %s (SOVWATCH_INFLUXDB__RESIDENCY)",
                self.influx.url,
            )
            return
        for country in countries:
            log.info("residency: %s -> %s", country, self.influx.residency[country].url)
        if self._fallback is not None:
            log.warning(
                "residency default: countries other than %s are stored on %s "
                "(SOVWATCH_RESIDENCY__DEFAULT=influxdb)",
                ", ".join(countries),
                self.influx.url,
            )
        else:
            log.info("residency: events of any other country are dead-lettered")
