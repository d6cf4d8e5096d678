"""Importing this module warms the whole flow in the importing process, not only its page work.

For the preload list of a fork server (``sohoa serve``'s job processes) and for a Celery worker
before it forks its pool: what every batch's first document otherwise loads lazily is loaded here
once, and every process forked after it starts with it. Measured in a job process forked from the
fork server, per one-page batch: the document-type model (scikit-learn's imports and the model
file), the invisible font, the administrative register and the name and place indexes cost about
0.7 s of CPU at the first document, next to about 2 s for the page's own clean-up and OCR.

Nothing here opens a connection, a file kept open or a key: those must not be shared by forked
processes (a database connection, a PKCS#11 session) and stay each process's own. Nor is
prometheus-client imported: it chooses where its figures live at its import (:mod:`core.metrics`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _loaders() -> list[tuple[str, Callable[[], object]]]:
    from classifiers import classify, lexicon, places
    from core.glyphless import glyphless_font
    from pipeline.pdfa import srgb_profile

    return [
        ("document-type model", lambda: classify.load_model(classify.MODEL_PATH)),  # its cache key
        ("invisible font", glyphless_font),
        ("sRGB profile", srgb_profile),
        ("administrative register", places.register),
        ("surname index", lexicon.surname_index),
        ("name index", lexicon.name_index),
        ("place index", lexicon.place_index),
        ("open place names", lexicon.open_place_keys),
        ("business index", lexicon.business_index),
        ("database dialects", _dialects),
    ]


def _dialects() -> None:
    """SQLAlchemy loads a dialect's module at the first engine made for it."""
    from sqlalchemy.engine import make_url

    from core.settings import Settings

    make_url(Settings().resolved_database_url).get_dialect()


def warm_flow(lang: str = "vie") -> dict[str, float]:
    """Load what the flow loads at a batch's first page and first document; returns the seconds
    each part took. Never raises: warming is an optimisation, and whatever failed here loads (and
    reports its own fault) where the batch needs it."""
    from pipeline.warm import warm_up

    took = {"page work": warm_up(lang)}
    for name, load in _loaders():
        started = time.perf_counter()
        try:
            load()
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("%s not warmed (%s); it loads at the first document", name, exc)
        took[name] = time.perf_counter() - started
    log.debug("flow warmed: %s", ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    return took


warm_flow(os.environ.get("SOHOA_OCR_LANG") or "vie")
