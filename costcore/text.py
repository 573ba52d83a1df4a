"""A report as plain text: the verdict first, then the numbers, then the assumptions."""

from __future__ import annotations

from .format import count, instances, instances_cell, instances_key, money, months, percent
from .scenario import Report


def render(report: Report) -> str:
    r = report
    unit = r.volume_unit
    lines = [r.headline]
    if r.template:
        lines.append(template_line(r))
    lines.append("")
    lines += [f"  - {reason}" for reason in r.reasons]
    lines += ["", "Options compared", f"  {r.compared}"]
    for option in r.options:
        adjusted = ""
        if option.monthly_cost_adjusted != option.monthly_cost:
            adjusted = f", {money(option.monthly_cost_adjusted)} with failures priced"
        out = "" if option.meets_constraints else f"  [ruled out: {'; '.join(option.ruled_out_by)}]"
        lines.append(f"  {option.label:<34} {money(option.monthly_cost)} a month{adjusted}{out}")
    lines += [
        "",
        "Numbers (a month is 730 hours)",
        f"  Volume                 {count(r.requests_per_month)} {unit} a month ({count(r.tokens_per_month)} tokens)",
    ]
    if r.api_monthly_cost is not None:
        lines.append(
            f"  API                    {money(r.api_monthly_cost)} a month ({money(r.api_cost_per_request)} a request)"
        )
    lines.append(
        f"  Self-host              {money(r.selfhost_monthly_cost)} a month "
        f"({money(r.selfhost_cost_per_request)} a {unit[:-1]})"
    )
    lines += [f"    {line.name:<20} {money(line.amount)}  ({line.detail})" for line in r.selfhost_lines]
    against = "doing it by hand" if r.baseline == "manual" else "the API"
    lines += [
        f"  Monthly savings        {money(r.monthly_savings)} against {against}",
        f"  One-time cost          {money(r.one_time_cost)}" + _range(r),
    ]
    lines += [f"    {line.name:<20} {money(line.amount)}  ({line.detail})" for line in r.hidden_costs]
    be = f"never: {r.never_breaks_even}"
    if r.breakeven_requests_per_month is not None:
        be = f"{count(r.breakeven_requests_per_month)} {unit} ({count(r.breakeven_tokens_per_month)} tokens) a month"
    if r.standing is not None and r.standing.where == "between":
        be += f"; {breakeven_between(r)}"
    lines += [
        f"  Break-even             {be}",
        f"  Payback                {months(r.payback_months)}"
        + ("" if r.cash_up_front is None else f"; cash up front for the hardware {money(r.cash_up_front)}"),
        f"  First-year ROI         {percent(r.first_year_roi)}",
    ]
    if len(r.crossings) > 1:
        lines.append("  Crossings (the self-host bill is a staircase of instances):")
        for c in r.crossings:
            what = "buying starts to pay" if c.direction == "buy_starts_paying" else "buying stops paying"
            fleet = instances(c.instances, c.gpus_per_instance, gpu_name(r))
            lines.append(f"    {count(c.requests_per_month):>8} {unit} a month: {what} ({fleet})")
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
            f"  {'API' if r.baseline == 'api' else 'By hand'} at {f.fail_api if r.baseline == 'api' else 0:.0%} "
            f"failures    {money(f.api_monthly_cost)} a month",
            f"  Fine-tuned at {f.fail_ft:.0%}       {money(f.selfhost_monthly_cost)} a month",
            f"  Buying stops paying at a fine-tuned failure rate of {limit}",
        ]
    lines += ["", "Sensitivity"]
    for w in r.sensitivity.what_ifs:
        be = w.breakeven_requests_per_month
        be_text = "none" if be is None else f"{count(be)} {unit} a month"
        detail = f" ({w.detail})" if w.detail else ""
        lines.append(
            f"  {w.name:<22} savings {money(w.monthly_savings)} a month, payback {months(w.payback_months)}, "
            f"break-even {be_text}: {w.verdict}{detail}"
        )
    if r.sensitivity.failure_threshold is not None:
        basis = f" ({r.sensitivity.failure_threshold_basis})" if r.sensitivity.failure_threshold_basis else ""
        lines.append(
            f"  Buying stops paying at a fine-tuned failure rate of {r.sensitivity.failure_threshold:.1%}{basis}"
        )
    lines.append(f"  Moves the answer most: {r.sensitivity.most_influential}")
    if r.growth:
        lines += ["", *growth_lines(r)]
    if r.capacity:
        c = r.capacity
        measured = " (your measured capacity)" if c.source == "measured" else ""
        lines += ["", f"Sizing{measured}", f"  {c.summary}"]
        lines.append(
            f"  {c.model} at {c.bits}-bit: {c.weights_gb:,.1f} GB of weights, "
            f"{c.kv_gb_per_request:,.2f} GB of KV cache a request; {c.decode_tok_s_per_stream:,.0f} tokens/s a stream; "
            f"first token {c.ttft_ms:,.0f} ms; limited by {c.bound}"
        )
        lines += [f"  - {note}" for note in c.notes]
    if r.constraints:
        lines += ["", "Hard constraints"]
        lines += [f"  {c.name:<8} {c.option:<9} {'met' if c.met else 'MISSED':<7} {c.detail}" for c in r.constraints]
    if r.factors:
        lines += ["", "Beyond cost (API against self-hosting)"]
        for f in r.factors:
            lines += [
                f"  {f.factor:<28} favours {FAVOURS[f.favours]}",
                f"    API:       {f.api}",
                f"    Self-host: {f.selfhost}",
            ]
    if r.pitfalls:
        lines += ["", "Pitfalls"] + [f"  - {p}" for p in r.pitfalls]
    if r.notes:
        lines += ["", "Notes"] + [f"  - {note}" for note in r.notes]
    lines += ["", "Assumptions (defaults you can override; * = your own figure, m = measured)"]
    for a in r.assumptions:
        mark = "*" if a.custom else ("m" if a.measured else " ")
        source = f" [{a.source}]" if a.source else ""
        note = f": {a.note}" if a.note else ""
        lines.append(f" {mark} {a.key} = {a.value}{note}{source}")
    if r.next_step:
        lines += ["", "Next step", f"  {r.next_step.action}"] + [f"    {c}" for c in r.next_step.commands]
    return "\n".join(lines)


FAVOURS = {"api": "the API", "selfhost": "self-hosting", "neither": "neither"}


def breakeven_between(r: Report) -> str:
    """Between two crossings: the band below today where buying paid, and where it pays again."""
    w = r.standing
    again = f"again from {count(w.pays_again_from)}" if w.pays_again_from is not None else "never again"
    return f"paid only between {count(w.paid_from)} and {count(w.paid_until)}, {again}"


def template_line(r: Report) -> str:
    t = r.template
    filled = ", ".join(t.filled) if t.filled else "none (you gave every figure)"
    sources = "; ".join(f"{s.title} ({s.date}) {s.url}" for s in t.sources)
    return (
        f"Use case: {t.name} ({t.title}). From the template: {filled}; any key you give overrides it.\n"
        f"  Why: {t.rationale} Sources: {sources}"
    )


def growth_summary(r: Report) -> str:
    """One sentence on the growth path: when buying starts paying and when it has paid back."""
    from .verdict import growing

    g = r.growth
    first = "never within 120 months" if g.first_paying_month is None else f"month {g.first_paying_month}"
    paid = (
        "not within 120 months" if g.payback_month is None else f"month {g.payback_month} ({months(g.payback_months)})"
    )
    return f"Volume {growing(g.rate_per_month)}: buying starts paying in {first}; it pays back in {paid}."


def growth_lines(r: Report) -> list[str]:
    g = r.growth
    lines = [f"Growth over {len(g.months)} months (month 1 is today)", f"  {growth_summary(r)}"]
    for totals in (g.totals_12, g.totals_24):
        if totals is not None:
            lines.append(
                f"  First {totals.months} months: {count(totals.requests)} requests; "
                f"baseline {money(totals.baseline_cost)}, "
                f"self-host {money(totals.selfhost_cost)} + {money(totals.one_time)} one-time; net {money(totals.net)}"
            )
    header = ("month", 5), ("requests", 9), ("inst.", 5), ("baseline", 12), ("self-host", 12), ("savings", 12)
    lines.append("  " + " ".join(f"{name:>{width}}" for name, width in header) + f" {'cum. net':>12}")
    shown = [m for m in g.months if m.month <= 24 or m.month % 6 == 0 or m.month == len(g.months)]
    for m in shown:
        lines.append(
            f"  {m.month:>5} {count(m.requests):>9} {instances_cell(m.instances, m.gpus_per_instance):>5} "
            f"{money(m.baseline_cost):>12} {money(m.selfhost_cost):>12} {money(m.savings):>12} "
            f"{money(m.cumulative_net):>12}"
        )
    if any(m.gpus_per_instance for m in shown):
        lines.append(f"  {instances_key(gpu_name(r))}")
    return lines


def gpu_name(r: Report) -> str | None:
    """The GPU the report's instances are built of (None where none is sized)."""
    return r.capacity.gpu if r.capacity is not None else None


def fleet_today(r: Report) -> str:
    """Today's fleet as a count: '3 instance(s)', or '3 instance(s) of 2 x NVIDIA A10G' where the model is split
    over more GPUs than the fewest that hold it."""
    return instances(r.instances, r.cost_model.split_at(r.requests_per_month), gpu_name(r))


def _range(r: Report) -> str:
    low, high = r.one_time_range
    return "" if low == high else f"  (realistic range {money(low)} - {money(high)})"


def render_audit(result, original: Report | None = None, audited: Report | None = None) -> str:
    """An audit: the realistic one-time range first, then the lines, pitfalls and the re-run verdict."""
    from .audit import ACTIVITIES, GROUP_NAMES

    a = result.input
    low, mid, high = result.multiplier
    lines = [
        f"Realistic one-time cost: {money(result.realistic_low)} - {money(result.realistic_high)} "
        f"(base {money(result.base_one_time)} x {low:g}-{high:g} for a {a.complexity} task)",
        f"Training compute is {result.training_share:.1%} of the base; people's time is the rest.",
        "",
        "One-time lines",
    ]
    lines += [f"  {line.name:<20} {money(line.amount):>10}  {line.detail}" for line in result.lines]
    lines.append(f"  {'Base total':<20} {money(result.base_one_time):>10}")
    ops = [act for act in ACTIVITIES if act.group == "ops"]
    lines += ["", f"{GROUP_NAMES['ops']}: {result.ops_hours_monthly:g} h a month = {money(result.ops_monthly_cost)}"]
    lines += [f"  {act.label:<20} {a.hours_of(act):g} h (typical {act.low:g}-{act.high:g})" for act in ops]
    lines += ["", "Pitfalls"] + ([f"  - {p}" for p in result.pitfalls] or ["  none found"])
    if original is not None and audited is not None:
        lines += [
            "",
            f"{'':<22} {'as analysed':>16} {'audited':>16}",
            f"{'Verdict':<22} {original.verdict:>16} {audited.verdict:>16}",
            f"{'One-time cost':<22} {money(original.one_time_cost):>16} {money(audited.one_time_cost):>16}",
            f"{'Self-host a month':<22} {money(original.selfhost_monthly_cost):>16} "
            f"{money(audited.selfhost_monthly_cost):>16}",
            f"{'Monthly savings':<22} {money(original.monthly_savings):>16} {money(audited.monthly_savings):>16}",
            f"{'Payback':<22} {_short_months(original.payback_months):>16} {_short_months(audited.payback_months):>16}",
            f"{'First-year ROI':<22} {percent(original.first_year_roi):>16} {percent(audited.first_year_roi):>16}",
            "",
            audited.headline,
        ]
    return "\n".join(lines)


def _short_months(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} months"
