"""Advertising pictures for the text benchmark (bench_text.py) and tests: posters, labels, signs and titles
drawn with Pillow over the shared photos (busy backgrounds), some rotated, some small, five to tune on
and three held out. Writes tests/data/text/NAME.jpg (768 px wide) and tests/data/text/words.json (each
picture's words, and whether it is held out).

    python benchmarks/text_pictures.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from _common import IMAGES

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "text"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
SIZE = (768, 576)


@dataclass(frozen=True)
class Line:
    text: str
    font: str  # a DejaVu file name
    px: int
    colour: tuple[int, int, int]
    at: tuple[int, int]  # top left on the board (or on the picture, without a board)
    outline: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class Board:
    """Lines drawn on a rectangle (None: straight on the photo), rotated by angle degrees and placed."""

    size: tuple[int, int]
    colour: tuple[int, int, int, int] | None
    lines: tuple[Line, ...]
    angle: float
    centre: tuple[int, int]


@dataclass(frozen=True)
class Picture:
    name: str
    background: Path
    boards: tuple[Board, ...]
    held_out: bool = False


BOLD, PLAIN, SERIF, COND = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSansCondensed.ttf",
)
WHITE, DARK, BROWN, YELLOW = (255, 255, 255), (20, 20, 24), (70, 40, 20), (255, 220, 40)
CONTENT = IMAGES / "content"
COFFEE = Path(__file__).resolve().parent.parent / "tests" / "data" / "subject" / "coffee_full.jpg"

PICTURES = (
    Picture("poster", CONTENT / "tubingen.jpg", (
        Board((560, 200), (0, 0, 0, 150), (
            Line("SUMMER SALE", BOLD, 64, WHITE, (30, 20)),
            Line("Everything half price", PLAIN, 30, WHITE, (34, 104)),
            Line("Open daily until eight", PLAIN, 20, YELLOW, (36, 152)),
        ), 0, (384, 150)),)),
    Picture("label", COFFEE, (
        Board((330, 170), (245, 235, 210, 255), (
            Line("ORGANIC", BOLD, 44, (30, 110, 40), (30, 14)),
            Line("Wild honey 250 g", PLAIN, 28, BROWN, (32, 74)),
            Line("Best before 2027", PLAIN, 18, BROWN, (34, 122)),
        ), 0, (560, 440)),)),
    Picture("sign", CONTENT / "golden_gate.jpg", (
        Board((420, 150), (190, 30, 30, 255), (
            Line("HARBOR TOURS", BOLD, 44, WHITE, (26, 20)),
            Line("Daily at noon", PLAIN, 26, WHITE, (30, 88)),
        ), 15, (500, 380)),)),
    Picture("skyline", CONTENT / "chicago.jpg", (
        Board((700, 200), None, (
            Line("CITY LIGHTS", BOLD, 60, WHITE, (40, 20), DARK),
            Line("Tickets from twelve dollars", PLAIN, 24, WHITE, (44, 110), DARK),
        ), 0, (384, 420)),)),
    Picture("market", CONTENT / "sailboat.jpg", (
        Board((380, 120), (20, 60, 140, 230), (
            Line("FRESH FISH MARKET", BOLD, 30, WHITE, (20, 16)),
            Line("Pier 39 every Sunday", PLAIN, 18, WHITE, (22, 70)),
        ), -8, (250, 470)),)),
    Picture("zoo", CONTENT / "lion.jpg", (
        Board((640, 110), None, (Line("WILD NIGHTS", BOLD, 66, YELLOW, (20, 14), DARK),), 0, (384, 80)),
        Board((360, 70), (0, 0, 0, 170), (Line("Zoo open late", PLAIN, 30, WHITE, (30, 14)),), 10,
              (560, 500)),
    ), held_out=True),
    Picture("optician", CONTENT / "face.jpg", (
        Board((440, 140), (255, 255, 255, 210), (
            Line("NEW GLASSES", BOLD, 48, (20, 40, 120), (24, 16)),
            Line("Vision Center downtown", PLAIN, 24, DARK, (28, 86)),
        ), 0, (384, 470)),), held_out=True),
    Picture("opening", CONTENT / "taj_mahal.jpg", (
        Board((560, 160), (60, 20, 60, 190), (
            Line("GRAND OPENING", SERIF, 52, YELLOW, (24, 18)),
            Line("Saturday fourteenth June", COND, 28, WHITE, (28, 96)),
        ), -12, (400, 170)),), held_out=True),
)  # fmt: skip


def background(path: Path) -> Image.Image:
    """The photo cropped to 4:3 around its centre and resized to SIZE."""
    with Image.open(path) as photo:
        image = photo.convert("RGB")
    width, height = image.size
    target = SIZE[0] / SIZE[1]
    if width / height > target:
        crop = round(height * target)
        image = image.crop(((width - crop) // 2, 0, (width - crop) // 2 + crop, height))
    else:
        crop = round(width / target)
        image = image.crop((0, (height - crop) // 2, width, (height - crop) // 2 + crop))
    return image.resize(SIZE, Image.Resampling.LANCZOS)


def draw(picture: Picture) -> Image.Image:
    canvas = background(picture.background).convert("RGBA")
    for board in picture.boards:
        layer = Image.new("RGBA", board.size, board.colour or (0, 0, 0, 0))
        pen = ImageDraw.Draw(layer)
        for line in board.lines:
            font = ImageFont.truetype(str(FONTS / line.font), line.px)
            stroke = 2 if line.outline else 0
            pen.text(
                line.at, line.text, font=font, fill=line.colour, stroke_width=stroke, stroke_fill=line.outline
            )
        turned = layer.rotate(board.angle, resample=Image.Resampling.BICUBIC, expand=True)
        corner = (board.centre[0] - turned.width // 2, board.centre[1] - turned.height // 2)
        canvas.alpha_composite(turned, corner)
    return canvas.convert("RGB")


def words(picture: Picture) -> list[str]:
    """The words a reader should find: every token of two or more characters, lower-case."""
    return [
        w.lower() for board in picture.boards for line in board.lines for w in line.text.split() if len(w) > 1
    ]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    known = {}
    for picture in PICTURES:
        draw(picture).save(OUT / f"{picture.name}.jpg", quality=90)
        known[picture.name] = {"words": words(picture), "held_out": picture.held_out}
    (OUT / "words.json").write_text(json.dumps(known, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(PICTURES)} pictures and words.json to {OUT}")


if __name__ == "__main__":
    main()
