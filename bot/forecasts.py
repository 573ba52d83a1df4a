"""The forecasts a channel reads (costcore/forecast.py on its team's spend): where the month ends, each
budget of the channel, and when each decision's API model, growing at its trend, reaches break-even.
In the weekly summary and in `/breakeven spend`."""

from __future__ import annotations

import datetime as dt

from costcore.forecast import crossing, daily_costs, growth, last_recorded, lookback, month_end, rows_of

from .budget import budgets, outlook
from .recheck import database, decisions, latest
from .spend import load_spend

SHOWN_CROSSINGS = 5


def forecast_lines(db, team: str, channel: str, today: dt.date, budget_day: dt.date | None = None) -> list[str]:
    """The lines, each with the figures it was computed from; [] when nothing is recorded. budget_day: the
    day the budgets' lines count to (DAILY_CHECK's timezone), when it is not `today`."""
    db = database(db)
    through = today - dt.timedelta(days=1)
    rows = load_spend(db, team, lookback(through))
    lines = []
    if rows:
        lines.append(f"• All LLM API spend: {month_end(daily_costs(rows), today).sentence()}")
    for budget in budgets(db, team, channel):
        lines.append(f"• Budget, {budget.what}: {outlook(db, budget, budget_day or today).sentence()}")
    shown = 0
    for analysis in reversed(decisions(db, team, channel)):  # the newest decisions first
        report = latest(db, analysis).report
        quote = report.get("api_price") or {}
        if quote.get("custom") or not quote.get("provider") or shown >= SHOWN_CROSSINGS:
            continue
        mine = rows_of(rows, f"{quote['provider']}:{quote['model']}")
        last = last_recorded(rows, through, of=mine)
        found = None if last is None else growth(mine, last)
        if found is None:
            continue
        lines.append(f"• Decision {crossing(analysis['id'], found, report, last).sentence()}")
        shown += 1
    return lines


def forecast_section(db, team: str, channel: str, today: dt.date, budget_day: dt.date | None = None) -> str | None:
    lines = forecast_lines(db, team, channel, today, budget_day)
    return "\n".join(["*Forecast*", *lines]) if lines else None
