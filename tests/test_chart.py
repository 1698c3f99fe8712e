"""Tests for coach.chart: per-day chart data, the drawn figure, and the data inside the picture."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from coach.chart import (
    ChartData,
    ChartUnavailable,
    build_figure,
    chart_data,
    draw_chart,
    read_chart_data,
)
from coach.errors import CoachError
from coach.events import Outcome
from coach.records import WalkRecord

NOW = datetime(2024, 3, 10, 15, 0, tzinfo=UTC).timestamp()
DAY = 86400.0
BAR_BLUE = (31, 119, 180)  # matplotlib's tab:blue
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib is not installed (pip install 'coach[chart]'), so nothing can be drawn",
)
DATA = ChartData(
    days=(date(2024, 3, 8), date(2024, 3, 9), date(2024, 3, 10)),
    steps_per_day=(120, 0, 64),
    long_walk_minutes=(3.5, None, 4.0),
)


def walk(routine: str, days_ago: float, steps: int, seconds: float,
         outcome: Outcome = Outcome.FINISHED) -> WalkRecord:
    started = NOW - days_ago * DAY
    return WalkRecord(1, routine, started, started + seconds, steps, seconds, 50, 0, outcome,
                seconds, "seconds")


def test_chart_data_days_end_today_oldest_first() -> None:
    data = chart_data([], days=3, now=NOW, tz=UTC)
    assert data == ChartData(DATA.days, (0, 0, 0), (None, None, None))


def test_chart_data_sums_steps_of_every_walk_each_day() -> None:
    walks = [walk("hallway", 0, 10, 12), walk("couch", 0.1, 4, 5, Outcome.STOPPED),
             walk("walk", 2, 200, 180), walk("walk", 5, 999, 600)]
    assert chart_data(walks, days=3, now=NOW, tz=UTC).steps_per_day == (200, 0, 14)


def test_chart_data_keeps_the_longest_finished_long_walk_each_day() -> None:
    walks = [
        walk("walk", 2, 200, 180), walk("cooldown", 2.1, 230, 210),
        walk("hill", 1, 50, 600, Outcome.STOPPED), walk("hallway", 1, 10, 900),
        walk("walk", 0, 240, 240),
    ]
    assert chart_data(walks, days=3, now=NOW, tz=UTC).long_walk_minutes == (3.5, None, 4.0)


def test_chart_data_round_trips_through_json() -> None:
    assert ChartData.from_dict(json.loads(json.dumps(DATA.to_dict()))) == DATA


def test_chart_data_from_dict_rejects_unknown_keys() -> None:
    data = {**DATA.to_dict(), "colour": "blue"}
    with pytest.raises(ValueError, match="expected exactly: days, long_walk_minutes"):
        ChartData.from_dict(data)


@needs_matplotlib
def test_figure_has_one_bar_per_day_as_tall_as_its_steps() -> None:
    from matplotlib.patches import Rectangle

    steps_axes = build_figure(DATA).axes[0]
    bars = [patch for patch in steps_axes.patches if isinstance(patch, Rectangle)]
    assert len(bars) == len(steps_axes.patches)
    assert [bar.get_height() for bar in bars] == [120, 0, 64]


@needs_matplotlib
def test_figure_draws_long_walk_minutes_with_a_gap_for_none() -> None:
    import numpy

    minutes_axes = build_figure(DATA).axes[1]
    (line,) = minutes_axes.lines
    y = numpy.asarray(line.get_ydata(), dtype=float).tolist()
    assert y[0] == 3.5 and math.isnan(y[1]) and y[2] == 4.0


@needs_matplotlib
def test_figure_has_a_title_axis_labels_and_today_labelled() -> None:
    steps_axes, minutes_axes = build_figure(DATA).axes
    assert steps_axes.get_title() == "Walking backwards, 8 Mar to 10 Mar 2024"
    assert (steps_axes.get_xlabel(), steps_axes.get_ylabel()) == ("Day", "Steps per day")
    assert minutes_axes.get_ylabel() == "Longest long walk (minutes)"
    assert steps_axes.get_xticklabels()[-1].get_text() == "Sun\n10 Mar"


@needs_matplotlib
def test_a_month_gets_at_most_about_ten_date_labels() -> None:
    days = 30
    data = chart_data([], days=days, now=NOW, tz=UTC)
    labels = [t.get_text() for t in build_figure(data).axes[0].get_xticklabels()]
    assert 5 <= len(labels) <= 11
    assert labels[-1] == "Sun\n10 Mar"


@needs_matplotlib
def test_png_holds_the_chart_data(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "progress.png"
    draw_chart(DATA, path)
    assert read_chart_data(path) == DATA.to_dict()
    with Image.open(path) as image:
        assert json.loads(image.info["coach-data"]) == DATA.to_dict()


@needs_matplotlib
def test_svg_holds_the_chart_data(tmp_path: Path) -> None:
    path = tmp_path / "progress.svg"
    draw_chart(DATA, path)
    assert ElementTree.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert read_chart_data(path) == DATA.to_dict()


def blue_pixels(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return sum(n for n, colour in image.convert("RGB").getcolors(1 << 20) or []
                   if colour == BAR_BLUE)


@needs_matplotlib
def test_png_shows_the_bars(tmp_path: Path) -> None:
    no_steps = ChartData(DATA.days, (0, 0, 0), DATA.long_walk_minutes)
    draw_chart(DATA, tmp_path / "steps.png")
    draw_chart(no_steps, tmp_path / "none.png")
    # The legend swatch is blue in both; only the chart with steps has blue bars too.
    assert blue_pixels(tmp_path / "steps.png") > blue_pixels(tmp_path / "none.png") + 1000


@pytest.mark.parametrize("name", ["progress.jpg", "progress", "progress.pdf"])
def test_other_formats_are_refused_without_writing(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"expected one of: \.png, \.svg"):
        draw_chart(DATA, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@needs_matplotlib
def test_a_picture_without_chart_data_is_reported(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "holiday.png"
    Image.new("RGB", (4, 4)).save(path)
    with pytest.raises(ValueError, match="holds no coach chart data"):
        read_chart_data(path)


def test_missing_matplotlib_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import` fail as if the package were not installed.
    for name in [n for n in sys.modules if n.startswith("matplotlib")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ChartUnavailable, match=r"pip install 'coach\[chart\]'") as caught:
        build_figure(DATA)
    assert isinstance(caught.value, CoachError)
