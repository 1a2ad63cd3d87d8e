"""A real Telegraf feeds sovwatch: nvidia_smi (recorded `nvidia-smi -q -x` of an H100 SXM node, an
A100 with MIG and an L40S) and redfish (sushy-static serving a Redfish mockup) -> outputs.kafka,
configured by `sovwatch collect telegraf-config` -> the native Kafka -> a real worker -> InfluxDB.
Stored values equal the recordings, over-temperature / over-power raise the alerts native samples
raise, and bad Telegraf input is dead-lettered with its reason."""

from __future__ import annotations

import json
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.alert import Alert
from schemas.deadletter import DeadLetter
from schemas.decode import decode_as
from schemas.gpu import GpuSample
from schemas.power import PowerReading
from schemas.settings import Settings
from streams.admin.connect import values_to_end
from streams.admin.produce import produce
from streams.collectors.telegraf_config import SiteCollectors, telegraf_config
from streams.stack import Stack
from tests.integration.collectors.harness import (
    NVIDIA_SMI,
    Redfish,
    Telegraf,
    extra_gpu_node,
    last_records,
    nvidia_smi,
    telegraf_binary,
)
from tests.integration.pipeline import Isolated, wait_for

HOST = socket.gethostname()  # Telegraf's host tag: the first nvidia_smi input is this node
PCIE = "pci/pci_gpu_link_info"
NODES = {HOST: "h100-sxm.xml", "a100-node": "a100-sxm4-mig.xml", "l40s-node": "l40s.xml"}


@pytest.fixture(scope="module")
def telegraf(settings: Settings) -> Path:
    return telegraf_binary(settings)


@pytest.fixture
def redfish(tmp_path: Path) -> Iterator[Redfish]:
    with Redfish(tmp_path) as server:
        yield server


def site_config(pipeline: Isolated, site: str, redfish: Redfish, scripts: dict[str, Path]) -> str:
    """What `sovwatch collect telegraf-config` writes for the site, one nvidia_smi input per
    recorded node (the first is Telegraf's own host), collecting every second."""
    collectors = SiteCollectors(
        site, "DE", nvidia_smi=True, nvidia_smi_bin=str(scripts[HOST]), redfish=[redfish.url],
        redfish_system_id="1", interval_s=1,
    )  # fmt: skip
    config = telegraf_config(collectors, pipeline.settings)
    for host, script in scripts.items():
        if host != HOST:
            config = extra_gpu_node(config, script, host)
    return config


def number(text: str | None) -> float | None:
    """'71 C' -> 71.0; 'N/A' or missing -> None."""
    if text is None or not text.strip() or text.strip().startswith("N/A"):
        return None
    return float(text.split()[0].rstrip("x"))


def recorded_gpus(host: str, recording: str) -> dict[tuple[str, str, str], dict[str, float]]:
    """Series key (node, gpu index, MIG instance) -> the sovwatch fields the recording gives."""
    root = ET.parse(NVIDIA_SMI / recording).getroot()  # noqa: S314 - our own fixture
    expected: dict[tuple[str, str, str], dict[str, float]] = {}
    for index, gpu in enumerate(root.iter("gpu")):
        power = gpu.find("gpu_power_readings") or gpu.find("power_readings")
        values = {
            "gpu_temp_c": number(gpu.findtext("temperature/gpu_temp")),
            "power_usage_w": number(power.findtext("power_draw") if power is not None else None),
            "fb_used_mib": number(gpu.findtext("fb_memory_usage/used")),
            "fb_free_mib": number(gpu.findtext("fb_memory_usage/free")),
            "gpu_util_pct": number(gpu.findtext("utilization/gpu_util")),
            "mem_copy_util_pct": number(gpu.findtext("utilization/memory_util")),
            "sm_clock_mhz": number(gpu.findtext("clocks/sm_clock")),
            "mem_clock_mhz": number(gpu.findtext("clocks/mem_clock")),
            "pcie_link_gen": number(
                gpu.findtext("pci/pci_gpu_link_info/pcie_gen/current_link_gen")
            ),
            "pcie_link_width": number(
                gpu.findtext("pci/pci_gpu_link_info/link_widths/current_link_width")
            ),
        }
        expected[(host, str(index), "")] = {k: v for k, v in values.items() if v is not None}
        for mig in gpu.iter("mig_device"):
            key = (host, str(index), mig.findtext("gpu_instance_id") or "")
            expected[key] = {
                "fb_used_mib": number(mig.findtext("fb_memory_usage/used")) or 0.0,
                "fb_free_mib": number(mig.findtext("fb_memory_usage/free")) or 0.0,
            }
    return expected


def recorded_power(redfish: Redfish) -> dict[str, dict[str, float]]:
    """scope_id -> the PowerReading fields the mockup gives (node, its PSUs and the rack)."""
    node = redfish.resource("Chassis/1U/Power")
    thermal = redfish.resource("Chassis/1U/Thermal")["Temperatures"]
    rack = redfish.resource("Chassis/Rack12/Power")["PowerControl"][0]
    control = node["PowerControl"][0]
    expected = {
        "gpu-node-07": {
            "power_w": control["PowerConsumedWatts"],
            "capacity_w": control["PowerCapacityWatts"],
            "allocated_w": control["PowerAllocatedWatts"],
            "inlet_temp_c": thermal[0]["ReadingCelsius"],
            "outlet_temp_c": thermal[1]["ReadingCelsius"],
        },
        "R12": {
            "power_w": rack["PowerConsumedWatts"],
            "allocated_w": rack["PowerAllocatedWatts"],
            "inlet_temp_c": redfish.resource("Chassis/Rack12/Thermal")["Temperatures"][0][
                "ReadingCelsius"
            ],
        },
    }
    for psu in node["PowerSupplies"]:
        expected[f"gpu-node-07/psu-{psu['MemberId']}"] = {
            "power_w": psu["PowerInputWatts"],
            "voltage_v": psu["LineInputVoltage"],
            "capacity_w": psu["PowerCapacityWatts"],
        }
    return expected


def stored(pipeline: Isolated, site: str, measurement: str, tags: tuple[str, ...]) -> dict[
    tuple[str, ...], dict[str, Any]
]:  # fmt: skip
    """Series (values of `tags`) -> field -> last stored value, for one site."""
    series: dict[tuple[str, ...], dict[str, Any]] = {}
    for record in last_records(pipeline, site, measurement):
        key = tuple(str(record.values.get(tag) or "") for tag in tags)
        series.setdefault(key, {})[record.get_field()] = record.get_value()
    return series


@pytest.mark.parametrize("data_format", ["json", "influx"])
def test_telegraf_samples_are_stored_with_the_recorded_values(
    stack: Stack, unique: str, tmp_path: Path, telegraf: Path, redfish: Redfish, data_format: str
) -> None:
    pipeline = Isolated(unique, tmp_path, SOVWATCH_TELEGRAF__DATA_FORMAT=data_format)
    site = f"tg-{unique}"
    scripts = {host: nvidia_smi(tmp_path, recording) for host, recording in NODES.items()}
    expected_gpus = {
        key: values
        for host, recording in NODES.items()
        for key, values in recorded_gpus(host, recording).items()
    }
    expected_power = recorded_power(redfish)
    config = site_config(pipeline, site, redfish, scripts)
    with pipeline.worker() as worker, Telegraf(telegraf, tmp_path, config):

        def all_stored() -> bool:
            gpus = stored(pipeline, site, "gpu", ("node", "gpu", "mig"))
            power = stored(pipeline, site, "power", ("scope_id",))
            wanted_power = {(scope_id,) for scope_id in expected_power}
            return expected_gpus.keys() <= gpus.keys() and wanted_power <= power.keys()

        assert wait_for(all_stored, timeout_s=90), (tmp_path / "telegraf.log").read_text()[-3000:]
        assert worker.metric("sovwatch_dead_letters_total") == 0
    gpus = stored(pipeline, site, "gpu", ("node", "gpu", "mig"))
    assert gpus.keys() == expected_gpus.keys()
    for key, values in expected_gpus.items():
        assert {field: gpus[key][field] for field in values} == values, key
    assert gpus[(HOST, "0", "")]["model_name"] == "NVIDIA H100 80GB HBM3"
    assert gpus[("a100-node", "0", "1")]["gpu_uuid"] == "GPU-4e2a7c90-13d5-4b6f-8a2e-c95f01d7b3a4"
    power = stored(pipeline, site, "power", ("scope", "scope_id"))
    assert {scope_id: scope for scope, scope_id in power} == {
        "gpu-node-07": "node",
        "gpu-node-07/psu-0": "node",
        "gpu-node-07/psu-1": "node",
        "R12": "rack",
    }
    by_id = {scope_id: fields for (_, scope_id), fields in power.items()}
    for scope_id, values in expected_power.items():
        assert {field: by_id[scope_id][field] for field in values} == values, scope_id


def native_records(
    pipeline: Isolated, site: str, now: datetime
) -> list[tuple[str, bytes, bytes]]:  # fmt: skip
    """The same overheating GPU and over-allocated rack, from a native producer."""
    topics = pipeline.settings.topics
    records = []
    for n, shift in enumerate((-300, -150, 0)):
        sample = GpuSample(
            event_id=f"n-gpu-{site}-{n}", site_id=site, country="DE", source="native",
            ts=now + timedelta(seconds=shift), node="native-node", gpu_index=0,
            gpu_uuid="GPU-native-0", gpu_temp_c=95.0,
        )  # fmt: skip
        records.append((topics.gpu, site.encode(), sample.model_dump_json().encode()))
    rack = PowerReading(
        event_id=f"n-rack-{site}", site_id=site, country="DE", source="native", ts=now,
        scope="rack", scope_id="R12", power_w=37000.0, allocated_w=36000.0,
    )  # fmt: skip
    records.append((topics.power, site.encode(), rack.model_dump_json().encode()))
    return records


def test_over_temperature_and_over_power_raise_the_alerts_native_samples_raise(
    stack: Stack, unique: str, tmp_path: Path, telegraf: Path, redfish: Redfish
) -> None:
    pipeline = Isolated(unique, tmp_path)
    site, native_site = f"tg-{unique}", f"native-{unique}"
    # Over temperature on GPU 0 of the H100 node, for 5 minutes of sample time: the first two
    # collections are dated 300 s and 150 s back. Over power: the rack draws over its allocation.
    hot = nvidia_smi(
        tmp_path, "h100-sxm.xml", shifts_s=(-300, -150), edits={"<gpu_temp>71 C": "<gpu_temp>95 C"}
    )
    redfish.edit("Chassis/Rack12/Power", {"PowerConsumedWatts": 37000})
    config = site_config(pipeline, site, redfish, {HOST: hot})
    rules = {"ops.gpu_overtemp_sustained", "ops.rack_over_allocated_power"}
    # The rack's allocation is the registry's (36 kW, as the Redfish mockup also reports it).
    registry = tmp_path / "sites.yaml"
    racks = [{"id": rack, "zone": "hall-1", "allocated_w": 36000} for rack in ("R12", "Rack12")]
    sites = [
        {"id": name, "country": "DE", "tz": "Europe/Berlin", "racks": racks}
        | {"zones": [{"id": "hall-1", "kind": "gpu_hall"}]}
        for name in (site, native_site)
    ]
    registry.write_text(json.dumps({"version": 1, "sites": sites}))

    def alerts() -> dict[str, dict[str, Alert]]:
        found: dict[str, dict[str, Alert]] = {site: {}, native_site: {}}
        for value in values_to_end(pipeline.settings.kafka, pipeline.alert_topics()):
            alert = decode_as(value, Alert)
            if alert.site_id in found and alert.rule_id in rules:
                found[alert.site_id][alert.rule_id] = alert
        return found

    with (
        pipeline.worker(SOVWATCH_SITES__REGISTRY=str(registry)),
        Telegraf(telegraf, tmp_path, config),
    ):
        produce(pipeline.settings.kafka, native_records(pipeline, native_site, datetime.now(UTC)))
        assert wait_for(
            lambda: all(found.keys() == rules for found in alerts().values()), timeout_s=90
        ), (alerts(), (tmp_path / "telegraf.log").read_text()[-2000:])
    found = alerts()
    for rule in rules:
        telegraf_alert, native_alert = found[site][rule], found[native_site][rule]
        assert (telegraf_alert.severity, telegraf_alert.team) == (
            native_alert.severity,
            native_alert.team,
        )
    hot_gpu = found[site]["ops.gpu_overtemp_sustained"].message
    assert f"GPU {HOST}/0 at {site} above 85" in hot_gpu and "now 95" in hot_gpu
    rack = {name: found[name]["ops.rack_over_allocated_power"].message for name in found}
    assert rack[site].replace(site, native_site) == rack[native_site]


def test_bad_telegraf_input_is_dead_lettered_with_its_reason(
    stack: Stack, unique: str, tmp_path: Path, telegraf: Path, redfish: Redfish
) -> None:
    pipeline = Isolated(unique, tmp_path)
    site = f"tg-{unique}"
    bad_type = nvidia_smi(
        tmp_path,
        "l40s.xml",
        edits={"<remapped_row_failure>No": "<remapped_row_failure>Maybe"},
    )
    good = nvidia_smi(tmp_path, "a100-sxm4-mig.xml")
    config = site_config(pipeline, site, redfish, {HOST: bad_type})
    config += (
        # No namepass: the L40S's process metric (nvidia_smi_process) is not mapped.
        f'\n[[inputs.nvidia_smi]]\n  bin_path = "{bad_type}"\n  namepass = ["nvidia_smi_process"]\n'
        # No site tag.
        f'\n[[inputs.nvidia_smi]]\n  bin_path = "{good}"\n  namepass = ["nvidia_smi"]\n'
        '  tagexclude = ["site"]\n'
    )
    topic, dlq = pipeline.settings.topics.telegraf, pipeline.settings.topics.dlq
    started = time.monotonic()
    with pipeline.worker() as worker, Telegraf(telegraf, tmp_path, config):
        produce(pipeline.settings.kafka, [(topic, site.encode(), b"not telegraf at all")])

        def reasons() -> set[str]:
            return {
                decode_as(value, DeadLetter).reason.split(":")[0]
                for value in values_to_end(pipeline.settings.kafka, [dlq])
            }

        expected = {
            "unmapped Telegraf metric nvidia_smi_process",
            "Telegraf metric nvidia_smi has no site tag",
            "Telegraf nvidia_smi",  # the wrong type, named below
            "not Telegraf json (SOVWATCH_TELEGRAF__DATA_FORMAT=json)",
        }
        assert wait_for(lambda: expected <= reasons(), timeout_s=90), reasons()
        time.sleep(3)  # more unmapped records within the same minute
        letters = [decode_as(v, DeadLetter) for v in values_to_end(pipeline.settings.kafka, [dlq])]
        unmapped = [d for d in letters if d.reason.startswith("unmapped Telegraf metric")]
        assert len(unmapped) >= 2
    typed = next(d for d in letters if d.reason.startswith("Telegraf nvidia_smi"))
    assert "row_remap_failure" in typed.reason and "Maybe" in typed.reason
    assert all(d.topic == topic for d in letters)
    # Warned once per name and minute, while every record is dead-lettered (each at INFO).
    logged = worker.log.read_text().count("[WARNING] unmapped Telegraf metric nvidia_smi_process")
    assert 1 <= logged <= 1 + (time.monotonic() - started) // 60
    assert logged < len(unmapped)
    # The good metrics of the same Telegraf were stored.
    assert stored(pipeline, site, "power", ("scope_id",))
    assert typed.errors[0].field == "row_remap_failure"
