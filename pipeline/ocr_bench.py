"""``sohoa bench ocr``: OCR accuracy and speed on damaged synthetic pages, beside its baselines.

Pages come from ``samples.generator`` when it is installed; otherwise from a small built-in renderer
(Vietnamese administrative text in DejaVu fonts, damaged the same way: quarter turns, skew, uneven
light, blur, noise, JPEG), which the tests use too because it renders small pages quickly.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"

_SENTENCES = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ",
    "Họ, chữ đệm và tên: NGUYỄN THỊ HƯƠNG",
    "Ngày, tháng, năm sinh: 12/03/1987, Giới tính: Nữ",
    "Số định danh cá nhân: 001187012345",
    "Nơi thường trú: Số 18 ngõ 42 phố Trần Quốc Hoàn, phường Dịch Vọng Hậu",
    "quận Cầu Giấy, thành phố Hà Nội",
    "Quê quán: xã Nghĩa Hưng, huyện Nghĩa Đàn, tỉnh Nghệ An",
    "Dân tộc: Kinh, Tôn giáo: Không, Quốc tịch: Việt Nam",
    "Căn cứ Luật Cư trú ngày 13 tháng 11 năm 2020;",
    "Căn cứ Nghị định số 62/2021/NĐ-CP quy định chi tiết thi hành Luật Cư trú;",
    "Công an phường xác nhận thông tin về cư trú của công dân như sau:",
    "Thông tin về chủ hộ: TRẦN VĂN ĐỨC, quan hệ với chủ hộ: Vợ",
    "Giấy xác nhận này có giá trị sử dụng 30 ngày kể từ ngày cấp.",
    "Hà Nội, ngày 05 tháng 7 năm 2024",
    "TRƯỞNG CÔNG AN PHƯỜNG",
    "Đề nghị cơ quan có thẩm quyền giải quyết thủ tục đăng ký khai sinh cho trẻ.",
    "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm.",
    "Ủy ban nhân dân xã Hòa Phước, huyện Hòa Vang, thành phố Đà Nẵng",
    "Người đi đăng ký: Lê Thị Ngọc Ánh, mối quan hệ với người được khai sinh: Mẹ",
    "Diện tích: 125,6 mét vuông; thửa đất số 214, tờ bản đồ số 18; mục đích sử dụng: đất ở",
]


def render_text_page(
    rng: np.random.Generator, *, width_mm: float = 210, height_mm: float = 297, dpi: int = 300,
    lines: int | None = None, font_pt: float = 11.0,
) -> tuple[np.ndarray, str]:
    """A clean grey page of Vietnamese text and its ground truth (lines joined by ``\\n``)."""
    w, h = round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    size = round(font_pt / 72 * dpi)
    fonts = [ImageFont.truetype(f"{FONT_DIR}/{name}", size) for name in ("DejaVuSerif.ttf", "DejaVuSans.ttf")]
    font = fonts[int(rng.integers(len(fonts)))]
    margin = round(min(20.0, 0.12 * min(width_mm, height_mm)) / 25.4 * dpi)
    step = round(size * 1.6)
    n = lines if lines is not None else max(1, (h - 2 * margin) // step)
    truth: list[str] = []
    y = margin
    for _ in range(n):
        if y + step > h - margin:
            break
        text = _SENTENCES[int(rng.integers(len(_SENTENCES)))]
        while font.getlength(text) > w - 2 * margin:
            text = text.rsplit(" ", 1)[0]
        draw.text((margin, y), text, font=font, fill=0)
        truth.append(text)
        y += step
    return np.asarray(img), "\n".join(truth)


@dataclass(frozen=True)
class Damage:
    rotation: int = 0  # clockwise quarter turn applied to the page (what clean-up must undo)
    skew_deg: float = 0.0
    light: float = 0.0  # 0..1 strength of the uneven lighting
    blur: float = 0.0  # Gaussian sigma in pixels
    noise: float = 0.0  # Gaussian noise sigma in grey levels
    jpeg_quality: int = 0  # 0 = no JPEG round trip
    border: bool = False  # a black scanner border on two sides


def damage_page(clean: np.ndarray, d: Damage, rng: np.random.Generator) -> np.ndarray:
    """A scan-like RGB page from a clean grey one."""
    img = clean.astype(np.float32)
    h, w = img.shape
    if d.skew_deg:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), d.skew_deg, 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    if d.blur:
        img = cv2.GaussianBlur(img, (0, 0), d.blur)
    if d.light:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / math.hypot(w, h)
        shade = 1.0 - d.light * np.clip(dist * 1.6, 0, 1)
        img = img * shade + 20 * (1 - shade)
    if d.noise:
        img = img + rng.normal(0, d.noise, img.shape).astype(np.float32)
    if d.border:
        bw = max(4, w // 40)
        img[:, :bw] = 15
        img[:bw, :] = 15
    img = np.clip(img, 0, 255).astype(np.uint8)
    rgb = np.stack([img, img, (img.astype(np.int16) * 0.96).astype(np.uint8)], axis=2)
    if d.rotation:
        rgb = np.rot90(rgb, k=-(d.rotation // 90))
    if d.jpeg_quality:
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=d.jpeg_quality)
        rgb = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return np.ascontiguousarray(rgb)


def random_damage(rng: np.random.Generator, *, rotation: int | None = None) -> Damage:
    return Damage(
        rotation=int(rng.choice([0, 0, 90, 180, 270])) if rotation is None else rotation,
        skew_deg=float(rng.uniform(-3.5, 3.5)),
        light=float(rng.uniform(0.3, 0.7)),
        blur=float(rng.uniform(0.5, 1.2)),
        noise=float(rng.uniform(6, 14)),
        jpeg_quality=int(rng.integers(60, 85)),
        border=bool(rng.random() < 0.3),
    )
