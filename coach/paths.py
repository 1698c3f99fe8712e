"""Where the coach keeps things on this machine (XDG folders, overridable for tests)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def _xdg(variable: str, fallback: Path) -> Path:
    value = os.environ.get(variable)
    # The XDG spec says a relative path in these variables is invalid and must be ignored.
    return Path(value) if value and Path(value).is_absolute() else fallback


def data_dir() -> Path:
    """History and models: ``$COACH_DATA_DIR``, else ``$XDG_DATA_HOME/coach``, else
    ``~/.local/share/coach``."""
    if value := os.environ.get("COACH_DATA_DIR"):
        return Path(value).expanduser()
    return _xdg("XDG_DATA_HOME", Path.home() / ".local" / "share") / "coach"


def cache_dir() -> Path:
    """Rendered speech and the listening corpus: ``$COACH_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/coach``, else ``~/.cache/coach``."""
    if value := os.environ.get("COACH_CACHE_DIR"):
        return Path(value).expanduser()
    return _xdg("XDG_CACHE_HOME", Path.home() / ".cache") / "coach"


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def remembered_sha256(path: Path) -> str:
    """The SHA-256 of a large file that seldom changes (a model), computed once for each size
    and modification time and remembered in the cache folder, so start-up does not read the
    whole file every time."""
    stat = path.stat()
    key, seen = str(path.resolve()), cache_dir() / "sha256.json"
    try:
        known = json.loads(seen.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    record = known.get(key)
    if (isinstance(record, list) and len(record) == 3 and isinstance(record[2], str)
            and record[:2] == [stat.st_size, stat.st_mtime_ns]):
        return record[2]
    digest = sha256_file(path)
    known[key] = [stat.st_size, stat.st_mtime_ns, digest]
    try:
        seen.parent.mkdir(parents=True, exist_ok=True)
        tmp = seen.with_name(f".{seen.name}.{os.getpid()}")
        tmp.write_text(json.dumps(known), encoding="utf-8")
        os.replace(tmp, seen)
    except OSError:
        pass  # a read-only cache only costs the next start-up the hashing again
    return digest
