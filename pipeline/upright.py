"""Results that a worker can send back without the page's pixels (see ``executor.PixelsLeftHere``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.model import Page
from pipeline.cleanup import turn

_NO_PIXELS = np.empty((0, 0), np.uint8)


class UprightOriginal:
    """Page work whose result shows the page's own pixels, only turned by its ``rotation`` (as
    :func:`pipeline.cleanup.clean_page` leaves them). A worker then leaves them out of what it
    sends back and the caller, which sent them, turns its own copy: an A4 colour page (26 MB)
    crosses between the processes once, not twice, and the caller holds it once while the result
    comes in."""

    def without_pixels(self, page: Page) -> Page:
        # A photo flattened to its sheet (``Page.sheet``) comes back with the sheet's pixels: the
        # caller's photo is not them.
        return page if page.sheet is not None else replace(page, image=_NO_PIXELS)

    def with_pixels(self, sent: Page, done: Page) -> Page:
        if (sent.source, sent.index) != (done.source, done.index):
            raise ValueError(f"{done.label} came back for {sent.label}")
        if done.sheet is not None:
            return done
        return replace(done, image=turn(sent.image, done.rotation))
