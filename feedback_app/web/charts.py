"""Charts drawn on the server as SVG: the geometry, with no Flask and no markup.

Templates draw what these layouts say (templates/_charts.html): a column chart by month, a
horizontal bar chart by category and a 100%-stacked bar of shares. Each layout works in its own
viewBox, CHART_WIDTH units wide, shown at the width of its column: on a 390 px phone (358 px inside
the page's margins) that is a unit a pixel, so FONT_SIZE stays readable there, and larger screens
only enlarge it (to 30rem at most: style.css).

Text cannot be measured without a browser, so its width is estimated generously (a Han character
is a full em, a Latin letter a little over half of one): labels get the room the estimate gives,
and a label that would not fit is turned (columns) or wrapped (bars) rather than overlapping.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

CHART_WIDTH = 360
FONT_SIZE = 13
SMALL_FONT_SIZE = 12
# Colours of bars and segments: each has at least 3:1 contrast with the white page (WCAG 1.4.11)
# and white text on it at least 4.5:1, so a value can be written inside.
PALETTE = ("#00528a", "#1e6b2f", "#9a4a00", "#6a3d9a", "#4a4a4a", "#b00020")
AXIS_COLOUR = "#595959"  # 7:1 on white
GRID_COLOUR = "#d6dbe0"  # decoration only: every value is written out


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """A generous estimate of `text`'s width at font `size`."""
    ems = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            ems += 1.0
        elif char == " ":
            ems += 0.3
        elif char.isupper() or char in "%mw—":
            ems += 0.75
        else:
            ems += 0.58
    return ems * size


def format_number(value: float) -> str:
    """A tick's label: thousands separated, no decimals unless the step has them."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


@dataclass(frozen=True)
class Tick:
    value: float
    position: float  # along the value axis, in viewBox units
    label: str


def nice_step(top: float, count: int, *, whole: bool) -> float:
    """The step of `count` or fewer intervals of 1, 2, 2.5 or 5 times a power of ten that reach `top`."""
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw and not (whole and not float(step).is_integer()):
            return step
    return 10 * magnitude  # pragma: no cover - 10 always reaches raw


def nice_ticks(top: float | None, *, count: int = 5, whole: bool = True) -> tuple[float, ...]:
    """Tick values from 0 to the first nice value at or above `top` (counts are `whole`: no step
    below 1). An empty or all-zero series gets an axis from 0 to 1."""
    if not top or top <= 0:
        return (0, 1)
    step = nice_step(top, count, whole=whole)
    intervals = math.ceil(top / step - 1e-9)
    return tuple(round(step * n, 10) for n in range(intervals + 1))


def percent_ticks() -> tuple[float, ...]:
    return (0, 0.25, 0.5, 0.75, 1)


def _tick_labels(values: Sequence[float], percent: bool) -> list[str]:
    return [f"{round(v * 100)}%" if percent else format_number(v) for v in values]


def _fitting_ticks(top: float | None, room: float, *, percent: bool, whole: bool) -> tuple[float, ...]:
    """As many ticks (5 at most) as have room for their labels side by side along `room` units."""
    if percent:
        return percent_ticks()
    for count in (5, 4, 3, 2, 1):
        values = nice_ticks(top, count=count, whole=whole)
        widest = max(text_width(label, SMALL_FONT_SIZE) for label in _tick_labels(values, False))
        if len(values) < 2 or (widest + 8) * (len(values) - 1) <= room:
            return values
    return values


# --- columns by month ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    x: float
    y: float  # top of the column
    width: float
    height: float
    centre: float
    value_label: str
    value_x: float
    value_y: float
    category: str  # the label under it ('' where labels are thinned out)
    secondary: str  # a second line under it (the year where it changes), or ''


@dataclass(frozen=True)
class ColumnChart:
    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    ticks: tuple[Tick, ...]
    columns: tuple[Column, ...]
    rotate_values: bool  # the value labels are turned to read upwards (too wide for their column)
    unit: str

    @property
    def value_rotation(self) -> str:
        return "rotate(-90)" if self.rotate_values else ""


def column_chart(
    values: Sequence[float | None],
    categories: Sequence[str],
    value_labels: Sequence[str],
    *,
    unit: str,
    secondary: Sequence[str] | None = None,
    percent: bool = False,
    width: float = CHART_WIDTH,
    plot_height: float = 160,
) -> ColumnChart:
    """Columns for `values` (None: no column, its label still written), `categories` under them."""
    if not (len(values) == len(categories) == len(value_labels)):
        raise ValueError("one category and one value label per value")
    secondary = list(secondary or [""] * len(values))
    top_value = max((v for v in values if v is not None), default=0)
    tick_values = percent_ticks() if percent else nice_ticks(top_value, whole=True)
    tick_labels = _tick_labels(tick_values, percent)
    left = max(text_width(label, SMALL_FONT_SIZE) for label in tick_labels) + 8
    right = width - 4
    slot = (right - left) / max(len(values), 1)
    widest_value = max((text_width(label, SMALL_FONT_SIZE) for label in value_labels), default=0)
    rotate = widest_value + 2 > slot
    # Room above the plot for the unit and for a value label over the tallest column.
    top = 18 + (widest_value + 4 if rotate else SMALL_FONT_SIZE + 4)
    bottom = top + plot_height
    widest_category = max((text_width(c, SMALL_FONT_SIZE) for c in categories), default=0)
    every = max(1, math.ceil((widest_category + 4) / slot))
    axis_top = tick_values[-1]
    ticks = tuple(
        Tick(value, bottom - plot_height * value / axis_top, label)
        for value, label in zip(tick_values, tick_labels, strict=True)
    )
    columns, last_secondary, last_secondary_x = [], None, -math.inf
    for n, (value, category, label, second) in enumerate(zip(values, categories, value_labels, secondary, strict=True)):
        height = plot_height * (value or 0) / axis_top
        x = left + slot * n + slot * 0.15
        centre = left + slot * n + slot / 2
        shown_second = ""
        if second and second != last_secondary and centre - last_secondary_x > text_width(second, SMALL_FONT_SIZE) + 4:
            shown_second, last_secondary_x = second, centre
        last_secondary = second
        value_y = bottom - height - 4
        columns.append(
            Column(
                x=round(x, 2),
                y=round(bottom - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                centre=round(centre, 2),
                value_label=label,
                # Turned text is drawn in a rotated frame: (x, y) there is (-y, x) on the page.
                value_x=round(-value_y if rotate else centre, 2),
                value_y=round(centre + SMALL_FONT_SIZE * 0.35 if rotate else value_y, 2),
                category=category if n % every == 0 else "",
                secondary=shown_second,
            )
        )
    return ColumnChart(
        width=width,
        height=bottom + (2 * SMALL_FONT_SIZE + 12 if any(secondary) else SMALL_FONT_SIZE + 10),
        left=round(left, 2),
        top=round(top, 2),
        right=round(right, 2),
        bottom=round(bottom, 2),
        ticks=ticks,
        columns=tuple(columns),
        rotate_values=rotate,
        unit=unit,
    )


# --- horizontal bars by category -----------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label_lines: tuple[str, ...]
    label_y: float  # the baseline of the first line
    y: float
    width: float
    value_label: str
    value_x: float
    value_y: float


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    left: float
    right: float
    bar_height: float
    line_height: float
    axis_y: float  # the value axis under the bars
    ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    unit: str


def wrap(text: str, room: float, size: float = FONT_SIZE) -> tuple[str, ...]:
    """`text` in lines no wider than `room`: broken at spaces, or between Han characters."""
    lines: list[str] = []
    line = ""
    for piece in _pieces(text):
        if line and text_width(line + piece, size) > room:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return tuple(lines)


def _pieces(text: str) -> list[str]:
    """Words with the space before them, and each Han character alone (a place to break)."""
    pieces: list[str] = []
    for char in text:
        wide = unicodedata.east_asian_width(char) in ("W", "F")
        if wide or char == " " or not pieces or unicodedata.east_asian_width(pieces[-1][-1]) in ("W", "F"):
            pieces.append(char)
        else:
            pieces[-1] += char
    return pieces


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    value_labels: Sequence[str],
    *,
    unit: str,
    percent: bool = False,
    whole: bool = True,
    width: float = CHART_WIDTH,
) -> BarChart:
    """A bar per label, its name above it over the whole width (long names and Chinese fit), its
    value written at its end; the value axis with ticks under the bars."""
    if not (len(labels) == len(values) == len(value_labels)):
        raise ValueError("one value and one value label per label")
    left = 6.0
    widest_value = max((text_width(label, FONT_SIZE) for label in value_labels), default=0)
    right = width - widest_value - 10
    top_value = max((v for v in values if v is not None), default=0)
    tick_values = _fitting_ticks(top_value, right - left, percent=percent, whole=whole)
    axis_top = tick_values[-1]
    line_height, bar_height, gap = FONT_SIZE + 4, 16.0, 10.0
    bars, y = [], 4.0
    for label, value, value_label in zip(labels, values, value_labels, strict=True):
        lines = wrap(label, width - 8)
        label_y = y + FONT_SIZE
        bar_y = y + line_height * len(lines) + 2
        length = (right - left) * (value or 0) / axis_top
        bars.append(
            Bar(
                label_lines=lines,
                label_y=round(label_y, 2),
                y=round(bar_y, 2),
                width=round(length, 2),
                value_label=value_label,
                value_x=round(left + length + 5, 2),
                value_y=round(bar_y + bar_height / 2 + FONT_SIZE * 0.35, 2),
            )
        )
        y = bar_y + bar_height + gap
    axis_y = y
    ticks = tuple(
        Tick(value, round(left + (right - left) * value / axis_top, 2), label)
        for value, label in zip(tick_values, _tick_labels(tick_values, percent), strict=True)
    )
    return BarChart(
        width=width,
        height=round(axis_y + 2 * SMALL_FONT_SIZE + 14, 2),
        left=left,
        right=round(right, 2),
        bar_height=bar_height,
        line_height=line_height,
        axis_y=round(axis_y, 2),
        ticks=ticks,
        bars=tuple(bars),
        unit=unit,
    )


# --- a 100%-stacked bar of shares ----------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    label: str
    count: int
    percent: int  # rounded so that the segments' add up to 100
    x: float
    width: float
    colour: str
    inside: str  # the percentage written inside, if it fits ('' otherwise; the legend has it)


@dataclass(frozen=True)
class StackedBar:
    width: float
    height: float
    bar_height: float
    segments: tuple[Segment, ...]
    total: int


def whole_percentages(counts: Sequence[int]) -> list[int]:
    """Percentages that add up to exactly 100 (largest remainders get the rounding), or zeros."""
    total = sum(counts)
    if not total:
        return [0] * len(counts)
    exact = [100 * c / total for c in counts]
    floors = [math.floor(e) for e in exact]
    by_remainder = sorted(range(len(counts)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in by_remainder[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


def stacked_bar(
    parts: Sequence[tuple[str, int]], *, colours: Sequence[str] = PALETTE, width: float = CHART_WIDTH
) -> StackedBar:
    """One bar split into `parts` (label, count) in proportion, a white gap between segments."""
    total = sum(count for _, count in parts)
    percents = whole_percentages([count for _, count in parts])
    segments, x, bar_height = [], 0.0, 28.0
    for n, ((label, count), percent) in enumerate(zip(parts, percents, strict=True)):
        share = count / total if total else 0
        length = width * share
        inside = f"{percent}%"
        segments.append(
            Segment(
                label=label,
                count=count,
                percent=percent,
                x=round(x, 2),
                width=round(max(length - (1 if length > 2 else 0), 0), 2),
                colour=colours[n % len(colours)],
                inside=inside if count and text_width(inside, FONT_SIZE) + 6 <= length else "",
            )
        )
        x += length
    return StackedBar(width=width, height=bar_height, bar_height=bar_height, segments=tuple(segments), total=total)
