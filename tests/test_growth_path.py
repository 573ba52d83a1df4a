"""The growth path month by month (costcore/growth.py), pinned figure by figure: each month's bills are the
cost model's at that month's volume, the cap on compounding is the tightest of the tool's limits and says from
which month it holds, and payback and the first paying month are read at their edges."""

from __future__ import annotations

import math

import pytest

from costcore import growth
from costcore.scenario import CostModel


def model(**changes) -> CostModel:
    base = dict(
        api_cost_per_request=0.002,
        selfhost_variable_per_request=0.0,
        instance_monthly=1000.0,
        requests_per_instance=1e6,
        ha=False,
        ops_monthly=100.0,
        tokens_per_request=700.0,
    )
    return CostModel(**{**base, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"ha": True},
        {"selfhost_variable_per_request": 0.0005},
        {"instance_monthly": 0.0, "requests_per_instance": None, "selfhost_variable_per_request": 0.001},
        {"requests_per_instance": None},  # one server of a fixed bill, whatever the load
    ],
    ids=["fleet", "spare", "variable cost", "per-token host", "fixed server"],
)
def test_every_month_is_the_cost_model_at_that_months_volume(changes):
    m = model(**changes)
    path = growth.project(m, 400_000.0, 0.25, 24, 5_000.0, growth.cap(m, 400_000.0, 10_000, 1e12))
    for row in path.months:
        volume = 400_000.0 * 1.25 ** (row.month - 1)
        assert row.requests == pytest.approx(volume)
        assert row.instances == m.instances(volume)
        assert row.baseline_cost == pytest.approx(m.api_monthly(volume))
        assert row.selfhost_cost == pytest.approx(m.selfhost_monthly(volume))
        assert row.savings == pytest.approx(row.baseline_cost - row.selfhost_cost)
    assert path.months[-1].cumulative_net == pytest.approx(sum(r.savings for r in path.months) - 5_000.0)


def test_the_cap_is_the_tightest_limit_and_never_below_today():
    # The API's bill limit ($1e12 / $0.002 = 5e14) and the fleet's (1e13) are beyond the 1e12 requests a
    # Scenario takes: that one holds.
    assert growth.cap(model(requests_per_instance=1e9), 1.0, 10_000, 1e12) == 1e12
    # A dear API: its trillion-dollar bill comes first.
    assert growth.cap(model(api_cost_per_request=10.0, requests_per_instance=1e9), 1.0, 10_000, 1e12) == 1e11
    # A per-request host cost: what the bill limit leaves after operations, over that cost.
    host = model(selfhost_variable_per_request=100.0, api_cost_per_request=1e-9, requests_per_instance=1e9)
    assert growth.cap(host, 1.0, 10_000, 1e12) == pytest.approx((1e12 - 100.0) / 100.0)
    # The fleet limit: 10,000 instances of 1M requests, one of them the spare.
    fleet = model(requests_per_instance=1e3, api_cost_per_request=1e-9)
    assert growth.cap(fleet, 1.0, 10_000, 1e12) == pytest.approx(10_000 * 1e3)
    assert growth.cap(fleet.model_copy(update={"ha": True}), 1.0, 10_000, 1e12) == pytest.approx(9_999 * 1e3)
    # Nothing to size on a per-token host; a free API, no API bill limit; never below today's volume.
    free = model(api_cost_per_request=0.0, instance_monthly=0.0, requests_per_instance=None)
    assert growth.cap(free, 1.0, 10_000, 1e12) == 1e12
    assert growth.cap(fleet, 5e7, 10_000, 1e12) == 5e7


def test_compounding_stops_at_the_cap_and_says_from_which_month():
    m = model()
    path = growth.project(m, 1e6, 1.0, 24, 0.0, 1.5e7)  # doubling a month; held at 15M
    capped = path.capped_from_month
    assert capped == 5  # 1M, 2M, 4M, 8M, then 16M > 15M
    assert [r.requests for r in path.months[:6]] == [1e6, 2e6, 4e6, 8e6, 1.5e7, 1.5e7]
    exactly = growth.project(m, 1e6, 1.0, 24, 0.0, 8e6)  # reaching the cap is not passing it
    assert exactly.capped_from_month == 5 and exactly.months[3].requests == 8e6
    assert growth.project(m, 1e6, 0.0, 24, 0.0, 1.5e7).capped_from_month is None


def test_payback_to_a_fraction_of_the_month_it_lands_in():
    m = model(instance_monthly=900.0, ops_monthly=100.0, api_cost_per_request=0.002)  # $1,000 a month saved
    path = growth.project(m, 1e6, 0.0, 24, 2_500.0, 1e12)
    assert (path.payback_month, path.payback_months) == (3, pytest.approx(2.5))
    assert path.first_paying_month == 1
    assert growth.project(m, 1e6, 0.0, 24, 3_000.0, 1e12).payback_months == pytest.approx(3.0)


def test_no_savings_no_payback_even_without_a_one_time_cost():
    m = model(instance_monthly=1900.0, ops_monthly=100.0)  # the API's $2,000 exactly: $0 saved
    path = growth.project(m, 1e6, 0.0, 24, 0.0, 1e12)
    assert all(r.savings == 0 for r in path.months)
    assert path.first_paying_month is None and path.payback_month is None and path.payback_months is None


def test_a_saving_under_a_dollar_a_month_still_pays():
    m = model(instance_monthly=1899.5, ops_monthly=100.0)  # $0.50 a month saved
    path = growth.project(m, 1e6, 0.0, 24, 1.0, 1e12)
    assert path.first_paying_month == 1 and path.payback_month == 2 and path.payback_months == pytest.approx(2.0)


def test_the_rows_cover_the_horizon_and_at_least_one_month():
    m = model()
    assert len(growth.project(m, 1e6, 0.1, 0.5, 0.0, 1e12).months) == 1
    assert len(growth.project(m, 1e6, 0.1, 18, 0.0, 1e12).months) == 18
    assert len(growth.project(m, 1e6, 0.1, 18.2, 0.0, 1e12).months) == 19
    assert len(growth.project(m, 1e6, 0.1, 500, 0.0, 1e12).months) == growth.MAX_MONTHS


def test_the_first_years_net_is_the_paths_own():
    m = model(requests_per_instance=3e5)
    net, payback = growth.outcome(m, 2e5, 0.2, 10_000.0, 1e12)
    path = growth.project(m, 2e5, 0.2, 24, 10_000.0, 1e12)
    assert net == pytest.approx(path.totals_12.net)
    assert payback == path.payback_months
    assert math.isclose(path.totals_24.savings, sum(r.savings for r in path.months[:24]))
