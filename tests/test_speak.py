"""Speech rendering with the real pyttsx3/espeak-ng: trimming, the cache, damaged files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from coach import speak
from coach.speak import (
    TTS_RATE,
    Renderer,
    SpeechCache,
    TtsUnavailable,
    VoiceSettings,
    trim_silence,
)
from coach.wav import read_wav

SETTINGS = VoiceSettings("en-us", 165, 1.0)


def test_renders_a_count_with_no_silence_around_it() -> None:
    samples = Renderer(SETTINGS).render("Seven.")
    assert samples.dtype == np.int16 and 0.2 < len(samples) / TTS_RATE < 1.0
    edge = int(0.01 * TTS_RATE)
    assert np.abs(samples[:edge].astype(int)).max() > 300 or np.abs(
        samples[edge:2 * edge].astype(int)).max() > 300, "sound starts at once"
    assert np.abs(samples[-2 * edge:].astype(int)).max() > 100, "no trailing silence"


def test_trim_silence_keeps_a_few_milliseconds() -> None:
    loud = (np.sin(np.arange(2205) / 5) * 10000).astype(np.int16)
    padded = np.concatenate([np.zeros(5000, np.int16), loud, np.zeros(7000, np.int16)])
    trimmed = trim_silence(padded)
    keep = int(0.005 * TTS_RATE)
    assert abs(len(trimmed) - (len(loud) + 2 * keep)) <= 2
    assert len(trim_silence(np.zeros(100, np.int16))) == 0


def test_rate_and_voice_change_the_sound_and_the_key() -> None:
    fast = VoiceSettings("en-us", 300, 1.0)
    assert SETTINGS.cache_key("One.") != fast.cache_key("One.")
    assert SETTINGS.cache_key("One.") != VoiceSettings("en-gb", 165, 1.0).cache_key("One.")
    slow_len = len(Renderer(SETTINGS).render("Look over your left shoulder."))
    fast_len = len(Renderer(fast).render("Look over your left shoulder."))
    assert fast_len < slow_len * 0.8


def test_warm_cache_renders_nothing(tmp_path: Path) -> None:
    cache = SpeechCache(Renderer(SETTINGS), tmp_path)
    first = cache.get("Eyes forward.")
    assert cache.rendered == 1
    again = SpeechCache(Renderer(SETTINGS), tmp_path)
    assert np.array_equal(again.get("Eyes forward."), first)
    assert again.rendered == 0


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_cache_file_is_rendered_again(tmp_path: Path, damage: str) -> None:
    cache = SpeechCache(Renderer(SETTINGS), tmp_path)
    good = cache.get("Keep a hand near the wall.")
    path = cache.path("Keep a hand near the wall.")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"RIFF\x00junk" * 50,
                      "empty": b""}[damage])
    fresh = SpeechCache(Renderer(SETTINGS), tmp_path)
    again = fresh.get("Keep a hand near the wall.")
    # espeak-ng varies a line by a few milliseconds from one rendering to the next
    assert abs(len(again) - len(good)) < 0.03 * len(good)
    assert fresh.rendered == 1
    samples, rate = read_wav(path)
    assert rate == TTS_RATE and np.array_equal(samples, again)


def test_cache_files_are_plain_wavs(tmp_path: Path) -> None:
    cache = SpeechCache(Renderer(SETTINGS), tmp_path)
    cache.get("Off we go.")
    with wave.open(str(cache.path("Off we go.")), "rb") as f:
        assert (f.getnchannels(), f.getsampwidth(), f.getframerate()) == (1, 2, TTS_RATE)


def test_no_espeak_library_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speak.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(TtsUnavailable, match="apt-get install -y espeak-ng"):
        speak.probe_tts()


def test_pyttsx3_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    Renderer(SETTINGS).render("Nice work.")
    assert capfd.readouterr().out == ""


def test_short_lines_are_never_empty_and_settings_apply_at_once() -> None:
    slow, fast = Renderer(SETTINGS), Renderer(VoiceSettings("en-us", 330, 1.0))
    for _ in range(3):
        one_slow, one_fast = len(slow.render("One.")), len(fast.render("One."))
        assert one_slow > 0.2 * TTS_RATE and one_fast > 0.1 * TTS_RATE
        assert one_fast < one_slow
