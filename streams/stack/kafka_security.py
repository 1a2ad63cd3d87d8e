"""How the native broker is secured: its listener properties and the SCRAM users of its storage.

`plaintext` (the default) keeps one PLAINTEXT client listener. `sasl_ssl` serves clients TLS
(certificate from our own CA, `tls.py`) with SASL/SCRAM-SHA-512; the broker talks to itself over
the same listener as a generated admin user. The KRaft controller listener on 127.0.0.1 is
SASL_PLAINTEXT with PLAIN (KRaft cannot use SCRAM there), its one user the same admin: the
authorizer needs the controller's principal to be a super user, and an unauthenticated one
(User:ANONYMOUS) would be one for anybody who reaches the port.

Authorisation: StandardAuthorizer, nothing allowed without an ACL. Super users are the admin and
the operator (the client user of `SOVWATCH_KAFKA__SASL_USERNAME/_PASSWORD`); the users of
`streams.admin.kafka_principals` get their ACLs from `stack up`. SCRAM credentials live in the
cluster metadata, so every user is written when the storage is formatted.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from pathlib import Path

from schemas.errors import StackError
from schemas.settings import KafkaSettings, StackSettings
from streams.admin import kafka_principals
from streams.stack.tls import TlsFiles, ensure_certificates, write_private

MECHANISM = "SCRAM-SHA-512"
ADMIN_USER = "sovwatch-broker"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
CONTROLLER_MECHANISM = "PLAIN"
SCRAM_ITERATIONS = 8192
# SCRAM escapes ',' and '=' in user names and the storage tool splits on them: keep names plain.
USER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def scram_credential(user: str, password: str, salt: bytes | None = None) -> str:
    """The storage tool's `--add-scram` value for one user.

    It carries the salted password (PBKDF2-HMAC-SHA-512, as Kafka's ScramFormatter computes it),
    so passwords of any characters survive the tool's `name=value,...` syntax unchanged.
    """
    salt = salt if salt is not None else secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
    return (
        f"{MECHANISM}=[name={user},salt={base64.b64encode(salt).decode()},"
        f"saltedpassword={base64.b64encode(salted).decode()},iterations={SCRAM_ITERATIONS}]"
    )


class BrokerSecurity:
    """The security mode of one native broker and the files it needs (under workdir)."""

    def __init__(self, stack: StackSettings, kafka: KafkaSettings, workdir: Path) -> None:
        self.mode = stack.kafka_security
        self.kafka = kafka
        self.tls = TlsFiles(workdir / "tls")
        self.admin_password_file = workdir / "tls" / "broker-admin.password"
        self.users = kafka_principals.users(stack)
        self.users_dir = kafka_principals.users_dir(stack)
        self.marker = workdir / "security"

    @property
    def secure(self) -> bool:
        return self.mode == "sasl_ssl"

    def check_clients(self) -> None:
        """Refuse to start a broker that sovwatch's own clients could not talk to."""
        kafka = self.kafka
        if not self.secure:
            if kafka.security_protocol != "PLAINTEXT":
                raise StackError(
                    f"the native broker is plaintext but SOVWATCH_KAFKA__SECURITY_PROTOCOL is "
                    f"{kafka.security_protocol}",
                    "set SOVWATCH_STACK__KAFKA_SECURITY=sasl_ssl, or unset the protocol",
                )
            return
        cafile = kafka.ssl_cafile.expanduser().resolve() if kafka.ssl_cafile else None
        wanted = {
            "SOVWATCH_KAFKA__SECURITY_PROTOCOL": (kafka.security_protocol, "SASL_SSL"),
            "SOVWATCH_KAFKA__SASL_MECHANISM": (kafka.sasl_mechanism, MECHANISM),
            "SOVWATCH_KAFKA__SSL_CAFILE": (cafile, self.tls.ca_cert.resolve()),
        }
        wrong = [f"{name}={want}" for name, (have, want) in wanted.items() if have != want]
        if kafka.sasl_username is None or not USER_NAME.fullmatch(kafka.sasl_username):
            wrong.append("SOVWATCH_KAFKA__SASL_USERNAME=<letters, digits, . _ ->")
        if kafka.sasl_password is None or not kafka.sasl_password.get_secret_value():
            wrong.append("SOVWATCH_KAFKA__SASL_PASSWORD=<the client password>")
        if kafka.sasl_username == ADMIN_USER or kafka.sasl_username in self.users:
            # The client user of `stack up` becomes a super user: never a restricted one.
            wrong.append(f"SOVWATCH_KAFKA__SASL_USERNAME=<the operator, not {kafka.sasl_username}>")
        if wrong:
            raise StackError(
                "SOVWATCH_STACK__KAFKA_SECURITY=sasl_ssl needs matching client settings",
                "set " + " ".join(wrong),
            )

    def check_storage(self, formatted: bool) -> None:
        """A storage formatted in one mode has no SCRAM users (or stale ones) for the other, and
        one formatted before a user was configured (a new collector site) has no such user."""
        if not formatted:
            return
        lines = self.marker.read_text().split() if self.marker.is_file() else ["plaintext"]
        was, had = lines[0], set(lines[1:])
        if was != self.mode:
            raise StackError(
                f"the Kafka storage in {self.marker.parent} was formatted for {was}, "
                f"not {self.mode}",
                f"stop the stack and remove {self.marker.parent} to re-create it",
            )
        missing = [user for user in self.users if user not in had] if self.secure else []
        if missing:
            raise StackError(
                f"the Kafka storage in {self.marker.parent} has no SCRAM user "
                f"{', '.join(missing)} (users are written when it is formatted)",
                f"stop the stack and remove {self.marker.parent} to re-create it",
            )

    def prepare(self) -> None:
        """Certificates and the broker's own password (both generated once, then reused)."""
        if not self.secure:
            return
        ensure_certificates(self.tls.directory)
        if not self.admin_password_file.is_file():
            write_private(self.admin_password_file, secrets.token_hex(32).encode())
        self.users_dir.mkdir(parents=True, exist_ok=True)
        self.users_dir.chmod(0o700)
        for user in self.users:
            if not (self.users_dir / user).is_file():
                write_private(self.users_dir / user, secrets.token_urlsafe(32).encode())

    def _admin_password(self) -> str:
        return self.admin_password_file.read_text().strip()

    def _password(self, user: str) -> str:
        return (self.users_dir / user).read_text().strip()

    def listener_properties(self, host: str, port: int, controller_port: int) -> dict[str, str]:
        """server.properties entries for the client and controller listeners."""
        name = "SASL_SSL" if self.secure else "PLAINTEXT"
        controller = "SASL_PLAINTEXT" if self.secure else "PLAINTEXT"
        props = {
            "listeners": f"{name}://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"{name}://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": name,
            "listener.security.protocol.map": f"{name}:{name},CONTROLLER:{controller}",
        }
        if not self.secure:
            return props
        password = self._admin_password()  # hex: nothing to escape in JAAS
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{password}";'
        )
        controller_jaas = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{ADMIN_USER}" password="{password}" user_{ADMIN_USER}="{password}";'
        )
        return {
            **props,
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "listener.name.controller.sasl.enabled.mechanisms": CONTROLLER_MECHANISM,
            "sasl.mechanism.controller.protocol": CONTROLLER_MECHANISM,
            f"listener.name.controller.{CONTROLLER_MECHANISM.lower()}.sasl.jaas.config": (
                controller_jaas
            ),
            **self.authorizer_properties(),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.broker_keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.ca_cert),
            "ssl.client.auth": "none",
            "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        }

    def authorizer_properties(self) -> dict[str, str]:
        """ACLs on, nothing allowed without one; the admin and the operator are super users."""
        assert self.kafka.sasl_username is not None  # check_clients
        return {
            "authorizer.class.name": AUTHORIZER,
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN_USER};User:{self.kafka.sasl_username}",
        }

    def format_arguments(self) -> list[str]:
        """Extra storage-tool arguments: the SCRAM users (none in plaintext mode)."""
        if not self.secure:
            return []
        password = self.kafka.sasl_password
        assert self.kafka.sasl_username is not None and password is not None  # check_clients
        return [
            "--add-scram",
            scram_credential(ADMIN_USER, self._admin_password()),
            "--add-scram",
            scram_credential(self.kafka.sasl_username, password.get_secret_value()),
            *(
                argument
                for user in self.users
                for argument in ("--add-scram", scram_credential(user, self._password(user)))
            ),
        ]

    def formatted(self) -> None:
        """Record the mode the storage was formatted for and the users it holds."""
        users = self.users if self.secure else []
        self.marker.write_text("".join(f"{line}\n" for line in (self.mode, *users)))
