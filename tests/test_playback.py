"""The coach speaking through a real output stream on the virtual speaker, recorded back."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import FAST, ROOT, run_coach
from virtual_audio import VirtualAudio, align

from coach.audio import AudioUnavailable, find_device, resample
from coach.config import Config
from coach.dialogue import Engine
from coach.events import Command, Heard
from coach.playback import Player
from coach.runner import QUIT, Session, out_of_the_collectors_way
from coach.speak import Renderer, SpeechCache, VoiceSettings
from coach.voice import SpeakingVoice, StreamClock, fixed_lines
from coach.voicepack import VoicePack


@pytest.fixture
def fast(tmp_path: Path) -> Config:
    path = tmp_path / "fast.toml"
    path.write_text(FAST)
    return Config.load(path)


class Speaking:
    """A real session speaking through the virtual speaker, driven from the test thread."""

    def __init__(self, config: Config, pack: VoicePack) -> None:
        self.player = Player(find_device("", "output"))
        self.clock = StreamClock(self.player)
        settings = VoiceSettings(pack.voice, config.voice.rate, config.voice.volume)
        self.voice = SpeakingVoice(self.player, SpeechCache(Renderer(settings)), self.clock)
        self.voice.prepare(fixed_lines(pack, config))
        self.engine = Engine(config, pack)
        self.session = Session(self.engine, self.voice, self.clock)
        self.thread = threading.Thread(target=self._run, daemon=True)
        # stream time and monotonic time, read together, to place stream times in a recording
        self.offset = self.player.now() - time.monotonic()
        self.thread.start()

    def _run(self) -> None:
        with out_of_the_collectors_way():  # as `coach text` runs it
            self.session.run(forever=True)

    def say(self, command: Command, routine: str | None = None) -> float:
        """Post a command; return when (stream time)."""
        now = self.player.now()
        self.session.post(Heard(command, routine))
        return now

    def wait_for(self, predicate: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.01)

    def counts(self) -> list[Any]:
        return [c for c in self.player.log.clips if c.tag.key == "count"]

    def close(self) -> None:
        self.session.post(QUIT)
        self.thread.join(timeout=30)
        self.player.close()


def in_recording(stream_time: float, speaking: Speaking, recording: Any) -> float:
    return recording.to_offset(stream_time - speaking.offset)


def test_counts_land_on_the_beat(virtual_audio: VirtualAudio, fast: Config,
                                 pack: VoicePack) -> None:
    with virtual_audio.record_speaker() as recorder:
        s = Speaking(fast, pack)
        try:
            s.say(Command.START, "hallway")
            s.wait_for(lambda: s.engine.state.value == "finished")
            s.wait_for(lambda: s.voice.sounding is not None
                       and s.voice.sounding[2] + 0.3 < s.clock.now())
        finally:
            s.close()
    recording = recorder.recording
    counts = s.counts()
    assert [c.tag.n for c in counts] == list(range(1, 11))
    # every count starts on its beat by the stream's own timestamps ...
    assert max(abs(c.started - c.at) for c in counts) < 0.002
    # ... and in what the speaker really played: find each count's own sound in the recording
    # near where it was due, and check that it came on time (one constant offset for all)
    late = []
    for clip in counts:
        due = in_recording(clip.at, s, recording)
        lo = int(max(0.0, due - 0.15) * recording.rate)
        window = recording.samples[lo: lo + int(0.3 * recording.rate) + len(clip.samples)]
        source = resample(clip.samples, s.player.rate, recording.rate)
        offset, r = align(window, source, recording.rate)
        assert r > 0.8, f"count {clip.tag.n} not found in the recording (r={r:.2f})"
        late.append(lo / recording.rate + offset - due)
    jitter = np.abs(np.array(late) - np.median(late))
    assert np.percentile(jitter, 95) <= 0.010, [round(x * 1000, 1) for x in late]
    assert jitter.max() < 0.025, [round(x * 1000, 1) for x in late]
    assert abs(np.median(late)) < 0.05, "the recording and the stream clock agree"
    gaps_due = np.diff([c.at for c in counts])
    assert [round(g, 2) for g in gaps_due[:3]] == [0.5, 0.5, 0.5]


def test_nothing_sounds_after_stop(virtual_audio: VirtualAudio, fast: Config,
                                   pack: VoicePack) -> None:
    with virtual_audio.record_speaker() as recorder:
        s = Speaking(fast, pack)
        try:
            s.say(Command.START, "hallway")
            s.wait_for(lambda: len(s.counts()) >= 4)
            time.sleep(0.3)  # inside "Look over your left shoulder."
            assert s.player.sounding() is not None
            asked = s.say(Command.STOP)
            s.wait_for(lambda: s.player.log.cuts)
            s.wait_for(lambda: s.voice.sounding is not None
                       and s.voice.sounding[0].key == "stopped"
                       and s.voice.sounding[2] + 0.5 < s.clock.now())
        finally:
            s.close()
    recording = recorder.recording
    _, silent_from = s.player.log.cuts[0]
    assert (silent_from - asked) < 0.050, "stop silences within 50 ms (stream timestamps)"
    stopped = next(c for c in s.player.log.clips if c.tag.key == "stopped")
    # in the recording: silence from 50 ms after the stop until the "stopped" line begins
    start = in_recording(asked + 0.050, s, recording)
    end = in_recording(stopped.started, s, recording)
    quiet = recording.samples[int(start * recording.rate): int((end - 0.005) * recording.rate)]
    assert len(quiet) > 0 and np.abs(quiet.astype(int)).max() < 300
    assert len(s.counts()) == 4, "no count after stop"
    after = recording.samples[int(in_recording(stopped.ended, s, recording) * recording.rate
                                  + 0.02 * recording.rate):]
    assert after.size == 0 or np.abs(after.astype(int)).max() < 300


def test_pause_and_resume_continue_the_count(virtual_audio: VirtualAudio, fast: Config,
                                             pack: VoicePack) -> None:
    s = Speaking(fast, pack)
    try:
        s.say(Command.START, "couch")
        s.wait_for(lambda: len(s.counts()) >= 2)
        paused = s.say(Command.PAUSE)
        time.sleep(1.5)
        resumed = s.say(Command.RESUME)
        s.wait_for(lambda: s.engine.state.value == "finished")
    finally:
        s.close()
    counts = s.counts()
    assert [c.tag.n for c in counts] == [1, 2, 3, 4]
    assert not [c for c in counts if paused + 0.05 < c.started < resumed]
    keys = [c.tag.key for c in s.player.log.clips]
    assert keys[keys.index("paused"):keys.index("paused") + 3] == ["paused", "resumed",
                                                                    "reminder"]


def test_a_configured_speaker_that_is_missing_is_named(tmp_path: Path,
                                                       virtual_audio: VirtualAudio) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[audio]\noutput_device = "Kitchen Speaker"\n')
    result = run_coach("--config", str(config), "--no-history", "text", stdin="")
    assert result.returncode == 2
    assert "Kitchen Speaker" in result.stderr and "coach text" in result.stderr
    assert "default" in result.stderr or "pulse" in result.stderr, "the devices there are"
    with pytest.raises(AudioUnavailable, match="Output devices"):
        find_device("Kitchen Speaker", "output")


def test_coach_text_speaks_through_the_speaker(virtual_audio: VirtualAudio,
                                               tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(FAST)
    with virtual_audio.record_speaker() as recorder:
        result = run_coach("--config", str(config), "--no-history", "text",
                           stdin="start couch\n")
    assert result.returncode == 0, result.stderr
    assert "coach: Ready." in result.stdout
    samples = recorder.recording.samples.astype(int)
    voiced = np.count_nonzero(np.abs(samples) > 500) / recorder.recording.rate
    assert voiced > 2.0, f"the greeting and the briefing were heard ({voiced:.1f} s of sound)"


def test_simulate_stays_silent(virtual_audio: VirtualAudio) -> None:
    with virtual_audio.record_speaker() as recorder:
        started = time.monotonic()
        result = run_coach("simulate", "--at", "0:start couch")
        took = time.monotonic() - started
    assert result.returncode == 0 and took < 10
    samples = recorder.recording.samples
    assert samples.size == 0 or np.abs(samples.astype(int)).max() < 100


def test_the_speaker_vanishing_mid_walk_ends_it_cleanly(tmp_path: Path,
                                                       virtual_audio: VirtualAudio) -> None:
    server = VirtualAudio.start(tmp_path / "own-server")
    config = tmp_path / "config.toml"
    config.write_text(FAST)
    history = tmp_path / "history.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "coach", "--config", str(config),
                             "--history", str(history), "text"], cwd=ROOT,
                            env=server.child_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("start hallway\n")
        proc.stdin.flush()
        for line in itertools.islice(proc.stdout, 100):
            if line.startswith("coach: Two."):
                break
        server.stop()  # the sound server, and with it the speaker, goes away
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        server.stop()
    assert proc.returncode == 0, err
    assert "stopped working" in err or "stopped responding" in err
    walks = run_coach("--history", str(history), "history", "--json").stdout
    assert '"outcome": "stopped"' in walks
