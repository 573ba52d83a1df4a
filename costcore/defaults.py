"""The one set of defaults: `analyze`, the hidden-cost audit and the Slack form all take their
figures from here, so the same team never gets two answers for the same inputs.

The one-time and operations figures are the typical mid-range lines of a fine-tuning project
(the audit's lines below, each with its published range); the iteration multiplier defaults to
the medium task band, because first attempts rarely work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Activity:
    """One line of a fine-tuning project's people's time, with its typical range in hours."""

    key: str
    group: str  # data, eval, infra (one-time hours) or ops (hours a month)
    label: str
    low: float
    high: float
    default: float


ACTIVITIES: tuple[Activity, ...] = (
    Activity("collect_h", "data", "Data collection", 10, 40, 25),
    Activity("clean_h", "data", "Cleaning", 5, 20, 12),
    Activity("format_h", "data", "Format conversion", 2, 8, 5),
    Activity("review_h", "data", "Quality review", 10, 30, 20),
    Activity("iterate_h", "data", "Iteration cycles", 20, 60, 40),
    Activity("metrics_h", "eval", "Metrics", 2, 5, 3),
    Activity("evalset_h", "eval", "Eval sets", 10, 20, 15),
    Activity("pipeline_h", "eval", "Eval pipeline", 5, 15, 10),
    Activity("analysis_h", "eval", "Analysis", 5, 10, 8),
    Activity("server_h", "infra", "Server set-up", 5, 10, 8),
    Activity("monitoring_h", "infra", "Monitoring", 3, 8, 5),
    Activity("maintenance_h", "ops", "Maintenance", 2, 5, 4),
    Activity("updates_h", "ops", "Model updates", 2, 4, 3),
    Activity("incidents_h", "ops", "Incidents", 0, 10, 3),
)
GROUP_NAMES = {"data": "Data preparation", "eval": "Evaluation", "infra": "Infrastructure set-up", "ops": "Operations"}
GROUP_KEYS = {"data": "data_h", "eval": "eval_h", "infra": "infra_h", "ops": "maint_h"}

# Re-work: well-defined 2-3x, medium 4-6x, novel or complex 8-10x.
ITERATION_MULTIPLIER = {"well-defined": (2.0, 3.0), "medium": (4.0, 6.0), "novel": (8.0, 10.0)}


def group_hours(group: str, low_high_default: str = "default") -> float:
    return sum(getattr(a, low_high_default) for a in ACTIVITIES if a.group == group)


def _group_note(group: str) -> str:
    parts = ", ".join(f"{a.label.lower()} {a.default:g}" for a in ACTIVITIES if a.group == group)
    low, high = group_hours(group, "low"), group_hours(group, "high")
    per = " a month" if group == "ops" else ""
    return f"typical {low:g}-{high:g} h{per} of {GROUP_NAMES[group].lower()} ({parts})"


def multiplier_for(complexity: str) -> tuple[float, float, float]:
    """(low, middle, high) iteration multiplier for a task's complexity."""
    low, high = ITERATION_MULTIPLIER[complexity]
    return low, (low + high) / 2, high


@dataclass(frozen=True)
class Default:
    """A figure used when the user gives none: its value, how it reads, and where it comes from."""

    key: str  # the grammar key that overrides it
    value: Any
    shown: str
    why: str


def _defaults() -> dict[str, Default]:
    items = [
        Default("volume", 100_000.0, "100k requests a month", "no volume given; set volume= (e.g. volume=2M/month)"),
        Default("in", 500.0, "500 tokens", "input tokens a request: instructions, examples and the input"),
        Default("out", 200.0, "200 tokens", "output tokens a request: a short answer"),
        Default("api", "gpt-4o-mini", "gpt-4o-mini", "default API model; set api= (e.g. api=gpt-4o) or api_price="),
        Default("gpu", "a10g", "NVIDIA A10G", "default serving GPU; set gpu= (`breakeven gpus` lists them)"),
        Default(
            "params",
            8.0,
            "8B (Llama 3.1 8B)",
            "the open model you fine-tune: 7-8B is the usual size for a narrow task; set base= or params=",
        ),
        Default("base", "llama-3.1-8b", "Llama 3.1 8B", "the open model you fine-tune, its layout from its config"),
        Default("bits", 16, "16-bit", "serving precision; bits=8 or 4 fits more on a GPU"),
        Default("peak", 1.0, "1x", "instances sized for the average load; set peak=3x for bursty traffic"),
        Default("rate", 100.0, "$100/h", "loaded cost of an engineering hour"),
        Default("train", 50.0, "$50 a run", "training compute for one run: a 7B LoRA run is tens of dollars"),
        Default("runs", 5, "5 runs", "first attempts rarely work: plan 5-10 training runs"),
        Default(
            "complexity",
            "medium",
            "medium (4-6x, 5x used)",
            "re-work of a medium task; complexity=well-defined (2-3x) or novel (8-10x), or iter=",
        ),
        Default("data_h", group_hours("data"), f"{group_hours('data'):g} h", _group_note("data")),
        Default("eval_h", group_hours("eval"), f"{group_hours('eval'):g} h", _group_note("eval")),
        Default("infra_h", group_hours("infra"), f"{group_hours('infra'):g} h", _group_note("infra")),
        Default("maint_h", group_hours("ops"), f"{group_hours('ops'):g} h a month", _group_note("ops")),
        Default("horizon", 12.0, "12 months", "buying must pay back within this"),
        Default(
            "depreciation",
            36.0,
            "36 months",
            "owned hardware is written off over three years; set depreciation= (e.g. 48months)",
        ),
        Default("pue", 1.4, "PUE 1.4", "the data centre's power over the hardware's; set pue= for yours"),
        Default("power_price", 0.12, "$0.12/kWh", "an electricity tariff to replace with yours (power_price=)"),
    ]
    return {d.key: d for d in items}


DEFAULTS: dict[str, Default] = _defaults()

# With growth= the horizon is also how far volume is projected: teams plan 6-24 months ahead.
GROWTH_HORIZON = Default(
    "horizon",
    24.0,
    "24 months",
    "with growth= volume is projected month by month over this, and buying must pay back within it",
)


def value(key: str) -> Any:
    return DEFAULTS[key].value


@dataclass(frozen=True)
class LeftOut:
    """What leaving an input out means where the report lists no default for it: the feature it asks for is
    not used (no rule, no bound, no extra cost), or its figure is shown under another key. `unless` names the
    case where leaving it out does stand for a figure, which the report must then list under `key`."""

    means: str
    key: str = ""  # the assumption that shows the figure chosen instead, when there is one
    # Fields given that make the missing figure one the report must list: a name, or a tuple of names all given.
    unless: tuple[str | tuple[str, ...], ...] = ()
    only_with: tuple[str, ...] = ()  # it means this only when one of these fields is given
    used_when: Callable[[set[str]], bool] | None = None  # another case where the missing figure is used

    def applies(self, given: set[str]) -> bool:
        """Does leaving the field out mean `means` for a scenario that gives these fields?"""
        if self.used_when is not None and self.used_when(given):
            return False
        for case in self.unless:
            if all(field in given for field in ((case,) if isinstance(case, str) else case)):
                return False
        return not self.only_with or any(field in given for field in self.only_with)


API_FIELDS = frozenset({"api_model", "api_price_in", "api_price_blended", "api_per_1k"})

# Every Scenario field the analysis may read without the user giving it, and a default not listed for it.
LEFT_OUT: dict[str, LeftOut] = {
    "privacy": LeftOut("no rule keeps the data in-house: every option may be used"),
    "latency_ms": LeftOut("no latency bound: no option is ruled out for its speed"),
    "streaming": LeftOut("a latency bound applies to the whole answer"),
    "task": LeftOut("the kind of task is not known: no option is ruled out for it"),
    "growth": LeftOut("the volume stays as it is"),
    "manual_h": LeftOut("no work by hand is compared"),
    "manual_rate": LeftOut("no work by hand is compared", unless=("manual_h",)),
    "oversight": LeftOut("no human review of the model's work is priced"),
    "setup": LeftOut("the one-time cost is built from the typical hours, listed"),
    "capacity_qps": LeftOut("the serving model sizes the instance", key="capacity"),
    "capacity_tok_s": LeftOut("the serving model sizes the instance", key="capacity"),
    "concurrency": LeftOut("the sizing takes the most requests at once that fit and meet latency=", key="capacity"),
    "gpus": LeftOut("the sizing takes the fewest GPUs that hold the model and one request", key="capacity"),
    "server_monthly": LeftOut("an instance is priced from its GPUs"),
    "host_price": LeftOut("the model runs on instances of your own"),
    "gpu": LeftOut("server= with a measured capacity: no GPU is sized", only_with=("server_monthly",)),
    "gpu_price": LeftOut("the catalogue's price", key="gpu_price"),
    "api_model": LeftOut("the default API model, or none when manual_h= is compared alone", key="api"),
    "api_price_in": LeftOut("the catalogue's price", key="api"),
    "api_price_out": LeftOut("the catalogue's price", key="api"),
    "api_price_cached": LeftOut("no cached-input price of your own"),
    "api_price_blended": LeftOut("the catalogue's price", key="api"),
    "api_per_1k": LeftOut("the catalogue's price", key="api"),
    "api_latency_ms": LeftOut(
        "a typical figure, listed when a latency bound needs it",
        used_when=lambda given: "latency_ms" in given and ("manual_h" not in given or bool(given & API_FIELDS)),
    ),
    "ft_latency_ms": LeftOut("the serving model's latency, shown in the latency check"),
    "base_model": LeftOut("the default open model", key="params"),
    "params_b": LeftOut("the default open model", key="params"),
    "iter": LeftOut("the complexity band sets the multiplier", key="complexity"),
    "complexity": LeftOut("with setup= no re-work multiplier is applied (noted)", only_with=("setup", "iter")),
    "train": LeftOut("with setup= no training run is added (noted)", only_with=("setup",)),
    "runs": LeftOut("with setup= no training run is added (noted)", only_with=("setup",)),
    "data_h": LeftOut("with setup= no typical hours are added (noted)", only_with=("setup",)),
    "eval_h": LeftOut("with setup= no typical hours are added (noted)", only_with=("setup",)),
    "infra_h": LeftOut("with setup= no typical hours are added (noted)", only_with=("setup",)),
    "fail_api": LeftOut(
        "failures are not priced, or no API is compared",
        used_when=lambda given: (
            "fail_ft" in given
            and bool(given & {"fail_cost", "manual_h"})
            and ("manual_h" not in given or bool(given & API_FIELDS))
        ),
    ),
    "fail_ft": LeftOut("failures are not priced", unless=(("fail_api", "fail_cost"), ("fail_api", "manual_h"))),
    "fail_cost": LeftOut("failures are not priced; with manual_h= a failure costs a task redone by hand, listed"),
    "cached_share": LeftOut("no prompt caching; listed where the provider prices cached input"),
    "prompt_cut": LeftOut("no prompt reduction after fine-tuning", key="ft_in"),
    "ft_in_tokens": LeftOut("no prompt reduction after fine-tuning", key="ft_in"),
    "bits": LeftOut("a per-token host has no instance to size", only_with=("host_price",)),
    "peak": LeftOut("a per-token host has no instance to size", only_with=("host_price",)),
    "ha": LeftOut("a per-token host has no instance to size", only_with=("host_price",)),
    "measured": LeftOut("no saved measurement"),
    "use": LeftOut("no use-case template"),
    # Prices as they are paid (costcore/buy.py, costcore/rent.py)
    "billing": LeftOut("always-on, listed with a GPU price; server= or a per-token host bill as given", key="billing"),
    # read to say they are unused in every mode but owned, where their defaults are listed
    "depreciation_months": LeftOut("used with billing=owned only, its default listed there", key="depreciation"),
    "pue": LeftOut("used with billing=owned only, its default listed there", key="pue"),
    "power_price": LeftOut("used with billing=owned only, its default listed there", key="power_price"),
    "profile": LeftOut("24x7: the same load every hour, listed when autoscale= or serverless asks", key="profile"),
    "active_hours": LeftOut("24x7: the same load every hour", key="profile"),
    "autoscale": LeftOut("a fixed fleet, sized for the busiest hour"),
    "min_instances": LeftOut("a floor of one instance (serverless: none), listed with autoscale=", key="min_instances"),
    "cold_start_s": LeftOut("serverless cold starts are not priced (noted)"),
    "purchase": LeftOut("the catalogue's purchase price of the GPUs, listed", key="purchase"),
    "watts": LeftOut("the GPUs' data-sheet power, listed", key="watts"),
    "colo": LeftOut("no colocation fee"),
    "residual": LeftOut("no resale value at the end of the depreciation"),
    "batch_share": LeftOut("no traffic sent to the batch API"),
    "api_tier": LeftOut("the API's standard tier"),
    "cache_write_share": LeftOut("no cache writes priced (noted where the provider charges them)"),
}


def defaults_table() -> str:
    """The defaults as a Markdown table (docs/economics.md holds this table; a test keeps it so)."""
    rows = ["| key | default | why |", "| --- | --- | --- |"]
    for d in [*DEFAULTS.values(), GROWTH_HORIZON]:
        key = f"`{d.key}` (with `growth=`)" if d is GROWTH_HORIZON else f"`{d.key}`"
        rows.append(f"| {key} | {d.shown} | {d.why.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
