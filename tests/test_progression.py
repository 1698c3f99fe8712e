"""Tests for coach.progression: long walks grow gradually, not after a stop, not past the cap."""

from __future__ import annotations

import random
from itertools import count

import pytest

from coach.events import Outcome
from coach.progression import (
    WEEK,
    GrowthRules,
    Plan,
    PlanReason,
    counts_as_done,
    plan_length,
)
from coach.records import WalkRecord

DAY = 86400.0
NOW = 1_710_000_000.0
RULES = GrowthRules(start=180, per_session=0.17, per_week=0.5, minimum_step=30, cap=1200)
_ids = count(1)


def walk(
    planned: float, *, days_ago: float = 1.0, outcome: Outcome = Outcome.FINISHED,
    seconds: float | None = None, unit: str = "seconds", steps: int = 0,
) -> WalkRecord:
    walked = planned if seconds is None else seconds
    started = NOW - days_ago * DAY
    return WalkRecord(next(_ids), "walk", started, started + walked, steps, walked, 50, 0, outcome,
                planned, unit)


def test_newcomer_gets_the_start_length() -> None:
    assert plan_length(RULES, [], NOW) == Plan(180, None, PlanReason.NEWCOMER)


def test_after_a_finished_three_minute_walk_comes_three_and_a_half() -> None:
    assert plan_length(RULES, [walk(180)], NOW) == Plan(210, 180, PlanReason.GROWING)


@pytest.mark.parametrize("outcome", [Outcome.STOPPED, Outcome.INTERRUPTED])
def test_a_stopped_last_attempt_repeats_the_last_done_length(outcome: Outcome) -> None:
    walks = [walk(180, days_ago=3), walk(210, days_ago=2),
             walk(240, days_ago=1, outcome=outcome, seconds=100)]
    assert plan_length(RULES, walks, NOW) == Plan(210, 210, PlanReason.HOLDING_AFTER_STOP)


def test_a_stop_before_anything_was_done_keeps_the_start_length() -> None:
    walks = [walk(180, outcome=Outcome.STOPPED, seconds=30)]
    assert plan_length(RULES, walks, NOW) == Plan(180, None, PlanReason.NEWCOMER)


def test_a_finished_walk_well_short_of_its_plan_does_not_count() -> None:
    walks = [walk(210, days_ago=2), walk(240, days_ago=1, seconds=200)]
    assert plan_length(RULES, walks, NOW) == Plan(210, 210, PlanReason.HOLDING_AFTER_STOP)


def test_ninety_five_percent_of_the_plan_counts_as_done() -> None:
    short_by_a_breath = walk(240, seconds=228)
    assert counts_as_done(short_by_a_breath)
    assert plan_length(RULES, [short_by_a_breath], NOW).last == 240


def test_a_routine_planned_in_steps_grows_in_steps() -> None:
    rules = GrowthRules(start=12, per_session=0.25, per_week=0.5, minimum_step=1, cap=40)
    in_steps = walk(12, seconds=15, unit="steps", steps=12)
    assert plan_length(rules, [in_steps], NOW, unit="steps") == Plan(15, 12, PlanReason.GROWING)


def test_walks_of_another_unit_do_not_count() -> None:
    in_steps = walk(150, seconds=200, unit="steps", steps=150)
    assert plan_length(RULES, [in_steps], NOW) == Plan(RULES.start, None, PlanReason.NEWCOMER)


def test_walks_in_progress_or_in_the_future_are_ignored() -> None:
    walks = [walk(180, days_ago=2), walk(210, days_ago=1, outcome=Outcome.IN_PROGRESS),
             walk(900, days_ago=-1)]
    assert plan_length(RULES, walks, NOW) == Plan(210, 180, PlanReason.GROWING)


def test_the_weekly_limit_holds_back_fast_growth() -> None:
    walks = [walk(180, days_ago=3), walk(210, days_ago=2), walk(240, days_ago=1)]
    # 240 s * 1.17 would allow 280 s, but the week may only add 50% to the 180 s start.
    assert plan_length(RULES, walks, NOW) == Plan(270, 240, PlanReason.WEEKLY_LIMIT)


def test_the_weekly_limit_moves_on_with_the_week() -> None:
    walks = [walk(270, days_ago=8), walk(300, days_ago=1)]
    assert plan_length(RULES, walks, NOW) == Plan(330, 300, PlanReason.GROWING)


def test_the_cap_is_never_passed() -> None:
    walks = [walk(1100, days_ago=8), walk(1140, days_ago=1)]
    assert plan_length(RULES, walks, NOW) == Plan(1200, 1140, PlanReason.AT_CAP)


def test_a_length_beyond_a_lowered_cap_comes_down_to_the_cap() -> None:
    walks = [walk(1500, days_ago=1)]
    assert plan_length(RULES, walks, NOW) == Plan(1200, 1500, PlanReason.AT_CAP)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": 0}, "start must be a positive number"),
        ({"per_week": float("nan")}, "per_week must be a positive number"),
        ({"cap": 60}, r"cap \(60 s\) must be at least start \(180 s\)"),
        ({"per_session": 0.1}, r"would never grow; expected per_session >= 0.167"),
    ],
)
def test_growth_rules_say_what_is_allowed(changes: dict[str, float], message: str) -> None:
    values = {"start": 180, "per_session": 0.17, "per_week": 0.5, "minimum_step": 30, "cap": 1200}
    with pytest.raises(ValueError, match=message):
        GrowthRules(**{**values, **changes})


# Property-style checks over random histories, with fixed seeds so a failure reproduces.

def done(w: WalkRecord) -> bool:
    return w.outcome is Outcome.FINISHED and w.seconds >= 0.95 * w.planned


def random_history(rng: random.Random) -> list[WalkRecord]:
    walks = []
    for _ in range(rng.randrange(0, 25)):
        planned = rng.choice([rng.randrange(60, 1500, 30), rng.uniform(60, 1500)])
        outcome = rng.choice(list(Outcome))
        seconds = planned if rng.random() < 0.6 else rng.uniform(0, planned)
        walks.append(walk(planned, days_ago=rng.uniform(0, 40), outcome=outcome, seconds=seconds))
    return walks


def random_rules(rng: random.Random) -> GrowthRules:
    start = rng.randrange(60, 300, 30)
    step = rng.choice([10, 15, 30])
    return GrowthRules(start=start, per_session=step / start + rng.uniform(0, 0.3),
                       per_week=step / start + rng.uniform(0, 1.0), minimum_step=step,
                       cap=start + rng.randrange(0, 2000, 30))


@pytest.mark.parametrize("seed", range(20))
def test_random_histories_keep_every_bound(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        rules, walks = random_rules(rng), random_history(rng)
        plan = plan_length(rules, walks, NOW)
        attempts = sorted((w for w in walks if w.outcome is not Outcome.IN_PROGRESS
                           and w.started_at <= NOW), key=lambda w: w.started_at)
        finished = [w for w in attempts if done(w)]
        assert rules.start <= plan.length <= rules.cap
        if not finished:
            assert plan == Plan(rules.start, None, PlanReason.NEWCOMER)
            continue
        last = finished[-1].planned
        assert plan.last == last
        assert plan.length <= max(rules.start, last * (1 + rules.per_session)) + 1e-6
        best_before = max([rules.start] + [w.planned for w in finished
                                           if w.started_at < NOW - WEEK])
        assert plan.length <= max(best_before * (1 + rules.per_week), last, rules.start) + 1e-6
        if not done(attempts[-1]):
            assert plan.reason is PlanReason.HOLDING_AFTER_STOP
            assert plan.length == min(max(last, rules.start), rules.cap)
        shuffled = walks[:]
        rng.shuffle(shuffled)
        assert plan_length(rules, shuffled, NOW) == plan


@pytest.mark.parametrize("seed", range(10))
def test_a_simulated_walker_grows_gradually(seed: int) -> None:
    rng = random.Random(seed)
    rules = random_rules(rng)
    walks: list[WalkRecord] = []
    now = NOW
    for _ in range(120):
        now += rng.choice([0.3, 1.0, 1.0, 2.0, 5.0]) * DAY
        plan = plan_length(rules, walks, now)
        finished = [w for w in walks if done(w)]
        if walks and not done(walks[-1]):
            assert plan.length <= max(rules.start, finished[-1].planned if finished else 0)
        if finished:
            assert plan.length <= finished[-1].planned * (1 + rules.per_session) + 1e-6
        week_ago = [w.planned for w in finished if w.started_at < now - WEEK]
        assert plan.length <= max([rules.start, *week_ago]) * (1 + rules.per_week) + 1e-6
        assert plan.length <= rules.cap
        stops = rng.random() < 0.25
        seconds = rng.uniform(0, plan.length * 0.9) if stops else plan.length
        outcome = Outcome.STOPPED if stops else Outcome.FINISHED
        walks.append(WalkRecord(len(walks) + 1, "walk", now, now + seconds, 0, seconds, 50, 0,
                          outcome, plan.length, "seconds"))
    if rules.cap >= rules.start + rules.minimum_step:
        assert max(w.planned for w in walks) > rules.start  # the walker did grow
