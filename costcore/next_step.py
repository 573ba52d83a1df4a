"""The one concrete action a verdict ends with: the next low-risk step on the path from renting to buying.

far from break-even   keep renting, import the real spend, and look again at a stated volume (or: it never
                      pays, the volume is shrinking away from it, or self-hosting is ruled out)
near break-even       within a factor of 2 of the volume where buying (next) starts paying, past it while the
                      one-time cost decides, or crossed within the growth horizon: a parallel test on a small
                      share of traffic, measured side by side
buying pays           the hidden-cost audit first, then 5-10 training runs against an evaluation set

Which of these applies is read from where the volume stands (costcore/standing.py), never worked out again.
"""

from __future__ import annotations

import math

from .format import count, money, months
from .scenario import ConstraintCheck, Growth, NextStep, Standing, volume_unit

NEAR = 2.0  # within this factor of the break-even volume counts as near
TEST_SHARE = 0.05  # a parallel test's share of traffic
PLANNED_RUNS = (5, 10)


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
    standing: Standing,
    payback: float | None,
    growth: Growth | None,
    horizon: float,
    selfhost_ruled_out: list[ConstraintCheck],
    one_time: float,
    runs: int | None,
    eval_h: float,
    analysis_text: str,
) -> NextStep:
    """The action the verdict ends with, read from where the volume stands (costcore/standing.py) so that it
    never contradicts the sign of today's savings or the direction of growth."""
    by_hand = baseline == "manual"
    unit = volume_unit(baseline)
    quoted = f'"{analysis_text}"' if analysis_text else '"..."'
    where = standing.where

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
            standing=where,
            action=(
                f"{audit}: it prices the {money(one_time)} one-time cost line by line and flags the usual traps. "
                f"Then {plan}, and {evaluation}."
            ),
            commands=[f"breakeven audit --analysis {quoted}", "Slack: the Hidden-cost audit button on this reply"],
        )

    keep = "Keep doing it by hand" if by_hand else "Keep renting"
    track = "" if by_hand else " Import your API spend so the weekly summary tracks the real bill and volume."
    commands = [] if by_hand else ["breakeven spend import FILE.csv", "Slack: /breakeven spend add"]

    def far(action: str, revisit: float | None = None) -> NextStep:
        return NextStep(
            situation="far", standing=where, action=action, commands=commands, revisit_requests_per_month=revisit
        )

    if selfhost_ruled_out:
        names = ", ".join(sorted({c.name for c in selfhost_ruled_out}))
        return far(f"{keep}: self-hosting is ruled out ({names}).{track} Revisit if that constraint changes.")

    shrinking = standing.growth is not None and standing.growth < 0
    if where == "never":
        if standing.breakeven is None:
            revisit = "Revisit if the price changes or the data must stay in-house (privacy=yes)."
            return far(f"{keep}: {_lower(standing.sentence)}{track} {revisit}")
        at = standing.breakeven / NEAR  # growing, but not within the horizon: look again on the way
        when = _month_reaching(growth, standing.requests_per_month, at)
        month = f" (month {when} at this growth)" if when else ""
        return far(
            f"{keep}: {_lower(standing.sentence)}{track} Revisit at {count(at)} {unit} a month{month}, half the "
            "break-even.",
            at,
        )
    if where == "moving_away":
        return far(
            f"{keep}: {_lower(standing.sentence)} A parallel test would measure a volume you are leaving.{track} "
            "Revisit if the volume turns and grows."
        )
    if where == "past":
        back = (
            f"it pays back in {months(payback)}, beyond the {horizon:g}-month horizon"
            if payback is not None
            else "it never earns its one-time cost back"
        )
        if shrinking:
            return far(
                f"{keep}: buying saves money at today's volume, but {back}, and the volume is shrinking "
                f"{abs(standing.growth) * 100:.3g}% a month.{track} Revisit if the volume turns and grows."
            )
        return _parallel_test(
            f"You are past the break-even ({count(standing.breakeven)} {unit} a month) but the one-time cost "
            f"decides: {back}",
            standing,
            unit,
            by_hand,
            analysis_text,
        )

    # below or between: buying does not pay today; the volume where it (next) starts paying decides.
    if shrinking:  # the path reaches a band where buying paid, below today: no test on a volume in decline
        return far(
            f"{keep}: {_lower(standing.sentence)} At this decline the volume reaches it in month "
            f"{standing.first_paying_month}, but it does not earn the one-time cost back there.{track} Revisit "
            "if the volume turns and grows."
        )
    target = standing.breakeven if where == "below" else standing.pays_again_from
    what = "the break-even" if where == "below" else "the next crossing, where buying pays again"
    crosses = growth is not None and growth.rate_per_month > 0 and standing.first_paying_month is not None
    if target is None:
        return far(f"{keep}: {_lower(standing.sentence)}{track} Revisit if the prices change.")
    if requests_near(standing.requests_per_month, target) or (crosses and standing.first_paying_month <= horizon):
        if requests_near(standing.requests_per_month, target):
            at = f"You are within a factor of {NEAR:g} of {what} ({count(target)} {unit} a month)"
        else:
            at = f"At this growth buying starts paying in month {standing.first_paying_month}"
        return _parallel_test(at, standing, unit, by_hand, analysis_text)
    revisit = target / NEAR
    when = _month_reaching(growth, standing.requests_per_month, revisit)
    at = f" (month {when} at this growth)" if when else ""
    if where == "between":
        return far(
            f"{keep}: {_lower(standing.sentence)}{track} Revisit at {count(revisit)} {unit} a month{at}, half the "
            "volume where it pays again.",
            revisit,
        )
    return far(
        f"{keep}: you are at {count(standing.requests_per_month)} {unit} a month, far below the {count(target)} "
        f"break-even.{track} Revisit at {count(revisit)} {unit} a month{at}, half the break-even.",
        revisit,
    )


def requests_near(requests: float, target: float) -> bool:
    return requests * NEAR >= target


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _parallel_test(where: str, standing: Standing, unit: str, by_hand: bool, analysis_text: str) -> NextStep:
    share = count(standing.requests_per_month * TEST_SHARE)
    against = "the people doing the task today" if by_hand else "the API"
    return NextStep(
        situation="near",
        standing=standing.where,
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
