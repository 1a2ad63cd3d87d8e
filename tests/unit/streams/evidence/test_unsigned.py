"""A site with records but no checkpoint: "not yet checkpointed" when the workers sign,
"unsigned (no signing key configured)" only when nothing says they do."""

from __future__ import annotations

from agents.audit.verify import verify
from schemas.settings import AuditSettings, Settings
from streams.evidence.unsigned import NOT_CHECKPOINTED, explain
from tests.unit.agents.audit.test_verify import EVERYTHING_SIGNED, intact, signer


def settings(signing_key: str | None = None) -> Settings:
    audit = AuditSettings(signing_key=signing_key, checkpoint_interval_s=299.5)
    return Settings.model_construct(audit=audit)


def test_with_a_signing_key_here_a_site_without_checkpoint_is_not_yet_checkpointed() -> None:
    records, _ = intact()
    report = verify(list(records), [], None, unsigned_before_ns=EVERYTHING_SIGNED)
    explained = explain(report, settings("a-key"))
    text = explained.text()
    assert text.startswith("NOT YET CHECKPOINTED (NEXT IN ≤ 300 S)")
    assert "no signing key" not in text.lower()
    assert "not_checkpointed   site=fra-1 seq 1: not yet checkpointed (next in ≤ 300 s):" in text
    assert "'sovwatch audit checkpoint' signs now" in text
    assert explained.exit_code == 3  # nothing proves the records yet
    data = explained.as_dict()
    assert data["status"] == NOT_CHECKPOINTED and data["next_checkpoint_within_s"] == 300
    assert {f["kind"] for f in data["findings"]} == {NOT_CHECKPOINTED}


def test_a_checkpoint_of_another_site_says_the_workers_sign() -> None:
    records, checkpoints = intact()
    signed = [c for c in checkpoints if c.site == "par-1"]
    report = verify(
        list(records), signed, signer().public_key, unsigned_before_ns=EVERYTHING_SIGNED
    )
    explained = explain(report, settings())
    assert explained.pending
    assert [(f.kind, f.site) for f in report.findings] == [("unsigned", "fra-1")]
    assert "site=fra-1 seq 1: not yet checkpointed" in explained.text()


def test_without_any_sign_of_signing_it_is_unsigned_no_signing_key_configured() -> None:
    records, _ = intact()
    report = verify(list(records), [], None, unsigned_before_ns=EVERYTHING_SIGNED)
    explained = explain(report, settings())
    assert not explained.pending
    assert explained.text() == report.text()
    assert explained.text().startswith("UNSIGNED (no signing key configured)")
    assert explained.as_dict()["status"] == "unsigned" and explained.exit_code == 3


def test_an_intact_report_is_left_as_it_is() -> None:
    records, checkpoints = intact()
    report = verify(list(records), list(checkpoints), signer().public_key)
    explained = explain(report, settings("a-key"))
    assert not explained.pending and explained.text() == report.text()
    assert explained.exit_code == 0
