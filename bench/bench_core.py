"""Benchmarks of the cost core. Prints each figure against its goal (PASS/MISS); asserts nothing.

    python bench/bench_core.py

(a) one analysis, warm; (b) a vectorised sweep of 100,000 scenarios; (c) each chart's render time
against a bare two-line matplotlib plot drawn in the same run; (d) the CLI's `analyze --json`
wall time from a cold process; (e) one call of costcore.serving.size, with and without a latency bound.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWEEP_GOAL_S = 0.2
SERVING_GOAL_US = 1000  # the analysis calls serving.size for each what-if too
CHART_GOAL_RATIO = 1.5
CLI_GOAL_S = 0.5
CHART_SCENARIOS = {
    "staircase": "volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0",
    "gpt-4o/a10g": "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g",
    "rent": "volume=10000 api=gpt-4o-mini",
    "per-token host": "volume=1M api=gpt-4o host_price=0.2",
}


def samples(fn, repeat: int, warm: int = 1) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(fn, repeat: int) -> float:
    return statistics.median(samples(fn, repeat))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def bare_plot(width: int = 800, height: int = 500, fast_png: bool = False) -> bytes:
    """The yardstick: two lines on default axes, saved as PNG the ordinary way."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = np.linspace(0, 10, 100)
    axes.plot(x, x)
    axes.plot(x, 10 - x)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, **({"pil_kwargs": {"compress_level": 1}} if fast_png else {}))
    return buffer.getvalue()


def bench_analyze() -> None:
    from costcore import analyze, parse

    text = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"
    took = median(lambda: analyze(parse(text)), repeat=21)
    print(f"(a) analyze(parse(...)), warm median of 21      {took * 1000:8.2f} ms")


def bench_sweep() -> None:
    from costcore import economics

    n = 100_000
    rng = np.random.default_rng(1)
    inputs = {
        "requests": rng.uniform(1e3, 1e9, n),
        "api_cost_per_request": rng.uniform(1e-5, 1e-2, n),
        "selfhost_variable_per_request": rng.uniform(0, 1e-4, n) * rng.integers(0, 2, n),
        "instance_monthly": rng.uniform(100, 5000, n),
        "requests_per_instance": np.where(rng.random(n) < 0.1, np.inf, rng.uniform(1e6, 1e8, n)),
        "ha": rng.integers(0, 2, n),
        "ops_monthly": rng.uniform(0, 2000, n),
        "one_time": rng.uniform(0, 1e5, n),
        "horizon": np.full(n, 12.0),
    }
    result = economics.sweep(**inputs)
    assert len(result["buy"]) == n
    took = median(lambda: economics.sweep(**inputs), repeat=7)
    print(
        f"(b) sweep of {n:,} scenarios, median of 7      {took * 1000:8.2f} ms   "
        f"goal < {SWEEP_GOAL_S * 1000:.0f} ms       {verdict(took < SWEEP_GOAL_S)}"
    )


def bench_charts() -> None:
    from costcore import analyze, charts, parse

    reports = {name: analyze(parse(text)) for name, text in CHART_SCENARIOS.items()}
    kinds = ("breakeven", "cumulative", "iceberg", "tornado")
    # The yardstick is timed before and after the charts, and its median taken over both, so a
    # machine that speeds up or slows down during the run does not favour either side.
    bare = samples(bare_plot, repeat=5)
    timings = {}
    for kind in kinds:
        draw = getattr(charts, f"{kind}_chart")
        timings[kind] = {
            name: statistics.median(samples(lambda draw=draw, r=r: draw(r), repeat=5)) for name, r in reports.items()
        }
    # The audit's iceberg and the weekly spend chart take their own inputs, one each.
    from costcore.audit import AuditInput, run_audit
    from costcore.spend_chart import weekly_chart

    others = {"audit_iceberg": (charts.audit_iceberg_chart, run_audit(AuditInput())), "weekly": (weekly_chart, _week())}
    for kind, (draw, data) in others.items():
        timings[kind] = {"default": statistics.median(samples(lambda draw=draw, data=data: draw(data), repeat=5))}
    kinds += tuple(others)
    bare = statistics.median(bare + samples(bare_plot, repeat=5))
    bare_fast = median(lambda: bare_plot(fast_png=True), repeat=5)
    print(f"(c) bare two-line plot 800x500, default PNG     {bare * 1000:8.1f} ms   (the yardstick)")
    print(f"    same, at the charts' zlib level 1           {bare_fast * 1000:8.1f} ms   (for comparison only)")
    for kind in kinds:
        worst_name, worst = max(timings[kind].items(), key=lambda item: item[1])
        ratio = worst / bare
        print(
            f"    {kind + '_chart':<19} slowest of {len(timings[kind])} input(s) {worst * 1000:7.1f} ms   "
            f"{ratio:4.2f}x bare, goal <= {CHART_GOAL_RATIO}x   {verdict(ratio <= CHART_GOAL_RATIO)}"
            f"   ({worst_name}; {worst / bare_fast:4.2f}x the level-1 bare)"
        )


def _week():
    """A week of spend from three providers, with the self-hosted line of an analysis."""
    import datetime as dt

    from costcore.spend import SpendRow, summarise

    monday = dt.date(2026, 11, 16)
    rows = [
        SpendRow(day=monday + dt.timedelta(days=d), provider=p, model="m", cost=100 + 40 * d + 30 * i, requests=5000)
        for d in range(7)
        for i, p in enumerate(("openai", "anthropic", "google"))
    ]
    from costcore import analyze, parse

    report = analyze(parse("volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g")).model_dump(mode="json")
    return summarise(rows, dt.datetime(2026, 11, 24, 9), analyses=[{"id": 1, "report": report}])


def bench_cli() -> None:
    command = [sys.executable, "-m", "breakeven", "analyze", "volume=2M/month", "api=gpt-4o", "--json"]
    if not (ROOT / "breakeven" / "cli.py").exists():
        print("(d) CLI analyze --json: breakeven/cli.py not there yet, skipped")
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = 7
    walls = []
    for _ in range(runs + 1):  # the first run warms the OS file cache and .pyc files; not counted
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
        walls.append(time.perf_counter() - start)
        if result.returncode != 0:
            print(f"(d) CLI analyze --json failed ({result.returncode}): {result.stderr.strip()[-300:]}")
            return
    took = statistics.median(walls[1:])
    print(
        f"(d) CLI analyze --json, wall median of {runs}      {took * 1000:8.0f} ms   "
        f"goal < {CLI_GOAL_S * 1000:.0f} ms       {verdict(took < CLI_GOAL_S)}"
    )


def bench_serving() -> None:
    from costcore import serving

    def plain():
        serving.size("llama-3.1-8b", "a10g", in_tokens=1500, out_tokens=200, peak_qps=20)

    def bounded():
        serving.size("llama-3.1-8b", "h100", in_tokens=1500, out_tokens=200, peak_qps=20, latency_ms=2000)

    for label, fn in (("size(...)", plain), ("size(..., latency_ms=2000)", bounded)):
        took = statistics.median(samples(fn, repeat=2001, warm=50)) * 1e6
        print(
            f"(e) serving.{label:<28} {took:8.1f} us a call   goal < {SERVING_GOAL_US} us      "
            f"{verdict(took < SERVING_GOAL_US)}"
        )


def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    bench_analyze()
    bench_sweep()
    bench_charts()
    bench_cli()
    bench_serving()


if __name__ == "__main__":
    main()
