"""The mask that `--mask` names: a file, the photo's subject or background, its faces or its text.

:func:`region_mask` is the one call a shell or engine needs: it turns what the user gave to
`--mask` (a file, or one of the words in :data:`KEYWORDS`) into a float32 (H, W) mask at the
picture's size, inverted and feathered as asked, with the notes to show. 1 paints, 0 keeps the
photo, values between blend. A file literally called "subject" is given as "./subject".
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from brushwork.errors import SettingsError, UserInputError
from brushwork.regions.faces import face_mask, find_faces
from brushwork.regions.masks import LoadedMask, check_coverage, feather, invert, read_mask
from brushwork.regions.subject import Box, locate_subject

KEYWORDS = ("subject", "background", "faces", "text")


def photo_mask(
    photo: str | os.PathLike[str], kind: str, *, size: int | None = None, feather_px: float = 0.0
) -> LoadedMask:
    """The mask that ``--mask KIND`` finds in the photo file ``photo`` (one of :data:`KEYWORDS`), at
    the size a run at ``--size size`` paints (the photo's own size when None), as the run finds it:
    `brushwork mask` writes it so that it can be checked, edited and given back with ``--mask``."""
    from brushwork import imageio

    if kind not in KEYWORDS:
        raise SettingsError(f"the mask to find must be one of {', '.join(KEYWORDS)}, not {kind!r}")
    picture = imageio.read_image(photo)
    rgb = picture.rgb
    if size is not None:
        rgb = imageio.resize(rgb, imageio.fit_long_side(picture.size, size))
    return region_mask(kind, rgb, feather_px=feather_px)


def region_mask(
    spec: str | os.PathLike[str],
    rgb: npt.NDArray[np.floating],
    *,
    inverted: bool = False,
    feather_px: float = 0.0,
    box: Box | tuple[int, int, int, int] | None = None,
) -> LoadedMask:
    """The mask that `spec` names, for the (H, W, 3) picture `rgb` (the photo at the output size).

    spec: "subject" (the photo's main subject, see :mod:`brushwork.regions.subject`; `box` = x, y, w, h
    helps it), "background" (everything but the subject), "faces" (ellipses over the faces found), "text"
    (the lines of text found, see :mod:`brushwork.regions.text`), or
    a mask file (resized to the picture, with a note). `inverted` swaps paint and keep; a mask that
    then keeps everything is refused with a one-line UserInputError. `feather_px` softens the edges
    over about that many pixels (after the check)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) array, not shape {rgb.shape}")
    height, width = rgb.shape[:2]
    name = os.fspath(spec)
    if box is not None and name not in ("subject", "background"):
        raise SettingsError(
            f"a subject box applies only to the masks 'subject' and 'background', not {name!r}"
        )
    if name not in KEYWORDS:
        loaded = read_mask(name, (width, height), inverted=inverted)
        return LoadedMask(feather(loaded.mask, feather_px), loaded.notes)
    notes: list[str] = []
    if name == "text":
        from brushwork.regions.text import find_text, text_mask

        lines = find_text(rgb)
        if not lines:
            raise UserInputError("mask 'text': no text found in the photo")
        mask = text_mask((height, width), lines)
        notes.append(f"mask 'text': {len(lines)} line{'s' if len(lines) > 1 else ''} of text found")
    elif name == "faces":
        boxes = find_faces(rgb)
        if not boxes:
            raise UserInputError("mask 'faces': no face found in the photo")
        mask = face_mask((height, width), boxes)
        notes.append(f"mask 'faces': {len(boxes)} face{'s' if len(boxes) > 1 else ''} found")
    else:
        subject = locate_subject(rgb, box)
        mask = subject.mask if name == "subject" else invert(subject.mask)
        if subject.note:
            notes.append(f"mask {name!r}: {subject.note}")
    if inverted:
        mask = invert(mask)
    note = check_coverage(mask, f"mask {name!r}", inverted=inverted)
    if note:
        notes.append(note)
    return LoadedMask(feather(mask, feather_px), tuple(notes))
