"""What-ifs and the tornado: which input moves the answer most."""

from __future__ import annotations

from collections.abc import Callable

from . import economics
from .scenario import CostModel, Sensitivity, SensitivityCase, WhatIf
from .verdict import cost_verdict


def _outcome(model: CostModel, requests: float, one_time: float) -> tuple[float, float | None]:
    savings = model.api_monthly(requests) - model.selfhost_monthly(requests)
    payback, _ = economics.payback_and_roi(one_time, savings)
    return savings, economics.or_none(payback)


def _net(model: CostModel, requests: float, one_time: float) -> float:
    savings, _ = _outcome(model, requests, one_time)
    return 12 * savings - one_time


def analyse(
    model: CostModel,
    requests: float,
    one_time: float,
    horizon: float,
    decide: Callable[[float, float | None], str] | None = None,
    rent: str = "API",
) -> Sensitivity:
    """decide(savings, payback) -> verdict; by default on cost alone. `rent` names what buying is
    weighed against (the API, or manual work priced per task as model.api_cost_per_request)."""
    decide = decide or (lambda s, p: cost_verdict(s, p, horizon))

    def what_if(name: str, changed: CostModel) -> WhatIf:
        savings, payback = _outcome(changed, requests, one_time)
        return WhatIf(name=name, monthly_savings=savings, payback_months=payback, verdict=decide(savings, payback))

    what_ifs = [
        what_if(
            f"{rent} prices -50%" if rent == "API" else f"{rent} -50%",
            model.model_copy(update={"api_cost_per_request": model.api_cost_per_request / 2}),
        ),
        what_if(
            "Infrastructure x2",
            model.model_copy(
                update={
                    "instance_monthly": model.instance_monthly * 2,
                    "selfhost_variable_per_request": model.selfhost_variable_per_request * 2,
                }
            ),
        ),
        what_if("99.9% uptime (N+1)", model.model_copy(update={"ha": True})),
    ]

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
            lambda f: (
                model.model_copy(
                    update={
                        "instance_monthly": model.instance_monthly * f,
                        "selfhost_variable_per_request": model.selfhost_variable_per_request * f,
                    }
                ),
                requests,
                one_time,
            ),
        ),
        ("One-time cost", lambda f: (model, requests, one_time * f)),
        (
            "Operations hours",
            lambda f: (model.model_copy(update={"ops_monthly": model.ops_monthly * f}), requests, one_time),
        ),
    ]
    if model.requests_per_instance is not None and model.instance_monthly > 0:
        variations.append(
            (
                "Capacity per instance",
                lambda f: (
                    model.model_copy(update={"requests_per_instance": model.requests_per_instance * f}),
                    requests,
                    one_time,
                ),
            )
        )

    cases = []
    for name, vary in variations:
        ends = []
        for factor in (0.5, 1.5):
            changed, r, o = vary(factor)
            savings, payback = _outcome(changed, r, o)
            ends.append((12 * savings - o, decide(savings, payback)))
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
    cases.sort(key=lambda c: c.swing, reverse=True)
    flipping = [c for c in cases if c.flips]
    most = (flipping or cases)[0].name
    return Sensitivity(base_net=_net(model, requests, one_time), what_ifs=what_ifs, cases=cases, most_influential=most)
