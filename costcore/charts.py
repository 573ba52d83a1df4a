"""Charts as PNG bytes: break-even, cumulative cost, the cost iceberg, the sensitivity tornado.

matplotlib's object API on the Agg canvas, never pyplot: each call builds its own Figure, so
charts render safely from worker threads. matplotlib is imported here only, and this module is
imported only when a chart is asked for (the CLI starts faster without it).

Every chart is drawn for Slack's preview (a ~360 px wide thumbnail of an 800x500 image): few,
large labels, thick lines, coloured words instead of legends. Speed matters as much (a chart is
drawn on every verdict), and on this machine a chart's time goes to three things: matplotlib's Tick
objects (about 2 ms each), text (about 0.5 ms a string plus 0.1 ms a character) and the PNG
encoder. So: no tight_layout, no fill_between, no legend, no minor ticks; tick labels and grid
lines are drawn as plain text and one line collection, bars as one polygon collection; the PNG is
RGB at zlib's fastest level.
"""

from __future__ import annotations

import contextvars
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator
from matplotlib.transforms import offset_copy

from .economics import monthly_bills
from .format import count, money, months
from .scenario import CostLine, CostModel, Crossing, Report

DPI = 100
API_COLOUR = "#d62728"
BUY_COLOUR = "#1f77b4"
HIDDEN_COLOUR = "#4a6378"
WATER_COLOUR = "#dcecf5"
WATERLINE_COLOUR = "#1b8fb8"
GOOD = "#2ca02c"
FLIP_COLOUR = "#ff7f0e"
FLIP_LIGHT = "#ffc08a"
BUY_LIGHT = "#a9cce8"
SUBTLE = "#444444"
GRID = "#e3e3e3"

MAX_EDGES = 1000  # staircase steps drawn exactly; further ones are far narrower than a pixel


# --- shared pieces -------------------------------------------------------------------------


def _scale(width: int, height: int) -> float:
    """Font scale: 1 at 800x500; smaller images get smaller (but never illegible) type."""
    return min(1.25, max(0.7, min(width / 800, height / 500)))


def _figure(width: int, height: int) -> tuple[Figure, object]:
    """A figure exactly width x height pixels with one axes, sized without touching rcParams."""
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


def _plain_figure(
    width: int, height: int, left: float, right: float, top: float, bottom: float, spines: Iterable[str] = ("left",)
) -> tuple[Figure, object]:
    """A figure whose axes has no matplotlib ticks at all: `_ticks` draws the labels and grid."""
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((left, bottom, right - left, top - bottom))
    for name in ("top", "right", "left", "bottom"):
        axes.spines[name].set_visible(name in spines)
    return figure, axes


def _frame(
    width: int,
    height: int,
    y_labels: Sequence[str] = (),
    right_labels: Sequence[str] = (),
    axis_title: bool = True,
    above: int = 0,
) -> tuple[float, float, float, float]:
    """Axes edges (left, right, top, bottom as figure fractions) from what must fit around the
    axes, in pixels: the title band, tick labels, the x axis's name, labels at the lines' ends."""
    px = 13 * _scale(width, height) * DPI / 72  # one label's font size in pixels
    left = (max(map(len, y_labels)) * px * 0.6 + 18) if y_labels else 16
    right = (max(map(len, right_labels)) * px * 0.64 + 28) if right_labels else 32
    top = 28 + 3.3 * px + above * px  # title and subtitle (see _titles), and any labels over the axes
    bottom = 20 + (2.45 if axis_title else 1.25) * px
    return left / width, 1 - right / width, 1 - top / height, bottom / height


def _no_ticks(axes) -> None:
    """Call after set_xscale/set_yscale, which install their own locators."""
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_locator(NullLocator())
        axis.set_minor_locator(NullLocator())


def _ticks(
    figure: Figure,
    axes,
    which: str,
    values: Sequence[float],
    labels: Sequence[str],
    size: float,
    grid: bool = True,
    styles: Sequence[dict] | None = None,
) -> None:
    """Tick labels as plain text and grid lines as one collection: a fraction of the cost of
    matplotlib's Tick objects, and the same picture (the grid stands in for tick marks)."""
    if which == "x":
        base = axes.get_xaxis_transform()
        at = offset_copy(base, figure, y=-6, units="points")
        place, align = (lambda v: (v, 0.0)), {"ha": "center", "va": "top"}
        segment = lambda v: ((v, 0.0), (v, 1.0))  # noqa: E731
    else:
        base = axes.get_yaxis_transform()
        at = offset_copy(base, figure, x=-7, units="points")
        place, align = (lambda v: (0.0, v)), {"ha": "right", "va": "center"}
        segment = lambda v: ((0.0, v), (1.0, v))  # noqa: E731
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        x, y = place(value)
        style = styles[i] if styles else {}
        axes.text(x, y, label, fontsize=size, transform=at, clip_on=False, **align, **style)
    if grid and len(values):
        lines = LineCollection([segment(v) for v in values], transform=base, colors=GRID, linewidths=1, zorder=0.5)
        axes.add_collection(lines, autolim=False)


def _axis_title(figure: Figure, axes, text: str, size: float) -> None:
    """The x axis's name, under its tick labels."""
    axes.text(
        0.5,
        0.0,
        text,
        ha="center",
        va="top",
        fontsize=size,
        transform=offset_copy(axes.transAxes, figure, y=-(10 + size * 1.25), units="points"),
    )


def _linear_ticks(low: float, high: float, count_: int, integer: bool = False) -> list[float]:
    values = MaxNLocator(count_, integer=integer).tick_values(low, high)
    span = high - low
    return [float(v) for v in values if low - span * 1e-9 <= v <= high + span * 1e-9]


def _decades(low: float, high: float, most: int = 6) -> list[float]:
    """The powers of ten in [low, high], thinned to at most `most`."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    decades = list(range(first, last + 1)) or [round(math.log10(low))]
    stride = max(1, math.ceil(len(decades) / most))
    return [10.0**d for d in decades[::stride]]


def _bars(axes, rows: Sequence[float], starts: Sequence[float], ends: Sequence[float], height: float, colours) -> None:
    """Horizontal bars as one polygon collection (barh makes a patch, and a round of property
    handling, per bar)."""
    half = height / 2
    polygons = [
        ((a, r - half), (a, r + half), (b, r + half), (b, r - half)) for r, a, b in zip(rows, starts, ends, strict=True)
    ]
    axes.add_collection(
        PolyCollection(polygons, facecolors=colours, edgecolors="none", linewidths=0, zorder=2), autolim=False
    )


FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_FORMAT: contextvars.ContextVar[str] = contextvars.ContextVar("chart_format", default="png")


def render(draw: Callable[..., bytes], *args: Any, fmt: str = "png", **kwargs: Any) -> bytes:
    """Any chart of this module as PNG (the default), SVG or PDF: `render(breakeven_chart, report, fmt="svg")`."""
    if fmt not in FORMATS.values():
        raise ValueError(f"charts are drawn as {', '.join(FORMATS.values())}, not {fmt}")
    token = _FORMAT.set(fmt)
    try:
        return draw(*args, **kwargs)
    finally:
        _FORMAT.reset(token)


def _png(figure: Figure) -> bytes:
    """Draw and encode, as PNG unless `render` asked for SVG or PDF. The PNG is RGB (the alpha
    channel of an opaque chart is dead weight for the encoder) at zlib's fastest level, which costs
    a few kB on files Slack never minds."""
    if _FORMAT.get() != "png":
        buffer = io.BytesIO()
        figure.savefig(buffer, format=_FORMAT.get())
        return buffer.getvalue()
    from PIL import Image  # matplotlib's own dependency

    canvas = figure.canvas
    canvas.draw()
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _axis_money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1000:
        return f"{sign}${count(value)}"
    return f"{sign}${value:,.0f}" if value >= 10 or value == 0 else f"{sign}${value:.2g}"


def _money_axis(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda value, _: _axis_money(value)))


def _short_money(amount: float) -> str:
    """$1,234 below $10k, $12.3k above: for labels that must stay short."""
    return money(amount) if abs(amount) < 10_000 else _axis_money(amount)


def _fit(text: str, chars: int) -> str:
    """Cut text to about `chars` characters: whole '; ' clauses first, then the last word."""
    while len(text) > chars and "; " in text:
        text = text.rsplit("; ", 1)[0]
    if len(text) <= chars:
        return text
    return text[: chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _titles(figure: Figure, title: str, subtitle: str, width: int, height: int) -> None:
    """A bold title and a plain subtitle at the top left, cut to the width of the image."""
    scale = _scale(width, height)
    big, small = 16 * scale, 13 * scale
    px_per_pt = DPI / 72
    # Measured on DejaVu Sans: about 0.61 em a character in bold, 0.53 em in regular.
    figure.text(
        0.02,
        1 - 8 / height,
        _fit(title, int(width * 0.96 / (big * px_per_pt * 0.61))),
        fontsize=big,
        fontweight="bold",
        va="top",
    )
    if subtitle:
        figure.text(
            0.02,
            1 - (14 + big * px_per_pt) / height,
            _fit(subtitle, int(width * 0.96 / (small * px_per_pt * 0.53))),
            fontsize=small,
            color=SUBTLE,
            va="top",
        )


def _verdict_line(report: Report) -> str:
    """The headline's first clause: 'Buy: self-hosting saves $X a month'."""
    return report.headline.partition("; ")[0].rstrip(".")


# --- what is compared ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Sides:
    """The two sides the verdict weighed, as the charts must draw them."""

    model: CostModel
    crossings: list[Crossing]
    rent_now: float
    buy_now: float
    payback: float | None
    rent_name: str = "API"
    unit: str = "requests"


def _sides(report: Report) -> _Sides:
    """The report's own comparison: its cost model already weighs the baseline it chose (the API,
    or people paid per task) with failures priced in when they were given."""
    selfhost = next(o for o in report.options if o.option == "selfhost")
    by_hand = report.baseline == "manual"
    return _Sides(
        report.cost_model,
        report.crossings,
        report.baseline_monthly_cost,
        selfhost.monthly_cost_adjusted,
        report.payback_months,
        rent_name="by hand" if by_hand else "API",
        unit="tasks" if by_hand else "requests",
    )


# --- break-even ----------------------------------------------------------------------------


def _volume_range(current: float, crossings: list[Crossing]) -> tuple[float, float]:
    """Two decades either side of the current volume, widened to show every crossing."""
    marks = [c.requests_per_month for c in crossings if c.requests_per_month > 0]
    if current >= 1:
        centre = current
    else:  # no volume: centre on the break-even, or on a mid-sized team
        centre = marks[0] if marks else 1e5
    low = min([centre / 100, *(m / 3 for m in marks)])
    high = max([centre * 100, *(m * 3 for m in marks)])
    low = max(low, 0.1)  # a tenth of a request a month: low enough that 1/mo is not on the axis
    return low, max(high, low * 100)


def _bills(model: CostModel, volumes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    api, buy = monthly_bills(
        volumes,
        model.api_cost_per_request,
        model.selfhost_variable_per_request,
        model.instance_monthly,
        model.requests_per_instance or np.inf,
        model.ha,
        model.ops_monthly,
    )
    return np.asarray(api, dtype=float), np.asarray(buy, dtype=float)


def _buy_line(model: CostModel, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """The self-host bill against volume, with every capacity step drawn as an exact vertical riser."""
    volumes = np.geomspace(low, high, 200)
    xs, ys = [volumes], [_bills(model, volumes)[1]]
    order = [np.zeros(len(volumes))]
    step = model.requests_per_instance
    if step and model.instance_monthly > 0:
        first, last = max(1, math.ceil(low / step)), math.floor(high / step)
        # On a log axis step k spans 1/k of the volume, so beyond the first thousand steps in view
        # each is far narrower than a pixel and the sampled line is already exact to the eye.
        last = min(last, first + MAX_EDGES - 1)
        if last >= first:
            n = np.arange(first, last + 1, dtype=float)
            edges = n * step
            spare = 1 if model.ha else 0
            before = (n + spare) * model.instance_monthly + model.ops_monthly
            before = before + edges * model.selfhost_variable_per_request
            xs += [edges, edges]
            ys += [before, before + model.instance_monthly]
            order += [np.ones(len(edges)), np.full(len(edges), 2.0)]
    x, y, key = np.concatenate(xs), np.concatenate(ys), np.concatenate(order)
    sort = np.lexsort((key, x))
    return x[sort], y[sort]


def breakeven_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """Monthly cost of renting and of buying against volume (log scale): the capacity staircase,
    every crossing, and the current volume with both bills at it."""
    sides = _sides(report)
    model = sides.model
    current = report.requests_per_month
    scale = _scale(width, height)
    label_size = 13 * scale
    line_pt = label_size * 1.3
    low, high = _volume_range(current, sides.crossings)
    ends = np.array([low, high])
    api_ends, _ = _bills(model, ends)
    buy_x, buy_y = _buy_line(model, low, high)
    shown = [c for c in sides.crossings if low <= c.requests_per_month <= high]
    stops = any(c.direction == "buy_stops_paying" for c in shown)

    values = np.concatenate([api_ends, buy_y])
    positive = values[values > 0]
    log_y = bool(positive.size) and values.min() > 0 and positive.max() / positive.min() > 30
    y_ticks = _decades(positive.min(), positive.max()) if log_y else _linear_ticks(0, max(values.max(), 1.0), 4)
    y_labels = [_axis_money(v) for v in y_ticks]

    left, right, top, bottom = _frame(width, height, y_labels)
    figure, axes = _plain_figure(width, height, left, right, top, bottom, spines=("left", "bottom"))
    axes.plot(ends, api_ends, color=API_COLOUR, linewidth=3)  # straight on log-log axes: two points do
    axes.plot(buy_x, buy_y, color=BUY_COLOUR, linewidth=3)
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    axes_w, axes_h = width * (right - left), height * (top - bottom)
    first_be = next((c.requests_per_month for c in shown if c.direction == "buy_starts_paying"), None)
    be_label = f"break-even\n{count(first_be)}/mo" if first_be is not None else ""
    be_left = first_be is not None and _label_fits_left(first_be, current, low, high, be_label, label_size, axes_w)
    # Headroom above the highest bill for the labels, so no line ever runs through them.
    room = min(0.45, (3 * line_pt * DPI / 72 + 14) / axes_h)
    if log_y:
        y_low, y_high = math.log10(positive.min()), math.log10(positive.max())
        span = max(y_high - y_low, 1.0)
        under = 0.03
        if first_be is not None and not be_left and model.api_monthly(first_be) > 0:
            # The label hangs under the break-even: keep two lines of room below it.
            need = (2.6 * label_size * DPI / 72 + 10) / axes_h
            at = (math.log10(model.api_monthly(first_be)) - y_low) / span  # its height over the lowest bill
            under = max(under, (need * (1 + room / (1 - room)) - at) / (1 - need))
        axes.set_yscale("log")
        axes.set_ylim(10 ** (y_low - span * under), 10 ** (y_high + span * room / (1 - room)))
    else:
        y_high = max(values.max(), 1.0)
        axes.set_ylim(-y_high * 0.01, y_high / (1 - room))  # a hair below $0: a $0 line stays in sight
    _no_ticks(axes)
    x_ticks = _decades(low, high)
    _ticks(figure, axes, "x", x_ticks, [count(v) for v in x_ticks], label_size)
    _ticks(figure, axes, "y", y_ticks, y_labels, label_size)
    _axis_title(figure, axes, f"{sides.unit.capitalize()} a month", label_size)

    # Crossings: green dots where buying starts to pay, red rings where one more server makes it stop.
    for direction, style in (
        ("buy_starts_paying", {"color": GOOD, "markeredgecolor": "white"}),
        ("buy_stops_paying", {"color": "white", "markeredgecolor": API_COLOUR, "markeredgewidth": 3}),
    ):
        xs = [c.requests_per_month for c in shown if c.direction == direction]
        if xs:
            axes.plot(
                xs,
                [model.api_monthly(x) for x in xs],
                linestyle="none",
                marker="o",
                markersize=11 * scale,
                zorder=5,
                **style,
            )
    if first_be is not None:
        # Plain text with an offset transform: annotate's arrow machinery costs time and draws nothing here.
        axes.text(
            first_be,
            model.api_monthly(first_be),
            be_label,
            ha="right" if be_left else "left",
            va="bottom" if be_left else "top",
            fontsize=label_size,
            fontweight="bold",
            color=GOOD,
            transform=offset_copy(
                axes.transData, figure, x=-8 if be_left else 8, y=6 if be_left else -6, units="points"
            ),
        )

    # The current volume, with both bills at it, in the headroom at the top.
    if current >= 1:
        axes.axvline(current, color="black", linestyle="--", linewidth=1.5)
        axes.plot(
            [current, current],
            [model.api_monthly(current), model.selfhost_monthly(current)],
            linestyle="none",
            marker="o",
            markersize=7 * scale,
            color="black",
            zorder=6,
        )
        where = math.log(current / low) / math.log(high / low)
        you = f"you: {count(current)}/mo"
    else:
        current, where, you = low, 0.0, "no volume given"
    # Both bills in their lines' colours: the block is the key too (a legend costs ten times more).
    block = (
        (you, "black"),
        (f"{sides.rent_name} {_short_money(sides.rent_now)}", API_COLOUR),
        (f"self-host {_short_money(sides.buy_now)}", BUY_COLOUR),
    )
    # Green dots are named by the break-even label; the red rings need a word.
    key = [("○ buy stops paying", API_COLOUR)] if stops else []
    block_side, key_side = _place_labels(where, block, key, label_size, width * (right - left))
    for i, (text, colour) in enumerate(block):
        axes.text(
            current,
            1.0,
            text,
            va="top",
            ha="left" if block_side == "right" else "right",
            fontsize=label_size,
            fontweight="bold",
            color=colour,
            transform=offset_copy(
                axes.get_xaxis_transform(),
                figure,
                x=7 if block_side == "right" else -7,
                y=-4 - i * line_pt,
                units="points",
            ),
        )
    for i, (text, colour) in enumerate(key):
        at_top = key_side != "bottom"
        axes.text(
            0.01 if key_side == "left" else 0.99,
            1.0 if at_top else 0.0,
            text,
            color=colour,
            fontsize=label_size,
            fontweight="bold",
            va="top" if at_top else "bottom",
            ha="left" if key_side == "left" else "right",
            transform=offset_copy(
                axes.transAxes,
                figure,
                y=-4 - i * line_pt if at_top else 4 + (len(key) - 1 - i) * line_pt,
                units="points",
            ),
        )

    title = _verdict_line(report)
    _titles(figure, title, _gist(sides, stops, payback="pays back" not in title), width, height)
    return _png(figure)


def _label_fits_left(
    at: float, current: float, low: float, high: float, text: str, size: float, axes_px: float
) -> bool:
    """Whether the break-even label goes up and to the left of its dot, where nothing is drawn (the
    API line is lower there, the self-host line flat or lower) - unless the axis edge or the current
    volume's line is in the way; then it goes down and to the right, which is as empty."""
    text_px = max(map(len, text.split("\n"))) * size * DPI / 72 * 0.62 + 14
    be_px = math.log(at / low) / math.log(high / low) * axes_px
    now_px = math.log(current / low) / math.log(high / low) * axes_px if current >= 1 else -1e9
    return be_px > text_px and not (be_px - text_px < now_px < be_px)


def _gist(sides: _Sides, stops: bool, payback: bool = True) -> str:
    """The subtitle: where buying pays, from the same figures as the lines (the headline's second
    half, or the bands of a staircase that crosses several times)."""
    if stops:
        return _bands(sides.crossings)
    parts = []
    if payback and sides.payback is not None:
        parts.append(f"pays back in {months(sides.payback)}")
    be = next((c.requests_per_month for c in sides.crossings if c.direction == "buy_starts_paying"), None)
    parts.append(f"break-even at {count(be)} {sides.unit} a month" if be else "buying never breaks even on cost")
    return "; ".join(parts)


def _bands(crossings: list[Crossing]) -> str:
    """Where buying pays on a staircase with several crossings: 'buying pays at 2M-2.63M and above 4M a month'."""
    bands: list[list[float | None]] = []
    for crossing in crossings:
        if crossing.direction == "buy_starts_paying":
            bands.append([crossing.requests_per_month, None])
        elif bands and bands[-1][1] is None:
            bands[-1][1] = crossing.requests_per_month
    if not bands:
        return ""
    closed = [f"{count(a)}-{count(b)}" for a, b in bands if b is not None]
    tail = f"above {count(bands[-1][0])}" if bands[-1][1] is None else ""
    if len(closed) > 3:
        text = f"buying pays in {len(closed)} bands from {count(bands[0][0])}" + (f", for good {tail}" if tail else "")
    else:
        parts = closed + ([tail] if tail else [])
        text = "buying pays at " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
    return text + " a month"


def _place_labels(
    where: float, block: Iterable[tuple[str, str]], key: Iterable[tuple[str, str]], size: float, axes_px: float
) -> tuple[str, str]:
    """Sides for the current-volume block ('left'/'right' of its line) and for the key ('left'/'right'
    corner at the top, or 'bottom' when the top has no room), from estimated text widths."""
    px = size * DPI / 72 * 0.62  # a bold character, about

    def wide(lines: Iterable[tuple[str, str]]) -> float:
        return max(len(text) for text, _ in lines) * px + 12

    block_w, key_w, x = wide(block), wide(key) if key else 0.0, where * axes_px
    spans = {"right": (x + 7, x + 7 + block_w), "left": (x - 7 - block_w, x - 7)}
    corners = {"right": (axes_px - key_w, axes_px), "left": (0.0, key_w)}
    preferred = ("right", "left") if where <= 0.6 else ("left", "right")
    for block_side in preferred:
        b0, b1 = spans[block_side]
        if b0 < 0 or b1 > axes_px:
            continue
        for key_side in ("right", "left"):
            k0, k1 = corners[key_side]
            if b1 < k0 or k1 < b0:
                return block_side, key_side
    return preferred[0] if spans[preferred[0]][1] <= axes_px else preferred[1], "bottom"


# --- cumulative ----------------------------------------------------------------------------


def cumulative_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """Total spent on each side, month by month over the horizon, with the payback point."""
    scale = _scale(width, height)
    label_size = 13 * scale
    label_px = label_size * DPI / 72
    sides = _sides(report)
    horizon = max(report.horizon_months, 1.0)
    rent_end = horizon * sides.rent_now
    buy_end = report.one_time_cost + horizon * sides.buy_now
    top = max(rent_end, buy_end, report.one_time_cost, 1.0) * 1.08

    rent_label = f"{'Rent' if sides.rent_name == 'API' else 'By hand'}\n{_short_money(rent_end)}"
    buy_label = f"Buy\n{_short_money(buy_end)}"
    y_ticks = _linear_ticks(0, top, 5)
    y_labels = [_axis_money(v) for v in y_ticks]
    ends = (rent_label + "\n" + buy_label).split("\n")
    left, right, upper, lower = _frame(width, height, y_labels, right_labels=ends)
    figure, axes = _plain_figure(width, height, left, right, upper, lower, spines=("left", "bottom"))
    axes_w, axes_h = width * (right - left), height * (upper - lower)
    # Both totals are straight lines in time: two points each.
    axes.plot([0, horizon], [0, rent_end], color=API_COLOUR, linewidth=3, clip_on=False, zorder=3)
    axes.plot([0, horizon], [report.one_time_cost, buy_end], color=BUY_COLOUR, linewidth=3, clip_on=False, zorder=3)
    axes.set_xlim(0, horizon)
    axes.set_ylim(-top * 0.01, top)  # a hair below $0, so a line at $0 is not hidden by the axis
    _no_ticks(axes)
    x_ticks = _linear_ticks(0, horizon, 6, integer=horizon >= 4)
    _ticks(figure, axes, "x", x_ticks, [f"{v:g}" for v in x_ticks], label_size)
    _ticks(figure, axes, "y", y_ticks, y_labels, label_size)
    _axis_title(figure, axes, "Months from today", label_size)

    # Each line named at its end, nudged apart when the totals are close.
    gap = top * 2.3 * label_px / axes_h
    rent_y, buy_y = rent_end, buy_end
    if abs(rent_y - buy_y) < gap:
        middle, half = (rent_y + buy_y) / 2, gap / 2
        rent_y, buy_y = (middle + half, middle - half) if rent_end >= buy_end else (middle - half, middle + half)
    for y, text, colour in ((rent_y, rent_label, API_COLOUR), (buy_y, buy_label, BUY_COLOUR)):
        axes.text(
            horizon,
            y,
            text,
            va="center",
            fontsize=label_size,
            fontweight="bold",
            color=colour,
            linespacing=1.0,
            transform=offset_copy(axes.transData, figure, x=8, units="points"),
            clip_on=False,
        )

    payback = sides.payback
    if payback is not None and payback <= horizon:
        spent = report.one_time_cost + payback * sides.buy_now
        axes.plot(
            [payback],
            [spent],
            linestyle="none",
            marker="o",
            markersize=12 * scale,
            markeredgecolor="white",
            color=GOOD,
            zorder=5,
        )
        text = f"pays back in\n{_months_short(payback)}"
        text_w, text_h = 14 * label_px * 0.62, 2.4 * label_px
        x_px, y_px = payback / horizon * axes_w, spent / top * axes_h
        # Up and to the left of the crossing nothing is drawn (both lines are lower there);
        # down and to the right neither (both are higher); else the free top-left corner.
        if x_px > text_w + 14 and y_px + text_h + 10 < axes_h:
            axes.text(
                payback,
                spent,
                text,
                ha="right",
                va="bottom",
                fontsize=label_size,
                fontweight="bold",
                color=GOOD,
                transform=offset_copy(axes.transData, figure, x=-10, y=8, units="points"),
            )
        elif y_px > text_h + 14 and x_px + text_w + 14 < axes_w:
            axes.text(
                payback,
                spent,
                text,
                ha="left",
                va="top",
                fontsize=label_size,
                fontweight="bold",
                color=GOOD,
                transform=offset_copy(axes.transData, figure, x=10, y=-8, units="points"),
            )
        else:
            axes.text(
                0.02,
                0.97,
                text.replace("\n", " "),
                transform=axes.transAxes,
                va="top",
                fontsize=label_size,
                fontweight="bold",
                color=GOOD,
            )
    else:
        note = (
            "Buying never pays back: it costs more every month"
            if payback is None
            else f"Pays back in {_months_short(payback)}, beyond the {horizon:g}-month horizon"
        )
        axes.text(0.02, 0.97, note, transform=axes.transAxes, va="top", fontsize=label_size, color=SUBTLE)

    net = rent_end - buy_end
    verb = f"buying saves {money(net)}" if net > 0 else f"buying costs {money(-net)} more"
    _titles(
        figure,
        f"Over {horizon:g} month{'s' if horizon != 1 else ''}, {verb}",
        f"Total spent on each side; buying starts with {money(report.one_time_cost)} one-time",
        width,
        height,
    )
    return _png(figure)


def _months_short(value: float) -> str:
    if value < 1:
        return f"{value * 365 / 12:.0f} days"
    return f"{value:.1f} months"


# --- iceberg -------------------------------------------------------------------------------


def _iceberg(lines: Iterable[CostLine], title: str, subtitle: str | None, width: int, height: int) -> bytes:
    """Visible lines above a waterline, hidden ones (people's time) below it, each with its amount."""
    scale = _scale(width, height)
    label_size = 13 * scale
    lines = [line for line in lines if line.amount > 0]
    visible = sorted((line for line in lines if not line.hidden), key=lambda line: line.amount, reverse=True)
    hidden = sorted((line for line in lines if line.hidden), key=lambda line: line.amount, reverse=True)
    ordered = visible + hidden
    names = [line.name for line in ordered]
    left, right, top_edge, _ = _frame(width, height, names or [""], axis_title=False)
    figure, axes = _plain_figure(width, height, left, right, top_edge, 0.04, spines=())
    # Visible lines sit above the waterline, hidden ones below it, with a gap for the line's two
    # labels: each needs a line of text clear of the bars, however many rows share the height.
    gap = 0.0
    if visible and hidden:
        need = 2 * (label_size * DPI / 72 * 1.25 + 8)
        axes_px = height * (top_edge - 0.04)
        gap = 1.0
        for _ in range(3):
            gap = max(0.8, need * (len(ordered) + gap + 0.2) / axes_px - 0.6)
    rows = [-(i + (gap if i >= len(visible) else 0)) for i in range(len(ordered))]
    amounts = [line.amount for line in ordered]
    top = max(amounts, default=1.0)
    bottom_row = rows[-1] if rows else 0.0
    axes.set_ylim(bottom_row - 0.6, 0.6)
    axes.set_xlim(0, top * 1.3)
    _no_ticks(axes)
    if visible and hidden:
        waterline = rows[len(visible) - 1] - 0.5 - gap / 2
        axes.axhspan(bottom_row - 0.6, waterline, color=WATER_COLOUR, zorder=0, linewidth=0)
        axes.axhline(waterline, color=WATERLINE_COLOUR, linewidth=2.5, zorder=1)
        share = sum(line.amount for line in hidden) / sum(amounts)
        for text, va, y in (
            (f"▲ visible {1 - share:.0%}", "bottom", 3),
            (f"▼ hidden: people's time {share:.0%}", "top", -3),
        ):
            axes.text(
                top * 1.3,
                waterline,
                text,
                ha="right",
                va=va,
                fontsize=label_size,
                fontweight="bold",
                color=WATERLINE_COLOUR,
                transform=offset_copy(axes.transData, figure, y=y, units="points"),
            )
    colours = [BUY_COLOUR if not line.hidden else HIDDEN_COLOUR for line in ordered]
    _bars(axes, rows, [0.0] * len(rows), amounts, 0.7, colours)
    for y, line in zip(rows, ordered, strict=True):
        axes.text(line.amount + top * 0.015, y, money(line.amount), va="center", fontsize=label_size, zorder=3)
    _ticks(figure, axes, "y", rows, names, label_size, grid=False)
    # No money axis: every bar carries its own amount, which is all a reader looks for.
    _titles(figure, title, subtitle or "", width, height)
    return _png(figure)


def iceberg_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """The cost iceberg over the horizon: training compute and servers above the waterline,
    people's time (data, evaluation, set-up, operations) below it."""
    horizon = report.horizon_months
    recurring = [
        line.model_copy(update={"name": f"{line.name} ({horizon:g} mo)", "amount": line.amount * horizon})
        for line in report.selfhost_lines
    ]
    lines = [*report.hidden_costs, *recurring]
    total = sum(line.amount for line in lines if line.amount > 0)
    people = sum(line.amount for line in lines if line.amount > 0 and line.hidden)
    share = people / total if total else 0.0
    return _iceberg(
        lines,
        f"Buying costs {money(total)} over {horizon:g} months",
        f"{share:.0%} of it is people's time, below the waterline",
        width,
        height,
    )


def audit_iceberg_chart(result, width: int = 800, height: int = 500) -> bytes:
    """The audit's iceberg: training compute against every hidden line of people's time."""
    title = f"Base one-time cost {money(result.base_one_time)}: the iceberg"
    return _iceberg(result.lines, title, None, width, height)


# --- tornado -------------------------------------------------------------------------------


def tornado_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """First-year net benefit of buying with each input at -50% and +50%, widest swing on top;
    inputs whose change flips the verdict in orange."""
    scale = _scale(width, height)
    label_size = 13 * scale
    small = label_size * 0.9
    sensitivity = report.sensitivity
    base = sensitivity.base_net
    cases = sorted(sensitivity.cases, key=lambda c: c.swing, reverse=True)[:8]
    names = [c.name for c in cases]
    left_edge, right_edge, top_edge, bottom = _frame(width, height, names or [""], axis_title=False, above=1)
    figure, axes = _plain_figure(width, height, left_edge, right_edge, top_edge, bottom, spines=("bottom",))
    rows = [-float(i) for i in range(len(cases))]  # widest swing on top

    lows = [c.low_net for c in cases]
    highs = [c.high_net for c in cases]
    span = max([abs(v - base) for v in lows + highs] + [abs(base) * 0.1, 1.0])
    left = min([base - span * 1.1, *lows, 0.0])
    right = max([base + span * 1.1, *highs, 0.0])
    # Room either side for the '-50%' / '+50%' words at the ends of the top bar.
    pad = (right - left) * 60 / (width * (right_edge - left_edge))
    axes.set_xlim(left - pad, right + pad)
    axes.set_ylim(rows[-1] - 0.6 if rows else -1, 0.6)
    _no_ticks(axes)
    px_per_dollar = width * (right_edge - left_edge) / (right - left + 2 * pad)

    # Each bar runs from today's figure to the input at -50% (light) and at +50% (dark).
    light = [FLIP_LIGHT if c.flips else BUY_LIGHT for c in cases]
    dark = [FLIP_COLOUR if c.flips else BUY_COLOUR for c in cases]
    _bars(axes, rows + rows, [base] * (2 * len(cases)), lows + highs, 0.62, light + dark)
    axes.axvline(base, color="black", linewidth=2, zorder=3)
    axes.text(
        base,
        1.0,
        f"today {_axis_money(base)}",
        ha="left",
        va="bottom",
        fontsize=label_size,
        fontweight="bold",
        transform=offset_copy(axes.get_xaxis_transform(), figure, x=4, y=2, units="points"),
    )
    if left <= 0 <= right and abs(base) * px_per_dollar > 8:
        axes.axvline(0, color=API_COLOUR, linewidth=1.5, linestyle=":")
        axes.text(
            0,
            1.0,
            "← buying loses",
            ha="right",
            va="bottom",
            fontsize=small,
            color=API_COLOUR,
            transform=offset_copy(axes.get_xaxis_transform(), figure, x=-4, y=2, units="points"),
        )
    for case, row in zip(cases, rows, strict=True):
        if case.swing * px_per_dollar < 3:  # too small to see: say so
            effect = "no effect" if case.swing < 0.005 else f"±{_short_money(case.swing / 2)}"
            axes.text(base, row, f"  {effect}", va="center", fontsize=small, color=SUBTLE)
    # The widest bar's ends say which end is which; the rest follow by shade.
    if cases and cases[0].swing * px_per_dollar >= 3:
        for value, label in ((cases[0].low_net, "−50%"), (cases[0].high_net, "+50%")):
            axes.text(
                value,
                rows[0],
                label,
                va="center",
                ha="left" if value >= base else "right",
                fontsize=small,
                transform=offset_copy(axes.transData, figure, x=4 if value >= base else -4, units="points"),
            )
    styles = [{"color": FLIP_COLOUR, "fontweight": "bold"} if c.flips else {} for c in cases]
    _ticks(figure, axes, "y", rows, names, label_size, grid=False, styles=styles)
    x_ticks = _linear_ticks(left - pad, right + pad, 5)
    _ticks(figure, axes, "x", x_ticks, [_axis_money(v) for v in x_ticks], label_size)
    subtitle = "First-year net benefit of buying, each input ±50%"
    if any(c.flips for c in cases):
        subtitle += "; orange: the verdict flips"
    _titles(figure, f"What moves the answer most: {sensitivity.most_influential}", subtitle, width, height)
    return _png(figure)
