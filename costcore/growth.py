"""Volume that grows (or shrinks) month by month: both bills on the capacity staircase, month by month.

    requests in month m = today's requests x (1 + rate) ** (m - 1)       (month 1 is today)
    instances, the baseline's bill and self-hosting's bill: the comparison's CostModel at that volume
    cumulative net in month m = savings of months 1..m - one-time cost  (paid before month 1)
    payback = the month the cumulative net turns positive, to a fraction (linear within that month)

Compounding is bounded: volume stops growing at the most this tool sizes (its fleet limit, its bill
limit, or a trillion requests a month), and the report says from which month. The path is worked out
to 120 months, so a payback beyond the horizon is still found; the report's rows cover the horizon.
"""

from __future__ import annotations

import math

import numpy as np

from .economics import fixed_fleet, selfhost_bills
from .scenario import CostModel, Growth, GrowthMonth, GrowthTotals

MAX_MONTHS = 120
MAX_REQUESTS = 1e12  # the volume bound of a Scenario


def cap(model: CostModel, requests: float, max_instances: int, max_monthly: float) -> float:
    """The most volume the path may reach: never a fleet or a bill the analysis would refuse."""
    limits = [MAX_REQUESTS]
    if model.api_cost_per_request > 0:
        limits.append(max_monthly / model.api_cost_per_request)
    if model.selfhost_variable_per_request > 0:
        limits.append(max(0.0, max_monthly - model.ops_monthly) / model.selfhost_variable_per_request)
    if model.requests_per_instance is not None and model.instance_monthly > 0:
        # whichever split the fleet takes at a volume, none of them runs past max_instances
        spare = 1 if model.ha else 0
        limits += [(max_instances - spare) * shape.requests_per_instance for shape in model.shapes()]
    return max(min(limits), requests)


def _path(model: CostModel, requests: float, rate: float, limit: float, months: int = MAX_MONTHS):
    """Requests, instances and both bills for months 1..months, as arrays (one formula with CostModel)."""
    volume = np.minimum(requests * (1 + rate) ** np.arange(months, dtype=float), limit)
    if not model.uniform and model.fixed and model.instance_monthly > 0:  # the cheapest shape each month
        bills, instances, _ = fixed_fleet(model, volume)
        selfhost = bills + model.ops_monthly + volume * model.selfhost_variable_per_request
        return volume, instances, volume * model.api_cost_per_request, selfhost
    if not model.uniform:  # an autoscaled or serverless fleet: its own bill, month by month
        instances = np.array([model.instances(float(v)) for v in volume], dtype=float)
        return volume, instances, volume * model.api_cost_per_request, selfhost_bills(model, volume)
    if model.instance_monthly == 0 and model.requests_per_instance is None:
        instances = np.zeros(months)  # a per-token host: nothing to size
    else:
        needed = 1.0 if model.requests_per_instance is None else np.ceil(volume / model.requests_per_instance)
        instances = np.maximum(1, needed) + (1 if model.ha else 0) + np.zeros(months)
    baseline = volume * model.api_cost_per_request
    selfhost = instances * model.instance_monthly + model.ops_monthly + volume * model.selfhost_variable_per_request
    return volume, instances, baseline, selfhost


def _payback(savings: np.ndarray, one_time: float) -> tuple[int | None, float | None]:
    """The month the cumulative net first reaches zero from below while buying saves, and the fraction."""
    cumulative = np.cumsum(savings) - one_time
    before = np.concatenate(([-one_time], cumulative[:-1]))
    hits = np.nonzero((cumulative >= 0) & (savings > 0))[0]
    if not len(hits):
        return None, None
    i = int(hits[0])
    return i + 1, i + max(0.0, -float(before[i])) / float(savings[i])


def outcome(
    model: CostModel, requests: float, rate: float, one_time: float, limit: float
) -> tuple[float, float | None]:
    """(net of the first 12 months, payback in months) on the growth path: what sensitivity weighs."""
    _, _, baseline, selfhost = _path(model, requests, rate, limit)
    savings = baseline - selfhost
    return float(savings[:12].sum()) - one_time, _payback(savings, one_time)[1]


def verdict(payback: float | None, horizon: float) -> str:
    """With growth, buying pays when the path earns its one-time cost back within the horizon."""
    return "BUY" if payback is not None and payback <= horizon else "RENT"


def _totals(rows: list[GrowthMonth], months: int, one_time: float) -> GrowthTotals | None:
    if len(rows) < months:
        return None
    head = rows[:months]
    savings = sum(r.savings for r in head)
    return GrowthTotals(
        months=months,
        requests=sum(r.requests for r in head),
        baseline_cost=sum(r.baseline_cost for r in head),
        selfhost_cost=sum(r.selfhost_cost for r in head),
        one_time=one_time,
        savings=savings,
        net=savings - one_time,
    )


def project(model: CostModel, requests: float, rate: float, horizon: float, one_time: float, limit: float) -> Growth:
    """The growth path over the horizon (whole months, at least one), with its paying month and payback."""
    volume, instances, baseline, selfhost = _path(model, requests, rate, limit)
    savings = baseline - selfhost
    cumulative = np.cumsum(savings) - one_time
    shown = min(MAX_MONTHS, max(1, math.ceil(horizon)))
    rows = [
        GrowthMonth(
            month=m + 1,
            requests=float(volume[m]),
            instances=int(instances[m]),
            gpus_per_instance=model.split_at(float(volume[m])),
            baseline_cost=float(baseline[m]),
            selfhost_cost=float(selfhost[m]),
            savings=float(savings[m]),
            cumulative_net=float(cumulative[m]),
        )
        for m in range(shown)
    ]
    paying = np.nonzero(savings > 0)[0]
    capped = np.nonzero(requests * (1 + rate) ** np.arange(MAX_MONTHS, dtype=float) > limit)[0]
    payback_month, payback = _payback(savings, one_time)
    return Growth(
        rate_per_month=rate,
        months=rows,
        first_paying_month=int(paying[0]) + 1 if len(paying) else None,
        payback_month=payback_month,
        payback_months=payback,
        totals_12=_totals(rows, 12, one_time),
        totals_24=_totals(rows, 24, one_time),
        cap_requests_per_month=limit,
        capped_from_month=int(capped[0]) + 1 if len(capped) else None,
    )
