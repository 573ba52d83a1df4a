"""Where the volume stands (costcore/standing.py), state by state, with the exact sentence each shows.

A server of $250 a month carries 0.1 requests a second (262,800 a month); the API costs $1 per 1,000
requests. Buying starts paying at 250k a month, stops at 262.8k (a second server), pays again from 500k.
"""

from __future__ import annotations

import pytest

from costcore import analyze, economics, parse
from costcore.scenario import CostModel
from costcore.standing import standing

STAIRS = "api_per_1k=1 server=250 capacity=0.1qps maint_h=0 setup=0 runs=1 train=100"


def at(volume: str, extra: str = ""):
    return analyze(parse(f"volume={volume} {STAIRS} {extra}")).standing


def test_below_the_first_crossing():
    s = at("100k")
    assert (s.where, s.breakeven, s.pays_again_from, s.paid_from, s.stops_at) == ("below", 250e3, 250e3, None, None)
    assert s.sentence == "Today's 100k requests a month is below the break-even of 250k requests a month."


def test_exactly_at_the_break_even_is_said_so():
    s = at("250k")
    assert s.where == "below"
    assert s.sentence == "Today's 250k requests a month is exactly at the break-even of 250k requests a month."


def test_between_two_crossings():
    s = at("300k")
    assert (s.where, s.paid_from, s.paid_until, s.pays_again_from) == ("between", 250e3, 262_800, 500e3)
    assert s.sentence == (
        "Buying paid between 250k and 263k requests a month, but not at today's 300k: there one more instance "
        "costs more than it saves; it pays again from 500k requests a month."
    )


def test_past_the_break_even_until_the_next_step():
    s = at("255k")
    assert (s.where, s.breakeven, s.stops_at) == ("past", 250e3, 262_800)
    assert s.sentence == (
        "Buying pays at today's 255k requests a month (break-even 250k), until 263k requests a month, where one "
        "more instance costs more than it saves."
    )
    assert at("255k", "growth=-5%/month").sentence.endswith(
        "; the volume is shrinking 5% a month toward the break-even."
    )


def test_past_with_no_step_above():
    s = analyze(parse("volume=1M api_per_1k=1 server=250 capacity=10qps maint_h=0")).standing
    assert (s.where, s.stops_at) == ("past", None)
    assert s.sentence == "Buying pays at today's 1M requests a month (break-even 250k)."


def test_moving_away_keeps_the_band_and_says_so():
    s = at("100k", "growth=-50%/month")
    assert (s.where, s.growth, s.pays_again_from) == ("moving_away", -0.5, 250e3)
    assert s.sentence == (
        "Today's 100k requests a month is below the break-even of 250k requests a month, and the volume is "
        "shrinking 50% a month, away from where buying pays."
    )
    between = at("300k", "growth=-50%/month")  # 300k, 150k, ...: it skips the band where buying paid
    assert (between.where, between.paid_from, between.paid_until) == ("moving_away", 250e3, 262_800)


def test_a_shrinking_volume_that_falls_into_the_paid_band_is_not_moving_away():
    s = at("300k", "growth=-5%/month")
    assert (s.where, s.first_paying_month) == ("between", 4)


def test_never_at_these_prices():
    s = analyze(parse("volume=600k api_per_1k=1 server=270 capacity=0.1qps maint_h=0 setup=0")).standing
    assert (s.where, s.breakeven) == ("never", None)
    assert s.sentence == (
        "Buying never breaks even at these prices (each instance costs more than the requests it can carry save "
        "against the API)."
    )


def test_never_within_the_horizon_on_a_growing_path_and_the_horizon_edge():
    s = at("100k", "growth=1%/month horizon=6")
    assert (s.where, s.first_paying_month) == ("never", 94)
    assert s.sentence == (
        "Today's 100k requests a month is below the break-even of 250k requests a month; at this growth buying "
        "starts paying only in month 94, beyond the 6-month horizon."
    )
    assert at("100k", "growth=1%/month horizon=94").where == "below"  # the paying month at the horizon is within it
    assert at("100k", "growth=1%/month horizon=93").where == "never"
    flat = at("100k", "growth=0/month horizon=6")
    assert flat.where == "never" and "not within 120 months" in flat.sentence


def model(**changes) -> CostModel:
    base = dict(
        api_cost_per_request=0.001,
        selfhost_variable_per_request=0.0,
        instance_monthly=250.0,
        requests_per_instance=262_800.0,
        ha=False,
        ops_monthly=0.0,
        tokens_per_request=700.0,
    )
    return CostModel(**{**base, **changes})


def test_a_crossing_at_todays_volume_is_not_above_it():
    m = model()
    found = economics.all_crossings(m, 500e3)
    s = standing(m, 500e3, m.api_monthly(500e3) - m.selfhost_monthly(500e3), found, 250e3, "", "api")
    assert s.where == "between" and s.pays_again_from == 750e3  # not the 500k crossing today stands on


def test_the_next_crossing_is_found_beyond_the_plotted_range():
    # Far right of the staircase only the fallback search sees the next volume where buying pays again.
    m = model()
    today = 300e3
    found = [c for c in economics.crossings(m, 400e3)[0]]  # a plotted range that ends before 500k
    s = standing(m, today, m.api_monthly(today) - m.selfhost_monthly(today), found, 250e3, "", "api")
    assert s.where == "between" and s.pays_again_from == pytest.approx(500e3)


def test_by_hand_the_unit_is_tasks():
    s = analyze(parse("volume=10 manual_h=3min manual_rate=$50/h server=$400 maint_h=4 rate=$50/h")).standing
    assert "tasks a month" in s.sentence
