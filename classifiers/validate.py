"""Validators: a wrong value becomes a review item with a reason, never a silent error.

Rules come from the papers themselves: a personal ID encodes province, sex, century and birth year
(classifiers/personal_id.py), dates on one paper follow each other (birth ≤ registration ≤ today,
expiry after birth, death after birth), an enterprise code has 10 digits, a sex is Nam or Nữ. Rules
that tie two fields together flag both, since OCR may have broken either one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from core.model import Field
from core.personal_id import check_personal_id

# Which ID is checked against which sex and birth date (the same person on the same paper).
ID_OWNERS: dict[str, tuple[str | None, str | None, str | None]] = {
    # id field: (sex field, fixed sex, birth date field)
    "personal_id": ("sex", None, "date_of_birth"),
    "husband_personal_id": (None, "Nam", "husband_date_of_birth"),
    "wife_personal_id": (None, "Nữ", "wife_date_of_birth"),
    "owner_personal_id": (None, None, None),
    "applicant_personal_id": (None, None, None),
}

DATE_FIELDS = (
    "date_of_birth", "husband_date_of_birth", "wife_date_of_birth", "date_of_death", "registration_date",
    "issue_date", "date_of_expiry", "date",
)
NAME_FIELDS = ("full_name", "mother_name", "father_name", "husband_name", "wife_name", "owner_name",
               "legal_representative", "applicant_name")
PLACE_FIELDS = ("place_of_origin", "place_of_residence", "place_of_birth", "place_of_death", "registration_place",
                "address", "issuing_authority")

# (earlier, later): the earlier date may not come after the later one.
DATE_ORDER = (
    ("date_of_birth", "registration_date"),
    ("date_of_birth", "date_of_death"),
    ("date_of_death", "registration_date"),
    ("date_of_birth", "issue_date"),
    ("husband_date_of_birth", "registration_date"),
    ("wife_date_of_birth", "registration_date"),
)

_NAME_RE = re.compile(r"^[A-ZÀ-ỸĐ' ]+$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def flag(field: Field, reason: str, *, invalid: bool = True) -> Field:
    """Mark a field for review, keeping every reason already given."""
    reasons = [r for r in (field.reason, reason) if r]
    return replace(field, valid=field.valid and not invalid, needs_review=True, reason="; ".join(reasons))


def parse_iso(value: str | None) -> date | None:
    if not value or not _ISO_RE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def validate_fields(fields: Mapping[str, Field], *, today: date | None = None,
                    min_confidence: float = 0.0) -> dict[str, Field]:
    """All rules over one document's fields; returns the fields with verdicts filled in."""
    today = today or date.today()
    out = dict(fields)

    for name, f in out.items():
        if f.value is None:
            if not f.needs_review:
                out[name] = flag(f, "not found")
        elif f.confidence < min_confidence:
            out[name] = flag(f, f"low OCR confidence {f.confidence:.2f}", invalid=False)

    for name in DATE_FIELDS:
        f = out.get(name)
        if f is None or not f.value:
            continue
        day = parse_iso(f.value)
        if day is None:
            out[name] = flag(f, "not a calendar date")
        elif name == "date_of_expiry":
            if day.year > today.year + 100:
                out[name] = flag(f, "implausible year")
        elif day > today:
            out[name] = flag(f, "date is in the future")
        elif day.year < 1900:
            out[name] = flag(f, "date before 1900")

    for earlier, later in DATE_ORDER:
        a, b = out.get(earlier), out.get(later)
        da, db = parse_iso(a.value if a else None), parse_iso(b.value if b else None)
        if a and b and da and db and da > db:
            reason = f"{earlier} after {later}"
            out[earlier], out[later] = flag(a, reason), flag(b, reason)

    expiry, birth = out.get("date_of_expiry"), out.get("date_of_birth")
    de, dbirth = parse_iso(expiry.value if expiry else None), parse_iso(birth.value if birth else None)
    if expiry and birth and de and dbirth and de <= dbirth:
        out["date_of_expiry"] = flag(expiry, "expiry before birth")
        out["date_of_birth"] = flag(birth, "expiry before birth")

    sex = out.get("sex")
    if sex and sex.value and sex.value not in ("Nam", "Nữ"):
        out["sex"] = flag(sex, "sex must be Nam or Nữ")

    for id_name, (sex_name, fixed_sex, birth_name) in ID_OWNERS.items():
        f = out.get(id_name)
        if f is None or not f.value:
            continue
        sex_value = fixed_sex
        sex_field = out.get(sex_name) if sex_name else None
        if sex_field is not None and sex_field.value in ("Nam", "Nữ"):
            sex_value = sex_field.value
        birth_field = out.get(birth_name) if birth_name else None
        birth_day = parse_iso(birth_field.value if birth_field else None)
        verdict = check_personal_id(f.value)
        if not verdict.ok:
            out[id_name] = flag(f, verdict.reason)
            continue
        if sex_value is not None:
            verdict = check_personal_id(f.value, sex=sex_value)
            if not verdict.ok:
                out[id_name] = flag(f, verdict.reason)
                if sex_field is not None:
                    out[sex_name] = flag(sex_field, verdict.reason)  # type: ignore[index]
                continue
        if birth_day is not None:
            verdict = check_personal_id(f.value, birth_year=birth_day.year)
            if not verdict.ok:
                out[id_name] = flag(f, verdict.reason)
                out[birth_name] = flag(birth_field, verdict.reason)  # type: ignore[arg-type,index]

    code = out.get("enterprise_code")
    if code and code.value and not re.fullmatch(r"\d{10}", code.value):
        out["enterprise_code"] = flag(code, "enterprise code must be 10 digits")

    for name in NAME_FIELDS:
        f = out.get(name)
        if f and f.value:
            if not _NAME_RE.match(f.value):
                out[name] = flag(f, "name has characters a name cannot have")
            elif len(f.value.split()) < 2:
                out[name] = flag(f, "name has fewer than two words")

    area = out.get("area_m2")
    if area and area.value and not re.fullmatch(r"\d+(\.\d+)?", area.value):
        out["area_m2"] = flag(area, "area must be a decimal number")
    return out
