"""analyze(scenario) -> Report: a short pipeline of named stages, each a pure function in its own
module, so that every figure on a report is computed in one place:

    template     a use case's figures where none are given (use=)     costcore/templates.py
    workload     requests a month and the shape of a request          costcore/workload.py
    rent         the API's cost a request (catalogue or your price)   costcore/rent.py
    buy          instances, servers or a per-token host, operations   costcore/buy.py
    one_time     hidden-cost lines x the iteration multiplier         costcore/one_time.py
    constraints  privacy, latency, task: met or missed per option     costcore/constraints.py
    compare      the options, the baseline, savings, break-even       costcore/compare.py
    verdict      from the comparison and the constraints only         costcore/verdict.py
    growth       the bills month by month as volume grows (growth=)  costcore/growth.py
    sensitivity  what-ifs and the tornado, on the comparison's model  costcore/sensitivity.py
    standing     where today's volume stands against the break-even   costcore/standing.py
    factors      what is not cost, row by row, from the same figures  costcore/factors.py
    next step    the one action the verdict ends with                 costcore/next_step.py

The ledger (costcore/ledger.py) collects, along the way, every default used and every input that
could not be used (the report's notes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from . import economics, sensitivity, templates
from . import growth as growth_path
from .buy import MAX_INSTANCES, buy_side
from .compare import compare, failures
from .constraints import answer_times, check_constraints, manual_side, missed
from .defaults import GROWTH_HORIZON
from .factors import Upkeep, compare_factors
from .format import count, money
from .grammar import GrammarError, key_for_field, to_text
from .ledger import Ledger
from .next_step import next_step
from .one_time import one_time_cost
from .price_sheet import NO_SHEET, PriceSheet
from .prices import modes_priced
from .rent import api_named, rent_side
from .scenario import Assumption, Growth, Report, Scenario
from .standing import standing as volume_standing
from .verdict import decide
from .workload import workload

MAX_MONTHLY = 1e12  # no team spends a trillion dollars a month: such a figure is a typo
PEOPLE_KEYS = ("data_h", "eval_h", "infra_h", "maint_h")


def analyze(scenario: Scenario, *, now: dt.datetime | None = None, sheet: PriceSheet | None = None) -> Report:
    """now: the moment prices are taken at (list prices, and your price sheet's entries in effect then);
    sheet: the prices your company pays (costcore/price_sheet.py), used by the rent and buy stages."""
    sheet = sheet or NO_SHEET
    ledger = Ledger(scenario)
    try:
        s, template = templates.start_from(scenario, ledger)
    except templates.TemplateError as exc:
        example = f"use={exc.suggestions[0]}" if exc.suggestions else "use=support-chatbot"
        raise GrammarError("use", str(exc), example) from None
    if s.measured is not None and not s.provenance:
        ledger.ignored(
            "measured",
            f"no saved measurement named '{s.measured}' was looked up here; `breakeven analyze` and the Slack bot "
            "fill its figures from the history",
        )
    work = workload(s, ledger)
    rate = ledger.pick(s.rate, "rate")
    manual = manual_side(s, rate, ledger)
    rent = rent_side(s, work, ledger, now, sheet) if api_named(s) or manual is None else None
    if rent is None:
        _not_compared(s, ledger)
    day = (now or dt.datetime.now(dt.UTC)).date()
    buy = buy_side(s, work, rate, ledger, sheet=sheet, on=day)
    instances = buy.instances(work.requests)
    if instances > MAX_INSTANCES:
        key = "peak" if s.peak and s.peak > 1 else "volume"
        raise GrammarError(
            key,
            f"that load needs {instances:,} serving instances, more than the {MAX_INSTANCES:,} this tool "
            "sizes: check volume= and peak=, or give the capacity one instance serves (capacity=)",
            "volume=2M/month peak=3x",
        )
    one_time = one_time_cost(s, rate, ledger)
    _rate_used(s, one_time, buy, manual, ledger)
    checks = check_constraints(s, work, rent, buy, manual, ledger)
    # Without a bound, the answer times are compared in the latency row, which needs an API to compare with.
    for key, value in (("ft_latency", s.ft_latency_ms), ("streaming", s.streaming)):
        if s.latency_ms is None and rent is None and value is not None:
            ledger.ignored(
                key,
                "with no latency bound (latency=) it only compares answer times with an API, and no API is compared",
            )
    priced_failures = failures(s, manual, ledger, api_compared=rent is not None)
    comparison = compare(work, rent, buy, manual, priced_failures, one_time.total, checks, ledger)
    _check_magnitudes(comparison, one_time.total)
    grows = s.growth is not None and _growth_applies(s, work.requests, ledger)
    horizon = ledger.pick(s.horizon, "horizon", GROWTH_HORIZON if grows else None)
    path: Growth | None = None
    limit = 0.0
    if grows:
        limit = growth_path.cap(comparison.model, work.requests, MAX_INSTANCES, MAX_MONTHLY)
        path = growth_path.project(comparison.model, work.requests, s.growth, horizon, one_time.total, limit)
        _growth_notes(path, ledger)
    where = volume_standing(
        comparison.model,
        work.requests,
        comparison.savings,
        comparison.crossings,
        comparison.breakeven,
        comparison.never_pays_because,
        comparison.baseline,
        growth=path,
        horizon=horizon,
    )
    decision = decide(comparison, checks, horizon, s.task, growth=path, standing=where)

    def verdict_on_cost(savings: float, payback: float | None) -> str:
        # A what-if moves the cost only: the same constraints decide as they did for the report. With
        # growth, `payback` is counted along the path, and the path's payback is what decides.
        on_path = None if path is None else path.model_copy(update={"payback_months": payback})
        return decide(replace(comparison, savings=savings, payback=payback), checks, horizon, s.task, on_path).verdict

    rent_name = "Manual work" if comparison.baseline == "manual" else "API"
    threshold, basis = _failure_threshold(s, comparison, rent, work.requests)
    sens = sensitivity.analyse(
        comparison.model,
        work.requests,
        one_time.total,
        horizon,
        verdict_on_cost,
        rent=rent_name,
        growth=sensitivity.GrowthInput(s.growth, limit) if path is not None else None,
        billing=other_billing(s, work, rate, buy, comparison.model, ledger, sheet, day),
        failure_threshold=threshold,
        failure_basis=basis,
    )
    if comparison.failure is not None:
        f = comparison.failure
        baseline = f"{f.fail_api:.0%} on the API" if comparison.baseline == "api" else "none by hand"
        decision.reasons.append(
            f"Failures priced in: {baseline} and {f.fail_ft:.0%} fine-tuned, at {money(f.fail_cost)} each."
        )
    pitfalls = _pitfalls(s, one_time, buy)
    times = answer_times(s, work, rent, buy, ledger) if s.latency_ms is None else None
    held = _held_to_api(s, times, buy, sheet, day)
    api = comparison.option("api")
    selfhost = comparison.option("selfhost")
    requests = work.requests
    return Report(
        verdict=decision.verdict,
        recommended=decision.recommended,
        headline=decision.headline,
        reasons=decision.reasons,
        baseline=comparison.baseline,
        compared=comparison.compared,
        options=comparison.options,
        requests_per_month=requests,
        tokens_per_month=requests * work.tokens_per_request,
        api_monthly_cost=api.monthly_cost if api else None,
        selfhost_monthly_cost=selfhost.monthly_cost,
        baseline_monthly_cost=comparison.baseline_option.monthly_cost_adjusted,
        api_cost_per_request=rent.cost_per_request if rent else None,
        selfhost_cost_per_request=selfhost.monthly_cost / requests if requests else None,
        selfhost_fixed_monthly=selfhost.monthly_cost - requests * buy.variable_per_request,
        selfhost_variable_per_request=buy.variable_per_request,
        instances=instances,
        one_time_cost=one_time.total,
        one_time_range=one_time.range,
        iteration_multiplier=one_time.multiplier[1],
        monthly_savings=comparison.savings,
        breakeven_requests_per_month=comparison.breakeven,
        breakeven_tokens_per_month=None
        if comparison.breakeven is None
        else comparison.breakeven * work.tokens_per_request,
        never_breaks_even=None if comparison.breakeven is not None else comparison.never_pays_because,
        payback_months=comparison.payback,
        first_year_roi=comparison.roi,
        horizon_months=horizon,
        crossings=comparison.crossings,
        api_price=rent.quote if rent else None,
        selfhost_lines=buy.lines(requests),
        hidden_costs=one_time.lines,
        pitfalls=pitfalls,
        manual=comparison.manual,
        failure=comparison.failure,
        sensitivity=sens,
        capacity=buy.capacity,
        constraints=checks,
        assumptions=ledger.assumptions + _measured(s),
        notes=ledger.notes,
        cost_model=comparison.model,
        billing=buy.billing if buy.kind == "gpu" else ("per-token" if buy.kind == "per_token" else "always-on"),
        instance_hours_per_month=comparison.model.instance_hours(requests) if instances or buy.kind == "gpu" else None,
        cash_up_front=instances * buy.purchase_per_instance if buy.purchase_per_instance is not None else None,
        template=template,
        growth=path,
        factors=compare_factors(
            s,
            rent,
            buy,
            checks,
            templates.find(s.use) if template else None,
            Upkeep(s.maint_h if s.maint_h is not None else _default("maint_h"), rate, s.oversight or 0.0),
            requests,
            instances,
            multiplier=one_time.multiplier,
            times=times,
            held_to_api=held,
        ),
        standing=where,
        next_step=next_step(
            verdict=decision.verdict,
            baseline=comparison.baseline,
            standing=where,
            payback=path.payback_months if path is not None else comparison.payback,
            growth=path,
            horizon=horizon,
            selfhost_ruled_out=missed(checks, "selfhost"),
            one_time=one_time.total,
            runs=one_time.runs,
            eval_h=one_time.eval_h,
            analysis_text=to_text(scenario),
        ),
    )


def _failure_threshold(s: Scenario, comparison, rent, requests: float) -> tuple[float | None, str]:
    """The fine-tuned failure rate at which buying stops paying, and what a failure is taken to cost.

    Priced failures (fail_cost=, or a task redone by hand) give it directly. Failure rates given without a
    price ask the question all the same: each failure is then taken at the least it costs, one more API
    request to redo it, and the basis says so (fail_cost= gives yours)."""
    f = comparison.failure
    if f is not None:
        return f.breakeven_fail_ft, f"{money(f.fail_cost)} a failure"
    asked = s.fail_api is not None or s.fail_ft is not None
    if not asked or rent is None or comparison.baseline != "api" or rent.cost_per_request <= 0:
        return None, ""
    retry = rent.cost_per_request
    model = comparison.model
    baseline = requests * retry * (1 + (s.fail_api or 0.0))
    limit = economics.breakeven_failure_rate(baseline, model.selfhost_monthly(requests), requests, retry)
    return limit, f"no fail_cost= given: each failure taken as one API request to redo it, {money(retry)}"


def other_billing(
    s: Scenario, work, rate: float, buy, model, ledger: Ledger, sheet: PriceSheet = NO_SHEET, day=None
) -> list[tuple[str, object, str]]:
    """The same fleet paid for in each other mode the catalogue (or your price sheet) prices for its GPU
    and that meets the constraints: (name, cost model, detail). A cheaper mode left out for a constraint is named in the
    detail of the cheapest that meets them, so the row never hides a saving nor offers one that breaks a bound."""
    if buy.kind != "gpu" or buy.gpu is None or s.gpu_price is not None:
        return []
    meeting, broken = [], []
    for mode in sheet.gpu_modes(buy.gpu.id, day, modes_priced(buy.gpu.id)):
        if mode == buy.billing:
            continue
        try:
            other = buy_side(
                s.model_copy(update={"billing": mode}), work, rate, Ledger(s), sized=buy.capacity, sheet=sheet, on=day
            )
        except GrammarError:
            continue
        changed = other.fleet.model_copy(
            update={
                "api_cost_per_request": model.api_cost_per_request,
                "selfhost_variable_per_request": model.selfhost_variable_per_request,
                "tokens_per_request": model.tokens_per_request,
            }
        )
        entry = (mode, changed, other.label.removeprefix("Self-host (").removesuffix(")"))
        why = _billing_breaks(s, mode, buy)
        (broken if why else meeting).append((*entry, why))
    monthly = {mode: changed.selfhost_monthly(work.requests) for mode, changed, _, _ in meeting + broken}
    cheaper = [(mode, why) for mode, _, _, why in broken]
    if meeting:
        best = min(meeting, key=lambda m: monthly[m[0]])
        cheaper = [(mode, why) for mode, why in cheaper if monthly[mode] < monthly[best[0]]]
    for mode, why in cheaper:
        ledger.note(
            f"billing={mode} would self-host for {money(monthly[mode])} a month, but {why}; the sensitivity "
            "weighs the cheapest billing mode that meets the constraints instead"
        )
    return [
        (mode, changed, detail + "".join(f"; {m} is cheaper but {why}" for m, why in cheaper))
        for mode, changed, detail, _ in meeting
    ]


def _billing_breaks(s: Scenario, mode: str, buy) -> str:
    """Why paying in this mode would break a constraint the scenario sets ('' when it meets them all).

    Serverless scales to zero: a request that finds no warm instance waits for one to start and load the
    model (seconds to minutes), which a latency bound does not allow unless an instance is kept warm
    (min_instances=1) or the cold start given (cold_start=) fits within the bound."""
    if mode != "serverless" or s.latency_ms is None or (s.min_instances or 0) >= 1:
        return ""
    bound = f"latency={s.latency_ms:,.0f}ms"
    if s.cold_start_s is None:
        return f"its cold starts (scale to zero) would break {bound}: keep one warm with min_instances=1"
    worst = s.cold_start_s * 1000 + (buy.latency_ms or 0.0)
    if worst > s.latency_ms:
        return f"a {s.cold_start_s:g} s cold start would break {bound}: keep one warm with min_instances=1"
    return ""


def _held_to_api(s: Scenario, times, buy, sheet: PriceSheet = NO_SHEET, day=None):
    """Where self-hosting answers clearly slower than the API and no bound is given: the sizing held to the
    API's time (what latency= would do), so the latency row can say what it costs."""
    from .buy import sizing
    from .factors import CLEAR_MARGIN

    c = buy.capacity
    if times is None or c is None or c.source != "model" or s.ft_latency_ms is not None:
        return None
    if times.own_ms < CLEAR_MARGIN * times.api_ms:
        return None
    return sizing(s.model_copy(update={"latency_ms": times.api_ms}), sheet=sheet, on=day)


def _rate_used(s: Scenario, one_time, buy, manual, ledger: Ledger) -> None:
    """rate= prices people's hours: say so when this scenario prices none."""
    if s.rate is None:
        return
    hours = one_time.data_h + one_time.eval_h + one_time.infra_h
    upkeep = any(line.name == "Operations" for line in buy.ops_lines)
    by_hand = manual is not None and s.manual_rate is None
    if not (hours or upkeep or by_hand):
        ledger.ignored(
            "rate",
            "no hours are priced in this scenario: no one-time hours are counted (setup= is your total, or the "
            "hours given are 0) and maint_h=0; give data_h=, eval_h=, infra_h= or maint_h= to price hours at it",
        )


def _growth_applies(s: Scenario, requests: float, ledger: Ledger) -> bool:
    if requests <= 0:
        ledger.ignored("growth", "there is no volume to grow (the volume is zero): give volume=")
        return False
    return True


def _growth_notes(path: Growth, ledger: Ledger) -> None:
    if path.rate_per_month == 0:
        ledger.note("growth=0: volume stays flat over the projected months (the same as no growth, over 24 months)")
    capped = path.capped_from_month
    if capped is not None and (capped <= len(path.months) or (path.payback_month or capped + 1) > capped):
        ledger.note(
            f"growth= is held from month {path.capped_from_month} at {count(path.cap_requests_per_month)} requests a "
            "month, the most this tool sizes (its fleet, bill or volume limit): compounding is capped there"
        )


def _not_compared(s: Scenario, ledger: Ledger) -> None:
    why = "no API is compared: manual_h= with no API named compares doing the work by hand with self-hosting"
    for key, value in (
        ("cached", s.cached_share),
        ("api_latency", s.api_latency_ms),
        ("batch", s.batch_share),
        ("tier", s.api_tier),
        ("cache_write", s.cache_write_share),
    ):
        if value is not None:
            ledger.ignored(key, why)


def _check_magnitudes(comparison, one_time: float) -> None:
    """Reject inputs whose bills no team could have (a typo, not a plan), naming the key to look at."""
    for option in comparison.options:
        if option.monthly_cost_adjusted > MAX_MONTHLY:
            key = {"api": "volume", "selfhost": "volume", "manual": "manual_h"}[option.option]
            raise GrammarError(
                key,
                f"{option.label} would cost {money(option.monthly_cost_adjusted)} a month, over the "
                f"{money(MAX_MONTHLY)} this tool accepts: check the volume and the prices",
                "volume=2M/month",
            )
    if one_time > MAX_MONTHLY:
        raise GrammarError(
            "setup",
            f"a one-time cost of {money(one_time)} is over the {money(MAX_MONTHLY)} this tool accepts",
            "setup=$12,000",
        )


def _pitfalls(s: Scenario, one_time, buy) -> list[str]:
    from .audit import pitfalls

    return pitfalls(
        stated_total=one_time.stated_total,
        data_h=one_time.data_h,
        eval_h=one_time.eval_h,
        runs=one_time.runs,
        maint_h=s.maint_h if s.maint_h is not None else _default("maint_h"),
        gpu_bandwidth_gb_s=buy.gpu.bandwidth_gb_s if buy.gpu is not None and s.gpu is not None else None,
        params_b=buy.params_b,
    )


def _default(key: str):
    from .defaults import value

    return value(key)


def _measured(s: Scenario) -> list[Assumption]:
    def shown(value) -> str:
        return f"{value:g}" if isinstance(value, float | int) and not isinstance(value, bool) else str(value)

    return [
        Assumption(key=key_for_field(field), value=shown(getattr(s, field)), note=where, measured=True)
        for field, where in s.provenance.items()
        if getattr(s, field, None) is not None
    ]
