import pytest
from hypothesis import given

from schemas import GpuSample, decode
from schemas.gpu import counter_fields
from tests.strategies.schemas import gpu_samples
from tests.unit.schemas.helpers import decode_error, encode, failing_fields, gpu


@given(gpu_samples())
def test_round_trip(sample: GpuSample) -> None:
    raw = sample.model_dump_json().encode()
    assert decode(raw, "gpu") == sample
    assert decode(raw, "telemetry.gpu") == sample


@pytest.mark.parametrize(
    ("field", "value", "constraint"),
    [
        ("gpu_util_pct", 100.5, "less_than_equal le=100.0"),
        ("gpu_util_pct", -1, "greater_than_equal ge=0.0"),
        ("mem_copy_util_pct", 101, "less_than_equal le=100.0"),
        ("fb_used_mib", -1, "greater_than_equal ge=0"),
        ("fb_used_mib", 1.5, "int_type"),
        ("fb_free_mib", "1024", "int_type"),
        ("gpu_temp_c", 250.0, "less_than_equal le=200.0"),
        ("memory_temp_c", -60.0, "greater_than_equal ge=-50.0"),
        ("power_usage_w", -0.1, "greater_than_equal ge=0.0"),
        ("power_usage_w", 20_000.0, "less_than_equal le=10000.0"),
        ("total_energy_consumption_mj", -5, "greater_than_equal ge=0"),
        ("sm_clock_mhz", 200_000, "less_than_equal le=100000"),
        ("xid_errors", True, "int_type"),
        ("ecc_dbe_volatile_total", -1, "greater_than_equal ge=0"),
        ("clock_throttle_reasons", 1 << 64, "less_than_equal le=9223372036854775807"),
        ("gpu_index", 2048, "less_than_equal le=1023"),
        ("gpu_uuid", "", "string_too_short min_length=1"),
        ("mig_instance_id", -1, "greater_than_equal ge=0"),
        ("family", "power", "literal_error expected='gpu'"),
    ],
)
def test_each_constraint_names_its_field(field: str, value: object, constraint: str) -> None:
    error = decode_error(gpu(**{field: value}), "gpu")
    assert [(i.field, i.constraint) for i in error.issues] == [(field, constraint)]
    assert field in error.reason


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_rejected(token: bytes) -> None:
    raw = encode(gpu(gpu_temp_c=0.0)).replace(b'"gpu_temp_c": 0.0', b'"gpu_temp_c": ' + token)
    assert failing_fields(raw, "gpu") == {"gpu_temp_c"}


def test_unknown_fields_are_ignored() -> None:
    sample = decode(encode(gpu(DCGM_FI_FUTURE_COUNTER=3, nvlink_bandwidth_total=1)), "gpu")
    assert "DCGM_FI_FUTURE_COUNTER" not in sample.model_dump()


def test_all_metrics_optional() -> None:
    doc = gpu()
    del doc["gpu_util_pct"], doc["fb_used_mib"]
    sample = decode(encode(doc), "gpu")
    assert isinstance(sample, GpuSample)
    assert sample.gpu_util_pct is None


def test_throttle_reason_names() -> None:
    sample = decode(encode(gpu(clock_throttle_reasons=0x4 | 0x40 | 0x10000)), "gpu")
    assert isinstance(sample, GpuSample)
    assert sample.throttle_reasons() == ["sw_power_cap", "hw_thermal_slowdown", "0x10000"]
    assert decode(encode(gpu()), "gpu").throttle_reasons() == []  # type: ignore[union-attr]


def test_counter_fields_are_the_integer_counters_and_nothing_else() -> None:
    counters = counter_fields()
    assert {"xid_errors", "ecc_dbe_volatile_total", "clock_throttle_reasons"} <= set(counters)
    assert not {"gpu_util_pct", "fb_used_mib", "gpu_index", "node"} & set(counters)
    assert counters[0] in failing_fields(gpu(**{counters[0]: -1}))
