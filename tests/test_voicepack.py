"""Voice packs: the shipped pack, its helpers, every load error, and the self-hearing guard."""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from coach.config import ROUTINE_NAMES
from coach.errors import VoicePackError
from coach.events import Command, Cue, Heard, NotUnderstood
from coach.intents import Intents
from coach.voicepack import CUES, VoicePack, normalize

SHIPPED = ROOT / "voices" / "en" / "pack.toml"
FREQUENT = ["turn_left", "turn_right", "turn_forward", "reminder", "go", "summary_steps",
            "summary_time", "check_path", "resumed", "stopped"]


def write_pack(tmp_path: Path, text: str) -> Path:
    """A pack folder whose pack.toml holds ``text``."""
    (tmp_path / "pack.toml").write_text(text, encoding="utf-8")
    return tmp_path


def edited(old: str, new: str) -> str:
    """The shipped pack's text with one edit (which must apply)."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in the shipped pack"
    return text.replace(old, new, 1)


def load_error(folder: Path) -> VoicePackError:
    """The VoicePackError that loading ``folder`` raises."""
    with pytest.raises(VoicePackError) as info:
        VoicePack.load(folder)
    return info.value


# --- the shipped pack ---------------------------------------------------------------------


def test_shipped_pack_loads_from_its_folder(pack: VoicePack) -> None:
    assert pack.path == SHIPPED
    assert (pack.language, pack.voice) == ("en", "en-us")


def test_shipped_pack_loads_from_its_file() -> None:
    assert VoicePack.load(SHIPPED).cues == VoicePack.load(SHIPPED.parent).cues


def test_shipped_pack_has_exactly_the_known_cues(pack: VoicePack) -> None:
    assert set(pack.cues) == set(CUES)


def test_shipped_pack_names_every_routine(pack: VoicePack) -> None:
    assert list(pack.routines) == list(ROUTINE_NAMES)


@pytest.mark.parametrize("key", FREQUENT)
def test_frequent_cues_have_variants(pack: VoicePack, key: str) -> None:
    assert len(set(pack.cues[key])) >= 2


def test_number_words_run_from_zero_to_one_hundred(pack: VoicePack) -> None:
    assert len(pack.numbers) == 101
    assert [pack.number(n) for n in (0, 1, 13, 21, 99, 100)] == [
        "zero", "one", "thirteen", "twenty-one", "ninety-nine", "one hundred"]


@pytest.mark.parametrize("n", [101, 250, 1000, -1])
def test_numbers_past_the_words_are_digits(pack: VoicePack, n: int) -> None:
    assert pack.number(n) == str(n)


@pytest.mark.parametrize(("n", "words"), [(0, "zero steps"), (1, "one step"), (2, "two steps"),
                                          (10, "ten steps"), (150, "150 steps")])
def test_steps_singular_and_plural(pack: VoicePack, n: int, words: str) -> None:
    assert pack.steps(n) == words


@pytest.mark.parametrize(("seconds", "words"), [
    (30, "thirty seconds"),
    (60, "one minute"),
    (90, "one minute and thirty seconds"),
    (120, "two minutes"),
    (150, "two minutes and thirty seconds"),
    (61, "one minute and one second"),
    (1, "one second"),
    (29.6, "thirty seconds"),
])
def test_duration(pack: VoicePack, seconds: float, words: str) -> None:
    assert pack.duration(seconds) == words


def test_line_fills_placeholders(pack: VoicePack) -> None:
    line = pack.line("last_walk", random.Random(0), routine="hallway", length="ten steps")
    assert line.text == "Your last walk was the hallway: ten steps."
    assert (line.key, line.cue, line.mentions) == ("last_walk", Cue.ANSWER, ())


def test_line_capitalises_a_filled_first_word(pack: VoicePack) -> None:
    line = pack.line("count", random.Random(0), n="seven")
    assert (line.text, line.cue) == ("Seven.", Cue.COUNT)


def test_render_capitalises_only_the_first_letter(pack: VoicePack) -> None:
    line = pack.render("{steps} backward, all done.", "summary_steps", Cue.SUMMARY,
                       steps="ten steps")
    assert line.text == "Ten steps backward, all done."


def test_line_records_the_commands_it_mentions(pack: VoicePack) -> None:
    line = pack.line("busy_paused", random.Random(0), routine="hallway")
    assert line.text == "We're paused. Say resume or stop."
    assert line.mentions == ("resume", "stop")


def test_confirm_names_the_command_as_a_mention(pack: VoicePack) -> None:
    line = pack.line("confirm", random.Random(0), command="start car")
    assert line.text in {"Did you say start car?", "Sorry, was that start car?"}
    assert line.mentions == ("start car",)


def test_line_uses_every_variant_across_seeds(pack: VoicePack) -> None:
    texts = {pack.line("go", random.Random(seed)).text for seed in range(40)}
    assert texts == set(pack.cues["go"])


def test_intro_is_a_prompt_keyed_by_routine(pack: VoicePack) -> None:
    line = pack.intro("hallway", random.Random(0), length="ten steps")
    assert line.text in {"Hallway walk: ten steps backward.", "Hallway walk, ten steps backward."}
    assert (line.key, line.cue) == ("intro_hallway", Cue.PROMPT)


@pytest.mark.parametrize(("canonical", "said"), [
    ("stop", "stop"), ("how many", "how many"), ("yes", "yes"), ("resume", "resume"),
    ("start hallway", "start hallway"), ("start walk", "start walk"),
    ("start cooldown", "start cooldown"),
])
def test_mention_is_the_first_phrase(pack: VoicePack, canonical: str, said: str) -> None:
    assert pack.mention(canonical) == said


@pytest.mark.parametrize("canonical", ["start", "start moon", "dance", "Stop", ""])
def test_mention_of_no_command_is_a_key_error(pack: VoicePack, canonical: str) -> None:
    with pytest.raises(KeyError):
        pack.mention(canonical)


def test_phrases_expand_start_with_every_routine_phrase(pack: VoicePack) -> None:
    phrases = pack.phrases()
    templates = pack.commands[Command.START]
    expected = {normalize(t.replace("{routine}", word)): (Command.START, name)
                for t in templates for name, words in pack.routines.items()
                for word in words.phrases}
    assert {p: v for p, v in phrases.items() if v[0] is Command.START} == expected
    assert phrases["begin sofa"] == (Command.START, "couch")
    assert phrases["start cool down"] == (Command.START, "cooldown")


def test_phrases_of_other_commands_carry_no_routine(pack: VoicePack) -> None:
    others = {p: v for p, v in pack.phrases().items() if v[0] is not Command.START}
    expected = {normalize(p): (c, None) for c, ps in pack.commands.items()
                if c is not Command.START for p in ps}
    assert others == expected
    assert others["how many steps"] == (Command.HOW_MANY, None)


# --- load errors --------------------------------------------------------------------------


def test_an_unedited_copy_loads(tmp_path: Path) -> None:
    # the control for every error below: each fails because of its one edit
    assert VoicePack.load(write_pack(tmp_path, SHIPPED.read_text(encoding="utf-8"))).cues


BUSY = "busy = [\"We're in the middle of the {routine}. Say {say:stop} first to change.\"]"
NO_QUESTION = "no_question = [\"I haven't asked anything.\"]"
REMINDER = 'reminder = ["Keep a hand near the wall.", '
HALLWAY_INTRO = 'intro = ["Hallway walk: {length} backward.", '

ERRORS = [
    # id, old, new, key, what the message must also say
    ("missing-cue", 'already_walking = ["We\'re already going."]\n', "",
     "cues.already_walking", ["missing", "already_walking"]),
    ("unknown-cue", "[cues]\n", '[cues]\ndance = ["La la la."]\n', "cues.dance",
     ["unknown cue", "greeting, count"]),
    ("unknown-placeholder", NO_QUESTION, 'no_question = ["I haven\'t asked {name}."]',
     "cues.no_question[0]", ["{name}", "allowed here: none"]),
    ("placeholder-of-another-cue", 'slower = ["Slowing to {cadence} steps a minute."',
     'slower = ["Slowing to {pace} steps a minute."', "cues.slower[0]",
     ["{pace}", "allowed here: {cadence}"]),
    ("placeholder-in-intro", HALLWAY_INTRO, 'intro = ["Hallway walk: {n} backward.", ',
     "routines.hallway.intro[0]", ["{n}", "allowed here: {length}"]),
    ("mention-of-no-command", NO_QUESTION, 'no_question = ["Say {say:dance}."]',
     "cues.no_question[0]", ["{say:dance}", "names no command"]),
    ("mention-of-unknown-routine", NO_QUESTION, 'no_question = ["Say {say:start moon}."]',
     "cues.no_question[0]", ["{say:start moon}", "names no command"]),
    ("duplicate-phrase", 'stop = ["stop", "stop now", "stop there"]',
     'stop = ["stop", "stop now", "stop there", "wait"]', "commands.pause",
     ["duplicate phrase 'wait'", "commands.stop"]),
    ("duplicate-of-a-start-phrase", 'yes = ["yes", ', 'yes = ["yes", "begin car", ',
     "commands.yes", ["'begin car'", "commands.start + routines.car"]),
    ("duplicate-routine-phrase", 'phrases = ["couch", "sofa"]', 'phrases = ["couch", "hall"]',
     "commands.start + routines.couch", ["'start hall'", "commands.start + routines.hallway"]),
    ("duplicate-by-case", 'stop = ["stop", "stop now", ',
     'stop = ["stop", "Stop now!", "stop now", ', "commands.stop",
     ["duplicate phrase 'stop now'", "commands.stop"]),
    ("start-without-routine", 'start = ["start {routine}", "begin {routine}"]',
     'start = ["start {routine}", "begin"]', "commands.start", ["'begin'", "{routine} once"]),
    ("start-with-another-placeholder", 'start = ["start {routine}", "begin {routine}"]',
     'start = ["start {routine}", "begin {routine} {n}"]', "commands.start",
     ["{routine} once and no other placeholder"]),
    ("unknown-command", "[commands]\n", '[commands]\ndance = ["dance"]\n', "commands.dance",
     ["unknown command", "start, stop, pause"]),
    ("unknown-routine", "[cues]\n",
     '[routines.moon]\nname = "moon"\nphrases = ["moon"]\nintro = ["Moon walk: {length}."]\n\n'
     "[cues]\n", "routines.moon", ["unknown routine", ", ".join(ROUTINE_NAMES)]),
    ("empty-variants", 'quiet = ["Okay.", "All right."]', "quiet = []", "cues.quiet",
     ["at least one"]),
]


@pytest.mark.parametrize(("old", "new", "key", "says"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_bad_pack_is_named_with_file_key_and_what_is_allowed(
        tmp_path: Path, old: str, new: str, key: str, says: list[str]) -> None:
    folder = write_pack(tmp_path, edited(old, new))
    err = load_error(folder)
    assert (err.path, err.key) == (folder / "pack.toml", key)
    assert str(err).startswith(f"{folder / 'pack.toml'}: {key}: ")
    for fragment in says:
        assert fragment in str(err)


@pytest.mark.parametrize(("count", "loads"), [(21, True), (20, False)])
def test_number_words_must_reach_twenty(tmp_path: Path, count: int, loads: bool) -> None:
    words = ", ".join(f'"{w}"' for w in VoicePack.load(SHIPPED).numbers[:count])
    text = re.sub(r"^numbers = \[.*?^\]", f"numbers = [{words}]",
                  SHIPPED.read_text(encoding="utf-8"), count=1, flags=re.S | re.M)
    folder = write_pack(tmp_path, text)
    if loads:
        assert len(VoicePack.load(folder).numbers) == count
    else:
        err = load_error(folder)
        assert err.key == "numbers"
        assert "0 to at least 20, got 20 entries" in str(err)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    folder = write_pack(tmp_path, edited("[cues]\n", "[cues\n"))
    err = load_error(folder)
    assert err.key == "(syntax)"
    assert str(err).startswith(f"{folder / 'pack.toml'}: (syntax): not valid TOML")


def test_missing_file(tmp_path: Path) -> None:
    err = load_error(tmp_path)  # a folder without a pack.toml
    assert str(err) == f"{tmp_path / 'pack.toml'}: (file): no such file"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_bytes(b"\xff\xfe" + SHIPPED.read_bytes())
    assert load_error(tmp_path).key == "(file)"


def test_unknown_unit_is_named(tmp_path: Path) -> None:
    folder = write_pack(tmp_path, edited('step = "{n} step"\n',
                                         'step = "{n} step"\nhours = "{n} hours"\n'))
    assert load_error(folder).key == "units.hours"


def test_unknown_pack_key_is_named(tmp_path: Path) -> None:
    folder = write_pack(tmp_path, edited('voice = "en-us"\n', 'voice = "en-us"\nauthr = "me"\n'))
    assert load_error(folder).key == "pack.authr"


def test_placeholder_in_a_command_phrase_is_named(tmp_path: Path) -> None:
    folder = write_pack(tmp_path, edited('stop = ["stop", ', 'stop = ["stop {routine}", "stop", '))
    assert load_error(folder).key == "commands.stop"


# --- the self-hearing guard ---------------------------------------------------------------

SELF_HEARING = [
    # id, old, new, the line's key, the phrase it contains
    ("keep-going", REMINDER, 'reminder = ["Keep going.", ', "cues.reminder[0]", "keep going"),
    ("now-stop", REMINDER, 'reminder = ["Keep a hand near the wall. Now stop.", ',
     "cues.reminder[0]", "stop"),
    ("in-an-intro", HALLWAY_INTRO, 'intro = ["Hallway walk: {length} backward. Go on!", ',
     "routines.hallway.intro[0]", "go on"),
    ("by-filling-routine", BUSY, 'busy = ["Say start {routine} again."]', "cues.busy[0]",
     "start hallway"),
    ("in-a-unit", 'step = "{n} step"', 'step = "{n} step, hold on"', "units.step", "hold on"),
]


@pytest.mark.parametrize(("old", "new", "key", "phrase"), [s[1:] for s in SELF_HEARING],
                         ids=[s[0] for s in SELF_HEARING])
def test_a_line_that_holds_a_phrase_is_refused(
        tmp_path: Path, old: str, new: str, key: str, phrase: str) -> None:
    err = load_error(write_pack(tmp_path, edited(old, new)))
    assert err.key == key
    assert f"contains {phrase!r}, a phrase the coach listens for" in str(err)


def test_a_mention_is_the_way_to_name_a_command(tmp_path: Path) -> None:
    folder = write_pack(tmp_path, edited(REMINDER, 'reminder = ["Say {say:stop} to end.", '))
    assert VoicePack.load(folder).cues["reminder"][0] == "Say {say:stop} to end."


# The whole-pack guard as a property: render every template of the shipped pack with sample
# values, the way the dialogue fills them, and look for phrases in what would be spoken.

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_MENTION = re.compile(r"\{(?:say:[^{}]*|command)\}")


def sample_values(pack: VoicePack) -> dict[str, list[str]]:
    """Values for every placeholder, as the dialogue fills them."""
    steps = [pack.steps(n) for n in (0, 1, 2, 4, 10, 12, 100, 150)]
    times = [pack.duration(s) for s in (0, 1, 30, 59, 60, 61, 90, 120, 150, 300, 3599)]
    return {"n": [*pack.numbers, "150"], "routine": [w.name for w in pack.routines.values()],
            "steps": steps, "time": times, "left": steps + times, "length": steps + times,
            "today": steps + times, "last": steps + times,
            "cadence": ["20", "60", "120"], "minutes": [pack.duration(60), pack.duration(120)],
            "seconds": [pack.duration(1), pack.duration(30)]}


def fillings(template: str, samples: dict[str, list[str]]) -> Iterator[dict[str, str]]:
    """Every combination of sample values for the template's placeholders (not mentions)."""
    names = sorted({n for n in _PLACEHOLDER.findall(template)
                    if not n.startswith("say:") and n != "command"})
    for combo in itertools.product(*(samples[n] for n in names)):
        yield dict(zip(names, combo, strict=True))


def phrases_in(text: str, phrases: dict[str, object]) -> list[str]:
    """The listened-for phrases that occur, as whole words, in ``text``."""
    words = f" {normalize(text)} "
    return [p for p in phrases if f" {p} " in words]


def literal_parts(pack: VoicePack) -> Iterator[tuple[str, str]]:
    """(key, text) for every stretch of rendered text outside mentions, in every filling."""
    samples = sample_values(pack)
    for key, template in pack.templates():
        segments = _MENTION.split(template)
        for values in fillings(template, samples):
            for segment in segments:
                yield key, _PLACEHOLDER.sub(lambda m, v=values: v[m[1]], segment)


def test_phrases_in_finds_a_phrase_among_words(pack: VoicePack) -> None:
    # the control for the property: the search does find what it looks for
    assert phrases_in("Good. Now stop, please.", pack.phrases()) == ["stop"]
    assert phrases_in("Stopped. Hold still.", pack.phrases()) == []


def test_the_property_finds_a_phrase_hidden_in_a_line(pack: VoicePack) -> None:
    # a pack built without load's checks, to show the property would catch what load catches
    bad = dataclasses.replace(pack, cues={**pack.cues, "time_count": ("{time} done. Go on.",)})
    phrases = bad.phrases()
    hits = {(key, tuple(phrases_in(text, phrases))) for key, text in literal_parts(bad)}
    assert ("cues.time_count[0]", ("go on",)) in hits


def test_the_property_renders_every_template(pack: VoicePack) -> None:
    keys = {key for key, _ in literal_parts(pack)}
    assert keys == {key for key, _ in pack.templates()}


def test_no_spoken_literal_text_contains_a_phrase(pack: VoicePack) -> None:
    phrases = pack.phrases()
    found = {(key, text, tuple(hits)) for key, text in literal_parts(pack)
             if (hits := phrases_in(text, phrases))}
    assert found == set()


def test_no_spoken_sentence_is_understood_as_a_command(pack: VoicePack) -> None:
    intents = Intents(pack)
    heard = set()
    for key, text in literal_parts(pack):
        for piece in [text, *re.split(r"[.?!:;,]", text)]:
            if not isinstance(result := intents.match(piece), NotUnderstood):
                heard.add((key, piece, result.canonical))
    assert heard == set()


def test_every_phrase_a_rendered_line_holds_is_one_it_mentions(pack: VoicePack) -> None:
    phrases = pack.phrases()
    samples = sample_values(pack)
    commands = [c.value for c in Command if c is not Command.START]
    commands += [f"start {name}" for name in pack.routines]
    unmentioned = set()
    rendered = 0
    for key, template in pack.templates():
        for values in fillings(template, samples):
            for command in commands if "{command}" in template else [None]:
                line = pack.render(template, key, Cue.ANSWER, command=command, **values)
                rendered += 1
                for phrase in phrases_in(line.text, phrases):
                    canonical = Heard(*phrases[phrase]).canonical
                    if canonical not in line.mentions:
                        unmentioned.add((key, line.text, canonical))
    assert rendered > 500
    assert unmentioned == set()
