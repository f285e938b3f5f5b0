"""Checks the shells make on a run's inputs before any work starts (outputs: :mod:`brushwork.outputs`).

Each raises :class:`~brushwork.errors.UserInputError` with a one-line message, or returns a note for
the user, so that a mistake is answered in a second rather than after a long run:

* a style image too small to carry a style is refused (:data:`MIN_STYLE_SIDE`);
* a weights file that is not a VGG19 ``torch.save`` dict is refused, naming what is wrong
  (:func:`brushwork.features.weights.check_weights_file`, which loading a user's file also runs);
* a memory budget larger than the machine is lowered to the machine's memory, with a note.
"""

from __future__ import annotations

import os
import warnings

import torch
from PIL import Image

from brushwork.config import Settings
from brushwork.engines.optimize.memory import format_bytes, parse_memory
from brushwork.errors import UserInputError
from brushwork.features.weights import check_weights_file as check_weights_file  # checked here too
from brushwork.sysmemory import total_memory

# A style image's statistics come from its texture; below this many pixels on its short side it has
# almost none (VGG19's first pooling halves it, the fifth block sees one position), and scaled up to
# the output's size it paints a blur of its average colour.
MIN_STYLE_SIDE = 16

PathLike = str | os.PathLike[str]


def check_style_image(path: PathLike) -> None:
    """Refuse a style image under :data:`MIN_STYLE_SIDE` pixels on its short side.

    Only the header is read; a file that cannot be opened is left for the image reader to report.
    """
    name = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. Pillow's decompression-bomb warning: read_image decides
            with Image.open(name) as im:
                width, height = im.size
    except Exception:  # unreadable: read_image gives the precise one-line error later
        return
    if 0 < min(width, height) < MIN_STYLE_SIDE:
        raise UserInputError(
            f"style image {name!r} is {width}x{height}: too small to carry a style (at least "
            f"{MIN_STYLE_SIDE} pixels on the short side are needed; a few hundred work best)"
        )


def machine_memory(device: torch.device) -> int | None:
    """Memory the device has in all, in bytes: the GPU's for CUDA, else the RAM this process may use
    (the smaller of the machine's and a cgroup limit, see :mod:`brushwork.sysmemory`). None when
    unknown."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type != "cpu":
        return None
    return total_memory()


def fit_memory_budget(settings: Settings, device: torch.device) -> tuple[Settings, str | None]:
    """Lower ``max_memory`` to the device's memory when it asks for more; return the settings to use and
    a note saying so (None when nothing changed)."""
    if settings.max_memory is None:
        return settings, None
    asked = parse_memory(settings.max_memory)
    total = machine_memory(device)
    if total is None or asked <= total:
        return settings, None
    fitted = f"{total // 2**20}MB"
    where = "the GPU" if device.type == "cuda" else "this machine"
    note = (
        f"note: max-memory {settings.max_memory} is more than {where} has "
        f"({format_bytes(total)}); planning within {format_bytes(total)}"
    )
    return settings.replace(max_memory=fitted), note
