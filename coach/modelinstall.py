"""Installing a Vosk model safely, from the web or from a zip file.

Nothing half-done is ever left in the models folder: a download and its unpacked contents live
in hidden temporary entries there (same filesystem, so the final step is one rename) and are
removed whatever happens.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TextIO

from coach import unzip
from coach.models import (
    KNOWN_MODELS,
    InstalledModel,
    ModelError,
    ModelSpec,
    describe_missing,
    installed_model,
    language_of,
    missing_files,
    models_dir,
    ways_out,
)
from coach.paths import sha256_file

_LOGGER = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total bytes or None when the server did not say)."""

CHUNK = 64 * 1024
"""Bytes read from the network per step."""
STALE_AFTER = 24 * 3600.0
"""Seconds after which a temporary entry left by a killed install is swept away."""
_TEMP_PREFIXES = (".download-", ".partial-", ".old-")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def progress_bar(stream: TextIO | None = None, width: int = 30) -> Progress:
    """A textual progress bar on stream (stderr by default), redrawn in place with \\r."""
    out = stream if stream is not None else sys.stderr
    last: list[object] = [None]

    def draw(done: int, total: int | None) -> None:
        if total:
            percent = min(100, done * 100 // total)
            filled = width * percent // 100
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}%  "
                    f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
            key: object = percent
        else:
            line, key = f"\r{done / 1e6:.1f} MB", round(done / 1e6, 1)
        if key == last[0]:
            return
        last[0] = key
        out.write(line + ("\n" if total and done >= total else ""))
        out.flush()

    return draw


# --- installing ------------------------------------------------------------------------------

def install(spec: ModelSpec, *, url: str | None = None, progress: Progress | None = None,
            timeout: float = 30) -> InstalledModel:
    """Download spec (from url if given), verify its SHA-256, unpack it into models_dir().

    progress gets (bytes so far, total or None) after every chunk and, at the end, once with
    total equal to the bytes received.
    """
    source = url or spec.url
    if not source.lower().startswith(("http://", "https://")):
        raise ModelError(f"cannot download {source!r}: only http:// and https:// addresses are "
                         "allowed; for a file on this machine use: coach models install --from "
                         "FILE.zip")
    root = _prepare_root()
    free = shutil.disk_usage(root).free
    if free < 3 * spec.size:
        raise ModelError(f"only {free / 1e6:.0f} MB free; {spec.name} needs about "
                         f"{3 * spec.size / 1e6:.0f} MB (the zip and the unpacked model)", root)
    fd, temp = tempfile.mkstemp(prefix=".download-", suffix=".zip", dir=root)
    archive = Path(temp)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _download(spec, source, out, progress, timeout)
        _check_digest(spec, digest, f"the download from {source}")
        _LOGGER.info("downloaded %s (%d bytes)", spec.name, archive.stat().st_size)
        return _unpack(archive, root, spec, spec.filename, source)
    finally:
        archive.unlink(missing_ok=True)


def install_from_file(path: Path, spec: ModelSpec | None = None) -> InstalledModel:
    """Install a model zip from this machine, verified when it is a known model.

    The spec is looked up by file name or checksum when not given; an unknown zip is accepted
    when it holds a Vosk model, and is named after its top folder.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ModelError("is a folder; pass the model's .zip file, or set recognition.model in "
                         "config.toml to a model folder", path)
    try:
        digest = sha256_file(path)
    except OSError as err:
        raise ModelError(f"cannot read it ({err.strerror or err}); pass the path of a model's "
                         ".zip file", path) from None
    if spec is None:
        stem = path.name.removesuffix(".zip")
        spec = KNOWN_MODELS.get(stem) or next(
            (s for s in KNOWN_MODELS.values() if s.sha256 == digest), None)
    if spec is not None:
        _check_digest(spec, digest, str(path))
    root = _prepare_root()
    return _unpack(path, root, spec, path.name, str(path))


def _prepare_root() -> Path:
    root = models_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ModelError(f"cannot create the models folder ({err.strerror or err}); set "
                         "COACH_DATA_DIR to a writable folder", root) from None
    _sweep(root)
    return root


def _sweep(root: Path) -> None:
    """Remove temporary entries an install killed mid-way left behind."""
    now = time.time()
    for entry in root.iterdir():
        try:
            stale = now - entry.lstat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if entry.name.startswith(_TEMP_PREFIXES) and stale:
            _LOGGER.info("removing leftover %s", entry)
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _check_digest(spec: ModelSpec, actual: str, what: str) -> None:
    if actual != spec.sha256.lower():
        raise ModelError(f"{what} is not the published {spec.name}: its SHA-256 is {actual}, "
                         f"expected {spec.sha256}. It may be incomplete or altered; nothing was "
                         f"installed. Download it again: {ways_out(spec)}")


def _download(spec: ModelSpec, source: str, out: BinaryIO, progress: Progress | None,
              timeout: float) -> str:
    """Stream source into out; return the SHA-256 of what arrived."""
    digest = hashlib.sha256()
    done = 0
    request = urllib.request.Request(source, headers={"User-Agent": "coach-model-installer"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                _save(out, chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except urllib.error.HTTPError as err:
        raise _network_error(spec, source, f"the server refused the download (HTTP {err.code} "
                                           f"{err.reason})") from None
    except urllib.error.URLError as err:
        raise _network_error(spec, source, _offline(err.reason)) from None
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise _network_error(spec, source, _offline(err)) from None
    if total is not None and done < total:
        raise _network_error(spec, source, f"the download was cut short after {done} of "
                                           f"{total} bytes")
    if progress:
        progress(done, done)
    return digest.hexdigest()


def _save(out: BinaryIO, chunk: bytes) -> None:
    try:
        out.write(chunk)
    except OSError as err:  # told apart here: everything else in _download is the network
        raise ModelError(f"could not save the download ({err.strerror or err}); free some "
                         "space or set COACH_DATA_DIR to another folder") from None


def _offline(reason: object) -> str:
    if isinstance(reason, socket.gaierror):
        return f"this machine seems to be offline (cannot look up the server: {reason})"
    if isinstance(reason, TimeoutError):
        return "this machine seems to be offline (the server did not answer in time)"
    return f"this machine seems to be offline or the server refused the connection ({reason})"


def _network_error(spec: ModelSpec, source: str, why: str) -> ModelError:
    return ModelError(f"could not download {spec.name} from {source}: {why}. To install it, "
                      f"{ways_out(spec)}")


def _plan(archive: zipfile.ZipFile, name: str | None,
          filename: str) -> tuple[str, list[tuple[zipfile.ZipInfo, list[str]]]]:
    """Check every entry before anything is written: the model's name, and each entry's path
    below the staging folder (starting with that name)."""
    entries = unzip.checked_entries(archive)
    # Archives zipped by macOS Finder carry resource forks in __MACOSX/: not part of the model.
    entries = [(info, parts) for info, parts in entries if parts[0] != "__MACOSX"]
    files = {"/".join(parts) for info, parts in entries if not info.is_dir()}
    if "am/final.mdl" in files or "final.mdl" in files:
        # The model's files sit at the top: they go into a folder of their own.
        final = name or Path(filename).stem
        missing = missing_files(files.__contains__)
        where = ""
    else:
        tops = sorted({parts[0] for _, parts in entries})
        loose = [p for i, p in entries if len(p) == 1 and not i.is_dir()]
        if len(tops) != 1 or loose:
            found = ", ".join(tops) or "nothing"
            raise ModelError(f"holds {found} at the top; a model archive holds exactly one "
                             "folder with the model inside")
        final = name or tops[0]
        missing = missing_files({f.split("/", 1)[1] for f in files}.__contains__)
        where = f"its folder {tops[0]}/ is "
        entries = [(info, parts[1:]) for info, parts in entries if len(parts) > 1]
    if missing:
        raise ModelError(f"is not a Vosk model: {where}{describe_missing(missing)}")
    if not _SAFE_NAME.fullmatch(final):
        raise ModelError(f"model name {final!r} is not allowed; use letters, digits, '.', '_', "
                         "'+' and '-', not starting with a dot")
    return final, [(info, [final, *parts]) for info, parts in entries]


def _unpack(archive_path: Path, root: Path, spec: ModelSpec | None, filename: str,
            where: str) -> InstalledModel:
    """Safely extract archive_path into root and move the model into place.

    filename names a model whose files sit at the archive's top; where names the archive in
    errors (the download's temporary file would mean nothing to the person).
    """
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        try:
            with zipfile.ZipFile(archive_path) as archive:
                final, placed = _plan(archive, spec.name if spec else None, filename)
                for info, parts in placed:
                    unzip.extract(archive, info, staging.joinpath(*parts))
        except ModelError as err:
            raise ModelError(err.problem, where) from None
        except unzip.UnsafeArchive as err:
            raise ModelError(str(err), where) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
            raise ModelError(f"is not a readable zip archive ({err}); it may be truncated or "
                             "damaged: download it again", where) from None
        except OSError as err:
            raise ModelError(f"could not be unpacked: {err}", where) from None
        target = _place(staging / final, root, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    language = spec.language if spec else language_of(final)
    _LOGGER.info("installed %s in %s", final, target)
    return installed_model(target, final, language, "data dir")


def _place(unpacked: Path, root: Path, name: str) -> Path:
    """Move unpacked to root/name; an older copy is set aside first and restored on failure."""
    target = root / name
    aside: Path | None = None
    try:
        if target.exists() or target.is_symlink():
            aside = root / f".old-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(target, aside)
        try:
            os.replace(unpacked, target)
        except OSError:
            if aside is not None:
                os.replace(aside, target)
            raise
    except OSError as err:
        raise ModelError(f"could not move the new model into place ({err}); the previous "
                         "one, if any, was kept", target) from None
    if aside is not None:
        _remove(aside)
    return target
