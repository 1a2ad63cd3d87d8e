"""`sovwatch audit` without servers: keys, times, bundles verified offline, user errors."""

from __future__ import annotations

import json
import stat
import zipfile
from functools import cache
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from agents.audit.checkpoints import Signer, load_public_key
from agents.audit.verify import verify
from schemas.errors import SovwatchError
from streams.cli.audit import audit_app, parse_when
from streams.evidence.export import FILES, read_bundle, write_bundle
from streams.evidence.keys import PRIVATE_B64, PRIVATE_PEM, PUBLIC_PEM
from tests.unit.agents.audit.fixtures import audit_event, build_chain

runner = CliRunner()


@cache
def keys(directory: str) -> Signer:
    result = runner.invoke(audit_app, ["keygen", "--out", directory])
    assert result.exit_code == 0, result.output
    return Signer.from_secret(SecretStr((Path(directory) / PRIVATE_PEM).read_text()))


def test_keygen_writes_private_keys_0600_and_refuses_to_overwrite(tmp_path: Path) -> None:
    signer = keys(str(tmp_path))
    for name in (PRIVATE_PEM, PRIVATE_B64):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    public = load_public_key((tmp_path / PUBLIC_PEM).read_bytes())
    assert public.public_bytes_raw() == signer.public_key.public_bytes_raw()
    b64 = Signer.from_secret(SecretStr((tmp_path / PRIVATE_B64).read_text()))
    assert b64.key_id == signer.key_id
    again = runner.invoke(audit_app, ["keygen", "--out", str(tmp_path)])
    assert isinstance(again.exception, SovwatchError) and "--force" in str(again.exception)
    secret = (tmp_path / PRIVATE_B64).read_text().strip()
    assert secret not in runner.invoke(audit_app, ["keygen", "--out", str(tmp_path / "b")]).output


def test_times_are_iso_or_relative_and_anything_else_is_a_user_error() -> None:
    assert parse_when("2025-03-01") is not None
    assert str(parse_when("2025-03-01T08:00:00Z")) == "2025-03-01 08:00:00+00:00"
    when = parse_when("-7d")
    assert when is not None and when.tzinfo is not None
    with pytest.raises(SovwatchError):
        parse_when("last tuesday")


def _bundle(tmp_path: Path) -> tuple[Path, Path]:
    signer = keys(str(tmp_path / "keys"))
    events = [audit_event(i) for i in range(30)] + [
        audit_event(i, site="par-1", country="FR") for i in range(12)
    ]
    records, checkpoints, _ = build_chain(events, signer, every=10)
    report = verify(records, checkpoints, signer.public_key)
    path = tmp_path / "evidence.zip"
    public = tmp_path / "keys" / PUBLIC_PEM
    write_bundle(
        path,
        records,
        checkpoints,
        report,
        public.read_bytes(),
        period="test",
        key_id=signer.key_id,
    )
    return path, public


def test_a_bundle_holds_every_file_and_verifies_offline(tmp_path: Path) -> None:
    path, public = _bundle(tmp_path)
    with zipfile.ZipFile(path) as bundle:
        assert set(bundle.namelist()) == {*FILES, "manifest.json"}
        manifest = json.loads(bundle.read("manifest.json"))
        page = bundle.read("summary.html").decode()
        csv_header = bundle.read("records.csv").decode().splitlines()[0]
    assert manifest["ok"] is True
    assert page.count("<svg") >= 4 and "<script" not in page and "INTACT" in page
    assert csv_header.startswith("time,site,country,seq,action")
    result = runner.invoke(
        audit_app, ["verify", "--bundle", str(path), "--public-key", str(public), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["records"] == 42


def test_a_tampered_bundle_fails_verification_naming_the_record(tmp_path: Path) -> None:
    path, public = _bundle(tmp_path)
    records, _, _ = read_bundle(path)
    records[7]["actor_id"] = "p_someone_else"
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "records.jsonl":
                data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
            dst.writestr(name, data)
    result = runner.invoke(
        audit_app, ["verify", "--bundle", str(tampered), "--public-key", str(public)]
    )
    assert result.exit_code == 1
    assert "altered" in result.output and "seq 8" in result.output
    assert "field(s) changed: actor_id" in result.output


def test_user_errors_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(audit_app, ["checkpoint", "--worker", "http://127.0.0.1:9"])
    assert isinstance(result.exception, SovwatchError)
    assert "no sovwatch worker answered" in str(result.exception)
    result = runner.invoke(audit_app, ["verify", "--bundle", str(tmp_path / "nope.zip")])
    assert isinstance(result.exception, SovwatchError)
    monkeypatch.setenv("SOVWATCH_PRIVACY__PSEUDONYM_KEY", "")
    from streams.config import get_settings

    get_settings.cache_clear()
    try:
        monkeypatch.delenv("SOVWATCH_PRIVACY__PSEUDONYM_KEY")
        monkeypatch.chdir(tmp_path)  # no .env
        result = runner.invoke(audit_app, ["query", "--actor", "alice"])
    finally:
        get_settings.cache_clear()
    assert isinstance(result.exception, SovwatchError)
    assert "p_" in str(result.exception)
