"""Whisper's scores for the pack's phrases and its text (:mod:`coach.whisper_score`) turned
into a command and a confidence: :func:`judge`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .events import Command
from .phrasematch import PhraseMatcher
from .transitions import ACT_AT_ONCE
from .whisper_score import Scoring

URGENT = ACT_AT_ONCE
"""Commands the dialogue obeys at any confidence: they need more of it to be reported."""
REGRET_SCALE = 3.0
"""Regret (log-probability the phrase's tokens fell short of the model's favourites) that
costs a scored phrase 1/e of its confidence, plus ``REGRET_PER_WORD`` for each word."""
REGRET_PER_WORD = 2.0
"""More regret allowed for each word of the phrase: a long phrase has more places to fall
short."""
MARGIN_SCALE = 1.0
"""Lead in log-probability over the best phrase of another command that gives a scored
phrase 1 - 1/e of its confidence. These three were chosen on the dev corpus (utterances cut
at the true speech edges, 200 clean and 200 noisy commands, 300 other clips) together with
``RESEMBLES``: of the settings with no false accept on other speech, one in the middle of
those that act on the most commands (91.5 % clean, 73 % noisy). Other speech is kept out
mostly by the text (it must read as, or look like, the phrase) and by the phrase's length,
so larger regret scales change little."""
TEMPERATURE = 2.5
"""Softens the text's token probabilities into a confidence for a phrase read in the text
(with fillers, say): tiny.en is unsure of most words even when right."""
DISAGREE = 0.5
"""Confidence kept when the text and the scores point at different commands."""
RESEMBLES = 0.6
"""How much like the phrase (:meth:`~coach.phrasematch.PhraseMatcher.resemblance`), or like
another phrase of its command, the text must look for the phrase's score to be trusted on its
own ("Stop down" for "stop there" is stop: it looks like "stop now"): tiny.en often writes
a command it heard right as words that sound like it ("Start go down", "Begin kill town"),
and seldom writes other talk that way. On the dev corpus (utterances cut at the true speech
edges), with the constants as they were before it: clean commands acted on 81 % -> 86 %,
noisy 62.5 % -> 67.5 %, other speech still 0 %; 0.5 to 0.7 do about as well."""
RESEMBLES_URGENT = 0.75
"""The same for stop and pause, which act at once: "Stop down. Stop down." for "stop now"
(0.8) is a stop; a missed stop is the worst error there is. Such a stop is as sure as the
text is (its tokens' probabilities, as for a text that reads as a phrase) times how alike it
looks, if the scores are less sure: they count every token tiny.en wrote otherwise against
it ("down" for "now": 0.595 where 0.6 acts, on an Intel Xeon's arithmetic). Where the
scores find a stop or pause phrase of two words or more best and the text is that phrase
with only its last word written otherwise ("Stop near." for "stop there", espeak's Scottish
voice), ``RESEMBLES`` is enough: the scores and the text agree on the word that commands,
and the scores explain the other. Where "stop" alone explains the sound best, "Stop
building." (the coach's "start hill" in babble) still needs 0.75. Re-judged on the dev
corpus and four held-out voices (6,745 clips): 4 missed stops heard, nothing else changed."""
PLAIN_REGRET = 5.0
"""Regret per word (plus one) of the likeliest phrase, unprimed, above which it is no more
than a guess: on the dev corpus (utterances cut at the true speech edges, with the phrase's
end scored too, which adds a little) 98 % of rightly heard noisy commands stay below 4.4,
and half of other speech's best phrases are above 5."""
NOT_WORDS = 0.55
"""How likely tiny.en, unprimed and free to, must be to start with a sign rather than a word
(:attr:`~coach.whisper_score.Scoring.not_words`) for the sound to be taken for music or
another sound, not speech. Of 10 minutes of made-up piano tunes, every utterance acted on
before was at 0.55 or more (the stops 0.6 or more); of the commands rightly heard in the dev
corpus and four held-out voices, none was above 0.52 (Piper's "yes please" in babble at
10 dB; espeak-ng's at most 0.33)."""
UNSURE_TEXT = -1.5
"""Mean log-probability of the text's tokens below which a stop or pause tiny.en wrote is a
guess at a sound, not a word it made out: in loud noise it writes "Stop." for whatever it
cannot make out, from other commands ("start hill" in white noise at 10 dB: -2.5) and the
coach's own lines ("Two." in babble at 10 dB: -2.1), however clearly "stop" explains the
sound better than the other phrases. Such a stop or pause is halved (``DISAGREE``). On the
dev corpus and four held-out voices (6,295 clips re-judged): of the 36 stops and pauses
acted on where none was said, 14 are below -1.5 (18 below -1.0); of the 389 rightly acted on,
one is (an accented "hey coach, stop" in babble at 10 dB, -1.87), the next -1.41, a natural
voice's stop in babble at 20 dB -1.03. The bench loses one: "stop now" in babble at 10 dB,
-2.8, which no threshold keeps without keeping all the others."""
ANSWERS = frozenset({Command.YES, Command.NO})
"""Answers to the coach's questions ("Is the path behind you clear?")."""
AS_ITSELF = frozenset({Command.YES})
"""Acted on only when the text reads as the phrase, never from a look-alike: yes answers
safety questions, and starts what was asked about (the car routine, after "Are you in a safe
area?"). No only ever declines, as saying nothing does when the question times out, so it
is heard from a look-alike like other commands ("Lord thanks." for "no thanks", "Not out."
for "not now"). Re-judging the dev corpus and four held-out voices (6,295 clips): 15 more
commands acted on rightly, 6 of them clean espeak ones, and no other decision changed."""
SCORED_ONLY = 0.55
"""The most confidence a phrase other than stop and pause gets from its score alone, when
the text neither reads as it nor looks like it (yes: when it does not read as it):
enough for the dialogue to ask "Did you say ...?" (from 0.5), not to act (0.6). In noise, and in
other people's talk, tiny.en finds a phrase that explains a stretch of sound about as often
as the phrase was said ("Keep moving." in babble was "keep going")."""
WORDY = 0.45
"""The most confidence such a phrase gets when the text also says more than it could: two
words or more beyond the phrase, articles aside ("He walks to work every day." is no "keep
going", however well the phrase explains the sound): too little even for a question."""


@dataclass(frozen=True)
class Verdict:
    """The command an utterance most likely is, and how sure that is."""

    phrase: str
    command: Command
    routine: str | None
    confidence: float
    how: str
    """``scored`` (the phrase explains the audio best), or how the text matched."""


def longest_s(phrase: str) -> float:
    """The longest a phrase may take to say: its syllables (vowel groups) at a slow pace,
    and some. The dev corpus's slowest voice takes up to 0.6 s a syllable for one-syllable
    commands ("help"), 0.25 s for long ones."""
    syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w))) for w in phrase.split())
    return round(0.8 + 0.35 * syllables, 3)


def _text_confidence(scoring: Scoring, quality: float) -> float:
    """How sure the text is, as its tokens' probabilities softened (``TEMPERATURE``), times
    how well it reads as the phrase (``quality``), less Whisper's belief there was no
    speech."""
    return float(np.exp(scoring.avg_logprob / TEMPERATURE) * quality
                 * (1.0 - scoring.no_speech_prob))


def _scores_prefer_another(scoring: Scoring, matcher: PhraseMatcher,
                           key: tuple[Command, str | None]) -> bool:
    """Whether the scores prefer another command's phrase to the text's (every phrase of
    ``key``). Not when they are a tie between phrases they find far-fetched: the best ahead by
    no more than ``MARGIN_SCALE`` and beyond its regret scale. "Begin begin hallway." scores
    "begin walk" a hair above "begin hallway" (-9.87 and -9.95), both far from the stammer
    tiny.en wrote; where one of them is what tiny.en would write, a close rival leaves the
    text unsure."""
    best = scoring.ranked[0]
    mine = max((s.logprob for s in scoring.ranked if matcher.table[s.phrase] == key),
               default=None)
    return (mine is None or best.logprob - mine > MARGIN_SCALE
            or best.regret <= REGRET_SCALE + REGRET_PER_WORD * len(best.phrase.split()))


def judge(scoring: Scoring, matcher: PhraseMatcher, speech_s: float | None = None
          ) -> Verdict | None:
    """The best command for a scored utterance, from the phrases' scores and from reading
    its text; None when neither finds one.

    ``speech_s``: how long the speech lasted; a phrase that could not take so long to say is
    not what was said ("Ready. Say start hallway to begin" is no "stop", however Whisper
    hears it in noise). Stop and pause, which the dialogue obeys at once, need the text and
    the scores to agree, or the text to look much like the phrase, and the text not to be a
    guess (``UNSURE_TEXT``); yes needs the text to read as the phrase; any other command
    needs the text to read as it or look like it. Scores that only just prefer another
    command, among phrases they all find far-fetched, do not overrule the text.
    """
    if scoring.not_words is not None and scoring.not_words >= NOT_WORDS:
        return None
    found = []
    if scoring.ranked and (speech_s is None or speech_s <= longest_s(
            f"{scoring.ranked[0].fillers} {scoring.ranked[0].phrase}")):
        best = scoring.ranked[0]
        key = matcher.table[best.phrase]
        rival = next((s.logprob for s in scoring.ranked[1:] if matcher.table[s.phrase] != key),
                     None)
        lead = 1.0 if rival is None else 1.0 - np.exp(-(best.logprob - rival) / MARGIN_SCALE)
        scale = REGRET_SCALE + REGRET_PER_WORD * len(best.phrase.split())
        confidence = (np.exp(-best.regret / scale) * lead
                      * (1.0 - scoring.no_speech_prob))
        found.append(Verdict(best.phrase, *key, float(confidence), "scored"))
    match = matcher.match(scoring.text, truncated=scoring.truncated)
    if match is not None:
        confidence = _text_confidence(scoring, match.quality)
        found.append(Verdict(match.phrase, match.command, match.routine, float(confidence),
                             match.how))
    if not found:
        return None
    found.sort(key=lambda v: -v.confidence)
    verdict = found[0]
    key = (verdict.command, verdict.routine)
    agree = [v for v in found if (v.command, v.routine) == key]
    like = 0.0 if match is not None or verdict.command in AS_ITSELF else max(
        matcher.resemblance(scoring.text, phrase, truncated=scoring.truncated)
        for phrase, of in matcher.table.items() if of == key)
    top = scoring.ranked[0] if scoring.ranked else None
    last_misheard = (top is not None and matcher.table[top.phrase] == key
                     and matcher.last_word_otherwise(scoring.text, top.phrase,
                                                     truncated=scoring.truncated))
    alike = like >= (RESEMBLES_URGENT if verdict.command in URGENT and not last_misheard
                     else RESEMBLES)
    scored_only = (WORDY if match is None and matcher.says_more(scoring.text, verdict.phrase)
                   else SCORED_ONLY)
    guess = (top is not None and scoring.plain_regret is not None
             and matcher.table[top.phrase] == key
             and scoring.plain_regret > PLAIN_REGRET * (1 + len(top.phrase.split())))
    overruled = len(agree) < len(found) and (verdict.how == "scored"
                                             or _scores_prefer_another(scoring, matcher, key))
    # a stop or pause from a guess, primed (``guess``) or at a noise (``UNSURE_TEXT``)
    unsure = verdict.command in URGENT and (guess or scoring.avg_logprob < UNSURE_TEXT)
    if overruled or unsure:
        verdict = replace(verdict, confidence=verdict.confidence * DISAGREE)
    elif guess:  # primed, tiny.en hears the phrase; left to itself, something else
        verdict = replace(verdict, confidence=min(verdict.confidence, scored_only))
    elif verdict.command in URGENT and alike:  # as sure as the text, for how alike it is
        verdict = replace(verdict, confidence=max(verdict.confidence,
                                                  _text_confidence(scoring, like)))
    elif (verdict.command in URGENT and len(found) == 2) or alike:
        pass  # the text reads as the phrase the scores found, or looks like it
    elif verdict.command in URGENT:
        verdict = replace(verdict, confidence=verdict.confidence * DISAGREE)
    elif match is None:  # only the scores say so: worth a question, not an action
        verdict = replace(verdict, confidence=min(verdict.confidence, scored_only))
    return replace(verdict, confidence=round(verdict.confidence, 3))
