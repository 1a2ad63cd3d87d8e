"""One GPU (or MIG instance) sample, with field names taken from NVIDIA DCGM.

Each metric keeps its DCGM field id's meaning and unit; the name drops the `DCGM_FI_DEV_`
prefix, is lower-cased and ends in its unit. Every metric is optional (`null` = not reported:
dcgm-exporter omits counters a GPU or driver does not support, and MIG instances report
fewer). Unknown fields are **ignored**: collectors are upgraded before consumers and a newer
DCGM may add counters; dropping a counter we do not know is harmless, rejecting the sample
would lose the ones we do.

| field                          | DCGM field / exporter label               | unit    |
|--------------------------------|-------------------------------------------|---------|
| node                           | label `Hostname` (`hostname`)             |         |
| gpu_index                      | label `gpu`                               |         |
| gpu_uuid                       | label `UUID`                              |         |
| device                         | label `device` (e.g. nvidia0)             |         |
| model_name                     | label `modelName`                         |         |
| pci_bus_id                     | label `pci_bus_id`                        |         |
| driver_version                 | label `DCGM_FI_DRIVER_VERSION`            |         |
| mig_instance_id / mig_profile  | labels `GPU_I_ID` / `GPU_I_PROFILE`       |         |
| k8s_namespace/_pod/_container  | labels `namespace` / `pod` / `container`  |         |
| gpu_util_pct                   | DCGM_FI_DEV_GPU_UTIL                      | %       |
| mem_copy_util_pct              | DCGM_FI_DEV_MEM_COPY_UTIL                 | %       |
| enc_util_pct / dec_util_pct    | DCGM_FI_DEV_ENC_UTIL / _DEC_UTIL          | %       |
| fb_used_mib / fb_free_mib      | DCGM_FI_DEV_FB_USED / _FB_FREE            | MiB     |
| gpu_temp_c                     | DCGM_FI_DEV_GPU_TEMP                      | °C      |
| memory_temp_c                  | DCGM_FI_DEV_MEMORY_TEMP                   | °C      |
| power_usage_w                  | DCGM_FI_DEV_POWER_USAGE                   | W       |
| total_energy_consumption_mj    | DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION      | mJ      |
| sm_clock_mhz / mem_clock_mhz   | DCGM_FI_DEV_SM_CLOCK / _MEM_CLOCK         | MHz     |
| xid_errors                     | DCGM_FI_DEV_XID_ERRORS (last XID code)    |         |
| ecc_sbe_volatile_total         | DCGM_FI_DEV_ECC_SBE_VOL_TOTAL             | count   |
| ecc_dbe_volatile_total         | DCGM_FI_DEV_ECC_DBE_VOL_TOTAL             | count   |
| ecc_sbe_aggregate_total        | DCGM_FI_DEV_ECC_SBE_AGG_TOTAL             | count   |
| ecc_dbe_aggregate_total        | DCGM_FI_DEV_ECC_DBE_AGG_TOTAL             | count   |
| retired_pages_sbe / _dbe       | DCGM_FI_DEV_RETIRED_SBE / _DBE            | pages   |
| retired_pages_pending          | DCGM_FI_DEV_RETIRED_PENDING               | 0/1     |
| correctable_remapped_rows      | DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS     | rows    |
| uncorrectable_remapped_rows    | DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS   | rows    |
| row_remap_failure              | DCGM_FI_DEV_ROW_REMAP_FAILURE             | 0/1     |
| nvlink_crc_flit_errors_total   | DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL | count |
| nvlink_crc_data_errors_total   | DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL | count |
| nvlink_replay_errors_total     | DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL   | count |
| nvlink_recovery_errors_total   | DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL | count |
| pcie_replay_counter            | DCGM_FI_DEV_PCIE_REPLAY_COUNTER           | count   |
| pcie_link_gen / _width         | DCGM_FI_DEV_PCIE_LINK_GEN / _WIDTH        | gen / lanes |
| clock_throttle_reasons         | DCGM_FI_DEV_CLOCK_THROTTLE_REASONS [1]    | bitmask |

[1] DCGM 3.3+ names it DCGM_FI_DEV_CLOCKS_EVENT_REASONS; both are read.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import ConfigDict, Field

from schemas.envelope import Envelope, Identifier, Name

Percent = Annotated[float, Field(ge=0, le=100)]
Counter = Annotated[int, Field(ge=0, le=(1 << 63) - 1)]
"""A DCGM counter: InfluxDB stores it as a signed 64-bit integer."""
Celsius = Annotated[float, Field(ge=-50, le=200)]
Mhz = Annotated[int, Field(ge=0, le=100_000)]
Mib = Annotated[int, Field(ge=0, le=1 << 40)]

# NVML clocks event (throttle) reason bits, in bit order.
THROTTLE_REASON_BITS: Final[dict[int, str]] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


class GpuSample(Envelope):
    """Telemetry of one GPU, or of one MIG instance when `mig_instance_id` is set."""

    model_config = ConfigDict(extra="ignore")

    family: Literal["gpu"] = Field("gpu", description="Event family discriminator")

    # Labels
    node: Name = Field(description="Host name of the node (exporter label Hostname)")
    gpu_index: int = Field(ge=0, le=1023, description="GPU index on the node (label gpu)")
    gpu_uuid: Identifier = Field(description="GPU UUID, e.g. GPU-5f2c... (label UUID)")
    device: Name | None = Field(None, description="Device name, e.g. nvidia0")
    model_name: Name | None = Field(None, description="Product name (label modelName)")
    pci_bus_id: Name | None = Field(None, description="PCI bus id, e.g. 00000000:1B:00.0")
    driver_version: Name | None = Field(None, description="NVIDIA driver version")
    mig_instance_id: int | None = Field(None, ge=0, description="MIG GPU instance id (GPU_I_ID)")
    mig_profile: Name | None = Field(None, description="MIG profile (GPU_I_PROFILE), e.g. 1g.10gb")
    k8s_namespace: Name | None = Field(None, description="Kubernetes namespace using the GPU")
    k8s_pod: Name | None = Field(None, description="Kubernetes pod using the GPU")
    k8s_container: Name | None = Field(None, description="Kubernetes container using the GPU")

    # Utilisation, memory, thermals, power, clocks
    gpu_util_pct: Percent | None = Field(None, description="GPU utilisation, percent")
    mem_copy_util_pct: Percent | None = Field(None, description="Memory copy utilisation, %")
    enc_util_pct: Percent | None = Field(None, description="Encoder utilisation, percent")
    dec_util_pct: Percent | None = Field(None, description="Decoder utilisation, percent")
    fb_used_mib: Mib | None = Field(None, description="Framebuffer memory used, MiB")
    fb_free_mib: Mib | None = Field(None, description="Framebuffer memory free, MiB")
    gpu_temp_c: Celsius | None = Field(None, description="GPU temperature, °C")
    memory_temp_c: Celsius | None = Field(None, description="Memory (HBM) temperature, °C")
    power_usage_w: float | None = Field(None, ge=0, le=10_000, description="Power draw, W")
    total_energy_consumption_mj: Counter | None = Field(
        None, description="Energy since driver load, millijoules (counter)"
    )
    sm_clock_mhz: Mhz | None = Field(None, description="SM clock, MHz")
    mem_clock_mhz: Mhz | None = Field(None, description="Memory clock, MHz")

    # Errors and health
    xid_errors: Counter | None = Field(None, description="Code of the last XID error (0: none)")
    ecc_sbe_volatile_total: Counter | None = Field(None, description="Single-bit ECC, volatile")
    ecc_dbe_volatile_total: Counter | None = Field(None, description="Double-bit ECC, volatile")
    ecc_sbe_aggregate_total: Counter | None = Field(None, description="Single-bit ECC, lifetime")
    ecc_dbe_aggregate_total: Counter | None = Field(None, description="Double-bit ECC, lifetime")
    retired_pages_sbe: Counter | None = Field(None, description="Pages retired for SBE")
    retired_pages_dbe: Counter | None = Field(None, description="Pages retired for DBE")
    retired_pages_pending: Counter | None = Field(None, description="Page retirement pending")
    correctable_remapped_rows: Counter | None = Field(None, description="Rows remapped, CE")
    uncorrectable_remapped_rows: Counter | None = Field(None, description="Rows remapped, UE")
    row_remap_failure: Counter | None = Field(None, description="1 if a row remap failed")
    nvlink_crc_flit_errors_total: Counter | None = Field(None, description="NVLink CRC flit errors")
    nvlink_crc_data_errors_total: Counter | None = Field(None, description="NVLink CRC data errors")
    nvlink_replay_errors_total: Counter | None = Field(None, description="NVLink replay errors")
    nvlink_recovery_errors_total: Counter | None = Field(None, description="NVLink recoveries")
    pcie_replay_counter: Counter | None = Field(None, description="PCIe replays (counter)")
    pcie_link_gen: int | None = Field(None, ge=1, le=16, description="Current PCIe generation")
    pcie_link_width: int | None = Field(None, ge=1, le=64, description="Current PCIe lanes")
    clock_throttle_reasons: Counter | None = Field(
        None, le=(1 << 63) - 1, description="NVML clocks event reason bitmask (0: none)"
    )

    def throttle_reasons(self) -> list[str]:
        """Names of the throttle reason bits set, unknown bits as hex."""
        mask = self.clock_throttle_reasons or 0
        names = [name for bit, name in THROTTLE_REASON_BITS.items() if mask & bit]
        unknown = mask & ~sum(THROTTLE_REASON_BITS)
        return names + ([hex(unknown)] if unknown else [])


def counter_fields() -> tuple[str, ...]:
    """The sample's integer counter fields (events, energy, error counts, bit masks), in order."""
    return tuple(
        name
        for name, field in GpuSample.model_fields.items()
        if field.annotation == (Counter | None)
    )
