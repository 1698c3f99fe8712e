"""Tests for coach.history: recording walks in SQLite, surviving crashes, refusing bad files."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from coach.errors import CoachError
from coach.events import Outcome
from coach.history import (
    SCHEMA_VERSION,
    DayTotal,
    History,
    HistoryError,
    default_history_path,
)
from coach.records import WalkRecord

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 3, 10, 15, 0, tzinfo=UTC).timestamp()
DAY = 86400.0

V1_SCHEMA = (
    "CREATE TABLE walks (id INTEGER PRIMARY KEY, routine TEXT NOT NULL,"
    " started_at REAL NOT NULL, ended_at REAL, updated_at REAL NOT NULL,"
    " steps INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,"
    " cadence INTEGER NOT NULL, head_turns INTEGER NOT NULL DEFAULT 0,"
    " outcome TEXT NOT NULL, owner_pid INTEGER, owner_token TEXT)"
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def history(path: Path) -> Iterator[History]:
    with History.open(path) as opened:
        yield opened


def walk_once(
    history: History, routine: str = "hallway", started_at: float = NOW, steps: int = 10,
    seconds: float = 12.0, outcome: Outcome = Outcome.FINISHED, planned: float = 10,
    unit: str = "steps",
) -> WalkRecord:
    walk_id = history.begin(routine, started_at, cadence=50, planned=planned, unit=unit)
    return history.finish(walk_id, started_at + seconds, outcome, steps, seconds, 2, 50)


def raw_walk(path: Path, walk_id: int) -> tuple[object, ...]:
    with sqlite3.connect(path) as conn:
        row: tuple[object, ...] = conn.execute(
            "SELECT outcome, ended_at, steps FROM walks WHERE id = ?", (walk_id,)
        ).fetchone()
    return row


def test_history_error_is_a_coach_error() -> None:
    assert issubclass(HistoryError, CoachError)


def test_walk_round_trips_through_json() -> None:
    walk = WalkRecord(7, "walk", 100.0, None, 40, 33.5, 52, 3, Outcome.IN_PROGRESS, 300.0,
                      "seconds")
    assert WalkRecord.from_dict(json.loads(json.dumps(walk.to_dict()))) == walk


def test_walk_from_dict_names_unknown_and_missing_keys() -> None:
    data = WalkRecord(1, "car", 1.0, 2.0, 4, 3.0, 50, 0, Outcome.FINISHED, 4, "steps").to_dict()
    data["stepz"] = data.pop("steps")
    with pytest.raises(ValueError, match=r"unknown keys \['stepz'\], missing keys \['steps'\]"):
        WalkRecord.from_dict(data)


def test_open_creates_folders_and_uses_wal(path: Path) -> None:
    History.open(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_finish_returns_the_recorded_walk(history: History) -> None:
    walk_id = history.begin("walk", NOW, cadence=48, planned=180, unit="seconds")
    history.progress(walk_id, steps=8, seconds=10.0, head_turns=1, cadence=50, at=NOW + 10)
    walk = history.finish(walk_id, NOW + 180, Outcome.FINISHED, 150, 180.0, 18, 52)
    assert walk == WalkRecord(walk_id, "walk", NOW, NOW + 180, 150, 180.0, 52, 18,
                        Outcome.FINISHED, 180.0, "seconds")
    assert history.recent() == [walk]


def test_progress_is_committed_at_once(history: History, path: Path) -> None:
    walk_id = history.begin("hallway", NOW, cadence=50, planned=10, unit="steps")
    history.progress(walk_id, steps=6, seconds=7.0, head_turns=1, cadence=50, at=NOW + 7)
    assert raw_walk(path, walk_id) == ("in_progress", None, 6)


def test_progress_after_finish_is_refused(history: History) -> None:
    walk = walk_once(history)
    with pytest.raises(ValueError, match="not in progress"):
        history.progress(walk.id, steps=1, seconds=1.0, head_turns=0, cadence=50)


def test_finish_as_in_progress_is_refused(history: History) -> None:
    walk_id = history.begin("hallway", NOW, cadence=50, planned=10, unit="steps")
    with pytest.raises(ValueError, match="expected finished, stopped"):
        history.finish(walk_id, NOW, Outcome.IN_PROGRESS, 0, 0.0, 0, 50)


def test_begin_refuses_unknown_unit(history: History) -> None:
    with pytest.raises(ValueError, match="expected one of: steps, seconds"):
        history.begin("walk", NOW, cadence=50, planned=3, unit="minutes")


def test_close_marks_own_unfinished_walk_interrupted(path: Path) -> None:
    with History.open(path) as history:
        walk_id = history.begin("walk", NOW, cadence=50, planned=300, unit="seconds")
        history.progress(walk_id, steps=20, seconds=24.0, head_turns=2, cadence=50, at=NOW + 24)
    assert raw_walk(path, walk_id) == ("interrupted", NOW + 24, 20)


def test_second_open_in_same_process_leaves_live_walk_alone(history: History, path: Path) -> None:
    walk_id = history.begin("walk", NOW, cadence=50, planned=300, unit="seconds")
    History.open(path).close()
    history.progress(walk_id, steps=4, seconds=5.0, head_turns=0, cadence=50)
    assert history.recent()[0].outcome is Outcome.IN_PROGRESS


def insert_orphan(path: Path, pid: int, token: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO walks (routine, started_at, updated_at, steps, cadence, outcome,"
            " owner_pid, owner_token, planned, unit)"
            " VALUES ('walk', ?, ?, 9, 50, 'in_progress', ?, ?, 300, 'seconds')",
            (NOW, NOW + 9, pid, token),
        )


def test_open_interrupts_walk_of_earlier_process_that_had_our_pid(path: Path) -> None:
    History.open(path).close()
    insert_orphan(path, os.getpid(), "an-earlier-process")
    with History.open(path) as history:
        walk = history.recent()[0]
    assert (walk.outcome, walk.ended_at, walk.steps) == (Outcome.INTERRUPTED, NOW + 9, 9)


def test_open_leaves_walk_of_a_live_process_alone(path: Path) -> None:
    History.open(path).close()
    insert_orphan(path, os.getppid(), "the-parent-process")
    with History.open(path) as history:
        assert history.recent()[0].outcome is Outcome.IN_PROGRESS


WALKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from coach.history import History
    history = History.open(Path(sys.argv[1]))
    walk_id = history.begin("walk", 1000.0, cadence=50, planned=300.0, unit="seconds")
    for steps in (4, 8, 12):
        history.progress(walk_id, steps, float(steps), steps // 4, 50, at=1000.0 + steps)
    print(walk_id, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL does not exist on Windows")
def test_killed_walk_shows_up_interrupted_next_time(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    walker = subprocess.Popen(
        [sys.executable, "-c", WALKER, str(path)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = walker.stdout.readline() if walker.stdout else ""
        assert line.strip().isdigit(), walker.stderr.read() if walker.stderr else line
        with History.open(path) as history:  # e.g. `coach history` while someone walks
            assert history.recent()[0].outcome is Outcome.IN_PROGRESS
    finally:
        walker.send_signal(signal.SIGKILL)
        walker.communicate(timeout=10)
    with History.open(path) as history:
        walk = history.recent()[0]
    assert walk.id == int(line)
    assert (walk.outcome, walk.steps, walk.seconds, walk.ended_at) == (
        Outcome.INTERRUPTED, 12, 12.0, 1012.0)


def test_recent_is_newest_first_and_limited(history: History) -> None:
    ids = [walk_once(history, started_at=NOW + n).id for n in range(5)]
    assert [w.id for w in history.recent(limit=3)] == ids[:1:-1]


def test_recent_can_filter_one_routine(history: History) -> None:
    walk_once(history, routine="couch", started_at=NOW)
    mine = walk_once(history, routine="walk", started_at=NOW - 5, outcome=Outcome.STOPPED)
    assert history.recent(routine="walk") == [mine]


def test_walks_since_includes_the_boundary(history: History) -> None:
    walk_once(history, started_at=NOW - 10)
    at_boundary = walk_once(history, started_at=NOW)
    later = walk_once(history, started_at=NOW + 10)
    assert history.walks_since(NOW) == [later, at_boundary]


def test_completed_lists_only_finished_walks_of_the_routine(history: History) -> None:
    older = walk_once(history, routine="walk", started_at=NOW - 100)
    walk_once(history, routine="walk", started_at=NOW - 50, outcome=Outcome.STOPPED)
    walk_once(history, routine="hill", started_at=NOW - 40)
    newer = walk_once(history, routine="walk", started_at=NOW)
    assert history.completed("walk") == [newer, older]
    assert history.completed("walk", limit=1) == [newer]


def test_daily_totals_cover_every_day_oldest_first(history: History) -> None:
    walk_once(history, started_at=NOW - 2 * DAY, steps=10, seconds=60)
    walk_once(history, started_at=NOW - 3 * DAY, steps=99)  # before the window
    walk_once(history, started_at=NOW - 1000, steps=20, seconds=120, outcome=Outcome.STOPPED)
    walk_once(history, started_at=NOW + 30, steps=4, seconds=0)
    assert history.daily_totals(3, NOW, tz=UTC) == [
        DayTotal(date(2024, 3, 8), steps=10, minutes=1.0, walks=1, finished=1),
        DayTotal(date(2024, 3, 9), steps=0, minutes=0.0, walks=0, finished=0),
        DayTotal(date(2024, 3, 10), steps=24, minutes=2.0, walks=2, finished=1),
    ]


def test_daily_totals_use_the_given_time_zone(history: History) -> None:
    early_utc = datetime(2024, 3, 10, 2, 0, tzinfo=UTC).timestamp()
    walk_once(history, started_at=early_utc, steps=7)
    new_york = timezone(timedelta(hours=-5))
    totals = history.daily_totals(2, NOW, tz=new_york)
    assert [(t.day, t.steps) for t in totals] == [(date(2024, 3, 9), 7), (date(2024, 3, 10), 0)]


def test_daily_totals_refuse_zero_days(history: History) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        history.daily_totals(0, NOW)


@pytest.mark.parametrize(
    ("finished_days_ago", "stopped_days_ago", "expected"),
    [
        ([], [], 0),
        ([0], [], 1),
        ([0, 1, 2, 4], [], 3),
        ([1, 2], [], 2),  # nothing yet today: the streak up to yesterday still counts
        ([2, 3], [], 0),  # yesterday missed: the streak is broken
        ([0, 2], [1], 1),  # a stopped walk does not keep the streak
    ],
)
def test_streak_counts_days_in_a_row_with_a_finished_walk(
    history: History, finished_days_ago: list[int], stopped_days_ago: list[int], expected: int
) -> None:
    for back in finished_days_ago:
        walk_once(history, started_at=NOW - back * DAY)
    for back in stopped_days_ago:
        walk_once(history, started_at=NOW - back * DAY, outcome=Outcome.STOPPED)
    assert history.streak(NOW, tz=UTC) == expected


def test_forget_deletes_every_walk_from_the_disk(path: Path) -> None:
    with History.open(path) as history:
        for n in range(3):
            walk_once(history, routine="secret-hallway-xyz", started_at=NOW + n)
        assert history.forget() == 3
        assert history.recent() == []
    on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"secret-hallway-xyz" not in on_disk


def build_v1(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(V1_SCHEMA)
        conn.execute(
            "INSERT INTO walks (routine, started_at, ended_at, updated_at, steps, seconds, cadence,"
            " head_turns, outcome) VALUES ('hallway', ?, ?, ?, 10, 12.0, 50, 2, 'finished')",
            (NOW, NOW + 12, NOW + 12),
        )
        conn.execute("PRAGMA user_version = 1")


def test_v1_history_migrates_keeping_its_walks(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    build_v1(path)
    with History.open(path) as history:
        assert history.recent() == [
            WalkRecord(1, "hallway", NOW, NOW + 12, 10, 12.0, 50, 2, Outcome.FINISHED, 10.0,
                       "steps"),
        ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "walks_by_routine" in indexes


def test_failed_migration_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    build_v1(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE INDEX walks_by_routine ON walks (routine)")  # v2 will collide
    with pytest.raises(HistoryError):
        History.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = {row[1] for row in conn.execute("PRAGMA table_info(walks)")}
    assert "planned" not in columns


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE walks (id INTEGER PRIMARY KEY, hover_boots TEXT)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(HistoryError, match=rf"newer coach \(schema version {SCHEMA_VERSION + 1};"):
        History.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [random.Random(5).randbytes(8192), b"cadence = 50\nthis is a config file, not a database\n"],
    ids=["random-bytes", "text-file"],
)
def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(content)
    with pytest.raises(HistoryError, match="not a readable walk history") as caught:
        History.open(path)
    assert str(path) in str(caught.value)
    assert "history.sqlite3.broken" in str(caught.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]


def test_database_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(HistoryError, match="another program"):
        History.open(path)
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["recipes"]


@pytest.mark.parametrize("existing", [True, False], ids=["wal-history", "new-file"])
def test_locked_history_says_so(tmp_path: Path, existing: bool) -> None:
    path = tmp_path / "history.sqlite3"
    if existing:
        History.open(path).close()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked by another program") as caught:
            History.open(path, timeout=0.1)
    finally:
        locker.close()
    assert str(path) in str(caught.value)
    History.open(path).close()  # usable again once the lock is gone


def test_progress_while_locked_raises_history_error(path: Path) -> None:
    history = History.open(path, timeout=0.1)
    walk_id = history.begin("walk", NOW, cadence=50, planned=60, unit="seconds")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked"):
            history.progress(walk_id, steps=4, seconds=4.0, head_turns=0, cadence=50)
    finally:
        locker.close()
    history.progress(walk_id, steps=5, seconds=5.0, head_turns=0, cadence=50)
    history.close()


def test_folder_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(HistoryError, match=r"cannot create the folder .*COACH_DATA_DIR") as caught:
        History.open(blocker / "coach" / "history.sqlite3")
    assert str(blocker / "coach") in str(caught.value)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="root (or Windows) ignores directory permissions, so the folder stays writable",
)
def test_read_only_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(HistoryError, match=r"cannot write here.*COACH_DATA_DIR"):
            History.open(folder / "history.sqlite3")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"COACH_DATA_DIR": "/d/coach", "XDG_DATA_HOME": "/x"}, "/d/coach/history.sqlite3"),
        ({"XDG_DATA_HOME": "/x"}, "/x/coach/history.sqlite3"),
        ({"XDG_DATA_HOME": "relative/ignored"}, "/home/who/.local/share/coach/history.sqlite3"),
        ({}, "/home/who/.local/share/coach/history.sqlite3"),
    ],
)
def test_default_history_path(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.setenv("HOME", "/home/who")
    for name in ("COACH_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_history_path() == Path(expected)
