"""The one comparison every number comes from.

The options that apply (the API, self-hosting, and work done by hand when `manual_h` is given),
each with its monthly bill and, when failure rates are given, that bill with each failure
priced. Buying is weighed against one baseline: the cheapest other option that meets the hard
constraints. Savings, break-even and crossings, payback and ROI follow from the baseline and
self-hosting alone, through one CostModel that the sensitivity and the charts re-use.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import economics
from .buy import BuySide
from .constraints import ManualSide, missed
from .format import money
from .ledger import Ledger
from .rent import RentSide
from .scenario import (
    ConstraintCheck,
    CostModel,
    Crossing,
    FailureAdjusted,
    ManualComparison,
    OptionCost,
    Scenario,
)
from .workload import Workload

LABELS = {"manual": "By hand"}


@dataclass(frozen=True)
class Failures:
    fail_api: float
    fail_ft: float
    fail_cost: float


@dataclass(frozen=True)
class Comparison:
    options: list[OptionCost]
    baseline: str  # "api" or "manual"
    compared: str
    model: CostModel
    savings: float
    payback: float | None
    roi: float | None
    crossings: list[Crossing]
    breakeven: float | None
    manual: ManualComparison | None
    failure: FailureAdjusted | None

    def option(self, name: str) -> OptionCost | None:
        return next((o for o in self.options if o.option == name), None)

    @property
    def never_pays_because(self) -> str:
        """Why buying never breaks even, when it does not: the baseline is cheaper for each request,
        or it is dearer but no instance carries enough requests to pay for itself."""
        m = self.model
        what = "doing it by hand" if self.baseline == "manual" else "the API"
        unit = "task" if self.baseline == "manual" else "request"
        if m.api_cost_per_request <= m.selfhost_variable_per_request:
            return f"{what} is cheaper per {unit}"
        return f"each instance costs more than the {unit}s it can carry save against {what}"

    @property
    def baseline_option(self) -> OptionCost:
        return self.option(self.baseline)  # type: ignore[return-value]


def failures(s: Scenario, manual: ManualSide | None, ledger: Ledger, api_compared: bool = True) -> Failures | None:
    """Failure rates and the price of a failure, when both can be had; else None, with a note for each input
    that cannot be used. With no API compared (work by hand is the baseline) the API's rate has no side to
    price, and the fine-tuned model's stands alone (failures by hand cost nothing extra: they are the work)."""
    fail_api = s.fail_api
    if fail_api is not None and not api_compared:
        ledger.ignored("fail_api", "no API is compared (manual work is the baseline); name one with api= to compare it")
        fail_api = None
    if fail_api is None and s.fail_ft is None:
        if s.fail_cost is not None:
            ledger.ignored("fail_cost", "it prices a failure, which needs fail_api= and/or fail_ft= (failure rates)")
        return None
    fail_cost = s.fail_cost
    if fail_cost is None:
        if manual is None:
            rates = (("fail_api", fail_api), ("fail_ft", s.fail_ft))
            given = " and ".join(f"`{key}=`" for key, value in rates if value is not None)
            ledger.note(
                f"{given} not counted in the bills: a failure has no price, set fail_cost= (what one failure costs "
                "you); the sensitivity gives the failure rate where buying stops paying, each failure taken as one "
                "API request to redo it"
            )
            return None
        fail_cost = manual.cost_per_task
        ledger.assume("fail_cost", money(fail_cost), "a failure costs one task redone by hand (manual_h x manual_rate)")
    if not api_compared:
        return Failures(0.0, s.fail_ft, fail_cost)
    return Failures(_rate(s, "fail_api", ledger), _rate(s, "fail_ft", ledger), fail_cost)


def _rate(s: Scenario, key: str, ledger: Ledger) -> float:
    """A failure rate, or the other side's where only one is given (listed): quality is assumed equal until
    measured, so the failures price both sides alike and the comparison stays on cost alone."""
    given = getattr(s, key)
    if given is not None:
        return given
    other = "fail_ft" if key == "fail_api" else "fail_api"
    rate = getattr(s, other)
    side = "the fine-tuned model's" if key == "fail_ft" else "the API's"
    ledger.assume(
        key,
        f"{rate:.1%}",
        f"{side} failure rate is taken as equal to the {other}= you gave: no difference in quality is assumed "
        f"until measured (set {key}=, or measure it with `breakeven measure`)",
    )
    return rate


def compare(
    work: Workload,
    rent: RentSide | None,
    buy: BuySide,
    manual: ManualSide | None,
    priced_failures: Failures | None,
    one_time: float,
    checks: list[ConstraintCheck],
    ledger: Ledger,
) -> Comparison:
    requests = work.requests
    f = priced_failures
    fail_api = f.fail_api if f else 0.0
    fail_ft = f.fail_ft if f else 0.0
    fail_cost = f.fail_cost if f else 0.0

    per_request: dict[str, tuple[float, float]] = {}  # option -> (raw, with failures) a request
    options: list[OptionCost] = []

    def add(option: str, label: str, monthly: float, adjusted: float, rate: float | None, raw_cpr: float) -> None:
        gone = [f"{c.name}: {c.detail}" for c in missed(checks, option)]
        options.append(
            OptionCost(
                option=option,
                label=label,
                monthly_cost=monthly,
                monthly_cost_adjusted=adjusted,
                cost_per_request=monthly / requests if requests else (raw_cpr if option != "selfhost" else None),
                failure_rate=rate,
                meets_constraints=not gone,
                ruled_out_by=gone,
            )
        )

    if rent is not None:
        cpr = rent.cost_per_request
        per_request["api"] = (cpr, cpr + fail_api * fail_cost)
        add("api", rent.label, requests * cpr, requests * per_request["api"][1], fail_api if f else None, cpr)
    selfhost_raw = buy.monthly(requests)
    add(
        "selfhost",
        buy.label,
        selfhost_raw,
        selfhost_raw + requests * fail_ft * fail_cost,
        fail_ft if f else None,
        buy.variable_per_request,
    )
    if manual is not None:
        cpt = manual.cost_per_task
        per_request["manual"] = (cpt, cpt)
        add("manual", LABELS["manual"], requests * cpt, requests * cpt, 0.0 if f else None, cpt)

    others = [o for o in options if o.option != "selfhost"]
    meeting = [o for o in others if o.meets_constraints] or others
    baseline = min(meeting, key=lambda o: o.monthly_cost_adjusted).option

    model = buy.fleet.model_copy(
        update={
            "api_cost_per_request": per_request[baseline][1],
            "selfhost_variable_per_request": buy.variable_per_request + fail_ft * fail_cost,
            "tokens_per_request": work.tokens_per_request,
        }
    )
    savings = model.api_monthly(requests) - model.selfhost_monthly(requests)
    payback, roi = (economics.or_none(x) for x in economics.payback_and_roi(one_time, savings))
    found = economics.all_crossings(model, requests)

    manual_comparison = None
    if manual is not None:
        manual_comparison = economics.manual_comparison(
            requests, manual.cost_per_task, buy.monthly, buy.variable_per_request, one_time
        )
    failure = None
    if f is not None:
        baseline_adjusted = requests * per_request[baseline][1]
        selfhost_adjusted = selfhost_raw + requests * fail_ft * fail_cost
        failure = FailureAdjusted(
            fail_api=fail_api,
            fail_ft=fail_ft,
            fail_cost=fail_cost,
            api_monthly_cost=baseline_adjusted,
            selfhost_monthly_cost=selfhost_adjusted,
            monthly_savings=baseline_adjusted - selfhost_adjusted,
            breakeven_fail_ft=economics.breakeven_failure_rate(baseline_adjusted, selfhost_raw, requests, fail_cost),
        )
    return Comparison(
        options=options,
        baseline=baseline,
        compared=_compared(rent, manual, baseline, others, meeting),
        model=model,
        savings=savings,
        payback=payback,
        roi=roi,
        crossings=found,
        breakeven=economics.breakeven(found),
        manual=manual_comparison,
        failure=failure,
    )


def _compared(rent, manual, baseline: str, others: list[OptionCost], meeting: list[OptionCost]) -> str:
    if manual is None:
        return "The API against self-hosting: no manual work was described (manual_h= adds it as a third option)."
    if rent is None:
        return (
            "Doing the work by hand against self-hosting: manual_h= describes today's work and no API was named "
            "(api=, api_price= or api_per_1k= adds it as a third option)."
        )
    chosen = "the API" if baseline == "api" else "doing it by hand"
    why = "the cheaper of the two" if len(meeting) == len(others) else "the one that meets the hard constraints"
    return (
        "The API, self-hosting and doing the work by hand: both an API and manual_h= were given. "
        f"Buying is weighed against {chosen}, {why}."
    )
