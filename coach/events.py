"""What flows into the dialogue engine (events) and what comes out of it (actions)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class State(str, Enum):
    """Where the conversation is."""

    IDLE = "idle"
    """No walk; waiting for a command."""
    CONFIRMING = "confirming"
    """A question waits for yes or no."""
    BRIEFING = "briefing"
    """Talking before the steps begin (or before they begin again after resume)."""
    WALKING = "walking"
    """The beat is running and steps are counted."""
    PAUSED = "paused"
    """A walk is on hold; resume picks it up where it was."""
    FINISHED = "finished"
    """A walk just ended with its summary; a new one may start."""


class Command(str, Enum):
    """What a person can ask for; the voice pack maps phrases onto these."""

    START = "start"
    """Begin a routine (``start hallway``)."""
    STOP = "stop"
    """End everything at once; always wins."""
    PAUSE = "pause"
    """Hold the walk where it is."""
    RESUME = "resume"
    """Continue a paused walk."""
    SLOWER = "slower"
    """Lower the cadence by one step."""
    FASTER = "faster"
    """Raise the cadence by one step."""
    REPEAT = "repeat"
    """Say the last instruction again."""
    HOW_MANY = "how many"
    """Steps so far, or time left."""
    HELP = "help"
    """What can be said now."""
    YES = "yes"
    """Answer to a question."""
    NO = "no"
    """Answer to a question."""


class Cue(str, Enum):
    """What kind of line the coach says, so scripts can follow a session without parsing words."""

    COUNT = "count"
    """A step count on the beat (or a time count on the elliptical)."""
    TURN = "turn"
    """Look over a shoulder, or eyes forward."""
    SAFETY = "safety"
    """Path, wall and balance reminders."""
    QUESTION = "question"
    """A question that waits for yes or no."""
    SUMMARY = "summary"
    """The end of a walk."""
    ANSWER = "answer"
    """A reply to a command."""
    PROMPT = "prompt"
    """Greeting, routine introduction and other lead-ins."""


class Outcome(str, Enum):
    """How a walk ended."""

    FINISHED = "finished"
    """Every planned step (or minute) was done."""
    STOPPED = "stopped"
    """The person said stop."""
    INTERRUPTED = "interrupted"
    """The coach went away mid-walk (crash, kill, power cut, closed without finishing)."""
    IN_PROGRESS = "in_progress"
    """The walk is still going on (only ever in the history)."""


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """A command recognised from speech or typed text."""

    command: Command
    """The canonical command."""
    routine: str | None = None
    """The routine named with ``start``; None for other commands."""
    confidence: float = 1.0
    """How sure the recogniser is, 0..1."""
    text: str = ""
    """What was heard, as words."""

    @property
    def canonical(self) -> str:
        """The command as PRODUCT.md spells it, e.g. ``start hallway`` or ``how many``."""
        if self.command is Command.START and self.routine:
            return f"start {self.routine}"
        return self.command.value


@dataclass(frozen=True)
class NotUnderstood:
    """Speech or text that matched no command."""

    text: str
    """What was heard."""


@dataclass(frozen=True)
class Beat:
    """One tick of the beat clock: a step (or a second on a timed routine)."""


@dataclass(frozen=True)
class BeatDelayed:
    """The coming beat is late because a line ran past it (never two voices at once)."""

    seconds: float
    """How late, in seconds."""


@dataclass(frozen=True)
class SpeechDone:
    """Everything the coach was asked to say has been said (or cut off)."""


@dataclass(frozen=True)
class TimerFired:
    """A timer the engine started has run out."""

    name: str
    """The timer's name, as given in :class:`StartTimer`."""


Event = Heard | NotUnderstood | Beat | BeatDelayed | SpeechDone | TimerFired


# --- actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line the coach says."""

    text: str
    """The words, as spoken."""
    cue: Cue
    """What kind of line it is."""
    key: str
    """The voice pack entry it came from, e.g. ``turn_left``."""
    n: int | None = None
    """For counts: the number spoken (seconds on a timed routine)."""
    step: int | None = None
    """For step counts: the step number within the walk."""
    side: str | None = None
    """For turns: ``left``, ``right`` or ``forward``."""
    unit: str | None = None
    """For time counts: ``seconds``."""
    mentions: tuple[str, ...] = ()
    """Commands this line names on purpose (``Say resume or stop``); the listener must not act
    on them while this line is sounding."""


@dataclass(frozen=True)
class Say:
    """Say a line after whatever is already queued."""

    line: Line
    """The line."""


@dataclass(frozen=True)
class Silence:
    """Cut off whatever is sounding now and drop what is queued."""


@dataclass(frozen=True)
class StartBeat:
    """Start the beat clock; the first beat comes one interval from now."""

    interval_s: float
    """Seconds between beats."""


@dataclass(frozen=True)
class RetimeBeat:
    """Change the interval of the running beat from the next beat on."""

    interval_s: float
    """Seconds between beats."""


@dataclass(frozen=True)
class StopBeat:
    """Stop the beat clock."""


@dataclass(frozen=True)
class StartTimer:
    """Deliver :class:`TimerFired` after a delay (replacing a timer of the same name)."""

    name: str
    """Which timer."""
    after_s: float
    """Delay in seconds."""


@dataclass(frozen=True)
class CancelTimer:
    """Forget a timer that has not fired."""

    name: str
    """Which timer."""


@dataclass(frozen=True)
class WalkBegan:
    """A walk has begun: record it."""

    routine: str
    """Routine name."""
    cadence: int
    """Steps per minute at the start."""
    planned: float
    """Planned length: steps, or seconds for duration routines."""
    unit: str
    """``steps`` or ``seconds``."""


@dataclass(frozen=True)
class WalkProgress:
    """The walk in progress has moved on: record it so a crash loses little."""

    steps: int
    """Steps (beats) so far."""
    seconds: float
    """Walking seconds so far."""
    head_turns: int
    """Head-turn cues given so far."""
    cadence: int
    """Steps per minute now."""


@dataclass(frozen=True)
class WalkEnded:
    """The walk has ended: record how."""

    routine: str
    """Routine name."""
    outcome: Outcome
    """Finished or stopped."""
    steps: int
    """Steps (beats) done."""
    seconds: float
    """Walking seconds done."""
    head_turns: int
    """Head-turn cues given."""
    cadence: int
    """Steps per minute at the end."""
    planned: float
    """Planned length: steps, or seconds for duration routines."""
    unit: str
    """``steps`` or ``seconds``."""


Action = (
    Say
    | Silence
    | StartBeat
    | RetimeBeat
    | StopBeat
    | StartTimer
    | CancelTimer
    | WalkBegan
    | WalkProgress
    | WalkEnded
)

QUESTION_TIMER = "question"
"""Name of the timer that gives up on an unanswered question."""

