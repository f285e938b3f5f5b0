"""Taking in a batch job: its photos (one zip, unpacked safely, or several image files) within the
server's item and byte limits, its paintings, and small pictures for the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from fastapi import UploadFile
from PIL import Image
from starlette.exceptions import HTTPException

from brushwork.batch.items import IMAGE_EXTENSIONS
from brushwork.server import files as names
from brushwork.server.intake import COMMON_FIELDS, check_picture, save_upload, write_thumbnail
from brushwork.server.video_intake import receive_styles
from brushwork.server.zips import Refused, safe_name, unpack_photos

if TYPE_CHECKING:
    from brushwork.server.app import Server

BATCH_FIELDS = frozenset(("photos", "style", "style_id", "size", "pair", *COMMON_FIELDS))


@dataclass(frozen=True)
class BatchChoice:
    pair: str  # all or random


def receive_batch(
    server: Server,
    folder: Path,
    photos: list[UploadFile],
    styles: list[UploadFile],
    style_ids: list[str],
    choice: BatchChoice,
) -> dict[str, Any]:
    """Store and check the uploads in ``folder``; returns the job's options."""
    config = server.config
    target = folder / names.PHOTOS
    target.mkdir()
    if len(photos) == 1 and _is_zip(photos[0]):
        archive = folder / "photos.zip"
        save_upload(photos[0], archive, config.max_batch_bytes, "the zip of photos")
        try:
            unpacked = unpack_photos(
                archive, target, max_members=config.max_batch_items, max_bytes=config.max_batch_bytes
            )
        except Refused as error:
            raise HTTPException(error.status, str(error)) from None
        finally:
            archive.unlink(missing_ok=True)
        found, skipped = unpacked.photos, unpacked.skipped
    else:
        found, skipped = _receive_files(server, photos, target)
    if not found:
        raise HTTPException(400, "photos: no images among the files sent (jpg, png, webp, tif, bmp, gif)")
    for name in found:
        _check_pixels(target / name, name, config.max_pixels)
    first = check_picture(target / found[0], "the first photo", config, server.decodes)
    write_thumbnail(first.rgb, folder / names.CONTENT_THUMB)
    receive_styles(server, folder / names.STYLES, styles, style_ids)
    return {"pair": choice.pair, "photos": len(found), "skipped": skipped[:100]}


def _check_pixels(path: Path, name: str, limit: int) -> None:
    """413 for a photo with more pixels than the limit, read from its header (nothing is decoded); a
    photo whose header cannot be read is left to fail as an item, with the reason in the job."""
    try:
        with Image.open(path) as image:
            pixels = image.size[0] * image.size[1]
    except Image.DecompressionBombError:
        pixels = limit + 1
    except Exception:
        return
    if pixels > limit:
        raise HTTPException(413, f"photos: {name!r} has more than {limit} pixels, the limit here")


def _is_zip(upload: UploadFile) -> bool:
    upload.file.seek(0)
    magic = upload.file.read(4)
    upload.file.seek(0)
    return magic == b"PK\x03\x04" or (upload.filename or "").lower().endswith(".zip")


def _receive_files(server: Server, photos: list[UploadFile], target: Path) -> tuple[list[str], list[str]]:
    config = server.config
    if len(photos) > config.max_batch_items:
        raise HTTPException(413, f"photos: {len(photos)} files; at most {config.max_batch_items} here")
    taken: set[str] = set()
    found: list[str] = []
    skipped: list[str] = []
    total = 0
    for upload in photos:
        name = safe_name(upload.filename or "photo", taken)
        if upload.size == 0:  # the schema's files are never empty; an image type's would fail later
            raise HTTPException(400, f"photos: {name!r} is empty")
        if PurePosixPath(name).suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(name)
            continue
        limit = min(config.max_upload_bytes, config.max_batch_bytes - total)
        total += save_upload(upload, target / name, limit, f"photo {name!r}")
        found.append(name)
    return found, skipped
