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


def waits_on_a_program(marker: str) -> None:
    """Starts a program that runs for ten minutes (as Tesseract on a huge page would), notes its
    process id in ``marker`` and waits for it."""
    import subprocess

    with subprocess.Popen(["sleep", "600"]) as child:
        with open(marker, "w", encoding="ascii") as fh:
            fh.write(str(child.pid))
        child.wait()
