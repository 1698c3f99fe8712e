"""Hearing commands: the recogniser interface every engine implements, the two end-of-speech
detectors (:class:`Endpointer`, plain loudness, for Vosk; :class:`VoiceActivity`, speech-band
loudness over a moving floor, for Whisper — one should serve both), and the streaming path that
files and the microphone both go through."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .audio import resample
from .config import DialogueConfig
from .events import Heard
from .transitions import ACT_AT_ONCE
from .wav import read_wav

_LOGGER = logging.getLogger(__name__)

RATE = 16000
"""Recognisers take 16 kHz mono int16."""
CHUNK_S = 0.05
"""Audio arrives in chunks this long, live or from a file."""
TRAILING_SILENCE_S = 1.0
"""Silence added after a file, as a live stream would have it."""


@dataclass(frozen=True)
class Recognition:
    """What a recogniser decided about one utterance."""

    heard: Heard | None
    """The command (with its confidence), or None when the utterance is not a command."""
    text: str
    """What was heard, as words."""
    confidence: float
    """How sure the engine is of ``heard`` (of the best guess when it is not acted on)."""
    decided_at_s: float
    """Stream time (seconds of audio fed) at which the decision was made."""

    @property
    def command(self) -> str | None:
        """The canonical command, e.g. ``start hallway``, or None."""
        return self.heard.canonical if self.heard is not None else None


class Recognizer(Protocol):
    """A speech recogniser fed 16 kHz mono int16 audio in small chunks as it arrives."""

    engine: str
    """Engine name, e.g. ``vosk``."""

    def accept(self, chunk: np.ndarray) -> list[Recognition]:
        """Feed the next chunk; return the utterances decided by the end of it."""

    def finish(self) -> list[Recognition]:
        """The stream has ended: decide whatever is still pending."""

    def reset(self) -> None:
        """Forget everything heard so far (a new stream begins)."""


class Endpointer:
    """Finds where speech starts and ends in a stream, from its loudness.

    The noise floor is tracked so speech is told from a steady background (a fan, traffic);
    an utterance ends after ``silence_s`` of quiet.
    """

    def __init__(self, *, silence_s: float = 0.25, min_speech_s: float = 0.12,
                 ratio: float = 3.0, floor: float = 120.0) -> None:
        self.silence_s = silence_s
        self.min_speech_s = min_speech_s
        self.ratio = ratio
        self.min_floor = floor
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self.noise = self.min_floor
        self.in_speech = False
        self.speech_s = 0.0
        self.quiet_s = 0.0
        self.t = 0.0

    def feed(self, chunk: np.ndarray) -> str | None:
        """Take a chunk; return ``start`` or ``end`` when speech starts or ends in it."""
        seconds = len(chunk) / RATE
        self.t += seconds
        level = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if len(chunk) else 0.0
        loud = level > max(self.min_floor, self.noise) * self.ratio
        if not loud:
            # follow the background slowly up and quickly down
            rate = 0.05 if level > self.noise else 0.3
            self.noise = max(self.min_floor, self.noise + (level - self.noise) * rate)
        if loud:
            self.quiet_s = 0.0
            self.speech_s += seconds
            if not self.in_speech and self.speech_s >= self.min_speech_s:
                self.in_speech = True
                return "start"
        else:
            self.quiet_s += seconds
            if self.in_speech and self.quiet_s >= self.silence_s:
                self.in_speech = False
                self.speech_s = 0.0
                return "end"
            if not self.in_speech and self.quiet_s >= self.silence_s:
                self.speech_s = 0.0
        return None


def read_audio(path: Path) -> np.ndarray:
    """A WAV file (PCM 8/16/24/32-bit or float, any rate, any channels) as 16 kHz mono int16."""
    samples, rate = read_wav(path)
    return resample(samples, rate, RATE)


def chunks(samples: np.ndarray, chunk_s: float = CHUNK_S, *, then_silence_s: float = 0.0
           ) -> Iterator[np.ndarray]:
    """The samples in live-sized chunks, then ``then_silence_s`` of silence (the last chunk
    of samples made up to size with it)."""
    step = int(chunk_s * RATE)
    total = len(samples) + int(then_silence_s * RATE)
    for start in range(0, total, step):
        chunk = samples[start:start + step]
        size = min(step, total - start)
        if len(chunk) < size:
            chunk = np.concatenate([chunk, np.zeros(size - len(chunk), samples.dtype)])
        yield chunk


@dataclass(frozen=True)
class FileResult:
    """What ``coach recognize`` says about one file."""

    recognition: Recognition | None
    """The first command the dialogue would act on, or failing that the first it would ask
    about (or the last utterance when none was a command): "hey coach" heard as a guess at
    "keep going", only asked about, and then a sure "Stop." is a stop."""
    process_s: float
    """Compute time spent recognising it."""
    utterances: tuple[Recognition, ...]
    """Every utterance decided."""


ACT = DialogueConfig().confirm_below
"""Confidence from which the dialogue acts without asking (``dialogue.confirm_below``'s
default)."""


def acts(r: Recognition | None, act: float = ACT) -> bool:
    """Would the dialogue act on it: stop and pause at once whatever the confidence,
    everything else from ``act`` up."""
    return r is not None and r.heard is not None and (
        r.heard.command in ACT_AT_ONCE or r.confidence >= act)


def recognize_samples(recognizer: Recognizer, samples: np.ndarray, *,
                      trailing_silence_s: float = TRAILING_SILENCE_S, act: float = ACT
                      ) -> FileResult:
    """Stream samples (then silence, as live) through a recogniser in live-sized chunks."""
    recognizer.reset()
    decided: list[Recognition] = []
    started = time.perf_counter()
    for chunk in chunks(samples, then_silence_s=trailing_silence_s):
        decided += recognizer.accept(chunk)
    decided += recognizer.finish()
    spent = time.perf_counter() - started
    commands = [r for r in decided if acts(r, act)] + [r for r in decided if r.heard is not None]
    chosen = commands[0] if commands else (decided[-1] if decided else None)
    return FileResult(chosen, spent, tuple(decided))


class VoiceActivity:
    """Speech by loudness in the speech band against the background of the last few seconds.

    Band-limiting keeps most of white noise and rumble out. The background is a low
    percentile of the last few seconds' levels, so it follows a noise that starts or stops
    within seconds, and other voices (a television, a room of people), which dip now and
    then to near silence, count at their usual level and not at their dips. Speech starts
    well above the background; it ends where it falls back to near the background it rose
    from or to near the quietest moment, or, over a loud background, well below its own
    peak (not in quiet: a sentence's weak sounds would end it) unless it is still well above
    the background: a sentence's "s" and "t" (loud only above the band) fall far below its
    vowels. Without that, over noise at 20 dB SNR the dev corpus's everyday sentences were cut
    in two where clean they were not 108 times in 178 ("He walks | to work every day", and
    "He walks" heard as "Keep going"), commands 40 in 134; with it 56 and 12, and the end of
    speech is found as soon (p95 0.5 s after it in noise).

    Talk that has been going on since before the detector could learn it (a television on
    when the coach starts) is taken for speech that never pauses. A voice much louder than
    anything in the utterance so far (``louder`` times its peak, after ``over_s``) starts a
    new one, with the talk as its background: someone near the microphone speaking up over
    the television is heard on their own, and is over when they fall back to it. Only where
    the utterance so far is talk heard over talk (its peak within ``talk_db`` of the
    background it rose from), or has gone on for ``long_s``, longer than a command with
    words around it: in a quiet room a person's own sentence rises ten decibels from its soft
    first words to a stressed one ("the computer will SPEED UP after the update"), and that
    cut "speed up" off to be heard alone, as a command (a neural voice's clean everyday
    sentences, 1 in 152).
    """

    def __init__(self, *, on: float = 2.5, off: float = 2.0, min_speech_s: float = 0.1,
                 window_s: float = 3.0, band: tuple[float, float] = (250.0, 3500.0),
                 min_level: float = 30.0, drop_db: float = 12.0, noisy: float = 60.0,
                 percentile: float = 30.0, louder: float = 3.0, over_s: float = 0.5,
                 talk_db: float = 20.0, long_s: float = 2.0) -> None:
        self.on, self.off, self.min_speech_s = on, off, min_speech_s
        self.louder, self.over_s, self.long_s = louder, over_s, long_s
        self.talk = 10 ** (talk_db / 20)
        self.drop = 10 ** (-drop_db / 20)
        self.noisy = noisy
        self.window = window_s
        self.band = band
        self.min_level = min_level
        self.percentile = percentile
        self._bins: tuple[int, np.ndarray, np.ndarray] | None = None
        """For a chunk length: the FFT bins in the band, and the window."""
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self.levels: list[float] = []
        self.speaking = False
        self.loud_s = 0.0
        """Loud audio so far in the current (or starting) utterance, seconds."""
        self.length_s = 0.0
        """Seconds from the start of the utterance to its last loud chunk, its pauses
        included: in noise a word's weak sounds are not loud, and the loud seconds fall short
        of how long it was said."""
        self.quiet_s = 0.0
        """Quiet since speech last was loud, seconds."""
        self.peak = 0.0
        """Loudest level of the utterance."""
        self.background = self.min_level
        """The background level the utterance rose from."""
        self.restarted = False
        """The last chunk began a new utterance over the one going on: a voice much louder
        than anything in it (someone near the microphone speaking over the television)."""

    def level(self, chunk: np.ndarray) -> float:
        """RMS of the chunk within the speech band."""
        n = len(chunk)
        if self._bins is None or self._bins[0] != n:
            freqs = np.fft.rfftfreq(n, 1 / RATE)
            self._bins = (n, (freqs >= self.band[0]) & (freqs <= self.band[1]), np.hanning(n))
        spectrum = np.abs(np.fft.rfft(chunk.astype(np.float64) * self._bins[2])) ** 2
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
        self.restarted = False
        if self.speaking and self.length_s >= self.over_s and level > self.peak * self.louder and (
                self.peak <= self.background * self.talk or self.length_s >= self.long_s):
            # what went on so far, however long, is the background of this voice
            self.restarted, self.background, self.peak = True, self.peak, level
            self.loud_s = self.length_s = seconds
            self.quiet_s = 0.0
            return True
        if self.speaking:
            self.peak = max(self.peak, level)
            quietest = max(self.min_level, min(self.levels))
            drop = (min(self.peak * self.drop, self.background / self.drop)
                    if self.background > self.noisy else 0.0)
            if level > max(quietest * self.off, self.background * self.off, drop):
                self.length_s += self.quiet_s + seconds
                self.quiet_s = 0.0
                self.loud_s += seconds
            else:
                self.quiet_s += seconds
            return True
        background = max(self.min_level, float(np.percentile(self.levels, self.percentile)))
        if level > background * self.on:
            if self.loud_s == 0.0:
                self.background = background
            self.loud_s += seconds
            self.length_s = self.loud_s
            self.quiet_s = 0.0
            self.speaking = self.loud_s >= self.min_speech_s
        else:
            self.loud_s = self.length_s = 0.0
        return self.speaking

    def end(self) -> None:
        """The utterance is over: look for the next."""
        self.speaking = False
        self.loud_s = self.length_s = self.quiet_s = self.peak = 0.0
        self.background = self.min_level


VOICE_HZ = (60.0, 400.0)
"""The pitch of a speaking voice, lowest to highest."""
VOICED_NCCF = 0.5
"""How alike a stretch of sound must be to itself one pitch period later to be voiced."""
FRAME_S, HOP_S = 0.025, 0.01
"""Frames looked at for a pitch, and how far apart they start."""

MIN_VOICED_S = 0.04
"""Voiced sound (:func:`voice_periods`) a command needs: Whisper does not transcribe an utterance
with less, and a phrase Vosk finds in less is no command. Primed with the phrases, tiny.en
writes "Stop." for a cough, a breath, a door, a beep or a burst of noise (24 of the
benchmark's 136 sounds that are not speech were acted on as a stop), and their no-speech
probability overlaps that of commands in noise. None of those has more than 0.03 s voiced,
and the dev corpus's commands have 0.07 s or more (espeak's short "stop" the least: its
pitch falls fast; a person's vowel is voiced for longer). Whispered speech is not voiced,
so it is not heard either."""
HELD_NOTE_S, HELD_NOTE_SPREAD = 0.2, 1.01
"""A held note is voiced this long with its pitch period this steady (the 90th percentile
over the 10th). The dev corpus's commands, and those of the voices kept for testing
(Kokoro, Piper, flite), vary by 2.6 % or more (flite's flat "stop" the least; espeak-ng's
voices 9.5 % or more); the benchmark's chords 0.5 % or less."""


def keep_last(chunks: list[np.ndarray], seconds: float) -> None:
    """Drop the oldest chunks, keeping the fewest that still hold ``seconds`` of audio."""
    while sum(len(c) for c in chunks[1:]) >= seconds * RATE:
        chunks.pop(0)


def has_voice(samples: np.ndarray) -> bool:
    """Whether int16 samples hold the voiced sound a command needs (``MIN_VOICED_S``), and
    not only a held note (:func:`held_note`)."""
    periods = voice_periods(samples)
    return len(periods) * HOP_S >= MIN_VOICED_S and not held_note(periods)


def held_note(periods: np.ndarray) -> bool:
    """Whether the pitch periods of voiced frames are those of a held note: a chord, a hum or
    a buzz, steady (``HELD_NOTE_SPREAD``) for ``HELD_NOTE_S`` or longer. Tiny.en writes
    "Stop." for a piano chord (4 of the benchmark's 8 were acted on); a voice is never so
    steady: a spoken word's pitch rises or falls."""
    if len(periods) * HOP_S < HELD_NOTE_S:
        return False
    low, high = np.percentile(periods, [10, 90])
    return bool(high <= low * HELD_NOTE_SPREAD)


def voice_periods(samples: np.ndarray) -> np.ndarray:
    """The pitch period, in samples, of each voiced frame of int16 samples, in order (the
    frames are ``HOP_S`` apart): 25 ms frames that repeat themselves (normalised
    cross-correlation) with the period of a speaking voice's pitch. Every command has a
    vowel, and vowels are voiced; a cough, a breath, a knock, a door or a burst of noise are
    not, and neither is a beep or a whistle: the shortest lag (from 1 ms) that repeats nearly
    as well as the best one is taken for the period, and theirs is too short for a voice (not
    an octave or two below the tone)."""
    return np.concatenate([np.zeros(0, np.int64)] + [
        period[voiced] for voiced, period in _pitch_by_half_second(samples)])


def _pitch_by_half_second(samples: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`_pitch` of int16 samples' frames, half a second of frames at a time."""
    x = samples.astype(np.float64)
    width, hop = round(FRAME_S * RATE), round(HOP_S * RATE)
    longest = round(RATE / VOICE_HZ[0])
    count = (len(x) - width - longest) // hop + 1
    for start in range(0, max(count, 0), 50):
        starts = np.arange(start, min(start + 50, count)) * hop
        yield _pitch(x[starts[:, None] + np.arange(width + longest)[None, :]], width)


def _pitch(frames: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of frames of ``width`` samples (each with the samples of the longest pitch
    period after it) are voiced, and each one's period in samples."""
    shortest, longest = round(RATE / VOICE_HZ[1]), round(RATE / VOICE_HZ[0])
    head = frames[:, :width]
    size = 1 << int(np.ceil(np.log2(frames.shape[1] + width)))
    cross = np.fft.irfft(np.fft.rfft(frames, size) * np.conj(np.fft.rfft(head, size)),
                         size)[:, :longest + 1]
    energy = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lags = np.arange(longest + 1)
    later = energy[:, lags + width] - energy[:, lags]
    nccf = cross / np.sqrt(np.maximum(energy[:, width, None] * later, 1e-9))
    first = RATE // 1000
    best = nccf[:, first:].max(axis=1)
    period = (nccf[:, first:] >= 0.9 * best[:, None]).argmax(axis=1) + first
    voiced = (best >= VOICED_NCCF) & (period >= shortest) & (period <= longest)
    return voiced, period
