"""``core.model`` values to JSON and back, and page images to lossless PNG.

Nothing but JSON crosses the broker: a page travels as the object key of its PNG image plus these
metadata, and comes back as the key of a JSON blob holding its OCR result. PNG because it is
lossless (the searchable PDF and any certified copy show these very pixels) and because OpenCV writes
it in tens of milliseconds at low compression.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from core.errors import InputError
from core.model import Box, Document, Field, Page, PageFlag, PageWarning, Word

PNG = "image/png"
JSON = "application/json"
_PNG_COMPRESSION = 1  # fastest; level 6 makes files ~10% smaller at several times the cost


# -- images --------------------------------------------------------------------------------------------


def encode_png(image: np.ndarray) -> bytes:
    """Grey stays grey; RGB is stored as RGB (OpenCV writes BGR, hence the channel swap)."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, _PNG_COMPRESSION])
    if not ok:
        raise InputError(f"could not encode a {image.shape} page image as PNG")
    return buf.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError("stored page image is not a readable PNG")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def image_sha256(image: np.ndarray) -> str:
    """The idempotency key of a page whose ingest left ``image_sha256`` empty."""
    h = hashlib.sha256(f"{image.shape}|{image.dtype}".encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


# -- pages ---------------------------------------------------------------------------------------------


def box_to_json(box: Box | None) -> list[int] | None:
    return None if box is None else [box.left, box.top, box.width, box.height]


def box_from_json(data: list[int] | None) -> Box | None:
    return None if data is None else Box(*(int(v) for v in data))


def page_to_json(page: Page, image_key: str) -> dict[str, Any]:
    """Everything about a page but its pixels, which are the PNG at ``image_key``."""
    return {
        "source": page.source,
        "source_sha256": page.source_sha256,
        "index": page.index,
        "dpi": float(page.dpi),
        "text_layer": page.text_layer,
        "rotation": page.rotation,
        "skew_angle": float(page.skew_angle),
        "blank": bool(page.blank),
        "words": [[w.text, round(float(w.confidence), 4), *box_to_json(w.box), w.line] for w in page.words],
        "text": page.text,
        "mean_confidence": round(float(page.mean_confidence), 4),
        "qr_payloads": list(page.qr_payloads),
        "image_sha256": page.image_sha256,
        "flags": [[str(f.warning), f.confidence] for f in page.flags],
        "image_key": image_key,
        "shape": list(page.image.shape),
    }


def page_from_json(data: Mapping[str, Any], image: np.ndarray) -> Page:
    if list(image.shape) != list(data["shape"]):
        raise InputError(f"page image {data['image_key']} has shape {image.shape}, expected {data['shape']}")
    return Page(
        source=data["source"],
        source_sha256=data["source_sha256"],
        index=int(data["index"]),
        image=image,
        dpi=float(data["dpi"]),
        text_layer=data.get("text_layer"),
        rotation=int(data.get("rotation", 0)),
        skew_angle=float(data.get("skew_angle", 0.0)),
        blank=bool(data.get("blank", False)),
        words=tuple(
            Word(
                text=w[0],
                confidence=float(w[1]),
                box=Box(int(w[2]), int(w[3]), int(w[4]), int(w[5])),
                line=int(w[6]),
            )
            for w in data.get("words", ())
        ),
        text=data.get("text", ""),
        mean_confidence=float(data.get("mean_confidence", 0.0)),
        qr_payloads=tuple(data.get("qr_payloads", ())),
        image_sha256=data.get("image_sha256", ""),
        flags=tuple(PageFlag(PageWarning(w), float(c)) for w, c in data.get("flags", ())),
    )


def page_label(data: Mapping[str, Any]) -> str:
    return f"{data['source']} p.{int(data['index']) + 1}"


# -- documents -----------------------------------------------------------------------------------------


def field_to_json(f: Field) -> dict[str, Any]:
    return {
        "value": f.value,
        "confidence": round(float(f.confidence), 4),
        "page": f.page,
        "box": box_to_json(f.box),
        "valid": f.valid,
        "needs_review": f.needs_review,
        "reason": f.reason,
    }


def field_from_json(data: Mapping[str, Any]) -> Field:
    return Field(
        value=data.get("value"),
        confidence=float(data.get("confidence", 0.0)),
        page=data.get("page"),
        box=box_from_json(data.get("box")),
        valid=bool(data.get("valid", True)),
        needs_review=bool(data.get("needs_review", False)),
        reason=data.get("reason", ""),
    )


def document_summary(document: Document) -> dict[str, Any]:
    """What a document task reports back (the PDF itself stays in the object store)."""
    return {
        "doc_type": document.doc_type,
        "type_confidence": round(float(document.type_confidence), 4),
        "fields": {name: field_to_json(f) for name, f in document.fields.items()},
        "needs_review": document.fields_needing_review,
        "sha256": document.sha256,
        "pages": [p.label for p in document.pages],
    }


# -- blobs ---------------------------------------------------------------------------------------------


def dumps(data: Any) -> bytes:
    """Canonical JSON: the same result always makes the same bytes, hence the same object key."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes) -> Any:
    return json.loads(data.decode())
