"""Charts as PNG (or SVG, PDF) bytes: break-even, cumulative cost, the cost iceberg, the tornado.

matplotlib's object API on the Agg canvas, never pyplot: each call builds its own Figure, so
charts render safely from worker threads. matplotlib is imported here (and in spend_chart.py)
only, and these modules are imported only when a chart is asked for.

Readable at every size from 400x225 to 2400x1500 (`check_size`): type scales with the image
(13 pt labels at 800x500, never under 8 pt), and every label is measured with the renderer that
will draw it, so none overlaps another or leaves the image. Each label is put at the first of a
few candidate places that is clear of the labels already placed and of the lines; a last pass
(`_Chart.finish`) hides whatever still collides, least important first (tick labels before data
labels, never the titles), so a crowded corner loses a tick label, not its legibility.

Every chart is drawn for Slack's preview (a ~360 px wide thumbnail of an 800x500 image): few,
large labels, thick lines, coloured words instead of legends. Speed matters as much (a chart is
drawn on every verdict), and on this machine a chart's time goes to three things: matplotlib's Tick
objects (about 2 ms each), text (about 0.5 ms a string plus 0.1 ms a character) and the PNG
encoder. So: no tight_layout, no fill_between, no legend, no minor ticks; tick labels and grid
lines are drawn as plain text and one line collection, bars as one polygon collection; the PNG is
RGB at zlib's fastest level. Text is measured once: matplotlib caches the metrics on the
renderer, which the final draw re-uses.
"""

from __future__ import annotations

import contextvars
import io
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox, offset_copy

from .defaults import ITERATION_MULTIPLIER
from .economics import breakpoints, monthly_bills, selfhost_bills
from .economics import crossings as staircase_crossings
from .format import count, money, months
from .scenario import CostLine, CostModel, Crossing, Report

DPI = 100
API_COLOUR = "#d62728"
BUY_COLOUR = "#1f77b4"
HIDDEN_COLOUR = "#4a6378"
REWORK_COLOUR = "#8799aa"
WATER_COLOUR = "#dcecf5"
WATERLINE_COLOUR = "#1b8fb8"
GOOD = "#2ca02c"
PAYS_COLOUR = "#e1f2e1"  # where buying pays: GOOD, faint
FLIP_COLOUR = "#ff7f0e"
FLIP_LIGHT = "#ffc08a"
BUY_LIGHT = "#a9cce8"
SUBTLE = "#444444"
GRID = "#e3e3e3"

MAX_EDGES = 1000  # staircase steps drawn exactly; further ones are far narrower than a pixel

# The sizes every chart is laid out for, in pixels. Below 400x225 the type would have to shrink
# under 8 pt; above 2400x1500 an image is only bigger, not clearer.
MIN_WIDTH, MAX_WIDTH = 400, 2400
MIN_HEIGHT, MAX_HEIGHT = 225, 1500
MIN_POINTS = 8.0  # the smallest type any chart uses


def check_size(width: int, height: int) -> None:
    """ValueError, saying the range, for a size the charts are not laid out for."""
    if not (MIN_WIDTH <= width <= MAX_WIDTH and MIN_HEIGHT <= height <= MAX_HEIGHT):
        raise ValueError(
            f"charts are {MIN_WIDTH}-{MAX_WIDTH} pixels wide and {MIN_HEIGHT}-{MAX_HEIGHT} high, not {width}x{height}"
        )


def _scale(width: int, height: int) -> float:
    """Type scale: 1 at 800x500, growing with the image; small images keep legible type (0.7)."""
    return max(0.7, min(width / 800, height / 500))


# --- one chart being drawn -----------------------------------------------------------------


def _overlap(a: Bbox, b: Bbox) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def _inside(box: Bbox, area: Bbox) -> bool:
    eps = 0.01
    return box.x0 >= area.x0 - eps and box.y0 >= area.y0 - eps and box.x1 <= area.x1 + eps and box.y1 <= area.y1 + eps


def _grown(box: Bbox, pad: float) -> Bbox:
    return Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)


# Text sizes in pixels at DPI, by (text, points, bold, line spacing): the same in every chart and
# thread (a dict's get and set are atomic; a lost race only measures twice).
_MEASURED: dict[tuple[str, float, bool, float], tuple[float, float]] = {}

MUST, LABEL, TICK = 0, 1, 2  # how much a text matters: titles and keys, data labels, tick labels

_THREAD = threading.local()


class _Canvas(FigureCanvasAgg):
    """The Agg canvas, drawing with its thread's renderer of the size (one per thread, kept):
    matplotlib remembers text layouts per renderer, so a thread that draws chart after chart lays
    out each recurring string (tick labels, names, titles' words) once, not once a chart. A
    thread draws one chart at a time, and `_png` copies the pixels out before the next."""

    def get_renderer(self) -> RendererAgg:
        w, h = self.get_width_height(physical=True)
        key = (w, h, self.figure.dpi)
        kept = getattr(_THREAD, "renderer", None)
        if kept is None or kept[0] != key:
            kept = _THREAD.renderer = (key, RendererAgg(w, h, self.figure.dpi))
        self.renderer = kept[1]
        return self.renderer


class _Chart:
    """A figure of exactly width x height pixels, the renderer that measures its text as it will be
    drawn, type sizes for its size, and every text placed on it (so none overlaps another)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        _Canvas(self.figure)
        self.renderer = self.figure.canvas.get_renderer()
        self.scale = scale = _scale(width, height)
        self.big, self.label, self.small = 16 * scale, 13 * scale, max(MIN_POINTS, 11.5 * scale)
        self.margin = max(8.0, 0.02 * width)  # the titles' distance from the left edge
        self.texts: list[tuple[Text, int]] = []
        self.avoid: list[Any] = []  # display-space Bboxes and Paths labels keep clear of
        self.axes: Any = None
        self._boxes: dict[int, Bbox] = {}
        self._ruler = Text(0, 0, "", parse_math=False)
        self._ruler.set_figure(self.figure)

    # measuring

    def px(self, points: float) -> float:
        return points * DPI / 72

    def measure(self, text: str, size: float, bold: bool = False, linespacing: float = 1.2) -> tuple[float, float]:
        """(width, height) in pixels of text as it will be drawn. Remembered across charts: the
        same strings come back on every chart (tick labels, names), and laying out a string in
        FreeType is most of what measuring costs."""
        key = (text, round(size, 4), bold, linespacing)
        found = _MEASURED.get(key)
        if found is not None:
            return found
        ruler = self._ruler
        ruler.set_text(text)
        ruler.set_fontsize(size)
        ruler.set_fontweight("bold" if bold else "normal")
        ruler.set_linespacing(linespacing)
        box = ruler.get_window_extent(self.renderer)
        if len(_MEASURED) > 50_000:  # a long-running bot draws many numbers: stay small
            _MEASURED.clear()
        _MEASURED[key] = found = (box.width, box.height)
        return found

    def line_height(self, size: float) -> float:
        return self.measure("Ag", size)[1]

    def fit(self, text: str, size: float, room: float, bold: bool = False) -> str:
        """text cut to `room` pixels: whole '; ' clauses first, then words, then letters, with '…'."""

        def fits(candidate: str) -> bool:
            return self.measure(candidate, size, bold)[0] <= room

        if fits(text):
            return text
        while "; " in text:
            text = text.rsplit("; ", 1)[0]
            if fits(text):
                return text
        words = text.split(" ")
        while len(words) > 1:
            words.pop()
            cut = " ".join(words).rstrip(" ,;:-(") + "…"
            if fits(cut):
                return cut
        low, high = 0, len(text)  # one long word: the longest prefix that fits
        while low < high:
            middle = (low + high + 1) // 2
            if fits(text[:middle] + "…"):
                low = middle
            else:
                high = middle - 1
        return text[:low] + "…" if low else ""

    def box(self, text: Text) -> Bbox:
        """The text's box in pixels, as matplotlib will lay it out (Text.get_window_extent): its
        measured size, placed at its anchor by its alignment. Computed from `measure`, which is
        remembered, so a box costs no second layout of the string before the one drawing does."""
        key = id(text)
        found = self._boxes.get(key)
        if found is None:
            if text.get_verticalalignment() not in ("top", "center", "bottom") or text.get_rotation():
                found = text.get_window_extent(self.renderer)
            else:
                found = self._box_at(
                    text.get_text(),
                    text.get_transform().transform(text.get_unitless_position()),
                    text.get_horizontalalignment(),
                    text.get_verticalalignment(),
                    text.get_fontsize(),
                    text.get_fontweight() in ("bold", 700),
                    text.get_linespacing(),
                )
            self._boxes[key] = found
        return found

    def _fill_boxes(self) -> None:
        """Boxes for every text still without one, a transform call per transform rather than per
        text (texts placed alike share one: the amounts of an iceberg, a row of labels)."""
        waiting: dict[int, list[Text]] = {}
        for text, _ in self.texts:
            if id(text) not in self._boxes and text.get_verticalalignment() in ("top", "center", "bottom"):
                waiting.setdefault(id(text.get_transform()), []).append(text)
        for group in waiting.values():
            anchors = group[0].get_transform().transform([t.get_unitless_position() for t in group])
            for text, at in zip(group, anchors, strict=True):
                self._boxes[id(text)] = self._box_at(
                    text.get_text(),
                    at,
                    text.get_horizontalalignment(),
                    text.get_verticalalignment(),
                    text.get_fontsize(),
                    text.get_fontweight() in ("bold", 700),
                    text.get_linespacing(),
                )

    def _box_at(
        self, s: str, at: Sequence[float], ha: str, va: str, size: float, bold: bool, linespacing: float
    ) -> Bbox:
        w, h = self.measure(s, size, bold, linespacing)
        x0 = at[0] - {"left": 0.0, "center": w / 2, "right": w}[ha]
        y0 = at[1] - {"bottom": 0.0, "center": h / 2, "top": h}[va]
        return Bbox.from_bounds(x0, y0, w, h)

    # placing

    def text(
        self,
        x: float,
        y: float,
        s: str,
        *,
        on: Any = None,
        size: float | None = None,
        bold: bool = False,
        priority: int = LABEL,
        **style: Any,
    ) -> Text:
        """A text on the axes (`on`) or the figure, registered for the overlap checks."""
        target = self.figure if on is None else on
        style.setdefault("clip_on", False)
        text = target.text(
            x, y, s, fontsize=size or self.label, fontweight="bold" if bold else "normal", parse_math=False, **style
        )
        self.texts.append((text, priority))
        return text

    def drop(self, text: Text) -> None:
        text.remove()
        self.texts = [(t, p) for t, p in self.texts if t is not text]
        self._boxes.pop(id(text), None)

    def clear(self, text: Text, within: Bbox | None = None, pad: float = 3.0) -> bool:
        """Whether text lies inside `within` (the image by default), clear of every other text and
        of everything in `avoid`."""
        return self._clear_box(self.box(text), within, pad, text)

    def _clear_box(self, box: Bbox, within: Bbox | None = None, pad: float = 3.0, text: Text | None = None) -> bool:
        if not _inside(box, within or self.canvas_box):
            return False
        self._fill_boxes()
        grown = _grown(box, pad)
        for other, _ in self.texts:
            if other is not text and other.get_visible() and _overlap(grown, self.box(other)):
                return False
        for obstacle in self.avoid:
            if isinstance(obstacle, Bbox):
                if _overlap(grown, obstacle):
                    return False
            elif obstacle.intersects_bbox(grown, filled=False):
                return False
        return True

    def place(
        self, s: str, candidates: Iterable[dict], *, within: Bbox | None = None, priority: int = LABEL, **common: Any
    ) -> Text | None:
        """The text at the first candidate (x, y, ha, va, transform) where it is clear; None, and
        nothing drawn, when none is. Candidates are tried on their boxes: only the one kept is made."""
        for candidate in candidates:
            spec = {**common, **candidate}
            at = spec["transform"].transform((spec["x"], spec["y"]))
            size = spec.get("size") or self.label
            box = self._box_at(
                s, at, spec["ha"], spec["va"], size, spec.get("bold", False), spec.get("linespacing", 1.2)
            )
            if self._clear_box(box, within):
                text = self.text(s=s, priority=priority, **spec)
                self._boxes[id(text)] = box
                return text
        return None

    @property
    def canvas_box(self) -> Bbox:
        return Bbox.from_bounds(0, 0, self.width, self.height)

    def axes_box(self) -> Bbox:
        return self.axes.get_window_extent(self.renderer)

    def avoid_lines(self, *lines: Any) -> None:
        """Keep labels off these lines (their paths in pixels; call once the limits are final)."""
        for line in lines:
            self.avoid.append(line.get_transform().transform_path(line.get_path()))

    # the frame

    def title_band(self, subtitle: bool) -> float:
        """The height in pixels `titles` takes, with or without a subtitle."""
        y = max(5.0, 0.35 * self.px(self.label)) + self.line_height(self.big) + 0.2 * self.px(self.label)
        return y + (self.line_height(self.label) if subtitle else 0.0) + 0.6 * self.px(self.label)

    def titles(self, title: str, subtitle: str) -> tuple[float, Text | None]:
        """A bold title and a plain subtitle at the top left, each cut to the image's width. Returns
        the height of the band they take, in pixels, and the subtitle (to re-word later)."""
        room = self.width - 2 * self.margin
        y = max(5.0, 0.35 * self.px(self.label))
        # A long title may shrink a fifth (in the band's height) before it is cut.
        size = _largest(self.big, lambda size: self.measure(title, size, True)[0] <= room, floor=0.8 * self.big)
        size = size or 0.8 * self.big
        self.text(
            self.margin / self.width,
            1 - y / self.height,
            self.fit(title, size, room, bold=True),
            size=size,
            bold=True,
            va="top",
            priority=MUST,
        )
        y += self.line_height(self.big) + 0.2 * self.px(self.label)
        sub = None
        if subtitle:
            sub = self.text(
                self.margin / self.width,
                1 - y / self.height,
                self.fit(subtitle, self.label, room),
                color=SUBTLE,
                va="top",
                priority=MUST,
            )
            y += self.line_height(self.label)
        return y + 0.6 * self.px(self.label), sub

    def retext(self, text: Text, s: str) -> None:
        """Re-word a placed text (a subtitle), cut to the image's width."""
        text.set_text(self.fit(s, text.get_fontsize(), self.width - 2 * self.margin))
        self._boxes.pop(id(text), None)

    def bottom_band(self, axis_title: bool = True, extra: float = 0.0) -> float:
        """Pixels under the axes for the x tick labels (and the axis's name, and `extra`)."""
        tick = self.px(6 * self.scale) + self.line_height(self.label)
        title = self.px(4 * self.scale) + self.line_height(self.label) if axis_title else 0.0
        return tick + title + extra + max(4.0, 0.25 * self.px(self.label))

    def left_band(self, labels: Sequence[str], size: float | None = None, bold: Sequence[bool] = ()) -> float:
        """Pixels left of the axes for these y tick labels (`bold`: which of them are bold)."""
        bold = list(bold) or [False] * len(labels)
        widest = max((self.measure(s, size or self.label, b)[0] for s, b in zip(labels, bold, strict=True)), default=0)
        return widest + self.px(7 * self.scale) + max(6.0, 0.02 * self.width)

    def add_axes(self, left: float, right: float, top: float, bottom: float, spines: Iterable[str] = ("left",)) -> Any:
        """An axes at these distances (pixels) from the image's edges, with no matplotlib ticks."""
        w, h = self.width, self.height
        axes = self.figure.add_axes(
            (left / w, bottom / h, max(1.0, w - left - right) / w, max(1.0, h - top - bottom) / h)
        )
        for name in ("top", "right", "left", "bottom"):
            axes.spines[name].set_visible(name in spines)
            axes.spines[name].set_linewidth(max(0.8, self.scale))
        self.axes = axes
        return axes

    def no_ticks(self) -> None:
        """Call after set_xscale/set_yscale, which install their own locators."""
        from matplotlib.ticker import NullLocator

        for axis in (self.axes.xaxis, self.axes.yaxis):
            axis.set_major_locator(NullLocator())
            axis.set_minor_locator(NullLocator())

    def ticks(
        self,
        which: str,
        values: Sequence[float],
        labels: Sequence[str],
        grid: bool = True,
        styles: Sequence[dict] | None = None,
        priority: int = TICK,
        size: float | None = None,
    ) -> list[Text]:
        """Tick labels as plain text and grid lines as one collection: a fraction of the cost of
        matplotlib's Tick objects, and the same picture (the grid stands in for tick marks)."""
        axes, figure = self.axes, self.figure
        if which == "x":
            base = axes.get_xaxis_transform()
            at = offset_copy(base, figure, y=-6 * self.scale, units="points")
            place, align = (lambda v: (v, 0.0)), {"ha": "center", "va": "top"}
            segment = lambda v: ((v, 0.0), (v, 1.0))  # noqa: E731
        else:
            base = axes.get_yaxis_transform()
            at = offset_copy(base, figure, x=-7 * self.scale, units="points")
            place, align = (lambda v: (0.0, v)), {"ha": "right", "va": "center"}
            segment = lambda v: ((0.0, v), (1.0, v))  # noqa: E731
        made = []
        anchors = at.transform([place(v) for v in values]) if len(values) else []  # one transform for all
        for i, (value, label) in enumerate(zip(values, labels, strict=True)):
            x, y = place(value)
            style = styles[i] if styles else {}
            text = self.text(x, y, label, on=axes, transform=at, priority=priority, size=size, **align, **style)
            bold = style.get("bold", False)
            self._boxes[id(text)] = self._box_at(
                label, anchors[i], align["ha"], align["va"], size or self.label, bold, 1.2
            )
            made.append(text)
        if grid and len(values):
            lines = LineCollection(
                [segment(v) for v in values], transform=base, colors=GRID, linewidths=max(1.0, self.scale), zorder=0.5
            )
            axes.add_collection(lines, autolim=False)
        return made

    def axis_title(self, text: str) -> None:
        """The x axis's name, under its tick labels."""
        offset = self.px(6 * self.scale) + self.line_height(self.label) + self.px(4 * self.scale)
        self.text(
            0.5,
            0.0,
            text,
            on=self.axes,
            ha="center",
            va="top",
            transform=offset_copy(self.axes.transAxes, self.figure, y=-offset, units="dots"),
            priority=MUST,
        )

    def y_tick_count(self, axes_height: float) -> int:
        """How many labelled ticks an axis this tall takes, each label clear of the next."""
        return int(max(2, min(5, axes_height // (2.4 * self.line_height(self.label)))))

    def x_ticks(
        self, values: Callable[[int], list[float]], label: Callable[[float], str], axes_width: float
    ) -> tuple[list[float], list[str]]:
        """The most ticks (up to 6) whose labels stand clear of each other across axes_width."""
        for wanted in range(6, 1, -1):
            ticks = values(wanted)
            labels = [label(v) for v in ticks]
            widest = max((self.measure(s, self.label)[0] for s in labels), default=0.0)
            if len(ticks) <= 1 or (widest + self.px(self.label)) * len(ticks) <= axes_width:
                return ticks, labels
        return ticks, labels

    # finishing

    def finish(self) -> bytes:
        """The safety net, then the image: any text still outside the image or over another is
        hidden, least important first (tick labels, then data labels; titles and keys stay)."""
        kept: list[Bbox] = []
        canvas = self.canvas_box
        self._fill_boxes()
        for text, _ in sorted(self.texts, key=lambda item: item[1]):
            if not text.get_visible() or not text.get_text():
                continue
            box = self.box(text)
            if not _inside(box, canvas) or any(_overlap(box, other) for other in kept):
                text.set_visible(False)
                continue
            kept.append(box)
        return _png(self.figure)


# --- shared pieces -------------------------------------------------------------------------


def _linear_ticks(low: float, high: float, count_: int, integer: bool = False) -> list[float]:
    values = MaxNLocator(count_, integer=integer).tick_values(low, high)
    span = high - low
    return [float(v) for v in values if low - span * 1e-9 <= v <= high + span * 1e-9]


def _decades(low: float, high: float, most: int = 6) -> list[float]:
    """The powers of ten in [low, high], thinned to at most `most`."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    decades = list(range(first, last + 1)) or [round(math.log10(low))]
    stride = max(1, math.ceil(len(decades) / max(1, most)))
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
    """Any chart of this module (or spend_chart's) as PNG (the default), SVG or PDF:
    `render(breakeven_chart, report, fmt="svg")`."""
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
    if value >= 10 or value == 0:
        return f"{sign}${value:,.0f}"
    if value >= 0.01:
        return f"{sign}${value:.2g}"
    digits = 1 - math.floor(math.log10(value))  # two significant figures, written out: $0.000025
    return f"{sign}${value:.{digits}f}".rstrip("0")


def _big_money(amount: float) -> str:
    """money() up to a million dollars, $1.62B beyond: for titles, which must not be cut."""
    return money(amount) if abs(amount) < 1e6 else _axis_money(amount)


def _short_money(amount: float) -> str:
    """$1,234 below $10k, $12.3k above, $0.000003 for a fraction of a cent: for labels that must stay short."""
    if abs(amount) >= 10_000 or 0 < abs(amount) < 0.01:
        return _axis_money(amount)
    return money(amount)


def _verdict_line(report: Report) -> str:
    """The headline's first clause: 'Buy: self-hosting saves $X a month'."""
    return report.headline.partition("; ")[0].rstrip(".")


def _largest(size: float, fits: Callable[[float], bool], floor: float = MIN_POINTS) -> float | None:
    """The largest type from `size` down to `floor` (never under MIN_POINTS), in steps of 5%, that
    fits; None if none does."""
    floor = max(floor, MIN_POINTS)
    while True:
        if fits(size):
            return size
        if size <= floor:
            return None
        size = max(floor, size * 0.95)


def _share(ratio: float) -> str:
    """A percentage that never rounds a real share to 0% or 100%."""
    if 0 < ratio < 0.01:
        return "<1%"
    if 0.99 < ratio < 1:
        return ">99%"
    return f"{ratio:.0%}"


def _months_short(value: float) -> str:
    if value < 1:
        return f"{value * 365 / 12:.0f} days"
    return f"{value:.1f} months"


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
    rent_detail: str = ""  # which API
    buy_detail: str = ""  # which hardware


def _detail(label: str) -> str:
    """'API (openai:gpt-4o-mini)' -> 'gpt-4o-mini', 'Self-host (1 x NVIDIA A10G)' -> '1 x A10G': the
    part in brackets, without the provider, the organisation or the GPU's maker."""
    inner = label.partition("(")[2].rpartition(")")[0]
    inner = inner.split(", $")[0].replace(", always-on", "")  # the mode stays when it is not the usual one
    inner = inner.rpartition(":")[2].rpartition("/")[2]
    for maker in ("NVIDIA ", "AMD ", "Google "):
        inner = inner.replace(maker, "")
    return "" if inner.startswith("your ") else inner  # 'your price' tells the user nothing new


def _sides(report: Report) -> _Sides:
    """The report's own comparison: its cost model already weighs the baseline it chose (the API,
    or people paid per task) with failures priced in when they were given."""
    selfhost = next(o for o in report.options if o.option == "selfhost")
    baseline = next((o for o in report.options if o.option == report.baseline), None)
    by_hand = report.baseline == "manual"
    return _Sides(
        report.cost_model,
        report.crossings,
        report.baseline_monthly_cost,
        selfhost.monthly_cost_adjusted,
        report.payback_months,
        rent_name="by hand" if by_hand else "API",
        unit=report.volume_unit,
        rent_detail="" if by_hand or baseline is None else _detail(baseline.label),
        buy_detail=_detail(selfhost.label),
    )


# --- break-even ----------------------------------------------------------------------------


def _volume_range(current: float, crossings: list[Crossing], also: Sequence[float] = ()) -> tuple[float, float]:
    """Two decades either side of the current volume, widened to show every crossing (and `also`)."""
    marks = [c.requests_per_month for c in crossings if c.requests_per_month > 0] + [v for v in also if v > 0]
    if current >= 1:
        centre = current
    else:  # no volume: centre on the break-even, or on a mid-sized team
        centre = marks[0] if marks else 1e5
    low = min([centre / 100, *(m / 3 for m in marks)])
    high = max([centre * 100, *(m * 3 for m in marks)])
    low = max(low, 0.1)  # a tenth of a request a month: low enough that 1/mo is not on the axis
    return low, max(high, low * 100)


def _view_crossings(sides: _Sides, current: float, high: float) -> list[Crossing]:
    """The report's crossings; where the chart reaches past them (the analysis looks 100x past the
    volume, or only for the first break-even beyond that), the same model's, so no band of
    'buying pays' runs on past a step where one more server makes it stop."""
    found = sides.crossings
    model = sides.model
    reach = max(current * 100, 1e4)  # as far as economics.all_crossings looks
    stepped = model.requests_per_instance and model.instance_monthly > 0
    if stepped and high > reach and found and found[-1].direction == "buy_starts_paying":
        return staircase_crossings(model, high)[0]
    return found


def _pay_bands(crossings: list[Crossing], low: float, high: float) -> list[tuple[float, float]]:
    """The volumes in [low, high] where buying is cheaper: from each crossing where it starts to
    pay to the next where it stops (or the end of the axis)."""
    ordered = sorted(crossings, key=lambda c: c.requests_per_month)
    start = 0.0 if ordered and ordered[0].direction == "buy_stops_paying" else None
    bands = []
    for crossing in ordered:
        if crossing.direction == "buy_starts_paying" and start is None:
            start = crossing.requests_per_month
        elif crossing.direction == "buy_stops_paying" and start is not None:
            bands.append((start, crossing.requests_per_month))
            start = None
    if start is not None:
        bands.append((start, math.inf))
    return [(max(a, low), min(b, high)) for a, b in bands if b > low and a < high]


def _bills(model: CostModel, volumes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not model.uniform:
        return np.asarray(volumes * model.api_cost_per_request, dtype=float), selfhost_bills(model, volumes)
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


def _buy_line(model: CostModel, low: float, high: float, current: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The self-host bill against volume, with every capacity step drawn as an exact vertical riser
    and a point at the current volume (so the line runs exactly through the bill named there)."""
    volumes = np.geomspace(low, high, 200)
    if low < current < high:
        volumes = np.sort(np.append(volumes, current))
    xs, ys = [volumes], [_bills(model, volumes)[1]]
    order = [np.zeros(len(volumes))]
    step = model.requests_per_instance
    if not model.uniform:  # an autoscaled or serverless fleet: a riser at each of its breakpoints
        edges = np.array(breakpoints(model, low, high, MAX_EDGES), dtype=float)
        if len(edges):
            xs += [edges, edges]
            ys += [selfhost_bills(model, edges), selfhost_bills(model, edges * (1 + 1e-9))]
            order += [np.ones(len(edges)), np.full(len(edges), 2.0)]
    elif step and model.instance_monthly > 0:
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
    the volumes where buying pays shaded, the first break-even, and the current volume with both
    bills at it: all from the verdict's own comparison (failures priced in when given)."""
    chart = _Chart(width, height)
    sides = _sides(report)
    model = sides.model
    current = report.requests_per_month
    growth = report.growth
    ahead = growth.months[-1] if growth is not None and growth.months else None  # the path's last month
    low, high = _volume_range(current, sides.crossings, [ahead.requests] if ahead else [])
    found = _view_crossings(sides, current, high)
    bands = _pay_bands(found, low, high)
    ends = np.array([low, high])
    api_ends, _ = _bills(model, ends)
    buy_x, buy_y = _buy_line(model, low, high, current)
    first_be = next(
        (c.requests_per_month for c in found if c.direction == "buy_starts_paying" and low <= c.requests_per_month),
        None,
    )
    if first_be is not None and first_be > high:
        first_be = None

    title = _verdict_line(report)
    gist = _gist(sides, found, bands, payback="pays back" not in title)
    if title.endswith(" (failures priced in)"):  # said in the subtitle, where a cut costs less
        title, gist = title.removesuffix(" (failures priced in)"), f"failures priced in; {gist}"
    top, subtitle = chart.titles(title, gist)
    bottom = chart.bottom_band()
    axes_h = height - top - bottom
    values = np.concatenate([api_ends, buy_y])
    positive = values[values > 0]
    log_y = bool(positive.size) and values.min() > 0 and positive.max() / positive.min() > 30
    most = chart.y_tick_count(axes_h)
    if log_y:
        y_ticks = _decades(positive.min(), positive.max(), most)
    else:
        y_ticks = _linear_ticks(0, max(values.max(), 1.0), most)
    y_labels = [_axis_money(v) for v in y_ticks]
    left = chart.left_band(y_labels)
    guess_w = width - left - 16
    x_ticks, x_labels = chart.x_ticks(lambda n: _decades(low, high, n), count, guess_w)
    right = max(16.0, chart.measure(x_labels[-1], chart.label)[0] / 2 + 4) if x_labels else 16.0
    axes = chart.add_axes(left, right, top, bottom, spines=("left", "bottom"))
    axes_w = width - left - right
    line_w = 3 * chart.scale
    api_line = axes.plot(ends, api_ends, color=API_COLOUR, linewidth=line_w, zorder=3)[0]  # straight on log-log
    buy_line = axes.plot(buy_x, buy_y, color=BUY_COLOUR, linewidth=line_w, zorder=3)[0]
    axes.set_xscale("log")
    axes.set_xlim(low, high)

    label_h = chart.line_height(chart.label)
    block_h = 3 * label_h * 1.15 + chart.px(6)
    room = min(0.45, block_h / axes_h)  # headroom above the highest bill for the block of labels
    be_label = f"break-even\n{count(first_be)}/mo" if first_be is not None else ""
    be_w, be_h = chart.measure(be_label, chart.label, bold=True) if be_label else (0.0, 0.0)
    be_left = first_be is not None and _label_fits_left(first_be, current, low, high, be_w + chart.px(8), axes_w)
    if log_y:
        y_low, y_high = math.log10(positive.min()), math.log10(positive.max())
        span = max(y_high - y_low, 1.0)
        under = 0.03
        if first_be is not None and not be_left and model.api_monthly(first_be) > 0:
            # The label hangs under the break-even: keep its height of room below it.
            need = (be_h + chart.px(6) + 6) / axes_h
            at = (math.log10(model.api_monthly(first_be)) - y_low) / span  # its height over the lowest bill
            under = max(under, (need * (1 + room / (1 - room)) - at) / (1 - need))
        axes.set_yscale("log")
        axes.set_ylim(10 ** (y_low - span * under), 10 ** (y_high + span * room / (1 - room)))
    else:
        y_high = max(values.max(), 1.0)
        axes.set_ylim(-y_high * 0.01, y_high / (1 - room))  # a hair below $0: a $0 line stays in sight
    chart.no_ticks()
    chart.ticks("x", x_ticks, x_labels)
    chart.ticks("y", y_ticks, y_labels)
    chart.axis_title(f"{sides.unit.capitalize()} a month")

    # Where buying pays, shaded: one band per range between a crossing up and the next one down.
    if bands:
        shade = PolyCollection(
            [((a, 0.0), (a, 1.0), (b, 1.0), (b, 0.0)) for a, b in bands],
            transform=axes.get_xaxis_transform(),
            facecolors=PAYS_COLOUR,
            edgecolors="none",
            linewidths=0,
            zorder=0.3,
        )
        shade.set_gid("buying-pays")
        axes.add_collection(shade, autolim=False)
    if first_be is not None:
        axes.plot(
            [first_be],
            [model.api_monthly(first_be)],
            linestyle="none",
            marker="o",
            markersize=11 * chart.scale,
            color=GOOD,
            markeredgecolor="white",
            zorder=5,
        )

    # The current volume, with both bills at it (the report's figures), and the block naming them.
    chart.avoid_lines(api_line, buy_line)
    if current >= 1:
        axes.axvline(current, color="black", linestyle="--", linewidth=1.5 * chart.scale, zorder=2)
        axes.plot(
            [current, current],
            [sides.rent_now, sides.buy_now],
            linestyle="none",
            marker="o",
            markersize=7 * chart.scale,
            color="black",
            zorder=6,
        )
        x_px = axes.get_xaxis_transform().transform((current, 0.0))[0]
        frame = chart.axes_box()
        chart.avoid.append(Bbox.from_extents(x_px - 2, frame.y0, x_px + 2, frame.y1))
        you = f"you: {count(current)}/mo"
    else:
        you = "no volume given"
    _bill_block(chart, sides, current if current >= 1 else low, you, low, high, axes_w)

    if first_be is not None:
        be_at = (first_be, model.api_monthly(first_be))
        up_left = {"ha": "right", "va": "bottom", "dx": -8, "dy": 6}
        down_right = {"ha": "left", "va": "top", "dx": 8, "dy": -6}
        order = [up_left, down_right] if be_left else [down_right, up_left]
        order += [{"ha": "left", "va": "bottom", "dx": 8, "dy": 6}, {"ha": "right", "va": "top", "dx": -8, "dy": -6}]
        placed = chart.place(
            be_label,
            [
                {
                    "ha": o["ha"],
                    "va": o["va"],
                    "transform": offset_copy(axes.transData, chart.figure, x=o["dx"], y=o["dy"], units="points"),
                }
                for o in order
            ],
            within=chart.axes_box(),
            x=be_at[0],
            y=be_at[1],
            on=axes,
            bold=True,
            color=GOOD,
        )
        if placed is None and subtitle is not None and "break-even" not in subtitle.get_text():
            chart.retext(subtitle, f"{subtitle.get_text()}; break-even at {count(first_be)} {sides.unit} a month")
    if ahead is not None and low < ahead.requests < high and ahead.requests != current:
        _growth_mark(chart, ahead.month, ahead.requests, subtitle)
    if bands and not _key_in_band(chart, bands) and subtitle is not None:
        chart.retext(subtitle, f"{subtitle.get_text()}; shaded: buying pays")
    return chart.finish()


def _bill_block(chart: _Chart, sides: _Sides, at: float, you: str, low: float, high: float, axes_w: float) -> None:
    """'you: 2M/mo', 'API (gpt-4o) $11.5k', 'self-host (1 x A10G) $1,234' in the headroom at the
    top, beside the current volume's line, in the lines' colours: the block is the key too."""
    axes = chart.axes
    rent_money, buy_money = _short_money(sides.rent_now), _short_money(sides.buy_now)

    def named(name: str, detail: str, amount: str, keep: int | None) -> str:
        if not detail or keep == 0:
            return f"{name} {amount}"
        if keep is not None and len(detail) > keep:
            detail = detail[: max(1, keep - 1)] + "…"
        return f"{name} ({detail}) {amount}"

    where = math.log(at / low) / math.log(high / low)
    x_px = where * axes_w
    gap = chart.px(7 * chart.scale)
    free = {"right": axes_w - x_px - gap, "left": x_px - gap}
    plain = ((you, "black"), (f"{sides.rent_name} {rent_money}", API_COLOUR), (f"self-host {buy_money}", BUY_COLOUR))
    plain_w = max(chart.measure(text, chart.label, bold=True)[0] for text, _ in plain)
    named_w = max(
        chart.measure(f"{name} ({detail}) {amount}", chart.label, bold=True)[0]
        for name, detail, amount in (
            (sides.rent_name, sides.rent_detail, rent_money),
            ("self-host", sides.buy_detail, buy_money),
        )
    )
    preferred = ("right", "left") if where <= 0.6 else ("left", "right")
    # The side where the names fit whole, else where the bills fit, else the roomier one.
    side = next(
        (s for s in preferred if free[s] >= max(named_w, plain_w)),
        next((s for s in preferred if free[s] >= plain_w), max(preferred, key=lambda s: free[s])),
    )
    room = max(free[side], 4 * chart.px(chart.label))
    # Each bill names its API or hardware when there is room; cut short, or left out, when not.
    lines = [
        (you, "black"),
        (_named(chart, sides.rent_name, sides.rent_detail, rent_money, room), API_COLOUR),
        (_named(chart, "self-host", sides.buy_detail, buy_money, room), BUY_COLOUR),
    ]
    line_px = chart.line_height(chart.label) * 1.15
    for i, (text, colour) in enumerate(lines):
        chart.text(
            at,
            1.0,
            chart.fit(text, chart.label, room, bold=True),
            on=axes,
            va="top",
            ha="left" if side == "right" else "right",
            bold=True,
            color=colour,
            priority=MUST,
            transform=offset_copy(
                axes.get_xaxis_transform(),
                chart.figure,
                x=gap if side == "right" else -gap,
                y=-(chart.px(4) + i * line_px),
                units="dots",
            ),
        )


def _named(chart: _Chart, name: str, detail: str, amount: str, room: float) -> str:
    """'API (gpt-4o-mini) $20k' if it fits in `room` pixels; else the detail cut ('API (NVIDIA-Nem…) $20k'),
    or left out ('API $20k')."""

    def fits(text: str) -> bool:
        return chart.measure(text, chart.label, bold=True)[0] <= room

    if detail and fits(full := f"{name} ({detail}) {amount}"):
        return full
    low, high = 0, len(detail) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(f"{name} ({detail[:middle]}…) {amount}"):
            low = middle
        else:
            high = middle - 1
    return f"{name} ({detail[:low]}…) {amount}" if low >= 4 else f"{name} {amount}"


def _growth_mark(chart: _Chart, month: int, volume: float, subtitle: Text | None) -> None:
    """Where growth takes the volume by the horizon: a dotted line, named at its foot."""
    axes = chart.axes
    axes.axvline(volume, color=SUBTLE, linestyle=":", linewidth=1.5 * chart.scale, zorder=2)
    x_px = axes.get_xaxis_transform().transform((volume, 0.0))[0]
    frame = chart.axes_box()
    words = f"month {month}: {count(volume)}/mo"
    foot = axes.get_xaxis_transform()
    placed = chart.place(
        words,
        [
            {"ha": ha, "transform": offset_copy(foot, chart.figure, x=dx, y=6, units="points")}
            for ha, dx in (("right", -6), ("left", 6))
        ],
        within=frame,
        x=volume,
        y=0.0,
        on=axes,
        va="bottom",
        color=SUBTLE,
    )
    chart.avoid.append(Bbox.from_extents(x_px - 2, frame.y0, x_px + 2, frame.y1))
    if placed is None and subtitle is not None:
        chart.retext(subtitle, f"{subtitle.get_text()}; {words}")


def _key_in_band(chart: _Chart, bands: list[tuple[float, float]]) -> bool:
    """'buying pays' in green at the foot of the widest band (on screen), if it fits there."""
    axes = chart.axes
    frame = chart.axes_box()

    def px(x: float) -> float:
        return axes.get_xaxis_transform().transform((x, 0.0))[0]

    for a, b in sorted(bands, key=lambda band: px(band[1]) - px(band[0]), reverse=True):
        within = Bbox.from_extents(max(px(a), frame.x0), frame.y0, min(px(b), frame.x1), frame.y1)
        candidates = [
            {
                "x": b,
                "ha": "right",
                "transform": offset_copy(axes.get_xaxis_transform(), chart.figure, x=-6, y=6, units="points"),
            },
            {
                "x": a,
                "ha": "left",
                "transform": offset_copy(axes.get_xaxis_transform(), chart.figure, x=6, y=6, units="points"),
            },
        ]
        placed = chart.place(
            "buying pays", candidates, within=within, y=0.0, on=axes, va="bottom", bold=True, color=GOOD
        )
        if placed is not None:
            return True
    return False


def _label_fits_left(at: float, current: float, low: float, high: float, text_px: float, axes_px: float) -> bool:
    """Whether the break-even label goes up and to the left of its dot, where nothing is drawn (the
    API line is lower there, the self-host line flat or lower) - unless the axis edge or the current
    volume's line is in the way; then it goes down and to the right, which is as empty."""
    be_px = math.log(at / low) / math.log(high / low) * axes_px
    now_px = math.log(current / low) / math.log(high / low) * axes_px if current >= 1 else -1e9
    return be_px > text_px + 6 and not (be_px - text_px - 6 < now_px < be_px)


def _gist(sides: _Sides, found: list[Crossing], bands: list[tuple[float, float]], payback: bool = True) -> str:
    """The subtitle: where buying pays, from the same figures as the lines (the headline's second
    half, or the bands of a staircase that crosses several times)."""
    if len(bands) > 1:
        return "shaded: " + _bands(found, sides.unit)
    parts = []
    if payback and sides.payback is not None:
        parts.append(f"pays back in {months(sides.payback)}")
    be = next((c.requests_per_month for c in sides.crossings if c.direction == "buy_starts_paying"), None)
    parts.append(f"break-even at {count(be)} {sides.unit} a month" if be else "buying never breaks even on cost")
    return "; ".join(parts)


def _bands(crossings: list[Crossing], unit: str = "requests") -> str:
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
    return f"{text} {unit} a month"


# --- cumulative ----------------------------------------------------------------------------


def cumulative_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """Total spent on each side, month by month over the horizon, with the payback point: the
    verdict's bills (failures priced in when given) and its one-time cost; with growth, the
    month-by-month path the verdict was judged on."""
    chart = _Chart(width, height)
    sides = _sides(report)
    one_time = report.one_time_cost
    growth = report.growth
    if growth is not None and growth.months:
        # Both totals month by month along the path (straight within a month, as its payback is).
        horizon = float(len(growth.months))
        months_x = np.arange(len(growth.months) + 1, dtype=float)
        rent_y = np.concatenate(([0.0], np.cumsum([m.baseline_cost for m in growth.months])))
        buy_y = one_time + np.concatenate(([0.0], np.cumsum([m.selfhost_cost for m in growth.months])))
        payback = growth.payback_months
        rate = growth.rate_per_month
        path = f"volume {'growing' if rate >= 0 else 'shrinking'} {abs(rate):.0%} a month"
    else:
        # Both totals are straight lines in time: two points each.
        horizon = max(report.horizon_months, 1.0)
        months_x = np.array([0.0, horizon])
        rent_y = np.array([0.0, horizon * sides.rent_now])
        buy_y = np.array([one_time, one_time + horizon * sides.buy_now])
        payback = sides.payback
        path = ""
    rent_end, buy_end = float(rent_y[-1]), float(buy_y[-1])
    top_value = max(rent_end, buy_end, one_time, 1.0) * 1.08
    shows_payback = payback is not None and payback <= horizon

    net = rent_end - buy_end
    verb = f"buying saves {_big_money(net)}" if net > 0 else f"buying costs {_big_money(-net)} more"
    start = f"buying starts with {_big_money(one_time)} one-time"
    if shows_payback:
        subtitle = "; ".join(filter(None, ["Total spent on each side", path, start]))
    elif payback is None and path:
        subtitle = f"Buying does not pay back on this path ({path}); {start}"
    elif payback is None:
        subtitle = f"Buying never pays back: it costs more every month; it starts with {_big_money(one_time)} one-time"
    else:
        subtitle = f"Pays back in {_months_short(payback)}, beyond the {horizon:g}-month horizon"
    top, sub = chart.titles(f"Over {horizon:g} month{'s' if horizon != 1 else ''}, {verb}", subtitle)
    bottom = chart.bottom_band()
    axes_h = height - top - bottom
    y_ticks = _linear_ticks(0, top_value, chart.y_tick_count(axes_h))
    y_labels = [_axis_money(v) for v in y_ticks]
    left = chart.left_band(y_labels)

    rent_label = f"{'Rent' if sides.rent_name == 'API' else 'By hand'}\n{_short_money(rent_end)}"
    buy_label = f"Buy\n{_short_money(buy_end)}"
    end_sizes = [chart.measure(s, chart.label, bold=True, linespacing=1.0) for s in (rent_label, buy_label)]
    right = max(w for w, _ in end_sizes) + chart.px(8) + max(6.0, 0.015 * width)
    axes_w = width - left - right
    x_ticks, x_labels = chart.x_ticks(
        lambda n: _linear_ticks(0, horizon, n, integer=horizon >= 4), lambda v: f"{v:g}", axes_w
    )
    axes = chart.add_axes(left, right, top, bottom, spines=("left", "bottom"))
    line_w = 3 * chart.scale
    rent_line = axes.plot(months_x, rent_y, color=API_COLOUR, linewidth=line_w, clip_on=False, zorder=3)[0]
    buy_line = axes.plot(months_x, buy_y, color=BUY_COLOUR, linewidth=line_w, clip_on=False, zorder=3)[0]
    y_floor = -top_value * 0.01  # a hair below $0, so a line at $0 is not hidden by the axis
    axes.set_xlim(0, horizon)
    axes.set_ylim(y_floor, top_value)
    chart.no_ticks()
    chart.ticks("x", x_ticks, x_labels)
    chart.ticks("y", y_ticks, y_labels)
    chart.axis_title("Months from today")
    chart.avoid_lines(rent_line, buy_line)

    # Each line named at its end, moved apart when the totals are close, and kept between the
    # axis and the top of the axes.
    per_px = (top_value - y_floor) / axes_h
    heights = [h for _, h in end_sizes]
    at = _spread([(rent_end - y_floor) / per_px, (buy_end - y_floor) / per_px], heights, 0.0, axes_h, chart.px(4))
    for y, text, colour in zip(at, (rent_label, buy_label), (API_COLOUR, BUY_COLOUR), strict=True):
        chart.text(
            horizon,
            y_floor + y * per_px,
            text,
            on=axes,
            va="center",
            bold=True,
            color=colour,
            linespacing=1.0,
            priority=MUST,
            transform=offset_copy(axes.transData, chart.figure, x=8, units="points"),
        )

    if shows_payback:
        spent = float(np.interp(payback, months_x, buy_y))
        axes.plot(
            [payback],
            [spent],
            linestyle="none",
            marker="o",
            markersize=12 * chart.scale,
            markeredgecolor="white",
            color=GOOD,
            zorder=5,
            clip_on=False,  # whole, even on the last month
        )
        text = f"pays back in\n{_months_short(payback)}"
        near = [
            {
                "x": payback,
                "y": spent,
                "ha": ha,
                "va": va,
                "transform": offset_copy(axes.transData, chart.figure, x=dx, y=dy, units="points"),
            }
            for ha, va, dx, dy in (("right", "bottom", -10, 8), ("left", "top", 10, -8), ("left", "bottom", 10, 8))
        ]
        corners = [
            {"x": x, "y": y, "ha": ha, "va": va, "transform": axes.transAxes}
            for x, y, ha, va in ((0.02, 0.97, "left", "top"), (0.98, 0.03, "right", "bottom"))
        ]
        style = {"on": axes, "bold": True, "color": GOOD}
        placed = chart.place(text, near, within=chart.axes_box(), **style) or chart.place(
            text.replace("\n", " "), corners, within=chart.axes_box(), **style
        )
        if placed is None and sub is not None:
            chart.retext(sub, f"Pays back in {_months_short(payback)}; {sub.get_text()}")
    return chart.finish()


def _spread(wanted: Sequence[float], heights: Sequence[float], low: float, high: float, gap: float) -> list[float]:
    """Centres near `wanted` for labels of these heights, apart by `gap` and within [low, high]."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    at = [0.0] * len(wanted)
    floor = low
    for i in order:  # up from the bottom, each clear of the one below
        at[i] = max(wanted[i], floor + heights[i] / 2)
        floor = at[i] + heights[i] / 2 + gap
    ceiling = high
    for i in reversed(order):  # down from the top, each clear of the one above
        at[i] = min(at[i], ceiling - heights[i] / 2)
        ceiling = at[i] - heights[i] / 2 - gap
    return at


# --- iceberg -------------------------------------------------------------------------------


def _rework_name(multiplier: float, low: float, high: float) -> str:
    """'Re-work x5 (medium task, 4-6x)': the multiplier and the complexity band it comes from."""
    band = next((name for name, limits in ITERATION_MULTIPLIER.items() if limits == (low, high)), None)
    if band is not None:
        why = f"{band}, {low:g}-{high:g}x"
    elif low != high:
        why = f"{low:g}-{high:g}x"
    else:
        why = "your iter="
    return f"Re-work x{multiplier:g} ({why})"


def _iceberg(
    chart: _Chart,
    lines: Sequence[CostLine],
    title: str,
    subtitle: str,
    rework: str | None = None,
    grouped: Sequence[CostLine] | None = None,
) -> bytes:
    """Visible lines above a waterline, hidden ones (people's time) below it, each with its amount.
    The re-work line (named `rework`) comes last, in its own shade. When the rows cannot all
    stand clear at legible type, `grouped` (fewer rows) is drawn instead, and the subtitle says so."""
    width, height = chart.width, chart.height
    bottom = max(8.0, 0.02 * height)

    def ordered(rows: Sequence[CostLine]) -> list[CostLine]:
        rows = [line for line in rows if line.amount > 0]
        visible = sorted((r for r in rows if not r.hidden), key=lambda r: r.amount, reverse=True)
        again = [r for r in rows if r.hidden and r.name == rework]
        hidden = sorted((r for r in rows if r.hidden and r.name != rework), key=lambda r: r.amount, reverse=True)
        return visible + hidden + again

    def size_for(rows: list[CostLine], axes_h: float) -> float | None:
        """The largest type (up to the chart's) at which every row and the waterline's labels fit."""
        waterline = any(not r.hidden for r in rows) and any(r.hidden for r in rows)

        def fits(size: float) -> bool:
            text_h = chart.line_height(size)
            return len(rows) * text_h * 1.25 + (2 * text_h + 10 if waterline else 0) + 4 <= axes_h

        return _largest(chart.label, fits)

    rows = ordered(lines)
    size = size_for(rows, height - chart.title_band(bool(subtitle)) - bottom)
    if size is None and grouped is not None:
        rows = ordered(grouped)
        subtitle = "; ".join(filter(None, [subtitle, "lines grouped to fit (a larger image shows each)"]))
        size = size_for(rows, height - chart.title_band(True) - bottom)
    top, _ = chart.titles(title, subtitle)
    axes_h = height - top - bottom
    size = size or MIN_POINTS
    visible = [r for r in rows if not r.hidden]
    hidden = [r for r in rows if r.hidden]
    names = [chart.fit(r.name, size, 0.45 * width) for r in rows]
    left = chart.left_band(names, size)
    right = max(8.0, 0.02 * width)
    axes = chart.add_axes(left, right, top, bottom, spines=())
    axes_w = width - left - right

    # Rows one unit apart; the waterline's gap, in rows, holds a line of text above and below it:
    # half the distance between the rows either side, less half a bar, is at least a line, that is
    # (0.15 + gap / 2) * pitch >= line, with pitch = axes_h / (rows + 0.4 + gap).
    waterline = bool(visible and hidden)
    gap = 0.0
    if waterline:
        line = chart.line_height(size) + 6
        gap = max(0.0, (line * (len(rows) + 0.4) - 0.15 * axes_h) / max(1.0, axes_h / 2 - line))
    positions = [-(i + (gap if i >= len(visible) else 0)) for i in range(len(rows))]
    bottom_row = positions[-1] if positions else 0.0
    axes.set_ylim(bottom_row - 0.7, 0.7)

    # Money to pixels: every bar's amount must fit after it; small lines keep a visible stub.
    amounts = [r.amount for r in rows]
    labels = [_short_money(a) if a >= 1e6 else money(a) for a in amounts]
    widths = [chart.measure(s, size)[0] for s in labels]
    after = chart.px(4)
    per_dollar = min(
        ((axes_w - after - w - 2) / a for a, w in zip(amounts, widths, strict=True) if a > 0),
        default=1.0,
    )
    per_dollar = max(per_dollar, 1e-12)
    x_max = axes_w / per_dollar
    stub = 3 * chart.scale / per_dollar
    axes.set_xlim(0, x_max)
    chart.no_ticks()

    if waterline:
        level = positions[len(visible) - 1] - 0.5 - gap / 2
        axes.axhspan(bottom_row - 0.7, level, color=WATER_COLOUR, zorder=0, linewidth=0)
        axes.axhline(level, color=WATERLINE_COLOUR, linewidth=2.5 * chart.scale, zorder=1)
        share = sum(r.amount for r in hidden) / sum(amounts)
        for text, va, dy in (
            (f"▲ visible {_share(1 - share)}", "bottom", 3),
            (f"▼ hidden {_share(share)}: people's time", "top", -3),
        ):
            chart.text(
                x_max,
                level,
                chart.fit(text, size, 0.9 * axes_w, bold=True),
                on=axes,
                ha="right",
                va=va,
                size=size,
                bold=True,
                color=WATERLINE_COLOUR,
                priority=MUST,
                transform=offset_copy(axes.transData, chart.figure, y=dy, units="points"),
            )
    colours = [BUY_COLOUR if not r.hidden else (REWORK_COLOUR if r.name == rework else HIDDEN_COLOUR) for r in rows]
    ends = [max(a, stub) for a in amounts]
    _bars(axes, positions, [0.0] * len(rows), ends, 0.7, colours)
    beside = offset_copy(axes.transData, chart.figure, x=after, units="dots")
    for y, end, label in zip(positions, ends, labels, strict=True):
        chart.text(end, y, label, on=axes, va="center", size=size, priority=MUST, transform=beside)
    chart.ticks("y", positions, names, grid=False, priority=MUST, size=size)
    # No money axis: every bar carries its own amount, which is all a reader looks for.
    return chart.finish()


def iceberg_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """The cost iceberg over the horizon: training compute and servers above the waterline,
    people's time (data, evaluation, set-up, re-work, operations) below it."""
    horizon = report.horizon_months
    recurring = [
        line.model_copy(update={"name": f"{line.name} ({horizon:g} mo)", "amount": line.amount * horizon})
        for line in report.selfhost_lines
    ]
    rework = None
    one_time = list(report.hidden_costs)
    multiplier = report.iteration_multiplier
    if multiplier != 1 and one_time and one_time[-1].name == "Iteration (re-work)":
        base = report.one_time_cost / multiplier
        low, high = (x / base for x in report.one_time_range) if base else (multiplier, multiplier)
        rework = _rework_name(multiplier, round(low, 6), round(high, 6))
        one_time[-1] = one_time[-1].model_copy(update={"name": rework})
    lines = [*one_time, *recurring]
    total = sum(line.amount for line in lines if line.amount > 0)
    people = sum(line.amount for line in lines if line.amount > 0 and line.hidden)
    share = people / total if total else 0.0
    return _iceberg(
        _Chart(width, height),
        lines,
        f"Buying costs {_big_money(total)} over {horizon:g} months",
        f"{_share(share)} of it is people's time, below the waterline",
        rework=rework,
    )


def audit_iceberg_chart(result, width: int = 800, height: int = 500) -> bytes:
    """The audit's iceberg: training compute against every line of people's time, and the re-work
    the task's complexity brings (the multiplier and its band)."""
    from .defaults import ACTIVITIES, GROUP_NAMES

    low, middle, high = result.multiplier
    complexity = result.input.complexity
    lines = list(result.lines)
    rework = None
    extra = result.base_one_time * (middle - 1)
    if extra > 0:
        rework = _rework_name(middle, low, high)
        lines.append(CostLine(name=rework, amount=extra, detail=f"{complexity} task"))
    # Fewer rows for small images: the activities summed by group.
    group_of = {a.label: a.group for a in ACTIVITIES}
    grouped: dict[str, float] = {}
    kept = []
    for line in lines:
        group = group_of.get(line.name)
        if group is None:
            kept.append(line)
        else:
            grouped[GROUP_NAMES[group]] = grouped.get(GROUP_NAMES[group], 0.0) + line.amount
    summed = [*kept, *(CostLine(name=name, amount=amount) for name, amount in grouped.items())]
    # The title carries the multiplier, the re-work row its band; the waterline, people's share.
    title = f"One-time cost {_big_money(result.realistic_mid)}: {_big_money(result.base_one_time)}"
    title += f" x{middle:g} re-work" if rework else " planned"
    subtitle = ""
    return _iceberg(_Chart(width, height), lines, title, subtitle, rework=rework, grouped=summed)


# --- tornado -------------------------------------------------------------------------------


def tornado_chart(report: Report, width: int = 800, height: int = 500) -> bytes:
    """First-year net benefit of buying with each input at -50% and +50%, widest swing on top;
    inputs whose change flips the verdict in orange; a key says which shade is which."""
    chart = _Chart(width, height)
    sensitivity = report.sensitivity
    base = sensitivity.base_net
    cases = sorted(sensitivity.cases, key=lambda c: c.swing, reverse=True)[:8]
    flips = any(c.flips for c in cases)
    subtitle = "First-year net benefit of buying, each input ±50%"
    top, _ = chart.titles(f"{sensitivity.most_influential} moves the answer most", subtitle)
    label_h = chart.line_height(chart.label)
    top += label_h + chart.px(4)  # the 'today' label over the axes
    key_h = chart.line_height(chart.small) + chart.px(6)
    bottom = chart.bottom_band(axis_title=False, extra=key_h)
    axes_h = height - top - bottom

    size = _largest(chart.label, lambda size: len(cases) * chart.line_height(size) * 1.25 <= axes_h) or MIN_POINTS
    names = [chart.fit(c.name, size, 0.4 * width, bold=c.flips) for c in cases]
    left_px = chart.left_band(names, size, bold=[c.flips for c in cases])
    right_px = max(16.0, 0.03 * width)
    axes_w = width - left_px - right_px

    lows = [c.low_net for c in cases]
    highs = [c.high_net for c in cases]
    span = max([abs(v - base) for v in lows + highs] + [abs(base) * 0.1, 1.0])
    left = min([base - span * 1.1, *lows, 0.0])
    right = max([base + span * 1.1, *highs, 0.0])
    pad = (right - left) * 0.04
    x_low, x_high = left - pad, right + pad
    x_ticks, x_labels = chart.x_ticks(lambda n: _linear_ticks(x_low, x_high, n), _axis_money, axes_w)
    if x_labels:  # the end labels are centred on their ticks: room for their halves
        half = max(chart.measure(x_labels[0], chart.label)[0], chart.measure(x_labels[-1], chart.label)[0]) / 2
        right_px = max(right_px, half + 4)
        left_px = max(left_px, half + 4)
    axes = chart.add_axes(left_px, right_px, top, bottom, spines=("bottom",))
    axes_w = width - left_px - right_px
    rows = [-float(i) for i in range(len(cases))]  # widest swing on top
    axes.set_xlim(x_low, x_high)
    axes.set_ylim(rows[-1] - 0.6 if rows else -1, 0.6)
    chart.no_ticks()
    px_per_dollar = axes_w / (x_high - x_low)

    # Each bar runs from today's figure to the input at -50% (light) and at +50% (dark).
    light = [FLIP_LIGHT if c.flips else BUY_LIGHT for c in cases]
    dark = [FLIP_COLOUR if c.flips else BUY_COLOUR for c in cases]
    _bars(axes, rows + rows, [base] * (2 * len(cases)), lows + highs, 0.62, light + dark)
    axes.axvline(base, color="black", linewidth=2 * chart.scale, zorder=3)
    above = chart.axes_box()
    over = Bbox.from_extents(0, above.y1, width, height)  # the band between the axes and the titles

    def over_axes(x: float, s: str, ha_dx: Sequence[tuple[str, float]], **style: Any) -> Text | None:
        return chart.place(
            s,
            [
                {
                    "ha": ha,
                    "transform": offset_copy(axes.get_xaxis_transform(), chart.figure, x=dx, y=2, units="points"),
                }
                for ha, dx in ha_dx
            ],
            within=over,
            x=x,
            y=1.0,
            on=axes,
            va="bottom",
            **style,
        )

    over_axes(base, f"today {_axis_money(base)}", (("left", 4), ("right", -4)), bold=True, priority=MUST)
    if x_low <= 0 <= x_high and abs(base) * px_per_dollar > 8:
        axes.axvline(0, color=API_COLOUR, linewidth=1.5 * chart.scale, linestyle=":")
        sides = (("right", -4), ("left", 4))  # which side of the line: the nearer one first
        if base > 0:
            over_axes(0.0, "← buying loses", sides, size=chart.small, color=API_COLOUR)
        else:
            over_axes(0.0, "buying pays →", sides[::-1], size=chart.small, color=API_COLOUR)
    for case, row in zip(cases, rows, strict=True):
        if case.swing * px_per_dollar < 3:  # too small to see: say so
            effect = "no effect" if case.swing < 0.005 else f"±{_short_money(case.swing / 2)}"
            chart.place(
                effect,
                [
                    {"ha": ha, "transform": offset_copy(axes.transData, chart.figure, x=dx, units="points")}
                    for ha, dx in (("left", 6), ("right", -6))
                ],
                within=chart.axes_box(),
                x=base,
                y=row,
                on=axes,
                va="center",
                size=min(size, chart.small),
                color=SUBTLE,
            )
    styles = [{"color": FLIP_COLOUR, "bold": True} if c.flips else {} for c in cases]
    chart.ticks("y", rows, names, grid=False, styles=styles, priority=MUST, size=size)
    chart.ticks("x", x_ticks, x_labels)
    _tornado_key(chart, flips)
    return chart.finish()


def _tornado_key(chart: _Chart, flips: bool) -> None:
    """What the shades mean, in a row at the foot of the image: '■ input at -50%  ■ +50%  ■ flips the verdict'.
    The squares are one polygon collection (a glyph each would cost a text each)."""
    items = [(BUY_LIGHT, "input at −50%"), (BUY_COLOUR, "input at +50%")]
    if flips:
        items.append((FLIP_COLOUR, "orange: the verdict flips"))
    size = chart.small
    line_h = chart.line_height(size)
    square = 0.62 * line_h
    space = chart.measure("  ", size)[0]
    room = chart.width - 2 * chart.margin
    texts = [t for _, t in items]
    total = sum(square + space / 2 + chart.measure(t, size)[0] for t in texts) + space * (len(texts) - 1)
    if total > room:  # short words when the row is too wide
        texts = ["−50%", "+50%", "flips the verdict"][: len(items)]
    w, h = chart.width, chart.height
    x, y = chart.margin, max(3.0, 0.2 * chart.px(size))
    squares = []
    for words in texts:
        bottom = y + (line_h - square) / 2
        squares.append(
            (
                (x / w, bottom / h),
                (x / w, (bottom + square) / h),
                ((x + square) / w, (bottom + square) / h),
                ((x + square) / w, bottom / h),
            )
        )
        x += square + space / 3
        chart.text(x / w, y / h, words, size=size, color=SUBTLE, va="bottom", priority=MUST)
        x += chart.measure(words, size)[0] + space
    key = PolyCollection(
        squares, facecolors=[c for c, _ in items], edgecolors="none", transform=chart.figure.transFigure
    )
    key.set_gid("tornado-key")
    chart.figure.add_artist(key)
