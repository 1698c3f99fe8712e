"""``coach bench listen``: every clip of the dev corpus through an engine, as numbers."""

from __future__ import annotations

import resource
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .corpus import Clip
from .listen import (
    ACT,
    RATE,
    TRAILING_SILENCE_S,
    Recognizer,
    acts,
    read_audio,
    recognize_samples,
)
from .whisper_judge import ANSWERS


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _ms(seconds: list[float], percentile: float) -> float | None:
    return round(float(np.percentile(seconds, percentile)) * 1000, 1) if seconds else None


def _stop_confused(expected: str | None, got: str | None) -> bool:
    """A stop missed (heard as something else or as nothing), or something else heard as
    stop."""
    return (expected == "stop") != (got == "stop") and (got is not None or expected == "stop")


def bench_listen(recognizer: Recognizer, clips: Sequence[Clip], *, load_s: float,
                 act: float = ACT, progress: Callable[[int, int], None] | None = None
                 ) -> dict[str, Any]:
    """Run the clips; accuracy per noise level, false accepts, confusions, latency, speed."""
    by_snr: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # right, asked, total
    false_accepts = asked_others = others = wrong_commands = 0
    wrong: list[dict[str, Any]] = []
    stop_confusions: list[dict[str, Any]] = []
    latency: list[float] = []
    unheld: list[float] = []  # of commands that are not answers (those wait: ANSWER_HOLD_S)
    phrased: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # right, total
    phrased_wrong: list[dict[str, Any]] = []
    audio_s = compute_s = 0.0
    for n, clip in enumerate(clips, 1):
        samples = read_audio(clip.path)
        result = recognize_samples(recognizer, samples, act=act)
        audio_s += len(samples) / RATE + TRAILING_SILENCE_S
        compute_s += result.process_s
        found = result.recognition
        got = found.command if found is not None and found.heard is not None else None
        acted = acts(found, act)
        level = "clean" if clip.snr_db is None else f"{clip.noise} {clip.snr_db:g} dB"
        example = {"clip": clip.id, "said": clip.text, "heard": got, "level": level}
        snr = "clean" if clip.snr_db is None else f"{clip.snr_db:g} dB"
        if clip.kind == "phrasing":  # apart: the dev corpus's numbers stay comparable
            cell = phrased["clean" if clip.snr_db is None else "noisy"]
            cell[1] += 1
            cell[0] += got == clip.expected and acted
            if (got != clip.expected and got is not None and acted) or _stop_confused(
                    clip.expected, got):
                phrased_wrong.append(example)
        elif clip.expected is None:
            others += 1
            if acted:
                false_accepts += 1
                wrong.append(example)
            elif got is not None:
                asked_others += 1
            if got == "stop":
                stop_confusions.append(example)
        else:
            cell = by_snr[snr]
            cell[2] += 1
            if got == clip.expected and acted:
                cell[0] += 1
                assert found is not None
                latency.append(found.decided_at_s - clip.speech_end_s)
                if clip.expected not in ANSWERS:
                    unheld.append(latency[-1])
            elif got == clip.expected:
                cell[1] += 1
            elif got is not None and acted:
                wrong_commands += 1
                wrong.append(example)
            if _stop_confused(clip.expected, got):
                stop_confusions.append(example)
        if progress is not None:
            progress(n, len(clips))
    return {
        "engine": recognizer.engine,
        "clips": len(clips),
        "accuracy_pct": {k: _pct(v[0], v[2]) for k, v in sorted(by_snr.items())},
        "asked_pct": {k: _pct(v[1], v[2]) for k, v in sorted(by_snr.items())},
        "false_accepts_pct": _pct(false_accepts, others),
        "asked_on_other_speech_pct": _pct(asked_others, others),
        "wrong_commands": wrong_commands,
        "stop_confusions": len(stop_confusions),
        "latency_after_speech_ms": {
            "median": _ms(latency, 50), "p95": _ms(latency, 95),
            "p95_not_answers": _ms(unheld, 95)},
        "real_time_factor": round(compute_s / audio_s, 4) if audio_s else None,
        "phrasings": {
            "clips": sum(v[1] for v in phrased.values()),
            "accuracy_pct": {k: _pct(v[0], v[1]) for k, v in sorted(phrased.items())},
            "wrong_or_stop_confused": phrased_wrong[:10]} if phrased else None,
        "talk": talk_stream(recognizer, clips, act),
        "over_talk": over_talk(recognizer, clips, act),
        "not_speech": not_speech(recognizer, act),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_load_s": round(load_s, 3),
        "examples": {"wrong": wrong[:10], "stop": stop_confusions},  # every one: the worst
    }


TALK_GAPS_S = (0.2, 0.4, 0.7, 1.0)
"""Pauses between the sentences of the talk stream, in turn: some go on from the sentence
before (a clause), some stand alone."""


def _speech(clip: Clip) -> np.ndarray:
    samples = read_audio(clip.path)
    return samples[int(clip.speech_start_s * RATE):int(clip.speech_end_s * RATE)]


def _clean(clips: Sequence[Clip], wanted: Callable[[Clip], bool]) -> list[Clip]:
    """The clean clips wanted, one of each text (the last), in the order of the texts."""
    return list({c.text: c for c in clips if c.snr_db is None and wanted(c)}.values())


def talk_stream(recognizer: Recognizer, clips: Sequence[Clip], act: float = ACT
                ) -> dict[str, Any] | None:
    """The clean everyday sentences (each text once) said one after another, as by people
    talking nearby or a television, then "stop" after a second's silence: how much compute a
    second of talk costs, what in it was acted on, and how soon after it the stop was heard.
    None if the clips have no clean everyday sentence or no clean stop."""
    texts = _clean(clips, lambda c: c.kind == "everyday")
    stop = next((c for c in clips if c.kind == "command" and c.expected == "stop"
                 and c.snr_db is None), None)
    if not texts or stop is None:
        return None
    parts = []
    for n, clip in enumerate(texts):
        parts += [_speech(clip), np.zeros(int(TALK_GAPS_S[n % len(TALK_GAPS_S)] * RATE),
                                          np.int16)]
    talk = np.concatenate([*parts[:-1], np.zeros(RATE, np.int16)])
    audio = np.concatenate([talk, _speech(stop)])
    result = recognize_samples(recognizer, audio)
    acted = [u for u in result.utterances if acts(u, act)]
    heard = next((u for u in reversed(acted) if u.command == "stop"
                  and u.decided_at_s > len(talk) / RATE), None)
    return {
        "sentences": len(texts),
        "seconds": round(len(talk) / RATE, 1),
        "real_time_factor": round(result.process_s / (len(audio) / RATE), 4),
        "acted_on": [u.text for u in acted if u is not heard],
        "stop_heard_after_ms": None if heard is None else round(
            (heard.decided_at_s - len(audio) / RATE) * 1000, 1),
    }


OVER_TALK_SNR_DB = (20.0, 30.0)
"""How much louder than the talk the commands said over it are."""
OVER_TALK_LEAD_S = (3.0, 8.0)
"""How long the talk has gone on when the command is said, in turn."""


def over_talk(recognizer: Recognizer, clips: Sequence[Clip], act: float = ACT,
              limit: int = 30) -> dict[str, Any] | None:
    """Commands said over talk that has been going on since before the recogniser started
    (a television, four voices at once, from the clean everyday sentences): of each text of
    the clean commands (up to ``limit``), how many were acted on, per level, and how many
    times something else was (set off by the talk, or the command misheard). None without
    clean commands and everyday sentences."""
    from .corpus_render import babble, rms

    talkers = [_speech(c).astype(np.float64)
               for c in _clean(clips, lambda c: c.kind == "everyday")[:4]]
    said = _clean(clips, lambda c: c.kind == "command")[:limit]
    if not talkers or not said:
        return None
    right: dict[str, int] = defaultdict(int)
    wrong = 0
    for n, clip in enumerate(said):
        speech = _speech(clip).astype(np.float64)
        lead = int(OVER_TALK_LEAD_S[n % len(OVER_TALK_LEAD_S)] * RATE)
        for snr in OVER_TALK_SNR_DB:
            talk = babble(talkers, lead + speech.size, np.random.default_rng(n))
            signal = talk * rms(speech) / (rms(talk) * 10 ** (snr / 20))
            signal[lead:] += speech
            result = recognize_samples(
                recognizer, np.clip(np.round(signal), -32768, 32767).astype(np.int16))
            acted = [u for u in result.utterances if acts(u, act)]
            heard = next((u for u in acted if u.command == clip.expected
                          and u.decided_at_s > lead / RATE), None)
            right[f"{snr:g} dB"] += heard is not None
            wrong += len([u for u in acted if u is not heard])
    return {
        "commands": len(said),
        "accuracy_pct": {k: _pct(v, len(said)) for k, v in sorted(right.items())},
        "acted_wrongly": wrong,
    }


def not_speech(recognizer: Recognizer, act: float = ACT) -> dict[str, Any]:
    """Sounds that are not speech (:mod:`coach.corpus_sounds`: coughs, doors, beeps, music
    ...): how many set off a command, and which kinds did."""
    from .corpus_sounds import not_speech as sounds

    count = 0
    acted: dict[str, list[str]] = defaultdict(list)
    for kind, samples in sounds():
        count += 1
        for u in recognize_samples(recognizer, samples).utterances:
            if acts(u, act):
                acted[kind].append(u.command or "")
    return {
        "sounds": count,
        "acted_on": sum(len(v) for v in acted.values()),
        "by_kind": {kind: sorted(v) for kind, v in sorted(acted.items())},
    }


def stderr_progress(done: int, total: int) -> None:
    """A one-line progress count on stderr."""
    if done == total or done % 50 == 0:
        sys.stderr.write(f"\r{done}/{total} clips")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
