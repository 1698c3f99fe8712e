"""Runs a session: feeds the dialogue engine its events at the right times and carries out
its actions, on a virtual clock (``coach simulate``) or the real one (``coach text``)."""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .dialogue import Engine
from .events import (
    Action,
    Beat,
    BeatDelayed,
    CancelTimer,
    Command,
    Event,
    Heard,
    Line,
    RetimeBeat,
    Say,
    Silence,
    SpeechDone,
    StartBeat,
    StartTimer,
    StopBeat,
    TimerFired,
    WalkBegan,
    WalkEnded,
    WalkProgress,
)

_LOGGER = logging.getLogger(__name__)


class Voice(Protocol):
    """Where the coach's lines go: printed, spoken, or only timed."""

    def speak(self, line: Line, at: float) -> float:
        """Start sounding ``line`` at time ``at``; return how long it lasts in seconds."""

    def cut(self, at: float) -> None:
        """Stop sounding at once."""


class Recorder(Protocol):
    """Keeps the record of walks (history)."""

    def record(self, action: WalkBegan | WalkProgress | WalkEnded, at: float) -> None:
        """Note a walk beginning, moving on, or ending."""


def speech_seconds(text: str, words_per_minute: int) -> float:
    """How long a line takes to say at a speaking rate: an estimate for printed and timed voices."""
    words = max(1, len(text.split()))
    pauses = sum(text.count(p) for p in ".,;:?!")
    return round(words * 60.0 / words_per_minute + 0.12 * pauses, 3)


class VirtualClock:
    """Time that jumps straight to the next thing due: a whole walk in milliseconds."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        """Seconds since the session began."""
        return self.t

    def wait(self, until: float | None, inbox: queue.Queue[Any]) -> Any | None:
        """Jump to ``until``; nothing ever arrives from outside."""
        if until is not None:
            self.t = max(self.t, until)
        return None


class RealClock:
    """Wall-clock time; waits for the next thing due or for input, whichever comes first."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        """Seconds since the session began."""
        return time.monotonic() - self._start

    def wait(self, until: float | None, inbox: queue.Queue[Any]) -> Any | None:
        """Block until ``until`` or until something is posted; return what was posted."""
        timeout = None if until is None else max(0.0, until - self.now())
        try:
            return inbox.get(timeout=timeout)
        except queue.Empty:
            return None


class Clock(Protocol):
    """The session's sense of time."""

    def now(self) -> float:
        """Seconds since the session began."""

    def wait(self, until: float | None, inbox: queue.Queue[Any]) -> Any | None:
        """Wait until ``until`` (None = forever) or an input; return the input or None."""


@contextmanager
def out_of_the_collectors_way() -> Iterator[None]:
    """Run a live session with everything made before it (the models, the rendered lines)
    hidden from Python's garbage collector: a full collection otherwise walks all of it with
    every thread stopped (7-13 ms for the coach with Whisper loaded on an Intel Xeon, 45 ms in
    the test suite's heap, more on a small board), and a line handed to the speaker later than
    :data:`~coach.playback.LEAD_S` before it is due sounds late."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


QUIT = object()
"""Posted to a session's inbox to end it."""


class Session:
    """One conversation: the engine, a voice, a clock, and what is scheduled."""

    def __init__(self, engine: Engine, voice: Voice, clock: Clock, *,
                 recorder: Recorder | None = None,
                 observe: Callable[[float, str, dict[str, Any]], None] | None = None) -> None:
        self.engine = engine
        self.voice = voice
        self.clock = clock
        self.recorder = recorder
        self.observe = observe or (lambda t, kind, data: None)
        self.inbox: queue.Queue[Any] = queue.Queue()
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._speech: list[Line] = []
        self._speaking_until: float | None = None
        self._beat_interval: float | None = None
        self._beat_at: float | None = None
        self._beat_late = 0.0
        self._timers: dict[str, float] = {}
        self._waiting_timers: dict[str, float] = {}
        self._quitting = False

    # --- inputs -------------------------------------------------------------------------

    def at(self, t: float, event: Event) -> None:
        """Schedule an outside event (a scripted command) at time ``t``."""
        heapq.heappush(self._due, _Due(t, next(self._seq), "event", event))

    def post(self, item: Any) -> None:
        """Hand an event (or QUIT) to a running session from another thread."""
        self.inbox.put(item)

    # --- the loop -----------------------------------------------------------------------

    def run(self, *, until: float | None = None, forever: bool = False) -> None:
        """Run until nothing is left to do (or ``until``), or with ``forever`` until QUIT.

        After QUIT the session still finishes what it is saying, and a walk under way is
        stopped (and said to be), before it ends.
        """
        self._apply(self.engine.greet(), self.clock.now())
        while True:
            if self._quitting and self._speaking_until is None and not self._speech:
                if self.engine.walk is None:
                    return
                self._feed(Heard(Command.STOP, text="(end of input)"), self.clock.now())
                continue
            due = self._next_due()
            if due is None and not forever:
                return
            if until is not None and due is not None and due > until:
                return
            posted = self.clock.wait(due, self.inbox)
            if posted is QUIT:
                self._quitting = True
                continue
            if posted is not None:
                self._feed(posted, self.clock.now())
                continue
            self._fire_due()

    def _next_due(self) -> float | None:
        times = [d.at for d in self._due[:1]] + list(self._timers.values())
        if self._beat_at is not None:
            times.append(self._beat_at)
        if self._speaking_until is not None:
            times.append(self._speaking_until)
        return min(times) if times else None

    def _fire_due(self) -> None:
        # Everything runs at the time it was due, not when the loop woke: the beat and the
        # lines stay on their schedule whatever the wake-up jitter.
        now = self.clock.now()
        if self._speaking_until is not None and self._speaking_until <= now:
            at, self._speaking_until = self._speaking_until, None
            self._next_line(at)
            return
        if self._due and self._due[0].at <= now:
            due = heapq.heappop(self._due)
            self._feed(due.payload, due.at)
            return
        for name, at in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if at <= now:
                del self._timers[name]
                self.observe(at, "timer", {"timer": name})
                self._feed(TimerFired(name), at)
                return
        if self._beat_at is not None and self._beat_at <= now:
            if self._speaking_until is not None:
                # never two voices at once: the beat waits for the line to finish
                self._beat_late += self._speaking_until - self._beat_at
                self._beat_at = self._speaking_until
                return
            assert self._beat_interval is not None
            at, self._beat_at = self._beat_at, self._beat_at + self._beat_interval
            if self._beat_late > 0:
                late, self._beat_late = self._beat_late, 0.0
                self._feed(BeatDelayed(late), at)
            self._feed(Beat(), at)

    def _feed(self, event: Event, at: float) -> None:
        actions = self.engine.handle(event)
        self.observe(at, "event", {"event": event})
        self._apply(actions, at)

    # --- actions ------------------------------------------------------------------------

    def _apply(self, actions: list[Action], now: float) -> None:
        for action in actions:
            if isinstance(action, Say):
                self._speech.append(action.line)
            elif isinstance(action, Silence):
                # cut even when the schedule says the line is over: the speaker may still
                # be playing its end
                self._speech.clear()
                self.voice.cut(now)
                self._speaking_until = None
            elif isinstance(action, StartBeat):
                self._beat_interval = action.interval_s
                self._beat_at = now + action.interval_s
                self._beat_late = 0.0
            elif isinstance(action, RetimeBeat):
                if self._beat_at is not None and self._beat_interval is not None:
                    self._beat_at += action.interval_s - self._beat_interval
                self._beat_interval = action.interval_s
            elif isinstance(action, StopBeat):
                self._beat_at = self._beat_interval = None
                self._beat_late = 0.0
            elif isinstance(action, StartTimer):
                # a question's time to answer runs from when it has been heard in full
                self._timers.pop(action.name, None)
                self._waiting_timers[action.name] = action.after_s
            elif isinstance(action, CancelTimer):
                self._timers.pop(action.name, None)
                self._waiting_timers.pop(action.name, None)
            else:
                if self.recorder is not None:
                    self.recorder.record(action, now)
                if not isinstance(action, WalkProgress):
                    self.observe(now, "walk", {"walk": action})
        if self._speaking_until is None:
            self._next_line(now, drained_event=False)

    def _next_line(self, now: float, *, drained_event: bool = True) -> None:
        if not self._speech:
            for name, after in self._waiting_timers.items():
                self._timers[name] = now + after
            self._waiting_timers.clear()
            if drained_event:
                self._feed(SpeechDone(), now)
            return
        line = self._speech.pop(0)
        self.observe(now, "say", {"line": line})
        self._speaking_until = now + self.voice.speak(line, now)
