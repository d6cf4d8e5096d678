"""Citizen identity cards (CCCD 2021, Căn cước 2024) as card images or A4 photocopies.

Reception sees both: a phone or flatbed image of the card itself (85.6 × 54 mm, about 1012 × 638
pixels at 300 dpi, text near 7 pt) and an A4 photocopy with front and back, often enlarged. The
card's text is laid out with the same engine as the A4 pages so its ground truth is exact; the
photo, emblem, QR code and fingerprints are pictures and print no text.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date

import numpy as np
import qrcode
from PIL import Image, ImageChops, ImageDraw

from core.model import nfc
from samples import facts
from samples.documents import Draft, RenderedPage
from samples.facts import TODAY, Person, add_years, dmy, random_date
from samples.render import Columns, Field, PageSpec, Pair, Text, merge_rows, render_page_rows
from samples.wording import Layout, ascii_fold, printed

CARD_W, CARD_H = 1012, 638
CARD_PAPER = (232, 240, 238)
CARD_INK = (30, 30, 40)
RED = (190, 30, 35)

FEATURES = ("Nốt ruồi C:1cm trên trước đầu lông mày phải", "Sẹo chấm C:2cm dưới sau đuôi mắt trái",
            "Nốt ruồi C:1,5cm dưới sau cánh mũi trái", "Sẹo chấm C:1cm trên trước đầu mày trái")


def expiry_for(birth: date, issued: date) -> date | None:
    """Cards expire at 25, 40 and 60; one issued within two years of a milestone runs to the next."""
    for age in (25, 40, 60):
        milestone = add_years(birth, age)
        if milestone > add_years(issued, 2):
            return milestone
    return None


def cccd(rng: random.Random, lay: Layout, who: Person | None = None) -> Draft:
    design = 2024 if lay.index in (2, 3) else 2021
    start, end = (date(2024, 7, 1), TODAY) if design == 2024 else (date(2021, 1, 1), date(2024, 6, 30))
    if who is None:
        issued = random_date(rng, start, end)
        who = facts.person(rng, born_after=add_years(issued, -55), born_before=add_years(issued, -15))
    else:
        issued = random_date(rng, max(start, add_years(who.birth, 14)), end)
    expiry = expiry_for(who.birth, issued)
    # The card prints the address in force when it was issued (three levels before the 2025 reform).
    who = replace(who, residence=replace(who.residence, line=who.address_on(rng, issued)))
    origin = who.place_of_origin.line
    fields = {
        "personal_id": who.personal_id,
        "full_name": who.upper_name,
        "date_of_birth": who.birth.isoformat(),
        "sex": who.sex,
        "nationality": "Việt Nam",
        "place_of_origin": origin,
        "place_of_residence": who.residence.line,
        "date_of_expiry": expiry.isoformat() if expiry else "",
    }
    sides = (_front_2021, _back_2021) if design == 2021 else (_front_2024, _back_2024)
    front = sides[0](rng, who, issued, expiry, lay)
    back = sides[1](rng, who, issued, expiry, lay)
    if lay.index == 0:
        pages = (_on_background(front, rng),)
    elif lay.index == 3:
        pages = (_stack_cards([front[0], back[0]], front[1] + back[1], rng),)
    else:
        pages = (_photocopy(front, back, rng, enlarge=1.4 if lay.index == 4 else 1.0),)
    return Draft(fields, pages, qr_payloads=(qr_payload(who, issued),))


# --- composition -------------------------------------------------------------------------------------


def _rounded(card: np.ndarray, background: tuple[int, int, int]) -> Image.Image:
    image = Image.fromarray(card)
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=36, fill=255)
    base = Image.new("RGB", image.size, background)
    base.paste(image, (0, 0), mask)
    ImageDraw.Draw(base).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=36,
                                           outline=(170, 175, 175), width=2)
    return base


def _on_background(card: RenderedPage, rng: random.Random) -> RenderedPage:
    """The card alone, loosely cropped on the scanner's white lid."""
    margin = 36
    canvas = Image.new("RGB", (CARD_W + 2 * margin, CARD_H + 2 * margin), (248, 248, 246))
    canvas.paste(_rounded(card[0], (248, 248, 246)), (margin, margin))
    return np.asarray(canvas), card[1]


def _stack_cards(images: list[np.ndarray], lines: list[str], rng: random.Random) -> RenderedPage:
    margin, gap = 36, 60
    canvas = Image.new("RGB", (CARD_W + 2 * margin, 2 * CARD_H + gap + 2 * margin), (248, 248, 246))
    for i, image in enumerate(images):
        canvas.paste(_rounded(image, (248, 248, 246)), (margin, margin + i * (CARD_H + gap)))
    return np.asarray(canvas), lines


def _photocopy(front: RenderedPage, back: RenderedPage, rng: random.Random, enlarge: float) -> RenderedPage:
    """Front above back on an A4 sheet, copied in grey as a photocopier does; most such copies
    handed in carry a commune's certification stamp below the cards."""
    page = Image.new("RGB", (2480, 3508), (255, 255, 255))
    w, h = round(CARD_W * enlarge), round(CARD_H * enlarge)
    x = (2480 - w) // 2 + rng.randint(-120, 120)
    y = rng.randint(250, 420)
    for image in (front[0], back[0]):
        card = _rounded(image, (255, 255, 255)).resize((w, h), Image.Resampling.LANCZOS) if enlarge != 1 else \
            _rounded(image, (255, 255, 255))
        grey = card.convert("L").point(lambda v: max(0, min(255, int((v - 40) * 1.25))))
        page.paste(grey.convert("RGB"), (x, y))
        y += h + rng.randint(120, 260)
    lines = front[1] + back[1]
    if rng.random() < 0.7 and y < 3508 - 900:
        stamp, stamp_lines = _certification_stamp(rng)
        sx = rng.randint(250, 2480 - stamp.shape[1] - 200)
        region = page.crop((sx, y, sx + stamp.shape[1], y + stamp.shape[0]))
        page.paste(ImageChops.darker(region, Image.fromarray(stamp)), (sx, y))
        lines += stamp_lines
    return np.asarray(page), lines


STAMP_INK = (150, 30, 90)  # the purple-red of a rubber stamp pad


def _certification_stamp(rng: random.Random) -> RenderedPage:
    """"Chứng thực bản sao đúng với bản chính": a boxed rubber stamp, a number, a date and a signature."""
    day = random_date(rng, TODAY.replace(year=TODAY.year - 1), TODAY)
    commune = facts.place(rng, day, commune_only=True)
    blocks = [
        Text("CHỨNG THỰC BẢN SAO ĐÚNG VỚI BẢN CHÍNH", align="center", bold=True),
        Text(f"Số chứng thực: {rng.randint(1, 9999)}    Quyển số: {rng.randint(1, 9):02d}/{day.year}-SCT/BS",
             align="center", scale=0.9),
        Text(f"{commune.commune.split(' ', 1)[1]}, {facts.vn_date_line(day)}", align="center", italic=True,
             scale=0.9, gap_before=0.35),
        Text("CÔNG CHỨC TƯ PHÁP - HỘ TỊCH" if rng.random() < 0.5 else "KT. CHỦ TỊCH", align="center", bold=True,
             scale=0.9, gap_before=0.2),
        Text(facts.full_name(rng, rng.choice(("Nam", "Nữ"))), align="center", bold=True, gap_before=2.6),
    ]
    spec = PageSpec(blocks=tuple(blocks), width=1500, height=640, margins=(30, 24, 30, 10), family="dejavu-serif",
                    size=42, spacing=1.35, ink=STAMP_INK)
    image, rows = render_page_rows(spec, rng)
    stamp = Image.fromarray(image)
    draw = ImageDraw.Draw(stamp)
    bottom = round(rows[1][0] + spec.size * 0.45)  # the box holds the stamp's first two lines
    draw.rectangle((8, 8, 1492, bottom), outline=STAMP_INK, width=5)
    draw.line((560, 470, 700, 420, 760, 480, 900, 430, 940, 470), fill=(30, 40, 120), width=5)
    return np.asarray(stamp), [line for _, line in rows]


class _Card:
    """A card face being printed: pictures drawn directly, text regions laid out by the page engine
    and pasted; its text is the regions' lines merged by baseline into visual lines."""

    def __init__(self) -> None:
        self.image = Image.new("RGB", (CARD_W, CARD_H), CARD_PAPER)
        self.draw = ImageDraw.Draw(self.image)
        for k in range(0, CARD_W + CARD_H, 22):  # faint guilloche-like diagonal lines
            self.draw.line((k, 0, k - CARD_H, CARD_H), fill=(222, 232, 230), width=2)
        self.pieces: list[tuple[float, float, str]] = []

    def text(self, blocks, xy: tuple[int, int], width: int, height: int, size: int, *,
             family: str = "dejavu-sans", spacing: float = 1.32) -> None:
        spec = PageSpec(blocks=tuple(blocks), width=width, height=height, margins=(0, 0, 0, 0), family=family,
                        size=size, spacing=spacing, ink=CARD_INK, paper=CARD_PAPER)
        region, rows = render_page_rows(spec, random.Random(0))
        x, y = xy
        # Ink darkens; the region's plain paper leaves the card's pattern alone.
        patch = self.image.crop((x, y, x + width, y + height))
        self.image.paste(ImageChops.darker(patch, Image.fromarray(region)), xy)
        self.pieces += [(y + baseline, x, line) for baseline, line in rows if line]

    def finish(self) -> RenderedPage:
        return np.asarray(self.image), merge_rows(self.pieces, tolerance=6)


def _emblem(draw: ImageDraw.ImageDraw, centre: tuple[int, int], r: int) -> None:
    cx, cy = centre
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=RED, outline=(200, 160, 40), width=5)
    star = []
    for k in range(10):
        rr = r * (0.55 if k % 2 == 0 else 0.22)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(star, fill=(245, 210, 40))


def _photo(card: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> None:
    draw = ImageDraw.Draw(card)
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(205, 215, 225))
    w, h = x1 - x0, y1 - y0
    tone = rng.randint(150, 190)
    draw.ellipse((x0 + w * 0.28, y0 + h * 0.12, x0 + w * 0.72, y0 + h * 0.58), fill=(tone, tone - 25, tone - 45))
    draw.ellipse((x0 + w * 0.05, y0 + h * 0.62, x0 + w * 0.95, y0 + h * 1.3), fill=(50, 55, 70))
    draw.rectangle((x0, y1, x1, y1 + 4), fill=CARD_PAPER)


def _qr(card: Image.Image, payload: str, xy: tuple[int, int], size: int) -> None:
    qr = qrcode.QRCode(border=1, box_size=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(payload)
    image = qr.make_image(fill_color="black", back_color="white").convert("RGB")
    card.paste(image.resize((size, size), Image.Resampling.NEAREST), xy)


def qr_payload(who: Person, issued: date) -> str:
    """The chip card's QR text: ID|old ID|name|birth ddmmyyyy|sex|residence|issue ddmmyyyy."""
    return nfc(f"{who.personal_id}||{who.name}|{who.birth:%d%m%Y}|{who.sex}|{who.residence.line}|{issued:%d%m%Y}")


def _check_digit(text: str) -> str:
    """ICAO 9303 check digit (weights 7, 3, 1; letters A=10…; filler 0)."""
    total = 0
    for i, c in enumerate(text):
        value = int(c) if c.isdigit() else (ord(c) - 55 if c.isalpha() else 0)
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


def _mrz(who: Person, expiry: date | None) -> list[str]:
    """The three 30-character lines of a TD1 card's machine-readable zone."""
    names = ascii_fold(who.name).upper().split()
    name = f"{names[0]}<<{'<'.join(names[1:])}"
    number = who.personal_id[3:]
    line1 = f"IDVNM{number}{_check_digit(number)}{who.personal_id}<<"
    birth = f"{who.birth:%y%m%d}"
    exp = f"{expiry:%y%m%d}" if expiry else "<<<<<<"
    line2 = f"{birth}{_check_digit(birth)}{'M' if who.sex == 'Nam' else 'F'}{exp}{_check_digit(exp)}VNM"
    line2 = line2.ljust(29, "<")
    line2 += _check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return [line1 + _check_digit(line1[5:]), line2, name[:30].ljust(30, "<")]


def _header_blocks(title: str, subtitle: str) -> list:
    return [Text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="center", bold=True),
            Text("SOCIALIST REPUBLIC OF VIET NAM", align="center", scale=0.85),
            Text("Độc lập - Tự do - Hạnh phúc", align="center", bold=True, scale=0.95),
            Text("Independence - Freedom - Happiness", align="center", scale=0.85),
            Text(title, align="center", bold=True, scale=1.45, gap_before=0.15),
            Text(subtitle, align="center", italic=True, scale=0.9)]


def _front_2021(rng: random.Random, who: Person, issued: date, expiry: date | None, lay: Layout) -> RenderedPage:
    card = _Card()
    _emblem(card.draw, (80, 80), 52)
    _qr(card.image, qr_payload(who, issued), (CARD_W - 170, 22), 148)
    card.text(_header_blocks("CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card"), (150, 14), 660, 225, 21)
    _photo(card.image, (36, 250, 236, 500), rng)
    exp_text = dmy(expiry) if expiry else "Không thời hạn"
    card.text([Text(printed(lay, "date_of_expiry", "Có giá trị đến:"), scale=0.9),
               Text("Date of expiry", italic=True, scale=0.85),
               Text(exp_text, bold=True)], (30, 520), 220, 110, 22)
    card.text([Field(printed(lay, "personal_id", "Số / No.:"), who.personal_id, scale=1.25),
               Text(printed(lay, "full_name", "Họ và tên / Full name:")), Text(who.upper_name, bold=True, scale=1.15),
               Field(printed(lay, "date_of_birth", "Ngày sinh / Date of birth:"), dmy(who.birth)),
               Field(printed(lay, "sex", "Giới tính / Sex:"), who.sex),
               Field(printed(lay, "nationality", "Quốc tịch / Nationality:"), "Việt Nam"),
               Text(printed(lay, "place_of_origin", "Quê quán / Place of origin:")),
               Text(who.place_of_origin.line, bold=True),
               Field(printed(lay, "place_of_residence", "Nơi thường trú / Place of residence:"), who.residence.line)],
              (258, 244), 740, 385, 21)
    return card.finish()


def _back_2021(rng: random.Random, who: Person, issued: date, expiry: date | None, lay: Layout) -> RenderedPage:
    card = _Card()
    for i, x in enumerate((640, 830)):
        card.draw.rounded_rectangle((x, 40, x + 160, 250), radius=12, outline=(120, 120, 120), width=2)
        cx, cy = x + 80, 150
        for r in range(8, 70, 9):
            card.draw.arc((cx - r * 0.8, cy - r, cx + r * 0.8, cy + r), 200 + i * 20, 520 + i * 20,
                          fill=(90, 90, 90), width=3)
    card.text([Columns((Text("Ngón trỏ trái", align="center", scale=0.8),
                        Text("Left index finger", align="center", italic=True, scale=0.75)),
                       (Text("Ngón trỏ phải", align="center", scale=0.8),
                        Text("Right index finger", align="center", italic=True, scale=0.75)), split=0.5)],
              (610, 256), 400, 70, 19)
    signer = facts.full_name(rng, "Nam")
    card.text([Text("Đặc điểm nhân dạng / Personal identification:", scale=0.9),
               Text(rng.choice(FEATURES), bold=True, scale=0.95),
               Text(f"Ngày, tháng, năm / Date, month, year: {dmy(issued)}", scale=0.9, gap_before=0.2),
               Text("CỤC TRƯỞNG CỤC CẢNH SÁT", align="center", bold=True, scale=0.9, gap_before=0.2),
               Text("QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", align="center", bold=True, scale=0.9),
               Text("DIRECTOR GENERAL OF THE POLICE DEPARTMENT", align="center", scale=0.75),
               Text("FOR ADMINISTRATIVE MANAGEMENT OF SOCIAL ORDER", align="center", scale=0.75),
               Text(signer, align="center", bold=True, gap_before=3.6)], (24, 24), 590, 420, 20)
    card.draw.ellipse((150, 232, 250, 332), outline=(200, 40, 40), width=5)
    card.draw.line((230, 300, 400, 262, 320, 312, 460, 290), fill=(30, 40, 120), width=4)
    card.text([Text(line) for line in _mrz(who, expiry)], (40, 452), CARD_W - 60, 170, 30,
              family="dejavu-sans-mono", spacing=1.25)
    return card.finish()


def _front_2024(rng: random.Random, who: Person, issued: date, expiry: date | None, lay: Layout) -> RenderedPage:
    card = _Card()
    _emblem(card.draw, (80, 80), 52)
    card.text(_header_blocks("CĂN CƯỚC", "IDENTITY CARD"), (150, 14), 760, 225, 21)
    _photo(card.image, (36, 250, 236, 500), rng)
    card.text([Text(printed(lay, "personal_id", "Số định danh cá nhân / Personal identification number:"), scale=0.9),
               Text(who.personal_id, bold=True, scale=1.3),
               Text(printed(lay, "full_name", "Họ, chữ đệm và tên khai sinh / Full name:"), scale=0.9),
               Text(who.upper_name, bold=True, scale=1.15),
               Field(printed(lay, "date_of_birth", "Ngày, tháng, năm sinh / Date of birth:"), dmy(who.birth),
                     scale=0.95),
               Field(printed(lay, "sex", "Giới tính / Sex:"), who.sex, scale=0.95),
               Field(printed(lay, "nationality", "Quốc tịch / Nationality:"), "Việt Nam", scale=0.95)],
              (258, 244), 740, 385, 21)
    return card.finish()


def _back_2024(rng: random.Random, who: Person, issued: date, expiry: date | None, lay: Layout) -> RenderedPage:
    card = _Card()
    _qr(card.image, qr_payload(who, issued), (CARD_W - 200, 30), 170)
    exp_text = dmy(expiry) if expiry else "Không thời hạn"
    card.text([Text(printed(lay, "place_of_residence", "Nơi cư trú / Place of residence:"), scale=0.9),
               Text(who.residence.line, bold=True),
               Text(printed(lay, "place_of_origin", "Quê quán / Place of origin:"), scale=0.9),
               Text(who.place_of_origin.line, bold=True),
               Text(printed(lay, "place_of_birth", "Nơi đăng ký khai sinh / Place of birth:"), scale=0.9),
               Text(who.place_of_birth.line, bold=True),
               Pair(Field(printed(lay, "issue_date", "Ngày cấp / Date of issue:"), dmy(issued)),
                    Field(printed(lay, "date_of_expiry", "Có giá trị đến / Date of expiry:"), exp_text)),
               Text("BỘ CÔNG AN", align="center", bold=True, gap_before=0.2),
               Text("MINISTRY OF PUBLIC SECURITY", align="center", scale=0.8)], (24, 20), 760, 450, 20)
    card.draw.ellipse((820, 260, 960, 400), outline=(200, 40, 40), width=5)
    card.text([Text(line) for line in _mrz(who, expiry)], (40, 478), CARD_W - 60, 150, 28,
              family="dejavu-sans-mono", spacing=1.25)
    return card.finish()
