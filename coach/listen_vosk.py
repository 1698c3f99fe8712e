"""The Vosk engine (offline Kaldi), restricted to the voice pack's phrases."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import json
import logging
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CoachError
from .events import Heard
from .intents import Intents
from .listen import RATE, Endpointer, Recognition, has_voice, keep_last
from .transitions import ACT_AT_ONCE
from .voicepack import VoicePack, normalize

_LOGGER = logging.getLogger(__name__)

UNKNOWN = "[unk]"
"""The unknown-word token of most Vosk models; :func:`unknown_word` finds a model's own."""
UNKNOWN_TOKENS = ("[unk]", "<unk>", "<UNK>")
"""How Kaldi recipes spell the unknown word (the Korean model says ``<UNK>``)."""
_FST_MAGIC, _SYMBOLS_MAGIC = 2125659606, 2125658996
EARLY = ACT_AT_ONCE
"""Commands that commit from a stable partial result, before the utterance is over."""
EARLY_QUIET_S = 0.1
"""Quiet after a partial "stop" before it commits: long enough that "stop by the store"
goes on, short enough to beat the end of the utterance."""
KEPT_S = 10.0
"""Audio kept to check that the words of a result were voiced."""
WORD_MARGIN_S = 0.1
"""Audio taken beyond the ends of a result's words (Vosk's word times are approximate)."""
_MISSING = re.compile(r"Ignoring word missing in vocabulary: '(.*)'")
DITHER_SEED = 1
"""Seed of the C library's ``rand``, from which Kaldi draws the noise it adds to the samples
(its dither) before its features: drawn afresh, the same file was heard otherwise from run
to run (3 of 12 clean Korean commands)."""


@functools.cache
def _c_library() -> Any:
    """The C library (finding it takes about 1.5 ms), or None where there is none to load."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name)
    except (OSError, TypeError):
        _LOGGER.debug("cannot load the C library (%s): Vosk's results may vary", name)
        return None


def seed_dither(seed: int = DITHER_SEED) -> None:
    """Seed the C library's ``rand``, which Kaldi's dither draws from, where there is one."""
    library = _c_library()
    if library is not None and hasattr(library, "srand"):
        library.srand(seed)


class VoskUnavailable(CoachError):
    """Vosk or its model cannot be loaded."""


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Collect what Kaldi writes to the stderr file descriptor (it bypasses sys.stderr)."""
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += sink.read().decode("utf-8", "replace").splitlines()


def _decode(word: str) -> str:
    # Kaldi logs non-ASCII words JSON-escaped (\\uXXXX)
    try:
        return str(json.loads(f'"{word}"'.replace("\\\\", "\\")))
    except ValueError:
        return word


def unknown_word(model_path: Path) -> str:
    """The model's unknown-word token, from ``graph/words.txt`` or else the word list inside
    ``graph/Gr.fst`` (where Vosk reads it from); ``[unk]`` when neither says."""
    words = model_path / "graph" / "words.txt"
    if words.is_file():
        with words.open(encoding="utf-8", errors="replace") as f:
            found = {line.split(maxsplit=1)[0] for line in f if line.strip()} & set(UNKNOWN_TOKENS)
    else:
        found = set(_fst_words(model_path / "graph" / "Gr.fst", UNKNOWN_TOKENS))
    return next((t for t in UNKNOWN_TOKENS if t in found), UNKNOWN)


def _fst_words(path: Path, wanted: tuple[str, ...], limit: int = 1 << 22) -> list[str]:
    """The first of ``wanted`` in the input symbol table of an OpenFst binary file, reading at
    most ``limit`` bytes (the table comes right after the header; unknown words sit near its
    start). An unreadable or foreign file holds none."""
    try:
        with path.open("rb") as f:
            data = f.read(limit)
    except OSError:
        return []
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value

    def text() -> bytes:
        nonlocal pos
        n = take("<i")
        if n < 0 or pos + n > len(data):
            raise struct.error("string runs past the data")
        pos += n
        return data[pos - n:pos]

    found: list[str] = []
    try:
        if take("<i") != _FST_MAGIC:
            return []
        text(), text()  # fst type, arc type
        _version, flags = take("<i"), take("<i")
        pos += 8 * 4  # properties, start, number of states, number of arcs
        if not flags & 1 or take("<i") != _SYMBOLS_MAGIC:
            return []
        text()  # the table's name
        _available, size = take("<q"), take("<q")
        for _ in range(size):
            word = text().decode("utf-8", "replace")
            pos += 8  # its key
            if word in wanted:
                found.append(word)
                break
    except struct.error:
        pass  # read as far as the limit
    return found


class VoskRecognizer:
    """Vosk in grammar mode: only the pack's phrases, plus the number words the coach counts
    with (decoys: a count it hears is not forced onto a command that sounds like it) and the
    model's unknown word for everything else.

    A command counts only when the whole utterance is exactly one phrase, so "I'll stop by
    the store" is no stop. Utterances end by Vosk's own endpointing or by the shared
    :class:`Endpointer` (250 ms of quiet), whichever is first; a complete "stop" or "pause"
    commits from the partial result as soon as it is followed by a short quiet. Words with no
    voiced sound under them (:data:`~coach.listen.MIN_VOICED_S`: a whistle) are no command.
    """

    engine = "vosk"

    def __init__(self, model_path: Path, pack: VoicePack, *, min_confidence: float = 0.3
                 ) -> None:
        try:
            import vosk
        except ImportError as err:
            raise VoskUnavailable(f"vosk is not installed ({err}); pip install vosk") from None
        vosk.SetLogLevel(0)
        self.phrases = pack.phrases()
        self.intents = Intents(pack)
        self.min_confidence = min_confidence
        self.unknown = unknown_word(model_path)
        """The model's unknown-word token."""
        self.decoys = sorted({normalize(n) for n in pack.numbers} - set(self.phrases) - {""})
        with _captured_stderr() as log:
            try:
                self.model = vosk.Model(str(model_path))
                vosk.KaldiRecognizer(self.model, RATE, self._grammar_json())  # logs missing words
            except Exception as err:  # vosk raises bare Exceptions for a bad model folder
                raise VoskUnavailable(f"cannot load the Vosk model in {model_path}: {err}"
                                      ) from None
        missing = sorted({_decode(m[1]) for line in log if (m := _MISSING.search(line))})
        self.missing_words = [w for w in missing if w != self.unknown
                              and any(w in p.split() for p in self.phrases)]
        """Words of the pack's phrases that the model does not know (Vosk drops them)."""
        self.decoys = [d for d in self.decoys if not set(d.split()) & set(missing)]
        """The decoys the model knows (Vosk drops the others from the grammar)."""
        self._grammar = self._grammar_json()
        if self.missing_words:
            _LOGGER.warning("the Vosk model does not know these words of the voice pack, so "
                            "phrases with them cannot be heard: %s",
                            ", ".join(self.missing_words))
        vosk.SetLogLevel(-2)  # errors only: Kaldi warns of word alignments it drops
        self.endpointer = Endpointer()
        self.t = 0.0
        self.reset()

    def _grammar_json(self) -> str:
        """The grammar Vosk is restricted to: the phrases, the decoys, the unknown word."""
        return json.dumps([*sorted(self.phrases), *self.decoys, self.unknown],
                          ensure_ascii=False)

    def reset(self) -> None:
        """Forget everything heard so far, and hear the same audio the same way every time:
        a new Kaldi recogniser (0.5 ms; ``Reset`` keeps what the old one had adapted to, so a
        file was heard otherwise after other files), its dither drawn from ``DITHER_SEED``."""
        import vosk

        seed_dither()
        self._recognizer = vosk.KaldiRecognizer(self.model, RATE, self._grammar)
        self._recognizer.SetWords(True)
        self._recognizer.SetPartialWords(True)
        self.endpointer.reset()
        self.t = 0.0
        self._committed = False
        self._heard_anything = False
        self._kept: list[np.ndarray] = []
        """The last ``KEPT_S`` of audio, up to now."""

    def accept(self, chunk: np.ndarray) -> list[Recognition]:
        """Feed the next chunk; return the utterances decided by its end."""
        self.t += len(chunk) / RATE
        self._kept.append(chunk)
        keep_last(self._kept, KEPT_S)
        edge = self.endpointer.feed(chunk)
        out: list[Recognition] = []
        if self._recognizer.AcceptWaveform(np.ascontiguousarray(chunk, np.int16).tobytes()):
            out += self._final(json.loads(self._recognizer.Result()))
            return out
        if edge == "start":
            self._heard_anything = True
        partial = json.loads(self._recognizer.PartialResult())
        text = normalize(partial.get("partial", ""))
        if text:
            self._heard_anything = True
        if not self._committed and text in self.phrases:
            command = self.phrases[text][0]
            if command in EARLY and self.endpointer.quiet_s >= EARLY_QUIET_S:
                words = partial.get("partial_result", [])
                out.append(self._decide(text, words, early=True))
                self._committed = True
        if edge == "end" and self._heard_anything:
            # our own end of speech comes sooner than Vosk's: ask for the result now
            out += self._final(json.loads(self._recognizer.FinalResult()))
        return out

    def finish(self) -> list[Recognition]:
        """Decide whatever is pending at the end of the stream."""
        if not self._heard_anything:
            return []
        return self._final(json.loads(self._recognizer.FinalResult()))

    def _final(self, result: dict[str, Any]) -> list[Recognition]:
        committed, self._committed = self._committed, False
        self._heard_anything = False
        text = " ".join(result.get("text", "").split())
        if committed or not text:
            return []  # already decided early, or only silence
        return [self._decide(text, result.get("result", []), early=False)]

    def _decide(self, text: str, words: list[dict[str, Any]], *, early: bool) -> Recognition:
        confs = [float(w.get("conf", 1.0)) for w in words if w.get("word") != self.unknown]
        confidence = min(confs) if confs else 0.0
        heard = self.intents.match(text, confidence)
        if (not isinstance(heard, Heard) or self.unknown in text.split()
                or confidence < self.min_confidence or not self._voiced(words)):
            return Recognition(None, text, confidence, round(self.t, 3))
        return Recognition(heard, text, confidence, round(self.t, 3))

    def _voiced(self, words: list[dict[str, Any]]) -> bool:
        """Whether the result's words were voiced: Vosk hears a phrase in a whistle now and
        then ("좋아", yes). True when it gave no times."""
        timed = [w for w in words if "start" in w and "end" in w]
        if not timed:
            return True
        kept = np.concatenate(self._kept)
        begins = self.t - len(kept) / RATE  # in Vosk's times, which start at the reset
        first = max(0, round((float(timed[0]["start"]) - WORD_MARGIN_S - begins) * RATE))
        last = max(0, round((float(timed[-1]["end"]) + WORD_MARGIN_S - begins) * RATE))
        return has_voice(kept[first:last])

