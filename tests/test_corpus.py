"""Tests for coach.corpus: the sentences, the plan, and tiny corpora really rendered by espeak."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT

from coach.corpus import (
    KINDS,
    MANIFEST,
    RATE,
    Clip,
    CorpusError,
    build_corpus,
    default_corpus_dir,
    default_voices,
    load_corpus,
)
from coach.corpus_texts import command_phrases, own_lines, read_everyday, read_phrasings
from coach.events import Heard
from coach.speak import TtsUnavailable, pick_voice, probe_tts
from coach.voicepack import VoicePack, normalize
from coach.wav import read_wav

EVERYDAY = ROOT / "voices" / "en" / "everyday.txt"
KO = ROOT / "voices" / "ko"
TINY: dict[str, Any] = {"voices": ["en-us", "en-gb"], "rates": (165,), "snrs": (10,),
                        "noises": ("white", "babble"), "limit_per_kind": 2}
"""Two voices, one rate, one SNR, two texts of each kind: 24 clips, a few seconds to build."""


def require_tts() -> None:
    """Skip when espeak cannot speak here (fail on CI, where it must)."""
    try:
        probe_tts()
    except TtsUnavailable as err:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"speech synthesis unavailable on CI: {err}", pytrace=False)
        pytest.skip(f"speech synthesis unavailable, so nothing can be rendered: {err}")


@pytest.fixture(scope="module")
def twins(pack: VoicePack, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[list[Clip], list[Clip]]:
    """The same tiny corpus built twice, each in its own folder with its own speech cache."""
    require_tts()
    return (build_corpus(pack, tmp_path_factory.mktemp("first"), **TINY),
            build_corpus(pack, tmp_path_factory.mktemp("second"), **TINY))


@pytest.fixture
def clips(twins: tuple[list[Clip], list[Clip]]) -> list[Clip]:
    """The first tiny corpus."""
    return twins[0]


def folder_of(clips: list[Clip]) -> Path:
    """The corpus folder the clips live in."""
    return clips[0].path.parent.parent


def snapshot(folder: Path) -> dict[Path, int]:
    """Every file under a folder with its modification time."""
    return {p: p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def twin(clips: list[Clip], noisy: Clip) -> Clip:
    """The clean clip with the same words, voice and rate as a noisy one."""
    return next(c for c in clips if c.noise == "clean" and
                (c.text, c.voice, c.rate) == (noisy.text, noisy.voice, noisy.rate))


def samples(clip: Clip) -> np.ndarray:
    """A clip's samples as floats, checking it is 16 kHz."""
    audio, rate = read_wav(clip.path)
    assert rate == RATE
    return audio.astype(np.float64)


def rms(x: np.ndarray) -> float:
    """Root mean square."""
    return float(np.sqrt(np.mean(x ** 2)))


# --- what is said -------------------------------------------------------------------------


def test_everyday_has_no_command_phrase_and_many_near_misses(pack: VoicePack) -> None:
    phrases = pack.phrases()
    lines = [line.strip() for line in EVERYDAY.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert 140 <= len(lines) <= 170
    assert not [line for line in lines if normalize(line) in phrases]
    near = [line for line in lines
            if any(f" {p} " in f" {normalize(line)} " for p in phrases)]
    assert len(near) >= 40, "near-misses must hold command phrases inside ordinary talk"
    assert read_everyday(EVERYDAY, pack) == lines


def test_everyday_refuses_a_line_that_is_a_command(pack: VoicePack, tmp_path: Path) -> None:
    path = tmp_path / "everyday.txt"
    path.write_text("# talk\nI'll stop by the store.\nStop!\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"line 3: 'Stop!' is exactly the command phrase 'stop'"):
        read_everyday(path, pack)


def test_missing_everyday_file_says_what_to_do(pack: VoicePack, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"no such file.*everyday=PATH"):
        build_corpus(pack, tmp_path / "corpus", everyday=tmp_path / "nope.txt")


def test_phrasings_name_a_command_and_say_more_than_its_phrase(pack: VoicePack) -> None:
    said = read_phrasings(ROOT / "voices" / "en" / "phrasings.txt", pack)
    assert len(said) >= 60 and ("hey coach, stop", "stop") in said
    assert {command for _, command in said} >= {"stop", "pause", "resume", "slower", "faster",
                                                "start hallway", "how many", "repeat", "yes"}


@pytest.mark.parametrize(("line", "problem"), [
    ("okay stop", "is not 'what is said | the command it is'"),
    ("okay, stop | halt", r"names no command of the pack \('halt'; there are: .*stop"),
    ("Stop! | stop", "is exactly the command phrase 'stop'"),
    ("okay stop | stop\nOkay, stop. | stop", "line 3: .* repeats line 2"),
])
def test_phrasings_refuse_a_line_that_is_not_one(pack: VoicePack, tmp_path: Path, line: str,
                                                 problem: str) -> None:
    path = tmp_path / "phrasings.txt"
    path.write_text(f"# said\n{line}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=problem):
        read_phrasings(path, pack)
    assert read_phrasings(tmp_path / "none.txt", pack) == []  # a pack need not have them


def test_korean_everyday_has_no_command_phrase_and_many_command_words() -> None:
    ko = VoicePack.load(KO)
    phrases = ko.phrases()
    lines = read_everyday(KO / "everyday.txt", ko)
    assert 100 <= len(lines) <= 130
    assert not [line for line in lines if normalize(line) in phrases]
    words = {word for phrase in phrases for word in phrase.split()}
    near = [line for line in lines if words & set(normalize(line).split())]
    assert len(near) >= 40, "near-misses must hold command words inside ordinary talk"


def test_command_phrases_carry_their_canonical_command(pack: VoicePack) -> None:
    table = dict(command_phrases(pack))
    assert len(table) == len(pack.phrases())
    assert (table["begin sofa"], table["stop there"], table["how far"], table["hold on"]) == (
        "start couch", "stop", "how many", "pause")


def test_own_lines_fill_every_placeholder_and_count_aloud(pack: VoicePack) -> None:
    lines = own_lines(pack)
    assert not [line for line in lines if "{" in line or "}" in line]
    assert {"One.", "Ten.", "Twenty."} <= set(lines)
    assert any("Say start hallway to begin" in line for line in lines)  # mentions are spoken
    assert own_lines(pack, seed=3) != lines and own_lines(pack) == lines


def test_default_voices_speak_the_pack_language(pack: VoicePack) -> None:
    require_tts()
    voices = default_voices(pack)
    assert 3 <= len(voices) <= 4 and voices[0] == "gmw/en-us"
    assert all(v.rsplit("/", 1)[-1].startswith("en") for v in voices)


def test_unknown_voice_lists_the_voices_there_are(pack: VoicePack, tmp_path: Path) -> None:
    require_tts()
    with pytest.raises(CorpusError, match=r"no TTS voice matches 'no-such-voice'.*gmw/en-us"):
        build_corpus(pack, tmp_path, voices=["en-us", "no-such-voice"])


def test_default_corpus_dir_is_in_the_cache(pack: VoicePack, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_CACHE_DIR", str(tmp_path))
    assert default_corpus_dir(pack) == tmp_path / "corpus" / "en"


# --- a tiny corpus ------------------------------------------------------------------------


def test_same_arguments_give_the_same_bytes(twins: tuple[list[Clip], list[Clip]]) -> None:
    first, second = twins
    assert [c.id for c in first] == [c.id for c in second]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first, second,
                                                                           strict=True))
    assert (folder_of(first) / MANIFEST).read_bytes() == (folder_of(second) / MANIFEST
                                                          ).read_bytes()


def test_tiny_corpus_has_every_kind_and_noise(clips: list[Clip]) -> None:
    assert len(clips) == 32 and len({c.id for c in clips}) == 32
    assert {c.kind for c in clips} == set(KINDS)
    assert {(c.noise, c.snr_db) for c in clips} == {("clean", None), ("white", 10.0),
                                                    ("babble", 10.0)}
    assert {c.voice for c in clips} == {"gmw/en-us", "gmw/en"}


def test_korean_clips_are_named_by_their_words_and_made_once(tmp_path: Path) -> None:
    require_tts()
    if pick_voice(probe_tts().voices, "ko") is None:
        pytest.skip("espeak-ng has no Korean voice here")
    clips = build_corpus(VoicePack.load(KO), tmp_path, voices=["ko"], rates=(165,),
                         snrs=(10,), limit_per_kind=1)
    # one voice at one rate: an own line's or a sentence's two clean clips are one clip
    assert len(clips) == len({c.id for c in clips}) == 9
    assert {c.kind for c in clips} == set(KINDS) - {"phrasing"}  # the pack has none
    assert all("\uac00" <= c.id[0] <= "\ud7a3" for c in clips), "named by its Hangul words"
    command = next(c for c in clips if c.kind == "command" and c.noise == "clean")
    assert command.id.startswith(normalize(command.text).replace(" ", "-") + "-ko-165-clean-")


def test_labels_name_the_command_or_nothing(pack: VoicePack, clips: list[Clip]) -> None:
    phrases = pack.phrases()
    for clip in clips:
        if clip.kind == "command":
            assert clip.expected == Heard(*phrases[normalize(clip.text)]).canonical
        elif clip.kind == "phrasing":
            assert clip.expected is not None and normalize(clip.text) not in phrases
        else:
            assert clip.expected is None and normalize(clip.text) not in phrases


def test_speech_times_bracket_the_loud_part(clips: list[Clip]) -> None:
    for clip in (c for c in clips if c.noise == "clean"):
        x = samples(clip)
        start, end = round(clip.speech_start_s * RATE), round(clip.speech_end_s * RATE)
        loud = np.flatnonzero(np.abs(x) > 100)
        assert clip.speech_start_s == pytest.approx(0.4)
        assert x.size / RATE - clip.speech_end_s == pytest.approx(1.0, abs=1e-3)
        assert not x[:start].any() and not x[end:].any()
        assert start <= loud[0] < start + 0.05 * RATE and end - 0.05 * RATE < loud[-1] < end


def test_mixed_clips_measure_back_at_their_snr(clips: list[Clip]) -> None:
    noisy = [c for c in clips if c.snr_db is not None]
    assert {c.noise for c in noisy} == {"white", "babble"}
    for clip in noisy:
        clean = twin(clips, clip)
        speech, mixed = samples(clean), samples(clip)
        span = slice(round(clip.speech_start_s * RATE), round(clip.speech_end_s * RATE))
        noise = mixed - speech
        measured = 20 * np.log10(rms(speech[span]) / rms(noise[span]))
        assert measured == pytest.approx(clip.snr_db, abs=1.0), clip.id
        assert rms(noise[: span.start]) > 0  # the noise runs before the speech too


def test_rebuild_with_everything_there_renders_nothing(pack: VoicePack,
                                                       clips: list[Clip]) -> None:
    folder = folder_of(clips)
    before, calls = snapshot(folder), list[tuple[int, int]]()
    again = build_corpus(pack, folder, **TINY, progress=lambda *a: calls.append(a))
    assert again == clips and snapshot(folder) == before and calls == []


def test_rebuild_remakes_only_a_missing_clip(pack: VoicePack, clips: list[Clip]) -> None:
    folder, lost = folder_of(clips), clips[5]
    data = lost.path.read_bytes()
    lost.path.unlink()
    before = snapshot(folder)
    again = build_corpus(pack, folder, **TINY)
    after = snapshot(folder)
    assert again == clips and lost.path.read_bytes() == data
    assert {p for p in after if after[p] != before.get(p)} == {lost.path}  # no speech rendered


def test_new_parameters_only_mix_and_drop_stale_clips(pack: VoicePack, clips: list[Clip],
                                                       tmp_path: Path) -> None:
    cache = folder_of(clips) / "tts"
    speech = snapshot(cache)
    more = build_corpus(pack, tmp_path, **{**TINY, "snrs": (10, 5)}, tts_cache=cache.parent)
    assert {c.snr_db for c in more} == {None, 10.0, 5.0}
    assert len(more) == 36  # commands: 2 clean + 4 noisy each; other texts: 2 + 2
    back = build_corpus(pack, tmp_path, **TINY, tts_cache=cache.parent)
    assert [c.id for c in back] == [c.id for c in clips]
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(back, clips,
                                                                           strict=True))
    assert sorted(p.name for p in tmp_path.glob("*/*.wav")) == sorted(c.path.name for c in clips)
    assert snapshot(cache) == speech  # the same voices and rates: nothing rendered


def test_manifest_round_trips(clips: list[Clip]) -> None:
    assert load_corpus(folder_of(clips)) == clips
    for clip in clips:
        assert Clip.from_dict(json.loads(json.dumps(clip.to_dict()))) == clip


@pytest.fixture
def copy(clips: list[Clip], tmp_path: Path) -> Iterator[Path]:
    """A copy of the first tiny corpus, to damage."""
    target = tmp_path / "copy"
    shutil.copytree(folder_of(clips), target)
    yield target


@pytest.mark.parametrize(("damage", "message"), [
    (lambda text: "", "line 1: expected the header"),
    (lambda text: text.replace('"kind": "command"', '"kind": "shout"', 1), "line 2: kind must"),
    (lambda text: text.replace('"rate": 165', '"rate": "fast"', 1), "line 2: rate: 'fast'"),
    (lambda text: text + "{not json\n", "line 34: Expecting property name"),
    (lambda text: text.replace('"snr_db": null', '"snr_db": null, "x": 1', 1),
     "line 2: expected an object with exactly"),
])
def test_damaged_manifest_is_a_clear_error(copy: Path, damage: Any, message: str) -> None:
    manifest = copy / MANIFEST
    manifest.write_text(damage(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(CorpusError, match="damaged manifest") as info:
        load_corpus(copy)
    assert message in str(info.value)


def test_missing_manifest_or_clip_is_a_clear_error(copy: Path, clips: list[Clip]) -> None:
    (copy / clips[0].path.relative_to(folder_of(clips))).unlink()
    with pytest.raises(CorpusError, match="1 clips are missing"):
        load_corpus(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(CorpusError, match="no manifest here; build the corpus first"):
        load_corpus(copy)


def test_a_damaged_manifest_is_rebuilt_not_trusted(pack: VoicePack, copy: Path,
                                                   clips: list[Clip]) -> None:
    (copy / MANIFEST).write_text("garbage\n", encoding="utf-8")
    rebuilt = build_corpus(pack, copy, **TINY)
    assert [c.id for c in rebuilt] == [c.id for c in clips]
    assert load_corpus(copy) == rebuilt


def test_sounds_that_are_not_speech_are_each_kind_the_same_every_time() -> None:
    from coach.corpus_sounds import BACKGROUNDS, LEVELS, not_speech

    first, again = list(not_speech(seeds=1)), list(not_speech(seeds=1))
    kinds = [kind for kind, _ in first]
    assert len(first) == len(set(kinds)) * len(LEVELS) * len(BACKGROUNDS) >= 16 * 4
    assert all(a[0] == b[0] and np.array_equal(a[1], b[1]) for a, b in zip(first, again,
                                                                            strict=True))
    for kind, samples in first:
        assert samples.dtype == np.int16 and samples.size >= 2 * 16000, kind
        assert np.abs(samples[16000:-16000]).max() >= 0.8 * min(LEVELS), kind
