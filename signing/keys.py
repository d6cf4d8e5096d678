"""Where the agency's signing key comes from: a PKCS#12 file, a PKCS#11 token, or the dev PKI.

Everything above this layer sees one ``AgencySigner`` and never knows which it got. A token key
never leaves the token: pyHanko's ``PKCS11Signer`` asks the token to sign the digest.

Trust roots are only ever the configured ones (or the development root); the operating system's
store is never consulted, so an auditor's result does not depend on the machine it runs on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.errors import ConfigError
from core.settings import Settings
from signing.devpki import ROOT_FILE, ensure_dev_pki
from signing.policy import DEFAULT_POLICY, ValidationPolicy, display_date

log = logging.getLogger(__name__)

Certificate = x509.Certificate | asn1_x509.Certificate


@dataclass(frozen=True)
class AgencySigner:
    """A pyHanko signer plus what the rest of sohoa needs to know about it.

    ``session`` is the open PKCS#11 session for token keys (``None`` for soft keys); call
    :meth:`close` (or use the signer as a context manager) when done with it.
    """

    signer: Signer
    chain: tuple[asn1_x509.Certificate, ...]  # signer certificate first, then its CAs
    subject: str  # human-friendly subject of the signing certificate
    kind: str  # "pkcs12" | "pkcs11" | "development"
    session: Any = field(default=None, compare=False, repr=False)

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self.chain[0]

    @property
    def development(self) -> bool:
        return "DEVELOPMENT ONLY" in self.subject

    def close(self) -> None:
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # already closed, or the token went away: nothing to release
                log.debug("closing PKCS#11 session failed", exc_info=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_asn1(cert: Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_crypto(cert: Certificate) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    return x509.load_der_x509_certificate(cert.dump())


def subject_of(cert: Certificate) -> str:
    return to_asn1(cert).subject.human_friendly


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle or a single DER file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read certificate file {path}: {exc.strerror}") from exc
    try:
        if asn1_pem.detect(data):
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigError(f"{path} holds no readable X.509 certificate") from exc


def _chain_from(signer: Signer, extra: Iterable[asn1_x509.Certificate] = ()) -> tuple[asn1_x509.Certificate, ...]:
    """The signing certificate followed by the CA certificates that lead to it, as far as known."""
    cert = signer.signing_cert
    if cert is None:
        raise ConfigError("the signer has no certificate")
    pool = {c.issuer_serial: c for c in list(signer.cert_registry) + list(extra)}
    chain = [cert]
    current = cert
    while current.subject != current.issuer:
        parent = next((c for c in pool.values() if c.subject == current.issuer and c not in chain), None)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return tuple(chain)


class SoftKeySigner(SimpleSigner):
    """pyHanko's ``SimpleSigner``, but the private key is parsed once, not on every signature.

    ``SimpleSigner.sign_raw`` re-imports the key from DER each time, and cryptography checks an
    RSA key on import (about 40 ms for RSA-2048): a quarter of the budget of a certification.
    """

    def __init__(self, *args: Any, private_key: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._private_key = private_key or serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from pyhanko.sign.general import get_pyca_cryptography_hash

        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


_PKCS12_CACHE: dict[tuple[str, int, int, str | None, str], AgencySigner] = {}
_PKCS12_LOCK = threading.Lock()


def load_pkcs12_signer(path: Path, password: str | None, *, kind: str = "pkcs12") -> AgencySigner:
    """A soft-key signer from a PKCS#12 file. Opening one costs ~100 ms (the file's key derivation
    plus cryptography's RSA key check), so signers are cached per file version and password."""
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise ConfigError(f"cannot read signer PKCS#12 file {path}: {exc.strerror}") from exc
    cache_key = (str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, password, kind)
    with _PKCS12_LOCK:
        cached = _PKCS12_CACHE.get(cache_key)
    if cached is not None:
        return cached
    signer = _open_pkcs12(Path(path), password, kind)
    with _PKCS12_LOCK:
        _PKCS12_CACHE[cache_key] = signer
    return signer


def _open_pkcs12(path: Path, password: str | None, kind: str) -> AgencySigner:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read signer PKCS#12 file {path}: {exc.strerror}") from exc
    try:
        key, cert, others = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except ValueError as exc:
        raise ConfigError(f"cannot open PKCS#12 file {path} (wrong password or not a PKCS#12 file)") from exc
    if key is None or cert is None:
        raise ConfigError(f"PKCS#12 file {path} holds no private key with its certificate")
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    # The key object cryptography just loaded (and checked) is kept, so it is parsed only once.
    signer = SoftKeySigner(
        signing_cert=to_asn1(cert), signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in others]), private_key=key,
    )
    chain = _chain_from(signer)
    return AgencySigner(signer=signer, chain=chain, subject=chain[0].subject.human_friendly, kind=kind)


def load_pkcs11_signer(
    module: str,
    *,
    token_label: str | None,
    user_pin: str | None,
    key_label: str | None,
    cert_label: str | None = None,
) -> AgencySigner:
    """Open a session on the token and bind a signer to the key labelled ``key_label``."""
    from pkcs11 import PKCS11Error as P11LibError
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    if not key_label and not cert_label:
        raise ConfigError("SOHOA_PKCS11_KEY_LABEL (or SOHOA_PKCS11_CERT_LABEL) must be set for a token signer")
    from pkcs11.exceptions import UserAlreadyLoggedIn

    criteria = TokenCriteria(label=token_label) if token_label else None
    try:
        try:
            session = open_pkcs11_session(module, token_criteria=criteria, user_pin=user_pin)
        except UserAlreadyLoggedIn:
            # PKCS#11 login belongs to the process, not the session: another signer in this
            # process already logged in, and a new session shares that login.
            session = open_pkcs11_session(module, token_criteria=criteria, user_pin=None)
    except (P11LibError, OSError, RuntimeError) as exc:
        raise ConfigError(f"cannot open PKCS#11 token {token_label or ''!s} via {module}: {exc!r}") from exc
    except Exception as exc:  # pyHanko wraps "no such token" in its own error type
        raise ConfigError(f"cannot open PKCS#11 token {token_label or ''!s} via {module}: {exc}") from exc
    try:
        signer = PKCS11Signer(
            session, cert_label=cert_label or key_label, key_label=key_label or cert_label, other_certs_to_pull=None
        )
        # Load now, so a wrong label is a configuration error here and not a failure mid-signing.
        cert = signer.signing_cert
        chain = _chain_from(signer)
    except Exception as exc:
        session.close()
        raise ConfigError(f"PKCS#11 token has no usable key/certificate labelled {key_label or cert_label!r}: {exc}") from exc
    return AgencySigner(signer=signer, chain=chain, subject=cert.subject.human_friendly, kind="pkcs11", session=session)


def load_signer(settings: Settings) -> AgencySigner:
    """The agency signer the settings describe: PKCS#11 if a module is set, else PKCS#12, else the
    development PKI under ``settings.pki_dir`` (created on first use)."""
    if settings.pkcs11_module:
        return load_pkcs11_signer(
            settings.pkcs11_module,
            token_label=settings.pkcs11_token_label,
            user_pin=settings.pkcs11_user_pin,
            key_label=settings.pkcs11_key_label,
            cert_label=settings.pkcs11_cert_label,
        )
    if settings.signer_pkcs12:
        return load_pkcs12_signer(settings.signer_pkcs12, settings.signer_pkcs12_password)
    pki = ensure_dev_pki(settings.pki_dir)
    return load_pkcs12_signer(pki.signer_p12_path, pki.password, kind="development")


_CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def load_certificate_paths(paths: Sequence[Path]) -> list[x509.Certificate]:
    """Every certificate in these files, and in the certificate files of these folders."""
    certs: list[x509.Certificate] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in _CERT_SUFFIXES)
            certs.extend(c for f in files for c in load_certificates(f))
        else:
            certs.extend(load_certificates(path))
    return certs


@dataclass(frozen=True)
class TrustConfig:
    """What verification trusts: the signers' roots, the CA certificates files may lack, and the
    timestamp authorities' roots (``None``: the signers' roots)."""

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    tsa_roots: tuple[x509.Certificate, ...] | None = None
    policy: ValidationPolicy = DEFAULT_POLICY  # the dated algorithm rules

    def expired_roots(self, moment: datetime | None = None) -> list[str]:
        """One sentence per configured root (signers' or TSAs') expired at ``moment`` (now): such a
        root anchors only signatures proven older, so the deployment should hear of it when the
        configuration is read, not only when a verdict comes out INDETERMINATE."""
        moment = moment or datetime.now(UTC)
        found = []
        for cert in dict.fromkeys((*self.roots, *(self.tsa_roots or ()))):
            if cert.not_valid_after_utc < moment:
                found.append(f"trust root {_common_name(cert)} expired on {display_date(cert.not_valid_after_utc)}: "
                             "it anchors only signatures proven older (configure its successor)")
        return found


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def trust_config(settings: Settings, *, create_dev: bool = True) -> TrustConfig:
    """What the settings say to trust, and by which rules; a configured root that has expired is
    warned about here, naming it and its date."""
    trust = TrustConfig(
        roots=tuple(trust_roots(settings, create_dev=create_dev)),
        intermediates=tuple(load_certificate_paths(settings.intermediate_certs)),
        tsa_roots=tuple(load_certificate_paths(settings.tsa_trust_roots)) if settings.tsa_trust_roots else None,
        policy=ValidationPolicy.from_settings(settings),
    )
    for warning in trust.expired_roots():
        with _WARNED_LOCK:
            said = warning in _WARNED
            _WARNED.add(warning)
        if not said:  # once a process: the API reads its trust for every verification
            log.warning("%s", warning)
    return trust


_WARNED: set[str] = set()
_WARNED_LOCK = threading.Lock()


def trust_roots(settings: Settings, *, create_dev: bool = True) -> list[x509.Certificate]:
    """The configured trust anchors; the development root when none are configured. A read-only
    act (an auditor's check) passes ``create_dev=False``: it finds the development root if this
    data folder has one, and never creates a PKI (then: no roots, and the report says so)."""
    if settings.trust_roots:
        roots: list[x509.Certificate] = []
        for path in settings.trust_roots:
            roots.extend(load_certificates(path))
        return roots
    if not create_dev and not (Path(settings.pki_dir) / ROOT_FILE).exists():
        return []
    pki = ensure_dev_pki(settings.pki_dir)
    return load_certificates(pki.root_cert_path)


def asn1_roots(roots: Sequence[Certificate]) -> list[asn1_x509.Certificate]:
    return [to_asn1(c) for c in roots]
