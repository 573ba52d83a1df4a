"""The rent side: what one request costs on the API, from the catalogue, a price sheet, or a
price a request; every price shown with its source and date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .defaults import DEFAULTS
from .format import money
from .ledger import Ledger
from .price_sheet import NO_SHEET, ApiEntry, PriceSheet
from .prices import _base, per_request_cost, quote_model, quote_variant
from .scenario import PriceQuote, Scenario
from .workload import Workload

YOUR_PRICE = "your price"


@dataclass(frozen=True)
class RentSide:
    quote: PriceQuote
    cost_per_request: float
    mode: str = ""  # how the API is paid: "", "flex tier", "60% at batch price, 50% off"
    batch_share: float = 0.0  # the share of traffic sent to the batch API (it may wait a day)

    @property
    def label(self) -> str:
        mode = f", {self.mode}" if self.mode else ""
        if self.quote.custom:
            return f"API (your price{mode})"
        return f"API ({self.quote.provider}:{self.quote.model}{mode})"


def _custom_tiers_unused(s: Scenario, ledger: Ledger, why: str) -> None:
    for key, value in (("batch", s.batch_share), ("tier", s.api_tier), ("cache_write", s.cache_write_share)):
        if value is not None:
            ledger.ignored(key, why)


def api_named(s: Scenario) -> bool:
    """Did the user name an API (a model or a price)? A default API is never compared with manual work."""
    return any(v is not None for v in (s.api_model, s.api_price_in, s.api_price_blended, s.api_per_1k))


def rent_side(
    s: Scenario, work: Workload, ledger: Ledger, now: dt.datetime | None = None, sheet: PriceSheet = NO_SHEET
) -> RentSide:
    """Your own price (api_per_1k=, api_price=) first; then, for a catalogue model, your price sheet's
    price in effect today; else the catalogue's list price (in the tier and with the batch share asked)."""
    day = (now or dt.datetime.now(dt.UTC)).date()
    today = day.isoformat()
    in_tokens, out_tokens = work.in_tokens, work.out_tokens
    cached = s.cached_share or 0.0
    if s.api_per_1k is not None:
        cost = s.api_per_1k / 1000
        quote = PriceQuote(
            model="custom", price_in=0, price_out=0, per_request=cost, source=YOUR_PRICE, date=today, custom=True
        )
        ledger.assume("api_per_1k", f"{money(s.api_per_1k)} per 1,000 requests", "API price", YOUR_PRICE, True)
        _custom_tiers_unused(s, ledger, "your price a request (api_per_1k=) has no batch, tier or cache-write rates; "
                             "give the price you pay")
        if s.cached_share is not None:
            ledger.ignored(
                "cached", "the API is priced per request (api_per_1k=), so the cached share cannot change it"
            )
        return RentSide(quote, cost)

    if s.api_price_in is not None and s.api_price_out is not None:
        cache_price = s.api_price_cached
        quote = PriceQuote(
            model="custom",
            price_in=s.api_price_in,
            price_out=s.api_price_out,
            cache_price=cache_price,
            source=YOUR_PRICE,
            date=today,
            custom=True,
        )
        shown = f"${s.api_price_in:g} / ${s.api_price_out:g} per 1M (in/out)"
        if cache_price is not None:
            shown += f", cached input ${cache_price:g}"
        ledger.assume("api_price", shown, "API price", YOUR_PRICE, True)
        _custom_tiers_unused(s, ledger, "your api_price= has no batch, tier or cache-write rates; give the price "
                             "you pay (e.g. half of it for batched work)")
        if cached and cache_price is None:
            ledger.ignored(
                "cached",
                "your api_price= has no cached-input price; give it as a third figure (api_price=2.5/10/1.25)",
            )
            cached = 0.0
        if cache_price is not None and s.cached_share is None:
            ledger.note(
                "api_price=: its third figure, the cached-input price, is not used: it needs cached= (the share of "
                "input read from cache)"
            )
        read_from_cache = in_tokens * cached
        cost = (
            (in_tokens - read_from_cache) * s.api_price_in
            + read_from_cache * (cache_price or 0.0)
            + out_tokens * s.api_price_out
        ) / 1e6
        return RentSide(quote, cost)

    if s.api_price_blended is not None:
        quote = PriceQuote(
            model="custom",
            price_in=s.api_price_blended,
            price_out=s.api_price_blended,
            source=YOUR_PRICE,
            date=today,
            custom=True,
        )
        ledger.assume("api_price", f"${s.api_price_blended:g} per 1M (blended)", "API price", YOUR_PRICE, True)
        _custom_tiers_unused(s, ledger, "a blended api_price= has no batch, tier or cache-write rates")
        if s.cached_share is not None:
            ledger.ignored(
                "cached", "a blended api_price= has no cached-input price; give IN/OUT/CACHED (api_price=2.5/10/1.25)"
            )
        return RentSide(quote, (in_tokens + out_tokens) * s.api_price_blended / 1e6)

    name = s.api_model or DEFAULTS["api"].value
    quote, model_price = quote_model(name, now=now)
    contract = sheet.api_price(quote.provider, quote.model, day)
    if contract is not None:
        return _from_sheet(s, work, ledger, quote, contract, sheet)
    list_price = model_price  # the standard tier: what a batch discount is measured against
    modes: list[str] = []
    if s.api_tier == "standard":
        ledger.note("`tier=standard` is the list price, as with no tier= (flex and priority where catalogued)")
    elif s.api_tier is not None:
        tiered = quote_variant(name, {"service_tier": s.api_tier}, now=now)
        if tiered is None:
            ledger.ignored("tier", f"{quote.provider}:{quote.model} has no {s.api_tier} tier in the catalogue")
        else:
            model_price, where = tiered
            modes.append(f"{s.api_tier} tier")
            ledger.assume(
                "tier",
                f"{s.api_tier}: ${_base(model_price.input_mtok):g} / ${_base(model_price.output_mtok):g} per 1M",
                "the API's service tier",
                where,
            )
    if cached and quote.cache_price is None:
        ledger.ignored("cached", f"{quote.provider}:{quote.model} has no cached-input price in the catalogue")
        cached = 0.0
    writes = s.cache_write_share or 0.0
    write_price = _base(getattr(model_price, "cache_write_mtok", None))
    if s.cache_write_share is not None and write_price is None:
        ledger.ignored(
            "cache_write", f"{quote.provider}:{quote.model} does not charge for cache writes in the catalogue"
        )
        writes = 0.0
    elif cached and write_price is not None and s.cache_write_share is None:
        ledger.note(
            f"{quote.provider} charges ${write_price:g} per 1M to write input to its cache (the reads are at "
            f"${quote.cache_price:g}): cache_write= gives the share of input written a request; without it writes "
            "are not counted"
        )
    cost = per_request_cost(model_price, in_tokens, out_tokens, cached, writes)
    batch = s.batch_share or 0.0
    if s.batch_share is not None:
        batched = quote_variant(name, {"processing": "batch"}, now=now)
        if batched is None:
            ledger.ignored("batch", f"{quote.provider}:{quote.model} has no batch price in the catalogue")
            batch = 0.0
        elif batch:
            batch_price, where = batched
            batch_cost = per_request_cost(batch_price, in_tokens, out_tokens, cached, writes)
            standard = per_request_cost(list_price, in_tokens, out_tokens, cached, writes)
            off = 1 - batch_cost / standard if standard else 0.0
            share = "all" if batch == 1 else f"{batch:.0%}"
            modes.append(f"{share} at batch price, {off:.0%} off")
            ledger.assume(
                "batch",
                f"{share} of requests at the batch price, {money(batch_cost)} a request ({off:.0%} off)",
                "batched work waits up to a day for its answer",
                where,
            )
            cost = (1 - batch) * cost + batch * batch_cost
    if writes:
        modes.append(f"{writes:.0%} of input written to cache at ${write_price:g}")
    value = f"{quote.provider}:{quote.model} ${quote.price_in:g} / ${quote.price_out:g} per 1M (in/out)"
    if quote.tiered:
        value += f"; tiered: {quote.tiered}"
    if cached:
        value += f"; {cached:.0%} of input cached at ${quote.cache_price:g}"
    elif quote.cache_price is not None and s.cached_share is None:
        ledger.assume(
            "cached",
            "0% of input read from cache",
            f"no prompt caching assumed; {quote.provider} reads cached input at ${quote.cache_price:g} per 1M: "
            "cached=30% prices that share of the prompt at it",
        )
    if s.api_model:
        ledger.assume("api", value, "API price", f"{quote.source}, {quote.date}")
    else:
        ledger.default("api", shown=value, source=f"{quote.source}, {quote.date}")
    return RentSide(quote, cost, "; ".join(modes), batch)


def _from_sheet(
    s: Scenario, work: Workload, ledger: Ledger, listed: PriceQuote, entry: ApiEntry, sheet: PriceSheet
) -> RentSide:
    """A catalogue model at the price your company pays (flat per token: the sheet is the contract)."""
    cached = s.cached_share or 0.0
    source = sheet.source(entry)
    _custom_tiers_unused(
        s, ledger, f"your price sheet's price for {listed.provider}:{listed.model} has no batch, tier or cache-write "
        "rates: it is the price you pay"
    )
    quote = PriceQuote(
        model=listed.model,
        provider=listed.provider,
        price_in=entry.price_in,
        price_out=entry.price_out,
        cache_price=entry.cache_price,
        source="your price sheet",
        date=f"effective {entry.effective.isoformat()}",
    )
    value = f"{quote.provider}:{quote.model} ${entry.price_in:g} / ${entry.price_out:g} per 1M (in/out)"
    if cached and entry.cache_price is None:
        ledger.ignored(
            "cached",
            f"your price sheet has no cached-input price for {quote.provider}:{quote.model}; add `cached = ...` "
            "to its entry",
        )
        cached = 0.0
    if cached:
        value += f"; {cached:.0%} of input cached at ${entry.cache_price:g}"
    elif entry.cache_price is not None and s.cached_share is None:
        ledger.assume(
            "cached",
            "0% of input read from cache",
            f"no prompt caching assumed; your price sheet reads cached input at ${entry.cache_price:g} per 1M: "
            "cached=30% prices that share of the prompt at it",
        )
    listed_price = f"list ${listed.price_in:g} / ${listed.price_out:g} per 1M ({listed.date})"
    if listed.tiered:
        listed_price += f"; the list's tiers ({listed.tiered}) do not apply to your price"
    if s.api_model:
        ledger.assume("api", value, f"API price; {listed_price}", source)
    else:
        ledger.default("api", shown=f"{value}; {listed_price}", source=source)
    read_from_cache = work.in_tokens * cached
    cost = (
        (work.in_tokens - read_from_cache) * entry.price_in
        + read_from_cache * (entry.cache_price or 0.0)
        + work.out_tokens * entry.price_out
    ) / 1e6
    return RentSide(quote, cost)
