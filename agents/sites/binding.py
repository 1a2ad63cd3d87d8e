"""The country binding: with a registry, an event's jurisdiction is its site's registered
country, never what the event says. An unknown site, or a country that differs from the
registry's, is a `DecodeError`: the record is dead-lettered and stored nowhere."""

from __future__ import annotations

from typing import TypeVar

from agents.sites.registry import Sites
from schemas.envelope import Envelope
from schemas.errors import DecodeError, FieldIssue

E = TypeVar("E", bound=Envelope)


def bind_country(event: E, sites: Sites) -> E:
    """`event` if its site is registered in the country it says (any event without a registry)."""
    registry = sites.current
    if registry is None:
        return event
    found = registry.get(event.site_id)
    if found is None:
        message = (
            f"site {event.site_id} is not in the site registry"
            f"{'' if registry.path is None else f' ({registry.path})'}; the event says "
            f"{event.country}: register the site before it sends data"
        )
        issue = FieldIssue(
            field="site_id", constraint="site_registered", value=event.site_id, message=message
        )
        raise DecodeError(message, (issue,))
    registered = found.site.country
    if event.country != registered:
        message = (
            f"site {event.site_id} is registered in {registered}, the event says {event.country}"
        )
        issue = FieldIssue(
            field="country",
            constraint=f"site_country eq={registered}",
            value=event.country,
            message=message,
        )
        raise DecodeError(message, (issue,))
    return event
