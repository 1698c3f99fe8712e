"""The level Whisper hears, and judging the scores: which command, how sure, and when only a
question is warranted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from coach import whisper_judge, whisper_score
from coach.events import Command
from coach.phrasematch import PhraseMatcher
from coach.voicepack import normalize

# --- the level Whisper hears -----------------------------------------------------------------


def loudest_db(audio: np.ndarray) -> float:
    frames = audio[:len(audio) // 320 * 320].reshape(-1, 320).astype(np.float64)
    return float(20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)).max()))


@pytest.mark.parametrize("db", [-50.0, -40.0, -30.0, -16.0, -3.0])
def test_a_quiet_utterance_is_raised_and_a_loud_one_left_alone(db: float) -> None:
    t = np.arange(16000) / 16000
    voice = np.sin(2 * np.pi * 200 * t) * (t > 0.5) * np.sqrt(2) * 10 ** (db / 20)
    leveled = whisper_score.leveled((voice * 32768).astype(np.int16))
    assert leveled.dtype == np.float32
    expected = max(db, min(whisper_score.QUIET_DB, db + whisper_score.MAX_GAIN_DB))
    assert loudest_db(leveled) == pytest.approx(expected, abs=0.3)


def test_a_near_silence_is_raised_no_more_than_the_most_gain() -> None:
    hiss = np.random.default_rng(0).normal(0, 3, 16000).astype(np.int16)
    raised = loudest_db(whisper_score.leveled(hiss)) - loudest_db(hiss / 32768.0)
    assert raised == pytest.approx(whisper_score.MAX_GAIN_DB, abs=0.01)
    assert len(whisper_score.leveled(np.zeros(10, np.int16))) == 10


def scoring(text: str, ranked: list[tuple[str, float, float]], *, avg_logprob: float = -0.2,
            no_speech: float = 0.01, plain_regret: float | None = None
            ) -> whisper_score.Scoring:
    return whisper_score.Scoring(text, False, avg_logprob, no_speech,
                                 tuple(whisper_score.PhraseScore(*r) for r in ranked), 0.1,
                                 plain_regret)


def test_a_clear_best_phrase_is_a_sure_command(matcher: PhraseMatcher) -> None:
    verdict = whisper_judge.judge(scoring("Stop.", [("stop", -0.2, 0.0)]), matcher)
    assert verdict is not None and verdict.command is Command.STOP and verdict.confidence > 0.9


def test_a_sound_tiny_en_would_rather_write_a_sign_for_is_no_command(matcher: PhraseMatcher
                                                                     ) -> None:
    # a tune on a piano, primed with the phrases: "Stop."; unprimed and free to: "♪"
    heard = scoring("Stop.", [("stop", -3.8, 0.0)], avg_logprob=-1.4, no_speech=0.2,
                    plain_regret=4.3)
    verdict = whisper_judge.judge(heard, matcher)
    assert verdict is not None and verdict.confidence > 0.6, "without the check: a stop"
    for not_words, command in ((0.8, False), (whisper_judge.NOT_WORDS, False), (0.5, True),
                               (0.1, True)):
        verdict = whisper_judge.judge(replace(heard, not_words=not_words), matcher)
        assert (verdict is not None) is command, not_words


def test_a_stop_the_text_and_the_scores_agree_on_is_heard_in_noise(
        matcher: PhraseMatcher) -> None:
    # babble at 10 dB: tiny.en writes "Stop." unsure of each token (~30 %), while "stop"
    # explains the sound far better than any other command's phrase: a stop is heard
    noisy = scoring("Stop.", [("stop", -3.48, 0.0), ("no", -7.87, 2.0)], avg_logprob=-1.2)
    verdict = whisper_judge.judge(noisy, matcher)
    assert verdict is not None and verdict.command is Command.STOP
    assert verdict.confidence >= 0.6 and verdict.how == "scored"
    # the scores alone, with the text unsure and something else, stay below acting
    garbled = whisper_judge.judge(scoring("Stuff.", [("stop", -3.48, 0.0), ("no", -7.87, 2.0)],
                                          avg_logprob=-1.2), matcher)
    assert garbled is not None and garbled.confidence < 0.6


@pytest.mark.parametrize("command", ["Stop.", "Wait."])
def test_a_stop_written_in_a_guess_at_a_loud_noise_is_not_heard(matcher: PhraseMatcher,
                                                                 command: str) -> None:
    # "start hill" in white noise at 10 dB: tiny.en writes "Stop.", ~8 % sure of each token
    # (the coach's "Two." in babble: "Stop.", ~13 %), and "stop" still explains the sound
    # far better than the other phrases
    phrase = normalize(command)
    for avg_logprob, heard in ((-2.5, False), (whisper_judge.UNSURE_TEXT - 0.01, False),
                               (whisper_judge.UNSURE_TEXT + 0.01, True), (-0.5, True)):
        verdict = whisper_judge.judge(scoring(command, [(phrase, -4.9, 0.0), ("no", -9.0, 2.0)],
                                              avg_logprob=avg_logprob), matcher)
        assert verdict is not None and verdict.command in whisper_judge.URGENT
        assert (verdict.confidence >= 0.6) is heard, avg_logprob


def test_a_close_rival_of_another_command_makes_it_unsure(matcher: PhraseMatcher) -> None:
    # noise: "Stop." and "Start dinner table." explain the audio about equally well
    close = scoring("Start dinner table.", [("stop", -4.29, 0.1), ("start dinner table", -4.36,
                                                                 0.0)])
    verdict = whisper_judge.judge(close, matcher)
    assert verdict is not None and verdict.command is not Command.STOP
    assert verdict.confidence < 0.6, "asked about, not acted on"
    alone = whisper_judge.judge(scoring("Mm.", [("stop", -4.29, 0.1), ("start dinner table", -4.36,
                                                                0.0)]), matcher)
    assert alone is not None and alone.confidence < 0.1
    # a rival of the same command does not count against it
    same = scoring("Start hallway.", [("start hallway", -1.0, 0.0), ("begin hallway", -1.1,
                                                                      0.5)])
    verdict = whisper_judge.judge(same, matcher)
    assert verdict is not None and verdict.routine == "hallway" and verdict.confidence > 0.6


def test_regret_and_silence_lower_the_confidence(matcher: PhraseMatcher) -> None:
    sure = whisper_judge.judge(scoring("Help.", [("help", -0.5, 0.0)]), matcher)
    strained = whisper_judge.judge(scoring("Hell.", [("help", -6.0, 4.0)], avg_logprob=-3.0),
                                   matcher)
    hiss = whisper_judge.judge(scoring("Help.", [("help", -0.5, 0.0)], no_speech=0.8), matcher)
    assert sure is not None and strained is not None and hiss is not None
    assert sure.confidence > 0.9 > 0.6 > strained.confidence
    assert hiss.confidence == pytest.approx(sure.confidence * 0.2, abs=0.01)


def test_a_phrase_only_the_scores_find_is_asked_about_not_acted_on(
        matcher: PhraseMatcher) -> None:
    # "help" and "resume", misheard as words that do not look like them
    for text, phrase in (("Cailed.", "help"), ("Let's move.", "resume")):
        verdict = whisper_judge.judge(scoring(text, [(phrase, -1.0, 0.2)]), matcher)
        assert verdict is not None and verdict.how == "scored"
        assert 0.35 <= verdict.confidence < 0.6


def test_a_phrase_in_a_text_that_says_more_is_not_even_asked_about(
        matcher: PhraseMatcher) -> None:
    # the phrase explains the sound, but tiny.en, primed with the phrases, wrote a sentence
    talk = whisper_judge.judge(scoring("He walks to work every day.",
                                       [("keep going", -1.0, 0.2)]), matcher)
    assert talk is not None and talk.confidence < 0.5
    # a word more, articles, or a repeat gone wrong after the phrase still get a question
    for text, phrase in (("Start dog food.", "start hallway"),
                         ("How many steps? No minutes,", "how many steps")):
        verdict = whisper_judge.judge(scoring(text, [(phrase, -1.0, 0.2)]), matcher)
        assert verdict is not None and 0.5 <= verdict.confidence < 0.6, (text, verdict)


def test_a_phrase_the_text_looks_like_is_acted_on(matcher: PhraseMatcher) -> None:
    for text, phrase in (("Start go down. Start go down.", "start cool down"),
                         ("Begin kill town.", "begin cool down"),
                         ("Start all the way.", "start hallway"),
                         ("Stop down. Stop down.", "stop now"),
                         ("Stop down. Stop down.", "stop there"),  # looks like "stop now"
                         ("Know.", "no")):  # no only declines
        verdict = whisper_judge.judge(scoring(text, [(phrase, -1.0, 0.2)]), matcher)
        assert verdict is not None and verdict.confidence >= 0.6, (text, verdict)
    # but yes, which starts what a safety question asked about, must be what the text says
    verdict = whisper_judge.judge(scoring("Yet.", [("yes", -1.0, 0.2)]), matcher)
    assert verdict is not None and verdict.command is Command.YES and verdict.confidence < 0.6
    # and stop or pause must look much like it: "Stopping." is not "stop now"
    verdict = whisper_judge.judge(scoring("Stopping.", [("stop now", -1.0, 0.2)]), matcher)
    assert verdict is not None and verdict.confidence < 0.6


def test_a_stop_the_text_looks_much_like_is_as_sure_as_the_text(matcher: PhraseMatcher
                                                                ) -> None:
    # the scores count "down" for "now" against the phrase; a clear text that looks much
    # like it keeps the stop (a missed stop is the worst error)
    ranked = [("stop now", -4.0, 4.0), ("start walk", -8.0, 6.0)]
    clear = whisper_judge.judge(scoring("Stop down. Stop down.", ranked, avg_logprob=-0.3),
                                matcher)
    assert clear is not None and clear.command is Command.STOP and clear.confidence >= 0.6
    # not a muddled one, nor one that does not look much like it
    muddled = whisper_judge.judge(scoring("Stop down. Stop down.", ranked, avg_logprob=-1.5),
                                  matcher)
    assert muddled is not None and muddled.confidence < 0.6
    unlike = whisper_judge.judge(scoring("Stopping.", ranked, avg_logprob=-0.3), matcher)
    assert unlike is not None and unlike.confidence < 0.6


def test_a_stop_the_scores_find_whole_with_its_last_word_misheard_is_a_stop(
        matcher: PhraseMatcher) -> None:
    # espeak's Scottish "stop there", clean: "Stop near. Stop near. Stop", looking 0.71 like
    # a stop phrase (0.75 needed otherwise), while the scores find "stop there" best
    ranked = [("stop there", -1.92, 0.03), ("stop now", -2.99, 1.05), ("stop", -6.38, 2.56),
              ("start hill", -9.0, 5.0)]
    heard = whisper_judge.judge(scoring("Stop near. Stop near. Stop", ranked,
                                        avg_logprob=-0.44), matcher)
    assert heard is not None and heard.command is Command.STOP and heard.confidence >= 0.6
    # where "stop" alone explains the sound best, the word after it was something else
    # ("start hill" in babble: "Stop building.")
    alone = [("stop", -4.85, 0.88), ("stop now", -8.34, 5.51), ("start hill", -9.0, 5.0)]
    for text, ranking in (("Stop near.", alone), ("Stop building.", alone),
                          ("Stop building.", ranked)):  # looks too little like any
        verdict = whisper_judge.judge(scoring(text, ranking, avg_logprob=-0.73), matcher)
        assert verdict is not None and verdict.confidence < 0.6, text


def test_a_phrase_heard_only_when_primed_is_a_guess(matcher: PhraseMatcher) -> None:
    # "He walks" heard as "Begin walk." only because the decoder was primed with the phrases
    ranked = [("begin walk", -0.5, 0.0)]
    sure = whisper_judge.judge(scoring("Begin walk.", ranked, plain_regret=0.8), matcher)
    primed = whisper_judge.judge(scoring("Begin walk.", ranked, plain_regret=16.0), matcher)
    assert sure is not None and sure.confidence > 0.9
    assert primed is not None and primed.command is Command.START
    assert primed.confidence == whisper_judge.SCORED_ONLY, "asked about, not acted on"
    stop = whisper_judge.judge(scoring("Stop.", [("stop", -0.5, 0.0)], plain_regret=12.0),
                               matcher)
    assert stop is not None and stop.confidence < 0.6


def test_a_command_read_in_the_text_counts_when_no_phrase_scores(matcher: PhraseMatcher) -> None:
    verdict = whisper_judge.judge(scoring("Okay, stop please.", []), matcher)
    assert verdict is not None and verdict.command is Command.STOP and verdict.how == "filler"
    assert whisper_judge.judge(scoring("I'll stop by the store.", []), matcher) is None


def test_text_and_scores_that_disagree_halve_the_confidence(matcher: PhraseMatcher) -> None:
    verdict = whisper_judge.judge(scoring("Faster.", [("slower", -0.3, 0.0)]), matcher)
    alone = whisper_judge.judge(scoring("Faster.", []), matcher)
    assert verdict is not None and alone is not None
    assert verdict.confidence <= 0.5 * max(alone.confidence, 0.99) + 0.001


def test_scores_that_only_just_prefer_another_command_do_not_overrule_the_text(
        matcher: PhraseMatcher) -> None:
    # a natural voice's "begin hallway", written with a stammer: both routines' phrases fall
    # far short of it, "begin walk" by a hair less
    stammer = "Begin begin hallway. Begin begin hallway"
    tie = whisper_judge.judge(scoring(stammer, [("begin walk", -9.87, 9.45),
                                                ("begin hallway", -9.95, 8.83)]), matcher)
    assert tie is not None and tie.routine == "hallway" and tie.confidence >= 0.6
    clear = whisper_judge.judge(scoring(stammer, [("begin walk", -4.0, 3.0),
                                                  ("begin hallway", -9.95, 8.83)]), matcher)
    assert clear is not None and clear.confidence < 0.5


@pytest.mark.parametrize("phrase", ["yes", "stop now", "how many steps", "begin elliptical"])
def test_a_phrase_is_scored_up_to_the_longest_it_may_take_and_not_beyond(
        matcher: PhraseMatcher, phrase: str) -> None:
    longest = whisper_judge.longest_s(phrase)
    assert longest == round(longest, 3), "no float residue: 50 ms chunks add up to it"
    said = scoring("Mm.", [(phrase, -0.3, 0.0)])
    assert whisper_judge.judge(said, matcher, speech_s=longest) is not None
    assert whisper_judge.judge(said, matcher, speech_s=longest + 0.05) is None
    # a long sentence heard as a short command in noise is refused however Whisper hears it
    assert whisper_judge.judge(said, matcher, speech_s=4.0) is None


def test_no_is_heard_from_a_look_alike(matcher: PhraseMatcher) -> None:
    # espeak's "no thanks", clean: tiny.en writes "Lord thanks.", and "no thanks" explains the
    # sound best by far; no only declines (as no answer does), so it may be heard so
    lord = whisper_judge.judge(scoring("Lord thanks.", [("no thanks", -1.5, 0.9),
                                                         ("start hallway", -9.0, 6.0)]),
                               matcher)
    assert lord is not None and lord.command is Command.NO and lord.confidence >= 0.6
