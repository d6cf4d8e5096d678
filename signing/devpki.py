"""The development PKI: a throw-away root → intermediate → agency signer made with ``cryptography``.

It exists so that ``sohoa process`` and ``sohoa certify`` work on a fresh checkout with nothing
configured. Nothing it signs is legally meaningful, so every subject it writes says so in both
languages ("DEVELOPMENT ONLY" / "CHỈ DÙNG THỬ NGHIỆM"), and an auditor's report shows that name.

Creation is idempotent and safe against concurrent callers (pool workers may all ask at once): the
files are written under a lock and a ``complete`` marker is written last.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from core.model import nfc

log = logging.getLogger(__name__)

DEV_MARK = "DEVELOPMENT ONLY"
DEV_MARK_VI = nfc("CHỈ DÙNG THỬ NGHIỆM")
DEV_ORGANIZATION = f"sohoa {DEV_MARK} - {DEV_MARK_VI}"

ROOT_FILE = "dev-root-ca.pem"
INTERMEDIATE_FILE = "dev-intermediate-ca.pem"
SIGNER_CERT_FILE = "dev-signer.pem"
SIGNER_P12_FILE = "dev-signer.p12"
PASSWORD_FILE = "dev-signer.p12.password"
ROOT_KEY_FILE = "dev-root-ca.key.pem"
INTERMEDIATE_KEY_FILE = "dev-intermediate-ca.key.pem"
COMPLETE_MARKER = "complete"

# Long enough for a development checkout, short enough that nobody mistakes it for production.
ROOT_LIFETIME = timedelta(days=3650)
SIGNER_LIFETIME = timedelta(days=825)
DEV_AGENCY = "UBND xã Thử Nghiệm"


@dataclass(frozen=True)
class DevPki:
    """Where the development PKI lives. The CA keys are kept (unencrypted: development only) so
    that tests and ``sohoa pki init-dev`` can issue more certificates from the same root."""

    directory: Path
    root_cert_path: Path
    intermediate_cert_path: Path
    signer_cert_path: Path
    signer_p12_path: Path
    password: str

    @property
    def root_key_path(self) -> Path:
        return self.directory / ROOT_KEY_FILE

    @property
    def intermediate_key_path(self) -> Path:
        return self.directory / INTERMEDIATE_KEY_FILE


def dev_name(common_name: str, *, unit: str | None = None) -> x509.Name:
    """A subject that says "development only" in its CN and O, so it shows wherever it is printed."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
    ]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, nfc(unit)))
    # X.520 caps a CN at 64 characters: the English mark goes in the CN, both languages in O.
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, nfc(f"{common_name[:44]} ({DEV_MARK})")))
    return x509.Name(attrs)


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def new_key() -> rsa.RSAPrivateKey:
    """The signer's key. RSA-2048: what the performance baseline used, and what every PDF viewer
    accepts."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ca_key() -> ec.EllipticCurvePrivateKey:
    """CA keys are EC P-256: generated in microseconds (RSA generation dominates creating the
    PKI), and only ever used to sign certificates."""
    return ec.generate_private_key(ec.SECP256R1())


def issue_certificate(
    *,
    subject: x509.Name,
    public_key: PublicKey,
    issuer_cert: x509.Certificate | None,
    issuer_key: PrivateKey,
    ca: bool,
    path_length: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    serial: int | None = None,
) -> x509.Certificate:
    """Issue one certificate. Used for the dev PKI and by tests that need odd certificates
    (expired, from another root) built the same way."""
    now = datetime.now(UTC)
    not_before = not_before or now - timedelta(minutes=5)
    not_after = not_after or now + (ROOT_LIFETIME if ca else SIGNER_LIFETIME)
    issuer_name = issuer_cert.subject if issuer_cert is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    authority_key = issuer_cert.public_key() if issuer_cert is not None else public_key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key),  # type: ignore[arg-type]
        critical=False,
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )
    else:
        usage = x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False,
        )
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                   x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]),  # id-kp-documentSigning
            critical=False,
        )
    builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _paths(pki_dir: Path, password: str) -> DevPki:
    return DevPki(
        directory=pki_dir,
        root_cert_path=pki_dir / ROOT_FILE,
        intermediate_cert_path=pki_dir / INTERMEDIATE_FILE,
        signer_cert_path=pki_dir / SIGNER_CERT_FILE,
        signer_p12_path=pki_dir / SIGNER_P12_FILE,
        password=password,
    )


def ensure_dev_pki(pki_dir: Path, *, agency: str = DEV_AGENCY, force: bool = False) -> DevPki:
    """Return the development PKI under ``pki_dir``, creating it on first use."""
    pki_dir = Path(pki_dir)
    with _locked(pki_dir):
        if not force and (pki_dir / COMPLETE_MARKER).exists():
            return _paths(pki_dir, (pki_dir / PASSWORD_FILE).read_text().strip())
        (pki_dir / COMPLETE_MARKER).unlink(missing_ok=True)
        log.warning("creating a DEVELOPMENT-ONLY PKI under %s (not for real certified copies)", pki_dir)
        root_key, inter_key, signer_key = new_ca_key(), new_ca_key(), new_key()
        root = issue_certificate(
            subject=dev_name("sohoa Root CA"), public_key=root_key.public_key(), issuer_cert=None,
            issuer_key=root_key, ca=True, path_length=1,
        )
        inter = issue_certificate(
            subject=dev_name("sohoa Intermediate CA"), public_key=inter_key.public_key(),
            issuer_cert=root, issuer_key=root_key, ca=True, path_length=0,
        )
        signer = issue_certificate(
            subject=dev_name(agency, unit="Chứng thực bản sao điện tử"), public_key=signer_key.public_key(),
            issuer_cert=inter, issuer_key=inter_key, ca=False,
        )
        password = secrets.token_urlsafe(18)
        p12 = pkcs12.serialize_key_and_certificates(
            name=b"sohoa-dev-signer",
            key=signer_key,
            cert=signer,
            cas=[inter, root],
            encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
        )
        paths = _paths(pki_dir, password)
        _write(paths.root_key_path, _key_pem(root_key), secret=True)
        _write(paths.intermediate_key_path, _key_pem(inter_key), secret=True)
        _write(paths.root_cert_path, _pem(root))
        _write(paths.intermediate_cert_path, _pem(inter))
        _write(paths.signer_cert_path, _pem(signer))
        _write(paths.signer_p12_path, p12, secret=True)
        _write(pki_dir / PASSWORD_FILE, password.encode() + b"\n", secret=True)
        _write(pki_dir / COMPLETE_MARKER, datetime.now(UTC).isoformat().encode())
        return paths


def load_ca(pki: DevPki) -> tuple[x509.Certificate, PrivateKey, x509.Certificate, PrivateKey]:
    """(root cert, root key, intermediate cert, intermediate key), for issuing more dev certificates."""
    def key(path: Path) -> PrivateKey:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return loaded

    root = x509.load_pem_x509_certificate(pki.root_cert_path.read_bytes())
    inter = x509.load_pem_x509_certificate(pki.intermediate_cert_path.read_bytes())
    return root, key(pki.root_key_path), inter, key(pki.intermediate_key_path)


OFFICIALS_DIR = "officials"


def official_p12_path(pki: DevPki, official: str) -> Path:
    """Where an official's development certificate lives: named by a digest of the name, so no
    personal name is in a file name."""
    digest = hashlib.sha256(nfc(official).encode()).hexdigest()[:20]
    return pki.directory / OFFICIALS_DIR / f"{digest}.p12"


def ensure_official_certificate(pki: DevPki, official: str) -> Path:
    """A personal DEVELOPMENT ONLY certificate for ``official`` from the development intermediate,
    issued on first use (Circular 01/2023: each official signs with their own key), in a PKCS#12
    file under the PKI's password. Idempotent and safe against concurrent callers."""
    official = nfc(official).strip()
    if not official:
        raise ValueError("an official's certificate needs the official's name")
    path = official_p12_path(pki, official)
    if path.exists():
        return path
    with _locked(pki.directory):
        if path.exists():
            return path
        root, _root_key, inter, inter_key = load_ca(pki)
        key = new_key()
        cert = issue_certificate(
            subject=dev_name(official, unit="Cán bộ, công chức"), public_key=key.public_key(),
            issuer_cert=inter, issuer_key=inter_key, ca=False,
        )
        p12 = pkcs12.serialize_key_and_certificates(
            name=b"sohoa-dev-official", key=key, cert=cert, cas=[inter, root],
            encryption_algorithm=serialization.BestAvailableEncryption(pki.password.encode()),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, p12, secret=True)
        log.info("issued a DEVELOPMENT-ONLY personal certificate for an official")
        return path
