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


def test_compose_grafana_image_matches_the_sdk_schema_build() -> None:
    """The SDK's version is `<epoch>!<grafana x.y.0>`; the epoch is a build stamp."""
    import re
    from importlib.metadata import version
    from pathlib import Path

    compose = (Path(__file__).resolve().parents[3] / "docker" / "compose.yaml").read_text()
    image = re.search(r"image: grafana/grafana-oss:(\d+)\.(\d+)\.(\d+)\n", compose)
    assert image, "an exact grafana-oss version, no floating tag"
    epoch, grafana = version("grafana-foundation-sdk").split("!")
    assert int(epoch) > 1_700_000_000
    assert grafana.split(".")[:2] == [image.group(1), image.group(2)]
