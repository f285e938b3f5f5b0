"""The files a command writes: checked before any work starts, and written atomically.

Every shell (the command line, the web app, and commands that write many files such as batch or video)
calls :func:`check_output` for each file and :func:`check_output_dir` for each folder it will write,
*before* it reads a weight or runs a step, so that a mistake costs a second and not a finished run:

* an output that is one of the run's own inputs (following symlinks and hard links) is refused, so the
  photo, painting, mask or video a user gave is never replaced by the result;
* an output that is a directory, whose folder does not exist or is not writable, or whose name is too
  long for the filesystem, is refused with a message naming the problem.

All refusals are :class:`~brushwork.errors.UserInputError` with a one-line message (the command line
answers exit status 2). :func:`write_atomically` writes through a hidden temporary file whose name
always fits the filesystem's limit (:func:`temp_path`), then renames it over the target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from brushwork.errors import UserInputError

PathLike = str | os.PathLike[str]

DEFAULT_NAME_MAX = 255  # bytes in one file name on ext4, XFS, btrfs, APFS, NTFS
TEMP_TOKEN_BYTES = 6  # random part of a temporary name: 12 hex digits
TEMP_SUFFIX = ".tmp"  # the web app's start-up sweep removes ".*.tmp" files


def name_max(folder: PathLike) -> int:
    """The longest file name, in bytes, that the filesystem holding ``folder`` allows."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return DEFAULT_NAME_MAX


def temp_path(target: PathLike) -> Path:
    """A new hidden temporary name beside ``target``: ``.NAME.RANDOM.tmp``, with NAME shortened as far
    as needed for the whole name to fit the filesystem's limit (the final name is kept as it is)."""
    folder, base = os.path.split(os.path.abspath(target))
    token = secrets.token_hex(TEMP_TOKEN_BYTES)
    room = name_max(folder) - len(f"..{token}{TEMP_SUFFIX}")
    while base and len(os.fsencode(base)) > room:
        base = base[:-1]
    return Path(folder, f".{base}.{token}{TEMP_SUFFIX}")


def input_clash(output: PathLike, inputs: Iterable[PathLike | None]) -> str | None:
    """The first of ``inputs`` that ``output`` would overwrite (the same path after following symlinks,
    or the same file through a hard link), or None."""
    target = os.path.realpath(output)
    for given in inputs:
        if given is None:
            continue
        if os.path.realpath(given) == target:
            return os.fspath(given)
        with contextlib.suppress(OSError):
            if os.path.samefile(given, output):
                return os.fspath(given)
    return None


def check_output(path: PathLike, inputs: Iterable[PathLike | None] = (), *, probe: bool = True) -> Path:
    """Check, before any work, that a file can be written at ``path``; return it as a Path.

    Raises :class:`UserInputError` with a one-line message when the output:

    * would replace one of ``inputs`` (pass every file the run reads: content, styles, mask, init image,
      video; None entries are skipped) — "... is also an input";
    * is a directory — "it is a directory";
    * lies in a folder that does not exist or is not a directory — "directory ... does not exist";
    * has a name too long for the filesystem — "name too long";
    * cannot be created because the folder is not writable (read-only filesystem, permissions,
      ``/proc``) — "directory ... is not writable".

    With ``probe`` (the default) the folder is tested by creating and removing the very temporary file
    an atomic write would use, which catches what permission bits cannot tell (root on a read-only
    mount, special filesystems). Callers that check thousands of names in one folder can probe once with
    :func:`check_output_dir` and pass ``probe=False`` for each name.
    """
    name = os.fspath(path)
    if not name:
        raise UserInputError("the output file name is empty")
    if os.path.isdir(name):
        raise UserInputError(f"cannot write {name!r}: it is a directory")
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.exists(folder):
        raise UserInputError(f"cannot write {name!r}: directory {folder!r} does not exist")
    if not os.path.isdir(folder):
        raise UserInputError(f"cannot write {name!r}: {folder!r} is not a directory")
    clash = input_clash(name, inputs)
    if clash is not None:
        raise UserInputError(
            f"cannot write {name!r}: it is also an input ({clash!r}) and would be overwritten; "
            "choose another output name"
        )
    length, limit = len(os.fsencode(os.path.basename(name))), name_max(folder)
    if length > limit:
        raise UserInputError(
            f"cannot write {name!r}: name too long ({length} bytes; the filesystem allows {limit})"
        )
    if not os.access(folder, os.W_OK):
        raise UserInputError(f"cannot write {name!r}: directory {folder!r} is not writable")
    if probe:
        _probe(name, folder)
    return Path(name)


def check_output_dir(
    folder: PathLike, inputs: Iterable[PathLike | None] = (), *, create: bool = False
) -> Path:
    """Check, before any work, that files can be written into ``folder``; return it as a Path.

    For commands that fill a folder (batch results, video frames, the web app's data directory). The
    folder must be a writable directory; with ``create`` a missing one is made (with its parents),
    otherwise it must exist. ``folder`` itself must not be one of ``inputs``. Each file name later
    written there should still be checked against the inputs, e.g. with
    ``check_output(name, inputs, probe=False)``. Raises :class:`UserInputError` with one line.
    """
    name = os.fspath(folder)
    if not name:
        raise UserInputError("the output folder name is empty")
    clash = input_clash(name, inputs)
    if clash is not None:
        raise UserInputError(f"cannot write into {name!r}: it is an input ({clash!r})")
    if os.path.exists(name) and not os.path.isdir(name):
        raise UserInputError(f"cannot write into {name!r}: it is a file, not a directory")
    if not os.path.exists(name):
        if not create:
            raise UserInputError(f"cannot write into {name!r}: directory does not exist")
        try:
            os.makedirs(name, mode=0o700, exist_ok=True)
        except OSError as error:
            parent = os.path.dirname(os.path.abspath(name))
            raise _write_error(error, name, parent, f"cannot create directory {name!r}") from None
    if not os.access(name, os.W_OK):
        raise UserInputError(f"cannot write into {name!r}: directory is not writable")
    _probe(os.path.join(name, "probe"), name, what=f"cannot write into {name!r}")
    return Path(name)


def write_atomically(target: PathLike, encode: Callable[[IO[bytes]], None]) -> None:
    """Write a file via a hidden temporary file in the same folder, then rename it over ``target``:
    an interrupted write never leaves a half-written target. ``encode`` writes the bytes."""
    name = os.fspath(target)
    temp = temp_path(name)
    try:
        # O_EXCL: never clobber another file; mode 0o666 lets the umask decide, unlike mkstemp's 0o600.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise _write_error(error, name, os.path.dirname(temp)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            encode(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def write_text_atomically(target: PathLike, text: str) -> None:
    """:func:`write_atomically` for UTF-8 text (e.g. a JSON sidecar)."""
    data = text.encode("utf-8")

    def encode(fh: IO[bytes]) -> None:
        fh.write(data)

    write_atomically(target, encode)


def _probe(name: str, folder: str, what: str | None = None) -> None:
    """Create and remove the temporary file a write of ``name`` would use."""
    temp = temp_path(name)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise _write_error(error, name, folder, what) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(temp)


def _write_error(error: OSError, name: str, folder: str, what: str | None = None) -> UserInputError:
    prefix = what or f"cannot write {name!r}"
    if error.errno == errno.ENAMETOOLONG:
        return UserInputError(f"{prefix}: name too long for the filesystem")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR):
        return UserInputError(f"{prefix}: directory {folder!r} is not writable")
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserInputError(f"{prefix}: no space left in {folder!r}")
    return UserInputError(f"{prefix}: {error.strerror or error}")
