"""Phrases to commands: what a person said (or typed), mapped through the voice pack."""

from __future__ import annotations

from .events import Heard, NotUnderstood
from .voicepack import VoicePack, normalize


class Intents:
    """Matches whole utterances against every phrase of a voice pack."""

    def __init__(self, pack: VoicePack) -> None:
        self._phrases = pack.phrases()

    @property
    def phrases(self) -> list[str]:
        """Every phrase listened for, normalised, sorted."""
        return sorted(self._phrases)

    def match(self, text: str, confidence: float = 1.0) -> Heard | NotUnderstood:
        """The command an utterance is, or NotUnderstood: only a whole phrase counts, so
        "I'll stop by the store" is not a stop."""
        found = self._phrases.get(normalize(text))
        if found is None:
            return NotUnderstood(text)
        command, routine = found
        return Heard(command, routine, confidence, text)
