"""The buy side's recurring cost: serving instances (GPUs at $/h, or a fixed server bill) sized
from the load by the serving model (costcore/serving.py), or a per-token host of open models;
plus the people who run and review it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from .defaults import DEFAULTS
from .format import count, money
from .grammar import GrammarError
from .ledger import Ledger
from .price_sheet import MODE_WORDS, NO_SHEET, PriceSheet
from .prices import Gpu, find_gpu
from .scenario import HOURS_PER_MONTH, SECONDS_PER_MONTH, CostLine, Scenario
from .serving import ContextError, Serving, ServingError, check_context, find_open_model, size
from .workload import Workload, workload

MAX_INSTANCES = 10_000  # a fleet beyond this is a typo in volume= or peak=, not a plan


@dataclass(frozen=True)
class BuySide:
    kind: str  # "gpu", "server" or "per_token"
    label: str
    instance_monthly: float
    variable_per_request: float
    requests_per_instance: float | None  # requests a month one instance carries, sized at peak
    ha: bool
    ops_monthly: float
    ops_lines: list[CostLine] = field(default_factory=list)
    capacity: Serving | None = None
    latency_ms: float | None = None  # one whole answer from the self-hosted model, when known
    third_party: bool = False  # a per-token host: the data leaves the company
    gpu: Gpu | None = None
    params_b: float = 7.0

    def instances(self, requests: float) -> int:
        if self.instance_monthly == 0 and self.requests_per_instance is None:
            return 0
        needed = 1 if self.requests_per_instance is None else max(1, math.ceil(requests / self.requests_per_instance))
        return needed + (1 if self.ha else 0)

    def monthly(self, requests: float) -> float:
        return (
            self.instances(requests) * self.instance_monthly + requests * self.variable_per_request + self.ops_monthly
        )

    def lines(self, requests: float) -> list[CostLine]:
        lines = []
        instances = self.instances(requests)
        if instances:
            spare = " incl. 1 spare (N+1)" if self.ha else ""
            lines.append(
                CostLine(
                    name="Servers",
                    amount=instances * self.instance_monthly,
                    hidden=False,
                    detail=f"{instances} instance(s){spare} x {money(self.instance_monthly)}",
                )
            )
        if self.variable_per_request:
            lines.append(
                CostLine(
                    name="Per-token host",
                    amount=requests * self.variable_per_request,
                    hidden=False,
                    detail=f"{count(requests)} requests x {money(self.variable_per_request)}",
                )
            )
        return lines + self.ops_lines


def buy_side(
    s: Scenario, work: Workload, rate: float, ledger: Ledger, sheet: PriceSheet = NO_SHEET, on: dt.date | None = None
) -> BuySide:
    """on: the day prices are taken on (your price sheet's entries in effect then)."""
    maint_h = ledger.pick(s.maint_h, "maint_h")
    ops_lines = []
    if maint_h:
        ops_lines.append(CostLine(name="Operations", amount=maint_h * rate, detail=f"{maint_h:g} h x ${rate:,.0f}/h"))
    if s.oversight:
        ops_lines.append(
            CostLine(name="Human oversight", amount=s.oversight, detail="review of the model's work, a month")
        )
    ops_monthly = sum(line.amount for line in ops_lines)
    ha = bool(s.ha)
    if s.ha is None and s.host_price is None:
        ledger.assume(
            "ha", "no spare instance", "instances are sized for the load alone; uptime=99.9% (or ha=yes) adds one (N+1)"
        )

    if s.host_price is not None and not s.privacy:
        return _per_token_host(s, work, ledger, ops_monthly, ops_lines)
    if s.host_price is not None:
        ledger.ignored(
            "host_price",
            "a per-token host is a third party, so the data would leave the company (privacy=yes): "
            "self-hosting is priced on your own GPUs instead",
        )

    model = s.base_model or s.params_b
    if model is None:
        ledger.default("params")
        model = DEFAULTS["base"].value
    bits = ledger.pick(s.bits, "bits")
    peak = ledger.pick(s.peak, "peak")
    measured = s.capacity_qps is not None or s.capacity_tok_s is not None
    gpu = find_gpu(s.gpu) if s.gpu is not None else None
    if s.server_monthly is not None:
        ledger.assume(
            "server", f"{money(s.server_monthly)} a month per instance", "your fixed hosting cost", None, True
        )
        if gpu is None and not measured:
            gpu = find_gpu(DEFAULTS["gpu"].value)
            ledger.note(
                f"server= does not say which GPU it has: its capacity is sized as {gpu.name}s; "
                "set gpu= or a measured capacity="
            )
    elif gpu is None:
        gpu = find_gpu(ledger.default("gpu"))

    serving = None
    if gpu is not None:
        serving = _size(s, work, model, gpu, bits, peak, ha)
        requests_per_s = serving.requests_per_s
        gpus = serving.gpus_per_instance
    else:  # server= with a measured capacity and no GPU named: nothing to size, the measurement stands
        _check_window(s, work, model)
        requests_per_s = s.capacity_qps if s.capacity_qps is not None else s.capacity_tok_s / max(work.out_tokens, 1)
        gpus = s.gpus or 1
        for key, value in (("concurrency", s.concurrency), ("bits", s.bits), ("streaming", s.streaming)):
            if value is not None:
                ledger.ignored(key, "capacity= is your measurement and no GPU is named (gpu=) to size it on")
    if s.server_monthly is not None:
        kind, instance_monthly = "server", s.server_monthly
        label = "Self-host (your servers)"
        if s.gpus is not None and serving is None:
            ledger.ignored("gpus", "server= prices a whole instance and capacity= measures it")
    else:
        kind = "gpu"
        price = s.gpu_price if s.gpu_price is not None else gpu.price_per_hour
        contract = None if s.gpu_price is not None else _sheet_gpu(sheet, gpu, on, ledger)
        if contract is not None:
            price = contract.price_per_hour
        instance_monthly = price * gpus * HOURS_PER_MONTH
        label = f"Self-host ({gpus} x {gpu.name})"
        if contract is not None:
            ledger.assume(
                "gpu_price",
                f"${price:g}/h per {gpu.name}, {contract.mode}",
                f"{MODE_WORDS[contract.mode]}; catalogue on-demand ${gpu.price_per_hour:g}/h",
                sheet.source(contract),
            )
        elif s.gpu_price is None:
            ledger.assume(
                "gpu_price",
                f"${price:g}/h per {gpu.name}",
                "typical on-demand price",
                f"{gpu.price_source}, {gpu.price_date}",
            )
        else:
            ledger.assume("gpu_price", f"${price:g}/h per {gpu.name}", "your price", None, True)
    if not measured:
        ledger.assume("capacity", f"{serving.requests_per_s:,.3g} requests/s per instance", serving.summary)
    else:
        ledger.assume("capacity", f"{requests_per_s:,.3g} requests/s per instance", "your measurement", None, True)
    requests_per_instance = requests_per_s * SECONDS_PER_MONTH / peak if requests_per_s > 0 else None
    return BuySide(
        kind=kind,
        label=label,
        instance_monthly=instance_monthly,
        variable_per_request=0.0,
        requests_per_instance=requests_per_instance,
        ha=ha,
        ops_monthly=ops_monthly,
        ops_lines=ops_lines,
        capacity=serving,
        latency_ms=None if serving is None else (serving.ttft_ms if s.streaming else serving.latency_ms),
        gpu=gpu,
        params_b=serving.params_b if serving is not None else (s.params_b or DEFAULTS["params"].value),
    )


def _sheet_gpu(sheet: PriceSheet, gpu: Gpu, on: dt.date | None, ledger: Ledger):
    """Your price sheet's hourly price for this GPU in effect on `on`, in a mode billed every hour (how
    this version bills an instance); entries in other modes are named in a note, not used."""
    if not sheet.gpu:
        return None
    chosen, unused = sheet.gpu_contract(gpu.id, on or dt.datetime.now(dt.UTC).date())
    for entry in unused:
        if entry.mode in ("serverless", "owned"):
            why = "this version bills a serving instance every hour of the month"
        else:
            why = f"its {chosen.mode} price is used" if chosen is not None else "another of its prices is used"
        ledger.note(f"your price sheet's {entry.mode} price for the {gpu.name} is not used: {why}")
    return chosen


def _size(s: Scenario, work: Workload, model, gpu: Gpu, bits: int, peak: float, ha: bool) -> Serving:
    try:
        return size(
            model,
            gpu,
            in_tokens=work.ft_in_tokens,
            out_tokens=work.out_tokens,
            bits=bits,
            gpus=s.gpus,
            concurrency=s.concurrency,
            latency_ms=s.latency_ms,
            peak_qps=work.average_qps * peak,
            ha=ha,
            capacity_qps=s.capacity_qps,
            capacity_tok_s=s.capacity_tok_s,
            streaming=bool(s.streaming),
        )
    except ContextError as exc:
        raise GrammarError(_too_long_key(s, exc.part), str(exc), exc.suggestions[0]) from None
    except ServingError as exc:
        key = "gpus" if s.gpus is not None else "gpu"
        example = exc.suggestions[0] if exc.suggestions else "params=8B gpu=h100"
        raise GrammarError(key, str(exc), example) from None


def _check_window(s: Scenario, work: Workload, model) -> None:
    """The model's window holds the request even where nothing is sized (a measured capacity on your servers)."""
    try:
        check_context(find_open_model(model), work.ft_in_tokens, work.out_tokens)
    except ContextError as exc:
        raise GrammarError(_too_long_key(s, exc.part), str(exc), exc.suggestions[0]) from None


def _too_long_key(s: Scenario, part: str) -> str:
    """The key that made a request longer than the model's window: the answer, or the fine-tuned prompt
    as it was given (ft_in=, prompt_cut=, or the API's in= that it defaults to)."""
    if part == "answer":
        return "out"
    if s.ft_in_tokens is not None:
        return "ft_in"
    return "prompt_cut" if s.prompt_cut is not None else "in"


# The keys that describe one serving instance and its load: `breakeven serving` takes these only.
SIZING_KEYS = (
    "volume",
    "tokens",
    "in",
    "out",
    "ft_in",
    "prompt_cut",
    "gpu",
    "gpus",
    "params",
    "base",
    "bits",
    "concurrency",
    "latency",
    "streaming",
    "peak",
    "ha",
    "uptime",
    "capacity",
)


def sizing(s: Scenario, ledger: Ledger | None = None) -> Serving:
    """What one instance serves for this scenario's request shape, exactly as the analysis sizes it."""
    ledger = ledger or Ledger(s)
    work = workload(s, ledger)
    model = s.base_model or s.params_b or DEFAULTS["base"].value
    gpu = find_gpu(s.gpu or DEFAULTS["gpu"].value)
    return _size(s, work, model, gpu, ledger.pick(s.bits, "bits"), ledger.pick(s.peak, "peak"), bool(s.ha))


def _per_token_host(s: Scenario, work: Workload, ledger: Ledger, ops_monthly: float, ops_lines: list[CostLine]):
    variable = (work.ft_in_tokens + work.out_tokens) * s.host_price / 1e6
    ledger.assume("host_price", f"${s.host_price:g} per 1M tokens", "per-token host of open models", None, True)
    why = "a per-token host (host_price=) has no instances to size or price"
    for key, value in (
        ("gpu_price", s.gpu_price),
        ("gpus", s.gpus),
        ("capacity", s.capacity_qps if s.capacity_qps is not None else s.capacity_tok_s),
        ("concurrency", s.concurrency),
        ("peak", s.peak),
        ("bits", s.bits),
    ):
        if value is not None:
            ledger.ignored(key, why)
    if s.ha is not None:  # given as ha= or as uptime=: the note names both
        ledger.note(f"`ha=` / `uptime=` is not used: {why}")
    model = find_open_model(s.base_model or s.params_b or DEFAULTS["base"].value)
    if s.base_model is not None:  # the host serves the model you name: its window holds the request too
        _check_window(s, work, s.base_model)
    return BuySide(
        kind="per_token",
        label="Self-host (per-token host)",
        instance_monthly=0.0,
        variable_per_request=variable,
        requests_per_instance=None,
        ha=False,
        ops_monthly=ops_monthly,
        ops_lines=ops_lines,
        third_party=True,
        params_b=model.params_b,
    )
