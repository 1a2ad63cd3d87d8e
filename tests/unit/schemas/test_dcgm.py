from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import DecodeError, GpuSample, decode
from schemas.dcgm import DcgmScrape, event_id, parse_exposition

FIXTURES = Path(__file__).parent / "fixtures"
TS = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _parse(text: str, **kwargs: object) -> DcgmScrape:
    args: dict[str, object] = {"site_id": "fra-1", "country": "DE", "source": "dcgm:t", "ts": TS}
    return parse_exposition(text, **(args | kwargs))  # type: ignore[arg-type]


def _fixture(name: str) -> DcgmScrape:
    return _parse((FIXTURES / name).read_text())


def test_h100_node_all_gpus() -> None:
    scrape = _fixture("dcgm_h100_node.prom")
    assert not scrape.rejected and not scrape.dropped
    assert [s.gpu_index for s in scrape.samples] == [0, 1, 2, 3]
    gpu3 = scrape.samples[3]
    assert gpu3.node == "dgx-h100-017"
    assert gpu3.gpu_uuid == "GPU-7c1f3a2e-4b1d-9e3a-2f61-0c5d8e9a1b3f"
    assert gpu3.model_name == "NVIDIA H100 80GB HBM3"
    assert gpu3.pci_bus_id == "00000000:1B:00.0"
    assert gpu3.driver_version == "550.90.07"
    assert (gpu3.gpu_util_pct, gpu3.fb_used_mib, gpu3.fb_free_mib) == (100.0, 81000, 559)
    assert gpu3.power_usage_w == 643.25
    assert gpu3.total_energy_consumption_mj == 4123456789015  # a counter: parser quirk undone
    assert (gpu3.xid_errors, gpu3.ecc_dbe_volatile_total, gpu3.uncorrectable_remapped_rows) == (
        79,
        1,
        2,
    )
    assert gpu3.nvlink_replay_errors_total == 12
    assert gpu3.throttle_reasons() == ["hw_slowdown", "hw_thermal_slowdown"]  # 72 = 0x48
    assert gpu3.mig_instance_id is None and gpu3.k8s_pod is None


def test_missing_counters_stay_none() -> None:
    gpu2 = _fixture("dcgm_h100_node.prom").samples[2]
    assert gpu2.ecc_sbe_volatile_total is None and gpu2.nvlink_crc_flit_errors_total is None
    assert gpu2.uncorrectable_remapped_rows is None
    assert gpu2.gpu_temp_c == 53.0 and gpu2.pcie_replay_counter == 0


def test_mig_instances_and_k8s_labels_with_lowercase_hostname() -> None:
    scrape = _fixture("dcgm_a100_mig_k8s.prom")
    assert not scrape.rejected
    whole, mig1, mig2 = scrape.samples
    assert {s.node for s in scrape.samples} == {"k8s-gpu-worker-3"}
    assert (whole.k8s_namespace, whole.k8s_pod, whole.k8s_container) == (
        "llm-train",
        "trainer-0",
        "pytorch",
    )
    assert whole.mig_instance_id is None and whole.gpu_util_pct == 97.0
    assert mig1.gpu_uuid == mig2.gpu_uuid
    assert (mig1.mig_instance_id, mig1.mig_profile, mig1.fb_used_mib) == (1, "3g.40gb", 20480)
    assert (mig2.mig_instance_id, mig2.fb_used_mib) == (2, 1024)
    assert mig1.gpu_util_pct is None  # not reported per MIG instance
    assert mig2.k8s_pod is None  # empty labels mean "not set"
    assert mig1.event_id != mig2.event_id


def test_samples_survive_the_wire() -> None:
    for sample in _fixture("dcgm_a100_mig_k8s.prom").samples:
        assert decode(sample.model_dump_json().encode(), "telemetry.gpu") == sample


def test_event_ids_are_deterministic() -> None:
    first = _fixture("dcgm_h100_node.prom")
    again = _fixture("dcgm_h100_node.prom")
    assert [s.event_id for s in first.samples] == [s.event_id for s in again.samples]
    assert len({s.event_id for s in first.samples}) == 4
    assert event_id("fra-1", "GPU-1", None, TS) != event_id("fra-2", "GPU-1", None, TS)


LINE = 'DCGM_FI_DEV_GPU_TEMP{{gpu="0",UUID="GPU-abc",{host}modelName="X"}} {value}\n'


def test_nan_values_are_dropped_not_fatal() -> None:
    scrape = _parse(LINE.format(host='Hostname="n1",', value="NaN"))
    assert scrape.dropped == ("DCGM_FI_DEV_GPU_TEMP{GPU-abc}",)
    assert scrape.samples[0].gpu_temp_c is None


def test_bad_gpu_rejected_others_kept() -> None:
    hot = LINE.format(host='Hostname="n1",', value="999")
    text = hot + LINE.replace("GPU-abc", "GPU-def").format(host='Hostname="n1",', value="40")
    scrape = _parse(text)
    assert [s.gpu_uuid for s in scrape.samples] == ["GPU-def"]
    (rejected,) = scrape.rejected
    assert rejected.key == "n1/GPU-abc"
    assert rejected.error.issues[0].field == "gpu_temp_c"


def test_node_fallback_when_no_hostname_label() -> None:
    assert not _parse(LINE.format(host="", value="40")).samples
    assert _parse(LINE.format(host="", value="40"), node="n9").samples[0].node == "n9"


def test_unmapped_metrics_ignored() -> None:
    text = 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-abc",Hostname="n"} 0.5\n'
    assert _parse(text) == DcgmScrape(samples=())


def test_not_exposition_text() -> None:
    with pytest.raises(DecodeError, match="not Prometheus"):
        _parse('DCGM_FI_DEV_GPU_TEMP{gpu="0" 40\n')


def test_samples_are_gpu_samples() -> None:
    assert all(isinstance(s, GpuSample) for s in _fixture("dcgm_h100_node.prom").samples)
