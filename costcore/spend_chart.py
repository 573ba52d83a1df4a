"""The weekly spend chart as PNG bytes: each day's API spend stacked by provider, and what the same
volume would have cost self-hosted, as the channel's latest analysis costed it.

matplotlib's object API on the Agg canvas, never pyplot (no global state: safe from the
scheduler's and Bolt's worker threads). Import this module only when a chart is drawn.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .format import count, money
from .spend import WeeklySummary

DPI = 100
PROVIDER_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
SELFHOST_COLOUR = "black"


def _axis_money(value: float, _position=None) -> str:
    if value >= 1000:
        return f"${count(value)}"
    return f"${value:,.0f}" if value >= 10 or value == 0 else f"${value:.2g}"


def weekly_chart(summary: WeeklySummary, width: int = 800, height: int = 500) -> bytes:
    """PNG bytes: the week's daily spend stacked by provider, with summary.selfhost_daily as a line."""
    days = sorted(summary.daily)
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    figure.subplots_adjust(left=0.12, right=0.97, top=0.86, bottom=0.12)
    for name in ("top", "right"):
        axes.spines[name].set_visible(False)
    axes.tick_params(labelsize=11)
    x = list(range(len(days)))
    bottom = [0.0] * len(days)
    for i, provider in enumerate(summary.providers):
        values = [summary.daily[d].get(provider, 0.0) for d in days]
        colour = PROVIDER_COLOURS[i % len(PROVIDER_COLOURS)]
        axes.bar(x, values, bottom=bottom, color=colour, label=provider, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if summary.selfhost_daily:
        axes.plot(
            x,
            [summary.selfhost_daily.get(d, 0.0) for d in days],
            color=SELFHOST_COLOUR,
            linewidth=2.5,
            marker="o",
            label=f"same volume self-hosted (analysis #{summary.selfhost_basis})",
        )
    axes.set_xticks(x, [d.strftime("%a %d") for d in days])
    axes.yaxis.set_major_formatter(FuncFormatter(_axis_money))
    highest = max([*bottom, *(summary.selfhost_daily or {}).values(), 1.0])
    axes.set_ylim(bottom=0, top=highest * 1.35)  # room for the legend above the bars
    axes.set_ylabel("Spend a day", fontsize=11)
    axes.set_title(f"LLM API spend, week {summary.week}: {money(summary.total)}", loc="left", y=1.03, fontsize=14)
    if summary.providers or summary.selfhost_daily:
        axes.legend(loc="upper left", frameon=False, fontsize=10, ncols=2)
    axes.grid(True, axis="y", alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()
