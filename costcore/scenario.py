"""Scenario (every input of the rent-or-buy decision) and Report (every output).

All money is in US dollars, volumes are per month (a month is 365/12 days, 730 hours),
token prices are per million tokens. A field left as None takes the documented default,
and the Report lists every default it used as an assumption.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HOURS_PER_MONTH = 365 * 24 / 12  # 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

Complexity = Literal["well-defined", "medium", "novel"]
Task = Literal["narrow", "mixed", "varied", "reasoning"]
Verdict = Literal["RENT", "BUY", "HYBRID"]

NonNeg = Field(default=None, ge=0)
Share = Field(default=None, ge=0, le=1)


class Scenario(BaseModel):
    """What the team told us. Every field is optional; defaults are applied by `analyze`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Volume: requests a month, or tokens a month (input + output) converted at in + out a request.
    requests_per_month: float | None = NonNeg
    tokens_per_month: float | None = NonNeg
    in_tokens: float | None = NonNeg
    out_tokens: float | None = NonNeg
    ft_in_tokens: float | None = Field(default=None, ge=0, description="input tokens a request after fine-tuning")
    prompt_cut: float | None = Field(default=None, ge=0, lt=1, description="share of the prompt fine-tuning removes")
    cached_share: float | None = Field(default=None, ge=0, le=1, description="share of API input read from cache")

    # Rent side: a catalogue model, or the user's own prices.
    api_model: str | None = None
    api_price_in: float | None = Field(default=None, ge=0, description="$ per 1M input tokens")
    api_price_out: float | None = Field(default=None, ge=0, description="$ per 1M output tokens")
    api_price_blended: float | None = Field(default=None, ge=0, description="$ per 1M tokens, in and out alike")
    api_per_1k: float | None = Field(default=None, ge=0, description="$ per 1,000 requests")

    # Buy side: GPUs (catalogue or price), a fixed server bill, or a per-token host.
    gpu: str | None = None
    gpus: int | None = Field(default=None, ge=1, le=64, description="GPUs in one serving instance")
    gpu_price: float | None = Field(default=None, ge=0, description="$ per GPU-hour")
    server_monthly: float | None = Field(default=None, ge=0, description="$ a month for one serving instance")
    host_price: float | None = Field(default=None, ge=0, description="per-token host, $ per 1M tokens")
    capacity_qps: float | None = Field(default=None, gt=0, description="requests a second one instance serves")
    capacity_tok_s: float | None = Field(default=None, gt=0, description="output tokens a second one instance serves")
    peak: float | None = Field(default=None, ge=1, le=100, description="peak load over average load")
    ha: bool | None = Field(default=None, description="keep one spare instance (N+1) for high availability")
    params_b: float | None = Field(default=None, gt=0, le=2000, description="open model size, billions of params")
    bits: Literal[4, 8, 16, 32] | None = None

    # One-time cost.
    setup: float | None = Field(default=None, ge=0, description="one-time cost besides training runs, $")
    train: float | None = Field(default=None, ge=0, description="$ of compute for one training run")
    runs: int | None = Field(default=None, ge=1, le=1000)
    data_h: float | None = NonNeg
    eval_h: float | None = NonNeg
    infra_h: float | None = NonNeg
    rate: float | None = Field(default=None, gt=0, description="$ an engineering hour")
    complexity: Complexity | None = None
    iter: float | None = Field(default=None, ge=1, le=20, description="iteration multiplier on the one-time cost")

    # Monthly operations and horizon.
    maint_h: float | None = Field(default=None, ge=0, description="hours a month to run the model")
    oversight: float | None = Field(default=None, ge=0, description="$ a month of human review")
    horizon: float | None = Field(default=None, gt=0, le=120, description="months to judge the decision over")

    # The work done by hand today.
    manual_h: float | None = Field(default=None, ge=0, description="hours a task by hand")
    manual_rate: float | None = Field(default=None, gt=0, description="$ an hour of manual work")

    # Failures.
    fail_api: float | None = Share
    fail_ft: float | None = Share
    fail_cost: float | None = NonNeg

    # Hard constraints.
    privacy: bool | None = None
    latency_ms: float | None = Field(default=None, gt=0)
    task: Task | None = None

    # Figures measured rather than assumed: `measured=NAME` names a saved measurement; whoever
    # holds the measurements (the CLI, the bot) fills the fields it measured and records, in
    # provenance, field -> "measured NAME on DATE", so the report can mark them.
    measured: str | None = Field(default=None, min_length=1, max_length=80)
    provenance: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way_each(self) -> Scenario:
        def given(*names: str) -> list[str]:
            return [n for n in names if getattr(self, n) is not None]

        conflicts = [
            ("requests_per_month", "tokens_per_month"),
            ("ft_in_tokens", "prompt_cut"),
            ("capacity_qps", "capacity_tok_s"),
            ("complexity", "iter"),
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
        host_ways = given("gpu", "server_monthly", "host_price")
        if self.host_price is not None and len(host_ways) > 1:
            raise ValueError("host_price is a per-token host: drop gpu and server, or drop host_price")
        if self.gpu_price is not None and self.server_monthly is not None:
            raise ValueError("gpu_price and server both set the server bill: keep one")
        return self


class Assumption(BaseModel):
    key: str
    value: str
    note: str = ""
    source: str | None = None
    custom: bool = False


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


class CostLine(BaseModel):
    name: str
    amount: float
    hidden: bool = True
    detail: str = ""


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
    api_monthly_cost: float
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


class Sensitivity(BaseModel):
    base_net: float
    what_ifs: list[WhatIf]
    cases: list[SensitivityCase]
    most_influential: str


class CapacityCheck(BaseModel):
    gpu: str | None
    params_b: float
    bits: int
    weights_gb: float
    needed_gb: float
    vram_gb: float | None
    fits: bool | None
    single_stream_tok_s: float | None
    capacity_qps: float | None
    capacity_source: str
    peak_qps: float
    instances: int
    note: str = ""


class CostModel(BaseModel):
    """The resolved per-unit figures; everything else follows from them for any volume."""

    api_cost_per_request: float
    selfhost_variable_per_request: float
    instance_monthly: float = Field(description="$ a month for one serving instance (0 on a per-token host)")
    requests_per_instance: float | None = Field(description="requests a month one instance carries at peak")
    ha: bool
    ops_monthly: float = Field(description="people's time running the model, $ a month")
    tokens_per_request: float

    def instances(self, requests: float) -> int:
        if self.instance_monthly == 0 and self.requests_per_instance is None:
            return 0
        import math

        n = 1 if self.requests_per_instance is None else max(1, math.ceil(requests / self.requests_per_instance))
        return n + (1 if self.ha else 0)

    def api_monthly(self, requests: float) -> float:
        return requests * self.api_cost_per_request

    def selfhost_monthly(self, requests: float) -> float:
        return (
            self.instances(requests) * self.instance_monthly
            + self.ops_monthly
            + requests * self.selfhost_variable_per_request
        )


class Report(BaseModel):
    verdict: Verdict
    headline: str
    reasons: list[str]
    requests_per_month: float
    tokens_per_month: float
    api_monthly_cost: float
    selfhost_monthly_cost: float
    api_cost_per_request: float
    selfhost_cost_per_request: float | None = Field(description="None without volume")
    selfhost_fixed_monthly: float
    selfhost_variable_per_request: float
    instances: int
    one_time_cost: float
    one_time_range: tuple[float, float]
    monthly_savings: float
    breakeven_requests_per_month: float | None
    breakeven_tokens_per_month: float | None
    payback_months: float | None
    first_year_roi: float | None
    horizon_months: float
    crossings: list[Crossing]
    api_price: PriceQuote
    selfhost_lines: list[CostLine]
    hidden_costs: list[CostLine]
    pitfalls: list[str]
    manual: ManualComparison | None = None
    failure: FailureAdjusted | None = None
    sensitivity: Sensitivity
    capacity: CapacityCheck | None = None
    assumptions: list[Assumption]
    cost_model: CostModel
