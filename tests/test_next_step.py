"""The next step, branch by branch, word for word: the action a report ends with is what a reader acts on."""

from __future__ import annotations

import pytest

from costcore import analyze, parse
from costcore.next_step import _month_reaching, next_step
from costcore.scenario import Growth, Standing

STAIRS = "api_per_1k=1 server=250 capacity=0.1qps maint_h=0 setup=0 runs=1 train=100"
TEST = (
    "run a parallel test. Send 5% of traffic ({share} a month) to a fine-tuned candidate beside {who} for two to "
    "four weeks; compare answers on your evaluation set, latency and failure rates, then re-run this analysis "
    "with the measured figures."
)
TRACK = " Import your API spend so the weekly summary tracks the real bill and volume."
SPEND = ["breakeven spend import FILE.csv", "Slack: /breakeven spend add"]


def step(text: str):
    return analyze(parse(text)).next_step


def test_buy_runs_the_audit_first_with_the_runs_and_evaluation_budgeted():
    s = step("volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g")
    assert (s.situation, s.standing) == ("buy", "past")
    assert s.action == (
        "Run the hidden-cost audit before committing: it prices the $76,750 one-time cost line by line and flags "
        "the usual traps. Then keep the 5 training runs planned, and build the evaluation set before the first run "
        "(36 h budgeted for evaluation)."
    )
    assert s.commands == [
        'breakeven audit --analysis "volume=2000000/month in=1500 out=200 api=gpt-4o gpu=a10g"',
        "Slack: the Hidden-cost audit button on this reply",
    ]


@pytest.mark.parametrize(
    "extra, plan",
    [
        ("runs=2", "plan 5-10 training runs, not 2 (first attempts rarely work)"),
        ("runs=4", "plan 5-10 training runs, not 4 (first attempts rarely work)"),
        ("runs=5", "keep the 5 training runs planned"),
        ("setup=$10k", "plan 5-10 training runs (first attempts rarely work)"),
    ],
)
def test_the_training_runs_planned(extra, plan):
    assert f"Then {plan}, and " in step(f"volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g {extra}").action


def test_no_evaluation_hours_budgeted_is_said():
    action = step("volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g eval_h=0").action
    assert action.endswith(
        "build an evaluation set before the first run (no evaluation hours are budgeted yet: eval_h=)."
    )


def test_hybrid_audits_the_narrow_part():
    action = step("volume=20M api=gpt-4o task=mixed").action
    assert action.startswith("For the narrow part you would self-host, run the hidden-cost audit before committing:")


def test_ruled_out_says_which_constraints():
    s = step("volume=2M api=gpt-4o task=varied latency=1ms")
    assert s.action == (
        f"Keep renting: self-hosting is ruled out (latency, task).{TRACK} Revisit if that constraint changes."
    )
    assert s.commands == SPEND


def test_never_says_why_and_what_would_change_it():
    s = step("volume=600k api_per_1k=1 server=270 capacity=0.1qps maint_h=0 setup=0")
    assert (s.situation, s.standing, s.revisit_requests_per_month) == ("far", "never", None)
    assert s.action == (
        "Keep renting: buying never breaks even at these prices (each instance costs more than the requests it can "
        f"carry save against the API).{TRACK} Revisit if the price changes or the data must stay in-house "
        "(privacy=yes)."
    )


def test_never_within_the_horizon_revisits_on_the_way():
    s = step(f"volume=100k {STAIRS} growth=1%/month horizon=6")
    assert (s.standing, s.revisit_requests_per_month) == ("never", 125e3)
    assert s.action.endswith(
        f"{TRACK} Revisit at 125k requests a month (month 24 at this growth), half the break-even."
    )


def test_a_volume_moving_away_gets_no_test():
    s = step(f"volume=100k {STAIRS} growth=-50%/month")
    assert s.action == (
        "Keep renting: today's 100k requests a month is below the break-even of 250k requests a month, and the "
        "volume is shrinking 50% a month, away from where buying pays. A parallel test would measure a volume you "
        f"are leaving.{TRACK} Revisit if the volume turns and grows."
    )


def test_past_the_break_even_the_one_time_cost_decides():
    s = step("volume=1M api=gpt-4o fail_api=10% fail_cost=$1")
    assert (s.situation, s.standing, s.test_share) == ("near", "past", 0.05)
    assert s.action == (
        "You are past the break-even (533k requests a month) but the one-time cost decides: it pays back in 50.6 "
        "months, beyond the 12-month horizon: " + TEST.format(share="50k requests", who="the API")
    )
    assert s.commands == [
        "breakeven measure --api MODEL --endpoint URL --model NAME --save NAME",
        "breakeven analyze volume=1000000/month api=gpt-4o fail_api=0.1 fail_cost=1 measured=NAME",
        "Slack: /breakeven measure NAME",
    ]


def test_past_on_a_shrinking_volume_keeps_renting():
    s = step("volume=1M growth=-5%/month api=gpt-4o")
    assert s.action == (
        "Keep renting: buying saves money at today's volume, but it never earns its one-time cost back, and the "
        f"volume is shrinking 5% a month.{TRACK} Revisit if the volume turns and grows."
    )


def test_far_below_revisits_at_half_the_break_even():
    s = step("volume=100k")
    assert s.revisit_requests_per_month == pytest.approx(12.7e6 / 2, rel=0.01)
    assert s.action == (
        f"Keep renting: you are at 100k requests a month, far below the 12.6M break-even.{TRACK} Revisit at 6.32M "
        "requests a month, half the break-even."
    )


def test_within_a_factor_of_two_of_the_break_even():
    s = step(f"volume=150k {STAIRS}")
    assert s.action == "You are within a factor of 2 of the break-even (250k requests a month): " + TEST.format(
        share="7.5k requests", who="the API"
    )


def test_between_crossings_near_the_next_one():
    s = step(f"volume=300k {STAIRS}")
    assert (s.situation, s.standing) == ("near", "between")
    assert s.action.startswith(
        "You are within a factor of 2 of the next crossing, where buying pays again (500k requests a month): "
    )


def test_between_crossings_in_decline_keeps_renting():
    s = step(f"volume=300k {STAIRS} growth=-5%/month")
    assert s.action == (
        "Keep renting: buying paid between 250k and 263k requests a month, but not at today's 300k: there one more "
        "instance costs more than it saves; it pays again from 500k requests a month. At this decline the volume "
        f"reaches it in month 4, but it does not earn the one-time cost back there.{TRACK} Revisit if the volume "
        "turns and grows."
    )


def test_growth_that_crosses_within_the_horizon_gets_a_test():
    s = step("volume=1M growth=20%/month")
    assert s.action == "At this growth buying starts paying in month 15: " + TEST.format(
        share="50k requests", who="the API"
    )


def test_by_hand_the_step_speaks_of_tasks_and_people_and_has_no_spend_to_import():
    s = step("volume=10 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h")
    assert s.commands == []
    assert s.action == (
        "Keep doing it by hand: you are at 10 tasks a month, far below the 240 break-even. Revisit at 120 tasks a "
        "month, half the break-even."
    )
    near = step("volume=150 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h")
    assert "beside the people doing the task today" in near.action and "(7.5 tasks a month)" in near.action


def standing(**fields) -> Standing:
    base = dict(where="between", requests_per_month=100e3, breakeven=50e3, sentence="Buying paid between 50k and 60k.")
    return Standing(**{**base, **fields})


def call(s: Standing, growth: Growth | None = None):
    return next_step(
        verdict="RENT",
        baseline="api",
        standing=s,
        payback=None,
        growth=growth,
        horizon=12,
        selfhost_ruled_out=[],
        one_time=1000.0,
        runs=5,
        eval_h=36,
        analysis_text="volume=100k",
    )


def test_between_far_from_the_next_crossing_revisits_at_half_of_it():
    s = call(standing(paid_from=50e3, paid_until=60e3, pays_again_from=1e6))
    assert (s.situation, s.revisit_requests_per_month) == ("far", 500e3)
    assert s.action == (
        f"Keep renting: buying paid between 50k and 60k.{TRACK} Revisit at 500k requests a month, half the volume "
        "where it pays again."
    )
    never_again = call(standing(paid_from=50e3, paid_until=60e3, pays_again_from=None))
    assert never_again.action == f"Keep renting: buying paid between 50k and 60k.{TRACK} Revisit if the prices change."


def growth_path(rate: float, cap: float = 1e12) -> Growth:
    return Growth(
        rate_per_month=rate,
        months=[],
        first_paying_month=None,
        payback_month=None,
        payback_months=None,
        totals_12=None,
        totals_24=None,
        cap_requests_per_month=cap,
        capped_from_month=None,
    )


def test_the_month_a_growing_volume_reaches_a_figure():
    path = growth_path(0.10)
    assert _month_reaching(path, 100.0, 100.0) == 1 and _month_reaching(path, 100.0, 50.0) == 1
    assert _month_reaching(path, 100.0, 110.0) == 2  # 100, then 110 in month 2
    assert _month_reaching(path, 100.0, 110.1) == 3
    assert _month_reaching(path, 100.0, 100.0 * 1.1**119) == 120
    assert _month_reaching(path, 100.0, 100.0 * 1.1**121) is None  # beyond 120 months
    assert _month_reaching(growth_path(0.10, cap=1000.0), 100.0, 1001.0) is None  # beyond the cap
    assert _month_reaching(growth_path(0.10, cap=1000.0), 100.0, 1000.0) == 26
    assert _month_reaching(growth_path(0.0), 100.0, 200.0) is None
    assert _month_reaching(growth_path(-0.1), 100.0, 200.0) is None
    assert _month_reaching(path, 0.0, 200.0) is None
    assert _month_reaching(None, 100.0, 200.0) is None
