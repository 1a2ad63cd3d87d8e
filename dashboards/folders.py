"""Team folders and who may do what in them.

| folder      | Viewer role | Editor role | team with Edit | Admin role |
| ----------- | ----------- | ----------- | -------------- | ---------- |
| Operations  | view        | edit        | ops            | admin      |
| Security    | view        | view        | security       | admin      |
| Compliance  | view        | view        | compliance     | admin      |

Everyone in the org can look at every dashboard (operations staff need the security and
compliance context of a site); only operations dashboards are editable by any Editor, while
security and compliance dashboards are changed by their own team (or as code, in this repo).
The teams are created empty: adding people to them is the org admin's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Permission = Literal["View", "Edit", "Admin"]
PERMISSION_CODES: Final[dict[str, int]] = {"View": 1, "Edit": 2, "Admin": 4}


@dataclass(frozen=True)
class Folder:
    uid: str
    title: str
    team: str
    editor_role: Permission

    @property
    def directory(self) -> str:
        """Where its dashboards' JSON lives under dashboards/json/."""
        return self.title.lower()

    def roles(self) -> dict[str, Permission]:
        return {"Viewer": "View", "Editor": self.editor_role}


FOLDERS: Final = (
    Folder("sovwatch-team-operations", "Operations", "ops", "Edit"),
    Folder("sovwatch-team-security", "Security", "security", "View"),
    Folder("sovwatch-team-compliance", "Compliance", "compliance", "View"),
)
TEAM_PERMISSION: Final[Permission] = "Edit"
TEAM_NAMES: Final = {folder.team: f"sovwatch-{folder.team}" for folder in FOLDERS}


def folder_titled(title: str) -> Folder:
    for folder in FOLDERS:
        if folder.title == title:
            return folder
    raise KeyError(f"no folder titled {title!r}; folders: {[f.title for f in FOLDERS]}")
