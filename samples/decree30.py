"""Administrative letters laid out by Decree 30/2020/NĐ-CP, Appendix I, as real agencies print them.

The generator's other documents are forms and certificates in DejaVu and Noto; the letters that
reach a one-stop centre are typeset by the decree: Times New Roman (here Liberation Serif, metric
compatible, Debian ``fonts-liberation2``) at 13–14 pt, a two-column header (the agency, capitals,
the issuing body in bold with a short rule under it; the national name and the motto, with its
rule), "Số: …/…" under the agency and the place-date line in italics under the motto, a bold
title, a justified body with a first-line indent, "Nơi nhận:" in bold italics with its list in
11 pt, and the signing block (on whose behalf, title, signature, red seal, name in bold).

The OCR bench reads these pages beside the generator's own (``sohoa bench ocr --family decree30``);
its text is exactly what is printed, one line per visual line, the left column before the right
where two columns share a line, as :mod:`samples.render` does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.model import nfc
from samples.facts import COMMUNE_NAMES, PROVINCES_2025, random_date, vn_date_line
from samples.fonts import font
from samples.render import _scribble, _seal
from samples.wording import MOTTO

FAMILY = "liberation-serif"
DPI = 300
A4 = (2480, 3508)
INK = (15, 15, 15)

# Margins of Appendix I, in mm: top 20–25, bottom 20–25, left 30–35, right 15–20.
_MM = DPI / 25.4


def _pt(points: float) -> int:
    return round(points / 72 * DPI)


@dataclass(frozen=True)
class Letter:
    """The wording of one letter; :func:`letter` draws it from an ``rng``."""

    parent: str  # the body above the issuer ("" when the issuer is the top of its own line)
    issuer: tuple[str, ...]  # the issuing agency, capitals, one or two lines, bold
    number: str  # "Số: 123/QĐ-UBND"
    about: str  # "V/v …" under the number of an official letter (công văn), else ""
    place_date: str  # "Quảng Ngãi, ngày 05 tháng 03 năm 2025"
    title: str  # "QUYẾT ĐỊNH", "THÔNG BÁO" ("" for a công văn)
    subtitle: str  # "Về việc …"
    preamble: tuple[str, ...]  # "Căn cứ …" lines, italic
    body: tuple[str, ...]  # paragraphs, justified
    recipients: tuple[str, ...]  # under "Nơi nhận:"
    on_behalf: str  # "TM. ỦY BAN NHÂN DÂN"
    signer_title: tuple[str, ...]  # ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    signer: str


_SUBJECTS = (
    ("QĐ", "QUYẾT ĐỊNH", "Về việc công nhận kết quả chứng thực bản sao điện tử từ bản chính"),
    ("QĐ", "QUYẾT ĐỊNH", "Về việc ban hành Quy chế tiếp nhận và trả kết quả giải quyết thủ tục hành chính"),
    ("TB", "THÔNG BÁO", "Kết luận của Chủ tịch Ủy ban nhân dân tại cuộc họp giao ban tháng"),
    ("TB", "THÔNG BÁO", "Về việc tạm dừng tiếp nhận hồ sơ trực tiếp để nâng cấp hệ thống"),
    ("KH", "KẾ HOẠCH", "Triển khai số hóa hồ sơ, kết quả giải quyết thủ tục hành chính năm"),
    ("", "", "V/v đôn đốc thực hiện số hóa hồ sơ tại Bộ phận Một cửa"),
    ("", "", "V/v hướng dẫn chứng thực bản sao từ bản chính và chữ ký"),
)
_GROUNDS = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 02 năm 2025;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
    ("Căn cứ Nghị định số 45/2020/NĐ-CP ngày 08 tháng 4 năm 2020 của Chính phủ về thực hiện thủ tục "
    "hành chính trên môi trường điện tử;"),
    ("Căn cứ Nghị định số 23/2015/NĐ-CP ngày 16 tháng 02 năm 2015 của Chính phủ về cấp bản sao từ sổ gốc, "
    "chứng thực bản sao từ bản chính, chứng thực chữ ký;"),
    ("Căn cứ Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018 của Chính phủ về thực hiện cơ chế một cửa, "
    "một cửa liên thông trong giải quyết thủ tục hành chính;"),
    "Theo đề nghị của Giám đốc Sở Tư pháp tại Tờ trình số 112/TTr-STP.",
)
_SENTENCES = (
    ("Bộ phận Một cửa có trách nhiệm tiếp nhận, số hóa hồ sơ, giấy tờ, kết quả giải quyết thủ tục hành "
    "chính và cập nhật vào Kho quản lý dữ liệu điện tử của tổ chức, cá nhân."),
    "Kết quả số hóa phải bảo đảm đầy đủ, chính xác, rõ ràng, đúng với bản chính và được ký số theo quy định.",
    ("Công chức tiếp nhận kiểm tra tính đầy đủ, hợp lệ của hồ sơ; trường hợp hồ sơ chưa đầy đủ thì hướng "
    "dẫn một lần bằng văn bản để tổ chức, cá nhân bổ sung, hoàn thiện."),
    ("Giao Văn phòng Ủy ban nhân dân chủ trì, phối hợp với các cơ quan, đơn vị liên quan theo dõi, đôn đốc "
    "và báo cáo kết quả thực hiện trước ngày 15 hằng tháng."),
    ("Thủ trưởng các sở, ban, ngành và Chủ tịch Ủy ban nhân dân các xã, phường chịu trách nhiệm thi hành "
    "Quyết định này kể từ ngày ký."),
    ("Trong quá trình thực hiện, nếu có khó khăn, vướng mắc, các cơ quan, đơn vị kịp thời phản ánh về Sở "
    "Tư pháp để tổng hợp, báo cáo Ủy ban nhân dân xem xét, quyết định."),
    ("Việc chứng thực bản sao điện tử từ bản chính được thực hiện đúng thời hạn, không yêu cầu người dân "
    "nộp thêm giấy tờ đã có trong cơ sở dữ liệu quốc gia."),
    "Đề nghị các cơ quan, đơn vị quan tâm phối hợp thực hiện nghiêm túc, hiệu quả nội dung trên.",
)
_RECIPIENTS = (
    "- Như Điều 3;", "- Như trên;", "- Văn phòng Chính phủ;", "- Bộ Tư pháp;", "- TT Tỉnh ủy, TT HĐND tỉnh;",
    "- CT, các PCT UBND tỉnh;", "- Sở Tư pháp;", "- Trung tâm Phục vụ hành chính công;",
    "- UBND các xã, phường;", "- Lưu: VT, NC.",
)
_SIGNERS = (
    ("TM. ỦY BAN NHÂN DÂN", ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")),
    ("TM. ỦY BAN NHÂN DÂN", ("CHỦ TỊCH",)),
    ("", ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")),
    ("", ("GIÁM ĐỐC",)),
)
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ")
_MIDDLES = ("Văn", "Thị", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Hữu")
_GIVENS = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Hương", "Lan", "Phúc", "Tâm", "Thắng", "Vinh")


def _place_name(province: str) -> str:
    return province.removeprefix("tỉnh ").removeprefix("Thành phố ")


def letter(rng: random.Random) -> Letter:
    """The wording of one letter of an agency of a province, drawn from ``rng``."""
    province = rng.choice(PROVINCES_2025)
    name = _place_name(province)
    level = rng.randrange(3)
    if level == 0:  # the province's people's committee
        parent, issuer = "", ("ỦY BAN NHÂN DÂN", f"{province.upper()}")
        code = "UBND"
    elif level == 1:  # a department under it
        parent, issuer = f"UBND {province.upper()}", ("SỞ TƯ PHÁP",)
        code = "STP"
    else:  # a commune's people's committee
        parent, issuer = f"UBND {province.upper()}", ("ỦY BAN NHÂN DÂN", f"XÃ {rng.choice(COMMUNE_NAMES).upper()}")
        code = "UBND"
    kind, title, subject = rng.choice(_SUBJECTS)
    day = random_date(rng, date(2024, 1, 1), date(2026, 11, 20))
    number = f"Số: {rng.randint(1, 2999)}/{kind + '-' if kind else ''}{code}"
    about = subject if not title else ""
    if title == "THÔNG BÁO" and subject.startswith("Kết luận"):
        subject = f"{subject} {day.month:02d}/{day.year}"
    elif title == "KẾ HOẠCH":
        subject = f"{subject} {day.year}"
    preamble = tuple(sorted(rng.sample(_GROUNDS[:-1], rng.randint(2, 3)), key=_GROUNDS.index)) + (
        (_GROUNDS[-1],) if title == "QUYẾT ĐỊNH" else ())
    paragraphs = []
    for n in range(rng.randint(3, 4)):
        text = " ".join(rng.sample(_SENTENCES, rng.randint(1, 2)))
        paragraphs.append(f"Điều {n + 1}. {text}" if title == "QUYẾT ĐỊNH" else text)
    on_behalf, titles = _SIGNERS[rng.randrange(2) if code == "UBND" else 2 + rng.randrange(2)]
    signer = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLES)} {rng.choice(_GIVENS)}"
    recipients = (_RECIPIENTS[0] if title == "QUYẾT ĐỊNH" else _RECIPIENTS[1],
                  *rng.sample(_RECIPIENTS[2:-1], rng.randint(3, 5)), _RECIPIENTS[-1])
    return Letter(parent, issuer, number, about, f"{name}, {vn_date_line(day)}", title, subject if title else "",
                  preamble if title == "QUYẾT ĐỊNH" else (), tuple(paragraphs), recipients, on_behalf, titles, signer)


@dataclass
class _Row:
    """A piece of text placed on the page: its baseline, left x and text (for the ground truth)."""

    baseline: float
    x: float
    text: str


class _Sheet:
    """The page being drawn, and every piece printed on it."""

    def __init__(self, rng: random.Random, size_pt: float) -> None:
        self.image = Image.new("RGB", A4, (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.rng = rng
        self.size = _pt(size_pt)
        self.left = round(rng.uniform(30, 35) * _MM)
        self.right = A4[0] - round(rng.uniform(15, 20) * _MM)
        self.y = float(round(rng.uniform(20, 25) * _MM))
        self.rows: list[_Row] = []

    def font(self, points: float | None = None, *, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
        return font(FAMILY, self.size if points is None else _pt(points), bold, italic)

    def put(self, text: str, x: float, baseline: float, fnt: ImageFont.FreeTypeFont) -> float:
        """Print ``text`` with its left end at ``x``; returns its width."""
        self.draw.text((round(x), round(baseline)), text, font=fnt, fill=INK, anchor="ls")
        self.rows.append(_Row(baseline, x, text))
        return fnt.getlength(text)

    def centred(self, text: str, x0: float, x1: float, baseline: float, fnt: ImageFont.FreeTypeFont,
                rule: float = 0.0) -> None:
        """Centre ``text`` between ``x0`` and ``x1``; ``rule`` > 0 draws a rule that share of its width under it."""
        width = fnt.getlength(text)
        x = x0 + (x1 - x0 - width) / 2
        self.put(text, x, baseline, fnt)
        if rule:
            y = baseline + fnt.size * 0.28
            short = width * rule
            self.draw.line((x + (width - short) / 2, y, x + (width + short) / 2, y), fill=INK, width=3)

    def paragraph(self, text: str, fnt: ImageFont.FreeTypeFont, *, indent: float, pitch: float,
                  justify: bool = True) -> None:
        """A paragraph wrapped at the margins, its first line indented, every line but the last
        justified (the spaces widened, as a word processor does)."""
        words = text.split()
        width = self.right - self.left
        space = fnt.getlength(" ")
        lines: list[list[str]] = [[]]
        used = indent
        for word in words:
            w = fnt.getlength(word)
            if lines[-1] and used + space + w > width:
                lines.append([])
                used = 0.0
            used += (space if lines[-1] else 0.0) + w
            lines[-1].append(word)
        for n, line in enumerate(lines):
            self.y += pitch
            x = self.left + (indent if n == 0 else 0.0)
            room = self.right - x
            widths = [fnt.getlength(word) for word in line]
            gap = space
            if justify and n < len(lines) - 1 and len(line) > 1:
                gap = (room - sum(widths)) / (len(line) - 1)
            for word, w in zip(line, widths, strict=True):
                self.draw.text((round(x), round(self.y)), word, font=fnt, fill=INK, anchor="ls")
                x += w + gap
            self.rows.append(_Row(self.y, self.left, " ".join(line)))

    def lines(self) -> list[str]:
        """The printed text, one visual line per line: pieces within a third of a line of one
        another share it, read left to right."""
        out: list[list[_Row]] = []
        for row in sorted(self.rows, key=lambda r: (r.baseline, r.x)):
            if out and row.baseline - out[-1][0].baseline <= self.size * 0.4:
                out[-1].append(row)
            else:
                out.append([row])
        return [nfc(" ".join(r.text for r in sorted(line, key=lambda r: r.x))) for line in out]


def render_letter(doc: Letter, rng: random.Random) -> tuple[np.ndarray, str]:
    """Draw ``doc`` on an A4 page at 300 dpi; returns the RGB page and its printed text."""
    sheet = _Sheet(rng, rng.choice((13.0, 14.0)))
    body_pt = sheet.size * 72 / DPI
    pitch = sheet.size * rng.uniform(1.15, 1.3)
    header = sheet.font(13, bold=True)
    plain13 = sheet.font(13)
    mid = sheet.left + (sheet.right - sheet.left) * 0.40
    # The header: agency left, national name and motto right, on shared baselines.
    left_lines: list[tuple[str, ImageFont.FreeTypeFont, float]] = []
    if doc.parent:
        left_lines.append((doc.parent, plain13, 0.0))
    left_lines += [(text, header, 0.4 if n == len(doc.issuer) - 1 else 0.0) for n, text in enumerate(doc.issuer)]
    right_lines = [(MOTTO[0], sheet.font(12.5, bold=True), 0.0), (MOTTO[1], sheet.font(13.5, bold=True), 1.0)]
    top = sheet.y
    for n in range(max(len(left_lines), len(right_lines))):
        baseline = top + (n + 1) * sheet.size * 1.15
        if n < len(left_lines):
            text, fnt, rule = left_lines[n]
            sheet.centred(text, sheet.left - 20, mid, baseline, fnt, rule)
        if n < len(right_lines):
            text, fnt, rule = right_lines[n]
            sheet.centred(text, mid, sheet.right + 10, baseline, fnt, rule)
    sheet.y = top + max(len(left_lines), len(right_lines)) * sheet.size * 1.15 + sheet.size * 1.5
    sheet.centred(doc.number, sheet.left - 20, mid, sheet.y, plain13)
    sheet.centred(doc.place_date, mid, sheet.right + 10, sheet.y, sheet.font(body_pt, italic=True))
    if doc.about:
        for part in _wrap(doc.about, sheet.font(12), mid - sheet.left):
            sheet.y += sheet.size * 1.1
            sheet.centred(part, sheet.left - 20, mid, sheet.y, sheet.font(12))
    if doc.title:
        sheet.y += sheet.size * 2.2
        sheet.centred(doc.title, sheet.left, sheet.right, sheet.y, sheet.font(14, bold=True))
        for part in _wrap(doc.subtitle, sheet.font(14, bold=True), (sheet.right - sheet.left) * 0.8):
            sheet.y += sheet.size * 1.2
            sheet.centred(part, sheet.left, sheet.right, sheet.y, sheet.font(14, bold=True))
        if doc.title == "QUYẾT ĐỊNH":
            sheet.y += sheet.size * 1.8
            authority = "CHỦ TỊCH ỦY BAN NHÂN DÂN" if doc.on_behalf else "GIÁM ĐỐC SỞ TƯ PHÁP"
            sheet.centred(authority, sheet.left, sheet.right, sheet.y, sheet.font(14, bold=True))
    sheet.y += sheet.size * 0.8
    indent = rng.uniform(10, 12.7) * _MM
    for ground in doc.preamble:
        sheet.paragraph(ground, sheet.font(italic=True), indent=indent, pitch=pitch)
        sheet.y += sheet.size * 0.25
    if doc.title == "QUYẾT ĐỊNH":
        sheet.y += sheet.size * 1.2
        sheet.centred("QUYẾT ĐỊNH:", sheet.left, sheet.right, sheet.y, sheet.font(14, bold=True))
        sheet.y += sheet.size * 0.3
    for text in doc.body:
        sheet.paragraph(text, sheet.font(), indent=indent, pitch=pitch)
        sheet.y += sheet.size * 0.25  # 6 pt between paragraphs
    _signing(sheet, doc, rng)
    return np.asarray(sheet.image), "\n".join(sheet.lines())


def _signing(sheet: _Sheet, doc: Letter, rng: random.Random) -> None:
    """"Nơi nhận" on the left in 11–12 pt, the signing block on the right: on whose behalf, title,
    signature with the red seal over its left part, the name in bold."""
    sheet.y += sheet.size * 1.6
    top = sheet.y
    split = sheet.left + (sheet.right - sheet.left) * 0.48
    sheet.put("Nơi nhận:", sheet.left, top, sheet.font(12, bold=True, italic=True))
    small = sheet.font(11)
    for n, line in enumerate(doc.recipients):
        sheet.put(line, sheet.left, top + (n + 1) * _pt(11) * 1.2, small)
    titles = ((doc.on_behalf,) if doc.on_behalf else ()) + doc.signer_title
    bold = sheet.font(14, bold=True)
    step = _pt(11) * 1.2  # the titles keep the list's baselines: each printed line is one line of text
    for n, text in enumerate(titles):
        sheet.centred(text, split, sheet.right, top + n * step, bold)
    space = sheet.size * 5.5
    y0 = top + (len(titles) - 1) * step + sheet.size * 0.3
    x0, x1 = split + (sheet.right - split) * 0.2, sheet.right - (sheet.right - split) * 0.2
    radius = round(min(space * 0.55, (sheet.right - split) * 0.22))
    sheet.image = _seal(sheet.image, (round(x0 + radius * 0.5), round(y0 + space / 2)), radius,
                        random.Random(rng.getrandbits(32)))
    sheet.draw = ImageDraw.Draw(sheet.image)
    _scribble(sheet.draw, (round(x0), round(y0 + space * 0.1), round(x1), round(y0 + space * 0.75)),
              random.Random(rng.getrandbits(32)), (25, 35, 120))
    sheet.centred(doc.signer, split, sheet.right, y0 + space + sheet.size, bold)


def _wrap(text: str, fnt: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and fnt.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def decree30_page(rng: random.Random) -> tuple[np.ndarray, str]:
    """One clean letter page (RGB, A4, 300 dpi) and its printed text."""
    return render_letter(letter(rng), rng)
