"""The custom Flux query type: the SDK reads the committed dashboards back with it."""

from __future__ import annotations

import json

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards.build import committed
from dashboards.flux_query import DATASOURCE_UID, Flux, FluxQuery, register


def test_builder_renders_grafanas_flux_target() -> None:
    query = Flux('from(bucket: "b")').ref_id("B").build()
    assert query.to_json() == {
        "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
        "query": 'from(bucket: "b")',
        "refId": "B",
    }
    assert FluxQuery.from_json(query.to_json()).to_json() == query.to_json()


def test_committed_dashboards_parse_with_the_sdk_types_and_round_trip() -> None:
    register()
    for data in committed():
        model = Dashboard.from_json(data)
        for panel in model.panels or []:
            for target in getattr(panel, "targets", None) or []:
                assert isinstance(target, FluxQuery), (data["uid"], panel.title)
        again = json.loads(JSONEncoder().encode(model))
        assert again["panels"] == data["panels"], data["uid"]
        assert again["templating"] == data["templating"], data["uid"]
