"""What the weekly summary adds to a channel's spend (bot/weekly.py): the forecasts, the channel's
decisions re-checked with today's prices and measured volume (only the changed ones listed, the rest
counted), and the budget alerts nobody has acknowledged yet."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .budget import alerts_section, open_alerts
from .forecasts import forecast_section
from .recheck import Reported, decisions_section, mark_reported, recheck, since_last_summary
from .render import _chunks


@dataclass
class Extras:
    blocks: list[dict]
    news: bool  # a decision changed, or an alert waits: worth a post even in a quiet week
    reported: list[Reported] = field(default_factory=list)
    current: dict[int, dict] = field(default_factory=dict)  # this week's evaluation of each decision, by id

    def posted(self, db, week: str) -> None:
        """The summary of `week` is in the channel: the next one compares the decisions with it."""
        mark_reported(db, self.reported, week)


def _sections(text: str) -> list[dict]:
    """Sections of at most Slack's 3,000 characters each, cut between lines: a long list of changed decisions
    no longer loses its last lines (the unchanged count, the errors) to a cut."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in _chunks(text.splitlines())]


def weekly_extras(
    db,
    team: str,
    channel: str,
    now: dt.datetime,
    *,
    sheet=None,
    threshold: float = 0.2,
    store: bool = True,
    budget_day: dt.date | None = None,
) -> Extras:
    """now: in the channel's timezone. store=False (a dry run) writes no re-check version. budget_day: the
    budgets' today (bot.budget.budget_today), so their lines read as the alerts and the App Home do."""
    outcomes = recheck(
        db, team, channel, sheet=sheet, now=now, trigger="weekly summary", threshold=threshold, store=store
    )
    reported = since_last_summary(db, outcomes, threshold)
    blocks = []
    forecast = forecast_section(db, team, channel, now.date(), budget_day=budget_day)
    if forecast:
        blocks += _sections(forecast)
    decisions = decisions_section(reported, [o for o in outcomes if o.now is None], threshold)
    if decisions:
        blocks += _sections(decisions)
    waiting = alerts_section(open_alerts(db, team, [channel]))
    if waiting:
        text, buttons = waiting
        blocks += [*_sections(text), *buttons]
    news = any(r.change.changed for r in reported) or waiting is not None
    return Extras(blocks, news, reported, {o.analysis_id: o.now.report for o in outcomes if o.now is not None})
