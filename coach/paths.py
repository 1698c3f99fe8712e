"""Where the coach keeps things on this machine (XDG folders, overridable for tests)."""

from __future__ import annotations

import hashlib
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
