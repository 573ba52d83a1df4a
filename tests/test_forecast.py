"""Forecasts from spend, against figures computed by hand: the month's end at the daily trend (and at
the run rate), the day a budget runs out, and the month a growing volume reaches break-even."""

import datetime as dt

import pytest

from costcore.forecast import (
    budget_outlook,
    crossing,
    daily_costs,
    growth,
    last_recorded,
    month_end,
    rows_of,
    trend,
)
from costcore.spend import SpendRow

TODAY = dt.date(2026, 11, 24)  # Tuesday: the last complete day is Monday Nov 23
FIRST = dt.date(2026, 10, 27)  # 28 days before it: the trend's window


def rising(first=FIRST, last=dt.date(2026, 11, 23), start=50.0, step=1.0, model="gpt-4o"):
    """$50 on Oct 27, a dollar more each day: $55 on Nov 1 ... $77 on Nov 23."""
    days = (last - first).days + 1
    return [
        SpendRow(day=first + dt.timedelta(days=i), provider="openai", model=model, cost=start + step * i)
        for i in range(days)
    ]


def test_the_month_ends_at_the_daily_trend_and_the_run_rate_is_given_beside_it():
    month = month_end(daily_costs(rising()), TODAY)
    # Nov 1-23: $55 + ... + $77 = 23 x 66 = $1,518. The line through Oct 27-Nov 23 is exactly y = 50 + i:
    # $77 on Nov 23, a dollar more each day; Nov 24-30 at $78 ... $84 = 7 x 81 = $567.
    assert month.spent == pytest.approx(1518)
    assert (month.trend.level, month.trend.slope, month.trend.days) == pytest.approx((77, 1, 28))
    assert month.forecast == pytest.approx(1518 + 567)
    assert month.run_rate_forecast == pytest.approx(1518 / 23 * 30)  # $1,980
    assert month.sentence() == (
        "Month-end forecast $2,085: $1,518 spent Nov 1-23, and 7 more days at $77.00 a day rising $1.00 a day "
        "(the trend of the 28 days Oct 27 - Nov 23); at this month's daily rate alone, $1,980."
    )


def test_days_with_nothing_recorded_count_as_nothing_spent():
    rows = [r for r in rising(start=70, step=0) if r.day.weekday() < 5]  # $70 on weekdays only
    line = trend(daily_costs(rows), dt.date(2026, 11, 23))
    # Four whole weeks, 20 weekdays at $70: $50 a day on average (the line passes through the average at
    # the window's middle, 13.5 days before its last day), not $70.
    assert line.days == 28
    assert line.level + line.slope * -13.5 == pytest.approx(50)


def test_with_less_than_two_weeks_of_spend_the_run_rate_is_the_forecast():
    month = month_end(daily_costs(rising(first=dt.date(2026, 11, 14), start=100, step=0)), TODAY)
    # $100 a day Nov 14-23: $1,000 spent in 23 days, $43.48 a day: $1,304 for the month.
    assert month.trend is None
    assert month.forecast == month.run_rate_forecast == pytest.approx(1000 / 23 * 30)
    assert "(less than 14 days of spend recorded: no trend yet)" in month.sentence()


@pytest.mark.parametrize(
    "budget, ran_out, runs_out, words",
    [
        # $55 + $56 + ... : 18 days make $1,143, 19 days $1,216.
        (1200, dt.date(2026, 11, 19), None, "$1,518 of $1,200 (126%): the budget ran out on Nov 19."),
        # $1,518 by Nov 23, then $78 ... : $1,918 by Nov 28, $2,001 by Nov 29.
        (2000, None, dt.date(2026, 11, 29), "$1,518 of $2,000 (76%): at the forecast the budget runs out on Nov 29."),
        (3000, None, None, "$1,518 of $3,000 (51%): at the forecast ($2,085) the budget lasts the month."),
    ],
)
def test_the_day_a_budget_runs_out(budget, ran_out, runs_out, words):
    outlook = budget_outlook(daily_costs(rising()), budget, TODAY)
    assert (outlook.ran_out, outlook.runs_out) == (ran_out, runs_out)
    assert outlook.exceeds == (budget < 2085)
    assert outlook.sentence() == words


def weekly_volumes(volumes, last=dt.date(2026, 11, 23), model="gpt-4o"):
    """Each week's requests on the first day of the week (weeks end on `last`), oldest first."""
    weeks = len(volumes)
    start = last - dt.timedelta(days=7 * weeks - 1)
    return [
        SpendRow(day=start + dt.timedelta(days=7 * w), provider="openai", model=model, cost=1, requests=v)
        for w, v in enumerate(volumes)
    ]


REPORT = {"requests_per_month": 40_000, "tokens_per_month": 40_000 * 1700, "breakeven_requests_per_month": 300_000,
          "crossings": [{"requests_per_month": 300_000, "direction": "buy_starts_paying"}]}  # fmt: skip


def test_the_month_a_growing_volume_reaches_break_even():
    # 4,096 requests in the first of six weeks, 25% more each week: 12,500 in the last.
    rows = weekly_volumes([4096, 5120, 6400, 8000, 10000, 12500])
    found = growth(rows, dt.date(2026, 11, 23))
    # A month is 365/12/7 = 4.3452 weeks: 12,500 x 4.3452 = 54,315 requests a month, growing
    # 1.25^4.3452 - 1 = 163.7% a month. 300k / 54,315 = 5.5233 = 2.63692^1.7625: 1.7625 months
    # after Nov 23 (53.6 days) is Jan 15, 2027.
    assert len(found.weeks) == 6  # the two empty weeks before it are not counted
    assert found.monthly_volume == pytest.approx(54_315.476, rel=1e-6)
    assert found.monthly_growth == pytest.approx(1.6369208, rel=1e-6)
    crossed = crossing(12, found, REPORT, dt.date(2026, 11, 23))
    assert crossed.months == pytest.approx(1.7625334, rel=1e-6)
    assert crossed.month == "2027-01"
    assert crossed.sentence() == (
        "#12: 54.3k requests a month, growing 163.7% a month (the trend of 6 weeks to Nov 23); "
        "break-even 300k requests a month: at this growth, buying pays from 2027-01."
    )


def test_a_shrinking_or_past_volume_says_so():
    shrinking = growth(weekly_volumes([12500, 10000, 8000]), dt.date(2026, 11, 23))
    assert shrinking.monthly_growth == pytest.approx(0.8 ** (365 / 12 / 7) - 1)
    assert (
        crossing(3, shrinking, REPORT, dt.date(2026, 11, 23))
        .sentence()
        .endswith("break-even 300k requests a month: at this trend the volume does not reach it.")
    )
    big = growth(weekly_volumes([80_000, 80_000, 80_000]), dt.date(2026, 11, 23))
    assert big.monthly_volume == pytest.approx(80_000 * 365 / 12 / 7)
    assert (
        crossing(3, big, REPORT, dt.date(2026, 11, 23))
        .sentence()
        .endswith("past its break-even 300k requests a month: buying pays at today's volume.")
    )
    assert growth(weekly_volumes([5000, 6000]), dt.date(2026, 11, 23)) is None  # two weeks: no trend


def test_a_models_rows_are_found_by_its_catalogue_name():
    rows = [
        SpendRow(day=TODAY, provider="openai", model="gpt-4o-2024-08-06", cost=1),
        SpendRow(day=TODAY, provider="openai", model="gpt-4o-mini", cost=2),
        SpendRow(day=TODAY, provider="acme", model="in-house-7b", cost=4),
    ]
    assert [r.cost for r in rows_of(rows, "openai:gpt-4o")] == [1]
    assert [r.cost for r in rows_of(rows, "gpt-4o")] == [1]
    assert [r.cost for r in rows_of(rows, "gpt-4o-mini")] == [2]
    assert [r.cost for r in rows_of(rows, "in-house-7b")] == [4]
    assert len(rows_of(rows, None)) == 3


def steady(first, last, cost=50.0, requests=0, model="claude-3-5-haiku", provider="anthropic", source="csv:generic"):
    days = (last - first).days + 1
    return [
        SpendRow(day=first + dt.timedelta(days=i), provider=provider, model=model, cost=cost, requests=requests,
                 source=source)
        for i in range(days)
    ]  # fmt: skip


@pytest.mark.parametrize("today", [dt.date(2026, 12, 11), dt.date(2026, 12, 13), dt.date(2026, 12, 15)])
def test_days_after_the_last_recorded_one_are_forecast_not_counted_as_nothing_spent(today):
    daily = daily_costs(steady(dt.date(2026, 11, 1), dt.date(2026, 12, 10)))  # $50 a day, imported up to Dec 10
    month = month_end(daily, today)
    # Dec 1-10: $500; the 21 days after at the flat $50 trend: $1,550, whichever day it is read on.
    assert (month.through, month.spent, month.forecast) == (dt.date(2026, 12, 10), 500, pytest.approx(1550))
    lag = " Spend is recorded through Dec 10 only: the days since are forecast too."
    lag = "" if today == dt.date(2026, 12, 11) else lag  # on Dec 11 the last complete day is Dec 10
    assert month.sentence() == (
        "Month-end forecast $1,550: $500.00 spent Dec 1-10, and 21 more days at $50.00 a day flat (the trend of the 28 "
        f"days Nov 13 - Dec 10); at this month's daily rate alone, $1,550.{lag}"
    )
    outlook = budget_outlook(daily, 1200, today)
    assert (outlook.runs_out, outlook.exceeds) == (dt.date(2026, 12, 24), True)  # 24 x $50 = $1,200


def test_the_trend_needs_two_weeks_of_recorded_spend_not_of_calendar():
    # Recorded Dec 1-10 only, read on Dec 15: 10 days of spend, not 14 (the 4 days since are not recorded yet).
    month = month_end(daily_costs(steady(dt.date(2026, 12, 1), dt.date(2026, 12, 10))), dt.date(2026, 12, 15))
    assert month.trend is None and month.forecast == pytest.approx(500 + 21 * 50)
    assert "(less than 14 days of spend recorded: no trend yet)." in month.sentence()


def test_before_any_of_the_month_is_recorded_the_forecast_is_shown_but_not_over_a_budget():
    daily = daily_costs(steady(dt.date(2026, 11, 1), dt.date(2026, 11, 28)))
    month = month_end(daily, dt.date(2026, 12, 3))
    assert (month.spent, month.days_elapsed, month.forecast) == (0, 0, pytest.approx(31 * 50))
    assert month.sentence().startswith("Month-end forecast $1,550: nothing recorded in December yet, so 31 days at")
    assert not budget_outlook(daily, 1000, dt.date(2026, 12, 3)).exceeds


def test_a_partial_first_week_is_not_growth():
    # 150k requests every day from Friday Nov 20 to Dec 14: flat. The week Nov 17-23 holds four of its days.
    rows = steady(dt.date(2026, 11, 20), dt.date(2026, 12, 14), requests=150_000, model="gpt-4o", provider="openai")
    found = growth(rows, dt.date(2026, 12, 14))
    assert [w for w, _ in found.weeks] == [dt.date(2026, 11, 24), dt.date(2026, 12, 1), dt.date(2026, 12, 8)]
    assert found.monthly_volume == pytest.approx(150_000 * 365 / 12)  # 4.56M
    assert found.monthly_growth == pytest.approx(0, abs=1e-12)
    assert found.words() == "4.56M requests a month, growing 0.0% a month (the trend of 3 weeks to Dec 14)"


def test_a_partial_last_week_is_not_shrinking_when_the_import_lags():
    # Imported up to Dec 10, read on Dec 15: the weeks end on Dec 10, the last day recorded.
    rows = steady(dt.date(2026, 11, 6), dt.date(2026, 12, 10), requests=150_000, model="gpt-4o", provider="openai")
    last = last_recorded(rows, dt.date(2026, 12, 14), of=rows)
    found = growth(rows, last)
    assert last == dt.date(2026, 12, 10) and found.weeks[-1][0] == dt.date(2026, 12, 4)
    assert found.monthly_growth == pytest.approx(0, abs=1e-12)


def test_the_last_recorded_day_is_the_sources_that_recorded_the_model():
    synced = steady(dt.date(2026, 11, 1), dt.date(2026, 12, 14), model="gpt-4o-mini", provider="openai", source="s")
    stopped = steady(dt.date(2026, 11, 1), dt.date(2026, 12, 5), model="gpt-4o", provider="openai", source="s")
    imported = steady(dt.date(2026, 11, 1), dt.date(2026, 11, 30))  # a CSV of another provider's, up to Nov 30
    rows = synced + stopped + imported
    # gpt-4o stopped on Dec 5 in a sync that goes on: its days since are days of no use.
    assert last_recorded(rows, dt.date(2026, 12, 14), of=rows_of(rows, "openai:gpt-4o")) == dt.date(2026, 12, 14)
    assert last_recorded(rows, dt.date(2026, 12, 14), of=imported) == dt.date(2026, 11, 30)
    assert last_recorded(rows, dt.date(2026, 12, 14)) == dt.date(2026, 12, 14)


def test_a_providers_model_counts_only_that_providers_rows():
    rows = [
        SpendRow(day=TODAY, provider="openai", model="gpt-4o-2024-08-06", cost=1),
        SpendRow(day=TODAY, provider="azure", model="gpt-4o", cost=2),
        SpendRow(day=TODAY, provider="Azure", model="gpt-4o-2024-08-06", cost=4),
    ]
    assert [r.cost for r in rows_of(rows, "openai:gpt-4o")] == [1]
    assert [r.cost for r in rows_of(rows, "azure:gpt-4o")] == [2, 4]
    assert [r.cost for r in rows_of(rows, "gpt-4o")] == [1, 2]  # a budget's bare name: as the spend names it


def test_past_the_break_even_a_rent_verdict_says_why_not_that_buying_pays():
    big = growth(weekly_volumes([80_000, 80_000, 80_000]), dt.date(2026, 11, 23))
    headline = "Rent: buying saves $1,768 a month but pays back in 43.4 months; break-even at 300k requests a month"
    rent = dict(REPORT, verdict="RENT", headline=headline)
    assert crossing(3, big, rent, dt.date(2026, 11, 23)).sentence().endswith(
        f"past its break-even 300k requests a month, but the verdict is RENT: {headline}."
    )
    bought = dict(REPORT, verdict="BUY", headline="Buy: ...")
    assert crossing(3, big, bought, dt.date(2026, 11, 23)).sentence().endswith(": buying pays at today's volume.")
