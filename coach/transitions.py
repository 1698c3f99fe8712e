"""Which command does what in which state: the dialogue engine's table, one row for every
(state, command) pair, naming the :class:`~coach.dialogue.Engine` handler that carries it out."""

from __future__ import annotations

from .events import Command, State

C = Command


def _rows(command: Command, **by_state: str) -> dict[tuple[State, Command], str]:
    """Rows for one command: state name -> handler name; ``other`` covers the rest."""
    other = by_state.pop("other", None)
    rows = {}
    for state in State:
        handler = by_state.get(state.value, other)
        assert handler is not None, (state, command)
        rows[(state, command)] = handler
    return rows


TRANSITIONS: dict[tuple[State, Command], str] = {
    **_rows(C.START, idle="begin", finished="begin", briefing="busy", walking="busy",
            paused="busy_paused", confirming="answer_first"),
    **_rows(C.STOP, other="stop"),
    **_rows(C.PAUSE, idle="nothing_to_pause", finished="nothing_to_pause", briefing="pause",
            walking="pause", paused="busy_paused", confirming="pause_question"),
    **_rows(C.RESUME, paused="resume", idle="nothing_to_resume", finished="nothing_to_resume",
            briefing="already_walking", walking="already_walking", confirming="answer_first"),
    **_rows(C.SLOWER, confirming="answer_first", other="slower"),
    **_rows(C.FASTER, confirming="answer_first", other="faster"),
    **_rows(C.REPEAT, other="repeat"),
    **_rows(C.HOW_MANY, confirming="answer_first", other="how_many"),
    **_rows(C.HELP, other="help"),
    **_rows(C.YES, confirming="yes", other="no_question"),
    **_rows(C.NO, confirming="no", other="no_question"),
}
"""(state, command) -> handler. Every pair is here; the handler decides the next state."""

ACT_AT_ONCE = frozenset({C.STOP, C.PAUSE})
"""Commands never confirmed, however unsure the recogniser is."""
