"""The listening corpus: commands, the coach's own lines and everyday talk, as WAV clips.

``coach bench listen`` runs a recogniser over these clips. The coach's own speech synthesis
makes them, with no downloads: each text is rendered by a few espeak voices at a few rates,
set in silence (0.4 s before, 1.0 s after) and mixed with white or babble noise at an SNR.
``manifest.jsonl`` holds a header line with the build parameters, then one clip a line. A
clip's id hashes everything that shapes its sound, so a rebuild makes only what is missing.

What is said comes from :mod:`coach.corpus_texts`; speech is rendered, each (voice, rate) in
a fresh process, and mixed by :mod:`coach.corpus_render`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from .corpus_render import level_speech, mix, render_all
from .corpus_texts import command_phrases, own_lines, read_everyday, read_phrasings
from .errors import CorpusError
from .listen import RATE
from .speak import (
    Renderer,
    SpeechCache,
    TtsVoice,
    VoiceSettings,
    default_cache_dir,
    pick_voice,
    probe_tts,
)
from .voicepack import VoicePack, normalize
from .wav import write_wav

_LOGGER = logging.getLogger(__name__)

KINDS = ("command", "own_line", "everyday", "phrasing")
"""What a clip says: a command phrase, a line of the coach's, ordinary talk, a command said
with more words around it ("okay coach, stop")."""
NOISES = ("clean", "white", "babble")
"""What a clip's speech is mixed with."""
CLEAN_PER_TEXT, NOISY_PER_TEXT = 2, 2
"""Clips of each own line, everyday sentence and phrasing; a command gets every voice x rate
clean and every noise x SNR once, with voices and rates taken in turn."""
BABBLE_POOL, BABBLE_TALKERS = 16, (4, 6)
"""Everyday sentences babble is made of, and how many of them talk at once."""
MANIFEST = "manifest.jsonl"
FORMAT = 1
"""Bumped whenever the way clips are made changes."""
_PREFERRED = {"en": ("en-gb", "en-gb-scotland", "en-029")}
_MAX_VOICES = 4


@dataclass(frozen=True)
class Clip:
    """One WAV clip of the corpus and what a recogniser should make of it."""

    id: str
    """Stable name; changes whenever anything that shapes the sound changes."""
    path: Path
    """The WAV file: 16 kHz, mono, int16."""
    text: str
    """What is spoken."""
    expected: str | None
    """The canonical command (``start hallway``, ``stop``, ``how many``), or None."""
    kind: str
    """One of KINDS."""
    voice: str
    """TTS voice id, e.g. ``gmw/en-us``."""
    rate: int
    """Speaking rate in words per minute."""
    noise: str
    """One of NOISES."""
    snr_db: float | None
    """Speech-to-noise ratio over the speech, in dB; None when clean."""
    speech_start_s: float
    """Where the speech starts in the clip, in seconds."""
    speech_end_s: float
    """Where the speech ends in the clip, in seconds."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the path as a string)."""
        return {**asdict(self), "path": self.path.as_posix()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Clip:
        """The clip a :meth:`to_dict` dict describes; ValueError says what is wrong."""
        types: dict[str, tuple[type, ...]] = {
            "id": (str,), "path": (str,), "text": (str,), "expected": (str, type(None)),
            "kind": (str,), "voice": (str,), "rate": (int,), "noise": (str,),
            "snr_db": (int, float, type(None)), "speech_start_s": (int, float),
            "speech_end_s": (int, float)}
        if not isinstance(data, Mapping) or set(data) != {f.name for f in fields(cls)}:
            raise ValueError(f"expected an object with exactly: {', '.join(types)}")
        for key, allowed in types.items():
            if not isinstance(data[key], allowed) or isinstance(data[key], bool):
                raise ValueError(f"{key}: {data[key]!r} is not a {allowed[0].__name__}")
        if data["kind"] not in KINDS or data["noise"] not in NOISES or (
                data["snr_db"] is None) != (data["noise"] == "clean"):
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, noise one of "
                             f"{', '.join(NOISES)}, and snr_db null exactly when clean")
        return cls(**{**data, "path": Path(data["path"]), **{
            k: float(data[k]) for k in ("snr_db", "speech_start_s", "speech_end_s")
            if data[k] is not None}})


# --- voices -------------------------------------------------------------------------------


def _speaks(voice: TtsVoice, language: str) -> bool:
    lang = language.lower()
    return any(t.lower() == lang or t.lower().startswith(lang + "-") for t in voice.languages)


def default_voices(pack: VoicePack) -> list[str]:
    """A few voices of the pack's language that sound different, the pack's own first."""
    available = probe_tts().voices
    picked = [pick_voice(available, w) for w in (pack.voice, *_PREFERRED.get(pack.language, ()))]
    ids = [v.id for v in picked if v is not None and _speaks(v, pack.language)]
    ids += [v.id for v in available if _speaks(v, pack.language)]
    if not ids:
        raise CorpusError(pack.path, f"no TTS voice speaks {pack.language!r}; pass voices=")
    return list(dict.fromkeys(ids))[:_MAX_VOICES]


def _resolve_voices(pack: VoicePack, voices: Sequence[str]) -> list[str]:
    available, ids = probe_tts().voices, []
    for wanted in voices:
        voice = pick_voice(available, wanted)
        if voice is None:
            have = ", ".join(v.id for v in available if _speaks(v, pack.language)) or "none"
            raise CorpusError(pack.path, f"no TTS voice matches {wanted!r}; voices for "
                              f"{pack.language!r}: {have}")
        ids.append(voice.id)
    return list(dict.fromkeys(ids))


def default_corpus_dir(pack: VoicePack) -> Path:
    """Where a pack's corpus lives by default: ``<cache>/corpus/<language>``."""
    return default_cache_dir() / "corpus" / pack.language


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """One clip to make, or to keep when its file and manifest entry are there."""

    clip: Clip
    """The clip, its path relative to the corpus folder, speech times not yet known."""
    talkers: tuple[tuple[str, str, int], ...]
    """For babble: the (text, voice, rate) of each talker."""


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _combos(voices: Sequence[str], rates: Sequence[int]) -> list[tuple[str, int]]:
    """Every (voice, rate), ordered so that neighbours differ in voice and mostly in rate."""
    nv, nr = len(voices), len(rates)
    return [(voices[i % nv], rates[(i // nv + i % nv) % nr]) for i in range(nv * nr)]


def _spread(items: list[Any], limit: int | None) -> list[Any]:
    if limit is None or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def _plan(texts: dict[str, list[tuple[str, str | None]]], pool: list[tuple[str, str, int]],
          combos: list[tuple[str, int]], noisy: list[tuple[str, float]], seed: int
          ) -> list[_Plan]:
    variants: list[tuple[str, str, str | None, tuple[str, int], str, float | None]] = []
    turn = 0  # noisy clips take voices, rates, noises and SNRs in turn
    for kind, items in texts.items():
        for t, (text, expected) in enumerate(items):
            if kind == "command":
                mine = combos
                extra = [(combos[(turn + j) % len(combos)], ns) for j, ns in enumerate(noisy)]
            else:
                mine = [combos[(t * CLEAN_PER_TEXT + j) % len(combos)]
                        for j in range(CLEAN_PER_TEXT)]
                extra = [(mine[j % len(mine)], noisy[(turn + j) % len(noisy)])
                         for j in range(NOISY_PER_TEXT)] if noisy else []
            turn += len(extra)
            variants += [(kind, text, expected, combo, "clean", None) for combo in mine]
            variants += [(kind, text, expected, combo, *ns) for combo, ns in extra]
    plans = []  # one voice at one rate (Korean espeak has one voice) would repeat clean clips
    for kind, text, expected, (voice, rate), noise, snr in dict.fromkeys(variants):
        base = _digest(FORMAT, text, voice, rate, noise, snr, None if snr is None else seed,
                       VoiceSettings(voice, rate, 1.0).cache_key(text))
        talkers: tuple[tuple[str, str, int], ...] = ()
        if noise == "babble":
            rng = np.random.default_rng(int(base[:16], 16))
            others = [talker for talker in pool if talker[0] != text]
            start = int(rng.integers(len(others)))
            count = min(len(others), int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1)))
            talkers = tuple(others[(start + i) % len(others)] for i in range(count))
        # letters of any script, so that a Korean line is named by its words, not "-ko-..."
        slug = re.sub(r"[\W_]+", "-", normalize(text).replace("'", ""))[:32].strip("-")
        tag = "clean" if snr is None else f"{noise}{snr:g}db"
        clip_id = f"{slug}-{voice.rsplit('/', 1)[-1]}-{rate}-{tag}-{_digest(base, talkers)[:10]}"
        plans.append(_Plan(Clip(clip_id, Path(kind) / f"{clip_id}.wav", text, expected, kind,
                                voice, rate, noise, snr, 0.0, 0.0), talkers))
    return plans


# --- rendering and mixing -----------------------------------------------------------------


def _make_clips(folder: Path, todo: list[_Plan], tts_dir: Path,
                tick: Callable[[], None]) -> dict[str, Clip]:
    # renderers that never render: these caches only read what the workers wrote
    caches: dict[tuple[str, int], SpeechCache] = {}
    babble: dict[tuple[str, str, int], np.ndarray] = {}
    made: dict[str, Clip] = {}

    def speech(text: str, voice: str, rate: int) -> np.ndarray:
        if (voice, rate) not in caches:
            caches[voice, rate] = SpeechCache(Renderer(VoiceSettings(voice, rate, 1.0)), tts_dir)
        return level_speech(caches[voice, rate], text)
    try:
        for plan in todo:
            for talker in plan.talkers:
                if talker not in babble:
                    babble[talker] = speech(*talker)
            clip = plan.clip
            said = speech(clip.text, clip.voice, clip.rate)
            samples, lead = mix(said, clip.noise, clip.snr_db, int(clip.id[-10:], 16),
                                [babble[t] for t in plan.talkers])
            (folder / clip.kind).mkdir(parents=True, exist_ok=True)
            write_wav(folder / clip.path, samples, RATE)
            made[clip.id] = replace(clip, speech_start_s=lead / RATE,
                                    speech_end_s=(lead + said.size) / RATE)
            tick()
    finally:
        for cache in caches.values():
            cache.renderer.close()
    return made


# --- the corpus ---------------------------------------------------------------------------


def build_corpus(pack: VoicePack, folder: Path, *, voices: Sequence[str] | None = None,
                 rates: Sequence[int] = (130, 165, 200), snrs: Sequence[float] = (20, 10, 5),
                 noises: Sequence[str] = ("white", "babble"), everyday: Path | None = None,
                 seed: int = 0, limit_per_kind: int | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 tts_cache: Path | None = None) -> list[Clip]:
    """Build the corpus in ``folder``, or bring it up to date, and return its clips.

    Same arguments, same bytes. Clips already made are kept: nothing is rendered when the
    manifest's parameters match and every file is there. ``voices`` are ids, names or
    language tags (default :func:`default_voices`); ``rates`` in words per minute; each noisy
    clip has one of ``noises`` at one of ``snrs`` (dB); ``everyday`` defaults to
    ``everyday.txt`` beside the pack, and phrasings are read from ``phrasings.txt`` there (if
    it is there); ``limit_per_kind`` keeps that many texts of each kind (tiny corpora for
    tests); ``progress(done, total)`` follows rendered voices and made clips; the speech
    cache lives in ``tts_cache`` (default ``folder``).
    """
    if not rates or any(n not in NOISES[1:] for n in noises):
        raise ValueError(f"rates must not be empty and noises among: {', '.join(NOISES[1:])}")
    everyday = everyday or pack.path.parent / "everyday.txt"
    sentences = read_everyday(everyday, pack)
    phrasings = read_phrasings(pack.path.parent / "phrasings.txt", pack)
    if "babble" in noises and len(sentences) < 2:
        raise CorpusError(everyday, "babble is made of everyday sentences: write at least two")
    voices = _resolve_voices(pack, voices) if voices is not None else default_voices(pack)
    params = {"format": FORMAT, "language": pack.language, "voices": voices,
              "pack": _digest(pack.path.read_text(encoding="utf-8"))[:16],
              "everyday": _digest(sentences)[:16], "phrasings": _digest(phrasings)[:16],
              "rates": [int(r) for r in rates],
              "snrs": [float(s) for s in snrs], "noises": list(noises), "seed": seed,
              "limit_per_kind": limit_per_kind, "pyttsx3": importlib.metadata.version("pyttsx3")}
    old_params, old = _read_manifest(folder / MANIFEST, strict=False)
    if old_params == params and all((folder / c.path).is_file() for c in old):
        _LOGGER.info("corpus %s is up to date: %d clips", folder, len(old))
        return [replace(c, path=folder / c.path) for c in old]

    texts: dict[str, list[tuple[str, str | None]]] = {
        "command": _spread(command_phrases(pack), limit_per_kind),
        "own_line": _spread([(t, None) for t in own_lines(pack, seed)], limit_per_kind),
        "everyday": _spread([(t, None) for t in sentences], limit_per_kind),
        "phrasing": _spread(phrasings, limit_per_kind)}
    combos = _combos(voices, rates)
    pool = [(t, *combos[j % len(combos)]) for j, t in enumerate(_spread(sentences, BABBLE_POOL))]
    plans = _plan(texts, pool, combos, [(n, float(s)) for n in noises for s in snrs], seed)
    known = {c.id: c for c in old}
    todo = [p for p in plans if p.clip.id not in known or not (folder / p.clip.path).is_file()]
    groups: dict[tuple[str, int], set[str]] = {}
    for text, voice, rate in [*((p.clip.text, p.clip.voice, p.clip.rate) for p in todo),
                              *(pool if any(p.talkers for p in todo) else [])]:  # all talkers
        groups.setdefault((voice, rate), set()).add(text)
    done, total = len(plans) - len(todo), len(plans) + len(groups)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    rendered = render_all(groups, tts_cache or folder, tick)
    made = _make_clips(folder, todo, tts_cache or folder, tick)
    clips = [made.get(p.clip.id) or known[p.clip.id] for p in plans]
    _write_manifest(folder / MANIFEST, params, clips)
    keep = {c.path.name for c in clips}
    for stale in (f for kind in KINDS for f in (folder / kind).glob("*.wav")):
        if stale.name not in keep:
            stale.unlink()
    _LOGGER.info("corpus %s: %d clips, %d made, %d lines rendered", folder, len(clips),
                 len(made), rendered)
    return [replace(c, path=folder / c.path) for c in clips]


def load_corpus(folder: Path) -> list[Clip]:
    """The clips of a built corpus, from its manifest."""
    _, clips = _read_manifest(folder / MANIFEST, strict=True)
    missing = [c.path for c in clips if not (folder / c.path).is_file()]
    if missing:
        raise CorpusError(folder, f"{len(missing)} clips are missing, e.g. {missing[0]}; build "
                          "the corpus again")
    return [replace(c, path=folder / c.path) for c in clips]


def _write_manifest(path: Path, params: dict[str, Any], clips: list[Clip]) -> None:
    text = "".join(json.dumps(x) + "\n" for x in [{"corpus": params},
                                                  *(c.to_dict() for c in clips)])
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def _read_manifest(path: Path, *, strict: bool) -> tuple[dict[str, Any] | None, list[Clip]]:
    """A manifest's build parameters and clips (paths relative to its folder).

    A missing or damaged manifest raises CorpusError when ``strict``, else reads as empty.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else None
        if not isinstance(header, dict) or not isinstance(header.get("corpus"), dict):
            raise ValueError('line 1: expected the header {"corpus": {parameters}}')
        clips = []
        for number, line in enumerate(lines[1:], 2):
            try:
                clips.append(Clip.from_dict(json.loads(line)))
            except ValueError as err:
                raise ValueError(f"line {number}: {err}") from None
        return header["corpus"], clips
    except FileNotFoundError:
        if strict:
            raise CorpusError(path, "no manifest here; build the corpus first") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        if strict:
            raise CorpusError(path, f"damaged manifest ({err}); delete it and build the "
                              "corpus again") from None
        _LOGGER.warning("rebuilding the corpus: %s is damaged (%s)", path, err)
    return None, []
