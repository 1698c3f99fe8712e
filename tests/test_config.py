"""config.toml: the defaults, the shipped file, every kind of bad value, the CLI on a bad file."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import ROOT, run_coach

from coach.config import (
    ROUTINE_NAMES,
    CadenceConfig,
    Config,
    DialogueConfig,
    ProgressionConfig,
    RecognitionConfig,
    RoutineConfig,
    TurnsConfig,
    VoiceConfig,
    find_config,
    load_config,
)
from coach.errors import ConfigError

SHIPPED = ROOT / "config.toml"
SECTIONS = [f.name for f in dataclasses.fields(Config) if f.name != "path"]


def write_config(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    """A config file holding ``text``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ConfigError:
    """The ConfigError that loading ``path`` raises."""
    with pytest.raises(ConfigError) as info:
        Config.load(path)
    return info.value


# --- defaults and the shipped file --------------------------------------------------------


def test_defaults_are_valid_and_name_no_file() -> None:
    config = Config.default()
    assert config.path is None
    assert set(config.routines) == set(ROUTINE_NAMES)
    assert config.cadence.slowest <= config.cadence.steps_per_minute <= config.cadence.fastest


@pytest.mark.parametrize("name", ROUTINE_NAMES)
def test_every_default_routine_has_exactly_one_length(name: str) -> None:
    routine = Config.default().routines[name]
    assert (routine.steps is None) != (routine.minutes is None)


def test_default_routines_follow_the_product_table() -> None:
    routines = Config.default().routines
    assert routines["hallway"].steps == 10
    assert [routines[n].steps for n in ("couch", "car", "table")] == [4, 4, 4]
    assert routines["car"].safe_area_check
    assert routines["hill"].caution
    assert routines["walk"].minutes is not None and routines["cooldown"].minutes is not None
    assert routines["elliptical"].count == "none" and not routines["elliptical"].head_turns


def test_shipped_config_loads_from_its_path(config: Config) -> None:
    assert config.path == SHIPPED


def test_sections_cover_every_part_of_config() -> None:
    assert SECTIONS == ["cadence", "turns", "dialogue", "progression", "routines", "voice",
                        "audio", "recognition"]


@pytest.mark.parametrize("section", SECTIONS)
def test_shipped_config_equals_the_defaults(config: Config, section: str) -> None:
    # config.toml is documentation: what it shows must be what you get by leaving it out.
    assert getattr(config, section) == getattr(Config.default(), section)


def _commented_ranges() -> list[tuple[str, str, float, float]]:
    """(section, key, lo, hi) for every ``key = value  # ... (lo..hi)`` line of config.toml."""
    found = []
    section = ""
    for line in SHIPPED.read_text(encoding="utf-8").splitlines():
        if header := re.match(r"^\[([\w.]+)\]", line):
            section = header[1]
        elif m := re.match(r"^(\w+)\s*=.*#.*\((\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)\)", line):
            found.append((section, m[1], float(m[2]), float(m[3])))
    return found


def test_config_toml_documents_ranges() -> None:
    assert len(_commented_ranges()) >= 7


@pytest.mark.parametrize(("section", "key", "lo", "hi"), _commented_ranges(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_range_comments_match_the_code(section: str, key: str, lo: float, hi: float) -> None:
    types = {"cadence": CadenceConfig, "turns": TurnsConfig, "dialogue": DialogueConfig,
             "progression": ProgressionConfig, "voice": VoiceConfig,
             "recognition": RecognitionConfig}
    meta = {f.name: f.metadata for f in dataclasses.fields(types[section])}[key]
    assert (meta["lo"], meta["hi"]) == (lo, hi)


# --- overrides ------------------------------------------------------------------------------


def test_a_section_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[cadence]\nchange_by = 10\n"))
    assert config.cadence == dataclasses.replace(CadenceConfig(), change_by=10)


def test_routine_keys_merge_with_the_routine_defaults(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[routines.hallway]\nhead_turns = false\n"))
    assert config.routines["hallway"] == RoutineConfig(steps=10, straight_steps=4,
                                                       head_turns=False, daily=1)


def test_minutes_replace_a_routines_default_steps(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[routines.hallway]\nminutes = 2\n"))
    hallway = config.routines["hallway"]
    assert (hallway.steps, hallway.minutes) == (None, 2.0)
    assert isinstance(hallway.minutes, float)
    assert hallway.straight_steps == 4


def test_steps_replace_a_routines_default_minutes(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[routines.walk]\nsteps = 100\n"))
    assert (config.routines["walk"].steps, config.routines["walk"].minutes) == (100, None)


def test_a_whole_number_is_accepted_for_a_float(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[voice]\nvolume = 1\n"))
    assert config.voice.volume == 1.0 and isinstance(config.voice.volume, float)


# --- bad values -----------------------------------------------------------------------------

BAD = [
    # id, toml, key, what the message must also say (the bad value and what is allowed)
    ("string-for-int", '[cadence]\nsteps_per_minute = "60"\n', "cadence.steps_per_minute",
     ["'60'", "whole number"]),
    ("float-for-int", "[turns]\nsteps = 4.5\n", "turns.steps", ["4.5", "whole number"]),
    ("int-for-bool", "[dialogue]\nreminder_after_resume = 1\n", "dialogue.reminder_after_resume",
     ["got 1", "true or false"]),
    ("bool-for-int", "[routines.hallway]\nsteps = true\n", "routines.hallway.steps",
     ["got true", "whole number"]),
    ("bool-for-float", "[voice]\nvolume = false\n", "voice.volume", ["got false", "a number"]),
    ("string-for-float", '[voice]\nvolume = "loud"\n', "voice.volume", ["'loud'", "a number"]),
    ("int-for-string", "[voice]\npack = 5\n", "voice.pack", ["got 5", "a string"]),
    ("too-low", "[cadence]\nsteps_per_minute = 10\n", "cadence.steps_per_minute",
     ["got 10", "20 to 120"]),
    ("too-high", "[voice]\nrate = 500\n", "voice.rate", ["got 500", "80 to 400"]),
    ("minutes-too-low", "[routines.walk]\nminutes = 0.1\n", "routines.walk.minutes",
     ["got 0.1", "0.25 to 120"]),
    ("steps-too-high", "[routines.hallway]\nsteps = 1001\n", "routines.hallway.steps",
     ["got 1001", "1 to 1000"]),
    ("float-too-high", "[voice]\nvolume = 1.5\n", "voice.volume", ["got 1.5", "0.0 to 1.0"]),
    ("unknown-key", "[cadence]\nsteps_per_minutes = 60\n", "cadence.steps_per_minutes",
     ["unknown key", "change_by, fastest, slowest, steps_per_minute"]),
    ("unknown-routine-key", "[routines.hallway]\nstpes = 10\n", "routines.hallway.stpes",
     ["unknown key", "straight_steps"]),
    ("unknown-section", "[cadance]\nsteps_per_minute = 60\n", "cadance",
     ["unknown key", "cadence", "routines", "recognition"]),
    ("unknown-routine", "[routines.hallwya]\nsteps = 10\n", "routines.hallwya",
     ["unknown routine", ", ".join(ROUTINE_NAMES)]),
    ("steps-and-minutes", "[routines.hallway]\nsteps = 10\nminutes = 2\n", "routines.hallway",
     ["steps or minutes, not both"]),
    ("count-none-with-steps", '[routines.hallway]\ncount = "none"\n', "routines.hallway.count",
     ['"none"', "needs minutes"]),
    ("slowest-above-fastest", "[cadence]\nslowest = 100\nfastest = 50\n", "cadence.slowest",
     ["got 100", "at most cadence.fastest (50)"]),
    ("beat-below-slowest", "[cadence]\nsteps_per_minute = 25\n", "cadence.steps_per_minute",
     ["got 25", "cadence.slowest (30)", "cadence.fastest (90)"]),
    ("beat-above-fastest", "[cadence]\nsteps_per_minute = 100\n", "cadence.steps_per_minute",
     ["got 100", "cadence.slowest (30)", "cadence.fastest (90)"]),
    ("unknown-choice", '[turns]\nfirst_side = "up"\n', "turns.first_side",
     ["'up'", "left, right"]),
    ("unknown-engine", '[recognition]\nengine = "google"\n', "recognition.engine",
     ["'google'", "auto, vosk, whisper"]),
    ("section-not-a-table", "cadence = 60\n", "cadence", ["60", "table"]),
    ("routine-not-a-table", "[routines]\nhallway = 10\n", "routines.hallway", ["10", "table"]),
]


@pytest.mark.parametrize(("text", "key", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_value_is_named_with_file_key_value_and_what_is_allowed(
        tmp_path: Path, text: str, key: str, says: list[str]) -> None:
    path = write_config(tmp_path, text)
    err = load_error(path)
    assert (err.path, err.key) == (path, key)
    message = str(err)
    assert message.startswith(f"{path}: {key}: ")
    for fragment in says:
        assert fragment.lower() in message.lower()


@pytest.mark.parametrize("key", ["routines.walk.minutes", "voice.volume",
                                 "dialogue.confirm_below"])
def test_nan_is_out_of_every_range(tmp_path: Path, key: str) -> None:
    section, _, name = key.rpartition(".")
    assert load_error(write_config(tmp_path, f"[{section}]\n{name} = nan\n")).key == key


def test_defaults_name_no_file_in_errors() -> None:
    with pytest.raises(ConfigError, match=r"^built-in defaults: turns.steps: "):
        Config.from_dict({"turns": {"steps": 0}})


# --- files that cannot be read ------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    err = load_error(path)
    assert err.key == "(file)"
    assert str(err) == f"{path}: (file): no such file"


def test_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[cadence\nsteps_per_minute = 60\n")
    err = load_error(path)
    assert err.key == "(syntax)"
    assert str(err).startswith(f"{path}: (syntax): not valid TOML")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[cadence]\nsteps_per_minute = 60\n")
    err = load_error(path)
    assert err.key == "(file)"
    assert str(err).startswith(f"{path}: (file): cannot read it as UTF-8")


# --- which file ---------------------------------------------------------------------------


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config anywhere: an empty working folder, no $COACH_CONFIG, an empty user folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COACH_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_no_config_anywhere_gives_the_defaults(nowhere: Path) -> None:
    assert find_config(None) is None
    assert load_config() == Config.default()


def test_user_config_is_found(nowhere: Path) -> None:
    user = nowhere / "xdg" / "coach" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("", encoding="utf-8")
    assert find_config(None) == user


def test_working_folder_beats_user_config(nowhere: Path) -> None:
    (nowhere / "xdg" / "coach").mkdir(parents=True)
    (nowhere / "xdg" / "coach" / "config.toml").write_text("", encoding="utf-8")
    here = write_config(nowhere, "")
    assert find_config(None) == here


def test_env_var_beats_working_folder(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(nowhere, "")
    monkeypatch.setenv("COACH_CONFIG", str(nowhere / "from-env.toml"))
    assert find_config(None) == nowhere / "from-env.toml"


def test_explicit_path_beats_env_var(nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_CONFIG", str(nowhere / "from-env.toml"))
    assert find_config("given.toml") == Path("given.toml")


# --- the command line ---------------------------------------------------------------------

BAD_CONFIG = "[cadence]\nsteps_per_minute = 500\n"


def test_simulate_runs_on_a_good_config() -> None:
    # the control for the next test: the same command line does print when the config is good
    result = run_coach("--config", str(SHIPPED), "simulate", "--at", "0:start hallway",
                       "--until", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout


def test_simulate_refuses_a_bad_config_before_doing_anything(tmp_path: Path) -> None:
    bad = write_config(tmp_path, BAD_CONFIG)
    result = run_coach("--config", str(bad), "simulate", "--at", "0:start hallway")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{bad}: cadence.steps_per_minute: got 500" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_fails_the_config_row(tmp_path: Path) -> None:
    bad = write_config(tmp_path, BAD_CONFIG)
    result = run_coach("--config", str(bad), "check")
    assert result.returncode == 2
    fails = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert len(fails) == 1
    assert fails[0].startswith("config")
    assert "cadence.steps_per_minute" in fails[0]


def test_cli_honours_coach_config(tmp_path: Path) -> None:
    bad = write_config(tmp_path, BAD_CONFIG)
    result = run_coach("simulate", "--at", "0:start hallway", env={"COACH_CONFIG": str(bad)})
    assert result.returncode == 2
    assert f"{bad}: cadence.steps_per_minute" in result.stderr


def test_cli_config_option_beats_coach_config(tmp_path: Path) -> None:
    bad = write_config(tmp_path, BAD_CONFIG)
    result = run_coach("--config", str(SHIPPED), "simulate", "--at", "0:start hallway",
                       "--until", "1", env={"COACH_CONFIG": str(bad)})
    assert result.returncode == 0, result.stderr


# --- growth of the long routines ---------------------------------------------------------


def test_growth_rules_follow_the_routine_unit() -> None:
    config = Config.default()
    walk, hill = config.growth_rules("walk"), config.growth_rules("hill")
    assert walk is not None and (walk.start, walk.cap, walk.minimum_step) == (180, 1200, 15)
    assert hill is not None and (hill.start, hill.cap, hill.minimum_step) == (12, 30, 1)
    assert config.growth_rules("couch") is None


@pytest.mark.parametrize(("text", "key", "says"), [
    ("[routines.hallway]\ngrow = true\n", "routines.hallway.grow_to", "needs grow_to"),
    ("[routines.walk]\ngrow_to = 1\n", "routines.walk.grow_to", "at least start"),
    ("[routines.walk]\nminutes = 0.5\n", "progression.per_session", "never grow"),
    ("[progression]\nper_week = 0.02\n", "progression.per_week", "never grow"),
])
def test_growth_that_cannot_work_is_named(tmp_path: Path, text: str, key: str,
                                          says: str) -> None:
    err = load_error(write_config(tmp_path, text))
    assert err.key == key and says in str(err)


def test_counting_a_growing_walk_in_steps_drops_its_minute_cap(tmp_path: Path) -> None:
    config = Config.load(write_config(tmp_path, "[routines.walk]\nsteps = 100\n"))
    assert config.growth_rules("walk") is None
    grown = Config.load(write_config(tmp_path, "[routines.walk]\nsteps = 100\ngrow = true\n"
                                     "grow_to = 300\n"))
    rules = grown.growth_rules("walk")
    assert rules is not None and (rules.start, rules.cap) == (100, 300)
