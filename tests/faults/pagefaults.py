"""Page functions that misbehave on one chosen page, for the executor's budget tests (picklable,
importable by the page workers, like OCRmyPDF's test plugins)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from core.model import Page


class Misbehave:
    """Does nothing much on every page but ``bad``, where it ``hangs`` (sleeps an hour), ``blows``
    (asks for 3 GB and writes to it), ``dies`` (its worker is SIGKILLed, as by the OOM killer,
    every time), ``dies once`` (only the first time: ``marker`` is the file that remembers) or
    ``waits on a program`` (one that runs ten minutes, as Tesseract on a huge page might; its
    process id is written to ``marker``)."""

    def __init__(self, bad: int, how: str, marker: Path | None = None) -> None:
        self.bad, self.how, self.marker = bad, how, marker

    def __call__(self, page: Page) -> Page:
        if page.index == self.bad:
            if self.how == "dies" or (self.how == "dies once" and self.marker and not self.marker.exists()):
                if self.marker:
                    self.marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            if self.how == "hangs":
                time.sleep(3600)
            elif self.how == "waits on a program" and self.marker:
                child = subprocess.Popen(["sleep", "600"])  # waited on as pytesseract does, not in a with
                self.marker.write_text(str(child.pid), encoding="ascii")
                child.communicate()
            elif self.how == "blows":
                hog = np.ones(3 * 2**30, dtype=np.uint8)
                return replace(page, text=str(hog.sum()))
        return replace(page, text=f"read {page.index}")


class MisbehaveMany(Misbehave):
    """:class:`Misbehave` taking its pages in batches of ``batch_pages``, as the page work does
    (one Tesseract start for several pages): the executor then hands it several pages at once."""

    def __init__(self, bad: int, how: str, batch_pages: int = 3) -> None:
        super().__init__(bad, how)
        self.batch_pages = batch_pages

    def many(self, pages: Iterable[Page]) -> list[Page]:
        return [self(page) for page in pages]


def served_by(page: Page) -> Page:
    """The page's text names the worker that took it and whether that worker ran a warm pool's
    warm-up (:func:`pipeline.warm.warmed_here`)."""
    from pipeline.warm import warmed_here

    return replace(page, text=f"{os.getpid()} {warmed_here()}")
