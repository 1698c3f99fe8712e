"""The ``coach`` command: simulate, text and check."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from . import __version__
from .config import Config, load_config
from .dialogue import Engine
from .errors import CoachError, ConfigError
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim = sub.add_parser("simulate", help="run a scripted session on a virtual clock, as JSON "
                         "lines")
    sim.add_argument("--at", action="append", default=[], metavar="T:PHRASE[@CONF]",
                     help="say PHRASE at T seconds (confidence CONF, default 1); repeatable")
    sim.add_argument("--seed", type=int, help="seed for line variants (default: config)")
    sim.add_argument("--until", type=float, metavar="SECONDS",
                     help="stop the simulation at this time (default: when nothing is left)")
    sub.add_parser("text", help="type commands; the coach's lines are printed")
    sub.add_parser("check", help="check config, voice pack, speech, audio and recognition")
    return parser


def _load(args: argparse.Namespace) -> tuple[Config, VoicePack]:
    config = load_config(args.config)
    folder = find_pack(config.voice.pack)
    if folder is None:
        raise ConfigError(config.path, "voice.pack", f"no voice pack {config.voice.pack!r}; "
                          f"expected one of: {', '.join(available_packs())}, or a pack folder")
    return config, VoicePack.load(folder)


def _run(args: argparse.Namespace) -> int:
    if args.list_devices:
        from .audio import format_devices, list_devices
        print(format_devices(list_devices()))
        return 0
    if args.command == "check":
        return _check(args)
    config, pack = _load(args)
    if args.command == "simulate":
        from .intents import Intents
        from .simulate import parse_at, simulate
        intents = Intents(pack)
        script = sorted((parse_at(spec, intents) for spec in args.at), key=lambda s: s.t)
        engine = Engine(config, pack, seed=args.seed)
        simulate(engine, script, words_per_minute=config.voice.rate, until=args.until)
        return 0
    from .textmode import run_text
    run_text(Engine(config, pack), words_per_minute=config.voice.rate)
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
