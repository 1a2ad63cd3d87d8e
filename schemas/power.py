"""Power and environment readings, aligned with DMTF Redfish, and PUE derivation.

A reading describes one `scope` (site, hall, rack, PDU, feed, or a node as its BMC reports it)
identified by `scope_id`.
Unknown fields are **ignored**, as for GPU samples: telemetry collectors are upgraded first and
an unknown sensor is harmless to drop.

| field                | Redfish property                                                  | unit |
|----------------------|-------------------------------------------------------------------|------|
| power_w              | PowerWatts.Reading (Circuit, Outlet, EnvironmentMetrics)          | W    |
| energy_kwh           | EnergykWh.Reading (lifetime counter)                              | kWh  |
| voltage_v            | Voltage.Reading                                                   | V    |
| current_a            | CurrentAmps.Reading                                               | A    |
| capacity_w           | PowerCapacityWatts (PowerControl) / RatedCurrentAmps x Voltage    | W    |
| allocated_w          | PowerAllocatedWatts (PowerControl)                                | W    |
| inlet_temp_c         | TemperatureCelsius of the intake sensor (ThermalMetrics)          | °C   |
| outlet_temp_c        | TemperatureCelsius of the exhaust sensor                          | °C   |
| humidity_pct         | HumidityPercent.Reading (EnvironmentMetrics)                      | %    |
| facility_energy_kwh  | EnergykWh of the facility (utility) meter, counter                | kWh  |
| it_energy_kwh        | EnergykWh of the IT (UPS/PDU output) meters, counter              | kWh  |

PUE (ISO/IEC 30134-2) is total facility energy divided by IT equipment energy over the same
period: a ratio of *energies*, never of instantaneous powers, and at least 1.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from schemas.envelope import Envelope, Identifier

PowerScope = Literal["site", "hall", "rack", "pdu", "feed", "node"]
Watts = Annotated[float, Field(ge=0, le=1e9)]
KilowattHours = Annotated[float, Field(ge=0, le=1e12)]
Celsius = Annotated[float, Field(ge=-50, le=150)]


class PowerReading(Envelope):
    """One power/environment reading of a site, hall, rack, PDU, feed or node."""

    model_config = ConfigDict(extra="ignore")

    family: Literal["power"] = Field("power", description="Event family discriminator")
    scope: PowerScope = Field(description="What the reading covers")
    scope_id: Identifier = Field(
        description="Id of the hall, rack, PDU, feed or node (site id at site)"
    )
    power_w: Watts | None = Field(None, description="Active power, W")
    energy_kwh: KilowattHours | None = Field(None, description="Lifetime energy, kWh (counter)")
    voltage_v: float | None = Field(None, ge=0, le=1e6, description="Voltage, V (RMS)")
    current_a: float | None = Field(None, ge=0, le=1e6, description="Current, A (RMS)")
    capacity_w: Watts | None = Field(None, description="Rated/provisioned capacity, W")
    allocated_w: Watts | None = Field(None, description="Power allocated to consumers, W")
    inlet_temp_c: Celsius | None = Field(None, description="Inlet (intake) air temperature, °C")
    outlet_temp_c: Celsius | None = Field(None, description="Outlet (exhaust) air temperature, °C")
    humidity_pct: float | None = Field(None, ge=0, le=100, description="Relative humidity, %")
    facility_energy_kwh: KilowattHours | None = Field(
        None, description="Total facility energy, kWh (counter), for PUE"
    )
    it_energy_kwh: KilowattHours | None = Field(
        None, description="IT equipment energy, kWh (counter), for PUE"
    )


class PueError(ValueError):
    """PUE cannot be derived from the given energies or readings."""


def pue_from_energy(facility_kwh: float, it_kwh: float) -> float:
    """PUE = facility energy / IT energy over one period (ISO/IEC 30134-2)."""
    if not (math.isfinite(facility_kwh) and math.isfinite(it_kwh)):
        raise PueError(f"energies must be finite, got facility={facility_kwh} it={it_kwh}")
    if it_kwh <= 0:
        raise PueError(f"IT energy over the period must be > 0 kWh, got {it_kwh}")
    pue = facility_kwh / it_kwh
    if pue < 1:
        raise PueError(
            f"PUE {pue:.3f} < 1: facility energy {facility_kwh} kWh is less than IT energy "
            f"{it_kwh} kWh; the meters do not cover the same period or boundary"
        )
    return pue


def pue_between(start: PowerReading, end: PowerReading) -> float:
    """PUE over the period between two readings of the same site-scope counters."""
    if (start.site_id, start.scope, start.scope_id) != (end.site_id, end.scope, end.scope_id):
        raise PueError(
            f"readings are of different scopes: {start.site_id}/{start.scope}/{start.scope_id} "
            f"vs {end.site_id}/{end.scope}/{end.scope_id}"
        )
    if end.ts <= start.ts:
        raise PueError(f"end reading ({end.ts}) must be later than start ({start.ts})")
    counters = (
        start.facility_energy_kwh,
        start.it_energy_kwh,
        end.facility_energy_kwh,
        end.it_energy_kwh,
    )
    if any(c is None for c in counters):
        raise PueError("both readings need facility_energy_kwh and it_energy_kwh")
    f0, i0, f1, i1 = (float(c or 0.0) for c in counters)
    if f1 < f0 or i1 < i0:
        raise PueError("an energy counter went backwards (meter reset?) between the readings")
    return pue_from_energy(f1 - f0, i1 - i0)
