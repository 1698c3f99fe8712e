"""What the history holds: one record per walk, and per-day totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from coach.events import Outcome


@dataclass(frozen=True)
class WalkRecord:
    """One recorded walk."""

    id: int
    """Row id in the history."""
    routine: str
    """Routine name, e.g. ``hallway`` or ``walk``."""
    started_at: float
    """Unix seconds when the walk began."""
    ended_at: float | None
    """Unix seconds when it ended (last progress time if interrupted); None while in progress."""
    steps: int
    """Steps counted so far."""
    seconds: float
    """Walking seconds (for the timed ``elliptical`` routine, this is its count)."""
    cadence: int
    """Steps per minute at the latest update."""
    head_turns: int
    """Head turns cued so far."""
    outcome: Outcome
    """How the walk ended, or IN_PROGRESS."""
    planned: float
    """The planned length: steps, or seconds for duration routines (see ``unit``)."""
    unit: str
    """``steps`` or ``seconds``: what ``planned`` counts."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict; ``from_dict`` reads it back."""
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WalkRecord:
        """Build a walk from ``to_dict`` output; unknown or missing keys are errors."""
        expected = {f.name for f in fields(cls)}
        unknown, missing = sorted(set(data) - expected), sorted(expected - set(data))
        if unknown or missing:
            raise ValueError(
                f"walk: unknown keys {unknown}, missing keys {missing}; "
                f"expected exactly: {', '.join(sorted(expected))}"
            )
        values = dict(data)
        values["outcome"] = Outcome(values["outcome"])
        return cls(**values)


@dataclass(frozen=True)
class DayTotal:
    """What was walked on one calendar day."""

    day: date
    """The calendar day (local time unless a tz was given)."""
    steps: int
    """Steps over all walks begun that day."""
    minutes: float
    """Walking minutes over all walks begun that day."""
    walks: int
    """Walks begun that day, whatever their outcome."""
    finished: int
    """Walks begun that day that were finished."""


def local_day(t: float, tz: tzinfo | None = None) -> date:
    """Return the calendar day of unix time ``t`` (local time when ``tz`` is None)."""
    return datetime.fromtimestamp(t, tz).date()


def last_days(days: int, now: float, tz: tzinfo | None = None) -> list[date]:
    """Return the ``days`` calendar days ending with today, oldest first."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    today = local_day(now, tz)
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
