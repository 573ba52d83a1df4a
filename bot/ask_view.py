"""Block Kit for asking in plain words: the confirmation (what was understood, Run / Edit / Cancel),
a follow-up's changes with the verdict before them, and the Messages tab's suggested prompts.

Pure dicts from stored data (a question's understanding as costcore.ask.Understood.to_json() made
it), so a job resumed after a crash renders the same message. The user's words are quoted here as
data: like every text, they are escaped on their way out (render.finalize, in the bot's client).
"""

from __future__ import annotations

from costcore.ask import MAIN_DEFAULTS
from costcore.defaults import DEFAULTS
from costcore.format import count, money, months

RUN, EDIT, CANCEL = "ask_run", "ask_edit", "ask_cancel"

PROMPTS = [
    {
        "title": "A support bot on gpt-4o",
        "message": "We answer about 40k support tickets a month with gpt-4o, prompts around 1,500 tokens and "
        "answers of 300; would a fine-tuned 8B on an L4 pay off?",
    },
    {
        "title": "Work done by hand today",
        "message": "Today we tag 12,000 invoices a month by hand; each takes about 3 minutes and an hour of that "
        "work costs $40. Would a fine-tuned model pay off?",
    },
    {
        "title": "If API prices halve",
        "message": "We send 2M requests a month to gpt-4o with 1,500-token prompts and 200-token answers. How does "
        "break-even move if API prices halve?",
    },
    {
        "title": "What does our budget miss?",
        "message": "Our fine-tuning budget: 30 hours to collect data, 15 hours for an eval set, one training run at "
        "$40, engineers at $90/h. What are we missing?",
    },
]
GRAMMAR_PROMPTS = [
    {"title": "A support bot on gpt-4o", "message": "volume=40k/month in=1500 out=300 api=gpt-4o gpu=l4 params=8B"},
    {"title": "Work done by hand today", "message": "volume=12000/month manual_h=3min manual_rate=$40/h"},
    {"title": "A use case, growing", "message": "use=support-chatbot volume=2M/month growth=10%/month"},
    {"title": "Every key, with examples", "message": "help"},
]


def prompts(asking: bool) -> list[dict]:
    """Suggested prompts: questions in words where a model reads them, else grammar that works as is."""
    return PROMPTS if asking else GRAMMAR_PROMPTS


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(action_id: str, text: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}
    if style:
        button["style"] = style
    return button


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= limit else text[: limit - 1] + "…") + "”"


def welcome_text(asking: bool, why_off: str) -> str:
    lines = [
        "*breakeven* tells you whether to keep renting an LLM API per token or to fine-tune a small open model "
        "and serve it yourself, with the numbers. Try one of these:"
    ]
    lines += [f"• {p['message']}" for p in prompts(asking)[:3]]
    if not asking:
        lines.append(why_off)
    return "\n".join(lines)


def usage_text(usage: dict) -> str:
    if not usage:
        return ""
    cost = "not in the price catalogue" if usage.get("cost") is None else f"${usage['cost']:.4f}"
    return (
        f"Read by {usage.get('model')} at {usage.get('server')}: {usage.get('tokens_in', 0):,} + "
        f"{usage.get('tokens_out', 0):,} tokens, {cost}, {usage.get('latency_s', 0):.1f} s."
    )


def defaults_text(defaults: list[dict]) -> str:
    main = [d for d in defaults if d["key"] in MAIN_DEFAULTS]
    rest = [d for d in defaults if d["key"] not in MAIN_DEFAULTS]
    parts = [f"`{d['key']}` {d['value']}" for d in main]
    if rest:
        parts.append("the typical one-time and running costs of a fine-tuning project")
    return "_Left to defaults:_ " + ", ".join(parts) + "." if parts else ""


def _problems(understood: dict) -> list[str]:
    lines = []
    missing = understood.get("not_in_message") or []
    if missing:
        lines.append(
            ":grey_question: *Not in your message*, so left out: "
            + "; ".join(f"`{d['key']}={d['value']}` ({_quote(d['words'], 80)})" for d in missing)
        )
    for d in understood.get("refused") or []:
        lines.append(f":warning: *Could not be used*: `{d['key']}={d['value']}`: {d['reason']}")
    return lines


def confirm_blocks(ask_id: int, asked: str, understood: dict, usage: dict, masked: int = 0) -> list[dict]:
    """What was understood, in words and as the grammar line, the defaults, and Run / Edit / Cancel."""
    audit = understood.get("runs_audit", False)
    kept = understood.get("understood") or []
    lines = [f":speech_balloon: *Here is what I understood* from {_quote(asked)}:"]
    lines += [f"• `{k['key']}={k['value']}` from {_quote(k['words'], 120)}" for k in kept]
    blocks = [_section("\n".join(lines))]
    problems = _problems(understood)
    if problems:
        blocks.append(_section("\n".join(problems)))
    if audit:
        run = f"*Run* opens the hidden-cost audit with these lines filled: `{understood['audit_line']}`"
        if understood.get("line"):
            run += f"\nThe scenario in your message: `/breakeven {understood['line']}`"
    else:
        run = f"*Run* analyses: `/breakeven {understood.get('line')}`"
        if understood.get("audit_line"):
            run += f"\nAudit lines in your message: `/breakeven audit`, then `{understood['audit_line']}`"
        if understood.get("intent") == "sensitivity":
            run += (
                "\nYou asked how the answer moves: the verdict's *What if* line (API prices -50%, "
                "infrastructure x2, ...) and *Moves the answer most* say it."
            )
    blocks.append(_section(run))
    defaults = defaults_text(understood.get("defaults") or [])
    if defaults and not audit:
        blocks.append(_context(defaults))
    value = str(ask_id)
    blocks.append(
        {
            "type": "actions",
            "block_id": "ask_confirm",
            "elements": [
                _button(RUN, "Run", value, "primary"),
                _button(EDIT, "Edit", value),
                _button(CANCEL, "Cancel", value),
            ],
        }
    )
    note = usage_text(usage)
    only = "Only your message left" + (f", with {masked} key(s) or token(s) masked" if masked else "") + "."
    blocks.append(_context(f"{note} {only}".strip()))
    return blocks


def nothing_understood_blocks(asked: str, understood: dict, usage: dict, example: str) -> list[dict]:
    lines = [f"I found no figure I could use in {_quote(asked)}."]
    lines += _problems(understood)
    lines.append(
        f"Say what you run and at what volume (for example: _{PROMPTS[0]['message']}_), or type the scenario as "
        f"`key=value` pairs: `/breakeven {example}`. `/breakeven help` lists every key."
    )
    blocks = [_section("\n".join(lines))]
    if usage:
        blocks.append(_context(usage_text(usage)))
    return blocks


def settled_blocks(asked: str, line: str, outcome: str) -> list[dict]:
    """The confirmation once Run, Edit or Cancel was clicked: the buttons go."""
    return [_section(f"{outcome}\n{_quote(asked, 200)} → `{line}`" if line else f"{outcome}\n{_quote(asked, 200)}")]


def _verdict(report: dict) -> str:
    be = report.get("breakeven_requests_per_month")
    manual = report.get("baseline") == "manual"
    be_text = "never" if be is None else f"{count(be)} {'tasks' if manual else 'requests'}/mo"
    savings = report.get("monthly_savings") or 0.0
    if savings >= 0:
        money_text = f"buying saves {money(savings)} a month, payback {months(report.get('payback_months'))}"
    else:
        money_text = f"{'work by hand' if manual else 'the API'} is cheaper by {money(-savings)} a month"
    return f"*{report.get('verdict')}*: {money_text}, break-even {be_text}"


def follow_up_blocks(question: str, changes: list[dict], understood: dict, before_id: int, before: dict, now: dict):
    """Above a follow-up's verdict: what changed (`gpu: a10g -> h100`) and the verdict before beside the new."""
    lines = [f":arrows_counterclockwise: *What if* {_quote(question, 200)}"]
    for change in changes:
        old = change.get("old")
        if old is None and change.get("replaced"):
            old = " ".join(change["replaced"])
        elif old is None:
            default = DEFAULTS.get(change["key"])
            old = f"default ({default.shown})" if default else "not set"
        lines.append(f"• `{change['key']}`: {old} → {change['new']}")
    lines += _problems(understood)
    return [
        _section("\n".join(lines)),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Before* (#{before_id})\n{_verdict(before)}"},
                {"type": "mrkdwn", "text": f"*Now*\n{_verdict(now)}"},
            ],
        },
        {"type": "divider"},
    ]
