"""``coach text``: type commands at a prompt; the coach's lines are printed as it says them."""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import IO

from .dialogue import Engine
from .events import Command, Heard, Line, Say, WalkEnded
from .intents import Intents
from .runner import QUIT, RealClock, Recorder, Session, speech_seconds


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
             stdin: IO[str] | None = None, out: IO[str] | None = None) -> None:
    """Run an interactive typed session until EOF or Ctrl-C; a walk under way is stopped."""
    out = out or sys.stdout
    out.write("(type a command such as 'start hallway'; Ctrl-D or Ctrl-C to quit)\n")
    session = Session(engine, PrintVoice(out, words_per_minute), RealClock(), recorder=recorder)
    reader = threading.Thread(target=_read, daemon=True, name="coach-stdin",
                              args=(session, Intents(engine.pack), stdin or sys.stdin))
    reader.start()
    with contextlib.suppress(KeyboardInterrupt):
        session.run(forever=True)
    if engine.walk is not None:
        # leaving mid-walk is a stop: say so, and record it as stopped
        for action in engine.handle(Heard(Command.STOP, text="(end of input)")):
            if isinstance(action, Say):
                out.write(f"coach: {action.line.text}\n")
            elif recorder is not None and isinstance(action, WalkEnded):
                recorder.record(action, session.clock.now())
    out.flush()
