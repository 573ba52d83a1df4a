"""Hard constraints, checked against each option: data that may not leave the company, a latency
bound on a whole answer, and work too varied for a small fine-tuned model. Cost never overrides
a constraint an option misses."""

from __future__ import annotations

from dataclasses import dataclass

from .buy import BuySide
from .format import count
from .ledger import Ledger
from .rent import RentSide
from .scenario import ConstraintCheck, Scenario
from .workload import Workload

# A hosted API's whole answer: its first token after about half a second (queueing, network and
# prefill), then tokens at about 80 a second for one stream; 500-2,000 ms for short answers.
API_FIRST_TOKEN_MS = 500.0
API_TOKENS_PER_S = 80.0


@dataclass(frozen=True)
class ManualSide:
    hours_per_task: float
    rate: float

    @property
    def cost_per_task(self) -> float:
        return self.hours_per_task * self.rate


def manual_side(s: Scenario, rate: float, ledger: Ledger) -> ManualSide | None:
    if s.manual_h is None:
        if s.manual_rate is not None and s.fail_cost is not None:
            ledger.ignored("manual_rate", "it prices work done by hand, which needs manual_h= (the time a task takes)")
        return None
    if s.manual_rate is None:
        ledger.assume("manual_rate", f"${rate:,.0f}/h", "the same as the engineering rate (rate=)")
    return ManualSide(s.manual_h, s.manual_rate if s.manual_rate is not None else rate)


def api_latency_ms(s: Scenario, work: Workload) -> tuple[float, str]:
    if s.api_latency_ms is not None:
        return s.api_latency_ms, "your measured API latency"
    ms = API_FIRST_TOKEN_MS + work.out_tokens / API_TOKENS_PER_S * 1000
    return ms, f"typical hosted API: ~{API_FIRST_TOKEN_MS:.0f} ms to the first token, ~{API_TOKENS_PER_S:.0f} tokens/s"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def check_constraints(
    s: Scenario, work: Workload, rent: RentSide | None, buy: BuySide, manual: ManualSide | None
) -> list[ConstraintCheck]:
    checks: list[ConstraintCheck] = []
    if s.privacy:
        if rent is not None:
            who = "the API provider" if rent.quote.custom else rent.quote.provider
            checks.append(
                ConstraintCheck(
                    name="privacy", option="api", met=False, detail=f"every request sends the data to {who}"
                )
            )
        detail = "the model runs on GPUs you control"
        if s.host_price is not None:
            detail += "; the per-token host you named (host_price=) is a third party and would not meet it"
        checks.append(ConstraintCheck(name="privacy", option="selfhost", met=not buy.third_party, detail=detail))
        if manual is not None:
            checks.append(ConstraintCheck(name="privacy", option="manual", met=True, detail="your own people do it"))
    if s.latency_ms is not None:
        bound = s.latency_ms
        if rent is not None:
            ms, source = api_latency_ms(s, work)
            checks.append(_latency_check("api", ms, bound, source))
        if buy.latency_ms is not None:
            checks.append(_latency_check("selfhost", buy.latency_ms, bound, "modelled for this GPU and request"))
        else:
            ms, source = api_latency_ms(s, work)
            checks.append(_latency_check("selfhost", ms, bound, f"a per-token host answers like an API ({source})"))
        if manual is not None:
            checks.append(_latency_check("manual", manual.hours_per_task * 3_600_000, bound, "a task done by hand"))
    if s.task in ("varied", "reasoning"):
        kind = "open-ended, varied" if s.task == "varied" else "reasoning-heavy"
        if rent is not None:
            checks.append(ConstraintCheck(name="task", option="api", met=True, detail="a frontier API handles it"))
        checks.append(
            ConstraintCheck(
                name="task", option="selfhost", met=False, detail=f"a {kind} task is beyond a small fine-tuned model"
            )
        )
        if manual is not None:
            checks.append(ConstraintCheck(name="task", option="manual", met=True, detail="people handle varied work"))
    return checks


def _latency_check(option: str, ms: float, bound: float, source: str) -> ConstraintCheck:
    if ms <= bound:
        detail = f"~{_ms(ms)} a whole answer, {_ms(bound - ms)} inside the {_ms(bound)} bound ({source})"
    else:
        times = f"{ms / bound:.3g}x" if ms < 1000 * bound else f"{count(ms / bound)}x"
        detail = f"~{_ms(ms)} a whole answer, {times} the {_ms(bound)} bound ({source})"
    return ConstraintCheck(name="latency", option=option, met=ms <= bound, detail=detail)


def missed(checks: list[ConstraintCheck], option: str) -> list[ConstraintCheck]:
    return [c for c in checks if c.option == option and not c.met]
