"""A saved decision, re-checked: what spend measured, and what moved between two evaluations.

    measured     a model's use over the last 28 days of its spend up to the last day recorded (from the
                 first day it is recorded, at least a week): requests a month where requests are
                 recorded (and the tokens a request where tokens are too), else tokens a month
    remeasured   the saved scenario with those figures in place of the typed-in ones, each recorded in
                 the scenario's provenance ("from spend of openai:gpt-4o, Oct 27 - Nov 23"), so the
                 report marks them measured
    compare      before and after (two reports): whether the verdict changed or the monthly savings
                 moved by more than a threshold, and the input that moved the answer most

The API's price a request moves with its price a token and with the tokens a request; when the tokens a
request moved (a token mix measured from spend), the mover says so rather than read as a new price.

The input that moved it most is found the one way the tornado finds what moves an answer
(costcore/sensitivity.py): each input of the comparison's cost model (the volume, the API's price
a request, an instance's price, its capacity, operations, the per-token host's price, the one-time
cost) is swapped alone from its value before to its value after, and the one whose swap changes the
first-year net of buying (12 x monthly savings - one-time cost) most is named.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .forecast import TREND_DAYS, last_recorded, rows_of
from .format import count, money
from .scenario import TOKENS_A_REQUEST, CostModel, Scenario
from .spend import DAYS_PER_MONTH, SpendRow, without_double_counting

MIN_DAYS = 7  # less than a week of spend is not a month's volume


@dataclass(frozen=True)
class Measured:
    """A model's use from spend, a month of it."""

    ref: str  # provider:model_id
    first: dt.date
    last: dt.date
    requests_per_month: float | None
    tokens_per_month: float | None
    in_tokens: float | None  # a request, where requests and tokens are both recorded
    out_tokens: float | None

    @property
    def source(self) -> str:
        return f"from spend of {self.ref}, {_day(self.first)} - {_day(self.last)}"

    def words(self) -> str:
        if self.requests_per_month is not None:
            volume = f"{count(self.requests_per_month)} requests a month"
            if self.in_tokens is not None:
                volume += f", {self.in_tokens:,.0f} tokens in and {self.out_tokens:,.0f} out a request"
        else:
            volume = f"{count(self.tokens_per_month)} tokens a month (no request counts recorded)"
        return f"{volume}, {self.source}"


def measured(rows: Iterable[SpendRow], ref: str, through: dt.date, days: int = TREND_DAYS) -> Measured | None:
    """The model's volume and token mix over the `days` days up to the last day its spend is recorded
    (`last_recorded`: an import that ends before `through` is not read as days of no use), from its
    first recorded day when that is later; None with less than a week of spend, spend with no counts,
    or none recorded in the `days` days up to `through`."""
    rows = list(rows)
    mine = [r for r in without_double_counting(rows_of(rows, ref)) if r.day <= through]
    if not mine:
        return None
    last = last_recorded(rows, through, of=mine)
    if last < through - dt.timedelta(days=days - 1):
        return None
    first = max(last - dt.timedelta(days=days - 1), min(r.day for r in mine))
    span = (last - first).days + 1
    if span < MIN_DAYS:
        return None
    window = [r for r in mine if first <= r.day <= last]
    requests = sum(r.requests for r in window)
    tokens_in = sum(r.input_tokens for r in window)
    tokens_out = sum(r.output_tokens for r in window)
    per_month = DAYS_PER_MONTH / span
    if requests > 0:
        mix = tokens_in > 0
        return Measured(
            ref,
            first,
            last,
            requests * per_month,
            None,
            tokens_in / requests if mix else None,
            tokens_out / requests if mix else None,
        )
    if tokens_in + tokens_out > 0:
        return Measured(ref, first, last, None, (tokens_in + tokens_out) * per_month, None, None)
    return None


def remeasured(scenario: Scenario, found: Measured) -> Scenario:
    """The scenario with the measured volume (and tokens a request) in place of the typed-in ones."""
    values = scenario.model_dump(exclude_none=True)
    provenance = dict(values.pop("provenance", {}))
    for field in ("requests_per_month", "tokens_per_month"):
        values.pop(field, None)
        provenance.pop(field, None)
    if found.requests_per_month is not None:
        values["requests_per_month"] = found.requests_per_month
        provenance["requests_per_month"] = found.source
    else:
        values["tokens_per_month"] = found.tokens_per_month
        provenance["tokens_per_month"] = found.source
    for field in ("in_tokens", "out_tokens"):
        value = getattr(found, field)
        low = 0 if field == "out_tokens" else 1e-9
        if value is not None and low <= value <= TOKENS_A_REQUEST:
            values[field] = value
            provenance[field] = found.source
    values["provenance"] = provenance
    return Scenario.model_validate(values)


# ---------------------------------------------------------------------------------------
# Before and after


@dataclass(frozen=True)
class Mover:
    name: str
    before: str
    after: str
    why: str  # where the new figure comes from ("your price sheet, effective 2026-12-01"), or ""

    def words(self) -> str:
        return f"{self.name} {self.before} → {self.after}" + (f" ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Change:
    verdict_before: str
    verdict_after: str
    savings_before: float
    savings_after: float
    changed: bool  # the verdict changed, or the savings moved by more than the threshold
    mover: Mover | None

    @property
    def verdict_changed(self) -> bool:
        return self.verdict_before != self.verdict_after

    @property
    def moved(self) -> float | None:
        """The savings' move as a share of the savings before (None when they were $0)."""
        if self.savings_before == 0:
            return None
        return (self.savings_after - self.savings_before) / abs(self.savings_before)


def _net(model: CostModel, requests: float, one_time: float) -> float:
    return 12 * (model.api_monthly(requests) - model.selfhost_monthly(requests)) - one_time


def _per(value: float) -> str:
    return money(value)


# Each input of the comparison: its name, how it reads from a report, and how it is shown.
_Input = tuple[str, Callable[[dict], float | bool | None], Callable[[float], str]]
INPUTS: tuple[_Input, ...] = (
    ("volume", lambda r: r["requests_per_month"], lambda v: f"{count(v)} a month"),
    ("API price a request", lambda r: r["cost_model"]["api_cost_per_request"], _per),
    ("an instance's price a month", lambda r: r["cost_model"]["instance_monthly"], _per),
    ("capacity an instance", lambda r: r["cost_model"]["requests_per_instance"], lambda v: f"{count(v)} a month"),
    ("operations a month", lambda r: r["cost_model"]["ops_monthly"], _per),
    ("per-token host a request", lambda r: r["cost_model"]["selfhost_variable_per_request"], _per),
    ("spare instance (N+1)", lambda r: r["cost_model"]["ha"], lambda v: "yes" if v else "no"),
    ("one-time cost", lambda r: r["one_time_cost"], _per),
)


def compare(before: dict, after: dict, threshold: float, why: dict[str, str] | None = None) -> Change:
    """Two evaluations of one decision (reports as JSON). why: where a new figure comes from, by input
    name (the volume measured from spend, a price from your price sheet)."""
    savings_before, savings_after = before["monthly_savings"], after["monthly_savings"]
    if savings_before == 0:
        moved_far = not math.isclose(savings_after, 0, abs_tol=0.005)
    else:
        moved_far = abs(savings_after - savings_before) > threshold * abs(savings_before) + 1e-9
    verdict_changed = before["verdict"] != after["verdict"]
    return Change(
        before["verdict"],
        after["verdict"],
        savings_before,
        savings_after,
        verdict_changed or moved_far,
        mover(before, after, why or {}),
    )


def mover(before: dict, after: dict, why: dict[str, str]) -> Mover | None:
    """The input that, swapped alone from before to after, moves the first-year net most (None when
    no input differs)."""
    base = CostModel.model_validate(before["cost_model"])
    start = _net(base, before["requests_per_month"], before["one_time_cost"])
    best: tuple[float, Mover] | None = None
    for name, read, shown in INPUTS:
        old, new = read(before), read(after)
        if old == new or (isinstance(old, float) and isinstance(new, float) and math.isclose(old, new, rel_tol=1e-9)):
            continue
        model = base
        requests, one_time = before["requests_per_month"], before["one_time_cost"]
        if name == "volume":
            requests = new
        elif name == "one-time cost":
            one_time = new
        else:
            field = _FIELDS[name]
            model = base.model_copy(update={field: new})
        effect = abs(_net(model, requests, one_time) - start)
        found = Mover(
            name, "none" if old is None else shown(old), "none" if new is None else shown(new), why.get(name, "")
        )
        if name in _MIXED:
            found = _with_mix(found, before, after, why)
        if best is None or effect > best[0]:
            best = (effect, found)
    return None if best is None else best[1]


_PRICE_KEYS = ("price_in", "price_out", "cache_price", "per_request", "tiered")
_MIXED = ("API price a request", "capacity an instance", "per-token host a request")  # move with tokens a request


def _with_mix(found: Mover, before: dict, after: dict, why: dict[str, str]) -> Mover:
    """The API's price a request is its price a token times the tokens a request, and an instance serves
    fewer requests of more tokens: when the tokens a request moved (measured from spend), the mover says
    so, and names the price a token as unchanged where it is."""
    mix_before = before["cost_model"].get("tokens_per_request")
    mix_after = after["cost_model"].get("tokens_per_request")
    if not mix_before or not mix_after or math.isclose(mix_before, mix_after, rel_tol=1e-9):
        return found
    mix = f"the token mix: {mix_before:,.0f} → {mix_after:,.0f} tokens a request" + (
        f", {why['tokens a request']}" if why.get("tokens a request") else ""
    )
    quoted_before, quoted_after = before.get("api_price") or {}, after.get("api_price") or {}
    if found.name != "API price a request" or not found.why:
        reason = mix
    elif all(quoted_before.get(k) == quoted_after.get(k) for k in _PRICE_KEYS):
        reason = f"{mix}; the price a token is unchanged"
    else:
        reason = f"{found.why}; and {mix}"
    return Mover(found.name, found.before, found.after, reason)


_FIELDS = {
    "API price a request": "api_cost_per_request",
    "an instance's price a month": "instance_monthly",
    "capacity an instance": "requests_per_instance",
    "operations a month": "ops_monthly",
    "per-token host a request": "selfhost_variable_per_request",
    "spare instance (N+1)": "ha",
}


def reasons(after: dict) -> dict[str, str]:
    """Where an evaluation's figures come from, by input name, as its report says."""
    out = {}
    quote = after.get("api_price") or {}
    if quote.get("source"):
        out["API price a request"] = f"{quote['source']}, {quote.get('date', '')}".rstrip(", ")
    for a in after.get("assumptions") or []:
        if a.get("key") == "gpu_price" and a.get("source"):
            out["an instance's price a month"] = a["source"]
        if a.get("key") == "volume" and a.get("measured"):
            out["volume"] = a.get("note", "")
        if a.get("key") in ("in", "out") and a.get("measured"):
            out["tokens a request"] = a.get("note", "")
    return out


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}"
