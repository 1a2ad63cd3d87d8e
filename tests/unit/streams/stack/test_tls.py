"""The native stack's CA and broker certificate: valid for 127.0.0.1, private keys private."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from streams.stack.tls import TlsFiles, ensure_certificates


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str) -> str:
    """A TLS handshake in memory; returns the negotiated version (raises if it fails)."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, end in (("client", tls_client), ("server", tls_server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return str(tls_client.version())
    raise AssertionError("handshake did not finish")


def server_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.broker_keystore)  # key + certificate chain in one PEM
    return context


def test_the_broker_certificate_is_trusted_for_127_0_0_1_and_localhost(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path / "tls")
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    for hostname in ("127.0.0.1", "localhost"):
        assert handshake(server_context(files), client, hostname).startswith("TLSv1.")
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        handshake(server_context(files), client, "kafka.example")
    stranger = ssl.create_default_context()  # system CAs only: ours is private
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server_context(files), stranger, "127.0.0.1")


def test_keys_are_private_and_the_keystore_is_pkcs8_then_chain(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path / "tls")
    assert (files.directory.stat().st_mode & 0o777) == 0o700
    assert (files.ca_key.stat().st_mode & 0o777) == 0o600
    assert (files.broker_keystore.stat().st_mode & 0o777) == 0o600
    keystore = files.broker_keystore.read_bytes()
    assert keystore.startswith(b"-----BEGIN PRIVATE KEY-----")  # Kafka reads PKCS#8 only
    chain = x509.load_pem_x509_certificates(keystore)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert [cert.issuer for cert in chain] == [ca.subject, ca.subject]
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
    assert b"PRIVATE KEY" not in files.ca_cert.read_bytes()


def test_certificates_are_reused_and_a_broken_set_is_regenerated(tmp_path: Path) -> None:
    files = ensure_certificates(tmp_path / "tls")
    first = files.ca_cert.read_bytes(), files.broker_keystore.read_bytes()
    ensure_certificates(tmp_path / "tls")
    assert (files.ca_cert.read_bytes(), files.broker_keystore.read_bytes()) == first
    files.broker_keystore.write_bytes(b"garbage")
    ensure_certificates(tmp_path / "tls")
    assert files.ca_cert.read_bytes() != first[0]
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    assert handshake(server_context(files), client, "127.0.0.1")
