"""The buy side's recurring cost: serving instances (GPUs at $/h, or a fixed server bill) sized
from the load by the serving model (costcore/serving.py), or a per-token host of open models;
plus the people who run and review it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import cached_property

from .defaults import DEFAULTS
from .format import count, money
from .grammar import GrammarError
from .ledger import Ledger
from .price_sheet import NO_SHEET, GpuEntry, PriceSheet
from .prices import MODE_WORDS, MODES, Gpu, find_gpu, gpu_quote, modes_priced
from .scenario import (
    HOURS_PER_MONTH,
    SECONDS_PER_MONTH,
    CostLine,
    CostModel,
    Scenario,
    ServerlessTerms,
    Shape,
    fleet_size,
)
from .serving import TP_SIZES, ContextError, Serving, ServingError, check_context, find_open_model, size
from .workload import Workload, workload

MAX_INSTANCES = 10_000  # a fleet beyond this is a typo in volume= or peak=, not a plan


@dataclass(frozen=True)
class BuySide:
    kind: str  # "gpu", "server" or "per_token"
    label: str
    instance_monthly: float
    variable_per_request: float
    requests_per_instance: float | None  # requests a month one instance carries, sized at the busiest hour
    ha: bool
    ops_monthly: float
    ops_lines: list[CostLine] = field(default_factory=list)
    capacity: Serving | None = None
    latency_ms: float | None = None  # one whole answer from the self-hosted model, when known
    third_party: bool = False  # a per-token host: the data leaves the company
    gpu: Gpu | None = None
    params_b: float = 7.0
    terms: dict = field(default_factory=dict)  # CostModel's fleet fields: billing, autoscale, levels, floor...
    billing_lines: list[str] = field(default_factory=list)  # what one instance's month is made of (owned)
    purchase_per_instance: float | None = None  # owned: the cash each instance needs up front

    @cached_property
    def fleet(self) -> CostModel:
        """The self-host side of the comparison's CostModel: the one place its bill is computed (built once:
        the side is frozen)."""
        return CostModel(
            api_cost_per_request=0.0,
            selfhost_variable_per_request=self.variable_per_request,
            instance_monthly=self.instance_monthly,
            requests_per_instance=self.requests_per_instance,
            ha=self.ha,
            ops_monthly=self.ops_monthly,
            tokens_per_request=0.0,
            **self.terms,
        )

    @property
    def billing(self) -> str:
        return self.terms.get("billing", "always-on")

    def instances(self, requests: float) -> int:
        return self.fleet.instances(requests)

    def monthly(self, requests: float) -> float:
        return self.fleet.selfhost_monthly(requests)

    def lines(self, requests: float) -> list[CostLine]:
        lines = []
        fleet = self.fleet
        instances = fleet.instances(requests)
        if instances or fleet.serverless is not None:
            spare = " incl. 1 spare (N+1)" if self.ha and fleet.serverless is None else ""
            hours = fleet.instance_hours(requests)
            if fleet.serverless is not None:
                detail = (
                    f"{hours:,.1f} busy instance-hours a month x "
                    f"{money(fleet.serverless.price_per_instance_s * 3600)} (per second of use)"
                )
                if fleet.serverless.cold_starts_monthly:
                    detail += f" + {money(fleet.serverless.cold_starts_monthly)} of cold starts"
            elif fleet.autoscale:
                detail = (
                    f"up to {instances} instance(s){spare}, {hours:,.1f} instance-hours a month x "
                    f"{money(self.instance_monthly / HOURS_PER_MONTH)} an hour"
                )
            else:
                detail = (
                    f"{instances} instance(s){spare} x {money(self.instance_monthly)} "
                    f"({hours:,.0f} instance-hours a month)"
                )
            if self.billing_lines:
                detail += "; one instance a month: " + " + ".join(self.billing_lines)
            lines.append(CostLine(name="Servers", amount=fleet.fleet_monthly(requests), hidden=False, detail=detail))
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
    s: Scenario,
    work: Workload,
    rate: float,
    ledger: Ledger,
    *,
    sized: Serving | None = None,
    sheet: PriceSheet = NO_SHEET,
    on: dt.date | None = None,
) -> BuySide:
    """`sized`: the instance as sized already for this scenario (billing does not change the sizing), so
    pricing the same fleet in another billing mode does not size it again. sheet, on: your price sheet, and
    the day its prices are taken on."""
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

    profile = load_profile(s, ledger)
    serving = None
    if gpu is not None:  # sized at the busiest hour of the week: a quiet week raises it above the average
        serving = sized if sized is not None else _size(s, work, model, gpu, bits, peak * profile.busy_factor, ha)
        requests_per_s = serving.requests_per_s
        gpus = serving.gpus_per_instance
    else:  # server= with a measured capacity and no GPU named: nothing to size, the measurement stands
        _check_window(s, work, model)
        requests_per_s = s.capacity_qps if s.capacity_qps is not None else s.capacity_tok_s / max(work.out_tokens, 1)
        gpus = s.gpus or 1
        for key, value in (("concurrency", s.concurrency), ("bits", s.bits), ("streaming", s.streaming)):
            if value is not None:
                ledger.ignored(key, "capacity= is your measurement and no GPU is named (gpu=) to size it on")
    split: dict = {}  # where the tool chooses the split: the instance's GPUs, the fewest, and the other shapes
    if serving is not None and sized is None and _split_is_chosen(s, gpu, measured, sheet, on):
        fewest = serving.gpus_per_instance
        serving, alternatives = _cheapest_split(s, work, model, gpu, bits, peak, profile, ha, serving, sheet, on)
        gpus = serving.gpus_per_instance
        requests_per_s = serving.requests_per_s
        split = {"gpus_per_instance": gpus, "fewest_gpus": fewest, "alternatives": alternatives}
    if gpu is not None and gpu.variant_note and s.gpu is not None:
        ledger.assume("gpu", gpu.name, gpu.variant_note, gpu.spec_source)
    if s.server_monthly is not None:
        kind, instance_monthly = "server", s.server_monthly
        label = "Self-host (your servers)"
        if s.gpus is not None and serving is None:
            ledger.ignored("gpus", "server= prices a whole instance and capacity= measures it")
        billing = Billed("always-on", instance_monthly)
        for key, value in (("billing", s.billing), ("autoscale", s.autoscale)):
            if value is not None:
                ledger.ignored(key, "server= is your own fixed monthly bill for an instance: it runs all month")
        _owned_keys_unused(s, ledger, "server= is your own monthly bill")
    else:
        kind = "gpu"
        billing = gpu_billing(s, gpu, gpus, ledger, sheet, on)
        instance_monthly = billing.instance_monthly
        label = f"Self-host ({gpus} x {gpu.name}, {billing.words})"
    if not measured:
        ledger.assume("capacity", f"{serving.requests_per_s:,.3g} requests/s per instance", serving.summary)
    else:
        ledger.assume("capacity", f"{requests_per_s:,.3g} requests/s per instance", "your measurement", None, True)
    spot = billing.mode == "spot"
    if spot:
        ledger.note(
            "billing=spot: one spare instance is kept as the allowance for interruptions (N+1), so a reclaimed "
            "instance does not take the service down" + (" (it is also the spare ha= asked for)" if ha else "")
        )
        ha = True
    terms, rpi = fleet_terms(s, billing, profile, serving, requests_per_s, peak, work, ha, ledger)
    terms.update(split)
    latency = None if serving is None else (serving.ttft_ms if s.streaming else serving.latency_ms)
    if billing.mode == "serverless" and not terms.get("floor") and latency is not None and s.latency_ms is not None:
        # scaled to zero, a request may find no warm instance and wait for one to start
        if s.cold_start_s is not None:
            latency += s.cold_start_s * 1000
            ledger.note(
                f"billing=serverless scales to zero: a request that finds no warm instance waits for its "
                f"{s.cold_start_s:g} s cold start, counted against latency= (min_instances=1 keeps one warm)"
            )
        else:
            ledger.note(
                "billing=serverless scales to zero: a request that finds no warm instance also waits for a cold "
                "start, not counted against latency= (give cold_start=, or min_instances=1 to keep one warm)"
            )
    return BuySide(
        kind=kind,
        label=label,
        instance_monthly=instance_monthly,
        variable_per_request=0.0,
        requests_per_instance=rpi,
        ha=ha and billing.mode != "serverless",
        ops_monthly=ops_monthly,
        ops_lines=ops_lines,
        capacity=serving,
        latency_ms=latency,
        gpu=gpu,
        params_b=serving.params_b if serving is not None else (s.params_b or DEFAULTS["params"].value),
        terms=terms,
        billing_lines=billing.lines,
        purchase_per_instance=billing.purchase,
    )


# --- Billing modes ---------------------------------------------------------------------------------

DEFAULT_DEPRECIATION_MONTHS = 36.0
DEFAULT_PUE = 1.4
DEFAULT_POWER_PRICE = 0.12  # $ a kWh
HOURS_A_WEEK = 168.0
WEEKS_PER_MONTH = HOURS_PER_MONTH / HOURS_A_WEEK


@dataclass(frozen=True)
class Billed:
    """One instance's price in its billing mode."""

    mode: str
    instance_monthly: float  # $ a month for one instance running all month (owned: every line of its month)
    hourly: float = 0.0  # $ an hour of one instance (0 for owned)
    words: str = "always-on"
    lines: list[str] = field(default_factory=list)
    purchase: float | None = None


@dataclass(frozen=True)
class LoadProfile:
    """When in the week the requests come: busy hours a week (the load spread evenly over them)."""

    name: str
    busy_hours_a_week: float
    stretches_a_month: float  # how often the service starts again after a quiet spell

    @property
    def busy_factor(self) -> float:
        """The load in a busy hour over the month's average."""
        return HOURS_A_WEEK / self.busy_hours_a_week

    @property
    def levels(self) -> list[tuple[float, float]]:
        busy = self.busy_hours_a_week * WEEKS_PER_MONTH
        levels = [(busy, self.busy_factor)]
        if busy < HOURS_PER_MONTH:
            levels.append((HOURS_PER_MONTH - busy, 0.0))
        return levels


PROFILES = {
    "24x7": LoadProfile("24x7", HOURS_A_WEEK, 0.0),
    # 08:00-18:00, Monday to Friday
    "business-hours": LoadProfile("business-hours (10 h a day, Monday to Friday)", 50.0, 5 * WEEKS_PER_MONTH),
    "weekdays": LoadProfile("weekdays (24 h, Monday to Friday)", 120.0, WEEKS_PER_MONTH),
}


def load_profile(s: Scenario, ledger: Ledger) -> LoadProfile:
    if s.active_hours is not None:
        hours = s.active_hours
        daily = 0.0 if hours >= 24 else 365 / 12
        return LoadProfile(f"active {hours:g} h a day", 7 * hours, daily)
    return PROFILES[s.profile or "24x7"]


def gpu_billing(
    s: Scenario, gpu: Gpu, gpus: int, ledger: Ledger, sheet: PriceSheet = NO_SHEET, on: dt.date | None = None
) -> Billed:
    """One instance's price in the billing mode asked for: your price sheet's in that mode, else the
    catalogue's (never a price quoted in another mode), or the user's gpu_price=, or, owned, the purchase
    and its running costs. With no billing= given, a GPU your sheet prices is billed the way the sheet says
    the company pays for it (the first of its modes in MODES), else always-on."""
    contract = _sheet_gpu(s, gpu, ledger, sheet, on)
    mode = s.billing or (contract.mode if contract is not None else "always-on")
    if s.billing is None and contract is not None:
        ledger.assume("billing", mode, MODE_WORDS[mode], sheet.source(contract))
    elif s.billing is None:
        ledger.assume("billing", "always-on", "on-demand or dedicated GPUs billed every hour (730 a month)")
    if mode == "owned":
        return _owned(s, gpu, gpus, ledger, contract, sheet)
    _owned_keys_unused(s, ledger, f"billing={mode} rents the GPUs")
    if s.gpu_price is not None:
        price = s.gpu_price
        ledger.assume("gpu_price", f"${price:g}/h per {gpu.name}, {mode}", "your price", None, True)
    elif contract is not None:
        price = contract.price_per_hour
        listed = gpu_quote(gpu.id, mode)
        ledger.assume(
            "gpu_price",
            f"${price:,.4g}/h per {gpu.name}, {MODE_WORDS[mode]}",
            f"{mode} price; catalogue " + (f"${listed.price:,.4g}/h" if listed is not None else "none in this mode"),
            sheet.source(contract),
        )
    else:
        quote = gpu_quote(gpu.id, mode)
        if quote is None:
            priced = [m for m in modes_priced(gpu.id) if m != "owned"]
            quoted = ", ".join(f"{m} ${gpu_quote(gpu.id, m).price:,.4g}/h" for m in priced)
            others = f"it is priced {quoted}" if priced else "it has no rental price"
            mine = sheet.gpu_contract(gpu.id, on or dt.datetime.now(dt.UTC).date(), mode)[1] if sheet.gpu else []
            if mine:  # the sheet has it in other modes (billing= asked for one it has not)
                others += "; your price sheet: " + ", ".join(
                    f"{e.mode} " + (money(e.purchase) if e.price_per_hour is None else f"${e.price_per_hour:,.4g}/h")
                    for e in mine
                )
                priced = [*priced, *(e.mode for e in mine if e.mode not in priced)]
            # the closest mode that works: serverless or spot keep paying by the hour of use
            nearest = ("serverless", "spot", "always-on", "reserved-1y", "reserved-3y", "owned")
            usable = next((m for m in nearest if m in priced), None)
            example = f"gpu={gpu.id} billing={usable}" if usable else f"gpu={gpu.id} gpu_price=$1.20/h"
            raise GrammarError(
                "billing" if s.billing is not None else "gpu",
                f"the catalogue has no {mode} price for the {gpu.name} ({others}): a price is used only in the "
                f"billing mode it was quoted in. Give billing= with one of those modes, or your own {mode} price "
                "with gpu_price= (e.g. gpu_price=$0.80/h)",
                example,
            )
        price = quote.price
        ledger.assume(
            "gpu_price",
            f"${price:,.4g}/h per {gpu.name}, {MODE_WORDS[mode]}",
            f"{mode} price" + (f" (range ${quote.low:,.4g}-{quote.high:,.4g}/h)" if len(quote.entries) > 1 else ""),
            f"{quote.source}",
        )
    hourly = price * gpus
    words = {"always-on": "always-on", "reserved-1y": "reserved 1 year", "reserved-3y": "reserved 3 years"}.get(
        mode, mode
    )
    words += f", ${price:,.4g}/h"
    if mode.startswith("reserved"):
        term = 12 if mode == "reserved-1y" else 36
        ledger.note(
            f"billing={mode}: the commitment is owed for its whole term, {term} months, even if the decision "
            f"changes: {money(hourly * HOURS_PER_MONTH)} a month per instance, "
            f"{money(hourly * HOURS_PER_MONTH * term)} in all"
        )
    return Billed(mode, hourly * HOURS_PER_MONTH, hourly, words)


def _sheet_gpu(s: Scenario, gpu: Gpu, ledger: Ledger, sheet: PriceSheet, on: dt.date | None) -> GpuEntry | None:
    """Your price sheet's entry for this GPU in the mode billing= names (or, naming none, the sheet's own
    mode); the other entries in effect are named in a note. None when gpu_price= is given (yours wins),
    or the sheet has nothing for it."""
    if not sheet.gpu or (s.gpu_price is not None and s.billing != "owned"):
        return None
    chosen, unused = sheet.gpu_contract(gpu.id, on or dt.datetime.now(dt.UTC).date(), s.billing, billable=MODES)
    for entry in unused:
        why = f"billing={s.billing} is asked for" if s.billing is not None else f"its {chosen.mode} price is used"
        ledger.note(f"your price sheet's {entry.mode} price for the {gpu.name} is not used: {why}")
    return chosen


def _owned(
    s: Scenario,
    gpu: Gpu,
    gpus: int,
    ledger: Ledger,
    contract: GpuEntry | None = None,
    sheet: PriceSheet = NO_SHEET,
) -> Billed:
    """purchase x (1 - residual) / depreciation months + watts / 1000 x PUE x 730 x $/kWh + colocation."""
    if s.gpu_price is not None:
        ledger.ignored("gpu_price", "billing=owned: the hardware is bought (purchase=), not rented by the hour")
    if s.purchase is not None:
        purchase = s.purchase
        ledger.assume("purchase", f"{money(purchase)} an instance", "your price", None, True)
    elif contract is not None:
        purchase = contract.purchase * gpus
        ledger.assume(
            "purchase",
            f"{money(purchase)} an instance ({gpus} x {money(contract.purchase)}, the GPUs alone)",
            "purchase price; add the server around the GPUs with purchase=",
            sheet.source(contract),
        )
    else:
        quote = gpu_quote(gpu.id, "owned")
        if quote is None:
            raise GrammarError(
                "purchase",
                f"billing=owned needs what one instance's hardware costs: the catalogue has no purchase price "
                f"for the {gpu.name}",
                "billing=owned purchase=$30,000",
            )
        purchase = quote.price * gpus
        ledger.assume(
            "purchase",
            f"{money(purchase)} an instance ({gpus} x {money(quote.price)}, the GPUs alone)",
            "purchase price; add the server around the GPUs with purchase=",
            quote.source,
        )
    months = ledger.pick(s.depreciation_months, "depreciation")
    residual = s.residual if s.residual is not None else 0.0
    if s.watts is not None:
        watts = s.watts
    else:
        watts = gpu.watts * gpus
        ledger.assume("watts", f"{watts:,.0f} W", f"{gpus} x {gpu.name} at its data-sheet power", gpu.spec_source)
    pue = ledger.pick(s.pue, "pue")
    kwh = ledger.pick(s.power_price, "power_price")
    colo = s.colo if s.colo is not None else 0.0
    depreciation = purchase * (1 - residual) / months
    power = watts / 1000 * pue * HOURS_PER_MONTH * kwh
    monthly = depreciation + power + colo
    lines = [
        f"{money(depreciation)} depreciation ({money(purchase)}"
        + (f" less {residual:.0%} resale" if residual else "")
        + f" over {months:g} months)",
        f"{money(power)} power ({watts:,.0f} W x PUE {pue:g} x 730 h x ${kwh:g}/kWh)",
    ]
    if colo:
        lines.append(f"{money(colo)} colocation")
    return Billed("owned", monthly, 0.0, f"owned, {money(monthly)} a month", lines, purchase)


def _owned_keys_unused(s: Scenario, ledger: Ledger, why: str) -> None:
    for key, value in (
        ("purchase", s.purchase),
        ("depreciation", s.depreciation_months),
        ("watts", s.watts),
        ("pue", s.pue),
        ("power_price", s.power_price),
        ("colo", s.colo),
        ("residual", s.residual),
    ):
        if value is not None:
            ledger.ignored(key, f"it prices owned hardware (billing=owned); {why}")


def fleet_terms(
    s: Scenario,
    billing: Billed,
    profile: LoadProfile,
    serving: Serving | None,
    requests_per_s: float,
    peak: float,
    work: Workload,
    ha: bool,
    ledger: Ledger,
) -> tuple[dict, float | None]:
    """CostModel's fleet fields for this billing mode and load profile, and what one instance carries a
    month at the busiest hour (a fixed fleet is sized for it)."""
    mode = billing.mode
    flat = _carried(requests_per_s, peak, 1.0) if requests_per_s > 0 else None
    steady = profile.busy_hours_a_week >= HOURS_A_WEEK
    autoscale = bool(s.autoscale) and s.server_monthly is None  # server= is a bill for the whole month
    if mode == "serverless":
        if s.autoscale is not None:
            ledger.ignored("autoscale", "serverless GPUs follow the load by themselves (billed per second of use)")
        if s.peak is not None and s.peak > 1:
            ledger.note("peak= does not raise a serverless bill: it is per second of use and follows bursts")
        return _serverless_terms(s, billing, profile, serving, requests_per_s, work, ledger), flat
    if s.cold_start_s is not None:
        ledger.note(
            f"`cold_start=` prices the starts of a serverless fleet: billing={mode} keeps its instances running "
            "(the sensitivity's serverless row uses it, where the GPU has a serverless price)"
        )
    if s.autoscale is not None and s.server_monthly is None and mode in ("owned", "reserved-1y", "reserved-3y"):
        why = "owned hardware costs the same whether it runs or not" if mode == "owned" else (
            "a reservation is billed every hour of its term"
        )
        ledger.ignored("autoscale", f"{why}: the fleet is sized for the busiest hour")
        autoscale = False
    floor = 1
    if s.min_instances is not None:
        if autoscale:
            floor = s.min_instances
        elif s.min_instances == 0:
            ledger.note("`min_instances=0` is read as 1: a fixed fleet keeps at least one instance; scale to zero "
                        "needs autoscale=yes or billing=serverless")
        else:
            floor = s.min_instances
            ledger.note(f"`min_instances={floor}`: a fixed fleet runs at least {floor} instance(s) every hour "
                        "(autoscale=yes lets it follow the load above that)")
    elif autoscale:
        ledger.assume("min_instances", "1", "autoscaling keeps one instance at the quietest hour; min_instances=0 "
                      "lets it scale to zero")
    if autoscale:
        if steady:
            ledger.note("autoscale=yes with a 24x7 profile: the load is the same every hour, so there is nothing to "
                        "scale down (give profile=business-hours or active=10h/day)")
        ledger.assume("profile", profile.name, "instances follow the load hour by hour")
        terms = {"billing": mode, "autoscale": True, "levels": profile.levels, "floor": floor}
        return terms, flat
    if not steady:
        ledger.assume(
            "profile",
            profile.name,
            f"the same monthly volume in {profile.busy_hours_a_week:g} busy hours a week is {profile.busy_factor:.3g}x "
            "the flat load at its peak; a fixed fleet is sized for that peak and runs every hour, so it costs at "
            "least the 24x7 figure (autoscale=yes or billing=serverless saves the quiet hours)",
        )
    rpi = _carried(requests_per_s, peak, profile.busy_factor) if flat is not None else None
    return {"billing": mode, "floor": floor}, rpi


def _serverless_terms(
    s: Scenario, billing: Billed, profile: LoadProfile, serving: Serving | None, rps: float, work: Workload, ledger
) -> dict:
    """Busy instance-seconds at the load's concurrency: a request alone holds an instance for its whole
    answer; as the load grows requests share an instance, up to what it serves at full concurrency."""
    alone = serving.latency_ms / 1000 if serving is not None and serving.concurrency == 1 else None
    if alone is None and serving is not None:
        alone = _alone_seconds(s, work, serving)
    if alone is None:
        alone = 1 / rps if rps > 0 else 1.0
    per_second = billing.hourly / 3600
    cold = 0.0
    if s.cold_start_s is not None:
        cold = profile.stretches_a_month * s.cold_start_s * per_second
        if not profile.stretches_a_month:
            ledger.note("cold_start= is counted when the service starts again after quiet hours: a 24x7 load keeps "
                        "its instances warm (give profile= to count them)")
    else:
        ledger.note("serverless cold starts are not priced: give cold_start= (the seconds your model takes to load), "
                    "and min_instances=1 to keep one instance warm all month")
    floor = s.min_instances if s.min_instances is not None else 0
    if s.ha:
        ledger.ignored("ha", "a serverless platform replaces a failed worker; no spare instance is billed")
    ledger.assume("profile", profile.name, "serverless bills the busy seconds of each hour of the week")
    terms = ServerlessTerms(
        seconds_alone=max(alone, 1e-6),
        requests_per_s_full=max(rps, 1e-9),
        price_per_instance_s=per_second,
        cold_starts_monthly=cold,
    )
    return {"billing": "serverless", "levels": profile.levels, "floor": floor, "serverless": terms}


def _alone_seconds(s: Scenario, work: Workload, serving: Serving) -> float:
    """How long one request holds an instance when it runs alone (concurrency 1)."""
    alone = size(
        s.base_model or s.params_b or DEFAULTS["base"].value,
        serving.gpu_id,
        in_tokens=work.ft_in_tokens,
        out_tokens=work.out_tokens,
        bits=serving.bits,
        gpus=serving.gpus_per_instance,
        kv_bits=serving.kv_bits,
        concurrency=1,
    )
    return alone.latency_ms / 1000


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


def _billing_mode(s: Scenario, gpu: Gpu, sheet: PriceSheet, on: dt.date | None) -> str:
    """The mode gpu_billing bills this GPU in: billing=, else your price sheet's for it, else always-on."""
    contract = _sheet_gpu(s, gpu, Ledger(s), sheet, on)
    return s.billing or (contract.mode if contract is not None else "always-on")


def _split_is_chosen(s: Scenario, gpu: Gpu, measured: bool, sheet: PriceSheet, on: dt.date | None) -> bool:
    """The split over GPUs is the tool's to choose for a fixed fleet it sizes and prices by the GPU. Not when
    gpus= says it, a measured capacity is of an instance as it is, server= (or, owned, purchase= or watts=) is
    your figure for a whole instance, or the fleet follows the load (autoscaled or serverless), where one
    instance is the step it scales by."""
    if s.gpus is not None or measured or s.server_monthly is not None:
        return False
    mode = _billing_mode(s, gpu, sheet, on)
    if mode == "serverless":
        return False
    if s.autoscale and mode not in ("owned", "reserved-1y", "reserved-3y"):  # those are billed every hour
        return False
    return not (mode == "owned" and (s.purchase is not None or s.watts is not None))


def _carried(requests_per_s: float, peak: float, busy_factor: float) -> float:
    """Requests a month one instance of a fixed fleet carries: its rate at the busiest hour of the week."""
    return requests_per_s * SECONDS_PER_MONTH / peak / busy_factor


def _cheapest_split(
    s: Scenario,
    work: Workload,
    model,
    gpu: Gpu,
    bits: int,
    peak: float,
    profile: LoadProfile,
    ha: bool,
    fewest: Serving,
    sheet: PriceSheet,
    on: dt.date | None,
) -> tuple[Serving, list[Shape]]:
    """The model split over each number of GPUs from the fewest that hold it (tensor parallelism), each priced
    as a fixed fleet the way gpu_billing prices the instance (your price sheet included). The split that
    carries today's load for the least, meeting the latency bound where any split does, is the instance; the
    others stay in the cost model, so at every volume (break-even, crossings, growth, what-ifs) the fleet is
    built of the cheapest. With more GPUs an instance keeps more memory for requests in flight, which at a
    high load can more than pay for the GPUs it adds. Returns the instance and the other shapes."""
    mode = _billing_mode(s, gpu, sheet, on)
    spare = 1 if ha or mode == "spot" else 0
    floor = s.min_instances or 1  # a fixed fleet keeps at least one (fleet_terms reads 0 as 1)
    plans = []
    for n in (k for k in TP_SIZES if k >= fewest.gpus_per_instance):
        try:
            split = fewest
            if n != fewest.gpus_per_instance:
                asked = s.model_copy(update={"gpus": n})
                split = _size(asked, work, model, gpu, bits, peak * profile.busy_factor, ha)
            monthly = gpu_billing(s, gpu, n, Ledger(s), sheet, on).instance_monthly
        except GrammarError:
            continue
        if split.requests_per_s <= 0:
            continue  # carries nothing: no fleet of it serves the load
        carried = _carried(split.requests_per_s, peak, profile.busy_factor)
        fleet = fleet_size(work.requests, carried, floor, spare) * monthly
        shape = Shape(gpus=n, instance_monthly=monthly, requests_per_instance=carried)
        plans.append((split.meets_latency is not False, fleet, split, shape))
    missing = {plan[3].gpus for plan in plans if not plan[0]}
    if len(missing) < len(plans):  # a split that misses the latency bound is no option where one meets it
        plans = [plan for plan in plans if plan[0]]
    if not plans:
        return fewest, []
    # today's cheapest; on a tie the fewer GPUs (sorted by GPUs first, min keeps the first)
    _, fleet, chosen, _ = best = min(plans, key=lambda plan: plan[1])
    others = [plan[3] for plan in plans if plan is not best and not _never_cheapest(plan[3], plans)]
    if chosen is fewest:
        return chosen, others
    gpus = chosen.gpus_per_instance
    split = f"Each instance splits the model over {chosen.gpus_per_instance} x {gpu.name} (tensor parallelism)"
    as_fewest = next((plan for plan in plans if plan[2] is fewest), None)
    if as_fewest is None and all(n in missing for n in TP_SIZES if fewest.gpus_per_instance <= n < gpus):
        why = f"{split}: with fewer GPUs an instance misses the latency bound."
    elif as_fewest is None:
        why = (
            f"{split}: as {fewest.gpus_per_instance}-GPU instances it misses the latency bound, and of the splits "
            f"that meet it this one carries today's load for the least, {money(fleet)} a month."
        )
    else:
        why = (
            f"{split}: the fleet for today's load costs {money(fleet)} a month that way against "
            f"{money(as_fewest[1])} as {fewest.gpus_per_instance}-GPU instances, {_why_bigger(fewest, chosen)}."
        )
    if others:
        why += " At other volumes the fleet takes the cheaper split."
    notes = [why, *chosen.notes]
    return chosen.model_copy(update={"notes": notes}), others


def _never_cheapest(shape: Shape, plans: list) -> bool:
    """A split no volume makes the cheapest: another costs at most 1/k of it and carries at least 1/k of its
    requests, for a whole k (k of those instances stand for one of it, whatever the floor and spare)."""
    for *_, other in plans:
        if other is shape or other.gpus > shape.gpus:
            continue
        if other.instance_monthly <= 0:
            return True
        k = math.floor(shape.instance_monthly / other.instance_monthly + 1e-9)
        if k >= 1 and shape.requests_per_instance <= k * other.requests_per_instance:
            return True
    return False


def _why_bigger(fewest: Serving, chosen: Serving) -> str:
    """Why an instance of more GPUs carries more than its share: what held the smaller one back."""
    if fewest.latency_bound_ms is not None and fewest.concurrency < fewest.max_concurrency:
        return (
            f"as within the latency bound a {fewest.gpus_per_instance}-GPU instance takes {fewest.concurrency:,} "
            f"requests at once and a {chosen.gpus_per_instance}-GPU one, answering faster, {chosen.concurrency:,}"
        )
    if fewest.bound == "KV cache memory":
        return "as more GPUs leave more memory for requests in flight"
    ratio = chosen.requests_per_s / fewest.requests_per_s
    more = chosen.gpus_per_instance // fewest.gpus_per_instance
    return f"as an instance carries {ratio:,.3g}x the requests for {more}x the GPUs"


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


def sizing(
    s: Scenario, ledger: Ledger | None = None, sheet: PriceSheet = NO_SHEET, on: dt.date | None = None
) -> Serving:
    """What one instance serves for this scenario's request shape, exactly as the analysis sizes it: at the
    busiest hour, split over the GPUs whose fleet carries the load for the least where the split is the tool's."""
    ledger = ledger or Ledger(s)
    work = workload(s, ledger)
    model = s.base_model or s.params_b or DEFAULTS["base"].value
    gpu = find_gpu(s.gpu or DEFAULTS["gpu"].value)
    bits, peak, ha = ledger.pick(s.bits, "bits"), ledger.pick(s.peak, "peak"), bool(s.ha)
    profile = load_profile(s, Ledger(s))
    serving = _size(s, work, model, gpu, bits, peak * profile.busy_factor, ha)
    measured = s.capacity_qps is not None or s.capacity_tok_s is not None
    if _split_is_chosen(s, gpu, measured, sheet, on):
        serving, _ = _cheapest_split(s, work, model, gpu, bits, peak, profile, ha, serving, sheet, on)
    return serving


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
        ("billing", s.billing),
        ("autoscale", s.autoscale),
        ("min_instances", s.min_instances),
        ("cold_start", s.cold_start_s),
        ("profile", s.profile),
        ("active", s.active_hours),
    ):
        if value is not None:
            ledger.ignored(key, why)
    _owned_keys_unused(s, ledger, "a per-token host bills tokens, not hardware")
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
