"""config.toml: cadence, turns, routines, voice, audio and recognition settings.

Defaults live here, in code; ``config.toml`` only overrides them. Every value is checked on
load: a wrong type, a value out of range, an unknown key or an unknown routine is a
:class:`~coach.errors.ConfigError` naming the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .errors import ConfigError
from .progression import GrowthRules

ROUTINE_NAMES = ("hallway", "couch", "car", "table", "walk", "cooldown", "hill", "elliptical")
"""Every routine the coach knows, in the order PRODUCT.md lists them."""

SIDES = ("left", "right")
COUNT_STYLES = ("steps", "cycle", "none")
ENGINES = ("auto", "vosk", "whisper")


def _opt(default: Any, *, lo: float | None = None, hi: float | None = None,
         choices: tuple[str, ...] | None = None) -> Any:
    """A dataclass field with its allowed range or choices kept beside it."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "choices": choices})


@dataclass(frozen=True)
class CadenceConfig:
    """How fast the beat goes and how far slower/faster may move it."""

    steps_per_minute: int = _opt(60, lo=20, hi=120)
    """Beat at the start of a session."""
    slowest: int = _opt(30, lo=20, hi=120)
    """Lowest cadence ``slower`` reaches."""
    fastest: int = _opt(90, lo=20, hi=120)
    """Highest cadence ``faster`` reaches."""
    change_by: int = _opt(5, lo=1, hi=30)
    """Steps per minute that one ``slower`` or ``faster`` changes."""


@dataclass(frozen=True)
class TurnsConfig:
    """Head turns: one shoulder for N steps, then the other."""

    steps: int = _opt(4, lo=1, hi=20)
    """Steps spent looking over one shoulder before switching."""
    first_side: str = _opt("left", choices=SIDES)
    """The shoulder to look over first."""


@dataclass(frozen=True)
class DialogueConfig:
    """How the coach handles uncertain commands and reminders."""

    confirm_below: float = _opt(0.6, lo=0.0, hi=1.0)
    """Commands heard with less confidence are confirmed first (never stop or pause)."""
    question_timeout_s: float = _opt(10.0, lo=2.0, hi=120.0)
    """Seconds to wait for yes or no before taking it as no."""
    reminder_after_resume: bool = _opt(True)
    """Say a wall/balance reminder every time a walk resumes."""
    seed: int = _opt(0, lo=0, hi=2**31 - 1)
    """Seed for choosing between line variants (same seed, same session)."""


@dataclass(frozen=True)
class RoutineConfig:
    """One routine: its length and its cues. Exactly one of steps or minutes is set."""

    steps: int | None = _opt(None, lo=1, hi=1000)
    """Length in steps (step routines)."""
    minutes: float | None = _opt(None, lo=0.25, hi=120)
    """Length in minutes (duration routines: walk, cooldown, elliptical)."""
    head_turns: bool = _opt(True)
    """Give head-turn cues."""
    straight_steps: int = _opt(0, lo=0, hi=100)
    """Steps before the first head turn."""
    count: str = _opt("steps", choices=COUNT_STYLES)
    """How counts are spoken: every step's number, 1..N within each head-turn stretch
    (``cycle``), or none (timed routines: no beat, time cues only)."""
    reminder_every: int = _opt(0, lo=0, hi=1000)
    """A wall/balance reminder every this many steps (seconds when count is none); 0 = off."""
    time_cues_every_s: int = _opt(0, lo=0, hi=3600)
    """Say the time done and left every this many seconds; 0 = off."""
    safe_area_check: bool = _opt(False)
    """Ask whether the area is safe and start only on yes."""
    caution: bool = _opt(False)
    """Add the extra-caution line to the briefing."""
    grow: bool = _opt(False)
    """Grow the length gradually from what was done before (steps or minutes is the start)."""
    grow_to: float | None = _opt(None, lo=1, hi=1000)
    """With grow: the longest it ever gets, in the routine's unit (steps or minutes)."""
    daily: int = _opt(0, lo=0, hi=50)
    """Times a day this routine is worth doing (``coach today`` suggests what is left)."""


DEFAULT_ROUTINES: dict[str, dict[str, Any]] = {
    "hallway": {"steps": 10, "straight_steps": 4, "daily": 1},
    "couch": {"steps": 4, "daily": 3},
    "car": {"steps": 4, "safe_area_check": True, "daily": 2},
    "table": {"steps": 4, "daily": 3},
    "walk": {"minutes": 3.0, "straight_steps": 4, "count": "cycle", "reminder_every": 40,
             "time_cues_every_s": 60, "grow": True, "grow_to": 20.0},
    "cooldown": {"minutes": 3.0, "straight_steps": 4, "count": "cycle", "reminder_every": 40,
                 "time_cues_every_s": 60, "grow": True, "grow_to": 15.0},
    "hill": {"steps": 12, "straight_steps": 4, "reminder_every": 6, "caution": True,
             "grow": True, "grow_to": 30.0},
    "elliptical": {"minutes": 5.0, "head_turns": False, "count": "none",
                   "time_cues_every_s": 30},
}
"""What each routine is unless config.toml says otherwise."""


@dataclass(frozen=True)
class ProgressionConfig:
    """How fast the growing routines (walk, cooldown, hill) may lengthen."""

    per_session: float = _opt(0.2, lo=0.01, hi=1.0)
    """Largest growth over the last length done, per session (0.2 = +20%)."""
    per_week: float = _opt(0.5, lo=0.01, hi=3.0)
    """Largest growth over the best length done before the last seven days."""


GROW_STEP = {"seconds": 15.0, "steps": 1.0}
"""Growing lengths are whole multiples of this: a quarter minute, or one step."""


@dataclass(frozen=True)
class VoiceConfig:
    """What the coach sounds like."""

    pack: str = _opt("en")
    """Voice pack: a folder name under voices/, or a path to a pack folder."""
    voice: str = _opt("")
    """TTS voice id or name; empty = the pack's default voice."""
    rate: int = _opt(165, lo=80, hi=400)
    """Speaking rate in words per minute."""
    volume: float = _opt(1.0, lo=0.0, hi=1.0)
    """Speaking volume, 0..1."""


@dataclass(frozen=True)
class AudioConfig:
    """Which sound devices to use."""

    output_device: str = _opt("")
    """Speaker: a device index or part of its name; empty = the system default."""
    input_device: str = _opt("")
    """Microphone: a device index or part of its name; empty = the system default."""


@dataclass(frozen=True)
class RecognitionConfig:
    """How commands are recognised."""

    engine: str = _opt("auto", choices=ENGINES)
    """Recognition engine: auto picks vosk when a model is installed, else whisper."""
    model: str = _opt("")
    """Path to a Vosk model folder; empty = the installed model for the pack's language."""


@dataclass(frozen=True)
class Config:
    """Everything config.toml can set."""

    cadence: CadenceConfig = field(default_factory=CadenceConfig)
    """Beat and its bounds."""
    turns: TurnsConfig = field(default_factory=TurnsConfig)
    """Head-turn length and first side."""
    dialogue: DialogueConfig = field(default_factory=DialogueConfig)
    """Confirmation and reminders."""
    progression: ProgressionConfig = field(default_factory=ProgressionConfig)
    """Growth of the long routines."""
    routines: dict[str, RoutineConfig] = field(default_factory=dict)
    """Every routine by name (all of ROUTINE_NAMES)."""
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    """Voice pack and speech."""
    audio: AudioConfig = field(default_factory=AudioConfig)
    """Sound devices."""
    recognition: RecognitionConfig = field(default_factory=RecognitionConfig)
    """Speech recognition."""
    path: Path | None = None
    """The file this came from (None for built-in defaults)."""

    @classmethod
    def default(cls) -> Config:
        """The built-in defaults."""
        return cls.from_dict({})

    @classmethod
    def load(cls, path: Path | str) -> Config:
        """Read and check a config.toml; raise ConfigError naming the file and key on any fault."""
        path = Path(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise ConfigError(path, "(file)", "no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(path, "(file)", f"cannot read it as UTF-8 text: {err}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(path, "(syntax)", f"not valid TOML: {err}") from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> Config:
        """Build and check a Config from parsed TOML."""
        sections = {f.name for f in dataclasses.fields(cls)} - {"path"}
        _reject_unknown(data, sections, "", path)
        built: dict[str, Any] = {"path": path}
        for f in dataclasses.fields(cls):
            if f.name in ("path", "routines"):
                continue
            table = _table(data, f.name, path)
            built[f.name] = _build(_section_types[f.name], table, f.name, path)
        built["routines"] = _routines(_table(data, "routines", path), path)
        config = cls(**built)
        _check_cadence(config.cadence, path)
        for name in ROUTINE_NAMES:
            try:
                config.growth_rules(name)
            except ValueError as err:
                text = str(err)
                key = ("progression.per_session" if "per_session" in text else
                       "progression.per_week" if "per_week" in text else
                       f"routines.{name}.grow_to")
                raise ConfigError(path, key, f"for routines.{name}: {text}") from None
        return config

    def growth_rules(self, name: str) -> GrowthRules | None:
        """How a growing routine lengthens, in its own unit; None if it does not grow."""
        rc = self.routines[name]
        if not rc.grow:
            return None
        unit = "steps" if rc.steps is not None else "seconds"
        scale = 1.0 if unit == "steps" else 60.0
        start = float(rc.steps if rc.steps is not None else rc.minutes or 0.0) * scale
        if rc.grow_to is None:
            raise ValueError("grow = true needs grow_to, the longest it may get (in "
                             + ("steps)" if unit == "steps" else "minutes)"))
        return GrowthRules(start=start, per_session=self.progression.per_session,
                           per_week=self.progression.per_week, minimum_step=GROW_STEP[unit],
                           cap=rc.grow_to * scale)


_section_types: dict[str, type[Any]] = {
    "cadence": CadenceConfig, "turns": TurnsConfig, "dialogue": DialogueConfig,
    "progression": ProgressionConfig,
    "voice": VoiceConfig, "audio": AudioConfig, "recognition": RecognitionConfig,
}

_T = TypeVar("_T")


def _table(data: dict[str, Any], key: str, path: Path | None) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(path, key, f"expected a table [{key}], got {value!r}")
    return value


def _reject_unknown(table: dict[str, Any], allowed: set[str], prefix: str,
                    path: Path | None) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(path, prefix + key,
                              f"unknown key; expected one of: {', '.join(sorted(allowed))}")


def _build(cls: type[_T], table: dict[str, Any], prefix: str, path: Path | None) -> _T:
    """Check every value of a table against the dataclass's field types and bounds."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    _reject_unknown(table, set(fields), prefix + ".", path)
    values = {name: _check(fields[name], value, f"{prefix}.{name}", path)
              for name, value in table.items()}
    return cls(**values)


def _check(f: dataclasses.Field[Any], value: Any, key: str, path: Path | None) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    meta = f.metadata
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(path, key, f"expected true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(path, key, f"expected a string, got {value!r}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(path, key, f"got {value!r}, expected one of: {', '.join(choices)}")
        return value
    want_int = kind.startswith("int")
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            want_int and not isinstance(value, int)):
        expected = "a whole number" if want_int else "a number"
        raise ConfigError(path, key, f"expected {expected}, got {value!r}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if not math.isfinite(value):
        raise ConfigError(path, key, f"got {value!r}, expected a finite number from {lo} to {hi}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(path, key, f"got {value!r}, expected a value from {lo} to {hi}")
    return value if want_int else float(value)


def _routines(table: dict[str, Any], path: Path | None) -> dict[str, RoutineConfig]:
    for name, value in table.items():
        if name not in ROUTINE_NAMES:
            raise ConfigError(path, f"routines.{name}",
                              f"unknown routine; expected one of: {', '.join(ROUTINE_NAMES)}")
        if not isinstance(value, dict):
            raise ConfigError(path, f"routines.{name}", f"expected a table, got {value!r}")
    routines = {}
    for name in ROUTINE_NAMES:
        given = table.get(name, {})
        merged = dict(DEFAULT_ROUTINES[name])
        if "steps" in given or "minutes" in given:
            unit_changed = ("steps" in given) != ("steps" in merged)
            merged.pop("steps", None)
            merged.pop("minutes", None)
            if unit_changed:
                # a default cap in minutes means nothing for a walk now counted in steps
                merged.pop("grow", None)
                merged.pop("grow_to", None)
        merged.update(given)
        prefix = f"routines.{name}"
        if "steps" in given and "minutes" in given:
            raise ConfigError(path, prefix, "set steps or minutes, not both")
        routine = _build(RoutineConfig, merged, prefix, path)
        if routine.count == "none" and routine.minutes is None:
            raise ConfigError(path, f"{prefix}.count",
                              "count = \"none\" (timed) needs minutes, not steps")
        routines[name] = routine
    return routines


def _check_cadence(cadence: CadenceConfig, path: Path | None) -> None:
    if cadence.slowest > cadence.fastest:
        raise ConfigError(path, "cadence.slowest",
                          f"got {cadence.slowest}, expected at most cadence.fastest "
                          f"({cadence.fastest})")
    if not cadence.slowest <= cadence.steps_per_minute <= cadence.fastest:
        raise ConfigError(path, "cadence.steps_per_minute",
                          f"got {cadence.steps_per_minute}, expected a value from "
                          f"cadence.slowest ({cadence.slowest}) to cadence.fastest "
                          f"({cadence.fastest})")


def find_config(explicit: str | None) -> Path | None:
    """The config file to use: --config, $COACH_CONFIG, ./config.toml, then the user's."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("COACH_CONFIG"):
        return Path(env)
    here = Path.cwd() / "config.toml"
    if here.is_file():
        return here
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    user = Path(base) / "coach" / "config.toml"
    return user if user.is_file() else None


def load_config(explicit: str | None = None) -> Config:
    """Load the config that :func:`find_config` picks, or the defaults when there is none."""
    path = find_config(explicit)
    return Config.load(path) if path is not None else Config.default()
