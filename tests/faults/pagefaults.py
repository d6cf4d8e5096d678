"""Page functions that misbehave on one chosen page, for the executor's budget tests (picklable,
importable by the page workers, like OCRmyPDF's test plugins)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from core.model import Page


class Misbehave:
    """Does nothing much on every page but ``bad``, where it ``hangs`` (sleeps an hour) or
    ``blows`` (asks for 3 GB and writes to it)."""

    def __init__(self, bad: int, how: str) -> None:
        self.bad, self.how = bad, how

    def __call__(self, page: Page) -> Page:
        if page.index == self.bad:
            if self.how == "hangs":
                time.sleep(3600)
            elif self.how == "blows":
                hog = np.ones(3 * 2**30, dtype=np.uint8)
                return replace(page, text=str(hog.sum()))
        return replace(page, text=f"read {page.index}")
