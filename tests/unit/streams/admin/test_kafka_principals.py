"""The Kafka users of the secure broker: their grants from settings, and their logins."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.settings import KafkaSettings, Settings, StackSettings, TopicSettings, WorkerSettings
from streams.admin.kafka_principals import (
    ALERTS_READER,
    WORKER,
    Grant,
    grants,
    login_env,
    stack_password,
    users,
    users_dir,
)

INPUTS = ["telemetry.gpu", "telemetry.power", "security.physical", "audit.sovereignty"]
INPUTS += ["telemetry.telegraf", "telemetry.otlp"]
ALERTS = ["alerts.ops", "alerts.security", "alerts.compliance"]


def secure(run_dir: Path, sites: list[str], **settings: object) -> Settings:
    stack = StackSettings(run_dir=run_dir, kafka_security="sasl_ssl", collector_sites=sites)
    return Settings(stack=stack, **settings)  # type: ignore[arg-type]


def by_user(found: list[Grant]) -> dict[str, set[tuple[str, str, str, str]]]:
    table: dict[str, set[tuple[str, str, str, str]]] = {}
    for grant in found:
        table.setdefault(grant.user, set()).add(
            (grant.operation, grant.resource, grant.name, grant.pattern)
        )
    return table


def test_each_user_gets_only_what_its_job_needs(tmp_path: Path) -> None:
    table = by_user(grants(secure(tmp_path, ["fra-1", "par-1"])))
    assert set(table) == {WORKER, ALERTS_READER, "collector-fra-1", "collector-par-1"}
    assert table[WORKER] == {
        *(("read", "topic", name, "literal") for name in INPUTS),
        *(("write", "topic", name, "literal") for name in ["sovwatch.dlq", *ALERTS]),
        ("write", "topic", "audit.checkpoints", "literal"),
        # Faust's changelog and assignor topics, created on demand
        ("create", "topic", "sovwatch-", "prefixed"),
        ("read", "topic", "sovwatch-", "prefixed"),
        ("write", "topic", "sovwatch-", "prefixed"),
        ("read", "group", "sovwatch", "literal"),
    }
    for site in ("fra-1", "par-1"):
        assert table[f"collector-{site}"] == {("write", "topic", n, "literal") for n in INPUTS}
    assert table[ALERTS_READER] == {("read", "topic", name, "literal") for name in ALERTS}


def test_grants_follow_the_topic_names_and_app_id_of_the_settings(tmp_path: Path) -> None:
    settings = secure(
        tmp_path,
        ["fra-1"],
        topics=TopicSettings(gpu="de.gpu", alerts_ops="de.alerts.ops"),
        worker=WorkerSettings(app_id="sovwatch-de"),
    )
    found = grants(settings)
    assert Grant(WORKER, "read", "topic", "de.gpu") in found
    assert Grant("collector-fra-1", "write", "topic", "de.gpu") in found
    assert Grant(ALERTS_READER, "read", "topic", "de.alerts.ops") in found
    assert Grant(WORKER, "read", "group", "sovwatch-de") in found
    assert Grant(WORKER, "create", "topic", "sovwatch-de-", "prefixed") in found
    assert not any(grant.name in ("telemetry.gpu", "alerts.ops", "sovwatch") for grant in found)
    assert found == sorted(set(found))  # stable, no repeats


def test_no_sites_means_no_collector_users(tmp_path: Path) -> None:
    settings = secure(tmp_path, [])
    assert users(settings.stack) == [WORKER, ALERTS_READER]
    assert {grant.user for grant in grants(settings)} == {WORKER, ALERTS_READER}


@pytest.mark.parametrize("site", ["", "fra 1", "fra,1", "-fra", "a=b", "x" * 55])
def test_a_site_that_cannot_name_a_kafka_user_is_refused(site: str) -> None:
    with pytest.raises(ValidationError, match="collector_sites"):
        StackSettings(collector_sites=[site])


def test_logins_come_from_the_stack_files_only_on_the_secure_local_broker(tmp_path: Path) -> None:
    settings = secure(tmp_path, [])
    assert login_env(settings, WORKER) == {}  # no file yet
    users_dir(settings.stack).mkdir(parents=True)
    (users_dir(settings.stack) / WORKER).write_text("s3cret\n")
    assert login_env(settings, WORKER) == {
        "SOVWATCH_KAFKA__SASL_USERNAME": "worker",
        "SOVWATCH_KAFKA__SASL_PASSWORD": "s3cret",
    }
    plaintext = Settings(stack=StackSettings(run_dir=tmp_path))
    assert stack_password(plaintext, WORKER) is None
    remote = settings.model_copy(
        update={"kafka": KafkaSettings(bootstrap_servers="kafka.example:9093")}
    )
    assert stack_password(remote, WORKER) is None
