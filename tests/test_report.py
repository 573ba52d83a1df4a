"""One report that never contradicts itself: every figure from one comparison, one set of defaults,
every input used or answered with a note, units and limits a finance reader can trust."""

import json
import subprocess
import sys

import pytest

from costcore import GrammarError, analyze, parse
from costcore.audit import AuditInput, audited_scenario, run_audit
from costcore.grammar import EXCLUSIVE, KEYS
from costcore.text import render


def run(text):
    return analyze(parse(text))


def selfhost(report):
    return next(o for o in report.options if o.option == "selfhost")


# --- one comparison drives every number ----------------------------------------------------


FAILURES = "volume=50k api=gpt-4o-mini fail_api=40% fail_ft=3% fail_cost=$1 gpu=a10g"


def test_priced_failures_tell_one_story_in_headline_numbers_sensitivity_and_break_even():
    r = run(FAILURES)
    base, buy = r.baseline_monthly_cost, selfhost(r).monthly_cost_adjusted
    # The API's bill with 40% of 50k requests failing at $1 each; self-hosting's with 3%.
    assert base == pytest.approx(r.api_monthly_cost + 50_000 * 0.40 * 1)
    assert buy == pytest.approx(r.selfhost_monthly_cost + 50_000 * 0.03 * 1)
    assert r.monthly_savings == pytest.approx(base - buy) and r.monthly_savings > 0
    assert r.verdict == "BUY"
    assert f"saves ${r.monthly_savings:,.0f} a month" in r.headline and "failures priced in" in r.headline
    assert r.payback_months == pytest.approx(r.one_time_cost / r.monthly_savings)
    assert r.first_year_roi == pytest.approx((12 * r.monthly_savings - r.one_time_cost) / r.one_time_cost)
    assert r.sensitivity.base_net == pytest.approx(12 * r.monthly_savings - r.one_time_cost)
    # The break-even volume is where the failure-adjusted bills meet.
    m = r.cost_model
    assert m.api_monthly(r.breakeven_requests_per_month) == pytest.approx(
        m.selfhost_monthly(r.breakeven_requests_per_month)
    )
    assert r.breakeven_requests_per_month < 50_000
    assert r.failure.monthly_savings == pytest.approx(r.monthly_savings)


def test_manual_work_without_an_api_is_compared_with_self_hosting_only():
    r = run("volume=10000 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h")
    assert r.baseline == "manual"
    assert [o.option for o in r.options] == ["selfhost", "manual"]
    assert r.api_monthly_cost is None and r.api_price is None
    assert r.baseline_monthly_cost == pytest.approx(25_000)
    assert r.monthly_savings == pytest.approx(25_000 - 600)
    assert r.payback_months == pytest.approx(r.one_time_cost / r.monthly_savings)
    assert "by hand" in r.compared and "no API was named" in r.compared
    assert r.sensitivity.what_ifs[0].name == "Manual work -50%"



def test_against_work_by_hand_the_whole_report_counts_tasks():
    text = render(run("volume=10000 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h"))
    assert "break-even at 2" in text.splitlines()[0] and "tasks a month" in text.splitlines()[0]
    assert "  Volume                 10k tasks a month" in text
    assert "requests a month" not in text and "a request)" not in text and "($0.06 a task)" in text
    api = render(run("volume=10000 api=gpt-4o-mini server=$400 maint_h=4"))
    assert "  Volume                 10k requests a month" in api and "tasks" not in api

def test_with_an_api_named_too_all_three_are_compared_and_the_cheapest_is_the_baseline():
    text = "volume=10000 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h api=gpt-4o-mini"
    r = run(text)
    assert [o.option for o in r.options] == ["api", "selfhost", "manual"]
    # gpt-4o-mini does 10k requests for about $2: buying is weighed against it, not against people.
    assert r.baseline == "api"
    assert r.baseline_monthly_cost == pytest.approx(r.api_monthly_cost)
    assert r.verdict == "RENT" and r.recommended == "api"
    assert "API, self-hosting and doing the work by hand" in r.compared


def test_buying_is_never_recommended_over_a_cheaper_option_that_meets_the_constraints():
    # With privacy=yes the API is out; people by hand remain, and they are cheaper than a GPU server here.
    r = run("volume=100 manual_h=1min manual_rate=$30/h api=gpt-4o privacy=yes gpu=h100 maint_h=10")
    api = next(o for o in r.options if o.option == "api")
    assert not api.meets_constraints and "privacy" in api.ruled_out_by[0]
    assert r.baseline == "manual"
    assert r.verdict == "RENT" and r.recommended == "manual"
    assert r.headline.startswith("Keep doing it by hand")


def test_analyze_and_audit_agree_on_the_one_time_cost():
    r = run("volume=1M")
    audit = run_audit(AuditInput())
    assert r.one_time_cost == pytest.approx(audit.realistic_mid)
    assert r.one_time_range == pytest.approx((audit.realistic_low, audit.realistic_high))
    assert r.one_time_range == pytest.approx((61_400, 92_100))
    ops = next(line for line in r.selfhost_lines if line.name == "Operations")
    assert ops.amount == pytest.approx(audit.ops_monthly_cost)
    # And after an audit with other answers, the re-run analysis carries exactly the audited figures.
    answers = AuditInput(complexity="novel", rate=80, runs=8, hours={"collect_h": 5})
    audited = analyze(audited_scenario(parse("volume=1M"), answers))
    assert audited.one_time_cost == pytest.approx(run_audit(answers).realistic_mid)


def test_setup_is_the_whole_one_time_cost_unless_training_runs_are_given_too():
    whole = run("volume=1M setup=$12,000")
    assert whole.one_time_cost == pytest.approx(12_000)
    assert any("taken as your one-time total" in n for n in whole.notes)
    with_runs = run("volume=1M setup=$12,000 train=$40")
    assert with_runs.one_time_cost == pytest.approx(12_000 + 5 * 40)  # the default 5 runs are added
    assert any("training run(s) at $40.00: they are added to your total" in n for n in with_runs.notes)
    assert run("volume=1M setup=$12,000 complexity=well-defined").one_time_cost == pytest.approx(12_000 * 2.5)


# --- every input changes the result or is answered with a note ----------------------------

BASE = {"volume": "2M/month", "api": "gpt-4o", "gpu": "l40s"}
# A value for each key that differs from its default (the key table's example is sometimes the default).
WALK = {key.name: key.example.split("=", 1)[1] for key in KEYS.values()}
WALK.update(
    api="claude-3-5-haiku",
    gpu="h100",
    billing="spot",
    task="varied",
    complexity="novel",
    bits="8",
    params="3B",
    peak="4x",
    measured="nov-run",
    horizon="3",
    uptime="99.99%",
    latency="400ms",
    api_latency="300ms",
    ft_latency="2s",
    concurrency="4",
    base="mistral-7b",
    out="900",
    rate="$150/h",
    runs="8",
    volume="5M/month",
)


def _without_rivals(base: dict, key: str) -> dict:
    rivals = {k for group in EXCLUSIVE if key in group for k in group} - {key}
    if key in ("api_price", "api_per_1k"):
        rivals.add("api")
    return {k: v for k, v in base.items() if k not in rivals}


def _outputs(report) -> dict:
    data = report.model_dump(mode="json")
    for listing in ("assumptions", "notes"):
        data.pop(listing)
    return data


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_key_moves_an_output_or_is_answered_with_a_note(key):
    base = _without_rivals(BASE, key)
    before = run(" ".join(f"{k}={v}" for k, v in base.items()))
    after = run(" ".join(f"{k}={v}" for k, v in {**base, key: WALK[key]}.items()))
    moved = _outputs(before) != _outputs(after)
    noted = any(f"`{key}=`" in note for note in after.notes)
    assert moved or noted, f"{key}={WALK[key]} changed nothing and said nothing"


@pytest.mark.parametrize(
    "text, key",
    [
        ("volume=1M api_per_1k=$0.20 cached=30%", "cached"),
        ("volume=1M api_price=2.5/10 cached=30%", "cached"),
        ("volume=1M host_price=0.2 gpu_price=$2/h", "gpu_price"),
        ("volume=1M host_price=0.2 capacity=30qps", "capacity"),
        ("volume=1M manual_rate=$40/h", "manual_rate"),
        ("volume=1M fail_api=5%", "fail_api"),
        ("volume=1M fail_cost=$2", "fail_cost"),
        ("volume=1M manual_h=3min cached=30%", "cached"),
        ("volume=1M measured=nov-run", "measured"),
    ],
)
def test_inputs_that_cannot_apply_are_named_in_a_note(text, key):
    notes = run(text).notes
    assert any(f"`{key}=`" in note for note in notes), notes


def test_cached_input_applies_with_a_price_sheet_through_a_third_figure():
    plain = run("volume=1000 api_price=2.5/10 in=1000 out=0")
    cached = run("volume=1000 api_price=2.5/10/1.25 in=1000 out=0 cached=50%")
    assert plain.api_cost_per_request == pytest.approx(1000 * 2.5 / 1e6)
    assert cached.api_cost_per_request == pytest.approx((500 * 2.5 + 500 * 1.25) / 1e6)
    assert not cached.notes


def test_oversight_is_a_monthly_cost_of_self_hosting_even_without_manual_work():
    without = run("volume=1M api=gpt-4o")
    with_review = run("volume=1M api=gpt-4o oversight=$2,000/month")
    assert with_review.selfhost_monthly_cost == pytest.approx(without.selfhost_monthly_cost + 2000)
    assert any(line.name == "Human oversight" for line in with_review.selfhost_lines)


# --- units and limits ------------------------------------------------------------------------


def test_a_day_rate_is_eight_working_hours():
    by_day = run("volume=2M api=gpt-4o rate=$800/day").model_dump(mode="json")
    by_hour = run("volume=2M api=gpt-4o rate=$100/h").model_dump(mode="json")
    assert by_day == by_hour
    assert run("volume=2M api=gpt-4o rate=$4,000/week").model_dump(mode="json") == by_hour
    assert parse("data_h=5d").data_h == 40


def test_request_rates_are_volumes():
    assert parse("volume=10qps").requests_per_month == pytest.approx(10 * 730 * 3600)
    assert parse("volume=600/min").requests_per_month == pytest.approx(10 * 730 * 3600)


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("manual_h=3m", "manual_h", "3min"),
        ("maint_h=3m", "maint_h", "ambiguous"),
        ("volume=1e309", "volume", "too large"),
        ("rate=1e308", "rate", "too large"),
        ("volume=1e30", "volume", "at most 1T"),
        ("in=5M", "in", "at most 2M"),
        ("gpu_price=$1e9/h", "gpu_price", "at most 1000"),
    ],
)
def test_out_of_range_inputs_are_errors_naming_the_key(text, key, words):
    with pytest.raises(GrammarError) as caught:
        parse(text)
    assert caught.value.key == key and words in str(caught.value)


def test_absurd_fleets_and_bills_are_rejected_naming_the_key():
    with pytest.raises(GrammarError) as caught:
        run("volume=1T capacity=0.01qps server=$10")
    assert caught.value.key == "volume" and "serving instances" in caught.value.problem
    with pytest.raises(GrammarError) as caught:
        run("volume=1T in=2M out=2M api_price=1000/1000 host_price=0.1")
    assert caught.value.key == "volume" and "a month" in caught.value.problem


@pytest.mark.parametrize(
    "text", ["volume=1e309", "rate=1e308", "volume=1e30", "manual_h=3m", "volume=1T capacity=0.01qps"]
)
def test_the_cli_exits_2_with_one_message_and_no_traceback(text):
    result = subprocess.run(
        [sys.executable, "-m", "breakeven", "analyze", *text.split(), "--json"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("breakeven: `")


def test_json_never_holds_infinity_or_nan():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "breakeven",
            "analyze",
            "volume=1T",
            "in=0.001",
            "out=0",
            "api=gpt-4o",
            "host_price=0.2",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"JSON holds {name}"))


# --- constraints that tell the truth ---------------------------------------------------------


def test_privacy_rules_out_a_per_token_host_and_prices_your_own_gpus_instead():
    r = run("volume=5M api=gpt-4o host_price=0.2 privacy=yes")
    assert any("`host_price=`" in n and "third party" in n for n in r.notes)
    privacy = {(c.option, c.met) for c in r.constraints if c.name == "privacy"}
    assert privacy == {("api", False), ("selfhost", True)}
    assert selfhost(r).label.startswith("Self-host (1 x")
    assert r.selfhost_variable_per_request == 0 and r.instances >= 1
    assert r.verdict == "BUY" and r.recommended == "selfhost"


# --- notes that match the numbers -------------------------------------------------------------


def test_setup_with_hours_says_the_hours_were_added_and_the_lines_show_them():
    report = run("volume=1M setup=$10,000 data_h=50")
    note = next(n for n in report.notes if n.startswith("setup="))
    assert "the hours you gave (data_h=50) at $100/h are added to it" in note
    assert "no typical hours" in note
    assert [line.name for line in report.hidden_costs] == ["Data preparation", "Set-up (your total)"]
    assert report.one_time_cost == pytest.approx(10_000 + 50 * 100)


@pytest.mark.parametrize(
    "text",
    [
        "volume=1M setup=$10,000 maint_h=0 rate=$150/h",
        "volume=1M data_h=0 eval_h=0 infra_h=0 maint_h=0 rate=$150/h",
    ],
)
def test_a_rate_that_prices_no_hours_is_answered_with_a_note(text):
    report = run(text)
    assert any(n.startswith("`rate=` is not used: no hours are priced") for n in report.notes)
    assert _outputs(report) == _outputs(run(text.replace("$150/h", "$90/h")))  # and truly changes nothing


def test_a_task_that_takes_no_time_by_hand_is_refused_like_a_rate_of_zero():
    for text in ("manual_h=0", "manual_rate=0"):
        with pytest.raises(GrammarError) as caught:
            parse(text)
        assert "must be over 0" in caught.value.problem


# --- the rows beyond cost compare figures where the report has them --------------------------


def latency_row(report):
    return next(f for f in report.factors if f.factor == "Latency")


def test_without_a_bound_a_slow_self_hosted_answer_is_compared_with_the_api_and_favours_it():
    report = run("volume=20M api=gpt-4o gpu=h100")
    row = latency_row(report)
    assert row.favours == "api"
    assert row.selfhost_figure == pytest.approx(report.capacity.latency_ms)
    assert row.api_figure < row.selfhost_figure / 1.5
    assert "~14.8 s a whole answer" in row.selfhost and "~1,977 ms a whole answer" in row.api
    # What a bound would do to the sizing, computed, not guessed.
    assert "latency=1.98s would hold it to the API's time: at most 17 requests at once an instance" in row.selfhost
    held = run("volume=20M api=gpt-4o gpu=h100 latency=1.98s")
    assert held.capacity.concurrency == 17


def test_a_faster_measured_endpoint_favours_self_hosting_and_close_figures_favour_neither():
    fast = latency_row(run("volume=1M api=gpt-4o ft_latency=900ms"))
    assert (fast.favours, fast.selfhost_figure, fast.api_figure) == ("selfhost", 900, pytest.approx(1977, abs=1))
    close = latency_row(run("volume=1M api=gpt-4o ft_latency=2.5s"))
    assert close.favours == "neither" and "within 1.5x of the API's" in close.selfhost
    assert not any("`ft_latency=` is not used" in n for n in run("volume=1M api=gpt-4o ft_latency=2.5s").notes)


def test_the_typical_api_latency_used_in_the_row_is_listed_with_its_source():
    report = run("volume=1M api=gpt-4o")
    listed = next(a for a in report.assumptions if a.key == "api_latency")
    assert listed.source and "2026" in listed.source
