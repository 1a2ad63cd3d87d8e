"""The one settings object of sovwatch, read from the environment and `.env` when a `Settings`
is made (`streams.config.get_settings` does it once per process; nothing is read at import).
Settings live at the bottom layer so the worker's stages, the dashboards and the tools all name
the same types.

Every variable is prefixed `SOVWATCH_`; nested groups use `__`, e.g.
`SOVWATCH_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092` or `SOVWATCH_INFLUXDB__TOKEN=...`.
Secrets are `SecretStr`, so they never show up in reprs, logs or error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.country import CountryCode

CollectorSite = Annotated[
    str, Field(min_length=1, max_length=54, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
"""A site id that names a Kafka user (`collector-<site>`): SCRAM user names stay plain."""

DEFAULT_CACHE = Path.home() / ".cache" / "sovwatch"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
"""Host names of the native stack: it serves 127.0.0.1 only."""


class KafkaSettings(BaseModel):
    """How sovwatch reaches the Kafka cluster."""

    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    request_timeout_s: float = Field(10.0, gt=0, description="Admin/produce request timeout")
    connect_timeout_s: float = Field(10.0, gt=0, description="How long to wait for a first broker")

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL_"):
            missing = [
                name
                for name, value in (
                    ("sasl_mechanism", self.sasl_mechanism),
                    ("sasl_username", self.sasl_username),
                    ("sasl_password", self.sasl_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"security_protocol {self.security_protocol} needs {missing}")
        return self

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def client_config(self) -> dict[str, object]:
        """Connection keyword arguments shared by kafka-python clients."""
        config: dict[str, object] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.request_timeout_s * 1000),
            "bootstrap_timeout_ms": int(self.connect_timeout_s * 1000),
        }
        if self.security_protocol.startswith("SASL_"):
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else None
            )
        if self.uses_tls and self.ssl_cafile:
            config["ssl_cafile"] = str(self.ssl_cafile.expanduser())
        return config


class InfluxBuckets(BaseModel):
    """Bucket names and retention (0 = keep forever)."""

    telemetry: str = "telemetry"
    alerts: str = "alerts"
    audit: str = "audit"
    telemetry_retention_days: int = Field(30, ge=0)
    alerts_retention_days: int = Field(365, ge=0)
    # The audit trail is evidence: it never expires.
    audit_retention_days: Literal[0] = 0


class InfluxTarget(BaseModel):
    """One InfluxDB server/org: where a jurisdiction's data is stored."""

    url: str = "http://127.0.0.1:8086"
    org: str = "sovwatch"
    token: SecretStr = SecretStr("sovwatch-dev-token-change-me")
    audit_read_token: SecretStr | None = Field(
        None,
        description="Token `sovwatch audit` reads the audit bucket with (default: the native "
        "stack's audit-reader token, else `token`)",
    )


class InfluxSettings(InfluxTarget):
    """How sovwatch reaches InfluxDB 2.x (v2 HTTP API).

    `residency` maps an ISO country code (upper case, validated at load) to the target that must
    hold that country's records, e.g. SOVWATCH_INFLUXDB__RESIDENCY='{"DE": {"url":
    "https://influx.de.example", "org": "de", "token": "..."}}'. Once the map is set, a country
    it does not list has no store: its events are dead-lettered (`ResidencySettings.default`).
    With no map, the target above stores every country.
    """

    buckets: InfluxBuckets = InfluxBuckets()
    timeout_s: float = Field(10.0, gt=0)
    residency: dict[CountryCode, InfluxTarget] = Field(default_factory=dict)

    def of_target(
        self, target: InfluxTarget, residency: dict[str, InfluxTarget] | None = None
    ) -> InfluxSettings:
        """These settings (buckets, timeout) on another server/org, with its own tokens."""
        return self.model_copy(update={**dict(target), "residency": residency or {}})

    def stores(self) -> dict[str, InfluxSettings]:
        """Each distinct server/org that holds records: the main one ('main') and every residency
        target (named by its countries), as settings of its own (same buckets and timeout)."""
        found: dict[tuple[str, str], tuple[list[str], InfluxSettings]] = {
            (self.url, self.org): (["main"], self)
        }
        for country, target in sorted(self.residency.items()):
            key = (target.url, target.org)
            if key in found:
                found[key][0].append(country)
            else:
                found[key] = ([country], self.of_target(target))
        return {",".join(names): store for names, store in found.values()}


class GrafanaSettings(BaseModel):
    """How `sovwatch grafana provision` reaches an operator's Grafana (service-account token,
    not the admin password). No Grafana runs in the native stack."""

    url: str = "http://127.0.0.1:3000"
    token: SecretStr | None = Field(None, description="Service-account token (Admin role)")
    influxdb_token: SecretStr | None = Field(
        None,
        description="Read-only InfluxDB token for the provisioned datasource (default: the "
        "native stack's grafana token, else SOVWATCH_INFLUXDB__TOKEN)",
    )
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of API calls")
    influxdb_url: str | None = Field(
        None, description="InfluxDB URL as Grafana reaches it (default: SOVWATCH_INFLUXDB__URL)"
    )


class TopicSettings(BaseModel):
    """Kafka topic names and their shape."""

    gpu: str = "telemetry.gpu"
    power: str = "telemetry.power"
    physical: str = "security.physical"
    audit: str = "audit.sovereignty"
    dlq: str = "sovwatch.dlq"
    alerts_ops: str = "alerts.ops"
    alerts_security: str = "alerts.security"
    alerts_compliance: str = "alerts.compliance"
    audit_checkpoints: str = "audit.checkpoints"
    dlq_replays: str = Field(
        "sovwatch.dlq.replays", description="Which dead letters `sovwatch dlq replay` re-sent"
    )
    telegraf: str = Field(
        "telemetry.telegraf", description="Telegraf's outputs.kafka topic (its metrics, mapped)"
    )
    otlp: str = Field(
        "telemetry.otlp",
        description="An OpenTelemetry Collector's kafka exporter topic (OTLP metrics, mapped)",
    )
    partitions: int = Field(4, ge=1)
    replication_factor: int = Field(1, ge=1)
    retention_hours: int = Field(7 * 24, ge=1)
    max_record_bytes: int = Field(
        256 * 1024, ge=1, description="Larger record values are dead-lettered without parsing"
    )

    def all_names(self) -> list[str]:
        """Every topic sovwatch uses (each str field is a topic name), in a stable order."""
        return [value for value in self.model_dump().values() if isinstance(value, str)]

    def input_names(self) -> list[str]:
        """The topics the sites' collectors write and the worker consumes."""
        return [self.gpu, self.power, self.physical, self.audit, self.telegraf, self.otlp]

    def alert_names(self) -> list[str]:
        """The alert topics, one per team."""
        return [self.alerts_ops, self.alerts_security, self.alerts_compliance]


class TelegrafSettings(BaseModel):
    """Telegraf as a producer (`topics.telegraf`); `sovwatch collect telegraf-config` writes the
    matching Telegraf configuration."""

    data_format: Literal["json", "influx"] = Field(
        "json", description="data_format of the sites' outputs.kafka: json or influx"
    )


class OtlpSettings(BaseModel):
    """An OpenTelemetry Collector as a producer (`topics.otlp`); `sovwatch collect
    otelcol-config` writes the matching collector configuration."""

    encoding: Literal["otlp_proto", "otlp_json"] = Field(
        "otlp_proto",
        description="encoding of the collectors' kafka exporter: otlp_proto or otlp_json",
    )


class WorkerSettings(BaseModel):
    """The Faust worker: identity, web port, batching and retry of InfluxDB writes."""

    app_id: str = Field("sovwatch", description="Faust app id = Kafka consumer group")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, description="/metrics and /health")
    web_token: SecretStr | None = Field(
        None, description="If set, every web page requires `Authorization: Bearer <token>`"
    )
    store: str = Field("memory://", description="Faust table store: memory:// or rocksdb://")
    data_dir: Path | None = Field(
        None,
        description="Where the worker keeps its local state (rocksdb tables); default "
        "`<app_id>-data` in the working directory",
    )
    batch_max_points: int = Field(5000, ge=1, description="InfluxDB recommends ~5,000 lines")
    batch_max_age_s: float = Field(1.0, gt=0, description="Flush a partial batch this old")
    max_held_batches: int = Field(
        4,
        ge=1,
        description="Batches written or waiting for a write; then the worker "
        "stops pulling (the window in which one InfluxDB target's outage spares the others)",
    )
    retry_initial_s: float = Field(0.5, gt=0)
    retry_max_s: float = Field(30.0, gt=0)
    checkpoint_s: float = Field(
        1.0,
        gt=0,
        description="How often a checkpoint writes the pending points and state and commits "
        "the offsets processed (also on every revoke and on stop)",
    )
    revoke_checkpoint_s: float = Field(
        10.0,
        gt=0,
        description="A revoke's checkpoint gives up after this long (InfluxDB unreachable): "
        "nothing is committed and the next owner replays, instead of holding up the group",
    )
    session_timeout_s: float = Field(
        15.0,
        ge=6,
        description="A worker silent this long (crashed) leaves the group: others take over",
    )
    shutdown_timeout_s: float = Field(
        20.0,
        gt=0,
        description="On stop, the last checkpoint waits this long for InfluxDB (then nothing "
        "more is committed: the next owner replays)",
    )
    take_max_events: int = Field(
        2000, ge=1, description="Events taken from Kafka per batch (decode, rules, encode)"
    )
    take_within_s: float = Field(
        0.02, gt=0, description="A partial batch waits at most this long for more events"
    )
    max_future_skew_s: float = Field(
        300.0,
        gt=0,
        description="Events dated further ahead of the wall clock are dead-lettered",
    )


class PrivacySettings(BaseModel):
    """Pseudonymisation of personal identifiers (badge ids, holders, operators)."""

    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key; required by the worker, never logged"
    )
    previous_pseudonym_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys used before the current one (JSON list): look-ups by real id also "
        "find the pseudonyms stored under them; the worker never pseudonymises with them",
    )
    dlq_key: SecretStr | None = Field(
        None,
        description="AES-256 key (32 random bytes, hex or base64) sealing dead letters' raw "
        "bytes; required by the worker unless dlq_keep_raw is false, never logged",
    )
    previous_dlq_keys: list[SecretStr] = Field(
        default_factory=list,
        description="DLQ keys used before the current one (JSON list): `sovwatch dlq` still "
        "opens dead letters sealed under them; the worker never seals with them",
    )
    dlq_keep_raw: bool = Field(
        True,
        description="false: dead letters keep no raw bytes at all (size, hash, reason and "
        "pseudonyms only; they cannot be replayed) and the worker needs no DLQ key",
    )


class AlertSettings(BaseModel):
    """The rule engine and where alerts go besides Kafka (alerts.<team>) and InfluxDB."""

    rules_dir: Path | None = Field(None, description="Rule packs (*.yaml); default: built-in")
    tick_interval_s: float = Field(5.0, gt=0, description="How often time-driven rules run")
    webhook_url: str | None = Field(None, description="POST each incident record as JSON here")
    webhook_token: SecretStr | None = Field(None, description="Bearer token for the webhook")
    webhook_hmac_key: SecretStr | None = Field(
        None, description="Signs each webhook body (X-Sovwatch-Signature, HMAC-SHA256)"
    )
    syslog_address: str | None = Field(None, description="host:port of a SIEM (CEF over syslog)")
    syslog_protocol: Literal["udp", "tcp"] = "udp"
    alertmanager_url: str | None = Field(
        None, description="Prometheus Alertmanager base URL, e.g. http://127.0.0.1:9093"
    )
    alertmanager_repost_s: float = Field(
        60.0, gt=0, description="Re-post open incidents this often (< its resolve_timeout)"
    )
    delivery_queue_max: int = Field(
        1000, ge=1, description="Records each channel queues; full: oldest updates dropped first"
    )
    retry_initial_s: float = Field(0.5, gt=0, description="First retry of a failed delivery")
    retry_max_s: float = Field(30.0, gt=0, description="Longest wait between delivery retries")
    retry_attempts: int = Field(6, ge=1, description="Tries per record before it is given up")


class SiteSettings(BaseModel):
    """SOVWATCH_SITES__*: the site registry (`docs/sites.md`). With one, an event's country must
    be its site's registered country (else it is dead-lettered) and rules read registered site
    facts. Without one, the behaviour of before the registry: events' countries are trusted and
    rules judge sites in UTC (06:00-22:00 Monday to Friday) with zones by name and budgets from
    the readings."""

    registry: Path | None = Field(
        None,
        description="Site registry YAML; unset: events' countries are trusted and rules judge "
        "sites as before the registry (UTC, zones by name, budgets from the readings; the worker "
        "warns at start)",
    )
    reload_interval_s: float = Field(
        5.0, gt=0, description="How often the worker looks for a changed registry file"
    )


class ResidencySettings(BaseModel):
    """SOVWATCH_RESIDENCY__*: where a country without its own InfluxDB target may go, and the
    Kafka cluster of each jurisdiction that keeps its stream in-country (`streams.jurisdiction`)."""

    kafka: dict[CountryCode, KafkaSettings] = Field(
        default_factory=dict,
        description='Country -> its own Kafka cluster, e.g. \'{"DE": {"bootstrap_servers": '
        '"kafka.de:9093"}}\': `sovwatch worker --jurisdiction DE` and the DE collectors use it',
    )
    default: Literal["none", "influxdb"] = Field(
        "none",
        description="Countries not in SOVWATCH_INFLUXDB__RESIDENCY: 'none' dead-letters their "
        "events (fail closed); 'influxdb' stores them on the main InfluxDB (logged at start)",
    )


class AuditSettings(BaseModel):
    """The sovereignty audit chain: checkpoint signing and cadence.

    `signing_key` is the Ed25519 private key (PEM text, or base64 of its 32 raw bytes) that signs
    checkpoints; `sovwatch audit keygen --out DIR` writes a pair. Compliance officers keep the
    public key and check checkpoints with it (`public_key_file`, for `sovwatch audit verify`).
    """

    signing_key: SecretStr | None = Field(
        None, description="Ed25519 private key for checkpoints; never logged"
    )
    public_key_file: Path | None = Field(
        None, description="PEM public key that verify and export check signatures with"
    )
    checkpoint_interval_s: float = Field(
        300.0, gt=0, description="Sign a checkpoint per site this often (if it has new records)"
    )
    recent_event_ids: int = Field(
        256, ge=0, description="Event ids remembered per site to drop producer duplicates"
    )
    worker_urls: list[str] = Field(
        default_factory=list,
        description="Workers `audit checkpoint` asks (default: this host's worker web port)",
    )
    witness_dir: Path | None = Field(
        None,
        description="Append-only directory the worker writes every checkpoint to (one file per "
        "site and seq) and `audit verify` cross-checks InfluxDB against",
    )


class StackSettings(BaseModel):
    """The native (no-container) dev/CI stack started by `sovwatch stack up`.

    Its ports are not settings of their own: the broker listens where
    `kafka.bootstrap_servers` points (controller on the next port), influxd where
    `influxdb.url` points and Alertmanager (`--with alertmanager`) where `alerts.alertmanager_url`
    points (default 127.0.0.1:9093), so clients and servers cannot disagree.
    """

    cache_dir: Path = DEFAULT_CACHE
    run_dir: Path = DEFAULT_CACHE / "run"
    kafka_heap_mb: int = Field(512, ge=128, le=512)
    kafka_security: Literal["plaintext", "sasl_ssl"] = Field(
        "plaintext",
        description="sasl_ssl: TLS + SCRAM-SHA-512 client listener, certificates in "
        "<run_dir>/kafka/tls; clients need the matching SOVWATCH_KAFKA__* settings",
    )
    collector_sites: list[CollectorSite] = Field(
        default_factory=list,
        description="Sites whose collectors get a Kafka user `collector-<site>` on the sasl_ssl "
        'broker (JSON list, e.g. ["fra-1", "par-1"])',
    )
    influxdb_version: str = "2.9.1"
    alertmanager_version: str = "0.35.0"
    start_timeout_s: float = Field(90.0, gt=0)


class Settings(BaseSettings):
    """All sovwatch settings. Construct with `get_settings()` unless a test needs its own."""

    model_config = SettingsConfigDict(
        env_prefix="SOVWATCH_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    kafka: KafkaSettings = KafkaSettings()
    influxdb: InfluxSettings = InfluxSettings()
    grafana: GrafanaSettings = GrafanaSettings()
    topics: TopicSettings = TopicSettings()
    telegraf: TelegrafSettings = TelegrafSettings()
    otlp: OtlpSettings = OtlpSettings()
    worker: WorkerSettings = WorkerSettings()
    privacy: PrivacySettings = PrivacySettings()
    alerts: AlertSettings = AlertSettings()
    residency: ResidencySettings = ResidencySettings()
    sites: SiteSettings = SiteSettings()
    jurisdiction: CountryCode | None = Field(
        None,
        description="SOVWATCH_JURISDICTION (or `sovwatch --jurisdiction XX`): every command, the "
        "worker included, uses only that country's Kafka cluster and InfluxDB",
    )
    audit: AuditSettings = AuditSettings()
    stack: StackSettings = StackSettings()
