"""Checking a voice pack whole when it loads: every cue, unit, routine and command there and
none unknown, placeholders where they are allowed, no phrase twice, and the self-hearing
guard -- no line may contain a phrase the coach listens for, or it would obey its own voice."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .config import ROUTINE_NAMES
from .errors import VoicePackError
from .events import Command
from .voicepack import (
    CUES,
    INTRO_PLACEHOLDERS,
    MENTION,
    PLACEHOLDER,
    UNITS,
    VoicePack,
    normalize,
)

BREAK = "\x00"
"""Stands for a filled placeholder while lines are searched: no phrase spans it."""


def check(pack: VoicePack) -> None:
    """Raise VoicePackError for the first thing wrong with the pack."""
    path = pack.path
    for group, have, want in (("cues", pack.cues, CUES), ("units", pack.units, UNITS),
                              ("routines", pack.routines, ROUTINE_NAMES),
                              ("commands", pack.commands, list(Command))):
        missing = [str(getattr(k, "value", k)) for k in want if k not in have]
        if missing:
            raise VoicePackError(path, f"{group}.{missing[0]}",
                                 f"missing; {group} must have: {', '.join(missing)}")
    for group, have_keys, known in (("cues", pack.cues, CUES), ("units", pack.units, UNITS)):
        for key in have_keys:
            if key not in known:
                raise VoicePackError(path, f"{group}.{key}", f"unknown {group[:-1]}; expected "
                                     f"one of: {', '.join(known)}")
    for command, phrases in pack.commands.items():
        for phrase in phrases:
            if command is not Command.START and PLACEHOLDER.search(phrase):
                raise VoicePackError(path, f"commands.{command.value}",
                                     f"{phrase!r}: only start phrases take a placeholder "
                                     "({routine})")
    for template in pack.commands[Command.START]:
        if template.count("{routine}") != 1 or PLACEHOLDER.sub("", template) != template.replace(
                "{routine}", ""):
            raise VoicePackError(path, "commands.start",
                                 f"{template!r} must hold {{routine}} once and no other "
                                 "placeholder")
    for key, text in pack.templates():
        _check_placeholders(pack, key, text)
    _check_duplicates(pack)
    _check_self_hearing(pack)


def _allowed(key: str) -> frozenset[str]:
    group, _, rest = key.partition(".")
    if group == "cues":
        return CUES[rest.split("[")[0]][1]
    if group == "units":
        return UNITS[rest]
    if group == "routines":
        return INTRO_PLACEHOLDERS
    return frozenset()


def _check_placeholders(pack: VoicePack, key: str, text: str) -> None:
    allowed = _allowed(key)
    for name in PLACEHOLDER.findall(text):
        if name.startswith(MENTION):
            try:
                pack.mention(name[len(MENTION):])
            except KeyError:
                raise VoicePackError(pack.path, key, f"{{{name}}} names no command; a mention is "
                                     "{say:COMMAND} with a command such as stop or start hallway"
                                     ) from None
        elif name not in allowed:
            names = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
            raise VoicePackError(pack.path, key, f"unknown placeholder {{{name}}}; allowed here: "
                                 f"{names} and mentions {{say:COMMAND}}")


def _check_duplicates(pack: VoicePack) -> None:
    seen: dict[str, str] = {}
    for command, phrases in pack.commands.items():
        for template in phrases:
            if command is Command.START:
                expanded = [(template.replace("{routine}", w), f"commands.start + routines.{r}")
                            for r, words in pack.routines.items() for w in words.phrases]
            else:
                expanded = [(template, f"commands.{command.value}")]
            for phrase, where in expanded:
                norm = normalize(phrase)
                if not norm:
                    raise VoicePackError(pack.path, where, f"phrase {phrase!r} has no words")
                if norm in seen:
                    raise VoicePackError(pack.path, where, f"duplicate phrase {phrase!r}, "
                                         f"also listened for in {seen[norm]}")
                seen[norm] = where


def _check_self_hearing(pack: VoicePack) -> None:
    """No line may contain a phrase the coach listens for, or it would obey its own voice."""
    phrases = pack.phrases()
    samples = {"routine": [w.name for w in pack.routines.values()], "n": list(pack.numbers)}
    for key, text in pack.templates():
        for variant in _expansions(text, samples):
            for part in variant.split(BREAK):
                words = f" {normalize(part)} "
                for phrase in phrases:
                    if f" {phrase} " in words:
                        raise VoicePackError(
                            pack.path, key,
                            f"line {text!r} contains {phrase!r}, a phrase the coach listens for "
                            f"({phrases[phrase][0].value}): it would obey its own voice. Reword "
                            f"it, or name the command on purpose as {{say:...}}")


def _expansions(text: str, samples: dict[str, list[str]]) -> Iterator[str]:
    """The template with each placeholder in turn filled by every sample value."""
    def blank(_: re.Match[str]) -> str:
        return BREAK
    base = PLACEHOLDER.sub(blank, text)
    yield base
    for name, values in samples.items():
        if "{" + name + "}" in text:
            for value in values:
                yield PLACEHOLDER.sub(blank, text.replace("{" + name + "}", value))
