"""``coach bench``: measurements, printed as numbers (never pass/fail)."""

from __future__ import annotations

import itertools
import random
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .audio import find_device
from .config import Config
from .dialogue import Engine
from .events import Command, Heard
from .playback import Player
from .runner import QUIT, Session
from .speak import Renderer, SpeechCache, VoiceSettings
from .voice import SpeakingVoice, StreamClock, fixed_lines
from .voicepack import VoicePack


def _p95(values: list[float]) -> float | None:
    return round(float(np.percentile(values, 95)), 2) if values else None


def _settings(config: Config, pack: VoicePack) -> VoiceSettings:
    return VoiceSettings(config.voice.voice or pack.voice, config.voice.rate, config.voice.volume)


def bench_speak(config: Config, pack: VoicePack, *, stops: int = 20,
                seed: int = 0) -> dict[str, Any]:
    """Walk the hallway through the configured speaker, then start-and-stop ``stops`` times.

    Every time comes from the output stream's own timestamps (when a sample reaches the
    speaker), not from sleeping threads.
    """
    texts = list(dict.fromkeys(fixed_lines(pack, config)))
    cold = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    try:
        started = time.perf_counter()
        cold_cache = SpeechCache(Renderer(_settings(config, pack)), cold)
        for text in texts:
            cold_cache.get(text)
        render_all_s = time.perf_counter() - started
        cold_cache.renderer.close()
    finally:
        shutil.rmtree(cold, ignore_errors=True)

    player = Player(find_device(config.audio.output_device, "output"))
    try:
        clock = StreamClock(player)
        voice = SpeakingVoice(player, SpeechCache(Renderer(_settings(config, pack))), clock)
        voice.prepare(texts)
        walk = _walk(config, pack, player, clock, voice)
        cuts = _stops(config, pack, player, clock, voice, stops, random.Random(seed))
    finally:
        player.close()
    return {"onset_jitter_p95_ms": walk["jitter_p95_ms"], "onset_jitter_max_ms":
            walk["jitter_max_ms"], "beat_interval_ms": walk["interval_ms"],
            "counts": walk["counts"], "stop_to_silence_p95_ms": _p95(cuts["stop_ms"]),
            "stop_to_silence_max_ms": round(max(cuts["stop_ms"]), 2) if cuts["stop_ms"]
            else None, "first_sound_ms": _p95(cuts["first_ms"]),
            "render_all_s": round(render_all_s, 3), "lines_rendered": len(texts),
            "cpu_percent": walk["cpu_percent"], "underruns": player.log.underruns,
            "output_device": player.device.name, "output_rate": player.rate}


def _run(session: Session) -> threading.Thread:
    thread = threading.Thread(target=session.run, kwargs={"forever": True}, daemon=True)
    thread.start()
    return thread


def _walk(config: Config, pack: VoicePack, player: Player, clock: StreamClock,
          voice: SpeakingVoice) -> dict[str, Any]:
    engine = Engine(config, pack)
    session = Session(engine, voice, clock)
    thread = _run(session)
    cpu0, wall0 = _cpu(), time.perf_counter()
    session.post(Heard(Command.START, "hallway"))
    deadline = time.monotonic() + 180
    while engine.state.value != "finished" and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu = (_cpu() - cpu0) / (time.perf_counter() - wall0) * 100
    session.post(QUIT)
    thread.join(timeout=30)
    counts = [c for c in player.log.clips if getattr(c.tag, "key", None) == "count"]
    jitter = [abs(c.started - c.at) * 1000 for c in counts if c.started is not None]
    starts = [c.started for c in counts if c.started is not None]
    gaps = [round((b - a) * 1000, 1) for a, b in itertools.pairwise(starts)]
    return {"jitter_p95_ms": _p95(jitter), "jitter_max_ms": round(max(jitter), 2) if jitter
            else None, "interval_ms": gaps, "counts": len(counts),
            "cpu_percent": round(cpu, 1)}


def _stops(config: Config, pack: VoicePack, player: Player, clock: StreamClock,
           voice: SpeakingVoice, stops: int, rng: random.Random) -> dict[str, list[float]]:
    engine = Engine(config, pack)
    session = Session(engine, voice, clock)
    thread = _run(session)
    stop_ms, first_ms = [], []
    for _ in range(stops):
        _wait_quiet(voice, clock)
        seen = len(player.log.clips)
        asked = player.now()
        session.post(Heard(Command.START, "hallway"))
        while len(player.log.clips) <= seen:
            time.sleep(0.002)
        first = player.log.clips[seen]
        if first.started is not None:
            first_ms.append((first.started - asked) * 1000)
        time.sleep(rng.uniform(0.2, 0.9))  # stop somewhere inside the line
        cuts = len(player.log.cuts)
        asked = player.now()
        session.post(Heard(Command.STOP))
        while len(player.log.cuts) <= cuts:
            time.sleep(0.002)
        stop_ms.append((player.log.cuts[cuts][1] - asked) * 1000)
    session.post(QUIT)
    thread.join(timeout=30)
    return {"stop_ms": stop_ms, "first_ms": first_ms}


def _wait_quiet(voice: SpeakingVoice, clock: StreamClock) -> None:
    """Wait until nothing is sounding or queued (the greeting, the "stopped" line)."""
    time.sleep(0.3)
    while voice.sounding is not None and voice.sounding[2] + 0.2 > clock.now():
        time.sleep(0.02)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
