"""Rent, buy or hybrid. Hard constraints (privacy, latency, the kind of task) beat cost."""

from __future__ import annotations

from dataclasses import dataclass

from .format import money, months

LATENCY_LIMIT_MS = 200  # below this a hosted API (500-2,000 ms typical) is usually out


@dataclass(frozen=True)
class Constraints:
    privacy: bool = False
    latency_ms: float | None = None
    task: str = "narrow"

    @property
    def rules_out_api(self) -> list[str]:
        reasons = []
        if self.privacy:
            reasons.append("Data may not leave the company: a hosted API is ruled out.")
        if self.latency_ms is not None and self.latency_ms < LATENCY_LIMIT_MS:
            reasons.append(
                f"A {self.latency_ms:g} ms latency bound rules out hosted APIs (500-2,000 ms typical); "
                "a self-hosted 7B answers in 50-150 ms."
            )
        return reasons

    @property
    def rules_out_small_model(self) -> list[str]:
        if self.task in ("varied", "reasoning"):
            kind = "open-ended, varied" if self.task == "varied" else "reasoning-heavy"
            return [f"A {kind} task is beyond a small fine-tuned model: keep a frontier API for it."]
        return []


def cost_verdict(savings: float, payback: float | None, horizon: float) -> str:
    return "BUY" if savings > 0 and payback is not None and payback <= horizon else "RENT"


def decide(
    *, savings: float, payback: float | None, horizon: float, constraints: Constraints, baseline: str
) -> tuple[str, list[str]]:
    """The verdict and the reasons for it, most decisive first."""
    against = "doing the work by hand" if baseline == "manual" else "the API"
    cost = cost_verdict(savings, payback, horizon)
    if savings <= 0:
        cost_reason = f"On cost, {against} is cheaper by {money(-savings)} a month."
    elif payback is None or payback > horizon:
        cost_reason = (
            f"Buying saves {money(savings)} a month but pays back in {months(payback)}, "
            f"beyond the {horizon:g}-month horizon."
        )
    else:
        cost_reason = f"Buying saves {money(savings)} a month against {against} and pays back in {months(payback)}."

    no_api, no_small = constraints.rules_out_api, constraints.rules_out_small_model
    if no_api and no_small:
        return "HYBRID", [
            "Split the work: self-host an open model for the sensitive or latency-bound narrow part, "
            "and route the varied work to an API under a data agreement, or self-host a larger open model.",
            *no_api,
            *no_small,
            cost_reason,
        ]
    if no_api:
        return "BUY", [*no_api, cost_reason]
    if no_small:
        return "RENT", [*no_small, cost_reason]
    if constraints.task == "mixed" and cost == "BUY":
        return "HYBRID", [
            "The task is mixed: fine-tune a small model for the narrow, high-volume part "
            "and keep a frontier API for the hard, varied rest (the barbell).",
            cost_reason,
        ]
    return cost, [cost_reason]
