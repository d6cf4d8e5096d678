"""Verification of an uploaded PDF never makes the server request addresses the file names."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from api.config import ApiSettings
from signing.certify import StampInfo, certify_copy
from signing.keys import load_pkcs12_signer
from tests.api.conftest import Server


def test_verify_fetch_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOHOA_API_VERIFY_FETCH", raising=False)
    assert ApiSettings().verify_fetch is False
    monkeypatch.setenv("SOHOA_API_VERIFY_FETCH", "true")
    assert ApiSettings().verify_fetch is True


class _Listener:
    """A loopback TCP port that records every request made to it (and answers 404)."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.requests.append(conn.recv(4096).split(b"\r\n", 1)[0])
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()
        self._thread.join(5)


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    probe = _Listener()
    try:
        yield probe
    finally:
        probe.close()


def _pdf_pointing_at(base_url: str, tmp_path: Path) -> bytes:
    """A certified copy whose signer certificate names an OCSP responder, a CRL and an issuer
    certificate at ``base_url``; its own root is not one the server trusts."""
    now = datetime.now(UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("Uploader's own signer"))
        .issuer_name(name("Uploader's own root"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(f"{base_url}/ocsp")),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(f"{base_url}/issuer.crt")),
        ]), critical=False)
        .add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(f"{base_url}/ca.crl")], None, None, None),
        ]), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    p12 = tmp_path / "uploader.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"uploader", key, cert, None, serialization.BestAvailableEncryption(b"secret")))
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        source = io.BytesIO()
        pdf.save(source)
    stamp = StampInfo(agency="UBND xã Thử", officer="Lê Văn Thử", certification_number="CT-2026-999999",
                      signed_at=now)
    return certify_copy(source.getvalue(), load_pkcs12_signer(p12, "secret"), stamp).pdf


def test_verify_does_not_fetch_addresses_named_in_the_upload(
    server: Server, listener: _Listener, tmp_path: Path
) -> None:
    pdf = _pdf_pointing_at(listener.url, tmp_path)
    with server.client("auditor") as auditor:
        r = auditor.post("/v1/verify", content=pdf, headers={"Content-Type": "application/pdf"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "could_not_check" and body["exit_code"] == 2, body
    assert "VERIFIER_ERROR" not in body["report"]["reasons"]
    assert listener.requests == []  # with fetching on, the server would GET /issuer.crt here
