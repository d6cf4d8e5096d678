"""Places from the national register of administrative units, before and after 1 July 2025.

Addresses on the papers a centre receives name units of two registers: documents issued before the
reorganisation of 1 July 2025 print the 63 provinces, their districts and about 10,000 communes;
later ones print the 34 provinces and 3,321 communes with no district. A hand-made list of place
names misses most of either, so a famous city came back "not recognised". The register here is the
one ``vietnamadminunits`` (MIT) ships: its SQLite table of current units (``admin_units``), of
pre-2025 units (``admin_units_legacy``) and its old→new table (``converter_2025.json``). Only those
data files are read: the package's converter geocodes a split ward's street through an online
service, which a public-administration deployment must not call, so a split ward is reported here
as ambiguous with its candidates instead.

What is printed stays printed: a pre-2025 address is recognised as such and returned as read
(:attr:`PlaceMatch.printed`); the post-2025 codes are derived beside it for whoever needs them, never
written over the document's words.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from classifiers.text import fold
from core.model import nfc


class Era(StrEnum):
    """Which register a matched unit belongs to."""

    CURRENT = "current"  # the register from 1 July 2025 (34 provinces, communes without districts)
    LEGACY = "legacy"  # the register before 1 July 2025 (63 provinces, districts)
    BOTH = "both"  # a province whose name and extent are in both (e.g. Hà Nội, Cần Thơ)


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


@dataclass(frozen=True, slots=True)
class Unit:
    """One row of a register, reduced to what matching and reporting need."""

    era: Era
    province: str  # official full name, "Thành phố Hà Nội"
    province_code: str
    district: str | None  # pre-2025 only
    commune: str | None
    commune_code: str | None
    province_key: str
    district_key: str | None
    commune_key: str | None


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A place recognised in the register.

    ``printed`` is the text as the document has it (NFC), to be kept as the field's value. The unit's
    official names are those of the register of ``era``. ``province_code_2025``/``commune_code_2025``
    are the codes of the unit it is (or, for a pre-2025 unit, became) after 1 July 2025; a pre-2025
    commune split between several new communes has ``ambiguous`` set, the new communes in
    ``candidates_2025`` and the register's default one in the code fields, at lower confidence.
    """

    printed: str
    level: Level
    era: Era
    province: str
    district: str | None
    commune: str | None
    province_2025: str | None
    province_code_2025: str | None
    commune_2025: str | None
    commune_code_2025: str | None
    ambiguous: bool
    candidates_2025: tuple[str, ...]
    confidence: float
    exact_marks: bool  # every matched name printed with the register's marks

    @property
    def pre_2025(self) -> bool:
        return self.era is Era.LEGACY

    def as_dict(self) -> dict[str, object]:
        return {
            "printed": self.printed, "level": str(self.level), "era": str(self.era),
            "province": self.province, "district": self.district, "commune": self.commune,
            "province_2025": self.province_2025, "province_code_2025": self.province_code_2025,
            "commune_2025": self.commune_2025, "commune_code_2025": self.commune_code_2025,
            "ambiguous": self.ambiguous, "candidates_2025": list(self.candidates_2025),
            "confidence": round(self.confidence, 3), "exact_marks": self.exact_marks,
        }


def _data_dir() -> Path:
    """The package's data folder, found without importing the package (its ``__init__`` loads an
    online geocoder client this module never uses)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the register of administrative units (vietnamadminunits) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def key(text: str) -> str:
    """The register's key of a name: marks dropped, đ→d, letters and digits only, lower case."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


# Abbreviations of unit types as written on forms and cards ("TP. Hà Nội", "P. 12", "Q.1").
_ABBREVIATIONS = (
    (re.compile(r"(?i)^\s*tp\.?\s*"), "thành phố "),
    (re.compile(r"(?i)^\s*tx\.?\s*"), "thị xã "),
    (re.compile(r"(?i)^\s*tt\.?\s*"), "thị trấn "),
    (re.compile(r"(?i)^\s*p\.\s*"), "phường "),
    (re.compile(r"(?i)^\s*q\.\s*"), "quận "),
    (re.compile(r"(?i)^\s*h\.\s*"), "huyện "),
    (re.compile(r"(?i)^\s*x\.\s*"), "xã "),
)
_DISTRICT_TYPES = ("quan", "huyen", "thixa", "thanhpho")
_COMMUNE_TYPES = ("phuong", "xa", "thitran", "dackhu")
# Names in common use the register keeps under another key.
_PROVINCE_ALIASES = {
    "thuathienhue": "thanhphohue", "tphcm": "thanhphohochiminh", "saigon": "thanhphohochiminh",
    "brvt": "tinhbariavungtau",
}


@dataclass(frozen=True, slots=True)
class _Register:
    units: tuple[Unit, ...]
    provinces: dict[str, dict[Era, str]]  # province keyword → era → province key
    province_names: dict[tuple[Era, str], tuple[str, str]]  # (era, key) → (name, code)
    districts: dict[tuple[str, str], set[str]]  # (legacy province key, keyword) → district keys
    district_names: dict[tuple[str, str], str]
    communes: dict[tuple[Era, str, str], list[Unit]]  # (era, province key, keyword) → units
    to_new_province: dict[str, str]  # legacy province key → current province key
    not_divided: dict[str, tuple[str, str]]  # "prov_dist_ward" → (new province key, new ward key)
    divided: dict[str, tuple[str, tuple[tuple[str, bool], ...]]]  # → (new prov, ((ward key, default)…))
    current_by_key: dict[tuple[str, str], Unit]  # (province key, ward key) → unit
    short_names: frozenset[str]


_ProvinceFields = Callable[[Era, str], tuple[str, str | None, str | None]]


def _keywords(raw: str | None) -> list[str]:
    return list(json.loads(raw)) if raw else []


@lru_cache(maxsize=1)
def register() -> _Register:
    """The register, read once per process (about 13,000 rows, a few hundred milliseconds)."""
    data = _data_dir()
    connection = sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        current = connection.execute("SELECT * FROM admin_units").fetchall()
        legacy = connection.execute("SELECT * FROM admin_units_legacy").fetchall()
    finally:
        connection.close()
    converter = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))

    units: list[Unit] = []
    provinces: dict[str, dict[Era, str]] = defaultdict(dict)
    province_names: dict[tuple[Era, str], tuple[str, str]] = {}
    districts: dict[tuple[str, str], set[str]] = defaultdict(set)
    district_names: dict[tuple[str, str], str] = {}
    communes: dict[tuple[Era, str, str], list[Unit]] = defaultdict(list)
    current_by_key: dict[tuple[str, str], Unit] = {}
    short: set[str] = set()
    for era, rows in ((Era.CURRENT, current), (Era.LEGACY, legacy)):
        for row in rows:
            pkey = row["provinceKey"]
            province_names[(era, pkey)] = (nfc(row["province"]), row["provinceCode"])
            short.add(nfc(row["provinceShort"]))
            for word in _keywords(row["provinceKeywords"]):
                provinces[word][era] = pkey
            dkey = row["districtKey"] if era is Era.LEGACY else None
            if dkey:
                district_names[(pkey, dkey)] = nfc(row["district"])
                short.add(nfc(row["districtShort"]))
                for word in _keywords(row["districtKeywords"]):
                    districts[(pkey, word)].add(dkey)
            unit = Unit(era, nfc(row["province"]), row["provinceCode"],
                        nfc(row["district"]) if era is Era.LEGACY and row["district"] else None,
                        nfc(row["ward"]) if row["ward"] else None, row["wardCode"],
                        pkey, dkey, row["wardKey"])
            units.append(unit)
            if row["ward"]:
                short.add(nfc(row["wardShort"]))
                for word in _keywords(row["wardKeywords"]):
                    communes[(era, pkey, word)].append(unit)
                if era is Era.CURRENT:
                    current_by_key[(pkey, row["wardKey"])] = unit
    for alias, target in _PROVINCE_ALIASES.items():
        if target in provinces and alias not in provinces:
            provinces[alias] = dict(provinces[target])

    to_new = {old: new for new, olds in converter["DICT_PROVINCE"].items() for old in olds}
    not_divided: dict[str, tuple[str, str]] = {}
    for new_province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, olds in wards.items():
            for old in olds:
                not_divided[old] = (new_province, new_ward)
    divided: dict[str, tuple[str, tuple[tuple[str, bool], ...]]] = {}
    for new_province, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, news in olds.items():
            divided[old] = (new_province, tuple((n["newWardKey"], bool(n["isDefaultNewWard"])) for n in news))
    return _Register(tuple(units), dict(provinces), province_names, dict(districts), district_names,
                     dict(communes), to_new, not_divided, divided, current_by_key, frozenset(short))


@lru_cache(maxsize=1)
def register_names() -> frozenset[str]:
    """Short names (without "Tỉnh", "Quận", "Xã" …) of every province, district and commune of both
    registers, NFC: the vocabulary that restores marks OCR lost in an address. Read on its own
    (a few tens of milliseconds), without the old→new tables :func:`register` loads."""
    connection = sqlite3.connect(f"file:{_data_dir() / 'dataset.db'}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT provinceShort, wardShort FROM admin_units UNION "
            "SELECT provinceShort, wardShort FROM admin_units_legacy UNION "
            "SELECT districtShort, NULL FROM admin_units_legacy").fetchall()
    finally:
        connection.close()
    return frozenset(nfc(name) for row in rows for name in row if name and not any(c.isdigit() for c in name))


def _expand(part: str) -> str:
    for pattern, full in _ABBREVIATIONS:
        if pattern.match(part):
            return pattern.sub(full, part, count=1)
    return part


def _parts(text: str) -> list[str]:
    return [p for p in (_expand(s.strip(" .-–")) for s in re.split(r"[,;\n]", nfc(text))) if key(p)]


def _typed(part_key: str, types: tuple[str, ...]) -> bool:
    return any(part_key.startswith(t) and len(part_key) > len(t) for t in types)


def _marks_exact(part: str, official: str | None) -> bool:
    """Whether the printed part carries the official name's marks (the type word aside)."""
    if not official:
        return False
    printed = nfc(part).lower().split()
    name = nfc(official).lower().split()
    return printed == name or printed == name[len(name) - len(printed):] or (
        len(printed) >= 1 and printed[-len(name):] == name)


def _province_key(reg: _Register, part: str) -> str | None:
    """The register's keyword a part names a province by: as written, or without its type word
    ("TP.HCM", "Tỉnh Thừa Thiên Huế")."""
    pk = key(part)
    for candidate in (pk, pk.removeprefix("thanhpho"), pk.removeprefix("tinh")):
        if candidate in reg.provinces:
            return candidate
    return None


def match_place(text: str) -> PlaceMatch | None:
    """The most specific unit an address names, read from its end ("…, Phường Tràng Tiền, Quận Hoàn
    Kiếm, Hà Nội"), or ``None`` when no province, district or commune of either register is named.

    A district part, or a commune found only in the old register, makes the address pre-2025. A bare
    province or commune name without a province ("Sài Gòn", "Đà Nẵng") is matched when it names
    a province; a commune name alone is too ambiguous to be a match."""
    reg = register()
    parts = _parts(text)
    if not parts:
        return None
    printed = nfc(text).strip()
    # the province: the last part that names one
    for p_index in range(len(parts) - 1, -1, -1):
        pk = _province_key(reg, parts[p_index])
        if pk:
            break
    else:
        return None
    eras = reg.provinces[pk]
    before = parts[:p_index]
    province_part = parts[p_index]

    def province_fields(era: Era, province_key: str) -> tuple[str, str | None, str | None]:
        name, _ = reg.province_names[(era, province_key)]
        new_key = province_key if era is Era.CURRENT else reg.to_new_province.get(province_key)
        if new_key and (Era.CURRENT, new_key) in reg.province_names:
            new_name, new_code = reg.province_names[(Era.CURRENT, new_key)]
            return name, new_name, new_code
        return name, None, None

    # a district part says pre-2025
    if Era.LEGACY in eras and before:
        legacy_pk = eras[Era.LEGACY]
        for d_index in range(len(before) - 1, -1, -1):
            dpart = before[d_index]
            dk = key(dpart)
            found = reg.districts.get((legacy_pk, dk), set())
            typed = _typed(dk, _DISTRICT_TYPES)
            if len(found) == 1 and (typed or d_index == len(before) - 1):
                if not typed and Era.CURRENT in eras and d_index == len(before) - 1 and \
                        reg.communes.get((Era.CURRENT, eras[Era.CURRENT], dk)):
                    break  # "Hoàn Kiếm, Hà Nội": a post-2025 ward as much as a pre-2025 district
                dkey = next(iter(found))
                return _legacy_commune(reg, printed, legacy_pk, dkey, before[:d_index], province_fields,
                                       province_part, dpart)
            if found:
                break
    if before:
        ck = key(before[-1])
        if Era.CURRENT in eras:
            found = reg.communes.get((Era.CURRENT, eras[Era.CURRENT], ck), [])
            if len(found) == 1:
                unit = found[0]
                name, new_name, new_code = province_fields(Era.CURRENT, unit.province_key)
                # an untyped name that is also a pre-2025 district of the province
                also_district = not _typed(ck, _COMMUNE_TYPES) and Era.LEGACY in eras and \
                    bool(reg.districts.get((eras[Era.LEGACY], ck)))
                return PlaceMatch(printed, Level.COMMUNE, Era.CURRENT, name, None, unit.commune, new_name,
                                  new_code, unit.commune, unit.commune_code, also_district, (),
                                  0.5 if also_district else 1.0,
                                  _marks_exact(before[-1], unit.commune)
                                  and _marks_exact(province_part, name))
        if Era.LEGACY in eras:
            found = reg.communes.get((Era.LEGACY, eras[Era.LEGACY], ck), [])
            if found:
                return _from_legacy(reg, printed, found, province_fields, before[-1], province_part)
    era = Era.BOTH if len(eras) == 2 else next(iter(eras))
    name, new_name, new_code = province_fields(Era.CURRENT if Era.CURRENT in eras else Era.LEGACY,
                                               eras.get(Era.CURRENT) or eras[Era.LEGACY])
    if era is Era.LEGACY:
        name = reg.province_names[(Era.LEGACY, eras[Era.LEGACY])][0]
    return PlaceMatch(printed, Level.PROVINCE, era, name, None, None, new_name, new_code, None, None,
                      False, (), 1.0, _marks_exact(province_part, name))


def _legacy_commune(reg: _Register, printed: str, pkey: str, dkey: str, before: list[str],
                    province_fields: _ProvinceFields, province_part: str, district_part: str) -> PlaceMatch:
    if before:
        found = [u for u in reg.communes.get((Era.LEGACY, pkey, key(before[-1])), []) if u.district_key == dkey]
        if found:
            return _from_legacy(reg, printed, found, province_fields, before[-1], province_part)
    name, new_name, new_code = province_fields(Era.LEGACY, pkey)
    district = reg.district_names[(pkey, dkey)]
    return PlaceMatch(printed, Level.DISTRICT, Era.LEGACY, name, district, None, new_name, new_code, None,
                      None, False, (), 1.0,
                      _marks_exact(district_part, district) and _marks_exact(province_part, name))


def _from_legacy(reg: _Register, printed: str, found: list[Unit], province_fields: _ProvinceFields,
                 commune_part: str,
                 province_part: str) -> PlaceMatch:
    """A pre-2025 commune and the post-2025 commune it became (or the ones it was split into)."""
    unit = found[0]
    name, new_name, new_code = province_fields(Era.LEGACY, unit.province_key)
    several = len(found) > 1  # the same commune name in two districts and no district printed
    old = f"{unit.province_key}_{unit.district_key}_{unit.commune_key}"
    commune_2025 = code_2025 = None
    candidates: tuple[str, ...] = ()
    ambiguous = several
    confidence = 0.5 if several else 1.0
    if not several and old in reg.not_divided:
        new_pk, new_wk = reg.not_divided[old]
        new_unit = reg.current_by_key.get((new_pk, new_wk))
        if new_unit:
            commune_2025, code_2025 = new_unit.commune, new_unit.commune_code
    elif not several and old in reg.divided:
        new_pk, news = reg.divided[old]
        options = [(reg.current_by_key.get((new_pk, wk)), default) for wk, default in news]
        candidates = tuple(u.commune for u, _ in options if u and u.commune)
        chosen = next((u for u, default in options if default and u), None)
        if chosen:
            commune_2025, code_2025 = chosen.commune, chosen.commune_code
        ambiguous = len(candidates) > 1
        confidence = 1.0 / max(1, len(candidates))
    return PlaceMatch(printed, Level.COMMUNE, Era.LEGACY, name, unit.district, unit.commune, new_name,
                      new_code, commune_2025, code_2025, ambiguous, candidates, confidence,
                      _marks_exact(commune_part, unit.commune) and _marks_exact(province_part, name))
