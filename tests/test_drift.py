"""A decision re-checked (costcore/drift.py): what spend measured, whether the answer moved past the
threshold, and which input moved it most when several did."""

import datetime as dt

import pytest

from costcore import analyze, parse
from costcore.drift import compare, measured, mover, reasons, remeasured
from costcore.price_sheet import parse as parse_sheet
from costcore.spend import SpendRow

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TEXT = "volume=5M/month in=1000 out=100 api=gpt-4o gpu=a10g"
THROUGH = dt.date(2026, 11, 30)


def sheet(price_in, price_out):
    return parse_sheet(f'[[api]]\nmodel = "gpt-4o"\ninput = {price_in}\noutput = {price_out}\neffective = 2026-01-01\n')


def report(text=TEXT, prices=None):
    return analyze(parse(text), now=NOW, sheet=prices).model_dump(mode="json")


def test_the_input_that_moved_the_answer_most_is_named_when_several_moved():
    before = report()
    # The price fell a fifth of its way while the volume grew by 2%: the price moved the answer more.
    cheaper = report("volume=5.1M/month in=1000 out=100 api=gpt-4o gpu=a10g", sheet(2.0, 8.0))
    found = mover(before, cheaper, reasons(cheaper))
    assert (found.name, found.before, found.after) == ("API price a request", "$0.0035", "$0.0028")
    assert found.why == "your price sheet, effective 2026-01-01"
    # The volume quadrupled while the price fell by 4%: the volume moved it more.
    busier = report("volume=20M/month in=1000 out=100 api=gpt-4o gpu=a10g", sheet(2.4, 9.6))
    assert mover(before, busier, reasons(busier)).words() == "volume 5M a month → 20M a month"
    assert mover(before, before, {}) is None


@pytest.mark.parametrize(
    "savings_after, threshold, changed",
    [(1250, 0.2, True), (1250, 0.3, False), (750, 0.2, True), (1100, 0.2, False), (1000, 0.0, False)],
)
def test_a_decision_is_news_when_its_verdict_changed_or_its_savings_moved_past_the_threshold(
    savings_after, threshold, changed
):
    before = report()
    before["monthly_savings"] = 1000
    after = dict(before, monthly_savings=savings_after)
    result = compare(before, after, threshold)
    assert (result.changed, result.verdict_changed) == (changed, False)
    assert result.moved == pytest.approx((savings_after - 1000) / 1000)
    flipped = compare(before, dict(after, verdict="RENT" if before["verdict"] == "BUY" else "BUY"), 10.0)
    assert flipped.changed and flipped.verdict_changed
    from_nothing = compare(dict(before, monthly_savings=0), dict(before, monthly_savings=0.004), 0.2)
    assert not from_nothing.changed and from_nothing.moved is None


def rows(days, requests=1000, tokens_in=1_200_000, tokens_out=300_000, model="gpt-4o-2024-08-06"):
    return [
        SpendRow(day=THROUGH - dt.timedelta(days=i), provider="openai", model=model, cost=10, requests=requests,
                 input_tokens=tokens_in, output_tokens=tokens_out)
        for i in range(days)
    ]  # fmt: skip


def test_spend_measures_a_month_of_volume_and_the_tokens_a_request():
    found = measured(rows(40), "openai:gpt-4o", THROUGH)
    # the last 28 days: 28,000 requests, a month of them 28,000 x 365/12 / 28 = 30,417
    assert (found.first, found.last) == (THROUGH - dt.timedelta(days=27), THROUGH)
    assert found.requests_per_month == pytest.approx(1000 * 365 / 12)
    assert (found.in_tokens, found.out_tokens) == (1200, 300)
    started = measured(rows(10), "openai:gpt-4o", THROUGH)  # recorded for 10 days only: those 10 days
    assert started.requests_per_month == pytest.approx(1000 * 365 / 12)
    assert measured(rows(6), "openai:gpt-4o", THROUGH) is None  # less than a week
    assert measured(rows(28), "openai:gpt-4o-mini", THROUGH) is None  # another model's spend
    tokens_only = measured(rows(28, requests=0), "openai:gpt-4o", THROUGH)
    assert tokens_only.requests_per_month is None
    assert tokens_only.tokens_per_month == pytest.approx(1_500_000 * 365 / 12)
    assert measured(rows(28, requests=0, tokens_in=0, tokens_out=0), "openai:gpt-4o", THROUGH) is None


def test_the_measured_figures_replace_the_typed_ones_and_are_marked_measured():
    found = measured(rows(28), "openai:gpt-4o", THROUGH)
    scenario = remeasured(parse("tokens=3B/month in=1000 out=100 api=gpt-4o"), found)
    assert scenario.tokens_per_month is None and scenario.requests_per_month == pytest.approx(1000 * 365 / 12)
    assert (scenario.in_tokens, scenario.out_tokens) == (1200, 300)
    where = "from spend of openai:gpt-4o, Nov 3 - Nov 30"
    assert scenario.provenance == {"requests_per_month": where, "in_tokens": where, "out_tokens": where}
    marked = {a.key: a for a in analyze(scenario, now=NOW).assumptions if a.measured}
    assert set(marked) == {"volume", "in", "out"} and marked["volume"].note == where
