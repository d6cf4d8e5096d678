"""Agreement across a dossier: one person's ID, name and birth date read on several papers.

An applicant's personal ID, name and date of birth are printed on their ID card, their application
form, their birth certificate, the residence confirmation … and every one of those papers is OCR'd
on its own, from another print, another scan, another font. Two such readings that come out
exactly alike are independent witnesses of the value (OCR errors do not repeat across different
prints), so a doubt one reading raised ("not recognised", "low OCR confidence") is settled by the
other; two readings that differ cannot both be right, so both go to review with the other value in
the reason. Readings that only agree because the same vocabulary guessed the same marks on both are
not independent, and confirm nothing.

Pure: documents in, documents' fields out. The flow runs it over a batch's documents once they are
all extracted (``flow/steps.py``, step ``agree``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from classifiers.validate import flag
from core.model import Field

# For each type, the fields naming one person: (personal ID, name, date of birth); a marriage
# certificate names two. Death certificates name someone who cannot be the applicant in person,
# but their ID, name and birth date are still the same person's on the other papers.
PEOPLE: dict[str, tuple[tuple[str | None, str | None, str | None], ...]] = {
    "cccd": (("personal_id", "full_name", "date_of_birth"),),
    "birth_certificate": (("personal_id", "full_name", "date_of_birth"),),
    "death_certificate": (("personal_id", "full_name", "date_of_birth"),),
    "residence_confirmation": (("personal_id", "full_name", "date_of_birth"),),
    "application_form": (("applicant_personal_id", "applicant_name", None),),
    "land_use_certificate": (("owner_personal_id", "owner_name", None),),
    "business_registration": ((None, "legal_representative", None),),
    "marriage_certificate": (("husband_personal_id", "husband_name", "husband_date_of_birth"),
                             ("wife_personal_id", "wife_name", "wife_date_of_birth")),
}
KINDS = ("personal ID", "name", "date of birth")
# How a disagreement is named in a field's reason (``classifiers.reasons`` explains it to the clerk).
DIFFERS = "differs from another paper of this dossier"
# Doubts a second paper can settle; a guess the vocabulary made is repeated on every paper alike.
_NOT_INDEPENDENT = ("vocabulary", "guess")


@dataclass(frozen=True)
class Reading:
    """One paper's reading of one fact about one person."""

    document: int  # index into the documents given
    doc_type: str
    field: str
    value: str


@dataclass(frozen=True)
class Mention:
    """One person as one paper names them."""

    document: int
    doc_type: str
    readings: tuple[Reading | None, Reading | None, Reading | None]  # personal ID, name, date of birth


def _mentions(documents: Sequence[tuple[str, Mapping[str, Field]]]) -> list[Mention]:
    out = []
    for index, (doc_type, fields) in enumerate(documents):
        for names in PEOPLE.get(doc_type, ()):
            readings = []
            for name in names:
                f = fields.get(name) if name else None
                readings.append(Reading(index, doc_type, name, f.value) if name and f is not None and f.value
                                else None)
            if any(readings):
                out.append(Mention(index, doc_type, tuple(readings)))  # type: ignore[arg-type]
    return out


def _same_person(a: Mention, b: Mention) -> bool:
    """The same ID, or (IDs aside) the same name and birth date."""
    if a.document == b.document:
        return False
    ida, idb = a.readings[0], b.readings[0]
    if ida and idb and ida.value == idb.value:
        return True
    name_a, name_b, dob_a, dob_b = a.readings[1], b.readings[1], a.readings[2], b.readings[2]
    return bool(name_a and name_b and dob_a and dob_b and name_a.value == name_b.value
                and dob_a.value == dob_b.value)


def _groups(mentions: list[Mention]) -> list[list[Mention]]:
    groups: list[list[Mention]] = []
    for mention in mentions:
        joined = [g for g in groups if any(_same_person(mention, other) for other in g)]
        merged = [mention] + [m for g in joined for m in g]
        groups = [g for g in groups if g not in joined] + [merged]
    return [g for g in groups if len({m.document for m in g}) >= 2]


# The doubts two papers reading alike settle (and notes that only say how a value was read); any
# other reason (a rule the value breaks, a value cut short) stands whatever the other papers say.
_SETTLED_BY_AGREEMENT = ("low OCR confidence", "a second reading", "name word(s) not recognised",
                         "name marks restored", "a guess from a damaged read", "restored ", "repaired",
                         "from the card's QR code", "from the machine-readable zone", "confirmed")


def settleable(f: Field) -> bool:
    """Whether every doubt on ``f`` is one a second paper's identical reading settles."""
    return f.valid and all(part.strip().startswith(_SETTLED_BY_AGREEMENT) for part in f.reason.split(";")
                           if part.strip())


def _guessed(f: Field) -> bool:
    """Flagged because the vocabulary proposed the value: two papers guessed alike prove nothing."""
    return f.needs_review and any(word in f.reason for word in _NOT_INDEPENDENT)


def agree(documents: Sequence[tuple[str, Mapping[str, Field]]]) -> list[dict[str, Field]]:
    """Every document's fields after comparing the readings of each person across ``documents``
    (``(doc_type, fields)`` pairs, in dossier order): confirmed doubts cleared, disagreements
    flagged on both sides, every change explained in the field's reason."""
    out = [dict(fields) for _, fields in documents]
    for group in _groups(_mentions(documents)):
        for slot, kind in enumerate(KINDS):
            readings = [m.readings[slot] for m in group if m.readings[slot] is not None]
            if len({r.document for r in readings}) < 2:  # type: ignore[union-attr]
                continue
            values = {r.value for r in readings}  # type: ignore[union-attr]
            for reading in readings:
                assert reading is not None
                others = [r for r in readings if r is not None and r.document != reading.document]
                current = out[reading.document][reading.field]
                if len(values) > 1:
                    differing = [r for r in others if r.value != reading.value]
                    if differing:
                        where = ", ".join(f"{r.value!r} on the {r.doc_type.replace('_', ' ')}" for r in differing)
                        out[reading.document][reading.field] = flag(
                            current, f"{kind} {DIFFERS}: {where}", invalid=False)
                    continue
                if not current.needs_review or not settleable(current):
                    continue
                witnesses = [r for r in others if out[r.document][r.field].valid
                             and not (_guessed(current) and _guessed(out[r.document][r.field]))]
                if witnesses:
                    names = ", ".join(sorted({r.doc_type.replace("_", " ") for r in witnesses}))
                    out[reading.document][reading.field] = replace(
                        current, needs_review=False,
                        reason=f"{current.reason}; confirmed: read alike on the {names}" if current.reason
                        else f"confirmed: read alike on the {names}")
    return out


def disagreeing(fields: Mapping[str, Field]) -> tuple[str, ...]:
    """The fields :func:`agree` flagged because another paper of the dossier reads them otherwise:
    which paper is right only a person can tell, so nothing is certified from them until then."""
    return tuple(name for name, f in fields.items() if DIFFERS in (f.reason or ""))


def without_findings(f: Field) -> Field:
    """``f`` without an earlier comparison's disagreement in its reason: compared again, the papers
    as they now read decide (a clerk may have corrected the other paper since)."""
    parts = [p.strip() for p in (f.reason or "").split(";") if p.strip()]
    kept = [p for p in parts if DIFFERS not in p]
    return f if len(kept) == len(parts) else replace(f, reason="; ".join(kept))


def field_of(entry: Mapping[str, object]) -> Field:
    """A field as the records and the flow's outcomes keep it (a JSON-shaped entry)."""
    confidence = entry.get("confidence")
    return Field(entry.get("value"), float(confidence) if isinstance(confidence, int | float) else 0.0,  # type: ignore[arg-type]
                 valid=bool(entry.get("valid", True)), needs_review=bool(entry.get("needs_review")),
                 reason=str(entry.get("reason") or ""))
