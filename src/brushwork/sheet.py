"""Contact sheets: labelled grids of pictures, for comparing contents × styles or a sweep of a setting.

:func:`make_sheet` only assembles images that exist. :func:`stylize_sheet` stylizes every content with
every style; :func:`sweep_sheet` stylizes content/style pairs (rows) with one setting varied (columns).

Layout, with ``g`` the gap, ``h`` the label height and ``w`` the row-label width (all in pixels)::

    width  = g + [w + g if row labels] + [cell + g if row images] + columns × (cell + g)
    height = g + [h + g if a title] + [h + g if column labels] + [cell + g if column images]
               + rows × (cell + g)

Every picture is scaled to fit its ``cell × cell`` square, keeping its aspect ratio: it is letterboxed
on the background, never cropped. Labels too long for their space are wrapped (row labels) or cut short
with an ellipsis.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from brushwork import imageio
from brushwork.api import ImageInput, StylizeResult, as_picture, stylize
from brushwork.config import Settings
from brushwork.errors import SettingsError, UserInputError
from brushwork.imageio import Picture

CellImage = ImageInput | Image.Image | None  # None leaves a cell empty
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
ELLIPSIS = "…"


def default_gap(cell_size: int) -> int:
    return max(2, cell_size // 32)


def default_label_height(cell_size: int) -> int:
    return max(12, cell_size // 8)


def default_row_label_width(cell_size: int) -> int:
    return max(cell_size // 2, 4 * default_label_height(cell_size))


def make_sheet(
    cells: Sequence[Sequence[CellImage]],
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    row_images: Sequence[CellImage] | None = None,
    col_images: Sequence[CellImage] | None = None,
    cell_size: int = 256,
    title: str | None = None,
    gap: int | None = None,
    label_height: int | None = None,
    row_label_width: int | None = None,
) -> Image.Image:
    """A labelled grid of ``cells`` (rows of images: paths, Pictures, arrays or PIL images; None =
    empty) as an RGB PIL image.

    ``row_images`` adds a first column (e.g. the content photos) and ``col_images`` a first row (e.g.
    the styles); ``row_labels`` go in a band on the left, ``col_labels`` above the columns (not the
    ``row_images`` column), ``title`` above everything. See the module documentation for the layout.
    """
    rows = len(cells)
    cols = len(cells[0]) if rows else 0
    if rows == 0 or cols == 0:
        raise UserInputError("a sheet needs at least one row and one column")
    if any(len(row) != cols for row in cells):
        raise UserInputError(f"every row of a sheet needs {cols} cells, got {[len(row) for row in cells]}")
    _check_count("row labels", row_labels, rows)
    _check_count("row images", row_images, rows)
    _check_count("column labels", col_labels, cols)
    _check_count("column images", col_images, cols)
    if cell_size < 8:
        raise SettingsError(f"cell size must be at least 8 pixels, got {cell_size}")
    g = default_gap(cell_size) if gap is None else gap
    h = default_label_height(cell_size) if label_height is None else label_height
    w = default_row_label_width(cell_size) if row_label_width is None else row_label_width
    if g < 0 or h < 1 or w < 1:
        raise SettingsError(f"gap must be >= 0 and label sizes >= 1, got {g}, {h}, {w}")

    step = cell_size + g
    x_labels = g
    x_images = x_labels + (w + g if row_labels is not None else 0)
    x_cells = x_images + (step if row_images is not None else 0)
    y_title = g
    y_labels = y_title + (h + g if title is not None else 0)
    y_images = y_labels + (h + g if col_labels is not None else 0)
    y_cells = y_images + (step if col_images is not None else 0)
    sheet = Image.new("RGB", (x_cells + cols * step, y_cells + rows * step), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font(max(8, round(h * 0.75)))

    if title is not None:
        _text_line(draw, font, title, (0, y_title, sheet.width, h))
    for c in range(cols):
        x = x_cells + c * step
        if col_labels is not None:
            _text_line(draw, font, col_labels[c], (x, y_labels, cell_size, h))
        if col_images is not None:
            _paste(sheet, col_images[c], (x, y_images), cell_size)
    for r in range(rows):
        y = y_cells + r * step
        if row_labels is not None:
            _text_block(draw, font, row_labels[r], (x_labels, y, w, cell_size), h)
        if row_images is not None:
            _paste(sheet, row_images[r], (x_images, y), cell_size)
        for c in range(cols):
            _paste(sheet, cells[r][c], (x_cells + c * step, y), cell_size)
    return sheet


def save_sheet(
    sheet: Image.Image, path: str | os.PathLike[str], *, metadata: dict[str, str] | None = None
) -> None:
    """Write a sheet atomically (format from the extension), via :func:`brushwork.imageio.write_image`."""
    rgb = np.asarray(sheet.convert("RGB"), dtype=np.float32) / 255.0
    imageio.write_image(path, rgb, metadata=metadata)


def _check_count(what: str, values: Sequence[Any] | None, expected: int) -> None:
    if values is not None and len(values) != expected:
        raise UserInputError(f"a sheet with {expected} of them needs {expected} {what}, got {len(values)}")


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the small bitmap font
        return ImageFont.load_default()


def _to_rgb8(image: ImageInput | Image.Image) -> Image.Image:
    """Any accepted image as an 8-bit RGB PIL image, alpha flattened onto the background."""
    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            flat = Image.new("RGBA", image.size, (*BACKGROUND, 255))
            flat.alpha_composite(image.convert("RGBA"))
            return flat.convert("RGB")
        return image.convert("RGB")
    picture = as_picture(image, "sheet image")
    rgb = picture.rgb
    if picture.alpha is not None:
        alpha = picture.alpha[..., None]
        rgb = rgb * alpha + np.asarray(BACKGROUND, dtype=np.float32) / 255.0 * (1.0 - alpha)
    return Image.fromarray(np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8), "RGB")


def fit_inside(size: tuple[int, int], box: int) -> tuple[int, int]:
    """(width, height) scaled to fit a ``box × box`` square, keeping the aspect ratio."""
    scale = box / max(size)
    return (max(1, min(box, round(size[0] * scale))), max(1, min(box, round(size[1] * scale))))


def _paste(sheet: Image.Image, image: CellImage, corner: tuple[int, int], cell_size: int) -> None:
    if image is None:
        return
    picture = _to_rgb8(image)
    width, height = fit_inside(picture.size, cell_size)
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    sheet.paste(picture, (corner[0] + (cell_size - width) // 2, corner[1] + (cell_size - height) // 2))


def _shorten(draw: ImageDraw.ImageDraw, font: Font, text: str, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + ELLIPSIS, font=font) > width:
        text = text[:-1]
    return text + ELLIPSIS


def _text_line(draw: ImageDraw.ImageDraw, font: Font, text: str, box: tuple[int, int, int, int]) -> None:
    """One line centred in box = (x, y, width, height)."""
    x, y, width, height = box
    line = _shorten(draw, font, text, width)
    draw.text((x + width / 2, y + height / 2), line, fill=TEXT, font=font, anchor="mm")


def _wrap(draw: ImageDraw.ImageDraw, font: Font, text: str, width: int) -> list[str]:
    """Greedy wrap at spaces, hyphens and underscores (kept at the line's end); overlong words are cut."""
    pieces: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in " -_":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    lines: list[str] = []
    line = ""
    for piece in pieces:
        if line and draw.textlength((line + piece).rstrip(), font=font) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line:
        lines.append(line.rstrip())
    return [_shorten(draw, font, line, width) for line in lines]


def _text_block(
    draw: ImageDraw.ImageDraw, font: Font, text: str, box: tuple[int, int, int, int], line_height: int
) -> None:
    """Wrapped lines centred in box = (x, y, width, height); lines that do not fit are dropped."""
    x, y, width, height = box
    lines = _wrap(draw, font, text, width)
    fitting = max(1, height // line_height)
    if len(lines) > fitting:
        last = _shorten(draw, font, lines[fitting - 1] + ELLIPSIS * 2, width)
        lines = [*lines[: fitting - 1], last]
    top = y + (height - len(lines) * line_height) / 2
    for index, line in enumerate(lines):
        centre = (x + width / 2, top + (index + 0.5) * line_height)
        draw.text(centre, line, fill=TEXT, font=font, anchor="mm")


# ------------------------------------------------------------------------------ sheets that stylize


@dataclass(frozen=True)
class CellDone:
    """Sent to ``on_cell`` after each stylized cell."""

    row: int
    col: int
    done: int  # cells finished so far, this one included
    total: int
    label: str  # "content / style" (plus the swept value)
    result: StylizeResult


OnCell = Callable[[CellDone], None]


def image_label(image: CellImage, fallback: str) -> str:
    """A file's stem for a path; ``fallback`` for anything else."""
    if isinstance(image, str | os.PathLike):
        return Path(image).stem
    return fallback


def _pictures(images: Sequence[ImageInput], what: str) -> list[Picture]:
    if not images:
        raise UserInputError(f"a sheet needs at least one {what} image")
    return [as_picture(image, what) for image in images]


def stylize_sheet(
    contents: Sequence[ImageInput],
    styles: Sequence[ImageInput],
    *,
    settings: Settings | None = None,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    cell_size: int | None = None,
    show_inputs: bool = True,
    title: str | None = None,
    on_cell: OnCell | None = None,
) -> Image.Image:
    """Stylize every content (rows) with every style (columns) and lay the results out in a sheet.

    ``cell_size`` defaults to ``settings.size``; ``show_inputs`` adds the contents as a first column
    and the styles as a first row. All images are read before anything is stylized.
    """
    settings = settings or Settings()
    content_pictures = _pictures(contents, "content")
    style_pictures = _pictures(styles, "style")
    content_names = [image_label(c, f"content {i + 1}") for i, c in enumerate(contents)]
    style_names = [image_label(s, f"style {i + 1}") for i, s in enumerate(styles)]
    total = len(contents) * len(styles)
    cells: list[list[CellImage]] = []
    for r, content in enumerate(content_pictures):
        row: list[CellImage] = []
        for c, style in enumerate(style_pictures):
            result = stylize(content, style, settings=settings, device=device, weights=weights)
            row.append(Picture(rgb=result.image, alpha=result.alpha, bits=8))
            if on_cell is not None:
                label = f"{content_names[r]} / {style_names[c]}"
                on_cell(CellDone(r, c, r * len(styles) + c + 1, total, label, result))
        cells.append(row)
    inputs: tuple[list[CellImage] | None, list[CellImage] | None] = (None, None)
    if show_inputs:
        inputs = (list(content_pictures), list(style_pictures))
    return make_sheet(
        cells,
        row_labels=content_names,
        col_labels=style_names,
        row_images=inputs[0],
        col_images=inputs[1],
        cell_size=cell_size or settings.size,
        title=title,
    )


def sweep_sheet(
    contents: Sequence[ImageInput],
    styles: Sequence[ImageInput],
    field: str,
    values: Sequence[Any],
    *,
    settings: Settings | None = None,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    cell_size: int | None = None,
    show_inputs: bool = True,
    title: str | None = None,
    on_cell: OnCell | None = None,
) -> Image.Image:
    """One row per content/style pair, one column per value of the :class:`Settings` field ``field``.

    Columns are labelled with the values, and the title defaults to ``"<setting> sweep"``.
    ``show_inputs`` adds the content and the style as the first two columns. Every value is checked
    (as a setting) and every image read before anything is stylized.
    """
    settings = settings or Settings()
    if field not in {f.name for f in dataclasses.fields(Settings)}:
        raise SettingsError(f"cannot sweep '{field}': not a setting")
    if not values:
        raise SettingsError(f"a sweep of {field} needs at least one value")
    try:
        variants = [settings.replace(**{field: value}) for value in values]
    except TypeError as error:
        raise SettingsError(f"cannot sweep {field}: {error}") from error
    content_pictures = _pictures(contents, "content")
    style_pictures = _pictures(styles, "style")
    content_names = [image_label(c, f"content {i + 1}") for i, c in enumerate(contents)]
    style_names = [image_label(s, f"style {i + 1}") for i, s in enumerate(styles)]
    pairs = [
        (content, style, f"{content_name} / {style_name}")
        for content, content_name in zip(content_pictures, content_names, strict=True)
        for style, style_name in zip(style_pictures, style_names, strict=True)
    ]
    flag = field.replace("_", "-")
    value_labels = [format_value(value) for value in values]
    total = len(pairs) * len(variants)
    cells: list[list[CellImage]] = []
    for r, (content, style, name) in enumerate(pairs):
        row: list[CellImage] = [content, style] if show_inputs else []
        for c, variant in enumerate(variants):
            result = stylize(content, style, settings=variant, device=device, weights=weights)
            row.append(Picture(rgb=result.image, alpha=result.alpha, bits=8))
            if on_cell is not None:
                label = f"{name} {flag}={value_labels[c]}"
                on_cell(CellDone(r, c, r * len(variants) + c + 1, total, label, result))
        cells.append(row)
    col_labels = (["content", "style"] if show_inputs else []) + value_labels
    return make_sheet(
        cells,
        row_labels=[name for _, _, name in pairs],
        col_labels=col_labels,
        cell_size=cell_size or max(v.size for v in variants),
        title=f"{flag} sweep" if title is None else title,
    )


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "+".join(format_value(v) for v in value)
    return str(value)


def parse_sweep(spec: str) -> tuple[str, list[Any]]:
    """``"style_weight=0.3,1,3"`` (or ``style-weight=...``) → ``("style_weight", [0.3, 1.0, 3.0])``.

    Values are read as the field's type; ``none`` gives None where the field allows it, and tuple
    fields take ``+``-joined elements (``style_layers=relu1_1+relu2_1,relu3_1``). The values are
    not range-checked here (:func:`sweep_sheet` does that).
    """
    name, sep, text = spec.partition("=")
    field = name.strip().replace("-", "_")
    hints = typing.get_type_hints(Settings)
    if not sep or field not in hints:
        known = ", ".join(f.name.replace("_", "-") for f in dataclasses.fields(Settings))
        raise SettingsError(
            f"sweep must look like SETTING=V1,V2,... with SETTING one of: {known}; got {spec!r}"
        )
    items = [item.strip() for item in text.split(",")]
    if not any(items) or not all(items):
        raise SettingsError(f"sweep of {field.replace('_', '-')} has an empty value in {text!r}")
    return field, [_parse_value(item, hints[field], field) for item in items]


def _parse_value(text: str, hint: Any, field: str) -> Any:
    args = typing.get_args(hint)
    if type(None) in args:
        if text.lower() == "none":
            return None
        (hint,) = [a for a in args if a is not type(None)]
        args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    try:
        if origin is tuple:
            return tuple(_parse_value(part, args[0], field) for part in text.split("+"))
        if origin is typing.Literal:
            if text not in args:
                raise ValueError(f"choose from {', '.join(map(str, args))}")
            return text
        if hint is bool:
            lowered = text.lower()
            if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                raise ValueError("use true or false")
            return lowered in ("true", "yes", "on", "1")
        if hint in (int, float, str):
            return hint(text)
    except ValueError as error:
        raise SettingsError(f"sweep of {field.replace('_', '-')}: cannot read {text!r} ({error})") from error
    raise SettingsError(f"cannot sweep {field.replace('_', '-')}")  # no field has another type today
