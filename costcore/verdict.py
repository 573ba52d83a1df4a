"""Rent, buy or hybrid: from the comparison and the constraints only. Hard constraints (privacy,
latency, the kind of task) beat cost; cost decides among the options that meet them."""

from __future__ import annotations

from dataclasses import dataclass

from . import growth as growth_path
from .compare import Comparison
from .constraints import missed
from .format import count, money, months
from .scenario import ConstraintCheck, Growth, Standing, volume_unit

NAMES = {"api": "the API", "selfhost": "self-hosting", "manual": "doing it by hand"}
WHAT_HELPS = {
    "latency": "shorter answers (out=), streaming so that the first token is what counts, a smaller model "
    "or a faster GPU would",
}


@dataclass(frozen=True)
class Decision:
    verdict: str  # RENT, BUY or HYBRID
    recommended: str  # api, selfhost, manual or split
    reasons: list[str]
    headline: str


def cost_verdict(savings: float, payback: float | None, horizon: float) -> str:
    """Buying pays when it saves money every month and earns its one-time cost back within the horizon."""
    return "BUY" if savings > 0 and payback is not None and payback <= horizon else "RENT"


def cost_reason(comparison: Comparison, horizon: float) -> str:
    against = NAMES[comparison.baseline]
    savings, payback = comparison.savings, comparison.payback
    if savings <= 0:
        return f"On cost, {against} is cheaper by {money(-savings)} a month."
    if payback is None or payback > horizon:
        return (
            f"Buying saves {money(savings)} a month against {against} but pays back in {months(payback)}, "
            f"beyond the {horizon:g}-month horizon."
        )
    return f"Buying saves {money(savings)} a month against {against} and pays back in {months(payback)}."


def growing(rate: float) -> str:
    """'growing 10% a month', 'shrinking 5% a month', 'flat'."""
    if rate == 0:
        return "flat"
    return f"{'growing' if rate > 0 else 'shrinking'} {abs(rate) * 100:.3g}% a month"


def growth_reason(comparison: Comparison, g: Growth, horizon: float) -> str:
    """The cost reason on the growth path: when buying starts paying and when it has paid back."""
    against = NAMES[comparison.baseline]
    volume = f"volume {growing(g.rate_per_month)}"
    first, paid = g.first_paying_month, g.payback_month
    if growth_path.verdict(g.payback_months, horizon) == "BUY":
        starts = "saves money from month 1" if first == 1 else f"starts paying in month {first}"
        return (
            f"With {volume}, buying {starts} against {against} and earns its one-time cost back in month {paid} "
            f"({months(g.payback_months)}), within the {horizon:g}-month horizon."
        )
    if first is not None and first <= horizon:
        back = (
            f"earns its one-time cost back only in month {paid}, beyond the {horizon:g}-month horizon"
            if paid is not None
            else "does not earn its one-time cost back even within 120 months"
        )
        return f"With {volume}, buying starts paying against {against} in month {first} but {back}."
    later = f"; buying would start paying in month {first}" if first is not None else ""
    even = "Even with" if g.rate_per_month > 0 else "With"
    return f"{even} {volume}, {against} stays cheaper every month of the {horizon:g}-month horizon{later}."


def _ruled_out(check: ConstraintCheck) -> str:
    who = NAMES[check.option]
    if check.name == "privacy":
        return f"Data may not leave the company: {who} is ruled out ({check.detail})."
    if check.name == "latency":
        return f"The latency bound rules out {who}: {check.detail}."
    return f"{check.detail[0].upper()}{check.detail[1:]}: {who} is ruled out for it."


def decide(
    comparison: Comparison,
    checks: list[ConstraintCheck],
    horizon: float,
    task: str | None,
    growth: Growth | None = None,
    standing: Standing | None = None,
) -> Decision:
    """With growth, cost is judged on the month-by-month path (payback within the horizon), not on today.
    `standing` (where the volume stands) words the break-even in the headline and adds its sentence to the
    reasons where today's volume is not past it; what-ifs decide on cost alone and leave it out."""
    if growth is None:
        cost = cost_verdict(comparison.savings, comparison.payback, horizon)
        because = cost_reason(comparison, horizon)
    else:
        cost = growth_path.verdict(growth.payback_months, horizon)
        because = growth_reason(comparison, growth, horizon)
    # Where the volume stands, said once: the growth reason already walks the path month by month.
    if standing is not None and (
        standing.where in ("between", "moving_away") or (growth is None and standing.where != "past")
    ):
        because = f"{because} {standing.sentence}"
    selfhost_out = missed(checks, "selfhost")
    others = [o for o in comparison.options if o.option != "selfhost"]
    others_out = [c for o in others for c in missed(checks, o.option)]
    others_ok = [o for o in others if o.meets_constraints]
    baseline = comparison.baseline

    if selfhost_out and not others_ok:
        kinds = {c.name for c in selfhost_out} | {c.name for c in others_out}
        if "task" in {c.name for c in selfhost_out} and "privacy" in {c.name for c in others_out}:
            reasons = [
                "Split the work: self-host an open model for the sensitive narrow part, and route the varied work "
                "to an API under a data agreement, or self-host a larger open model.",
                *(_ruled_out(c) for c in others_out + selfhost_out),
                because,
            ]
            return Decision(
                "HYBRID",
                "split",
                reasons,
                _headline("HYBRID", comparison, horizon, reasons, growth=growth, standing=standing),
            )
        helps = "; ".join(WHAT_HELPS[k] for k in sorted(kinds) if k in WHAT_HELPS)
        first = "No option meets every hard constraint" + (f": {helps}." if helps else ".")
        reasons = [first, *(_ruled_out(c) for c in others_out + selfhost_out), because]
        recommended = "selfhost" if cost == "BUY" else baseline
        return Decision(
            cost, recommended, reasons, _headline(cost, comparison, horizon, reasons, growth=growth, standing=standing)
        )
    if selfhost_out:
        reasons = [*(_ruled_out(c) for c in selfhost_out), because]
        if "latency" in {c.name for c in selfhost_out}:
            reasons.insert(1, f"For self-hosting to meet it, {WHAT_HELPS['latency']}.")
        return Decision(
            "RENT",
            baseline,
            reasons,
            _headline("RENT", comparison, horizon, reasons, constrained=True, growth=growth, standing=standing),
        )
    if not others_ok:
        reasons = [*(_ruled_out(c) for c in others_out), because]
        return Decision(
            "BUY", "selfhost", reasons, _headline("BUY", comparison, horizon, reasons, growth=growth, standing=standing)
        )
    if task == "mixed" and cost == "BUY":
        reasons = [
            "The task is mixed: fine-tune a small model for the narrow, high-volume part and keep a frontier API "
            "for the hard, varied rest (the barbell).",
            because,
        ]
        return Decision(
            "HYBRID",
            "split",
            reasons,
            _headline("HYBRID", comparison, horizon, reasons, growth=growth, standing=standing),
        )
    reasons = [*(_ruled_out(c) for c in others_out), because]
    recommended = "selfhost" if cost == "BUY" else baseline
    return Decision(
        cost, recommended, reasons, _headline(cost, comparison, horizon, reasons, growth=growth, standing=standing)
    )


def _headline(
    verdict: str,
    c: Comparison,
    horizon: float,
    reasons: list[str],
    constrained: bool = False,
    growth: Growth | None = None,
    standing: Standing | None = None,
) -> str:
    by_hand = c.baseline == "manual"
    adjusted = " (failures priced in)" if c.failure is not None else ""
    against = " against doing it by hand" if by_hand else ""
    unit = volume_unit(c.baseline)
    where = standing.where if standing is not None else None
    if where == "between":
        again = (
            f"pays again from {count(standing.pays_again_from)}"
            if standing.pays_again_from is not None
            else "never pays again"
        )
        be_text = (
            f"buying paid between {count(standing.paid_from)} and {count(standing.paid_until)} {unit} a month, "
            f"not at today's volume, and {again}"
        )
    elif where == "moving_away" and c.breakeven is not None:
        be_text = f"break-even at {count(c.breakeven)} {unit} a month, and the volume is shrinking away from it"
    elif c.breakeven is not None:
        be_text = f"break-even at {count(c.breakeven)} {unit} a month"
    elif by_hand:
        be_text = f"the model never beats doing it by hand on cost ({c.never_pays_because})"
    else:
        be_text = f"buying never breaks even on cost ({c.never_pays_because})"
    savings, payback = c.savings, c.payback
    if growth is not None and not constrained and verdict in ("BUY", "RENT"):
        on_path = _growth_headline(verdict, c, horizon, growth, against + adjusted, be_text)
        if on_path:
            return on_path
    if verdict == "BUY":
        if savings > 0:
            return (
                f"Buy: self-hosting saves {money(savings)} a month{against}{adjusted}; "
                f"pays back in {months(payback)}; {be_text}"
            )
        return f"Buy: {reasons[0]} Self-hosting costs {money(-savings)} a month more{against}{adjusted}."
    if verdict == "RENT":
        prefix = "Keep doing it by hand" if by_hand else "Rent"
        if constrained:
            on_cost = (
                f"Self-hosting would save {money(savings)} a month{adjusted}."
                if savings > 0
                else f"It is also cheaper by {money(-savings)} a month{adjusted}."
            )
            return f"{prefix}: {reasons[0]} {on_cost}"
        if savings > 0:
            return (
                f"{prefix}: buying saves {money(savings)} a month{against}{adjusted} but pays back in "
                f"{months(payback)}; {be_text}"
            )
        if by_hand:
            return f"{prefix}: it is cheaper than self-hosting by {money(-savings)} a month{adjusted}; {be_text}"
        return f"{prefix}: the API is cheaper by {money(-savings)} a month{adjusted}; {be_text}"
    return f"Hybrid: {reasons[0]}"


def _growth_headline(verdict: str, c: Comparison, horizon: float, g: Growth, against: str, be_text: str) -> str:
    """The headline when volume grows: the month buying pays back, and where it stands today."""
    volume = f"volume {growing(g.rate_per_month)}"
    today = (
        f"today it saves {money(c.savings)} a month"
        if c.savings > 0
        else f"today it costs {money(-c.savings)} a month more"
    )
    if verdict == "BUY" and growth_path.verdict(g.payback_months, horizon) == "BUY":
        return f"Buy: with {volume}, self-hosting pays back in month {g.payback_month}{against}; {today}; {be_text}"
    if verdict == "RENT":
        prefix = "Keep doing it by hand" if c.baseline == "manual" else "Rent"
        if g.payback_month is not None:
            late = f"pays back only in month {g.payback_month}, beyond the {horizon:g}-month horizon"
        elif g.first_paying_month is not None:
            late = f"starts paying in month {g.first_paying_month} but does not pay back within 120 months"
        else:
            late = "never starts paying within 120 months"
        return f"{prefix}: with {volume}, buying {late}{against}; {be_text}"
    return ""
