"""Audit chain throughput, one core: sequencing (record + hash + line + confirm) and verification.

Run: .venv/bin/python tests/bench/bench_audit.py [--records 20000]
Prints records/s for chaining (what the audit agent does per event besides decode and the
InfluxDB write) and for `verify` over the same records with a checkpoint every 1,000.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agents.audit.chain import AuditChain
from agents.audit.checkpoints import Signer, generate_keypair
from agents.audit.records import record_line
from agents.audit.verify import verify
from agents.pending_changes import MemoryTable
from tests.unit.agents.audit.fixtures import audit_event, build_chain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    n = parser.parse_args().records
    events = [audit_event(i, site=f"site-{i % 4}") for i in range(n)]
    chain = AuditChain(MemoryTable())
    started = time.perf_counter()
    for offset, event in enumerate(events):
        placed = chain.sequence(event, 0, offset)
        assert not isinstance(placed, str)
        record_line(placed.record)
        chain.confirm(placed, event.country)
    chained = time.perf_counter() - started
    signer = Signer.from_secret(SecretStr(generate_keypair()[0].decode()))
    records, checkpoints, _ = build_chain(events, signer, every=1000)
    started = time.perf_counter()
    report = verify(records, checkpoints, signer.public_key)
    verified = time.perf_counter() - started
    assert report.ok
    print(f"chain  {n / chained:>10,.0f} records/s  ({n} records, 4 sites)")
    print(f"verify {n / verified:>10,.0f} records/s  ({len(checkpoints)} checkpoints)")


if __name__ == "__main__":
    main()
