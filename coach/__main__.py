"""The ``coach`` command: simulate, text and check."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, load_config
from .dialogue import Engine
from .errors import CoachError, ConfigError, UsageError
from .voicepack import VoicePack, available_packs, find_pack

_LOGGER = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="A hands-free voice coach for "
                                     "walking backwards.")
    parser.add_argument("--version", action="version", version=f"coach {__version__}")
    parser.add_argument("--config", metavar="FILE", help="config file (default: $COACH_CONFIG, "
                        "./config.toml, then ~/.config/coach/config.toml)")
    parser.add_argument("--debug", action="store_true", help="log what the coach is doing")
    parser.add_argument("--list-devices", action="store_true", help="list sound devices and exit")
    parser.add_argument("--history", metavar="FILE", help="walk history file (default: "
                        "~/.local/share/coach/history.sqlite3; simulate uses one only if given)")
    parser.add_argument("--no-history", action="store_true", help="record nothing this time")
    parser.add_argument("--now", metavar="WHEN", help="take this local date-time (ISO, e.g. "
                        "2026-11-28T08:00) as now: when a simulation starts, or what "
                        "history and today count from")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim = sub.add_parser("simulate", help="run a scripted session on a virtual clock, as JSON "
                         "lines")
    sim.add_argument("--at", action="append", default=[], metavar="T:PHRASE[@CONF]",
                     help="say PHRASE at T seconds (confidence CONF, default 1); repeatable")
    sim.add_argument("--seed", type=int, help="seed for line variants (default: config)")
    sim.add_argument("--until", type=float, metavar="SECONDS",
                     help="stop the simulation at this time (default: when nothing is left)")
    text = sub.add_parser("text", help="type commands; the coach speaks (and prints) its lines")
    text.add_argument("--silent", action="store_true", help="print the lines, do not speak")
    models = sub.add_parser("models", help="Vosk models: list them, or install one")
    models.add_argument("action", nargs="?", choices=["list", "install"], default="list")
    models.add_argument("name", nargs="?", help="model to install (default: the small "
                        "English model)")
    models.add_argument("--from", dest="from_file", metavar="FILE.zip",
                        help="install from a zip downloaded elsewhere (no network needed)")
    rec = sub.add_parser("recognize", help="recognise commands in WAV files, as JSON lines")
    rec.add_argument("files", nargs="+", metavar="FILE.wav")
    rec.add_argument("--engine", choices=["auto", "vosk", "whisper"],
                     help="recognition engine (default: recognition.engine in config)")
    rec.add_argument("--pack", help="voice pack whose phrases are listened for (default: "
                     "voice.pack in config)")
    bench = sub.add_parser("bench", help="measure the coach: prints JSON")
    bench.add_argument("what", choices=["speak", "listen"], help="speak: beat accuracy, stop "
                       "latency, first sound, rendering time and CPU through the configured "
                       "speaker; listen: the dev corpus through each engine")
    bench.add_argument("--stops", type=int, default=20, help="speak: stops to time")
    bench.add_argument("--engine", action="append", choices=["vosk", "whisper"],
                       help="listen: engine to measure (repeatable; default: every engine "
                       "that can run for the pack)")
    bench.add_argument("--pack", help="listen: voice pack (default: voice.pack in config)")
    bench.add_argument("--limit", type=int, help="listen: at most this many texts per kind")
    sub.add_parser("check", help="check config, voice pack, speech, audio and recognition")
    hist = sub.add_parser("history", help="recent walks, per-day totals and the streak")
    hist.add_argument("--days", type=int, help="days of totals (default 14; 28 for --chart)")
    hist.add_argument("--limit", type=int, default=20, help="recent walks to list")
    hist.add_argument("--json", action="store_true", help="print JSON for machines")
    hist.add_argument("--chart", metavar="FILE", help="draw steps per day and the long-walk "
                      "length to FILE (.png or .svg; needs coach[chart])")
    hist.add_argument("--forget", action="store_true", help="delete every recorded walk")
    hist.add_argument("--yes", action="store_true", help="with --forget: do not ask")
    today = sub.add_parser("today", help="what is still worth doing today")
    today.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def _load(args: argparse.Namespace) -> tuple[Config, VoicePack]:
    config = load_config(args.config)
    name = getattr(args, "pack", None) or config.voice.pack
    folder = find_pack(name)
    if folder is None:
        problem = (f"no voice pack {name!r}; expected one of: "
                   f"{', '.join(available_packs())}, or a pack folder")
        if getattr(args, "pack", None):  # the command line's, not the config file's
            raise UsageError(f"--pack: {problem}")
        raise ConfigError(config.path, "voice.pack", problem)
    return config, VoicePack.load(folder)


def _run(args: argparse.Namespace) -> int:
    if args.list_devices:
        from .audio import format_devices, list_devices
        print(format_devices(list_devices()))
        return 0
    if args.command == "check":
        return _check(args)
    if args.command == "models":
        return _models(args)
    now = _now(args.now)
    if args.command in ("history", "today"):
        return _history_command(args, now)
    config, pack = _load(args)
    if args.command == "simulate":
        from .intents import Intents
        from .simulate import parse_at, simulate
        intents = Intents(pack)
        script = sorted((parse_at(spec, intents) for spec in args.at), key=lambda s: s.t)
        use_history = args.history is not None and not args.no_history
        engine, recorder, history = _engine(args, config, pack, now, use_history, args.seed)
        try:
            simulate(engine, script, words_per_minute=config.voice.rate, until=args.until,
                     recorder=recorder)
        finally:
            if history is not None:
                history.close()
        return 0
    if args.command == "recognize":
        from .engines import build_recognizer, choose_engine
        from .recognize import recognize_files
        choice = choose_engine(config, pack, args.engine)
        _LOGGER.info("engine %s: %s", choice.engine, choice.reason)
        recognizer, _ = build_recognizer(choice, pack)
        return recognize_files(recognizer, args.files, act=config.dialogue.confirm_below)
    if args.command == "bench" and args.what == "listen":
        return _bench_listen(args, config, pack)
    if args.command == "bench":
        from .bench import bench_speak
        print(json.dumps(bench_speak(config, pack, stops=args.stops)))
        return 0
    from .textmode import run_text
    engine, recorder, history = _engine(args, config, pack, now, not args.no_history, None)
    voice = None
    if not getattr(args, "silent", False):
        from .voice import open_voice
        voice = open_voice(config, pack, _warn, echo=sys.stdout)
    try:
        if voice is None:
            run_text(engine, words_per_minute=config.voice.rate, recorder=recorder)
        else:
            run_text(engine, words_per_minute=config.voice.rate, recorder=recorder,
                     voice=voice, clock=voice.clock, on_start=voice.attach)
    finally:
        if voice is not None:
            voice.player.close()
        if history is not None:
            history.close()
    return 0


def _models(args: argparse.Namespace) -> int:
    from . import modelinstall, models

    if args.action == "list":
        if args.from_file or args.name:
            raise UsageError("`coach models` lists; to install: coach models install [NAME] "
                             "[--from FILE.zip]")
        config = load_config(args.config)
        print(models.format_models(models.installed_models()))
        folder = find_pack(config.voice.pack)
        language = VoicePack.load(folder).language if folder else "en"
        if models.find_model(language, config.recognition.model) is None:
            print("\n" + models.missing_model_message(language))
        return 0
    if args.name and args.name not in models.KNOWN_MODELS and not args.from_file:
        raise UsageError(f"unknown model {args.name!r}; expected one of: "
                         f"{', '.join(models.KNOWN_MODELS)}")
    if args.from_file:
        installed = modelinstall.install_from_file(Path(args.from_file),
                                             models.KNOWN_MODELS.get(args.name or ""))
    else:
        spec = models.KNOWN_MODELS[args.name or models.DEFAULT_MODEL]
        print(f"downloading {spec.name} ({spec.size / 1e6:.0f} MB) from {spec.url}",
              file=sys.stderr)
        installed = modelinstall.install(spec, progress=modelinstall.progress_bar())
    print(f"installed {installed.name} ({installed.language}) in {installed.path}")
    return 0


def _bench_listen(args: argparse.Namespace, config: Config, pack: VoicePack) -> int:
    from .bench_listen import bench_listen, stderr_progress
    from .corpus import build_corpus, default_corpus_dir
    from .engines import EngineUnavailable, build_recognizer, choose_engine

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit {args.limit}: must be at least 1 (texts of each kind)")
    choices = []  # before the corpus is built: a missing engine is said at once
    for engine in args.engine or ["vosk", "whisper"]:
        try:
            choices.append(choose_engine(config, pack, engine))
        except EngineUnavailable as err:
            if args.engine:
                raise
            _warn(f"{engine}: {err}")
    folder = default_corpus_dir(pack)
    if args.limit:
        folder = folder.with_name(f"{folder.name}-limit{args.limit}")
    print(f"building or checking the corpus in {folder} ...", file=sys.stderr)
    clips = build_corpus(pack, folder, limit_per_kind=args.limit, progress=stderr_progress)
    for choice in choices:
        recognizer, load_s = build_recognizer(choice, pack)
        result = bench_listen(recognizer, clips, load_s=load_s,
                              act=config.dialogue.confirm_below, progress=stderr_progress)
        print(json.dumps(result, ensure_ascii=False))
    return 0


def _warn(message: str) -> None:
    print(f"coach: {message}", file=sys.stderr)


def _now(when: str | None) -> float:
    if when is None:
        return time.time()
    try:
        return datetime.fromisoformat(when).timestamp()
    except ValueError:
        raise UsageError(f"--now {when!r}: expected a local date-time such as "
                         "2026-11-28T08:00") from None


def _history_path(args: argparse.Namespace) -> Path:
    from .history import default_history_path
    return Path(args.history) if args.history else default_history_path()


def _engine(args: argparse.Namespace, config: Config, pack: VoicePack, now: float,
            use_history: bool, seed: int | None) -> tuple[Engine, Any, Any]:
    """The engine, planned from the history when there is one, and its recorder."""
    if not use_history:
        return Engine(config, pack, seed=seed), None, None
    from .progress import HistoryRecorder, done_today, open_history, plan_routines
    history = open_history(_history_path(args), _warn)
    if history is None:
        return Engine(config, pack, seed=seed), None, None
    engine = Engine(config, pack, seed=seed, plans=plan_routines(config, history, now),
                    today=done_today(history, now))
    recorder = HistoryRecorder(history, now, replan=engine.set_plan, config=config, warn=_warn)
    return engine, recorder, history


def _history_command(args: argparse.Namespace, now: float) -> int:
    from .history import History
    from .historycli import draw_history_chart, forget, show_history, show_today
    with History.open(_history_path(args)) as history:
        if args.command == "today":
            show_today(load_config(args.config), history, now, as_json=args.json)
            return 0
        days = args.days if args.days is not None else 28 if args.chart else 14
        if days < 1 or args.limit < 1:
            raise UsageError(f"--days {days} / --limit {args.limit}: both must be at least 1")
        if args.forget:
            return forget(history, confirmed=args.yes)
        if args.chart:
            draw_history_chart(history, now, Path(args.chart), days)
            print(f"Drew the last {days} days to {args.chart}")
            return 0
        show_history(history, now, days=days, limit=args.limit, as_json=args.json)
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import Row, check_environment, failed, format_rows
    try:
        config, pack = _load(args)
    except ConfigError as err:
        print(format_rows([failed(err, "config")]))
        return err.exit_status
    except CoachError as err:
        print(format_rows([Row("config", "ok", "loaded"), failed(err, "voice pack")]))
        return err.exit_status
    rows = check_environment(config, pack)
    print(format_rows(rows))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``coach`` console script."""
    args = _parser().parse_args(argv)
    if args.command is None and not args.list_devices:
        args.command = "text"
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        status = _run(args)
    except CoachError as err:
        print(f"coach: {err}", file=sys.stderr)
        status = err.exit_status
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)


if __name__ == "__main__":
    main()
