"""Properties that must hold for every scenario the grammar accepts.

The inputs are generated from the grammar's own key table: each key in `grammar.KEYS` has a
value strategy below, drawn within its fields' declared ranges (`grammar.field_range`) and
written in one of the units the key accepts, so almost every generated text parses (the share
is measured by `test_generated_scenarios_almost_all_parse`). A key added to the grammar without
a strategy here fails `test_every_key_has_a_strategy`.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costcore import GrammarError, analyze, parse
from costcore.grammar import EXCLUSIVE, KEYS, field_range
from costcore.scenario import Scenario
from costcore.serving import list_open_models
from costcore.templates import names as template_names
from costcore.verdict import cost_verdict

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# Value strategies, one a key, from the fields' ranges and the units each key reads.


def bounds(field: str) -> tuple[float, float, bool, bool]:
    """(low, high, low excluded, high excluded) of a Scenario field, from its declared range."""
    low, high = field_range(field)
    metadata = Scenario.model_fields[field].metadata
    low_open = any(getattr(m, "gt", None) is not None for m in metadata)
    high_open = any(getattr(m, "lt", None) is not None for m in metadata)
    return low, high, low_open, high_open


def _num(value: float) -> str:
    return repr(float(value)).removesuffix(".0")


def written(value: float, *, money: bool = False) -> st.SearchStrategy[str]:
    """The ways a person writes a number: 1500, 1,500, 1.5k, $1,500 (money), 1.5e3."""
    forms = [st.just(_num(value))]
    if value >= 1000 and value == int(value) and value < 1e15:
        forms.append(st.just(f"{int(value):,}"))
    if 1e3 <= value < 1e15 and "e" not in _num(value / 1e3):
        forms.append(st.just(f"{_num(value / 1e3)}k"))
    if 1e6 <= value < 1e15 and "e" not in _num(value / 1e6):
        forms.append(st.just(f"{_num(value / 1e6)}M"))
    text = st.one_of(*forms)
    return text.map(lambda t: f"${t}") | text if money else text


def magnitude(low: float, high: float, low_open: bool = False, high_open: bool = False) -> st.SearchStrategy[float]:
    """A value in the range, spread over its orders of magnitude (a uniform draw over 0-1e12
    would almost never give a small team's volume), edges included when they are allowed."""
    top = high * (1 - 1e-9) if high_open or high > 1 else high  # keep clear of the edge after unit conversion
    bottom = low + max(1e-9, abs(low) * 1e-9) if low_open else low
    values = [
        st.floats(bottom, top, allow_nan=False, allow_infinity=False),
        st.integers(math.ceil(bottom), math.floor(top)).map(float) if math.floor(top) >= math.ceil(bottom) else None,
        st.integers(0, 15)
        .map(lambda e: 10.0**e)
        .flatmap(lambda scale: st.floats(1, 9.99).map(lambda m: round(m, 2) * scale / 1e3))
        .map(lambda v: min(max(v, bottom), top)),
        st.sampled_from([v for v in (low, high) if (v != low or not low_open) and (v != high or not high_open)])
        if not (low_open and high_open)
        else None,
    ]
    return st.one_of(*[v for v in values if v is not None])


def amount(field: str, units: list[tuple[str, float]], *, money: bool = False) -> st.SearchStrategy[str]:
    """A number for `field` written in one of `units` (suffix, field value per unit)."""
    low, high, low_open, high_open = bounds(field)

    def in_unit(unit: tuple[str, float]) -> st.SearchStrategy[str]:
        suffix, factor = unit
        hi = min(high / factor, 1e99)
        return magnitude(low / factor, hi, low_open, high_open or factor != 1).flatmap(
            lambda v: written(v, money=money).map(lambda text: _join(text, suffix))
        )

    return st.sampled_from(units).flatmap(in_unit)


def _join(number_text: str, suffix: str) -> str:
    # "1.5k" then "h": a suffix glued to a letter reads as one word ("1.5kh"), so keep a space.
    return f"{number_text} {suffix}" if number_text[-1].isalpha() and suffix[:1].isalpha() else number_text + suffix


def share(field: str) -> st.SearchStrategy[str]:
    low, high, _, high_open = bounds(field)
    top = 99 if high_open else 100
    return st.one_of(
        st.integers(int(low * 100), top).map(lambda p: f"{p}%"),
        magnitude(low, high, high_open=high_open).map(_num),
    )


def count(field: str, suffixes: list[str]) -> st.SearchStrategy[str]:
    low, high, _, _ = bounds(field)
    return st.tuples(st.integers(int(low), int(high)), st.sampled_from(suffixes)).map(lambda p: f"{p[0]}{p[1]}")


FLAGS = ["yes", "no", "true", "false", "on", "off", "y", "n"]
API_MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-haiku", "claude-3-5-sonnet", "gemini-1.5-flash", "gpt-4.1-mini"]
GPUS = ["t4", "l4", "a10g", "rtx4090", "a100-40gb", "a100-80gb", "h100", "h200", "A100 80GB", "l40s", "h100-pcie"]
NUMBER_KINDS = ("count", "money", "time", "factor", "rate")


def from_key_table(name: str) -> st.SearchStrategy[str]:
    """A value of a number-valued key in one of the units the key table says it accepts (Key.units), so a
    unit added to a key is drawn here with no change to this file."""
    key = KEYS[name]
    strategies = []
    for field in dict.fromkeys(f for _, _, f in key.units):
        units = [(suffix, factor) for suffix, factor, f in key.units if f == field]
        if Scenario.model_fields[field].annotation in (int, int | None):
            strategies.append(count(field, [suffix for suffix, factor in units if factor == 1]))
        else:
            strategies.append(amount(field, units, money=key.kind == "money"))
    return st.one_of(*strategies)


def _api_price() -> st.SearchStrategy[str]:
    price = amount("api_price_in", [("", 1.0)], money=True)
    per = st.sampled_from(["", " per 1M", "/1M"])
    return st.one_of(
        st.tuples(price, price, per).map(lambda p: f"{p[0]}/{p[1]}{p[2]}"),
        st.tuples(price, price, price).map(lambda p: f"{p[0]}/{p[1]}/{p[2]}"),
        st.tuples(price, per).map("".join),
    )


def _params() -> st.SearchStrategy[str]:
    low, high, _, _ = bounds("params_b")
    billions = st.floats(0.001, high).map(lambda v: f"{v:.3f}".rstrip("0").rstrip(".") + "B")
    millions = st.integers(1, 999).map(lambda v: f"{v}M")
    whole = st.integers(1, int(high)).map(lambda v: f"{v}B")
    return st.one_of(billions, millions, whole).filter(lambda t: not re.fullmatch(r"0B", t))


VALUES: dict[str, st.SearchStrategy[str]] = {
    name: from_key_table(name) for name, key in KEYS.items() if key.kind in NUMBER_KINDS and key.units
}
VALUES |= {
    "prompt_cut": share("prompt_cut"),
    "cached": share("cached_share"),
    "api": st.sampled_from(API_MODELS),
    "api_price": _api_price(),
    "gpu": st.sampled_from(GPUS),
    # tensor parallelism: the field's validator takes 1, 2, 4 or 8 within its 1-8 range
    "gpus": st.tuples(st.sampled_from([1, 2, 4, 8]), st.sampled_from(["", " gpus", "x"])).map(
        lambda p: f"{p[0]}{p[1]}"
    ),
    "ha": st.sampled_from(FLAGS),
    "uptime": st.sampled_from(["99.9%", "99.99%", "99%", "95%", "0.999"]),
    "params": _params(),
    "bits": st.sampled_from(["4", "8", "16", "int8", "fp16", "bf16", "q4", "8bit"]),
    "base": st.sampled_from([m.id for m in list_open_models()] + ["meta-llama/llama-3.1-8b-instruct", "Qwen2.5-7B"]),
    "streaming": st.sampled_from(FLAGS),
    "complexity": st.sampled_from(["well-defined", "medium", "novel", "simple", "complex", "well_defined"]),
    "fail_api": share("fail_api"),
    "fail_ft": share("fail_ft"),
    "privacy": st.sampled_from(FLAGS),
    "task": st.sampled_from(["narrow", "mixed", "varied", "reasoning", "open-ended"]),
    "measured": st.sampled_from(["support-bot-nov", "bench1", "h100-run"]),
    "use": st.sampled_from(template_names()),
    "growth": st.one_of(
        st.integers(int(bounds("growth")[0] * 100), int(bounds("growth")[1] * 100)).map(lambda p: f"{p}%/month"),
        magnitude(0, bounds("growth")[1]).map(lambda v: f"{_num(v)}/month"),
        st.sampled_from(["0", "3x/year", "0.5x/year", "2x/year", "-5% a month", "1%/week"]),
    ),
    "billing": st.sampled_from(["always-on", "on-demand", "reserved-1y", "reserved-3y", "spot", "serverless", "owned"]),
    "profile": st.one_of(
        st.sampled_from(["24x7", "business-hours", "weekdays", "office-hours"]),
        st.integers(1, 24).map(lambda h: f"{h}h/day"),
    ),
    "autoscale": st.sampled_from(FLAGS),
    "residual": share("residual"),
    "batch": st.one_of(st.sampled_from(FLAGS), share("batch_share")),
    "tier": st.sampled_from(["standard", "flex", "priority"]),
    "cache_write": share("cache_write_share"),
}


def test_every_key_has_a_strategy():
    assert set(VALUES) == set(KEYS)


def _conflicts(a: str, b: str) -> bool:
    return any({a, b} <= group.keys() for group in EXCLUSIVE)


@st.composite
def scenario_values(draw, *, required: tuple[str, ...] = (), excluded: tuple[str, ...] = ()) -> dict[str, str]:
    """{key: value text} for a handful of keys that may be given together."""
    names = draw(st.lists(st.sampled_from(sorted(set(KEYS) - set(excluded))), unique=True, max_size=12))
    chosen: list[str] = list(required)
    for name in names:
        if name not in chosen and not any(_conflicts(name, other) for other in chosen):
            chosen.append(name)
    return {name: draw(VALUES[name]) for name in chosen}


def text(values: dict[str, str]) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


def analysed(values: dict[str, str]):
    """The report, or None (and a check that the rejection names a key) when the core refuses."""
    try:
        return analyze(parse(text(values)))
    except GrammarError as exc:
        assert exc.key, text(values)
        return None


# ---------------------------------------------------------------------------------------------
# Generated input parses, and rejected input is always a GrammarError that names a key.


def test_generated_scenarios_almost_all_parse():
    tally = {"parsed": 0, "analysed": 0, "total": 0}

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
    @given(scenario_values())
    def draw(values):
        tally["total"] += 1
        try:
            scenario = parse(text(values))
        except GrammarError as exc:
            assert exc.key in KEYS, (text(values), str(exc))
            return
        tally["parsed"] += 1
        try:
            analyze(scenario)
        except GrammarError as exc:
            assert exc.key in KEYS, (text(values), str(exc))
            return
        tally["analysed"] += 1

    draw()
    print(f"\nparsed {tally['parsed']}/{tally['total']}, analysed {tally['analysed']}/{tally['total']}")
    assert tally["parsed"] >= 0.95 * tally["total"]
    assert tally["analysed"] >= 0.8 * tally["total"]


@pytest.mark.parametrize("key", sorted(KEYS))
def test_each_key_alone_parses_to_its_own_fields(key):
    @settings(max_examples=10, deadline=None, database=None)
    @given(VALUES[key])
    def check(value):
        scenario = parse(f"{key}={value}")
        given_fields = {f for f in Scenario.model_fields if getattr(scenario, f) not in (None, {})}
        assert given_fields and given_fields <= set(KEYS[key].fields), (value, given_fields)

    check()


numbers = st.one_of(
    st.integers(min_value=0, max_value=10**9).map(str),
    st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:.4g}"),
    st.sampled_from(["10k", "2.5M", "$1,200", "80%", "0", "1", "3x", "0.5", "1B", "150ms", "3min", "-1", "1e999"]),
)
suffixes = st.sampled_from(["", "/day", "/month", "/h", " tokens/day", "qps", "tok/s", "%", "h", "x", "/fortnight"])
words = st.sampled_from(["yes", "no", "medium", "novel", "narrow", "varied", "gpt-4o", "a10g", "nope", "gtp-4o"])
any_values = st.one_of(st.tuples(numbers, suffixes).map("".join), words)
any_texts = st.lists(st.tuples(st.sampled_from(sorted(KEYS) + ["volumes", "gpu_prize"]), any_values), max_size=8)


@MANY
@given(any_texts)
def test_any_key_value_text_is_answered_or_refused_naming_a_key(pairs):
    given_text = " ".join(f"{k}={v}" for k, v in pairs)
    try:
        report = analyze(parse(given_text))
    except GrammarError as exc:
        assert exc.key, given_text
        named = {k for k, _ in pairs}
        assert exc.key in KEYS or exc.key in named, (given_text, exc.key)
        return
    assert_all_finite(report.model_dump(mode="json"))


def assert_all_finite(node, path="report"):
    if isinstance(node, float):
        assert math.isfinite(node), path
    elif isinstance(node, dict):
        for key, value in node.items():
            assert_all_finite(value, f"{path}.{key}")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            assert_all_finite(value, f"{path}[{i}]")
    else:
        assert node is None or isinstance(node, str | int | bool), (path, node)


# ---------------------------------------------------------------------------------------------
# Consistency: every figure on a report agrees with the others.


@MANY
@given(scenario_values())
def test_every_report_is_finite_and_consistent(values):
    report = analysed(values)
    assume(report is not None)
    assert_all_finite(report.model_dump(mode="json"))
    model, requests = report.cost_model, report.requests_per_month
    savings, payback, one_time = report.monthly_savings, report.payback_months, report.one_time_cost
    selfhost = next(o for o in report.options if o.option == "selfhost")
    baseline = next(o for o in report.options if o.option == report.baseline)
    close = {"rel": 1e-9, "abs": 1e-9}

    # The bills are the cost model's functions at the report's volume.
    assert report.baseline_monthly_cost == baseline.monthly_cost_adjusted
    assert report.baseline_monthly_cost == pytest.approx(model.api_monthly(requests), **close)
    assert selfhost.monthly_cost_adjusted == pytest.approx(model.selfhost_monthly(requests), **close)
    assert report.selfhost_monthly_cost == selfhost.monthly_cost
    assert report.instances == model.instances(requests)
    if report.api_monthly_cost is not None:
        assert report.api_monthly_cost == pytest.approx(requests * report.api_cost_per_request, **close)
    assert report.tokens_per_month == pytest.approx(requests * model.tokens_per_request, **close)
    assert sum(line.amount for line in report.selfhost_lines) == pytest.approx(report.selfhost_monthly_cost, **close)

    # Savings, payback and ROI.
    assert savings == pytest.approx(report.baseline_monthly_cost - selfhost.monthly_cost_adjusted, **close)
    assert (payback is None) == (savings <= 0)
    if payback is not None:
        assert payback * savings == pytest.approx(one_time, rel=1e-9, abs=1e-6)
        assert payback >= 0
    if one_time >= 0.01:
        assert report.first_year_roi == pytest.approx((12 * savings - one_time) / one_time, rel=1e-9, abs=1e-12)
    else:
        assert report.first_year_roi is None
    if report.growth is None:
        assert report.sensitivity.base_net == pytest.approx(12 * savings - one_time, rel=1e-9, abs=1e-6)
    elif report.growth.totals_12 is not None:  # with growth= the first year is counted along the path
        assert report.sensitivity.base_net == pytest.approx(report.growth.totals_12.net, rel=1e-9, abs=1e-6)
    low, high = report.one_time_range
    assert low <= one_time * (1 + 1e-12) and one_time <= high * (1 + 1e-12)

    # Break-even: buying starts to pay where the two bills meet.
    starts = [c.requests_per_month for c in report.crossings if c.direction == "buy_starts_paying"]
    assert report.breakeven_requests_per_month == (starts[0] if starts else None)
    for crossing in report.crossings:
        x = crossing.requests_per_month
        assert crossing.instances == model.instances(x)
        if crossing.direction == "buy_starts_paying":
            assert model.api_monthly(x) == pytest.approx(model.selfhost_monthly(x), rel=1e-6, abs=1e-6)
    assert [c.requests_per_month for c in report.crossings] == sorted(c.requests_per_month for c in report.crossings)

    # The verdict agrees with the comparison: on today's bills, or with growth= on the month-by-month path.
    if report.growth is None:
        cost = cost_verdict(savings, payback, report.horizon_months)
    else:
        path = report.growth.payback_months
        cost = "BUY" if path is not None and path <= report.horizon_months else "RENT"
    if report.verdict == "BUY":
        assert cost == "BUY" or not baseline.meets_constraints, (values, cost)
        assert selfhost.meets_constraints or not any(o.meets_constraints for o in report.options)
    if all(o.meets_constraints for o in report.options) and report.verdict != "HYBRID":
        assert report.verdict == cost
    if not selfhost.meets_constraints and any(o.meets_constraints for o in report.options):
        assert report.verdict == "RENT"
    assert report.recommended == {"BUY": "selfhost", "HYBRID": "split", "RENT": report.baseline}[report.verdict]


# ---------------------------------------------------------------------------------------------
# Monotonicity: moving one input one way never moves the answer the other way.


@FAST
@given(scenario_values(excluded=("tokens",)), st.floats(0, 1e9), st.floats(1.0, 100.0))
def test_more_volume_never_lowers_the_api_bill(values, volume, factor):
    values.pop("volume", None)
    low = analysed({**values, "volume": f"{_num(volume)}"})
    high = analysed({**values, "volume": f"{_num(volume * factor)}"})
    assume(low is not None and high is not None)
    if low.api_monthly_cost is not None:
        assert high.api_monthly_cost >= low.api_monthly_cost
    assert high.baseline_monthly_cost >= low.baseline_monthly_cost or high.baseline != low.baseline


@FAST
@given(
    scenario_values(excluded=("server", "host_price")),
    st.floats(0.01, 50.0),
    st.floats(1.0, 20.0),
)
def test_a_higher_gpu_price_never_lowers_the_selfhost_cost(values, price, factor):
    cheap = analysed({**values, "gpu_price": f"${_num(price)}/h"})
    dear = analysed({**values, "gpu_price": f"${_num(price * factor)}/h"})
    assume(cheap is not None and dear is not None)
    assert dear.selfhost_monthly_cost >= cheap.selfhost_monthly_cost
    assert dear.monthly_savings <= cheap.monthly_savings + 1e-9 * abs(cheap.monthly_savings)


@FAST
@given(scenario_values(excluded=("gpus",)), st.sampled_from([1, 2, 4, 8]), st.integers(0, 20_000), st.integers(0, 20_000))  # noqa: E501
def test_more_output_tokens_never_raise_the_requests_an_instance_of_a_given_size_serves(values, gpus, out_a, out_b):
    # Per instance of a given size: with the size left to the sizing, a longer request can need a bigger instance
    # (ft_in=474860 out=5018 took 4 A10Gs, out=16016 took 8, which served a hair more requests in all).
    values = {**values, "gpus": str(gpus)}
    shorter = analysed({**values, "out": str(min(out_a, out_b))})
    longer = analysed({**values, "out": str(max(out_a, out_b))})
    assume(shorter is not None and longer is not None)
    a, b = shorter.cost_model.requests_per_instance, longer.cost_model.requests_per_instance
    assert (a is None) == (b is None)
    if a is not None:
        assert b <= a * (1 + 1e-12)
        if longer.requests_per_month == shorter.requests_per_month:  # tokens= volume: fewer, longer requests
            assert longer.instances >= shorter.instances


@MANY
@given(scenario_values(required=("base", "in")) | scenario_values())
def test_no_sizing_and_no_suggestion_breaks_the_models_context_window(values):
    try:
        report = analyze(parse(text(values)))
    except GrammarError as exc:
        assert exc.key, text(values)
        # What the message proposes, applied to the scenario, sizes a request within the window (or fails on
        # something else, which names its own key).
        proposed = {**values, **dict(p.split("=", 1) for p in exc.example.split() if "=" in p)}
        if "ft_in" in proposed:
            proposed.pop("prompt_cut", None)
        report = analysed(proposed)
    if report is not None and report.capacity is not None:
        c = report.capacity
        assert c.in_tokens + c.out_tokens <= c.context_tokens, text(values)


@FAST
@given(scenario_values(excluded=("api", "api_per_1k")), st.floats(0.01, 30), st.floats(0.01, 60), st.floats(1, 50))
def test_a_dearer_api_never_makes_buying_look_worse(values, price_in, price_out, factor):
    cheap = analysed({**values, "api_price": f"{_num(price_in)}/{_num(price_out)}"})
    dear = analysed({**values, "api_price": f"{_num(price_in * factor)}/{_num(price_out * factor)}"})
    assume(cheap is not None and dear is not None)
    assert dear.monthly_savings >= cheap.monthly_savings - 1e-9 * abs(cheap.monthly_savings)
    if cheap.verdict in ("BUY", "HYBRID"):
        assert dear.verdict == cheap.verdict
    if cheap.payback_months is not None:
        assert dear.payback_months <= cheap.payback_months * (1 + 1e-9)
    if dear.baseline == cheap.baseline and cheap.breakeven_requests_per_month is not None:
        assert dear.breakeven_requests_per_month <= cheap.breakeven_requests_per_month * (1 + 1e-9)


# ---------------------------------------------------------------------------------------------
# Units: the same quantity written in another unit gives the same report.


def assert_same_report(a, b, rel=1e-9):
    def walk(x, y, path):
        if isinstance(x, float) or isinstance(y, float):
            assert x == pytest.approx(y, rel=rel, abs=1e-9), path
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), path
            for key in x:
                walk(x[key], y[key], f"{path}.{key}")
        elif isinstance(x, list | tuple):
            assert len(x) == len(y), path
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                walk(u, v, f"{path}[{i}]")
        else:
            assert x == y, path

    walk(a.model_dump(mode="json"), b.model_dump(mode="json"), "report")


@FAST
@given(scenario_values(excluded=("tokens",)), st.integers(1, 10**7))
def test_volume_a_day_is_365_12ths_of_a_month(values, per_day):
    values.pop("volume", None)
    daily = parse(text({**values, "volume": f"{per_day}/day"}))
    monthly = parse(text({**values, "volume": f"{_num(per_day * 365 / 12)}/month"}))
    assert daily.requests_per_month == pytest.approx(per_day * 365 / 12, rel=1e-12)
    assert daily.requests_per_month == pytest.approx(monthly.requests_per_month, rel=1e-12)
    a, b = analysed({**values, "volume": f"{per_day}/day"}), analysed({**values, "volume": f"{per_day * 365 / 12!r}"})
    assume(a is not None and b is not None)
    assert a.baseline_monthly_cost == pytest.approx(b.baseline_monthly_cost, rel=1e-9)
    assert a.monthly_savings == pytest.approx(b.monthly_savings, rel=1e-9, abs=1e-6)
    assert a.verdict == b.verdict


@FAST
@given(scenario_values(), st.integers(1, 1250))
def test_a_day_rate_is_eight_working_hours(values, hourly):
    # rate=$800/day is rate=$100/h: the same report, to the last digit.
    by_day = analysed({**values, "rate": f"${hourly * 8}/day"})
    by_hour = analysed({**values, "rate": f"${hourly}/h"})
    assert (by_day is None) == (by_hour is None)
    assume(by_day is not None)
    assert by_day.model_dump() == by_hour.model_dump()


@FAST
@given(scenario_values(), st.integers(1, 250), st.sampled_from(["rate", "manual_rate"]))
def test_a_week_rate_is_forty_working_hours(values, hourly, key):
    by_week = analysed({**values, key: f"${hourly * 40:,}/week"})
    by_hour = analysed({**values, key: f"${hourly}/h"})
    assert (by_week is None) == (by_hour is None)
    assume(by_week is not None)
    assert_same_report(by_week, by_hour)


def test_the_examples_of_the_issue():
    assert parse("rate=$800/day").rate == parse("rate=$100/h").rate == 100
    assert parse("rate=$4,000/week").rate == 100
    assert parse("volume=1000/day").requests_per_month == pytest.approx(1000 * 365 / 12)
    base = "volume=1M api=gpt-4o gpu=a10g data_h=50 maint_h=6"
    assert analyze(parse(f"{base} rate=$800/day")).model_dump() == analyze(parse(f"{base} rate=$100/h")).model_dump()


# ---------------------------------------------------------------------------------------------
# Prices as they are paid: the API's batch price and an autoscaled fleet only ever save money.


@FAST
@given(scenario_values(excluded=("batch",)), st.integers(1, 100))
def test_batch_never_raises_the_api_bill(values, percent):
    plain = analysed(values)
    batched = analysed({**values, "batch": f"{percent}%"})
    assume(plain is not None and batched is not None)
    if plain.api_monthly_cost is not None:
        assert batched.api_monthly_cost <= plain.api_monthly_cost * (1 + 1e-12) + 1e-12


@FAST
@given(
    scenario_values(excluded=("autoscale", "billing", "server", "host_price")),
    st.sampled_from(["business-hours", "weekdays", "8h/day", "24x7"]),
)
def test_autoscale_never_raises_the_selfhost_bill_of_the_fixed_fleet(values, profile):
    values.pop("active", None)
    fixed = analysed({**values, "profile": profile})
    scaled = analysed({**values, "profile": profile, "autoscale": "yes"})
    assume(fixed is not None and scaled is not None)
    assert scaled.selfhost_monthly_cost <= fixed.selfhost_monthly_cost * (1 + 1e-9) + 1e-9
    assert scaled.api_monthly_cost == fixed.api_monthly_cost


# ---------------------------------------------------------------------------------------------
# The draws themselves: a property draws the same examples whatever else the run loaded.


def test_a_property_draws_the_same_examples_whatever_modules_the_run_has_loaded(tmp_path, monkeypatch):
    drawn: list[tuple[int, float]] = []

    @settings(derandomize=True, database=None, max_examples=60)
    @given(st.integers(0, 10**7), st.floats(0, 1e7))
    def collect(whole, real):
        drawn.append((whole, real))

    collect()
    before = list(drawn)
    # A new project module full of literals, as when another test file imports bot/ or the charts.
    (tmp_path / "breakeven_constants_bait.py").write_text(
        "BAIT = [1234567, 7654321, 2345678.5, 8765432.25, 3456789, 9876543.125]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("breakeven_constants_bait")
    drawn.clear()
    collect()
    assert drawn == before


# ---------------------------------------------------------------------------------------------
# One reading of where the volume stands: every sentence agrees with the savings and the growth.


@MANY
@given(scenario_values(required=("volume",)) | scenario_values(required=("volume", "growth")))
def test_the_next_step_never_contradicts_the_savings_or_the_direction_of_growth(values):
    report = analysed(values)
    assume(report is not None)
    standing, step, savings = report.standing, report.next_step, report.monthly_savings
    rate = report.growth.rate_per_month if report.growth is not None else None
    assert step.standing == standing.where
    assert (standing.where == "past") == (savings > 0), (text(values), standing.where, savings)
    if "past the break-even" in step.action:
        assert savings > 0
    if rate is not None and rate < 0:
        assert step.situation != "near", (text(values), step.action)  # no test on a volume in decline
        assert "At this growth buying starts paying" not in step.action
    if "At this growth buying starts paying in month" in step.action:
        assert rate is not None and rate > 0 and report.growth.first_paying_month <= report.horizon_months
    if standing.where == "between":
        assert "buying paid between" in report.headline or report.verdict != "RENT" or "rules out" in report.headline
        assert standing.paid_from < standing.paid_until <= report.requests_per_month
    if standing.where == "below" and standing.breakeven is not None:
        assert standing.breakeven >= report.requests_per_month
    if standing.where in ("moving_away", "never") or (rate is not None and rate < 0 and savings <= 0):
        assert step.situation in ("far", "buy")


@st.composite
def staircases(draw):
    """A server that barely pays for the requests it carries, at a volume anywhere on its staircase, so that the
    volume often sits between two crossings (buying paid below it and pays again above)."""
    qps = draw(st.sampled_from([0.05, 0.1, 0.3, 1.0]))
    per_request = draw(st.sampled_from([0.5, 1, 2]))  # $ per 1,000 requests on the API
    carried = qps * 730 * 3600
    server = round(carried * per_request / 1000 * draw(st.floats(0.5, 0.99)), 2)
    volume = round(carried * draw(st.floats(0.2, 6.0)))
    growth = draw(st.sampled_from(["", " growth=-5%/month", " growth=5%/month", " growth=20%/month"]))
    return (
        f"volume={volume} api_per_1k={per_request} server={server} capacity={qps}qps maint_h=0 setup=0 runs=1"
        f" train=100{growth}"
    )


@MANY
@given(staircases())
def test_on_a_staircase_the_next_step_follows_where_the_volume_stands(text_):
    report = analyze(parse(text_))
    standing, step, savings = report.standing, report.next_step, report.monthly_savings
    assert (standing.where == "past") == (savings > 0), text_
    if "past the break-even" in step.action:
        assert savings > 0, text_
    if standing.where == "between" and report.verdict == "RENT":
        assert "buying paid between" in report.headline and "past the break-even" not in step.action
        again = standing.pays_again_from
        assert again is None or report.cost_model.selfhost_monthly(again * 1.0001) < report.cost_model.api_monthly(
            again * 1.0001
        )
    if report.growth is not None and report.growth.rate_per_month < 0:
        assert step.situation != "near", text_


def test_the_issue_example_between_two_crossings():
    report = analyze(parse("volume=300k api_per_1k=1 server=250 capacity=0.1qps maint_h=0 setup=0"))
    assert report.monthly_savings < 0 and report.standing.where == "between"
    assert "past the break-even" not in report.next_step.action
    assert report.headline.endswith(
        "buying paid between 250k and 263k requests a month, not at today's volume, and pays again from 500k"
    )
    assert "within a factor of 2 of the next crossing, where buying pays again (500k" in report.next_step.action


# ---------------------------------------------------------------------------------------------
# Every input moves the report or is answered with a note, in any scenario; and a note that says an input is
# not used is true: changing that input moves nothing.


def _outputs(report) -> dict:
    data = report.model_dump(mode="json")
    for listing in ("assumptions", "notes"):
        data.pop(listing)
    if data["next_step"]:
        data["next_step"].pop("commands")  # they quote the analysis as typed
    return data


def _catalogue_id(field: str, name: str) -> str:
    """The catalogue entry a name resolves to: gpu=A100 80GB and gpu=a100-80gb are one GPU."""
    from costcore.prices import find_gpu
    from costcore.serving import find_open_model

    resolve = {"gpu": lambda n: find_gpu(n).id, "base_model": lambda n: find_open_model(n).id}.get(field)
    try:
        return resolve(name) if resolve else name
    except ValueError:
        return name


def _same_figures(a: dict, b: dict) -> bool:
    """The same figures, or ones no report could tell apart (1e-244 tokens and none, two names of one GPU)."""
    if a.keys() != b.keys():
        return False
    for field, x in a.items():
        y = b[field]
        if isinstance(x, float | int) and not isinstance(x, bool):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif _catalogue_id(field, x) != _catalogue_id(field, y) if isinstance(x, str) else x != y:
            return False
    return True


@MANY
@given(scenario_values(), st.data())
def test_changing_an_input_moves_the_report_or_a_note_says_why_not(values, data):
    assume(values)
    key = data.draw(st.sampled_from(sorted(values)))
    other = data.draw(VALUES[key])
    try:
        a = parse(f"{key}={values[key]}", check_names=False).model_dump(exclude_none=True)
        b = parse(f"{key}={other}", check_names=False).model_dump(exclude_none=True)
    except GrammarError:
        a = b = {}
    assume(not _same_figures(a, b))
    before, after = analysed(values), analysed({**values, key: other})
    assume(before is not None and after is not None)
    if key in ("volume", "tokens"):  # 0 requests and 0 tokens are the same volume, written two ways
        assume(before.requests_per_month != after.requests_per_month)
    if key == "api_price":  # $0 blended and $0/$0 are the same price, written two ways
        assume(before.api_cost_per_request != after.api_cost_per_request)
    moved = _outputs(before) != _outputs(after)
    said = [n for n in after.notes if f"`{key}=`" in n or f"{key}= " in n or f" {key}=" in n]
    assert moved or said, f"{text(values)}: {key}={other} instead changed nothing and no note says why"
    for report in (before, after):
        for note in report.notes:
            if note.startswith(f"`{key}=` is not used"):
                assert not moved, f"{text(values)} / {key}={other}: a note says {key}= is not used, yet it moved"


@MANY
@given(scenario_values(excluded=("latency",)))
def test_a_row_with_figures_on_both_sides_favours_the_faster_by_a_clear_margin(values):
    report = analysed(values)
    assume(report is not None and report.factors)
    row = next(f for f in report.factors if f.factor == "Latency")
    assert row.api_figure is not None and row.selfhost_figure is not None, text(values)
    ratio = row.selfhost_figure / row.api_figure
    expected = "api" if ratio >= 1.5 else "selfhost" if ratio <= 1 / 1.5 else "neither"
    assert row.favours == expected, (text(values), ratio)
