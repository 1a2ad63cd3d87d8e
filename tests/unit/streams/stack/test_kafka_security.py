"""The native broker's security settings: listeners, SCRAM users, client consistency checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from schemas.errors import StackError
from schemas.settings import KafkaSettings, StackSettings
from streams.stack.kafka import REFUSAL, KafkaNode
from streams.stack.kafka_security import ADMIN_USER, BrokerSecurity, scram_credential

PASSWORD = 'pa,ss=w]rd "x'


def secure_settings(run_dir: Path, **overrides: object) -> tuple[StackSettings, KafkaSettings]:
    stack = StackSettings(run_dir=run_dir, kafka_security="sasl_ssl", collector_sites=["fra-1"])
    kafka = KafkaSettings.model_validate(
        {
            "bootstrap_servers": "127.0.0.1:19392",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "sovwatch",
            "sasl_password": PASSWORD,
            "ssl_cafile": str(run_dir / "kafka" / "tls" / "ca.pem"),
            **overrides,
        }
    )
    return stack, kafka


def properties(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_scram_credential_carries_a_salted_password_any_password_survives(tmp_path: Path) -> None:
    salt = b"0123456789abcdef"
    value = scram_credential("sovwatch", PASSWORD, salt)
    mechanism, body = value.split("=", 1)
    assert mechanism == "SCRAM-SHA-512"
    assert body.startswith("[") and body.endswith("]")
    fields = dict(part.split("=", 1) for part in body[1:-1].split(","))
    assert set(fields) == {"name", "salt", "saltedpassword", "iterations"}
    assert PASSWORD not in value
    assert base64.b64decode(fields["salt"]) == salt
    salted = base64.b64decode(fields["saltedpassword"])
    # RFC 5802 Hi(): PBKDF2 with the mechanism's HMAC, as a SCRAM server verifies it.
    expected = hashlib.pbkdf2_hmac("sha512", PASSWORD.encode(), salt, int(fields["iterations"]))
    assert hmac.compare_digest(salted, expected)
    assert scram_credential("sovwatch", PASSWORD) != scram_credential("sovwatch", PASSWORD)


def test_plaintext_listeners_are_unchanged(tmp_path: Path) -> None:
    node = KafkaNode(StackSettings(run_dir=tmp_path), KafkaSettings(), 9092)
    props = properties(node.configure())
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert props["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    assert not any(key.startswith(("sasl.", "ssl.", "listener.name.")) for key in props)
    assert not any(key.startswith(("authorizer.", "super.users", "allow.")) for key in props)
    assert node.security.format_arguments() == []


def test_sasl_ssl_broker_config_has_tls_scram_acls_and_private_files(tmp_path: Path) -> None:
    stack, kafka = secure_settings(tmp_path)
    node = KafkaNode(stack, kafka, 19392)
    node.security.check_clients()
    node.security.prepare()
    server = node.configure()
    assert (server.stat().st_mode & 0o777) == 0o600  # holds the broker's own password
    props = properties(server)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19392,CONTROLLER://127.0.0.1:19393"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:19392"
    assert props["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"
    assert Path(props["ssl.keystore.location"]).read_bytes().startswith(b"-----BEGIN PRIVATE")
    assert props["ssl.truststore.location"] == str(tmp_path / "kafka" / "tls" / "ca.pem")
    admin_password = node.security.admin_password_file.read_text()
    assert len(admin_password) == 64
    assert (node.security.admin_password_file.stat().st_mode & 0o777) == 0o600
    jaas = props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert f'username="{ADMIN_USER}" password="{admin_password}";' in jaas
    # The controller authenticates too (PLAIN: KRaft has no SCRAM there), as the admin.
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    controller = props["listener.name.controller.plain.sasl.jaas.config"]
    assert f'username="{ADMIN_USER}" password="{admin_password}"' in controller
    assert f'user_{ADMIN_USER}="{admin_password}";' in controller
    assert props["authorizer.class.name"] == (
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    )
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == f"User:{ADMIN_USER};User:sovwatch"  # no User:ANONYMOUS
    assert PASSWORD not in server.read_text()  # the client password is never on disk
    users = tmp_path / "kafka" / "users"
    assert (users.stat().st_mode & 0o777) == 0o700
    passwords = {}
    for user in ("worker", "alerts-reader", "collector-fra-1"):
        assert ((users / user).stat().st_mode & 0o777) == 0o600
        passwords[user] = (users / user).read_text()
        assert len(passwords[user]) >= 40 and passwords[user] not in server.read_text()
    node.security.prepare()  # generated once, then reused
    assert {user: (users / user).read_text() for user in passwords} == passwords

    args = node.security.format_arguments()
    assert args[0::2] == ["--add-scram"] * 5
    assert [arg.split("name=", 1)[1].split(",", 1)[0] for arg in args[1::2]] == [
        ADMIN_USER,
        "sovwatch",
        "worker",
        "alerts-reader",
        "collector-fra-1",
    ]
    assert not any(password in " ".join(args) for password in passwords.values())


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"security_protocol": "SSL"}, "SOVWATCH_KAFKA__SECURITY_PROTOCOL=SASL_SSL"),
        ({"sasl_mechanism": "SCRAM-SHA-256"}, "SOVWATCH_KAFKA__SASL_MECHANISM=SCRAM-SHA-512"),
        ({"ssl_cafile": "/etc/ssl/certs/ca.pem"}, "SOVWATCH_KAFKA__SSL_CAFILE="),
        ({"ssl_cafile": None}, "SOVWATCH_KAFKA__SSL_CAFILE="),
        ({"sasl_username": "bad,name"}, "SOVWATCH_KAFKA__SASL_USERNAME"),
        ({"sasl_username": ADMIN_USER}, "SOVWATCH_KAFKA__SASL_USERNAME"),
        # The operator becomes a super user: a restricted user must never be it.
        ({"sasl_username": "worker"}, "SOVWATCH_KAFKA__SASL_USERNAME=<the operator, not worker>"),
        ({"sasl_username": "collector-fra-1"}, "SOVWATCH_KAFKA__SASL_USERNAME"),
    ],
)
def test_a_secure_broker_refuses_to_start_for_clients_that_could_not_use_it(
    tmp_path: Path, overrides: dict[str, object], named: str
) -> None:
    stack, kafka = secure_settings(tmp_path, **overrides)
    with pytest.raises(StackError) as err:
        BrokerSecurity(stack, kafka, tmp_path / "kafka").check_clients()
    assert named in str(err.value)
    assert PASSWORD not in str(err.value)


def test_a_plaintext_broker_refuses_clients_configured_for_tls(tmp_path: Path) -> None:
    _, kafka = secure_settings(tmp_path)
    security = BrokerSecurity(StackSettings(run_dir=tmp_path), kafka, tmp_path / "kafka")
    with pytest.raises(StackError, match="SOVWATCH_STACK__KAFKA_SECURITY=sasl_ssl"):
        security.check_clients()


def test_storage_formatted_for_another_mode_is_refused(tmp_path: Path) -> None:
    stack, kafka = secure_settings(tmp_path)
    secure = BrokerSecurity(stack, kafka, tmp_path / "kafka")
    secure.check_storage(formatted=False)
    with pytest.raises(StackError, match="formatted for plaintext, not sasl_ssl"):
        secure.check_storage(formatted=True)  # an old storage without marker: plaintext
    (tmp_path / "kafka").mkdir()
    secure.formatted()
    secure.check_storage(formatted=True)
    plain = BrokerSecurity(StackSettings(run_dir=tmp_path), KafkaSettings(), tmp_path / "kafka")
    with pytest.raises(StackError, match="formatted for sasl_ssl, not plaintext"):
        plain.check_storage(formatted=True)


def test_storage_formatted_without_a_configured_user_is_refused(tmp_path: Path) -> None:
    stack, kafka = secure_settings(tmp_path)
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "security").write_text("sasl_ssl\n")  # formatted before these users
    with pytest.raises(StackError) as err:
        BrokerSecurity(stack, kafka, tmp_path / "kafka").check_storage(formatted=True)
    assert "no SCRAM user worker, alerts-reader, collector-fra-1" in str(err.value)
    BrokerSecurity(stack, kafka, tmp_path / "kafka").formatted()
    more = stack.model_copy(update={"collector_sites": ["fra-1", "par-1"]})
    with pytest.raises(StackError, match="no SCRAM user collector-par-1 "):
        BrokerSecurity(more, kafka, tmp_path / "kafka").check_storage(formatted=True)


def test_the_brokers_reason_for_a_refused_client_is_read_from_its_log() -> None:
    log = (
        "[2026-11-22 23:20:30,665] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed "
        "authentication with /127.0.0.1 (channelId=127.0.0.1:54829-127.0.0.1:47816-0-1) (SSL "
        "handshake failed) (org.apache.kafka.common.network.Selector)\n"
        "[2026-11-22 23:20:36,728] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed "
        "authentication with /127.0.0.1 (channelId=127.0.0.1:54829-127.0.0.1:47858-2-12) "
        "(Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism SCRAM-SHA-512) (org.apache.kafka.common.network.Selector)\n"
    )
    assert REFUSAL.findall(log) == [
        "SSL handshake failed",
        "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism SCRAM-SHA-512",
    ]
