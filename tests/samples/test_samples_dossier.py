"""The committed sample dossier is current, small, of one applicant, and readable by pikepdf."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image

from core.personal_id import check_personal_id
from samples.generator import generate_document, pages_to_pdf, write_sample_dossier

COMMITTED = Path(__file__).resolve().parents[2] / "samples" / "dossier"


def test_committed_dossier_matches_a_regeneration(tmp_path: Path) -> None:
    paths = write_sample_dossier(tmp_path)
    assert {p.name for p in paths} == {p.name for p in COMMITTED.iterdir()}
    fresh = json.loads((tmp_path / "ho-so-mau.gt.json").read_text(encoding="utf-8"))
    committed = json.loads((COMMITTED / "ho-so-mau.gt.json").read_text(encoding="utf-8"))
    assert fresh == committed, "samples/dossier is stale: run `sohoa samples dossier samples/dossier`"
    assert sum(p.stat().st_size for p in COMMITTED.iterdir()) < 5_000_000


def test_committed_dossier_content() -> None:
    gt = json.loads((COMMITTED / "ho-so-mau.gt.json").read_text(encoding="utf-8"))
    docs = gt["documents"]
    assert [d["doc_type"] for d in docs] == ["cccd", "birth_certificate", "residence_confirmation",
                                             "land_use_certificate", "application_form", "marriage_certificate",
                                             "business_registration"]
    applicant = gt["applicant"]
    assert check_personal_id(applicant["personal_id"], sex=applicant["sex"],
                             birth_year=int(applicant["date_of_birth"][:4])).ok
    same_person = {"cccd": "personal_id", "birth_certificate": "personal_id", "residence_confirmation": "personal_id",
                   "application_form": "applicant_personal_id", "land_use_certificate": "owner_personal_id"}
    for doc in docs:
        if doc["doc_type"] in same_person:
            assert doc["fields"][same_person[doc["doc_type"]]] == applicant["personal_id"]
    in_pdf = [d for d in docs if d["file"] == "ho-so-mau.pdf"]
    pages = [p for d in in_pdf for p in d["pages"]]
    assert pages == list(range(1, len(pages) + 1))
    with pikepdf.open(COMMITTED / "ho-so-mau.pdf") as pdf:
        assert len(pdf.pages) == len(pages)
        for page in pdf.pages:
            (image,) = page.get_images().values()
            assert image.Filter == pikepdf.Name.DCTDecode
            width_in = float(page.MediaBox[2]) / 72
            assert abs(int(image.Width) / width_in - 300) < 2
    assert any(info["rotation"] == 180 for d in docs for info in d["damage"])
    with Image.open(COMMITTED / "giay-chung-nhan-ket-hon.jpg") as photo:
        assert photo.format == "JPEG"
    with Image.open(COMMITTED / "giay-chung-nhan-dang-ky-doanh-nghiep.png") as scan:
        assert scan.format == "PNG"


def test_pdf_bytes_are_deterministic() -> None:
    page = generate_document("other", random.Random(1), layout=0, damage=0.3).pages[0][::4, ::4].copy()
    a, b = pages_to_pdf([page, page]), pages_to_pdf([page, page])
    assert a == b
    with pikepdf.open(io.BytesIO(a)) as pdf:
        assert len(pdf.pages) == 2
    assert np.asarray(Image.open(io.BytesIO(pdf_first_image(a)))).ndim == 3


def pdf_first_image(data: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        return image.read_raw_bytes()
