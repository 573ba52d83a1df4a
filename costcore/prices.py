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
from functools import cache, cached_property
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


MODES = ("always-on", "reserved-1y", "reserved-3y", "spot", "serverless", "owned")
MODE_WORDS = {
    "always-on": "always-on (on-demand or dedicated, every hour of the month)",
    "reserved-1y": "reserved for 1 year (owed for the whole term)",
    "reserved-3y": "reserved for 3 years (owed for the whole term)",
    "spot": "spot (interruptible)",
    "serverless": "serverless (per second of use, scale to zero)",
    "owned": "owned (bought)",
}


@dataclass(frozen=True)
class GpuPrice:
    """One catalogue price: billed in its own mode and no other."""

    gpu: str
    mode: str
    price_per_hour: float | None  # None for owned
    purchase_price: float | None  # owned only
    provider: str
    region: str | None
    source: str
    date: str  # YYYY-MM or YYYY-MM-DD
    note: str = ""


@dataclass(frozen=True)
class GpuQuote:
    """The catalogue's figure for one GPU in one mode: the median of its providers, with the range."""

    gpu: str
    mode: str
    price: float  # $ a GPU-hour, or the purchase price for owned
    low: float
    high: float
    entries: tuple[GpuPrice, ...]

    @property
    def date(self) -> str:
        return max(e.date for e in self.entries)

    @property
    def providers(self) -> str:
        return ", ".join(e.provider for e in self.entries)

    @cached_property
    def source(self) -> str:
        """Where the figure comes from, in one line: the providers and their dated sources."""
        if len(self.entries) == 1:
            e = self.entries[0]
            where = f" ({e.region})" if e.region else ""
            return f"one quote, no median: {e.provider}{where}: {e.source}, {e.date}"
        unit = "" if self.mode == "owned" else "/h"
        shown = "; ".join(
            f"{e.provider} ${(e.purchase_price if self.mode == 'owned' else e.price_per_hour):,.4g}{unit} ({e.date})"
            for e in self.entries
        )
        return f"median of {len(self.entries)} providers, range ${self.low:,.4g}-{self.high:,.4g}{unit}: {shown}"


@dataclass(frozen=True)
class Gpu:
    id: str
    name: str
    aliases: tuple[str, ...]
    vram_gb: float
    bandwidth_gb_s: float
    # Dense tensor throughput (no 2:4 sparsity), TFLOPs: 16-bit, 8-bit (FP8 where the GPU has it, else INT8),
    # 4-bit only where a 4-bit float format exists. Read by costcore.serving.
    tflops_16: float = 0.0
    tflops_8: float | None = None
    tflops_4: float | None = None
    flops_note: str = ""
    spec_source: str = ""
    watts: float = 0.0  # the data sheet's board or module power
    variant_note: str = ""  # which variant a short name (gpu=h100) means

    @property
    def price_per_hour(self) -> float | None:
        """The always-on median, or None when the catalogue has no always-on price for this GPU."""
        quote = gpu_quote(self.id, "always-on")
        return None if quote is None else quote.price

    @property
    def price_label(self) -> str:
        """Its price in a menu: the always-on median, else the first mode it is priced in, named."""
        if self.price_per_hour is not None:
            return f"${self.price_per_hour:,.4g}/h"
        for mode in modes_priced(self.id):
            quote = gpu_quote(self.id, mode)
            return f"{money_of(quote.price)} owned" if mode == "owned" else f"${quote.price:,.4g}/h {mode}"
        return "no catalogue price"


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


def per_request_cost(
    model_price: Any, in_tokens: float, out_tokens: float, cached_share: float, cache_write_share: float = 0.0
) -> float:
    """The price of one request, so that tier thresholds apply to a request, never a month.

    genai-prices prices whole tokens; an average request has fractions of one (and 0.1% of 500 cached tokens is
    half a token): the whole tokens are priced by the catalogue, the fractions at the same request's rates.
    Cache writes (cache_write_share of the input, where the provider charges them) are input tokens too."""
    from genai_prices import Usage

    def price(inputs: int, outputs: int, cached: int, written: int) -> float:
        usage = Usage(input_tokens=inputs, output_tokens=outputs, cache_read_tokens=cached, cache_write_tokens=written)
        return float(Decimal(model_price.calc_price(usage)["total_price"]))

    cached_tokens = in_tokens * cached_share
    written_tokens = min(in_tokens * cache_write_share, in_tokens - cached_tokens)
    exact = (in_tokens, out_tokens, cached_tokens, written_tokens)
    whole = tuple(math.floor(x) for x in exact)
    total = price(*whole)
    for i, amount in enumerate(exact):
        if amount != whole[i]:
            one_more = list(whole)
            one_more[i] += 1
            if i >= 2:  # one more token read from or written to the cache is one more input token
                one_more[0] = max(one_more[0], one_more[2] + one_more[3])
            total += (amount - whole[i]) * (price(*one_more) - price(*whole))
    return total


_TIER_VERIFIED = re.compile(r"([A-Za-z/ ]+?) rates verified on (20\d\d-\d\d-\d\d) at (\S+?)\.?(?:\s|$)")


def quote_variant(name: str, context: dict[str, str], *, now: dt.datetime | None = None) -> tuple[Any, str] | None:
    """The price of a catalogue model under a request context ({'processing': 'batch'}, {'service_tier':
    'flex'}), with where and when it was verified; None when the catalogue has no such variant for it."""
    _, model = _lookup(name)
    if not any(v.when == context for v in (model.price_variants or ())):
        return None
    price = model.get_prices(now or _today(), context)
    kind = next(iter(context.values()))
    verified = [m for m in _TIER_VERIFIED.findall(model.price_comments or "") if kind in m[0].lower()]
    where = f"verified {verified[0][1]} at {verified[0][2]}" if verified else "genai-prices bundled data"
    return price, f"genai-prices {_genai_version()} bundled data ({where})"


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
def _catalogue() -> dict:
    return json.loads(resources.files("costcore").joinpath("data/gpus.json").read_text())


@cache
def list_gpus() -> tuple[Gpu, ...]:
    return tuple(
        Gpu(
            id=g["id"],
            name=g["name"],
            aliases=tuple(g.get("aliases", ())),
            vram_gb=g["vram_gb"],
            bandwidth_gb_s=g["bandwidth_gb_s"],
            tflops_16=g["tflops_16"],
            tflops_8=g.get("tflops_8"),
            tflops_4=g.get("tflops_4"),
            flops_note=g.get("flops_note", ""),
            spec_source=g.get("spec_source", ""),
            watts=g.get("watts", 0.0),
            variant_note=g.get("variant_note", ""),
        )
        for g in _catalogue()["gpus"]
    )


@cache
def list_prices() -> tuple[GpuPrice, ...]:
    """Every catalogue price, each with its billing mode, provider, source and date."""
    return tuple(
        GpuPrice(
            gpu=p["gpu"],
            mode=p["mode"],
            price_per_hour=p.get("price_per_hour"),
            purchase_price=p.get("purchase_price"),
            provider=p["provider"],
            region=p.get("region"),
            source=p["source"],
            date=p["date"],
            note=p.get("note", ""),
        )
        for p in _catalogue()["prices"]
    )


@cache
def gpu_quote(gpu_id: str, mode: str) -> GpuQuote | None:
    """The median of the catalogue's prices for this GPU in this mode (None when it has none)."""
    entries = tuple(p for p in list_prices() if p.gpu == gpu_id and p.mode == mode)
    if not entries:
        return None
    figures = sorted(e.purchase_price if mode == "owned" else e.price_per_hour for e in entries)
    middle = len(figures) // 2
    median = figures[middle] if len(figures) % 2 else (figures[middle - 1] + figures[middle]) / 2
    return GpuQuote(gpu_id, mode, median, figures[0], figures[-1], entries)


@cache
def modes_priced(gpu_id: str) -> tuple[str, ...]:
    return tuple(m for m in MODES if gpu_quote(gpu_id, m) is not None)


def money_of(amount: float) -> str:
    return f"${amount:,.0f}"


PRICE_MAX_AGE_MONTHS = 6
CATALOGUE_MAX_AGE_MONTHS = 12  # a test fails on any catalogue price older than this


def price_age_months(price_date: str, today: dt.date) -> int:
    """Whole calendar months from a YYYY-MM (or YYYY-MM-DD) price date to today's month (negative if in the future)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", price_date.strip())
    if not match:
        raise ValueError(f"price date '{price_date}' is not YYYY-MM or YYYY-MM-DD")
    year, month = int(match[1]), int(match[2])
    return (today.year * 12 + today.month) - (year * 12 + month)


def price_is_stale(price_date: str, today: dt.date, max_age_months: int = PRICE_MAX_AGE_MONTHS) -> bool:
    """True when a price is older than max_age_months (six by default) counted in calendar months: on
    2026-11-30 a 2026-05 price is six months old and still current, a 2026-04 price is stale."""
    return price_age_months(price_date, today) > max_age_months


@cache
def _gpu_names() -> tuple[dict[str, int], dict[str, int]]:
    """Each GPU's names, and the same without hyphens, to its place in the catalogue (the first wins)."""
    exact: dict[str, int] = {}
    compact: dict[str, int] = {}
    for place, gpu in enumerate(list_gpus()):
        for n in (gpu.id, *gpu.aliases):
            exact.setdefault(n, place)
            compact.setdefault(n.replace("-", ""), place)
    return exact, compact


def find_gpu(name: str) -> Gpu:
    wanted = re.sub(r"[\s_]+", "-", name.strip().lower())
    exact, compact = _gpu_names()
    places = [p for p in (exact.get(wanted), compact.get(wanted.replace("-", ""))) if p is not None]
    if places:
        return list_gpus()[min(places)]
    ids = [g.id for g in list_gpus()]
    close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise PriceError(f"unknown GPU '{name}': {hint}known: {', '.join(ids)}", close)
