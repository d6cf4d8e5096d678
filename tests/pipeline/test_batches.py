"""Pages read together: one Tesseract run for several pages gives each page what it gets alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import cv2
import numpy as np

from core.model import Page
from pipeline import tesseract
from pipeline.executor import iter_map
from pipeline.pagework import process_page, process_pages_together
from samples.damage import Damage


def _line(text: str) -> np.ndarray:
    image = np.full((90, 900), 255, np.uint8)
    return cv2.putText(image, text, (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)


def test_several_images_in_one_run_read_as_each_alone() -> None:
    images = [_line("Hello world"), _line("Second page 2024"), _line("Third one")]
    together = tesseract.words_of_images(images, lang="eng", psm=6)
    alone = [tesseract.words(image, lang="eng", psm=6) for image in images]
    assert together == alone
    assert [" ".join(w.text for w in words) for words in together] == ["Hello world", "Second page 2024", "Third one"]


def test_an_unreadable_image_does_not_cost_the_others_their_words() -> None:
    # Leptonica refuses a TIFF over a million pixels wide: the run over all three fails, and each is read alone.
    images = [_line("Hello world"), np.full((2, 1_100_000), 255, np.uint8), _line("Third one")]
    together = tesseract.words_of_images(images, lang="eng", psm=6)
    assert len(together) == 3
    assert " ".join(w.text for w in together[0]) == "Hello world"
    assert together[1] == []
    assert " ".join(w.text for w in together[2]) == "Third one"


def test_pages_processed_together_equal_pages_processed_alone(make_page) -> None:
    first, _ = make_page(21, Damage(rotation=180, skew_deg=1.5, lighting=0.7, noise_std=8), lines=2)
    blank = Page(source="blank.png", source_sha256="", index=1, image=np.full((900, 1400), 250, np.uint8), dpi=300)
    third, truth = make_page(22, Damage(skew_deg=-2.0, blur_sigma=0.8, jpeg_quality=70), lines=2)
    third = replace(third, index=2)
    together = process_pages_together([first, blank, third], lang="vie")
    alone = [process_page(page, lang="vie") for page in (first, blank, third)]
    assert [p.index for p in together] == [0, 1, 2]
    assert [p.blank for p in together] == [False, True, False]
    assert [(p.text, p.words, p.rotation, p.skew_angle) for p in together] == \
        [(p.text, p.words, p.rotation, p.skew_angle) for p in alone]
    assert together[2].text.split() == truth.split()
    assert all(p.ocr_image is None for p in together)


class _Sizes:
    """A page function that takes batches and marks each page with the size of its batch."""

    def __init__(self, batch_pages: int) -> None:
        self.batch_pages = batch_pages

    def __call__(self, page: Page) -> Page:
        return replace(page, text="1")

    def many(self, pages: Iterable[Page]) -> list[Page]:
        batch = list(pages)
        return [replace(page, text=str(len(batch))) for page in batch]


def _pages(count: int, shape: tuple[int, ...] = (4, 4)) -> list[Page]:
    return [Page(source="f.tif", source_sha256="", index=i, image=np.zeros(shape, np.uint8), dpi=300)
            for i in range(count)]


def test_the_executor_hands_out_batches_in_order() -> None:
    done = list(iter_map(_Sizes(3), _pages(7), workers=1))
    assert [p.index for p in done] == list(range(7))
    assert [p.text for p in done] == ["3", "3", "3", "3", "3", "3", "1"]
    assert [p.text for p in iter_map(_Sizes(3), _pages(2), workers=1)] == ["2", "2"]
    assert [p.text for p in iter_map(_Sizes(1), _pages(2), workers=1)] == ["1", "1"]


def test_very_large_pages_are_not_held_three_at_a_time() -> None:
    a4_colour, a4_colour_600dpi = (3508, 2480, 3), (7016, 4960, 3)
    assert [p.text for p in iter_map(_Sizes(3), _pages(4, a4_colour), workers=1)] == ["3", "3", "3", "1"]
    assert [p.text for p in iter_map(_Sizes(3), _pages(2, a4_colour_600dpi), workers=1)] == ["1", "1"]


class _Ordered:
    """A batch page function that notes when it receives each page."""

    batch_pages = 3

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def __call__(self, page: Page) -> Page:
        return page

    def many(self, pages: Iterable[Page]) -> list[Page]:
        out = []
        for page in pages:
            self.events.append(f"clean {page.index}")
            out.append(page)
        return out


def test_a_batch_reads_its_next_page_only_when_the_last_is_cleaned() -> None:
    events: list[str] = []

    def read() -> Iterable[Page]:
        for page in _pages(4):
            events.append(f"read {page.index}")
            yield page

    assert [p.index for p in iter_map(_Ordered(events), read(), workers=1)] == [0, 1, 2, 3]
    assert events == ["read 0", "clean 0", "read 1", "clean 1", "read 2", "clean 2", "read 3", "clean 3"]


def test_workers_do_not_wait_on_colour_pages_read_far_ahead() -> None:
    from pipeline.pagework import PageWork

    read = []

    def pages() -> Iterable[Page]:
        for n in range(8):  # blank colour A4 pages: each 26 MB, flagged blank without OCR
            read.append(n)
            yield Page(source="a4.tif", source_sha256="", index=n, image=np.full((3508, 2480, 3), 250, np.uint8),
                       dpi=300)

    done = iter_map(PageWork("eng"), pages(), workers=2)
    first = next(done)
    # Two pages in the workers and one queued, not six read ahead to count the file's pages first.
    assert first.index == 0 and first.blank and len(read) <= 3
    assert [p.index for p in done] == list(range(1, 8))


def test_pages_from_workers_show_the_pixels_they_show_here(make_page) -> None:
    from pipeline.pagework import iter_processed

    turned, _ = make_page(31, Damage(rotation=90, skew_deg=1.0), lines=2)
    upright, _ = make_page(32, Damage(skew_deg=-1.0), lines=2)
    pages = [turned, replace(upright, index=1)]
    # Workers send their results back without the pixels; the pages sent are turned here instead.
    there = list(iter_processed(pages, lang="vie", workers=2))
    here = list(iter_processed(pages, lang="vie", workers=1))
    assert [p.rotation for p in there] == [p.rotation for p in here] and here[0].rotation == 270
    for a, b in zip(there, here, strict=True):
        assert np.array_equal(a.image, b.image) and a.text == b.text and a.words == b.words


def test_the_last_batches_are_shared_out_so_the_workers_finish_together() -> None:
    from pipeline.executor import ProcessPoolPageExecutor

    # 8 pages in threes on two workers: 3, 3 and 2 left the last two pages to one worker.
    done = ProcessPoolPageExecutor(2).map_pages(_Sizes(3), _pages(8))
    assert [p.index for p in done] == list(range(8))
    assert [p.text for p in done] == ["3"] * 6 + ["1", "1"]
    # Where the count is not known (pages streamed from a file), the batches stay whole.
    assert [p.text for p in iter_map(_Sizes(3), iter(_pages(8)), workers=2)] == ["3"] * 6 + ["2", "2"]
