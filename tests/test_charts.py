"""Charts as a user sees them: PNGs of the size asked with the story drawn on them, from any thread.

Pixels are checked where a glance would tell (a blank image, a missing dot, a highlight); the
figure behind the PNG is checked where only reading would (which label says what, where each
marker sits), by catching the Figure on its way to the encoder.
"""

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from costcore import analyze, charts, parse
from costcore.audit import AuditInput, run_audit

# The charts' figures below are pinned by these inputs, not by the analysis's defaults.
LEAN = "maint_h=5 runs=1 iter=1x data_h=100 eval_h=36 infra_h=12 train=50"
SCENARIOS = {
    "staircase": "volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 runs=1 setup=1000 maint_h=0",
    "buy": f"volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g capacity=30qps {LEAN}",
    "rent_never_pays": f"volume=10000 api=gpt-4o-mini capacity=30qps {LEAN}",
    "no_crossing": "volume=10000 api_per_1k=0.01 host_price=5",
    "per_token_host": "volume=1M api=gpt-4o host_price=0.2",
    "no_volume": "volume=0",
    "by_hand": f"volume=1000 manual_h=0.5 manual_rate=50 capacity=30qps {LEAN}",
    "failures": f"volume=50000 api=gpt-4o-mini fail_api=0.4 fail_ft=0.03 fail_cost=0.05 capacity=30qps {LEAN}",
    "high_availability": "volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 runs=1 setup=1000 maint_h=0 "
    "ha=yes",
}
KINDS = ("breakeven", "cumulative", "iceberg", "tornado")
GREEN, ORANGE = (0x2C, 0xA0, 0x2C), (0xFF, 0x7F, 0x0E)
VISIBLE_BLUE, HIDDEN_GREY, WATER = (0x1F, 0x77, 0xB4), (0x4A, 0x63, 0x78), (0xDC, 0xEC, 0xF5)

_reports: dict[str, object] = {}


def report(name):
    if name not in _reports:
        _reports[name] = analyze(parse(SCENARIOS[name]))
    return _reports[name]


def draw(kind, rep, **size):
    return getattr(charts, f"{kind}_chart")(rep, **size)


def pixels(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def assert_drawn(image):
    packed = (image[..., 0] << 16) | (image[..., 1] << 8) | image[..., 2]
    colours = len(np.unique(packed))
    assert colours > 20, "the chart is (nearly) blank"
    assert image.std() > 12, "the chart is (nearly) blank"


def share_of(image, colour, tolerance=10):
    return (np.abs(image - np.array(colour)) <= tolerance).all(axis=2)


@pytest.fixture
def caught(monkeypatch):
    """Draw a chart and keep its Figure: (png, figure, every text on it)."""
    figures = []
    encode = charts._png

    def keep(figure):
        figures.append(figure)
        return encode(figure)

    monkeypatch.setattr(charts, "_png", keep)

    def run(kind, rep, **size):
        png = draw(kind, rep, **size)
        figure = figures[-1]
        texts = [t.get_text() for t in figure.texts] + [t.get_text() for t in figure.axes[0].texts]
        return png, figure, texts

    return run


# --- every chart, every scenario -----------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_chart_is_a_png_of_the_size_asked_and_not_blank(kind, scenario):
    image = pixels(draw(kind, report(scenario)))
    assert image.shape == (500, 800, 3)
    assert_drawn(image)


@pytest.mark.parametrize("size", [(400, 300), (402, 226), (1200, 750)])
@pytest.mark.parametrize("kind", KINDS)
def test_other_sizes_are_exact_too(kind, size):
    # 402 and 226 are sizes where width / dpi * dpi is not exact in floating point.
    width, height = size
    image = pixels(draw(kind, report("staircase"), width=width, height=height))
    assert image.shape == (height, width, 3)
    assert_drawn(image)


def test_no_volume_analyses_and_draws():
    rep = analyze(parse("volume=0"))
    assert rep.requests_per_month == 0
    for kind in KINDS:
        assert_drawn(pixels(draw(kind, rep)))


# --- break-even ----------------------------------------------------------------------------


def markers(figure, colour):
    return [
        line
        for line in figure.axes[0].lines
        if line.get_marker() == "o" and line.get_linestyle() == "None" and _same(line.get_color(), colour)
    ]


def _same(colour, hex_colour):
    from matplotlib.colors import to_hex

    return to_hex(colour) == hex_colour


def test_breakeven_marks_every_crossing_of_the_staircase(caught):
    rep = report("staircase")
    _, figure, texts = caught("breakeven", rep)
    starts = [c.requests_per_month for c in rep.crossings if c.direction == "buy_starts_paying"]
    stops = [c.requests_per_month for c in rep.crossings if c.direction == "buy_stops_paying"]
    assert len(starts) == 4 and len(stops) == 3
    (green,) = markers(figure, charts.GOOD)
    assert list(green.get_xdata()) == pytest.approx(starts)
    rings = [line for line in figure.axes[0].lines if line.get_marker() == "o" and line.get_color() == "white"]
    assert list(rings[0].get_xdata()) == pytest.approx(stops)
    assert "○ buy stops paying" in texts
    assert "buying pays at 2M-2.63M, 4M-5.26M, 6M-7.88M and above 8M a month" in texts
    assert "break-even\n2M/mo" in texts


def test_breakeven_draws_each_capacity_step_as_a_vertical_riser(caught):
    rep = report("staircase")
    _, figure, _ = caught("breakeven", rep)
    buy = next(line for line in figure.axes[0].lines if _same(line.get_color(), charts.BUY_COLOUR))
    x, y = np.asarray(buy.get_xdata()), np.asarray(buy.get_ydata())
    step, server = rep.cost_model.requests_per_instance, rep.cost_model.instance_monthly
    low, high = figure.axes[0].get_xlim()
    edges = [k * step for k in range(1, int(high // step) + 1) if k * step >= low]
    assert len(edges) > 100
    for edge in edges:
        at = np.flatnonzero(x == edge)
        assert len(at) == 2, f"no riser at {edge:,.0f}"
        assert y[at[1]] - y[at[0]] == pytest.approx(server)
    # Between the risers the line is flat: one instance costs the same whatever it serves.
    flat = (x > edges[0]) & (x < edges[1])
    assert np.ptp(y[flat]) == pytest.approx(0)


def test_breakeven_names_the_verdict_and_both_bills_at_the_current_volume(caught):
    png, figure, texts = caught("breakeven", report("buy"))
    assert texts[0] == "Buy: self-hosting saves $10,266 a month"
    assert texts[1] == "pays back in 1.4 months; break-even at 215k requests a month"
    assert {"you: 2M/mo", "API $11.5k", "self-host $1,234", "Requests a month", "break-even\n215k/mo"} <= set(texts)
    assert any(t.startswith("$") for t in texts) and "$1M" in texts, "the money axis is in dollars"
    assert figure.axes[0].get_xscale() == "log"
    # The current volume is a dashed line from top to bottom: a column of dark pixels besides the axis.
    assert len(dark_columns(pixels(png))) == 2


def dark_columns(image):
    dark = (image.max(axis=2) < 60).sum(axis=0) > image.shape[0] * 0.3
    columns = np.flatnonzero(dark)
    return [c for i, c in enumerate(columns) if i == 0 or columns[i - 1] != c - 1]


def test_breakeven_without_volume_has_no_current_volume_line(caught):
    png, _, texts = caught("breakeven", report("no_volume"))
    assert "no volume given" in texts
    assert len(dark_columns(pixels(png))) == 1  # the axis only


def test_breakeven_without_any_crossing_has_no_green_dot(caught):
    png, figure, texts = caught("breakeven", report("no_crossing"))
    assert not markers(figure, charts.GOOD)
    assert not share_of(pixels(png), GREEN).any()
    assert "buying never breaks even on cost" in texts


def test_breakeven_rent_that_never_pays_still_shows_where_it_would(caught):
    rep = report("rent_never_pays")
    assert rep.payback_months is None
    png, figure, texts = caught("breakeven", rep)
    assert texts[0].startswith("Rent:")
    (green,) = markers(figure, charts.GOOD)
    assert green.get_xdata()[0] == pytest.approx(rep.breakeven_requests_per_month)
    assert share_of(pixels(png), GREEN).sum() > 100


def test_per_token_host_is_a_smooth_line_without_steps(caught):
    _, figure, _ = caught("breakeven", report("per_token_host"))
    buy = next(line for line in figure.axes[0].lines if _same(line.get_color(), charts.BUY_COLOUR))
    assert len(set(buy.get_xdata())) == len(buy.get_xdata()), "a riser where there are no servers"


def test_charts_against_work_by_hand_follow_the_headline(caught):
    rep = report("by_hand")
    assert "by hand" in rep.headline and rep.manual.payback_months < 1
    _, _, texts = caught("breakeven", rep)
    assert {"by hand $25k", "Tasks a month"} <= set(texts)
    assert "break-even at 49.4 tasks a month" in texts[1]
    png, _, texts = caught("cumulative", rep)
    assert "pays back in 19 days" in texts
    assert share_of(pixels(png), GREEN).sum() > 100


def test_failures_priced_in_move_the_break_even(caught):
    rep = report("failures")
    model, failure = rep.cost_model, rep.failure
    # The comparison's model carries each side's failures a request, so the chart needs no sums of its own.
    assert model.api_cost_per_request == pytest.approx(rep.api_cost_per_request + failure.fail_api * failure.fail_cost)
    assert model.selfhost_variable_per_request == pytest.approx(failure.fail_ft * failure.fail_cost)
    margin = model.api_cost_per_request - model.selfhost_variable_per_request
    expected = model.selfhost_monthly(0) / margin  # about 66k requests a month, not the failure-free 6.33M
    _, figure, texts = caught("breakeven", rep)
    (green,) = markers(figure, charts.GOOD)
    assert green.get_xdata()[0] == pytest.approx(expected)
    assert "API $1,010" in texts and "self-host $1,309" in texts


# --- cumulative ----------------------------------------------------------------------------


def test_cumulative_marks_the_payback_point(caught):
    rep = report("staircase")
    png, figure, texts = caught("cumulative", rep)
    (green,) = markers(figure, charts.GOOD)
    assert green.get_xdata()[0] == pytest.approx(5.1)
    assert "pays back in\n5.1 months" in texts
    assert texts[0] == "Over 12 months, buying saves $1,380"
    assert {"Rent\n$12k", "Buy\n$10.6k"} <= set(texts)
    assert share_of(pixels(png), GREEN).sum() > 100


def test_cumulative_says_when_buying_never_pays_back(caught):
    png, figure, texts = caught("cumulative", report("rent_never_pays"))
    assert not markers(figure, charts.GOOD)
    assert not share_of(pixels(png), GREEN).any()
    assert "Buying never pays back: it costs more every month" in texts


def test_cumulative_says_when_payback_is_beyond_the_horizon(caught):
    rep = analyze(parse(f"volume=400k api=gpt-4o gpu=a10g capacity=30qps {LEAN}"))
    assert rep.payback_months > rep.horizon_months
    _, _, texts = caught("cumulative", rep)
    assert f"Pays back in {rep.payback_months:.1f} months, beyond the 12-month horizon" in texts


# --- iceberg -------------------------------------------------------------------------------


def test_iceberg_puts_people_time_under_the_waterline(caught):
    rep = report("buy")
    png, _, texts = caught("iceberg", rep)
    image = pixels(png)
    visible_rows = np.nonzero(share_of(image, VISIBLE_BLUE, 4))[0]
    hidden_rows = np.nonzero(share_of(image, HIDDEN_GREY, 4))[0]
    assert visible_rows.size > 500 and hidden_rows.size > 500
    assert visible_rows.max() < hidden_rows.min(), "servers and compute must sit above people's time"
    assert share_of(image, WATER, 3).sum() > 20_000, "no water under the waterline"
    total = rep.one_time_cost + rep.horizon_months * rep.selfhost_monthly_cost
    assert texts[0] == f"Buying costs ${total:,.0f} over 12 months"
    assert {"$10,000", "$3,600", "$1,200", "$50.00", "▼ hidden: people's time 70%"} <= set(texts)
    assert {"Servers (12 mo)", "Operations (12 mo)", "Data preparation"} <= set(texts)


def test_audit_iceberg_chart():
    image = pixels(charts.audit_iceberg_chart(run_audit(AuditInput()), width=600, height=400))
    assert image.shape == (400, 600, 3)
    assert_drawn(image)
    assert share_of(image, WATER, 3).sum() > 5_000


# --- tornado -------------------------------------------------------------------------------


def test_tornado_highlights_the_inputs_that_flip_the_verdict(caught):
    rep = report("staircase")
    flipping = [c.name for c in rep.sensitivity.cases if c.flips]
    assert flipping
    png, _, texts = caught("tornado", rep)
    assert share_of(pixels(png), ORANGE).sum() > 1_000
    assert texts[0] == f"What moves the answer most: {rep.sensitivity.most_influential}"
    assert "orange: the verdict flips" in texts[1]
    # Widest swing on top: the names read down in order of swing.
    names = [c.name for c in sorted(rep.sensitivity.cases, key=lambda c: c.swing, reverse=True)]
    shown = [t for t in texts if t in names]
    assert shown == names


def test_tornado_without_flips_has_no_orange(caught):
    rep = report("buy")
    assert not any(c.flips for c in rep.sensitivity.cases)
    png, _, texts = caught("tornado", rep)
    assert not share_of(pixels(png), ORANGE).any()
    assert "today $108k" in texts
    assert "  no effect" in texts  # capacity does not matter at this volume: said, not drawn as nothing


# --- threads and start-up ------------------------------------------------------------------


def test_charts_render_from_four_threads_at_once():
    jobs = [(kind, name) for kind in KINDS for name in ("staircase", "buy", "no_volume", "by_hand")]
    reports = {name: report(name) for _, name in jobs}
    alone = {job: draw(job[0], reports[job[1]]) for job in jobs}
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda job: draw(job[0], reports[job[1]]), jobs * 2))
    for job, png in zip(jobs * 2, together, strict=True):
        image = pixels(png)
        assert image.shape == (500, 800, 3)
        assert_drawn(image)
        assert png == alone[job], f"{job} differs when drawn among other threads"


def test_the_core_does_not_import_matplotlib():
    code = (
        "import sys; from costcore import analyze, parse; analyze(parse('volume=2M api=gpt-4o')); "
        "print('matplotlib' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
