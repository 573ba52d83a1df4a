"""The one set of defaults: `analyze`, the hidden-cost audit and the Slack form all take their
figures from here, so the same team never gets two answers for the same inputs.

The one-time and operations figures are the typical mid-range lines of a fine-tuning project
(the audit's lines below, each with its published range); the iteration multiplier defaults to
the medium task band, because first attempts rarely work.
"""

from __future__ import annotations

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
