"""Unpacking a batch's zip of photos, refusing what could hurt the server.

Refused: more members than the limit, more bytes unpacked than the limit (counted while writing, so a
zip bomb whose headers lie stops there too), names that would land outside the folder (absolute,
``..``, drive letters, backslashes), links, encrypted members and repeated names. Only image files
are unpacked; the other members are listed as skipped.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from brushwork.batch.items import IMAGE_EXTENSIONS

COPY_CHUNK = 1024 * 1024
MAX_DEPTH = 16  # folders in a member's name
MAX_PART = 200  # bytes in one part of a member's name
_DRIVE = re.compile(r"^[A-Za-z]:")
_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


class Refused(Exception):
    """The archive (or a file) cannot be taken; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Unpacked:
    photos: list[str] = field(default_factory=list)  # paths under the folder, posix
    skipped: list[str] = field(default_factory=list)  # members that are not images
    bytes: int = 0


def unpack_photos(archive: Path, target: Path, *, max_members: int, max_bytes: int) -> Unpacked:
    """Unpack the images of the zip at ``archive`` into ``target``; raises :class:`Refused`."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise Refused(400, f"photos: not a readable zip file ({error})") from None
    with zf:
        members = [info for info in zf.infolist() if not info.is_dir()]
        if len(members) > max_members:
            raise Refused(413, f"photos: the zip holds {len(members)} files; at most {max_members} here")
        seen: set[str] = set()
        for info in members:
            _check_member(info, seen)
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            raise Refused(413, f"photos: {declared} bytes unpacked; at most {max_bytes} here")
        unpacked = Unpacked()
        for info in members:
            name = PurePosixPath(info.filename)
            if name.suffix.lower() not in IMAGE_EXTENSIONS or any(p.startswith(".") for p in name.parts):
                unpacked.skipped.append(info.filename)
                continue
            destination = target.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            unpacked.bytes += _extract(zf, info, destination, max_bytes - unpacked.bytes, max_bytes)
            unpacked.photos.append(name.as_posix())
    return unpacked


def _check_member(info: zipfile.ZipInfo, seen: set[str]) -> None:
    name = info.filename
    parts = PurePosixPath(name).parts
    unsafe = (
        not parts
        or name.startswith("/")
        or "\\" in name
        or "\0" in name
        or _DRIVE.match(name) is not None
        or ".." in parts
        or len(parts) > MAX_DEPTH
        or any(len(part.encode()) > MAX_PART for part in parts)
    )
    if unsafe:
        raise Refused(400, f"photos: the zip member {name[:200]!r} would be unpacked outside its folder")
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        raise Refused(400, f"photos: the zip member {name[:200]!r} is a link")
    if info.flag_bits & 0x1:
        raise Refused(400, f"photos: the zip member {name[:200]!r} is encrypted")
    key = name.lower()
    if key in seen:
        raise Refused(400, f"photos: the zip holds {name[:200]!r} twice")
    seen.add(key)


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, allowed: int, limit: int) -> int:
    """Copy one member, stopping past ``allowed`` bytes whatever its header said."""
    written = 0
    try:
        with zf.open(info) as source, open(destination, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                written += len(chunk)
                if written > allowed:
                    raise Refused(413, f"photos: the zip unpacks to more than {limit} bytes")
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise Refused(400, f"photos: cannot unpack {info.filename[:200]!r}: {error}") from None
    return written


def safe_name(name: str, taken: set[str]) -> str:
    """A plain file name for an uploaded photo (its folders and odd characters dropped), unique in
    ``taken`` (which it joins)."""
    base = _SAFE.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip(" .") or "photo"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100] or "photo"
    candidate = f"{stem}.{suffix}" if suffix else stem
    count = 1
    while candidate.lower() in taken:
        count += 1
        candidate = f"{stem}-{count}.{suffix}" if suffix else f"{stem}-{count}"
    taken.add(candidate.lower())
    return candidate
