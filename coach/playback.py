"""Playing what the coach says: every line starts at an exact time on the output stream's
own clock, and stop or pause silence it within one audio block."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .audio import AudioUnavailable, Device, sounddevice_module

_LOGGER = logging.getLogger(__name__)

BLOCK_S = 0.01
"""Audio block length: a cut takes effect within one block after the blocks already queued."""
LEAD_S = 0.06
"""How far ahead of its due time a line is handed to the stream, so that the thread's
wake-up jitter never shows in when it sounds."""


@dataclass
class Clip:
    """A line scheduled on the stream."""

    tag: Any
    """What the line is (for the rest of the program: which line is sounding)."""
    samples: np.ndarray
    """Mono int16 at the stream's rate."""
    at: float
    """Stream time at which its first sample should reach the speaker."""
    pos: int = 0
    """Samples already played."""
    started: float | None = None
    """Stream time its first sample actually reached the speaker (None until then)."""
    ended: float | None = None
    """Stream time it finished or was cut."""


@dataclass
class PlayLog:
    """What actually sounded, from the stream's own timestamps."""

    clips: list[Clip] = field(default_factory=list)
    """Every clip that started, in order."""
    cuts: list[tuple[float, float]] = field(default_factory=list)
    """(requested at, silence reached the speaker at) for each cut."""
    underruns: int = 0
    """Blocks the stream could not fill in time."""


class Player:
    """One output stream; clips are scheduled on its clock and mixed in its callback.

    The callback only copies samples that are already in memory: rendering and resampling
    happen before a clip is scheduled.
    """

    def __init__(self, device: Device, *, on_error: Callable[[str], None] | None = None
                 ) -> None:
        self.device = device
        self.rate = int(device.default_rate) or 48000
        self.on_error = on_error
        self.log = PlayLog()
        self._lock = threading.Lock()
        self._clips: list[Clip] = []
        self._cut_at: float | None = None
        self._cut_clips: list[Clip] = []
        self._failed: str | None = None
        self._closing = False
        self._last_now, self._last_mono = 0.0, time.monotonic()
        self.last_callback = 0.0
        """Stream time of the latest callback: a stream whose callbacks stop has hung."""
        sd = sounddevice_module()
        try:
            self._stream = sd.OutputStream(device=device.index, samplerate=self.rate, channels=1,
                                           dtype="int16", blocksize=int(self.rate * BLOCK_S),
                                           latency="low", callback=self._callback,
                                           finished_callback=self._finished)
            self._stream.start()
        except Exception as err:  # PortAudio reports a missing or busy device many ways
            raise AudioUnavailable(f"cannot open the speaker {device.name!r}: {err}. Set "
                                   "audio.output_device in config.toml (`coach "
                                   "--list-devices` shows them), or use `coach text "
                                   "--silent`.") from None

    def now(self) -> float:
        """The stream's clock, in seconds."""
        try:
            now = float(self._stream.time)
        except Exception:  # a stream whose device vanished may refuse even this
            self.fail(f"the speaker {self.device.name!r} stopped working (was it unplugged?)")
            return self._last_now + (time.monotonic() - self._last_mono)
        self._last_now, self._last_mono = now, time.monotonic()
        return now

    def play(self, samples: np.ndarray, at: float, tag: Any = None) -> Clip:
        """Schedule mono int16 samples (at the stream's rate) to start at stream time ``at``."""
        if self._failed is not None:
            raise AudioUnavailable(self._failed)
        clip = Clip(tag, np.ascontiguousarray(samples, dtype=np.int16), at)
        with self._lock:
            self._clips.append(clip)
        return clip

    def cut(self) -> None:
        """Silence everything now, and drop whatever is scheduled (lines scheduled after
        this call still play)."""
        now = self.now()
        with self._lock:
            self._cut_clips = [c for c in self._clips if c.started is not None]
            self._clips.clear()
            self._cut_at = now

    def sounding(self, at: float | None = None) -> Any:
        """The tag of the clip sounding at stream time ``at`` (default: now), or None."""
        t = self.now() if at is None else at
        with self._lock:
            for clip in self.log.clips[-4:]:
                end = clip.ended if clip.ended is not None else clip.at + len(
                    clip.samples) / self.rate
                if clip.started is not None and clip.started <= t < end:
                    return clip.tag
        return None

    def healthy(self, now: float | None = None) -> bool:
        """The stream is running and its callbacks keep coming."""
        if self._failed is not None:
            return False
        now = self.now() if now is None else now
        return self.last_callback == 0.0 or now - self.last_callback < 1.0

    def close(self) -> None:
        """Stop and close the stream."""
        self._closing = True
        try:
            self._stream.abort()
            self._stream.close()
        except Exception as err:  # closing a stream whose device vanished can fail too
            _LOGGER.debug("closing the output stream: %s", err)

    # --- the audio thread ---------------------------------------------------------------

    def _callback(self, out: np.ndarray, frames: int, stamps: Any, status: Any) -> None:
        out.fill(0)
        dac = float(stamps.outputBufferDacTime) or float(stamps.currentTime)
        self.last_callback = float(stamps.currentTime)
        if status.output_underflow:
            self.log.underruns += 1
        with self._lock:
            if self._cut_at is not None:
                for clip in self._cut_clips:
                    clip.ended = dac
                self.log.cuts.append((self._cut_at, dac))
                self._cut_at, self._cut_clips = None, []
            for clip in list(self._clips):
                if clip.pos == 0:
                    offset = round((clip.at - dac) * self.rate)
                    if offset >= frames:
                        continue
                    offset = max(0, offset)
                    clip.started = dac + offset / self.rate
                    self.log.clips.append(clip)
                else:
                    offset = 0
                n = min(frames - offset, len(clip.samples) - clip.pos)
                out[offset:offset + n, 0] = clip.samples[clip.pos:clip.pos + n]
                clip.pos += n
                if clip.pos >= len(clip.samples):
                    clip.ended = dac + (offset + n) / self.rate
                    self._clips.remove(clip)

    def fail(self, message: str) -> None:
        """Mark the speaker as gone and tell ``on_error`` (once)."""
        if self._closing or self._failed is not None:
            return
        self._failed = message
        if self.on_error is not None:
            self.on_error(message)

    def _finished(self) -> None:
        self.fail(f"the speaker {self.device.name!r} stopped working (was it unplugged?)")
