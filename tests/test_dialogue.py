"""The dialogue engine: every row of the transition table, and the walks through it."""

from __future__ import annotations

import pytest
from conftest import Driver, keys, said

from coach.config import Config
from coach.dialogue import Engine
from coach.events import (
    QUESTION_TIMER,
    Beat,
    BeatDelayed,
    CancelTimer,
    Command,
    NotUnderstood,
    Outcome,
    RetimeBeat,
    Silence,
    SpeechDone,
    StartBeat,
    StartTimer,
    State,
    StopBeat,
    TimerFired,
    WalkEnded,
)
from coach.progression import Plan, PlanReason
from coach.transitions import TRANSITIONS
from coach.voicepack import VoicePack

C = Command


def in_state(drive: Driver, state: str) -> Driver:
    """Bring a fresh engine into ``state`` the way a person would."""
    if state == "confirming":
        drive.hear(C.START, "car")
    elif state == "briefing":
        drive.hear(C.START, "hallway")
    elif state == "walking":
        drive.start("hallway")
        drive.beats(2)
    elif state == "paused":
        drive.start("hallway")
        drive.beats(2)
        drive.hear(C.PAUSE)
    elif state == "finished":
        drive.start("couch")
        drive.beats(4)
    assert drive.state == state
    return drive


# (state, command) -> (next state, key of the first line said). "same" = unchanged.
EXPECTED: dict[tuple[str, Command], tuple[str, str]] = {
    ("idle", C.START): ("briefing", "intro_hallway"),
    ("finished", C.START): ("briefing", "intro_hallway"),
    ("briefing", C.START): ("same", "busy"),
    ("walking", C.START): ("same", "busy"),
    ("paused", C.START): ("same", "busy_paused"),
    ("confirming", C.START): ("same", "answer_first"),
    ("idle", C.STOP): ("idle", "quiet"),
    ("confirming", C.STOP): ("idle", "quiet"),
    ("briefing", C.STOP): ("idle", "stopped"),
    ("walking", C.STOP): ("idle", "stopped"),
    ("paused", C.STOP): ("idle", "stopped"),
    ("finished", C.STOP): ("idle", "quiet"),
    ("idle", C.PAUSE): ("same", "nothing_to_pause"),
    ("finished", C.PAUSE): ("same", "nothing_to_pause"),
    ("briefing", C.PAUSE): ("paused", "paused"),
    ("walking", C.PAUSE): ("paused", "paused"),
    ("paused", C.PAUSE): ("same", "busy_paused"),
    ("confirming", C.PAUSE): ("idle", "quiet"),
    ("paused", C.RESUME): ("briefing", "resumed"),
    ("idle", C.RESUME): ("same", "nothing_to_resume"),
    ("finished", C.RESUME): ("same", "nothing_to_resume"),
    ("briefing", C.RESUME): ("same", "already_walking"),
    ("walking", C.RESUME): ("same", "already_walking"),
    ("confirming", C.RESUME): ("same", "answer_first"),
    **{(s, C.SLOWER): ("same", "slower") for s in
       ("idle", "briefing", "walking", "paused", "finished")},
    ("confirming", C.SLOWER): ("same", "answer_first"),
    **{(s, C.FASTER): ("same", "faster") for s in
       ("idle", "briefing", "walking", "paused", "finished")},
    ("confirming", C.FASTER): ("same", "answer_first"),
    ("idle", C.REPEAT): ("same", "greeting"),
    ("confirming", C.REPEAT): ("same", "safe_area"),
    ("briefing", C.REPEAT): ("same", "go"),
    ("walking", C.REPEAT): ("same", "go"),
    ("paused", C.REPEAT): ("same", "paused"),
    ("finished", C.REPEAT): ("same", "summary_steps"),
    ("idle", C.HOW_MANY): ("same", "nothing_yet"),
    ("finished", C.HOW_MANY): ("same", "last_walk"),
    ("briefing", C.HOW_MANY): ("same", "count_so_far"),
    ("walking", C.HOW_MANY): ("same", "count_so_far"),
    ("paused", C.HOW_MANY): ("same", "count_so_far"),
    ("confirming", C.HOW_MANY): ("same", "answer_first"),
    **{(s, C.HELP): ("same", f"help_{s}") for s in
       ("idle", "confirming", "briefing", "walking", "paused", "finished")},
    ("confirming", C.YES): ("briefing", "intro_car"),
    ("confirming", C.NO): ("idle", "not_safe"),
    **{(s, C.YES): ("same", "no_question") for s in
       ("idle", "briefing", "walking", "paused", "finished")},
    **{(s, C.NO): ("same", "no_question") for s in
       ("idle", "briefing", "walking", "paused", "finished")},
}


def test_every_state_and_command_has_a_row() -> None:
    assert set(TRANSITIONS) == {(s, c) for s in State for c in Command}
    assert {(s.value, c) for s, c in TRANSITIONS} == set(EXPECTED)
    for handler in TRANSITIONS.values():
        assert callable(getattr(Engine, "_" + handler))


@pytest.mark.parametrize(("state", "command"), sorted(EXPECTED, key=lambda k: (k[0], k[1].value)))
def test_transition(drive: Driver, state: str, command: Command) -> None:
    in_state(drive, state)
    next_state, first_key = EXPECTED[(state, command)]
    actions = drive.hear(command, "hallway" if command is C.START else None)
    assert said(actions), "every command gets a spoken answer"
    assert keys(actions)[0] == first_key
    assert drive.state == (state if next_state == "same" else next_state)


@pytest.mark.parametrize("state", [s.value for s in State])
def test_stop_wins_in_every_state(drive: Driver, state: str) -> None:
    in_state(drive, state)
    actions = drive.hear(C.STOP, confidence=0.05)
    assert isinstance(actions[0], Silence)
    assert drive.state == "idle"
    assert not any(isinstance(a, StartBeat) for a in actions)
    assert drive.send(Beat()) == [], "no count after stop"


def test_hallway_counts_turns_and_summary(drive: Driver) -> None:
    actions = drive.hear(C.START, "hallway")
    assert keys(actions) == ["intro_hallway", "check_path", "go"]
    assert said(actions)[0].text.startswith("Hallway walk")
    assert "ten steps" in said(actions)[0].text
    assert any(isinstance(a, StartBeat) for a in drive.send(SpeechDone()))
    lines = said(drive.beats(10))
    counts = [line.n for line in lines if line.key == "count"]
    assert counts == list(range(1, 11))
    assert [line.side for line in lines if line.cue == "turn"] == ["left", "right", "forward"]
    order = [line.n if line.key == "count" else line.key for line in lines]
    assert order.index("turn_left") == order.index(4) + 1
    assert order.index("turn_right") == order.index(8) + 1
    assert order[-2:] == ["turn_forward", "summary_steps"]
    assert drive.state == "finished"
    ended = [a for a in drive.history if isinstance(a, WalkEnded)]
    assert ended[0].outcome is Outcome.FINISHED and ended[0].steps == 10
    assert ended[0].head_turns == 2


def test_pause_and_resume_pick_up_the_count(drive: Driver) -> None:
    drive.start("hallway")
    drive.beats(3)
    pause = drive.hear(C.PAUSE)
    assert isinstance(pause[0], Silence) and isinstance(pause[1], StopBeat)
    assert drive.send(Beat()) == [], "a stale beat after pause says nothing"
    resume = drive.hear(C.RESUME)
    assert keys(resume) == ["resumed", "reminder"], "a wall reminder after every resume"
    assert drive.state == "briefing"
    assert any(isinstance(a, StartBeat) for a in drive.send(SpeechDone()))
    assert said(drive.send(Beat()))[0].n == 4


def test_pause_during_briefing_waits_for_resume(drive: Driver) -> None:
    drive.hear(C.START, "hallway")
    drive.hear(C.PAUSE)
    assert drive.send(SpeechDone()) == [], "the paused briefing does not start the beat"
    drive.hear(C.RESUME)
    assert any(isinstance(a, StartBeat) for a in drive.send(SpeechDone()))
    assert said(drive.send(Beat()))[0].n == 1


def test_unsure_command_is_confirmed_before_acting(drive: Driver) -> None:
    actions = drive.hear(C.START, "hallway", confidence=0.3)
    assert keys(actions) == ["confirm"]
    assert "start hallway?" in said(actions)[0].text
    assert said(actions)[0].mentions == ("start hallway",)
    assert drive.state == "confirming"
    yes = drive.hear(C.YES)
    assert isinstance(yes[0], CancelTimer)
    assert keys(yes)[0] == "intro_hallway"
    assert drive.state == "briefing"


def test_unsure_command_declined_keeps_the_walk_going(drive: Driver) -> None:
    drive.start("hallway")
    drive.beats(2)
    ask = drive.hear(C.FASTER, confidence=0.2)
    assert isinstance(ask[0], StopBeat), "the beat holds while the coach asks"
    no = drive.hear(C.NO)
    assert keys(no) == ["declined"]
    assert any(isinstance(a, StartBeat) for a in no)
    assert drive.state == "walking"
    assert drive.engine.cadence == 60
    assert said(drive.send(Beat()))[0].n == 3


@pytest.mark.parametrize("command", [C.STOP, C.PAUSE])
def test_stop_and_pause_act_at_once_however_unsure(drive: Driver, command: Command) -> None:
    drive.start("hallway")
    drive.beats(1)
    actions = drive.hear(command, confidence=0.1)
    assert "confirm" not in keys(actions)
    assert drive.state == ("idle" if command is C.STOP else "paused")


def test_unanswered_question_times_out(drive: Driver) -> None:
    ask = drive.hear(C.START, "car")
    timer = [a for a in ask if isinstance(a, StartTimer)]
    assert timer and timer[0].name == QUESTION_TIMER and timer[0].after_s == 10.0
    actions = drive.send(TimerFired(QUESTION_TIMER))
    assert keys(actions) == ["no_answer"]
    assert drive.state == "idle"


def test_car_starts_only_on_yes(drive: Driver) -> None:
    assert keys(drive.hear(C.START, "car")) == ["safe_area"]
    assert keys(drive.hear(C.HOW_MANY)) == ["answer_first", "safe_area"]
    assert drive.state == "confirming"
    assert keys(drive.hear(C.NO)) == ["not_safe"]
    assert drive.state == "idle"
    assert drive.send(SpeechDone()) == []


def test_not_understood_gets_an_answer(drive: Driver) -> None:
    assert keys(drive.send(NotUnderstood("purple monkey"))) == ["not_understood"]
    drive.hear(C.START, "car")
    assert keys(drive.send(NotUnderstood("hmm"))) == ["answer_first", "safe_area"]


def test_slower_and_faster_stay_within_bounds(drive: Driver) -> None:
    drive.start("hallway")
    retimes = [a for a in drive.hear(C.FASTER) if isinstance(a, RetimeBeat)]
    assert drive.engine.cadence == 65 and retimes[0].interval_s == pytest.approx(60 / 65)
    for _ in range(10):
        drive.hear(C.FASTER)
    assert drive.engine.cadence == 90
    assert keys(drive.hear(C.FASTER)) == ["fastest"]
    for _ in range(20):
        drive.hear(C.SLOWER)
    assert drive.engine.cadence == 30
    line = said(drive.hear(C.SLOWER))[0]
    assert line.key == "slowest"
    assert "30 steps" in line.text


def test_elliptical_has_no_beat_to_change(drive: Driver) -> None:
    drive.start("elliptical")
    assert keys(drive.hear(C.FASTER)) == ["no_beat"]


def test_how_many_counts_and_time(drive: Driver) -> None:
    drive.start("hallway")
    drive.beats(6)
    line = said(drive.hear(C.HOW_MANY))[0]
    assert "six steps" in line.text.lower() and "four steps" in line.text.lower()
    drive.hear(C.STOP)
    drive.start("walk")
    drive.beats(90)
    line = said(drive.hear(C.HOW_MANY))[0]
    assert line.key == "time_so_far"
    assert "one minute and thirty seconds" in line.text.lower()


def test_repeat_says_the_last_instruction_not_a_count(drive: Driver) -> None:
    drive.start("hallway")
    drive.beats(5)
    line = said(drive.hear(C.REPEAT))[0]
    assert line.key == "turn_left"


def test_stop_mid_walk_records_a_stopped_walk(drive: Driver) -> None:
    drive.start("hallway")
    drive.beats(3)
    actions = drive.hear(C.STOP)
    ended = [a for a in actions if isinstance(a, WalkEnded)]
    assert ended[0].outcome is Outcome.STOPPED and ended[0].steps == 3
    assert keys(actions) == ["stopped"]


def test_variants_follow_the_seed(config: Config, pack: VoicePack) -> None:
    def session(seed: int) -> list[str]:
        d = Driver(Engine(config, pack, seed=seed))
        d.start("walk")
        return [line.text for line in said(d.history + d.beats(200))]
    assert session(1) == session(1)
    assert len({tuple(session(s)) for s in range(5)}) > 1, "variants differ between seeds"


def test_a_plan_sets_the_length_and_says_why(config: Config, pack: VoicePack) -> None:
    plan = Plan(210.0, 180.0, PlanReason.GROWING)
    d = Driver(Engine(config, pack, plans={"walk": plan}))
    lines = said(d.hear(C.START, "walk"))
    assert "three minutes and thirty seconds" in lines[0].text
    assert lines[1].key == "plan_growing"
    assert "three minutes" in lines[1].text and "three minutes and thirty seconds" in lines[1].text
    d.send(SpeechDone())
    d.beats(210)
    assert d.state == "finished"


def test_plan_after_a_stop_holds_the_length(config: Config, pack: VoicePack) -> None:
    plan = Plan(14.0, 14.0, PlanReason.HOLDING_AFTER_STOP)
    d = Driver(Engine(config, pack, plans={"hill": plan}))
    lines = said(d.hear(C.START, "hill"))
    assert "fourteen steps" in lines[0].text and lines[1].key == "plan_holding_after_stop"


def test_how_many_after_walks_gives_todays_total(config: Config, pack: VoicePack) -> None:
    d = Driver(Engine(config, pack, today=(20, 30.0)))
    assert keys(d.hear(C.HOW_MANY)) == ["today_total"]
    d.start("couch")
    d.beats(4)
    lines = said(d.hear(C.HOW_MANY))
    assert [line.key for line in lines] == ["last_walk", "today_total"]
    assert "twenty-four steps" in lines[1].text


def test_a_late_beat_counts_as_walking_time(drive: Driver) -> None:
    drive.start("walk")
    drive.beats(2)
    assert drive.send(BeatDelayed(1.5)) == []
    assert drive.engine.walk is not None and drive.engine.walk.seconds == 3.5
    drive.hear(C.PAUSE)
    drive.send(BeatDelayed(9.0))
    assert drive.engine.walk.seconds == 3.5, "paused time is not walking time"
