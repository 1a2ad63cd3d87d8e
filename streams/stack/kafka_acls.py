"""Make the secure broker's ACLs exactly `streams.admin.kafka_principals.grants` for its users.

Run by `stack up` with the operator's client (a super user). ACLs of those users that are not
wanted (a renamed topic, a removed site) are deleted; missing ones are created. Other principals'
ACLs are left alone. The controller commits a change before the broker applies it, so this returns
only once the broker itself describes exactly the wanted ACLs: a client starting right after
`stack up` is never refused by a grant still on its way.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from schemas.errors import StackError
from streams.admin.kafka_principals import Grant

ANY_HOST = "*"


def to_acl(grant: Grant) -> ACL:
    """The kafka-python ACL of one grant (ALLOW, any host)."""
    return ACL(
        principal=f"User:{grant.user}",
        host=ANY_HOST,
        operation=ACLOperation[grant.operation.upper()],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource.upper()],
            grant.name,
            ACLResourcePatternType[grant.pattern.upper()],
        ),
    )


def current_acls(admin: KafkaAdminClient, user: str) -> set[ACL]:
    """Every ACL the broker holds for `user`."""
    acls, _ = admin.describe_acls(
        ACLFilter(
            principal=f"User:{user}",
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(
                ResourceType.ANY, None, ACLResourcePatternType.ANY
            ),
        )
    )
    return set(acls)


def held_acls(admin: KafkaAdminClient, users: list[str]) -> set[ACL]:
    """Every ACL the broker holds for any of `users`."""
    return set().union(*(current_acls(admin, user) for user in users))


def sync_acls(
    admin: KafkaAdminClient,
    users: list[str],
    grants: list[Grant],
    applied_within_s: float = 30,
    prune: bool = True,
) -> None:
    """Leave `users` with exactly `grants` (each grant's user must be one of `users`).

    `prune=False` only adds: grants for a test's own topics must not take a running stack's away.
    """
    wanted = {to_acl(grant) for grant in grants}
    current = held_acls(admin, users)
    stale = sorted(current - wanted, key=repr) if prune else []
    if stale:
        for _, _, error in admin.delete_acls(stale):
            if error is not None and error.errno:
                raise StackError(f"Kafka refused to delete a stale ACL: {error}")
    missing = sorted(wanted - current, key=repr)
    if missing:
        failed = admin.create_acls(missing)["failed"]
        if failed:
            raise StackError(
                f"Kafka refused {len(failed)} ACL(s): {failed[0]}",
                "the operator (SOVWATCH_KAFKA__SASL_USERNAME) must be one of the broker's "
                "super users: run 'sovwatch stack up' with it",
            )
    wait_applied(admin, users, wanted, prune, applied_within_s)


def wait_applied(
    admin: KafkaAdminClient,
    users: list[str],
    wanted: set[ACL],
    prune: bool = True,
    within_s: float = 30,
) -> None:
    """Return once the broker describes `wanted` for `users` (exactly, or at least if not `prune`).

    The controller commits an ACL change before the broker applies it: a describe right after a
    create can still miss it.
    """
    deadline = time.monotonic() + within_s
    while not applied(held_acls(admin, users), wanted, prune):
        if time.monotonic() > deadline:
            raise StackError(f"Kafka did not apply its ACLs within {within_s:g}s")
        time.sleep(0.1)


def applied(held: set[ACL], wanted: set[ACL], prune: bool) -> bool:
    return held == wanted if prune else wanted <= held
