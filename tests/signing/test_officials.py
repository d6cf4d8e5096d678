"""Officials sign with their own keys: a personal development certificate issued on first use, a
PKCS#12 file or a key on a (SoftHSM2) token named in the officials file; the digitizing official's
signature sits in a band above the scan of page 1 and leaves room for the certifying officer's, and
both stay valid in the certified copy, while any change after the certification breaks it."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from PIL import Image

from core.errors import ConfigError
from core.settings import Settings
from signing.certify import certify_copy
from signing.devpki import dev_name, issue_certificate, load_ca, new_key
from signing.digitize import BAND_PT, CERTIFICATION_FIELD, DIGITIZATION_FIELD, Digitization, sign_scan
from signing.keys import load_certificates, load_pkcs12_signer
from signing.officials import official_signer
from signing.verify import DEVELOPMENT_SIGNER, verify_pdf
from tests.signing.conftest import page_image, stamp

AN = "Nguyễn Văn An"
BINH = "Trần Thị Bình"
CUONG = "Lê Văn Cường"


def three_pages() -> bytes:
    """A scan of three pages, the middle one blank (kept: the page count is the paper's)."""
    out = io.BytesIO()
    blank = Image.new("L", (850, 1100), 255)
    page_image().save(out, "PDF", resolution=100, save_all=True, append_images=[blank, page_image()])
    with pikepdf.open(io.BytesIO(out.getvalue())) as pdf:
        fixed = io.BytesIO()
        pdf.save(fixed)
    return fixed.getvalue()


def dev_settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)


def test_each_official_gets_a_personal_development_certificate(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    an, binh = official_signer(settings, AN), official_signer(settings, BINH)
    assert AN in an.subject and BINH in binh.subject and "DEVELOPMENT ONLY" in an.subject
    assert an.certificate.serial_number != binh.certificate.serial_number
    assert official_signer(settings, AN).certificate.serial_number == an.certificate.serial_number  # kept
    # no personal name in a file name
    assert not [p for p in (settings.pki_dir / "officials").iterdir() if "Nguy" in p.name]


def test_two_officials_sign_one_copy_and_each_is_named(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    scan = three_pages()
    when = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    digitized = sign_scan(scan, official_signer(settings, AN), Digitization(AN, "UBND phường Bến Nghé", when))
    assert digitized.pages == 3
    copy = certify_copy(digitized.pdf, official_signer(settings, BINH), stamp("7, Quyển số: 01/2026-SCTĐT/BS"))
    roots = load_certificates(settings.pki_dir / "dev-root-ca.pem")
    report = verify_pdf(copy.pdf, roots=roots)
    assert report.status == "PASSED" and report.reasons == [DEVELOPMENT_SIGNER]
    by_role = {s.role: s for s in report.signatures}
    assert by_role["digitization"].official == AN and AN in by_role["digitization"].signer_subject
    assert by_role["certification"].register_number == "7, Quyển số: 01/2026-SCTĐT/BS"
    assert all(s.status == "PASSED" for s in report.signatures)

    with pikepdf.open(io.BytesIO(copy.pdf)) as pdf:
        assert len(pdf.pages) == 3  # every page, the blank one too
        first = pdf.pages[0]
        llx, lly, urx, ury = (float(v) for v in first.mediabox)
        widgets = {str(a.T): [float(v) for v in a.Rect] for a in first.obj.Annots}
    scan_top = ury - BAND_PT
    _dx0, dy0, dx1, _dy1 = widgets[DIGITIZATION_FIELD]
    cx0, cy0, _cx1, _cy1 = widgets[CERTIFICATION_FIELD]
    assert dy0 >= scan_top and cy0 >= scan_top  # both in the band, none over the scan
    assert dx1 <= (llx + urx) / 2 <= cx0  # the digitization at the left, the certification at the right

    # The page as a reader sees it: blue ink (the digitization) only in the band's left half, red
    # (the certification) only in its right half, and the scan below untouched by either.
    png = subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", "-"], input=copy.pdf,
                         capture_output=True, check=True).stdout
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    band = round(height * BAND_PT / (ury - lly))
    pixels = image.load()

    def count(box: tuple[int, int, int, int], test) -> int:
        return sum(test(*pixels[x, y]) for x in range(box[0], box[2]) for y in range(box[1], box[3]))

    blue = lambda r, g, b: b > r + 60
    red = lambda r, g, b: r > b + 60 and r > g + 60
    assert count((0, 0, width // 2, band), blue) > 50
    assert count((width // 2, 0, width, band), red) > 50
    assert count((0, band, width, height), blue) == 0 and count((0, band, width, height), red) == 0
    assert count((0, 0, width // 2, band), red) == 0

    text = subprocess.run(["pdftotext", "-", "-"], input=copy.pdf, capture_output=True, check=True).stdout.decode()
    assert f"Người số hóa: {AN}" in text and "Số chứng thực: 7, Quyển số: 01/2026-SCTĐT/BS" in text


def test_nothing_may_change_after_the_certification(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path)
    digitized = sign_scan(three_pages(), official_signer(settings, AN), Digitization(AN, "UBND", datetime.now(UTC)))
    copy = certify_copy(digitized.pdf, official_signer(settings, BINH), stamp("8, Quyển số: 01/2026-SCTĐT/BS"))
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(copy.pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    note = generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
        generic.pdf_name("/Subtype"): generic.pdf_name("/Text"),
        generic.pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (10, 10, 30, 30)]),
        generic.pdf_name("/Contents"): generic.TextStringObject("đã sửa"),
    })
    annots = page["/Annots"]
    annots.append(writer.add_object(note))
    writer.update_container(annots)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), roots=load_certificates(settings.pki_dir / "dev-root-ca.pem"))
    assert report.status == "FAILED"
    certification = next(s for s in report.signatures if s.role == "certification")
    assert certification.status == "FAILED"


def test_officials_file_names_a_pkcs12_and_a_token_key(tmp_path: Path, softhsm_signer, dev_pki) -> None:
    from tests.support.hsm import SoftHsmToken, provision_token_signer

    # The session fixture's login holds for the whole process: a new session needs no PIN.
    token = SoftHsmToken(module=softhsm_signer.module, label=softhsm_signer.label, user_pin=None,  # type: ignore[arg-type]
                         so_pin="", conf_path=Path("."))
    provision_token_signer(token, dev_pki, key_label="binh", agency=BINH)
    root, _root_key, inter, inter_key = load_ca(dev_pki)
    key = new_key()
    cert = issue_certificate(subject=dev_name(CUONG), public_key=key.public_key(), issuer_cert=inter,
                             issuer_key=inter_key, ca=False)
    p12 = tmp_path / "cuong.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        name=b"cuong", key=key, cert=cert, cas=[inter, root],
        encryption_algorithm=serialization.BestAvailableEncryption(b"mat-khau")))
    officials = tmp_path / "officials.json"
    officials.write_text(json.dumps({"officials": {
        CUONG: {"pkcs12": str(p12), "password": "mat-khau"},
        BINH: {"pkcs11_module": softhsm_signer.module, "token_label": softhsm_signer.label,
               "user_pin": softhsm_signer.pin, "key_label": "binh"},
    }}, ensure_ascii=False))
    agency_p12 = dev_pki.signer_p12_path
    settings = Settings(data_dir=tmp_path / "data", officials_file=officials, signer_pkcs12=agency_p12,
                        signer_pkcs12_password=dev_pki.password)
    cuong, binh = official_signer(settings, CUONG), official_signer(settings, BINH)
    assert cuong.kind == "pkcs12" and CUONG in cuong.subject
    assert binh.kind == "pkcs11" and BINH in binh.subject
    # someone not in the file, with an agency key configured: the agency key
    other = official_signer(settings, AN)
    assert other.certificate.serial_number == load_pkcs12_signer(agency_p12, dev_pki.password).certificate.serial_number

    digitized = sign_scan(three_pages(), cuong, Digitization(CUONG, "UBND", datetime.now(UTC)))
    copy = certify_copy(digitized.pdf, binh, stamp("9, Quyển số: 01/2026-SCTĐT/BS"))
    report = verify_pdf(copy.pdf, roots=load_certificates(dev_pki.root_cert_path))
    assert report.status == "PASSED"
    subjects = {s.role: s.signer_subject for s in report.signatures}
    assert CUONG in subjects["digitization"] and BINH in subjects["certification"]


def test_a_broken_officials_file_is_one_clear_error(tmp_path: Path) -> None:
    officials = tmp_path / "officials.json"
    officials.write_text('{"officials": {"A": {"pkcs12": "a.p12", "pkcs11_module": "x.so"}}}')
    with pytest.raises(ConfigError, match="either pkcs12 or pkcs11_module"):
        official_signer(dev_settings(tmp_path, officials_file=officials), "A")
    officials.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        official_signer(dev_settings(tmp_path, officials_file=officials), "A")


def test_sohoa_certify_signs_with_the_named_officer(tmp_path: Path, monkeypatch, capsys) -> None:
    from cli.main import main

    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    for name in ("SOHOA_SIGNER_PKCS12", "SOHOA_PKCS11_MODULE", "SOHOA_OFFICIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    src, out = tmp_path / "scan.pdf", tmp_path / "copy.pdf"
    src.write_bytes(three_pages())
    assert main(["certify", str(src), "-o", str(out), "--official", CUONG, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert CUONG in result["signer"] and "DEVELOPMENT ONLY" in result["signer"]
    [certification] = verify_pdf(out.read_bytes(), roots=load_certificates(
        tmp_path / "data" / "pki" / "dev-root-ca.pem")).signatures
    assert certification.role == "certification" and certification.official == CUONG
