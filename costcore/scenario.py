"""Scenario (every input of the rent-or-buy decision) and Report (every output).

All money is in US dollars, volumes are per month (a month is 365/12 days, 730 hours),
token prices are per million tokens. A field left as None takes the documented default,
and the Report lists every default it used as an assumption.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOURS_PER_MONTH = 365 * 24 / 12  # 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

Complexity = Literal["well-defined", "medium", "novel"]
Task = Literal["narrow", "mixed", "varied", "reasoning"]
Verdict = Literal["RENT", "BUY", "HYBRID"]
Billing = Literal["always-on", "reserved-1y", "reserved-3y", "spot", "serverless", "owned"]
Profile = Literal["24x7", "business-hours", "weekdays"]
ApiTier = Literal["standard", "flex", "priority"]

NonNeg = Field(default=None, ge=0)
Share = Field(default=None, ge=0, le=1)


def Bounded(low: float | None = 0, high: float | None = None, *, strict_low: bool = False, description: str = ""):
    """A numeric input with its sane range: anything outside is rejected naming the key."""
    limits: dict = {}
    if low is not None:
        limits["gt" if strict_low else "ge"] = low
    if high is not None:
        limits["le"] = high
    return Field(default=None, description=description, **limits)


Share = Field(default=None, ge=0, le=1)
TOKENS_A_REQUEST = 2_000_000  # the longest context windows on offer
HOURS = 100_000  # hours of one-time work: fifty people for a year


class Scenario(BaseModel):
    """What the team told us. Every field is optional; defaults are applied by `analyze`.

    Every number has a sane range (documented in `breakeven schema`): an input outside it is an
    error that names its key, never an Infinity, a NaN or an absurd fleet.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    # Volume: requests a month, or tokens a month (input + output) converted at in + out a request.
    requests_per_month: float | None = Bounded(0, 1e12, description="requests a month")
    tokens_per_month: float | None = Bounded(0, 1e15, description="tokens a month, input and output")
    # A request has input: a prompt of no tokens describes no work (out=0 can: a label read from the prompt).
    in_tokens: float | None = Bounded(
        0, TOKENS_A_REQUEST, strict_low=True, description="input tokens a request on the API"
    )
    out_tokens: float | None = Bounded(0, TOKENS_A_REQUEST, description="output tokens a request")
    ft_in_tokens: float | None = Bounded(
        0, TOKENS_A_REQUEST, strict_low=True, description="input tokens a request after fine-tuning"
    )
    prompt_cut: float | None = Field(default=None, ge=0, lt=1, description="share of the prompt fine-tuning removes")
    cached_share: float | None = Field(default=None, ge=0, le=1, description="share of API input read from cache")

    # Rent side: a catalogue model, or the user's own prices.
    api_model: str | None = Field(default=None, min_length=1, max_length=200)
    api_price_in: float | None = Bounded(0, 1000, description="$ per 1M input tokens")
    api_price_out: float | None = Bounded(0, 1000, description="$ per 1M output tokens")
    api_price_cached: float | None = Bounded(0, 1000, description="$ per 1M cached input tokens")
    api_price_blended: float | None = Bounded(0, 1000, description="$ per 1M tokens, in and out alike")
    api_per_1k: float | None = Bounded(0, 100_000, description="$ per 1,000 requests")
    api_latency_ms: float | None = Bounded(0, 3_600_000, strict_low=True, description="the API's latency, measured")

    # Buy side: GPUs (catalogue or price), a fixed server bill, or a per-token host.
    gpu: str | None = Field(default=None, min_length=1, max_length=100)
    gpus: int | None = Field(default=None, ge=1, le=8, description="GPUs in one serving instance")
    gpu_price: float | None = Bounded(0, 1000, description="$ per GPU-hour")
    server_monthly: float | None = Bounded(0, 10_000_000, description="$ a month for one serving instance")
    host_price: float | None = Bounded(0, 1000, strict_low=True, description="per-token host, $ per 1M tokens")
    capacity_qps: float | None = Bounded(
        0, 1_000_000, strict_low=True, description="requests a second one instance serves"
    )
    capacity_tok_s: float | None = Bounded(
        0, 1e9, strict_low=True, description="output tokens a second one instance serves"
    )
    concurrency: int | None = Field(default=None, ge=1, le=4096, description="requests served at once per instance")
    peak: float | None = Bounded(1, 100, description="peak load over average load")
    ha: bool | None = Field(default=None, description="keep one spare instance (N+1) for high availability")
    params_b: float | None = Bounded(0, 2000, strict_low=True, description="open model size, billions of params")
    base_model: str | None = Field(
        default=None, min_length=1, max_length=100, description="the open model to fine-tune"
    )
    bits: Literal[4, 8, 16] | None = None
    streaming: bool | None = Field(
        default=None, description="answers stream: a latency bound applies to the first token"
    )

    # One-time cost.
    setup: float | None = Bounded(0, 1e10, description="one-time cost, $ (your total)")
    train: float | None = Bounded(0, 1e8, description="$ of compute for one training run")
    runs: int | None = Field(default=None, ge=1, le=1000)
    data_h: float | None = Bounded(0, HOURS)
    eval_h: float | None = Bounded(0, HOURS)
    infra_h: float | None = Bounded(0, HOURS)
    rate: float | None = Bounded(0, 10_000, strict_low=True, description="$ an engineering hour")
    complexity: Complexity | None = None
    iter: float | None = Bounded(1, 20, description="iteration multiplier on the one-time cost")

    # Monthly operations and horizon.
    maint_h: float | None = Bounded(0, 5000, description="hours a month to run the model")
    oversight: float | None = Bounded(0, 1e9, description="$ a month of human review of the model's work")
    horizon: float | None = Bounded(0, 120, strict_low=True, description="months buying must pay back within")
    growth: float | None = Field(
        default=None, ge=-0.5, le=1.0, description="volume growth a month, as a fraction (0.1 = 10% a month)"
    )

    # The work done by hand today.
    manual_h: float | None = Bounded(0, 1000, strict_low=True, description="hours a task by hand")
    manual_rate: float | None = Bounded(0, 10_000, strict_low=True, description="$ an hour of manual work")

    # Failures.
    fail_api: float | None = Share
    fail_ft: float | None = Share
    fail_cost: float | None = Bounded(0, 1_000_000, description="$ one failure costs")

    # Hard constraints.
    privacy: bool | None = None
    latency_ms: float | None = Bounded(0, 3_600_000, strict_low=True, description="latency bound, ms")
    ft_latency_ms: float | None = Bounded(
        0, 3_600_000, strict_low=True, description="the self-hosted model's latency, measured"
    )
    task: Task | None = None

    # How the GPUs are paid for and how the load spreads over the week (costcore/buy.py).
    billing: Billing | None = Field(default=None, description="how the GPUs are paid for")
    profile: Profile | None = Field(default=None, description="when in the week the requests come")
    # a floor well under a second a day keeps the busiest hour's load (168 / busy hours a week) finite
    active_hours: float | None = Bounded(1e-5, 24, description="hours a day the service is used")
    autoscale: bool | None = Field(default=None, description="instances follow the load hour by hour")
    min_instances: int | None = Field(default=None, ge=0, le=10_000, description="instances kept at the quietest hour")
    cold_start_s: float | None = Bounded(0, 3600, description="seconds a serverless cold start bills")
    purchase: float | None = Bounded(0, 1e8, description="$ one owned instance's hardware costs")
    # a floor keeps purchase / months finite for any time typed (depreciation=1ms is 4e-10 months)
    depreciation_months: float | None = Bounded(
        1e-8, 120, description="months owned hardware is written off over"
    )
    watts: float | None = Bounded(0, 100_000, description="watts one owned instance draws")
    pue: float | None = Bounded(1, 3, description="power usage effectiveness of the data centre")
    power_price: float | None = Bounded(0, 10, description="$ a kWh of electricity")
    colo: float | None = Bounded(0, 1e6, description="$ a month of colocation for one owned instance")
    residual: float | None = Field(default=None, ge=0, lt=1, description="share of the purchase it resells for")
    # The API's tiers (costcore/rent.py).
    batch_share: float | None = Field(default=None, ge=0, le=1, description="share of traffic sent to the batch API")
    api_tier: ApiTier | None = Field(default=None, description="the API's service tier")
    cache_write_share: float | None = Field(
        default=None, ge=0, le=1, description="share of API input written to the provider's cache"
    )

    # Figures measured rather than assumed: `measured=NAME` names a saved measurement; whoever
    # holds the measurements (the CLI, the bot) fills the fields it measured and records, in
    # provenance, field -> "measured NAME on DATE", so the report can mark them.
    measured: str | None = Field(default=None, min_length=1, max_length=80)

    # A use-case template to start from (`breakeven templates`): it fills the figures not given.
    use: str | None = Field(default=None, min_length=1, max_length=80)
    provenance: dict[str, str] = Field(default_factory=dict)

    @field_validator("gpus")
    @classmethod
    def _tensor_parallel(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 2, 4, 8):
            raise ValueError("an instance splits a model over 1, 2, 4 or 8 GPUs (tensor parallelism)")
        return value

    @model_validator(mode="after")
    def _one_way_each(self) -> Scenario:
        def given(*names: str) -> list[str]:
            return [n for n in names if getattr(self, n) is not None]

        conflicts = [
            ("requests_per_month", "tokens_per_month"),
            ("ft_in_tokens", "prompt_cut"),
            ("capacity_qps", "capacity_tok_s"),
            ("complexity", "iter"),
            ("base_model", "params_b"),
            ("profile", "active_hours"),
        ]
        for group in conflicts:
            if len(given(*group)) > 1:
                raise ValueError(f"give one of {' or '.join(group)}, not both")
        api_ways = given("api_model", "api_per_1k", "api_price_blended")
        if self.api_price_in is not None or self.api_price_out is not None:
            api_ways.append("api_price")
        if len(api_ways) > 1:
            raise ValueError(f"the API price is given more than one way ({', '.join(api_ways)}): keep one")
        if (self.api_price_in is None) != (self.api_price_out is None):
            raise ValueError("api_price needs both the input and the output price (IN/OUT per 1M)")
        if self.api_price_cached is not None and self.api_price_in is None:
            raise ValueError("api_price: a cached-input price goes with IN/OUT prices (api_price=2.5/10/1.25)")
        host_ways = given("gpu", "server_monthly", "host_price")
        if self.host_price is not None and len(host_ways) > 1:
            raise ValueError("host_price is a per-token host: drop gpu and server, or drop host_price")
        if self.gpu_price is not None and self.server_monthly is not None:
            raise ValueError("gpu_price and server both set the server bill: keep one")
        return self


class Assumption(BaseModel):
    """A figure the analysis used: a default (with where it comes from), the user's own figure
    (custom), or a measured one (measured, with its date in the note)."""

    key: str
    value: str
    note: str = ""
    source: str | None = None
    custom: bool = False
    measured: bool = False


class PriceQuote(BaseModel):
    """The API price used, where it came from and when."""

    model: str
    provider: str | None = None
    price_in: float = Field(description="$ per 1M input tokens (base rate for tiered prices)")
    price_out: float = Field(description="$ per 1M output tokens")
    cache_price: float | None = None
    per_request: float | None = Field(default=None, description="$ a request, when priced per request")
    tiered: str | None = None
    source: str
    date: str
    custom: bool = False


class Crossing(BaseModel):
    requests_per_month: float
    tokens_per_month: float
    direction: Literal["buy_starts_paying", "buy_stops_paying"]
    instances: int
    gpus_per_instance: int | None = Field(
        default=None,
        description="GPUs each instance splits the model over, where more than the fewest that hold it (the "
        "fleet's cheapest split at this volume); None: the fewest",
    )


class CostLine(BaseModel):
    name: str
    amount: float
    hidden: bool = True
    detail: str = ""


Option = Literal["api", "selfhost", "manual"]


class OptionCost(BaseModel):
    """One way of doing the work, as the comparison priced it."""

    option: Option
    label: str
    monthly_cost: float = Field(description="$ a month, failures not priced")
    monthly_cost_adjusted: float = Field(description="$ a month with each failure priced (equal when none given)")
    cost_per_request: float | None = Field(description="$ a request (None without volume)")
    failure_rate: float | None = None
    meets_constraints: bool = True
    ruled_out_by: list[str] = Field(default_factory=list)


class ConstraintCheck(BaseModel):
    """A hard constraint checked against one option."""

    name: Literal["privacy", "latency", "task"]
    option: Option
    met: bool
    detail: str


class ManualComparison(BaseModel):
    manual_monthly_cost: float
    future_monthly_cost: float
    monthly_savings: float
    payback_months: float | None
    first_year_roi: float | None
    breakeven_tasks_per_month: float | None = Field(description="volume above which the model beats manual work")


class FailureAdjusted(BaseModel):
    fail_api: float
    fail_ft: float
    fail_cost: float
    api_monthly_cost: float = Field(description="the baseline's bill with its failures priced (API or by hand)")
    selfhost_monthly_cost: float
    monthly_savings: float
    breakeven_fail_ft: float | None = Field(description="fine-tuned failure rate where buying stops paying")


class SensitivityCase(BaseModel):
    name: str
    low_label: str
    high_label: str
    low_net: float = Field(description="first-year net benefit of buying with the input at its low value")
    high_net: float
    low_verdict: Verdict
    high_verdict: Verdict
    swing: float
    flips: bool


class WhatIf(BaseModel):
    name: str
    monthly_savings: float
    payback_months: float | None
    verdict: Verdict
    breakeven_requests_per_month: float | None = Field(
        default=None, description="the volume where buying starts to pay under this what-if (None: never)"
    )
    detail: str = ""


class Sensitivity(BaseModel):
    base_net: float
    what_ifs: list[WhatIf]
    cases: list[SensitivityCase]
    most_influential: str
    failure_threshold: float | None = Field(
        default=None, description="the fine-tuned failure rate at which buying stops paying (failures priced or asked)"
    )
    failure_threshold_basis: str = Field(
        default="", description="what one failure is taken to cost for the threshold"
    )


class Serving(BaseModel):
    """What one serving instance carries for a request shape; every number finite. `fits` is True for
    every result: a model that cannot be served as asked raises ServingError instead. max_concurrency
    is the default limit (memory and the engine's cap); an explicit concurrency may pass the engine's
    cap, up to what memory holds."""

    model: str
    params_b: float
    bits: int
    kv_bits: int
    gpu: str
    gpu_id: str
    gpus_per_instance: int
    fits: bool
    weights_gb: float
    kv_gb_per_request: float
    kv_gb_available: float
    max_concurrency: int
    concurrency: int
    decode_tok_s_per_stream: float
    output_tok_s: float
    requests_per_s: float
    ttft_ms: float
    latency_ms: float
    bound: Literal["memory bandwidth", "compute", "KV cache memory"]
    instances: int
    source: Literal["model", "measured"]
    latency_bound_ms: float | None = None
    meets_latency: bool | None = None
    in_tokens: float
    out_tokens: float
    context_tokens: int = Field(description="the model's window: prompt and answer together, at most")
    peak_qps: float
    ha: bool
    notes: list[str] = Field(default_factory=list)
    summary: str


class ServerlessTerms(BaseModel):
    """What a serverless GPU bills: busy instance-seconds at the load's concurrency, cold starts, any minimum."""

    seconds_alone: float = Field(description="seconds one request holds an instance when it runs alone")
    requests_per_s_full: float = Field(description="requests a second one instance serves at full concurrency")
    price_per_instance_s: float = Field(description="$ a second of one busy instance (every GPU of it)")
    cold_starts_monthly: float = Field(default=0.0, description="$ a month of cold starts")


def fleet_size(requests: float, requests_per_instance: float | None, floor: int, spare: int) -> int:
    """Instances of a fixed fleet: enough for the busiest hour, never under the floor (nor one), plus any spare."""
    needed = 1 if requests_per_instance is None else math.ceil(requests / requests_per_instance)
    return max(floor, 1, needed) + spare


class Shape(BaseModel):
    """One way to build a serving instance: the model split over some GPUs, its price and what it carries."""

    gpus: int | None = Field(description="GPUs in one instance (tensor parallelism); None where none is sized")
    instance_monthly: float = Field(description="$ a month for one instance of this shape")
    requests_per_instance: float | None = Field(description="requests a month one instance carries at peak")


class CostModel(BaseModel):
    """The comparison's per-unit figures; every bill, crossing, what-if and chart follows from them.

    The rent side is the baseline the verdict weighed buying against: the API, or people paid per
    task. Where failures are priced, each side's cost a request includes its failures.

    The self-host fleet is a staircase of instances: a fixed fleet (sized for the busiest hour of the
    week, folded into requests_per_instance), an autoscaled one that follows the load level by level
    (`levels`: hours a month at each load, as a multiple of the month's average), or serverless GPUs
    billed for busy seconds (`serverless`).
    """

    api_cost_per_request: float = Field(description="the baseline's $ a request (API, or manual work a task)")
    selfhost_variable_per_request: float
    instance_monthly: float = Field(description="$ a month for one serving instance (0 on a per-token host)")
    requests_per_instance: float | None = Field(description="requests a month one instance carries at peak")
    ha: bool
    ops_monthly: float = Field(description="people's time running the model and reviewing it, $ a month")
    tokens_per_request: float
    billing: str = Field(default="always-on", description="how the GPUs are paid for")
    autoscale: bool = Field(default=False, description="instances follow the load level by level")
    levels: list[tuple[float, float]] = Field(
        default_factory=lambda: [(HOURS_PER_MONTH, 1.0)],
        description="the load over the week: (hours a month, load over the month's average) pairs",
    )
    floor: int = Field(default=1, description="instances kept running at the quietest hour")
    serverless: ServerlessTerms | None = None
    gpus_per_instance: int | None = Field(
        default=None, description="GPUs one instance splits the model over, where the tool chose the split"
    )
    fewest_gpus: int | None = Field(
        default=None,
        description="the fewest GPUs that hold the model, where the tool chose the split: an instance of more is "
        "counted with its GPUs",
    )
    alternatives: list[Shape] = Field(
        default_factory=list,
        description="a fixed fleet's other instance shapes (the model split over other numbers of GPUs); at every "
        "volume the fleet is built of the cheapest",
    )

    @property
    def uniform(self) -> bool:
        """A plain staircase: one step size, at least one instance (every figure has a closed form)."""
        return not self.autoscale and self.serverless is None and self.floor <= 1 and not self.alternatives

    @property
    def fixed(self) -> bool:
        """A fixed fleet: the same instances every hour (not autoscaled, not serverless)."""
        return not self.autoscale and self.serverless is None

    def shapes(self) -> list[Shape]:
        """Each instance shape the fixed fleet may take, this one first."""
        here = Shape(
            gpus=self.gpus_per_instance,
            instance_monthly=self.instance_monthly,
            requests_per_instance=self.requests_per_instance,
        )
        return [here, *self.alternatives]

    def fleet_at(self, requests: float) -> tuple[float, int, int | None]:
        """A fixed fleet at this volume in its cheapest shape (the first on a tie): (bill, instances, GPUs an
        instance). Called for every volume a chart, crossing or what-if looks at: plain tuples, no models."""
        spare = 1 if self.ha else 0
        n = fleet_size(requests, self.requests_per_instance, self.floor, spare)
        best = (n * self.instance_monthly, n, self.gpus_per_instance)
        for shape in self.alternatives:
            n = fleet_size(requests, shape.requests_per_instance, self.floor, spare)
            if n * shape.instance_monthly < best[0]:
                best = (n * shape.instance_monthly, n, shape.gpus)
        return best

    def split_at(self, requests: float) -> int | None:
        """GPUs an instance splits the model over at this volume, where more than the fewest that hold it."""
        if self.fewest_gpus is None or not self.fixed:
            return None
        gpus = self.fleet_at(requests)[2]
        return gpus if gpus is not None and gpus > self.fewest_gpus else None

    def _needed(self, requests: float, factor: float) -> int:
        if self.requests_per_instance is None:
            return 1 if factor > 0 else 0
        load = requests * factor
        return math.ceil(load / self.requests_per_instance) if load > 0 else 0

    def busy(self, requests: float) -> list[float]:
        """Serverless: instances busy at each level of the load (fractional: per-second billing)."""
        s = self.serverless
        out = []
        for _, factor in self.levels:
            rate = requests * factor / SECONDS_PER_MONTH
            alone = rate * s.seconds_alone
            busy = rate / s.requests_per_s_full if rate > s.requests_per_s_full else min(alone, 1.0)
            out.append(max(busy, float(self.floor)))
        return out

    def level_instances(self, requests: float) -> list[float]:
        """Instances running at each level of the load (a fixed fleet runs the same number at every level)."""
        if self.serverless is not None:
            return self.busy(requests)
        if not self.autoscale:
            return [float(self.instances(requests))] * len(self.levels)
        spare = 1 if self.ha else 0
        out = []
        for _, factor in self.levels:
            n = max(self.floor, self._needed(requests, factor))
            out.append(float(n + spare if n > 0 else 0))
        return out

    def instances(self, requests: float) -> int:
        """Instances at the busiest hour (serverless: instances busy then, rounded up)."""
        if self.serverless is not None:
            return math.ceil(max(self.busy(requests)) - 1e-9)
        rpi = self.requests_per_instance
        if self.instance_monthly == 0 and rpi is None:
            return 0
        if self.autoscale:
            return int(max(self.level_instances(requests)))
        if self.alternatives:
            return self.fleet_at(requests)[1]
        return fleet_size(requests, rpi, self.floor, 1 if self.ha else 0)

    def instance_hours(self, requests: float) -> float:
        """Instance-hours a month: what an autoscaled or serverless fleet is billed for."""
        return sum(hours * n for (hours, _), n in zip(self.levels, self.level_instances(requests), strict=True))

    def fleet_monthly(self, requests: float) -> float:
        if self.serverless is not None:
            s = self.serverless
            return self.instance_hours(requests) * 3600 * s.price_per_instance_s + s.cold_starts_monthly
        if self.autoscale:
            return self.instance_hours(requests) * self.instance_monthly / HOURS_PER_MONTH
        if self.alternatives:
            return self.fleet_at(requests)[0]
        return self.instances(requests) * self.instance_monthly

    def api_monthly(self, requests: float) -> float:
        return requests * self.api_cost_per_request

    def selfhost_monthly(self, requests: float) -> float:
        return self.fleet_monthly(requests) + self.ops_monthly + requests * self.selfhost_variable_per_request

    def with_infrastructure(self, factor: float) -> CostModel:
        """Every infrastructure price times factor (GPUs, servers, a per-token host, serverless seconds)."""
        update: dict = {
            "instance_monthly": self.instance_monthly * factor,
            "selfhost_variable_per_request": self.selfhost_variable_per_request * factor,
            "alternatives": [
                shape.model_copy(update={"instance_monthly": shape.instance_monthly * factor})
                for shape in self.alternatives
            ],
        }
        if self.serverless is not None:
            s = self.serverless
            update["serverless"] = s.model_copy(
                update={
                    "price_per_instance_s": s.price_per_instance_s * factor,
                    "cold_starts_monthly": s.cold_starts_monthly * factor,
                }
            )
        return self.model_copy(update=update)

    def with_capacity(self, factor: float) -> CostModel:
        """What one instance carries times factor."""
        update: dict = {
            "alternatives": [
                shape.model_copy(update={"requests_per_instance": shape.requests_per_instance * factor})
                for shape in self.alternatives
            ]
        }
        if self.requests_per_instance is not None:
            update["requests_per_instance"] = self.requests_per_instance * factor
        if self.serverless is not None:
            s = self.serverless
            update["serverless"] = s.model_copy(
                update={
                    "requests_per_s_full": s.requests_per_s_full * factor,
                    "seconds_alone": s.seconds_alone / factor,
                }
            )
        return self.model_copy(update=update)


Baseline = Literal["api", "manual"]


def volume_unit(baseline: Baseline) -> str:
    """What one unit of volume is called: a task when buying is weighed against work done by hand."""
    return "tasks" if baseline == "manual" else "requests"


class TemplateSource(BaseModel):
    title: str
    url: str
    date: str


class TemplateRef(BaseModel):
    """The use-case template a report started from, as the report shows it."""

    name: str
    title: str
    rationale: str
    sources: list[TemplateSource]
    filled: list[str] = Field(description="the keys whose figures came from the template")
    overridden: list[str] = Field(description="the template's keys you gave yourself")


class GrowthMonth(BaseModel):
    """One month of the growth path: month 1 is today's volume."""

    month: int
    requests: float
    instances: int
    gpus_per_instance: int | None = Field(
        default=None,
        description="GPUs each instance splits the model over, where more than the fewest that hold it (the "
        "fleet's cheapest split at this volume); None: the fewest",
    )
    baseline_cost: float = Field(description="the baseline's bill that month (the API, or the work by hand)")
    selfhost_cost: float
    savings: float = Field(description="baseline_cost - selfhost_cost")
    cumulative_net: float = Field(description="savings to date less the one-time cost (paid before month 1)")


class GrowthTotals(BaseModel):
    """Sums over the first `months` months of the growth path."""

    months: int
    requests: float
    baseline_cost: float
    selfhost_cost: float
    one_time: float
    savings: float
    net: float = Field(description="savings less the one-time cost")


class Growth(BaseModel):
    """Volume growing month by month: the bills on the capacity staircase, month by month."""

    rate_per_month: float = Field(description="0.1 = 10% a month, compounded")
    months: list[GrowthMonth] = Field(description="one row a month over the horizon")
    first_paying_month: int | None = Field(description="the first month buying saves money (None: not within 120)")
    payback_month: int | None = Field(description="the month the cumulative net turns positive (None: not within 120)")
    payback_months: float | None = Field(description="the same, to a fraction of a month (linear within the month)")
    totals_12: GrowthTotals | None = Field(description="the first 12 months (None when the horizon is shorter)")
    totals_24: GrowthTotals | None = Field(description="the first 24 months (None when the horizon is shorter)")
    cap_requests_per_month: float = Field(description="volume stops growing here: the most this tool sizes")
    capped_from_month: int | None = Field(description="the first month held at the cap (None: never reached)")


class Factor(BaseModel):
    """One consideration that is not cost, for the API and for self-hosting, from this scenario's inputs."""

    factor: str
    api: str
    selfhost: str
    favours: Literal["api", "selfhost", "neither"]
    driven_by: list[str] = Field(description="the keys that change this row")
    api_figure: float | None = Field(default=None, description="the API's figure, where the row compares figures")
    selfhost_figure: float | None = Field(default=None, description="self-hosting's figure in the same unit")
    figure_unit: str = Field(default="", description="the unit of both figures (ms, $ a month)")


class Standing(BaseModel):
    """Where today's volume stands against the break-even (costcore/standing.py): the one reading the headline,
    the reasons, the next step and the Slack message all use."""

    where: Literal["below", "between", "past", "moving_away", "never"]
    requests_per_month: float
    breakeven: float | None = Field(description="the lowest volume at which buying starts to pay")
    paid_from: float | None = Field(default=None, description="between: the band below today where buying paid")
    paid_until: float | None = None
    pays_again_from: float | None = Field(default=None, description="the next volume above today where it pays")
    stops_at: float | None = Field(default=None, description="past: the next volume above today where it stops")
    growth: float | None = Field(default=None, description="volume growth a month, when given")
    first_paying_month: int | None = None
    sentence: str


class NextStep(BaseModel):
    """The one concrete action the verdict ends with."""

    situation: Literal["far", "near", "buy"] = Field(
        description="far from break-even (keep renting), near it (a parallel test), or buying pays (audit first)"
    )
    standing: Literal["below", "between", "past", "moving_away", "never"] = Field(
        description="where the volume stands (the report's standing.where), which the action follows"
    )
    action: str
    commands: list[str] = Field(description="the commands that carry it out, CLI and Slack")
    revisit_requests_per_month: float | None = Field(
        default=None, description="the volume at which to look again (keep renting)"
    )
    test_share: float | None = Field(default=None, description="the share of traffic for a parallel test")


class Report(BaseModel):
    verdict: Verdict
    recommended: Literal["api", "selfhost", "manual", "split"] = Field(
        description="what to do: keep the API, self-host, keep the work manual, or split the work"
    )
    headline: str
    reasons: list[str]
    baseline: Baseline = Field(description="what buying is compared with: the API or the work done by hand")
    compared: str = Field(description="which options were compared, and why")
    options: list[OptionCost]
    requests_per_month: float
    tokens_per_month: float
    api_monthly_cost: float | None = Field(description="the API's bill; None when no API is compared")
    selfhost_monthly_cost: float
    baseline_monthly_cost: float = Field(description="the baseline's bill, failures priced when given")
    api_cost_per_request: float | None
    selfhost_cost_per_request: float | None = Field(description="None without volume")
    selfhost_fixed_monthly: float
    selfhost_variable_per_request: float
    instances: int
    one_time_cost: float = Field(description="the middle of the realistic range")
    one_time_range: tuple[float, float]
    iteration_multiplier: float
    monthly_savings: float = Field(description="the baseline's bill less self-hosting's, failures priced when given")
    breakeven_requests_per_month: float | None
    breakeven_tokens_per_month: float | None
    never_breaks_even: str | None = Field(default=None, description="why buying never breaks even (None: it does)")
    payback_months: float | None
    first_year_roi: float | None
    horizon_months: float
    crossings: list[Crossing]
    api_price: PriceQuote | None
    selfhost_lines: list[CostLine]
    hidden_costs: list[CostLine]
    pitfalls: list[str]
    manual: ManualComparison | None = None
    failure: FailureAdjusted | None = None
    sensitivity: Sensitivity
    capacity: Serving | None = Field(default=None, description="the serving model's sizing of one instance")
    constraints: list[ConstraintCheck]
    assumptions: list[Assumption]
    notes: list[str] = Field(description="inputs that were not used, and why; readings the analysis chose")
    cost_model: CostModel
    billing: str = Field(default="always-on", description="how the self-hosted GPUs are paid for")
    instance_hours_per_month: float | None = Field(default=None, description="instance-hours a month billed")
    cash_up_front: float | None = Field(
        default=None, description="owned hardware: the purchase paid up front (not in the one-time cost)"
    )
    template: TemplateRef | None = Field(default=None, description="the use-case template the scenario started from")
    growth: Growth | None = Field(default=None, description="the month-by-month path when growth= is given")
    factors: list[Factor] = Field(default_factory=list, description="what is not cost, row by row")
    standing: Standing | None = Field(default=None, description="where today's volume stands against break-even")
    next_step: NextStep | None = Field(default=None, description="the one concrete action to take next")

    @property
    def volume_unit(self) -> str:
        return volume_unit(self.baseline)
