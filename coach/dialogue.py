"""The dialogue engine: a pure state machine from events to actions.

No threads, no audio, no clock reads. :meth:`Engine.handle` takes one event (a command heard,
a beat, "finished speaking", a timer) and returns the actions the edge must carry out (say a
line, start/stop/retime the beat, record the walk). Which command does what in which state is
the table :data:`~coach.transitions.TRANSITIONS`; every (state, command) pair has a row.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Mapping

from .config import Config
from .conversation import LastWalk, Question
from .events import (
    QUESTION_TIMER,
    Action,
    Beat,
    BeatDelayed,
    CancelTimer,
    Command,
    Cue,
    Event,
    Heard,
    Line,
    NotUnderstood,
    Outcome,
    RetimeBeat,
    Say,
    Silence,
    SpeechDone,
    StartBeat,
    StartTimer,
    State,
    StopBeat,
    TimerFired,
    WalkBegan,
    WalkEnded,
    WalkProgress,
)
from .progression import Plan
from .routines import TIMED_TICK_S, Mark, Routine, Walk, routines_from_config
from .transitions import ACT_AT_ONCE, TRANSITIONS
from .voicepack import VoicePack

_LOGGER = logging.getLogger(__name__)

S, C = State, Command
_ACTIVE = (S.BRIEFING, S.WALKING, S.PAUSED)


class Engine:
    """The coach's conversation: events in, actions out."""

    def __init__(self, config: Config, pack: VoicePack, *, seed: int | None = None,
                 plans: Mapping[str, Plan] | None = None, today: tuple[int, float] = (0, 0.0)
                 ) -> None:
        """``plans`` sets today's length of the growing routines (from the history);
        ``today`` is the steps and walking seconds already done today."""
        self.config = config
        self.pack = pack
        self._configured = routines_from_config(config)
        self.routines: dict[str, Routine] = dict(self._configured)
        self.plans: dict[str, Plan] = {}
        for name, plan in (plans or {}).items():
            self.set_plan(name, plan)
        self.today_steps, self.today_seconds = today
        self._rng = random.Random(config.dialogue.seed if seed is None else seed)
        self.state = State.IDLE
        self.cadence = config.cadence.steps_per_minute
        self.walk: Walk | None = None
        self.question: Question | None = None
        self.last_walk: LastWalk | None = None
        self._last_line: Line | None = None
        self._out: list[Action] = []

    # --- entry points -------------------------------------------------------------------

    def set_plan(self, routine: str, plan: Plan) -> None:
        """Use a planned length for a growing routine from now on."""
        self.plans[routine] = plan
        self.routines[routine] = self._configured[routine].with_length(plan.length)

    def greet(self) -> list[Action]:
        """The first words of a session."""
        self._say("greeting")
        return self._flush()

    def handle(self, event: Event) -> list[Action]:
        """Take one event; return what to do about it."""
        if isinstance(event, Heard):
            self._heard(event)
        elif isinstance(event, NotUnderstood):
            self._not_understood()
        elif isinstance(event, Beat):
            if self.state is S.WALKING:
                self._beat()
        elif isinstance(event, BeatDelayed):
            if self.state is S.WALKING and self.walk is not None:
                # the person keeps walking while a long line is said: that time counts
                self.walk = dataclasses.replace(self.walk,
                                                seconds=self.walk.seconds + event.seconds)
        elif isinstance(event, SpeechDone):
            if self.state is S.BRIEFING:
                self._set(S.WALKING)
                self._out.append(StartBeat(self._interval()))
        elif (isinstance(event, TimerFired) and event.name == QUESTION_TIMER
              and self.state is S.CONFIRMING):
            self._say("no_answer")
            self._settle_question(declined=True, say_declined=False)
        return self._flush()

    # --- plumbing -----------------------------------------------------------------------

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _set(self, state: State) -> None:
        if state is not self.state:
            _LOGGER.debug("%s -> %s", self.state.value, state.value)
        self.state = state

    def _say(self, key: str, **values: object) -> Line:
        line = self.pack.line(key, self._rng, **values)
        self._emit(line)
        return line

    def _emit(self, line: Line) -> None:
        if line.cue is not Cue.COUNT:
            self._last_line = line
        self._out.append(Say(line))

    def _interval(self) -> float:
        if self.walk is not None and self.walk.routine.timed:
            return TIMED_TICK_S
        return 60.0 / self.cadence

    def _length(self, routine: Routine, steps: int, seconds: float) -> str:
        return self.pack.steps(steps) if routine.steps is not None else self.pack.duration(seconds)

    def _heard(self, heard: Heard) -> None:
        unsure = heard.confidence < self.config.dialogue.confirm_below
        if unsure and heard.command not in ACT_AT_ONCE:
            if self.state is S.CONFIRMING:
                self._answer_first(heard)
            else:
                self._ask("confirm", "confirm", heard=heard, command=heard.canonical)
            return
        handler: Callable[[Heard], None] = getattr(self, "_" + TRANSITIONS[(self.state,
                                                                             heard.command)])
        handler(heard)

    def _not_understood(self) -> None:
        if self.state is S.CONFIRMING:
            self._answer_first(None)
        else:
            self._say("not_understood")

    # --- questions ----------------------------------------------------------------------

    def _ask(self, kind: str, key: str, *, heard: Heard | None = None,
             routine: str | None = None, **values: object) -> None:
        if self.state is S.WALKING:
            self._out.append(StopBeat())  # nobody keeps stepping blind through a question
        line = self._say(key, **values)
        self.question = Question(kind, line, self.state, heard, routine)
        self._set(S.CONFIRMING)
        self._out.append(StartTimer(QUESTION_TIMER, self.config.dialogue.question_timeout_s))

    def _settle_question(self, *, declined: bool, say_declined: bool = True) -> Question:
        question = self.question
        assert question is not None
        self.question = None
        self._out.append(CancelTimer(QUESTION_TIMER))
        if declined and question.kind == "safe_area":
            if say_declined:
                self._say("not_safe")
            self._set(question.return_to)
            return question
        if declined and say_declined:
            self._say("declined")
        self._set(question.return_to)
        if self.state is S.WALKING:
            self._out.append(StartBeat(self._interval()))
        return question

    def _yes(self, _: Heard) -> None:
        question = self._settle_question(declined=False)
        if question.kind == "safe_area":
            assert question.routine is not None
            self._begin_walk(question.routine)
        elif question.heard is not None:
            self._heard(dataclasses.replace(question.heard, confidence=1.0))

    def _no(self, _: Heard) -> None:
        self._settle_question(declined=True)

    def _answer_first(self, _: Heard | None) -> None:
        self._say("answer_first")
        if self.question is not None:
            self._emit(self.question.line)
            self._out.append(StartTimer(QUESTION_TIMER, self.config.dialogue.question_timeout_s))

    def _pause_question(self, _: Heard) -> None:
        question = self._settle_question(declined=True, say_declined=False)
        if question.return_to in _ACTIVE:
            self._pause(_)
        else:
            self._out.append(Silence())
            self._say("quiet")

    def _no_question(self, _: Heard) -> None:
        self._say("no_question")

    # --- walks --------------------------------------------------------------------------

    def _begin(self, heard: Heard) -> None:
        name = heard.routine or "hallway"
        if self.routines[name].safe_area_check:
            self._ask("safe_area", "safe_area", routine=name)
        else:
            self._begin_walk(name)

    def _begin_walk(self, name: str) -> None:
        routine = self.routines[name]
        self.walk = Walk(routine)
        length = self._length(routine, routine.steps or 0, routine.seconds or 0.0)
        self._emit(self.pack.intro(name, self._rng, length=length))
        plan = self.plans.get(name)
        if plan is not None:
            def words(value: float) -> str:
                return self._length(routine, int(value), value)
            self._say(f"plan_{plan.reason.value}", today=words(plan.length),
                      last=words(plan.last if plan.last is not None else plan.length))
        self._say("check_path")
        if routine.caution:
            self._say("caution")
        self._say("go")
        self.walk, marks = self.walk.opening()
        self._marks(marks)
        self._out.append(WalkBegan(name, self.cadence, routine.planned, routine.unit))
        self._set(S.BRIEFING)

    def _beat(self) -> None:
        assert self.walk is not None
        self.walk, marks = self.walk.advance(self._interval())
        self._marks(marks)
        walk = self.walk
        self._out.append(WalkProgress(walk.steps, walk.seconds, walk.head_turns, self.cadence))
        if walk.done:
            routine = walk.routine
            if routine.steps is not None:
                self._say("summary_steps", steps=self.pack.steps(walk.steps))
            else:
                self._say("summary_time", time=self.pack.duration(walk.seconds),
                          steps=self.pack.steps(walk.steps))
            self._end_walk(Outcome.FINISHED)
            self._set(S.FINISHED)

    def _marks(self, marks: list[Mark]) -> None:
        assert self.walk is not None
        for mark in marks:
            values = dict(mark.values)
            if mark.key == "count":
                values["n"] = int(values["n"])
                self._emit(dataclasses.replace(
                    self.pack.line("count", self._rng, n=self.pack.number(values["n"])),
                    n=values["n"], step=values["step"]))
            elif mark.key == "time_count":
                elapsed = values["elapsed"]
                total = self.walk.routine.seconds or 0.0
                line = self.pack.line("time_count", self._rng, time=self.pack.duration(elapsed),
                                      left=self.pack.duration(total - elapsed))
                self._emit(dataclasses.replace(line, n=elapsed, unit="seconds"))
            elif mark.key.startswith("turn_"):
                line = self.pack.line(mark.key, self._rng)
                self._emit(dataclasses.replace(line, side=values["side"]))
            else:
                self._say(mark.key)

    def _end_walk(self, outcome: Outcome) -> None:
        walk = self.walk
        assert walk is not None
        self._out.append(StopBeat())
        r = walk.routine
        self._out.append(WalkEnded(r.name, outcome, walk.steps, walk.seconds, walk.head_turns,
                                   self.cadence, r.planned, r.unit))
        self.last_walk = LastWalk(r.name, walk.steps, walk.seconds)
        self.today_steps += walk.steps
        self.today_seconds += walk.seconds
        self.walk = None

    # --- handlers named in TRANSITIONS ---------------------------------------------------

    def _stop(self, _: Heard) -> None:
        self._out.append(Silence())
        if self.question is not None:
            self._out.append(CancelTimer(QUESTION_TIMER))
            self.question = None
        if self.walk is not None:
            self._end_walk(Outcome.STOPPED)
            self._say("stopped")
        else:
            self._say("quiet")
        self._set(S.IDLE)

    def _pause(self, _: Heard) -> None:
        self._out += [Silence(), StopBeat()]
        self._say("paused")
        self._set(S.PAUSED)

    def _resume(self, _: Heard) -> None:
        self._say("resumed")
        if self.config.dialogue.reminder_after_resume:
            self._say("reminder")
        self._set(S.BRIEFING)

    def _busy(self, _: Heard) -> None:
        assert self.walk is not None
        self._say("busy", routine=self.pack.routines[self.walk.routine.name].name)

    def _busy_paused(self, _: Heard) -> None:
        assert self.walk is not None
        self._say("busy_paused", routine=self.pack.routines[self.walk.routine.name].name)

    def _already_walking(self, _: Heard) -> None:
        self._say("already_walking")

    def _nothing_to_pause(self, _: Heard) -> None:
        self._say("nothing_to_pause")

    def _nothing_to_resume(self, _: Heard) -> None:
        self._say("nothing_to_resume")

    def _slower(self, _: Heard) -> None:
        self._change_cadence(-1)

    def _faster(self, _: Heard) -> None:
        self._change_cadence(+1)

    def _change_cadence(self, direction: int) -> None:
        if self.walk is not None and self.walk.routine.timed:
            self._say("no_beat")
            return
        c = self.config.cadence
        new = min(c.fastest, max(c.slowest, self.cadence + direction * c.change_by))
        if new == self.cadence:
            self._say("slowest" if direction < 0 else "fastest", cadence=self.cadence)
            return
        self.cadence = new
        self._say("slower" if direction < 0 else "faster", cadence=new)
        if self.state is S.WALKING:
            self._out.append(RetimeBeat(self._interval()))

    def _repeat(self, _: Heard) -> None:
        if self._last_line is None:
            self._say(f"help_{self.state.value}")
        else:
            self._emit(self._last_line)

    def _how_many(self, _: Heard) -> None:
        walk = self.walk
        if walk is not None:
            if walk.routine.steps is not None:
                self._say("count_so_far", steps=self.pack.steps(walk.steps),
                          left=self.pack.steps(walk.steps_left))
            else:
                self._say("time_so_far", time=self.pack.duration(walk.seconds),
                          left=self.pack.duration(walk.seconds_left))
            return
        if self.last_walk is not None:
            last = self.last_walk
            routine = self.routines[last.routine]
            self._say("last_walk", routine=self.pack.routines[last.routine].name,
                      length=self._length(routine, last.steps, last.seconds))
        if self.today_steps or self.today_seconds:
            self._say("today_total", steps=self.pack.steps(self.today_steps),
                      time=self.pack.duration(self.today_seconds))
        elif self.last_walk is None:
            self._say("nothing_yet")

    def _help(self, _: Heard) -> None:
        self._say(f"help_{self.state.value}")
