"""Phrases to commands: every phrase of the pack, its canonical form, and what is not a command."""

from __future__ import annotations

import pytest
from conftest import ROOT

from coach.events import Command, Heard, NotUnderstood
from coach.intents import Intents
from coach.voicepack import VoicePack


@pytest.fixture(scope="module")
def intents(pack: VoicePack) -> Intents:
    """Intents over the shipped pack."""
    return Intents(pack)


PHRASES = sorted(VoicePack.load(ROOT / "voices" / "en").phrases().items())


@pytest.mark.parametrize(("phrase", "meaning"), PHRASES, ids=[p for p, _ in PHRASES])
def test_every_phrase_maps_to_its_command(intents: Intents, phrase: str,
                                          meaning: tuple[Command, str | None]) -> None:
    heard = intents.match(phrase)
    assert isinstance(heard, Heard)
    assert (heard.command, heard.routine) == meaning


def test_phrases_are_the_packs_sorted(intents: Intents, pack: VoicePack) -> None:
    assert intents.phrases == sorted(pack.phrases())
    assert len(intents.phrases) > 40


@pytest.mark.parametrize(("text", "canonical"), [
    ("start hallway", "start hallway"),
    ("start walk", "start walk"),
    ("begin long walk", "start walk"),
    ("start cool down", "start cooldown"),
    ("how many", "how many"),
    ("how much longer", "how many"),
    ("stop", "stop"),
    ("keep going", "resume"),
    ("what can i say", "help"),
    ("yes please", "yes"),
    ("not now", "no"),
])
def test_canonical(intents: Intents, text: str, canonical: str) -> None:
    heard = intents.match(text)
    assert isinstance(heard, Heard)
    assert heard.canonical == canonical


@pytest.mark.parametrize(("text", "canonical"), [
    ("Start Hallway!", "start hallway"),
    ("  STOP.  ", "stop"),
    ("How many?", "how many"),
    ("What can I say?", "help"),
    ("start cool-down", "start cooldown"),
    ("Hold on...", "pause"),
])
def test_case_and_punctuation_are_ignored(intents: Intents, text: str, canonical: str) -> None:
    heard = intents.match(text)
    assert isinstance(heard, Heard)
    assert heard.canonical == canonical


@pytest.mark.parametrize(("text", "command", "routine"), [
    ("begin sofa", Command.START, "couch"),
    ("start dinner table", Command.START, "table"),
    ("begin elliptical trainer", Command.START, "elliptical"),
    ("stop there", Command.STOP, None),
    ("wait", Command.PAUSE, None),
    ("go on", Command.RESUME, None),
    ("speed up", Command.FASTER, None),
    ("say that again", Command.REPEAT, None),
    ("nope", Command.NO, None),
])
def test_synonyms(intents: Intents, text: str, command: Command, routine: str | None) -> None:
    heard = intents.match(text)
    assert isinstance(heard, Heard)
    assert (heard.command, heard.routine) == (command, routine)


@pytest.mark.parametrize("text", [
    "I'll stop by the store",
    "how many people are coming",
    "start",
    "hallway",
    "stop the car later",
    "yes I think so",
    "please stop",
    "start the hallway",
    "start moon",
    "",
    "   ",
    "?!",
])
def test_near_misses_are_not_commands(intents: Intents, text: str) -> None:
    assert intents.match(text) == NotUnderstood(text)


def test_heard_keeps_confidence_and_text(intents: Intents) -> None:
    assert intents.match("Start Car!", 0.42) == Heard(Command.START, "car", 0.42, "Start Car!")


def test_confidence_defaults_to_certain(intents: Intents) -> None:
    heard = intents.match("pause")
    assert isinstance(heard, Heard)
    assert heard.confidence == 1.0


def test_start_without_routine_is_canonically_start() -> None:
    assert Heard(Command.START).canonical == "start"
