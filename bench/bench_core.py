"""Benchmarks of the cost core. Prints figures against the goals; it asserts nothing.

python bench/bench_core.py
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time

import numpy as np


def timed(fn, repeat=7):
    fn()  # warm
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def bare_plot(width=800, height=500) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = np.linspace(0, 10, 100)
    axes.plot(x, x)
    axes.plot(x, 10 - x)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def main() -> None:
    from costcore import analyze, charts, economics, parse

    text = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"
    one = timed(lambda: analyze(parse(text)), repeat=21)
    print(f"analyze(parse(...)), warm median          {one * 1000:8.2f} ms")

    n = 100_000
    rng = np.random.default_rng(1)
    inputs = dict(
        requests=rng.uniform(1e3, 1e9, n),
        api_cost_per_request=rng.uniform(1e-5, 1e-2, n),
        selfhost_variable_per_request=np.zeros(n),
        instance_monthly=rng.uniform(100, 5000, n),
        requests_per_instance=rng.uniform(1e6, 1e8, n),
        ha=rng.integers(0, 2, n),
        ops_monthly=rng.uniform(0, 2000, n),
        one_time=rng.uniform(0, 1e5, n),
        horizon=np.full(n, 12.0),
    )
    sweep = timed(lambda: economics.sweep(**inputs), repeat=7)
    print(f"sweep of {n:,} scenarios                    {sweep * 1000:8.2f} ms  goal < 200 ms  {verdict(sweep < 0.2)}")

    report = analyze(parse("volume=5M api_per_1k=0.20 server=400 capacity=1qps train=20 setup=1000 maint_h=0"))
    bare = timed(bare_plot, repeat=5)
    print(f"bare two-line plot 800x500                  {bare * 1000:8.1f} ms")
    for kind in ("breakeven", "cumulative", "iceberg", "tornado"):
        draw = getattr(charts, f"{kind}_chart")
        took = timed(lambda draw=draw: draw(report), repeat=5)
        ratio = took / bare
        print(
            f"{kind + '_chart':<28}                {took * 1000:8.1f} ms  {ratio:4.2f}x bare, goal <= 1.5x  "
            f"{verdict(ratio <= 1.5)}"
        )

    command = [sys.executable, "-m", "costcore.cli", "analyze", "volume=2M/month", "api=gpt-4o", "--json"]
    starts = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        starts.append(time.perf_counter() - start)
    start_up = statistics.median(starts)
    print(
        f"CLI analyze --json, wall median of 5        {start_up * 1000:8.0f} ms  goal < 500 ms  "
        f"{verdict(start_up < 0.5)}"
    )


if __name__ == "__main__":
    main()
