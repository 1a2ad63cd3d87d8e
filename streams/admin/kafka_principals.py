"""Least-privilege Kafka users of the secure native broker: who may do what, and where a process
finds its own login.

The `sasl_ssl` broker runs Kafka's StandardAuthorizer with `allow.everyone.if.no.acl.found=false`:
only its super users (the broker's own `sovwatch-broker` and the operator, the client user of
`SOVWATCH_KAFKA__SASL_USERNAME` that sets up topics and these grants) pass without an ACL. Every
other user gets exactly the grants below (`streams.stack.kafka_acls`, each `stack up`), and a
password generated into `<run_dir>/kafka/users/<user>` (mode 0600):

- `worker`: read the input topics; write the DLQ, alert and checkpoint topics; create, read and
  write its own topics `<app_id>-...` (Faust's changelogs, created on demand); its consumer group
  `<app_id>`.
- `collector-<site>`, one per `SOVWATCH_STACK__COLLECTOR_SITES` entry: write the input topics.
- `alerts-reader`: read the alert topics (readers assign partitions: no group).

Kafka's READ and WRITE imply DESCRIBE, so no grant names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr

from schemas.settings import LOCAL_HOSTS, Settings, StackSettings

WORKER: Final = "worker"
ALERTS_READER: Final = "alerts-reader"
COLLECTOR_PREFIX: Final = "collector-"

Operation = Literal["read", "write", "create"]
Resource = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL, from any host: `user` may `operation` on the `resource` named (or, when
    `pattern` is prefixed, on every one whose name starts with) `name`."""

    user: str
    operation: Operation
    resource: Resource
    name: str
    pattern: Pattern = "literal"


def collector(site: str) -> str:
    """The Kafka user of one site's collectors."""
    return f"{COLLECTOR_PREFIX}{site}"


def users(stack: StackSettings) -> list[str]:
    """Every user the secure broker creates besides its own and the operator."""
    return [WORKER, ALERTS_READER, *(collector(site) for site in stack.collector_sites)]


def grants(settings: Settings) -> list[Grant]:
    """Every ACL of `users`, in a stable order."""
    topics = settings.topics
    app_id = settings.worker.app_id
    worker_outputs = [topics.dlq, *topics.alert_names(), topics.audit_checkpoints]
    found = [
        *(Grant(WORKER, "read", "topic", name) for name in topics.input_names()),
        *(Grant(WORKER, "write", "topic", name) for name in worker_outputs),
        *(
            Grant(WORKER, operation, "topic", f"{app_id}-", "prefixed")
            for operation in ("create", "read", "write")
        ),
        Grant(WORKER, "read", "group", app_id),
        *(Grant(ALERTS_READER, "read", "topic", name) for name in topics.alert_names()),
        *(
            Grant(collector(site), "write", "topic", name)
            for site in settings.stack.collector_sites
            for name in topics.input_names()
        ),
    ]
    return sorted(set(found))


def users_dir(stack: StackSettings) -> Path:
    """Where the native stack keeps the passwords of `users`."""
    return stack.run_dir / "kafka" / "users"


def stack_password(settings: Settings, user: str) -> SecretStr | None:
    """The secure native broker's password for `user`, if this broker is the stack's and it has
    one."""
    if settings.stack.kafka_security != "sasl_ssl":
        return None
    bootstrap = settings.kafka.bootstrap_servers.split(",")[0]
    if urlsplit(f"//{bootstrap}").hostname not in LOCAL_HOSTS:
        return None  # the native stack serves only 127.0.0.1: its files say nothing of others
    try:
        value = (users_dir(settings.stack) / user).read_text().strip()
    except OSError:
        return None
    return SecretStr(value) if value else None


def login_env(settings: Settings, user: str) -> dict[str, str]:
    """Environment that logs a process started here in as `user` (empty off the secure stack)."""
    password = stack_password(settings, user)
    if password is None:
        return {}
    return {
        "SOVWATCH_KAFKA__SASL_USERNAME": user,
        "SOVWATCH_KAFKA__SASL_PASSWORD": password.get_secret_value(),
    }
