"""API prices (genai-prices, offline) and the GPU catalogue (bundled data).

genai-prices ships its price data inside the package; we only ever read that snapshot
and never start its updater, so nothing here touches the network. It is imported lazily
because loading its data costs about a quarter of a second.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from .scenario import PriceQuote


class PriceError(ValueError):
    """A model or GPU name we cannot price; the message suggests names that exist."""

    def __init__(self, message: str, suggestions: list[str] | None = None):
        super().__init__(message)
        self.suggestions = suggestions or []


@dataclass(frozen=True)
class ApiModel:
    ref: str  # "provider:model", accepted by api=
    provider: str
    model_id: str
    name: str
    price_in: float | None
    price_out: float | None
    tiered: bool


@dataclass(frozen=True)
class Gpu:
    id: str
    name: str
    aliases: tuple[str, ...]
    vram_gb: float
    bandwidth_gb_s: float
    price_per_hour: float
    price_source: str
    price_date: str  # YYYY-MM
    # Dense tensor throughput (no 2:4 sparsity), TFLOPs: 16-bit, 8-bit (FP8 where the GPU has it, else INT8),
    # 4-bit only where a 4-bit float format exists. Read by costcore.serving.
    tflops_16: float = 0.0
    tflops_8: float | None = None
    tflops_4: float | None = None
    flops_note: str = ""
    spec_source: str = ""


@cache
def _genai_version() -> str:
    from importlib.metadata import version  # reads the installed package's metadata: once is enough

    return version("genai-prices")


@cache
def _snapshot() -> Any:
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot()


def _base(price: Any) -> float | None:
    if price is None:
        return None
    base = getattr(price, "base", price)  # TieredPrices carry a base rate
    return float(base)


def _today() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@cache
def _catalogue_index() -> dict[str, tuple[Any, Any]]:
    """Every lower-cased model id and provider:id -> (provider, model)."""
    index: dict[str, tuple[Any, Any]] = {}
    for provider in _snapshot().providers:
        for model in provider.models:
            index.setdefault(model.id.lower(), (provider, model))
            index[f"{provider.id}:{model.id}".lower()] = (provider, model)
    return index


def _normalise(name: str) -> list[str]:
    base = name.strip().lower().replace(" ", "-").replace("_", "-")
    candidates = [base, base.replace("/", ":"), base.replace(".", "-")]
    return list(dict.fromkeys(candidates))


def _lookup(name: str) -> tuple[Any, Any]:
    """Resolve a model name, case-insensitively: genai-prices' own matching picks the
    provider that makes the model (gpt-4o is OpenAI's, not a reseller's); "provider:model"
    picks a provider explicitly."""
    index = _catalogue_index()
    for candidate in _normalise(name):
        provider_id, ref = candidate.split(":", 1) if ":" in candidate else (None, candidate)
        if provider_id is not None and candidate in index:
            return index[candidate]
        try:
            return _snapshot().find_provider_model(ref, None, provider_id, None)
        except LookupError:
            pass
        if candidate in index:
            return index[candidate]
    keys = [k for k in index if ":" not in k]
    close = difflib.get_close_matches(_normalise(name)[0], keys, n=5, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else " Try `breakeven prices gpt` to list models."
    raise PriceError(f"unknown API model '{name}'.{hint}", close)


_VERIFIED = re.compile(r"(?:verified|checked|confirmed)(?: on)? (20\d\d-\d\d-\d\d)", re.IGNORECASE)


@cache
def data_date() -> str | None:
    """The newest date on which the bundled price data says a price was verified."""
    dates = []
    for provider in _snapshot().providers:
        texts = [provider.price_comments, *(model.price_comments for model in provider.models)]
        dates += [d for text in texts if text for d in _VERIFIED.findall(text)]
    return max(dates) if dates else None


def quote_model(name: str, *, now: dt.datetime | None = None) -> tuple[PriceQuote, Any]:
    """The list price of an API model, and genai-prices' price object for per-request costs."""
    provider, model = _lookup(name)
    when = now or _today()
    model_price = model.get_prices(when)
    price_in = _base(getattr(model_price, "input_mtok", None))
    price_out = _base(getattr(model_price, "output_mtok", None))
    if price_in is None or price_out is None:
        raise PriceError(
            f"'{name}' ({provider.id}:{model.id}) is not priced per input and output token; "
            "give api_price=IN/OUT per 1M instead"
        )
    tiers = [
        f"{key.replace('_mtok', '')} ${float(t.price):g}/1M above {t.start:,} input tokens"
        for key, value in vars(model_price).items()
        if hasattr(value, "tiers")
        for t in value.tiers
    ]
    url = (provider.pricing_urls or [None])[0]
    as_of = data_date()
    date = f"data as of {as_of}" if as_of else f"in effect {when.date().isoformat()}"
    quote = PriceQuote(
        model=model.id,
        provider=provider.id,
        price_in=price_in,
        price_out=price_out,
        cache_price=_base(getattr(model_price, "cache_read_mtok", None)),
        tiered="; ".join(tiers) or None,
        source=f"genai-prices {_genai_version()} bundled data" + (f" ({url})" if url else ""),
        date=date,
    )
    return quote, model_price


def per_request_cost(model_price: Any, in_tokens: float, out_tokens: float, cached_share: float) -> float:
    """The price of one request, so that tier thresholds apply to a request, never a month.

    genai-prices prices whole tokens; an average request has fractions of one (and 0.1% of 500 cached tokens is
    half a token): the whole tokens are priced by the catalogue, the fractions at the same request's rates."""
    from genai_prices import Usage

    def price(inputs: int, outputs: int, cached: int) -> float:
        usage = Usage(input_tokens=inputs, output_tokens=outputs, cache_read_tokens=cached)
        return float(Decimal(model_price.calc_price(usage)["total_price"]))

    cached_tokens = in_tokens * cached_share
    whole = (math.floor(in_tokens), math.floor(out_tokens), math.floor(cached_tokens))
    total = price(*whole)
    for i, exact in enumerate((in_tokens, out_tokens, cached_tokens)):
        if exact != whole[i]:
            one_more = list(whole)
            one_more[i] += 1
            if i == 2:  # one more cached token needs one more input token to be read from cache
                one_more[0] = max(one_more[0], one_more[2])
            total += (exact - whole[i]) * (price(*one_more) - price(*whole))
    return total


def list_api_models(filter_text: str = "", *, now: dt.datetime | None = None) -> list[ApiModel]:
    """Token-priced chat models in the bundled catalogue whose ref contains filter_text."""
    when = now or _today()
    needle = filter_text.strip().lower()
    out = []
    for provider in _snapshot().providers:
        for model in provider.models:
            ref = f"{provider.id}:{model.id}"
            if needle and needle not in ref.lower() and needle not in (model.name or "").lower():
                continue
            prices = model.get_prices(when)
            price_in = _base(getattr(prices, "input_mtok", None))
            price_out = _base(getattr(prices, "output_mtok", None))
            if price_in is None or price_out is None:
                continue
            tiered = any(hasattr(v, "tiers") for v in vars(prices).values())
            out.append(ApiModel(ref, provider.id, model.id, model.name or model.id, price_in, price_out, tiered))
    return out


@cache
def list_gpus() -> tuple[Gpu, ...]:
    raw = json.loads(resources.files("costcore").joinpath("data/gpus.json").read_text())
    return tuple(
        Gpu(
            id=g["id"],
            name=g["name"],
            aliases=tuple(g.get("aliases", ())),
            vram_gb=g["vram_gb"],
            bandwidth_gb_s=g["bandwidth_gb_s"],
            price_per_hour=g["price_per_hour"],
            price_source=g["price_source"],
            price_date=g["price_date"],
            tflops_16=g["tflops_16"],
            tflops_8=g.get("tflops_8"),
            tflops_4=g.get("tflops_4"),
            flops_note=g.get("flops_note", ""),
            spec_source=g.get("spec_source", ""),
        )
        for g in raw["gpus"]
    )


PRICE_MAX_AGE_MONTHS = 6


def price_age_months(price_date: str, today: dt.date) -> int:
    """Whole calendar months from a YYYY-MM price date to today's month (negative if in the future)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", price_date.strip())
    if not match:
        raise ValueError(f"price date '{price_date}' is not YYYY-MM")
    year, month = int(match[1]), int(match[2])
    return (today.year * 12 + today.month) - (year * 12 + month)


def price_is_stale(price_date: str, today: dt.date, max_age_months: int = PRICE_MAX_AGE_MONTHS) -> bool:
    """True when a YYYY-MM price is older than max_age_months (six by default) counted in calendar
    months: on 2026-11-30 a 2026-05 price is six months old and still current, a 2026-04 price is stale."""
    return price_age_months(price_date, today) > max_age_months


def find_gpu(name: str) -> Gpu:
    wanted = re.sub(r"[\s_]+", "-", name.strip().lower())
    compact = wanted.replace("-", "")
    for gpu in list_gpus():
        names = (gpu.id, *gpu.aliases)
        if wanted in names or compact in (n.replace("-", "") for n in names):
            return gpu
    ids = [g.id for g in list_gpus()]
    close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PriceError(f"unknown GPU '{name}': {hint}known: {', '.join(ids)}", close)
