"""Lay out and draw one page from a list of blocks, returning the pixels and the printed lines.

The ground-truth text must be exactly what is printed, line by line, so the same code that
decides where a line breaks also records it: every visual line drawn adds one line of text (the
words on it joined by single spaces, left column before right column). A page that does not fit is
laid out again at a smaller size rather than clipped, so nothing printed is ever missing from the
text and nothing in the text is missing from the page.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.model import nfc
from samples.fonts import font

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Text:
    """One paragraph; wraps at the column width."""

    text: str
    align: str = "left"  # left | center | right
    bold: bool = False
    italic: bool = False
    scale: float = 1.0
    gap_before: float = 0.0  # in line pitches
    indent: float = 0.0  # in pixels, first and following lines
    underline: bool = False  # a short rule under the last line, as under the national motto


@dataclass(frozen=True)
class Field:
    """A labelled value: ``label: value`` inline, or label and value in two columns."""

    label: str
    value: str
    bold_value: bool = True
    scale: float = 1.0
    gap_before: float = 0.0


@dataclass(frozen=True)
class Pair:
    """Two short fields sharing one line (falls back to two lines when they do not fit)."""

    left: Field
    right: Field
    gap_before: float = 0.0


@dataclass(frozen=True)
class Columns:
    """Two stacks side by side (agency and motto in the header); text order is left then right."""

    left: tuple[Text, ...]
    right: tuple[Text, ...]
    split: float = 0.42
    gap_before: float = 0.0


@dataclass(frozen=True)
class Signature:
    """Signing block: optional left stack (recipients), right stack of titles, a scribble (and a
    seal over its left part, as stamped), then the signer's printed name."""

    titles: tuple[Text, ...]
    name: str
    left: tuple[Text, ...] = ()
    seal: bool = True
    side: str = "right"  # right | left | center
    gap_before: float = 1.0


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]  # column fractions of the content width
    aligns: tuple[str, ...] = ()
    gap_before: float = 0.5


Block = Text | Field | Pair | Columns | Signature | Table


@dataclass(frozen=True)
class PageSpec:
    blocks: tuple[Block, ...]
    width: int = 2480
    height: int = 3508
    margins: tuple[int, int, int, int] = (236, 200, 200, 200)  # left, top, right, bottom
    family: str = "noto-serif"
    size: int = 50  # font size in pixels (12 pt at 300 dpi)
    spacing: float = 1.45  # line pitch / font size
    field_mode: str = "inline"  # inline | tab | ruled
    label_col: float = 0.36  # label column fraction in tab/ruled mode
    ink: RGB = (20, 20, 20)
    paper: RGB = (255, 255, 255)
    value_ink: RGB | None = None  # typed-in values in another ink (filled-in forms)
    frame: bool = False  # a double border, as on certificates


@dataclass
class _Layout:
    """Drawing operations and printed lines collected in one pass at one font size."""

    size: int
    ops: list[tuple] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)


class _Overflow(Exception):
    pass


def render_page(spec: PageSpec, rng: random.Random) -> tuple[np.ndarray, list[str]]:
    """Draw ``spec``; returns the RGB page and its printed lines (NFC), top to bottom."""
    image, rows = render_page_rows(spec, rng)
    return image, [text for _, text in rows]


def render_page_rows(spec: PageSpec, rng: random.Random) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Like :func:`render_page`, with each line's baseline (pixels from the top), so regions drawn
    separately (a card's photo column and text column) can be merged into visual lines."""
    layout = _fit(spec, rng)
    image = Image.new("RGB", (spec.width, spec.height), spec.paper)
    draw = ImageDraw.Draw(image)
    if spec.frame:
        _frame(draw, spec)
    for op in layout.ops:
        kind = op[0]
        if kind == "text":
            _, x, y, text, fnt, ink = op
            draw.text((x, y), text, font=fnt, fill=ink, anchor="ls")
        elif kind == "line":
            _, x0, y0, x1, y1, width, ink = op
            draw.line((x0, y0, x1, y1), fill=ink, width=width)
        elif kind == "scribble":
            _scribble(draw, op[1], random.Random(op[2]), op[3])
        elif kind == "seal":
            image = _seal(image, op[1], op[2], random.Random(op[3]))
            draw = ImageDraw.Draw(image)
    return np.asarray(image), [(y, nfc(line)) for y, line in zip(layout.baselines, layout.lines, strict=True)]


def lay_out_page(spec: PageSpec, rng: random.Random) -> list[str]:
    """The printed lines (NFC) :func:`render_page` would return, without drawing the page.

    Line breaks and the font size that fits are decided in the layout pass alone, so the text is
    the same; ``rng`` is consumed exactly as :func:`render_page` consumes it, so whatever a builder
    draws after this page is the same too.
    """
    return [nfc(line) for line in _fit(spec, rng).lines]


def _fit(spec: PageSpec, rng: random.Random) -> _Layout:
    """Lay ``spec`` out at the largest size (from ``spec.size`` down) at which it fits the page."""
    size = spec.size
    seed = rng.getrandbits(32)
    for _ in range(12):
        try:
            return _lay_out(spec, size, random.Random(seed))
        except _Overflow:
            size = max(16, int(size * 0.92))
    raise ValueError("page content does not fit even at the smallest size")  # pragma: no cover


def merge_rows(rows: Sequence[tuple[float, float, str]], tolerance: float) -> list[str]:
    """Visual lines from (baseline, left x, text) pieces: pieces whose baselines lie within
    ``tolerance`` form one line, read left to right; lines run top to bottom."""
    lines: list[list[tuple[float, float, str]]] = []
    for piece in sorted(rows):
        if lines and piece[0] - lines[-1][0][0] <= tolerance:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    return [" ".join(text for _, _, text in sorted(line, key=lambda p: p[1])) for line in lines]


# --- layout -----------------------------------------------------------------------------------


class _Ctx:
    def __init__(self, spec: PageSpec, size: int, rng: random.Random) -> None:
        self.spec = spec
        self.size = size
        self.rng = rng
        left, top, right, bottom = spec.margins
        self.x0 = left
        self.x1 = spec.width - right
        self.y = top
        self.y_max = spec.height - bottom
        self.out = _Layout(size)

    def fnt(self, scale: float = 1.0, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
        return font(self.spec.family, max(10, round(self.size * scale)), bold, italic)

    def pitch(self, scale: float = 1.0) -> float:
        return self.size * scale * self.spec.spacing

    def advance(self, dy: float) -> None:
        self.y += dy
        if self.y > self.y_max:
            raise _Overflow


def _lay_out(spec: PageSpec, size: int, rng: random.Random) -> _Layout:
    ctx = _Ctx(spec, size, rng)
    for block in spec.blocks:
        if not isinstance(block, Block):  # pragma: no cover
            raise TypeError(f"unknown block {block!r}")
        ctx.advance(block.gap_before * ctx.pitch())
        if isinstance(block, Text):
            _text(ctx, block, ctx.x0, ctx.x1)
        elif isinstance(block, Field):
            _field(ctx, block)
        elif isinstance(block, Pair):
            _pair(ctx, block)
        elif isinstance(block, Columns):
            _columns(ctx, block.left, block.right, block.split)
        elif isinstance(block, Signature):
            _signature(ctx, block)
        else:
            _table(ctx, block)
    return ctx.out


Token = tuple[str, ImageFont.FreeTypeFont, RGB]


@lru_cache(maxsize=65536)
def _width(fnt: ImageFont.FreeTypeFont, text: str) -> float:
    """Advance width; layout asks for the same words many times (every retry at a smaller size)."""
    return fnt.getlength(text)


def _wrap(tokens: Sequence[Token], width: float, first_width: float | None = None) -> list[list[Token]]:
    """Greedy word wrap of styled words; a word longer than the line gets a line of its own."""
    lines: list[list[Token]] = []
    current: list[Token] = []
    used = 0.0
    limit = first_width if first_width is not None else width
    for token in tokens:
        word, fnt, _ = token
        w = _width(fnt, word)
        space = _width(fnt, " ") if current else 0.0
        if current and used + space + w > limit:
            lines.append(current)
            current, used, space = [], 0.0, 0.0
            limit = width
        current.append(token)
        used += space + w
    if current:
        lines.append(current)
    return lines


def _line_width(line: Sequence[Token]) -> float:
    total = 0.0
    for i, (word, fnt, _) in enumerate(line):
        total += _width(fnt, word) + (_width(fnt, " ") if i else 0.0)
    return total


def _emit_line(ctx: _Ctx, line: Sequence[Token], x: float, baseline: float) -> None:
    """Queue one visual line, merging consecutive words of one style into one draw call."""
    runs: list[tuple[str, ImageFont.FreeTypeFont, RGB]] = []
    for word, fnt, ink in line:
        if runs and runs[-1][1] is fnt and runs[-1][2] == ink:
            runs[-1] = (runs[-1][0] + " " + word, fnt, ink)
        else:
            runs.append((word, fnt, ink))
    for i, (text, fnt, ink) in enumerate(runs):
        if i:
            x += _width(fnt, " ")
        ctx.out.ops.append(("text", round(x), round(baseline), text, fnt, ink))
        x += _width(fnt, text)


def _tokens(text: str, fnt: ImageFont.FreeTypeFont, ink: RGB) -> list[Token]:
    return [(word, fnt, ink) for word in text.split()]


@dataclass
class _Row:
    """One wrapped line waiting for its place: rows of two columns share a baseline."""

    tokens: list[Token]
    x0: float
    x1: float
    align: str
    scale: float
    gap: float  # pixels before the row
    indent: float = 0.0
    underline: bool = False


def _rows(ctx: _Ctx, block: Text, x0: float, x1: float) -> list[_Row]:
    fnt = ctx.fnt(block.scale, block.bold, block.italic)
    lines = _wrap(_tokens(block.text, fnt, ctx.spec.ink), x1 - x0 - block.indent) or [[]]
    rows = [_Row(line, x0, x1, block.align, block.scale, 0.0, block.indent) for line in lines]
    rows[0].gap = block.gap_before * ctx.pitch()
    rows[-1].underline = block.underline
    return rows


def _emit_rows(ctx: _Ctx, *columns: Sequence[_Row]) -> None:
    """Emit rows side by side, row i of every column on one baseline; one text line per row."""
    for i in range(max((len(c) for c in columns), default=0)):
        row_set = [c[i] for c in columns if i < len(c)]
        ctx.advance(max(r.gap for r in row_set))
        scale = max(r.scale for r in row_set)
        baseline = ctx.y + ctx.size * scale * 1.08
        ctx.advance(ctx.pitch(scale))
        parts = []
        underline_after = 0.0
        for row in row_set:
            if not row.tokens:
                continue
            w = _line_width(row.tokens)
            if row.align == "center":
                x = row.x0 + (row.x1 - row.x0 - w) / 2
            elif row.align == "right":
                x = row.x1 - w
            else:
                x = row.x0 + row.indent
            _emit_line(ctx, row.tokens, x, baseline)
            parts.append(" ".join(word for word, _, _ in row.tokens))
            if row.underline:
                y = baseline + ctx.size * row.scale * 0.35
                short = w * 0.7
                ctx.out.ops.append(("line", round(x + (w - short) / 2), round(y), round(x + (w + short) / 2),
                                    round(y), max(2, ctx.size // 18), ctx.spec.ink))
                underline_after = ctx.size * 0.25
        ctx.out.lines.append(" ".join(parts))
        ctx.out.baselines.append(baseline)
        if underline_after:
            ctx.advance(underline_after)


def _text(ctx: _Ctx, block: Text, x0: float, x1: float) -> None:
    if not block.text.strip():  # a spacer: prints nothing, so adds no line to the text
        ctx.advance(block.gap_before * ctx.pitch())
        return
    _emit_rows(ctx, _rows(ctx, block, x0, x1))


def _place(ctx: _Ctx, lines: list[list[Token]], x0: float, x1: float, align: str, scale: float) -> None:
    _emit_rows(ctx, [_Row(line, x0, x1, align, scale, 0.0) for line in lines])


def _field_tokens(ctx: _Ctx, f: Field) -> tuple[list[Token], list[Token]]:
    label_font = ctx.fnt(f.scale)
    value_font = ctx.fnt(f.scale, bold=f.bold_value)
    value_ink = ctx.spec.value_ink or ctx.spec.ink
    return _tokens(f.label, label_font, ctx.spec.ink), _tokens(f.value, value_font, value_ink)


def _field(ctx: _Ctx, f: Field, x0: float | None = None, x1: float | None = None) -> None:
    x0 = ctx.x0 if x0 is None else x0
    x1 = ctx.x1 if x1 is None else x1
    label, value = _field_tokens(ctx, f)
    if ctx.spec.field_mode == "inline" or not value:
        _place(ctx, _wrap(label + value, x1 - x0), x0, x1, "left", f.scale)
        return
    split = x0 + (x1 - x0) * ctx.spec.label_col
    gap = ctx.size * 0.5
    label_lines = _wrap(label, split - x0 - gap)
    value_lines = _wrap(value, x1 - split)
    for i in range(max(len(label_lines), len(value_lines))):
        baseline = ctx.y + ctx.size * f.scale * 1.08
        ctx.advance(ctx.pitch(f.scale))
        parts = []
        if i < len(label_lines):
            _emit_line(ctx, label_lines[i], x0, baseline)
            parts.append(" ".join(w for w, _, _ in label_lines[i]))
        if i < len(value_lines):
            _emit_line(ctx, value_lines[i], split, baseline)
            parts.append(" ".join(w for w, _, _ in value_lines[i]))
        ctx.out.lines.append(" ".join(parts))
        ctx.out.baselines.append(baseline)
    if ctx.spec.field_mode == "ruled":
        y = round(ctx.y - ctx.pitch(f.scale) * 0.12)
        ctx.out.ops.append(("line", round(x0), y, round(x1), y, 2, (120, 120, 120)))


def _pair(ctx: _Ctx, pair: Pair) -> None:
    half = (ctx.x1 - ctx.x0) / 2
    left_l, left_v = _field_tokens(ctx, pair.left)
    right_l, right_v = _field_tokens(ctx, pair.right)
    gap = ctx.size
    if _line_width(left_l + left_v) > half - gap or _line_width(right_l + right_v) > half - gap:
        _field(ctx, pair.left)
        _field(ctx, pair.right)
        return
    scale = max(pair.left.scale, pair.right.scale)
    baseline = ctx.y + ctx.size * scale * 1.08
    ctx.advance(ctx.pitch(scale))
    _emit_line(ctx, left_l + left_v, ctx.x0, baseline)
    _emit_line(ctx, right_l + right_v, ctx.x0 + half, baseline)
    ctx.out.lines.append(" ".join(w for w, _, _ in left_l + left_v + right_l + right_v))
    ctx.out.baselines.append(baseline)


def _stack_rows(ctx: _Ctx, items: Sequence[Text], x0: float, x1: float) -> list[_Row]:
    return [row for item in items if item.text.strip() for row in _rows(ctx, item, x0, x1)]


def _columns(ctx: _Ctx, left: Sequence[Text], right: Sequence[Text], split: float) -> None:
    mid = ctx.x0 + (ctx.x1 - ctx.x0) * split
    pad = ctx.size * 0.4
    _emit_rows(ctx, _stack_rows(ctx, left, ctx.x0, mid - pad), _stack_rows(ctx, right, mid + pad, ctx.x1))


def _signature(ctx: _Ctx, sig: Signature) -> None:
    if sig.side == "center":
        x0, x1 = ctx.x0 + (ctx.x1 - ctx.x0) * 0.25, ctx.x1 - (ctx.x1 - ctx.x0) * 0.25
    elif sig.side == "left":
        x0, x1 = ctx.x0, ctx.x0 + (ctx.x1 - ctx.x0) * 0.48
    else:
        x0, x1 = ctx.x0 + (ctx.x1 - ctx.x0) * 0.48, ctx.x1
    left = _stack_rows(ctx, sig.left, ctx.x0, x0 - ctx.size) if sig.left and sig.side == "right" else []
    _emit_rows(ctx, left, _stack_rows(ctx, sig.titles, x0, x1))
    space = ctx.pitch() * 4.2
    # The scribble keeps clear of the printed name below it, so OCR does not lose the name.
    box = (round(x0 + (x1 - x0) * 0.2), round(ctx.y + space * 0.08), round(x1 - (x1 - x0) * 0.2),
           round(ctx.y + space * 0.72))
    if sig.seal:
        radius = min(space * 0.52, (x1 - x0) * 0.22)
        centre = (round(box[0] + radius * 0.6), round(ctx.y + space / 2))
        ctx.out.ops.append(("seal", centre, round(radius), ctx.rng.getrandbits(32)))
    ctx.out.ops.append(("scribble", box, ctx.rng.getrandbits(32), ctx.spec.value_ink or (25, 35, 120)))
    ctx.advance(space)
    _text(ctx, Text(sig.name, align="center", bold=True), x0, x1)


def _table(ctx: _Ctx, table: Table) -> None:
    width = ctx.x1 - ctx.x0
    edges = [ctx.x0]
    for frac in table.widths:
        edges.append(edges[-1] + width * frac)
    pad = ctx.size * 0.3
    rule = (90, 90, 90)
    ctx.out.ops.append(("line", round(ctx.x0), round(ctx.y), round(ctx.x1), round(ctx.y), 2, rule))
    for r, row in enumerate((table.header, *table.rows)):
        fnt = ctx.fnt(1.0, bold=(r == 0))
        cells = [_wrap(_tokens(cell, fnt, ctx.spec.ink), edges[c + 1] - edges[c] - 2 * pad) if cell else []
                 for c, cell in enumerate(row)]
        ctx.advance(ctx.size * 0.15)
        for i in range(max((len(c) for c in cells), default=0)):
            baseline = ctx.y + ctx.size * 1.08
            ctx.advance(ctx.pitch())
            parts = []
            for c, lines in enumerate(cells):
                if i >= len(lines):
                    continue
                align = table.aligns[c] if c < len(table.aligns) else "left"
                w = _line_width(lines[i])
                x = edges[c + 1] - pad - w if align == "right" else (
                    edges[c] + (edges[c + 1] - edges[c] - w) / 2 if align == "center" else edges[c] + pad)
                _emit_line(ctx, lines[i], x, baseline)
                parts.append(" ".join(w for w, _, _ in lines[i]))
            ctx.out.lines.append(" ".join(parts))
            ctx.out.baselines.append(baseline)
        ctx.advance(ctx.size * 0.1)
        ctx.out.ops.append(("line", round(ctx.x0), round(ctx.y), round(ctx.x1), round(ctx.y), 2, rule))


# --- decorations ------------------------------------------------------------------------------


def _frame(draw: ImageDraw.ImageDraw, spec: PageSpec) -> None:
    left, top, right, bottom = spec.margins
    outer = (left * 0.45, top * 0.45, spec.width - right * 0.45, spec.height - bottom * 0.45)
    draw.rectangle(outer, outline=(150, 40, 40), width=10)
    inner = (outer[0] + 22, outer[1] + 22, outer[2] - 22, outer[3] - 22)
    draw.rectangle(inner, outline=(150, 40, 40), width=3)


def _scribble(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rng: random.Random, ink: RGB) -> None:
    """A signature: a few loops joined by a fast stroke, drawn as a polyline."""
    x0, y0, x1, y1 = box
    cy = (y0 + y1) / 2
    h = (y1 - y0) * 0.35
    points = []
    loops = rng.randint(3, 6)
    n = 160
    for i in range(n):
        t = i / (n - 1)
        x = x0 + (x1 - x0) * (0.1 + 0.7 * t) + math.cos(t * loops * 2 * math.pi) * h * 0.35
        y = cy + math.sin(t * loops * 2 * math.pi + rng.random() * 0.3) * h * (0.6 + 0.4 * math.sin(t * 3))
        y -= (t - 0.5) * h * 0.8
        points.append((x, y))
    draw.line(points, fill=ink, width=5, joint="curve")
    tail_y = cy + h * 0.6
    draw.line([(x0 + (x1 - x0) * 0.05, tail_y), (x1 - (x1 - x0) * 0.05, tail_y - h * 0.5)], fill=ink, width=4)


def _seal(image: Image.Image, centre: tuple[int, int], radius: int, rng: random.Random) -> Image.Image:
    """A red round seal (rings and a star), multiplied onto the page like ink."""
    size = radius * 2 + 8
    stamp = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(stamp)
    c = size / 2
    d.ellipse((4, 4, size - 4, size - 4), outline=255, width=max(6, radius // 14))
    r2 = radius * 0.72
    d.ellipse((c - r2, c - r2, c + r2, c + r2), outline=255, width=max(3, radius // 30))
    star = []
    for k in range(10):
        rr = radius * (0.3 if k % 2 == 0 else 0.12)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((c + rr * math.cos(a), c + rr * math.sin(a)))
    d.polygon(star, fill=255)
    for k in range(36):  # dashes standing in for the curved agency name
        a = k * 2 * math.pi / 36
        r_in, r_out = radius * 0.78, radius * 0.9
        d.line((c + r_in * math.cos(a), c + r_in * math.sin(a), c + r_out * math.cos(a), c + r_out * math.sin(a)),
               fill=255, width=max(4, radius // 25))
    alpha = np.asarray(stamp, dtype=np.float32) / 255.0 * rng.uniform(0.55, 0.8)
    x, y = centre[0] - size // 2, centre[1] - size // 2
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(image.width, x + size), min(image.height, y + size)
    if x1 <= x0 or y1 <= y0:
        return image
    region = np.asarray(image.crop((x0, y0, x1, y1)), dtype=np.float32)
    a = alpha[y0 - y:y1 - y, x0 - x:x1 - x, None]
    red = np.array([200, 35, 40], dtype=np.float32)
    inked = region * (1 - a) + np.minimum(region, red) * a
    image.paste(Image.fromarray(inked.astype(np.uint8)), (x0, y0))
    return image
