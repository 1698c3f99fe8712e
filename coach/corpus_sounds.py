"""Sounds that are not speech, made up for the listening benchmark: what happens near a
person walking (a cough, a breath, a door, footsteps, a phone) and the noises a recogniser may
take for a word (a beep, a click, a burst of hiss, music, a hum). None of them is a command."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .listen import RATE

LEVELS = (1000.0, 8000.0)
"""Peaks the sounds are played at: across a room, and close to the microphone."""
BACKGROUNDS = (3.0, 150.0)
"""RMS of the hiss they are heard over: a quiet room, and a fan."""


def _decay(n: int, attack_s: float, decay_s: float) -> np.ndarray:
    t = np.arange(n) / RATE
    out: np.ndarray = np.minimum(1.0, t / attack_s) * np.exp(-t / decay_s)
    return out


def _band(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """Noise between two frequencies, at unit RMS."""
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, n)
    out: np.ndarray = noise / noise.std()
    return out


def _kinds(rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """One of each kind of sound; ``rng`` varies their pitch, length and noise."""
    vary = rng.uniform(0.7, 1.4)
    half = int(0.5 * RATE)
    t = np.arange(half) / RATE
    long = np.arange(int(1.2 * RATE)) / RATE
    gap = np.zeros(int(0.3 * RATE * vary))
    knock = _band(rng, 2000, 200, 2000) * _decay(2000, 0.001, 0.02)
    step = (np.sin(2 * np.pi * 70 * t[:2400]) * _decay(2400, 0.003, 0.03)
            + 0.3 * _band(rng, 2400, 100, 3000) * _decay(2400, 0.001, 0.01))
    clap = _band(rng, 1600, 500, 6000) * _decay(1600, 0.0005, 0.01)
    pulses = np.zeros(long.size)
    pulses[::int(RATE / (120 * vary))] = 1.0
    yield "cough", _band(rng, half, 300, 3000) * _decay(half, 0.02, 0.12 * vary)
    yield "breath", _band(rng, int(0.8 * vary * RATE), 500, 4000) * np.hanning(
        int(0.8 * vary * RATE))
    yield "knock", np.concatenate([knock, gap, knock, gap, knock])
    yield "door", _band(rng, RATE, 50, 1500) * _decay(RATE, 0.002, 0.15 * vary)
    yield "clap", np.concatenate([clap, gap, clap])
    yield "footsteps", np.concatenate([step, gap, step, gap, step])
    yield "thump", np.sin(2 * np.pi * 90 * vary * t) * _decay(half, 0.005, 0.08)
    yield "hiss", rng.normal(0, 1, half) * _decay(half, 0.01, 0.3 * vary)
    yield "rustle", _band(rng, 2 * half, 2000, 7000) * (
        0.5 + 0.5 * np.sin(2 * np.pi * 3 * vary * np.arange(2 * half) / RATE))
    yield "click", np.concatenate([np.zeros(800), [1.0, -1.0], np.zeros(800)])
    yield "beep", np.sin(2 * np.pi * 880 * vary * t) * (t < 0.3 * vary)
    yield "whistle", np.sin(2 * np.pi * (1500 * vary + 60 * np.sin(2 * np.pi * 5 * long))
                            * long) * np.hanning(long.size)
    yield "chirp", np.sin(2 * np.pi * (400 + 3000 * t) * vary * t) * _decay(half, 0.01, 0.3)
    yield "phone", (np.sin(2 * np.pi * 440 * long) * np.sin(2 * np.pi * 480 * long)
                    * ((long * 20 * vary).astype(int) % 2))
    yield "hum", sum(np.sin(2 * np.pi * 60 * k * long) / k for k in range(1, 8)) * np.hanning(
        long.size)
    yield "chord", sum(np.sin(2 * np.pi * 261.6 * r * vary * long)
                       for r in (1, 1.26, 1.5, 2)) * _decay(long.size, 0.02, 0.5)
    yield "buzz", np.convolve(pulses, _band(rng, 200, 100, 4000) * _decay(200, 0.0005, 0.002),
                              "same") * np.hanning(long.size)
    yield "music", piano_tune(rng, 6.0)


def piano_tune(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A tune on a piano-like instrument: notes of a quarter to three quarters of a second
    (now and then a chord), each ringing on as the next is struck."""
    out = np.zeros(int((seconds + 1.0) * RATE))
    at = 0
    while at < seconds * RATE:
        beat = rng.choice([0.25, 0.5, 0.75])
        pitch = 130.0 * 2 ** (rng.integers(0, 24) / 12)
        t = np.arange(int((beat + 0.5) * RATE)) / RATE
        ring = _decay(t.size, 0.005, rng.uniform(0.2, 0.8))
        for ratio in ((1.0, 1.26, 1.5) if rng.random() < 0.3 else (1.0,)):
            out[at:at + t.size] += ring * sum(np.sin(2 * np.pi * pitch * ratio * k * t) / k ** 1.5
                                              for k in range(1, 6))
        at += int(beat * RATE)
    return out[:int(seconds * RATE)]


def not_speech(seeds: int = 2) -> Iterator[tuple[str, np.ndarray]]:
    """(kind, 16 kHz int16 samples): each kind of sound, ``seeds`` variants of it, at each of
    ``LEVELS`` over each of ``BACKGROUNDS``, with a second of that background before and
    after it. The same every time."""
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        for kind, sound in _kinds(rng):
            sound = sound / np.abs(sound).max()
            for peak in LEVELS:
                for hiss in BACKGROUNDS:
                    audio = np.concatenate([np.zeros(RATE), sound * peak, np.zeros(RATE)])
                    audio += rng.normal(0, hiss, audio.size)
                    yield kind, np.clip(np.round(audio), -32768, 32767).astype(np.int16)
