"""Plain pages: lines of Vietnamese administrative sentences on white, with their ground truth.

A laid-out document from :mod:`samples.generator` takes a second to draw and OCR; many tests and the
batch benchmarks need pages in milliseconds and a few lines long, where only the text's script
(every Vietnamese mark, capitals with stacked marks, digits and punctuation) matters. Damage them
with :mod:`samples.damage`, the same model the generator uses.

The sentences hold no document title and not the national motto, so only a page given a ``title``
begins a document for the splitter; every other page continues the one before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from samples.fonts import font

SENTENCES = (
    "Họ, chữ đệm và tên: NGUYỄN THỊ HƯƠNG",
    "Ngày, tháng, năm sinh: 12/03/1987, Giới tính: Nữ",
    "Số định danh cá nhân: 001187012345",
    "Nơi thường trú: Số 18 ngõ 42 phố Trần Quốc Hoàn, phường Dịch Vọng Hậu",
    "quận Cầu Giấy, thành phố Hà Nội",
    "Quê quán: xã Nghĩa Hưng, huyện Nghĩa Đàn, tỉnh Nghệ An",
    "Dân tộc: Kinh, Tôn giáo: Không, Quốc tịch: Việt Nam",
    "Căn cứ Luật Cư trú ngày 13 tháng 11 năm 2020;",
    "Căn cứ Nghị định số 62/2021/NĐ-CP quy định chi tiết thi hành Luật Cư trú;",
    "Công an phường xác nhận thông tin về cư trú của công dân như sau:",
    "Thông tin về chủ hộ: TRẦN VĂN ĐỨC, quan hệ với chủ hộ: Vợ",
    "Giấy xác nhận này có giá trị sử dụng 30 ngày kể từ ngày cấp.",
    "Hà Nội, ngày 05 tháng 7 năm 2024",
    "TRƯỞNG CÔNG AN PHƯỜNG",
    "Đề nghị cơ quan có thẩm quyền giải quyết thủ tục đăng ký khai sinh cho trẻ.",
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm.",
    "Ủy ban nhân dân xã Hòa Phước, huyện Hòa Vang, thành phố Đà Nẵng",
    "Người đi đăng ký: Lê Thị Ngọc Ánh, mối quan hệ với người được khai sinh: Mẹ",
    "Diện tích: 125,6 mét vuông; thửa đất số 214, tờ bản đồ số 18; mục đích sử dụng: đất ở",
)
FAMILIES = ("dejavu-serif", "dejavu-sans")


def text_page(
    rng: random.Random, *, width_mm: float = 210, height_mm: float = 297, dpi: int = 300,
    lines: int | None = None, font_pt: float = 11.0, title: str | None = None,
    families: Sequence[str] = FAMILIES,
) -> tuple[np.ndarray, str]:
    """A clean grey page and its ground truth (printed lines joined by ``\\n``): ``title`` in bold
    first when given, then ``lines`` sentences (as many as fit when None), each cut at a word so
    it fits the line, in one family drawn from ``families``."""
    w, h = round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi)
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    size = round(font_pt / 72 * dpi)
    family = families[rng.randrange(len(families))]
    regular = font(family, size)
    margin = round(min(20.0, 0.12 * min(width_mm, height_mm)) / 25.4 * dpi)
    step = round(size * 1.6)
    truth: list[str] = []
    y = margin
    if title:
        draw.text((margin, y), title, font=font(family, round(size * 1.3), bold=True), fill=0)
        truth.append(title)
        y += round(size * 2.6)
    n = lines if lines is not None else max(1, (h - margin - y) // step)
    for _ in range(n):
        if y + step > h - margin:
            break
        text = rng.choice(SENTENCES)
        while regular.getlength(text) > w - 2 * margin and " " in text:
            text = text.rsplit(" ", 1)[0]
        draw.text((margin, y), text, font=regular, fill=0)
        truth.append(text)
        y += step
    return np.asarray(image), "\n".join(truth)
