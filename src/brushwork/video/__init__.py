"""Video: ``brushwork video`` and :func:`stylize_video`, with temporal consistency and resumable runs.

Needs the ``video`` extra (PyAV and OpenCV): ``pip install 'brushwork[video]'``. The names below are
imported on first use, so that ``brushwork`` itself works without that extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brushwork.video.api import FramePainter as FramePainter
    from brushwork.video.api import VideoProgress as VideoProgress
    from brushwork.video.api import VideoResult as VideoResult
    from brushwork.video.api import stylize_video as stylize_video
    from brushwork.video.metrics import VideoEvaluation as VideoEvaluation
    from brushwork.video.metrics import evaluate_video as evaluate_video
    from brushwork.video.metrics import warping_error as warping_error

_WHERE = {
    "FramePainter": "brushwork.video.api",
    "VideoProgress": "brushwork.video.api",
    "VideoResult": "brushwork.video.api",
    "stylize_video": "brushwork.video.api",
    "VideoEvaluation": "brushwork.video.metrics",
    "evaluate_video": "brushwork.video.metrics",
    "warping_error": "brushwork.video.metrics",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'brushwork.video' has no attribute {name!r}")
