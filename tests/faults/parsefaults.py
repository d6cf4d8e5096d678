"""Parses that misbehave, for the API's parse budget tests (importable by the parse processes)."""

from __future__ import annotations

import os

import numpy as np

from api.uploads import UploadRefused


def spin() -> int:
    """Burns CPU for ever."""
    while True:
        pass


def hog() -> int:
    """Asks for 3 GB and writes to it."""
    return int(np.ones(3 * 2**30, dtype=np.uint8).sum())


def refuse() -> None:
    raise UploadRefused(415, "x.pdf: not a PDF")


def pid() -> int:
    return os.getpid()
