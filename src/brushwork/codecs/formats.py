"""The table of image formats: extensions, what each can hold, and which library does it.

Every library here is a dependency of brushwork, yet a format is only offered when its library imports
(a Pillow built without libavif, say), so ``brushwork info`` asks :func:`available` and reading or
writing such a file gives one line naming what is missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

OUTPUT_PROFILES = ("source", "srgb")  # the output's colour space: the photo's own, or sRGB


@dataclass(frozen=True)
class Format:
    name: str  # as shown to people
    extensions: tuple[str, ...]  # the first is the one batch writes
    library: str  # the import that reads and writes it ("PIL" for Pillow's own plug-ins)
    holds16: bool  # 16-bit samples (written when the input had them, or with --bit-depth 16)
    alpha: bool
    icc: bool  # an embedded colour profile (others are written in sRGB)
    writes: bool = True
    plugin: str = ""  # a Pillow plug-in module that must import too


FORMATS: tuple[Format, ...] = (
    Format("PNG", (".png",), "cv2", holds16=True, alpha=True, icc=True),
    Format("JPEG", (".jpg", ".jpeg"), "PIL", holds16=False, alpha=False, icc=True),
    Format("WebP", (".webp",), "PIL", holds16=False, alpha=True, icc=True, plugin="PIL.WebPImagePlugin"),
    Format("TIFF", (".tif", ".tiff"), "tifffile", holds16=True, alpha=True, icc=True),
    Format("BMP", (".bmp",), "PIL", holds16=False, alpha=False, icc=False),
    Format("GIF", (".gif",), "PIL", holds16=False, alpha=False, icc=False, writes=False),
    Format("AVIF", (".avif",), "PIL", holds16=False, alpha=True, icc=True, plugin="PIL.AvifImagePlugin"),
    Format("HEIC", (".heic", ".heif"), "pillow_heif", holds16=False, alpha=True, icc=True),
    Format("JPEG XL", (".jxl",), "imagecodecs", holds16=True, alpha=True, icc=False),
    Format("PSD", (".psd", ".psb"), "psd_tools", holds16=True, alpha=True, icc=True),
    Format("OpenEXR", (".exr",), "OpenEXR", holds16=True, alpha=True, icc=False),
)

READ_EXTENSIONS: frozenset[str] = frozenset(ext for f in FORMATS for ext in f.extensions)
WRITE_EXTENSIONS: dict[str, Format] = {ext: f for f in FORMATS if f.writes for ext in f.extensions}
# .psb is read (large Photoshop documents) but written as .psd only
WRITE_EXTENSIONS.pop(".psb")


def by_extension(extension: str) -> Format | None:
    return WRITE_EXTENSIONS.get(extension.lower())


def by_name(name: str) -> Format:
    return next(f for f in FORMATS if f.name == name)


@cache
def available(fmt: Format) -> str | None:
    """None when this install reads and writes ``fmt``; otherwise what is missing, in a few words."""
    for module in (fmt.library, fmt.plugin):
        if not module:
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            package = {"cv2": "opencv-python-headless", "PIL": "pillow>=11.3"}.get(module, module)
            return f"needs {package.replace('_', '-')}"
    if fmt.name == "AVIF":
        from PIL import features

        if not features.check("avif"):
            return "this Pillow was built without libavif"
    return None


def check_available(fmt: Format, name: str, verb: str) -> None:
    """Raise a one-line ImageReadError / UserInputError when this install lacks the format."""
    from brushwork.errors import ImageReadError, UserInputError

    missing = available(fmt)
    if missing is None:
        return
    error = ImageReadError if verb == "read" else UserInputError
    raise error(f"cannot {verb} {name!r}: {fmt.name} {missing} (pip install brushwork's dependencies)")
