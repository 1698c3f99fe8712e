"""The listening path shared by every engine: WAV reading, end of speech, the streaming
driver, ``coach recognize`` and the listening benchmark (with a scripted fake engine)."""

from __future__ import annotations

import json
import struct
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import run_coach
from hearing import spoken

from coach.bench_listen import bench_listen, not_speech, over_talk, talk_stream
from coach.corpus import Clip
from coach.events import Command, Heard
from coach.listen import (
    HOP_S,
    MIN_VOICED_S,
    RATE,
    Endpointer,
    Recognition,
    has_voice,
    read_audio,
    recognize_samples,
    voice_periods,
)
from coach.recognize import recognize_files
from coach.wav import AudioFileError


def tone(seconds: float, rate: int = RATE, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 300 * t) * amp * 32767).astype(np.int16)


def write_pcm(path: Path, samples: np.ndarray, rate: int, channels: int = 1,
              width: int = 2) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        data = np.repeat(samples, channels)
        if width == 2:
            f.writeframes(data.astype("<i2").tobytes())
        elif width == 4:
            f.writeframes((data.astype(np.int32) << 16).astype("<i4").tobytes())
        elif width == 1:
            f.writeframes(((data.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes())
    return path


def write_float(path: Path, samples: np.ndarray, rate: int) -> Path:
    data = (samples / 32768).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(("rate", "channels", "width"), [
    (16000, 1, 2), (44100, 2, 2), (22050, 1, 1), (48000, 1, 4), (8000, 2, 2)])
def test_any_rate_and_channel_count_becomes_16k_mono(tmp_path: Path, rate: int, channels: int,
                                                     width: int) -> None:
    path = write_pcm(tmp_path / "x.wav", tone(0.5, rate), rate, channels, width)
    samples = read_audio(path)
    assert samples.dtype == np.int16
    assert abs(len(samples) - RATE // 2) <= 2
    assert 0.2 * 32767 < np.abs(samples.astype(int)).max() <= 32767


@pytest.mark.parametrize(("rate", "channels", "width"), [
    (44100, 2, 2), (22050, 1, 1), (48000, 1, 4), (8000, 2, 2)])
def test_a_long_file_is_read_and_resampled_a_block_at_a_time_to_the_same_samples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate: int, channels: int,
        width: int) -> None:
    # a 20-minute recording took 1 GB when it was decoded and resampled whole
    import coach.wav
    from coach.audio import resample

    rng = np.random.default_rng(rate)
    said = (rng.normal(0, 0.2, rate // 3) * tone(1 / 3, rate)).astype(np.int16)
    path = write_pcm(tmp_path / "x.wav", said, rate, channels, width)
    whole = read_audio(path)
    monkeypatch.setattr(coach.wav, "BLOCK_FRAMES", 1000)
    assert np.array_equal(read_audio(path), whole)
    samples = coach.wav.read_wav(path)[0]
    assert np.array_equal(resample(samples, rate, RATE, block=333), whole)
    assert np.array_equal(resample(whole, RATE, rate, block=333), resample(whole, RATE, rate))


def test_a_file_of_a_few_samples_is_heard_as_nothing(tmp_path: Path) -> None:
    # fewer samples than are averaged to downsample them: a crash once
    path = write_pcm(tmp_path / "x.wav", np.array([1000, -1000], np.int16), 48000, 1, 2)
    samples = read_audio(path)
    assert samples.dtype == np.int16 and len(samples) == 1
    assert recognize_samples(ScriptedRecognizer([]), samples).recognition is None


def test_float_wav_is_read(tmp_path: Path) -> None:
    samples = read_audio(write_float(tmp_path / "f.wav", tone(0.25), RATE))
    assert abs(len(samples) - RATE // 4) <= 2 and np.abs(samples.astype(int)).max() > 8000


@pytest.mark.parametrize(("content", "says"), [
    (b"ID3\x03mp3 data here", "not a WAV file"),
    (b"", "not a WAV file"),
    (b"RIFF\x00\x00\x00\x00WAVEjunk", "without audio"),
    (b"RIFF\x00\x00\x00\x00WAVE" + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2,
                                                            16)
     + b"data" + struct.pack("<I", 1000) + b"\x00" * 10, "cut short"),
])
def test_not_audio_is_a_clear_error(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=says):
        read_audio(path)


@pytest.mark.parametrize("declared", [0x7FFFF000, 0xFFFFFFFF])
def test_a_wav_written_to_a_pipe_is_read_to_its_end(tmp_path: Path, declared: int) -> None:
    # sox and arecord writing to a pipe cannot go back to write the audio's length
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, 2 * RATE, 2, 16)
    data = tone(0.5).astype("<i2").tobytes()
    path = tmp_path / "piped.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", declared) + b"WAVE" + b"fmt "
                     + struct.pack("<I", len(fmt)) + fmt + b"data"
                     + struct.pack("<I", declared) + data)
    assert np.array_equal(read_audio(path), tone(0.5))


def test_endpointer_finds_speech_in_noise() -> None:
    rng = np.random.default_rng(0)
    noise = (rng.normal(0, 150, RATE * 3)).astype(np.int16)
    stream = noise.copy()
    stream[RATE: RATE + RATE // 2] += tone(0.5)
    ep = Endpointer()
    edges = []
    for n in range(0, len(stream), 800):
        edge = ep.feed(stream[n:n + 800])
        if edge:
            edges.append((edge, round(ep.t, 2)))
    assert [e for e, _ in edges] == ["start", "end"]
    start, end = edges[0][1], edges[1][1]
    assert 1.0 < start <= 1.25 and 1.5 < end <= 1.85


def vowel(seconds: float, pitch: float, to_pitch: float | None = None) -> np.ndarray:
    """A voice's buzz at ``pitch`` (glottal pulses), gliding to ``to_pitch`` if given,
    through two resonances, as a vowel."""
    pulses = np.zeros(int(seconds * RATE))
    cycles = np.cumsum(np.linspace(pitch, to_pitch or pitch, pulses.size) / RATE)
    pulses[np.flatnonzero(np.diff(np.floor(cycles), prepend=-1.0))] = 1.0
    t = np.arange(int(0.02 * RATE)) / RATE
    tract = sum(np.exp(-t * 300) * np.sin(2 * np.pi * f * t) for f in (700.0, 1200.0))
    sound = np.convolve(pulses, tract)[:len(pulses)]
    return (sound / np.abs(sound).max() * 8000).astype(np.int16)


def voiced_s(samples: np.ndarray) -> float:
    return len(voice_periods(samples)) * HOP_S


@pytest.mark.parametrize("pitch", [80.0, 120.0, 220.0, 350.0])
def test_a_vowel_is_voiced_at_any_pitch_of_a_speaking_voice(pitch: float) -> None:
    assert voiced_s(vowel(0.3, pitch)) == pytest.approx(0.3, abs=0.06)
    periods = voice_periods(vowel(0.3, pitch))
    assert np.median(RATE / periods) == pytest.approx(pitch, rel=0.05), "its pitch"


def test_coughs_breaths_knocks_noise_and_beeps_are_not_voiced() -> None:
    from coach.corpus_sounds import not_speech

    unvoiced = {"cough", "breath", "knock", "door", "clap", "hiss", "rustle", "click", "beep",
                "whistle", "chirp", "phone"}
    for kind, samples in not_speech():
        if kind in unvoiced:
            assert voiced_s(samples) < MIN_VOICED_S, kind
    assert voiced_s(np.zeros(100, np.int16)) == 0.0, "too short to look at"


def test_a_held_note_is_no_voice_but_a_spoken_vowel_is() -> None:
    # tiny.en wrote "Stop." for a piano chord; a voice's pitch moves, even on one word
    from coach.corpus_sounds import not_speech

    for kind, samples in not_speech():
        if kind in {"chord", "buzz"}:
            assert not has_voice(samples), kind
    assert has_voice(vowel(0.3, 130, 110)), "a spoken vowel's pitch falls"
    assert has_voice(vowel(0.3, 200, 240)), "or rises"
    assert not has_voice(vowel(0.3, 130)), "a steady one is a note"
    assert has_voice(vowel(0.15, 130)), "too short to tell"
    for text in ("stop", "pause", "no", "yes", "start hallway"):
        assert has_voice(spoken(text)), text


class ScriptedRecognizer:
    """A fake engine: decides a scripted result at the end of each loud stretch."""

    engine = "fake"

    def __init__(self, answers: list[Recognition | None]) -> None:
        self.answers = list(answers)
        self.history: list[int] = []
        self.ep = Endpointer()

    def reset(self) -> None:
        self.ep.reset()

    def accept(self, chunk: np.ndarray) -> list[Recognition]:
        self.history.append(len(chunk))
        if self.ep.feed(chunk) == "end" and self.answers:
            answer = self.answers.pop(0)
            if answer is not None:
                return [Recognition(answer.heard, answer.text, answer.confidence,
                                    round(self.ep.t, 3))]
        return []

    def finish(self) -> list[Recognition]:
        return []


def stop(confidence: float = 0.9) -> Recognition:
    return Recognition(Heard(Command.STOP, None, confidence, "stop"), "stop", confidence, 0)


def test_streaming_feeds_live_sized_chunks_with_trailing_silence() -> None:
    fake = ScriptedRecognizer([stop()])
    result = recognize_samples(fake, tone(0.6))
    assert set(fake.history[:-1]) == {800}, "50 ms chunks, as live"
    assert sum(fake.history) == int(0.6 * RATE) + RATE, "then a second of silence"
    assert result.recognition is not None and result.recognition.command == "stop"
    assert 0.6 < result.recognition.decided_at_s < 1.0


def heard(command: Command, confidence: float) -> Recognition:
    return Recognition(Heard(command, None, confidence, command.value), command.value,
                       confidence, 0)


def test_a_files_command_is_the_first_acted_on_else_the_first_asked_about() -> None:
    # "hey coach" as a guess at "keep going", only asked about, then a sure stop: a stop
    two = np.concatenate([tone(0.4), np.zeros(RATE // 2, np.int16), tone(0.4)])
    result = recognize_samples(ScriptedRecognizer([heard(Command.RESUME, 0.55), stop()]), two)
    assert result.recognition is not None and result.recognition.command == "stop"
    assert len(result.utterances) == 2
    # a command acted on stays the file's command, whatever follows it
    result = recognize_samples(ScriptedRecognizer([heard(Command.RESUME, 0.9), stop()]), two)
    assert result.recognition is not None and result.recognition.command == "resume"
    # nothing acted on: the first asked about; the threshold is the dialogue's
    result = recognize_samples(ScriptedRecognizer([heard(Command.SLOWER, 0.55),
                                                   heard(Command.FASTER, 0.58)]), two)
    assert result.recognition is not None and result.recognition.command == "slower"
    result = recognize_samples(ScriptedRecognizer([heard(Command.SLOWER, 0.55),
                                                   heard(Command.FASTER, 0.58)]), two, act=0.57)
    assert result.recognition is not None and result.recognition.command == "faster"


def test_recognize_prints_a_line_per_file_and_exit_2_for_bad_ones(tmp_path: Path) -> None:
    good = write_pcm(tmp_path / "a.wav", tone(0.6), RATE)
    bad = tmp_path / "b.wav"
    bad.write_text("not audio")
    import io
    out = io.StringIO()
    status = recognize_files(ScriptedRecognizer([stop(), stop()]),
                             [str(good), str(bad), str(good)], out=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 2
    assert [r["file"] for r in rows] == [str(good), str(bad), str(good)]
    assert rows[0]["command"] == "stop" and rows[0]["decided_at_s"] > 0.6
    assert set(rows[0]) == {"file", "command", "text", "confidence", "decided_at_s",
                            "process_s"}
    assert "not a WAV file" in rows[1]["error"]
    assert rows[2]["command"] == "stop", "the rest are still processed"


def test_recognize_cli_with_a_missing_file_and_bad_engine(tmp_path: Path) -> None:
    result = run_coach("recognize", "--engine", "klingon", str(tmp_path / "x.wav"))
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_recognize_cli_names_where_an_unknown_pack_came_from(tmp_path: Path) -> None:
    wav = tmp_path / "x.wav"
    result = run_coach("recognize", "--pack", "xx", str(wav))
    assert result.returncode == 2
    assert result.stderr == ("coach: --pack: no voice pack 'xx'; expected one of: en, ko, "
                             "or a pack folder\n")
    config = tmp_path / "config.toml"
    config.write_text('[voice]\npack = "xx"\n')
    result = run_coach("--config", str(config), "recognize", str(wav))
    assert result.returncode == 2
    assert result.stderr.startswith(f"coach: {config}: voice.pack: no voice pack 'xx';")


def clip(tmp_path: Path, name: str, expected: str | None, snr: float | None = None) -> Clip:
    path = write_pcm(tmp_path / f"{name}.wav", np.concatenate(
        [np.zeros(RATE // 2, np.int16), tone(0.5), np.zeros(RATE // 2, np.int16)]), RATE)
    return Clip(name, path, name, expected, "command" if expected else "everyday", "v", 165,
                "clean" if snr is None else "white", snr, 0.5, 1.0)


def test_bench_counts_right_wrong_false_accepts_and_stop_confusions(tmp_path: Path) -> None:
    clips = [clip(tmp_path, "stop1", "stop"), clip(tmp_path, "help1", "help", 10),
             clip(tmp_path, "chat", None), clip(tmp_path, "chat2", None)]
    heard_help = Recognition(Heard(Command.HELP, None, 0.95, "help"), "help", 0.95, 0)
    fake = ScriptedRecognizer([stop(), heard_help, stop(0.4), None])
    result = bench_listen(fake, clips, load_s=0.5)
    assert result["accuracy_pct"] == {"10 dB": 100.0, "clean": 100.0}
    assert result["false_accepts_pct"] == 50.0, "a stop on chatter acts whatever its confidence"
    assert result["stop_confusions"] == 1
    assert result["wrong_commands"] == 0
    assert result["latency_after_speech_ms"]["p95"] is not None
    assert 200 <= result["latency_after_speech_ms"]["median"] <= 400


def test_bench_lists_every_stop_confusion_with_its_noise(tmp_path: Path) -> None:
    # the worst error: each one is shown, not the first ten
    clips = [clip(tmp_path, f"stop{i}", "stop", 5) for i in range(12)]
    clips.append(clip(tmp_path, "chat", None))
    result = bench_listen(ScriptedRecognizer([None] * 12 + [stop()]), clips, load_s=0.5)
    listed = result["examples"]["stop"]
    assert result["stop_confusions"] == len(listed) == 13
    assert listed[0] == {"clip": "stop0", "said": "stop0", "heard": None, "level": "white 5 dB"}
    assert listed[-1] == {"clip": "chat", "said": "chat", "heard": "stop", "level": "clean"}


def test_bench_cli_refuses_a_bad_limit_or_missing_engine_before_building_anything(
        tmp_path: Path) -> None:
    env = {"COACH_DATA_DIR": str(tmp_path / "data"), "COACH_CACHE_DIR": str(tmp_path / "cache")}
    result = run_coach("bench", "listen", "--limit", "0", env=env)
    assert result.returncode == 2
    assert result.stderr == "coach: --limit 0: must be at least 1 (texts of each kind)\n"
    result = run_coach("bench", "listen", "--engine", "vosk", "--limit", "1", env=env)
    assert result.returncode == 2
    assert "No Vosk speech model for language 'en' is installed" in result.stderr
    assert "coach models install --from" in result.stderr
    assert not (tmp_path / "cache").exists(), "no corpus is built for an engine that cannot run"


def test_bench_gives_the_latency_of_commands_that_are_not_answers_too(tmp_path: Path) -> None:
    # answers wait on purpose for the rest of the sentence: their latency is shown apart too
    clips = [clip(tmp_path, "stop1", "stop"), clip(tmp_path, "stop2", "stop"),
             replace(clip(tmp_path, "yes1", "yes"), speech_end_s=0.4)]
    heard_yes = Recognition(Heard(Command.YES, None, 0.95, "yes"), "yes", 0.95, 0)
    result = bench_listen(ScriptedRecognizer([stop(), stop(), heard_yes]), clips, load_s=0.5)
    latency = result["latency_after_speech_ms"]
    assert latency["p95_not_answers"] is not None
    assert latency["p95"] > latency["p95_not_answers"] + 500


def test_bench_counts_phrasings_apart(tmp_path: Path) -> None:
    said = [replace(clip(tmp_path, "okay-stop", "stop"), kind="phrasing"),
            replace(clip(tmp_path, "help-please", "help", 10), kind="phrasing"),
            replace(clip(tmp_path, "stop-it", "stop", 10), kind="phrasing"),
            clip(tmp_path, "stop1", "stop")]
    heard_help = Recognition(Heard(Command.HELP, None, 0.95, "help"), "help", 0.95, 0)
    result = bench_listen(ScriptedRecognizer([stop(), None, heard_help, stop()]), said,
                          load_s=0.5)
    assert result["accuracy_pct"] == {"clean": 100.0}, "the dev corpus's cells: commands only"
    assert result["stop_confusions"] == 0 and result["wrong_commands"] == 0
    phrasings = result["phrasings"]
    assert phrasings["clips"] == 3
    assert phrasings["accuracy_pct"] == {"clean": 100.0, "noisy": 0.0}
    assert [w["said"] for w in phrasings["wrong_or_stop_confused"]] == ["stop-it"]
    assert bench_listen(ScriptedRecognizer([stop()]), said[3:], load_s=0.5)["phrasings"] is None


def test_the_talk_stream_counts_what_talk_set_off_and_how_soon_stop_is_heard(
        tmp_path: Path) -> None:
    clips = [clip(tmp_path, "chat", None), clip(tmp_path, "chat2", None),
             clip(tmp_path, "stop1", "stop")]
    quiet = talk_stream(ScriptedRecognizer([None, stop()]), clips)
    assert quiet is not None and quiet["sentences"] == 2 and quiet["acted_on"] == []
    assert 0 < quiet["stop_heard_after_ms"] < 1000
    assert quiet["seconds"] == 0.5 + 0.2 + 0.5 + 1.0
    fooled = talk_stream(ScriptedRecognizer([stop(), None]), clips)
    assert fooled is not None
    assert fooled["acted_on"] == ["stop"] and fooled["stop_heard_after_ms"] is None
    assert talk_stream(ScriptedRecognizer([]), clips[:2]) is None, "no stop to end it with"


def test_commands_over_talk_count_what_was_heard_after_the_talk_began(tmp_path: Path) -> None:
    clips = [clip(tmp_path, "chat", None), clip(tmp_path, "stop1", "stop")]
    deaf = over_talk(ScriptedRecognizer([]), clips)
    assert deaf == {"commands": 1, "accuracy_pct": {"20 dB": 0.0, "30 dB": 0.0},
                    "acted_wrongly": 0}
    heard = over_talk(ScriptedRecognizer([stop()] * 200), clips)
    assert heard is not None and heard["accuracy_pct"] == {"20 dB": 100.0, "30 dB": 100.0}
    helped = Recognition(Heard(Command.HELP, None, 0.95, "help"), "help", 0.95, 0)
    misheard = over_talk(ScriptedRecognizer([helped] * 200), clips)
    assert misheard is not None and misheard["accuracy_pct"]["20 dB"] == 0.0
    assert misheard["acted_wrongly"] >= 2, "help acted on, at each level"
    assert over_talk(ScriptedRecognizer([]), clips[1:]) is None, "no talk to say it over"


def test_sounds_that_are_not_speech_count_what_they_set_off() -> None:
    # the first sound (a cough) ends in a stop; a question about the next one is not an act
    asked = Recognition(Heard(Command.HELP, None, 0.55, "help"), "help", 0.55, 0)
    result = not_speech(ScriptedRecognizer([stop(0.3), asked]))
    assert result == {"sounds": 144, "acted_on": 1, "by_kind": {"cough": ["stop"]}}
