"""History end to end: walks recorded by real sessions, long walks grown across days,
kill -9 mid-walk, and the history, chart and today commands."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, run_coach

from coach.chart import read_chart_data
from coach.config import Config
from coach.dialogue import Engine
from coach.events import Command, Heard, Outcome, WalkBegan, WalkEnded, WalkProgress
from coach.history import History, HistoryError
from coach.progress import HistoryRecorder, plan_routines, suggestions
from coach.progression import PlanReason
from coach.voicepack import VoicePack


def day(n: int, hour: int = 8) -> str:
    return f"2026-11-{n:02d}T{hour:02d}:00"


def simulate_day(history: Path, when: str, *at: str) -> list[dict[str, Any]]:
    args = ["--history", str(history), "--now", when, "simulate"]
    for a in at:
        args += ["--at", a]
    result = run_coach(*args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def planned(rows: list[dict[str, Any]]) -> float:
    return next(r["planned"] for r in rows if r.get("walk") == "began")


def test_long_walk_grows_within_bounds_and_not_after_a_stop(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    lengths = []
    for n in range(1, 5):
        rows = simulate_day(history, day(n), "0:start walk")
        lengths.append(planned(rows))
        assert [r["walk"] for r in rows if "walk" in r] == ["began", "finished"]
    assert lengths == [180, 210, 240, 270], "+20% a session at most, then the weekly limit"
    for a, b in itertools.pairwise(lengths):
        assert b <= a * 1.2 + 1e-9
    rows = simulate_day(history, day(5), "0:start walk", "40:stop")
    assert planned(rows) == 270
    assert any(r.get("key") == "plan_weekly_limit" for r in rows)
    rows = simulate_day(history, day(6), "0:start walk")
    assert planned(rows) == 270, "a stopped walk does not count as done"
    assert any(r.get("key") == "plan_holding_after_stop" for r in rows)
    rows = simulate_day(history, day(9), "0:start walk")
    assert planned(rows) == 270, "the weekly limit: at most 1.5 x the best before the week"
    rows = simulate_day(history, day(13), "0:start walk")
    assert planned(rows) == 315, "growth resumes: 270 x 1.2, rounded down to a quarter minute"


def test_simulate_without_history_records_nothing(tmp_path: Path) -> None:
    env = {"COACH_DATA_DIR": str(tmp_path)}
    assert run_coach("simulate", "--at", "0:start couch", env=env).returncode == 0
    assert not (tmp_path / "history.sqlite3").exists()


def test_kill_dash_nine_mid_walk_leaves_an_interrupted_walk(tmp_path: Path,
                                                           fast_config: Path) -> None:
    history = tmp_path / "history.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "coach", "--config", str(fast_config),
                             "--history", str(history), "text"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("start couch\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("coach: Two."):
            break
    else:
        raise AssertionError("the walk never reached step two")
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    result = run_coach("--history", str(history), "history", "--json")
    walks = json.loads(result.stdout)["walks"]
    assert walks[0]["outcome"] == "interrupted"
    assert walks[0]["steps"] >= 2 and walks[0]["routine"] == "couch"


def test_history_json_and_table(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    simulate_day(history, day(1), "0:start couch")
    simulate_day(history, day(2), "0:start table")
    simulate_day(history, day(2, 9), "0:start hallway", "20:stop")
    result = run_coach("--history", str(history), "--now", day(2, 12), "history", "--json")
    data = json.loads(result.stdout)
    assert [w["routine"] for w in data["walks"]] == ["hallway", "table", "couch"]
    assert [w["outcome"] for w in data["walks"]] == ["stopped", "finished", "finished"]
    assert data["streak"] == 2
    assert data["days"][-1]["steps"] == 4 + data["walks"][0]["steps"]
    table = run_coach("--history", str(history), "--now", day(2, 12), "history").stdout
    assert "Recent walks" in table and "stopped" in table and "Streak: 2 days" in table


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_chart_holds_the_days_walked(tmp_path: Path, suffix: str) -> None:
    pytest.importorskip("matplotlib", reason="the chart needs coach[chart] (matplotlib)")
    history = tmp_path / "history.sqlite3"
    simulate_day(history, day(1), "0:start walk")
    simulate_day(history, day(3), "0:start couch")
    picture = tmp_path / f"progress{suffix}"
    result = run_coach("--history", str(history), "--now", day(3, 12), "history", "--chart",
                       str(picture), "--days", "5")
    assert result.returncode == 0, result.stderr
    data = read_chart_data(picture)
    walks = json.loads(run_coach("--history", str(history), "history", "--json").stdout)["walks"]
    walk = next(w for w in walks if w["routine"] == "walk")
    assert data["days"][-1] == "2026-11-03" and len(data["days"]) == 5
    assert data["steps_per_day"] == [0, 0, walk["steps"], 0, 4]
    assert data["long_walk_minutes"][:2] == [None, None]
    assert data["long_walk_minutes"][2] == pytest.approx(walk["seconds"] / 60)
    assert 3.0 <= data["long_walk_minutes"][2] < 3.1
    assert data["long_walk_minutes"][3:] == [None, None]


def test_chart_with_a_wrong_suffix_exits_2(tmp_path: Path) -> None:
    result = run_coach("--history", str(tmp_path / "h.sqlite3"), "history", "--chart",
                       str(tmp_path / "x.gif"))
    assert result.returncode == 2 and ".png or .svg" in result.stderr


def test_forget_asks_first(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    simulate_day(history, day(1), "0:start couch")
    declined = run_coach("--history", str(history), "history", "--forget", stdin="no\n")
    assert declined.returncode == 1 and "Nothing was deleted" in declined.stdout
    kept = json.loads(run_coach("--history", str(history), "history", "--json").stdout)
    assert len(kept["walks"]) == 1
    done = run_coach("--history", str(history), "history", "--forget", stdin="yes\n")
    assert done.returncode == 0 and "Forgot 1 walks" in done.stdout
    gone = json.loads(run_coach("--history", str(history), "history", "--json").stdout)
    assert gone["walks"] == []


def test_today_suggests_the_short_routines_left(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    simulate_day(history, day(1), "0:start couch")
    simulate_day(history, day(1, 9), "0:start couch")
    result = run_coach("--history", str(history), "--now", day(1, 12), "today", "--json")
    data = json.loads(result.stdout)
    left = {s["routine"]: s["left"] for s in data["suggestions"]}
    assert left == {"couch": 1, "table": 3, "car": 2, "hallway": 1}
    assert data["today"]["steps"] == 8
    assert data["plans"]["walk"] == {"length": 180.0, "unit": "seconds", "last": None,
                                     "reason": "newcomer"}
    text = run_coach("--history", str(history), "--now", day(1, 12), "today").stdout
    assert "start couch" in text and "1 more (2 of 3 done)" in text


def test_a_corrupt_history_is_reported_and_left_alone(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    history.write_bytes(b"this is not a database" * 100)
    before = history.read_bytes()
    result = run_coach("--history", str(history), "text", stdin="how many\n")
    assert result.returncode == 0
    assert "not a readable walk history" in result.stderr
    assert "coach: Ready." in result.stdout
    assert history.read_bytes() == before
    bad = run_coach("--history", str(history), "history")
    assert bad.returncode == 2 and "history.sqlite3" in bad.stderr


class BrokenHistory:
    """A history whose disk fills up after the walk began."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def begin(self, *args: Any) -> int:
        self.calls.append("begin")
        return 1

    def progress(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("progress")
        raise HistoryError(Path("h.sqlite3"), "disk full")


def test_a_history_failing_mid_walk_does_not_stop_it() -> None:
    warnings: list[str] = []
    broken = BrokenHistory()
    recorder = HistoryRecorder(broken, 0.0, warn=warnings.append)  # type: ignore[arg-type]
    recorder.record(WalkBegan("couch", 60, 4, "steps"), 0.0)
    for step in range(1, 4):
        recorder.record(WalkProgress(step, float(step), 0, 60), float(step))
    recorder.record(WalkEnded("couch", Outcome.FINISHED, 4, 4.0, 1, 60, 4, "steps"), 4.0)
    assert broken.calls == ["begin", "progress"]
    assert len(warnings) == 1 and "disk full" in warnings[0]


def test_recorder_replans_after_each_walk(tmp_path: Path, config: Config,
                                          pack: VoicePack) -> None:
    with History.open(tmp_path / "h.sqlite3") as history:
        engine = Engine(config, pack, plans=plan_routines(config, history, 1e9))
        recorder = HistoryRecorder(history, 1e9, replan=engine.set_plan, config=config)
        for action in engine.handle(Heard(Command.START, "hill")):
            if isinstance(action, WalkBegan):
                recorder.record(action, 0)
        assert engine.plans["hill"].reason is PlanReason.NEWCOMER
        ended = WalkEnded("hill", Outcome.FINISHED, 12, 12.0, 2, 60, 12, "steps")
        recorder.record(ended, 20)
        assert engine.plans["hill"].length == 14 and engine.routines["hill"].steps == 14
        assert [s.routine for s in suggestions(config, history, 1e9 + 30)][:2] == ["couch",
                                                                                   "table"]
