"""Reading a zip archive safely: every entry is checked before anything is written.

Refused: absolute paths, ``..``, symbolic links and special files, encrypted entries, and zip
bombs (too much unpacked in all, or too much per packed byte).
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path

MAX_UNPACKED = 4 * 1024**3
"""Largest total unpacked size accepted from an archive (bytes)."""
MAX_RATIO = 200
"""Largest unpacked/packed size ratio accepted for anything over RATIO_FLOOR bytes."""
RATIO_FLOOR = 1024**2
"""Entries (and archives) smaller than this are too small to be a zip bomb."""
COPY_CHUNK = 64 * 1024
"""Bytes copied per step while extracting."""


class UnsafeArchive(ValueError):
    """An entry could land outside the folder, or the archive unpacks too much."""


def entry_parts(info: zipfile.ZipInfo) -> list[str]:
    """The entry's path components; UnsafeArchive when it could land outside the folder."""
    name = info.filename
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    where = f"entry {name!r}"
    if kind == stat.S_IFLNK:
        raise UnsafeArchive(f"{where} is a symbolic link; a model archive may hold only files "
                            "and folders")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchive(f"{where} is a special file (mode {oct(mode)}); a model archive may "
                            "hold only files and folders")
    if info.flag_bits & 0x1:
        raise UnsafeArchive(f"{where} is encrypted; a model archive must not be")
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise UnsafeArchive(f"{where} has an absolute path; entries must be relative to the "
                            "archive")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"{where} climbs out of the archive with '..'; entries must stay "
                            "inside")
    if not parts:
        raise UnsafeArchive(f"{where} has an empty path")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise UnsafeArchive(f"{where} unpacks {info.compress_size} bytes into {info.file_size} "
                            f"(more than {MAX_RATIO} times); refusing what looks like a zip "
                            "bomb")
    return parts


def checked_entries(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, list[str]]]:
    """Every entry with its path components, once the whole archive has passed the checks."""
    entries = [(info, entry_parts(info)) for info in archive.infolist()]
    unpacked = sum(info.file_size for info, _ in entries)
    packed = sum(info.compress_size for info, _ in entries)
    if unpacked > MAX_UNPACKED or (unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * packed):
        raise UnsafeArchive(f"unpacks {packed} bytes into {unpacked} bytes (at most "
                            f"{MAX_UNPACKED} bytes and {MAX_RATIO} times allowed); refusing "
                            "what looks like a zip bomb")
    return entries


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Write one checked entry to target (never over an existing file)."""
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # zipfile stops at the size in the entry's header (checked above) and checks its CRC,
    # so a header that lies about the size cannot unpack more than was allowed.
    with archive.open(info) as src, target.open("xb") as dst:
        shutil.copyfileobj(src, dst, COPY_CHUNK)
