"""analyze(scenario) -> Report: apply the defaults, price both sides, compare, decide."""

from __future__ import annotations

import datetime as dt
import math

from . import audit, economics, sensitivity
from .format import count, money, months
from .prices import find_gpu, per_request_cost, quote_model
from .scenario import (
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    Assumption,
    CapacityCheck,
    CostLine,
    CostModel,
    PriceQuote,
    Report,
    Scenario,
)
from .verdict import Constraints, decide

DEFAULT_API_MODEL = "gpt-4o-mini"
DEFAULT_GPU = "a10g"
KV_OVERHEAD = 1.2  # weights plus KV cache and runtime buffers


class _Assumptions:
    """Collects what was assumed or given, in the order the report should show it."""

    def __init__(self) -> None:
        self.items: list[Assumption] = []

    def add(self, key: str, value: str, note: str = "", source: str | None = None, custom: bool = False) -> None:
        self.items.append(Assumption(key=key, value=value, note=note, source=source, custom=custom))


def _pick(given: float | None, default: float, key: str, shown: str, note: str, notes: _Assumptions) -> float:
    if given is not None:
        return given
    notes.add(key, shown, note)
    return default


def analyze(scenario: Scenario, *, now: dt.datetime | None = None) -> Report:
    s = scenario
    notes = _Assumptions()

    # --- volume and tokens -------------------------------------------------------------
    in_tokens = _pick(
        s.in_tokens, 500, "in", "500 tokens", "input tokens a request (system prompt + examples + input)", notes
    )
    out_tokens = _pick(s.out_tokens, 200, "out", "200 tokens", "output tokens a request", notes)
    tokens_per_request = in_tokens + out_tokens
    if s.requests_per_month is not None:
        requests = s.requests_per_month
    elif s.tokens_per_month is not None:
        requests = s.tokens_per_month / tokens_per_request if tokens_per_request else 0.0
        notes.add(
            "volume",
            f"{count(requests)} requests a month",
            f"from {count(s.tokens_per_month)} tokens a month at {tokens_per_request:g} tokens a request",
        )
    else:
        requests = 100_000.0
        notes.add("volume", "100k requests a month", "no volume given; set volume= (e.g. volume=2M/month)")

    if s.ft_in_tokens is not None:
        ft_in = s.ft_in_tokens
    elif s.prompt_cut is not None:
        ft_in = in_tokens * (1 - s.prompt_cut)
    else:
        ft_in = in_tokens
    cached_share = s.cached_share or 0.0

    # --- rent side -----------------------------------------------------------------------
    quote, api_cpr = _price_api(s, in_tokens, out_tokens, cached_share, now, notes)

    # --- buy side: hosting -----------------------------------------------------------------
    rate = _pick(s.rate, 100.0, "rate", "$100/h", "loaded cost of an engineering hour", notes)
    ha = bool(s.ha)
    params_b = s.params_b or 7.0
    bits = s.bits or 16
    capacity_check = None
    selfhost_lines: list[CostLine] = []
    variable = 0.0
    instance_monthly = 0.0
    requests_per_instance: float | None = None

    if s.host_price is not None:
        variable = (ft_in + out_tokens) * s.host_price / 1e6
        notes.add("host_price", f"${s.host_price:g} per 1M tokens", "per-token host of open models", custom=True)
        if s.ft_in_tokens is None and s.prompt_cut is None:
            notes.add(
                "ft_in",
                f"{in_tokens:g} tokens",
                "no prompt reduction after fine-tuning assumed; set ft_in= or prompt_cut= (one team cut 2,500 to 500)",
            )
    else:
        peak = _pick(
            s.peak, 1.0, "peak", "1x", "instances sized for the average load; set peak=3x for bursty traffic", notes
        )
        _pick(s.params_b, 7.0, "params", "7B", "size of the open model you fine-tune (capacity check)", notes)
        gpu = None
        if s.server_monthly is None:
            gpu = find_gpu(s.gpu or DEFAULT_GPU)
            if s.gpu is None:
                notes.add("gpu", gpu.name, "default serving GPU; set gpu= (t4, l4, a10g, rtx4090, a100-40gb, ...)")
        elif s.gpu is not None:
            gpu = find_gpu(s.gpu)
        gpus = s.gpus or 1
        if s.server_monthly is not None:
            instance_monthly = s.server_monthly
            notes.add(
                "server", f"{money(s.server_monthly)} a month per instance", "your fixed hosting cost", custom=True
            )
        else:
            assert gpu is not None
            price = s.gpu_price if s.gpu_price is not None else gpu.price_per_hour
            instance_monthly = price * gpus * HOURS_PER_MONTH
            if s.gpu_price is None:
                notes.add(
                    "gpu_price",
                    f"${price:g}/h per {gpu.name}",
                    "typical on-demand price",
                    source=f"{gpu.price_source}, {gpu.price_date}",
                )
            else:
                notes.add("gpu_price", f"${price:g}/h per {gpu.name}", "your price", custom=True)

        capacity_qps, capacity_source = _capacity(s, gpu, gpus, params_b, out_tokens)
        if capacity_qps is not None:
            requests_per_instance = capacity_qps * SECONDS_PER_MONTH / peak
            if s.capacity_qps is None and s.capacity_tok_s is None:
                notes.add("capacity", f"{capacity_qps:g} requests/s per instance", capacity_source)
        else:
            notes.add(
                "capacity",
                "unlimited",
                "capacity not given: one server is assumed to carry the whole load; "
                "set capacity= (e.g. capacity=30qps) to model scaling",
            )
        capacity_check = _capacity_check(
            gpu, gpus, params_b, bits, capacity_qps, capacity_source, requests, peak, ha, requests_per_instance
        )

    maint_h = _pick(s.maint_h, 5.0, "maint_h", "5 h a month", "maintenance, model updates and incidents", notes)
    ops_monthly = maint_h * rate
    model = CostModel(
        api_cost_per_request=api_cpr,
        selfhost_variable_per_request=variable,
        instance_monthly=instance_monthly,
        requests_per_instance=requests_per_instance,
        ha=ha,
        ops_monthly=ops_monthly,
        tokens_per_request=tokens_per_request,
    )
    instances = model.instances(requests) if instance_monthly > 0 else 0
    if instances:
        spare = " incl. 1 spare (N+1)" if ha else ""
        selfhost_lines.append(
            CostLine(
                name="Servers",
                amount=instances * instance_monthly,
                hidden=False,
                detail=f"{instances} instance(s){spare} x {money(instance_monthly)}",
            )
        )
    if variable:
        selfhost_lines.append(
            CostLine(
                name="Per-token host",
                amount=requests * variable,
                hidden=False,
                detail=f"{count(requests)} requests x {money(variable)}",
            )
        )
    if ops_monthly:
        selfhost_lines.append(CostLine(name="Operations", amount=ops_monthly, detail=f"{maint_h:g} h x ${rate:,.0f}/h"))

    api_monthly = model.api_monthly(requests)
    selfhost_monthly = model.selfhost_monthly(requests)
    savings = api_monthly - selfhost_monthly

    # --- one-time cost -------------------------------------------------------------------
    stated_total = s.setup is not None
    hours = {}
    for key, default in audit.DEFAULT_HOURS.items():
        given = getattr(s, key)
        if given is not None:
            hours[key] = given
        elif stated_total:
            hours[key] = 0.0
        else:
            hours[key] = default
            low, high, what = audit.TYPICAL_HOURS[key]
            notes.add(key, f"{default:g} h", f"typical {low}-{high} h of {what.split(':')[0]}; setup= replaces these")
    runs = s.runs or 1
    train = _pick(
        s.train,
        0.0 if stated_total else 50.0,
        "train",
        "$0" if stated_total else "$50 a run",
        "training compute for one run (a 7B LoRA run is tens of dollars)",
        notes,
    )
    lines = audit.one_time_lines(train=train, runs=runs, setup=s.setup or 0.0, rate=rate, **hours)
    base_one_time = sum(line.amount for line in lines)
    if s.complexity is not None:
        low_x, iteration, high_x = audit.multiplier_for(s.complexity)
        notes.add("iter", f"{iteration:g}x", f"{s.complexity} task: first attempts rarely work ({low_x:g}-{high_x:g}x)")
    else:
        iteration = s.iter or 1.0
        low_x = high_x = iteration
        if s.iter is None:
            notes.add("iter", "1x", "no re-work assumed; complexity=well-defined|medium|novel applies 2-10x")
    one_time = base_one_time * iteration
    if iteration != 1:
        lines.append(
            CostLine(
                name="Iteration (re-work)",
                amount=one_time - base_one_time,
                detail=f"base {money(base_one_time)} x {iteration:g}",
            )
        )

    # --- comparison ----------------------------------------------------------------------
    horizon = _pick(s.horizon, 12.0, "horizon", "12 months", "buying must pay back within this", notes)
    up_to = max(requests * 100, 1e4)
    found, _ = economics.crossings(model, up_to)
    if not any(c.direction == "buy_starts_paying" for c in found):
        found, _ = economics.crossings(model, 1e15)
        found = found[:1]
    be_requests = economics.breakeven(found)
    payback, roi = (economics._or_none(x) for x in economics.payback_and_roi(one_time, savings))

    manual = None
    if s.manual_h is not None:
        manual_rate = _pick(
            s.manual_rate, rate, "manual_rate", f"${rate:,.0f}/h", "same as the engineering rate", notes
        )
        oversight = s.oversight or 0.0
        manual = economics.manual_comparison(requests, s.manual_h, manual_rate, model, oversight, one_time)

    failure = None
    if s.fail_api is not None or s.fail_ft is not None or s.fail_cost is not None:
        fail_cost = s.fail_cost
        if fail_cost is None:
            fail_cost = (s.manual_h or 0) * (s.manual_rate or rate)
            notes.add("fail_cost", money(fail_cost), "a failure costs one task redone by hand (manual_h x manual_rate)")
        failure = economics.failure_adjusted(
            requests, api_monthly, selfhost_monthly, s.fail_api or 0.0, s.fail_ft or 0.0, fail_cost
        )

    api_given = any(v is not None for v in (s.api_model, s.api_price_in, s.api_price_blended, s.api_per_1k))
    baseline = "manual" if manual is not None and not api_given else "api"
    decision_savings = (
        manual.monthly_savings
        if baseline == "manual"
        else (failure.monthly_savings if failure is not None else savings)
    )
    decision_payback = economics._or_none(economics.payback_and_roi(one_time, decision_savings)[0])
    constraints = Constraints(privacy=bool(s.privacy), latency_ms=s.latency_ms, task=s.task or "narrow")
    verdict, reasons = decide(
        savings=decision_savings, payback=decision_payback, horizon=horizon, constraints=constraints, baseline=baseline
    )
    if failure is not None and baseline == "api":
        reasons.append(
            f"Failures priced in: {failure.fail_api:.0%} on the API and {failure.fail_ft:.0%} fine-tuned at "
            f"{money(failure.fail_cost)} each."
        )
    if capacity_check is not None and capacity_check.fits is False:
        reasons.append(capacity_check.note)
    pitfall_lines = audit.pitfalls(
        stated_total=stated_total,
        data_h=hours["data_h"],
        eval_h=hours["eval_h"],
        runs=runs,
        maint_h=maint_h,
        gpu_bandwidth_gb_s=_bandwidth(s),
        params_b=params_b,
    )

    def verdict_on_cost(sv: float, pb: float | None) -> str:
        return decide(savings=sv, payback=pb, horizon=horizon, constraints=constraints, baseline="api")[0]

    if baseline == "manual" and manual is not None:
        # Against manual work, "renting" is paying people per task: weigh that, oversight included.
        per_task = s.manual_h * (s.manual_rate or rate)
        against_manual = model.model_copy(
            update={"api_cost_per_request": per_task, "ops_monthly": model.ops_monthly + (s.oversight or 0.0)}
        )
        sens = sensitivity.analyse(against_manual, requests, one_time, horizon, verdict_on_cost, rent="Manual work")
    else:
        sens = sensitivity.analyse(model, requests, one_time, horizon, verdict_on_cost)
    headline_be = manual.breakeven_tasks_per_month if baseline == "manual" and manual else be_requests
    headline = _headline(
        verdict, decision_savings, headline_be, decision_payback, baseline, failure is not None, reasons
    )

    return Report(
        verdict=verdict,
        headline=headline,
        reasons=reasons,
        requests_per_month=requests,
        tokens_per_month=requests * tokens_per_request,
        api_monthly_cost=api_monthly,
        selfhost_monthly_cost=selfhost_monthly,
        api_cost_per_request=api_cpr,
        selfhost_cost_per_request=selfhost_monthly / requests if requests else None,
        selfhost_fixed_monthly=selfhost_monthly - requests * variable,
        selfhost_variable_per_request=variable,
        instances=instances,
        one_time_cost=one_time,
        one_time_range=(base_one_time * low_x, base_one_time * high_x),
        monthly_savings=savings,
        breakeven_requests_per_month=be_requests,
        breakeven_tokens_per_month=None if be_requests is None else be_requests * tokens_per_request,
        payback_months=payback,
        first_year_roi=roi,
        horizon_months=horizon,
        crossings=found,
        api_price=quote,
        selfhost_lines=selfhost_lines,
        hidden_costs=lines,
        pitfalls=pitfall_lines,
        manual=manual,
        failure=failure,
        sensitivity=sens,
        capacity=capacity_check,
        assumptions=notes.items,
        cost_model=model,
    )


def _price_api(
    s: Scenario, in_tokens: float, out_tokens: float, cached_share: float, now: dt.datetime | None, notes: _Assumptions
) -> tuple[PriceQuote, float]:
    today = (now or dt.datetime.now(dt.UTC)).date().isoformat()
    if s.api_per_1k is not None:
        cpr = s.api_per_1k / 1000
        quote = PriceQuote(
            model="custom", price_in=0, price_out=0, per_request=cpr, source="your price", date=today, custom=True
        )
        notes.add(
            "api_per_1k", f"{money(s.api_per_1k)} per 1,000 requests", "API price", source="your price", custom=True
        )
        return quote, cpr
    if s.api_price_in is not None and s.api_price_out is not None:
        quote = PriceQuote(
            model="custom",
            price_in=s.api_price_in,
            price_out=s.api_price_out,
            source="your price",
            date=today,
            custom=True,
        )
        notes.add(
            "api_price",
            f"${s.api_price_in:g} / ${s.api_price_out:g} per 1M (in/out)",
            "API price",
            source="your price",
            custom=True,
        )
        return quote, (in_tokens * s.api_price_in + out_tokens * s.api_price_out) / 1e6
    if s.api_price_blended is not None:
        quote = PriceQuote(
            model="custom",
            price_in=s.api_price_blended,
            price_out=s.api_price_blended,
            source="your price",
            date=today,
            custom=True,
        )
        notes.add(
            "api_price", f"${s.api_price_blended:g} per 1M (blended)", "API price", source="your price", custom=True
        )
        return quote, (in_tokens + out_tokens) * s.api_price_blended / 1e6
    name = s.api_model or DEFAULT_API_MODEL
    quote, model_price = quote_model(name, now=now)
    cpr = per_request_cost(model_price, in_tokens, out_tokens, cached_share)
    value = f"{quote.provider}:{quote.model} ${quote.price_in:g} / ${quote.price_out:g} per 1M (in/out)"
    if quote.tiered:
        value += f"; tiered: {quote.tiered}"
    if cached_share:
        value += f"; {cached_share:.0%} of input cached at ${quote.cache_price or quote.price_in:g}"
    note = "API price" if s.api_model else "default API model; set api= (e.g. api=gpt-4o) or api_price=IN/OUT"
    notes.add("api", value, note, source=f"{quote.source}, {quote.date}")
    return quote, cpr


def _capacity(s: Scenario, gpu, gpus: int, params_b: float, out_tokens: float) -> tuple[float | None, str]:
    if s.capacity_qps is not None:
        return s.capacity_qps, "your measured capacity"
    if s.capacity_tok_s is not None:
        qps = s.capacity_tok_s / out_tokens if out_tokens else s.capacity_tok_s
        return qps, f"your measured {s.capacity_tok_s:g} tok/s over {out_tokens:g} output tokens a request"
    if gpu is None:
        return None, ""
    qps = gpu.ref_qps_7b * gpus * 7 / params_b
    return qps, (
        f"reference: ~{gpu.ref_qps_7b:g} QPS for a 7B model on one {gpu.name}, scaled to "
        f"{params_b:g}B x {gpus} GPU(s); measure yours and set capacity="
    )


def _capacity_check(
    gpu,
    gpus: int,
    params_b: float,
    bits: int,
    capacity_qps: float | None,
    source: str,
    requests: float,
    peak: float,
    ha: bool,
    requests_per_instance: float | None,
) -> CapacityCheck:
    weights_gb = params_b * bits / 8
    needed = weights_gb * KV_OVERHEAD
    vram = gpu.vram_gb * gpus if gpu else None
    fits = None if vram is None else needed <= vram
    tok_s = gpu.bandwidth_gb_s * gpus / weights_gb if gpu else None
    peak_qps = requests / SECONDS_PER_MONTH * peak
    instances = 1 if requests_per_instance is None else max(1, math.ceil(requests / requests_per_instance))
    instances += 1 if ha else 0
    note = ""
    if fits is False:
        smaller = "bits=8 or bits=4" if bits > 4 else "a smaller model"
        note = (
            f"A {params_b:g}B model at {bits}-bit needs about {needed:.0f} GB but {gpus} x {gpu.name} has "
            f"{vram:g} GB: pick a larger GPU, more gpus=, or quantize ({smaller})."
        )
    elif fits:
        note = f"A {params_b:g}B model at {bits}-bit needs about {needed:.0f} GB of {vram:g} GB."
    return CapacityCheck(
        gpu=gpu.name if gpu else None,
        params_b=params_b,
        bits=bits,
        weights_gb=weights_gb,
        needed_gb=needed,
        vram_gb=vram,
        fits=fits,
        single_stream_tok_s=tok_s,
        capacity_qps=capacity_qps,
        capacity_source=source,
        peak_qps=peak_qps,
        instances=instances,
        note=note,
    )


def _bandwidth(s: Scenario) -> float | None:
    if s.gpu is None:
        return None
    try:
        return find_gpu(s.gpu).bandwidth_gb_s
    except ValueError:
        return None


def _headline(
    verdict: str,
    savings: float,
    be: float | None,
    payback: float | None,
    baseline: str,
    failure: bool,
    reasons: list[str],
) -> str:
    adjusted = " (failures priced in)" if failure and baseline == "api" else ""
    against = " against doing it by hand" if baseline == "manual" else ""
    if be is not None:
        be_text = f"break-even at {count(be)} {'tasks' if baseline == 'manual' else 'requests'} a month"
    elif baseline == "manual":
        be_text = "the model never beats doing it by hand on cost"
    else:
        be_text = "buying never breaks even on cost (the API is cheaper per request)"
    if verdict == "BUY":
        if savings > 0:
            return (
                f"Buy: self-hosting saves {money(savings)} a month{against}{adjusted}; "
                f"pays back in {months(payback)}; {be_text}"
            )
        return f"Buy: {reasons[0]} Self-hosting costs {money(-savings)} a month more{against}."
    if verdict == "RENT":
        if savings > 0:
            return (
                f"Rent: buying saves {money(savings)} a month{against}{adjusted} but pays back in "
                f"{months(payback)}; {be_text}"
            )
        if baseline == "manual":
            return f"Rent: doing it by hand is cheaper by {money(-savings)} a month"
        return f"Rent: the API is cheaper by {money(-savings)} a month{adjusted}; {be_text}"
    return f"Hybrid: {reasons[0]}"
