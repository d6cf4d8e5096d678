"""The generic import: documents of a system that is not sohoa, described one per line of a JSON-lines
manifest, with their files beside it.

One line, one document (UTF-8; text is taken as NFC)::

    {"dossier_code": "000.00.31.H29-250101-0001", "procedure_code": "1.001612",
     "owner_id": "001090012345", "agency": "UBND xã Tân Lập", "type": "birth_certificate",
     "fields": {"full_name": "NGUYỄN VĂN AN", "date_of_birth": "1990-01-15"},
     "file": "files/0001.pdf", "sha256": "<64 hex digits of the file>", "received": "2025-01-01"}

- ``dossier_code``, ``type``, ``file`` and ``sha256`` are required; ``type`` is one of the document
  types of the contract (design.md) and ``fields`` uses its field names, values as text (dates ISO).
- ``owner_id`` (the personal ID the document is about, 12 digits) is optional but, when given, must
  be a valid one; ``procedure_code``, ``agency`` and ``received`` (ISO date or time) are optional.
- ``file`` is relative to the manifest's folder and may not leave it; its bytes must hash to
  ``sha256`` (they are hashed again here).
- Lines of the same dossier must agree on its procedure, owner and agency.

A line that breaks a rule is refused with its line number and the reason, and the others go in; the
documents then go through the same merge as another deployment's (:mod:`storage.importer.merge`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.doctypes import DOC_TYPES
from core.errors import InputError
from core.model import ReviewState, nfc
from core.personal_id import check_personal_id
from storage.importer.model import (
    BlobSource,
    Refusal,
    SourceDocument,
    SourceDossier,
    SourceEvent,
    SourceRegisterEntry,
    Totals,
)
from storage.objects import key_for, sha256_file

_HEX = re.compile(r"[0-9a-f]{64}")
_REQUIRED = ("dossier_code", "type", "file", "sha256")


class LineRefused(Exception):
    """One line of the manifest cannot be taken; the message says why (never its personal data)."""


def _when(value: Any, line: int) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(str(value)), datetime.min.time())
        except ValueError as exc:
            raise LineRefused(f"received {value!r} is not an ISO 8601 date") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _page_count(path: Path) -> int:
    with open(path, "rb") as f:
        if not f.read(1024).lstrip().startswith(b"%PDF"):
            return 1
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError:
        return 1


class ManifestSource:
    kind = "manifest"
    cheap_reads = True

    def __init__(self, manifest: Path) -> None:
        if not manifest.is_file():
            raise InputError(f"no such manifest: {manifest.name}")
        self.path = manifest.resolve()
        self.folder = self.path.parent
        self.label = f"manifest {manifest.name}"
        self._refused: list[Refusal] = []
        self._dossiers: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, Path] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise InputError(f"{manifest.name} is not UTF-8 text") from exc
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                self._take(number, text)
            except LineRefused as exc:
                self._refused.append(Refusal(f"line {number}", str(exc)))

    def _take(self, number: int, text: str) -> None:
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LineRefused(f"not JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise LineRefused("not a JSON object")
        missing = [k for k in _REQUIRED if not isinstance(rec.get(k), str) or not rec[k].strip()]
        if missing:
            raise LineRefused(f"missing {', '.join(missing)}")
        code = nfc(rec["dossier_code"]).strip()
        if len(code) > 64:
            raise LineRefused("dossier_code longer than 64 characters")
        doc_type = rec["type"].strip()
        if doc_type not in DOC_TYPES:
            raise LineRefused(f"type {doc_type!r} is not one of {', '.join(DOC_TYPES)}")
        sha = rec["sha256"].strip().lower()
        if not _HEX.fullmatch(sha):
            raise LineRefused("sha256 is not 64 hex digits")
        owner = rec.get("owner_id")
        if owner is not None:
            owner = str(owner).strip()
            if not check_personal_id(owner).ok:
                raise LineRefused("owner_id is not a valid personal ID")
        fields = rec.get("fields") or {}
        if not isinstance(fields, dict) or not all(isinstance(v, str | None) for v in fields.values()):
            raise LineRefused("fields must be an object of text values")
        file = (self.folder / rec["file"]).resolve()
        if not file.is_relative_to(self.folder):
            raise LineRefused("file lies outside the manifest's folder")
        if not file.is_file():
            raise LineRefused(f"file {rec['file']} not found")
        actual, size = sha256_file(file)
        if actual != sha:
            raise LineRefused(f"file {rec['file']} does not match its sha256")
        received = _when(rec.get("received"), number)
        dossier = {
            "procedure_code": rec.get("procedure_code"), "owner": owner,
            "agency": nfc(rec["agency"]).strip() if isinstance(rec.get("agency"), str) else None,
        }
        entry = self._dossiers.setdefault(code, {**dossier, "created": received, "documents": {}})
        if any(entry[k] != v for k, v in dossier.items()):
            raise LineRefused(f"disagrees with an earlier line of dossier {code} on its procedure, owner or agency")
        entry["created"] = min(entry["created"], received)
        ref = f"{code}/{sha}"
        entry["documents"][ref] = SourceDocument(
            ref=ref, doc_type=doc_type, type_confidence=1.0, personal_id=owner,
            fields={
                nfc(name): {"value": nfc(value) if value is not None else None, "confidence": 1.0, "page": None,
                            "box": None, "valid": True, "needs_review": False, "reason": ""}
                for name, value in fields.items()
            },
            pdf_key=key_for(sha), pdf_sha256=sha, pdf_size=size, page_count=_page_count(file), page_hashes=[],
            pages_sha256=None, source_keys=[key_for(sha)], review_state=ReviewState.OK, review_version=0,
            machine_doc_type=None, created=received,
        )
        self._blobs[key_for(sha)] = file

    def identity(self) -> str:
        return hashlib.sha256(f"manifest:{self.path}".encode()).hexdigest()

    def totals(self) -> Totals:
        return Totals(blobs=len(self._blobs), dossiers=len(self._dossiers))

    def refusals(self) -> list[Refusal]:
        return list(self._refused)

    def iter_blobs(self) -> Iterator[BlobSource]:
        for key, path in self._blobs.items():
            yield BlobSource(key, path=path, size=path.stat().st_size)

    def read_blob(self, blob: BlobSource) -> bytes:
        assert blob.path is not None
        return blob.path.read_bytes()

    def iter_dossiers(self, chunk: int) -> Iterator[list[SourceDossier]]:
        items = list(self._dossiers.items())
        for start in range(0, len(items), chunk):
            yield [
                SourceDossier(
                    ref=code, code=code, procedure_code=d["procedure_code"], agency=d["agency"],
                    applicant_personal_id=d["owner"], status="digitized", created=d["created"],
                    updated=d["created"], documents=tuple(d["documents"].values()),
                )
                for code, d in items[start:start + chunk]
            ]

    def iter_register(self, chunk: int) -> Iterator[list[SourceRegisterEntry]]:
        return iter(())

    def iter_audit(self, after_seq: int, chunk: int) -> Iterator[list[SourceEvent]]:
        return iter(())

    def close(self) -> None:
        return None
