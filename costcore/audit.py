"""The hidden-cost side of buying: one-time line items, the iteration multiplier, pitfalls.

Training compute is the visible tip (about a tenth); people's time is the rest (docs/economics.md).
Ranges are the typical ones published for a fine-tuning project (costcore/defaults.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .defaults import ACTIVITIES, DEFAULTS, GROUP_KEYS, GROUP_NAMES, Activity, multiplier_for
from .one_time import realistic
from .scenario import Complexity, CostLine, Scenario, Task

__all__ = ["ACTIVITIES", "GROUP_KEYS", "GROUP_NAMES", "AuditInput", "AuditResult", "multiplier_for", "run_audit"]


def pitfalls(
    *,
    stated_total: bool,
    data_h: float,
    eval_h: float,
    runs: int | None,
    maint_h: float,
    gpu_bandwidth_gb_s: float | None,
    params_b: float,
) -> list[str]:
    """The classic ways a fine-tuning budget goes wrong, each with its reason in one line.

    gpu_bandwidth_gb_s is the memory bandwidth of the GPU chosen for the work (serving or
    training): a slow card saves a few dollars a run and costs far more in time."""
    found = []
    if not stated_total:
        if data_h < 50:
            found.append(f"Data under-budgeted: {data_h:g} h planned; budget 50-100 h (typical 47-158 h).")
        if eval_h == 0:
            found.append("No evaluation budget: plan 22-50 h for metrics, eval sets and a pipeline.")
    if runs is not None and runs < 2:
        found.append("A single training run planned: first attempts rarely work; plan 5-10 runs.")
    if maint_h < 5:
        found.append(f"Maintenance at {maint_h:g} h a month: a served model needs 5-10 h a month.")
    if gpu_bandwidth_gb_s is not None and gpu_bandwidth_gb_s < 350 and params_b >= 7:
        found.append(
            f"Slow hardware for a {params_b:g}B model ({gpu_bandwidth_gb_s:g} GB/s): saving a few dollars a run "
            "costs latency and capacity; an A10G or better serves it comfortably."
        )
    return found


# ---------------------------------------------------------------------------------------
# The guided audit: hours by activity, in five steps (the lines and their typical ranges live in
# costcore/defaults.py, shared with the analysis)


class AuditInput(BaseModel):
    """The answers to the audit's five steps; None takes the typical mid-range figure."""

    model_config = ConfigDict(extra="forbid")

    complexity: Complexity = DEFAULTS["complexity"].value
    task: Task = "narrow"
    hours: dict[str, float] = Field(default_factory=dict, description="activity key -> hours (ops: a month)")
    rate: float = Field(default=DEFAULTS["rate"].value, gt=0, le=10_000)
    runs: int = Field(default=DEFAULTS["runs"].value, ge=1, le=1000)
    train: float = Field(default=DEFAULTS["train"].value, ge=0, le=1e8, description="$ of compute a training run")
    train_gpu: str | None = None
    params_b: float = Field(default=DEFAULTS["params"].value, gt=0, le=2000)

    @model_validator(mode="after")
    def _known_activities(self) -> AuditInput:
        known = {a.key for a in ACTIVITIES}
        for key, value in self.hours.items():
            if key not in known:
                raise ValueError(f"unknown activity '{key}'")
            if not 0 <= value <= 100_000:
                raise ValueError(f"{key}: hours must be between 0 and 100,000")
        return self

    def hours_of(self, activity: Activity) -> float:
        return self.hours.get(activity.key, activity.default)

    def group_hours(self, group: str) -> float:
        return sum(self.hours_of(a) for a in ACTIVITIES if a.group == group)


class AuditResult(BaseModel):
    input: AuditInput
    lines: list[CostLine]
    base_one_time: float
    multiplier: tuple[float, float, float]
    realistic_low: float
    realistic_high: float
    realistic_mid: float
    ops_hours_monthly: float
    ops_monthly_cost: float
    training_share: float
    pitfalls: list[str]


def run_audit(answers: AuditInput) -> AuditResult:
    rate = answers.rate
    lines = [
        CostLine(
            name="Training compute",
            amount=answers.train * answers.runs,
            hidden=False,
            detail=f"{answers.runs} run(s) x ${answers.train:,.2f}",
        )
    ]
    for activity in ACTIVITIES:
        if activity.group == "ops":
            continue
        hours = answers.hours_of(activity)
        lines.append(
            CostLine(
                name=activity.label,
                amount=hours * rate,
                detail=f"{GROUP_NAMES[activity.group]}: {hours:g} h x ${rate:,.0f}/h "
                f"(typical {activity.low:g}-{activity.high:g} h)",
            )
        )
    base = sum(line.amount for line in lines)
    low, mid, high = realistic(base, answers.complexity, None)
    ops_hours = answers.group_hours("ops")
    bandwidth = None
    if answers.train_gpu:
        from .prices import find_gpu

        bandwidth = find_gpu(answers.train_gpu).bandwidth_gb_s
    found = pitfalls(
        stated_total=False,
        data_h=answers.group_hours("data"),
        eval_h=answers.group_hours("eval"),
        runs=answers.runs,
        maint_h=ops_hours,
        gpu_bandwidth_gb_s=bandwidth,
        params_b=answers.params_b,
    )
    return AuditResult(
        input=answers,
        lines=lines,
        base_one_time=base,
        multiplier=(low, mid, high),
        realistic_low=base * low,
        realistic_high=base * high,
        realistic_mid=base * mid,
        ops_hours_monthly=ops_hours,
        ops_monthly_cost=ops_hours * rate,
        training_share=lines[0].amount / base if base else 0.0,
        pitfalls=found,
    )


def audited_scenario(scenario: Scenario, answers: AuditInput) -> Scenario:
    """The scenario with its one-time and operations figures replaced by the audited ones."""
    values = scenario.model_dump(exclude_none=True)
    for key in ("setup", "iter", "data_h", "eval_h", "infra_h", "maint_h"):
        values.pop(key, None)
    values.update(
        data_h=answers.group_hours("data"),
        eval_h=answers.group_hours("eval"),
        infra_h=answers.group_hours("infra"),
        maint_h=answers.group_hours("ops"),
        rate=answers.rate,
        runs=answers.runs,
        train=answers.train,
        complexity=answers.complexity,
        task=answers.task,
    )
    return Scenario.model_validate(values)
