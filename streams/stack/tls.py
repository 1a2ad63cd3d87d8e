"""A private CA and a broker certificate for the native stack's TLS listener.

Files (under one directory, mode 0700): `ca.pem` (the CA certificate clients trust),
`ca-key.pem` (0600), `broker.pem` (0600: the broker's PKCS#8 key followed by its certificate and
the CA, the PEM key store Kafka reads). They are generated once and reused while valid.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=7)
BROKER_DNS = "localhost"
BROKER_IP = ipaddress.IPv4Address("127.0.0.1")


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def broker_keystore(self) -> Path:
        return self.directory / "broker.pem"


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, never world-readable even for an instant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def ensure_certificates(directory: Path) -> TlsFiles:
    """The CA and broker certificate in directory, generated if missing or about to expire."""
    files = TlsFiles(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    if _still_valid(files):
        return files
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sovwatch dev Kafka CA")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_DNS)])
    broker_cert = (
        _builder(broker_name, ca_name, broker_key.public_key(), now)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(BROKER_DNS), x509.IPAddress(BROKER_IP)]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    write_private(files.ca_key, _pkcs8(ca_key))
    write_private(
        files.broker_keystore,
        _pkcs8(broker_key) + broker_cert.public_bytes(serialization.Encoding.PEM) + ca_pem,
    )
    # Written last: its presence with a valid broker certificate marks a complete set.
    files.ca_cert.write_bytes(ca_pem)
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Kafka's PEM key store reads only PKCS#8 ("BEGIN PRIVATE KEY").
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _still_valid(files: TlsFiles) -> bool:
    """True when all files exist, the broker certificate is signed by the CA and not expiring."""
    try:
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        broker = x509.load_pem_x509_certificates(files.broker_keystore.read_bytes())[0]
        files.ca_key.stat()
    except (OSError, ValueError, IndexError):
        return False
    horizon = datetime.datetime.now(datetime.UTC) + RENEW_BEFORE
    try:
        broker.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return min(ca.not_valid_after_utc, broker.not_valid_after_utc) > horizon
