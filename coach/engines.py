"""Which recognition engine listens, and why: Vosk where a model for the pack's language is
installed, else the zero-download Whisper default (English)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .errors import CoachError
from .listen import Recognizer
from .voicepack import VoicePack

_LOGGER = logging.getLogger(__name__)

WHISPER_LANGUAGES = ("en",)
"""Languages the zero-download default (Whisper tiny.en) understands."""


class EngineUnavailable(CoachError):
    """No recognition engine can run with this config and voice pack."""


@dataclass(frozen=True)
class EngineChoice:
    """The engine that will listen, and why."""

    engine: str
    """``vosk`` or ``whisper``."""
    reason: str
    """Why this engine, in a sentence."""
    model: Path | None
    """The Vosk model folder (None for Whisper)."""


def choose_engine(config: Config, pack: VoicePack, setting: str | None = None) -> EngineChoice:
    """Pick the engine for ``recognition.engine`` (or ``setting``): auto prefers Vosk."""
    from .models import find_model, missing_model_message

    setting = setting or config.recognition.engine
    language = pack.language
    model = find_model(language, config.recognition.model)
    if setting in ("vosk", "auto") and model is not None:
        how = "set in config" if setting == "vosk" else "auto"
        return EngineChoice("vosk", f"{how}: the Vosk model {model.name} for {language!r} is "
                            f"installed ({model.path})", model.path)
    if setting == "vosk":
        raise EngineUnavailable(missing_model_message(language))
    if language not in WHISPER_LANGUAGES:
        raise EngineUnavailable(f"the zero-download engine (Whisper tiny.en) understands "
                                f"English only, and no Vosk model for {language!r} is "
                                f"installed. {missing_model_message(language)}")
    why = ("set in config" if setting == "whisper" else
           f"auto: no Vosk model for {language!r} is installed, so the zero-download Whisper "
           "tiny.en that came with the install listens")
    return EngineChoice("whisper", why, None)


def build_recognizer(choice: EngineChoice, pack: VoicePack) -> tuple[Recognizer, float]:
    """Load the chosen engine; return it and its load time in seconds."""
    started = time.perf_counter()
    recognizer: Recognizer
    if choice.engine == "vosk":
        from .listen_vosk import VoskRecognizer
        assert choice.model is not None
        recognizer = VoskRecognizer(choice.model, pack)
    else:
        from .whisper import WhisperRecognizer
        recognizer = WhisperRecognizer(pack)
    return recognizer, time.perf_counter() - started
