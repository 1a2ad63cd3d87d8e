"""The worker's topology comes from one factory and a Settings value; importing creates nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from schemas.errors import SovwatchError
from schemas.settings import Settings
from streams.worker.topology import build

KEY = "unit-test-key-0123456789abcdef"


def settings(app_id: str) -> Settings:
    return Settings.model_validate(
        {
            "worker": {"app_id": app_id, "store": "memory://"},
            "privacy": {"pseudonym_key": KEY, "dlq_keep_raw": False},
        }
    )


def test_each_build_has_its_own_app_agents_tables_timers_and_pages() -> None:
    first, second = build(settings("t-one")), build(settings("t-two"))
    assert first.app is not second.app
    assert first.app.conf.id == "t-one"
    assert set(first.agents) == {"ingest", "audit"}
    assert {agent.name for agent in first.app.agents.values()} == {
        "sovwatch.ingest",
        "sovwatch.audit",
    }
    assert set(first.app.tables) == {"sovwatch-rule-state", "sovwatch-audit-heads"}
    assert len(first.app._app_tasks) == 2  # the checkpoint and the lag gauge
    routes = {path for path, _ in first.app.web.views.items()}
    assert {"/metrics", "/health", "/audit/checkpoint"} <= routes
    assert first.compliance is not second.compliance


def test_no_record_is_delivered_to_two_agents_and_faust_tracks_no_read_offset() -> None:
    """Defect 2 (a88ba1b): the ingest and audit agents both consumed audit.sovereignty, and a
    revoke's wait for unacked messages could wait forever for an event one agent held. Each
    read topic has one agent now, and none is tracked by acks (the checkpoint commits)."""
    chosen = settings("t-agents").model_copy(deep=True)
    chosen.alerts.webhook_url = "http://127.0.0.1:9/hook"  # a channel: the channels' agent runs
    topology = build(chosen)
    read: list[str] = []
    for agent in topology.app.agents.values():
        assert agent.channel.acks is False, agent.name
        read.extend(agent.channel.topics)
    assert len(read) == len(set(read)), read
    names = chosen.topics
    assert set(read) == {
        names.gpu, names.power, names.physical, names.telegraf, names.otlp, names.audit,
        names.alerts_ops, names.alerts_security, names.alerts_compliance,
    }  # fmt: skip
    assert "channels" in topology.agents


def test_importing_every_module_creates_no_faust_object_and_reads_no_environment() -> None:
    probe = textwrap.dedent(
        """
        import importlib, os, pkgutil
        import faust, pydantic_settings

        def refuse(*args, **kwargs):
            raise SystemExit("created at import: " + repr(args[:1]))

        faust.App.__init__ = refuse
        pydantic_settings.BaseSettings.__init__ = refuse
        for package in ("schemas", "agents", "streams", "dashboards"):
            root = importlib.import_module(package)
            for info in pkgutil.walk_packages(root.__path__, package + "."):
                importlib.import_module(info.name)
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_a_worker_without_a_dlq_key_refuses_to_start_unless_it_keeps_no_raw_bytes() -> None:
    keyless = Settings.model_validate({"privacy": {"pseudonym_key": KEY}})
    with pytest.raises(SovwatchError, match="no DLQ key is set"):
        build(keyless)


def test_the_workers_local_state_goes_where_the_settings_say(tmp_path: Path) -> None:
    chosen = settings("t-data").model_copy(deep=True)
    chosen.worker.data_dir = tmp_path / "state"
    app = build(chosen).app
    assert Path(app.conf.datadir) == tmp_path / "state"
    assert Path(app.conf.tabledir).is_relative_to(tmp_path / "state")
