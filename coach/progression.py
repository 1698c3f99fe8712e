"""How long today's long walk should be, grown gradually from what was done before.

Pure: takes past walks and the time, reads no clock and no files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from coach.events import Outcome
from coach.records import WalkRecord

_LOGGER = logging.getLogger(__name__)

DONE_FRACTION = 0.95
"""A finished walk counts as done once it reached this share of its planned length."""

WEEK = 7 * 24 * 3600.0
"""Seconds in the window the weekly growth limit looks back over."""


class PlanReason(str, Enum):
    """Why today's length is what it is."""

    NEWCOMER = "newcomer"
    """No walk of this routine was done yet: start with the newcomer length."""
    GROWING = "growing"
    """The last attempt was done: grow by up to the per-session step."""
    HOLDING_AFTER_STOP = "holding_after_stop"
    """The last attempt was stopped or cut short: repeat the last length that was done."""
    WEEKLY_LIMIT = "weekly_limit"
    """Growth is held back by the per-week limit."""
    AT_CAP = "at_cap"
    """The routine reached its longest allowed length."""


@dataclass(frozen=True)
class GrowthRules:
    """How fast a long routine may grow."""

    start: float
    """Newcomer length, in the routine's unit (seconds, or steps)."""
    per_session: float
    """Largest growth over the last done length per session, as a fraction (0.15 = +15%)."""
    per_week: float
    """Largest growth over the best length done before the last 7 days, as a fraction."""
    minimum_step: float
    """Lengths are rounded down to a multiple of this (seconds, or steps)."""
    cap: float
    """Longest length ever planned (seconds, or steps)."""

    def __post_init__(self) -> None:
        for name in ("start", "per_session", "per_week", "minimum_step", "cap"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"growth rules: {name} must be a positive number, got {value!r}")
        if self.cap < self.start:
            raise ValueError(
                f"growth rules: cap ({self.cap:g} s) must be at least start ({self.start:g} s)"
            )
        # Rounding down to minimum_step would otherwise swallow every gain and the walk would
        # stay at the newcomer length for ever.
        for name in ("per_session", "per_week"):
            gain = self.start * getattr(self, name)
            if gain < self.minimum_step:
                raise ValueError(
                    f"growth rules: start * {name} = {gain:g} s is less than minimum_step "
                    f"({self.minimum_step:g} s), so the walk would never grow; expected {name} "
                    f">= {self.minimum_step / self.start:.3g} or a smaller minimum_step"
                )


@dataclass(frozen=True)
class Plan:
    """Today's length for a long routine, and why."""

    length: float
    """Today's length, in the routine's unit (seconds, or steps)."""
    last: float | None
    """Length of the last walk that was done, same unit; None if there was none."""
    reason: PlanReason
    """Why the length is what it is."""


def counts_as_done(walk: WalkRecord) -> bool:
    """Tell whether a walk was finished and reached nearly all of its planned length."""
    achieved = walk.seconds if walk.unit == "seconds" else walk.steps
    return (
        walk.outcome is Outcome.FINISHED
        and walk.planned > 0
        and achieved >= DONE_FRACTION * walk.planned
    )


def done_length(walk: WalkRecord) -> float:
    """Return the length a done walk earns: its plan, in its own unit."""
    return walk.planned


def _round_down(value: float, step: float) -> float:
    # The epsilon keeps 200 * 1.15 = 229.99999999999997 from losing a whole step.
    return math.floor(value / step + 1e-9) * step


def plan_length(rules: GrowthRules, walks: Sequence[WalkRecord], now: float,
                unit: str = "seconds") -> Plan:
    """Plan today's length from this routine's past walks (any outcome, any order).

    Parameters
    ----------
    walks
        Earlier walks of the routine; walks in progress or begun after ``now`` are ignored.
    now
        Unix seconds; the weekly limit looks at walks begun before ``now - WEEK``.
    unit
        ``seconds`` or ``steps``: the routine's unit; walks planned in another unit (the
        routine was set up differently then) do not count.
    """
    attempts = sorted(
        (w for w in walks if w.outcome is not Outcome.IN_PROGRESS and w.started_at <= now
         and w.unit == unit),
        key=lambda w: (w.started_at, w.id),
    )
    done = [w for w in attempts if counts_as_done(w)]
    if not done:
        return Plan(rules.start, None, PlanReason.NEWCOMER)
    last = done_length(done[-1])
    kept = min(max(last, rules.start), rules.cap)
    if not counts_as_done(attempts[-1]):
        return Plan(kept, last, PlanReason.HOLDING_AFTER_STOP)

    before_week = [done_length(w) for w in done if w.started_at < now - WEEK]
    session_limit = last * (1 + rules.per_session)
    weekly_limit = max([rules.start, *before_week]) * (1 + rules.per_week)
    target = _round_down(min(session_limit, weekly_limit, rules.cap), rules.minimum_step)
    # Never below the newcomer length, never below what was just done (a changed rule
    # holds the length rather than shrinking it), never beyond the cap.
    length = min(max(target, kept), rules.cap)
    if length >= rules.cap:
        reason = PlanReason.AT_CAP
    elif weekly_limit < session_limit:
        reason = PlanReason.WEEKLY_LIMIT
    else:
        reason = PlanReason.GROWING
    _LOGGER.debug("plan %.0f s (%s) after %.0f s", length, reason.value, last)
    return Plan(length, last, reason)
