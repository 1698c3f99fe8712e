"""``coach check``: is the config right, and what does this machine offer the coach?"""

from __future__ import annotations

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
    rows.append(_recognition(config, pack))
    return rows


def _recognition(config: Config, pack: VoicePack) -> Row:
    from .engines import EngineUnavailable, choose_engine

    try:
        choice = choose_engine(config, pack)
    except EngineUnavailable as err:
        return Row("recognition", "warn", f"{err} Until then, `coach text` takes typed "
                   "commands")
    except CoachError as err:
        return Row("recognition", "FAIL", str(err))
    detail = f"{choice.engine}: {choice.reason}"
    if choice.engine == "vosk" and choice.model is not None:
        from .listen_vosk import VoskRecognizer, VoskUnavailable
        try:
            missing = VoskRecognizer(choice.model, pack).missing_words
        except VoskUnavailable as err:
            return Row("recognition", "FAIL", str(err))
        if missing:
            return Row("recognition", "warn", f"{detail}; the model does not know these "
                       f"words of the pack, so phrases with them cannot be heard: "
                       f"{', '.join(missing)}")
    return Row("recognition", "ok", detail)


def failed(error: CoachError, what: str) -> Row:
    """A row for a config or pack that did not load."""
    return Row(what, "FAIL", str(error))


def format_rows(rows: list[Row]) -> str:
    """The report as an aligned table."""
    width = max(len(r.what) for r in rows)
    return "\n".join(f"{r.what:<{width}}  {r.status:<4}  {r.detail}" for r in rows)
