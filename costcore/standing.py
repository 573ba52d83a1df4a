"""Where today's volume stands against the break-even: the one reading every sentence of a report uses.

    below        under the first crossing: buying starts paying at the break-even, above today
    between      buying paid in a band below today (from one crossing up to the next instance), not at today's
                 volume, and pays again from the next crossing above (or, where none, never again)
    past         buying pays at today's volume (it may stop again at a higher volume, where one more
                 instance costs more than it saves)
    moving_away  buying does not pay today and the volume is shrinking, and on its path never reaches a
                 volume where buying pays
    never        no volume makes buying pay at these prices; or, with the volume growing, the path does not
                 reach a paying volume within the horizon

With growth, the month-by-month path says whether (and in which month) a paying volume is reached, in
either direction: a shrinking volume can fall into a band below today where buying paid.

The headline, the reasons, the next step and the Slack message read the `Standing` from here, so a report
never says "past the break-even" where buying loses money today, nor proposes a test on a shrinking volume.
"""

from __future__ import annotations

import math

from . import economics
from .format import count
from .scenario import CostModel, Crossing, Growth, Standing, volume_unit

FAR_ENOUGH = 1e15  # requests a month: where the search for a crossing above today stops


def _first_above(crossings: list[Crossing], requests: float, direction: str) -> float | None:
    return next(
        (c.requests_per_month for c in crossings if c.direction == direction and c.requests_per_month > requests),
        None,
    )


def standing(
    model: CostModel,
    requests: float,
    savings: float,
    crossings: list[Crossing],
    breakeven: float | None,
    never_because: str,
    baseline: str,
    *,
    growth: Growth | None = None,
    horizon: float = 12.0,
) -> Standing:
    unit = volume_unit(baseline)
    rate = growth.rate_per_month if growth is not None else None
    month = growth.first_paying_month if growth is not None else None
    common = {"requests_per_month": requests, "breakeven": breakeven, "growth": rate, "first_paying_month": month}

    if savings > 0:
        stops = _first_above(crossings, requests, "buy_stops_paying")
        if stops is not None:
            tail = f", until {count(stops)} {unit} a month, where one more instance costs more than it saves"
        else:
            tail = ""
        shrinking = ""
        if rate is not None and rate < 0 and breakeven is not None:
            shrinking = f"; the volume is shrinking {abs(rate) * 100:.3g}% a month toward the break-even"
        return Standing(
            where="past",
            stops_at=stops,
            sentence=f"Buying pays at today's {count(requests)} {unit} a month (break-even "
            f"{count(breakeven)}){tail}{shrinking}."
            if breakeven is not None
            else f"Buying pays at today's {count(requests)} {unit} a month{tail}{shrinking}.",
            **common,
        )

    if breakeven is None:
        return Standing(
            where="never",
            sentence=f"Buying never breaks even at these prices ({never_because}).",
            **common,
        )

    again = _first_above(crossings, requests, "buy_starts_paying")
    if again is None and any(c.direction == "buy_starts_paying" for c in crossings):
        found, _ = economics.crossings(model, FAR_ENOUGH)
        again = _first_above(found, requests, "buy_starts_paying")
    below_today = [c for c in crossings if c.requests_per_month < requests]
    paid = [c.requests_per_month for c in below_today if c.direction == "buy_starts_paying"]
    if paid:
        paid_from = paid[-1]
        paid_until = next(
            (
                c.requests_per_month
                for c in below_today
                if c.direction == "buy_stops_paying" and c.requests_per_month > paid_from
            ),
            requests,
        )
        where, sentence = (
            "between",
            (
                f"Buying paid between {count(paid_from)} and {count(paid_until)} {unit} a month, but not at today's "
                f"{count(requests)}: there one more instance costs more than it saves"
            ),
        )
        sentence += (
            f"; it pays again from {count(again)} {unit} a month."
            if again is not None
            else ", and it never pays again."
        )
    else:
        paid_from = paid_until = None
        at = "exactly at" if math.isclose(breakeven, requests, rel_tol=1e-9) else "below"
        where, sentence = (
            "below",
            f"Today's {count(requests)} {unit} a month is {at} the break-even of {count(breakeven)} {unit} a month.",
        )

    if rate is not None and rate < 0 and month is None:
        return Standing(
            where="moving_away",
            paid_from=paid_from,
            paid_until=paid_until,
            pays_again_from=again,
            sentence=f"{sentence[:-1]}, and the volume is shrinking {abs(rate) * 100:.3g}% a month, away from where "
            "buying pays.",
            **common,
        )
    if rate is not None and rate >= 0 and (month is None or month > horizon):
        reach = f"only in month {month}" if month is not None else "not within 120 months"
        return Standing(
            where="never",
            paid_from=paid_from,
            paid_until=paid_until,
            pays_again_from=again,
            sentence=f"{sentence[:-1]}; at this growth buying starts paying {reach}, beyond the {horizon:g}-month "
            "horizon.",
            **common,
        )
    return Standing(
        where=where,
        paid_from=paid_from,
        paid_until=paid_until,
        pays_again_from=again,
        sentence=sentence,
        **common,
    )
