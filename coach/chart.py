"""A picture of the walks: steps per day as bars, the longest long walk of each day as a line.

matplotlib is optional (``pip install 'coach[chart]'``) and only imported when drawing.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from coach.errors import CoachError
from coach.events import Outcome
from coach.records import WalkRecord, last_days, local_day

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LOGGER = logging.getLogger(__name__)

LONG_ROUTINES = frozenset({"walk", "cooldown", "hill"})
"""Routines whose length grows; their longest finished walk of each day is drawn as a line."""

SUFFIXES = (".png", ".svg")
"""The picture formats ``draw_chart`` writes, chosen by the file's suffix."""

METADATA_KEY = "coach-data"
"""PNG text chunk holding the chart's data as JSON."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DC_DESCRIPTION = "{http://purl.org/dc/elements/1.1/}description"


class ChartUnavailable(CoachError):
    """matplotlib is not installed, so no picture can be drawn."""

    def __init__(self) -> None:
        super().__init__("drawing a chart needs matplotlib: pip install 'coach[chart]'")


@dataclass(frozen=True)
class ChartData:
    """What the picture shows, one entry per day."""

    days: tuple[date, ...]
    """Calendar days, oldest first, ending today."""
    steps_per_day: tuple[int, ...]
    """Steps walked each day, over every routine and outcome."""
    long_walk_minutes: tuple[float | None, ...]
    """Longest finished walk/cooldown/hill of each day in minutes; None when there was none."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict; ``from_dict`` reads it back."""
        return {
            "days": [day.isoformat() for day in self.days],
            "steps_per_day": list(self.steps_per_day),
            "long_walk_minutes": list(self.long_walk_minutes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChartData:
        """Build chart data from ``to_dict`` output; unknown or missing keys are errors."""
        expected = {"days", "steps_per_day", "long_walk_minutes"}
        if set(data) != expected:
            raise ValueError(f"chart data has keys {sorted(data)}; "
                             f"expected exactly: {', '.join(sorted(expected))}")
        return cls(
            days=tuple(date.fromisoformat(day) for day in data["days"]),
            steps_per_day=tuple(int(steps) for steps in data["steps_per_day"]),
            long_walk_minutes=tuple(
                None if m is None else float(m) for m in data["long_walk_minutes"]
            ),
        )


def chart_data(
    walks: Sequence[WalkRecord], days: int, now: float, tz: tzinfo | None = None,
    long_routines: Collection[str] = LONG_ROUTINES,
) -> ChartData:
    """Sum the walks into one entry per day for the ``days`` days ending today (local time)."""
    calendar = last_days(days, now, tz)
    index = {day: n for n, day in enumerate(calendar)}
    steps = [0] * days
    longest: list[float | None] = [None] * days
    for walk in walks:
        n = index.get(local_day(walk.started_at, tz))
        if n is None:
            continue
        steps[n] += walk.steps
        if walk.routine in long_routines and walk.outcome is Outcome.FINISHED:
            minutes = walk.seconds / 60
            best = longest[n]
            longest[n] = minutes if best is None else max(best, minutes)
    return ChartData(tuple(calendar), tuple(steps), tuple(longest))


def build_figure(data: ChartData) -> Figure:
    """Draw the chart on a new matplotlib Figure (Agg canvas; no window, no pyplot state)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ChartUnavailable from exc
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    steps_axes = figure.add_subplot()
    # Days sit at 0..n-1 and carry their own labels: every day is one bar, gaps included.
    positions = list(range(len(data.days)))
    steps_axes.bar(positions, data.steps_per_day, color="tab:blue", label="Steps")
    steps_axes.set_xlabel("Day")
    steps_axes.set_ylabel("Steps per day")
    # At most about ten labels, counted back from today so today is always labelled.
    labelled = positions[:: -math.ceil(len(positions) / 10)][::-1]
    steps_axes.set_xticks(labelled, [data.days[n].strftime("%a\n%d %b") for n in labelled])

    minutes_axes = steps_axes.twinx()
    # NaN leaves a gap in the line on days without a long walk instead of drawing a zero.
    minutes = [math.nan if m is None else m for m in data.long_walk_minutes]
    minutes_axes.plot(positions, minutes, color="tab:orange", marker="o",
                      label="Longest long walk")
    minutes_axes.set_ylabel("Longest long walk (minutes)")
    highest = max([1.0, *(m for m in minutes if not math.isnan(m))])
    minutes_axes.set_ylim(0, highest * 1.1)

    first, last = data.days[0], data.days[-1]
    steps_axes.set_title(f"Walking backwards, {first.day} {first:%b} to {last.day} {last:%b %Y}")
    figure.legend(loc="outside upper right", ncols=2)
    return figure


def draw_chart(data: ChartData, path: Path) -> None:
    """Save the chart as ``.png`` or ``.svg`` with its data embedded (see ``read_chart_data``)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{path}: cannot draw a {suffix or 'suffix-less'} file; "
            f"expected one of: {', '.join(SUFFIXES)}"
        )
    figure = build_figure(data)
    payload = json.dumps(data.to_dict(), separators=(",", ":"))
    # SVG metadata only takes Dublin Core keys, so the data goes in its description.
    metadata = {METADATA_KEY: payload} if suffix == ".png" else {"Description": payload}
    figure.savefig(path, format=suffix[1:], metadata=metadata)
    _LOGGER.info("chart of %d days written to %s", len(data.days), path)


def read_chart_data(path: Path) -> dict[str, Any]:
    """Return the data embedded by ``draw_chart`` (the ``ChartData.to_dict`` form)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        text = _png_texts(path.read_bytes()).get(METADATA_KEY)
    elif suffix == ".svg":
        element = ElementTree.parse(path).getroot().find(f".//{_DC_DESCRIPTION}")
        text = None if element is None else element.text
    else:
        raise ValueError(f"{path}: cannot read a {suffix or 'suffix-less'} file; "
                         f"expected one of: {', '.join(SUFFIXES)}")
    if not text:
        raise ValueError(f"{path}: this picture holds no coach chart data")
    data: dict[str, Any] = json.loads(text)
    return data


def _png_texts(raw: bytes) -> dict[str, str]:
    if not raw.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    texts: dict[str, str] = {}
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(raw):
        length, kind = struct.unpack(">I4s", raw[pos : pos + 8])
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = zlib.decompress(value[1:]).decode("latin-1")
        elif kind == b"IEND":
            break
        pos += 12 + length  # length, type, body, CRC
    return texts
