"""Speech synthesis. This module is the one place that imports pyttsx3.

pyttsx3 must stay on one thread (two ``runAndWait`` calls at once hang), so everything that
touches it goes through this module.
"""

from __future__ import annotations

import ctypes.util
import functools
import hashlib
import importlib.metadata
import logging
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CoachError
from .paths import cache_dir
from .wav import AudioFileError, read_wav, write_wav

_LOGGER = logging.getLogger(__name__)

ESPEAK_INSTALL = "sudo apt-get install -y espeak-ng libespeak-ng1"


class TtsUnavailable(CoachError):
    """No speech synthesiser could be started."""


@dataclass(frozen=True)
class TtsVoice:
    """One voice the synthesiser offers."""

    id: str
    """Engine voice id, e.g. ``gmw/en-us``."""
    name: str
    """Human name, e.g. ``English (America)``."""
    languages: tuple[str, ...]
    """Language tags."""


@dataclass(frozen=True)
class TtsInfo:
    """What the synthesiser on this machine offers."""

    engine: str
    """pyttsx3 driver in use."""
    voices: tuple[TtsVoice, ...]
    """Every voice."""


def probe_tts() -> TtsInfo:
    """Start pyttsx3 once and list its voices; TtsUnavailable says how to fix a failure."""
    if ctypes.util.find_library("espeak-ng") is None and ctypes.util.find_library(
            "espeak") is None:
        raise TtsUnavailable(f"libespeak-ng is not installed; install it with: {ESPEAK_INSTALL}")
    try:
        import pyttsx3
    except ImportError as err:
        raise TtsUnavailable(f"pyttsx3 is not installed ({err}); pip install pyttsx3") from None
    try:
        engine = pyttsx3.init()
        voices = tuple(TtsVoice(str(v.id), str(v.name), tuple(str(x) for x in v.languages or ()))
                       for v in engine.getProperty("voices"))
        driver = type(engine.proxy._driver).__module__.rsplit(".", 1)[-1]
    except Exception as err:  # pyttsx3 surfaces driver failures as anything at all
        raise TtsUnavailable(f"pyttsx3 could not start: {err}; install espeak-ng with: "
                             f"{ESPEAK_INSTALL}") from None
    return TtsInfo(driver, voices)


def pick_voice(voices: tuple[TtsVoice, ...], wanted: str) -> TtsVoice | None:
    """The voice matching an id, a name or a language tag (case-insensitive), if any."""
    key = wanted.lower()
    for test in (lambda v: v.id.lower() == key, lambda v: v.name.lower() == key,
                 lambda v: key in (x.lower() for x in v.languages),
                 lambda v: v.id.lower().endswith("/" + key)):
        for voice in voices:
            if test(voice):
                return voice
    return None


# --- rendering ------------------------------------------------------------------------------

TTS_RATE = 22050
"""Sample rate of what pyttsx3's espeak driver writes (mono, 16-bit)."""
SILENCE_THRESHOLD = 300
"""Samples quieter than this (of 32767) count as silence when trimming."""


def trim_silence(samples: np.ndarray, threshold: int = SILENCE_THRESHOLD,
                 keep_s: float = 0.005, rate: int = TTS_RATE) -> np.ndarray:
    """Cut leading and trailing silence so a count sounds the moment it is played.

    A few milliseconds are kept at either end so the cut does not click.
    """
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if loud.size == 0:
        return samples[:0]
    keep = int(keep_s * rate)
    return samples[max(0, loud[0] - keep): loud[-1] + 1 + keep]


@dataclass(frozen=True)
class VoiceSettings:
    """How lines are rendered: which voice, how fast, how loud."""

    voice: str
    """TTS voice id, name or language tag."""
    rate: int
    """Words per minute."""
    volume: float
    """0..1."""

    def cache_key(self, text: str) -> str:
        """A file name that changes whenever anything that shapes the sound changes."""
        version = _pyttsx3_version()
        blob = "\x1f".join([text, self.voice, str(self.rate), f"{self.volume:.3f}",
                            f"pyttsx3-{version}", "espeak"]).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


@functools.cache
def _pyttsx3_version() -> str:
    try:
        return importlib.metadata.version("pyttsx3")
    except importlib.metadata.PackageNotFoundError:
        return "none"


_Job = tuple[str, "VoiceSettings", "queue.Queue[np.ndarray | BaseException]"]


class _TtsThread:
    """The one owner of pyttsx3 in this process: a single thread that renders every line.

    pyttsx3 keeps one engine per process and hangs when two threads call ``runAndWait``, so
    every render, whatever its voice, goes through this thread's queue.
    """

    _instance: _TtsThread | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.jobs: queue.Queue[_Job] = queue.Queue()
        self.thread = threading.Thread(target=self._work, daemon=True, name="coach-tts")
        self.thread.start()

    @classmethod
    def get(cls) -> _TtsThread:
        """The running thread, started (or started afresh after a hang) on first use."""
        with cls._guard:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = cls()
            return cls._instance

    @classmethod
    def abandon(cls, stuck: _TtsThread) -> None:
        """Forget a thread that hung, so the next render starts a new one."""
        with cls._guard:
            if cls._instance is stuck:
                cls._instance = None

    def _work(self) -> None:
        synth: _Synth | None = None
        current: VoiceSettings | None = None
        while True:
            text, settings, reply = self.jobs.get()
            try:
                if synth is None:
                    synth = _Synth()
                if settings != current:
                    synth.configure(settings)
                    current = settings
                reply.put(trim_silence(synth.render(text)))
            except TtsUnavailable as err:
                reply.put(err)
            except Exception as err:
                reply.put(TtsUnavailable(f"could not render {text!r}: {err!r}"))


class _Synth:
    """pyttsx3's espeak-ng engine, driven so that it gives back every sample of a line.

    pyttsx3's ``save_to_file`` loses the last buffer of each line (it writes the file before
    adding the samples that came with the end-of-message event, so short lines can come out
    empty), and ``Engine.setProperty`` took effect one line late. So lines are rendered
    through pyttsx3's own espeak binding with a callback that keeps every sample, and the
    properties are set through its driver, which applies them at once.
    """

    def __init__(self) -> None:
        self._voices = probe_tts().voices  # raises TtsUnavailable with the install command
        import pyttsx3
        from pyttsx3.drivers import _espeak

        self._engine = pyttsx3.init()
        self._driver = self._engine.proxy._driver
        self._espeak = _espeak
        self._chunks: list[np.ndarray] = []
        _espeak.SetSynthCallback(self._collect)

    def _collect(self, wav: Any, count: int, events: Any) -> int:
        if count > 0:
            self._chunks.append(np.frombuffer(ctypes.string_at(wav, count * 2),
                                              dtype=np.int16).copy())
        return 0

    def configure(self, settings: VoiceSettings) -> None:
        """Use a voice, rate and volume from the next line on."""
        voice = pick_voice(self._voices, settings.voice) if settings.voice else None
        if voice is not None:
            self._driver.setProperty("voice", voice.id)
        elif settings.voice:
            _LOGGER.warning("no TTS voice matches %r; using the default", settings.voice)
        self._driver.setProperty("rate", settings.rate)
        self._driver.setProperty("volume", settings.volume)

    def render(self, text: str) -> np.ndarray:
        """Every sample of ``text``, mono int16 at TTS_RATE."""
        self._chunks.clear()
        self._espeak.Synth(text.encode("utf-8"), flags=self._espeak.CHARS_UTF8)
        self._espeak.Synchronize()
        if not self._chunks:
            raise TtsUnavailable(f"espeak-ng produced no sound for {text!r}")
        return np.concatenate(self._chunks)


class Renderer:
    """Renders text with one voice setting, through the process's single pyttsx3 thread."""

    def __init__(self, settings: VoiceSettings, *, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def render(self, text: str) -> np.ndarray:
        """Mono int16 samples at TTS_RATE for ``text``, silence trimmed."""
        worker = _TtsThread.get()
        reply: queue.Queue[np.ndarray | BaseException] = queue.Queue()
        worker.jobs.put((text, self.settings, reply))
        try:
            result = reply.get(timeout=self.timeout_s)
        except queue.Empty:
            _LOGGER.warning("pyttsx3 hung rendering %r; starting it afresh", text)
            _TtsThread.abandon(worker)  # the stuck thread is a daemon; a new one takes over
            raise TtsUnavailable(f"speech synthesis hung for {self.timeout_s:.0f} s") from None
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        """Nothing to release: the pyttsx3 thread is shared and ends with the process."""


def default_cache_dir() -> Path:
    """Where rendered speech is kept (see :func:`coach.paths.cache_dir`)."""
    return cache_dir()


class SpeechCache:
    """Rendered lines on disk, keyed by text and voice settings: a warm start renders nothing."""

    def __init__(self, renderer: Renderer, folder: Path | None = None) -> None:
        self.renderer = renderer
        self.folder = (folder or default_cache_dir()) / "tts"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rendered = 0
        """Lines rendered (not found in the cache) by this object."""

    def path(self, text: str) -> Path:
        """Where a line's audio lives."""
        return self.folder / f"{self.renderer.settings.cache_key(text)}.wav"

    def cached(self, text: str) -> np.ndarray | None:
        """The line's audio if it is cached and sound; a corrupt file is dropped."""
        path = self.path(text)
        if not path.exists():
            return None
        try:
            return read_wav(path)[0]
        except (OSError, AudioFileError) as err:
            _LOGGER.warning("re-rendering %r: cached audio is damaged (%s)", text, err)
            path.unlink(missing_ok=True)
            return None

    def get(self, text: str) -> np.ndarray:
        """The line's audio, rendering (and caching) it when needed."""
        samples = self.cached(text)
        if samples is None:
            samples = self.renderer.render(text)
            self.rendered += 1
            write_wav(self.path(text), samples, TTS_RATE)
        return samples
