"""TrueType fonts that carry every Vietnamese letter (stacked marks included).

Only families installed by the Debian packages fonts-dejavu-core, fonts-noto-core and
fonts-liberation2 (Liberation Serif: Times New Roman's metrics, the face Decree 30/2020 sets
administrative letters in) are used, so
a page renders the same on every machine of the project; a missing file is reported at once rather
than falling back to PIL's bitmap font, which has no Vietnamese glyphs and would silently print boxes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from core.errors import ConfigError

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_NOTO = Path("/usr/share/fonts/truetype/noto")
_LIBERATION = Path("/usr/share/fonts/truetype/liberation2")

# family -> (regular, bold, italic, bold italic)
FAMILIES: dict[str, tuple[Path, Path, Path, Path]] = {
    "noto-serif": (_NOTO / "NotoSerif-Regular.ttf", _NOTO / "NotoSerif-Bold.ttf",
                   _NOTO / "NotoSerif-Italic.ttf", _NOTO / "NotoSerif-BoldItalic.ttf"),
    "noto-sans": (_NOTO / "NotoSans-Regular.ttf", _NOTO / "NotoSans-Bold.ttf",
                  _NOTO / "NotoSans-Italic.ttf", _NOTO / "NotoSans-BoldItalic.ttf"),
    "dejavu-serif": (_DEJAVU / "DejaVuSerif.ttf", _DEJAVU / "DejaVuSerif-Bold.ttf",
                     _DEJAVU / "DejaVuSerif-Italic.ttf", _DEJAVU / "DejaVuSerif-BoldItalic.ttf"),
    "dejavu-sans": (_DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf",
                    _DEJAVU / "DejaVuSans-Oblique.ttf", _DEJAVU / "DejaVuSans-BoldOblique.ttf"),
    "dejavu-serif-condensed": (_DEJAVU / "DejaVuSerifCondensed.ttf", _DEJAVU / "DejaVuSerifCondensed-Bold.ttf",
                               _DEJAVU / "DejaVuSerifCondensed-Italic.ttf",
                               _DEJAVU / "DejaVuSerifCondensed-BoldItalic.ttf"),
    "dejavu-sans-mono": (_DEJAVU / "DejaVuSansMono.ttf", _DEJAVU / "DejaVuSansMono-Bold.ttf",
                         _DEJAVU / "DejaVuSansMono-Oblique.ttf", _DEJAVU / "DejaVuSansMono-BoldOblique.ttf"),
    "liberation-serif": (_LIBERATION / "LiberationSerif-Regular.ttf", _LIBERATION / "LiberationSerif-Bold.ttf",
                         _LIBERATION / "LiberationSerif-Italic.ttf", _LIBERATION / "LiberationSerif-BoldItalic.ttf"),
}


def missing_fonts() -> list[Path]:
    return [path for paths in FAMILIES.values() for path in paths if not path.is_file()]


@lru_cache(maxsize=256)
def font(family: str, size: int, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
    try:
        paths = FAMILIES[family]
    except KeyError:
        raise ConfigError(f"unknown font family {family!r}") from None
    path = paths[(1 if bold else 0) + (2 if italic else 0)]
    if not path.is_file():
        raise ConfigError(f"font file {path} is missing (install fonts-dejavu-core, fonts-noto-core and fonts-liberation2)")
    return ImageFont.truetype(str(path), size)
