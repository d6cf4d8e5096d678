"""Generated page images for the benchmark and the tests: plain Vietnamese text on white, quick to
OCR, deterministic for a seed, so every executor works on exactly the same batch."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
# Titles the document splitter recognises, so a generated batch splits into several documents.
_TITLES = ("GIẤY KHAI SINH", "GIẤY CHỨNG NHẬN KẾT HÔN", "TRÍCH LỤC KHAI TỬ", "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ")
_WORDS = (
    "Cộng",
    "hòa",
    "xã",
    "hội",
    "chủ",
    "nghĩa",
    "Việt",
    "Nam",
    "độc",
    "lập",
    "tự",
    "do",
    "hạnh",
    "phúc",
    "họ",
    "tên",
    "ngày",
    "tháng",
    "năm",
    "sinh",
    "nơi",
    "cư",
    "trú",
    "quốc",
    "tịch",
    "dân",
    "tộc",
    "Kinh",
    "thường",
    "phường",
    "tỉnh",
    "thành",
    "phố",
    "Hà",
    "Nội",
    "Huế",
    "Đà",
    "Nẵng",
    "ủy",
    "ban",
    "nhân",
    "đăng",
    "ký",
    "số",
    "quyển",
    "bản",
    "chính",
    "sao",
    "chứng",
    "thực",
    "giấy",
    "tờ",
    "hồ",
    "sơ",
)


def render_page(rng: random.Random, *, title: str | None, width: int, height: int, lines: int) -> Image.Image:
    size = max(12, width // 40)
    font = ImageFont.truetype(str(_FONT), size)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    margin = width // 12
    y = margin
    if title:
        bold = ImageFont.truetype(str(_FONT).replace("Serif.ttf", "Serif-Bold.ttf"), int(size * 1.3))
        draw.text((margin, y), title, font=bold, fill=0)
        y += int(size * 2.6)
    for _ in range(lines):
        words, line = [], ""
        while True:
            word = rng.choice(_WORDS)
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) > width - 2 * margin:
                break
            line = trial
            words.append(word)
        draw.text((margin, y), line, font=font, fill=0)
        y += int(size * 1.6)
        if y > height - margin - size:
            break
    return image


def generate_batch(
    folder: Path,
    *,
    pages: int,
    seed: int = 7,
    width: int = 1240,
    height: int = 1754,
    lines: int = 24,
    pages_per_document: int = 2,
    dpi: int = 150,
) -> list[Path]:
    """One PNG file per page; every ``pages_per_document``-th page starts a document with a title."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(pages):
        title = _TITLES[(i // pages_per_document) % len(_TITLES)] if i % pages_per_document == 0 else None
        image = render_page(rng, title=title, width=width, height=height, lines=lines)
        path = folder / f"page-{i + 1:03d}.png"
        image.save(path, dpi=(dpi, dpi))
        paths.append(path)
    return paths
