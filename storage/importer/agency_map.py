"""The agency map of a merger: which former agency or unit (by code or by name, as the source's
records hold it) is now which.

After 1 July 2025 the merged province keeps the level-1 code of the province whose name it takes
(Decision 09/2025/QĐ-TTg), and the units of the others are renamed or renumbered. The map is a JSON
object, former → current, e.g. ``{"Sở Tư pháp tỉnh Bắc Giang": "Sở Tư pháp tỉnh Bắc Ninh",
"000.00.31.H08": "000.00.31.H06"}``, or the same object under an ``"agencies"`` key. Agencies it does
not name are kept as they are. The former value of every remapped record is kept in the import
ledger, so the old codes stay searchable (:func:`storage.importer.search.dossiers_of_former_agency`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import InputError
from core.model import nfc


def _key(value: str) -> str:
    return nfc(value).strip()


@dataclass(frozen=True)
class AgencyMap:
    mapping: dict[str, str] = field(default_factory=dict)

    def apply(self, agency: str | None) -> str | None:
        if agency is None:
            return None
        return self.mapping.get(_key(agency), nfc(agency))

    def as_json(self) -> dict[str, str]:
        return dict(self.mapping)


def load_agency_map(path: Path | None) -> AgencyMap:
    """Read the map; a file that is not such an object is refused in one line, naming the problem."""
    if path is None:
        return AgencyMap()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the agency map {path.name}: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the agency map {path.name} is not JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("agencies"), dict):
        data = data["agencies"]
    if not isinstance(data, dict):
        raise InputError(f"the agency map {path.name} must be a JSON object, former agency → current agency")
    mapping: dict[str, str] = {}
    for old, new in data.items():
        if not isinstance(new, str) or not _key(new) or not _key(old):
            raise InputError(f"the agency map {path.name}: {old!r} must map to a non-empty agency name or code")
        mapping[_key(old)] = _key(new)
    return AgencyMap(mapping)
