"""A Flux query for Grafana's InfluxDB datasource, as a grafana-foundation-sdk query type.

The SDK ships no InfluxDB query type, so this one is defined the way its docs say ("Defining a
custom query type"): a `Dataquery` variant with `to_json`/`from_json`, a builder, and a
`DataqueryConfig` registered with the SDK runtime so that `Dashboard.from_json` reads our
targets back as `FluxQuery` (keyed by the datasource type, `influxdb`). In Flux mode the
datasource's target is just `refId`, `query` (the Flux text) and the datasource reference.

Annotations need the same: the SDK's `AnnotationTarget` (Grafana 11.6 schema) only knows the
built-in "grafana" datasource's fields, so `FluxAnnotationTarget` adds the Flux text.
"""

from __future__ import annotations

from typing import Any, Final, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import AnnotationTarget, DataSourceRef

DATASOURCE_TYPE: Final = "influxdb"
DATASOURCE_UID: Final = "sovwatch-influxdb"
# The datasource's minimum interval (jsonData.timeInterval): DCGM is scraped every 15 s, so a
# finer window only splits samples.
MIN_INTERVAL: Final = "15s"


def datasource() -> DataSourceRef:
    """sovwatch's InfluxDB datasource (uid as provisioned by dashboards/provisioning)."""
    return DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)


class FluxQuery(cogvariants.Dataquery):
    """One Flux target."""

    def __init__(
        self,
        query: str,
        ref_id: str | None = None,
        hide: bool | None = None,
        datasource: DataSourceRef | None = None,
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.hide = hide
        self.datasource = datasource

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {}
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        if self.hide is not None:
            payload["hide"] = self.hide
        payload["query"] = self.query
        if self.ref_id is not None:
            payload["refId"] = self.ref_id
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ref = data.get("datasource")
        return cls(
            query=str(data.get("query", "")),
            ref_id=data.get("refId"),
            hide=data.get("hide"),
            datasource=DataSourceRef.from_json(ref) if isinstance(ref, dict) else None,
        )


class Flux(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder of a `FluxQuery` on sovwatch's datasource: `Flux(text).ref_id("B")`."""

    def __init__(self, query: str) -> None:
        self._internal = FluxQuery(query, ref_id="A", datasource=datasource())

    def build(self) -> FluxQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def hide(self, hide: bool) -> Self:
        self._internal.hide = hide
        return self


class FluxAnnotationTarget(AnnotationTarget):
    """An annotation's target for the InfluxDB datasource in Flux mode."""

    def __init__(self, query: str = "", ref_id: str = "Anno") -> None:
        super().__init__()
        self.query = query
        self.ref_id = ref_id

    def to_json(self) -> dict[str, object]:
        return {"query": self.query, "refId": self.ref_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(str(data.get("query", "")), str(data.get("refId", "Anno")))


class FluxAnnotation(cogbuilder.Builder[AnnotationTarget]):
    def __init__(self, query: str) -> None:
        self._internal = FluxAnnotationTarget(query)

    def build(self) -> FluxAnnotationTarget:
        return self._internal


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(
        identifier=DATASOURCE_TYPE, from_json_hook=FluxQuery.from_json
    )


def register() -> None:
    """Teach the SDK runtime to read `influxdb` targets back as `FluxQuery` (idempotent)."""
    cogruntime.register_dataquery_variant(variant_config())
