"""Every walk recorded in SQLite: begun, progressed every few steps, then finished or cut short."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from coach.errors import CoachError
from coach.events import Outcome
from coach.paths import data_dir
from coach.records import DayTotal, WalkRecord, last_days, local_day

_LOGGER = logging.getLogger(__name__)

BUSY_TIMEOUT = 2.0
"""Seconds to wait for another program's lock before giving up."""

UNITS = ("steps", "seconds")
"""What a walk's planned length can be measured in."""

# Tells this process's walks apart from those of an earlier process that had the same pid.
_PROCESS_TOKEN = uuid.uuid4().hex

# One tuple of statements per schema version, applied in order, each in its own transaction.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE walks (id INTEGER PRIMARY KEY, routine TEXT NOT NULL,"
        " started_at REAL NOT NULL, ended_at REAL, updated_at REAL NOT NULL,"
        " steps INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,"
        " cadence INTEGER NOT NULL, head_turns INTEGER NOT NULL DEFAULT 0,"
        " outcome TEXT NOT NULL, owner_pid INTEGER, owner_token TEXT)",
    ),
    (
        # Progression must tell a full walk from a cut-short one, so it needs the plan.
        "ALTER TABLE walks ADD COLUMN planned REAL NOT NULL DEFAULT 0",
        "ALTER TABLE walks ADD COLUMN unit TEXT NOT NULL DEFAULT 'steps'",
        # A v1 walk's plan is unknown; what it did is the best guess of what it meant to do.
        "UPDATE walks SET planned = steps",
        "CREATE INDEX walks_by_routine ON walks (routine, started_at)",
        "CREATE INDEX walks_by_start ON walks (started_at)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)
"""The schema version this code writes; a newer file is refused, an older one migrated."""


# SQLite primary result codes (the low byte of the extended code): busy, corrupt, can't write.
_BUSY_CODES, _CORRUPT_CODES, _WRITE_CODES = {5, 6}, {11, 26}, {3, 8, 10, 13, 14}


class HistoryError(CoachError):
    """The history file cannot be opened, read or written; says which file and what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        """The history file."""
        self.problem = problem
        """What was wrong and what to do about it."""
        super().__init__(f"walk history {path}: {problem}")


def default_history_path() -> Path:
    """Return history.sqlite3 in the data folder (see :func:`coach.paths.data_dir`)."""
    return data_dir() / "history.sqlite3"


def _owner_alive(pid: int | None, token: str | None) -> bool:
    if token == _PROCESS_TOKEN:
        return True
    if pid is None or pid == os.getpid() or os.name == "nt":
        # Same pid but another token: an earlier process. On Windows os.kill(pid, 0) would kill it.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. PermissionError: it exists but belongs to another user
    return True


def _explain(path: Path, exc: sqlite3.Error) -> HistoryError:
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc).lower()
    if code in _BUSY_CODES or "locked" in text:
        return HistoryError(path, "locked by another program (is another coach running?); "
                            "close it and try again")
    if code in _CORRUPT_CODES or "not a database" in text or "malformed" in text:
        return HistoryError(path, f"not a readable walk history ({exc}). It was left untouched: "
                            f"move it aside (e.g. rename it to {path.name}.broken) and the coach "
                            "will start a new history")
    if code in _WRITE_CODES or "readonly" in text or "unable to open" in text:
        return HistoryError(path, f"cannot write here ({exc}); make the file and {path.parent} "
                            "writable, free some disk space, or set COACH_DATA_DIR elsewhere")
    return HistoryError(path, f"database error: {exc}")


class History:
    """The walk history in one SQLite file; use ``History.open``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._conn = connection
        self._path = path
        # The beat and the dialogue may run on different threads: one connection, one at a time.
        self._lock = threading.RLock()
        self._mine: set[int] = set()
        self._closed = False

    @classmethod
    def open(cls, path: Path, *, timeout: float = BUSY_TIMEOUT) -> History:
        """Open (creating or migrating) the history at ``path``; raise HistoryError if unusable."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(path, f"cannot create the folder {path.parent} ("
                               f"{exc.strerror or exc}); make it writable or set COACH_DATA_DIR "
                               "to a writable folder") from exc
        try:
            # Autocommit: each progress() is durable at once; transactions are explicit.
            conn = sqlite3.connect(path, timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _explain(path, exc) from exc
        history = cls(conn, path)
        try:
            history._prepare()
        except BaseException:
            conn.close()
            raise
        return history

    def _prepare(self) -> None:
        with self._guard():
            # Check before switching to WAL: even that rewrites the header of a file not ours.
            self._refuse_unknown()
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                _LOGGER.warning("%s: WAL unavailable, using %s journal", self._path, mode)
            # With WAL, NORMAL still survives a crash of the process (only a power cut may lose
            # the last commits) and saves an fsync on every progress() call.
            self._conn.execute("PRAGMA synchronous = NORMAL")
        while self._migrate_one():
            pass
        with self._transaction():
            rows = self._conn.execute(
                "SELECT id, owner_pid, owner_token FROM walks WHERE outcome = 'in_progress'"
            ).fetchall()
            orphans = [walk_id for walk_id, pid, token in rows if not _owner_alive(pid, token)]
            self._interrupt(orphans)
            # A no-op write, so a read-only file fails now rather than at the first step.
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if orphans:
            _LOGGER.info("%s: %d unfinished walk(s) marked interrupted", self._path, len(orphans))

    def _refuse_unknown(self) -> int:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise HistoryError(self._path, f"written by a newer coach (schema version {version}; "
                               f"this coach knows up to {SCHEMA_VERSION}). It was left "
                               "untouched: upgrade coach, or set COACH_DATA_DIR elsewhere")
        if version == 0 and self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise HistoryError(self._path, "an SQLite database of another program, not a walk "
                               "history. It was left untouched: set COACH_DATA_DIR elsewhere")
        return version

    def _migrate_one(self) -> bool:
        with self._transaction():
            # Read again under the write lock: another coach may have migrated meanwhile.
            version = self._refuse_unknown()
            if version == SCHEMA_VERSION:
                return False
            for statement in _MIGRATIONS[version]:
                self._conn.execute(statement)
            self._conn.execute(f"PRAGMA user_version = {version + 1}")
        _LOGGER.info("%s: walk history now at schema version %d", self._path, version + 1)
        return True

    def _interrupt(self, walk_ids: list[int]) -> None:
        # The last progress time is the best guess of when the person actually stopped.
        self._conn.executemany(
            "UPDATE walks SET outcome = 'interrupted', ended_at = updated_at"
            " WHERE id = ? AND outcome = 'in_progress'",
            [(walk_id,) for walk_id in walk_ids],
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                raise _explain(self._path, exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._guard():
            # IMMEDIATE takes the write lock up front, so a busy file fails here, not halfway.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def begin(self, routine: str, started_at: float, cadence: int, planned: float,
              unit: str) -> int:
        """Record a new walk in progress and return its id."""
        if unit not in UNITS:
            raise ValueError(f"unit {unit!r} is not allowed; expected one of: {', '.join(UNITS)}")
        with self._guard():
            cursor = self._conn.execute(
                "INSERT INTO walks (routine, started_at, updated_at, cadence, outcome, planned,"
                " unit, owner_pid, owner_token) VALUES (?, ?, ?, ?, 'in_progress', ?, ?, ?, ?)",
                (routine, started_at, started_at, cadence, planned, unit, os.getpid(),
                 _PROCESS_TOKEN),
            )
            walk_id = int(cursor.lastrowid or 0)
            self._mine.add(walk_id)
        return walk_id

    def progress(self, walk_id: int, steps: int, seconds: float, head_turns: int, cadence: int,
                 *, at: float | None = None) -> None:
        """Save a walk's counts so far, committed at once (``at`` defaults to now)."""
        with self._guard():
            cursor = self._conn.execute(
                "UPDATE walks SET steps = ?, seconds = ?, head_turns = ?, cadence = ?,"
                " updated_at = ? WHERE id = ? AND outcome = 'in_progress'",
                (steps, seconds, head_turns, cadence, time.time() if at is None else at, walk_id),
            )
        if cursor.rowcount != 1:
            raise ValueError(f"walk {walk_id} is not in progress")

    def finish(self, walk_id: int, ended_at: float, outcome: Outcome, steps: int,
               seconds: float, head_turns: int, cadence: int) -> WalkRecord:
        """Record how a walk ended and return it."""
        if outcome is Outcome.IN_PROGRESS:
            raise ValueError("a walk cannot end in_progress; expected finished, stopped, "
                             "or interrupted")
        with self._guard():
            cursor = self._conn.execute(
                "UPDATE walks SET ended_at = ?, updated_at = ?, outcome = ?, steps = ?,"
                " seconds = ?, head_turns = ?, cadence = ?"
                " WHERE id = ? AND outcome = 'in_progress'",
                (ended_at, ended_at, Outcome(outcome).value, steps, seconds, head_turns, cadence,
                 walk_id),
            )
            if cursor.rowcount != 1:
                raise ValueError(f"walk {walk_id} is not in progress")
            self._mine.discard(walk_id)
            return self._select("WHERE id = ?", (walk_id,))[0]

    def _select(self, where: str, params: tuple[Any, ...]) -> list[WalkRecord]:
        names = [f.name for f in fields(WalkRecord)]
        with self._guard():
            rows = self._conn.execute(f"SELECT {', '.join(names)} FROM walks {where}",
                                      params).fetchall()
        return [WalkRecord.from_dict(dict(zip(names, row, strict=True))) for row in rows]

    def recent(self, limit: int = 20, routine: str | None = None) -> list[WalkRecord]:
        """Return the latest walks (of one routine if given), any outcome, newest first."""
        if routine is None:
            return self._select("ORDER BY started_at DESC, id DESC LIMIT ?", (limit,))
        return self._select("WHERE routine = ? ORDER BY started_at DESC, id DESC LIMIT ?",
                            (routine, limit))

    def walks_since(self, t: float) -> list[WalkRecord]:
        """Return every walk begun at or after unix time ``t``, newest first."""
        return self._select("WHERE started_at >= ? ORDER BY started_at DESC, id DESC", (t,))

    def completed(self, routine: str, limit: int = 10) -> list[WalkRecord]:
        """Return finished walks of ``routine``, newest first."""
        return self._select("WHERE routine = ? AND outcome = 'finished'"
                            " ORDER BY started_at DESC, id DESC LIMIT ?", (routine, limit))

    def daily_totals(self, days: int, now: float, tz: tzinfo | None = None) -> list[DayTotal]:
        """Return one total per day for the ``days`` days ending today, oldest first."""
        calendar = last_days(days, now, tz)
        by_day: dict[date, list[WalkRecord]] = {day: [] for day in calendar}
        first = datetime.combine(calendar[0], clock_time(), tzinfo=tz).timestamp()
        for walk in self.walks_since(first):
            day = local_day(walk.started_at, tz)
            if day in by_day:  # walks begun after today (a clock change) are left out
                by_day[day].append(walk)
        return [
            DayTotal(day=day, steps=sum(w.steps for w in walks),
                     minutes=sum(w.seconds for w in walks) / 60, walks=len(walks),
                     finished=sum(w.outcome is Outcome.FINISHED for w in walks))
            for day, walks in by_day.items()
        ]

    def streak(self, now: float, tz: tzinfo | None = None) -> int:
        """Count days in a row with a finished walk, up to today (or yesterday if none today)."""
        with self._guard():
            rows = self._conn.execute("SELECT started_at FROM walks WHERE outcome = 'finished'"
                                      " AND started_at <= ?", (now,)).fetchall()
        walked = {local_day(started, tz) for (started,) in rows}
        day = local_day(now, tz)
        if day not in walked:
            day -= timedelta(days=1)
        count = 0
        while day in walked:
            count, day = count + 1, day - timedelta(days=1)
        return count

    def forget(self) -> int:
        """Delete every walk, overwriting it on disk, and return how many there were."""
        with self._guard():
            # secure_delete zeroes the freed pages and the checkpoint empties the WAL: a
            # forgotten walk is gone from the disk, not merely unlisted.
            self._conn.execute("PRAGMA secure_delete = ON")
            count = int(self._conn.execute("DELETE FROM walks").rowcount)
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._mine.clear()
        _LOGGER.info("%s: forgot %d walk(s)", self._path, count)
        return count

    def close(self) -> None:
        """Mark this process's unfinished walks interrupted and close the file."""
        with self._lock:
            if self._closed:
                return
            try:
                if self._mine:
                    with self._transaction():
                        self._interrupt(sorted(self._mine))
            finally:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
