"""Human formatting of money, volumes and durations, shared by the CLI and the bot."""

from __future__ import annotations


def money(amount: float | None) -> str:
    """$24,400 for large sums, cents below $1,000, enough digits for per-request prices."""
    if amount is None:
        return "n/a"
    sign = "-" if amount < 0 else ""
    value = abs(amount)
    if value >= 1000:
        text = f"{value:,.0f}"
    elif value >= 1 or value == 0:
        text = f"{value:,.2f}"
    else:
        text = f"{value:.6f}".rstrip("0")
        if len(text.split(".")[1]) < 2:
            text = f"{value:.2f}"
    return f"{sign}${text}"


def count(value: float | None) -> str:
    """1.5M, 50k, 730."""
    if value is None:
        return "n/a"
    value = float(value)
    if abs(value) >= 1e15:
        return f"{value:.3g}"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            text = f"{value / size:.3g}"
            return f"{text}{suffix}"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def months(value: float | None) -> str:
    if value is None:
        return "never"
    if value < 1:
        days = value * 365 / 12
        return f"{value:.2f} months (about {days:.0f} days)"
    return f"{value:.1f} months"


def percent(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    return f"{ratio * 100:,.0f}%"


def instances(n: int, gpus: int | None = None, gpu: str | None = None) -> str:
    """A count of serving instances, with the GPUs each splits the model over where that is more than the
    fewest that hold it (the fleet's cheaper split at that volume): '3 instance(s) of 2 x NVIDIA A10G'."""
    return f"{n} instance(s)" + (f" of {gpus} x {gpu or 'GPU'}" if gpus else "")


def instances_cell(n: int, gpus: int | None = None) -> str:
    """The same count in a table cell: '3', or '3x2' for 3 instances of 2 GPUs each (see instances_key)."""
    return f"{n}x{gpus}" if gpus else f"{n}"


def instances_key(gpu: str | None) -> str:
    """What an 'inst.' cell of the form NxG means, said under the table that has one."""
    return f"inst. NxG: N instances of G x {gpu or 'GPU'} each, where the model is split over more GPUs than the fewest"
