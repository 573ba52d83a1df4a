"""What is not cost, row by row: privacy, latency, control over model changes, vendor dependence,
the upkeep burden and quality on varied work, each for the API and for self-hosting.

Every row is written from this scenario's inputs and the report's own figures (the constraint
checks, the bills, the hours of upkeep), so changing the input that drives a row changes the row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .buy import BuySide
from .constraints import AnswerTimes, shown_ms
from .defaults import group_hours
from .format import instances as fleet_count
from .format import money
from .rent import RentSide
from .scenario import ConstraintCheck, Factor, Scenario, Serving
from .templates import Template


@dataclass(frozen=True)
class Upkeep:
    hours: float  # a month, running the model
    rate: float
    oversight: float  # $ a month of human review


def _provider(rent: RentSide) -> str:
    return "your API provider" if rent.quote.custom else (rent.quote.provider or "the API provider")


def _model(rent: RentSide) -> str:
    return "the model behind your price" if rent.quote.custom else f"{rent.quote.provider}:{rent.quote.model}"


def _where(buy: BuySide) -> str:
    if buy.kind == "per_token":
        return "the per-token host"
    if buy.kind == "server":
        return "your own servers"
    how = "own" if buy.billing == "owned" else "rent"
    return f"{buy.gpu.name} GPUs you {how}" if buy.gpu is not None else f"GPUs you {how}"


def privacy(s: Scenario, rent: RentSide, buy: BuySide, template: Template | None) -> Factor:
    who = _provider(rent)
    stays = (
        "the per-token host (host_price=) also receives every request"
        if buy.third_party
        else f"the data stays on {_where(buy)}"
    )
    if s.privacy:
        return Factor(
            factor="Privacy",
            api=f"ruled out: every request sends the data to {who}",
            selfhost=f"{stays}: meets privacy=yes",
            favours="selfhost",
            driven_by=["privacy", "host_price"],
        )
    why = f" ({template.privacy.detail})" if template is not None and s.privacy is False else ""
    if s.privacy is False:
        api = f"allowed{why}: requests go to {who}"
    else:
        api = f"each request goes to {who} under its data terms; privacy=yes if the data may not leave"
    return Factor(
        factor="Privacy",
        api=api,
        selfhost=stays
        + ("" if buy.third_party else ", which this work does not require" if s.privacy is False else ""),
        favours="neither",
        driven_by=["privacy", "host_price"],
    )


CLEAR_MARGIN = 1.5  # one side answers at least this many times faster: the row favours it


def latency(
    checks: list[ConstraintCheck],
    template: Template | None,
    times: AnswerTimes | None = None,
    held_to_api: Serving | None = None,
) -> Factor:
    """Against a latency bound, which side meets it; without one, both answer times side by side (the API's
    typical or measured time, self-hosting's at the sized load), favouring the faster by a clear margin."""
    bound = {c.option: c for c in checks if c.name == "latency"}
    driven = ["latency", "api_latency", "ft_latency", "out", "gpu", "params", "bits", "streaming", "volume", "peak"]
    if "api" in bound and "selfhost" in bound:
        api, own = bound["api"], bound["selfhost"]
        favours = "neither" if api.met == own.met else ("api" if api.met else "selfhost")
        return Factor(
            factor="Latency",
            api=f"{'meets' if api.met else 'misses'} the bound: {api.detail}",
            selfhost=f"{'meets' if own.met else 'misses'} the bound: {own.detail}",
            favours=favours,
            driven_by=driven,
        )
    need = f"{template.latency.need} work ({template.latency.detail}); " if template is not None else ""
    if times is None:
        return Factor(
            factor="Latency",
            api=f"{need}no bound given",
            selfhost="no bound given: latency=2s checks a whole answer on both",
            favours="neither",
            driven_by=driven + (["use"] if template else []),
        )
    api_text = f"{need}~{shown_ms(times.api_ms)} {times.what} ({times.api_source})"
    own_text = f"~{shown_ms(times.own_ms)} {times.what} ({times.own_source})"
    ratio = times.own_ms / times.api_ms if times.api_ms > 0 else math.inf
    if ratio >= CLEAR_MARGIN:
        favours = "api"
        own_text += f", {ratio:.3g}x the API's time"
        if held_to_api is not None and held_to_api.meets_latency:
            at_once = f"{held_to_api.concurrency:,} request{'s' if held_to_api.concurrency != 1 else ''}"
            own_text += (
                f"; latency={_bound_text(times.api_ms)} would hold it to the API's time: at most {at_once} at once "
                f"an instance, {held_to_api.instances} instance(s) at peak"
            )
        elif held_to_api is not None:
            own_text += (
                f"; even one request at a time takes ~{shown_ms(held_to_api.latency_ms)}, so latency="
                f"{_bound_text(times.api_ms)} (the API's time) cannot be met on this GPU and model"
            )
    elif ratio <= 1 / CLEAR_MARGIN:
        favours = "selfhost"
        api_text += f", {1 / ratio:.3g}x self-hosting's time"
    else:
        favours = "neither"
        own_text += f": within {CLEAR_MARGIN:g}x of the API's"
    return Factor(
        factor="Latency",
        api=api_text,
        selfhost=own_text,
        favours=favours,
        driven_by=driven,
        api_figure=times.api_ms,
        selfhost_figure=times.own_ms,
        figure_unit="ms",
    )


def _bound_text(ms: float) -> str:
    return f"{ms / 1000:.3g}s" if ms >= 1000 else f"{ms:.3g}ms"


def control(rent: RentSide, buy: BuySide, upkeep: Upkeep) -> Factor:
    provider = _provider(rent)
    return Factor(
        factor="Control over model changes",
        api=f"{_model(rent)} changes or retires on {provider}'s schedule; each change means re-running your evaluation",
        selfhost=(
            f"you pin your fine-tuned {buy.params_b:g}B weights and change them when you choose, within the "
            f"{upkeep.hours:g} h a month of upkeep"
        ),
        favours="selfhost",
        driven_by=["api", "api_price", "params", "maint_h"],
    )


def vendor(rent: RentSide, buy: BuySide, api_monthly: float, requests: float, instances: int) -> Factor:
    api = f"all {money(api_monthly)} a month goes to {_provider(rent)}: its prices, rate limits and outages are yours"
    if buy.kind == "per_token":
        selfhost = (
            f"{money(requests * buy.variable_per_request)} a month to the per-token host, another vendor; "
            "the open weights move to any host"
        )
        favours = "neither"
    elif buy.kind == "server":
        selfhost = f"{instances} of your own servers at {money(buy.instance_monthly)} a month each; open weights"
        favours = "selfhost"
    else:
        gpu = buy.gpu.name if buy.gpu is not None else "GPU"
        how = "owned" if buy.billing == "owned" else "rented"
        split = buy.fleet.split_at(requests)
        fleet = f"{instances} {how} " + (f"instance(s) of {split} x {gpu}" if split else f"{gpu} instance(s)")
        selfhost = (
            f"open weights on {fleet}, {money(buy.fleet.fleet_monthly(requests))} a "
            f"month {buy.billing}: any cloud renting that GPU can serve them"
        )
        favours = "selfhost"
    return Factor(
        factor="Vendor dependence",
        api=api,
        selfhost=selfhost,
        favours=favours,
        driven_by=["api", "api_price", "volume", "gpu", "gpu_price", "server", "host_price"],
        api_figure=api_monthly,
        selfhost_figure=requests * buy.variable_per_request
        if buy.kind == "per_token"
        else instances * buy.instance_monthly,
        figure_unit="$ a month to the vendor",
    )


def upkeep_burden(buy: BuySide, upkeep: Upkeep, instances: int, requests: float) -> Factor:
    low, high = group_hours("ops", "low"), group_hours("ops", "high")
    gpu = buy.gpu.name if buy.gpu is not None else None
    what = fleet_count(instances, buy.fleet.split_at(requests), gpu) if instances else "the per-token host's deployment"
    if upkeep.hours:
        selfhost = (
            f"{upkeep.hours:g} h a month ({money(upkeep.hours * upkeep.rate)}) to keep {what} running, updated and "
            "recovered"
        )
    else:
        selfhost = (
            f"0 h a month budgeted, yet someone patches, monitors and recovers {what} (typical {low:g}-{high:g} h)"
        )
    if upkeep.oversight:
        selfhost += f", plus {money(upkeep.oversight)} a month of human review"
    return Factor(
        factor="Upkeep burden",
        api="the provider runs the model: your upkeep is the prompt and its evaluation",
        selfhost=selfhost,
        favours="api",
        driven_by=["maint_h", "rate", "oversight"],
    )


def quality(s: Scenario, buy: BuySide, multiplier: tuple[float, float, float]) -> Factor:
    size = f"{buy.params_b:g}B"
    driven = ["task", "complexity", "params"]
    if s.task in ("varied", "reasoning"):
        kind = "open-ended, varied" if s.task == "varied" else "reasoning-heavy"
        return Factor(
            factor="Quality on varied work",
            api=f"a frontier model handles {kind} work",
            selfhost=f"a fine-tuned {size} model is ruled out for {kind} work",
            favours="api",
            driven_by=driven,
        )
    if s.task == "mixed":
        return Factor(
            factor="Quality on varied work",
            api="a frontier model keeps the varied, hard part",
            selfhost=f"a fine-tuned {size} model takes only the narrow, high-volume part: split the work",
            favours="api",
            driven_by=driven,
        )
    if s.task == "narrow":
        low, _, high = multiplier  # the re-work the one-time cost carries (none on a setup= total)
        band = f"{s.complexity} task" if s.complexity else "task"
        rework = f"{low:g}-{high:g}x re-work" if low != high else f"{low:g}x re-work"
        if low == high == 1:
            rework = "no re-work multiplier in your setup= total"
        return Factor(
            factor="Quality on varied work",
            api="a frontier model: more than this narrow task needs",
            selfhost=(
                f"a fine-tuned {size} model matches it once your evaluation set shows it (a {band}: "
                f"{rework} to get there)"
            ),
            favours="neither",
            driven_by=driven,
        )
    return Factor(
        factor="Quality on varied work",
        api="a frontier model handles varied requests if they come",
        selfhost=f"a fine-tuned {size} model holds up only on what it was trained for (task=narrow, mixed or varied)",
        favours="neither",
        driven_by=driven,
    )


def compare_factors(
    s: Scenario,
    rent: RentSide | None,
    buy: BuySide,
    checks: list[ConstraintCheck],
    template: Template | None,
    upkeep: Upkeep,
    requests: float,
    instances: int,
    *,
    multiplier: tuple[float, float, float],
    times: AnswerTimes | None = None,
    held_to_api: Serving | None = None,
) -> list[Factor]:
    """The qualitative rows; none when no API is compared (the work by hand against self-hosting)."""
    if rent is None:
        return []
    return [
        privacy(s, rent, buy, template),
        latency(checks, template, times, held_to_api),
        control(rent, buy, upkeep),
        vendor(rent, buy, requests * rent.cost_per_request, requests, instances),
        upkeep_burden(buy, upkeep, instances, requests),
        quality(s, buy, multiplier),
    ]
