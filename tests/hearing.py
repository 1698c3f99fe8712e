"""What the tests that hear speech share: a module that must be there, a text in the coach's
own voice at 16 kHz, and whether the dialogue would act on what was heard (the benchmark's
rule)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from coach.audio import resample
from coach.listen import RATE, acts
from coach.speak import TTS_RATE, Renderer, TtsUnavailable, VoiceSettings

__all__ = ["acts", "require", "spoken", "trimmed"]


def require(*modules: tuple[str, str]) -> None:
    """Skip unless every (module, how to install it) is there; under CI, which installs
    them all, fail instead."""
    for module, how in modules:
        if importlib.util.find_spec(module) is not None:
            continue
        reason = f"{module} is not installed ({how})"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}, but CI installs it", pytrace=False)
        pytest.skip(reason)


def spoken(text: str, voice: str = "en-us", rate: int = 165) -> np.ndarray:
    """The text in the coach's own voice at 16 kHz, after 0.4 s of silence."""
    try:
        audio = Renderer(VoiceSettings(voice, rate, 1.0)).render(text)
    except TtsUnavailable as err:
        require(("no such module", str(err)))  # skips (fails under CI) with the reason
        raise
    return np.concatenate([np.zeros(int(0.4 * RATE), np.int16), resample(audio, TTS_RATE, RATE)])


def trimmed(audio: np.ndarray) -> np.ndarray:
    """The speech without the silence around it."""
    sound = np.flatnonzero(np.abs(audio) > 100)
    return audio[sound[0]:sound[-1] + 1]
