"""The buy side's recurring cost: serving instances (GPUs at $/h, or a fixed server bill) sized
from the load, or a per-token host of open models; plus the people who run and review it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .defaults import DEFAULTS
from .format import count, money
from .ledger import Ledger
from .prices import Gpu, find_gpu
from .scenario import HOURS_PER_MONTH, SECONDS_PER_MONTH, CapacityCheck, CostLine, Scenario
from .workload import Workload

KV_OVERHEAD = 1.2  # weights plus KV cache and runtime buffers
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
    capacity: CapacityCheck | None = None
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


def buy_side(s: Scenario, work: Workload, rate: float, ledger: Ledger) -> BuySide:
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

    if s.host_price is not None and not s.privacy:
        return _per_token_host(s, work, ledger, ops_monthly, ops_lines)
    if s.host_price is not None:
        ledger.ignored(
            "host_price",
            "a per-token host is a third party, so the data would leave the company (privacy=yes): "
            "self-hosting is priced on your own GPUs instead",
        )

    params_b = ledger.pick(s.params_b, "params")
    bits = ledger.pick(s.bits, "bits")
    peak = ledger.pick(s.peak, "peak")
    gpus = s.gpus or 1
    gpu = find_gpu(s.gpu) if s.gpu is not None else None
    if s.server_monthly is not None:
        kind, instance_monthly = "server", s.server_monthly
        ledger.assume(
            "server", f"{money(s.server_monthly)} a month per instance", "your fixed hosting cost", None, True
        )
        if gpu is None and s.capacity_qps is None and s.capacity_tok_s is None:
            gpu = find_gpu(DEFAULTS["gpu"].value)
            ledger.note(
                f"server= does not say which GPU it has: its capacity is sized as one {gpu.name}; "
                "set gpu= or a measured capacity="
            )
    else:
        kind = "gpu"
        if gpu is None:
            gpu = find_gpu(ledger.default("gpu"))
        price = s.gpu_price if s.gpu_price is not None else gpu.price_per_hour
        instance_monthly = price * gpus * HOURS_PER_MONTH
        if s.gpu_price is None:
            ledger.assume(
                "gpu_price",
                f"${price:g}/h per {gpu.name}",
                "typical on-demand price",
                f"{gpu.price_source}, {gpu.price_date}",
            )
        else:
            ledger.assume("gpu_price", f"${price:g}/h per {gpu.name}", "your price", None, True)

    capacity_qps, source = _capacity(s, gpu, gpus, params_b, work.out_tokens)
    requests_per_instance = capacity_qps * SECONDS_PER_MONTH / peak if capacity_qps else None
    if s.capacity_qps is None and s.capacity_tok_s is None and capacity_qps is not None:
        ledger.assume("capacity", f"{capacity_qps:g} requests/s per instance", source)
    check = _capacity_check(gpu, gpus, params_b, bits, capacity_qps, source, work, peak, ha, requests_per_instance)
    label = f"Self-host ({gpus} x {gpu.name})" if gpu is not None and kind == "gpu" else "Self-host (your servers)"
    return BuySide(
        kind=kind,
        label=label,
        instance_monthly=instance_monthly,
        variable_per_request=0.0,
        requests_per_instance=requests_per_instance,
        ha=ha,
        ops_monthly=ops_monthly,
        ops_lines=ops_lines,
        capacity=check,
        latency_ms=_latency_ms(gpu, gpus, params_b, bits, work),
        gpu=gpu,
        params_b=params_b,
    )


def _per_token_host(s: Scenario, work: Workload, ledger: Ledger, ops_monthly: float, ops_lines: list[CostLine]):
    variable = (work.ft_in_tokens + work.out_tokens) * s.host_price / 1e6
    ledger.assume("host_price", f"${s.host_price:g} per 1M tokens", "per-token host of open models", None, True)
    if s.ft_in_tokens is None and s.prompt_cut is None:
        ledger.assume(
            "ft_in",
            f"{work.in_tokens:g} tokens",
            "no prompt reduction after fine-tuning assumed; set ft_in= or prompt_cut= (one team cut 2,500 to 500)",
        )
    why = "a per-token host (host_price=) has no instances to size or price"
    for key, value in (
        ("gpu_price", s.gpu_price),
        ("gpus", s.gpus),
        ("capacity", s.capacity_qps if s.capacity_qps is not None else s.capacity_tok_s),
        ("concurrency", s.concurrency),
        ("peak", s.peak),
        ("ha", s.ha),
        ("params", s.params_b),
        ("bits", s.bits),
    ):
        if value is not None:
            ledger.ignored(key, why)
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
        params_b=s.params_b or DEFAULTS["params"].value,
    )


def _capacity(s: Scenario, gpu: Gpu | None, gpus: int, params_b: float, out_tokens: float) -> tuple[float | None, str]:
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


def _latency_ms(gpu: Gpu | None, gpus: int, params_b: float, bits: int, work: Workload) -> float | None:
    """One whole answer: a first token after prefill, then each output token at the decode speed
    that memory bandwidth allows one stream (about 60% of bandwidth / bytes of weights)."""
    if gpu is None:
        return None
    weights_gb = params_b * bits / 8
    per_stream_tok_s = 0.6 * gpu.bandwidth_gb_s * gpus / weights_gb
    first_token_ms = 50 + work.ft_in_tokens * 0.05
    return first_token_ms + work.out_tokens / per_stream_tok_s * 1000


def _capacity_check(gpu, gpus, params_b, bits, capacity_qps, source, work, peak, ha, requests_per_instance):
    weights_gb = params_b * bits / 8
    needed = weights_gb * KV_OVERHEAD
    vram = gpu.vram_gb * gpus if gpu else None
    fits = None if vram is None else needed <= vram
    tok_s = gpu.bandwidth_gb_s * gpus / weights_gb if gpu else None
    peak_qps = work.average_qps * peak
    instances = 1 if requests_per_instance is None else max(1, math.ceil(work.requests / requests_per_instance))
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
