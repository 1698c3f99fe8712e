"""Speech synthesis. This module is the one place that imports pyttsx3.

pyttsx3 must stay on one thread (two ``runAndWait`` calls at once hang), so everything that
touches it goes through this module.
"""

from __future__ import annotations

import ctypes.util
import logging
from dataclasses import dataclass

from .errors import CoachError

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
