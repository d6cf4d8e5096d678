"""The parts that need no services: JSON round trips and the reliability settings."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from core.model import Box, Page, PageFlag, PageWarning, Word
from workers.config import WorkerSettings, resolve_backend
from workers.serialize import decode_png, dumps, encode_png, loads, page_from_json, page_to_json


@pytest.mark.parametrize("shape", [(30, 40), (30, 40, 3)])
def test_png_is_lossless(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(decode_png(encode_png(image)), image)


def test_page_round_trip() -> None:
    image = np.full((20, 10), 255, np.uint8)
    page = Page(
        source="a.pdf",
        source_sha256="ab" * 32,
        index=2,
        image=image,
        dpi=300.0,
        rotation=90,
        skew_angle=0.5,
        words=(Word("Hà", 0.91, Box(1, 2, 3, 4), 0),),
        text="Hà",
        mean_confidence=0.91,
        qr_payloads=("x",),
        image_sha256="cd" * 32,
        flags=(PageFlag(PageWarning.ORIENTATION_UNCERTAIN, 0.25),),
    )
    back = page_from_json(loads(dumps(page_to_json(page, "sha256/key"))), image)
    for name in (
        "source",
        "source_sha256",
        "index",
        "dpi",
        "rotation",
        "skew_angle",
        "words",
        "text",
        "mean_confidence",
        "qr_payloads",
        "image_sha256",
        "flags",
    ):
        assert getattr(back, name) == getattr(page, name), name
    assert dumps(page_to_json(page, "k")) == dumps(page_to_json(back, "k"))  # same result, same blob key


def test_visibility_timeout_must_exceed_longest_task() -> None:
    with pytest.raises(ConfigError, match="VISIBILITY"):
        WorkerSettings(page_time_limit=100, document_time_limit=200, visibility_timeout=150).check()
    assert (
        WorkerSettings(page_time_limit=100, document_time_limit=200).check().resolved_visibility_timeout
        == 400
    )


def test_rabbitmq_broker_keeps_results_in_redis() -> None:
    assert resolve_backend("amqp://guest:guest@127.0.0.1:5672//", None).startswith("redis://")
    assert resolve_backend("redis://127.0.0.1:6379/3", None) == "redis://127.0.0.1:6379/3"
