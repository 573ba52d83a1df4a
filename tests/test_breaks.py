"""Four one-line breaks of the cost core that the suite once let through, each pinned by the
figure a user would have seen change. Every test here went red when its break was made.

1. break-even computed without the operations cost   (economics.crossings)
2. payback of exactly the horizon flipped BUY to RENT (verdict.cost_verdict, `<=` to `<`)
3. iter= ignored in the analysis                      (one_time.one_time_cost)
4. payback from the base one-time cost, not the multiplied one (analysis -> compare)
"""

import pytest

from costcore import analyze, parse
from costcore.economics import crossings, sweep
from costcore.scenario import CostModel
from costcore.verdict import cost_verdict


def run(text):
    return analyze(parse(text))


# 1. Break-even with the operations cost -------------------------------------------------------

# GPT-4o at 1,500 in + 200 out is $0.00575 a request; one A10G at the catalogue's $1.003/h (the median of
# two providers' always-on prices) is $732.19 a month; 5 h a month of operations at the default $100/h is $500 a month.
ISSUE = "volume=20M api=gpt-4o in=1500 out=200 gpu=a10g maint_h=5"


def test_breakeven_counts_the_operations_cost():
    report = run(ISSUE)
    assert report.cost_model.ops_monthly == 500.0
    # At 20M a month the load is carried for less by instances of 2 A10Gs ($1,464.38 a month each: more memory
    # for requests in flight); at the break-even volume one single-A10G instance carries it.
    assert report.cost_model.instance_monthly == pytest.approx(2 * 732.19)
    assert report.capacity.gpus_per_instance == 2
    assert report.selfhost_monthly_cost == pytest.approx(report.instances * 2 * 732.19 + 500.0)
    assert report.cost_model.selfhost_monthly(214_294) == pytest.approx(732.19 + 500.0)
    # (732.19 + 500) / 0.00575 = 214,294 a month; without the operations cost it was 127,337.
    assert round(report.breakeven_requests_per_month) == 214_294
    assert report.breakeven_tokens_per_month == pytest.approx(214_293.9130 * 1700)
    assert [(round(c.requests_per_month), c.direction) for c in report.crossings] == [(214_294, "buy_starts_paying")]


def test_breakeven_with_your_own_prices_and_operations():
    # $1/h x 730 h = $730 a month; 8 h x $150/h = $1,200 a month; $0.005 a request on the API.
    report = run("volume=1M api_per_1k=$5 gpu=a10g gpu_price=$1/h maint_h=8 rate=$150/h setup=0")
    assert report.breakeven_requests_per_month == pytest.approx((730 + 1200) / 0.005)  # 386,000
    assert report.selfhost_fixed_monthly == pytest.approx(1930)
    assert report.monthly_savings == pytest.approx(5000 - 1930)


def test_breakeven_on_a_per_token_host_counts_operations_and_oversight():
    # No servers: the fixed bill is the people alone, 4 h x $100 + $600 oversight = $1,000 a month.
    # The API costs $0.002 a request, the host 700 tokens x $0.20 / 1M = $0.00014.
    report = run("volume=1M api_per_1k=$2 host_price=0.2 maint_h=4 oversight=$600 setup=0")
    assert report.selfhost_variable_per_request == pytest.approx(0.00014)
    assert report.breakeven_requests_per_month == pytest.approx(1000 / (0.002 - 0.00014))


def test_crossings_of_a_staircase_include_the_operations_cost():
    model = CostModel(
        api_cost_per_request=0.001,
        selfhost_variable_per_request=0.0,
        instance_monthly=400.0,
        requests_per_instance=1_000_000.0,
        ha=False,
        ops_monthly=300.0,
        tokens_per_request=700.0,
    )
    found, cut = crossings(model, 5_000_000)
    assert not cut
    # 1 server: (400 + 300) / 0.001 = 700k; at 1M a second server is needed: 1,100 > 1,000 stops
    # paying; (800 + 300) / 0.001 = 1.1M starts again; from then on each server earns its keep.
    assert [(round(c.requests_per_month), c.direction, c.instances) for c in found] == [
        (700_000, "buy_starts_paying", 1),
        (1_000_000, "buy_stops_paying", 1),
        (1_100_000, "buy_starts_paying", 2),
    ]


# 2. Payback at exactly the horizon -----------------------------------------------------------

# $1 per 1,000 requests x 1M = $1,000 a month on the API, one $500 server: $500 a month saved;
# a $6,000 set-up pays back in 6,000 / 500 = 12.0 months, exactly the default horizon.
AT_HORIZON = "volume=1M api_per_1k=$1 server=$500 maint_h=0 setup=$6,000"


def test_payback_of_exactly_the_horizon_is_buy():
    report = run(AT_HORIZON)
    assert report.monthly_savings == 500.0
    assert report.payback_months == 12.0
    assert report.horizon_months == 12.0
    assert report.verdict == "BUY"
    assert report.recommended == "selfhost"
    assert report.headline == (
        "Buy: self-hosting saves $500.00 a month; pays back in 12.0 months; break-even at 500k requests a month"
    )


def test_payback_one_dollar_past_the_horizon_is_rent():
    report = run(AT_HORIZON.replace("$6,000", "$6,001"))
    assert report.payback_months == pytest.approx(12.002)
    assert report.verdict == "RENT"
    assert "beyond the 12-month horizon" in report.reasons[0]


def test_payback_of_exactly_a_longer_horizon_is_buy():
    report = run(AT_HORIZON.replace("$6,000", "$9,000") + " horizon=18")
    assert report.payback_months == 18.0
    assert report.verdict == "BUY"


@pytest.mark.parametrize(
    "savings, payback, horizon, verdict",
    [
        (500.0, 12.0, 12.0, "BUY"),
        (500.0, 12.000001, 12.0, "RENT"),
        (500.0, 0.0, 12.0, "BUY"),
        (0.0, None, 12.0, "RENT"),
        (-1.0, None, 12.0, "RENT"),
        (0.01, None, 12.0, "RENT"),  # no payback figure: never BUY on cost
        (-1.0, 1.0, 12.0, "RENT"),  # a loss never buys, whatever the payback says
    ],
)
def test_cost_verdict_at_its_boundaries(savings, payback, horizon, verdict):
    assert cost_verdict(savings, payback, horizon) == verdict


def test_sweep_buys_at_a_payback_of_exactly_the_horizon():
    out = sweep(
        requests=1_000_000,
        api_cost_per_request=0.001,
        selfhost_variable_per_request=0.0,
        instance_monthly=500.0,
        requests_per_instance=float("inf"),
        ha=0,
        ops_monthly=0.0,
        one_time=[6000.0, 6001.0],
        horizon=12.0,
    )
    assert out["payback"][0] == 12.0
    assert out["buy"].tolist() == [True, False]


# 3. iter= ----------------------------------------------------------------------------------------


def test_iter_multiplies_the_one_time_cost():
    report = run("volume=1M api_per_1k=$1 server=$500 maint_h=0 setup=$10,000 iter=3x")
    assert report.one_time_cost == 30_000.0
    assert report.one_time_range == (30_000.0, 30_000.0)
    assert report.iteration_multiplier == 3.0
    rework = next(line for line in report.hidden_costs if line.name == "Iteration (re-work)")
    assert rework.amount == 20_000.0
    assert report.payback_months == 60.0  # 30,000 / 500
    assert report.first_year_roi == pytest.approx((12 * 500 - 30_000) / 30_000)


def test_iter_multiplies_the_default_hours_too():
    # Default people's time: (102 + 36 + 13) h x $100 = $15,100, plus 5 runs x $50 = $250: $15,350.
    report = run("volume=1M iter=2x")
    assert report.one_time_cost == pytest.approx(2 * 15_350)
    assert report.one_time_range == pytest.approx((30_700, 30_700))


# 4. Payback from the multiplied one-time cost --------------------------------------------------


def test_payback_uses_the_one_time_cost_after_the_complexity_multiplier():
    # $10 per 1,000 x 1M = $10,000 a month against one $500 server: $9,500 a month saved.
    # $9,500 set-up x 5 (medium: 4-6x) = $47,500, paid back in 5.0 months, not 1.0.
    report = run("volume=1M api_per_1k=$10 server=$500 maint_h=0 setup=$9,500 complexity=medium")
    assert report.one_time_cost == 47_500.0
    assert report.one_time_range == (38_000.0, 57_000.0)
    assert report.payback_months == pytest.approx(5.0)
    assert report.first_year_roi == pytest.approx((12 * 9_500 - 47_500) / 47_500)
    assert report.sensitivity.base_net == pytest.approx(12 * 9_500 - 47_500)


def test_payback_under_complexity_novel_can_cross_the_horizon():
    # $9,500 x 9 (novel: 8-10x) = $85,500: 9.0 months; well-defined (2-3x, 2.5 used): 2.5 months.
    base = "volume=1M api_per_1k=$10 server=$500 maint_h=0 setup=$9,500"
    assert run(f"{base} complexity=novel").payback_months == pytest.approx(9.0)
    assert run(f"{base} complexity=well-defined").payback_months == pytest.approx(2.5)
    # $20,000 x 9 = $180,000 over $9,500 a month: 18.9 months, past the horizon: RENT.
    novel = run("volume=1M api_per_1k=$10 server=$500 maint_h=0 setup=$20,000 complexity=novel")
    assert novel.payback_months == pytest.approx(180_000 / 9_500)
    assert novel.verdict == "RENT"
    assert run("volume=1M api_per_1k=$10 server=$500 maint_h=0 setup=$20,000").verdict == "BUY"


def test_payback_with_default_complexity_uses_the_multiplied_cost():
    # No complexity given and no setup=: the default medium band (5x) applies to $15,350 of lines.
    report = run(ISSUE)
    assert report.one_time_cost == pytest.approx(76_750)
    assert report.payback_months == pytest.approx(76_750 / report.monthly_savings)
    # instances of 2 A10Gs at 20M a month (the cheaper split there)
    assert report.monthly_savings == pytest.approx(20e6 * 0.00575 - report.instances * 2 * 732.19 - 500)


def test_never_breaking_even_says_why_when_the_api_is_dearer_per_request():
    # Each request saves $0.0001, but a $400 server carries only 2.6M of them ($263): no volume pays.
    from costcore import analyze, parse

    report = analyze(parse("volume=1M api_per_1k=0.1 server=400 capacity=1qps maint_h=0"))
    assert report.breakeven_requests_per_month is None
    assert report.never_breaks_even == "each instance costs more than the requests it can carry save against the API"
    assert report.headline.endswith(f"buying never breaks even on cost ({report.never_breaks_even})")
    cheaper = analyze(parse("volume=1M api_per_1k=0.1 host_price=1"))
    assert cheaper.never_breaks_even == "the API is cheaper per request"
