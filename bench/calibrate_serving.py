"""Compare costcore.serving with every published reference row (costcore/data/serving_reference.json).

    python bench/calibrate_serving.py

Prints model vs published and their ratio for each row, and the spread. Used to choose the efficiency
constants in costcore/serving.py; tests/test_serving.py holds every fitted row within TOLERANCE.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costcore import serving  # noqa: E402


def fig(x: float) -> str:
    """A figure for the table: whole numbers from 100, three significant digits below (3.84 requests/s)."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def main() -> None:
    logs = []
    print(f"{'row':<52} {'kind':<22} {'published':>10} {'model':>10} {'ratio':>6}")
    rows = serving.reference_rows()
    for row in rows:
        if not row["in_fit"]:
            continue
        model = serving.modelled(row)
        ratio = model / row["value"]
        logs.append(math.log(ratio))
        print(f"{row['id']:<52} {row['kind']:<22} {fig(row['value']):>10} {fig(model):>10} {ratio:>6.2f}")
    mean = sum(logs) / len(logs)
    rms = math.sqrt(sum(x * x for x in logs) / len(logs))
    worst = math.exp(max(logs, key=abs))
    print(f"{len(logs)} fitted rows: mean ratio {math.exp(mean):.2f}, rms log error {rms:.2f}, worst {worst:.2f}x")
    print("\nnot fitted (shown for information):")
    for row in rows:
        if row["in_fit"]:
            continue
        if row["in_tokens"] is None:
            print(f"{row['id']:<52} {row['kind']:<22} {row['value']:>10,.2f}   (token lengths not published)")
            continue
        model = serving.modelled(row)
        ratio = model / row["value"]
        print(f"{row['id']:<52} {row['kind']:<22} {fig(row['value']):>10} {fig(model):>10} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
