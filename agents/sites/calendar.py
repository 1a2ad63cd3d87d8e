"""A site's own calendar: local time in its IANA zone, working hours, weekend days, public
holidays (the `holidays` package for its country or subdivision) and the site's closures."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from schemas.sites import WEEKDAYS, Site, minutes


class SiteCalendar:
    """Answers, for an instant, what the site's clock and calendar say."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.zone = ZoneInfo(site.tz)
        self._start = minutes(site.working_hours.start)
        self._end = minutes(site.working_hours.end)
        self._weekend = frozenset(WEEKDAYS.index(day) for day in site.weekend)
        self._closures = {
            day: closure.reason for closure in site.holidays.closures for day in closure.days()
        }

    @cached_property
    def _public(self) -> Any:
        """The country's (or subdivision's) holidays; years are computed as they are asked for."""
        calendar = self.site.holidays
        if not calendar.public:
            return {}
        return holidays.country_holidays(
            self.site.holiday_country, subdiv=calendar.subdivision, language="en_US"
        )

    def local(self, ts: dt.datetime) -> dt.datetime:
        return ts.astimezone(self.zone)

    def local_hour(self, ts: dt.datetime) -> int:
        return self.local(ts).hour

    def local_weekday(self, ts: dt.datetime) -> int:
        """0 = Monday ... 6 = Sunday, in the site's time zone."""
        return self.local(ts).weekday()

    def holiday_name(self, ts: dt.datetime) -> str | None:
        """The public holiday or closure on the site's local date, if any."""
        day = self.local(ts).date()
        closure = self._closures.get(day)
        if closure is not None:
            return closure
        name = self._public.get(day)
        return None if name is None else str(name)

    def holiday(self, ts: dt.datetime) -> bool:
        return self.holiday_name(ts) is not None

    def after_hours(self, ts: dt.datetime) -> bool:
        """Outside working hours, on a weekend day or on a holiday, by the site's clock."""
        local = self.local(ts)
        if local.weekday() in self._weekend:
            return True
        minute = local.hour * 60 + local.minute
        if not self._start <= minute < self._end:
            return True
        return self.holiday(ts)


def describe_local(ts: dt.datetime, zone: ZoneInfo) -> str:
    """'2026-01-05 02:30 JST (Mon)': an instant as a reader at the site says it."""
    local = ts.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({local:%a})"
