"""The one concrete action a verdict ends with: the next low-risk step on the path from renting to buying.

far from break-even   keep renting, import the real spend, and look again at a stated volume
near break-even       (within a factor of 2 of it, beyond it, or crossed within the growth horizon)
                      a parallel test on a small share of traffic, measured side by side
buying pays           the hidden-cost audit first, then 5-10 training runs against an evaluation set
"""

from __future__ import annotations

import math

from .format import count, money
from .scenario import ConstraintCheck, Growth, NextStep, volume_unit

NEAR = 2.0  # within this factor of the break-even volume counts as near
TEST_SHARE = 0.05  # a parallel test's share of traffic
PLANNED_RUNS = (5, 10)


def _crosses(growth: Growth | None, horizon: float) -> bool:
    return growth is not None and growth.first_paying_month is not None and growth.first_paying_month <= horizon


def _month_reaching(growth: Growth | None, today: float, wanted: float) -> int | None:
    """The month the growth path first reaches `wanted` a month (within 120 months and its cap)."""
    if growth is None or growth.rate_per_month <= 0 or today <= 0 or wanted > growth.cap_requests_per_month:
        return None
    if wanted <= today:
        return 1
    # In logs: wanted / today overflows to infinity for a volume as small as 5e-324 a month.
    months = (math.log(wanted) - math.log(today)) / math.log1p(growth.rate_per_month)
    if months > 120:
        return None
    month = 1 + max(0, math.ceil(months - 1e-12))
    return month if month <= 120 else None


def next_step(
    *,
    verdict: str,
    baseline: str,
    requests: float,
    breakeven: float | None,
    growth: Growth | None,
    never_because: str = "",
    horizon: float,
    selfhost_ruled_out: list[ConstraintCheck],
    one_time: float,
    runs: int | None,
    eval_h: float,
    analysis_text: str,
) -> NextStep:
    by_hand = baseline == "manual"
    unit = volume_unit(baseline)
    quoted = f'"{analysis_text}"' if analysis_text else '"..."'

    if verdict in ("BUY", "HYBRID"):
        audit = "run the hidden-cost audit before committing"
        audit = f"For the narrow part you would self-host, {audit}" if verdict == "HYBRID" else audit.capitalize()
        if runs is None:
            plan = f"plan {PLANNED_RUNS[0]}-{PLANNED_RUNS[1]} training runs (first attempts rarely work)"
        elif runs < PLANNED_RUNS[0]:
            plan = f"plan {PLANNED_RUNS[0]}-{PLANNED_RUNS[1]} training runs, not {runs} (first attempts rarely work)"
        else:
            plan = f"keep the {runs} training runs planned"
        evaluation = (
            f"build the evaluation set before the first run ({eval_h:g} h budgeted for evaluation)"
            if eval_h
            else "build an evaluation set before the first run (no evaluation hours are budgeted yet: eval_h=)"
        )
        return NextStep(
            situation="buy",
            action=(
                f"{audit}: it prices the {money(one_time)} one-time cost line by line and flags the usual traps. "
                f"Then {plan}, and {evaluation}."
            ),
            commands=[f"breakeven audit --analysis {quoted}", "Slack: the Hidden-cost audit button on this reply"],
        )

    near = not selfhost_ruled_out and (
        (breakeven is not None and requests * NEAR >= breakeven) or _crosses(growth, horizon)
    )
    if near:
        share = count(requests * TEST_SHARE)
        if breakeven is not None and requests >= breakeven:
            where = f"You are past the break-even ({count(breakeven)} {unit} a month) but the one-time cost decides"
        elif breakeven is not None and requests * NEAR >= breakeven:
            where = f"You are within a factor of {NEAR:g} of the break-even ({count(breakeven)} {unit} a month)"
        else:
            where = f"At this growth buying starts paying in month {growth.first_paying_month}"
        against = "the people doing the task today" if by_hand else "the API"
        return NextStep(
            situation="near",
            action=(
                f"{where}: run a parallel test. Send {TEST_SHARE:.0%} of traffic ({share} {unit} a month) to a "
                f"fine-tuned candidate beside {against} for two to four weeks; compare answers on your evaluation "
                "set, latency and failure rates, then re-run this analysis with the measured figures."
            ),
            commands=[
                "breakeven measure --api MODEL --endpoint URL --model NAME --save NAME",
                f"breakeven analyze {analysis_text or '...'} measured=NAME",
                "Slack: /breakeven measure NAME",
            ],
            test_share=TEST_SHARE,
        )

    keep = "Keep doing it by hand" if by_hand else "Keep renting"
    track = "" if by_hand else " Import your API spend so the weekly summary tracks the real bill and volume."
    commands = [] if by_hand else ["breakeven spend import FILE.csv", "Slack: /breakeven spend add"]
    if selfhost_ruled_out:
        names = ", ".join(sorted({c.name for c in selfhost_ruled_out}))
        return NextStep(
            situation="far",
            action=f"{keep}: self-hosting is ruled out ({names}).{track} Revisit if that constraint changes.",
            commands=commands,
        )
    if breakeven is None:
        why = never_because or ("doing it by hand is cheaper per task" if by_hand else "the API is cheaper per request")
        return NextStep(
            situation="far",
            action=(
                f"{keep}: buying never breaks even at these prices ({why}).{track} "
                "Revisit if the price changes or the data must stay in-house (privacy=yes)."
            ),
            commands=commands,
        )
    revisit = breakeven / NEAR
    when = _month_reaching(growth, requests, revisit)
    at = f" (month {when} at this growth)" if when else ""
    return NextStep(
        situation="far",
        action=(
            f"{keep}: you are at {count(requests)} {unit} a month, far below the {count(breakeven)} break-even."
            f"{track} Revisit at {count(revisit)} {unit} a month{at}, half the break-even."
        ),
        commands=commands,
        revisit_requests_per_month=revisit,
    )
