"""Spend rows from text and CSV, and the weekly summary's arithmetic, checked by hand."""

import datetime as dt

import pytest

from costcore import GrammarError, analyze, parse
from costcore.spend import SpendCsvError, SpendRow, parse_csv, parse_spend_add, report_week, summarise

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # a Tuesday; the last complete week is 2026-W47


def test_spend_add_reads_amount_provider_model_day_and_tokens():
    row = parse_spend_add("$1,200 openai gpt-4o 2026-11-20 in=30M out=6M requests=40k")
    assert row == SpendRow(
        day=dt.date(2026, 11, 20),
        provider="openai",
        model="gpt-4o",
        cost=1200,
        input_tokens=30_000_000,
        output_tokens=6_000_000,
        requests=40_000,
    )
    assert parse_spend_add("$5 anthropic claude-3-5-haiku", today=dt.date(2026, 1, 2)).day == dt.date(2026, 1, 2)


@pytest.mark.parametrize(
    "text, key",
    [
        ("lots openai gpt-4o", "amount"),
        ("$5 openai gpt-4o 20/11/2026", "day"),
        ("$5 openai", None),
        ("$5 openai gpt-4o colour=red", "colour"),
        ("$-5 openai gpt-4o", "amount"),
        ("$5 openai gpt-4o requests=1.5", "requests"),
    ],
)
def test_spend_add_errors_name_what_was_wrong(text, key):
    with pytest.raises(GrammarError) as caught:
        parse_spend_add(text)
    assert caught.value.key == key
    if "$-5" in text:
        assert "negative" in caught.value.problem
    if "1.5" in text:
        assert "not a whole number of requests" in caught.value.problem
    assert "spend add $1,200 openai gpt-4o" in str(caught.value)


def test_generic_csv():
    rows = parse_csv(
        "date,provider,model,cost,input_tokens,output_tokens,requests\n"
        '2026-11-17,OpenAI,gpt-4o,"$1,200.50",1000,200,10\n'
        "2026-11-18,anthropic,claude-3-5-haiku,3.5,,,\n"
    )
    assert [(r.day.isoformat(), r.provider, r.cost, r.requests) for r in rows] == [
        ("2026-11-17", "openai", 1200.5, 10),
        ("2026-11-18", "anthropic", 3.5, 0),
    ]


def test_openai_cost_export_csv_adds_up_line_items_per_model():
    start = int(dt.datetime(2026, 11, 17, tzinfo=dt.UTC).timestamp())
    rows = parse_csv(
        "start_time,end_time,amount_value,amount_currency,line_item,project_id,organization_id\n"
        f'{start},{start + 86400},1.25,usd,"gpt-4o-2024-08-06, input",proj_1,org_1\n'
        f'{start},{start + 86400},2.50,usd,"gpt-4o-2024-08-06, output",proj_1,org_1\n'
        f'{start},{start + 86400},0.10,usd,"gpt-4o-mini, input",proj_1,org_1\n'
    )
    by_model = {r.model: r.cost for r in rows}
    assert by_model == {"gpt-4o-2024-08-06": pytest.approx(3.75), "gpt-4o-mini": pytest.approx(0.10)}
    assert {r.day for r in rows} == {dt.date(2026, 11, 17)} and {r.provider for r in rows} == {"openai"}


@pytest.mark.parametrize(
    "text, line, column",
    [
        ("day,provider,model,cost\n2026-11-17,openai,gpt-4o,5\n2026-13-01,openai,gpt-4o,5\n", 3, "day"),
        ("day,provider,model,cost\n2026-11-17,openai,gpt-4o,five\n", 2, "cost"),
        ("day,provider,model,cost\n2026-11-17,openai,,5\n", 2, "model"),
        ("day,provider,model,cost,requests\n2026-11-17,openai,gpt-4o,5,1.5\n", 2, "requests"),
        ("day,provider,model,cost\n2026-11-17,openai,gpt-4o,-5\n", 2, "cost"),
        ("when,what\n1,2\n", 1, None),
    ],
)
def test_bad_csv_names_the_line_and_column(text, line, column):
    with pytest.raises(SpendCsvError) as caught:
        parse_csv(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}" in str(caught.value) and "Nothing was imported" in str(caught.value)


def test_report_week_is_the_last_complete_iso_week():
    assert report_week(NOW) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22), "2026-W47")
    assert report_week(dt.datetime(2026, 11, 23, 0, 1, tzinfo=dt.UTC))[2] == "2026-W47"  # Monday morning


def spend_rows():
    rows = []
    for day in range(16, 23):  # week 47: gpt-4o $100 a day, 10k requests a day; haiku $5 a day
        rows.append(
            SpendRow(
                day=dt.date(2026, 11, day),
                provider="openai",
                model="gpt-4o",
                cost=100,
                input_tokens=1_000_000,
                output_tokens=200_000,
                requests=10_000,
            )
        )
        rows.append(SpendRow(day=dt.date(2026, 11, day), provider="anthropic", model="claude-3-5-haiku", cost=5))
    for day in range(9, 16):  # week 46: gpt-4o $80 a day, haiku $10 a day
        rows.append(SpendRow(day=dt.date(2026, 11, day), provider="openai", model="gpt-4o", cost=80))
        rows.append(SpendRow(day=dt.date(2026, 11, day), provider="anthropic", model="claude-3-5-haiku", cost=10))
    rows.append(SpendRow(day=dt.date(2026, 11, 23), provider="openai", model="gpt-4o", cost=50))  # this week
    rows.append(SpendRow(day=dt.date(2026, 10, 31), provider="openai", model="gpt-4o", cost=999))  # last month
    return rows


def test_weekly_figures_by_hand():
    summary = summarise(spend_rows(), NOW)
    assert summary.total == pytest.approx(7 * 105)  # $735
    assert summary.last_week_total == pytest.approx(7 * 90)  # $630
    assert summary.change == pytest.approx(105) and summary.change_pct == pytest.approx(105 / 630)
    assert [(m.model, m.change) for m in summary.movers] == [
        ("gpt-4o", pytest.approx(140)),
        ("claude-3-5-haiku", pytest.approx(-35)),
    ]
    assert (summary.input_tokens, summary.output_tokens, summary.requests) == (7_000_000, 1_400_000, 70_000)
    # Month to date: Nov 9-23 (the 1st-8th had none): 7 x 90 + 7 x 105 + 50 = $1,415 over 23 days.
    assert summary.month_to_date == pytest.approx(1415)
    assert summary.month_end_forecast == pytest.approx(1415 / 23 * 30)
    assert summary.daily[dt.date(2026, 11, 16)] == {"openai": 100, "anthropic": 5}


def test_distance_to_break_even_and_the_crossing_alert():
    report = analyze(parse("volume=100k api_per_1k=1 server=$300 maint_h=0")).model_dump(mode="json")
    assert report["breakeven_requests_per_month"] == pytest.approx(300_000)
    summary = summarise(spend_rows(), NOW, [{"id": 7, "report": report}], previous_sides={7: False})
    (distance,) = summary.distances
    real = 70_000 * (365 / 12) / 7  # 304,167 requests a month: just past 300k
    assert distance.real_requests_per_month == pytest.approx(real)
    assert distance.past_breakeven and distance.crossed
    assert distance.selfhost_monthly == pytest.approx(300)
    again = summarise(spend_rows(), NOW, [{"id": 7, "report": report}], previous_sides={7: True})
    assert not again.distances[0].crossed


def test_on_the_first_of_the_month_the_month_just_ended_is_reported_whole():
    rows = [SpendRow(day=dt.date(2026, 11, d), provider="openai", model="gpt-4o", cost=10) for d in range(1, 31)]
    summary = summarise(rows, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    assert (summary.month_start, summary.month_through) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert summary.month_to_date == pytest.approx(300) and summary.month_end_forecast == pytest.approx(300)


def test_the_charts_self_hosted_line_spreads_the_latest_analysis_over_the_days():
    old = analyze(parse("volume=100k api_per_1k=1 server=$600 maint_h=0")).model_dump(mode="json")
    latest = analyze(parse("volume=100k api_per_1k=1 server=$300 maint_h=0")).model_dump(mode="json")
    summary = summarise(spend_rows(), NOW, [{"id": 3, "report": latest}, {"id": 2, "report": old}])
    assert summary.selfhost_basis == 3
    # One $300-a-month server, whatever the day's 10k requests: $300 / (365 / 12) = $9.86 a day.
    assert summary.selfhost_daily[dt.date(2026, 11, 16)] == pytest.approx(300 / (365 / 12))


def test_with_a_capacity_staircase_the_nearest_break_even_is_reported():
    report = {
        "verdict": "RENT",
        "breakeven_requests_per_month": 125_000,
        "crossings": [  # $100 servers of 200k requests a month each, against $0.0008 a request
            {"requests_per_month": 125_000, "direction": "buy_starts_paying"},
            {"requests_per_month": 200_000, "direction": "buy_stops_paying"},
            {"requests_per_month": 250_000, "direction": "buy_starts_paying"},
        ],
        "cost_model": {
            "api_cost_per_request": 0.0008,
            "selfhost_variable_per_request": 0,
            "instance_monthly": 100,
            "requests_per_instance": 200_000,
            "ha": False,
            "ops_monthly": 0,
            "tokens_per_request": 1000,
        },
    }
    rows = [SpendRow(day=d, provider="openai", model="m", cost=1, requests=7_000) for d in report_days()]
    # 7k a day = 212,917 a month: two servers ($200) against $170 on the API; the next step up is 250k.
    (distance,) = summarise(rows, NOW, [{"id": 1, "report": report}]).distances
    assert (distance.selfhost_monthly, round(distance.api_monthly)) == (200, 170)
    assert not distance.past_breakeven and distance.breakeven_requests_per_month == 250_000


def report_days():
    return [dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(7)]


@pytest.mark.parametrize(
    "text, key, problem",
    [
        ("$5 openai gpt-4o 2027-01-01", "day", "in the future"),
        ("$5 openai gpt-4o tokens=1M in=1M", "tokens", "either tokens= or in="),
        ("$5 openai gpt-4o in=1M/day", "in", "unexpected"),
    ],
)
def test_spend_add_refuses_the_future_and_ambiguous_tokens(text, key, problem):
    with pytest.raises(GrammarError) as caught:
        parse_spend_add(text, today=dt.date(2026, 11, 24))
    assert caught.value.key == key and problem in str(caught.value)


def test_spend_add_takes_spaces_around_equals():
    assert parse_spend_add("$5 openai gpt-4o requests = 2k", today=dt.date(2026, 11, 24)).requests == 2000


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("$1,200 openai gpt-4o 2026-11-20 in=$30M", "in", "money sign"),
        ("$1,200 openai gpt-4o 2026-11-20 requests=$40k", "requests", "money sign"),
        ("$1,200 openai gpt-4o 2026-11-20 out=5%", "out", "percentage"),
        ("50% openai gpt-4o 2026-11-20", "amount", "percentage"),
    ],
)
def test_spend_add_reads_units_by_the_grammars_one_rule(text, key, words):
    with pytest.raises(GrammarError) as caught:
        parse_spend_add(text, today=dt.date(2026, 12, 1))
    assert caught.value.key == key and words in caught.value.problem
