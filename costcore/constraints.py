"""Hard constraints, checked against each option: data that may not leave the company, a latency
bound on a whole answer, and work too varied for a small fine-tuned model. Cost never overrides
a constraint an option misses."""

from __future__ import annotations

from dataclasses import dataclass

from .buy import BuySide
from .format import count
from .latency import api_latency
from .ledger import Ledger
from .rent import RentSide
from .scenario import ConstraintCheck, Scenario
from .workload import Workload


@dataclass(frozen=True)
class ManualSide:
    hours_per_task: float
    rate: float

    @property
    def cost_per_task(self) -> float:
        return self.hours_per_task * self.rate


def manual_side(s: Scenario, rate: float, ledger: Ledger) -> ManualSide | None:
    if s.manual_h is None:
        if s.manual_rate is not None:
            ledger.ignored("manual_rate", "it prices work done by hand, which needs manual_h= (the time a task takes)")
        return None
    if s.manual_rate is None:
        ledger.assume("manual_rate", f"${rate:,.0f}/h", "the same as the engineering rate (rate=)")
    return ManualSide(s.manual_h, s.manual_rate if s.manual_rate is not None else rate)


def api_latency_ms(s: Scenario, work: Workload, rent: RentSide | None, ledger: Ledger) -> tuple[float, str]:
    """The API's whole answer (or first token, when answers stream): measured, or a dated typical figure
    (listed among the assumptions with its source)."""
    if s.api_latency_ms is not None:
        return s.api_latency_ms, "your measured API latency"
    model = "custom" if rent is None or rent.quote.custom else f"{rent.quote.provider}:{rent.quote.model}"
    typical = api_latency(model, out_tokens=work.out_tokens, in_tokens=work.in_tokens)
    ms = typical.ttft_ms if s.streaming else typical.latency_ms
    ledger.assume(
        "api_latency",
        f"{typical.ttft_ms:,.0f} ms to the first token, {typical.output_tok_s:,.0f} tokens/s ({typical.row})",
        "typical hosted-API speed; " + (" ".join(typical.notes) or "set api_latency= with your measurement"),
        f"{typical.source}, {typical.date}",
    )
    return ms, f"typical for {typical.row}, {typical.date}"


@dataclass(frozen=True)
class AnswerTimes:
    """How long each side takes to answer, as the report compares them even without a latency bound."""

    what: str  # "a whole answer" or "the first token" (streaming)
    api_ms: float
    api_source: str
    own_ms: float
    own_source: str


def answer_times(
    s: Scenario, work: Workload, rent: RentSide | None, buy: BuySide, ledger: Ledger
) -> AnswerTimes | None:
    """The API's answer time and the self-hosted one at the sized load, from the same figures the latency check
    uses (a measured figure where given); None when no API is compared."""
    if rent is None:
        return None
    api_ms, api_source = api_latency_ms(s, work, rent, ledger)
    if s.ft_latency_ms is not None:
        own_ms, own_source = s.ft_latency_ms, "your measured latency"
    elif buy.latency_ms is not None:
        c = buy.capacity
        own_ms = buy.latency_ms
        own_source = f"modelled: {c.gpus_per_instance} x {c.gpu}, {c.concurrency:,} at once" if c else "modelled"
    else:
        own_ms, typical = api_latency_ms(s, work, None, ledger)
        own_source = f"a per-token host answers like an API: {typical}"
    what = "to the first token" if s.streaming else "a whole answer"
    return AnswerTimes(what, api_ms, api_source, own_ms, own_source)


def shown_ms(value: float) -> str:
    return _ms(value)


def _ms(value: float) -> str:
    if value < 10:  # under 10 ms, whole milliseconds would show two different figures as the same
        return f"{value:.3g} ms"
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def check_constraints(
    s: Scenario, work: Workload, rent: RentSide | None, buy: BuySide, manual: ManualSide | None, ledger: Ledger
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
        if rent is not None and rent.batch_share >= 1:
            ledger.note("batch=yes: every request waits for the batch API (up to a day), so the latency bound does "
                        "not apply to the API's batched work")
        elif rent is not None:
            ms, source = api_latency_ms(s, work, rent, ledger)
            checks.append(_latency_check("api", ms, bound, source, s.streaming))
            if rent.batch_share > 0:
                ledger.note(f"the latency bound applies to the {1 - rent.batch_share:.0%} of requests answered at "
                            "once; the batched share waits up to a day and is not bound by it")
        if s.ft_latency_ms is not None:
            checks.append(_latency_check("selfhost", s.ft_latency_ms, bound, "your measured latency", s.streaming))
        elif buy.latency_ms is not None:
            c = buy.capacity
            where = f"modelled: {c.gpus_per_instance} x {c.gpu}, {c.concurrency:,} at once" if c else "modelled"
            checks.append(_latency_check("selfhost", buy.latency_ms, bound, where, s.streaming))
        else:
            ms, source = api_latency_ms(s, work, None, ledger)
            checks.append(
                _latency_check("selfhost", ms, bound, f"a per-token host answers like an API ({source})", s.streaming)
            )
        if manual is not None:
            checks.append(
                _latency_check("manual", manual.hours_per_task * 3_600_000, bound, "a task done by hand", False)
            )
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


def _latency_check(option: str, ms: float, bound: float, source: str, streaming: bool | None) -> ConstraintCheck:
    what = "to the first token" if streaming else "a whole answer"
    if ms <= bound:
        detail = f"~{_ms(ms)} {what}, {_ms(bound - ms)} inside the {_ms(bound)} bound ({source})"
    else:
        times = f"{ms / bound:.3g}x" if ms < 1000 * bound else f"{count(ms / bound)}x"
        detail = f"~{_ms(ms)} {what}, {times} the {_ms(bound)} bound ({source})"
    return ConstraintCheck(name="latency", option=option, met=ms <= bound, detail=detail)


def missed(checks: list[ConstraintCheck], option: str) -> list[ConstraintCheck]:
    return [c for c in checks if c.option == option and not c.met]
