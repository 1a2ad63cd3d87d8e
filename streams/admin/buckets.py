"""Creating sovwatch's InfluxDB buckets with the retention from settings."""

from __future__ import annotations

from influxdb_client import BucketRetentionRules, InfluxDBClient
from influxdb_client.rest import ApiException

from schemas.errors import SovwatchError
from schemas.settings import InfluxSettings

DAY_S = 24 * 3600


def wanted_buckets(influx: InfluxSettings) -> dict[str, int]:
    """Bucket name -> retention in days (0 = never expires)."""
    buckets = influx.buckets
    return {
        buckets.telemetry: buckets.telemetry_retention_days,
        buckets.alerts: buckets.alerts_retention_days,
        buckets.audit: buckets.audit_retention_days,
    }


def ensure_buckets(client: InfluxDBClient, influx: InfluxSettings) -> list[str]:
    """Create the buckets that do not exist yet; returns the names created."""
    try:
        orgs = client.organizations_api().find_organizations(org=influx.org)
    except ApiException as exc:
        raise SovwatchError(
            f"InfluxDB at {influx.url} refused the token or org '{influx.org}' (HTTP {exc.status})",
            "set SOVWATCH_INFLUXDB__TOKEN and SOVWATCH_INFLUXDB__ORG to ones it knows",
        ) from exc
    api = client.buckets_api()
    created = []
    for name, days in wanted_buckets(influx).items():
        if api.find_bucket_by_name(name) is not None:
            continue
        rules = [BucketRetentionRules(type="expire", every_seconds=days * DAY_S)] if days else []
        api.create_bucket(bucket_name=name, org_id=orgs[0].id, retention_rules=rules)
        created.append(name)
    return created
