"""Hypothesis strategies that generate valid sovwatch events, and arbitrary JSON.

Every strategy yields a model instance that validates; `.model_dump_json()` gives wire bytes.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

from hypothesis import strategies as st

from schemas.alert import Alert, Severity, Team, alert_id
from schemas.audit import AUDIT_ACTIONS, DATA_MOVEMENT, Actor, AuditEvent, Classification
from schemas.country import COUNTRY_CODES
from schemas.deadletter import DeadLetter, SealedRaw
from schemas.decode import Event
from schemas.errors import FieldIssue
from schemas.gpu import GpuSample, counter_fields
from schemas.physical import BADGE_KINDS, DEVICE_KINDS, PHYSICAL_KINDS, PhysicalEvent, ZoneType
from schemas.power import PowerReading, PowerScope

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,40}", fullmatch=True)
names = st.text(min_size=1, max_size=60)
texts = st.text(max_size=200)
countries = st.sampled_from(sorted(COUNTRY_CODES))
versions = st.sampled_from(["1", "1.0"]) | st.from_regex(r"1\.[0-9]{1,4}", fullmatch=True)
offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=offsets
)


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


counters = st.integers(0, 2**62)


def envelopes() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "schema_version": versions,
            "event_id": identifiers,
            "site_id": identifiers,
            "country": countries,
            "ts": timestamps,
            "source": identifiers,
        }
    )


_GPU_FLOATS = {
    "gpu_util_pct": finite(0, 100),
    "mem_copy_util_pct": finite(0, 100),
    "enc_util_pct": finite(0, 100),
    "dec_util_pct": finite(0, 100),
    "gpu_temp_c": finite(-50, 200),
    "memory_temp_c": finite(-50, 200),
    "power_usage_w": finite(0, 10_000),
}
_GPU_INTS = {
    "fb_used_mib": st.integers(0, 1 << 40),
    "fb_free_mib": st.integers(0, 1 << 40),
    "sm_clock_mhz": st.integers(0, 100_000),
    "mem_clock_mhz": st.integers(0, 100_000),
    **{name: counters for name in counter_fields()},
    "clock_throttle_reasons": st.integers(0, (1 << 63) - 1),  # every bit may be set
}


@st.composite
def gpu_samples(draw: st.DrawFn) -> GpuSample:
    fields = draw(envelopes())
    fields |= {
        "node": draw(names),
        "gpu_index": draw(st.integers(0, 1023)),
        "gpu_uuid": draw(identifiers),
        "model_name": draw(optional(names)),
        "pci_bus_id": draw(optional(names)),
        "mig_instance_id": draw(optional(st.integers(0, 64))),
        "k8s_pod": draw(optional(names)),
    }
    for name, strategy in (_GPU_FLOATS | _GPU_INTS).items():
        fields[name] = draw(optional(strategy))
    return GpuSample(**fields)


@st.composite
def power_readings(draw: st.DrawFn) -> PowerReading:
    fields = draw(envelopes())
    fields |= {
        "scope": draw(st.sampled_from(get_args(PowerScope))),
        "scope_id": draw(identifiers),
        "power_w": draw(optional(finite(0, 1e9))),
        "energy_kwh": draw(optional(finite(0, 1e12))),
        "voltage_v": draw(optional(finite(0, 1e6))),
        "current_a": draw(optional(finite(0, 1e6))),
        "capacity_w": draw(optional(finite(0, 1e9))),
        "allocated_w": draw(optional(finite(0, 1e9))),
        "inlet_temp_c": draw(optional(finite(-50, 150))),
        "outlet_temp_c": draw(optional(finite(-50, 150))),
        "humidity_pct": draw(optional(finite(0, 100))),
        "facility_energy_kwh": draw(optional(finite(0, 1e12))),
        "it_energy_kwh": draw(optional(finite(0, 1e12))),
    }
    return PowerReading(**fields)


@st.composite
def physical_events(draw: st.DrawFn) -> PhysicalEvent:
    kind = draw(st.sampled_from(PHYSICAL_KINDS))
    fields = draw(envelopes())
    badge = identifiers if kind in BADGE_KINDS else optional(identifiers)
    device = identifiers if kind in DEVICE_KINDS else optional(identifiers)
    fields |= {
        "kind": kind,
        "zone_type": draw(st.sampled_from(get_args(ZoneType))),
        "zone_id": draw(identifiers),
        "device_id": draw(device),
        "badge_id": draw(badge),
        "holder": draw(optional(names)),
        "direction": draw(optional(st.sampled_from(["in", "out"]))),
        "duration_s": draw(optional(finite(0, 86_400))),
    }
    return PhysicalEvent(**fields)


actors = st.builds(
    Actor,
    id=identifiers,
    kind=st.sampled_from(["human", "service"]),
    role=optional(names),
    organisation=optional(names),
    clearance=optional(st.sampled_from(list(Classification))),
    nationality=optional(countries),
)


@st.composite
def audit_events(draw: st.DrawFn) -> AuditEvent:
    action = draw(st.sampled_from(AUDIT_ACTIONS))
    moving = action in DATA_MOVEMENT
    country = countries if moving else optional(countries)
    fields = draw(envelopes())
    fields |= {
        "action": action,
        "outcome": draw(st.sampled_from(["success", "failure", "denied"])),
        "actor": draw(actors),
        "dataset_id": draw(identifiers if moving else optional(identifiers)),
        "model_id": draw(optional(identifiers)),
        "classification": draw(
            st.sampled_from(list(Classification))
            if moving
            else optional(st.sampled_from(list(Classification)))
        ),
        "source_country": draw(country),
        "source_region": draw(optional(names)),
        "destination_country": draw(country),
        "destination_region": draw(optional(names)),
        "encrypted": draw(optional(st.booleans())),
        "key_custodian": draw(optional(names)),
        "key_id": draw(identifiers if action == "key_use" else optional(identifiers)),
        "session_id": draw(optional(identifiers)),
        "command": draw(optional(texts)),
        "approval_ref": draw(
            identifiers if action == "approval_granted" else optional(identifiers)
        ),
        "justification": draw(optional(texts)),
    }
    return AuditEvent(**fields)


def events() -> st.SearchStrategy[Event]:
    """Any event of the four families."""
    return gpu_samples() | power_readings() | physical_events() | audit_events()


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    start = draw(timestamps)
    end = start + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=7)))
    rule = draw(identifiers)
    return Alert(
        schema_version=draw(versions),
        id=alert_id(rule, draw(identifiers), start),
        rule_id=rule,
        severity=draw(st.sampled_from(get_args(Severity))),
        team=draw(st.sampled_from(get_args(Team))),
        site_id=draw(identifiers),
        country=draw(countries),
        window_start=start,
        window_end=end,
        evidence_event_ids=draw(st.lists(identifiers, min_size=1, max_size=5)),
        message=draw(st.text(min_size=1, max_size=200)),
        created_ts=draw(timestamps),
    )


field_issues = st.builds(
    FieldIssue,
    field=st.text(max_size=40),
    constraint=st.text(max_size=40),
    value=optional(st.text(max_size=120)),
    message=st.text(max_size=80),
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@st.composite
def dead_letters(draw: st.DrawFn) -> DeadLetter:
    return DeadLetter(
        topic=draw(st.text(min_size=1, max_size=60)),
        partition=draw(st.integers(0, 10_000)),
        offset=draw(st.integers(0, 2**62)),
        key_b64=draw(optional(st.binary(max_size=40).map(_b64))),
        raw_sealed=draw(
            optional(
                st.builds(
                    SealedRaw,
                    key_id=st.text("0123456789abcdef", min_size=16, max_size=16),
                    nonce_b64=st.binary(min_size=12, max_size=12).map(_b64),
                    ciphertext_b64=st.binary(min_size=16, max_size=300).map(_b64),
                )
            )
        ),
        errors=draw(st.lists(field_issues, max_size=4)),
        pseudonyms=draw(st.dictionaries(st.text(max_size=20), st.text(max_size=30), max_size=3)),
        reason=draw(st.text(min_size=1, max_size=100)),
        received_ts=draw(timestamps),
    )


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
"""Arbitrary JSON values, NaN and infinities included (json.dumps writes them as tokens)."""

__all__ = [
    "UTC",
    "actors",
    "alerts",
    "audit_events",
    "dead_letters",
    "events",
    "gpu_samples",
    "json_values",
    "physical_events",
    "power_readings",
]
