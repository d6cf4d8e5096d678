"""QR codes: the result code of Circular 01/2023 is written, printed and read back."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from core.result_code import parse_result_qr, result_qr_payload
from pipeline.qr import read_qr_codes
from tests.support.qr_image import make_qr_image


def _page_with(code: np.ndarray, at: tuple[int, int], *, noise: bool = False) -> np.ndarray:
    page = np.full((3508, 2480), 255, np.uint8)
    y, x = at
    page[y:y + code.shape[0], x:x + code.shape[1]] = code
    if noise:
        rng = np.random.default_rng(3)
        page = cv2.GaussianBlur(page, (5, 5), 0)
        page = np.clip(page.astype(np.int16) + rng.normal(0, 18, page.shape), 0, 255).astype(np.uint8)
    return np.dstack([page] * 3)


def test_result_payload_round_trip() -> None:
    payload = result_qr_payload(dossier_code="H12.34-261124-0001", procedure_code="1.001234",
                                owner_id="001090012345", document_name="Giấy khai sinh")
    assert parse_result_qr(payload) == {"MaHoSo": "H12.34-261124-0001", "MaTTHC": "1.001234",
                                        "SoDinhDanh": "001090012345", "TenGiayTo": "Giấy khai sinh"}
    assert parse_result_qr("SEPARATOR") is None
    with pytest.raises(ValueError):
        result_qr_payload(dossier_code="", procedure_code=None, owner_id=None, document_name="x")


def test_printed_result_code_is_read_back_from_a_noisy_scan() -> None:
    payload = result_qr_payload(dossier_code="H12.34-261124-0002", procedure_code=None, owner_id=None,
                                document_name="Trích lục khai tử")
    code = make_qr_image(payload, 320)
    assert code.shape == (320, 320) and code.dtype == np.uint8
    page = _page_with(code, (150, 2000), noise=True)
    found = read_qr_codes(page)
    assert found == (payload,)
    assert parse_result_qr(found[0])["TenGiayTo"] == "Trích lục khai tử"


def test_no_code_on_a_text_page() -> None:
    page = np.full((1200, 900), 255, np.uint8)
    rng = random.Random(1)
    for i in range(30):
        cv2.putText(page, f"Dong chu so {rng.randint(1, 999)}", (40, 40 + 35 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    assert read_qr_codes(page) == ()
    assert read_qr_codes(np.zeros((0, 0), np.uint8)) == ()


def test_too_small_box_is_refused() -> None:
    with pytest.raises(ValueError):
        make_qr_image("x" * 200, 20)
