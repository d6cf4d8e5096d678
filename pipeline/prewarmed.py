"""Importing this module warms page work (:func:`pipeline.warm.warm_up`) in the importing process.

For the preload list of a fork server, which can only import: every process forked from it then
starts with the stages loaded, Tesseract probed and the word lists open (``sohoa serve`` lists it
for its job processes). The language is the deployment's (``SOHOA_OCR_LANG``, default ``vie``).
"""

from __future__ import annotations

import os

from pipeline.warm import warm_up

warm_up(os.environ.get("SOHOA_OCR_LANG") or "vie")
