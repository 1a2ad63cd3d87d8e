"""A site's calendar: local hour and weekday, weekends, holidays, closures, DST."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.sites.calendar import SiteCalendar, describe_local
from schemas.sites import Site


def calendar(**fields: object) -> SiteCalendar:
    return SiteCalendar(Site.model_validate({"id": "s", "country": "DE", **fields}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_osaka_at_17_30_utc_is_the_middle_of_the_night() -> None:
    osaka = calendar(country="JP", tz="Asia/Tokyo")
    ts = at("2026-01-06T17:30:00")  # a Tuesday in UTC
    assert (osaka.local_hour(ts), osaka.local_weekday(ts)) == (2, 2)  # 02:30 on Wednesday
    assert osaka.after_hours(ts)
    assert describe_local(ts, osaka.zone) == "2026-01-07 02:30 JST (Wed)"


def test_a_friday_saturday_weekend() -> None:
    riyadh = calendar(
        country="SA", tz="Asia/Riyadh", weekend=["fri", "sat"], holidays={"public": False}
    )
    assert riyadh.after_hours(at("2026-01-09T07:00:00"))  # Friday 10:00
    assert not riyadh.after_hours(at("2026-01-11T07:00:00"))  # Sunday 10:00


def test_daylight_saving_moves_the_working_day_in_utc() -> None:
    berlin = calendar(tz="Europe/Berlin", working_hours={"start": "07:00", "end": "19:00"})
    assert berlin.after_hours(at("2026-03-27T05:30:00"))  # 06:30 CET
    assert not berlin.after_hours(at("2026-03-30T05:30:00"))  # 07:30 CEST


def test_public_holidays_of_a_subdivision_and_closures() -> None:
    hesse = calendar(
        tz="Europe/Berlin",
        holidays={"subdivision": "HE", "closures": [{"date": "2026-07-01", "reason": "Works"}]},
    )
    corpus_christi = at("2026-06-04T10:00:00")  # a holiday in Hesse, not in Berlin
    assert hesse.holiday_name(corpus_christi) == "Corpus Christi"
    assert not calendar(tz="Europe/Berlin", holidays={"subdivision": "BE"}).holiday(corpus_christi)
    assert hesse.holiday_name(at("2026-07-01T10:00:00")) == "Works"
    assert hesse.after_hours(corpus_christi) and not hesse.after_hours(at("2026-06-03T10:00:00"))
