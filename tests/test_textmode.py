"""``coach text``: typed commands in, printed lines out, in real time."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import ROOT, run_coach


class Coach:
    """`coach text` in a subprocess: type lines, read what it prints, as a person would."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coach", "--config", str(config), "text"], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ))
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def wait_for(self, text: str, timeout: float = 20) -> float:
        """Wait until a printed line contains ``text``; return when it came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append((at, line))
            if text in line:
                return at
        raise AssertionError(f"{text!r} never printed; got {self.seen}")

    def drain(self, seconds: float) -> list[str]:
        """Everything printed in the next ``seconds``."""
        end = time.monotonic() + seconds
        out = []
        while (left := end - time.monotonic()) > 0:
            try:
                out.append(self.lines.get(timeout=left)[1])
            except queue.Empty:
                break
        return out

    def close(self) -> tuple[int, list[str]]:
        """End of input, as Ctrl-D sends; return the exit status and the lines printed since."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        status = self.proc.wait(timeout=20)
        return status, self.drain(1.0)


def test_walk_pause_resume_and_end_of_input(fast_config: Path) -> None:
    coach = Coach(fast_config)
    try:
        coach.wait_for("coach: Ready.")
        coach.type("start hallway")
        one = coach.wait_for("coach: One.")
        two = coach.wait_for("coach: Two.")
        assert 0.3 < two - one < 0.8, "counts on a half-second beat"
        coach.type("pause")
        coach.wait_for("when you're ready")
        quiet = coach.drain(1.5)
        assert not [line for line in quiet if line.startswith("coach: Three")]
        coach.type("resume")
        coach.wait_for("coach: Three.")
        coach.type("how many")
        coach.wait_for("so far")
        status, rest = coach.close()
        assert status == 0
        assert rest and rest[-1].startswith("coach: That's the end of the walk."), (
            "end of input stops the walk")
    finally:
        coach.proc.kill()


def test_unknown_words_get_an_answer_and_eof_ends_cleanly(fast_config: Path) -> None:
    result = run_coach("--config", str(fast_config), "--no-history", "text", "--silent",
                       stdin="purple monkey\nhow many\n")
    assert result.returncode == 0, result.stderr
    assert "coach: Ready." in result.stdout
    assert "didn't catch that" in result.stdout
    assert "haven't walked yet" in result.stdout
    assert result.stderr == ""


def test_end_of_input_mid_walk_stops_the_walk(fast_config: Path) -> None:
    result = run_coach("--config", str(fast_config), "text", stdin="start hallway\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("coach: That's the end of the walk.")


def test_coach_with_no_command_is_text_mode(fast_config: Path) -> None:
    result = run_coach("--config", str(fast_config), "--no-history", stdin="how many\n")
    assert result.returncode == 0, result.stderr
    assert "coach: Ready." in result.stdout and "haven't walked yet" in result.stdout
