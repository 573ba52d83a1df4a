"""Charts as PNG bytes: break-even, cumulative cost, the cost iceberg, the sensitivity tornado.

matplotlib's object API on the Agg canvas, never pyplot: each call builds its own Figure, so
charts render safely from worker threads. matplotlib is imported here only, and this module is
imported only when a chart is asked for (the CLI starts faster without it).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import offset_copy

from .economics import monthly_bills
from .format import count, money
from .scenario import CostLine, Report

DPI = 100
API_COLOUR = "#d62728"
BUY_COLOUR = "#1f77b4"
HIDDEN_COLOUR = "#7f7f7f"
GOOD = "#2ca02c"


def _figure(width: int, height: int) -> tuple[Figure, object]:
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    figure.subplots_adjust(left=0.13, right=0.97, top=0.88, bottom=0.14)
    for name in ("top", "right"):
        axes.spines[name].set_visible(False)
    # Sizes set on the axes, not through rcParams, so no global state is touched from threads.
    axes.tick_params(labelsize=12)
    axes.xaxis.label.set_size(12)
    axes.yaxis.label.set_size(12)
    axes.title.set_size(14)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # Fast zlib level: the encoder is a fifth of the render time at the default level, for
    # files a few kB smaller than Slack would ever notice.
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _axis_money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1000:
        return f"{sign}${count(value)}"
    return f"{sign}${value:,.0f}" if value >= 10 or value == 0 else f"{sign}${value:.2g}"


def _money_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda value, _: _axis_money(value)))


def _title(report: Report) -> str:
    text = report.headline.split(";")[0]
    return text if len(text) <= 70 else text[:67] + "..."


def breakeven_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """Monthly cost of renting and of buying against volume (log scale), the capacity staircase,
    every crossing and the current volume."""
    model = report.cost_model
    current = max(report.requests_per_month, 1.0)
    marks = [c.requests_per_month for c in report.crossings if c.requests_per_month > 0]
    low = min([current / 100, *(m / 3 for m in marks)])
    high = max([current * 100, *(m * 3 for m in marks)])
    low, high = max(low, 1.0), max(high, 10.0)
    volumes = np.geomspace(low, high, 160)  # the staircase edges are added exactly below
    if model.requests_per_instance and model.instance_monthly > 0:
        # Put the staircase's edges in exactly, just before and at each step.
        first = math.ceil(low / model.requests_per_instance)
        last = math.floor(high / model.requests_per_instance)
        if last - first < 300:
            edges = np.arange(max(first, 1), last + 1) * model.requests_per_instance
            volumes = np.sort(np.concatenate([volumes, edges, edges * (1 + 1e-9)]))
    api, buy = monthly_bills(
        volumes,
        model.api_cost_per_request,
        model.selfhost_variable_per_request,
        model.instance_monthly,
        model.requests_per_instance or np.inf,
        model.ha,
        model.ops_monthly,
    )

    figure, axes = _figure(width, height)
    axes.plot(volumes, api, color=API_COLOUR, linewidth=2.5, label="Rent (API)")
    axes.plot(volumes, buy, color=BUY_COLOUR, linewidth=2.5, label="Buy (self-host)")
    axes.set_xscale("log")
    axes.set_yscale("log" if max(api.max(), buy.max()) / max(min(api.min(), buy.min()), 1e-9) > 1e3 else "linear")
    # Minor ticks on log axes are most of the render time and unreadable at preview size.
    axes.xaxis.set_minor_locator(NullLocator())
    axes.yaxis.set_minor_locator(NullLocator())
    for direction, colour in (("buy_starts_paying", GOOD), ("buy_stops_paying", API_COLOUR)):
        xs = [
            c.requests_per_month
            for c in report.crossings
            if c.direction == direction and low <= c.requests_per_month <= high
        ]
        if xs:
            axes.plot(
                xs,
                [model.api_monthly(x) for x in xs],
                linestyle="none",
                marker="o",
                markersize=9,
                color=colour,
                zorder=5,
            )
    first_be = report.breakeven_requests_per_month
    if first_be and low <= first_be <= high:
        # Plain text with an offset transform: annotate's arrow machinery costs time and draws nothing here.
        axes.text(
            first_be,
            model.api_monthly(first_be),
            f"break-even\n{count(first_be)}/mo",
            ha="right",
            fontsize=11,
            color=GOOD,
            transform=offset_copy(axes.transData, figure, x=-10, y=18, units="points"),
        )
    axes.axvline(current, color="black", linestyle="--", linewidth=1.5)
    axes.text(
        current,
        0.97,
        f"you: {count(current)}/mo\nrent {money(report.api_monthly_cost)}\nbuy {money(report.selfhost_monthly_cost)}",
        va="top",
        fontsize=11,
        transform=offset_copy(axes.get_xaxis_transform(), figure, x=6, units="points"),
    )
    _money_axis(axes.yaxis)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: count(value)))
    axes.set_xlabel("Requests a month")
    axes.set_ylabel("Cost a month")
    axes.set_title(_title(report), loc="left", y=1.02, fontsize=14)
    # A key of two coloured words: as clear as a legend at preview size, at a tenth of its cost.
    axes.text(
        0.98,
        0.10,
        "— Rent (API)",
        color=API_COLOUR,
        fontsize=12,
        fontweight="bold",
        ha="right",
        transform=axes.transAxes,
    )
    axes.text(
        0.98,
        0.03,
        "— Buy (self-host)",
        color=BUY_COLOUR,
        fontsize=12,
        fontweight="bold",
        ha="right",
        transform=axes.transAxes,
    )
    axes.grid(True, which="major", alpha=0.3)
    return _png(figure)


def cumulative_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """Total cost of each side over the horizon, with the payback point."""
    horizon = max(report.horizon_months, 1.0)
    months = np.linspace(0, horizon, 100)
    rent = months * report.api_monthly_cost
    buy = report.one_time_cost + months * report.selfhost_monthly_cost
    figure, axes = _figure(width, height)
    axes.plot(months, rent, color=API_COLOUR, linewidth=2.5, label="Rent (API)")
    axes.plot(months, buy, color=BUY_COLOUR, linewidth=2.5, label="Buy (one-time + monthly)")
    payback = report.payback_months
    if payback is not None and payback <= horizon:
        spent = report.one_time_cost + payback * report.selfhost_monthly_cost
        axes.plot([payback], [spent], marker="o", markersize=10, color=GOOD, zorder=5)
        axes.annotate(
            f"payback\n{payback:.1f} months",
            (payback, spent),
            textcoords="offset points",
            xytext=(10, -30),
            fontsize=11,
            color=GOOD,
        )
    else:
        axes.text(0.02, 0.95, "no payback within the horizon", transform=axes.transAxes, va="top", fontsize=11)
    _money_axis(axes.yaxis)
    axes.yaxis.set_major_locator(MaxNLocator(6))
    axes.set_xlim(0, horizon)
    axes.set_ylim(bottom=0)
    axes.set_xlabel("Months")
    axes.set_ylabel("Total spent")
    axes.set_title(f"Cumulative cost over {horizon:g} months", loc="left", y=1.02, fontsize=14)
    axes.legend(loc="upper left", frameon=False, bbox_to_anchor=(0, 0.9), fontsize=11)
    axes.grid(True, alpha=0.3)
    return _png(figure)


def _iceberg(lines: Iterable[CostLine], title: str, width: int, height: int) -> bytes:
    lines = [line for line in lines if line.amount > 0]
    visible = [line for line in lines if not line.hidden]
    hidden = sorted((line for line in lines if line.hidden), key=lambda line: line.amount, reverse=True)
    ordered = visible + hidden
    figure, axes = _figure(width, height)
    figure.subplots_adjust(left=0.30, right=0.86, top=0.88, bottom=0.10)
    positions = np.arange(len(ordered))[::-1]
    # Visible lines sit above the waterline, hidden ones below it.
    positions = np.array([p + (0.6 if i < len(visible) else 0) for i, p in enumerate(positions)])
    colours = [BUY_COLOUR if not line.hidden else HIDDEN_COLOUR for line in ordered]
    amounts = [line.amount for line in ordered]
    axes.barh(positions, amounts, color=colours, height=0.7)
    top = max(amounts, default=1)
    for y, line in zip(positions, ordered, strict=True):
        axes.text(line.amount + top * 0.01, y, money(line.amount), va="center", fontsize=11)
    if visible and hidden:
        waterline = positions[len(visible) - 1] - 0.8
        axes.axhline(waterline, color="#17becf", linewidth=2)
        total_hidden = sum(line.amount for line in hidden)
        share = total_hidden / sum(amounts)
        axes.text(
            top * 1.2,
            waterline + 0.1,
            f"people's time, below the waterline: {share:.1%}",
            ha="right",
            va="bottom",
            fontsize=11,
            color="#17becf",
        )
    axes.set_yticks(positions, [line.name for line in ordered])
    axes.set_xlim(0, top * 1.25)
    _money_axis(axes.xaxis)
    axes.set_title(title, loc="left", y=1.02, fontsize=14)
    return _png(figure)


def iceberg_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """The one-time cost iceberg: training compute (visible) against people's time (hidden)."""
    return _iceberg(report.hidden_costs, f"One-time cost {money(report.one_time_cost)}: the iceberg", width, height)


def audit_iceberg_chart(result, width: int = 800, height: int = 500) -> bytes:
    """The audit's iceberg: training compute against every hidden line of people's time."""
    title = f"Base one-time cost {money(result.base_one_time)}: the iceberg"
    return _iceberg(result.lines, title, width, height)


def tornado_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """First-year net benefit of buying with each input at -50% and +50%, widest swing on top."""
    sensitivity = report.sensitivity
    cases = sensitivity.cases[:8]
    base = sensitivity.base_net
    figure, axes = _figure(width, height)
    figure.subplots_adjust(left=0.27, right=0.95, top=0.86, bottom=0.14)
    ordered = list(reversed(cases))
    lows = [min(c.low_net, c.high_net) for c in ordered]
    widths = [abs(c.high_net - c.low_net) for c in ordered]
    colours = ["#ff7f0e" if c.flips else BUY_COLOUR for c in ordered]
    axes.barh(range(len(ordered)), widths, left=lows, color=colours, height=0.6)
    axes.axvline(base, color="black", linewidth=1.5)
    axes.axvline(0, color=API_COLOUR, linewidth=1, linestyle=":")
    axes.set_yticks(range(len(cases)), [c.name for c in reversed(cases)])
    axes.xaxis.set_major_locator(MaxNLocator(6))  # fewer labels: legible at preview size, and faster
    _money_axis(axes.xaxis)
    axes.set_xlabel("First-year net benefit of buying (each input -50% / +50%)")
    flips = any(c.flips for c in cases)
    axes.set_title(
        "What moves the answer most" + (" (orange: verdict flips)" if flips else ""), loc="left", y=1.02, fontsize=14
    )
    axes.grid(True, axis="x", alpha=0.3)
    return _png(figure)


PROVIDER_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def weekly_chart(summary, selfhost_daily: dict | None = None, width: int = 800, height: int = 500) -> bytes:
    """Daily spend of the week stacked by provider; with the same volume's self-hosted cost as a line."""
    days = sorted(summary.daily)
    providers = sorted({p for costs in summary.daily.values() for p in costs})
    figure, axes = _figure(width, height)
    x = np.arange(len(days))
    bottom = np.zeros(len(days))
    for colour, provider in zip(PROVIDER_COLOURS * 4, providers, strict=False):
        values = np.array([summary.daily[d].get(provider, 0.0) for d in days])
        axes.bar(x, values, bottom=bottom, color=colour, label=provider, width=0.7)
        bottom += values
    if selfhost_daily:
        axes.plot(
            x,
            [selfhost_daily.get(d, 0.0) for d in days],
            color="black",
            linewidth=2.5,
            marker="o",
            label="same volume, self-hosted",
        )
    axes.set_xticks(x, [d.strftime("%a %d") for d in days])
    _money_axis(axes.yaxis)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("Spend a day")
    axes.set_title(f"LLM API spend, week {summary.week}: {money(summary.total)}", loc="left", y=1.02, fontsize=14)
    if providers or selfhost_daily:
        axes.legend(loc="upper left", frameon=False, fontsize=11)
    axes.grid(True, axis="y", alpha=0.3)
    return _png(figure)
