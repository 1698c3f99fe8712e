"""``coach history`` and ``coach today``: the record of walks, as a table, JSON or a picture."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .config import Config
from .errors import UsageError
from .history import History
from .progress import plan_routines, suggestions
from .records import WalkRecord

PLAN_WHY = {
    "newcomer": "a gentle start",
    "growing": "grown from last time",
    "holding_after_stop": "held: last time ended early",
    "weekly_limit": "held by the weekly limit",
    "at_cap": "at its longest",
}


def _length(value: float, unit: str) -> str:
    if unit == "steps":
        return f"{value:.0f} steps"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}:{seconds:02d} min"


def _walk_row(w: WalkRecord) -> str:
    when = datetime.fromtimestamp(w.started_at).strftime("%a %d %b %H:%M")
    done = f"{w.steps} steps" if w.unit == "steps" or w.steps else ""
    minutes, seconds = divmod(round(w.seconds), 60)
    return (f"{when}  {w.routine:<10}  {done:>10}  {minutes:>3}:{seconds:02d}  "
            f"{w.cadence:>3}/min  {w.outcome.value}")


def show_history(history: History, now: float, *, days: int, limit: int, as_json: bool,
                 out: IO[str] = sys.stdout) -> None:
    """Print recent walks, per-day totals and the streak."""
    walks = history.recent(limit)
    totals = history.daily_totals(days, now)
    streak = history.streak(now)
    if as_json:
        data: dict[str, Any] = {
            "walks": [w.to_dict() for w in walks],
            "days": [{"day": t.day.isoformat(), "steps": t.steps,
                      "minutes": round(t.minutes, 2), "walks": t.walks,
                      "finished": t.finished} for t in totals],
            "streak": streak,
        }
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    if not walks:
        out.write("No walks recorded yet. Say 'start hallway' to begin one.\n")
        return
    out.write("Recent walks\n")
    out.write("".join(f"  {_walk_row(w)}\n" for w in walks))
    out.write(f"\nLast {days} days\n")
    for t in totals:
        bar = "#" * min(40, t.steps // 10)
        out.write(f"  {t.day:%a %d %b}  {t.steps:>5} steps  {t.minutes:5.1f} min  "
                  f"{t.finished}/{t.walks} finished  {bar}\n")
    out.write(f"\nStreak: {streak} day{'s' if streak != 1 else ''} in a row with a finished "
              "walk\n")


def draw_history_chart(history: History, now: float, path: Path, days: int) -> None:
    """Draw steps per day and the long-walk length as a PNG or SVG picture."""
    from .chart import SUFFIXES, chart_data, draw_chart

    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--chart {path}: expected a file ending in {' or '.join(SUFFIXES)}")
    since = now - days * 86400.0 - 86400.0
    draw_chart(chart_data(history.walks_since(since), days, now), path)


def forget(history: History, *, confirmed: bool, stdin: IO[str] = sys.stdin,
           out: IO[str] = sys.stdout) -> int:
    """Delete every walk after the person confirms; return the exit status."""
    count = len(history.walks_since(float("-inf")))
    if count == 0:
        out.write("There is nothing to forget: no walks are recorded.\n")
        return 0
    if not confirmed:
        out.write(f"Delete all {count} recorded walks for good? Type yes to confirm: ")
        out.flush()
        answer = stdin.readline().strip().lower()
        if answer != "yes":
            out.write("Nothing was deleted.\n")
            return 1
    history.forget()
    out.write(f"Forgot {count} walks.\n")
    return 0


def show_today(config: Config, history: History, now: float, *, as_json: bool,
               out: IO[str] = sys.stdout) -> None:
    """Print what is still worth doing today, and today's lengths of the growing routines."""
    totals = history.daily_totals(1, now)[0]
    todo = suggestions(config, history, now)
    plans = plan_routines(config, history, now)
    units = {name: "steps" if config.routines[name].steps is not None else "seconds"
             for name in plans}
    if as_json:
        out.write(json.dumps({
            "today": {"steps": totals.steps, "minutes": round(totals.minutes, 2),
                      "walks": totals.walks},
            "suggestions": [{"routine": s.routine, "done": s.done, "goal": s.goal,
                             "left": s.left} for s in todo],
            "plans": {name: {"length": p.length, "unit": units[name], "last": p.last,
                             "reason": p.reason.value} for name, p in plans.items()},
        }) + "\n")
        return
    out.write(f"Today so far: {totals.steps} steps, {totals.minutes:.1f} minutes, "
              f"{totals.walks} walk{'' if totals.walks == 1 else 's'}.\n")
    left = [s for s in todo if s.left]
    if left:
        out.write("Still worth doing today — a few steps backwards can add up to big changes:\n")
        for s in left:
            out.write(f"  start {s.routine:<8}  {s.left} more ({s.done} of {s.goal} done)\n")
    else:
        out.write("All the short routines are done for today. Well done.\n")
    out.write("Today's long walks:\n")
    for name, plan in plans.items():
        why = PLAN_WHY[plan.reason.value]
        last = f", last time {_length(plan.last, units[name])}" if plan.last else ""
        out.write(f"  start {name:<8}  {_length(plan.length, units[name])} ({why}{last})\n")
