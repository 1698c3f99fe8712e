"""Errors the coach reports to a person, each saying what was wrong and what is allowed."""

from __future__ import annotations

from pathlib import Path


class CoachError(Exception):
    """Base of every error the coach explains to the person using it (exit status 2)."""

    exit_status = 2


class ConfigError(CoachError):
    """A value in config.toml is missing, of the wrong type, out of range or unknown."""

    def __init__(self, path: Path | str | None, key: str, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        """The file that holds the bad value (None for built-in defaults)."""
        self.key = key
        """Dotted key of the bad value, e.g. ``cadence.steps_per_minute``."""
        self.problem = problem
        """What was wrong and what is allowed."""
        where = str(self.path) if self.path is not None else "built-in defaults"
        super().__init__(f"{where}: {key}: {problem}")


class VoicePackError(CoachError):
    """A voice pack is missing a line, has an unknown placeholder, or would hear itself."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        self.path = Path(path)
        """The pack file."""
        self.key = key
        """Dotted key in the pack, e.g. ``cues.turn_left``."""
        self.problem = problem
        """What was wrong and what is allowed."""
        super().__init__(f"{self.path}: {key}: {problem}")


class UsageError(CoachError):
    """A command-line argument is malformed (bad ``--at`` entry, unknown phrase...)."""


class CorpusError(CoachError):
    """The corpus or its sentences cannot be read or built; says which file and why."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        """The file or folder at fault."""
        self.problem = problem
        """What was wrong and what to do about it."""
        super().__init__(f"listening corpus {path}: {problem}")
