"""The virtual audio fixture itself: a real private PulseAudio server, sounddevice in subprocesses.

PortAudio scans devices when ``sounddevice`` is imported, so every sounddevice check runs in a
fresh interpreter with the server's env; this module never imports sounddevice itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from virtual_audio import (
    VirtualAudio,
    VirtualAudioUnavailable,
    align,
    available,
    last_sound,
    onsets,
    require_or_skip,
)

RATE = 16000
HERE = Path(__file__).resolve().parent


def tone_burst(seconds: float, freq: float = 440.0, amp: float = 0.5,
               fade_s: float = 0.005) -> npt.NDArray[np.float64]:
    """A sine burst with linear fades, as floats in [-1, 1] at RATE."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / fade_s)
    return np.asarray(amp * envelope * np.sin(2 * np.pi * freq * t), dtype=np.float64)


def to_int16(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int16]:
    """Floats in [-1, 1] as int16."""
    return np.round(x * 32767).astype(np.int16)


def run_python(audio: VirtualAudio, code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter that sees the virtual devices; return its stdout."""
    done = subprocess.run([sys.executable, "-c", code, *args], env=audio.child_env(),
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualAudio]:
    """A server for this module (skipped, or failed on CI, where it cannot run)."""
    require_or_skip(available())
    try:
        server = VirtualAudio.start(tmp_path_factory.mktemp("va"))
    except VirtualAudioUnavailable as e:
        require_or_skip(str(e))
        raise
    with server:
        yield server


# ------------------------------------------------------------------ sounddevice in a subprocess

DEVICES = """
import json
import sounddevice as sd
inp, out = sd.query_devices(kind="input"), sd.query_devices(kind="output")
print(json.dumps({"default": list(sd.default.device), "in": inp["name"], "out": out["name"],
                  "in_ch": inp["max_input_channels"], "out_ch": out["max_output_channels"],
                  "hostapi": sd.query_hostapis(out["hostapi"])["name"],
                  "names": [d["name"] for d in sd.query_devices()]}))
"""


def test_sounddevice_sees_default_devices_through_the_pulse_plugin(audio: VirtualAudio) -> None:
    seen = json.loads(run_python(audio, DEVICES))
    assert min(seen["default"]) >= 0, seen
    assert seen["hostapi"] == "ALSA"
    assert "pulse" in seen["names"]
    # ALSA maps "default" to pulse only when it reaches a server at PortAudio's scan
    assert seen["in"] == seen["out"] == "default"
    assert seen["in_ch"] > 0 and seen["out_ch"] > 0


PLAY = """
import json, sys, threading, time
import numpy as np
import sounddevice as sd
signal = np.load(sys.argv[1]).astype(np.float32)
pos, first, done = 0, [], threading.Event()
def callback(out, frames, t, status):
    global pos
    if not first:
        first.append(time.monotonic())
    chunk = signal[pos:pos + frames]
    out[:len(chunk), 0] = chunk
    out[len(chunk):, 0] = 0
    pos += frames
    if pos >= len(signal):
        done.set()
with sd.OutputStream(samplerate=16000, channels=1, dtype="float32", callback=callback) as s:
    assert done.wait(10), "playback did not finish"
    time.sleep(s.latency + 0.05)
print(json.dumps({"first_callback": first[0], "latency": s.latency}))
"""


def test_output_stream_is_recorded_from_the_speaker(audio: VirtualAudio,
                                                    tmp_path: Path) -> None:
    lead, burst = 0.3, tone_burst(0.3)
    np.save(tmp_path / "play.npy", np.concatenate([np.zeros(int(lead * RATE)), burst,
                                                   np.zeros(int(0.2 * RATE))]))
    with audio.record_speaker() as recorder:
        played = json.loads(run_python(audio, PLAY, str(tmp_path / "play.npy")))
        time.sleep(0.1)
    heard = recorder.recording

    starts = onsets(heard.samples, heard.rate)
    assert len(starts) == 1, starts
    end = last_sound(heard.samples, heard.rate)
    assert end is not None and end - starts[0] == pytest.approx(0.3, abs=0.01)
    segment = heard.samples[int(starts[0] * RATE):int(end * RATE)].astype(np.float64)
    peak_hz = np.argmax(np.abs(np.fft.rfft(segment))) * RATE / len(segment)
    assert peak_hz == pytest.approx(440, abs=5)
    # the sound reached the speaker when the player's clock said it would
    delay = heard.to_monotonic(starts[0]) - (played["first_callback"] + lead)
    print(f"speaker round trip: {delay * 1000:+.1f} ms after the player's first callback + "
          f"offset (PortAudio latency {played['latency'] * 1000:.0f} ms)")
    assert -0.02 < delay < 0.1


RECORD = """
import json, sys, time
import numpy as np
import sounddevice as sd
seconds, out = float(sys.argv[1]), sys.argv[2]
blocks, count, anchor = [], [0], [float("inf")]
def callback(indata, frames, t, status):
    now = time.monotonic()
    blocks.append(indata[:, 0].copy())
    count[0] += frames
    anchor[0] = min(anchor[0], now - count[0] / 16000)
with sd.InputStream(samplerate=16000, channels=1, dtype="int16", callback=callback):
    deadline = time.monotonic() + 5
    while count[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    print("ready", flush=True)
    while count[0] < seconds * 16000 and time.monotonic() < deadline + seconds:
        time.sleep(0.01)
np.save(out, np.concatenate(blocks)[:int(seconds * 16000)])
print(json.dumps({"anchor": anchor[0]}))
"""


def test_play_into_mic_is_heard_by_an_input_stream(audio: VirtualAudio, tmp_path: Path) -> None:
    source = to_int16(tone_burst(0.4))
    proc = subprocess.Popen([sys.executable, "-c", RECORD, "1.2", str(tmp_path / "mic.npy")],
                            env=audio.child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    launched = time.monotonic()
    audio.play_into_mic(source, rate=RATE)
    out, err = proc.communicate(timeout=20)
    assert ready == "ready\n" and proc.returncode == 0, err
    heard = np.load(tmp_path / "mic.npy")

    offset, r = align(heard, source, RATE)
    latency = json.loads(out)["anchor"] + offset - launched
    print(f"mic: r={r:.4f}, heard {latency * 1000:.0f} ms after paplay was launched")
    assert r > 0.98
    # the anchor maps the stream's clock onto ours to within a few ms: a sound that arrives
    # at once can seem to come a millisecond before paplay was launched
    assert -0.01 < latency < 0.5
    assert onsets(heard, RATE) == [pytest.approx(offset, abs=0.005)]


def test_play_into_mic_accepts_a_wav_file_and_rejects_float_samples(
        audio: VirtualAudio, tmp_path: Path) -> None:
    from virtual_audio import write_wav

    audio.play_into_mic(write_wav(tmp_path / "a.wav", to_int16(tone_burst(0.05)), RATE))
    with pytest.raises(FileNotFoundError):
        audio.play_into_mic(tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="int16"):
        audio.play_into_mic(tone_burst(0.05))  # type: ignore[arg-type]


def test_speaker_is_silent_when_nothing_plays(audio: VirtualAudio) -> None:
    with audio.record_speaker() as recorder:
        time.sleep(0.2)
    heard = recorder.recording
    assert heard.duration == pytest.approx(0.2, abs=0.1)
    assert last_sound(heard.samples, heard.rate) is None
    assert heard.spawned_at < heard.started_at < heard.spawned_at + 1.0


# ------------------------------------------------------------------------- analysis (no server)

CLICKS = [0.25, 0.8, 1.3, 2.05]


def click_train(times: list[float], seconds: float = 2.5) -> npt.NDArray[np.int16]:
    """5 ms decaying 1 kHz clicks (starting at their peak) on a faint noise floor."""
    x = np.random.default_rng(1).normal(0, 0.001, int(seconds * RATE))
    t = np.arange(int(0.005 * RATE)) / RATE
    click = 0.6 * np.cos(2 * np.pi * 1000 * t) * np.exp(-t / 0.002)
    for at in times:
        i = round(at * RATE)
        x[i:i + len(click)] += click
    return to_int16(x)


def test_onsets_of_a_click_train_are_exact_to_the_sample() -> None:
    assert onsets(click_train(CLICKS), RATE) == pytest.approx(CLICKS, abs=1 / RATE)


def test_onsets_accept_floats_and_stereo() -> None:
    clicks = click_train(CLICKS)
    stereo = np.stack([np.zeros_like(clicks), clicks], axis=1)
    assert onsets(stereo, RATE) == pytest.approx(CLICKS, abs=1 / RATE)
    assert onsets(clicks / 32768.0, RATE) == pytest.approx(CLICKS, abs=1 / RATE)


def test_onsets_merge_sounds_closer_than_the_gap() -> None:
    assert onsets(click_train([0.5, 0.53, 1.0]), RATE, min_gap_s=0.1) == pytest.approx(
        [0.5, 1.0], abs=1 / RATE)
    assert len(onsets(click_train([0.5, 0.53, 1.0]), RATE, min_gap_s=0.01)) == 3


def test_silence_has_no_onsets_and_no_last_sound() -> None:
    quiet = click_train([])
    assert onsets(quiet, RATE) == []
    assert last_sound(quiet, RATE) is None


def test_last_sound_is_the_end_of_the_last_click() -> None:
    end = last_sound(click_train(CLICKS), RATE)
    assert end is not None and CLICKS[-1] < end < CLICKS[-1] + 0.005


def test_align_finds_a_chirp_in_noise() -> None:
    t = np.arange(RATE // 2) / RATE
    chirp = 0.5 * np.sin(2 * np.pi * (200 + 3000 * t) * t)
    noisy = np.random.default_rng(2).normal(0, 0.05, RATE * 2)
    noisy[12345:12345 + len(chirp)] += chirp
    offset, r = align(noisy, chirp, RATE)
    assert offset == 12345 / RATE
    assert r > 0.95


# ----------------------------------------------------------------------- lifecycle and skipping

def pulseaudio_pids(state_dir: Path) -> list[int]:
    """Processes whose command line names ``state_dir`` (the daemon's -F script)."""
    done = subprocess.run(["pgrep", "-f", str(state_dir)], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def test_stop_is_idempotent_and_leaves_no_process(tmp_path: Path) -> None:
    require_or_skip(available())
    with VirtualAudio.start(tmp_path) as server:
        pid = server.pid
        assert pulseaudio_pids(tmp_path) == [pid]
        server.pactl("info")
        server.stop()
        server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert pulseaudio_pids(tmp_path) == []
    assert not (tmp_path / "run").exists()


def test_cli_start_detaches_and_stop_ends_it(tmp_path: Path) -> None:
    require_or_skip(available())

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(HERE / "virtual_audio.py"), *args,
                               "--dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=20)

    started = cli("start")
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("export PULSE_SERVER=unix:")
        assert "PULSE_COOKIE=" in started.stdout
        assert cli("env").stdout == started.stdout
        status = cli("status")  # a new process: the daemon outlived the one that started it
        assert status.returncode == 0 and "Default Sink: vspeaker" in status.stdout
        assert cli("start").stdout == started.stdout  # idempotent
        assert len(pulseaudio_pids(tmp_path)) == 1
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert cli("status").returncode == 1
    assert pulseaudio_pids(tmp_path) == []


def test_start_refuses_a_state_dir_too_deep_for_a_socket(tmp_path: Path) -> None:
    require_or_skip(available())
    with pytest.raises(VirtualAudioUnavailable, match="too deep"):
        VirtualAudio.start(tmp_path / ("d" * 120))


def test_available_names_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = available()
    assert reason is not None
    assert "pulseaudio" in reason and "apt-get install" in reason


def test_require_or_skip_skips_locally_and_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require_or_skip(None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no pulseaudio"):
        require_or_skip("no pulseaudio")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no pulseaudio"):
        require_or_skip("no pulseaudio")
