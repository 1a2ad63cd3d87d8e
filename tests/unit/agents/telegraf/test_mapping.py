"""Telegraf metrics -> GpuSample / PowerReading, checked on what a real Telegraf 1.37.2 wrote
(`a100-node.influx`: `telegraf --test` with the config `sovwatch collect telegraf-config` writes,
nvidia_smi on the A100 MIG recording and redfish on the mockup of tests/integration/collectors)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from agents.ingest.steps import Ingest
from agents.privacy import Pseudonymiser
from agents.telegraf import TelegrafAdapter
from agents.telegraf.metric import parse_influx
from schemas.errors import DecodeError
from schemas.gpu import GpuSample
from schemas.power import PowerReading
from schemas.settings import Settings

RECORDED = Path(__file__).with_name("a100-node.influx").read_bytes().splitlines()
UUID = "GPU-4e2a7c90-13d5-4b6f-8a2e-c95f01d7b3a4"


def recorded(metric_name: str, /, **tags: str) -> bytes:
    """The first recorded line of metric `metric_name` whose tags include `tags`."""
    for line in RECORDED:
        metric = parse_influx(line)
        if metric.name == metric_name and tags.items() <= metric.tags.items():
            return line
    raise AssertionError(f"no recorded {metric_name} {tags}")


def as_json(line: bytes, drop_tags: tuple[str, ...] = (), **fields: Any) -> bytes:
    """The same metric as Telegraf's json serializer writes it (json_timestamp_units = 1ms)."""
    metric = parse_influx(line)
    tags = {k: v for k, v in metric.tags.items() if k not in drop_tags}
    return json.dumps(
        {
            "fields": {**metric.fields, **fields},
            "name": metric.name,
            "tags": tags,
            "timestamp": int(metric.ts.timestamp() * 1000),
        }
    ).encode()


def decoded(adapter: TelegrafAdapter, raw: bytes) -> dict[str, Any]:
    event = adapter.decode(raw)
    return {k: v for k, v in event.model_dump().items() if v is not None}


def test_every_recorded_metric_maps_to_an_event() -> None:
    adapter = TelegrafAdapter("influx")
    families = [adapter.decode(line).family for line in RECORDED]
    assert families.count("gpu") == 3  # the A100 and its two MIG instances
    assert families.count("power") == len(RECORDED) - 3


def test_nvidia_smi_maps_to_a_gpu_sample_with_the_recorded_values() -> None:
    sample = decoded(TelegrafAdapter("influx"), recorded("nvidia_smi"))
    assert sample | {"ts": None} == {
        "schema_version": "1.0",
        "event_id": sample["event_id"],
        "site_id": "fra-1",
        "country": "DE",
        "ts": None,
        "source": "telegraf:vm",
        "family": "gpu",
        "node": "vm",
        "gpu_index": 0,
        "gpu_uuid": UUID,
        "model_name": "NVIDIA A100-SXM4-80GB",
        "driver_version": "535.161.08",
        "fb_used_mib": 32530,
        "fb_free_mib": 48322,
        "gpu_temp_c": 54.0,
        "power_usage_w": 287.61,
        "sm_clock_mhz": 1410,
        "mem_clock_mhz": 1593,
        "retired_pages_sbe": 0,
        "retired_pages_dbe": 0,
        "retired_pages_pending": 0,
        "correctable_remapped_rows": 0,
        "uncorrectable_remapped_rows": 0,
        "row_remap_failure": 0,
        "pcie_link_gen": 4,
        "pcie_link_width": 16,
    }


def test_a_mig_instance_takes_its_gpu_index_from_the_gpus_metric() -> None:
    adapter = TelegrafAdapter("influx")
    gpu = parse_influx(recorded("nvidia_smi"))
    adapter.decode(recorded("nvidia_smi").replace(b"index=0", b"index=5"))
    mig = decoded(adapter, recorded("nvidia_smi_mig", gpu_index="2"))
    assert (mig["gpu_index"], mig["mig_instance_id"], mig["gpu_uuid"]) == (5, 2, UUID)
    assert (mig["fb_used_mib"], mig["fb_free_mib"], mig["ecc_dbe_volatile_total"]) == (
        9012,
        31180,
        0,
    )
    assert mig["ts"] == gpu.ts


def test_a_mig_instance_before_its_gpu_is_rejected_saying_so() -> None:
    with pytest.raises(DecodeError, match="before any nvidia_smi metric") as caught:
        TelegrafAdapter("influx").decode(recorded("nvidia_smi_mig"))
    assert caught.value.issues[0].constraint == "gpu_index_unknown"


def test_redfish_power_maps_at_the_scope_of_its_chassis() -> None:
    adapter = TelegrafAdapter("influx")
    node = decoded(adapter, recorded("redfish_power_powercontrol", chassis_chassistype="RackMount"))
    rack = decoded(adapter, recorded("redfish_power_powercontrol", chassis_chassistype="Rack"))
    psu = decoded(adapter, recorded("redfish_power_powersupplies", member_id="1"))
    assert (node["scope"], node["scope_id"]) == ("node", "gpu-node-07")
    assert (node["power_w"], node["capacity_w"], node["allocated_w"]) == (5870, 10200, 7000)
    assert (rack["scope"], rack["scope_id"]) == ("rack", "R12")
    assert (rack["power_w"], rack["allocated_w"]) == (31800, 36000)
    assert (psu["scope"], psu["scope_id"]) == ("node", "gpu-node-07/psu-1")
    assert (psu["power_w"], psu["voltage_v"], psu["capacity_w"]) == (1475, 232, 3300)


def test_a_power_strip_chassis_is_a_pdu() -> None:
    line = recorded("redfish_power_powercontrol", chassis_chassistype="Rack")
    pdu = decoded(TelegrafAdapter("influx"), line.replace(b"=Rack,", b"=PowerStrip,"))
    assert (pdu["scope"], pdu["scope_id"]) == ("pdu", "gpu-node-07")


def test_redfish_air_sensors_map_to_inlet_and_outlet_temperatures() -> None:
    adapter = TelegrafAdapter("influx")
    inlet = decoded(adapter, recorded("redfish_thermal_temperatures", name="Inlet Temp"))
    outlet = decoded(adapter, recorded("redfish_thermal_temperatures", name="Exhaust Temp"))
    assert (inlet["scope_id"], inlet["inlet_temp_c"]) == ("gpu-node-07", 23.5)
    assert "outlet_temp_c" not in inlet
    assert (outlet["scope_id"], outlet["outlet_temp_c"]) == ("gpu-node-07", 41.0)


def test_another_redfish_sensor_is_rejected_naming_it() -> None:
    line = recorded("redfish_thermal_temperatures", name="Inlet Temp")
    with pytest.raises(DecodeError, match="'CPU1 Temp' is neither an inlet") as caught:
        TelegrafAdapter("influx").decode(line.replace(b"Inlet\\ Temp", b"CPU1\\ Temp"))
    assert caught.value.issues[0].constraint == "unmapped_sensor"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"ipmi_sensor,host=n7,name=pwr_consumption,unit=watts,site=s,country=DE status=1i,"
         b"value=5120 1796206542000000000", {"scope_id": "n7/pwr_consumption", "power_w": 5120}),
        (b"ipmi_sensor,server=10.0.0.7,host=tg,name=inlet_temp,unit=degrees_c,site=s,country=DE "
         b"value=22 1796206542000000000", {"scope_id": "10.0.0.7", "inlet_temp_c": 22}),
        (b"ipmi_sensor,host=n7,name=Exhaust\\ Temp,unit=degrees_c,site=s,country=DE value=39.5 "
         b"1796206542000000000", {"scope_id": "n7", "outlet_temp_c": 39.5}),
    ],
)  # fmt: skip
def test_ipmi_power_and_air_sensors_map_to_node_readings(
    line: bytes, expected: dict[str, Any]
) -> None:
    reading = decoded(TelegrafAdapter("influx"), line)
    assert reading["scope"] == "node"
    assert expected.items() <= reading.items()


def test_another_ipmi_sensor_is_rejected_naming_it() -> None:
    line = (
        b"ipmi_sensor,host=n7,name=fan_1,unit=rpm,site=s,country=DE value=8000 1796206542000000000"
    )
    with pytest.raises(DecodeError, match="'fan_1' \\(unit 'rpm'\\)"):
        TelegrafAdapter("influx").decode(line)


def test_json_and_line_protocol_give_the_same_event() -> None:
    line = recorded("nvidia_smi")
    assert TelegrafAdapter("json").decode(as_json(line)) == TelegrafAdapter("influx").decode(line)


def test_the_event_id_is_the_same_for_a_replay_and_differs_per_sample() -> None:
    adapter = TelegrafAdapter("influx")
    line = recorded("nvidia_smi")
    later = line.rsplit(b" ", 1)[0] + b" 1796235999000000000"
    assert adapter.decode(line).event_id == adapter.decode(line).event_id
    assert adapter.decode(line).event_id != adapter.decode(later).event_id


@pytest.mark.parametrize("tag", ["site", "country"])
def test_a_metric_without_site_or_country_is_rejected_with_that_reason(tag: str) -> None:
    raw = as_json(recorded("nvidia_smi"), drop_tags=(tag,))
    with pytest.raises(DecodeError, match=f"has no {tag} tag") as caught:
        TelegrafAdapter("json").decode(raw)
    assert (caught.value.issues[0].field, caught.value.issues[0].constraint) == (
        f"tags.{tag}",
        "missing",
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"temperature_gpu": "hot"}, "gpu_temp_c", "valid number"),
        ({"memory_used": 12.5}, "fb_used_mib", "valid integer"),
        ({"utilization_gpu": 140}, "gpu_util_pct", "less than or equal to 100"),
        ({"remapped_rows_failure": "Maybe"}, "row_remap_failure", "valid integer"),
    ],
)
def test_wrong_types_and_values_are_rejected_naming_the_field(
    fields: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(DecodeError, match=words) as caught:
        TelegrafAdapter("json").decode(as_json(recorded("nvidia_smi"), **fields))
    assert caught.value.reason.startswith("Telegraf nvidia_smi: invalid GpuSample")
    assert caught.value.issues[0].field == field


def test_a_bad_country_tag_is_rejected_by_the_envelope() -> None:
    raw = recorded("nvidia_smi").replace(b"country=DE", b"country=de")
    with pytest.raises(DecodeError, match="country"):
        TelegrafAdapter("influx").decode(raw)


def test_an_unmapped_metric_is_rejected_each_time_and_logged_once_per_name_and_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    adapter = TelegrafAdapter("influx", clock=lambda: now[0])
    cpu = b"cpu,site=s,country=DE usage_idle=99.5 1796206542000000000"
    mem = b"mem,site=s,country=DE used=1i 1796206542000000000"
    caplog.set_level(logging.WARNING, logger="agents.telegraf.mapping")
    reasons = []
    for raw, at in [(cpu, 1000.0), (cpu, 1030.0), (mem, 1031.0), (cpu, 1061.0)]:
        now[0] = at
        with pytest.raises(DecodeError) as caught:
            adapter.decode(raw)
        reasons.append(caught.value.reason)
    assert reasons == ["unmapped Telegraf metric cpu"] * 2 + [
        "unmapped Telegraf metric mem",
        "unmapped Telegraf metric cpu",
    ]
    logged = [r.getMessage().split(":")[0] for r in caplog.records]
    assert logged == [f"unmapped Telegraf metric {name}" for name in ("cpu", "mem", "cpu")]


def test_ingest_decodes_the_telegraf_topic_with_the_configured_format() -> None:
    settings = Settings.model_validate({"telegraf": {"data_format": "influx"}})
    ingest = Ingest(settings, Pseudonymiser(b"unit-test-key-0123456789"))
    event = ingest.decode(recorded("redfish_power_powercontrol"), settings.topics.telegraf)
    assert isinstance(event, PowerReading)
    native = GpuSample.model_validate(
        TelegrafAdapter("influx").decode(recorded("nvidia_smi")).model_dump()
    )
    assert ingest.decode(native.model_dump_json().encode(), settings.topics.gpu) == native
    with pytest.raises(DecodeError, match="DATA_FORMAT=influx"):
        ingest.decode(native.model_dump_json().encode(), settings.topics.telegraf)
