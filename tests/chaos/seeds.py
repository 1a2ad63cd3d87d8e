"""Which seeds a chaos session runs.

- `CHAOS_SEED=N`: that seed (a replay); otherwise a fresh random seed, printed with the run.
- `CHAOS_SOAK=K`: K seeds one after another, from that seed on (N, N+1, ...).
- `REGRESSION_SEEDS`: seeds that once broke a run, each run every time as its own test case.
  To add one: append `(seed, "what it broke, and the commit that fixed it")` below.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

REGRESSION_SEEDS: tuple[tuple[int, str], ...] = (
    (
        744803,
        "audit fork: a checkpoint that waited for the batch lock through a minute-long rebalance "
        "(InfluxDB down) wrote stale heads after an empty fence; and a partition sought back "
        "every 5 s never moved (fixed in 5a50f2b and 2dc6c63)",
    ),
    (
        744804,
        "an absence never alerted (its data came back before any tick judged the silence) and "
        "an export-without-approval alert the traffic does not give (the approval's topic not "
        "yet fetched was not counted as behind); fixed in df66cf5 and 2ef35ed, which seeds "
        "809089 and 809090 also broke",
    ),
)


def session_seeds(environ: Mapping[str, str]) -> list[int]:
    first = environ.get("CHAOS_SEED", "").strip()
    count = environ.get("CHAOS_SOAK", "").strip() or "1"
    try:
        base = int(first) if first else secrets.randbelow(1_000_000)
        runs = int(count)
    except ValueError:
        raise SystemExit(
            f"CHAOS_SEED={first!r} / CHAOS_SOAK={count!r}: both must be whole numbers"
        ) from None
    if runs < 1:
        raise SystemExit(f"CHAOS_SOAK={runs}: run at least one seed")
    return [base + i for i in range(runs)]
