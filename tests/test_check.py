"""``coach check`` and ``--list-devices``: what the coach finds on this machine."""

from __future__ import annotations

from pathlib import Path

from conftest import run_coach

from coach.config import Config
from coach.speak import TtsVoice, pick_voice, probe_tts
from coach.voicepack import VoicePack


def test_check_reports_every_part() -> None:
    result = run_coach("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = [line.split("  ")[0] for line in lines]
    assert names == ["config", "voice pack", "speech", "audio output", "audio input",
                     "recognition"]
    assert lines[0].split()[1] == "ok" and "config.toml" in lines[0]
    assert "English (en)" in lines[1] and "phrases" in lines[1]
    for line in lines:
        assert line.split()[-1] != "", line
        assert any(status in line for status in (" ok ", " warn ")), line


def test_check_with_a_bad_pack_fails(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[voice]\npack = "xx"\n')
    result = run_coach("--config", str(config), "check")
    assert result.returncode == 2
    assert "FAIL" in result.stdout and "voice.pack" in result.stdout and "en" in result.stdout


def test_check_with_a_broken_pack_names_the_key(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    text = (Path(__file__).parent.parent / "voices/en/pack.toml").read_text()
    (folder / "pack.toml").write_text(text.replace('go = ["Here we go.",', 'go = ["Keep going.",'))
    config = tmp_path / "config.toml"
    config.write_text(f'[voice]\npack = "{folder}"\n')
    result = run_coach("--config", str(config), "check")
    assert result.returncode == 2
    assert "cues.go" in result.stdout and "keep going" in result.stdout


def test_real_tts_lists_voices_and_finds_the_pack_voice(pack: VoicePack) -> None:
    info = probe_tts()
    assert info.engine == "espeak"
    assert len(info.voices) > 10
    voice = pick_voice(info.voices, pack.voice)
    assert voice is not None and "en-us" in voice.id


def test_pick_voice_by_id_name_or_language() -> None:
    voices = (TtsVoice("gmw/en-us", "English (America)", ("en-us",)),
              TtsVoice("ko", "Korean", ("ko",)))
    assert pick_voice(voices, "Korean") == voices[1]
    assert pick_voice(voices, "EN-US") == voices[0]
    assert pick_voice(voices, "gmw/en-us") == voices[0]
    assert pick_voice(voices, "klingon") is None


def test_list_devices_prints_a_table() -> None:
    result = run_coach("--list-devices")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("  #") or "no sound devices found" in result.stdout


def test_missing_output_device_names_the_devices_and_coach_text(config: Config) -> None:
    from coach.audio import AudioUnavailable, find_device
    try:
        find_device("no such speaker 123", "output")
    except AudioUnavailable as err:
        assert "no such speaker 123" in str(err) and "coach text" in str(err)
    else:
        raise AssertionError("a device that does not exist was found")
