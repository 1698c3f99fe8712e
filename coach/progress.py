"""Between a session and its history: recording walks as they happen, planning today's
lengths of the growing routines, and what is still worth doing today."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .config import ROUTINE_NAMES, Config
from .events import Outcome, WalkBegan, WalkEnded, WalkProgress
from .history import History, HistoryError
from .progression import Plan, plan_length

_LOGGER = logging.getLogger(__name__)

PLAN_LOOKBACK = 200
"""Past walks of a routine that its plan looks at."""


def open_history(path: Path, warn: Callable[[str], None]) -> History | None:
    """The history at ``path``, or None (after a warning) when it cannot be used: the walk
    still runs, and nothing in the file is touched."""
    try:
        return History.open(path)
    except HistoryError as err:
        warn(f"{err}. Walks will not be recorded this time.")
        return None


def plan_routines(config: Config, history: History, now: float) -> dict[str, Plan]:
    """Today's length of every growing routine, from what was done before."""
    plans = {}
    for name in ROUTINE_NAMES:
        rules = config.growth_rules(name)
        if rules is not None:
            unit = "steps" if config.routines[name].steps is not None else "seconds"
            walks = history.recent(PLAN_LOOKBACK, routine=name)
            plans[name] = plan_length(rules, walks, now, unit)
    return plans


def done_today(history: History, now: float) -> tuple[int, float]:
    """Steps and walking seconds already done today."""
    total = history.daily_totals(1, now)[0]
    return total.steps, total.minutes * 60


class HistoryRecorder:
    """Writes a session's walks to the history as they happen.

    Session time (seconds since the session began) becomes wall time by adding ``epoch``.
    A history that fails mid-session is reported once and then left alone: the walk goes on.
    """

    def __init__(self, history: History, epoch: float, *,
                 replan: Callable[[str, Plan], None] | None = None,
                 config: Config | None = None,
                 warn: Callable[[str], None] = _LOGGER.warning) -> None:
        self.history = history
        self.epoch = epoch
        self.replan = replan
        self.config = config
        self.warn = warn
        self._walk_id: int | None = None
        self._broken = False

    def record(self, action: WalkBegan | WalkProgress | WalkEnded, at: float) -> None:
        """Note a walk beginning, moving on, or ending."""
        if self._broken:
            return
        wall = self.epoch + at
        try:
            if isinstance(action, WalkBegan):
                self._walk_id = self.history.begin(action.routine, wall, action.cadence,
                                                   action.planned, action.unit)
            elif isinstance(action, WalkProgress) and self._walk_id is not None:
                self.history.progress(self._walk_id, action.steps, action.seconds,
                                      action.head_turns, action.cadence, at=wall)
            elif isinstance(action, WalkEnded) and self._walk_id is not None:
                self.history.finish(self._walk_id, wall, action.outcome, action.steps,
                                    action.seconds, action.head_turns, action.cadence)
                self._walk_id = None
                self._replan(action.routine, wall)
        except HistoryError as err:
            self._broken = True
            self.warn(f"{err}. This walk goes on, but is no longer recorded.")

    def _replan(self, routine: str, now: float) -> None:
        if self.replan is None or self.config is None:
            return
        plans = plan_routines(self.config, self.history, now)
        if routine in plans:
            self.replan(routine, plans[routine])


@dataclass(frozen=True)
class Suggestion:
    """A short routine still worth doing today."""

    routine: str
    """Routine name."""
    done: int
    """Finished walks of it today."""
    goal: int
    """Times a day it is worth doing (config ``daily``)."""

    @property
    def left(self) -> int:
        """How many more today."""
        return max(0, self.goal - self.done)


def suggestions(config: Config, history: History, now: float) -> list[Suggestion]:
    """Routines with a daily goal, with how many were finished today, most left first."""
    walks = [w for w in history.walks_since(start_of_day(now))
             if w.outcome is Outcome.FINISHED and w.started_at <= now]
    out = []
    for name in ROUTINE_NAMES:
        goal = config.routines[name].daily
        if goal:
            out.append(Suggestion(name, sum(w.routine == name for w in walks), goal))
    return sorted(out, key=lambda s: (-s.left, ROUTINE_NAMES.index(s.routine)))


def start_of_day(now: float) -> float:
    """Unix time of the local midnight that began the day of ``now``."""
    day = datetime.fromtimestamp(now)
    return day.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
