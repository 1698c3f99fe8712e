"""What happens on each beat of each routine."""

from __future__ import annotations

import dataclasses

import pytest

from coach.config import Config
from coach.routines import Routine, Walk, routines_from_config


@pytest.fixture
def routines(config: Config) -> dict[str, Routine]:
    return routines_from_config(config)


def walk_through(routine: Routine, interval: float = 1.0) -> list[tuple[int, str]]:
    """(beat, cue key) for a whole walk, with the opening turn at beat 0."""
    walk, marks = Walk(routine).opening()
    out = [(0, m.key) for m in marks]
    while not walk.done:
        walk, marks = walk.advance(interval)
        out += [(walk.beats, m.key) for m in marks]
    return out


def test_every_routine_of_the_product_is_there(routines: dict[str, Routine]) -> None:
    assert list(routines) == ["hallway", "couch", "car", "table", "walk", "cooldown", "hill",
                              "elliptical"]


def test_hallway_turns_left_after_four_then_right_after_eight(
        routines: dict[str, Routine]) -> None:
    events = walk_through(routines["hallway"])
    turns = [(beat, key) for beat, key in events if key.startswith("turn_")]
    assert turns == [(4, "turn_left"), (8, "turn_right"), (10, "turn_forward")]
    assert [beat for beat, key in events if key == "count"] == list(range(1, 11))


def test_short_routines_turn_from_the_first_step(routines: dict[str, Routine]) -> None:
    for name in ("couch", "car", "table"):
        events = walk_through(routines[name])
        assert events[0] == (0, "turn_left")
        assert events[-1] == (4, "turn_forward")
        assert [b for b, k in events if k == "count"] == [1, 2, 3, 4]


def test_first_side_and_turn_length_come_from_config() -> None:
    config = Config.from_dict({"turns": {"steps": 3, "first_side": "right"},
                               "routines": {"hallway": {"steps": 9, "straight_steps": 3}}})
    turns = [(b, k) for b, k in walk_through(routines_from_config(config)["hallway"])
             if k.startswith("turn_")]
    assert turns == [(3, "turn_right"), (6, "turn_left"), (9, "turn_forward")]


def test_long_walk_counts_in_cycles_and_calls_time(routines: dict[str, Routine]) -> None:
    walk = Walk(routines["walk"])
    numbers, time_cues, reminders = [], [], []
    while not walk.done:
        walk, marks = walk.advance(1.0)
        for m in marks:
            if m.key == "count":
                numbers.append(m.values["n"])
            elif m.key == "time_count":
                time_cues.append((walk.beats, m.values["elapsed"]))
            elif m.key == "reminder":
                reminders.append(walk.beats)
    assert walk.beats == 180
    assert numbers[:12] == [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]
    assert max(numbers) == 4
    assert time_cues == [(60, 60), (120, 120)], "no time cue on the final beat"
    assert reminders == [40, 80, 120, 160]


def test_duration_follows_the_cadence(routines: dict[str, Routine]) -> None:
    walk = Walk(routines["cooldown"])
    while not walk.done:
        walk, _ = walk.advance(0.5)
    assert walk.beats == 360 and walk.seconds == pytest.approx(180)


def test_elliptical_is_timed_with_no_counts(routines: dict[str, Routine]) -> None:
    routine = routines["elliptical"]
    assert routine.timed and routine.unit == "seconds" and routine.planned == 300
    events = walk_through(routine)
    assert {k for _, k in events} == {"time_count"}
    assert [b for b, _ in events] == list(range(30, 300, 30))
    walk = Walk(routine)
    walk, _ = walk.advance(1.0)
    assert walk.steps == 0 and walk.seconds == 1.0


def test_hill_adds_caution_and_frequent_reminders(routines: dict[str, Routine]) -> None:
    assert routines["hill"].caution
    assert [b for b, k in walk_through(routines["hill"]) if k == "reminder"] == [6]


def test_with_length_keeps_the_unit(routines: dict[str, Routine]) -> None:
    assert routines["walk"].with_length(240).seconds == 240
    assert routines["hallway"].with_length(12).steps == 12
    assert dataclasses.replace(routines["hallway"], steps=3).planned == 3
