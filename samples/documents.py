"""Content of the eight A4 document types: facts drawn, fields recorded, blocks laid out per layout.

Each builder draws its facts from :mod:`samples.facts`, records the ground-truth fields with the
contract names and normalisation of design.md (ISO dates, upper-case names, ``Nam``/``Nữ``), and
describes the printed page as blocks for :mod:`samples.render`. A builder may be handed the person
the document is about, so a dossier's papers can all belong to one applicant.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from core.model import nfc
from samples import facts
from samples.facts import TODAY, Person, add_years, dmy, random_date, vn_date_line
from samples.render import (
    Block,
    Columns,
    Field,
    PageSpec,
    Pair,
    Signature,
    Table,
    Text,
    lay_out_page,
    render_page,
)
from samples.wording import (
    MOTTO,
    Layout,
    ascii_fold,
    date_words,
    group_thousands,
    label,
    number_words,
    printed,
    size_px,
)

RenderedPage = tuple[np.ndarray, list[str]]


@dataclass(frozen=True)
class Draft:
    """A rendered, undamaged document and its ground truth."""

    fields: dict[str, str]
    pages: tuple[RenderedPage, ...]
    qr_payloads: tuple[str, ...] = ()  # texts of QR codes printed on the pages (CCCD), in page order

    @property
    def text(self) -> str:
        """The printed lines as one ground-truth text: pages joined by "\f", lines by "\n"."""
        return "\f".join("\n".join(lines) for _, lines in self.pages)


# The page image of a document laid out but not drawn (``Layout.draw`` False).
_NOT_DRAWN = np.zeros((1, 1, 3), np.uint8)

BLACK = (22, 22, 24)
BLUE = (24, 36, 120)


def ink(rng: random.Random) -> tuple[int, int, int]:
    return BLUE if rng.random() < 0.2 else BLACK


def page_spec(lay: Layout, blocks: Sequence[Block], rng: random.Random, **kw) -> PageSpec:
    return PageSpec(blocks=tuple(blocks), family=lay.family, size=size_px(lay.size_pt), spacing=lay.spacing,
                    field_mode=lay.field_mode, label_col=0.42 if lay.index == 4 else 0.36, margins=lay.margins,
                    ink=kw.pop("ink", None) or ink(rng),
                    frame=kw.pop("frame", False), **kw)


def render(lay: Layout, pages: Sequence[Sequence[Block]], rng: random.Random, **kw) -> tuple[RenderedPage, ...]:
    colour = ink(rng)
    specs = (page_spec(lay, blocks, rng, ink=colour, **kw) for blocks in pages)
    if lay.draw:
        return tuple(render_page(spec, rng) for spec in specs)
    return tuple((_NOT_DRAWN, lay_out_page(spec, rng)) for spec in specs)


def header(lay: Layout, agency: Sequence[str], number: str | None = None) -> list[Block]:
    """Agency and national motto, arranged as the layout prints them."""
    motto = [Text(MOTTO[0], align="center", bold=True, scale=0.86),
             Text(MOTTO[1], align="center", bold=True, scale=0.92, underline=True)]
    agency_texts = [Text(line, align="center", bold=i > 0, scale=0.88, underline=i == len(agency) - 1)
                    for i, line in enumerate(agency)]
    number_text = [Text(f"Số: {number}", align="center", scale=0.9, gap_before=0.2)] if number else []
    if lay.header == "columns":
        return [Columns(tuple(agency_texts + number_text), tuple(motto), split=0.4)]
    if lay.header == "stacked":
        left = [replace(t, align="left", underline=False) for t in agency_texts]
        return [*motto, *left, *[replace(t, align="left") for t in number_text]]
    joined = Text(" ".join(agency), align="center", bold=True, scale=0.9, gap_before=0.4)
    return [*motto, joined, *number_text]


def title(lay: Layout, text: str, *subtitles: str) -> list[Block]:
    blocks: list[Block] = [Text(text, align="center", bold=True, scale=lay.title_scale, gap_before=1.0)]
    blocks += [Text(s, align="center", italic=True, scale=0.95) for s in subtitles]
    blocks.append(Text("", gap_before=0.3))
    return blocks


def date_line(place_name: str, day: date) -> Text:
    name = place_name.split(" ", 1)[1] if place_name.split(" ", 1)[0].lower() in ("xã", "phường", "tỉnh") \
        else place_name
    return Text(f"{name}, {vn_date_line(day)}", align="right", italic=True, gap_before=0.8)


def arrange(lay: Layout, items: Sequence[tuple[str, str, str]], short: frozenset[str] = frozenset()) -> list[Block]:
    """Field blocks in the layout's order, numbering and pairing. Items are (key, label, value)."""
    items = list(items)
    if lay.id_first:
        ids = [i for i, it in enumerate(items) if it[0].endswith("personal_id")]
        names = [i for i, it in enumerate(items) if it[0].endswith("name")]
        if ids and names and ids[0] > names[0]:
            moved = items.pop(ids[0])
            items.insert(names[0] + 1, moved)
    if lay.numbered:
        items = [(k, f"{n}. {lab}", v) for n, (k, lab, v) in enumerate(items, 1)]
    blocks: list[Block] = []
    i = 0
    while i < len(items):
        key, lab, value = items[i]
        if lay.pairs and i + 1 < len(items) and key in short and items[i + 1][0] in short:
            blocks.append(Pair(Field(lab, value), Field(items[i + 1][1], items[i + 1][2])))
            i += 2
            continue
        blocks.append(Field(lab, value))
        i += 1
    return blocks


def officer(rng: random.Random) -> str:
    return facts.full_name(rng, rng.choice(("Nam", "Nữ")))


def upper(text: str) -> str:
    return nfc(text.upper())


def agency_commune(place: facts.Place) -> list[str]:
    return ["ỦY BAN NHÂN DÂN", upper(place.commune)]


def ubnd(place: facts.Place) -> str:
    """``Ủy ban nhân dân xã Tân Phú, tỉnh Phú Thọ`` (the registering authority, as printed; with the
    district before the 2025 reform)."""
    levels = [place.commune, place.district, place.province]
    return nfc(f"Ủy ban nhân dân {', '.join(level for level in levels if level)}")


def chair_titles(rng: random.Random) -> tuple[Text, ...]:
    first = rng.choice(("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "TM. ỦY BAN NHÂN DÂN"))
    second = "PHÓ CHỦ TỊCH" if first.startswith("KT") else rng.choice(("CHỦ TỊCH", "KT. CHỦ TỊCH"))
    titles = [Text(first, align="center", bold=True)]
    if second == "KT. CHỦ TỊCH":
        titles += [Text("KT. CHỦ TỊCH", align="center", bold=True), Text("PHÓ CHỦ TỊCH", align="center", bold=True)]
    else:
        titles.append(Text(second, align="center", bold=True))
    return tuple(titles)


def cert_number(rng: random.Random, year: int) -> str:
    n = rng.randint(1, 480)
    return rng.choice((f"{n}", f"{n}/{year}", f"{n:03d}/{year}", f"{n}/TLKS" if rng.random() < 0.3 else f"{n}"))


# --- birth certificate ----------------------------------------------------------------------------


def birth_certificate(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1950, 1, 1), born_before=TODAY - timedelta(days=20))
    mother, father = facts.family(rng, who)
    registered = min(random_date(rng, who.birth, who.birth + timedelta(days=60)), TODAY)
    reg_place = facts.place(rng, registered, province_code=who.province_code, commune_only=True)
    number = cert_number(rng, registered.year)
    reg_place_text = ubnd(reg_place)
    fields = {
        "certificate_number": number,
        "full_name": who.upper_name,
        "date_of_birth": who.birth.isoformat(),
        "sex": who.sex,
        "ethnicity": who.ethnicity,
        "nationality": "Việt Nam",
        "place_of_birth": who.place_of_birth.line,
        "place_of_origin": who.place_of_origin.line,
        "personal_id": who.personal_id,
        "mother_name": mother.upper_name,
        "father_name": father.upper_name,
        "registration_place": reg_place_text,
        "registration_date": registered.isoformat(),
    }
    blocks: list[Block] = header(lay, agency_commune(reg_place), None if lay.index % 2 else number)
    blocks += title(lay, "GIẤY KHAI SINH", *(["(Bản chính)"] if rng.random() < 0.5 else []))
    if lay.index % 2:
        blocks.append(Pair(Field(label(lay, "certificate_number"), number),
                           Field(label(lay, "book_number"), f"{rng.randint(1, 9):02d}/{registered.year}")))
    dob_value = dmy(who.birth)
    child = [
        ("full_name", label(lay, "full_name"), who.upper_name),
        ("date_of_birth", label(lay, "date_of_birth"), dob_value),
        ("sex", label(lay, "sex"), who.sex),
        ("ethnicity", label(lay, "ethnicity"), who.ethnicity),
        ("nationality", label(lay, "nationality"), "Việt Nam"),
        ("place_of_birth", label(lay, "place_of_birth"), who.place_of_birth.line),
        ("place_of_origin", label(lay, "place_of_origin"), who.place_of_origin.line),
        ("personal_id", label(lay, "personal_id"), who.personal_id),
    ]
    blocks += arrange(lay, child, frozenset({"sex", "ethnicity", "nationality"}))
    if lay.date_words:
        blocks.insert(len(blocks) - len(child) + 2, Text(f"({date_words(who.birth.day, who.birth.month, who.birth.year)})",
                                                         italic=True, indent=60))
    parents = (("mother_name", mother), ("father_name", father))
    if registered.year < 2016:  # forms before the 2014 Civil Status Law listed the father first
        parents = parents[::-1]
    for key, parent in parents:
        items = [(key, label(lay, key), parent.upper_name),
                 ("birth_year", label(lay, "birth_year"), str(parent.birth.year)),
                 ("ethnicity", label(lay, "ethnicity"), parent.ethnicity),
                 ("nationality", label(lay, "nationality"), "Việt Nam"),
                 ("residence", label(lay, "residence"), parent.address_on(rng, registered))]
        parent_blocks = arrange(replace(lay, numbered=False, id_first=False), items,
                                frozenset({"birth_year", "ethnicity", "nationality"}))
        blocks += [replace(parent_blocks[0], gap_before=0.4), *parent_blocks[1:]]
    declarant = rng.choice((mother, father))
    blocks.append(Field(printed(lay, "declarant", "Họ, chữ đệm, tên người đi khai sinh:" if lay.wording != 1
                                else "Người đi khai sinh:"), declarant.upper_name, gap_before=0.4))
    blocks.append(Field(label(lay, "registration_place"), reg_place_text))
    blocks.append(Field(label(lay, "registration_date"), dmy(registered)))
    blocks.append(date_line(reg_place.commune, registered))
    blocks.append(Signature(chair_titles(rng), officer(rng)))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame))


# --- marriage certificate -------------------------------------------------------------------------


def marriage_certificate(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    registered = random_date(rng, date(2005, 1, 1), TODAY)
    husband = who if who is not None and who.sex == "Nam" else facts.person(
        rng, sex="Nam", born_after=add_years(registered, -45), born_before=add_years(registered, -21))
    wife = who if who is not None and who.sex == "Nữ" else facts.person(
        rng, sex="Nữ", born_after=add_years(registered, -40), born_before=add_years(registered, -19))
    registered = max(registered, add_years(husband.birth, 20) + timedelta(days=1),
                     add_years(wife.birth, 18) + timedelta(days=1))
    registered = min(registered, TODAY)
    reg_place = facts.place(rng, registered, commune_only=True)
    number = cert_number(rng, registered.year)
    reg_text = ubnd(reg_place)
    fields = {
        "certificate_number": number,
        "husband_name": husband.upper_name,
        "husband_date_of_birth": husband.birth.isoformat(),
        "husband_personal_id": husband.personal_id,
        "wife_name": wife.upper_name,
        "wife_date_of_birth": wife.birth.isoformat(),
        "wife_personal_id": wife.personal_id,
        "registration_place": reg_text,
        "registration_date": registered.isoformat(),
    }
    blocks: list[Block] = header(lay, agency_commune(reg_place), number)
    blocks += title(lay, "GIẤY CHỨNG NHẬN KẾT HÔN")
    id_label = label(lay, "personal_id")
    if lay.field_mode != "tab":
        rows = (
            (label(lay, "full_name").rstrip(":"), husband.upper_name, wife.upper_name),
            (label(lay, "date_of_birth").rstrip(":"), dmy(husband.birth), dmy(wife.birth)),
            (printed(lay, "ethnicity", "Dân tộc"), husband.ethnicity, wife.ethnicity),
            (printed(lay, "nationality", "Quốc tịch"), "Việt Nam", "Việt Nam"),
            (label(lay, "residence").rstrip(":"), husband.address_on(rng, registered),
             wife.address_on(rng, registered)),
            (id_label.rstrip(":"), husband.personal_id, wife.personal_id),
        )
        heads = ((printed(lay, "table_head", "Thông tin"), "Chồng", "Vợ") if lay.index % 2 == 0
                 else ("", "Bên nam", "Bên nữ"))
        blocks.append(Table(heads, rows, (0.28, 0.36, 0.36)))
    else:
        for role, p in (("chồng", husband), ("vợ", wife)):
            items = [("name", label(lay, "full_name", suffix=f" {role}"), p.upper_name),
                     ("date_of_birth", label(lay, "date_of_birth"), dmy(p.birth)),
                     ("ethnicity", label(lay, "ethnicity"), p.ethnicity),
                     ("nationality", label(lay, "nationality"), "Việt Nam"),
                     ("residence", label(lay, "residence"), p.address_on(rng, registered)),
                     ("personal_id", id_label, p.personal_id)]
            part = arrange(lay, items, frozenset({"ethnicity", "nationality"}))
            blocks += [replace(part[0], gap_before=0.5), *part[1:]]
    blocks.append(Field(label(lay, "registration_place"), reg_text, gap_before=0.5))
    blocks.append(Field(label(lay, "registration_date"), dmy(registered)))
    blocks.append(date_line(reg_place.commune, registered))
    blocks.append(Columns((Text("Chồng", align="center", bold=True),
                           Text(husband.upper_name, align="center", gap_before=2.2)),
                          (Text("Vợ", align="center", bold=True), Text(wife.upper_name, align="center", gap_before=2.2)),
                          split=0.5, gap_before=0.3))
    blocks.append(Signature(chair_titles(rng), officer(rng), gap_before=0.6))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame))


# --- death certificate -------------------------------------------------------------------------------


CAUSES = ("Bệnh già", "Tai biến mạch máu não", "Nhồi máu cơ tim", "Bệnh hiểm nghèo", "Tai nạn giao thông",
          "Suy tim", "Ung thư phổi", "Suy hô hấp")


def death_certificate(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1925, 1, 1), born_before=date(1990, 1, 1))
    died = random_date(rng, max(add_years(who.birth, 30), date(2000, 1, 1)), TODAY - timedelta(days=3))
    registered = min(random_date(rng, died, died + timedelta(days=25)), TODAY)
    reg_place = facts.place(rng, registered, commune_only=True)
    death_place = facts.place(rng, died)
    place_of_death = rng.choice((death_place.line, f"Bệnh viện Đa khoa {death_place.province}",
                                 f"Tại nhà, {death_place.line}"))
    number = cert_number(rng, registered.year)
    reg_text = ubnd(reg_place)
    fields = {
        "certificate_number": number,
        "full_name": who.upper_name,
        "date_of_birth": who.birth.isoformat(),
        "personal_id": who.personal_id,
        "date_of_death": died.isoformat(),
        "place_of_death": nfc(place_of_death),
        "registration_place": reg_text,
        "registration_date": registered.isoformat(),
    }
    blocks: list[Block] = header(lay, agency_commune(reg_place), number)
    blocks += title(lay, "TRÍCH LỤC KHAI TỬ", *(["(Bản sao)"] if rng.random() < 0.5 else []))
    hour, minute = rng.randint(0, 23), rng.choice((0, 10, 15, 20, 30, 40, 45, 50))
    items = [
        ("full_name", label(lay, "full_name"), who.upper_name),
        ("date_of_birth", label(lay, "date_of_birth"), dmy(who.birth)),
        ("sex", label(lay, "sex"), who.sex),
        ("ethnicity", label(lay, "ethnicity"), who.ethnicity),
        ("nationality", label(lay, "nationality"), "Việt Nam"),
        ("personal_id", label(lay, "personal_id"), who.personal_id),
        ("residence", label(lay, "residence"), who.address_on(rng, died)),
        ("date_of_death", label(lay, "date_of_death"), f"{hour:02d} giờ {minute:02d} phút, ngày {dmy(died)}"),
        ("place_of_death", label(lay, "place_of_death"), nfc(place_of_death)),
        ("cause", label(lay, "cause_of_death"), rng.choice(CAUSES)),
    ]
    blocks += arrange(lay, items, frozenset({"sex", "ethnicity", "nationality"}))
    notice = rng.randint(10, 900)
    blocks.append(Text(f"{printed(lay, 'death_notice', 'Giấy báo tử số')} {notice}/GBT do Trạm Y tế {reg_place.commune} cấp ngày {dmy(died)}",
                       gap_before=0.3))
    blocks.append(Field(label(lay, "registration_place"), reg_text, gap_before=0.3))
    blocks.append(Field(label(lay, "registration_date"), dmy(registered)))
    blocks.append(date_line(reg_place.commune, registered))
    titles = (Text("NGƯỜI KÝ TRÍCH LỤC", align="center", bold=True),
              Text("(Ký, ghi rõ họ, chữ đệm, tên)", align="center", italic=True, scale=0.9))
    blocks.append(Signature(titles if rng.random() < 0.5 else chair_titles(rng), officer(rng)))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame))


# --- residence confirmation ---------------------------------------------------------------------------


def residence_confirmation(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1940, 1, 1), born_before=date(2010, 1, 1))
    issued = random_date(rng, max(facts.REFORM_DATE, TODAY - timedelta(days=400)), TODAY)
    res = who.residence
    authority = nfc(f"Công an {res.commune}")
    fields = {
        "full_name": who.upper_name,
        "personal_id": who.personal_id,
        "date_of_birth": who.birth.isoformat(),
        "place_of_residence": res.line,
        "issuing_authority": authority,
        "issue_date": issued.isoformat(),
    }
    province_agency = upper(f"Công an {res.province.replace('Thành phố', 'thành phố')}")
    number = f"{rng.randint(10, 9999)}/XN"
    blocks: list[Block] = header(lay, [province_agency, upper(authority)], number)
    blocks += title(lay, "XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ")
    blocks.append(Text(f"{authority} xác nhận thông tin về cư trú của công dân như sau:", gap_before=0.2))
    res_label = tuple(printed(lay, "place_of_residence", text) for text in (
        "Nơi thường trú:", "Nơi thường trú:", "Địa chỉ thường trú:", "Nơi thường trú:", "Nơi cư trú:"))
    items = [
        ("full_name", label(lay, "full_name"), who.upper_name),
        ("date_of_birth", label(lay, "date_of_birth"), dmy(who.birth)),
        ("sex", label(lay, "sex"), who.sex),
        ("personal_id", label(lay, "personal_id"), who.personal_id),
        ("ethnicity", label(lay, "ethnicity"), who.ethnicity),
        ("religion", printed(lay, "religion", "Tôn giáo:"), rng.choice(("Không", "Không", "Phật giáo", "Công giáo"))),
        ("nationality", label(lay, "nationality"), "Việt Nam"),
        ("place_of_residence", res_label[lay.wording % 5], res.line),
        ("current", printed(lay, "current_residence", "Nơi ở hiện tại:"), res.line),
        ("head", printed(lay, "household_head", "Họ, chữ đệm và tên chủ hộ:"), who.upper_name if rng.random() < 0.5
         else facts.full_name(rng, "Nam", who.name.split()[0]).upper()),
    ]
    blocks += arrange(lay, items, frozenset({"sex", "ethnicity", "religion", "nationality"}))
    blocks.append(Text("Xác nhận này có giá trị 30 ngày kể từ ngày cấp.", italic=True, gap_before=0.3))
    blocks.append(date_line(res.commune, issued))
    titles = (Text(upper(f"Trưởng {authority}") if rng.random() < 0.5 else "TRƯỞNG CÔNG AN", align="center",
                   bold=True),)
    blocks.append(Signature(titles, officer(rng), left=(Text("Nơi nhận:", bold=True, scale=0.85),
                                                         Text("- Công dân;", scale=0.85),
                                                         Text("- Lưu: hồ sơ cư trú.", scale=0.85))))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame))


# --- land use certificate ---------------------------------------------------------------------------------

LAND_PURPOSES = ("Đất ở tại nông thôn", "Đất ở tại đô thị", "Đất trồng cây lâu năm", "Đất trồng lúa",
                 "Đất ở tại nông thôn; Đất trồng cây lâu năm", "Đất nuôi trồng thủy sản")
LAND_ORIGINS = ("Nhà nước giao đất có thu tiền sử dụng đất", "Công nhận quyền sử dụng đất",
                "Nhận chuyển nhượng quyền sử dụng đất", "Nhận thừa kế quyền sử dụng đất")


def land_use_certificate(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1940, 1, 1), born_before=date(2000, 1, 1))
    issued = random_date(rng, max(add_years(who.birth, 20), date(2010, 1, 1)), TODAY)
    serial = f"{rng.choice(('AA', 'BĐ', 'CH', 'CS', 'DA', 'DE', 'BX', 'CX'))} {rng.randint(0, 999999):06d}"
    parcel, sheet = str(rng.randint(1, 999)), str(rng.randint(1, 80))
    area = round(rng.uniform(40, 2500), rng.choice((0, 1, 1, 2)))
    area_text = f"{area:.2f}".rstrip("0").rstrip(".")
    land_place = facts.place(rng, issued)
    purpose = rng.choice(LAND_PURPOSES)
    owner_address = who.address_on(rng, issued)
    fields = {
        "certificate_serial": serial,
        "owner_name": who.upper_name,
        "owner_personal_id": who.personal_id,
        "parcel_number": parcel,
        "map_sheet_number": sheet,
        "area_m2": area_text,
        "address": land_place.line,
        "land_use_purpose": purpose,
        "issue_date": issued.isoformat(),
    }
    new_form = issued >= date(2024, 8, 1)
    heading = ("GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU TÀI SẢN GẮN LIỀN VỚI ĐẤT" if new_form else
               "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT")
    blocks: list[Block] = [Text(MOTTO[0], align="center", bold=True), Text(MOTTO[1], align="center", bold=True,
                                                                            underline=True)]
    blocks.append(Text(heading, align="center", bold=True, scale=lay.title_scale * 0.85, gap_before=0.8))
    serial_label = printed(lay, "serial", ("Số phát hành:", "Số seri:", "Số phát hành:", "Seri:",
                                            "Số phát hành:")[lay.wording % 5])
    blocks.append(Text(f"{serial_label} {serial}", align="center", bold=True, gap_before=0.2))
    salutation = "Ông" if who.sex == "Nam" else "Bà"
    blocks.append(Text(printed(lay, "owner_section", "I. Người sử dụng đất, chủ sở hữu tài sản gắn liền với đất"),
                       bold=True, gap_before=0.6))
    id_label = printed(lay, "owner_personal_id", ("CCCD số:", "Số định danh cá nhân:", "CCCD số:", "Số ĐDCN:",
                                                  "Căn cước số:")[lay.wording % 5])
    owner = [("owner_name", printed(lay, "owner_name", f"{salutation}:"), who.upper_name),
             ("birth_year", printed(lay, "birth_year", "Năm sinh:"), str(who.birth.year)),
             ("owner_personal_id", id_label, who.personal_id),
             ("address", printed(lay, "owner_address", "Địa chỉ thường trú:"), owner_address)]
    blocks += arrange(replace(lay, numbered=False, id_first=False), owner, frozenset({"owner_name", "birth_year"}))
    blocks.append(Text("II. Thửa đất, nhà ở và tài sản khác gắn liền với đất", bold=True, gap_before=0.6))
    area_printed = area_text.replace(".", ",") + " m²"
    if lay.index == 3:
        blocks.append(Table(tuple(printed(lay, key, text) for key, text in (
                                ("parcel", "Thửa đất số"), ("map_sheet", "Tờ bản đồ số"), ("area", "Diện tích"),
                                ("purpose", "Mục đích sử dụng"))),
                            ((parcel, sheet, area_printed, purpose),), (0.18, 0.2, 0.22, 0.4),
                            ("center", "center", "center", "left")))
        blocks.append(Field(printed(lay, "land_address_table", "Địa chỉ thửa đất:"), land_place.line))
    else:
        items = [("parcel", "a) " + printed(lay, "parcel", "Thửa đất số:"), parcel),
                 ("sheet", "b) " + printed(lay, "map_sheet", "Tờ bản đồ số:"), sheet),
                 ("address", "c) " + printed(lay, "land_address", "Địa chỉ:"), land_place.line),
                 ("area", "d) " + printed(lay, "area", "Diện tích:"), area_printed),
                 ("form", "đ) " + printed(lay, "use_form", "Hình thức sử dụng:"),
                  rng.choice(("Sử dụng riêng", "Sử dụng chung"))),
                 ("purpose", "e) " + printed(lay, "purpose", "Mục đích sử dụng:"), purpose),
                 ("term", "g) " + printed(lay, "term", "Thời hạn sử dụng:"),
                  "Lâu dài" if "ở" in purpose else f"Đến ngày {dmy(add_years(issued, 50))}"),
                 ("origin", "h) " + printed(lay, "land_origin", "Nguồn gốc sử dụng:"), rng.choice(LAND_ORIGINS))]
        blocks += arrange(replace(lay, numbered=False, id_first=False), items, frozenset({"parcel", "sheet"}))
        if lay.date_words and area == int(area):
            blocks.append(Text(f"(Bằng chữ: {number_words(int(area))} mét vuông)", italic=True, indent=60))
    blocks.append(date_line(land_place.province, issued))
    if rng.random() < 0.5:
        titles = (Text("TM. ỦY BAN NHÂN DÂN", align="center", bold=True), Text("CHỦ TỊCH", align="center", bold=True))
    else:
        titles = (Text("SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" if new_form else "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", align="center",
                       bold=True), Text("GIÁM ĐỐC", align="center", bold=True))
    blocks.append(Signature(titles, officer(rng), left=(Text(f"Số vào sổ cấp GCN: CH {rng.randint(100, 99999):05d}",
                                                             scale=0.9),)))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame or lay.index == 0))


# --- business registration -----------------------------------------------------------------------------

BUSINESS_WORDS = ("An Phát", "Hưng Thịnh", "Minh Long", "Phú Gia", "Thành Công", "Đại Việt", "Hoàng Gia",
                  "Sao Mai", "Tân Tiến", "Việt Hưng", "Bảo Ngọc", "Trường Sơn", "Hải Đăng", "Nam Việt")
BUSINESS_TRADES = ("THƯƠNG MẠI DỊCH VỤ", "XÂY DỰNG", "CÔNG NGHỆ", "VẬN TẢI", "SẢN XUẤT VÀ THƯƠNG MẠI",
                   "ĐẦU TƯ", "NÔNG SẢN", "DU LỊCH")
TRADES_EN = {"THƯƠNG MẠI DỊCH VỤ": "TRADING SERVICE", "XÂY DỰNG": "CONSTRUCTION", "CÔNG NGHỆ": "TECHNOLOGY",
             "VẬN TẢI": "TRANSPORT", "SẢN XUẤT VÀ THƯƠNG MẠI": "PRODUCTION AND TRADING", "ĐẦU TƯ": "INVESTMENT",
             "NÔNG SẢN": "AGRICULTURAL PRODUCTS", "DU LỊCH": "TRAVEL"}
COMPANY_KINDS = (("CÔNG TY TNHH", "COMPANY LIMITED", "CÔNG TY TRÁCH NHIỆM HỮU HẠN MỘT THÀNH VIÊN"),
                 ("CÔNG TY TNHH", "COMPANY LIMITED", "CÔNG TY TRÁCH NHIỆM HỮU HẠN HAI THÀNH VIÊN TRỞ LÊN"),
                 ("CÔNG TY CỔ PHẦN", "JOINT STOCK COMPANY", "CÔNG TY CỔ PHẦN"))


def business_registration(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1955, 1, 1), born_before=date(2000, 1, 1))
    registered = random_date(rng, max(add_years(who.birth, 20), date(2010, 1, 1)), TODAY)
    changed = random_date(rng, registered, TODAY) if rng.random() < 0.5 else None
    short, english, long_kind = rng.choice(COMPANY_KINDS)
    trade, brand = rng.choice(BUSINESS_TRADES), upper(rng.choice(BUSINESS_WORDS))
    name = nfc(f"{short} {trade} {brand}")
    english_name = f"{ascii_fold(brand)} {TRADES_EN[trade]} {english}"
    code = rng.choice(("01", "02", "03", "04", "05", "06", "08", "23", "27", "31", "36", "46")) + \
        "".join(str(rng.randrange(10)) for _ in range(8))
    capital = rng.choice((1, 2, 3, 5, 8, 10, 15, 20, 50)) * 10 ** rng.choice((8, 9))
    office = facts.place(rng, changed or registered, street=True)
    fields = {
        "enterprise_code": code,
        "enterprise_name": name,
        "address": office.line,
        "legal_representative": who.upper_name,
        "charter_capital": group_thousands(capital),
        "registration_date": registered.isoformat(),
    }
    latest = changed or registered
    department = ("SỞ TÀI CHÍNH" if latest >= date(2025, 3, 1) else "SỞ KẾ HOẠCH VÀ ĐẦU TƯ")
    province = office.province.replace("tỉnh ", "TỈNH ").replace("thành phố ", "THÀNH PHỐ ")
    blocks: list[Block] = header(lay, [upper(f"{department} {province}"), "PHÒNG ĐĂNG KÝ KINH DOANH"])
    blocks += title(lay, "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", long_kind)
    blocks.append(Text(f"{printed(lay, 'enterprise_code', 'Mã số doanh nghiệp:')} {code}", align="center", bold=True))
    blocks.append(Text(f"{printed(lay, 'first_registered', 'Đăng ký lần đầu:')} {vn_date_line(registered)}",
                       align="center", italic=True))
    if changed:
        blocks.append(Text(f"Đăng ký thay đổi lần thứ {rng.randint(1, 6)}: {vn_date_line(changed)}", align="center",
                           italic=True))
    num = lay.numbered or lay.index % 2 == 0
    p = (lambda n, s: f"{n}. {s}") if num else (lambda n, s: s)
    blocks.append(Text(p(1, printed(lay, "name_section", "Tên công ty")), bold=True, gap_before=0.5))
    blocks.append(Field(printed(lay, "name_vi", "Tên công ty viết bằng tiếng Việt:"), name))
    blocks.append(Field(printed(lay, "name_foreign", "Tên công ty viết bằng tiếng nước ngoài:"), english_name))
    blocks.append(Field(printed(lay, "name_short", "Tên công ty viết tắt:"), f"{ascii_fold(brand).replace(' ', '')} CO., LTD"
                        if "TNHH" in short else f"{ascii_fold(brand).replace(' ', '')} JSC"))
    blocks.append(Field(p(2, printed(lay, "head_office", "Địa chỉ trụ sở chính:")), office.line, gap_before=0.3))
    phone = "0" + rng.choice(("24", "28", "236", "9", "3", "8")) + "".join(str(rng.randrange(10)) for _ in range(7))
    blocks.append(Pair(Field("Điện thoại:", phone, bold_value=False),
                       Field("Email:", f"lienhe@{ascii_fold(brand).replace(' ', '').lower()}.vn", bold_value=False)))
    blocks.append(Field(p(3, printed(lay, "capital", "Vốn điều lệ:")), f"{group_thousands(capital)} đồng",
                        gap_before=0.3))
    blocks.append(Field("Bằng chữ:", f"{number_words(capital).capitalize()} đồng", bold_value=False))
    blocks.append(Text(p(4, printed(lay, "representative", "Người đại diện theo pháp luật của công ty")), bold=True,
                       gap_before=0.3))
    rep = [("name", "* " + printed(lay, "representative_name", "Họ và tên:"), who.upper_name),
           ("sex", label(lay, "sex"), who.sex),
           ("role", printed(lay, "role", "Chức danh:"),
            rng.choice(("Giám đốc", "Tổng giám đốc", "Chủ tịch Hội đồng thành viên"))),
           ("date_of_birth", printed(lay, "representative_birth", "Sinh ngày:"), dmy(who.birth)),
           ("ethnicity", printed(lay, "ethnicity", "Dân tộc:"), who.ethnicity),
           ("nationality", printed(lay, "nationality", "Quốc tịch:"), "Việt Nam"),
           ("personal_id", label(lay, "personal_id"), who.personal_id),
           ("residence", printed(lay, "representative_residence", "Địa chỉ thường trú:"),
            who.address_on(rng, latest))]
    blocks += arrange(replace(lay, numbered=False), rep, frozenset({"name", "sex", "date_of_birth", "ethnicity",
                                                                     "nationality", "role"}))
    titles = (Text("TRƯỞNG PHÒNG", align="center", bold=True),)
    blocks.append(Signature(titles, officer(rng), gap_before=0.6))
    return Draft(fields, render(lay, [blocks], rng, frame=lay.frame))


# --- application form -------------------------------------------------------------------------------------

FORMS = (
    ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh"),
    ("TỜ KHAI ĐĂNG KÝ KẾT HÔN", "Đăng ký kết hôn"),
    ("TỜ KHAI ĐĂNG KÝ KHAI TỬ", "Đăng ký khai tử"),
    ("TỜ KHAI CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH", "Cấp bản sao trích lục hộ tịch"),
    ("ĐƠN ĐỀ NGHỊ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH", "Chứng thực bản sao từ bản chính giấy tờ, văn bản"),
    ("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "Đăng ký thường trú"),
    ("ĐƠN ĐĂNG KÝ, CẤP GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu"),
    ("TỜ KHAI ĐỀ NGHỊ CẤP CĂN CƯỚC", "Cấp thẻ căn cước"),
)
ATTACHMENTS = ("Bản sao Giấy khai sinh", "Bản sao thẻ Căn cước", "Giấy xác nhận thông tin về cư trú",
               "Giấy chứng sinh", "Giấy chứng nhận kết hôn", "Giấy báo tử", "Hợp đồng chuyển nhượng",
               "Sơ đồ thửa đất", "Ảnh chân dung 4x6")


def application_form(rng: random.Random, lay: Layout, who: Person | None = None, *, pages: int | None = None) -> Draft:
    who = who or facts.person(rng, born_after=date(1945, 1, 1), born_before=date(2006, 1, 1))
    form_title, procedure = rng.choice(FORMS)
    signed = random_date(rng, TODAY - timedelta(days=120), TODAY)
    office = facts.place(rng, signed, commune_only=True)
    fields = {
        "form_title": form_title,
        "applicant_name": who.upper_name,
        "applicant_personal_id": who.personal_id,
        "procedure_name": procedure,
        "date": signed.isoformat(),
    }
    value_ink = BLUE if rng.random() < 0.5 else None
    head: list[Block] = [Text(MOTTO[0], align="center", bold=True), Text(MOTTO[1], align="center", bold=True,
                                                                          underline=True)]
    if lay.header == "columns" and rng.random() < 0.5:
        head.insert(0, Text(f"Mẫu số {rng.randint(1, 12):02d}/{rng.choice(('TTHC', 'HT', 'CT', 'ĐK'))}",
                            align="right", italic=True, scale=0.85))
    page1: list[Block] = [*head, *title(lay, form_title)]
    page1.append(Text(f"Kính gửi: {ubnd(office)}", align="center" if lay.index % 2 == 0 else "left"))
    proc_label = printed(lay, "procedure", ("Thủ tục đề nghị giải quyết:", "Tên thủ tục hành chính:",
                                             "Nội dung đề nghị:", "Thủ tục:",
                                             "Đề nghị giải quyết thủ tục:")[lay.wording % 5])
    phone = "0" + rng.choice(("9", "3", "8", "7")) + "".join(str(rng.randrange(10)) for _ in range(8))
    name_label = printed(lay, "applicant_name", label(lay, "full_name", suffix=" người yêu cầu")
                         if lay.wording != 2 else "Họ tên người khai:")
    items = [("applicant_name", name_label, who.upper_name),
             ("date_of_birth", label(lay, "date_of_birth"), dmy(who.birth)),
             ("sex", label(lay, "sex"), who.sex),
             ("applicant_personal_id", label(lay, "personal_id"), who.personal_id),
             ("residence", label(lay, "residence"), who.residence.line),
             ("phone", label(lay, "phone"), phone),
             ("procedure_name", proc_label, procedure)]
    page1 += arrange(lay, items, frozenset({"date_of_birth", "sex"}))
    relation = rng.choice(("Bản thân", "Cha", "Mẹ", "Con", "Vợ", "Chồng", "Người được ủy quyền"))
    page1.append(Field(printed(lay, "relation", "Quan hệ với người được cấp giấy tờ:"), relation, bold_value=False))
    subject = facts.person(rng)
    page1.append(Field(printed(lay, "subject_name", "Họ, chữ đệm, tên người được cấp giấy tờ:"), subject.upper_name if relation != "Bản thân"
                       else who.upper_name))
    page1.append(Field(printed(lay, "copies", "Số lượng bản sao đề nghị cấp:"), f"{rng.randint(1, 5):02d} bản", bold_value=False))
    tail: list[Block] = [Text("Giấy tờ kèm theo:", bold=True, gap_before=0.4)]
    for n, item in enumerate(rng.sample(ATTACHMENTS, rng.randint(2, 4)), 1):
        tail.append(Text(f"{n}. {item}", indent=60))
    tail.append(Text("Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước pháp "
                     "luật về cam đoan của mình.", gap_before=0.4))
    tail.append(date_line(office.commune, signed))
    tail.append(Signature((Text("NGƯỜI YÊU CẦU", align="center", bold=True),
                           Text("(Ký, ghi rõ họ, chữ đệm, tên)", align="center", italic=True, scale=0.9)),
                          who.upper_name, seal=False))
    two = pages == 2 if pages is not None else rng.random() < 0.4
    if two:
        extra = [Text("Phần ghi chú của cơ quan tiếp nhận", bold=True, gap_before=0.2),
                 Field("Ngày tiếp nhận:", dmy(signed), bold_value=False),
                 Field("Người tiếp nhận:", officer(rng).upper(), bold_value=False),
                 Field("Mã hồ sơ:", f"H{rng.randint(10, 99)}.{rng.randint(10, 99)}-{signed:%y%m%d}-"
                       f"{rng.randint(1, 9999):04d}", bold_value=False)]
        layout_pages = [page1, tail + extra]
    else:
        layout_pages = [page1 + tail]
    return Draft(fields, render(lay, layout_pages, rng, value_ink=value_ink))


# --- other (non-administrative papers) ------------------------------------------------------------------

SHOP_ITEMS = (("Gạo ST25", "kg", 32000), ("Dầu ăn Tường An 1 lít", "chai", 52000), ("Nước mắm Nam Ngư", "chai", 38000),
              ("Đường trắng", "kg", 24000), ("Sữa tươi Vinamilk", "hộp", 8000), ("Trứng gà", "quả", 3500),
              ("Mì Hảo Hảo", "gói", 4500), ("Cà phê G7", "hộp", 56000), ("Bột giặt Omo 3kg", "túi", 165000),
              ("Nước suối Lavie", "thùng", 98000), ("Bánh quy Cosy", "hộp", 45000), ("Xà phòng Lifebuoy", "bánh", 15000))
MENU_ITEMS = (("Phở bò tái", 55000), ("Bún chả Hà Nội", 50000), ("Cơm tấm sườn bì", 45000), ("Bánh mì pate", 25000),
              ("Bún bò Huế", 55000), ("Cà phê sữa đá", 25000), ("Trà đá", 5000), ("Nước cam ép", 35000),
              ("Sinh tố bơ", 40000), ("Chả giò", 45000), ("Gỏi cuốn tôm thịt", 40000), ("Mì Quảng", 50000))


NOTICES = (
    ("LỊCH CẮT NƯỚC", ("Để phục vụ công tác bảo dưỡng bể chứa, nước sinh hoạt sẽ tạm ngừng cung cấp từ "
                       "8 giờ đến 17 giờ ngày {d}. Đề nghị các hộ chủ động dự trữ nước.")),
    ("HỌP PHỤ HUYNH", ("Kính mời quý phụ huynh đến dự buổi họp cuối học kỳ vào lúc 7 giờ 30 phút ngày {d} "
                       "tại phòng học của lớp.")),
    ("TẬP LUYỆN BUỔI SÁNG", ("Từ ngày {d}, buổi tập sáng chuyển sang 5 giờ 30 phút tại sân nhà văn hóa. "
                             "Hội viên mang theo thảm tập và nước uống.")),
    ("VỆ SINH KHU VỰC", ("Ngày {d} toàn khu tổ chức tổng vệ sinh, phun thuốc diệt muỗi. Các hộ kinh doanh "
                         "thu dọn hàng hóa trước 6 giờ sáng.")),
)


def other(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    kind = rng.choice(("letter", "invoice", "notice", "price_list", "electricity_bill", "prescription"))
    when = random_date(rng, TODAY - timedelta(days=500), TODAY)
    person_a = who or facts.person(rng)
    place = facts.place(rng, when, street=True)
    blocks: list[Block]
    if kind == "letter":
        friend = facts.full_name(rng, rng.choice(("Nam", "Nữ")))
        given = friend.split()[-1]
        blocks = [Text(f"{place.province.replace('tỉnh ', '').replace('Thành phố ', '')}, {vn_date_line(when)}",
                       align="right", italic=True),
                  Text(f"{rng.choice(('Thân gửi', 'Gửi', 'Thương gửi'))} {given},", bold=True, gap_before=1.0)]
        sentences = (
            "Lâu lắm rồi mình mới có dịp ngồi viết thư cho bạn.",
            "Dạo này công việc ở cơ quan khá bận nên mình ít khi về quê.",
            "Bố mẹ mình vẫn khỏe, chiều nào cũng ra vườn chăm mấy luống rau.",
            "Tháng sau lớp mình tổ chức họp mặt ở nhà cô chủ nhiệm, bạn nhớ thu xếp về nhé.",
            "Mình gửi kèm theo thư mấy tấm ảnh chụp hôm đám cưới anh Hai.",
            "Trời dạo này trở lạnh, bạn nhớ giữ gìn sức khỏe.",
            "Nếu có dịp vào thành phố thì ghé nhà mình chơi, mình sẽ dẫn đi ăn món bạn thích.",
            "Cháu nhỏ nhà mình đã vào lớp một, ngày nào cũng đòi đọc truyện.",
        )
        paras = rng.sample(sentences, 6)
        blocks += [Text(" ".join(paras[i:i + 2]), indent=80, gap_before=0.3) for i in range(0, 6, 2)]
        blocks += [Text("Thân mến,", align="right", italic=True, gap_before=0.8),
                   Text(person_a.name, align="right", bold=True, gap_before=2.0)]
    elif kind == "invoice":
        shop = f"CỬA HÀNG TẠP HÓA {upper(rng.choice(BUSINESS_WORDS))}"
        chosen = rng.sample(SHOP_ITEMS, rng.randint(4, 8))
        rows, total = [], 0
        for n, (item, unit, price) in enumerate(chosen, 1):
            qty = rng.randint(1, 10)
            total += qty * price
            rows.append((str(n), item, unit, str(qty), group_thousands(price), group_thousands(qty * price)))
        blocks = [Text(shop, align="center", bold=True, scale=1.2), Text(f"Địa chỉ: {place.line}", align="center"),
                  Text(f"Điện thoại: 09{rng.randint(10000000, 99999999)}", align="center"),
                  Text("HÓA ĐƠN BÁN LẺ", align="center", bold=True, scale=lay.title_scale, gap_before=0.8),
                  Text(f"Ngày {dmy(when)}", align="center", italic=True),
                  Text(f"Khách hàng: {person_a.name}", gap_before=0.5),
                  Table(("STT", "Tên hàng", "ĐVT", "SL", "Đơn giá", "Thành tiền"), tuple(rows),
                        (0.07, 0.37, 0.1, 0.08, 0.18, 0.2), ("center", "left", "center", "center", "right", "right")),
                  Text(f"Tổng cộng: {group_thousands(total)} đồng", align="right", bold=True, gap_before=0.3),
                  Text(f"Bằng chữ: {number_words(total).capitalize()} đồng", italic=True),
                  Text("Cảm ơn quý khách, hẹn gặp lại!", align="center", italic=True, gap_before=1.0)]
    elif kind == "notice":
        org = rng.choice(("BAN QUẢN LÝ TÒA NHÀ", "BAN ĐẠI DIỆN CHA MẸ HỌC SINH", "CÂU LẠC BỘ DƯỠNG SINH",
                          "BAN QUẢN LÝ CHỢ"))
        event = rng.choice(NOTICES)
        blocks = [Text(org, align="center", bold=True), Text(upper(place.commune), align="center"),
                  Text("THÔNG BÁO", align="center", bold=True, scale=lay.title_scale, gap_before=1.0),
                  Text(f"V/v {event[0].lower()}", align="center", italic=True),
                  Text(event[1].format(d=dmy(when)), indent=80, gap_before=0.6),
                  Text("Mọi thắc mắc xin liên hệ số điện thoại "
                       f"09{rng.randint(10000000, 99999999)} trong giờ hành chính.", indent=80, gap_before=0.3),
                  Text("Trân trọng thông báo!", italic=True, indent=80, gap_before=0.3),
                  Text(org.title(), align="right", bold=True, gap_before=1.0),
                  Text(person_a.name, align="right", gap_before=1.6)]
    elif kind == "electricity_bill":
        blocks = _electricity_bill(rng, lay, person_a, place, when)
    elif kind == "prescription":
        blocks = _prescription(rng, lay, person_a, place, when)
    else:
        shop = f"QUÁN {upper(rng.choice(BUSINESS_WORDS))}"
        chosen = rng.sample(MENU_ITEMS, rng.randint(6, 10))
        rows = tuple((str(n), item, group_thousands(price)) for n, (item, price) in enumerate(chosen, 1))
        blocks = [Text(shop, align="center", bold=True, scale=1.4),
                  Text(place.line, align="center", italic=True),
                  Text("BẢNG GIÁ", align="center", bold=True, scale=lay.title_scale, gap_before=1.0),
                  Text(f"Áp dụng từ ngày {dmy(when)}", align="center", italic=True),
                  Table(("STT", "Món", "Giá (đồng)"), rows, (0.12, 0.58, 0.3), ("center", "left", "right")),
                  Text("Giá trên đã bao gồm thuế giá trị gia tăng.", italic=True, gap_before=0.5)]
    return Draft({}, render(lay, [blocks], rng))



def _electricity_bill(rng: random.Random, lay: Layout, who: Person, place: facts.Place, when: date) -> list[Block]:
    """A household electricity bill: often handed in as proof of address, yet not an administrative paper."""
    old = rng.randint(1000, 30000)
    used = rng.randint(60, 650)
    tiers = ((50, 1893), (50, 1956), (100, 2271), (100, 2860), (100, 3197), (10**6, 3302))
    rows, left, total = [], used, 0
    for n, (size, price) in enumerate(tiers, 1):
        if left <= 0:
            break
        kwh = min(size, left)
        left -= kwh
        total += kwh * price
        rows.append((f"Bậc {n}", str(kwh), group_thousands(price), group_thousands(kwh * price)))
    vat = round(total * 0.08)
    start = (when.replace(day=1) - timedelta(days=1)).replace(day=rng.randint(10, 20))
    return [Text("TỔNG CÔNG TY ĐIỆN LỰC", align="center", bold=True),
            Text(f"CÔNG TY ĐIỆN LỰC {upper(place.province.split(' ', 1)[1])}", align="center"),
            Text("HÓA ĐƠN GTGT (TIỀN ĐIỆN)", align="center", bold=True, scale=lay.title_scale, gap_before=0.8),
            Text(f"Kỳ: {when.month}/{when.year} từ ngày {dmy(start)} đến ngày {dmy(when)}", align="center",
                 italic=True),
            Field("Khách hàng:", who.upper_name, gap_before=0.5),
            Field("Địa chỉ:", place.line, bold_value=False),
            Field("Mã khách hàng:", f"PE{rng.randint(10, 99)}000{rng.randint(100000, 999999)}", bold_value=False),
            Pair(Field("Chỉ số cũ:", str(old), bold_value=False), Field("Chỉ số mới:", str(old + used),
                                                                       bold_value=False)),
            Field("Điện năng tiêu thụ:", f"{used} kWh"),
            Table(("Bậc", "Sản lượng (kWh)", "Đơn giá", "Thành tiền"), tuple(rows), (0.2, 0.26, 0.24, 0.3),
                  ("left", "right", "right", "right")),
            Field("Thuế GTGT 8%:", f"{group_thousands(vat)} đồng", bold_value=False, gap_before=0.3),
            Field("Tổng cộng tiền thanh toán:", f"{group_thousands(total + vat)} đồng"),
            Text(f"Số tiền viết bằng chữ: {number_words(total + vat).capitalize()} đồng", italic=True),
            Text("Quý khách vui lòng thanh toán trong vòng 7 ngày kể từ ngày nhận được thông báo.", scale=0.9,
                 gap_before=0.6)]


MEDICINES = (("Paracetamol 500mg", "viên", "Uống 1 viên khi sốt, cách nhau 6 giờ"),
             ("Amoxicillin 500mg", "viên", "Uống 2 viên/ngày, sáng 1 viên, tối 1 viên sau ăn"),
             ("Vitamin C 500mg", "viên", "Uống 1 viên/ngày sau ăn sáng"),
             ("Omeprazol 20mg", "viên", "Uống 1 viên trước ăn sáng 30 phút"),
             ("Siro ho Bảo Thanh", "chai", "Uống 10 ml/lần, ngày 3 lần"),
             ("Loratadin 10mg", "viên", "Uống 1 viên buổi tối"),
             ("Oresol", "gói", "Pha 1 gói với 200 ml nước, uống trong ngày"))


def _prescription(rng: random.Random, lay: Layout, who: Person, place: facts.Place, when: date) -> list[Block]:
    """A clinic's prescription ("đơn thuốc"): shares the word "đơn" with application forms."""
    clinic = rng.choice(("PHÒNG KHÁM ĐA KHOA", "BỆNH VIỆN ĐA KHOA", "TRẠM Y TẾ"))
    age = when.year - who.birth.year
    blocks: list[Block] = [
        Text(f"{clinic} {upper(place.commune.split(' ', 1)[1])}", bold=True),
        Text(f"Địa chỉ: {place.line}", scale=0.9),
        Text("ĐƠN THUỐC", align="center", bold=True, scale=lay.title_scale, gap_before=0.8),
        Field("Họ tên người bệnh:", who.upper_name, gap_before=0.4),
        Pair(Field("Tuổi:", str(age), bold_value=False), Field("Giới tính:", who.sex, bold_value=False)),
        Field("Chẩn đoán:", rng.choice(("Viêm họng cấp", "Cảm cúm", "Viêm dạ dày", "Viêm mũi dị ứng",
                                         "Rối loạn tiêu hóa")), bold_value=False),
        Text("Thuốc điều trị:", bold=True, gap_before=0.3),
    ]
    for n, (name, unit, usage) in enumerate(rng.sample(MEDICINES, rng.randint(2, 4)), 1):
        blocks.append(Text(f"{n}. {name}    Số lượng: {rng.randint(5, 30)} {unit}", indent=40))
        blocks.append(Text(usage, italic=True, indent=100, scale=0.95))
    blocks += [Text(f"Lời dặn: {rng.choice(('Tái khám sau 7 ngày', 'Uống nhiều nước, nghỉ ngơi', 'Ăn nhẹ, tránh đồ cay'))}.",
                    gap_before=0.4),
               Text(f"Ngày {dmy(when)}", align="right", italic=True, gap_before=0.5),
               Text("Bác sĩ khám bệnh", align="right", bold=True),
               Text(f"BS. {facts.full_name(rng, rng.choice(('Nam', 'Nữ')))}", align="right", gap_before=2.2)]
    return blocks
