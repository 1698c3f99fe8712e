"""Whisper tiny.en asked how well each phrase of the voice pack explains an utterance (what
:mod:`coach.whisper_judge` turns into a command and a confidence)."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from .listen import RATE
from .voicepack import normalize
from .whisper_paths import path_score, prompt_text, shared, trailing_at, written

_LOGGER = logging.getLogger(__name__)


class Sayings(Protocol):
    """How people wrap the pack's phrases in other words (a
    :class:`~coach.phrasematch.PhraseMatcher`)."""

    @property
    def aliases(self) -> Mapping[str, str]:
        """Other ways to say a phrase, scored as it: "start the hallway"."""
        ...

    @property
    def trailing(self) -> Collection[str]:
        """Filler words that may follow a phrase: "please"."""
        ...

    @property
    def last(self) -> Collection[str]:
        """Phrases that count after a short sentence or clause of any words: stop, pause."""
        ...

    def is_lead(self, text: str) -> bool:
        """Whether the text is nothing but fillers a phrase may follow ("Hey coach.")."""
        ...

    def is_short(self, text: str) -> bool:
        """Whether the text is short enough for a phrase of ``last`` to follow it."""
        ...


@dataclass(frozen=True)
class PhraseScore:
    """How well one phrase of the pack explains the audio."""

    phrase: str
    """The phrase, normalised."""
    logprob: float
    """Log-probability of its tokens and of the utterance ending after them."""
    regret: float
    """How far each of its tokens fell short of the model's favourite there, summed: 0 when
    the phrase is exactly what Whisper would have written."""
    lead: tuple[int, ...] = ()
    """The tokens of the fillers it was heard after ("Hey coach."), scored with it."""
    tokens: tuple[int, ...] = ()
    """Its own tokens as scored (after a filler its first word may be written small)."""
    fillers: str = ""
    """The filler words heard with it, before and after it ("hey coach", "please")."""


@dataclass(frozen=True)
class Scoring:
    """What tiny.en made of one utterance."""

    text: str
    """What Whisper wrote, free (primed with the phrases, but not held to them)."""
    truncated: bool
    """The text hit the token limit: there was more."""
    avg_logprob: float
    """Mean log-probability per token of that text."""
    no_speech_prob: float
    """Whisper's belief that there was no speech."""
    ranked: tuple[PhraseScore, ...]
    """The phrases that could be it, most likely first."""
    compute_s: float
    """Wall-clock seconds spent."""
    plain_regret: float | None = None
    """The regret of the likeliest phrase when the decoder is not primed with the phrases:
    priming makes tiny.en hear a phrase in sounds that are not one ("He walks" as "Begin
    walk"); unprimed, it writes what it hears ("He wants a lawyer"). None until asked for
    (:meth:`PhraseScorer.with_plain`): it only ever lowers a confidence."""
    not_words: float | None = None
    """How likely tiny.en, not primed and free to, starts with a sign that is not a word (a
    music note, a bracket: "♪", "(music)"): music and other sounds, which it hears as
    "Stop." or "Keep going." when it may only write words. None until asked for
    (:meth:`PhraseScorer.with_plain`)."""
    encoded: Any = field(default=None, repr=False, compare=False)
    """The encoder's output, for :meth:`PhraseScorer.with_plain`."""


QUIET_DB = -24.0
"""An utterance whose loudest 20 ms is quieter than this (dB of full scale) is raised to it
before Whisper hears it: its log-mel features are not normalised, and tiny.en hears a quiet
voice worse (the dev corpus's clean commands, cut at their true edges, made 20 dB quieter:
190 -> 178 of 200 acted on; raised to this level, 186, and 185 from 30 dB quieter). Louder
ones are left as they are: near the edge of a decision tiny.en is swayed by a few decibels
either way. Every utterance of the dev corpus (about -16 dB) put at exactly -16 dB changed
13 of 700 decisions, for the better as often as for the worse, and in the benchmark a
fragment of talk raised 3 dB was heard as "Step."."""
MAX_GAIN_DB = 30.0
"""The most an utterance is raised: a near-silent one is not made into a loud hiss."""


def leveled(samples: np.ndarray) -> np.ndarray:
    """int16 samples as float32 in [-1, 1] scale, raised if their loudest 20 ms is quieter
    than ``QUIET_DB``."""
    audio = samples.astype(np.float32) / 32768.0
    size = RATE // 50
    frames = audio[:len(audio) // size * size].reshape(-1, size)
    if not len(frames):
        return audio
    loudest = float(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)).max())
    gain_db = min(MAX_GAIN_DB, QUIET_DB - 20 * np.log10(max(loudest, 1e-9)))
    return audio * np.float32(10 ** (gain_db / 20)) if gain_db > 0 else audio


def _keep_best(best: dict[str, PhraseScore], score: PhraseScore) -> None:
    """Keep the score if it is the likeliest way its phrase was said so far."""
    if score.phrase not in best or score.logprob > best[score.phrase].logprob:
        best[score.phrase] = score


def _log_softmax(logits: Any) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64).reshape(-1)
    x = x - x.max()
    out: np.ndarray = x - np.log(np.exp(x).sum())
    return out


class PhraseScorer:
    """tiny.en on a short window: a free transcript, and the probability of each phrase.

    The decoder is primed with every phrase of the pack and writes the utterance greedily,
    keeping its whole distribution at each step. A phrase that shares its first tokens with
    that text is scored from those distributions up to where it leaves the text; the few
    phrases that leave it and could still beat the best complete phrase are completed in
    forced passes, side by side on the model's workers. So a clearly said command costs one
    decode, and a misheard one ("start back with walk") is still found ("start backward
    walk"). Phrases that follow the text longest are completed first: one that leaves it at
    its first word has a looser bound than one that leaves it later, and forty "start ..."
    phrases would otherwise crowd out "stop now" in "Stop down. Stop down". (A second pass
    for the next few cost a third more compute and a quarter second at p95 on the dev corpus,
    and heard no more commands.)

    People wrap a command in other words: a phrase is also scored after the fillers the text
    starts with ("Hey coach. Stop.", "Okay, go on": after "Okay," and after "Okay, go"),
    through a filler before its end ("Pause please."), and as its aliases where the text says
    them ("Start the hallway."). Scored on its own, such a phrase explains none of the sound,
    and the command was lost. A stop or pause is also scored after a short first sentence or
    clause of any words: tiny.en mishears the words before it ("Hey, cold. Stop." for "hey
    coach, stop", "Take out. Hold on." for "hey coach, hold on").

    ``pad_s`` of silence after the audio: tiny.en, trained on 30 s windows, hears a short
    utterance better with more of it. On the dev corpus (utterances cut at their true edges,
    200 clean and 200 noisy commands) the judge acts rightly on 92 % and 73 % with 2 s, 95 %
    and 78 % with 4 s, and no better in noise with 6 s (77 %) or 10 s (74.5 %); other speech
    stays at 1 false accept in 300. Each second costs ~10-15 ms.
    """

    ENDS = (".", "!", "?")
    """Punctuation that ends a phrase (so does the end of the text)."""

    def __init__(self, model: Any, phrases: Iterable[str], *, pad_s: float = 4.0,
                 complete: int = 4, said: Sayings | None = None) -> None:
        """``said``: how people wrap the phrases in other words (without it, each phrase is
        scored only as said on its own)."""
        from faster_whisper.tokenizer import Tokenizer

        self.model = model.model
        self.features = model.feature_extractor
        self.tokenizer = tok = Tokenizer(model.hf_tokenizer, model.model.is_multilingual,
                                         task="transcribe", language="en")
        self.pad_s = pad_s
        self.complete = complete
        self.phrases = {p: tuple(tok.encode(" " + written(p))) for p in sorted(set(phrases))}
        self.said = said
        aliases = said.aliases if said is not None else {}
        forms = [*((p, p) for p in self.phrases), *sorted(aliases.items())]
        self.forms = [(p, tuple(tok.encode(" " + written(a)))) for a, p in forms]
        """Each phrase and alias as written at the start of a sentence, with its phrase."""
        small = [(a, p, tuple(tok.encode(" " + written(a, first=False)))) for a, p in forms]
        self.small = [(p, tokens) for _, p, tokens in small if (p, tokens) not in self.forms]
        """The same as written after a filler without a full stop ("Okay, stop")."""
        self.aliased = {(p, tokens) for (a, p), (_, tokens) in zip(forms, self.forms, strict=True)
                        if a != p} | {(p, tokens) for a, p, tokens in small if a != p}
        """The forms of aliases: scored only where the text says them, never completed in
        a forced pass (forty "Start the ..." would crowd out the phrases themselves, which
        tiny.en often finds likelier even where it wrote "the")."""
        self.trailing = [tuple(tok.encode(sep + " " + f))
                         for f in (said.trailing if said is not None else ()) for sep in ("", ",")]
        self.max_tokens = max(len(t) for t in self.phrases.values()) + 3
        self.plain = [*tok.sot_sequence, tok.no_timestamps]
        self.prompt = [tok.sot_prev, *tok.encode(" " + prompt_text(self.phrases)), *self.plain]
        self.ends = [tok.encode(e)[0] for e in self.ENDS] + [tok.eot]
        self.clause_ends = [*self.ends, tok.encode(",")[0]]
        """What ends the short sentence or clause a stop or pause may follow."""
        self.signs = np.array(tok.non_speech_tokens)

    def __call__(self, samples: np.ndarray, *, plain: bool = True,
                 in_full: bool = True) -> Scoring:
        """Score int16 samples (one utterance); ``plain``: with the unprimed check too;
        ``in_full``: score in full the phrases the text leaves (not needed for speech longer
        than any phrase takes to say, where no phrase's score counts)."""
        import ctranslate2

        started = time.perf_counter()
        audio = leveled(samples)
        frames = round((len(audio) / RATE + self.pad_s) * 100)
        frames += frames % 2
        mel = self.features(audio, padding=frames * 160)[:, :frames]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None]))
        encoded = self.model.encode(features, to_cpu=True)
        # CTranslate2 counts the prompt, less its sot_prev token, in max_length
        free = self.model.generate(
            encoded, [self.prompt], beam_size=1, max_length=len(self.prompt) - 1 + self.max_tokens,
            return_scores=True, return_logits_vocab=True, return_no_speech_prob=True)[0]
        ids = [t for t in free.sequences_ids[0] if t < self.tokenizer.eot]
        steps = [_log_softmax(x) for x in free.logits[0]]
        best: dict[str, PhraseScore] = {}
        pending: list[tuple[PhraseScore, float]] = []
        """Phrases the text leaves (as they would be scored), with a bound on their
        log-probability."""
        for way, completable in self._ways(ids):
            score = self._score(way, steps, ids)
            if isinstance(score, PhraseScore):
                _keep_best(best, score)
            elif completable:
                pending.append(score)
        # those that follow the text longest first, then by their bound
        pending.sort(key=lambda p: (-shared((*p[0].lead, *p[0].tokens), ids), -p[1]))
        top = max((s.logprob for s in best.values()), default=-np.inf)
        if in_full:
            for score in self._complete(encoded, [way for way, bound in pending
                                                  if bound > top][:self.complete]):
                _keep_best(best, score)
        scoring = Scoring(self.tokenizer.decode(ids).strip(), len(ids) >= self.max_tokens,
                          float(free.scores[0]), float(free.no_speech_prob),
                          tuple(sorted(best.values(), key=lambda s: -s.logprob)),
                          time.perf_counter() - started, encoded=encoded)
        return self.with_plain(scoring) if plain else scoring

    def _ways(self, ids: list[int]) -> list[tuple[PhraseScore, bool]]:
        """Each phrase as it may have been said (unscored), and whether it may be completed
        in a forced pass where the text leaves it: on its own, and after the fillers the
        text starts with, if it does ("Hey coach. Stop.", "Okay, go on"). Aliases, and a stop
        after a short sentence of other words, count only where the text says them."""
        ways = [(PhraseScore(p, 0.0, 0.0, (), tokens), (p, tokens) not in self.aliased)
                for p, tokens in self.forms]
        for lead, fillers_only in self._leads(ids):
            fillers = normalize(self.tokenizer.decode(list(lead)))
            ways += [(PhraseScore(p, 0.0, 0.0, lead, tokens, fillers),
                      fillers_only and (p, tokens) not in self.aliased)
                     for p, tokens in [*self.forms, *self.small]
                     if fillers_only or (self.said is not None and p in self.said.last)]
        return ways

    def _leads(self, ids: Sequence[int]) -> list[tuple[tuple[int, ...], bool]]:
        """The text's first tokens up to the start of a word, where they are nothing but
        fillers ("Okay." and "Okay. Go" in "Okay. Go on."), with True; or where they end a
        short sentence or clause ("Hey, cold.", "Take all,"), with False: only the phrases
        that may follow any words (stop, pause) are scored after those."""
        out: list[tuple[tuple[int, ...], bool]] = []
        said = self.said
        if said is None:
            return out
        for k in range(1, len(ids)):
            if not self.tokenizer.decode([ids[k]]).startswith(" "):
                continue
            text = self.tokenizer.decode(list(ids[:k]))
            if said.is_lead(text):
                out.append((tuple(ids[:k]), True))
            elif ids[k - 1] in self.clause_ends and said.is_short(text):
                out.append((tuple(ids[:k]), False))
        return out

    def with_plain(self, scoring: Scoring) -> Scoring:
        """The scoring with the unprimed check of its likeliest phrase (one forced pass)."""
        if not scoring.ranked or scoring.encoded is None:
            return scoring
        started = time.perf_counter()
        regret = self._plain_regret(scoring.encoded, scoring.ranked[0])
        return replace(scoring, plain_regret=regret, not_words=self._not_words(scoring.encoded),
                       compute_s=scoring.compute_s + time.perf_counter() - started)

    def _not_words(self, encoded: Any) -> float:
        """The probability that the unprimed decoder's first token, none suppressed, is one
        of those that begin a sign that is not a word (Whisper's own list)."""
        result = self.model.generate(encoded, [self.plain], beam_size=1,
                                     max_length=len(self.plain) + 1, return_logits_vocab=True,
                                     suppress_tokens=[], suppress_blank=False)[0]
        first = _log_softmax(result.logits[0][0])
        return float(np.exp(first[self.signs]).sum())

    def _score(self, way: PhraseScore, steps: list[np.ndarray], ids: Sequence[int]
               ) -> PhraseScore | tuple[PhraseScore, float]:
        """The way a phrase may have been said, scored from a pass's distributions along
        the tokens it wrote; or, where they leave it, with a bound on its log-probability."""
        k = len(way.lead)
        head = [float(steps[i][ids[i]]) for i in range(k)]
        again = [way.tokens[0], *way.lead[:1], self.phrases[way.phrase][0]]
        logprob, regret, complete = path_score(
            way.tokens, steps[k:], ids[k:], ends=self.ends, eot=self.tokenizer.eot,
            trailing=self.trailing, again=again)
        logprob += sum(head)
        regret += sum(float(steps[i].max()) - h for i, h in enumerate(head))
        if not complete:
            return way, logprob
        tail = trailing_at(ids, k + len(way.tokens), self.trailing, self.ends)
        fillers = f"{way.fillers} {normalize(self.tokenizer.decode(list(tail)))}".strip()
        return replace(way, logprob=logprob, regret=regret, fillers=fillers)

    def _plain_regret(self, encoded: Any, score: PhraseScore) -> float | None:
        """The phrase's words' regret with the decoder not primed (one forced pass, after the
        fillers it was heard with); None if CTranslate2 returned too few steps."""
        tokens, k = score.tokens or self.phrases[score.phrase], len(score.lead)
        result = self.model.generate(encoded, [self.plain + list(score.lead) + list(tokens)],
                                     beam_size=1, max_length=len(self.plain) + k + len(tokens) + 3,
                                     return_logits_vocab=True)[0]
        if len(result.logits[0]) < k + len(tokens):
            return None
        steps = [_log_softmax(x) for x in result.logits[0][k:k + len(tokens)]]
        return float(sum(step.max() - step[token] for step, token in zip(steps, tokens,
                                                                           strict=True)))

    def _complete(self, encoded: Any, ways: list[PhraseScore]) -> list[PhraseScore]:
        """Score ways of saying phrases in full, each forced through the decoder (a batch on
        each of the model's workers, side by side)."""
        import ctranslate2

        if not ways:
            return []
        paths = [[*way.lead, *way.tokens, self.ends[0]] for way in ways]
        prompts = [self.prompt + path for path in paths]
        parts = max(1, min(len(prompts), self.model.num_workers))
        size = -(-len(prompts) // parts)
        one = np.asarray(encoded)
        pending = []
        for lo in range(0, len(prompts), size):
            part = prompts[lo:lo + size]
            batch = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(np.repeat(one, len(part), axis=0)))
            pending += self.model.generate(
                batch, part, beam_size=1, max_length=max(map(len, part)) + 1,
                return_logits_vocab=True, asynchronous=True)
        results = [p.result() for p in pending]
        out = []
        for way, path, result in zip(ways, paths, results, strict=True):
            steps = [_log_softmax(x) for x in result.logits[0][:len(path) + 1]]
            score = self._score(way, steps, path)
            if isinstance(score, PhraseScore):
                out.append(score)
            else:  # CTranslate2 returned fewer steps than asked: leave the phrase out
                _LOGGER.debug("no full score for %r (%d steps)", way.phrase, len(steps))
        return out
