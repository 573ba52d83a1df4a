"""Figures measured rather than assumed: a saved measurement, and how it fills a scenario.

`breakeven measure --save NAME` (or `/breakeven measure`) stores a Measurement; a scenario that says
`measured=NAME` gets every figure the measurement has and the user did not type, and records, in
`Scenario.provenance`, field -> "measured NAME on DATE" so a report can mark those figures.

Pure: whoever holds the saved measurements (the CLI, the bot) looks them up and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from .grammar import GrammarError
from .scenario import Scenario

# The scenario fields a measurement can fill, in the order they are shown.
MEASURED_FIELDS = ("in_tokens", "out_tokens", "ft_in_tokens", "capacity_tok_s", "fail_api", "fail_ft")

# A typed figure that says the same thing another way also wins: `prompt_cut=80%` means the
# measured ft_in is not used, `capacity=30qps` means the measured tok/s is not used.
_RIVALS = {"ft_in_tokens": ("prompt_cut",), "capacity_tok_s": ("capacity_qps",)}

_KEYS = {
    "in_tokens": "in",
    "out_tokens": "out",
    "ft_in_tokens": "ft_in",
    "capacity_tok_s": "capacity",
    "fail_api": "fail_api",
    "fail_ft": "fail_ft",
    "api_latency_ms": "api_latency",
    "ft_latency_ms": "ft_latency",
}


class Measurement(BaseModel):
    """What a parallel test measured. Every figure is optional: a run against the API alone has no
    capacity, a run on synthetic prompts has no token counts or failure rates worth reusing."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    date: str = Field(description="day of the measurement, YYYY-MM-DD")
    endpoint: str | None = Field(default=None, description="what was measured, without secrets")
    in_tokens: float | None = Field(default=None, ge=0, description="mean input tokens a request on the API")
    out_tokens: float | None = Field(default=None, ge=0, description="mean output tokens a request on the API")
    ft_in_tokens: float | None = Field(default=None, ge=0, description="mean input tokens on the own endpoint")
    capacity_tok_s: float | None = Field(default=None, gt=0, description="output tokens a second, own endpoint")
    fail_api: float | None = Field(default=None, ge=0, le=1, description="share of API answers that failed")
    fail_ft: float | None = Field(default=None, ge=0, le=1, description="share of own endpoint answers that failed")
    api_latency_ms: float | None = Field(default=None, gt=0, description="the API's whole answer, p95")
    api_ttft_ms: float | None = Field(default=None, gt=0, description="the API's time to first token, p95")
    ft_latency_ms: float | None = Field(
        default=None, gt=0, description="the own endpoint's whole answer, p95, at the concurrency of capacity"
    )
    ft_ttft_ms: float | None = Field(default=None, gt=0, description="the own endpoint's first token, p95, likewise")
    api_model: str | None = Field(default=None, description="the API model measured (api=)")
    gpu: str | None = Field(default=None, description="the GPU behind the measured endpoint (gpu=)")
    gpus: int | None = Field(default=None, ge=1, le=8, description="GPUs an instance of that endpoint")

    def figures(self) -> dict[str, float]:
        """The measured figures that are there, by scenario field."""
        return {f: getattr(self, f) for f in MEASURED_FIELDS if getattr(self, f) is not None}

    def latency_for(self, scenario: Scenario, side: str) -> float | None:
        """The latency of `side` ("api", or "ft": the own endpoint, at the concurrency its capacity was
        taken at) that a scenario compares with its bound: the first token when answers stream, the
        whole answer otherwise; None without a bound (latency=), where it would only be noise."""
        if scenario.latency_ms is None:
            return None
        return getattr(self, f"{side}_ttft_ms" if scenario.streaming else f"{side}_latency_ms")

    def label(self) -> str:
        return f"measured {self.name} on {self.date}"


def scenario_keys(figures: Mapping[str, float]) -> str:
    """The figures as grammar text to reuse: 'in=1523 out=187 capacity=812tok/s fail_api=4.2%'."""
    parts = []
    for field in (*MEASURED_FIELDS, "api_latency_ms", "ft_latency_ms"):
        value = figures.get(field)
        if value is None:
            continue
        key = _KEYS[field]
        if field == "capacity_tok_s":
            parts.append(f"{key}={value:.4g}tok/s")
        elif field in ("fail_api", "fail_ft"):
            parts.append(f"{key}={value * 100:.3g}%")
        elif field in ("api_latency_ms", "ft_latency_ms"):
            parts.append(f"{key}={value:.0f}ms")
        else:
            parts.append(f"{key}={round(value):d}")
    return " ".join(parts)


def apply_measurement(scenario: Scenario, measurement: Measurement) -> Scenario:
    """The scenario with every measured figure the user did not give; explicit keys win.

    Each filled field is recorded in provenance as "measured NAME on DATE". The latencies (p95) of the
    API and of the own endpoint are filled only against a latency bound: the first token when
    `streaming=yes`, else the whole answer."""
    values = scenario.model_dump(exclude_none=True)
    provenance = dict(scenario.provenance)
    for field, value in measurement.figures().items():
        if getattr(scenario, field) is not None:
            continue
        if any(getattr(scenario, rival) is not None for rival in _RIVALS.get(field, ())):
            continue
        values[field] = value
        provenance[field] = measurement.label()
    # What was measured also says which API and which hardware, unless the scenario names its own.
    s = scenario
    if measurement.api_model and not any(
        v is not None for v in (s.api_model, s.api_price_in, s.api_price_blended, s.api_per_1k)
    ):
        values["api_model"] = measurement.api_model
        provenance["api_model"] = measurement.label()
    if measurement.gpu and not any(v is not None for v in (s.gpu, s.server_monthly, s.host_price)):
        values["gpu"] = measurement.gpu
        provenance["gpu"] = measurement.label()
        if measurement.gpus and s.gpus is None:
            values["gpus"] = measurement.gpus
            provenance["gpus"] = measurement.label()
    for side in ("api", "ft"):
        field, latency = f"{side}_latency_ms", measurement.latency_for(scenario, side)
        if latency is not None and getattr(scenario, field) is None:
            values[field] = latency
            provenance[field] = measurement.label()
    values["provenance"] = provenance
    return Scenario.model_validate(values)


def resolve_measured(scenario: Scenario, saved: Mapping[str, Measurement]) -> Scenario:
    """Fill the scenario from the measurement its `measured=` names; unchanged without one.

    An unknown name is a GrammarError on the `measured` key that lists the saved names."""
    if scenario.measured is None:
        return scenario
    found = saved.get(scenario.measured)
    if found is None:
        if saved:
            names = ", ".join(f"`{n}`" for n in sorted(saved))
            problem = f"no saved measurement is called '{scenario.measured}'; saved: {names}"
            example = f"measured={sorted(saved)[0]}"
        else:
            problem = (
                f"no saved measurement is called '{scenario.measured}': none is saved yet. "
                "Run `breakeven measure ... --save NAME` first"
            )
            example = "measured=support-bot-nov"
        raise GrammarError("measured", problem, example)
    return apply_measurement(scenario, found)
