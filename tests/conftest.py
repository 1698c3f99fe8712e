"""Shared fixtures: the shipped config and voice pack, and a scripted driver for the engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coach.config import Config
from coach.dialogue import Engine
from coach.events import Action, Beat, Command, Event, Heard, Say, SpeechDone
from coach.phrasematch import PhraseMatcher
from coach.voicepack import VoicePack

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Keep every test (and every coach it starts) away from the user's own history, cache
    and config: they go to a fresh folder for this run."""
    home = Path(tempfile.mkdtemp(prefix="coach-tests-"))
    _RUN["home"] = home
    os.environ["COACH_DATA_DIR"] = str(home / "data")
    os.environ["COACH_CACHE_DIR"] = os.environ.get("COACH_TEST_CACHE_DIR") or str(home / "cache")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ.pop("COACH_CONFIG", None)
    _start_virtual_audio(home / "audio")


_RUN: dict[str, Any] = {}
"""The run's folder (``home``), its sound server (``server``, or why not: ``reason``), and
whether the folder goes when the run is over (``remove``)."""


def _start_virtual_audio(folder: Path) -> None:
    """A private sound server with a virtual speaker and microphone for the whole run.

    It must be up, and PULSE_SERVER exported, before anything imports sounddevice: PortAudio
    looks for devices once, at import.
    """
    from virtual_audio import VirtualAudio, VirtualAudioUnavailable, available

    reason = available()
    if reason is None:
        try:
            server = VirtualAudio.start(folder)
        except VirtualAudioUnavailable as err:
            reason = str(err)
        else:
            os.environ.update(server.env)
            _RUN["server"] = server
    _RUN["reason"] = reason


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that passed leaves nothing behind (its folder holds caches of up to ~12 MB); one
    that failed keeps its folder (the sound server's log, the history) and says where."""
    if exitstatus == 0:
        _RUN["remove"] = True
    else:
        print(f"\nthe run's data, cache and sound server log: {_RUN['home']}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the sound server; remove the run's folder if it passed."""
    server = _RUN.get("server")
    if server is not None:
        server.stop()
    if _RUN.get("remove"):
        shutil.rmtree(_RUN["home"], ignore_errors=True)


@pytest.fixture
def virtual_audio() -> Any:
    """The run's virtual sound server; skips (fails under CI) when it could not start."""
    from virtual_audio import require_or_skip

    require_or_skip(_RUN.get("reason"))
    return _RUN["server"]


@pytest.fixture(scope="session")
def pack() -> VoicePack:
    """The shipped English voice pack."""
    return VoicePack.load(ROOT / "voices" / "en")


@pytest.fixture(scope="session")
def matcher(pack: VoicePack) -> PhraseMatcher:
    """Reads transcripts as the shipped English pack's phrases."""
    return PhraseMatcher(pack)


@pytest.fixture(scope="session")
def config() -> Config:
    """The shipped config.toml."""
    return Config.load(ROOT / "config.toml")


class Driver:
    """Feeds an engine scripted events and keeps every action it returned (a scripted fake
    of the edge: no clock, no audio)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.history: list[Action] = list(engine.greet())

    def send(self, event: Event) -> list[Action]:
        """Feed one event; return (and keep) its actions."""
        actions = self.engine.handle(event)
        self.history += actions
        return actions

    def hear(self, command: Command, routine: str | None = None,
             confidence: float = 1.0) -> list[Action]:
        """Feed a recognised command."""
        return self.send(Heard(command, routine, confidence, ""))

    def start(self, routine: str) -> list[Action]:
        """Start a routine and let the briefing finish."""
        actions = self.hear(Command.START, routine)
        return actions + self.send(SpeechDone())

    def beats(self, n: int) -> list[Action]:
        """Feed n beats."""
        out: list[Action] = []
        for _ in range(n):
            out += self.send(Beat())
        return out

    @property
    def state(self) -> str:
        """The engine's state, as a string."""
        return self.engine.state.value


def said(actions: list[Action]) -> list[Any]:
    """The lines among actions."""
    return [a.line for a in actions if isinstance(a, Say)]


def keys(actions: list[Action]) -> list[str]:
    """The voice-pack keys of the lines among actions."""
    return [line.key for line in said(actions)]


@pytest.fixture
def drive(config: Config, pack: VoicePack) -> Iterator[Driver]:
    """A fresh engine on the shipped config and pack, greeted."""
    yield Driver(Engine(config, pack))


FAST = """
[cadence]
steps_per_minute = 120
fastest = 120
[voice]
rate = 400
"""


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    """A config with a quick voice and beat, so real-time tests stay short."""
    config = tmp_path / "fast.toml"
    config.write_text(FAST)
    return config


def run_coach(*args: str, stdin: str | None = None, cwd: Path = ROOT,
              env: dict[str, str] | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m coach ARGS`` as a user would, capturing its output."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "coach", *args], input=stdin, text=True,
                          capture_output=True, cwd=cwd, env=full_env, timeout=timeout,
                          check=False)
