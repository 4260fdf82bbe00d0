"""The charts' geometry (feedback_app/web/charts.py): axes, labels and shares, no Flask needed."""

from __future__ import annotations

import pytest

from feedback_app.web import charts

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (7, (0, 2, 4, 6, 8)),
        (10, (0, 2, 4, 6, 8, 10)),
        (38, (0, 10, 20, 30, 40)),
        (1, (0, 1)),
        (3, (0, 1, 2, 3)),
        (1234, (0, 250, 500, 750, 1000, 1250)),
    ],
)
def test_ticks_are_round_numbers_from_zero_reaching_the_largest_value(top, ticks):
    assert charts.nice_ticks(top) == ticks


def test_counts_never_get_a_tick_between_whole_numbers():
    assert all(float(t).is_integer() for t in charts.nice_ticks(2))
    # Days may be halves.
    assert charts.nice_ticks(2, whole=False) == (0, 0.5, 1, 1.5, 2)


def test_an_empty_or_all_zero_series_has_an_axis_from_zero_to_one():
    assert charts.nice_ticks(0) == (0, 1)
    assert charts.nice_ticks(None) == (0, 1)
    chart = charts.column_chart([0, 0, 0], MONTHS[:3], ["0", "0", "0"], unit="Views")
    assert [t.label for t in chart.ticks] == ["0", "1"]
    assert all(c.height == 0 for c in chart.columns)
    assert [c.value_label for c in chart.columns] == ["0", "0", "0"]  # zero still written


def test_columns_stand_on_the_axis_and_the_largest_reaches_its_value():
    values = [5, 12, 38, 0]
    chart = charts.column_chart(values, MONTHS[:4], [str(v) for v in values], unit="Views")
    top = chart.ticks[-1]
    assert top.value == 40 and top.position == pytest.approx(chart.top)
    for column, value in zip(chart.columns, values, strict=True):
        assert column.y + column.height == pytest.approx(chart.bottom)
        assert column.height == pytest.approx((chart.bottom - chart.top) * value / 40)
        # The value is written just above its column, centred on it, inside the drawing.
        assert column.value_y < column.y and column.value_x == column.centre
        assert column.value_y > 0
    assert chart.ticks[0].position == chart.bottom
    assert not chart.rotate_values


def test_a_single_month_is_one_column_within_the_plot():
    chart = charts.column_chart([3], ["Dec"], ["3"], unit="Views", secondary=["2026"])
    (column,) = chart.columns
    assert chart.left < column.x < column.x + column.width < chart.right
    assert column.category == "Dec" and column.secondary == "2026"


def test_the_year_is_written_under_the_first_month_and_where_it_changes():
    years = ["2025"] * 3 + ["2026"] * 9
    chart = charts.column_chart([1] * 12, MONTHS[9:] + MONTHS[:9], ["1"] * 12, unit="Views", secondary=years)
    assert [c.secondary for c in chart.columns if c.secondary] == ["2025", "2026"]
    assert chart.columns[3].secondary == "2026"


def test_a_huge_value_gets_readable_ticks_and_its_labels_turn_rather_than_overlap():
    values = [2_000_000_000_000] + [0] * 11
    labels = [f"{v:,}" for v in values]
    chart = charts.column_chart(values, MONTHS, labels, unit="Views")
    assert chart.ticks[-1].value >= values[0]
    assert chart.ticks[-1].label == "2,000,000,000,000"
    assert chart.rotate_values  # "2,000,000,000,000" is wider than a column of twelve
    # Room for the turned label above the tallest column, and the tick labels left of the axis.
    assert chart.top >= charts.text_width(labels[0], charts.SMALL_FONT_SIZE)
    assert chart.left >= charts.text_width(chart.ticks[-1].label, charts.SMALL_FONT_SIZE)


def test_many_months_thin_their_labels_out_instead_of_overlapping():
    months = [f"2026-{n:02d}" for n in range(1, 13)] * 3
    chart = charts.column_chart([1] * 36, months, ["1"] * 36, unit="Views")
    shown = [c for c in chart.columns if c.category]
    assert 1 < len(shown) < 36
    gap = shown[1].centre - shown[0].centre
    assert gap >= charts.text_width("2026-01", charts.SMALL_FONT_SIZE)


def test_a_column_of_no_value_is_not_drawn_but_keeps_its_label():
    chart = charts.column_chart([0.5, None], ["Jan", "Feb"], ["50%", "—"], unit="%", percent=True)
    assert chart.columns[1].height == 0 and chart.columns[1].value_label == "—"
    assert [t.label for t in chart.ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.columns[0].y == pytest.approx((chart.top + chart.bottom) / 2)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        charts.column_chart([1, 2], ["Jan"], ["1", "2"], unit="Views")
    with pytest.raises(ValueError):
        charts.bar_chart(["a"], [1, 2], ["1", "2"], unit="Views")


def test_bars_put_each_name_above_its_bar_and_the_value_after_its_end():
    labels = ["Transport and Logistics Bureau", "運輸及物流局"]
    chart = charts.bar_chart(labels, [40, 10], ["40", "10"], unit="Views")
    first, second = chart.bars
    assert first.width == pytest.approx(chart.right - chart.left, abs=0.01)  # 40 is the axis' top
    assert second.width == pytest.approx((chart.right - chart.left) / 4, abs=0.01)
    for bar in chart.bars:
        assert bar.label_y < bar.y  # the name above its bar
        assert bar.value_x > chart.left + bar.width  # the value after the bar's end
        assert bar.value_x + charts.text_width(bar.value_label) <= chart.width
    assert second.label_y > first.y + chart.bar_height  # one row after another, no overlap
    assert chart.axis_y > second.y + chart.bar_height
    assert [t.label for t in chart.ticks] == ["0", "10", "20", "30", "40"]


def test_a_name_too_long_for_one_line_wraps_between_words_or_han_characters():
    english = "A bureau whose name is very much longer than any line of the chart could ever hold in one go"
    lines = charts.wrap(english, 200)
    assert len(lines) > 1 and " ".join(lines) == english
    assert all(charts.text_width(line) <= 200 for line in lines)
    chinese = "創新科技及工業局" * 5
    lines = charts.wrap(chinese, 150)
    assert "".join(lines) == chinese and all(charts.text_width(line) <= 150 for line in lines)
    chart = charts.bar_chart([english], [1], ["1"], unit="Views")
    assert len(chart.bars[0].label_lines) == len(charts.wrap(english, chart.width - 8))


def test_huge_values_on_bars_keep_few_enough_ticks_for_their_labels():
    chart = charts.bar_chart(["a", "b"], [3_000_000_000, 1], ["3,000,000,000", "1"], unit="Views")
    assert chart.ticks[-1].value >= 3_000_000_000
    room = chart.right - chart.left
    widest = max(charts.text_width(t.label, charts.SMALL_FONT_SIZE) for t in chart.ticks)
    assert (len(chart.ticks) - 1) * widest < room


def test_share_bars_run_from_zero_to_one_hundred_percent():
    chart = charts.bar_chart(["a", "b"], [0.25, None], ["25%", "—"], unit="%", percent=True)
    assert [t.label for t in chart.ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.bars[0].width == pytest.approx((chart.right - chart.left) / 4, abs=0.01)
    assert chart.bars[1].width == 0 and chart.bars[1].value_label == "—"


def test_percentages_of_a_stacked_bar_add_up_to_one_hundred():
    assert charts.whole_percentages([1, 1, 1]) == [34, 33, 33]
    assert charts.whole_percentages([2, 1]) == [67, 33]
    assert charts.whole_percentages([0, 0]) == [0, 0]
    assert sum(charts.whole_percentages([7, 13, 29, 1])) == 100


def test_stacked_segments_fill_the_bar_in_proportion_and_write_what_fits():
    bar = charts.stacked_bar([("Yes", 6), ("Partly", 3), ("No", 1)])
    yes, partly, no = bar.segments
    assert bar.total == 10
    assert yes.x == 0 and partly.x == pytest.approx(0.6 * bar.width) and no.x == pytest.approx(0.9 * bar.width)
    assert (yes.percent, partly.percent, no.percent) == (60, 30, 10)
    assert yes.inside == "60%" and no.inside == "10%"  # 40 units hold "10%"
    assert len({s.colour for s in bar.segments}) == 3
    tiny = charts.stacked_bar([("Yes", 999), ("No", 1)])
    assert tiny.segments[1].inside == ""  # too thin to write in: the legend and table have it


def test_an_empty_stacked_bar_has_no_segments_drawn():
    bar = charts.stacked_bar([("Yes", 0), ("No", 0)])
    assert bar.total == 0 and all(s.width == 0 and s.inside == "" for s in bar.segments)


def test_palette_colours_stand_out_from_the_page_and_carry_white_text():
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    for colour in (*charts.PALETTE, charts.AXIS_COLOUR):
        contrast = 1.05 / (luminance(colour) + 0.05)
        assert contrast >= 4.5, colour  # 3:1 is the rule for shapes; white text inside needs 4.5:1
