"""``sohoa bench ocr --real``: the corpus renders with its stamps, and the scores are order-free."""

from __future__ import annotations

import pytest

from bench.real import CORPUS, DOCUMENTS, Split, bag_cer, render, word_error, words


def test_words_drop_punctuation_and_dot_leaders_but_keep_case_and_marks() -> None:
    assert words("Số: 507 /UBND-KGVX ........ “Nơi nhận:” - CỘNG HÒA") == [
        "Số", "507", "UBND-KGVX", "Nơi", "nhận", "CỘNG", "HÒA"]
    assert words("Hoa\u0300") == ["Hoà"]  # NFC


def test_scores_ignore_reading_order_and_count_lost_marks() -> None:
    truth = "CỘNG HÒA XÃ HỘI\nỦY BAN NHÂN DÂN"
    assert word_error("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI", truth) == 0.0
    assert bag_cer("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI", truth) == 0.0
    # Two words of eight lose their marks: F1 = 6/8.
    assert word_error("CONG HOA XÃ HỘI ỦY BAN NHÂN DÂN", truth) == pytest.approx(0.25)
    assert bag_cer("CONG HOA XÃ HỘI ỦY BAN NHÂN DÂN", truth) == pytest.approx(2 / 24)
    assert word_error("", truth) == 1.0


def test_every_split_has_documents_and_none_is_in_both() -> None:
    files = [d.file for d in DOCUMENTS]
    assert len(files) == len(set(files))
    assert {d.split for d in DOCUMENTS} == set(Split)


@pytest.mark.skipif(not (CORPUS / DOCUMENTS[0].file).is_file(), reason="corpus not in this checkout")
def test_a_page_renders_with_its_seal_and_its_text_layer() -> None:
    (image, truth), = render(CORPUS / DOCUMENTS[0].file)
    assert image.shape[:2] == (3509, 2481)  # A4 at 300 dpi
    red = (image[..., 0] > 150) & (image[..., 1] < 100) & (image[..., 2] < 100)
    assert red.sum() > 10_000  # the seal and the stamp are drawn (they are annotations)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in truth and "507" in truth
