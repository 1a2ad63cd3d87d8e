"""Kafka node helpers that need no broker."""

from __future__ import annotations

import base64

from streams.stack.kafka import kafka_version, new_cluster_id


def test_cluster_ids_are_22_char_base64url_and_never_look_like_an_option() -> None:
    ids = {new_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_kafka_version_comes_from_the_pom() -> None:
    assert kafka_version().startswith("4.")
