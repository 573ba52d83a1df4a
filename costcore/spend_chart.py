"""The weekly spend chart as PNG bytes (or SVG, PDF through `charts.render`): each day's API spend
stacked by provider, and what the same volume would have cost self-hosted, as the channel's latest
analysis costed it.

matplotlib's object API on the Agg canvas, never pyplot (no global state: safe from the
scheduler's and Bolt's worker threads), laid out like the analysis charts (costcore/charts.py):
type that scales with the image, every label measured, none over another or off the image, a key
of coloured words instead of a legend. Import this module only when a chart is drawn.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from matplotlib.collections import PolyCollection

from .charts import MUST, SUBTLE, _axis_money, _Chart, _linear_ticks
from .format import money
from .spend import WeeklySummary

PROVIDER_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SELFHOST_COLOUR = "black"
KEY_ROWS = 3  # rows of the key at most; further providers are counted ('+2 more')


def weekly_chart(summary: WeeklySummary, width: int = 800, height: int = 500) -> bytes:
    """The week's daily spend stacked by provider, with summary.selfhost_daily as a line."""
    chart = _Chart(width, height)
    days = sorted(summary.daily)
    providers = summary.providers or sorted({p for costs in summary.daily.values() for p in costs})
    selfhost = summary.selfhost_daily or {}
    title = f"LLM API spend, week {summary.week}: {money(summary.total)}"
    top, _ = chart.titles(title, "Spend a day, by provider")

    key = [("■", PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)], p) for i, p in enumerate(providers)]
    if selfhost:
        basis = f" (analysis #{summary.selfhost_basis})" if summary.selfhost_basis is not None else ""
        key.append(("●", SELFHOST_COLOUR, f"same volume self-hosted{basis}"))
    top += _key(chart, key, top)
    top += chart.line_height(chart.label) / 2  # the top tick's label is centred on the axes' edge

    bottom = chart.bottom_band(axis_title=False)
    axes_h = height - top - bottom
    stacks = np.zeros((len(providers), len(days)))
    for i, provider in enumerate(providers):
        stacks[i] = [summary.daily[d].get(provider, 0.0) for d in days]
    totals = stacks.sum(axis=0)
    highest = max([*totals, *selfhost.values(), 1.0])
    y_ticks = _linear_ticks(0, highest * 1.08, chart.y_tick_count(axes_h))
    y_labels = [_axis_money(v) for v in y_ticks]
    left = chart.left_band(y_labels)
    right = max(12.0, 0.02 * width)
    axes_w = width - left - right
    day_labels = _day_labels(chart, days, axes_w)
    axes = chart.add_axes(left, right, top, bottom, spines=("left", "bottom"))
    x = np.arange(len(days), dtype=float)
    axes.set_xlim(-0.6, len(days) - 0.4)
    axes.set_ylim(0, y_ticks[-1] if y_ticks and y_ticks[-1] >= highest else highest * 1.08)
    chart.no_ticks()

    # The bars as one polygon collection: each provider's slice of each day, stacked.
    polygons, colours = [], []
    below = np.zeros(len(days))
    for i, row in enumerate(stacks):
        for day, (a, b) in enumerate(zip(below, below + row, strict=True)):
            if b > a:
                polygons.append(((day - 0.35, a), (day - 0.35, b), (day + 0.35, b), (day + 0.35, a)))
                colours.append(PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)])
        below = below + row
    if polygons:
        axes.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors="none", zorder=2), autolim=False)
    if selfhost:
        axes.plot(
            x,
            [selfhost.get(d, 0.0) for d in days],
            color=SELFHOST_COLOUR,
            linewidth=2.5 * chart.scale,
            marker="o",
            markersize=6 * chart.scale,
            zorder=3,
        )
    chart.ticks("x", list(x), day_labels, grid=False)
    chart.ticks("y", y_ticks, y_labels)
    return chart.finish()


def _day_labels(chart: _Chart, days: list[dt.date], axes_w: float) -> list[str]:
    """'Mon 16' when seven of them fit across the axes; 'Mon', then '16', when not."""
    for form in ("%a %d", "%a", "%d"):
        labels = [d.strftime(form) for d in days]
        widest = max((chart.measure(s, chart.label)[0] for s in labels), default=0.0)
        if (widest + chart.px(chart.label) * 0.6) * len(days) <= axes_w:
            return labels
    return labels


def _key(chart: _Chart, items: list[tuple[str, str, str]], top: float) -> float:
    """The key under the titles: a coloured mark and a name per item, in rows from the left (names
    cut to fit, items beyond KEY_ROWS rows counted). Returns the pixels it takes."""
    if not items:
        return 0.0
    size = chart.small
    room = chart.width - 2 * chart.margin
    space = chart.measure("  ", size)[0]
    row_h = chart.line_height(size) * 1.2
    x, row = chart.margin, 0
    placed = []
    for mark, colour, words in items:
        mark_w = chart.measure(mark, size)[0] + space / 3
        words = chart.fit(words, size, room - mark_w)
        item_w = mark_w + chart.measure(words, size)[0]
        if x > chart.margin and x + item_w > chart.margin + room:
            row, x = row + 1, chart.margin
        if row >= KEY_ROWS:  # no room left: count the rest, making room for the count
            last_row = [p for p in placed if p[0] == KEY_ROWS - 1]
            while True:
                more = f"+{len(items) - len(placed)} more"
                end = last_row[-1][1] + last_row[-1][4] + space if last_row else chart.margin
                if not last_row or end + chart.measure(more, size)[0] <= chart.margin + room:
                    break
                placed.remove(last_row.pop())
            placed.append((KEY_ROWS - 1, end, "", SUBTLE, 0.0, more))
            break
        placed.append((row, x, mark, colour, item_w, words))
        x += item_w + space
    rows = max(p[0] for p in placed) + 1
    for row, x0, mark, colour, _, words in placed:
        y = 1 - (top + row * row_h) / chart.height
        if mark:
            chart.text(x0 / chart.width, y, mark, size=size, color=colour, va="top", priority=MUST)
            x0 += chart.measure(mark, size)[0] + space / 3
        chart.text(x0 / chart.width, y, words, size=size, color=SUBTLE, va="top", priority=MUST)
    return rows * row_h + chart.px(4)
