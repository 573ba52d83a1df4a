"""The worked examples of docs/economics.md, reproduced to the cent through the grammar and the CLI's JSON."""

import json

import pytest

from breakeven.cli import main
from costcore import analyze, parse

cent = pytest.approx


def report_json(capsys, text):
    assert main(["analyze", *text.split(), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


# A. Cost per query, 500 input + 200 output tokens.
@pytest.mark.parametrize(
    "model, per_query, monthly",
    [("gpt-4o", 0.00325, 32.50), ("gpt-4o-mini", 0.000195, 1.95)],
)
def test_a_cost_per_query(capsys, model, per_query, monthly):
    data = report_json(capsys, f"volume=10,000/month in=500 out=200 api={model}")
    assert data["api_cost_per_request"] == pytest.approx(per_query, abs=1e-9)
    assert data["api_monthly_cost"] == cent(monthly, abs=0.005)
    assert any(a["key"] == "api" and "genai-prices" in a["source"] for a in data["assumptions"])


# B. Break-even with a staircase against GPT-4o-mini at $0.00020 a query; one $400 server
# carries up to ~2.6M queries a month (1 query/s), a second one is needed at 5M.
# "$20 training plus $1,000 set-up": one training run added to the team's own set-up total.
B = "api_per_1k=$0.20 server=$400/month capacity=1qps train=$20 runs=1 setup=$1,000 maint_h=0"


@pytest.mark.parametrize(
    "volume, api, selfhost, savings",
    [("50k", 10.00, 400.00, -390.00), ("500k", 100.00, 400.00, -300.00), ("5M", 1000.00, 800.00, 200.00)],
)
def test_b_staircase_bills(capsys, volume, api, selfhost, savings):
    data = report_json(capsys, f"volume={volume} {B}")
    assert data["api_monthly_cost"] == cent(api, abs=0.005)
    assert data["selfhost_monthly_cost"] == cent(selfhost, abs=0.005)
    assert data["monthly_savings"] == cent(savings, abs=0.005)


def test_b_payback_and_every_crossing(capsys):
    data = report_json(capsys, f"volume=5M {B}")
    assert data["one_time_cost"] == cent(1020.00, abs=0.005)
    assert data["payback_months"] == pytest.approx(5.1)
    assert data["verdict"] == "BUY"
    # $400 / $0.0002 = 2M: the first server pays from 2M queries; a second server is needed past
    # 1 qps (2.628M a month) and pays again from $800 / $0.0002 = 4M.
    crossings = [(round(c["requests_per_month"]), c["direction"]) for c in data["crossings"]]
    assert crossings[:3] == [
        (2_000_000, "buy_starts_paying"),
        (2_628_000, "buy_stops_paying"),
        (4_000_000, "buy_starts_paying"),
    ]
    assert data["breakeven_requests_per_month"] == cent(2_000_000)
    assert data["breakeven_tokens_per_month"] == cent(2_000_000 * 700)  # default 500 in + 200 out


def test_b_losing_side_has_no_payback(capsys):
    data = report_json(capsys, f"volume=50k {B}")
    assert data["payback_months"] is None
    assert data["verdict"] == "RENT"


# C. ROI against manual work.
def test_c_roi_against_manual_work(capsys):
    data = report_json(
        capsys,
        "volume=1000 manual_h=0.5 manual_rate=$50/h server=$800 maint_h=8 rate=$50/h oversight=$5,000 "
        "setup=$22,000 train=$500 runs=1",
    )
    manual = data["manual"]
    assert manual["manual_monthly_cost"] == cent(25_000.00, abs=0.005)
    assert manual["future_monthly_cost"] == cent(6_200.00, abs=0.005)
    assert manual["monthly_savings"] == cent(18_800.00, abs=0.005)
    assert 12 * manual["monthly_savings"] == cent(225_600.00, abs=0.005)
    assert data["one_time_cost"] == cent(22_500.00, abs=0.005)
    assert round(manual["payback_months"], 1) == 1.2
    assert round(manual["first_year_roi"] * 100) == 903
    assert data["verdict"] == "BUY"


# D. A task assistant: 10,000 tasks x 3 minutes by hand at $50/h.
def test_d_task_assistant(capsys):
    data = report_json(
        capsys,
        "volume=10000 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h "
        "data_h=80 eval_h=40 infra_h=20 train=$100 runs=1 iter=1x",
    )
    assert data["one_time_cost"] == cent(7_100.00, abs=0.005)
    assert data["selfhost_monthly_cost"] == cent(600.00, abs=0.005)
    manual = data["manual"]
    assert manual["manual_monthly_cost"] == cent(25_000.00, abs=0.005)
    assert manual["monthly_savings"] == cent(24_400.00, abs=0.005)
    assert round(manual["payback_months"], 2) == 0.29
    assert round(manual["first_year_roi"] * 100) == 4024
    assert data["headline"].startswith("Buy: self-hosting saves $24,400 a month")
    # The sensitivity weighs the same comparison: manual work, not an API the user never named.
    assert data["sensitivity"]["base_net"] == cent(12 * 24_400 - 7_100)
    what_ifs = {w["name"]: w["monthly_savings"] for w in data["sensitivity"]["what_ifs"]}
    assert what_ifs["Manual work -50%"] == cent(12_500 - 600)


# E. Failure-adjusted cost at 50,000 queries a month, a failure costing $0.50.
@pytest.mark.parametrize(
    "api, fail_api, api_bill, api_adjusted",
    [
        ("api_per_1k=$0.20", "40%", 10.00, 10.00 + 50_000 * 0.40 * 0.50),
        ("api_per_1k=$3.30", "5%", 165.00, 165.00 + 50_000 * 0.05 * 0.50),
    ],
)
def test_e_failure_adjusted(capsys, api, fail_api, api_bill, api_adjusted):
    data = report_json(
        capsys,
        f"volume=50k {api} server=$400 maint_h=0 setup=0 train=$20 runs=1 fail_api={fail_api} fail_ft=3% "
        "fail_cost=$0.50",
    )
    assert data["api_monthly_cost"] == cent(api_bill, abs=0.005)
    assert data["one_time_cost"] == cent(20.00, abs=0.005)
    failure = data["failure"]
    assert failure["api_monthly_cost"] == cent(api_adjusted, abs=0.005)
    assert failure["selfhost_monthly_cost"] == cent(400.00 + 50_000 * 0.03 * 0.50, abs=0.005)  # $1,150
    # The fine-tuned model stops paying when its failures eat the whole difference.
    limit = 0.03 + (failure["api_monthly_cost"] - failure["selfhost_monthly_cost"]) / (50_000 * 0.50)
    assert failure["breakeven_fail_ft"] == pytest.approx(min(limit, 1.0))


def test_e_cheap_model_failing_often_costs_more_than_a_dear_one():
    common = "volume=50k server=$400 maint_h=0 setup=0 train=$20 runs=1 fail_ft=3% fail_cost=$0.50"
    mini = analyze(parse(f"api_per_1k=$0.20 fail_api=40% {common}"))
    big = analyze(parse(f"api_per_1k=$3.30 fail_api=5% {common}"))
    assert mini.api_monthly_cost < big.api_monthly_cost
    assert mini.failure.api_monthly_cost > big.failure.api_monthly_cost
    assert mini.verdict == big.verdict == "BUY"
    assert "failures priced in" in mini.headline
