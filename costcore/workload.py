"""The work to be done: how many requests a month, and the shape of one request on each side."""

from __future__ import annotations

from dataclasses import dataclass

from .format import count
from .ledger import Ledger
from .scenario import SECONDS_PER_MONTH, Scenario


@dataclass(frozen=True)
class Workload:
    requests: float  # a month
    in_tokens: float  # a request on the API (instructions, examples and the input)
    out_tokens: float
    ft_in_tokens: float  # a request to the fine-tuned model: the task is in the weights

    @property
    def tokens_per_request(self) -> float:
        return self.in_tokens + self.out_tokens

    @property
    def average_qps(self) -> float:
        return self.requests / SECONDS_PER_MONTH


def workload(s: Scenario, ledger: Ledger) -> Workload:
    in_tokens = ledger.pick(s.in_tokens, "in")
    out_tokens = ledger.pick(s.out_tokens, "out")
    per_request = in_tokens + out_tokens
    if s.requests_per_month is not None:
        requests = s.requests_per_month
    elif s.tokens_per_month is not None:
        requests = s.tokens_per_month / per_request if per_request else 0.0
        ledger.assume(
            "volume",
            f"{count(requests)} requests a month",
            f"from {count(s.tokens_per_month)} tokens a month at {per_request:g} tokens a request",
        )
        if not per_request:
            ledger.note("tokens= with in=0 and out=0 gives no requests: give in= and out=, or volume= in requests")
    else:
        requests = ledger.default("volume")
    if s.ft_in_tokens is not None:
        ft_in = s.ft_in_tokens
    elif s.prompt_cut is not None:
        ft_in = in_tokens * (1 - s.prompt_cut)
    else:
        ft_in = in_tokens
        ledger.assume(
            "ft_in",
            f"{in_tokens:g} tokens",
            "no prompt reduction after fine-tuning assumed; set ft_in= or prompt_cut= (one team cut 2,500 to 500)",
        )
    return Workload(requests, in_tokens, out_tokens, ft_in)
