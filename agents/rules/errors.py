"""Rule failures: counted every time, logged at most once per rule and minute.

A rule that raises on some input would raise again on every replay of it; isolating it keeps
ingestion going, and the throttled log keeps a hot failing rule from flooding the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from agents import metrics

log = logging.getLogger(__name__)


class RuleErrors:
    def __init__(self, clock: Callable[[], float] = time.monotonic, every_s: float = 60.0) -> None:
        self._clock = clock
        self._every_s = every_s
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def report(self, rule_id: str, where: str) -> None:
        """Count the exception being handled; log it with its traceback unless this rule was
        logged less than a minute ago."""
        metrics.RULE_ERRORS.labels(rule=rule_id).inc()
        now = self._clock()
        last = self._logged_at.get(rule_id)
        if last is not None and now - last < self._every_s:
            self._unlogged[rule_id] = self._unlogged.get(rule_id, 0) + 1
            return
        self._logged_at[rule_id] = now
        more = self._unlogged.pop(rule_id, 0)
        log.warning(
            "rule %s failed %s; skipped for this input (%d more errors since the last report)",
            rule_id,
            where,
            more,
            exc_info=True,
        )
