"""Turn a raw value sliced from an OCR line into the contract's form (design.md).

Dates become ISO ``YYYY-MM-DD``, names NFC upper-case, ``sex`` ``Nam``/``Nữ``, IDs digits only, areas a
decimal string. Each normaliser returns ``(value, note)``: the note says what was repaired (``O→0``), so
a repair is visible in the field's reason instead of silently changing what the paper says.
"""

from __future__ import annotations

import re
from datetime import date

from classifiers.text import fold
from core.model import nfc

# OCR confusions that are unambiguous inside a field that can only hold digits.
DIGIT_REPAIRS: dict[str, str] = {
    "O": "0", "o": "0", "Q": "0", "D": "0", "Ô": "0", "Ơ": "0", "ô": "0", "ơ": "0", "ó": "0", "ò": "0",
    "l": "1", "I": "1", "i": "1", "|": "1", "!": "1", "í": "1", "ì": "1", "L": "1", "J": "1",
    "S": "5", "s": "5", "Z": "2", "z": "2", "B": "8", "g": "9", "G": "6", "b": "6", "T": "7",
}

_PUNCT_EDGES = " \t:;,.-–—_|/\\'\"`~*•·()[]{}"


def clean_text(raw: str) -> str:
    """NFC, single spaces, no stray punctuation at either end or standing alone inside (OCR reads
    specks as dots, bars and underscores)."""
    words = [w for w in nfc(raw).split() if not re.fullmatch(r"[_|~`^'\"•·—–]+", w)]
    return " ".join(words).strip(_PUNCT_EDGES)


def repair_digits(raw: str) -> tuple[str, str]:
    """Map letter look-alikes to digits and drop separators; the note lists the repairs made."""
    out, repairs = [], []
    for char in raw:
        if char.isdigit():
            out.append(char)
        elif char in DIGIT_REPAIRS:
            out.append(DIGIT_REPAIRS[char])
            repairs.append(f"{char}→{DIGIT_REPAIRS[char]}")
        elif char in " .-,/":
            continue
        else:
            out.append(char)
    note = ("repaired " + ", ".join(dict.fromkeys(repairs))) if repairs else ""
    return "".join(out), note


def normalise_id(raw: str, length: int) -> tuple[str, str]:
    """A run of ``length`` digits (personal ID 12, enterprise code 10), repairing look-alikes.

    The value is taken as the longest digit-like token so trailing words ("Ngày cấp...") that the
    line carried do not glue onto it.
    """
    tokens = re.findall(r"[0-9OoQDlIi|!SsZzBgGbT][0-9OoQDlIi|!SsZzBgGbT .\-]*", raw)
    best, best_note = "", ""
    for token in tokens:
        value, note = repair_digits(token.strip())
        digits = sum(c.isdigit() for c in token)
        if digits == 0:
            continue
        if abs(len(value) - length) < abs(len(best) - length) or not best:
            best, best_note = value, note
    return best, best_note


_DATE_NUMERIC = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngay\s*(\d{1,2})\s*[a-z]{3,6}\s*(\d{1,2})\s*[a-z]{2,4}\s*(\d{4})")


def normalise_date(raw: str) -> tuple[str, str]:
    """``dd/mm/yyyy``, ``dd-mm-yyyy`` or ``ngày dd tháng mm năm yyyy`` → ``yyyy-mm-dd``.

    Digit look-alikes are repaired first (a date holds only digits and separators); a date that
    does not exist on the calendar comes back unchanged for the validator to flag.
    """
    text = clean_text(raw)
    folded = fold(text)
    if "khong thoi han" in folded:
        return "", "no expiry (không thời hạn)"
    repaired, note = _repair_in_date(text)
    repaired = fold(repaired)
    for pattern in (_DATE_NUMERIC, _DATE_WORDS):
        match = pattern.search(repaired)
        if match:
            day, month, year = (int(g) for g in match.groups())
            try:
                return date(year, month, day).isoformat(), note
            except ValueError:
                return f"{year:04d}-{month:02d}-{day:02d}", note
    match = re.search(r"(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})", repaired)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}", note
    return text, ""


def _repair_in_date(folded: str) -> tuple[str, str]:
    """Repair letters that sit between digits or separators (``O1/O2/199O``), not inside words."""
    chars = list(folded)
    repairs = []
    for i, char in enumerate(chars):
        if char.isdigit() or char not in DIGIT_REPAIRS:
            continue
        left = chars[i - 1] if i > 0 else " "
        right = chars[i + 1] if i + 1 < len(chars) else " "
        if (left.isdigit() or left in "/.-") and (right.isdigit() or right in "/.-" or right == " ") or (
            right.isdigit() and left in " /.-"
        ):
            if left.isalpha() or right.isalpha():
                continue
            repairs.append(f"{char}→{DIGIT_REPAIRS[char]}")
            chars[i] = DIGIT_REPAIRS[char]
    note = ("repaired " + ", ".join(dict.fromkeys(repairs))) if repairs else ""
    return "".join(chars), note


def normalise_name(raw: str) -> tuple[str, str]:
    """Names are kept as printed but upper-cased (NFC), without digits or punctuation noise."""
    text = clean_text(raw)
    text = re.sub(r"[^\w\s]", " ", text)
    words = text.split()
    while len(words) > 2 and words[0].islower() and any(w.isupper() for w in words[1:]):
        words.pop(0)  # the tail of a label wrapped in its column ("người", "yêu cầu")
    return " ".join(" ".join(words).upper().split()), ""


def normalise_sex(raw: str) -> tuple[str, str]:
    folded = fold(clean_text(raw))
    words = re.findall(r"[a-z]+", folded)
    for word in words[:2]:
        if word in ("nam", "male"):
            return "Nam", ""
        if word in ("nu", "female"):
            return "Nữ", ""
    for word in words[:1]:
        # a damaged read of a two-way choice: "Narn", "Nw"; a guess, said so in the reason
        if word.startswith("n") and len(word) <= 4:
            guess = "Nam" if ("a" in word or "m" in word or "rn" in word) else "Nữ"
            return guess, f"guessed {guess} from {word!r}"
    return clean_text(raw), ""


def normalise_area(raw: str) -> tuple[str, str]:
    """``1.250,5 m²`` / ``120,5`` / ``120.5 m2`` → ``1250.5`` / ``120.5``.

    Vietnamese prints a comma for the decimal mark and dots between thousands; when only dots are
    present and three digits follow the last one it is a thousands separator.
    """
    text = clean_text(raw)
    match = re.search(r"\d[\d.,\s]*", text.replace("O", "0"))
    if not match:
        return text, ""
    number = match.group(0).strip().replace(" ", "").rstrip(".,")
    if "," in number and "." in number:
        if number.rfind(",") > number.rfind("."):
            number = number.replace(".", "").replace(",", ".")
        else:
            number = number.replace(",", "")
    elif "," in number:
        head, _, tail = number.rpartition(",")
        number = head.replace(",", "") + "." + tail
    elif number.count(".") > 1:
        number = number.replace(".", "")
    if "." in number:
        number = number.rstrip("0").rstrip(".") if re.fullmatch(r"\d+\.\d+", number) else number
    return number, ""


def normalise_number(raw: str) -> tuple[str, str]:
    """A certificate, parcel or map sheet number: one token as printed ("12/2020", "034/TLKS")."""
    text = clean_text(raw)
    text = re.sub(r"\s*([/\-])\s*", r"\1", text)
    return (text.split()[0] if text else ""), ""


def normalise_serial(raw: str) -> tuple[str, str]:
    """A certificate serial: two upper-case letters and six digits ("CH 138664")."""
    text = clean_text(raw)
    match = re.search(r"([A-ZĐ]{2})\s*([0-9OoIl|]{6})\b", text)
    if not match:
        return text, ""
    digits, note = repair_digits(match.group(2))
    if "D" in match.group(1) or "Đ" in match.group(1):
        note = "; ".join(n for n in (note, "guessed D/Đ: OCR confuses them") if n)
    return f"{match.group(1)} {digits}", note


def normalise_money(raw: str) -> tuple[str, str]:
    """An amount as printed with thousands dots ("5.000.000.000 đồng" → "5.000.000.000")."""
    match = re.search(r"\d[\d.,\s]*\d|\d", clean_text(raw))
    if not match:
        return clean_text(raw), ""
    digits = re.sub(r"\D", "", match.group(0))
    return (f"{int(digits):,}".replace(",", ".") if digits else ""), ""


def normalise_text(raw: str) -> tuple[str, str]:
    return clean_text(raw), ""


NORMALISERS = {
    "date": normalise_date,
    "name": normalise_name,
    "sex": normalise_sex,
    "personal_id": lambda raw: normalise_id(raw, 12),
    "enterprise_code": lambda raw: normalise_id(raw, 10),
    "area": normalise_area,
    "number": normalise_number,
    "serial": normalise_serial,
    "money": normalise_money,
    "text": normalise_text,
}
