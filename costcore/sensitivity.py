"""What-ifs and the tornado: which input moves the answer most."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import economics
from . import growth as growth_path
from .scenario import CostModel, Sensitivity, SensitivityCase, WhatIf
from .verdict import cost_verdict


@dataclass(frozen=True)
class GrowthInput:
    """Volume growing `rate` a month, held at `limit`: the net is then the first 12 months on that path
    and payback is counted along it."""

    rate: float
    limit: float


def _flat_outcome(model: CostModel, requests: float, one_time: float) -> tuple[float, float | None]:
    # Scalar arithmetic, the same as economics.payback_and_roi: the tornado calls this a score of times
    # per analysis, and NumPy on single numbers costs more than the sum itself.
    savings = model.api_monthly(requests) - model.selfhost_monthly(requests)
    return savings, (one_time / savings if savings > 0 else None)


def _flat_net(model: CostModel, requests: float, one_time: float) -> float:
    savings, _ = _flat_outcome(model, requests, one_time)
    return 12 * savings - one_time


def analyse(
    model: CostModel,
    requests: float,
    one_time: float,
    horizon: float,
    decide: Callable[[float, float | None], str] | None = None,
    rent: str = "API",
    growth: GrowthInput | None = None,
    billing: list[tuple[str, CostModel, str]] | None = None,
    failure_threshold: float | None = None,
    failure_basis: str = "",
) -> Sensitivity:
    """decide(savings, payback) -> verdict; by default on cost alone. `rent` names what buying is
    weighed against (the API, or manual work priced per task as model.api_cost_per_request). `billing`
    holds the same fleet paid for in each other mode the catalogue prices (name, model, detail): the
    cheapest at today's volume is a what-if of its own.

    With growth, each figure is taken on the growth path (payback along it, the net of its first 12
    months) and the growth rate is one more input of the tornado."""
    decide = decide or (lambda s, p: cost_verdict(s, p, horizon))
    rate = growth.rate if growth is not None else 0.0

    def _evaluate(model: CostModel, requests: float, one_time: float, rate: float = rate):
        """(savings today, payback, net of the first year): flat, or along the growth path."""
        if growth is None:
            savings, payback = _flat_outcome(model, requests, one_time)
            return savings, payback, 12 * savings - one_time
        savings = model.api_monthly(requests) - model.selfhost_monthly(requests)
        net, payback = growth_path.outcome(model, requests, rate, one_time, growth.limit)
        return savings, payback, net

    def _outcome(model: CostModel, requests: float, one_time: float) -> tuple[float, float | None]:
        return _evaluate(model, requests, one_time)[:2]

    def what_if(name: str, changed: CostModel, detail: str = "") -> WhatIf:
        savings, payback = _outcome(changed, requests, one_time)
        return WhatIf(
            name=name,
            monthly_savings=savings,
            payback_months=payback,
            verdict=decide(savings, payback),
            breakeven_requests_per_month=economics.first_breakeven(changed, requests),
            detail=detail,
        )

    what_ifs = [
        what_if(
            f"{rent} prices -50%" if rent == "API" else f"{rent} -50%",
            model.model_copy(update={"api_cost_per_request": model.api_cost_per_request / 2}),
        ),
        what_if("Infrastructure x2", model.with_infrastructure(2)),
        what_if("99.9% uptime (N+1)", model.model_copy(update={"ha": True})),
    ]
    if billing:  # the cheapest other way of paying for the same GPUs, at today's volume
        name, changed, detail = min(billing, key=lambda b: b[1].selfhost_monthly(requests))
        what_ifs.append(what_if(f"Billed {name}", changed, detail))

    # Each input at half and one and a half times its value, the rest held.
    variations: list[tuple[str, Callable[[float], tuple[CostModel, float, float]]]] = [
        ("Volume", lambda f: (model, requests * f, one_time)),
        (
            f"{rent} price" if rent == "API" else f"{rent} cost",
            lambda f: (
                model.model_copy(update={"api_cost_per_request": model.api_cost_per_request * f}),
                requests,
                one_time,
            ),
        ),
        (
            "Infrastructure price",
            lambda f: (model.with_infrastructure(f), requests, one_time),
        ),
        ("One-time cost", lambda f: (model, requests, one_time * f)),
        (
            "Operations hours",
            lambda f: (model.model_copy(update={"ops_monthly": model.ops_monthly * f}), requests, one_time),
        ),
    ]
    if (model.requests_per_instance is not None and model.instance_monthly > 0) or model.serverless is not None:
        variations.append(("Capacity per instance", lambda f: (model.with_capacity(f), requests, one_time)))

    cases = []
    for name, vary in variations:
        ends = []
        for factor in (0.5, 1.5):
            changed, r, o = vary(factor)
            savings, payback, net = _evaluate(changed, r, o)
            ends.append((net, decide(savings, payback)))
        (low_net, low_verdict), (high_net, high_verdict) = ends
        cases.append(
            SensitivityCase(
                name=name,
                low_label="-50%",
                high_label="+50%",
                low_net=low_net,
                high_net=high_net,
                low_verdict=low_verdict,
                high_verdict=high_verdict,
                swing=abs(high_net - low_net),
                flips=len({low_verdict, high_verdict, decide(*_outcome(model, requests, one_time))}) > 1,
            )
        )
    if growth is not None:
        cases.append(_growth_case(model, requests, one_time, rate, _evaluate, decide))
    cases.sort(key=lambda c: c.swing, reverse=True)
    flipping = [c for c in cases if c.flips]
    most = (flipping or cases)[0].name
    base_net = _flat_net(model, requests, one_time) if growth is None else _evaluate(model, requests, one_time)[2]
    return Sensitivity(
        base_net=base_net,
        what_ifs=what_ifs,
        cases=cases,
        most_influential=most,
        failure_threshold=failure_threshold,
        failure_threshold_basis=failure_basis if failure_threshold is not None else "",
    )


def _growth_case(model, requests, one_time, rate, evaluate, decide) -> SensitivityCase:
    """The growth rate at half and one and a half times its value (5 points either side of flat)."""
    low, high = (rate * 0.5, rate * 1.5) if rate else (-0.05, 0.05)
    low, high = sorted(min(1.0, max(-0.5, x)) for x in (low, high))
    ends = []
    for r in (low, high):
        savings, payback, net = evaluate(model, requests, one_time, r)
        ends.append((net, decide(savings, payback)))
    (low_net, low_verdict), (high_net, high_verdict) = ends
    return SensitivityCase(
        name="Growth rate",
        low_label=f"{low * 100:.3g}%/month",
        high_label=f"{high * 100:.3g}%/month",
        low_net=low_net,
        high_net=high_net,
        low_verdict=low_verdict,
        high_verdict=high_verdict,
        swing=abs(high_net - low_net),
        flips=len({low_verdict, high_verdict, decide(*evaluate(model, requests, one_time)[:2])}) > 1,
    )
