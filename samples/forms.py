"""Template versions of each document type: which form, of which year, words its labels how.

Real papers of one type are printed from forms that changed over the years (civil-status forms of
Decree 158/2005 and Circular 08.a/2010, Circular 15/2015/TT-BTP, Circular 04/2020/TT-BTP; the bar-code
CCCD of 2016, the chip CCCD of 2021, the Căn cước card of 2024; land-use certificates before and after
Circular 10/2024/TT-BTNMT; business registration under Circular 01/2021/TT-BKHĐT and its successors),
and a clerk meets all of them in one dossier. A :class:`FormVersion` records one such form: where
its wording comes from and the label it prints for each label key the builders use
(``samples.wording.label``/``printed`` keys).

Two splits keep the extraction benchmark honest (``sohoa bench extract --split``):

- ``seen``: the wordings the generator has always printed (``samples.wording.LABELS`` and the
  builders' own labels); ``classifiers/labels.py`` was written against them. They are recorded
  below as :data:`SEEN`, one version per layout wording.
- ``unseen``: versions whose wordings are kept in ``samples/holdout.py`` (:data:`holdout.FORMS`),
  a file nothing in ``classifiers/`` reads (the import layers forbid it, and nobody tunes on it).

Sources of the wordings (public): the form appendices of Circular 04/2020/TT-BTP (Giấy khai sinh,
Trích lục khai tử, Giấy chứng nhận kết hôn, Tờ khai đăng ký khai tử: "Nơi cư trú cuối cùng",
"Đã chết vào lúc", "Quan hệ với người đã chết"), Circular 15/2015/TT-BTP and Decree 158/2005/NĐ-CP
forms; Circular 16/2024/TT-BCA on the Căn cước card (front: "Số định danh cá nhân", "Họ, chữ đệm và
tên khai sinh"; back: "Nơi cư trú", "Nơi đăng ký khai sinh", "Ngày, tháng, năm cấp", "Ngày, tháng,
năm hết hạn"); Circular 06/2021/TT-BCA (chip CCCD) and 61/2015/TT-BCA (bar-code CCCD); Circular
23/2014/TT-BTNMT and 10/2024/TT-BTNMT (land-use certificates: "Thửa đất số", "Tờ bản đồ số",
"Loại đất", "Hình thức sử dụng đất"); Circular 01/2021/TT-BKHĐT and 68/2025/TT-BTC (enterprise
registration certificates); Circular 55/2021/TT-BCA, 66/2023/TT-BCA (residence forms CT07, CT01).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from core.model import nfc
from samples import holdout
from samples.wording import Layout

SPLITS = ("seen", "unseen")


@dataclass(frozen=True)
class FormVersion:
    """One printed form: its name, year and source, and the wording of each label it prints
    differently from the layout's (key → label text without its colon)."""

    doc_type: str
    name: str
    year: int
    source: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def apply(self, layout: Layout) -> Layout:
        """``layout`` printing this version's wordings (its arrangement, fonts and order stay)."""
        return replace(layout, labels=tuple((k, nfc(v)) for k, v in self.labels.items()))


def _seen(doc_type: str, names: tuple[str, ...]) -> tuple[FormVersion, ...]:
    return tuple(FormVersion(doc_type, name, 0, "samples.wording.LABELS, layout wording " + str(i))
                 for i, name in enumerate(names))


# The generator's own wordings, one per layout (the layout index picks it): what the extractor was
# built on. Their labels are the layout's (no overrides).
SEEN: dict[str, tuple[FormVersion, ...]] = {
    "cccd": _seen("cccd", ("CCCD gắn chip 2021, ảnh thẻ", "CCCD gắn chip 2021, bản sao hai mặt",
                           "Căn cước 2024, bản sao", "Căn cước 2024, ảnh hai mặt", "CCCD 2021, bản sao phóng to")),
    **{t: _seen(t, ("Thông tư 04/2020/TT-BTP wording (Họ, chữ đệm, tên)", "short wording (Họ và tên)",
                    "bilingual wording (Họ tên / Full name)", "numbered wording (Họ, chữ đệm và tên)",
                    "Căn cước-era wording (Họ và tên khai sinh)"))
       for t in ("birth_certificate", "marriage_certificate", "death_certificate", "residence_confirmation",
                 "land_use_certificate", "business_registration", "application_form", "other")},
}


def versions(doc_type: str, split: str) -> tuple[FormVersion, ...]:
    """The form versions of ``doc_type`` in ``split`` (``seen`` or ``unseen``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: choose from {', '.join(SPLITS)}")
    if split == "seen":
        return SEEN.get(doc_type, ())
    return tuple(FormVersion(doc_type, name, year, source, labels)
                 for name, year, source, labels in holdout.FORMS.get(doc_type, ()))
