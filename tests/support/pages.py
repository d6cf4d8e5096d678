"""Batches of page files for the executor tests and ``sohoa bench pipeline``: plain Vietnamese text
pages from ``samples.plain`` (quick to OCR, deterministic for a seed, so every executor works on
exactly the same batch), a document title on the first page of each document so the batch splits
into several."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image

from samples.plain import text_page

# Titles the document splitter recognises, so a generated batch splits into several documents.
_TITLES = ("GIẤY KHAI SINH", "GIẤY CHỨNG NHẬN KẾT HÔN", "TRÍCH LỤC KHAI TỬ", "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ")


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
    """One PNG file per page, ``width`` × ``height`` pixels at ``dpi``, text at a fortieth of the
    width; every ``pages_per_document``-th page starts a document with a title."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    font_pt = (width // 40) / dpi * 72
    paths = []
    for i in range(pages):
        title = _TITLES[(i // pages_per_document) % len(_TITLES)] if i % pages_per_document == 0 else None
        image, _truth = text_page(rng, width_mm=width / dpi * 25.4, height_mm=height / dpi * 25.4, dpi=dpi,
                                  lines=lines, font_pt=font_pt, title=title, families=("dejavu-serif",))
        path = folder / f"page-{i + 1:03d}.png"
        Image.fromarray(image).save(path, dpi=(dpi, dpi))
        paths.append(path)
    return paths
