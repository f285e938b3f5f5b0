"""brushwork: neural style transfer (Gatys et al.) that is fast on an ordinary CPU."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from brushwork.api import Progress, StylizeResult, stylize
from brushwork.config import QUALITY_PRESETS, Settings
from brushwork.errors import BrushworkError, ImageReadError, SettingsError, UserInputError
from brushwork.imageio import Picture, read_image, write_image

try:
    __version__ = version("brushwork")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "QUALITY_PRESETS",
    "BrushworkError",
    "ImageReadError",
    "Picture",
    "Progress",
    "Settings",
    "SettingsError",
    "StylizeResult",
    "UserInputError",
    "__version__",
    "read_image",
    "stylize",
    "write_image",
]


def __getattr__(name: str) -> Any:
    # brushwork.stylize_video is imported on first use: it needs the optional video extra (PyAV, OpenCV)
    if name == "stylize_video":
        from brushwork.video.api import stylize_video

        return stylize_video
    raise AttributeError(f"module 'brushwork' has no attribute {name!r}")
