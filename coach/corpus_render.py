"""Making the corpus's sound: speech rendered in fresh worker processes, then mixed.

Speech is rendered in fresh worker processes, one per (voice, rate), texts in sorted order:
espeak-ng carries synthesis state from one utterance to the next (the same text rendered twice
in one process differs by a few samples) and pyttsx3 gives every caller in a process the same
engine, so only a fresh process rendering a fixed sequence gives the same bytes every time.
A worker that fails (or renders a line empty) takes back what it wrote, and the group is
rendered again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from .audio import resample
from .errors import CorpusError
from .listen import RATE
from .speak import TTS_RATE, Renderer, SpeechCache, TtsUnavailable, VoiceSettings

_LOGGER = logging.getLogger(__name__)

LEAD_S, TAIL_S = 0.4, 1.0
"""Silence (or noise alone) before and after the speech in a clip."""
SPEECH_RMS, SPEECH_PEAK = 2500.0, 16000.0
"""Speech is scaled to this RMS, or less if its peak would pass SPEECH_PEAK (of 32767)."""
ATTEMPTS = 5
"""Tries per (voice, rate): pyttsx3 2.99 sometimes hands back a render before espeak is done."""
MAX_WORKERS = 4
"""Voices rendered at once; more load makes pyttsx3's early returns (see ATTEMPTS) likelier."""
SETTLE_S = 0.01
"""Pause after each render so espeak is idle before the next one starts."""


_WORKER = ("import json, sys; from coach.corpus_render import render_group; "
           "print('rendered', render_group(**json.load(sys.stdin)))")


def render_group(voice: str, rate: int, texts: list[str], tts_dir: str) -> int:
    """Render texts with one voice and rate into the speech cache; how many were not cached.

    Run by a fresh interpreter for each group (see the module docstring). A failed or empty
    render takes back every file this call wrote, so that a retry renders the same sequence.
    """
    renderer = Renderer(VoiceSettings(voice, rate, 1.0))
    cache, fresh = SpeechCache(renderer, Path(tts_dir)), list[Path]()
    try:
        for text in texts:
            before = cache.rendered
            samples = cache.get(text)
            if cache.rendered > before:
                fresh.append(cache.path(text))
                if samples.size == 0:
                    raise TtsUnavailable(f"{text!r} came out empty")
                time.sleep(SETTLE_S)
    except BaseException:
        for path in fresh:
            path.unlink(missing_ok=True)
        raise
    finally:
        renderer.close()
    return len(fresh)


def _render_fresh(voice: str, rate: int, texts: list[str], tts_dir: Path) -> int:
    root = str(Path(__file__).resolve().parent.parent)  # where ``coach`` is importable from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        root, os.environ.get("PYTHONPATH")]))}
    job = json.dumps({"voice": voice, "rate": rate, "texts": texts, "tts_dir": str(tts_dir)})
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run([sys.executable, "-c", _WORKER], input=job, capture_output=True,
                              text=True, env=env, check=False)
        counts = re.findall(r"^rendered (\d+)$", done.stdout, re.MULTILINE)
        if done.returncode == 0 and counts:  # pyttsx3 may print too, even late
            return int(counts[-1])
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        _LOGGER.warning("rendering with %s at %d wpm, attempt %d of %d: %s", voice, rate,
                        attempt, ATTEMPTS, last)
    raise CorpusError(tts_dir, f"rendering with {voice} at {rate} wpm failed {ATTEMPTS} times; "
                      f"last: {last}")


def render_all(groups: dict[tuple[str, int], set[str]], tts_dir: Path,
                tick: Callable[[], None]) -> int:
    rendered = 0
    with ThreadPoolExecutor(min(os.cpu_count() or 1, MAX_WORKERS)) as pool:
        for future in as_completed(pool.submit(_render_fresh, voice, rate, sorted(texts),
                                               tts_dir)
                                   for (voice, rate), texts in sorted(groups.items())):
            rendered += future.result()
            tick()
    return rendered


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0


def level_speech(cache: SpeechCache, text: str) -> np.ndarray:
    """A rendered line at RATE, scaled to SPEECH_RMS, as whole numbers in floats."""
    samples = cache.cached(text)
    if samples is None or not np.any(samples):
        raise CorpusError(cache.folder, f"the rendering of {text!r} is missing or silent")
    x = resample(samples, TTS_RATE, RATE).astype(np.float64)
    gain = min(SPEECH_RMS / rms(x), SPEECH_PEAK / float(np.abs(x).max()))
    out: np.ndarray = np.round(x * gain)
    return out


def babble(talkers: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Talkers looped with short gaps from random starting points, at slightly varied levels."""
    out = np.zeros(n)
    for audio in talkers:
        unit = audio / rms(audio) * 10 ** (rng.uniform(-3, 3) / 20)
        pos = -int(rng.integers(len(unit)))
        while pos < n:
            lo, hi = max(pos, 0), min(pos + len(unit), n)
            out[lo:hi] += unit[lo - pos:hi - pos]
            pos += len(unit) + int(rng.integers(RATE // 10, RATE // 2))
    return out


def mix(speech: np.ndarray, noise: str, snr_db: float | None, seed: int,
        talkers: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """A clip's int16 samples, the speech set in silence and mixed with ``noise`` ("white" or
    babble of ``talkers``) at ``snr_db`` (None: clean), and where its speech starts."""
    lead, tail = round(LEAD_S * RATE), round(TAIL_S * RATE)
    signal = np.zeros(lead + speech.size + tail)
    signal[lead:lead + speech.size] = speech
    if snr_db is not None:
        rng = np.random.default_rng(seed)
        added = (rng.standard_normal(signal.size) if noise == "white"
                 else babble(talkers, signal.size, rng))
        level = rms(added[lead:lead + speech.size]) or rms(added)
        signal += added * (rms(speech) / (level * 10 ** (snr_db / 20)))
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16), lead


