"""Trust as Vietnamese files need it: signed PDFs often carry only the signer's certificate, so the
issuing CA's certificate is configured beside the roots; timestamp authorities may chain to roots of
their own."""

from __future__ import annotations

import io

from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.settings import Settings
from signing.certify import Level, certify_copy
from signing.keys import trust_config
from signing.verify import INDETERMINATE, PASSED, verify_pdf


def _signed_without_chain(pdf: bytes, signer) -> bytes:
    """Signed with the key and certificate alone: no CA certificate in the file."""
    bare = signers.SimpleSigner(signing_cert=signer.signer.signing_cert, signing_key=signer.signer.signing_key,
                                cert_registry=SimpleCertificateStore())
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=bare).getvalue()


def test_configured_intermediate_completes_a_chain_the_file_lacks(live_pki, source_pdf, tmp_path) -> None:
    signed = _signed_without_chain(source_pdf, live_pki.signer("signer"))
    alone = verify_pdf(signed, roots=[live_pki.root])
    assert alone.status == INDETERMINATE and "NO_CERTIFICATE_CHAIN_FOUND" in alone.reasons, alone.to_dict()

    folder = tmp_path / "intermediates"
    folder.mkdir()
    (folder / "interm.cer").write_bytes(live_pki.arch.get_cert("interm").dump())  # DER, as CAs publish it
    (folder / "README.txt").write_text("not a certificate: ignored")
    root = tmp_path / "root.cer"
    root.write_bytes(live_pki.arch.get_cert("root").dump())
    trust = trust_config(Settings(data_dir=tmp_path, trust_roots=[root], intermediate_certs=[folder]))
    assert [c.subject.rfc4514_string() for c in trust.intermediates] == [
        x509.load_der_x509_certificate(live_pki.arch.get_cert("interm").dump()).subject.rfc4514_string()
    ]
    report = verify_pdf(signed, roots=list(trust.roots), intermediates=trust.intermediates)
    assert report.status == PASSED, report.to_dict()


def test_timestamp_authority_with_roots_of_its_own(live_pki, source_pdf, new_stamp, dev_signer, dev_roots) -> None:
    copy = certify_copy(source_pdf, dev_signer, new_stamp(), tsa_url=live_pki.tsa_url, level=Level.B_T)
    report = verify_pdf(copy.pdf, roots=dev_roots, tsa_roots=[live_pki.root], allow_fetching=False)
    assert report.status == PASSED, report.to_dict()
    sig = report.signatures[0]
    assert "TIMESTAMP_UNVERIFIED" not in sig.reasons and sig.timestamp_time is not None
