"""The one-time cost of buying: the hidden-cost lines (people's time is most of it, training
compute the visible tip) times the iteration multiplier, as a range whose middle is used.

The audit (costcore/audit.py) prices its finer lines through `realistic` too, so an audit and an
analysis with the same answers give the same one-time cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from .defaults import multiplier_for
from .format import money
from .ledger import Ledger
from .scenario import CostLine, Scenario


@dataclass(frozen=True)
class OneTime:
    lines: list[CostLine]  # the base lines, then the re-work line when the multiplier is not 1
    base: float
    multiplier: tuple[float, float, float]  # low, middle (used), high
    stated_total: bool  # the user gave setup=, their own total
    data_h: float
    eval_h: float
    infra_h: float
    runs: int | None  # None when setup= is the whole cost and no training runs are added

    @property
    def total(self) -> float:
        return self.base * self.multiplier[1]

    @property
    def range(self) -> tuple[float, float]:
        return self.base * self.multiplier[0], self.base * self.multiplier[2]


def realistic(base: float, complexity: str | None, iteration: float | None) -> tuple[float, float, float]:
    """The (low, middle, high) multiplier: an explicit iter= is exact, a complexity band is a range."""
    if iteration is not None:
        return iteration, iteration, iteration
    return multiplier_for(complexity or "medium")


def one_time_cost(s: Scenario, rate: float, ledger: Ledger) -> OneTime:
    stated = s.setup is not None
    adds_training = s.train is not None or s.runs is not None
    hours = {}
    for key in ("data_h", "eval_h", "infra_h"):
        given = getattr(s, key)
        hours[key] = given if given is not None else (0.0 if stated else ledger.default(key))

    runs: int | None
    given_hours = [f"{key}={hours[key]:g}" for key in ("data_h", "eval_h", "infra_h") if getattr(s, key) is not None]
    with_hours = f"the hours you gave ({', '.join(given_hours)}) at ${rate:,.0f}/h" if given_hours else ""
    if stated and not adds_training:
        train, runs = 0.0, None
        added = f"{with_hours} are added to it; no typical hours" if with_hours else "no typical hours"
        ledger.note(
            f"setup= is taken as your one-time total: {added} or training runs are added "
            "(give train= or runs= to add training runs to it)"
        )
    else:
        train = ledger.pick(s.train, "train")
        runs = ledger.pick(s.runs, "runs")
        if stated:
            hours_too = f" and {with_hours}" if with_hours else ""
            ledger.note(
                f"setup= plus {runs} training run(s) at {money(train)}{hours_too}: they are added to your total; "
                "no typical hours are added"
            )

    if s.complexity is not None or s.iter is not None:
        multiplier = realistic(0, s.complexity, s.iter)
    elif stated:
        multiplier = (1.0, 1.0, 1.0)
        ledger.note("setup= is your own figure: no re-work multiplier on it (give complexity= or iter= to apply one)")
    else:
        ledger.default("complexity")
        multiplier = realistic(0, "medium", None)

    lines = []
    if runs:
        lines.append(
            CostLine(
                name="Training compute", amount=train * runs, hidden=False, detail=f"{runs} run(s) x {money(train)}"
            )
        )
    for name, key in (("Data preparation", "data_h"), ("Evaluation", "eval_h"), ("Infrastructure set-up", "infra_h")):
        if hours[key]:
            lines.append(CostLine(name=name, amount=hours[key] * rate, detail=f"{hours[key]:g} h x ${rate:,.0f}/h"))
    if stated and s.setup:
        lines.append(CostLine(name="Set-up (your total)", amount=s.setup, detail="one-time total you gave"))
    base = sum(line.amount for line in lines)
    low, middle, high = multiplier
    if middle != 1 and base:
        spread = f" (range {low:g}-{high:g}x)" if low != high else ""
        lines.append(
            CostLine(
                name="Iteration (re-work)",
                amount=base * middle - base,
                detail=f"base {money(base)} x {middle:g}{spread}",
            )
        )
    return OneTime(lines, base, multiplier, stated, hours["data_h"], hours["eval_h"], hours["infra_h"], runs)
