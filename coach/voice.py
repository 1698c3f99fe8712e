"""The coach's voice in a session: lines rendered once and cached, played on the beat through
the output stream, cut off at once; it always knows which line is sounding."""

from __future__ import annotations

import logging
import queue
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import numpy as np

from .audio import AudioUnavailable, find_device, resample
from .config import Config
from .events import Cue, Line
from .playback import LEAD_S, Player
from .routines import routines_from_config
from .runner import QUIT, Session
from .speak import TTS_RATE, Renderer, SpeechCache, TtsUnavailable, VoiceSettings
from .voicepack import CUES, VoicePack, placeholders

_LOGGER = logging.getLogger(__name__)


def fixed_lines(pack: VoicePack, config: Config) -> Iterator[str]:
    """Every line the coach can say whose words are known before the session: the cues
    without values, each count, and each routine's introduction at its configured length."""
    rng = random.Random(0)
    for key, variants in pack.cues.items():
        for template in variants:
            if not placeholders(template):
                yield pack.render(template, key, CUES[key][0]).text
    routines = routines_from_config(config)
    longest = max((r.steps or 0) for r in routines.values())
    most = max(longest, *(r.turn_steps for r in routines.values()))
    for n in range(1, most + 1):
        yield pack.line("count", rng, n=pack.number(n)).text
    for name, routine in routines.items():
        length = (pack.steps(routine.steps) if routine.steps is not None
                  else pack.duration(routine.seconds or 0.0))
        for template in pack.routines[name].intro:
            yield pack.render(template, f"intro_{name}", Cue.PROMPT, length=length).text


class StreamClock:
    """The output stream's clock: beats scheduled on it land where the stream plays them."""

    def __init__(self, player: Player) -> None:
        self.player = player
        self._start = player.now()

    def now(self) -> float:
        """Seconds since the session began, on the stream's clock."""
        return self.player.now() - self._start

    def stream_time(self, t: float) -> float:
        """Session time ``t`` on the stream's clock."""
        return self._start + t

    def wait(self, until: float | None, inbox: queue.Queue[Any]) -> Any | None:
        """Block until ``until`` or an input; return the input or None."""
        timeout = None if until is None else max(0.0, until - self.now())
        # wake a little early and spin the last millisecond: sleep overshoots by ~1 ms
        try:
            return inbox.get(timeout=None if timeout is None else max(0.0, timeout - 0.001))
        except queue.Empty:
            while self.now() < (until or 0.0):
                time.sleep(0.0002)
            return None


class SpeakingVoice:
    """Plays each line through a Player, from the speech cache (and prints it, if asked)."""

    def __init__(self, player: Player, cache: SpeechCache, clock: StreamClock, *,
                 echo: IO[str] | None = None) -> None:
        self.player = player
        self.cache = cache
        self.clock = clock
        self.echo = echo
        self._audio: dict[str, np.ndarray] = {}
        self.session: Session | None = None
        """The session this voice speaks for (told when the speaker goes away)."""
        self.sounding: tuple[Line, float, float] | None = None
        """The line sounding now or last: (line, start, end) in session time."""

    def attach(self, session: Session) -> None:
        """Speak for ``session``: it is told to end if the speaker goes away."""
        self.session = session

    def prepare(self, texts: Iterable[str]) -> int:
        """Render (or load from the cache) and hold in memory every text; return how many
        had to be rendered."""
        before = self.cache.rendered
        for text in texts:
            self._load(text)
        return self.cache.rendered - before

    def _load(self, text: str) -> np.ndarray:
        samples = self._audio.get(text)
        if samples is None:
            samples = resample(self.cache.get(text), TTS_RATE, self.player.rate)
            self._audio[text] = samples
        return samples

    def speak(self, line: Line, at: float) -> float:
        """Schedule the line at session time ``at``; return how long it sounds."""
        if self.echo is not None:
            self.echo.write(f"coach: {line.text}\n")
            self.echo.flush()
        try:
            samples = self._load(line.text)
        except TtsUnavailable as err:
            # a line that cannot be rendered is skipped, never waited for
            _LOGGER.warning("skipping %r: %s", line.text, err)
            return 0.0
        if not self.player.healthy():
            self.player.fail(f"the speaker {self.player.device.name!r} stopped responding")
        duration = len(samples) / self.player.rate
        start = self.clock.stream_time(at) + LEAD_S
        try:
            self.player.play(samples, start, line)
        except AudioUnavailable as err:
            _LOGGER.warning("not spoken: %s", err)
            return 0.0
        self.sounding = (line, at + LEAD_S, at + LEAD_S + duration)
        return duration

    def cut(self, at: float) -> None:
        """Silence the speaker at once."""
        self.player.cut()
        if self.sounding is not None:
            line, start, _ = self.sounding
            self.sounding = (line, start, min(self.sounding[2], at))


def open_voice(config: Config, pack: VoicePack, warn: Callable[[str], None], *,
               echo: IO[str] | None = None) -> SpeakingVoice | None:
    """The speaking voice on the configured speaker, its lines ready; None (lines printed
    only, after a warning) when there is no speaker or no speech synthesiser. A speaker
    named in the config that does not exist is an error."""
    try:
        device = find_device(config.audio.output_device, "output")
    except AudioUnavailable as err:
        if config.audio.output_device:
            raise
        warn(f"{err} The coach's lines are printed only.")
        return None
    voice: SpeakingVoice | None = None

    def lost(message: str) -> None:
        warn(f"{message}; the walk is stopped.")
        if voice is not None and voice.session is not None:
            voice.session.post(QUIT)

    player = Player(device, on_error=lost)
    settings = VoiceSettings(config.voice.voice or pack.voice, config.voice.rate,
                             config.voice.volume)
    voice = SpeakingVoice(player, SpeechCache(Renderer(settings)), StreamClock(player),
                          echo=echo)
    try:
        voice.prepare(fixed_lines(pack, config))
    except TtsUnavailable as err:
        player.close()
        warn(f"{err}. The coach's lines are printed only.")
        return None
    return voice
