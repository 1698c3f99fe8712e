"""``coach check``: is the config right, and what does this machine offer the coach?"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass

from .audio import AudioUnavailable, find_device
from .config import Config
from .errors import CoachError
from .speak import TtsUnavailable, pick_voice, probe_tts
from .voicepack import VoicePack


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    what: str
    """What was checked."""
    status: str
    """``ok``, ``warn`` (the coach runs, with less) or ``FAIL`` (the coach cannot run)."""
    detail: str
    """What was found, and what to do about it."""


def check_environment(config: Config, pack: VoicePack) -> list[Row]:
    """Check TTS, audio devices and recognition for a valid config and pack."""
    rows = [Row("config", "ok", str(config.path or "built-in defaults")),
            Row("voice pack", "ok", f"{pack.name} ({pack.language}) from {pack.path.parent}: "
                f"{sum(len(v) for v in pack.cues.values())} lines, "
                f"{len(pack.phrases())} phrases")]
    try:
        info = probe_tts()
        wanted = config.voice.voice or pack.voice
        voice = pick_voice(info.voices, wanted)
        if voice is None:
            rows.append(Row("speech", "warn", f"pyttsx3/{info.engine}: {len(info.voices)} "
                            f"voices, none matches {wanted!r}; the default voice will be used"))
        else:
            rows.append(Row("speech", "ok", f"pyttsx3/{info.engine}, voice {voice.id} "
                            f"({voice.name}), {len(info.voices)} voices, "
                            f"rate {config.voice.rate} wpm"))
    except TtsUnavailable as err:
        rows.append(Row("speech", "warn", f"{err}; lines are printed only"))
    for kind, spec in (("output", config.audio.output_device),
                       ("input", config.audio.input_device)):
        try:
            device = find_device(spec, kind)
            rows.append(Row(f"audio {kind}", "ok", f"{device.index}: {device.name}"))
        except AudioUnavailable as err:
            rows.append(Row(f"audio {kind}", "warn", str(err)))
    rows.append(_recognition(config))
    return rows


def _recognition(config: Config) -> Row:
    try:
        version = importlib.metadata.version("vosk")
    except importlib.metadata.PackageNotFoundError:
        return Row("recognition", "warn", "vosk is not installed; `coach text` still works")
    engine = config.recognition.engine
    if config.recognition.model:
        return Row("recognition", "warn", f"engine {engine}, vosk {version}; model folder "
                   f"{config.recognition.model}: spoken commands are not wired in yet, "
                   "use `coach text`")
    return Row("recognition", "warn", f"engine {engine}, vosk {version}; no model installed "
               "yet: spoken commands are not available, use `coach text`")


def failed(error: CoachError, what: str) -> Row:
    """A row for a config or pack that did not load."""
    return Row(what, "FAIL", str(error))


def format_rows(rows: list[Row]) -> str:
    """The report as an aligned table."""
    width = max(len(r.what) for r in rows)
    return "\n".join(f"{r.what:<{width}}  {r.status:<4}  {r.detail}" for r in rows)
