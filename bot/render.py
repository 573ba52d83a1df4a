"""Reports as Block Kit, within Slack's limits (50 blocks, 3,000 characters a section).

User text is data, never markup. Every text that leaves for Slack passes `slack_text` (through
`finalize`, which the bot's WebClient, its response_url sender and its modal acks all call): `&`,
`<` and `>` are escaped as Slack documents, so `<!channel>`, `<@U123>` or `<https://evil|link>` typed
by a user reach the channel as text. The bot's own mentions and channel links are made with
`mention()` and `channel_link()`, tokens that carry a secret of this process and are turned into
Slack's `<...>` only at that last step: no user text can forge one.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import cache

from costcore.format import count, money, months, percent
from costcore.grammar import EXAMPLE, KEYS
from costcore.scenario import Report, volume_unit
from costcore.templates import names as template_names
from costcore.text import breakeven_between, fleet_today

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
TEXT_LIMIT = 40_000  # chat.postMessage's top-level text (the notification and fallback)

_NONCE = secrets.token_hex(8)
_LINK = re.compile("\ue000" + _NONCE + r"([@#])([A-Z0-9]+)\ue001")
_ID = {"@": re.compile(r"[UW][A-Z0-9]+"), "#": re.compile(r"[CGD][A-Z0-9]+")}


def _link(kind: str, slack_id: str) -> str:
    if not _ID[kind].fullmatch(slack_id or ""):
        return slack_id  # not an id Slack made: it stays text (and is escaped like any text)
    return f"\ue000{_NONCE}{kind}{slack_id}\ue001"


def mention(user: str) -> str:
    """<@U123>, made by the bot's code only."""
    return _link("@", user)


def channel_link(channel: str) -> str:
    """<#C123>, made by the bot's code only."""
    return _link("#", channel)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, never ending inside an escape such as &amp;."""
    if len(text) <= limit:
        return text
    text = text[: limit - 1]
    amp = text.rfind("&")
    if amp > text.rfind(";"):
        text = text[:amp]
    return text + "…"


_ESCAPED_SIZE = {"&": 5, "<": 4, ">": 4}  # &amp; &lt; &gt;


def escaped_len(text: str) -> int:
    """Length of the text once escaped (what counts against Slack's limits)."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def cut_line(line: str, limit: int) -> str:
    """The line, or its start with an ellipsis, at most `limit` characters once escaped."""
    if escaped_len(line) <= limit:
        return line
    size = 0
    for index, char in enumerate(line):
        size += _ESCAPED_SIZE.get(char, 1)
        if size > limit - 1:
            return line[:index] + "…"
    return line


def fit_lines(lines: list[str], limit: int = SECTION_LIMIT) -> str:
    """The lines joined, at most `limit` characters once escaped. When they do not fit, the longest
    are cut first, each keeping its start and ending with an ellipsis, to one common width: no line,
    and so no section of a message, is dropped for a long one (a 3,000-character model name once
    emptied the weekly summary). Only more lines than the limit can hold at all are summed up."""
    if len(lines) * 8 > limit:  # even a few characters a line would not fit: the rest is counted
        keep = max(1, limit // 80)
        lines = [*lines[:keep], f"… and {len(lines) - keep} more lines"]
    sizes = [escaped_len(line) for line in lines]
    budget = limit - (len(lines) - 1)
    if sum(sizes) <= budget:
        return "\n".join(lines)
    low, high = 1, max(sizes)  # the widest common width at which the lines fit
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(size, middle) for size in sizes) <= budget:
            low = middle
        else:
            high = middle - 1
    return "\n".join(cut_line(line, low) for line in lines)


def slack_text(text: str, limit: int = SECTION_LIMIT) -> str:
    """The one exit for text: everything escaped, then the bot's own links put back, then cut."""
    return cut(_LINK.sub(lambda m: f"<{m[1]}{m[2]}>", escape(text)), limit)


class Finalized(dict):
    """A block that went through `finalize` once, when it was built (the bot's own fixed texts, such as
    help): `finalize` hands it on as it is instead of walking it again on every reply."""


def finalize(value):
    """Blocks, a view or attachments, ready for Slack: every text object (mrkdwn or plain_text) through
    slack_text. Input values (initial_value, option values) are data Slack shows as typed: untouched."""
    if isinstance(value, Finalized):
        return value
    if isinstance(value, list):
        return [finalize(item) for item in value]
    if isinstance(value, dict):
        out = {key: finalize(item) for key, item in value.items()}
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            out["text"] = slack_text(value["text"])
        return out
    return value


def safe_errors(errors: dict[str, str]) -> dict[str, str]:
    """A modal's errors (response_action=errors) echo what the user typed: escaped like any text."""
    return {block: slack_text(message, 300) for block, message in errors.items()}


TEXT_ARGS = {"text": TEXT_LIMIT, "initial_comment": TEXT_LIMIT}
BLOCK_ARGS = ("blocks", "view", "attachments")


def finalize_args(args: dict | None) -> dict | None:
    """A Web API call's arguments (or a response_url body) with every text made safe."""
    if not args:
        return args
    out = dict(args)
    for key, limit in TEXT_ARGS.items():
        if isinstance(out.get(key), str):
            out[key] = slack_text(out[key], limit)
    for key in BLOCK_ARGS:
        value = out.get(key)
        if isinstance(value, str):
            try:
                out[key] = json.dumps(finalize(json.loads(value)))
            except ValueError:
                pass
        elif isinstance(value, list | dict):
            out[key] = finalize(value)
    return out


WHATIF_DOUBLE = "whatif_double"
WHATIF_HALF = "whatif_half"
EDIT = "edit_assumptions"
AUDIT = "audit_start"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit_lines(text.split("\n"), SECTION_LIMIT)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit_lines(text.split("\n"), 2000)}]}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text[:75]},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _chunks(lines: list[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Lines grouped into texts that each fit a section."""
    chunks, current = [], ""
    for line in lines:
        line = cut_line(line, limit - 1)
        if current and escaped_len(current) + 1 + escaped_len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def key_numbers(report: Report) -> list[str]:
    be = (
        "never"
        if report.breakeven_requests_per_month is None
        else (f"{count(report.breakeven_requests_per_month)} {report.volume_unit}/mo")
    )
    if report.standing is not None and report.standing.where == "between":
        be += f"\n_{breakeven_between(report)}_"
    rent = "By hand" if report.baseline == "manual" else "Rent (API)"
    return [
        f"*{rent}*\n{money(report.baseline_monthly_cost)} a month",
        f"*Buy (self-host)*\n{money(report.selfhost_monthly_cost)} a month",
        f"*Monthly savings*\n{money(report.monthly_savings)}",
        f"*One-time cost*\n{money(report.one_time_cost)}",
        f"*Break-even*\n{be}",
        f"*Payback*\n{months(report.payback_months)}",
        f"*First-year ROI*\n{percent(report.first_year_roi)}",
        f"*Volume*\n{count(report.requests_per_month)} {report.volume_unit}/mo, {fleet_today(report)}",
    ]


FAVOURS = {"api": "favours the API", "selfhost": "favours self-hosting", "neither": "favours neither"}


def template_note(report: Report) -> str:
    t = report.template
    filled = ", ".join(f"`{key}`" for key in t.filled) or "nothing (you gave every figure)"
    return f"Started from the *{t.name}* use case ({t.title}): {filled} from it; any `key=value` overrides it."


def growth_text(report: Report) -> str:
    from costcore.text import growth_summary

    g = report.growth
    lines = [f"*Growth* ({len(g.months)} months): {growth_summary(report)}"]
    for totals in (g.totals_12, g.totals_24):
        if totals is not None:
            lines.append(
                f"• First {totals.months} months: baseline {money(totals.baseline_cost)}, self-host "
                f"{money(totals.selfhost_cost)} + {money(totals.one_time)} one-time: net {money(totals.net)}"
            )
    return "\n".join(lines)


def factor_lines(report: Report) -> list[str]:
    return [f"• *{f.factor}* ({FAVOURS[f.favours]}): API: {f.api}. Self-host: {f.selfhost}." for f in report.factors]


def next_step_text(report: Report) -> str:
    step = report.next_step
    commands = " · ".join(f"`{c}`" if not c.startswith("Slack: ") else c.removeprefix("Slack: ") for c in step.commands)
    return f":arrow_right: *Next step*: {step.action}" + (f"\n{commands}" if commands else "")


def assumption_lines(report: Report) -> list[str]:
    lines = []
    for a in report.assumptions:
        mark = " _(yours)_" if a.custom else ""
        source = f" — {a.source}" if a.source and not a.custom else ""
        note = f": {a.note}" if a.note else ""
        lines.append(f"• `{a.key}` = {a.value}{mark}{note}{source}")
    return lines


def report_blocks(
    report: Report, analysis_id: int | None, *, chart_note: str | None = None, buttons: bool = True
) -> list[dict]:
    """The verdict message: headline first, the numbers, why, assumptions, what-if buttons."""
    emoji = {"BUY": ":white_check_mark:", "RENT": ":cloud:", "HYBRID": ":left_right_arrow:"}[report.verdict]
    blocks: list[dict] = [
        _section(f"{emoji} *{report.headline}*"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in key_numbers(report)]},
    ]
    if report.template:
        blocks.append(_context(template_note(report)))
    compared = [report.compared]
    if report.capacity is not None:
        measured = " (your measured capacity)" if report.capacity.source == "measured" else ""
        compared.append(f"Sizing{measured}: {report.capacity.summary}.")
    blocks.append(_context("\n".join(compared)))
    reasons = [f"• {r}" for r in report.reasons]
    if report.manual:
        m = report.manual
        reasons.append(
            f"• By hand today {money(m.manual_monthly_cost)} a month; with the model "
            f"{money(m.future_monthly_cost)}; first-year ROI {percent(m.first_year_roi)}."
        )
    if report.failure:
        f = report.failure
        limit = "never" if f.breakeven_fail_ft is None else f"{f.breakeven_fail_ft:.1%}"
        baseline = "by hand" if report.baseline == "manual" else "API"
        reasons.append(
            f"• Failure-adjusted: {baseline} {money(f.api_monthly_cost)}, self-host {money(f.selfhost_monthly_cost)} "
            f"a month; buying stops paying at a {limit} fine-tuned failure rate."
        )
    what_ifs = "; ".join(
        f"{w.name}: {money(w.monthly_savings)} a month, {w.verdict}" for w in report.sensitivity.what_ifs
    )
    reasons.append(f"• What if: {what_ifs}. Moves the answer most: *{report.sensitivity.most_influential}*.")
    hidden = [line for line in report.hidden_costs if line.hidden]
    if hidden:
        reasons.append("• Hidden one-time costs: " + ", ".join(f"{line.name} {money(line.amount)}" for line in hidden))
    blocks += [_section(text) for text in _chunks(["*Why*", *reasons])]
    if report.growth:
        blocks.append(_section(growth_text(report)))
    if report.factors:
        blocks += [_section(text) for text in _chunks(["*Beyond cost*", *factor_lines(report)])]
    if report.pitfalls:
        blocks += [_section(text) for text in _chunks(["*Pitfalls*", *(f"• {p}" for p in report.pitfalls)])]
    if report.notes:
        blocks += [_section(text) for text in _chunks(["*Notes*", *(f"• {n}" for n in report.notes)])]
    assumptions = _chunks(["*Assumptions* (change any with `key=value`)", *assumption_lines(report)])
    blocks += [_section(text) for text in assumptions[:6]]
    if report.next_step:
        blocks.append(_section(next_step_text(report)))
    if buttons and analysis_id is not None:
        value = str(analysis_id)
        blocks.append(
            {
                "type": "actions",
                "block_id": "analysis_actions",
                "elements": [
                    _button(WHATIF_DOUBLE, "What if volume x2", value),
                    _button(WHATIF_HALF, "What if volume x0.5", value),
                    _button(EDIT, "Edit assumptions", value, "primary"),
                    _button(AUDIT, "Hidden-cost audit", value),
                ],
            }
        )
    footer = f"Analysis #{analysis_id} · `/breakeven show {analysis_id}`" if analysis_id is not None else ""
    if chart_note:
        footer = f"{footer} · {chart_note}" if footer else chart_note
    if footer:
        blocks.append(_context(footer))
    return blocks[:MAX_BLOCKS]


def error_blocks(message: str) -> list[dict]:
    return [_section(f":warning: {message}")]


USE_CASES = ", ".join(f"`{name}`" for name in template_names())
HELP = f"""*`/breakeven`: rent an LLM API per token, or fine-tune and self-host?*
• `/breakeven {EXAMPLE}`: analyse a scenario (key=value pairs)
• `/breakeven volume=50k/day api=gpt-4o-mini host_price=0.2 prompt_cut=80%`: a per-token host of open models
• `/breakeven volume=10000 manual_h=3min manual_rate=$50/h server=$400`: against doing the task by hand
• `/breakeven use=support-chatbot volume=2M`: start from a use case (its tokens, volume and needs), any key overrides
• `/breakeven use=ticket-tagging growth=10%/month`: volume growing 10% a month, costs month by month over 24 months
• `/breakeven` or `/breakeven form`: a guided form
• `/breakeven history [N]`: this channel's recent analyses (only you see it)
• `/breakeven show ID`, `/breakeven compare ID ID`
• `/breakeven audit`: a guided hidden-cost audit
• `/breakeven recheck`: this channel's decisions again, with today's prices and the volume your spend shows
• `/breakeven budget $5,000/month [model=gpt-4o]`: a monthly budget here, with alerts; `/breakeven spend`: forecasts
Use cases: {USE_CASES}.
Numbers: `10k`, `2.5M`, `$1,200`, `80%`; rates `/day`, `/month`, `/h`; units `tokens/day`, `tok/s`, `qps`."""


@cache
def _help_blocks() -> tuple[Finalized, ...]:
    keys = [f"`{k.name}` {k.help} (`{k.example}`)" for k in KEYS.values()]
    return tuple(Finalized(finalize(block)) for block in (_section(HELP), *map(_section, _chunks(["*Keys*", *keys]))))


def help_blocks() -> list[dict]:
    # Escaped once and shared by every reply, not copied: the Web API client serialises them as they
    # are and nothing changes them (walking the keys table on every reply cost more than the reply's
    # own work).
    return list(_help_blocks())


def _rent(report: dict) -> str:
    """What a stored analysis weighed buying against, and its bill: "API $X" or "by hand $X"."""
    what = "by hand" if report.get("baseline") == "manual" else "API"
    return f"{what} {money(report.get('baseline_monthly_cost', report.get('api_monthly_cost')))}"


def history_blocks(rows: list, audits: list[dict]) -> list[dict]:
    if not rows and not audits:
        return [_section("No analyses in this channel yet. Try `/breakeven " + EXAMPLE + "`")]
    lines = ["*Recent analyses in this channel*"]
    for a in rows:
        r = a.report
        be = r.get("breakeven_requests_per_month")
        be_text = "never" if be is None else count(be)
        lines.append(
            f"`#{a.id}` {a.created[:16].replace('T', ' ')} {mention(a.user)} *{a.verdict}*: "
            f"{_rent(r)} vs self-host {money(r['selfhost_monthly_cost'])} a month, "
            f"break-even {be_text}, payback {months(r.get('payback_months'))}"
        )
        if getattr(a, "asked", None):  # asked in plain words: what was asked, then the line that ran
            lines.append(f"      asked “{a.asked[:200]}” → ran `{a.text[:300]}`")
    if audits:
        lines.append("*Hidden-cost audits*")
        for audit in audits:
            res = audit["result"]
            tied = f" for #{audit['analysis_id']}" if audit["analysis_id"] else ""
            lines.append(
                f"`audit {audit['id']}`{tied} {audit['created'][:16].replace('T', ' ')} {mention(audit['user'])}: "
                f"{money(res['realistic_low'])} - {money(res['realistic_high'])} one-time"
            )
    return [_section(text) for text in _chunks(lines)][:MAX_BLOCKS]


def compare_blocks(first, second) -> list[dict]:
    a, b = first.report, second.report

    def each(label: str, fmt) -> str:
        return f"*{label}*: #{first.id} {fmt(a)} · #{second.id} {fmt(b)}"

    def row(label: str, key: str, fmt) -> str:
        return each(label, lambda r: fmt(r.get(key)))

    def per_month(r: dict, key: str) -> str:
        return "never" if r.get(key) is None else f"{count(r[key])} {volume_unit(r.get('baseline', 'api'))}/mo"

    lines = [
        f"*Comparing #{first.id} and #{second.id}*",
        f"*Verdict*: #{first.id} {a['verdict']} · #{second.id} {b['verdict']}",
        each("Volume", lambda r: per_month(r, "requests_per_month")),
        each("Rent", _rent),
        row("Buy (self-host)", "selfhost_monthly_cost", money),
        row("Monthly savings", "monthly_savings", money),
        row("One-time cost", "one_time_cost", money),
        each("Break-even", lambda r: per_month(r, "breakeven_requests_per_month")),
        row("Payback", "payback_months", months),
        row("First-year ROI", "first_year_roi", percent),
    ]
    return [
        _section("\n".join(lines)),
        _context(f"#{first.id}: {a['headline'][:900]}\n#{second.id}: {b['headline'][:900]}"),
    ]


def audit_blocks(
    result,
    original: Report | None = None,
    audited: Report | None = None,
    audit_id: int | None = None,
    chart_note: str | None = None,
) -> list[dict]:
    """An audit's answer: the realistic range first, then the lines, pitfalls, and the re-run verdict."""
    low, _mid, high = result.multiplier
    complexity = result.input.complexity
    blocks = [
        _section(
            f":ice_cube: *Realistic one-time cost: {money(result.realistic_low)} - {money(result.realistic_high)}* "
            f"(base {money(result.base_one_time)} x {low:g}-{high:g} for a {complexity} task). "
            f"Training compute is {result.training_share:.1%} of the base; people's time is the rest."
        ),
    ]
    lines = [f"• {line.name}: {money(line.amount)} ({line.detail})" for line in result.lines]
    lines.append(f"• Operations: {result.ops_hours_monthly:g} h a month = {money(result.ops_monthly_cost)} a month")
    blocks += [_section(text) for text in _chunks(["*Lines*", *lines])]
    pitfalls = [f"• {p}" for p in result.pitfalls] or ["• None found: this budget covers the usual traps."]
    blocks += [_section(text) for text in _chunks(["*Pitfalls*", *pitfalls])]
    if original is not None and audited is not None:

        def pair(label: str, a: str, b: str) -> str:
            return f"*{label}*: {a} → {b}"

        blocks.append(
            _section(
                "\n".join(
                    [
                        "*As analysed → audited*",
                        pair("Verdict", original.verdict, audited.verdict),
                        pair("One-time cost", money(original.one_time_cost), money(audited.one_time_cost)),
                        pair(
                            "Self-host a month",
                            money(original.selfhost_monthly_cost),
                            money(audited.selfhost_monthly_cost),
                        ),
                        pair("Monthly savings", money(original.monthly_savings), money(audited.monthly_savings)),
                        pair("Payback", months(original.payback_months), months(audited.payback_months)),
                        pair("First-year ROI", percent(original.first_year_roi), percent(audited.first_year_roi)),
                        f"_{audited.headline}_",
                    ]
                )
            )
        )
    footer = f"Audit {audit_id}" if audit_id is not None else ""
    if chart_note:
        footer = f"{footer} · {chart_note}" if footer else chart_note
    if footer:
        blocks.append(_context(footer))
    return blocks[:MAX_BLOCKS]

