"""A report as plain text: the verdict first, then the numbers, then the assumptions."""

from __future__ import annotations

from .format import count, money, months, percent
from .scenario import Report


def render(report: Report) -> str:
    r = report
    lines = [r.headline, ""]
    lines += [f"  - {reason}" for reason in r.reasons]
    lines += [
        "",
        "Numbers (a month is 730 hours)",
        f"  Volume                 {count(r.requests_per_month)} requests a month ({count(r.tokens_per_month)} tokens)",
        f"  API                    {money(r.api_monthly_cost)} a month ({money(r.api_cost_per_request)} a request)",
        f"  Self-host              {money(r.selfhost_monthly_cost)} a month "
        f"({money(r.selfhost_cost_per_request)} a request)",
    ]
    lines += [f"    {line.name:<20} {money(line.amount)}  ({line.detail})" for line in r.selfhost_lines]
    lines += [
        f"  Monthly savings        {money(r.monthly_savings)}",
        f"  One-time cost          {money(r.one_time_cost)}" + _range(r),
    ]
    lines += [f"    {line.name:<20} {money(line.amount)}  ({line.detail})" for line in r.hidden_costs]
    be = "never (the API is cheaper per request)"
    if r.breakeven_requests_per_month is not None:
        be = f"{count(r.breakeven_requests_per_month)} requests ({count(r.breakeven_tokens_per_month)} tokens) a month"
    lines += [
        f"  Break-even             {be}",
        f"  Payback                {months(r.payback_months)}",
        f"  First-year ROI         {percent(r.first_year_roi)}",
    ]
    if len(r.crossings) > 1:
        lines.append("  Crossings (the self-host bill is a staircase of instances):")
        for c in r.crossings:
            what = "buying starts to pay" if c.direction == "buy_starts_paying" else "buying stops paying"
            lines.append(f"    {count(c.requests_per_month):>8} requests a month: {what} ({c.instances} instance(s))")
    if r.manual:
        m = r.manual
        lines += [
            "",
            "Against doing the work by hand",
            f"  By hand today          {money(m.manual_monthly_cost)} a month",
            f"  With the model         {money(m.future_monthly_cost)} a month",
            f"  Savings                {money(m.monthly_savings)} a month",
            f"  Payback                {months(m.payback_months)}",
            f"  First-year ROI         {percent(m.first_year_roi)}",
        ]
    if r.failure:
        f = r.failure
        limit = "never" if f.breakeven_fail_ft is None else f"{f.breakeven_fail_ft:.1%}"
        lines += [
            "",
            f"Failure-adjusted ({money(f.fail_cost)} a failure)",
            f"  API at {f.fail_api:.0%} failures    {money(f.api_monthly_cost)} a month",
            f"  Fine-tuned at {f.fail_ft:.0%}       {money(f.selfhost_monthly_cost)} a month",
            f"  Buying stops paying at a fine-tuned failure rate of {limit}",
        ]
    lines += ["", "Sensitivity"]
    lines += [
        f"  {w.name:<22} savings {money(w.monthly_savings)} a month, payback {months(w.payback_months)}: {w.verdict}"
        for w in r.sensitivity.what_ifs
    ]
    lines.append(f"  Moves the answer most: {r.sensitivity.most_influential}")
    if r.capacity:
        c = r.capacity
        lines += ["", "Capacity"]
        if c.note:
            lines.append(f"  {c.note}")
        if c.single_stream_tok_s:
            lines.append(f"  Single-stream decode bound: ~{c.single_stream_tok_s:,.0f} tokens/s (memory bandwidth)")
        lines.append(f"  Peak load {c.peak_qps:.3g} requests/s -> {c.instances} instance(s)")
    if r.pitfalls:
        lines += ["", "Pitfalls"] + [f"  - {p}" for p in r.pitfalls]
    lines += ["", "Assumptions (defaults you can override; * = your own figure)"]
    for a in r.assumptions:
        mark = "*" if a.custom else " "
        source = f" [{a.source}]" if a.source else ""
        note = f": {a.note}" if a.note else ""
        lines.append(f" {mark} {a.key} = {a.value}{note}{source}")
    return "\n".join(lines)


def _range(r: Report) -> str:
    low, high = r.one_time_range
    return "" if low == high else f"  (realistic range {money(low)} - {money(high)})"
