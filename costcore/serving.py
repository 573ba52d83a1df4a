"""The serving model: what one instance of an open model on rented GPUs can carry, from the request shape.

Pure Python over bundled data (costcore/data/gpus.json, open_models.json); no network, no numpy.
docs/serving.md explains it for a reader. For one instance of n GPUs (tensor parallel when n > 1):

    weights            = params x bits / 8
    KV per token       = 2 x layers x kv_heads x head_dim x KV bytes
    KV memory          = n x (GPU memory x MEMORY_UTILISATION - RUNTIME_RESERVE_GB) - weights
    max concurrency    = min(KV memory / (KV per token x (in + out)), the engine's batch cap)
    prefill            = (2 x params x in + 2 x layers x in^2 x q_dim) / (tensor FLOPs x compute eff.)
    TTFT               = max(prefill, one read of the weights) + REQUEST_OVERHEAD_S
    decode step at c   = max(weights / (bandwidth x BANDWIDTH_EFFICIENCY)
                             + c x KV read / (bandwidth x KV_BANDWIDTH_EFFICIENCY),
                             c x FLOPs a token / (tensor FLOPs x compute eff.))
                         + STEP_OVERHEAD_S + c x SEQ_OVERHEAD_S
    GPU time a request = max(prefill, weights read / c) + (out - 1) x decode step / c  (prompts stall the batch)
    requests/s         = min(c / time of one request alone, 1 / GPU time a request)
    latency            = c / requests/s                                                  (Little's law)
    instances          = max(1, ceil(peak requests/s / requests/s)) (+1 for N+1)

Every result is finite: zero tokens, zero load and tiny models are guarded.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from .prices import Gpu, find_gpu, list_gpus
from .scenario import Serving

# --- Calibrated and named constants -------------------------------------------------------------
# Efficiencies are shares of datasheet peaks that real servers reach. They were fitted together to the
# fitted rows of costcore/data/serving_reference.json (bench/calibrate_serving.py prints every row, model
# vs published); the fit keeps all 37 rows within 0.77-1.31x, the tests within +-40%.

#: Share of peak memory bandwidth reached when a decode step streams the weights. Set by the single-stream
#: rows: Llama 3.1 8B BF16 on one A100 40 GB at about 75 tok/s (vLLM 0.23; the model gives 66), and the
#: TensorRT-LLM 128/2,048 rows where weights dominate each step.
BANDWIDTH_EFFICIENCY = 0.80

#: Share of peak bandwidth reached when a step reads the KV cache of every request in the batch; lower
#: than for the weights, as attention gathers many small blocks. Set by the KV-heavy batched rows:
#: TensorRT-LLM Llama 3.1 8B FP8 at 1,000/1,000 and 20,000/2,000 on H100 (15,220 and 1,351 output tok/s),
#: MI300X at 1,024/1,024 and 2,048/2,048.
KV_BANDWIDTH_EFFICIENCY = 0.70

#: Share of dense 16-bit tensor FLOPs reached by prefill and by compute-bound decode. Set by the
#: compute-bound 16-bit rows: TensorRT-LLM Llama 2 7B on A100 (TTFT 133 ms at 2,048 input tokens; 5,586
#: output tok/s at 128/128; 591 at 2,048/128) and Llama 2 70B on 4 x A100 (TTFT 377 ms).
COMPUTE_EFFICIENCY_16 = 0.60

#: The same share for 8-bit (FP8/INT8) tensor cores (and B200's FP4), of their doubled peak: lower, as
#: attention and the other non-matrix work do not speed up with FP8. Set by TensorRT-LLM Llama 3.1 8B FP8
#: on H100/H200 (28,312 output tok/s at 128/128, 3,450 at 2,048/128, 3,459 at 5,000/500) and the 2023 FP8
#: first-token rows on H100 and L40S (36 and 73 ms at 2,048 tokens).
COMPUTE_EFFICIENCY_8 = 0.50

#: Share of the efficiencies above that a GPU's software stack reached, where it differs. MI300X: vLLM on
#: ROCm (rocm/vllm-dev 2024-11 build) served Llama 3.1 8B and 70B FP8 at 0.33-0.52 of what the NVIDIA-fitted
#: model predicts from its datasheet (Azure ND MI300X v5 rows); newer ROCm builds may do better: measure.
SOFTWARE_EFFICIENCY = {"mi300x": 0.45}

#: Fixed time every decode step costs (kernel launches, scheduling). It is why a single stream reaches only
#: 60-80% of bandwidth/weights and small or FP8 models less: NIM serves Llama 3.1 8B on H100 at 4.6 ms a
#: token, about twice the time its FP8 weights take to read.
STEP_OVERHEAD_S = 0.002

#: Time a decode step costs for each request in the batch (sampling, stop checks, bookkeeping): why
#: throughput flattens at large batches even on fast memory. Set by TensorRT-LLM 1,000/1,000 on H100 vs
#: H200 (15,220 vs 17,744 output tok/s for 43% more bandwidth); it also matches NIM's inter-token latency
#: growing from 4.6 ms at 1 request to 7.6 ms at 100 (a row not fitted).
SEQ_OVERHEAD_S = 0.00001

#: Fixed time a request costs before its first token (tokenising, scheduling, returning the token): the
#: first token of LLaMA 7B took 7 ms at 128 input tokens on H100 (TensorRT-LLM, batch 1).
REQUEST_OVERHEAD_S = 0.004

#: Share of the summed bandwidth and FLOPs that tensor parallelism keeps (an all-reduce every layer). Set
#: by Llama 3.3 70B FP8 on 2 x H100 (6,378 and 4,205 output tok/s), Llama 2 70B TTFT on 4 x A100 and
#: 4 x H100, and Llama 3.1 70B on 8 x MI300X.
TP_EFFICIENCY = 0.80

#: Memory a serving engine may fill: vLLM's gpu_memory_utilization default, and the 0.90 default of
#: TensorRT-LLM's KV-cache fraction (its performance overview runs 0.95 "in many cases").
MEMORY_UTILISATION = 0.90

#: Memory each GPU keeps back beyond the weights (CUDA context, CUDA graphs, activations of a prefill
#: chunk). An assumption, not fitted: it matters only for models that barely fit.
RUNTIME_RESERVE_GB = 1.5

#: The engine's cap on requests in flight, as vLLM's default max_num_seqs: 1,024 on GPUs with 70 GB or
#: more (A100 excepted), 256 elsewhere (vllm/engine/arg_utils.py, get_batch_defaults).
MAX_BATCH_LARGE_GPU = 1024
MAX_BATCH = 256

TP_SIZES = (1, 2, 4, 8)
GB = 1e9
BOUNDS = ("memory bandwidth", "compute", "KV cache memory")

#: The window of a generic model (a size no known model has): the Llama 3 family's 131,072 tokens, as its
#: layout is scaled from those configs.
GENERIC_CONTEXT = 131_072


class ServingError(ValueError):
    """The model cannot be served as asked; the message names the sizes in GB and what would fit,
    and `suggestions` holds each fitting alternative as grammar text (`bits=8 gpus=2`)."""

    def __init__(self, message: str, suggestions: list[str] | None = None):
        super().__init__(message)
        self.suggestions = suggestions or []


class ContextError(ServingError):
    """The request (prompt plus answer) is longer than the model reads at once: no GPU changes that.
    `part` names what to shorten: "prompt" (a shorter fine-tuned prompt fits) or "answer"."""

    def __init__(self, message: str, suggestions: list[str], part: str):
        super().__init__(message, suggestions)
        self.part = part


@dataclass(frozen=True)
class OpenModel:
    id: str
    name: str
    params_b: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    source: str
    date: str
    aliases: tuple[str, ...] = ()
    generic: bool = False
    caveat: str = ""  # shown in the notes of every sizing of this model
    context: int = GENERIC_CONTEXT  # the longest request, prompt plus answer, in tokens
    context_source: str = ""
    context_remark: str = ""


# --- Catalogue -------------------------------------------------------------------------------------


def _norm(name: str) -> str:
    text = name.strip().lower().replace("_", "-").replace(" ", "-")
    return re.sub(r"-+", "-", text)


@cache
def reference_rows() -> tuple[dict, ...]:
    """The published measurements the model is checked against (costcore/data/serving_reference.json)."""
    raw = json.loads(resources.files("costcore").joinpath("data/serving_reference.json").read_text())
    return tuple(raw["rows"])


def modelled(row: dict) -> float:
    """The model's figure for a reference row, in the row's own kind (what the tests and the
    calibration script compare with the published value)."""
    conc = row["concurrency"]
    result = size(
        row["model"],
        row["gpu"],
        in_tokens=row["in_tokens"],
        out_tokens=row["out_tokens"],
        bits=row["bits"],
        gpus=row["gpus"],
        kv_bits=row["kv_bits"],
        concurrency=None if conc == "max throughput" else conc,
    )
    return {
        "output_tok_s": result.output_tok_s,
        "output_tok_s_per_gpu": result.output_tok_s / result.gpus_per_instance,
        "tok_s_per_stream": result.decode_tok_s_per_stream,
        "tpot_ms": 1000 / result.decode_tok_s_per_stream,
        "ttft_ms": result.ttft_ms,
        "requests_per_s": result.requests_per_s,
    }[row["kind"]]


@cache
def list_open_models() -> tuple[OpenModel, ...]:
    raw = json.loads(resources.files("costcore").joinpath("data/open_models.json").read_text())
    return tuple(
        OpenModel(
            id=m["id"],
            name=m["name"],
            params_b=m["params_b"],
            layers=m["layers"],
            hidden=m["hidden"],
            heads=m["heads"],
            kv_heads=m["kv_heads"],
            head_dim=m["head_dim"],
            source=m["source"],
            date=m["date"],
            aliases=tuple(m.get("aliases", ())),
            caveat=m.get("caveat", ""),
            context=m["context"],
            context_source=m.get("context_source", m["source"]),
            context_remark=m.get("context_remark", ""),
        )
        for m in raw["models"]
    )


# The generic architecture for a size no known model has follows the Llama family (1B, 3B, 8B, 70B,
# 405B): layers and hidden size are interpolated on log(params) between its configs, with 8 KV heads of
# 128 (64 below 2B), as grouped-query attention in every Llama 3 size.
_LLAMA_LADDER = ((1.24, 16, 2048), (3.21, 28, 3072), (8.03, 32, 4096), (70.55, 80, 8192), (405.85, 126, 16384))
_KNOWN_MATCH = 0.03  # a bare size within 3% of a known model's takes that model's architecture


def _interpolate(params_b: float) -> tuple[int, int]:
    ladder = _LLAMA_LADDER
    if params_b <= ladder[0][0]:
        low, high = ladder[0], ladder[1]
    elif params_b >= ladder[-1][0]:
        low, high = ladder[-2], ladder[-1]
    else:
        low, high = next((a, b) for a, b in zip(ladder, ladder[1:], strict=False) if a[0] <= params_b <= b[0])
    t = math.log(params_b / low[0]) / math.log(high[0] / low[0])
    layers = low[1] * (high[1] / low[1]) ** t
    hidden = low[2] * (high[2] / low[2]) ** t
    return max(1, round(layers)), max(64, round(hidden / 64) * 64)


def _generic(params_b: float) -> OpenModel:
    layers, hidden = _interpolate(params_b)
    head_dim = 64 if params_b < 2 else 128
    return OpenModel(
        id=f"generic-{params_b:g}b",
        name=f"a {params_b:g}B model",
        params_b=params_b,
        layers=layers,
        hidden=hidden,
        heads=max(1, hidden // head_dim),
        kv_heads=8,
        head_dim=head_dim,
        source="generic architecture scaled from the Llama 3 family configs (costcore/serving.py)",
        date="",
        generic=True,
        context=GENERIC_CONTEXT,
        context_source="the Llama 3 family's window (its layout is scaled from theirs)",
    )


def find_open_model(name_or_params: str | float | int | OpenModel) -> OpenModel:
    """A known open model by name or alias (case-insensitive, Hugging Face ids accepted), or by size in
    billions of parameters: a size within 3% of a known model takes its architecture; any other size
    gets a generic one scaled from the Llama 3 family (flagged generic). Raises ServingError."""
    if isinstance(name_or_params, OpenModel):
        return name_or_params
    if isinstance(name_or_params, str):
        text = name_or_params.strip()
        number = re.fullmatch(r"(\d+(?:\.\d+)?)\s*b?", text.lower())
        if not number:
            wanted = _norm(text)
            for model in list_open_models():
                names = {model.id, _norm(model.name), *(_norm(a) for a in model.aliases)}
                if wanted in names or wanted.removesuffix("-instruct") in names:
                    return model
            keys = [m.id for m in list_open_models()]
            close = difflib.get_close_matches(wanted, keys, n=3, cutoff=0.4)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            known = ", ".join(keys)
            raise ServingError(f"unknown open model '{name_or_params}': {hint}known: {known}; or give params=13B")
        name_or_params = float(number[1])
    params_b = float(name_or_params)
    if not math.isfinite(params_b) or params_b <= 0:
        raise ServingError(f"a model's size is a positive number of billions of parameters, not {name_or_params}")
    nearest = min(list_open_models(), key=lambda m: abs(m.params_b - params_b) / m.params_b)
    if abs(nearest.params_b - params_b) / nearest.params_b <= _KNOWN_MATCH:
        return nearest
    return _generic(params_b)


def check_context(model: OpenModel, in_tokens: float, out_tokens: float) -> None:
    """ContextError when prompt plus answer is longer than the model's window, saying what would fit:
    a shorter fine-tuned prompt (ft_in=), shorter answers, or a known model with a longer window."""
    seq = in_tokens + out_tokens
    if seq <= model.context:
        return
    longer = sorted(
        (m for m in list_open_models() if m.context >= seq),
        key=lambda m: (abs(math.log(m.params_b / model.params_b)), -m.context),
    )[:2]
    ideas, suggestions = [], []
    room = model.context - out_tokens
    if room >= 1:
        ideas.append(f"a fine-tuned prompt of at most {room:,.0f} tokens (ft_in={room:.0f}, or a prompt_cut= to it)")
        suggestions.append(f"ft_in={room:.0f}")
        part = "prompt"
    else:
        ideas.append(f"answers shorter than {model.context:,} tokens (out=)")
        suggestions.append(f"out={model.context // 2}")
        part = "answer"
    for other in longer:
        ideas.append(f"{other.name}, which reads {other.context:,} (base={other.id})")
        suggestions.append(f"base={other.id}")
    remark = f" ({model.context_remark})" if model.context_remark else ""
    raise ContextError(
        f"{model.name} reads at most {model.context:,} tokens a request, prompt and answer together{remark}; "
        f"this request is {seq:,.0f} ({in_tokens:,.0f} in + {out_tokens:,.0f} out). What fits: {'; '.join(ideas)}.",
        suggestions,
        part,
    )


def _resolve_gpu(gpu: str | Gpu) -> Gpu:
    if isinstance(gpu, Gpu):
        return gpu
    try:
        return find_gpu(gpu)
    except ValueError as exc:
        raise ServingError(str(exc)) from None


# --- Physics ---------------------------------------------------------------------------------------


def _tflops(gpu: Gpu, bits: int) -> float:
    """Tensor TFLOPs at a weight precision: 8-bit runs on FP8/INT8 tensor cores; 4-bit weights are
    computed at 16-bit (AWQ/GPTQ kernels dequantise) unless the GPU has a 4-bit float format."""
    if bits == 4 and gpu.tflops_4:
        return gpu.tflops_4
    if bits == 8 and gpu.tflops_8:
        return gpu.tflops_8
    return gpu.tflops_16


def _compute_efficiency(gpu: Gpu, bits: int) -> float:
    low_precision = (bits == 8 and gpu.tflops_8) or (bits == 4 and gpu.tflops_4)
    return COMPUTE_EFFICIENCY_8 if low_precision else COMPUTE_EFFICIENCY_16


def engine_max_batch(gpu: Gpu) -> int:
    big = gpu.vram_gb >= 70 and "a100" not in gpu.id
    return MAX_BATCH_LARGE_GPU if big else MAX_BATCH


def _usable_gb(gpu: Gpu, n: int) -> float:
    return n * (gpu.vram_gb * MEMORY_UTILISATION - RUNTIME_RESERVE_GB)


def _fits(model: OpenModel, gpu: Gpu, bits: int, kv_bits: int, n: int, seq: float) -> bool:
    weights = model.params_b * bits / 8
    kv_one = 2 * model.layers * model.kv_heads * model.head_dim * kv_bits / 8 * max(seq, 1.0) / GB
    return _usable_gb(gpu, n) - weights >= kv_one


@dataclass(frozen=True)
class _Point:
    concurrency: int
    step_s: float
    ttft_s: float
    latency_s: float
    rps: float
    compute_bound: bool


class _Instance:
    """The fixed part of one sizing: model, GPUs, request shape. point(c) evaluates a concurrency."""

    def __init__(self, model: OpenModel, gpu: Gpu, n: int, bits: int, kv_bits: int, in_tok: float, out_tok: float):
        p = model.params_b * 1e9
        self.in_tok, self.out_tok = in_tok, out_tok
        self.weight_bytes = p * bits / 8
        self.kv_per_token = 2 * model.layers * model.kv_heads * model.head_dim * kv_bits / 8
        tp = (1.0 if n == 1 else TP_EFFICIENCY) * SOFTWARE_EFFICIENCY.get(gpu.id, 1.0)
        self.bandwidth = n * gpu.bandwidth_gb_s * GB * BANDWIDTH_EFFICIENCY * tp
        self.kv_bandwidth = n * gpu.bandwidth_gb_s * GB * KV_BANDWIDTH_EFFICIENCY * tp
        self.flops = n * _tflops(gpu, bits) * 1e12 * _compute_efficiency(gpu, bits) * tp
        q_dim = model.heads * model.head_dim
        self.ctx = in_tok + out_tok / 2  # mean KV length read while decoding
        self.flops_token = 2 * p + 4 * model.layers * self.ctx * q_dim
        self.prefill_flops = 2 * p * in_tok + 2 * model.layers * in_tok * in_tok * q_dim
        self.decode_steps = max(out_tok - 1.0, 0.0)  # the prefill pass yields the first token
        self.t_prefill = self.prefill_flops / self.flops
        self.t_weights = self.weight_bytes / self.bandwidth

    def point(self, c: int) -> _Point:
        t_mem = self.t_weights + c * self.kv_per_token * self.ctx / self.kv_bandwidth
        t_comp = c * self.flops_token / self.flops
        overhead = STEP_OVERHEAD_S + c * SEQ_OVERHEAD_S
        step = max(t_mem, t_comp) + overhead
        # One request alone: its prefill pass reads the weights at least once.
        ttft = max(self.t_prefill, self.t_weights) + REQUEST_OVERHEAD_S
        alone = ttft + self.decode_steps * step
        # GPU time a request takes in a full batch: its prompt's pass (compute-bound; the weights read
        # once for the c prompts of a batch at the least) while the others' decoding waits, plus its
        # share of the decode steps. The two add: overlapping them would overstate what the published
        # engines served on compute-poor GPUs by up to 2x (docs/serving.md).
        prefill = max(self.t_prefill, self.t_weights / c)
        gpu_time = prefill + self.decode_steps * step / c
        rps = min(c / alone, 1.0 / gpu_time)
        compute_bound = t_comp >= t_mem or prefill >= self.decode_steps * t_mem / c
        return _Point(c, step, ttft, c / rps, rps, compute_bound)


# --- Entry point -----------------------------------------------------------------------------------


def _number(name: str, value: float, *, minimum: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ServingError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise ServingError(f"{name} must be a finite number of at least {minimum:g}, not {value!r}")
    return number


def _gb(x: float) -> str:
    return f"{x:,.1f} GB" if x >= 0.1 else f"{x:,.2f} GB"


def _secs(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


def _what_fits(model: OpenModel, gpu: Gpu, bits: int, kv_bits: int, seq: float) -> list[tuple[str, str]]:
    """Each alternative that fits, as (words, grammar text)."""
    ideas = []
    for smaller in (8, 4):
        if smaller < bits:
            n = next((k for k in TP_SIZES if _fits(model, gpu, smaller, kv_bits, k, seq)), None)
            if n:
                ideas.append((f"bits={smaller} on {n} x {gpu.name}", f"bits={smaller} gpus={n}"))
    others = []
    for other in list_gpus():
        if other.id == gpu.id:
            continue
        n = next((k for k in TP_SIZES if _fits(model, other, bits, kv_bits, k, seq)), None)
        if n:
            words = f"{n} x {other.name} (gpu={other.id}, gpus={n})"
            price = other.price_per_hour  # the always-on median; GPUs without one are suggested last
            others.append((n * price if price is not None else math.inf, words, f"gpu={other.id} gpus={n}"))
    ideas += [(words, text) for _, words, text in sorted(others)[:2]]
    return ideas


def _no_fit_message(model: OpenModel, gpu: Gpu, bits: int, kv_bits: int, n: int, seq: float, asked: bool) -> str:
    weights = model.params_b * bits / 8
    kv_one = 2 * model.layers * model.kv_heads * model.head_dim * kv_bits / 8 * max(seq, 1.0) / GB
    usable = _usable_gb(gpu, n)
    ideas = [words for words, _ in _what_fits(model, gpu, bits, kv_bits, seq)]
    how = "as asked (gpus=" + str(n) + ")" if asked else "even with 8 GPUs working as one"
    hint = f" What fits: {'; '.join(ideas)}." if ideas else " Nothing in the catalogue fits; use a smaller model."
    return (
        f"{model.name} at {bits}-bit does not fit {n} x {gpu.name} {how}: its weights need {_gb(weights)} and one "
        f"request of {seq:,.0f} tokens {_gb(kv_one)} of KV cache, but {n} x {gpu.vram_gb:g} GB leave "
        f"{_gb(usable)} after the runtime's share.{hint}"
    )


def size(
    model: str | float | int | OpenModel,
    gpu: str | Gpu,
    *,
    in_tokens: float,
    out_tokens: float,
    bits: int = 16,
    gpus: int | None = None,
    concurrency: int | None = None,
    latency_ms: float | None = None,
    peak_qps: float = 0.0,
    ha: bool = False,
    capacity_qps: float | None = None,
    capacity_tok_s: float | None = None,
    kv_bits: int | None = None,
    streaming: bool = False,
) -> Serving:
    """Size one serving instance of `model` on `gpu` for requests of in_tokens + out_tokens.

    gpus: GPUs per instance (tensor parallel; 1, 2, 4 or 8); None picks the fewest that fit.
    concurrency: requests in flight to evaluate at; None takes the most that fit memory (up to the
    engine's cap) and meet latency_ms. latency_ms bounds the whole answer, or the first token when
    streaming=True. kv_bits: KV cache precision (16 by default, as vLLM's kv_cache_dtype=auto).
    capacity_qps / capacity_tok_s: a measured capacity of one instance that replaces the modelled one.
    Raises ServingError (a ValueError) when the model cannot be served as asked.
    """
    m = find_open_model(model)
    g = _resolve_gpu(gpu)
    in_tok = _number("in_tokens", in_tokens)
    out_tok = _number("out_tokens", out_tokens)
    peak = _number("peak_qps", peak_qps)
    if bits not in (4, 8, 16):
        raise ServingError(f"bits must be 4, 8 or 16, not {bits!r}")
    kvb = 16 if kv_bits is None else kv_bits
    if kvb not in (8, 16):
        raise ServingError(f"kv_bits must be 8 or 16, not {kv_bits!r}")
    bound_ms = None if latency_ms is None else _number("latency_ms", latency_ms)
    notes: list[str] = []
    seq = in_tok + out_tok
    check_context(m, in_tok, out_tok)  # before any fit: no GPU, precision or split makes a window longer

    if gpus is not None:
        if gpus not in TP_SIZES:
            raise ServingError(f"gpus per instance must be 1, 2, 4 or 8 (tensor parallelism), not {gpus!r}")
        if not _fits(m, g, bits, kvb, gpus, seq):
            raise ServingError(
                _no_fit_message(m, g, bits, kvb, gpus, seq, asked=True),
                [text for _, text in _what_fits(m, g, bits, kvb, seq)],
            )
        n = gpus
    else:
        n = next((k for k in TP_SIZES if _fits(m, g, bits, kvb, k, seq)), 0)
        if not n:
            raise ServingError(
                _no_fit_message(m, g, bits, kvb, 8, seq, asked=False),
                [text for _, text in _what_fits(m, g, bits, kvb, seq)],
            )
        if n > 1:
            notes.append(
                f"The model does not fit one {g.name}, so each instance uses {n} of them working as one "
                f"(tensor parallelism), at about {TP_EFFICIENCY:.0%} of their combined speed."
            )

    weights_gb = m.params_b * bits / 8
    kv_per_request = 2 * m.layers * m.kv_heads * m.head_dim * kvb / 8 * max(seq, 1.0) / GB
    kv_available = max(_usable_gb(g, n) - weights_gb, 0.0)
    memory_limit = max(1, int(kv_available / kv_per_request))
    cap = engine_max_batch(g)
    max_conc = min(memory_limit, cap)
    inst = _Instance(m, g, n, bits, kvb, in_tok, out_tok)

    if m.generic:
        notes.append(
            f"No known open model has {m.params_b:g}B parameters; its layout ({m.layers} layers of {m.hidden:,}) "
            "is scaled from the Llama 3 family, so memory and speed are rougher estimates."
        )
    if m.caveat:
        notes.append(m.caveat[0].upper() + m.caveat[1:] + ".")
    if kvb == 8:
        notes.append("The KV cache is stored at 8 bits, which doubles how many requests fit in memory.")

    def answer_s(point: _Point) -> float:
        return point.ttft_s if streaming else point.latency_s

    limited_by = "memory" if memory_limit <= cap else "engine"
    if concurrency is not None:
        asked = int(_number("concurrency", concurrency, minimum=1))
        c = min(asked, memory_limit)
        limited_by = "asked" if asked <= memory_limit else "memory"
        if asked > memory_limit:
            notes.append(f"Memory holds at most {memory_limit:,} requests at once, so {asked:,} were not possible.")
        elif asked > cap:
            notes.append(
                f"{asked:,} requests at once is above serving engines' usual cap of {cap:,}; "
                "raise the engine's limit (vLLM: --max-num-seqs) to match."
            )
        point = inst.point(c)
    else:
        point = inst.point(max_conc)
        if bound_ms is not None and answer_s(point) * 1000 > bound_ms:
            low, high = 1, max_conc  # latency grows with concurrency: find the largest that meets the bound
            if answer_s(inst.point(1)) * 1000 <= bound_ms:
                while low < high:
                    mid = (low + high + 1) // 2
                    if answer_s(inst.point(mid)) * 1000 <= bound_ms:
                        low = mid
                    else:
                        high = mid - 1
                point = inst.point(low)
                limited_by = "latency"
                notes.append(
                    f"To answer within {bound_ms:,.0f} ms each instance takes at most {low:,} requests at once "
                    f"(memory allows {max_conc:,}), so more instances are needed for the same load."
                )
            else:
                point = inst.point(1)
                limited_by = "latency"

    meets = None
    if bound_ms is not None:
        took = answer_s(point)
        meets = took * 1000 <= bound_ms
        if not meets:
            one = inst.point(1)
            what = "first token" if streaming else "answer"
            ideas = ["shorter answers"] if not streaming else []
            if not streaming:
                ideas.append(f"streaming (the first words show after {_secs(one.ttft_s)})")
            ideas += ["a smaller model", "a faster GPU"]
            notes.append(
                f"The {bound_ms:,.0f} ms bound is not met: even one request at a time takes {_secs(answer_s(one))} "
                f"for the {what}, {_secs(answer_s(one) - bound_ms / 1000)} over. What would help: "
                + ", ".join(ideas)
                + "."
            )

    if limited_by == "engine" and concurrency is None:
        notes.append(f"Serving engines cap the requests in flight ({cap:,} here), not memory.")

    source: Literal["model", "measured"] = "model"
    rps = point.rps
    if capacity_qps is not None or capacity_tok_s is not None:
        if capacity_qps is not None and capacity_tok_s is not None:
            raise ServingError("give capacity_qps or capacity_tok_s, not both")
        source = "measured"
        if capacity_qps is not None:
            rps = _number("capacity_qps", capacity_qps)
            notes.append(
                f"Capacity is your measurement, {rps:,.3g} requests/s an instance; memory fit is still checked."
            )
        else:
            tok_s = _number("capacity_tok_s", capacity_tok_s)
            rps = tok_s / out_tok if out_tok >= 1 else tok_s
            notes.append(
                f"Capacity is your measurement, {tok_s:,.0f} output tokens/s an instance, i.e. {rps:,.3g} requests/s "
                f"at {out_tok:,.0f} output tokens each; memory fit is still checked."
            )
        notes.append(
            "Time to first token and answer time are still modelled (ft_latency= gives yours to a latency bound)."
        )
    if out_tok == 0:
        notes.append("With no output tokens a request is all prompt: throughput counts requests, not tokens.")

    instances = (max(1, math.ceil(peak / rps)) if rps > 0 else 1) + (1 if ha else 0)
    if rps == 0:
        notes.append("A measured capacity of zero carries no load; one instance is shown.")

    if limited_by in ("memory", "asked") and not point.compute_bound and point.concurrency >= memory_limit:
        bound = "KV cache memory"
    elif point.compute_bound:
        bound = "compute"
    else:
        bound = "memory bandwidth"

    output_tok_s = rps * out_tok
    requests = f"{point.concurrency:,} request{'s' if point.concurrency != 1 else ''}"
    summary = (
        f"{n} x {g.name} per instance, up to {requests} at once, "
        f"~{_round(output_tok_s)} output tokens/s, {_secs(point.latency_s)} per answer; "
        f"{instances} instance{'s' if instances != 1 else ''} at peak"
    )
    return Serving(
        model=m.name,
        params_b=m.params_b,
        bits=bits,
        kv_bits=kvb,
        gpu=g.name,
        gpu_id=g.id,
        gpus_per_instance=n,
        fits=True,
        weights_gb=round(weights_gb, 3),
        kv_gb_per_request=round(kv_per_request, 4),
        kv_gb_available=round(kv_available, 2),
        max_concurrency=max_conc,
        concurrency=point.concurrency,
        decode_tok_s_per_stream=1.0 / point.step_s,
        output_tok_s=output_tok_s,
        requests_per_s=rps,
        ttft_ms=point.ttft_s * 1000,
        latency_ms=point.latency_s * 1000,
        bound=bound,
        instances=instances,
        source=source,
        latency_bound_ms=bound_ms,
        meets_latency=meets,
        in_tokens=in_tok,
        out_tokens=out_tok,
        context_tokens=m.context,
        peak_qps=peak,
        ha=ha,
        notes=notes,
        summary=summary,
    )


def _round(x: float) -> str:
    if x >= 100:
        digits = len(str(int(x))) - 2
        return f"{round(x, -digits):,.0f}"
    return f"{x:,.3g}"
