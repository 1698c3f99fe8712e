"""Scoring a phrase by hand from a toy decoding's distributions: its words, its end, what the
text goes on with, and the fillers around it."""

from __future__ import annotations

import numpy as np
import pytest

from coach import whisper_paths

VOCAB, DOT, EOT = 10, 8, 9
"""A toy vocabulary for scoring by hand: words 0-7, "." and the end of the text."""


def step(**probs: float) -> np.ndarray:
    """Log-probabilities over the toy vocabulary: the named tokens (t0..t7, dot, eot) get
    their probability and the rest share what is left."""
    index = {f"t{i}": i for i in range(8)} | {"dot": DOT, "eot": EOT}
    p = np.full(VOCAB, (1.0 - sum(probs.values())) / (VOCAB - len(probs)))
    for name, value in probs.items():
        p[index[name]] = value
    return np.log(p)


def score(tokens: list[int], steps: list[np.ndarray], ids: list[int]) -> tuple[float, float, bool]:
    return whisper_paths.path_score(tokens, steps, ids, ends=[DOT, EOT], eot=EOT)


def test_a_phrase_written_as_it_is_has_no_regret() -> None:
    steps = [step(t1=0.9), step(t2=0.8), step(dot=0.7), step(eot=0.6)]
    logprob, regret, complete = score([1, 2], steps, [1, 2, DOT])
    assert complete and regret == 0.0
    end = np.logaddexp(steps[2][DOT], steps[2][EOT])  # "." or the end of the text
    after = np.logaddexp(steps[3][EOT], steps[3][1])  # the end, or the phrase again
    assert logprob == pytest.approx(np.log(0.9) + np.log(0.8) + end + after)


def test_a_phrase_the_text_goes_on_after_has_a_cost() -> None:
    # "Yeah. The remote ...": after "Yeah." the model writes on, not the end nor "Yeah" again
    on = [step(t1=0.9), step(dot=0.9), step(t3=0.9)]
    ended = [step(t1=0.9), step(dot=0.9), step(eot=0.9)]
    repeated = [step(t1=0.9), step(dot=0.9), step(t1=0.9)]
    goes_on = score([1], on, [1, DOT, 3])
    assert goes_on[2] and goes_on[1] > 2.0
    assert score([1], ended, [1, DOT])[1] == 0.0
    assert score([1], repeated, [1, DOT, 1])[1] == 0.0


def test_a_phrase_the_text_leaves_gives_a_bound_to_complete_later() -> None:
    steps = [step(t1=0.6, t2=0.3), step(t4=0.9), step(dot=0.9)]
    logprob, regret, complete = score([2, 5], steps, [1, 4, DOT])
    assert not complete and logprob == pytest.approx(np.log(0.3))
    assert regret == pytest.approx(np.log(0.6) - np.log(0.3))
    # the text ran out (token limit) inside the phrase, or right after it
    assert not score([1, 4], steps[:1], [1])[2]
    assert not score([1, 4], steps[:2], [1, 4])[2]
    # words, not punctuation, after the phrase: it needs its end scored by a forced pass
    assert not score([1], steps, [1, 4, DOT])[2]


def test_a_filler_after_the_phrase_may_end_it() -> None:
    # "Pause please.": the phrase ends there, or after "please" (token 5), and then the text
    steps = [step(t1=0.9), step(t5=0.7, dot=0.2), step(dot=0.8), step(eot=0.9)]
    plain = score([1], steps, [1, 5, DOT])
    assert not plain[2]  # without fillers, words after the phrase need a forced pass
    logprob, regret, complete = whisper_paths.path_score(
        [1], steps, [1, 5, DOT], ends=[DOT, EOT], eot=EOT, trailing=[(5,)])
    assert complete and regret == 0.0
    ended = np.logaddexp(steps[1][DOT], steps[1][EOT])
    via = steps[1][5] + np.logaddexp(steps[2][DOT], steps[2][EOT])
    after = np.logaddexp(steps[3][EOT], steps[3][1])
    assert logprob == pytest.approx(np.log(0.9) + np.logaddexp(ended, via) + after)
    # a filler that the text goes on after is no end ("Stop it, you two")
    assert not whisper_paths.path_score([1], [*steps, step(t3=0.9)], [1, 5, 3, DOT],
                                        ends=[DOT, EOT], eot=EOT, trailing=[(5,)])[2]


def test_a_phrase_said_again_with_its_fillers_is_no_cost() -> None:
    # "Hey coach. Stop. Hey coach": after "Stop." the text starts again with "Hey" (token 6)
    steps = [step(t1=0.9), step(dot=0.9), step(t6=0.9)]
    assert score([1], steps, [1, DOT, 6])[1] > 2.0
    again = whisper_paths.path_score([1], steps, [1, DOT, 6], ends=[DOT, EOT], eot=EOT,
                                     again=[6, 1])
    assert again[2] and again[1] == 0.0
