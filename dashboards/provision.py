"""Push sovwatch's teams, folders (with permissions), datasource and dashboards into Grafana.

`plan()` reads the server and returns only the steps that would change something, each with a
human-readable diff; `apply()` runs them. So a second run finds nothing to do, and `--dry-run`
shows exactly what a real run would change. Nothing outside sovwatch's uids is touched.

The datasource token (a read-only InfluxDB token) is write-only in Grafana: it cannot be read
back, so the datasource carries a fingerprint of it (`jsonData.sovwatchTokenFingerprint`, 16 hex
digits of its SHA-256). The token is written when the datasource is created, when the
fingerprint differs (another token configured, e.g. the read-only one replacing the operator
token) and when Grafana's own health check of the datasource fails.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from dashboards.api import Grafana
from dashboards.boards import JSON, Board, all_dashboards
from dashboards.flux_query import DATASOURCE_UID, MIN_INTERVAL
from dashboards.folders import (
    FOLDERS,
    PERMISSION_CODES,
    TEAM_NAMES,
    TEAM_PERMISSION,
    Folder,
    folder_titled,
)
from schemas.errors import SovwatchError
from schemas.settings import InfluxSettings

DATASOURCE_NAME = "sovwatch-influxdb"
FINGERPRINT = "sovwatchTokenFingerprint"
# Keys Grafana adds to a stored dashboard that the code does not own.
SERVER_KEYS = frozenset({"id", "version"})


@dataclass(frozen=True)
class Step:
    """One change: what, to which object, the diff, and how to make it."""

    kind: str
    name: str
    action: str
    diff: str
    run: Callable[[], None]

    def summary(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


def _diff(before: Any, after: Any, label: str) -> str:
    old = json.dumps(before, indent=2, sort_keys=True).splitlines() if before is not None else []
    new = json.dumps(after, indent=2, sort_keys=True).splitlines()
    return "\n".join(
        difflib.unified_diff(old, new, f"grafana:{label}", f"sovwatch:{label}", lineterm="", n=2)
    )


def _grants(permissions: list[tuple[str, str, str]]) -> list[str]:
    return [f"{kind} {principal}: {permission}" for kind, principal, permission in permissions]


def token_fingerprint(token: SecretStr) -> str:
    """Names a token without revealing it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:16]


def datasource_body(influx: InfluxSettings, url: str) -> JSON:
    """The datasource as the provisioning file declares it, without the (write-only) token."""
    return {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "access": "proxy",
        "url": url,
        "isDefault": True,
        "jsonData": {
            "version": "Flux",
            "organization": influx.org,
            "defaultBucket": influx.buckets.telemetry,
            "timeInterval": MIN_INTERVAL,
            "tlsSkipVerify": False,
        },
    }


class Provisioner:
    """Desired state from the code; current state from one Grafana org."""

    def __init__(
        self,
        grafana: Grafana,
        influx: InfluxSettings,
        influx_url: str,
        datasource_token: SecretStr | None = None,
    ) -> None:
        """`datasource_token`: what Grafana queries InfluxDB with; read-only in production
        (`streams.admin.influx_tokens.grafana_datasource_token`); default `influx.token`."""
        self.grafana = grafana
        self.influx = influx
        self.influx_url = influx_url
        self.datasource_token = datasource_token or influx.token
        self._team_ids: dict[str, int] = {}

    # ---- teams -------------------------------------------------------------------------
    def _team_id(self, name: str) -> int | None:
        if name not in self._team_ids:
            found = self.grafana.get(f"/teams/search?name={name}") or {}
            for team in found.get("teams", []):
                if team.get("name") == name:
                    self._team_ids[name] = int(team["id"])
        return self._team_ids.get(name)

    def _team_steps(self) -> Iterable[Step]:
        for name in TEAM_NAMES.values():
            if self._team_id(name) is None:

                def create(name: str = name) -> None:
                    answer = self.grafana.post("/teams", {"name": name})
                    self._team_ids[name] = int(answer["teamId"])

                yield Step("team", name, "create", f"+ team {name}", create)

    # ---- folders -----------------------------------------------------------------------
    def _folder_steps(self, folder: Folder) -> Iterable[Step]:
        current = self.grafana.get(f"/folders/{folder.uid}")
        wanted = {"uid": folder.uid, "title": folder.title}
        if current is None:
            yield Step(
                "folder",
                folder.title,
                "create",
                _diff(None, wanted, f"folders/{folder.uid}"),
                lambda: self.grafana.post("/folders", wanted),
            )
        elif current.get("title") != folder.title:
            yield Step(
                "folder",
                folder.title,
                "update",
                _diff({"title": current.get("title")}, {"title": folder.title}, folder.uid),
                lambda: self.grafana.put(
                    f"/folders/{folder.uid}", {"title": folder.title, "overwrite": True}
                ),
            )
        yield from self._permission_steps(folder, exists=current is not None)

    def _wanted_permissions(self, folder: Folder) -> list[tuple[str, str, str]]:
        """(principal kind, principal, permission), sorted: roles and the folder's team."""
        wanted = [("role", role, perm) for role, perm in folder.roles().items()]
        wanted.append(("team", TEAM_NAMES[folder.team], TEAM_PERMISSION))
        return sorted(wanted)

    def _current_permissions(self, folder: Folder) -> list[tuple[str, str, str]]:
        items = self.grafana.get(f"/folders/{folder.uid}/permissions") or []
        current = []
        for item in items:
            if item.get("inherited"):
                continue
            permission = str(item.get("permissionName"))
            if item.get("role"):
                current.append(("role", str(item["role"]), permission))
            elif item.get("teamId"):
                current.append(("team", str(item.get("team")), permission))
            elif item.get("userId"):
                current.append(("user", str(item.get("userLogin")), permission))
        return sorted(current)

    def _permission_steps(self, folder: Folder, exists: bool) -> Iterable[Step]:
        wanted = self._wanted_permissions(folder)
        current = self._current_permissions(folder) if exists else []
        if current == wanted:
            return

        def apply() -> None:
            items: list[JSON] = []
            for kind, principal, permission in wanted:
                code = PERMISSION_CODES[permission]
                if kind == "role":
                    items.append({"role": principal, "permission": code})
                else:
                    team_id = self._team_id(principal)
                    if team_id is None:
                        raise SovwatchError(f"team {principal} vanished during provisioning")
                    items.append({"teamId": team_id, "permission": code})
            self.grafana.post(f"/folders/{folder.uid}/permissions", {"items": items})

        yield Step(
            "permissions",
            folder.title,
            "set",
            _diff(_grants(current) or None, _grants(wanted), f"{folder.uid}/permissions"),
            apply,
        )

    # ---- datasource --------------------------------------------------------------------
    def _datasource_steps(self) -> Iterable[Step]:
        wanted = datasource_body(self.influx, self.influx_url)
        fingerprint = token_fingerprint(self.datasource_token)
        with_token = {
            **wanted,
            "jsonData": {**wanted["jsonData"], FINGERPRINT: fingerprint},
            "secureJsonData": {"token": self.datasource_token.get_secret_value()},
        }
        current = self.grafana.get(f"/datasources/uid/{DATASOURCE_UID}")
        if current is None:
            yield Step(
                "datasource",
                DATASOURCE_NAME,
                "create",
                _diff(None, wanted, "datasource") + f"\n+ token (fingerprint {fingerprint})",
                lambda: self.grafana.post("/datasources", with_token),
            )
            return
        have = {key: current.get(key) for key in wanted}
        have["jsonData"] = {k: current.get("jsonData", {}).get(k) for k in wanted["jsonData"]}
        if current.get("readOnly"):
            if have != wanted:
                raise SovwatchError(
                    f"datasource {DATASOURCE_NAME} differs but is provisioned from files "
                    "(read-only)",
                    "edit dashboards/provisioning/datasources/influxdb.yaml on that Grafana "
                    "instead",
                )
            return  # its token comes from the provisioning file's environment
        if have != wanted:
            yield Step(
                "datasource",
                DATASOURCE_NAME,
                "update",
                _diff(have, wanted, "datasource"),
                lambda: self.grafana.put(f"/datasources/uid/{DATASOURCE_UID}", with_token),
            )
        elif current.get("jsonData", {}).get(FINGERPRINT) != fingerprint:
            yield Step(
                "datasource",
                DATASOURCE_NAME,
                "update",
                f"~ token (fingerprint {current.get('jsonData', {}).get(FINGERPRINT)} -> "
                f"{fingerprint})",
                lambda: self.grafana.put(f"/datasources/uid/{DATASOURCE_UID}", with_token),
            )
        elif not self._datasource_healthy():
            yield Step(
                "datasource",
                DATASOURCE_NAME,
                "update",
                "~ token (Grafana's health check of the datasource failed)",
                lambda: self.grafana.put(f"/datasources/uid/{DATASOURCE_UID}", with_token),
            )

    def _datasource_healthy(self) -> bool:
        try:
            answer = self.grafana.get(f"/datasources/uid/{DATASOURCE_UID}/health")
        except SovwatchError:
            return False
        return isinstance(answer, dict) and answer.get("status") == "OK"

    # ---- dashboards --------------------------------------------------------------------
    def _dashboard_steps(self, board: Board) -> Iterable[Step]:
        folder = folder_titled(board.folder)
        wanted = board.json
        current = self.grafana.get(f"/dashboards/uid/{board.uid}")
        if current is not None:
            stored = {k: v for k, v in current["dashboard"].items() if k not in SERVER_KEYS}
            same_folder = current.get("meta", {}).get("folderUid") == folder.uid
            if stored == wanted and same_folder:
                return
            diff = _diff(stored, wanted, f"dashboards/{board.uid}")
            if not same_folder:
                diff += f"\n~ folder -> {folder.title}"
        else:
            panels = len(board.json.get("panels", []))
            diff = f"+ dashboard {board.uid} ({panels} panels) in {folder.title}"

        def save() -> None:
            self.grafana.post(
                "/dashboards/db",
                {
                    "dashboard": {**wanted, "id": None},
                    "folderUid": folder.uid,
                    "overwrite": True,
                    "message": "sovwatch grafana provision",
                },
            )

        yield Step("dashboard", board.uid, "create" if current is None else "update", diff, save)

    # ---- all ---------------------------------------------------------------------------
    def plan(self) -> list[Step]:
        """What would change, in the order it must be applied."""
        steps = list(self._team_steps())
        for folder in FOLDERS:
            steps.extend(self._folder_steps(folder))
        steps.extend(self._datasource_steps())
        for board in all_dashboards():
            steps.extend(self._dashboard_steps(board))
        return steps

    @staticmethod
    def apply(steps: Iterable[Step]) -> None:
        for step in steps:
            step.run()
