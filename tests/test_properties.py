"""Properties that must hold for every scenario the grammar accepts."""

import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costcore import GrammarError, analyze, parse
from costcore.grammar import KEYS

numbers = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:.4g}"),
    st.sampled_from(["10k", "2.5M", "$1,200", "80%", "0", "1", "3x", "0.5", "1B", "150ms", "3min"]),
)
suffixes = st.sampled_from(["", "/day", "/month", "/h", " tokens/day", "qps", "tok/s", "%", "h", "x"])
names = st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-3-5-haiku", "gemini-1.5-flash", "a10g", "t4", "h100"])
words = st.sampled_from(["yes", "no", "medium", "novel", "well-defined", "narrow", "varied", "mixed", "reasoning"])
values = st.one_of(st.tuples(numbers, suffixes).map("".join), names, words)
texts = st.lists(st.tuples(st.sampled_from(sorted(KEYS)), values), min_size=0, max_size=8).map(
    lambda pairs: " ".join(f"{k}={v}" for k, v in pairs)
)


def finite(x):
    return x is None or math.isfinite(x)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_no_accepted_input_crashes_the_core(text):
    try:
        scenario = parse(text)
    except GrammarError:
        return
    report = analyze(scenario)
    assert report.verdict in ("RENT", "BUY", "HYBRID")
    assert report.headline
    for value in (
        report.api_monthly_cost,
        report.selfhost_monthly_cost,
        report.monthly_savings,
        report.one_time_cost,
        report.payback_months,
        report.first_year_roi,
        report.breakeven_requests_per_month,
    ):
        assert finite(value), text


base = st.fixed_dictionaries(
    {
        "in": st.integers(1, 20_000),
        "out": st.integers(1, 4_000),
        "price_in": st.floats(0.01, 30),
        "price_out": st.floats(0.01, 60),
        "server": st.floats(10, 20_000),
        "capacity": st.floats(1, 200),
        "maint_h": st.floats(0, 40),
    }
)


def scenario_text(b, volume, price_scale=1.0):
    return (
        f"volume={volume:.6g} in={b['in']} out={b['out']} "
        f"api_price={b['price_in'] * price_scale:.6g}/{b['price_out'] * price_scale:.6g} "
        f"server={b['server']:.6g} capacity={b['capacity']:.6g}qps maint_h={b['maint_h']:.6g}"
    )


@settings(max_examples=150, deadline=None)
@given(base, st.floats(0, 1e8), st.floats(1.0, 100.0))
def test_more_volume_never_lowers_the_api_bill(b, volume, factor):
    low = analyze(parse(scenario_text(b, volume)))
    high = analyze(parse(scenario_text(b, volume * factor)))
    assert high.api_monthly_cost >= low.api_monthly_cost


@settings(max_examples=150, deadline=None)
@given(base, st.floats(1, 1e8), st.floats(0.01, 0.99))
def test_a_cheaper_api_never_makes_buying_look_better(b, volume, cheaper):
    dear = analyze(parse(scenario_text(b, volume)))
    cheap = analyze(parse(scenario_text(b, volume, cheaper)))
    assert cheap.monthly_savings <= dear.monthly_savings + 1e-9
    if dear.verdict == "RENT":
        assert cheap.verdict == "RENT"
    if dear.breakeven_requests_per_month is None:
        assert cheap.breakeven_requests_per_month is None
    else:
        assume(cheap.breakeven_requests_per_month is not None)
        assert cheap.breakeven_requests_per_month >= dear.breakeven_requests_per_month * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(base, st.floats(0, 1e8), st.floats(0, 1e6))
def test_payback_exists_exactly_when_savings_are_positive(b, volume, setup):
    report = analyze(parse(f"{scenario_text(b, volume)} setup={setup:.6g}"))
    assert (report.payback_months is not None) == (report.monthly_savings > 0)
    if report.payback_months is not None:
        assert report.payback_months * report.monthly_savings == __import__("pytest").approx(report.one_time_cost)
