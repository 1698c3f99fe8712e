"""A phrase as tiny.en writes it, and how well a decoding's distributions explain it: pure
functions over token ids, no model (:mod:`coach.whisper_score` runs the model)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import numpy as np


def shared(tokens: Sequence[int], ids: Sequence[int]) -> int:
    """How many first tokens of a phrase the text has."""
    n = 0
    while n < min(len(tokens), len(ids)) and tokens[n] == ids[n]:
        n += 1
    return n


def trailing_at(ids: Sequence[int], at: int, trailing: Iterable[Sequence[int]],
                ends: Collection[int]) -> tuple[int, ...]:
    """The filler (as tokens, one of ``trailing``) the text has at ``at`` before it ends
    ("please."), or ()."""
    for filler in trailing:
        after = at + len(filler)
        if tuple(ids[at:after]) == tuple(filler) and (after == len(ids) or ids[after] in ends):
            return tuple(filler)
    return ()


def path_score(tokens: Sequence[int], steps: Sequence[np.ndarray], ids: Sequence[int], *,
               ends: Sequence[int], eot: int, trailing: Iterable[Sequence[int]] = (),
               again: Sequence[int] = ()) -> tuple[float, float, bool]:
    """A phrase's (log-probability, regret, complete) from a pass's distributions ``steps``
    (log-probabilities over the vocabulary, one per token written) and the tokens ``ids`` it
    wrote. Incomplete when the pass left the phrase before its end: the log-probability is
    then an upper bound, for the part that was scored.

    Scored: the phrase's tokens, then its end (``ends``: punctuation or the end of the text),
    then what follows the punctuation: the end of the text or the phrase again (tiny.en
    repeats a short phrase to fill a short window: "Stop. Stop. Stop."; ``again``: other
    tokens that start it again, "Hey" in "Hey coach. Stop. Hey coach"). So "Yeah. The
    remote is under the cushion." is no "yeah". Where the text has one of the ``trailing``
    fillers after the phrase and then its end ("Pause please."), the phrase's end is its end
    there or after the filler. Regret: how far each step fell short of the
    model's favourite there, summed; 0 when the phrase is exactly what it would write."""
    logprob = regret = 0.0

    def add(step: np.ndarray, value: float) -> None:
        nonlocal logprob, regret
        logprob += value
        regret += max(0.0, float(step.max()) - value)

    for i, token in enumerate(tokens):
        if i >= len(steps):
            return logprob, regret, False
        add(steps[i], float(steps[i][token]))
        if i >= len(ids) or ids[i] != token:
            return logprob, regret, False
    k = len(tokens)
    if k >= len(steps):
        return logprob, regret, False
    end = float(np.logaddexp.reduce(steps[k][list(ends)]))
    tail = trailing_at(ids, k, trailing, ends)
    if tail:
        if k + len(tail) >= len(steps):
            return logprob, regret, False
        via = sum(float(steps[k + j][t]) for j, t in enumerate(tail))
        end = float(np.logaddexp(end, via + np.logaddexp.reduce(steps[k + len(tail)][list(ends)])))
    add(steps[k], end)
    k += len(tail)
    if k < len(ids):  # the text goes on after the phrase
        if ids[k] not in ends or k + 1 >= len(steps):
            return logprob, regret, False
        follow = sorted({eot, tokens[0], *again})
        add(steps[k + 1], float(np.logaddexp.reduce(steps[k + 1][follow])))
    return logprob, regret, True


def written(phrase: str, first: bool = True) -> str:
    """A phrase as Whisper writes it at the start of a sentence ("How many", "What can I
    say"), or not (``first`` False: "what can I say")."""
    words = ["I" if w == "i" else w for w in phrase.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if first else text



def prompt_text(phrases: Iterable[str]) -> str:
    """The phrases written as Whisper writes them: a sentence each."""
    return " ".join(written(p) + ("?" if p.split()[0] in ("how", "what") else ".")
                    for p in sorted(phrases))
