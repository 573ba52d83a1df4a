"""The arithmetic of the comparison (docs/economics.md): both monthly bills, break-even, payback and ROI.

The functions on arrays work on Python floats and on NumPy arrays alike, so one formula
serves a single analysis and a sweep of a hundred thousand scenarios.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .scenario import HOURS_PER_MONTH, SECONDS_PER_MONTH, CostModel, Crossing, ManualComparison

MAX_STEPS = 20_000  # staircase steps examined for crossings; beyond it buying's trend is settled


def instances_for(requests: Any, requests_per_instance: Any, ha: Any) -> Any:
    """ceil(load / capacity), at least one, plus a spare when high availability is asked for."""
    needed = np.maximum(1, np.ceil(np.asarray(requests, dtype=float) / requests_per_instance))
    return needed + np.where(ha, 1, 0)


def monthly_bills(
    requests: Any,
    api_cost_per_request: Any,
    selfhost_variable_per_request: Any,
    instance_monthly: Any,
    requests_per_instance: Any,
    ha: Any,
    ops_monthly: Any,
) -> tuple[Any, Any]:
    """(API bill, self-host bill) a month. requests_per_instance=inf means one instance carries any load."""
    api = requests * api_cost_per_request
    instances = np.where(np.asarray(instance_monthly) > 0, instances_for(requests, requests_per_instance, ha), 0)
    selfhost = instances * instance_monthly + ops_monthly + requests * selfhost_variable_per_request
    return api, selfhost


def payback_and_roi(one_time: Any, monthly_savings: Any) -> tuple[Any, Any]:
    """Months to pay back (nan when savings <= 0) and first-year ROI (nan without a one-time cost)."""
    one_time = np.asarray(one_time, dtype=float)
    savings = np.asarray(monthly_savings, dtype=float)
    invested = one_time >= 0.01  # ROI of an investment under a cent is meaningless, not infinite
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        payback = np.where(savings > 0, one_time / np.where(savings > 0, savings, 1.0), np.nan)
        roi = np.where(invested, (12 * savings - one_time) / np.where(invested, one_time, 1.0), np.nan)
    return payback, roi


def sweep(**inputs: Any) -> dict[str, np.ndarray]:
    """Vectorised analysis over arrays of inputs (broadcast together).

    Inputs: requests, api_cost_per_request, selfhost_variable_per_request, instance_monthly,
    requests_per_instance (inf for no limit), ha, ops_monthly, one_time, horizon.
    Returns the bills, savings, payback, ROI and a cost verdict (True = buying pays within the horizon).
    """
    arrays = np.broadcast_arrays(*(np.asarray(inputs[k], dtype=float) for k in _SWEEP_KEYS))
    values = dict(zip(_SWEEP_KEYS, arrays, strict=True))
    api, selfhost = monthly_bills(
        values["requests"],
        values["api_cost_per_request"],
        values["selfhost_variable_per_request"],
        values["instance_monthly"],
        values["requests_per_instance"],
        values["ha"] > 0,
        values["ops_monthly"],
    )
    savings = api - selfhost
    payback, roi = payback_and_roi(values["one_time"], savings)
    buy = (savings > 0) & (np.nan_to_num(payback, nan=np.inf) <= values["horizon"])
    return {"api": api, "selfhost": selfhost, "savings": savings, "payback": payback, "roi": roi, "buy": buy}


_SWEEP_KEYS = (
    "requests",
    "api_cost_per_request",
    "selfhost_variable_per_request",
    "instance_monthly",
    "requests_per_instance",
    "ha",
    "ops_monthly",
    "one_time",
    "horizon",
)


def fixed_fleet(model: CostModel, volumes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fleet bill, instances, GPUs an instance) of a fixed fleet at each volume, in the cheapest of its shapes
    there (the first on a tie, as CostModel.fleet_at does): sized for the busiest hour, never under the floor,
    plus any spare. GPUs are 0 where the shape has none sized."""
    volumes = np.asarray(volumes, dtype=float)
    spare = 1 if model.ha else 0
    best_bill = best_n = best_gpus = None
    for shape in model.shapes():
        rpi = shape.requests_per_instance
        needed = np.ones_like(volumes) if rpi is None else np.ceil(volumes / rpi)
        n = np.maximum(max(model.floor, 1), needed) + spare
        bill = n * shape.instance_monthly
        gpus = np.full_like(volumes, shape.gpus or 0)
        if best_bill is None:
            best_bill, best_n, best_gpus = bill, n, gpus
        else:
            cheaper = bill < best_bill
            best_bill = np.where(cheaper, bill, best_bill)
            best_n, best_gpus = np.where(cheaper, n, best_n), np.where(cheaper, gpus, best_gpus)
    return best_bill, best_n, best_gpus


def selfhost_bills(model: CostModel, volumes: Any) -> np.ndarray:
    """The self-host bill at each volume: the closed form for a plain staircase or a fixed fleet of several
    shapes, the model's own bill otherwise (an autoscaled or serverless fleet), so every chart and path
    agrees with the report."""
    volumes = np.asarray(volumes, dtype=float)
    if model.fixed and model.instance_monthly > 0 and not model.uniform:
        bills, _, _ = fixed_fleet(model, volumes)
        return bills + model.ops_monthly + volumes * model.selfhost_variable_per_request
    if model.uniform:
        return np.asarray(
            monthly_bills(
                volumes,
                0.0,
                model.selfhost_variable_per_request,
                model.instance_monthly,
                model.requests_per_instance or np.inf,
                model.ha,
                model.ops_monthly,
            )[1],
            dtype=float,
        )
    return np.array([model.selfhost_monthly(float(v)) for v in volumes.ravel()]).reshape(volumes.shape)


def breakpoints(model: CostModel, low: float, high: float, limit: int = MAX_STEPS) -> list[float]:
    """Volumes in (low, high] where the self-host bill jumps (one more instance at some hour) or bends
    (a serverless instance fills up); between two of them the bill is a straight line."""
    points: set[float] = set()
    if model.serverless is not None:
        s = model.serverless
        for _, factor in model.levels:
            if factor > 0:
                rates = [1 / s.seconds_alone, s.requests_per_s_full]
                if model.floor > 0:
                    rates += [model.floor / s.seconds_alone, model.floor * s.requests_per_s_full]
                points |= {rate * SECONDS_PER_MONTH / factor for rate in rates}
    elif model.requests_per_instance and (model.instance_monthly > 0):
        levels = model.levels if model.autoscale else [(0.0, 1.0)]
        # each shape of a fixed fleet steps at its own size
        steps = [shape.requests_per_instance for shape in model.shapes() if shape.requests_per_instance]
        for _, factor in levels:
            if factor <= 0:
                continue
            for size in steps:
                step = size / factor
                first = max(model.floor, 1, math.ceil(low / step))
                last = min(math.floor(high / step), first + limit)
                points |= {k * step for k in range(first, last + 1)}
    return sorted(p for p in points if low < p <= high)[:limit]


def _bounds(model: CostModel) -> tuple[float, float, float]:
    """(lowest slope, highest slope, highest intercept) of straight lines between which the self-host bill
    runs at every volume: beyond where the API's line clears the upper one, no crossing is left."""
    var = model.selfhost_variable_per_request
    spare = 1 if model.ha else 0
    if model.serverless is not None:
        s = model.serverless
        slope = s.price_per_instance_s / s.requests_per_s_full
        top = s.price_per_instance_s * 3600 * HOURS_PER_MONTH * (1 + model.floor) + s.cold_starts_monthly
        return slope + var, slope + var, top + model.ops_monthly
    rpi = model.requests_per_instance
    if not rpi or model.instance_monthly == 0:
        return var, var, model.fleet_monthly(0.0) + model.ops_monthly
    # The bill is the cheapest shape's at each volume, so it runs under the line of the shape cheapest a request
    # (n instances of it cost at most its slope x volume plus floor, spare and one partly used instance).
    shapes = [shape for shape in model.shapes() if shape.requests_per_instance]
    lean = min(shapes, key=lambda shape: shape.instance_monthly / shape.requests_per_instance)
    slope = lean.instance_monthly / lean.requests_per_instance
    return slope + var, slope + var, lean.instance_monthly * (1 + model.floor + spare) + model.ops_monthly


def _crossing(model: CostModel, requests: float, direction: str) -> Crossing:
    """A crossing at `requests` a month, with the fleet (instances and their split) the bill has there."""
    return Crossing(
        requests_per_month=requests,
        tokens_per_month=requests * model.tokens_per_request,
        direction=direction,  # type: ignore[arg-type]
        instances=model.instances(requests),
        gpus_per_instance=model.split_at(requests),
    )


def _general_crossings(model: CostModel, up_to: float) -> tuple[list[Crossing], bool]:
    """Crossings of any fleet: between two breakpoints both bills are straight lines."""
    c = model.api_cost_per_request
    found: list[Crossing] = []

    def add(requests: float, direction: str) -> None:
        found.append(_crossing(model, requests, direction))

    low_slope, high_slope, top = _bounds(model)
    if c <= low_slope:
        return found, False  # the API is cheaper per request at every volume: buying never catches up
    edges = breakpoints(model, 0.0, up_to)
    truncated = len(edges) >= MAX_STEPS and edges[-1] < up_to
    bounds = [0.0, *edges] + ([up_to] if not edges or edges[-1] < up_to else [])
    # Both bills at every point looked at, in one pass (each segment's thirds and its left edge).
    starts = np.asarray(bounds[:-1], dtype=float)
    widths = np.asarray(bounds[1:], dtype=float) - starts
    at = selfhost_bills(model, np.concatenate([starts + widths / 3, starts + 2 * widths / 3, starts]))
    thirds_a, thirds_b, at_edges = np.split(at, 3) if len(starts) else ([], [], [])
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if hi <= lo:
            continue
        a, b = lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3
        fa, fb = float(thirds_a[i]), float(thirds_b[i])
        slope = (fb - fa) / (b - a)
        intercept = fa - slope * a
        right = c * lo - (intercept + slope * lo)
        if lo > 0:
            left = c * lo - float(at_edges[i])
            if left >= 0 > right:
                add(lo, "buy_stops_paying")
            elif left < 0 <= right:
                add(lo, "buy_starts_paying")
        margin = c - slope
        if margin != 0:
            root = intercept / margin
            if lo < root <= hi and (right < 0) == (margin > 0):
                add(root, "buy_starts_paying" if margin > 0 else "buy_stops_paying")
        if c >= high_slope and c * hi - (top + high_slope * hi) >= 0:
            break  # the API's bill now runs above every bill self-hosting can reach
    return found, truncated


def crossings(model: CostModel, up_to: float) -> tuple[list[Crossing], bool]:
    """Every volume in [0, up_to] where the cheaper side changes; and whether the list was cut short.

    Within one step of the capacity staircase both bills are straight lines, so a crossing is
    either inside a step (buying starts to pay) or at a step's edge, where one more instance
    makes self-hosting dearer again (buying stops paying).
    """
    if not model.uniform:
        return _general_crossings(model, up_to)
    margin = model.api_cost_per_request - model.selfhost_variable_per_request
    found: list[Crossing] = []

    def add(requests: float, direction: str) -> None:
        found.append(_crossing(model, requests, direction))

    if model.requests_per_instance is None or model.instance_monthly == 0:
        fixed = model.selfhost_monthly(0.0)
        if margin > 0 and fixed / margin <= up_to:
            add(fixed / margin, "buy_starts_paying")
        return found, False

    if margin <= 0:
        return found, False  # the API is cheaper per request: every step only widens the gap
    step = model.requests_per_instance
    spare = 1 if model.ha else 0
    steps = math.ceil(up_to / step)
    truncated = steps > MAX_STEPS
    for n in range(1, min(steps, MAX_STEPS) + 1):
        low, high = (n - 1) * step, min(n * step, up_to)
        fixed = (n + spare) * model.instance_monthly + model.ops_monthly
        if n > 1 and (low * margin - fixed) < 0 <= (low * margin - (fixed - model.instance_monthly)):
            add(low, "buy_stops_paying")
        point = fixed / margin
        if low < point <= high:
            add(point, "buy_starts_paying")
        if n * (step * margin - model.instance_monthly) >= (1 + spare) * model.instance_monthly + model.ops_monthly:
            # From here every further instance earns more than it costs: no more crossings.
            break
    return found, truncated


def breakeven(found: list[Crossing]) -> float | None:
    """The lowest volume at which buying starts to pay."""
    return next((c.requests_per_month for c in found if c.direction == "buy_starts_paying"), None)


def all_crossings(model: CostModel, requests: float) -> list[Crossing]:
    """Every crossing up to 100x the volume; if buying never starts to pay there, the first
    volume at which it does, however far (so the break-even is never hidden by the range)."""
    found, _ = crossings(model, max(requests * 100, 1e4))
    if not any(c.direction == "buy_starts_paying" for c in found):
        found = crossings(model, 1e15)[0][:1]
    return found


def first_breakeven(model: CostModel, requests: float) -> float | None:
    """breakeven(all_crossings(model, requests)), without listing the crossings: the what-ifs of every
    analysis need only the first volume where buying starts to pay. A plain staircase has it in closed
    form (the first step whose fixed bill the margin covers); anything else takes the general path."""
    if not model.uniform:
        return breakeven(all_crossings(model, requests))
    margin = model.api_cost_per_request - model.selfhost_variable_per_request
    limit = max(requests * 100, 1e4, 1e15)  # all_crossings looks up to 100x the volume, then to 1e15
    if model.requests_per_instance is None or model.instance_monthly == 0:
        fixed = model.selfhost_monthly(0.0)
        return fixed / margin if margin > 0 and fixed / margin <= limit else None
    if margin <= 0:
        return None
    step, monthly = model.requests_per_instance, model.instance_monthly
    spare = 1 if model.ha else 0
    gain = step * margin - monthly  # what each further instance earns over its cost, at full load
    if gain <= 0:
        return breakeven(all_crossings(model, requests))
    first = max(1, math.ceil((spare * monthly + model.ops_monthly) / gain))
    for n in (first - 1, first, first + 1):  # the closed form's n, checked as crossings() checks each step
        if n < 1 or n > MAX_STEPS:
            continue
        point = ((n + spare) * monthly + model.ops_monthly) / margin
        if (n - 1) * step < point <= min(n * step, limit):
            return point
    return breakeven(all_crossings(model, requests))


def manual_comparison(
    requests: float,
    cost_per_task: float,
    selfhost_monthly: Callable[[float], float],
    variable_per_task: float,
    one_time: float,
) -> ManualComparison:
    """ROI against people doing the task by hand: today's bill against the model's (oversight included)."""
    current = cost_per_task * requests
    future = selfhost_monthly(requests)
    savings = current - future
    payback, roi = payback_and_roi(one_time, savings)
    margin = cost_per_task - variable_per_task
    return ManualComparison(
        breakeven_tasks_per_month=selfhost_monthly(0.0) / margin if margin > 0 else None,
        manual_monthly_cost=current,
        future_monthly_cost=future,
        monthly_savings=savings,
        payback_months=or_none(payback),
        first_year_roi=or_none(roi),
    )


def breakeven_failure_rate(
    baseline_adjusted: float, selfhost_raw: float, requests: float, fail_cost: float
) -> float | None:
    """The fine-tuned failure rate at which self-hosting stops paying (None: it never pays, even at 0%)."""
    per_point = requests * fail_cost
    if per_point <= 0:
        return None
    limit = (baseline_adjusted - selfhost_raw) / per_point
    return None if limit < 0 else min(limit, 1.0)


def or_none(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
