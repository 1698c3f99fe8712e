"""``coach text``: type commands at a prompt; the coach's lines are printed as it says them."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import IO

from .dialogue import Engine
from .events import Command, Heard, Line, Say, WalkEnded
from .intents import Intents
from .runner import (
    QUIT,
    Clock,
    RealClock,
    Recorder,
    Session,
    Voice,
    out_of_the_collectors_way,
    speech_seconds,
)


class PrintVoice:
    """Prints each line as it starts, and takes the time saying it would take."""

    def __init__(self, out: IO[str], words_per_minute: int) -> None:
        self.out = out
        self.words_per_minute = words_per_minute

    def speak(self, line: Line, at: float) -> float:
        """Print the line; return how long it would take to say."""
        self.out.write(f"coach: {line.text}\n")
        self.out.flush()
        return speech_seconds(line.text, self.words_per_minute)

    def cut(self, at: float) -> None:
        """A printed line cannot be unprinted; the next one simply follows."""


def _read(session: Session, intents: Intents, stdin: IO[str]) -> None:
    for raw in stdin:
        text = raw.strip()
        if text:
            session.post(intents.match(text))
    session.post(QUIT)


def run_text(engine: Engine, *, words_per_minute: int, recorder: Recorder | None = None,
             stdin: IO[str] | None = None, out: IO[str] | None = None,
             voice: Voice | None = None, clock: Clock | None = None,
             on_start: Callable[[Session], None] | None = None) -> Session:
    """Run an interactive typed session until EOF or Ctrl-C; a walk under way is stopped.

    Lines are printed; with a ``voice`` (and its ``clock``) they are spoken too.
    """
    out = out or sys.stdout
    out.write("(type a command such as 'start hallway'; Ctrl-D or Ctrl-C to quit)\n")
    session = Session(engine, voice or PrintVoice(out, words_per_minute), clock or RealClock(),
                      recorder=recorder)
    if on_start is not None:
        on_start(session)
    reader = threading.Thread(target=_read, daemon=True, name="coach-stdin",
                              args=(session, Intents(engine.pack), stdin or sys.stdin))
    reader.start()
    try:
        with out_of_the_collectors_way():
            session.run(forever=True)
    except KeyboardInterrupt:
        _stop_on_interrupt(session, engine, recorder, out)
    out.flush()
    return session


def _stop_on_interrupt(session: Session, engine: Engine, recorder: Recorder | None,
                       out: IO[str]) -> None:
    """Ctrl-C: a walk under way is stopped and recorded as such, without waiting to say so."""
    if engine.walk is not None:
        # leaving mid-walk is a stop: say so, and record it as stopped
        for action in engine.handle(Heard(Command.STOP, text="(end of input)")):
            if isinstance(action, Say):
                out.write(f"coach: {action.line.text}\n")
            elif recorder is not None and isinstance(action, WalkEnded):
                recorder.record(action, session.clock.now())
