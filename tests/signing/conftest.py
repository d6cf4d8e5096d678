"""Fixtures for signing tests: real keys, a real token, a real test PKI served on loopback.

* the development PKI (``ensure_dev_pki``) in a temporary folder;
* a SoftHSM2 token in a temporary folder, key generated on the token;
* a certomancer PKI (root → intermediate → signers, TSA, OCSP responder, CRL repositories) whose
  services are served over HTTP on 127.0.0.1 on a free port by certomancer's own aiohttp
  "animator", in a background thread: pyHanko talks to it exactly as to a real TSA/OCSP/CRL.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image, ImageDraw

from core.model import CertifiedCopy
from signing.certify import StampInfo, certify_copy
from signing.devpki import DevPki, ensure_dev_pki
from signing.keys import AgencySigner, load_certificates, load_pkcs12_signer

KEY_LABELS = (
    "root", "interm", "interm-ocsp", "tsa", "signer", "signer-revoked", "signer-expired", "signer-short",
    "seal", "gazette", "legacy", "legacy-1024", "old-root", "old-signer",
    "old-signer-2019",
)
SHORT_KEYS = {"legacy-1024": 1024}  # a signer of the years when 1024-bit RSA keys were issued


def page_image(width: int = 850, height: int = 1100) -> Image.Image:
    """A small drawn "document" page."""
    image = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, width - 60, 140), outline=0, width=3)
    for y in range(200, height - 200, 36):
        draw.line((80, y, width - 80 - (y * 7) % 200, y), fill=30, width=4)
    return image


def pil_pdf() -> bytes:
    """A PDF as Pillow writes it (with the xref entry pyHanko's strict reader refuses)."""
    out = io.BytesIO()
    page_image().save(out, "PDF", resolution=100)
    return out.getvalue()


def pikepdf_pdf() -> bytes:
    """The same page rewritten by pikepdf, as the pipeline's own PDFs are."""
    with pikepdf.open(io.BytesIO(pil_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def stamp(number: str = "CT-2026-000123") -> StampInfo:
    return StampInfo(
        agency="UBND phường Bến Nghé",
        officer="Nguyễn Thị Minh Khai",
        certification_number=number,
        signed_at=datetime.now(UTC),
    )


@pytest.fixture(scope="session")
def new_stamp():
    """A factory of stamps (a fresh signing time each call)."""
    return stamp


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("dev-pki"))


@pytest.fixture(scope="session")
def dev_signer(dev_pki: DevPki) -> AgencySigner:
    return load_pkcs12_signer(dev_pki.signer_p12_path, dev_pki.password, kind="development")


@pytest.fixture(scope="session")
def dev_roots(dev_pki: DevPki) -> list[x509.Certificate]:
    return load_certificates(dev_pki.root_cert_path)


@pytest.fixture(scope="session")
def source_pdf() -> bytes:
    return pikepdf_pdf()


@pytest.fixture(scope="session")
def pil_source_pdf() -> bytes:
    return pil_pdf()


@pytest.fixture(scope="session")
def certified(source_pdf: bytes, dev_signer: AgencySigner) -> CertifiedCopy:
    """One B-B certified copy made with the development signer, shared by read-only tests."""
    return certify_copy(source_pdf, dev_signer, stamp())


# --- SoftHSM2 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSigner:
    signer: AgencySigner
    module: str
    label: str
    pin: str
    key_label: str


@pytest.fixture(scope="session")
def softhsm_signer(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Iterator[TokenSigner]:
    from signing.keys import load_pkcs11_signer
    from tests.support.hsm import init_softhsm_token, provision_token_signer

    previous = os.environ.get("SOFTHSM2_CONF")
    token = init_softhsm_token(tmp_path_factory.mktemp("softhsm"))
    provision_token_signer(token, dev_pki, key_label="agency-key")
    signer = load_pkcs11_signer(token.module, token_label=token.label, user_pin=token.user_pin, key_label="agency-key")
    try:
        yield TokenSigner(signer, token.module, token.label, token.user_pin, "agency-key")
    finally:
        signer.close()
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


# --- certomancer test PKI, live on loopback --------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pki_config(base_url: str) -> dict:
    def cert(issuer: str, valid_to: str, extensions: list, valid_from: str = "2000-01-01T00:00:00+0000") -> dict:
        return {"issuer": issuer, "validity": {"valid-from": valid_from, "valid-to": valid_to},
                "extensions": extensions}

    ku = lambda *usages: {"id": "key_usage", "critical": True,
                          "smart-value": {"schema": "key-usage", "params": list(usages)}}
    crl = lambda repo: {"id": "crl_distribution_points",
                        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}}}
    signer_ext = [
        ku("digital_signature", "non_repudiation"),
        crl("interm"),
        {"id": "authority_information_access",
         "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["interm"]}}},
    ]
    return {
        "external-url-prefix": base_url,
        "keysets": {"keys": {"keys": {label: {"path": f"{label}.key.pem"} for label in KEY_LABELS}}},
        "pki-architectures": {
            "sohoa-test": {
                "keyset": "keys",
                "entity-defaults": {"country-name": "VN", "organization-name": "sohoa TEST PKI"},
                "entities": {
                    "root": {"common-name": "sohoa Test Root CA"},
                    "interm": {"common-name": "sohoa Test Intermediate CA"},
                    "interm-ocsp": {"common-name": "sohoa Test OCSP responder"},
                    "tsa": {"common-name": "sohoa Test TSA"},
                    "signer": {"common-name": "UBND phường Bến Nghé (test)"},
                    "signer-revoked": {"common-name": "UBND xã Bị Thu Hồi (test, revoked)"},
                    "signer-expired": {"common-name": "UBND xã Hết Hạn (test, expired)"},
                    "signer-short": {"common-name": "UBND xã Ngắn Hạn (test, expires 2027)"},
                    # The co-signers of a provincial decision: the seal's and the official gazette's.
                    "seal": {"common-name": "UBND tỉnh Quảng Ngãi (test)"},
                    "gazette": {"common-name": "Trung tâm Công báo và Tin học (test)"},
                    # Signers of the SHA-1 years (certificates from 2005), and a root that expired in
                    # 2020 whose signer's own certificate runs on: only the root's date is at fault.
                    "legacy": {"common-name": "UBND xã Chữ Ký Cũ (test, 2005)"},
                    "legacy-1024": {"common-name": "UBND xã Khóa Ngắn (test, RSA 1024)"},
                    "old-root": {"common-name": "sohoa Test Root CA 2000-2020 (expired)"},
                    "old-signer": {"common-name": "UBND xã Gốc Hết Hạn (test)"},
                    "old-signer-2019": {"common-name": "UBND xã Lưu Trữ (test, 2005-2019)"},
                },
                "certs": {
                    "root": {
                        "subject": "root", "issuer": "root",
                        "validity": {"valid-from": "2000-01-01T00:00:00+0000", "valid-to": "2100-01-01T00:00:00+0000"},
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            ku("digital_signature", "key_cert_sign", "crl_sign"),
                        ],
                    },
                    "interm": cert("root", "2100-01-01T00:00:00+0000", [
                        {"id": "basic_constraints", "critical": True, "value": {"ca": True, "path-len-constraint": 0}},
                        ku("digital_signature", "key_cert_sign", "crl_sign"),
                        crl("root"),
                    ]),
                    "interm-ocsp": cert("interm", "2100-01-01T00:00:00+0000", [
                        ku("digital_signature"),
                        {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                        {"id": "ocsp_no_check"},
                    ]),
                    # No revocation pointers on the TSA: its tokens stay checkable offline for years.
                    "tsa": cert("root", "2100-01-01T00:00:00+0000", [
                        ku("digital_signature"),
                        {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                    ]),
                    "signer": cert("interm", "2100-01-01T00:00:00+0000", signer_ext, "2020-01-01T00:00:00+0000"),
                    "signer-revoked": {
                        **cert("interm", "2100-01-01T00:00:00+0000", signer_ext, "2020-01-01T00:00:00+0000"),
                        "revocation": {"revoked-since": "2024-01-01T00:00:00+0000", "reason": "key_compromise"},
                    },
                    "signer-expired": cert("interm", "2021-01-01T00:00:00+0000", signer_ext, "2020-01-01T00:00:00+0000"),
                    # Valid now, expired by the time an auditor looks again years later.
                    "signer-short": cert("interm", "2027-06-01T00:00:00+0000", [signer_ext[0], signer_ext[2]],
                                         "2020-01-01T00:00:00+0000"),
                    "seal": cert("interm", "2100-01-01T00:00:00+0000", signer_ext, "2020-01-01T00:00:00+0000"),
                    "gazette": cert("interm", "2100-01-01T00:00:00+0000", signer_ext, "2020-01-01T00:00:00+0000"),
                    # Revocation by the root's CRL (the past validation wants revocation data for
                    # every certificate of the chain, even one that names none).
                    "legacy": cert("root", "2100-01-01T00:00:00+0000", [signer_ext[0], crl("root")],
                                   "2005-01-01T00:00:00+0000"),
                    "legacy-1024": cert("root", "2100-01-01T00:00:00+0000", [signer_ext[0], crl("root")],
                                        "2005-01-01T00:00:00+0000"),
                    "old-root": {
                        "subject": "old-root", "issuer": "old-root",
                        "validity": {"valid-from": "2000-01-01T00:00:00+0000", "valid-to": "2020-01-01T00:00:00+0000"},
                        "extensions": [
                            {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                            ku("digital_signature", "key_cert_sign", "crl_sign"),
                        ],
                    },
                    "old-signer": cert("old-root", "2100-01-01T00:00:00+0000", [signer_ext[0], crl("old-root")],
                                       "2005-01-01T00:00:00+0000"),
                    "old-signer-2019": cert("old-root", "2019-12-31T00:00:00+0000", [signer_ext[0], crl("old-root")],
                                            "2005-01-01T00:00:00+0000"),
                },
                "services": {
                    "ocsp": {"interm": {"for-issuer": "interm", "responder-cert": "interm-ocsp",
                                        "signing-key": "interm-ocsp"}},
                    "crl-repo": {
                        "root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": "P90D"},
                        "interm": {"for-issuer": "interm", "signing-key": "interm", "simulated-update-schedule": "P7D"},
                        "old-root": {"for-issuer": "old-root", "signing-key": "old-root",
                                     "simulated-update-schedule": "P90D"},
                    },
                    "cert-repo": {"root": {"for-issuer": "root", "publish-issued-certs": True}},
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


class _LoopbackServer:
    """An aiohttp application served on 127.0.0.1 from a background thread."""

    def __init__(self, app_factory, port: int) -> None:
        self._factory = app_factory
        self.port = port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="certomancer-loopback", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        from aiohttp import web

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._factory())
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@dataclass(frozen=True)
class LivePki:
    base_url: str
    tsa_url: str
    root: x509.Certificate
    directory: Path
    arch: object

    @property
    def old_root(self) -> x509.Certificate:
        """The root of 2000-2020 (expired), for the cases that configure it."""
        return x509.load_der_x509_certificate(self.arch.get_cert("old-root").dump())  # type: ignore[attr-defined]

    def signer(self, label: str) -> AgencySigner:
        """A PKCS#12 signer for certificate ``label`` (chain included), as an agency would get it."""
        p12 = self.arch.package_pkcs12(label, password=b"test")  # type: ignore[attr-defined]
        path = self.directory / f"{label}.p12"
        path.write_bytes(p12)
        return load_pkcs12_signer(path, "test")


@pytest.fixture(scope="session")
def live_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePki]:
    from certomancer.integrations.aiohttp_animator import build_animator_app
    from certomancer.registry import ArchLabel, CertomancerConfig

    directory = tmp_path_factory.mktemp("certomancer")
    for label in KEY_LABELS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=SHORT_KEYS.get(label, 2048))
        (directory / f"{label}.key.pem").write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        )
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = CertomancerConfig(_pki_config(base_url), key_search_dir=str(directory))
    arch = config.get_pki_arch(ArchLabel("sohoa-test"))
    server = _LoopbackServer(lambda: build_animator_app({arch.arch_label: arch}, with_web_ui=False), port)
    server.start()
    root = x509.load_der_x509_certificate(arch.get_cert("root").dump())  # type: ignore[arg-type]
    try:
        yield LivePki(
            base_url=base_url, tsa_url=f"{base_url}/sohoa-test/tsa/tsa", root=root, directory=directory, arch=arch
        )
    finally:
        server.stop()
