"""The hidden-cost side of buying: one-time line items, the iteration multiplier, pitfalls.

Training compute is the visible tip (about a tenth); people's time is the rest (ECONOMICS.md
section 3). Ranges are the typical ones published for a fine-tuning project.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .scenario import Complexity, CostLine, Scenario, Task

ITERATION_MULTIPLIER = {"well-defined": (2.0, 3.0), "medium": (4.0, 6.0), "novel": (8.0, 10.0)}

TYPICAL_HOURS = {
    "data_h": (47, 158, "data preparation: collection 10-40, cleaning 5-20, format 2-8, review 10-30, iteration 20-60"),
    "eval_h": (22, 50, "evaluation: metrics 2-5, eval sets 10-20, pipeline 5-15, analysis 5-10"),
    "infra_h": (5, 20, "infrastructure set-up: server 5-10, monitoring 3-8"),
    "maint_h": (2, 10, "a month: maintenance 2-5, model updates 2-4, incidents 0-10"),
}

# Mid-range figures used when the user gives neither the lines nor a one-time total.
DEFAULT_HOURS = {"data_h": 100.0, "eval_h": 36.0, "infra_h": 12.0}


def multiplier_for(complexity: str) -> tuple[float, float, float]:
    """(low, mid, high) iteration multiplier for a task's complexity."""
    low, high = ITERATION_MULTIPLIER[complexity]
    return low, (low + high) / 2, high


def one_time_lines(
    *, train: float, runs: int, setup: float, data_h: float, eval_h: float, infra_h: float, rate: float
) -> list[CostLine]:
    lines = [
        CostLine(name="Training compute", amount=train * runs, hidden=False, detail=f"{runs} run(s) x ${train:,.2f}"),
        CostLine(name="Data preparation", amount=data_h * rate, detail=f"{data_h:g} h x ${rate:,.0f}/h"),
        CostLine(name="Evaluation", amount=eval_h * rate, detail=f"{eval_h:g} h x ${rate:,.0f}/h"),
        CostLine(name="Infrastructure set-up", amount=infra_h * rate, detail=f"{infra_h:g} h x ${rate:,.0f}/h"),
    ]
    if setup:
        lines.append(CostLine(name="Set-up (your total)", amount=setup, detail="one-time total you gave"))
    return [line for line in lines if line.amount > 0 or not line.hidden]


def pitfalls(
    *,
    stated_total: bool,
    data_h: float,
    eval_h: float,
    runs: int,
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
    if runs < 2:
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
# The guided audit: hours by activity, in five steps


@dataclass(frozen=True)
class Activity:
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


class AuditInput(BaseModel):
    """The answers to the audit's five steps; None takes the typical mid-range figure."""

    model_config = ConfigDict(extra="forbid")

    complexity: Complexity = "medium"
    task: Task = "narrow"
    hours: dict[str, float] = Field(default_factory=dict, description="activity key -> hours (ops: a month)")
    rate: float = Field(default=100.0, gt=0)
    runs: int = Field(default=5, ge=1, le=1000)
    train: float = Field(default=50.0, ge=0, description="$ of compute a training run")
    train_gpu: str | None = None
    params_b: float = Field(default=7.0, gt=0)

    @model_validator(mode="after")
    def _known_activities(self) -> AuditInput:
        known = {a.key for a in ACTIVITIES}
        for key, value in self.hours.items():
            if key not in known:
                raise ValueError(f"unknown activity '{key}'")
            if value < 0:
                raise ValueError(f"{key}: hours cannot be negative")
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
    low, mid, high = multiplier_for(answers.complexity)
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
