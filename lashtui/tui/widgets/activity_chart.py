"""The Health view's three charts of how the work moved, drawn by textual-plotext (Plotext in
a Textual widget) from a `ProcessActivity`: starts and ends per minute by terminal state,
running and waiting over time, and run duration percentiles by engine kind.

A chart redraws only when it is given new data (`show`), and Plotext builds its picture in
`render`, so an unchanged chart costs nothing per tick. Line colours are the app theme's
variables (success, error, warning, ...), read when drawn, so the high-contrast theme
applies; the canvas follows the theme through the widget's "auto" theme.

Engine kinds are stored text: Plotext's picture is read back as ANSI (`Text.from_ansi`), so
a kind goes in only through `untrusted.visible`, which shows every control character as an
escape: no stored byte can reach the terminal as a sequence.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from lashtui.model import ProcessActivity
from lashtui.untrusted import visible

KINDS_SHOWN = 6  # the kinds with the most runs; a bar chart of more is unreadable
LABEL_WIDTH = 16

# Series name -> the theme variable that colours it.
SERIES_COLOURS = {
    "started": "foreground",
    "completed": "success",
    "failed": "error",
    "cancelled": "warning",
    "abandoned": "primary",
    "running": "success",
    "waiting": "warning",
    "p50": "success",
    "p90": "warning",
    "p99": "error",
}


def _hours(activity: ProcessActivity) -> bool:
    return activity.minutes > 120


def _step(activity: ProcessActivity, width: int) -> int:
    """Minutes per point: a day of minutes is 1,440 points for ~50 columns, which Plotext
    would spend ~130 ms joining; a point per column or two says the same."""
    return max(1, -(-activity.minutes // max(1, width)))


def _x(activity: ProcessActivity, step: int) -> list[float]:
    """Each point's place on the x axis (the last minute of its `step`): minutes (or hours)
    before the last minute."""
    n = activity.minutes
    scale = 60.0 if _hours(activity) else 1.0
    return [(min(i + step, n) - n) / scale for i in range(0, n, step)]


def _per_minute(series: tuple[int, ...], step: int) -> list[float]:
    """Per-minute counts as the mean per minute over each `step` minutes."""
    return [sum(series[i : i + step]) / step for i in range(0, len(series), step)]


def _at_end(series: tuple[int, ...], step: int) -> list[int]:
    """A level (rows running) at the end of each `step` minutes."""
    return [series[min(i + step, len(series)) - 1] for i in range(0, len(series), step)]


class ActivityChart(PlotextPlot):
    """One chart of a `ProcessActivity`; subclasses say which."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.activity: ProcessActivity | None = None
        self._drawn: tuple[object, RenderResult] | None = None

    def show(self, activity: ProcessActivity) -> None:
        if activity != self.activity:
            self.activity = activity
            self.refresh()

    def colour(self, series: str) -> tuple[int, int, int]:
        variable = self.app.theme_variables.get(SERIES_COLOURS[series], "white")
        return Color.parse(variable).rgb

    def render(self) -> RenderResult:
        # Plotext builds the whole picture in Python (10-40 ms a chart): nothing before the
        # first read, and the last picture again while its data, size and theme are the same
        # (Textual renders a widget again for reasons of its own, a layout or a hover).
        if self.activity is None:
            return ""
        key = (self.activity, self.size, self.app.theme)
        if self._drawn is None or self._drawn[0] != key:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            self.draw(self.activity)
            self._drawn = (key, super().render())
        return self._drawn[1]

    def draw(self, activity: ProcessActivity) -> None:
        raise NotImplementedError

    def time_axis(self, activity: ProcessActivity) -> None:
        self.plt.xlabel("hours ago" if _hours(activity) else "minutes ago")


class ThroughputChart(ActivityChart):
    """Starts and ends per minute, one line each for every terminal state."""

    def draw(self, activity: ProcessActivity) -> None:
        step = _step(activity, self.size.width)
        x = _x(activity, step)
        started = _per_minute(activity.started, step)
        self.plt.plot(x, started, label="started", color=self.colour("started"))
        for state, ends in activity.ended.items():
            self.plt.plot(x, _per_minute(ends, step), label=state, color=self.colour(state))
        mean = f" ({step}-minute means)" if step > 1 else ""
        self.plt.title(f"starts and ends per minute{mean}")
        self.time_axis(activity)


class LoadChart(ActivityChart):
    """Running and waiting rows at the end of each minute."""

    def draw(self, activity: ProcessActivity) -> None:
        step = _step(activity, self.size.width)
        x = _x(activity, step)
        for name, series in (("running", activity.running), ("waiting", activity.waiting)):
            self.plt.plot(x, _at_end(series, step), label=name, color=self.colour(name))
        self.plt.title("running and waiting")
        self.time_axis(activity)


class DurationChart(ActivityChart):
    """p50, p90 and p99 run durations, in seconds, of the kinds with the most runs."""

    def draw(self, activity: ProcessActivity) -> None:
        kinds = activity.durations[:KINDS_SHOWN]
        self.plt.title(f"run duration (s), latest {activity.duration_runs:,} runs")
        if not kinds:
            return
        # Escape only what is shown (the same label: each character escapes on its own).
        labels = [visible(d.kind[:LABEL_WIDTH])[:LABEL_WIDTH] for d in kinds]
        values = [
            [d.p50_ms / 1000 for d in kinds],
            [d.p90_ms / 1000 for d in kinds],
            [d.p99_ms / 1000 for d in kinds],
        ]
        names = ["p50", "p90", "p99"]
        colours = [self.colour(name) for name in names]
        # textual-plotext's stub of `multiple_bar` lags plotext 5.3, which takes `labels`
        # (one per series) and a colour per series.
        self.plt.multiple_bar(labels, values, labels=names, color=colours)  # type: ignore[call-arg, arg-type]
        # Durations are never negative: with every run instant (0 s) Plotext would centre
        # the axis on zero and draw -1..1.
        self.plt.ylim(0, max(1.0, *values[2]))
