"""Syncing the broker's ACLs to the grants, against a fake admin client (the real broker:
tests/integration/streams/test_kafka_acls.py)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourceType,
)
from kafka.errors import NoError, SecurityDisabledError

from schemas.errors import StackError
from streams.admin.kafka_principals import Grant
from streams.stack.kafka_acls import sync_acls, to_acl


class FakeAdmin:
    """Holds ACLs like the broker; describe filters by principal only (all sync asks)."""

    def __init__(self, acls: set[ACL], refuse: bool = False) -> None:
        self.acls = set(acls)
        self.refuse = refuse
        self.created: list[ACL] = []
        self.deleted: list[ACL] = []

    def describe_acls(self, acl_filter: ACLFilter) -> tuple[list[ACL], Any]:
        return [acl for acl in self.acls if acl.principal == acl_filter.principal], NoError

    def delete_acls(self, filters: list[ACL]) -> list[tuple[ACL, list[ACL], Any]]:
        self.deleted += filters
        self.acls -= set(filters)
        return [(acl, [acl], NoError) for acl in filters]

    def create_acls(self, acls: list[ACL]) -> dict[str, list[Any]]:
        if self.refuse:
            return {"succeeded": [], "failed": [SecurityDisabledError() for _ in acls]}
        self.created += acls
        self.acls |= set(acls)
        return {"succeeded": acls, "failed": []}


READ_GPU = Grant("worker", "read", "topic", "telemetry.gpu")
CHANGELOGS = Grant("worker", "create", "topic", "sovwatch-", "prefixed")
STALE = Grant("worker", "write", "topic", "telemetry.gpu")
OTHERS = to_acl(Grant("someone-else", "read", "topic", "telemetry.gpu"))


def test_a_grant_becomes_an_allow_acl_from_any_host() -> None:
    acl = to_acl(CHANGELOGS)
    assert acl.principal == "User:worker" and acl.host == "*"
    assert acl.operation == ACLOperation.CREATE
    assert acl.permission_type == ACLPermissionType.ALLOW
    assert acl.resource_pattern.resource_type == ResourceType.TOPIC
    assert acl.resource_pattern.resource_name == "sovwatch-"
    assert acl.resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
    group = to_acl(Grant("worker", "read", "group", "sovwatch")).resource_pattern
    assert (group.resource_type, group.pattern_type) == (
        ResourceType.GROUP,
        ACLResourcePatternType.LITERAL,
    )


def test_sync_creates_the_missing_deletes_the_stale_and_leaves_others_alone() -> None:
    admin = FakeAdmin({to_acl(READ_GPU), to_acl(STALE), OTHERS})
    sync_acls(admin, ["worker"], [READ_GPU, CHANGELOGS])
    assert admin.acls == {to_acl(READ_GPU), to_acl(CHANGELOGS), OTHERS}
    assert admin.deleted == [to_acl(STALE)] and admin.created == [to_acl(CHANGELOGS)]
    admin.created.clear()
    admin.deleted.clear()
    sync_acls(admin, ["worker"], [READ_GPU, CHANGELOGS])
    assert admin.created == admin.deleted == []  # nothing to do the second time


def test_without_pruning_sync_only_adds() -> None:
    admin = FakeAdmin({to_acl(STALE)})
    sync_acls(admin, ["worker"], [READ_GPU], prune=False)
    assert admin.acls == {to_acl(STALE), to_acl(READ_GPU)} and admin.deleted == []


def test_a_refused_creation_names_the_fix() -> None:
    admin = FakeAdmin(set(), refuse=True)
    with pytest.raises(StackError) as err:
        sync_acls(admin, ["worker"], [READ_GPU])
    assert "refused 1 ACL(s)" in str(err.value)
    assert "super users" in str(err.value)


class LaggingAdmin(FakeAdmin):
    """The controller took the ACLs; the broker describes them only after `lag` more looks."""

    def __init__(self, lag: int) -> None:
        super().__init__(set())
        self.lag = lag

    def describe_acls(self, acl_filter: ACLFilter) -> tuple[list[ACL], Any]:
        if self.created and self.lag > 0:
            self.lag -= 1
            return [], NoError
        return super().describe_acls(acl_filter)


def test_sync_returns_only_once_the_broker_applied_the_acls() -> None:
    admin = LaggingAdmin(lag=3)
    sync_acls(admin, ["worker"], [READ_GPU])
    assert admin.lag == 0
    with pytest.raises(StackError, match=r"did not apply its ACLs within 0\.3s"):
        sync_acls(LaggingAdmin(lag=10**6), ["worker"], [READ_GPU], applied_within_s=0.3)
