"""The hidden-cost side of buying: one-time line items, the iteration multiplier, pitfalls.

Training compute is the visible tip (about a tenth); people's time is the rest (ECONOMICS.md
section 3). Ranges are the typical ones published for a fine-tuning project.
"""

from __future__ import annotations

from .scenario import CostLine

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
    """The classic ways a fine-tuning budget goes wrong, each with its reason in one line."""
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
