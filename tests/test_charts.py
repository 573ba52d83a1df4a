"""Charts are PNGs of the size asked, with something drawn on them, from any thread."""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from matplotlib.image import imread

from costcore import analyze, charts, parse
from costcore.audit import AuditInput, run_audit

SCENARIOS = {
    "staircase": "volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0",
    "buy": "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g",
    "rent_never_pays": "volume=10000 api_per_1k=0.01 host_price=5",
    "per_token_host": "volume=1M api=gpt-4o host_price=0.2",
    "no_volume": "volume=0",
}
KINDS = ("breakeven", "cumulative", "iceberg", "tornado")


def pixels(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(io.BytesIO(png), format="png")


def assert_drawn(image):
    rgb = image[..., :3].reshape(-1, 3)
    colours = len(np.unique((rgb * 255).astype(np.uint8), axis=0))
    assert colours > 20, "the chart is (nearly) blank"
    assert rgb.std() > 0.05


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_chart_is_the_size_asked_and_not_blank(scenario, kind):
    report = analyze(parse(SCENARIOS[scenario]))
    image = pixels(getattr(charts, f"{kind}_chart")(report))
    assert image.shape[:2] == (500, 800)
    assert_drawn(image)


@pytest.mark.parametrize("kind", KINDS)
def test_other_sizes(kind):
    report = analyze(parse(SCENARIOS["staircase"]))
    image = pixels(getattr(charts, f"{kind}_chart")(report, width=400, height=300))
    assert image.shape[:2] == (300, 400)
    assert_drawn(image)


def test_breakeven_chart_marks_the_crossings_in_green():
    # Crossings where buying starts to pay are drawn as green dots; a scenario without any has none.
    def green(png):
        rgb = (pixels(png)[..., :3] * 255).astype(int)
        return int(
            ((abs(rgb[..., 0] - 0x2C) < 12) & (abs(rgb[..., 1] - 0xA0) < 12) & (abs(rgb[..., 2] - 0x2C) < 12)).sum()
        )

    assert green(charts.breakeven_chart(analyze(parse(SCENARIOS["staircase"])))) > 100
    assert green(charts.breakeven_chart(analyze(parse(SCENARIOS["rent_never_pays"])))) == 0


def test_audit_iceberg_chart():
    image = pixels(charts.audit_iceberg_chart(run_audit(AuditInput()), width=600, height=400))
    assert image.shape[:2] == (400, 600)
    assert_drawn(image)


def test_charts_render_from_worker_threads():
    reports = [analyze(parse(text)) for text in SCENARIOS.values()]
    jobs = [(kind, report) for kind in KINDS for report in reports]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pngs = list(pool.map(lambda job: getattr(charts, f"{job[0]}_chart")(job[1]), jobs))
    for png in pngs:
        assert pixels(png).shape[:2] == (500, 800)
    # The same chart drawn alone and drawn among others is the same picture.
    assert pngs[0] == charts.breakeven_chart(reports[0])
