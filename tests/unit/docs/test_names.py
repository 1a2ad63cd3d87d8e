"""Every CLI command (and option) and every SOVWATCH_* setting README.md and docs/ name still
exists: a renamed command or setting fails here, naming the page."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Final

import pytest
import typer
from typer._click.core import Command
from typer.core import TyperGroup

from schemas.settings_catalog import names
from streams.cli.main import app
from tests.tools.docs_pages import ROOT
from tests.unit.docs.pages import code_of, name, pages

SETTING: Final = re.compile(r"SOVWATCH_[A-Z0-9_]*[A-Z0-9](_\*|__\*)?")
NOT_SETTINGS: Final = {
    "SOVWATCH_FAULTS_REPORT": "Makefile",
    "SOVWATCH_CACHE": "docker/native/kafka.sh",
    "SOVWATCH_KAFKA_SASL_PASSWORD": "streams/collectors/telegraf_config.py",
    "SOVWATCH_WORKER_INFLUXDB_TOKEN": "docker/compose.yaml",
    "SOVWATCH_GRAFANA_INFLUXDB_TOKEN": "docker/compose.yaml",
}
"""Variables the docs name that are not settings of sovwatch, and the file that reads each."""
ANNOUNCED: Final[dict[str, str]] = {}
"""Settings the docs describe ahead of the change that adds them; each must go from here once
it exists (a test says so)."""
ROOT_OPTIONS: Final = {"--jurisdiction"}
STOP: Final = {"|", "||", ">", ">>", "<", "&&", ";", "#", "2>&1"}


def unknown_settings(text: str) -> list[str]:
    known = names()
    wrong = []
    for match in SETTING.finditer(text):
        found, wildcard = match.group(0).removesuffix("_*").removesuffix("_"), match.group(1)
        if wildcard:
            ok = any(n.startswith(found + "_") for n in known)
        else:
            ok = found in known or any(n.startswith(found + "__") for n in known)
        if not ok and found not in NOT_SETTINGS and found not in ANNOUNCED:
            wrong.append(found)
    return wrong


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def unknown_commands(line: str) -> list[str]:
    """What `line` calls that the sovwatch CLI does not have (commands and their options)."""
    words = _words(line)
    wrong = []
    for start, word in enumerate(words):
        after_option = start > 0 and words[start - 1].startswith("-")  # `-p sovwatch`
        if (word == "sovwatch" or word.endswith("/sovwatch")) and not after_option:
            wrong += _check(words[start + 1 :])
    return wrong


def _check(words: list[str]) -> list[str]:
    command: Command = typer.main.get_command(app)
    path = ["sovwatch"]
    rest = list(words)
    while rest and rest[0] in ROOT_OPTIONS:
        rest = rest[2:]
    while isinstance(command, TyperGroup) and rest and re.fullmatch(r"[a-z][a-z0-9|-]*", rest[0]):
        choices = rest.pop(0).split("|")
        missing = [c for c in choices if c not in command.commands]
        if missing:
            return [f"{' '.join(path)} {c}" for c in missing]
        path.append(choices[0])
        if len(choices) > 1:
            return []  # alternatives: each exists; their options are not checked
        command = command.commands[choices[0]]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    wrong = []
    for word in rest:
        if word in STOP or word.startswith("#"):
            break
        option = word.strip("[]").split("=")[0].rstrip(",")
        if option.startswith("--") and option not in options:
            wrong.append(f"{' '.join(path)} {option}")
    return wrong


@pytest.mark.parametrize("page", pages(), ids=name)
def test_every_setting_named_exists(page: Path) -> None:
    assert unknown_settings(page.read_text()) == []


@pytest.mark.parametrize("page", pages(), ids=name)
def test_every_command_named_exists(page: Path) -> None:
    wrong = [w for line in code_of(page.read_text()) for w in unknown_commands(line)]
    assert wrong == []


def test_a_renamed_command_option_or_setting_is_caught() -> None:
    assert unknown_commands("sovwatch rules lint|check") == ["sovwatch rules check"]
    assert unknown_commands(".venv/bin/sovwatch alerts tail --limt 5") == [
        "sovwatch alerts tail --limt"
    ]
    assert unknown_commands("sovwatch --jurisdiction DE audit verify --since -1d | head") == []
    assert unknown_settings("SOVWATCH_KAFKA__BOOTSTRAP_SERVER and SOVWATCH_KAFKA__SASL_*") == [
        "SOVWATCH_KAFKA__BOOTSTRAP_SERVER"
    ]


def test_the_variables_that_are_not_settings_are_read_where_the_list_says() -> None:
    for variable, path in NOT_SETTINGS.items():
        assert variable in (ROOT / path).read_text(), f"{variable} is not in {path}"


def test_an_announced_setting_leaves_the_list_once_it_exists() -> None:
    arrived = sorted(set(ANNOUNCED) & names())
    assert arrived == [], f"remove {arrived} from ANNOUNCED in {__file__}: they exist now"
