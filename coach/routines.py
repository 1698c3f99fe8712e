"""What each walk is, and what happens on each beat of it (pure: no I/O, no clock)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .config import Config, RoutineConfig, TurnsConfig

TIMED_TICK_S = 1.0
"""On a timed routine (no step beat) the clock ticks once a second."""


@dataclass(frozen=True)
class Routine:
    """One routine, as config.toml sets it."""

    name: str
    """Routine name, e.g. ``hallway``."""
    steps: int | None
    """Length in steps, or None for a duration routine."""
    seconds: float | None
    """Length in seconds, or None for a step routine."""
    head_turns: bool
    """Whether head-turn cues are given."""
    straight_steps: int
    """Steps before the first head turn."""
    turn_steps: int
    """Steps over one shoulder before switching."""
    first_side: str
    """``left`` or ``right``."""
    count: str
    """``steps``, ``cycle`` or ``none``."""
    reminder_every: int
    """Beats between wall/balance reminders; 0 = none."""
    time_cues_every_s: int
    """Seconds between time cues; 0 = none."""
    safe_area_check: bool
    """Ask for a safe area before starting."""
    caution: bool
    """Add the extra-caution line."""

    @classmethod
    def from_config(cls, name: str, rc: RoutineConfig, turns: TurnsConfig) -> Routine:
        """Build a routine from its config section."""
        return cls(name=name, steps=rc.steps,
                   seconds=rc.minutes * 60 if rc.minutes is not None else None,
                   head_turns=rc.head_turns, straight_steps=rc.straight_steps,
                   turn_steps=turns.steps, first_side=turns.first_side, count=rc.count,
                   reminder_every=rc.reminder_every, time_cues_every_s=rc.time_cues_every_s,
                   safe_area_check=rc.safe_area_check, caution=rc.caution)

    @property
    def timed(self) -> bool:
        """No step beat: the clock ticks seconds and only time is called."""
        return self.count == "none"

    @property
    def unit(self) -> str:
        """``steps`` or ``seconds``."""
        return "steps" if self.steps is not None else "seconds"

    @property
    def planned(self) -> float:
        """Planned length in :attr:`unit`."""
        return float(self.steps if self.steps is not None else self.seconds or 0.0)

    def with_length(self, planned: float) -> Routine:
        """The same routine with another planned length (in its own unit)."""
        if self.steps is not None:
            return dataclasses.replace(self, steps=max(1, int(planned)))
        return dataclasses.replace(self, seconds=max(1.0, planned))


def routines_from_config(config: Config) -> dict[str, Routine]:
    """Every routine config.toml defines."""
    return {name: Routine.from_config(name, rc, config.turns)
            for name, rc in config.routines.items()}


@dataclass(frozen=True)
class Mark:
    """Something to say on a beat: a voice-pack cue and its values."""

    key: str
    """Cue key in the voice pack."""
    values: dict[str, Any] = field(default_factory=dict)
    """Placeholder values and line fields (n, step, side...)."""


@dataclass(frozen=True)
class Walk:
    """A walk in progress."""

    routine: Routine
    """What is being walked."""
    beats: int = 0
    """Beats so far (steps, or seconds on a timed routine)."""
    seconds: float = 0.0
    """Walking seconds so far."""
    head_turns: int = 0
    """Head-turn cues given."""
    side: str | None = None
    """Where the head is turned now; None = facing forward."""

    @property
    def steps(self) -> int:
        """Steps so far (none on a timed routine)."""
        return 0 if self.routine.timed else self.beats

    @property
    def done(self) -> bool:
        """The planned length is reached."""
        if self.routine.steps is not None:
            return self.beats >= self.routine.steps
        return self.seconds >= (self.routine.seconds or 0.0) - 1e-6

    @property
    def steps_left(self) -> int:
        """Steps still to go (step routines)."""
        return max(0, (self.routine.steps or 0) - self.beats)

    @property
    def seconds_left(self) -> float:
        """Seconds still to go (duration routines)."""
        return max(0.0, (self.routine.seconds or 0.0) - self.seconds)

    def opening(self) -> tuple[Walk, list[Mark]]:
        """Head turn before the first step, for routines that turn from the start."""
        r = self.routine
        if r.head_turns and r.straight_steps == 0:
            return self._turn(r.first_side)
        return self, []

    def advance(self, interval_s: float) -> tuple[Walk, list[Mark]]:
        """One beat: the count, then any time cue, head turn or reminder that falls on it."""
        r = self.routine
        walk = dataclasses.replace(self, beats=self.beats + 1, seconds=self.seconds + interval_s)
        marks: list[Mark] = []
        if r.count == "steps":
            marks.append(Mark("count", {"n": walk.beats, "step": walk.beats}))
        elif r.count == "cycle":
            n = walk.beats
            if n > r.straight_steps:
                n = (n - 1 - r.straight_steps) % r.turn_steps + 1
            marks.append(Mark("count", {"n": n, "step": walk.beats}))
        if walk.done:
            if walk.side is not None:
                walk, turn = walk._turn("forward")
                marks += turn
            return walk, marks
        every = r.time_cues_every_s
        if every and int(walk.seconds // every) > int(self.seconds // every):
            marks.append(Mark("time_count", {"elapsed": int(walk.seconds // every) * every}))
        since = walk.beats - r.straight_steps
        if r.head_turns and since >= 0 and since % r.turn_steps == 0 and walk.beats > 0:
            first = (since // r.turn_steps) % 2 == 0
            other = "right" if r.first_side == "left" else "left"
            walk, turn = walk._turn(r.first_side if first else other)
            marks += turn
        if r.reminder_every and walk.beats % r.reminder_every == 0:
            marks.append(Mark("reminder"))
        return walk, marks

    def _turn(self, side: str) -> tuple[Walk, list[Mark]]:
        walk = dataclasses.replace(self, side=None if side == "forward" else side,
                                   head_turns=self.head_turns + (side != "forward"))
        return walk, [Mark(f"turn_{side}", {"side": side})]
