"""What the dialogue engine remembers between events besides its state: the question
waiting for an answer, and what the last walk came to."""

from __future__ import annotations

from dataclasses import dataclass

from .events import Heard, Line, State


@dataclass(frozen=True)
class Question:
    """A question waiting for yes or no."""

    kind: str
    """``confirm`` (did you say...?) or ``safe_area`` (car routine)."""
    line: Line
    """The question as said, to ask it again."""
    return_to: State
    """Where the conversation goes back to after the answer."""
    heard: Heard | None = None
    """For ``confirm``: the command to carry out on yes."""
    routine: str | None = None
    """For ``safe_area``: the routine to begin on yes."""


@dataclass(frozen=True)
class LastWalk:
    """What the last walk came to, for "how many" after it."""

    routine: str
    """Routine name."""
    steps: int
    """Steps done."""
    seconds: float
    """Walking seconds done."""
