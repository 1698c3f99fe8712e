"""Voice packs: every line the coach says, its number words, and the phrases it listens for.

A pack is a folder with a ``pack.toml`` (see ``voices/en/pack.toml``). Loading checks it
whole: a missing or unknown cue, an unknown placeholder, a duplicate phrase, and -- the
self-hearing guard -- any line that contains a phrase the coach listens for. A line may
name a command on purpose only through a mention, ``{say:stop}``; the line then carries the
mention so the listener knows which of its own words to ignore.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ROUTINE_NAMES
from .errors import VoicePackError
from .events import Command, Cue, Line

_P = frozenset
CUES: dict[str, tuple[Cue, frozenset[str]]] = {
    "greeting": (Cue.PROMPT, _P()),
    "count": (Cue.COUNT, _P({"n"})),
    "time_count": (Cue.COUNT, _P({"time", "left"})),
    "turn_left": (Cue.TURN, _P()),
    "turn_right": (Cue.TURN, _P()),
    "turn_forward": (Cue.TURN, _P()),
    "check_path": (Cue.SAFETY, _P()),
    "caution": (Cue.SAFETY, _P()),
    "go": (Cue.PROMPT, _P()),
    "reminder": (Cue.SAFETY, _P()),
    "resumed": (Cue.PROMPT, _P()),
    "summary_steps": (Cue.SUMMARY, _P({"steps"})),
    "summary_time": (Cue.SUMMARY, _P({"time", "steps"})),
    "stopped": (Cue.ANSWER, _P()),
    "quiet": (Cue.ANSWER, _P()),
    "paused": (Cue.ANSWER, _P()),
    "safe_area": (Cue.QUESTION, _P()),
    "confirm": (Cue.QUESTION, _P({"command"})),
    "not_safe": (Cue.ANSWER, _P()),
    "declined": (Cue.ANSWER, _P()),
    "no_answer": (Cue.ANSWER, _P()),
    "answer_first": (Cue.ANSWER, _P()),
    "slower": (Cue.ANSWER, _P({"cadence"})),
    "faster": (Cue.ANSWER, _P({"cadence"})),
    "slowest": (Cue.ANSWER, _P({"cadence"})),
    "fastest": (Cue.ANSWER, _P({"cadence"})),
    "no_beat": (Cue.ANSWER, _P()),
    "count_so_far": (Cue.ANSWER, _P({"steps", "left"})),
    "time_so_far": (Cue.ANSWER, _P({"time", "left"})),
    "nothing_yet": (Cue.ANSWER, _P()),
    "last_walk": (Cue.ANSWER, _P({"routine", "length"})),
    "today_total": (Cue.ANSWER, _P({"steps", "time"})),
    "plan_newcomer": (Cue.PROMPT, _P({"today", "last"})),
    "plan_growing": (Cue.PROMPT, _P({"today", "last"})),
    "plan_holding_after_stop": (Cue.PROMPT, _P({"today", "last"})),
    "plan_weekly_limit": (Cue.PROMPT, _P({"today", "last"})),
    "plan_at_cap": (Cue.PROMPT, _P({"today", "last"})),
    "help_idle": (Cue.ANSWER, _P()),
    "help_confirming": (Cue.ANSWER, _P()),
    "help_briefing": (Cue.ANSWER, _P()),
    "help_walking": (Cue.ANSWER, _P()),
    "help_paused": (Cue.ANSWER, _P()),
    "help_finished": (Cue.ANSWER, _P()),
    "busy": (Cue.ANSWER, _P({"routine"})),
    "busy_paused": (Cue.ANSWER, _P({"routine"})),
    "already_walking": (Cue.ANSWER, _P()),
    "nothing_to_pause": (Cue.ANSWER, _P()),
    "nothing_to_resume": (Cue.ANSWER, _P()),
    "no_question": (Cue.ANSWER, _P()),
    "not_understood": (Cue.ANSWER, _P()),
}
"""Every cue a pack must have: its kind and the placeholders its lines may use."""

INTRO_PLACEHOLDERS = _P({"length"})
UNITS: dict[str, frozenset[str]] = {
    "step": _P({"n"}), "steps": _P({"n"}), "second": _P({"n"}), "seconds": _P({"n"}),
    "minute": _P({"n"}), "minutes": _P({"n"}), "minutes_seconds": _P({"minutes", "seconds"}),
}
"""How lengths are worded: ``{n} steps``, ``{minutes} and {seconds}``."""

MIN_NUMBERS = 21
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
"""A placeholder in a line: ``{n}``, ``{routine}``, or a mention ``{say:stop}``."""
MENTION = "say:"
"""How a mention (a command named on purpose) starts inside its placeholder."""


def placeholders(template: str) -> set[str]:
    """The value placeholders of a template (mentions such as ``{say:stop}`` left out)."""
    return {n for n in PLACEHOLDER.findall(template) if not n.startswith(MENTION)}


def normalize(text: str) -> str:
    """Lower-case words without punctuation, single-spaced: how phrases are compared."""
    return " ".join(re.sub(r"[^\w']+", " ", text.lower()).replace(" '", " ").split())


@dataclass(frozen=True)
class RoutineWords:
    """How a pack names one routine."""

    name: str
    """The name said in lines (``{routine}``)."""
    phrases: tuple[str, ...]
    """What may follow a start word to choose it (``hallway``, ``hall``)."""
    intro: tuple[str, ...]
    """Variants of the routine's first line, with ``{length}``."""


@dataclass(frozen=True)
class VoicePack:
    """A loaded, checked voice pack."""

    path: Path
    """The pack.toml it came from."""
    language: str
    """Language code, e.g. ``en``."""
    name: str
    """Human name of the pack."""
    voice: str
    """Default TTS voice for this language."""
    numbers: tuple[str, ...]
    """Number words, index = number."""
    units: dict[str, str]
    """Length templates (see UNITS)."""
    cues: dict[str, tuple[str, ...]]
    """Line variants per cue."""
    commands: dict[Command, tuple[str, ...]]
    """Phrases per command; start phrases hold ``{routine}``."""
    routines: dict[str, RoutineWords]
    """Words per routine."""

    @classmethod
    def load(cls, path: Path | str) -> VoicePack:
        """Load a pack from its folder or its pack.toml, checking it whole."""
        path = Path(path)
        if path.is_dir():
            path = path / "pack.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VoicePackError(path, "(file)", "no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise VoicePackError(path, "(file)", f"cannot read it as UTF-8 text: {err}") from None
        except tomllib.TOMLDecodeError as err:
            raise VoicePackError(path, "(syntax)", f"not valid TOML: {err}") from None
        pack = _parse(path, data)
        from .voicepack_check import check  # it reads this module's tables

        check(pack)
        return pack

    # --- listening -----------------------------------------------------------------------

    def phrases(self) -> dict[str, tuple[Command, str | None]]:
        """Every phrase the coach listens for (normalised) with its command and routine."""
        table: dict[str, tuple[Command, str | None]] = {}
        for command, phrases in self.commands.items():
            for template in phrases:
                if command is Command.START:
                    for routine, words in self.routines.items():
                        for word in words.phrases:
                            table[normalize(template.replace("{routine}", word))] = (
                                command, routine)
                else:
                    table[normalize(template)] = (command, None)
        return table

    def mention(self, canonical: str) -> str:
        """How the coach names a command in a line: its first phrase."""
        command, _, routine = canonical.partition(" ")
        if canonical in {c.value for c in Command} and canonical != Command.START.value:
            return self.commands[Command(canonical)][0]
        if command == Command.START.value and routine in self.routines:
            word = self.routines[routine].phrases[0]
            return self.commands[Command.START][0].replace("{routine}", word)
        raise KeyError(canonical)

    # --- speaking ------------------------------------------------------------------------

    def line(self, key: str, rng: random.Random, **values: Any) -> Line:
        """Render one variant of a cue; ``values`` fill its placeholders."""
        cue, _ = CUES[key]
        text = rng.choice(self.cues[key])
        return self.render(text, key, cue, **values)

    def render(self, template: str, key: str, cue: Cue, **values: Any) -> Line:
        """Fill a template; mentions and ``{command}`` are named by their first phrase."""
        mentions: list[str] = []

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith(MENTION) or name == "command":
                canonical = name[len(MENTION):] if name != "command" else str(values[name])
                mentions.append(canonical)
                return self.mention(canonical)
            return str(values[name])

        text = PLACEHOLDER.sub(fill, template).strip()
        text = text[:1].upper() + text[1:]
        extras = {k: v for k, v in values.items() if k in ("n", "step", "side", "unit")}
        return Line(text=text, cue=cue, key=key, mentions=tuple(mentions), **extras)

    def intro(self, routine: str, rng: random.Random, length: str) -> Line:
        """The first line of a routine."""
        return self.render(rng.choice(self.routines[routine].intro), f"intro_{routine}",
                           Cue.PROMPT, length=length)

    def number(self, n: int) -> str:
        """A number as a word, or digits past the pack's list."""
        return self.numbers[n] if 0 <= n < len(self.numbers) else str(n)

    def steps(self, n: int) -> str:
        """``one step``, ``ten steps``."""
        return self.units["step" if n == 1 else "steps"].replace("{n}", self.number(n))

    def duration(self, seconds: float) -> str:
        """``thirty seconds``, ``two minutes``, ``one minute and thirty seconds``."""
        minutes, secs = divmod(round(seconds), 60)
        m = self.units["minute" if minutes == 1 else "minutes"].replace("{n}", self.number(minutes))
        s = self.units["second" if secs == 1 else "seconds"].replace("{n}", self.number(secs))
        if minutes and secs:
            return self.units["minutes_seconds"].replace("{minutes}", m).replace("{seconds}", s)
        return m if minutes else s

    def templates(self) -> Iterator[tuple[str, str]]:
        """Every line template with its dotted key, for checks and rendering caches."""
        for key, variants in self.cues.items():
            for i, text in enumerate(variants):
                yield f"cues.{key}[{i}]", text
        for name, words in self.routines.items():
            for i, text in enumerate(words.intro):
                yield f"routines.{name}.intro[{i}]", text
        for key, text in self.units.items():
            yield f"units.{key}", text
        for i, word in enumerate(self.numbers):
            yield f"numbers[{i}]", word


def _strings(path: Path, key: str, value: Any, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise VoicePackError(path, key, f"expected a list of non-empty strings, got {value!r}")
    if not value and not allow_empty:
        raise VoicePackError(path, key, "expected at least one entry")
    return tuple(value)


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise VoicePackError(path, key, "missing table" if value is None else
                             f"expected a table, got {value!r}")
    return value


def _parse(path: Path, data: dict[str, Any]) -> VoicePack:
    known = {"pack", "numbers", "units", "cues", "commands", "routines"}
    for key in data:
        if key not in known:
            raise VoicePackError(path, key,
                                 f"unknown key; expected one of: {', '.join(sorted(known))}")
    meta = _table(path, data, "pack")
    for key in meta:
        if key not in ("language", "name", "voice"):
            raise VoicePackError(path, f"pack.{key}",
                                 "unknown key; expected one of: language, name, voice")
    for key in ("language", "name", "voice"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise VoicePackError(path, f"pack.{key}", "missing; expected a non-empty string")
    numbers = _strings(path, "numbers", data.get("numbers"))
    if len(numbers) < MIN_NUMBERS:
        raise VoicePackError(path, "numbers", f"expected the words for 0 to at least "
                             f"{MIN_NUMBERS - 1}, got {len(numbers)} entries")
    units = {k: _strings(path, f"units.{k}", v)[0] for k, v in _table(path, data, "units").items()}
    cues = {k: _strings(path, f"cues.{k}", v) for k, v in _table(path, data, "cues").items()}
    commands_raw = _table(path, data, "commands")
    valid = ", ".join(c.value for c in Command)
    commands: dict[Command, tuple[str, ...]] = {}
    for key, value in commands_raw.items():
        try:
            command = Command(key)
        except ValueError:
            raise VoicePackError(path, f"commands.{key}",
                                 f"unknown command; expected one of: {valid}") from None
        commands[command] = _strings(path, f"commands.{key}", value)
    routines: dict[str, RoutineWords] = {}
    for name, value in _table(path, data, "routines").items():
        key = f"routines.{name}"
        if name not in ROUTINE_NAMES:
            raise VoicePackError(path, key,
                                 f"unknown routine; expected one of: {', '.join(ROUTINE_NAMES)}")
        if not isinstance(value, dict) or set(value) != {"name", "phrases", "intro"}:
            raise VoicePackError(path, key, "expected a table with exactly: name, phrases, intro")
        routines[name] = RoutineWords(_strings(path, f"{key}.name", value["name"])[0],
                                      _strings(path, f"{key}.phrases", value["phrases"]),
                                      _strings(path, f"{key}.intro", value["intro"]))
    return VoicePack(path, meta["language"], meta["name"], meta["voice"], numbers, units, cues,
                     commands, routines)


def pack_dirs() -> list[Path]:
    """Where packs are looked for: inside the installed package, then the source tree."""
    here = Path(__file__).resolve().parent
    return [d for d in (here / "voices", here.parent / "voices") if d.is_dir()]


def available_packs() -> list[str]:
    """Names of the packs that ship with the coach."""
    return sorted({p.parent.name for d in pack_dirs() for p in d.glob("*/pack.toml")})


def find_pack(name_or_path: str) -> Path | None:
    """The folder of a pack given by name (``en``) or path; None when there is none."""
    given = Path(name_or_path)
    if given.is_dir() or given.suffix == ".toml" or "/" in name_or_path:
        return given
    for d in pack_dirs():
        if (d / name_or_path / "pack.toml").is_file():
            return d / name_or_path
    return None
