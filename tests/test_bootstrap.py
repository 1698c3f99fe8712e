"""The bootstrap behind the README's two commands, and CI running the README's test command."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

from coach import bootstrap


def readme_commands() -> list[str]:
    """The commands in the README's Quick start code block."""
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", quick, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_quick_start_is_two_commands_and_ci_runs_the_second_verbatim() -> None:
    commands = readme_commands()
    assert commands == ["python3 -m coach.bootstrap start", "python3 -m coach.bootstrap test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()


def test_installed_packages_are_not_missing() -> None:
    assert bootstrap.missing_packages(["espeak-ng", "libportaudio2"]) == []
    assert bootstrap.missing_packages(["coach-no-such-package"]) == ["coach-no-such-package"]


def test_not_root_prints_the_exact_command(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bootstrap.os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as exit_info:
        bootstrap.install_system(["coach-no-such-package"])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends " \
           "coach-no-such-package" in out


def test_nothing_to_install_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("apt-get was run with nothing missing")
    monkeypatch.setattr(bootstrap.subprocess, "run", refuse)
    monkeypatch.setattr(bootstrap, "missing_packages", lambda packages: [])
    bootstrap.install_system(["espeak-ng"])


def test_unknown_job_prints_usage_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "coach.bootstrap", "dance"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "python3 -m coach.bootstrap start" in result.stdout


def test_bootstrap_imports_only_the_standard_library() -> None:
    code = ("import sys; import coach.bootstrap; "
            "bad = [m for m in ('pyttsx3', 'vosk', 'sounddevice') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
