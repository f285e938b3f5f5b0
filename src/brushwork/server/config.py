"""The server's own settings (limits, paths, workers); a transfer's are :class:`brushwork.Settings`."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from brushwork.errors import UserInputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def default_data_dir() -> Path:
    """``$BRUSHWORK_DATA_DIR``, else ``$XDG_DATA_HOME/brushwork``, else ``~/.local/share/brushwork``."""
    explicit = os.environ.get("BRUSHWORK_DATA_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "brushwork"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name to bind) is reachable only from this machine."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    workers: int = 1
    device: str = "auto"
    token: str | None = None  # required for every /api/ call when set
    max_upload_bytes: int = 25 * 1024 * 1024  # per uploaded file
    max_pixels: int = 20_000_000  # per uploaded image (width x height)
    max_queued: int = 50  # jobs waiting to run; more is answered 429
    max_size: int = 1024  # largest output long side a client may ask for
    max_steps: int = 500  # largest iteration count a client may ask for, and a job runs at any scale
    max_attempts: int = 2  # runs of a job the server was killed during, before it is marked failed
    preview_every: int = 5  # steps between preview images
    preview_interval: float = 0.5  # and at least this many seconds between them
    warm_up: bool = True  # load the fast engine at start, so that the first instant preview is quick
    max_disk_bytes: int = 10 * 1024**3  # jobs' files together; finished jobs go, oldest first, past it
    keep_hours: float = 7 * 24.0  # finished jobs are removed this long after they finished
    max_job_seconds: float = 3600.0  # a job running longer fails
    max_clip_seconds: float = 60.0  # longest part of a clip a video job may paint
    max_clip_pixels: int = 1920 * 1080  # largest clip frame (width x height) a video job takes
    max_video_bytes: int = 200 * 1024 * 1024  # an uploaded clip
    max_batch_items: int = 100  # photos in a batch (zip members or files)
    max_batch_bytes: int = 200 * 1024 * 1024  # a batch's photos together, unpacked
    max_event_streams: int = 32  # event streams open at once; more are answered 429

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UserInputError(f"workers must be at least 1, got {self.workers}")
        for name in (
            "max_upload_bytes",
            "max_pixels",
            "max_queued",
            "max_steps",
            "max_attempts",
            "preview_every",
            "max_disk_bytes",
            "max_clip_pixels",
            "max_video_bytes",
            "max_batch_items",
            "max_batch_bytes",
            "max_event_streams",
        ):
            if getattr(self, name) < 1:
                raise UserInputError(
                    f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}"
                )
        for name in ("keep_hours", "max_job_seconds", "max_clip_seconds"):
            if not getattr(self, name) > 0:
                raise UserInputError(f"{name.replace('_', '-')} must be above 0, got {getattr(self, name)}")
        if self.max_size < 16:
            raise UserInputError(f"max-size must be at least 16, got {self.max_size}")
        if self.token is not None and len(self.token) < 8:
            raise UserInputError("the token must be at least 8 characters long")

    @property
    def max_body_bytes(self) -> int:
        """A whole request: three images (photo, painting, mask) and a few form fields."""
        return 3 * self.max_upload_bytes + 256 * 1024

    @property
    def larger_bodies(self) -> dict[str, int]:
        """The routes whose requests may be larger: a clip, or a batch's photos, with a few paintings."""
        paintings = 8 * self.max_upload_bytes + 256 * 1024
        return {
            "/api/videos": self.max_video_bytes + paintings,
            "/api/batches": self.max_batch_bytes + paintings,
        }
