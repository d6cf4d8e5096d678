"""The development PKI: made quickly, made once, and named as development-only everywhere."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtensionOID, NameOID

from core.settings import Settings
from signing.devpki import ensure_dev_pki
from signing.keys import load_signer, trust_roots


def _names(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def test_chain_and_marks(dev_pki):
    root = x509.load_pem_x509_certificate(dev_pki.root_cert_path.read_bytes())
    inter = x509.load_pem_x509_certificate(dev_pki.intermediate_cert_path.read_bytes())
    key, signer, cas = pkcs12.load_key_and_certificates(
        dev_pki.signer_p12_path.read_bytes(), dev_pki.password.encode()
    )
    assert key is not None and signer is not None
    assert signer.issuer == inter.subject and inter.issuer == root.subject
    for cert in (root, inter, signer):
        organization = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        assert "DEVELOPMENT ONLY" in organization and "CHỈ DÙNG THỬ NGHIỆM" in organization
        assert "DEVELOPMENT ONLY" in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    usage = signer.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert not signer.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.ca
    assert inter.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value.path_length == 0
    assert {c.subject for c in cas} == {root.subject, inter.subject}


def test_idempotent(dev_pki):
    again = ensure_dev_pki(dev_pki.directory)
    assert again == dev_pki
    assert again.signer_p12_path.read_bytes() == dev_pki.signer_p12_path.read_bytes()


def test_settings_default_to_dev_pki(tmp_path):
    settings = Settings(data_dir=tmp_path)
    signer = load_signer(settings)
    assert signer.kind == "development" and signer.development
    assert len(signer.chain) == 3
    roots = trust_roots(settings)
    assert len(roots) == 1 and roots[0].subject == roots[0].issuer
    assert (tmp_path / "pki" / "dev-root-ca.pem").exists()
