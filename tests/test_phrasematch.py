"""Reading a transcript as a command phrase: whole phrases only, fillers, articles, repeats and
one misheard letter where that is safe."""

from __future__ import annotations

import pytest

from coach import phrasematch
from coach.events import Command
from coach.phrasematch import Match, PhraseMatcher, collapse


def canonical(match: Match | None) -> str | None:
    if match is None:
        return None
    return f"start {match.routine}" if match.command is Command.START else match.command.value


# --- matching transcripts to phrases --------------------------------------------------------


def test_every_phrase_of_the_pack_matches_itself(matcher: PhraseMatcher) -> None:
    for phrase, (command, routine) in matcher.table.items():
        match = matcher.match(phrase.capitalize() + ".")
        assert match is not None and match.how == "exact", phrase
        assert (match.command, match.routine) == (command, routine)


@pytest.mark.parametrize(("text", "expected", "how"), [
    ("Okay, stop.", "stop", "filler"),
    ("Um, start hallway please.", "start hallway", "filler"),
    ("Coach, how many?", "how many", "filler"),
    ("Slower, thank you.", "slower", "filler"),
    # the way people say them: to the coach, politely, with a little more or less
    ("Hey coach. Stop. Hey coach", "stop", "filler"),
    ("All right. Pause.", "pause", "filler"),
    ("Okay. Go on.", "resume", "filler"),  # "go" before a command is a filler, not here
    ("Go faster.", "faster", "filler"),
    ("A bit slower.", "slower", "filler"),
    ("Slow down a bit.", "slower", "filler"),
    ("Wait a second.", "pause", "filler"),
    ("Stop it.", "stop", "filler"),
    ("Sorry, what did you say?", "repeat", "filler"),
    ("Can you start the hallway?", "start hallway", "filler"),
    ("Pause for a second.", "pause", "filler"),
    ("Repeat that, please.", "repeat", "filler"),
    ("How many steps left?", "how many", "filler"),
    ("Stop right now.", "stop", "filler"),
    ("Start the hill walk, please.", "start hill", "filler"),
    ("Start the hallway.", "start hallway", "exact"),
    ("Begin the couch.", "start couch", "exact"),
    ("Stop! Stop! Stop!", "stop", "repeated"),
    # primed, tiny.en writes the phrase again, stammering, until its token limit
    ("Begin hill walk. Begin begin hill", "start hill", "repeated"),
    ("Begin cooldown. Begin begin cooldown.", "start cooldown", "repeated"),
    ("No, no. No. No", "no", "repeated"),
    # ... or garbles the repeat, or repeats the phrase without the fillers said before it
    ("Start hill walk. Start kill walk", "start hill", "repeated"),
    ("Say that again. Save that again.", "repeat", "repeated"),
    ("Okay, keep going. Keep going", "resume", "filler"),
    ("A coach. Hold on.", "pause", "filler"),  # "hey coach" with a soft h
    ("Yes, yes please.", "yes", "repeated"),
    ("Yup.", "yes", "exact"),
    ("No thanks.", "no", "exact"),
    ("I'm faster.", "faster", "filler"),  # "um, faster" in a natural voice, as tiny.en hears it
    ("U'm How many? U'm", "how many", "filler"),
])
def test_fillers_articles_and_repeats_are_taken_off(matcher: PhraseMatcher, text: str,
                                                    expected: str, how: str) -> None:
    match = matcher.match(text)
    assert canonical(match) == expected and match is not None and match.how == how


@pytest.mark.parametrize("text", [
    "I'll stop by the store.",
    "How many people are coming?",
    "Stop it, you two.",
    "Hold on to the railing.",
    "Wait for me by the door.",
    "Start the car, it's freezing.",
    "Yes, two sugars in mine.",
    "Keep going straight past the church.",
    "Stopped.",
    "Stop. Stop the car.",
    "Start hallway. Start the car.",
    "Start car. Start hall.",  # not alike enough to be the first again
    "Yes. Yet.",
    "I'm faster than you.",
    "I'm sure.",
    "",
])
def test_only_a_whole_phrase_is_a_command(matcher: PhraseMatcher, text: str) -> None:
    assert matcher.match(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Start coach.", "start couch"),  # one letter off in one word of a longer phrase
    ("Start hallways.", "start hallway"),
    ("Begin dinner tables.", "start table"),
    ("Slow dawn.", "slower"),
    ("Speed op.", None),  # "up" is too short to guess at
    ("Stap.", None),  # never in a single word
    ("Pawse.", None),
    ("Yess.", None),
    ("Hold one.", None),  # never for pause (it acts at once) ...
    ("Nott now.", None),  # ... nor for the answers to safety questions
    ("Start coaches.", None),  # two letters
    ("Start the car now.", None),
])
def test_a_misheard_letter_is_forgiven_only_where_safe(matcher: PhraseMatcher, text: str,
                                                       expected: str | None) -> None:
    match = matcher.match(text)
    assert canonical(match) == expected
    assert match is None or match.how == "fuzzy"


@pytest.mark.parametrize(("words", "truncated", "unit"), [
    (["stop", "stop", "stop"], False, ["stop"]),
    (["start", "hall", "start", "hall", "start"], False, ["start", "hall"]),
    (["pause", "pause", "p"], True, ["pause"]),
    (["pause", "pause", "p"], False, ["pause", "pause", "p"]),
    (["stop", "by", "the", "store"], False, ["stop", "by", "the", "store"]),
    (["no"], False, ["no"]),
    ([], False, []),
])
def test_collapse_finds_what_was_repeated(words: list[str], truncated: bool,
                                          unit: list[str]) -> None:
    assert collapse(words, truncated) == unit


def test_a_cut_off_repeat_counts_only_when_the_text_was_cut_off(matcher: PhraseMatcher) -> None:
    assert canonical(matcher.match("Pause. Pause. P", truncated=True)) == "pause"
    assert matcher.match("Pause. Pause. P", truncated=False) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("Hey, cold. Stop.", "stop"),  # "hey coach, stop", its first words misheard
    ("Take watch. Stop. Take watch", "stop"),
    ("Okay, sure. Stop now.", "stop"),
    ("Start hallway. Stop.", "stop"),  # stop wins
    ("Hey, cold. Pause.", "pause"),  # a pause acts at once too
    ("Take out. Hold on.", "pause"),  # "hey coach, hold on"
    ("Take all, stop.", "stop"),  # "hey coach, stop": a clause of its own
    ("Wait. Go. Wait. Go", "pause"),  # "wait, coach", and "go" the start of "go on"
    ("Wait, what did you say the time was?", None),
    ("Stop it, you two.", None),
    ("Well, that is all, stop.", None),  # more than a misheard "hey coach"
    ("Say stop. Pause. Begin", None),  # talk of the commands: the coach's own line
    ("Stop. Pause.", None),
    ("Wait. Stop.", "stop"),  # stop wins
    ("Come back here and sit down. Stop.", None),  # more than a misheard "hey coach"
    ("Stop. Stop the car.", None),
    ("Hey, cold. Stop. Start walk.", None),
    # primed, tiny.en fills its window with the start of a phrase after a stop
    ("Stop. Start. Start start.", "stop"),
    ("Hey, cold. Stop. How", "stop"),
    ("Stop. You're hurting me.", None),
    ("Pause. Start.", "pause"),
])
def test_a_stop_or_pause_after_a_few_other_words_is_one(matcher: PhraseMatcher, text: str,
                                                        expected: str | None) -> None:
    assert canonical(matcher.match(text)) == expected


def test_the_longest_filler_is_known() -> None:
    fillers = phrasematch.LEADING_FILLERS | phrasematch.TRAILING_FILLERS
    assert max(len(f.split()) for f in fillers) == phrasematch.LONGEST_FILLER


def test_fillers_a_command_may_follow(matcher: PhraseMatcher) -> None:
    assert matcher.is_lead("Hey coach.") and matcher.is_lead("Okay, so") \
        and matcher.is_lead("Can you")
    assert not matcher.is_lead("Hey coach. Stop.") and not matcher.is_lead("")
    assert not matcher.is_lead("Take off.")
    assert matcher.match("Go.") is None and matcher.match("Thank you.") is None
    assert matcher.is_prefix("Okay. Go") and matcher.is_prefix("Hey coach, start")


def test_numbers_are_words_and_the_start_of_a_phrase_waits(matcher: PhraseMatcher) -> None:
    assert matcher.words("2 steps") == ["two", "steps"]
    assert matcher.is_prefix("Start")
    assert matcher.is_prefix("Okay, how")
    assert matcher.is_prefix("What can I")
    assert not matcher.is_prefix("I'll stop by")
    assert not matcher.is_prefix("Hallway")


@pytest.mark.parametrize(("text", "phrase", "low", "high"), [
    ("Start go down. Start go down", "start cool down", 0.8, 0.9),
    ("Begin kill town.", "begin cool down", 0.65, 0.75),
    ("Start sleep vehicle. Start sleep vehicle", "start elliptical", 0.6, 0.65),
    ("Stop down. Stop down. Stop", "stop now", 0.75, 0.85),
    ("Start hallway.", "start hallway", 1.0, 1.0),
    # articles are not words more: "all the way" is heard where "hallway" was said
    ("Start all the way.", "start hallway", 0.9, 1.0),
    ("Begin a lip tickle.", "begin elliptical", 0.8, 0.85),
    ("Cailed.", "help", 0.0, 0.3),
    # text that goes on past the phrase is not like it, however it begins
    ("What did you say to the pl", "what did you say", 0.0, 0.0),
    ("What did you say? To the", "what did you say", 0.0, 0.0),
    ("Begin hill walk. Begin. Begin", "begin hill walk", 1.0, 1.0),
    ("", "stop", 0.0, 0.0),
    # as people say a command: the fillers at its ends aside, but not the phrase's own words
    ("Please lower. Please lower. Please", "slower", 0.9, 0.92),
    ("Okay, slow down a bit.", "slow down", 1.0, 1.0),
    ("Go on.", "go on", 1.0, 1.0),
])
def test_resemblance_is_how_much_a_text_looks_like_a_phrase(matcher: PhraseMatcher, text: str,
                                                            phrase: str, low: float,
                                                            high: float) -> None:
    assert low <= matcher.resemblance(text, phrase, truncated=True) <= high


@pytest.mark.parametrize(("text", "past"), [
    ("I was thinking we could go to", True),
    ("What can I say? She will always be", True),
    ("Stop. Stop. Stop. Stop", False),  # a phrase said again and again
    ("Okay, what did you say, please?", False),  # fillers aside, the longest phrase
    ("Begin the elliptical trainer. Begin the", False),
    ("I think we could", False),  # as yet no more words than a phrase and one
])
def test_a_text_can_be_past_any_phrase(matcher: PhraseMatcher, text: str, past: bool) -> None:
    assert matcher.past_any(text, truncated=True) is past


def test_a_text_missing_a_word_of_the_phrase_is_not_like_it(matcher: PhraseMatcher) -> None:
    assert matcher.resemblance("Backward walk.", "start backward walk") == 0.0
    assert matcher.resemblance("Begin begin the hill.", "begin hill") == 1.0


@pytest.mark.parametrize(("text", "phrase", "otherwise"), [
    ("Stop near.", "stop there", True),
    ("Stop man. Stop man. Stop", "stop there", True),  # said once
    ("Please stop him.", "stop there", True),  # fillers aside
    ("Hold off.", "hold on", True),
    ("Stop there.", "stop there", False),  # the phrase itself
    ("Stopping.", "stop now", False),  # a word short
    ("Stop at the store now.", "stop now", False),  # words more
    ("Start near.", "stop there", False),  # the first word otherwise too
    ("Stop.", "stop", False),  # a phrase of one word has no last word to mishear
])
def test_a_text_can_be_the_phrase_with_its_last_word_misheard(matcher: PhraseMatcher, text: str,
                                                              phrase: str, otherwise: bool
                                                              ) -> None:
    assert matcher.last_word_otherwise(text, phrase) is otherwise
