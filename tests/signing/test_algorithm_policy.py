"""The validation policy's dated algorithm rules on signatures made in the SHA-1 years: signed and
timestamped at frozen times with the certomancer PKI's keys (pyHanko's own test timestamper acting
as the test TSA, at a fixed time), verified now."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import TSTProvider, UnsignedAttributeProviderSpec
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import DocumentSecurityStore

from cli.main import main
from core.settings import Settings
from signing.keys import trust_config
from signing.verify import INDETERMINATE, PASSED, verify_pdf


class _SignerAt(signers.PdfSigner):
    """pyHanko's PDF signer with its clock set to ``at`` (the signing-time attribute it writes)."""

    def __init__(self, *args, at: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._at
        return session


def signed_at(pdf: bytes, live, label: str, at: datetime, *, md: str = "sha256", timestamped: bool = True,
              field: str = "Signature1") -> bytes:
    """``pdf`` signed by certomancer signer ``label`` as of ``at`` with digest ``md``; with a
    signature timestamp from the test TSA's key dated ``at`` when ``timestamped``."""
    stamper = _tsa(live, at) if timestamped else None
    meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm=md, subfilter=fields.SigSeedSubFilter.PADES)
    signer = live.signer(label).signer
    if stamper is not None:
        signer.unsigned_attr_prov_spec = _Sha256Imprint(stamper)
    pdf_signer = _SignerAt(meta, signer=signer, timestamper=stamper, at=at)
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()


BEFORE = datetime(2012, 6, 1, 9, 30, tzinfo=UTC)
AFTER = datetime(2015, 3, 2, 14, 0, tzinfo=UTC)


def _tsa(live, at: datetime, md: str = "sha256") -> DummyTimeStamper:
    arch = live.arch
    return DummyTimeStamper(tsa_cert=arch.get_cert("tsa"), tsa_key=arch.key_set.get_private_key("tsa"), fixed_dt=at,
                            override_md=md)


def document_timestamp(pdf: bytes, live, at: datetime, md: str = "sha256") -> bytes:
    """A document timestamp by the test TSA dated ``at`` (digest ``md``): proof that every earlier
    revision (and its signatures) existed then."""
    stamper = signers.PdfTimeStamper(_tsa(live, at, md))
    return stamper.timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), md_algorithm=md).getvalue()


class _Sha256Imprint(UnsignedAttributeProviderSpec):
    """The signature timestamp's message imprint in SHA-256 whatever the signature's own digest (as
    TSAs of the SHA-1 years answered SHA-256 requests): a SHA-1 imprint proves nothing today."""

    def __init__(self, timestamper: DummyTimeStamper) -> None:
        self.timestamper = timestamper

    def unsigned_attr_providers(self, signature: bytes, signed_attrs, digest_algorithm: str):
        yield TSTProvider(digest_algorithm="sha256", data_to_ts=signature, timestamper=self.timestamper)


def preserved(pdf: bytes, live, label: str, at: datetime, *, md: str, crl_repo: str = "root") -> bytes:
    """A signature of ``at`` kept as archives keep it (PAdES B-LTA): signed with a signature
    timestamp, a document timestamp minutes later (proof of the certificates the signature
    carries), the issuer's CRL of that day in the DSS, and a document timestamp the next day over
    it. Every time is frozen; the past validation has what ETSI EN 319 102-1 asks for."""
    signed = signed_at(pdf, live, label, at, md=md)
    signed = document_timestamp(signed, live, at + timedelta(minutes=30))
    crl = live.arch.service_registry.get_crl(crl_repo, at_time=at + timedelta(hours=2))
    out = io.BytesIO(signed)
    DocumentSecurityStore.add_dss(out, None, certs=[live.arch.get_cert(label)], crls=[crl])
    return document_timestamp(out.getvalue(), live, at + timedelta(days=1))


# --- the policy as a deployment configures it, and as the auditor reads it ----------------------


def _roots(live, tmp_path) -> list[str]:
    paths = []
    for label in ("root", "old-root"):
        path = tmp_path / f"{label}.cer"
        path.write_bytes(live.arch.get_cert(label).dump())  # DER, as CAs publish roots
        paths.append(str(path))
    return paths


def test_cut_off_dates_come_from_the_settings(live_pki, source_pdf, tmp_path) -> None:
    of_2012 = preserved(source_pdf, live_pki, "legacy", BEFORE, md="sha1")
    of_2015 = preserved(source_pdf, live_pki, "legacy", AFTER, md="sha1")
    roots = [Path(p) for p in _roots(live_pki, tmp_path)][:1]

    never = trust_config(Settings(data_dir=tmp_path, trust_roots=roots, sha1_signatures_until="never"))
    report = verify_pdf(of_2012, roots=list(never.roots), allow_fetching=False, policy=never.policy)
    assert report.status == INDETERMINATE and "CRYPTO_CONSTRAINTS_FAILURE" in report.reasons, report.reasons
    assert any("never accepts" in m for m in report.signatures[0].messages)

    later = trust_config(Settings(data_dir=tmp_path, trust_roots=roots, sha1_signatures_until=date(2016, 1, 1)))
    report = verify_pdf(of_2015, roots=list(later.roots), allow_fetching=False, policy=later.policy)
    assert report.status == PASSED and "LEGACY_ALGORITHM" in report.reasons, report.to_dict()
    said = " ".join(report.signatures[0].messages)
    assert "SHA-1" in said and "02/03/2015" in said and "01/01/2016" in said, said


def test_verify_and_info_say_the_algorithm_its_date_and_the_expired_root(
        live_pki, source_pdf, tmp_path, monkeypatch, capsys, caplog) -> None:
    monkeypatch.setenv("SOHOA_TRUST_ROOTS", json.dumps(_roots(live_pki, tmp_path)))
    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    old = tmp_path / "cong-van-2012.pdf"
    old.write_bytes(preserved(source_pdf, live_pki, "legacy", BEFORE, md="sha1"))

    assert main(["verify", "--offline", "--no-records", str(old)]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "LEGACY_ALGORITHM" in out, out
    assert "ký bằng SHA-1" in out and "01/06/2012" in out and "no longer accepts SHA-1 since 01/01/2014" in out, out
    assert "validated as of 01/06/2012 16:30:00 (UTC+7)" in out, out  # the time proven, in Vietnam, dd/mm/yyyy
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # on stderr, as the CLI logs
    assert any("sohoa Test Root CA 2000-2020 (expired) expired on 01/01/2020" in w for w in warned), warned

    main(["info", "--no-check"])  # the missing records make it 1 anyway; the trust line is the point
    out = capsys.readouterr().out
    assert "sohoa Test Root CA 2000-2020 (expired) expired on 01/01/2020" in out, out
