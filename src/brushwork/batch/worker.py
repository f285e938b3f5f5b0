"""What a worker does with one item, the same in a local worker process and in a Ray task: stylize,
then write the output atomically with the item's key in its metadata."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from brushwork.batch.items import VIDEO_OUTPUT_SUFFIX
from brushwork.errors import UserInputError

KEY_FIELD = "brushwork-key"  # metadata keyword of the item key (a PNG text chunk, or in the EXIF description)
_KEY_IN_TEXT = re.compile(KEY_FIELD + r": ([0-9a-f]{64})")
_EXIF_DESCRIPTION = 0x010E

AttemptStatus = Literal["done", "error", "died"]


@dataclass(frozen=True)
class Task:
    """One item as sent to a worker: plain, picklable values only."""

    item: str
    key: str
    content: str
    styles: tuple[str, ...]
    settings: dict[str, Any]
    output: str
    kind: str  # "image" or "video"
    bits: int | None  # None: the photo's precision where the format holds it
    device: str
    weights: str | None
    attempt: int = 1
    output_profile: str = "source"


@dataclass(frozen=True)
class Attempt:
    """How one attempt at an item ended. ``died``: the worker was lost (reported by the driver)."""

    item: str
    key: str
    attempt: int
    status: AttemptStatus
    seconds: float
    error_type: str | None = None
    message: str | None = None
    user_error: bool = False  # the input itself is unusable: trying again cannot help
    host: str | None = None
    pid: int | None = None

    @classmethod
    def died(
        cls, task: Task, error_type: str, message: str, *, host: str | None = None, pid: int | None = None
    ) -> Attempt:
        """The attempt at ``task`` lost with its worker (so it may be tried again)."""
        return cls(
            item=task.item,
            key=task.key,
            attempt=task.attempt,
            status="died",
            seconds=0.0,
            error_type=error_type,
            message=message,
            host=host,
            pid=pid,
        )


@dataclass(frozen=True)
class Started:
    """A worker has taken an item (local engine)."""

    item: str
    attempt: int
    host: str
    pid: int


Event = Started | Attempt


def warm_up(method: str, precision: str, device: str, weights: str | None) -> None:
    """Load the engine's networks into this process's caches before the first item."""
    with contextlib.suppress(Exception):  # a problem here is reported by the items themselves
        from brushwork.device import resolve_device

        torch_device = resolve_device(device)
        if method == "fast":
            from brushwork.device import resolve_precision
            from brushwork.engines.feedforward.engine import networks

            networks(torch_device, resolve_precision(precision, torch_device))  # type: ignore[arg-type]
        else:
            from brushwork.features import find_weights, load_weights

            load_weights(find_weights(weights))


def run_task(task: Task) -> Attempt:
    """Run one item; every exception becomes a failed attempt rather than escaping."""
    started = time.perf_counter()
    status: AttemptStatus = "done"
    error_type = message = None
    user_error = False
    try:
        _stylize_to_file(task)
    except Exception as error:  # the driver records it in the ledger
        status, error_type, message = "error", type(error).__name__, one_line(error)
        user_error = isinstance(error, UserInputError)
    return Attempt(
        item=task.item,
        key=task.key,
        attempt=task.attempt,
        status=status,
        seconds=time.perf_counter() - started,
        error_type=error_type,
        message=message,
        user_error=user_error,
        host=socket.gethostname(),
        pid=os.getpid(),
    )


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _stylize_to_file(task: Task) -> None:
    from brushwork.api import stylize
    from brushwork.config import Settings
    from brushwork.device import resolve_device

    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in task.settings.items()}
    settings, device = Settings(**values), resolve_device(task.device)
    Path(task.output).parent.mkdir(parents=True, exist_ok=True)
    if task.kind == "video":
        _stylize_video_to_file(task, settings, device)
        return
    result = stylize(task.content, list(task.styles), settings=settings, device=device, weights=task.weights)
    result.save(
        task.output,
        bits=task.bits,
        output_profile="srgb" if task.output_profile == "srgb" else "source",
        metadata={KEY_FIELD: task.key},
    )


def _stylize_video_to_file(task: Task, settings: Any, device: Any) -> None:
    """A video item. A video file cannot carry the key in metadata we write, so it goes into a sidecar,
    ``OUTPUT.brushwork.json``: written as pending before the work and complete after it. stylize_video
    keeps finished frames between attempts; a pending key of other inputs or settings makes it restart."""
    from brushwork.outputs import write_text_atomically
    from brushwork.video import stylize_video

    sidecar = video_sidecar(Path(task.output))
    earlier = _sidecar_record(sidecar)
    restart = earlier is not None and earlier.get("key") != task.key
    write_text_atomically(sidecar, json.dumps({"key": task.key, "complete": False}) + "\n")
    stylize_video(
        task.content,
        list(task.styles),
        task.output,
        settings=settings,
        size=settings.size,
        device=device,
        weights=task.weights,
        restart=restart,
    )
    write_text_atomically(sidecar, json.dumps({"key": task.key, "complete": True}) + "\n")


def video_sidecar(output: Path) -> Path:
    return output.with_name(output.name + ".brushwork.json")


def _sidecar_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _exr_key(path: Path) -> str | None:
    """An OpenEXR output keeps the key as a header attribute."""
    try:
        import OpenEXR

        key = OpenEXR.File(str(path), header_only=True).header().get(KEY_FIELD)
    except Exception:  # any unreadable output counts as absent
        return None
    return key if isinstance(key, str) else None


def read_key(path: Path) -> str | None:
    """The item key an earlier run wrote into an output's metadata (a video's: into its sidecar); None
    if it has none or is unreadable (a broken file is simply made again)."""
    if path.suffix.lower() == VIDEO_OUTPUT_SUFFIX:
        record = _sidecar_record(video_sidecar(path))
        if record is None or record.get("complete") is not True or not isinstance(record.get("key"), str):
            return None
        return str(record["key"])
    if path.suffix.lower() == ".exr":
        return _exr_key(path)
    if path.suffix.lower() in (".heic", ".heif"):
        from brushwork.imageio import register_pillow_plugins

        register_pillow_plugins()
    try:
        with Image.open(path) as image:
            texts = [v for v in image.info.values() if isinstance(v, str)]
            key = image.info.get(KEY_FIELD)
            if isinstance(key, str):
                return key
            description = image.getexif().get(_EXIF_DESCRIPTION)
            if isinstance(description, str):
                texts.append(description)
    except Exception:  # any unreadable output counts as absent
        return None
    for text in texts:
        match = _KEY_IN_TEXT.search(text)
        if match:
            return match.group(1)
    return None
