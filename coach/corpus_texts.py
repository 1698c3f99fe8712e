"""What the listening corpus says: every command phrase, every line of the coach's own
(filled with plausible values), and the everyday sentences and phrasings of commands beside
the pack."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from .errors import CorpusError
from .events import Cue, Heard
from .voicepack import CUES, VoicePack, normalize, placeholders


def command_phrases(pack: VoicePack) -> list[tuple[str, str]]:
    """Every phrase the coach listens for, with its canonical command."""
    return [(phrase, Heard(command, routine).canonical)
            for phrase, (command, routine) in pack.phrases().items()]


def own_lines(pack: VoicePack, seed: int = 0) -> list[str]:
    """Every line template the coach says, filled with plausible values; counts one to twenty."""
    rng = random.Random(seed)
    lines: list[str] = []
    for key, variants in pack.cues.items():
        cue = CUES[key][0] if key in CUES else Cue.ANSWER
        for template in variants:
            values = ([{"n": pack.number(n)} for n in range(1, 21)] if key == "count"
                      else [_sample_values(pack, key, template, rng)])
            lines += [pack.render(template, key, cue, **v).text for v in values]
    for name, words in pack.routines.items():
        lines += [pack.render(template, f"intro_{name}", Cue.PROMPT,
                              **_sample_values(pack, name, template, rng)).text
                  for template in words.intro]
    return list(dict.fromkeys(lines))


def _sample_values(pack: VoicePack, key: str, template: str, rng: random.Random
                   ) -> dict[str, object]:
    timed = key in ("walk", "cooldown", "elliptical", "time_count", "time_so_far")

    def length() -> str:  # any other placeholder names a length (``{today}``, ``{last}``)
        return (pack.duration(rng.choice((90, 120, 300))) if timed
                else pack.steps(rng.choice((4, 6, 10, 16))))
    makers: dict[str, Callable[[], object]] = {
        "n": lambda: pack.number(rng.randint(1, 20)),
        "steps": lambda: pack.steps(rng.choice((1, 4, 6, 10, 12, 24))),
        "time": lambda: pack.duration(rng.choice((30, 45, 60, 90, 150, 240))),
        "left": lambda: (pack.duration(rng.choice((15, 30, 60, 180))) if timed
                         else pack.steps(rng.randint(1, 10))),
        "cadence": lambda: {"slowest": 30, "fastest": 90}.get(key, rng.choice((45, 55, 65, 75))),
        "routine": lambda: rng.choice([w.name for w in pack.routines.values()]),
        "command": lambda: rng.choice(("start car", "start hallway", "faster", "repeat")),
    }
    return {name: makers.get(name, length)()
            for name in sorted(placeholders(template))}


def _lines(path: Path, missing: str) -> list[tuple[int, str]]:
    """The numbered lines of a text file, stripped, without blanks and ``#`` comments;
    ``missing``: what to do about a file that is not there."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CorpusError(path, f"no such file; {missing}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise CorpusError(path, f"cannot read it as UTF-8 text: {err}") from None
    return [(number, line) for number, line in enumerate((r.strip() for r in raw), 1)
            if line and not line.startswith("#")]


def read_everyday(path: Path, pack: VoicePack) -> list[str]:
    """The ordinary sentences in ``path`` (one a line, ``#`` comments); none may be a command."""
    phrases, seen, lines = pack.phrases(), dict[str, int](), []
    for number, line in _lines(path, "write ordinary sentences there, one a line, or pass "
                                     "everyday=PATH"):
        norm = normalize(line)
        problem = ("has no words" if not norm else
                   f"is exactly the command phrase {norm!r}; a near-miss must differ from it"
                   if norm in phrases else f"repeats line {seen[norm]}" if norm in seen else "")
        if problem:
            raise CorpusError(path, f"line {number}: {line!r} {problem}")
        seen[norm] = number
        lines.append(line)
    return lines


def read_phrasings(path: Path, pack: VoicePack) -> list[tuple[str, str]]:
    """Commands said the way people say them, from ``path`` (``text | command`` a line, ``#``
    comments): (text, canonical command); none when there is no such file, as a pack need
    not have them. Each text must say more than a phrase of the pack, and name one of its
    commands."""
    if not path.is_file():
        return []
    phrases, seen, out = pack.phrases(), dict[str, int](), []
    commands = sorted({canonical for _, canonical in command_phrases(pack)})
    for number, line in _lines(path, "write phrasings there, or delete it"):
        text, _, command = (part.strip() for part in line.partition("|"))
        norm = normalize(text)
        problem = (
            "is not 'what is said | the command it is'" if not norm or not command else
            f"names no command of the pack ({command!r}; there are: {', '.join(commands)})"
            if command not in commands else
            f"is exactly the command phrase {norm!r}: it is in the corpus already"
            if norm in phrases else f"repeats line {seen[norm]}" if norm in seen else "")
        if problem:
            raise CorpusError(path, f"line {number}: {line!r} {problem}")
        seen[norm] = number
        out.append((text, command))
    return out
