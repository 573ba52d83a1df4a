"""Forecasts where a channel reads them: the weekly summary's *Forecast* and `/breakeven spend`, each
line with the figures it was computed from (the arithmetic against hand-computed figures:
tests/test_forecast.py)."""

from __future__ import annotations

import datetime as dt

from bot.budget import Budget, set_budget
from bot.forecasts import forecast_lines
from bot.spend import save_spend
from bot.weekly import run_weekly
from costcore.forecast import budget_outlook, crossing, daily_costs, growth, month_end
from costcore.spend import SpendRow
from tests.slack.blockkit import check_blocks

from .conftest import FLIPS, analyse, sections

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # the last complete day is Monday Nov 23


def spend(last: dt.date) -> list[SpendRow]:
    """Daily spend rising a dollar a day over 28 days ($77 on `last`), and gpt-4o's requests growing 25% a
    week over the last six weeks (4,096 ... 12,500)."""
    rows = [
        SpendRow(day=last - dt.timedelta(days=27 - i), provider="anthropic", model="claude-3-5-haiku", cost=50.0 + i)
        for i in range(28)
    ]
    start = last - dt.timedelta(days=7 * 6 - 1)
    for w, volume in enumerate([4096, 5120, 6400, 8000, 10000, 12500]):
        rows.append(SpendRow(day=start + dt.timedelta(days=7 * w), provider="openai", model="gpt-4o", cost=0,
                             requests=volume))  # fmt: skip
    return rows


def test_the_weekly_summary_forecasts_the_month_the_budget_and_the_break_even_month(server, slack):
    flips = analyse(server, FLIPS)
    store = server.bot.store
    rows = spend(dt.date(2026, 11, 23))
    save_spend(store, "T1", rows)
    set_budget(store, Budget("T1", "C9", "", 2000.0, (0.5, 0.8, 1.0), "U1"))
    assert run_weekly(server.bot.client_for, store, server.bot.settings, "T1", "C9", now=NOW).status == "posted"
    post = slack.called("chat.postMessage")[-1]
    check_blocks(post["args"]["blocks"])
    text = sections(post)
    forecast = text[text.index("*Forecast*") :]
    # Hand-computed in tests/test_forecast.py on the same figures: $1,518 spent Nov 1-23, $2,085 at the trend.
    assert (
        "• All LLM API spend: Month-end forecast $2,085: $1,518 spent Nov 1-23, and 7 more days at $77.00 a day "
        "rising $1.00 a day (the trend of the 28 days Oct 27 - Nov 23); at this month's daily rate alone, $1,980."
    ) in forecast
    assert "• Budget, LLM API spend: $1,518 of $2,000 (76%): at the forecast the budget runs out on Nov 29." in forecast
    report = store.analysis("T1", "C9", flips).report
    expected = crossing(flips, growth(rows, dt.date(2026, 11, 23)), report, dt.date(2026, 11, 23))
    assert f"• Decision #{flips}: 54.3k requests a month, growing 163.7% a month (the trend of 6 weeks to Nov 23)" in (
        forecast
    )
    assert f"at this growth, buying pays from {expected.month}." in forecast and expected.month.startswith("2027-")
    # The spend line's month-end figure is the same run-rate figure the forecast gives beside the trend's.
    assert "Month to date $1,518 (Nov 1-23); month-end forecast $1,980 at this month's daily rate." in text


def test_slash_spend_alone_answers_with_the_forecasts(server, slack):
    analyse(server, FLIPS)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    rows = spend(yesterday)
    save_spend(server.bot.store, "T1", rows)
    set_budget(server.bot.store, Budget("T1", "C9", "", 2000.0, (0.5,), "U1"))
    server.command("spend", channel="C9")
    server.wait_idle()
    reply = slack.called("chat.postEphemeral")[-1]["args"]
    check_blocks(reply["blocks"])
    lines = reply["text"].splitlines()
    today = dt.date.today()
    assert lines[0] == "*Forecast*"
    assert lines[1] == f"• All LLM API spend: {month_end(daily_costs(rows), today).sentence()}"
    assert lines[2] == f"• Budget, LLM API spend: {budget_outlook(daily_costs(rows), 2000.0, today).sentence()}"
    assert lines[3].startswith("• Decision #1: 54.3k requests a month, growing 163.7% a month")


def test_slash_spend_without_spend_says_how_to_record_it(server, slack):
    server.command("spend", channel="C9")
    server.wait_idle()
    assert slack.called("chat.postEphemeral")[-1]["args"]["text"].startswith("No spend is recorded yet. Record it:")


DEC15 = dt.datetime(2026, 12, 15, 9, 30, tzinfo=dt.UTC)  # a Tuesday: the last complete day is Dec 14


def test_spend_imported_up_to_a_past_day_is_forecast_from_that_day_in_the_summary_and_the_alerts(server, slack):
    from bot.budget import run_check

    store, client = server.bot.store, server.bot.client_for
    first = dt.date(2026, 11, 1)
    save_spend(store, "T1", [SpendRow(day=first + dt.timedelta(days=i), provider="anthropic", model="claude-3-5-haiku",
                                      cost=50.0, source="csv:generic") for i in range(40)])  # fmt: skip  # to Dec 10
    set_budget(store, Budget("T1", "C9", "", 1200.0, (0.5, 0.8, 1.0), "U1"))
    # Read on Dec 15, four days after the import ends: $500 spent Dec 1-10 and 21 days at the flat $50 trend,
    # $1,550 (counted as four days of $0 it read $726, under the budget: the forecast alert never fired).
    fired = run_check(client, store, server.bot.settings, DEC15)
    assert [(f.threshold, f.status) for f in fired] == [("forecast", "fired")]
    alert = sections(slack.called("chat.postMessage")[-1])
    assert "LLM API spend is on course for $1,550 in December, over its $1,200 budget" in alert
    assert "at the forecast the budget runs out on Dec 24" in alert  # $50 x 24 = $1,200
    assert "Spend is recorded through Dec 10 only: the days since are forecast too." in alert

    assert run_weekly(client, store, server.bot.settings, "T1", "C9", now=DEC15).status == "posted"
    post = slack.called("chat.postMessage")[-1]
    check_blocks(post["args"]["blocks"])
    text = sections(post)
    assert "Month to date $500.00 (Dec 1-10); month-end forecast $1,550 at this month's daily rate." in text
    assert (
        "• All LLM API spend: Month-end forecast $1,550: $500.00 spent Dec 1-10, and 21 more days at $50.00 a day "
        "flat (the trend of the 28 days Nov 13 - Dec 10); at this month's daily rate alone, $1,550. Spend is "
        "recorded through Dec 10 only: the days since are forecast too."
    ) in text
    assert "• Budget, LLM API spend: $500.00 of $1,200 (42%): at the forecast the budget runs out on Dec 24." in text


def test_a_model_first_used_mid_week_does_not_read_as_growing(server, slack):
    flips = analyse(server, FLIPS)
    store = server.bot.store
    first = dt.date(2026, 11, 20)  # a Friday; 150k requests every day to Dec 14: flat
    save_spend(store, "T1", [SpendRow(day=first + dt.timedelta(days=i), provider="openai", model="gpt-4o", cost=500,
                                      requests=150_000) for i in range(25)])  # fmt: skip
    assert run_weekly(server.bot.client_for, store, server.bot.settings, "T1", "C9", now=DEC15).status == "posted"
    text = sections(slack.called("chat.postMessage")[-1])
    # Weeks from the first recorded day: Nov 24-30, Dec 1-7, Dec 8-14, 1.05M each: 4.56M a month, flat (with
    # the four days of Nov 20-23 as a week it read 5.1M, growing 107.4% a month).
    assert f"• Decision #{flips}: 4.56M requests a month, growing 0.0% a month (the trend of 3 weeks to Dec 14)" in text


def test_a_models_budget_counts_its_days_unused_while_its_source_still_records(server):
    # gpt-4o was used until Nov 10; OpenAI's export went on recording gpt-4o-mini through Nov 23. The days
    # since are gpt-4o at $0, not days still to come at $100: the budget is not forecast to run out.
    first = dt.date(2026, 11, 1)
    rows = [
        SpendRow(day=first + dt.timedelta(days=i), provider="openai", model=model, cost=cost, source="openai-export")
        for model, cost, days in (("gpt-4o", 100.0, 10), ("gpt-4o-mini", 10.0, 23))
        for i in range(days)
    ]
    save_spend(server.bot.store, "T1", rows)
    set_budget(server.bot.store, Budget("T1", "C9", "gpt-4o", 3000.0, (0.5, 0.8, 1.0), "U1"))
    lines = forecast_lines(server.bot.store, "T1", "C9", dt.date(2026, 11, 24))
    (line,) = [line for line in lines if line.startswith("• Budget")]
    assert "$1,000 of $3,000 (33%): at the forecast ($1,000) the budget lasts the month." in line
