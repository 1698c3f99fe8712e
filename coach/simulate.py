"""``coach simulate``: a scripted session on a virtual clock, printed as JSON lines."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from .dialogue import Engine
from .errors import UsageError
from .events import Event, Heard, Line, NotUnderstood, TimerFired, WalkBegan, WalkEnded
from .intents import Intents
from .runner import Recorder, Session, VirtualClock, speech_seconds

_AT = re.compile(r"^\s*(?P<t>\d+(?:\.\d+)?)\s*:(?P<text>.*?)(?:@(?P<conf>\d*\.?\d+))?\s*$")


@dataclass(frozen=True)
class Scripted:
    """One ``--at`` entry: what is heard, and when."""

    t: float
    """Seconds from the start of the session."""
    event: Heard
    """The command heard."""


def parse_at(spec: str, intents: Intents) -> Scripted:
    """Parse ``T:PHRASE`` or ``T:PHRASE@CONFIDENCE`` (e.g. ``7.5:pause``, ``3:start car@0.4``)."""
    match = _AT.match(spec)
    if match is None:
        raise UsageError(f"--at {spec!r}: expected SECONDS:PHRASE, optionally @CONFIDENCE, "
                         "e.g. --at 0:\"start hallway\" or --at 3:\"start car@0.4\"")
    confidence = float(match["conf"]) if match["conf"] else 1.0
    if not 0.0 <= confidence <= 1.0:
        raise UsageError(f"--at {spec!r}: confidence {confidence} must be from 0 to 1")
    heard = intents.match(match["text"], confidence)
    if isinstance(heard, NotUnderstood):
        raise UsageError(f"--at {spec!r}: {match['text']!r} is not a phrase the coach listens "
                         f"for; expected one of: {', '.join(intents.phrases)}")
    return Scripted(float(match["t"]), heard)


class JsonTimeline:
    """Prints a session as JSON lines: one per command heard, line spoken and walk record."""

    def __init__(self, engine: Engine, out: IO[str]) -> None:
        self.engine = engine
        self.out = out

    def __call__(self, t: float, kind: str, data: dict[str, Any]) -> None:
        """Observe one thing that happened at time ``t``."""
        row: dict[str, Any] = {"t": round(t, 3)}
        if kind == "say":
            line: Line = data["line"]
            row.update(say=line.text, cue=line.cue.value, key=line.key)
            for name in ("n", "step", "side", "unit"):
                if getattr(line, name) is not None:
                    row[name] = getattr(line, name)
        elif kind == "event":
            event: Event = data["event"]
            if isinstance(event, Heard):
                row.update(heard=event.canonical, text=event.text, confidence=event.confidence)
            elif isinstance(event, NotUnderstood):
                row.update(heard=None, text=event.text)
            elif isinstance(event, TimerFired):
                row.update(timer=event.name)
            else:
                return
        elif kind == "walk":
            walk = data["walk"]
            if isinstance(walk, WalkBegan):
                row.update(walk="began", routine=walk.routine, planned=walk.planned,
                           unit=walk.unit, cadence=walk.cadence)
            elif isinstance(walk, WalkEnded):
                row.update(walk=walk.outcome.value, routine=walk.routine, steps=walk.steps,
                           seconds=round(walk.seconds, 3), head_turns=walk.head_turns,
                           cadence=walk.cadence)
            else:
                return
        else:
            return
        row["state"] = self.engine.state.value
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


def simulate(engine: Engine, script: list[Scripted], *, words_per_minute: int,
             until: float | None = None, out: IO[str] | None = None,
             observe: Callable[[float, str, dict[str, Any]], None] | None = None,
             recorder: Recorder | None = None) -> None:
    """Run a scripted session on a virtual clock, printing its timeline."""
    printer = JsonTimeline(engine, out or sys.stdout)

    def both(t: float, kind: str, data: dict[str, Any]) -> None:
        printer(t, kind, data)
        if observe is not None:
            observe(t, kind, data)

    session = Session(engine, TimedVoice(words_per_minute), VirtualClock(), observe=both,
                      recorder=recorder)
    for entry in script:
        session.at(entry.t, entry.event)
    session.run(until=until)


class TimedVoice:
    """A silent voice that only takes the time speaking would take."""

    def __init__(self, words_per_minute: int) -> None:
        self.words_per_minute = words_per_minute

    def speak(self, line: Line, at: float) -> float:
        """Take as long as the line would take to say."""
        return speech_seconds(line.text, self.words_per_minute)

    def cut(self, at: float) -> None:
        """Nothing is sounding, so nothing to cut."""
