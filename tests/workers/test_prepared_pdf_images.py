"""The Celery page task's PDF encoding of a page, stored and given to its document's task: the PDF
takes it (it does not encode the page again) and its bytes are those it would have made itself; an
encoding that is missing, damaged or of another page is not used. No services: a local store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.model import Box, Page, Word
from pipeline import pdfa
from pipeline.pdf_images import EncodedImage, encode_image
from storage.objects import open_store
from workers.tasks import _prepared_images

CREATED = datetime(2026, 12, 7, 8, 15, tzinfo=UTC)


def _page(index: int, colour: bool) -> Page:
    rng = np.random.default_rng(index)
    shape = (220, 160, 3) if colour else (220, 160)
    image = np.full(shape, 236, np.uint8)
    image[30:38, 20:140] = 20
    image = np.clip(image.astype(np.int16) + rng.integers(-9, 10, shape), 0, 255).astype(np.uint8)
    return Page(source="scan.png", source_sha256="ab" * 32, index=index, image=image, dpi=150.0,
                words=(Word("Hà", 0.9, Box(20, 30, 120, 8), 0),), text="Hà", mean_confidence=0.9)


def _pdf(pages: list[Page], prepared=None) -> bytes:
    return pdfa.build_searchable_pdf(pages, title="t", created=CREATED, prepared=prepared)


def test_blob_round_trip_and_refusal() -> None:
    for colour in (False, True):
        encoded = encode_image(_page(0, colour).image)
        assert EncodedImage.from_blob(encoded.to_blob()) == encoded
    with pytest.raises(ValueError, match="not a stored page image encoding"):
        EncodedImage.from_blob(b"\x89PNG\r\n\x1a\n" + bytes(40))


def test_document_takes_the_page_tasks_encodings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(f"file://{tmp_path}")
    pages = [_page(0, colour=True), _page(1, colour=False)]
    expected = _pdf(pages)
    keys = [store.put_bytes(encode_image(p.image).to_blob()).key for p in pages]
    prepared = _prepared_images(store, keys, pages)

    def encode_again(image: np.ndarray) -> EncodedImage:
        raise AssertionError("a page was encoded again")

    with monkeypatch.context() as m:
        m.setattr(pdfa, "encode_image", encode_again)
        assert _pdf(pages, prepared) == expected  # the same bytes, and no page encoded again
    prepared.close()


def test_unusable_encodings_are_not_used(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}")
    pages = [_page(0, colour=True), _page(1, colour=False), _page(2, colour=True)]
    expected = _pdf(pages)
    keys = [
        store.put_bytes(encode_image(pages[2].image[:100]).to_blob()).key,  # another size: not this page's
        store.put_bytes(b"not an encoding").key,  # damaged
        "sha256/" + "0" * 64,  # gone (collected)
    ]
    prepared = _prepared_images(store, keys, pages)
    assert _pdf(pages, prepared) == expected
    prepared.close()
