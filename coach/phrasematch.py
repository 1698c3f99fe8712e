"""Reading a transcript as one of the voice pack's command phrases, with care.

The whole utterance must be one phrase, after fillers at its ends ("okay", "please", "coach")
and plain repetition ("stop stop") are taken off; one misheard letter in one word of a longer
phrase is forgiven, never in stop, pause, yes or no.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .events import Command
from .transitions import ACT_AT_ONCE
from .voicepack import VoicePack, normalize

LEADING_FILLERS = frozenset({
    "okay", "ok", "um", "umm", "uh", "er", "erm", "hmm", "mm", "oh", "so", "hey", "well", "and",
    "please", "coach", "alright", "right", "let's", "sorry", "just", "go", "can you", "could you",
    "would you", "will you", "a bit", "a little", "all right", "a coach", "i'm", "u'm"})
"""Words people put before a command that do not change it ("hey coach, stop", "sorry, what
did you say", "go faster", "a bit slower"); one of several words as one string. "I'm" and
"U'm" are how tiny.en writes a natural voice's "um" ("I'm faster." for "um, faster")."""
TRAILING_FILLERS = frozenset({
    "please", "coach", "okay", "ok", "thanks", "um", "uh", "it", "that", "thank you", "for me",
    "a bit", "a little", "a second", "a minute", "a moment", "for a second", "for a minute",
    "for a moment", "right now", "left", "to go", "so far"})
"""Words people put after a command that do not change it ("stop it", "repeat that", "slow
down a bit", "pause for a second", "how many steps left")."""
LONGEST_FILLER = 3
"""Words in the longest filler."""
SPELLINGS = {"yup": "yep", "yea": "yeah", "ok": "okay"}
"""Whisper's spelling of a word, as the pack spells it."""
ARTICLES = ("the", "a", "my")
"""May stand between a start word and a routine: "start the hallway"."""
EXACT_ONLY = frozenset({Command.STOP, Command.PAUSE, Command.YES, Command.NO})
"""Commands never matched from a misheard word: they act at once or answer safety questions."""
LONGER = 1.3
"""Text more than this many times as long as a phrase (in letters), or as short, is not like
it: "Backward walk." is not "start backward walk"."""
REPEAT_ALIKE = 0.8
"""How alike (letter by letter) a later sentence must be to the first to be taken for
tiny.en writing it again: "start kill walk" is 0.92 like "start hill walk"; "start car" is
0.71 like "start hall", "yet" 0.67 like "yes"."""
LEAD_WORDS = 3
"""Most words before a stop or pause said as a sentence or clause of its own that leave it
one: tiny.en mishears the words people put before a command ("Hey, cold. Stop." for "hey
coach, stop"; "Take watch. Stop."; "Take all, stop."), and a missed stop is the worst error
there is."""
QUALITY = {"exact": 1.0, "repeated": 1.0, "filler": 0.9, "fuzzy": 0.75}
"""How much each way of matching is trusted."""


@dataclass(frozen=True)
class Match:
    """A transcript that is one of the pack's phrases."""

    phrase: str
    """The phrase as the pack has it, normalised."""
    command: Command
    """Its command."""
    routine: str | None
    """Its routine, for start."""
    how: str
    """``exact``, ``repeated`` (stop stop), ``filler`` (okay stop) or ``fuzzy`` (one letter)."""

    @property
    def quality(self) -> float:
        """How much this way of matching is trusted, 0..1."""
        return QUALITY[self.how]


def _one_edit(a: str, b: str) -> bool:
    """Whether two different words are one letter apart (changed, added or dropped)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=False)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def leads(words: list[str]) -> list[int]:
    """Where a command may start after the fillers the words start with: 0, and the end of
    each filler ("okay go on": 0, 1 and 2)."""
    out = [0]
    while out[-1] < len(words):
        lo = out[-1]
        n = next((n for n in range(LONGEST_FILLER, 0, -1) if lo + n <= len(words)
                  and " ".join(words[lo:lo + n]) in LEADING_FILLERS), 0)
        if not n:
            break
        out.append(lo + n)
    return out


def strip_fillers(words: list[str], lo: int | None = None) -> list[str]:
    """The words without fillers at either end (``lo``: from there rather than after every
    filler at the start; one of two or more words at the end only where a word is left:
    "thank you" is no command with its filler taken off)."""
    lo = leads(words)[-1] if lo is None else lo
    hi = len(words)
    while hi > lo:
        n = next((n for n in range(LONGEST_FILLER, 0, -1) if hi - lo > n - (n == 1)
                  and " ".join(words[hi - n:hi]) in TRAILING_FILLERS), 0)
        if not n:
            break
        hi -= n
    return words[lo:hi]


def _again(later: list[str], first: list[str]) -> bool:
    """Whether a later sentence of a text says its first sentence again, or the start of it:
    word for word, a stammered word aside, or as tiny.en garbles a repeat, alike letter for
    letter (``REPEAT_ALIKE``) in as many words ("Start hill walk. Start kill walk", "Say that
    again. Save that again"); after the fillers the first starts with, or with them ("Okay,
    keep going. Keep going")."""
    said = unstammered(later)
    for lo in leads(first):
        target = first[lo:lo + len(said)]
        if len(target) == len(said) and (said == target or difflib.SequenceMatcher(
                None, "".join(said), "".join(target), autojunk=False).ratio() >= REPEAT_ALIKE):
            return True
    return False


def _alike(words: list[str], phrase: str) -> float:
    """How much the words look like the phrase (:meth:`PhraseMatcher.resemblance`)."""
    said_words = phrase.split()
    if len(words) > len(said_words) + 1 or (
            len(words) > len(said_words) and words[:len(said_words)] == said_words):
        return 0.0  # too long, or the phrase and then more
    heard = "".join(words)
    said = phrase.replace(" ", "")
    if not heard or not len(said) / LONGER - 1 <= len(heard) <= len(said) * LONGER + 1:
        return 0.0
    return difflib.SequenceMatcher(None, heard, said, autojunk=False).ratio()


def unstammered(words: list[str]) -> list[str]:
    """The words with a word said twice in a row said once: "begin begin hill" is "begin
    hill"."""
    return [w for i, w in enumerate(words) if i == 0 or w != words[i - 1]]


def content(words: list[str]) -> list[str]:
    """The words that count in comparing a text with a phrase: a stammered word once, and
    no articles."""
    return [w for w in unstammered(words) if w not in ARTICLES]


def collapse(words: list[str], truncated: bool = False) -> list[str]:
    """The unit a repeated utterance is made of: "stop stop stop" is "stop", and so is
    "stop stop st" when the text was cut off at the token limit."""
    n = len(words)
    for k in range(1, n):
        unit = words[:k]
        last = n - 1
        if all(words[i] == unit[i % k] for i in range(last)) and (
                words[last] == unit[last % k]
                or (truncated and unit[last % k].startswith(words[last]))):
            return unit
    return words


class PhraseMatcher:
    """Whole-utterance matching of transcripts against a voice pack's phrases."""

    trailing = TRAILING_FILLERS
    """Filler words people put after a command."""

    def __init__(self, pack: VoicePack) -> None:
        self.table = pack.phrases()
        self.aliases: dict[str, str] = {}
        verbs = [normalize(t.replace("{routine}", "")) for t in pack.commands[Command.START]]
        for phrase, (command, _) in self.table.items():
            for verb in verbs if command is Command.START else ():
                if phrase.startswith(verb + " "):
                    for article in ARTICLES:
                        alias = f"{verb} {article} {phrase[len(verb) + 1:]}"
                        if alias not in self.table:
                            self.aliases.setdefault(alias, phrase)
        self.numbers = {str(i): word for i, word in enumerate(pack.numbers)}
        self.last = frozenset(p for p, (command, _) in self.table.items()
                              if command in ACT_AT_ONCE)
        """Phrases that count after a short sentence of any words (``LEAD_WORDS``): stop
        and pause, which act at once ("Take out. Hold on." for "hey coach, hold on")."""
        self.stops = frozenset(p for p in self.last if self.table[p][0] is Command.STOP)
        every = [*self.table, *self.aliases]
        self.prefixes = {" ".join(p.split()[:i]) for p in every for i in range(1, len(p.split()))}
        self.most_words = max(len(p.split()) for p in every)
        """Words in the longest phrase, articles included."""

    def words(self, text: str) -> list[str]:
        """Normalised words, digits spelled as the pack's number words, Whisper's spellings
        as the pack's ("yup" is "yep")."""
        return [self.numbers.get(w) or SPELLINGS.get(w, w) for w in normalize(text).split()]

    def _lookup(self, words: list[str]) -> str | None:
        key = " ".join(words)
        return key if key in self.table else self.aliases.get(key)

    def match(self, text: str, *, truncated: bool = False, fuzzy: bool = True) -> Match | None:
        """The phrase the whole text is, or None; ``truncated``: the text was cut short;
        ``fuzzy``: allow one misheard letter."""
        words = self.words(text)
        how = "exact"
        unit = unstammered(self.unit(text, truncated))
        if unit != words:
            words, how = unit, "repeated"
        found = self._lookup(words)
        trimmed = strip_fillers(words)
        for lo in leads(words) if found is None else ():
            if (found := self._lookup(strip_fillers(words, lo))) is not None:
                how = "filler"
                break
        if found is None and (found := self._said_last(text)) is not None:
            how = "filler"
        if found is None and fuzzy:
            found, how = self._fuzzy(words) or self._fuzzy(trimmed), "fuzzy"
        if found is None:
            return None
        command, routine = self.table[found]
        if how == "fuzzy" and command in EXACT_ONLY:
            return None
        return Match(found, command, routine, how)

    def _said_last(self, text: str) -> str | None:
        """A stop or pause said as a sentence or clause of its own, first or after a few
        other words ("Hey, cold. Stop. Hey, cold", "Take all, stop."): the phrase, or None.
        What follows it may only say it, or the first sentence, again, or be the start of a
        phrase, which tiny.en, primed with the phrases, writes to fill its window ("Stop.
        Start. Start start."): not a whole one ("Stop. Stop the car."). A pause after words
        that say stop is none: stop wins where both are said, and "Say stop. Pause." is
        talk of the commands (the coach's "Say stop first to change." in babble)."""
        sentences = self.sentences(text, clauses=True)
        for wanted in (self.stops, self.last - self.stops):  # stop first: it wins
            lead: list[str] = []
            for k, sentence in enumerate(sentences):
                if len(lead) > LEAD_WORDS or (wanted is not self.stops and self._says_stop(lead)):
                    break
                found = self._lookup(strip_fillers(collapse(unstammered(sentence))))
                if found in wanted and all(_again(x, sentence) or _again(x, sentences[0])
                                           or " ".join(unstammered(x)) in self.prefixes
                                           for x in sentences[k + 1:]):
                    return found
                lead += sentence
        return None

    def _says_stop(self, words: list[str]) -> bool:
        """Whether a stop phrase is among the words."""
        said = f" {' '.join(words)} "
        return any(f" {phrase} " in said for phrase in self.stops)

    def _fuzzy(self, words: list[str]) -> str | None:
        """The one phrase of two or more words that differs from these in one letter of one
        word (of three letters or more), if there is exactly one."""
        if len(words) < 2:
            return None
        hits = set()
        for phrase in [*self.table, *self.aliases]:
            target = phrase.split()
            if len(target) == len(words):
                diff = [(a, b) for a, b in zip(words, target, strict=False) if a != b]
                if len(diff) == 1 and len(diff[0][1]) >= 3 and _one_edit(*diff[0]):
                    hits.add(self.aliases.get(phrase, phrase))
        return hits.pop() if len(hits) == 1 else None

    def resemblance(self, text: str, phrase: str, *, truncated: bool = False) -> float:
        """How much the text looks like the phrase, 0..1, letter by letter (spaces and
        punctuation aside), after repetition ("Begin hill walk. Begin. Begin" too) and a
        stammered word ("Begin begin the hill") are taken off, and then articles: "Start
        sleep vehicle" is 0.62 like "start elliptical", "Start go down" 0.83 like "start cool
        down", "Start all the way" 0.96 like "start hallway". Text of more than one word
        more (articles aside), the phrase and then more, or much longer or shorter, counts
        for nothing: "What did you say to the pl" is not like "what did you say", nor "Backward
        walk" like "start backward walk". The text is also taken without the fillers at its
        ends, as people say a command ("Please lower." is 0.91 like "slower")."""
        unit = self.unit(text, truncated)
        return max(_alike(content(words), phrase) for words in (unit, strip_fillers(unit)))

    def last_word_otherwise(self, text: str, phrase: str, *, truncated: bool = False) -> bool:
        """Whether the text, said once and without fillers at its ends or articles, is the
        phrase of two words or more with only its last word written otherwise: "Stop near.
        Stop near." for "stop there", "Please stop him." for "stop there"; not "Stopping.",
        nor "Stop an hour now"."""
        said = phrase.split()
        words = content(strip_fillers(self.unit(text, truncated)))
        return (len(said) > 1 and len(words) == len(said) and words[:-1] == said[:-1]
                and words[-1] != said[-1])

    def sentences(self, text: str, *, clauses: bool = False) -> list[list[str]]:
        """The normalised words of each sentence of the text that has any; ``clauses``:
        of each part between commas too ("Take all, stop.")."""
        ends = r"[.?!,]" if clauses else r"[.?!]"
        return [w for w in (self.words(part) for part in re.split(ends, text)) if w]

    def says_more(self, text: str, phrase: str) -> bool:
        """Whether the text's first sentence, articles and stammers aside, has two words or
        more beyond the phrase's: "He walks to work every day" says more than "keep going";
        "Start all the way" does not say more than "start hallway", nor "How many steps? No
        minutes," (a repeat gone wrong) than "how many steps"."""
        return len(content(next(iter(self.sentences(text)), []))) > len(phrase.split()) + 1

    def past_any(self, text: str, truncated: bool = False) -> bool:
        """Whether the text, a repeated phrase once and fillers at its ends aside, has two
        words or more beyond the longest phrase's, so that no phrase can be read in it nor
        look like it, however the sentence goes on: "I was thinking we could go to" is past
        any of the pack's; "Stop. Stop. Stop. Stop" and "Okay, what did you say?" are not."""
        words = content(strip_fillers(self.unit(text, truncated)))
        return len(words) > self.most_words + 1

    def unit(self, text: str, truncated: bool = False) -> list[str]:
        """The words of what was said once, where the text repeats it (primed with the
        phrases, tiny.en often writes a command again and again): "Begin hill walk. Begin
        begin hill" is "begin hill walk", as is "begin hill walk begin hill walk begin" cut off
        at the token limit. A later sentence counts as a repeat when it says the first again
        or the start of it (:func:`_again`); otherwise the text is taken whole."""
        sentences = self.sentences(text)
        if len(sentences) > 1 and all(_again(x, sentences[0]) for x in sentences[1:]):
            return collapse(sentences[0])  # "No, no. No. No" is "no"
        return collapse(self.words(text), truncated)

    def is_prefix(self, text: str) -> bool:
        """Whether the text is the beginning of a phrase ("start", "how"): wait for more."""
        words = self.words(text)
        return any(" ".join(words[lo:]) in self.prefixes for lo in leads(words))

    def is_lead(self, text: str) -> bool:
        """Whether the text is nothing but fillers a command may follow ("Hey coach.")."""
        words = self.words(text)
        return bool(words) and leads(words)[-1] == len(words)

    def is_short(self, text: str) -> bool:
        """Whether the text is few enough words for a stop to follow it (``LEAD_WORDS``)."""
        return 0 < len(self.words(text)) <= LEAD_WORDS
