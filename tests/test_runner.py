"""The session loop: beats, speech and timers on the virtual clock, with a recording voice."""

from __future__ import annotations

import gc
from itertools import pairwise
from typing import Any

import pytest

from coach.config import Config
from coach.dialogue import Engine
from coach.events import Command, Heard, Line, WalkBegan, WalkEnded, WalkProgress
from coach.runner import QUIT, Session, VirtualClock, out_of_the_collectors_way, speech_seconds
from coach.voicepack import VoicePack


class RecordingVoice:
    """A fake voice: each line lasts a fixed time; keeps (start, text) and cuts."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds
        self.history: list[tuple[float, str]] = []
        self.cuts: list[float] = []

    def speak(self, line: Line, at: float) -> float:
        self.history.append((at, line.text))
        return 2.5 if line.cue == "turn" else self.seconds

    def cut(self, at: float) -> None:
        self.cuts.append(at)


class RecordingRecorder:
    """A fake history: keeps what it was told."""

    def __init__(self) -> None:
        self.history: list[tuple[float, Any]] = []

    def record(self, action: WalkBegan | WalkProgress | WalkEnded, at: float) -> None:
        self.history.append((at, action))


def session(config: Config, pack: VoicePack, voice: RecordingVoice,
            recorder: RecordingRecorder | None = None) -> Session:
    return Session(Engine(config, pack), voice, VirtualClock(), recorder=recorder)


def test_beats_keep_time_and_wait_for_long_lines(config: Config, pack: VoicePack) -> None:
    voice = RecordingVoice()
    recorder = RecordingRecorder()
    s = session(config, pack, voice, recorder)
    s.at(0, Heard(Command.START, "hallway"))
    s.run()
    counts = [(t, text) for t, text in voice.history if text[:-1].lower() in pack.numbers]
    times = [t for t, _ in counts]
    gaps = [round(b - a, 3) for a, b in pairwise(times)]
    # the 2.5 s turn after Four delays Five: never two voices at once
    assert gaps == [1.0, 1.0, 1.0, 2.8, 1.0, 1.0, 1.0, 2.8, 1.0]
    ended = next(a for _, a in recorder.history if isinstance(a, WalkEnded))
    assert ended.seconds == pytest.approx(10 + 2 * 1.8), "held-up beats count as walked"
    starts_ends = [(t, t + (2.5 if "shoulder" in text or "forward" in text.lower() else 0.3))
                   for t, text in voice.history]
    for (_, end), (start, _) in pairwise(starts_ends):
        assert start >= end - 1e-9, "a line starts only after the one before it ends"


def test_stop_cuts_the_line_and_drops_the_queue(config: Config, pack: VoicePack) -> None:
    voice = RecordingVoice(seconds=3.0)
    s = session(config, pack, voice)
    s.at(0, Heard(Command.START, "hallway"))
    s.at(4, Heard(Command.STOP))
    s.run()
    assert voice.cuts == [4]
    assert voice.history[-1][0] == 4
    assert voice.history[-1][1].startswith("That's the end of the walk.")
    assert [text for t, text in voice.history if t >= 4] == [voice.history[-1][1]]


def test_walks_are_recorded_as_they_go(config: Config, pack: VoicePack) -> None:
    recorder = RecordingRecorder()
    s = session(config, pack, RecordingVoice(), recorder)
    s.at(0, Heard(Command.START, "couch"))
    s.run()
    kinds = [type(a).__name__ for _, a in recorder.history]
    assert kinds == ["WalkBegan"] + ["WalkProgress"] * 4 + ["WalkEnded"]
    ended = recorder.history[-1][1]
    assert ended.steps == 4 and ended.outcome.value == "finished"


def test_question_timer_fires_on_the_clock(config: Config, pack: VoicePack) -> None:
    voice = RecordingVoice()
    s = session(config, pack, voice)
    s.at(0, Heard(Command.START, "car"))
    s.run()
    question_at = next(t for t, text in voice.history if "safe area" in text)
    answer_at = next(t for t, text in voice.history if "answer" in text)
    assert answer_at - question_at == pytest.approx(0.3 + 10.0), "ten seconds after it ends"


def test_quit_lets_the_current_line_finish(config: Config, pack: VoicePack) -> None:
    voice = RecordingVoice()
    s = session(config, pack, voice)
    s.post(QUIT)
    s.clock = _PostingClock(s)
    s.run(forever=True)
    assert voice.history and voice.history[0][1].startswith("Ready")


class _PostingClock(VirtualClock):
    """A virtual clock that hands the session what was posted to its inbox."""

    def __init__(self, s: Session) -> None:
        super().__init__()
        self.s = s

    def wait(self, until: float | None, inbox: Any) -> Any:
        if not inbox.empty():
            return inbox.get()
        return super().wait(until, inbox)


def test_speech_estimate_grows_with_words_and_rate() -> None:
    assert speech_seconds("One.", 165) < speech_seconds("Look over your left shoulder.", 165)
    assert speech_seconds("Look over your left shoulder.", 330) < speech_seconds(
        "Look over your left shoulder.", 165)


def test_a_live_session_runs_out_of_the_collectors_way() -> None:
    made_before = [[n] for n in range(1000)]
    with out_of_the_collectors_way():
        # what exists is out of the collector's sight: a full collection does not walk it
        assert gc.get_freeze_count() >= len(made_before)
    assert gc.get_freeze_count() == 0, "and back in it afterwards"
