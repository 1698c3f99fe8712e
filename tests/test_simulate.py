"""``coach simulate``: every routine end to end on the virtual clock, as a user runs it."""

from __future__ import annotations

import io
import json
import time
from itertools import pairwise
from typing import Any

import pytest
from conftest import run_coach

from coach.config import Config
from coach.dialogue import Engine
from coach.errors import UsageError
from coach.intents import Intents
from coach.simulate import parse_at, simulate
from coach.voicepack import VoicePack


def timeline(config: Config, pack: VoicePack, *at: str, seed: int = 0,
             until: float | None = None) -> list[dict[str, Any]]:
    """Run a simulation in-process and parse its JSON lines."""
    out = io.StringIO()
    intents = Intents(pack)
    script = sorted((parse_at(a, intents) for a in at), key=lambda s: s.t)
    simulate(Engine(config, pack, seed=seed), script, words_per_minute=config.voice.rate,
             out=out, until=until)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def lines(rows: list[dict[str, Any]], cue: str | None = None) -> list[dict[str, Any]]:
    return [r for r in rows if "say" in r and (cue is None or r["cue"] == cue)]


def test_hallway_from_the_command_line() -> None:
    result = run_coach("simulate", "--at", "0:start hallway")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    said = lines(rows)
    counts = [r for r in said if r["cue"] == "count"]
    assert [r["n"] for r in counts] == list(range(1, 11))
    assert [r["t"] for r in counts] == sorted(r["t"] for r in counts)
    first_count = said.index(counts[0])
    assert any(r["cue"] == "safety" for r in said[:first_count]), "safety line before count 1"
    turns = [r for r in said if r["cue"] == "turn"]
    assert [r["side"] for r in turns] == ["left", "right", "forward"]
    order = [r.get("n") if r["cue"] == "count" else r["cue"] + ":" + str(r.get("side"))
             for r in said]
    left, right = order.index("turn:left"), order.index("turn:right")
    assert order[left - 1] == 4 and order[right - 1] == 8, "right turn four counts after left"
    assert said[-1]["cue"] == "summary"
    assert all(r["state"] in ("idle", "briefing", "walking", "finished") for r in rows)
    assert rows[-1]["state"] == "finished"


def test_stop_at_four_seconds_silences_the_counts() -> None:
    result = run_coach("simulate", "--at", "0:start hallway", "--at", "4:stop")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert not [r for r in lines(rows, "count") if r["t"] > 4]
    after = [r for r in lines(rows) if r["t"] >= 4]
    assert after and after[0]["key"] == "stopped"
    assert [r["walk"] for r in rows if "walk" in r] == ["began", "stopped"]


def test_stop_mid_count(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start hallway", "20.5:stop")
    counts = lines(rows, "count")
    assert counts and all(r["t"] <= 20.5 for r in counts)
    assert lines(rows)[-1]["key"] == "stopped" and lines(rows)[-1]["t"] == 20.5


EXPECTED_COUNTS = {"hallway": 10, "couch": 4, "table": 4, "hill": 12}


@pytest.mark.parametrize("routine", ["hallway", "couch", "table", "hill"])
def test_step_routines(config: Config, pack: VoicePack, routine: str) -> None:
    rows = timeline(config, pack, f"0:start {routine}")
    said = lines(rows)
    counts = [r["n"] for r in said if r["cue"] == "count"]
    assert counts == list(range(1, EXPECTED_COUNTS[routine] + 1))
    first = next(i for i, r in enumerate(said) if r["cue"] == "count")
    assert "check_path" in [r["key"] for r in said[:first]]
    assert said[-1]["cue"] == "summary"
    assert said[-2]["side"] == "forward"
    ended = [r for r in rows if r.get("walk") == "finished"]
    assert ended[0]["steps"] == EXPECTED_COUNTS[routine]


def test_hill_briefing_has_extra_caution(config: Config, pack: VoicePack) -> None:
    keys = [r["key"] for r in lines(timeline(config, pack, "0:start hill"))]
    assert keys.index("caution") < keys.index("count")
    assert "reminder" in keys


def test_car_waits_for_yes(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start car")
    assert lines(rows)[-1]["key"] == "no_answer" or lines(rows)[-1]["key"] == "not_safe"
    assert not lines(rows, "count")
    rows = timeline(config, pack, "0:start car", "8:yes")
    question = next(r for r in lines(rows) if r["cue"] == "question")
    assert question["key"] == "safe_area"
    assert [r["n"] for r in lines(rows, "count")] == [1, 2, 3, 4]
    rows = timeline(config, pack, "0:start car", "8:no")
    assert not lines(rows, "count") and lines(rows)[-1]["key"] == "not_safe"


@pytest.mark.parametrize("routine", ["walk", "cooldown"])
def test_duration_routines(config: Config, pack: VoicePack, routine: str) -> None:
    rows = timeline(config, pack, f"0:start {routine}")
    counts = lines(rows, "count")
    steps = [r for r in counts if r.get("unit") is None]
    ended = next(r for r in rows if r.get("walk") == "finished")
    # three minutes of walking, the time the longer lines hold up the beat included
    assert 180 <= ended["seconds"] < 185
    assert 100 < len(steps) == ended["steps"] < 180
    assert max(r["n"] for r in steps) == 4
    assert [r["n"] for r in counts if r.get("unit") == "seconds"] == [60, 120]
    assert sum(1 for r in lines(rows) if r["key"] == "reminder") == len(steps) // 40
    turns = [r["side"] for r in lines(rows, "turn")]
    assert turns[:4] == ["left", "right", "left", "right"] and turns[-1] == "forward"
    assert lines(rows)[-1]["cue"] == "summary"
    assert "three minutes" in lines(rows)[-1]["say"].lower()


def test_elliptical_calls_time_not_steps(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start elliptical")
    counts = lines(rows, "count")
    assert [r["n"] for r in counts] == list(range(30, 300, 30))
    assert all(r["unit"] == "seconds" for r in counts)
    ended = next(r for r in rows if r.get("walk") == "finished")
    assert ended["steps"] == 0 and 300 <= ended["seconds"] < 301
    assert "five minutes" in lines(rows)[-1]["say"].lower()


def test_pause_resume_continue_the_count(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start hallway", "19.9:pause", "30:resume")
    counts = lines(rows, "count")
    assert [r["n"] for r in counts] == list(range(1, 11))
    paused = next(r for r in rows if r.get("heard") == "pause")
    resumed = next(r for r in rows if r.get("heard") == "resume")
    assert not [r for r in counts if paused["t"] < r["t"] < resumed["t"]]
    after = [r["key"] for r in lines(rows) if r["t"] >= resumed["t"]]
    assert after[:2] == ["resumed", "reminder"]


def test_faster_shortens_the_beat(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start hallway")
    start = lines(rows, "count")[0]["t"]
    rows = timeline(config, pack, "0:start hallway", f"{start + 0.5}:faster")
    counts = [r["t"] for r in lines(rows, "count")]
    gaps = [round(b - a, 3) for a, b in pairwise(counts)]
    assert 1.0 not in gaps[2:], "after the answer, the beat is faster"
    assert round(60 / 65, 3) in gaps


def test_deterministic(config: Config, pack: VoicePack) -> None:
    args = ("0:start walk", "40:pause", "50:resume", "60:how many", "70:repeat", "80:slower")
    assert timeline(config, pack, *args, seed=3) == timeline(config, pack, *args, seed=3)
    first = run_coach("simulate", "--seed", "7", "--at", "0:start couch")
    second = run_coach("simulate", "--seed", "7", "--at", "0:start couch")
    assert first.stdout == second.stdout and first.returncode == 0


def test_twenty_minute_walk_is_instant(config: Config, pack: VoicePack) -> None:
    long = Config.from_dict({"routines": {"walk": {"minutes": 20}}})
    start = time.perf_counter()
    rows = timeline(long, pack, "0:start walk")
    elapsed = time.perf_counter() - start
    assert len(lines(rows, "count")) > 800
    assert rows[-1]["t"] > 20 * 60
    assert elapsed < 1.0, f"a 20-minute walk took {elapsed:.2f}s to simulate"


def test_low_confidence_asks_first(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start couch@0.3", "9:yes")
    assert [r["key"] for r in lines(rows)][1] == "confirm"
    assert [r["n"] for r in lines(rows, "count")] == [1, 2, 3, 4]


def test_until_cuts_the_simulation(config: Config, pack: VoicePack) -> None:
    rows = timeline(config, pack, "0:start walk", until=30)
    assert rows[-1]["t"] <= 30


@pytest.mark.parametrize("spec", ["start hallway", "x:stop", "0:strat hallway", "-1:stop",
                                  "0:stop@1.5"])
def test_bad_at_is_a_usage_error(pack: VoicePack, spec: str) -> None:
    with pytest.raises(UsageError, match="--at"):
        parse_at(spec, Intents(pack))


def test_bad_at_on_the_command_line_exits_2() -> None:
    result = run_coach("simulate", "--at", "0:strat hallway")
    assert result.returncode == 2
    assert "strat hallway" in result.stderr and "start hallway" in result.stderr
    assert result.stdout == ""
