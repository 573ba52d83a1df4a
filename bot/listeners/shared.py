"""What more than one listener module needs: where an answer goes, the form and the audit's modal.

Every listener module imports this one and none imports another listener module, so there is no
import circle (commands -> audit -> actions -> commands was one).
"""

from __future__ import annotations

import re

from slack_sdk import WebClient

from costcore import Scenario
from costcore.ask import is_grammar
from costcore.grammar import EXAMPLE, GrammarError

from ..audit_flow import STEP_TITLES, AuditState, audit_view
from ..delivery import Where, slack_reason
from ..form import form_view
from ..service import Bot

RESUME, START_OVER, HOME = "audit_resume", "audit_new", "audit_home"
SUBCOMMANDS = {
    "", "form", "help", "history", "show", "compare", "spend", "weekly", "audit", "measure", "recheck", "budget",
}  # fmt: skip
# answered on the fast lane: they never wait behind analyses and charts (a re-check runs every analysis again)
CHEAP = SUBCOMMANDS - {"measure", "recheck"}
# Subcommand words a sentence may well start with ("compare renting gpt-4o with..."): with a model to read
# words, such a sentence is a question, unless what follows is what the subcommand takes.
SENTENCE_STARTS = {"form", "help", "history", "show", "compare", "audit", "budget"}
_TAKES = {
    "history": re.compile(r"\d*"),
    "show": re.compile(r"#?\d+"),
    "compare": re.compile(r"#?\d+\s+#?\d+"),
    # `budget $5,000/month model=gpt-4o at=50%,90%`, `budget off model=gpt-4o`: an amount and key=value pairs
    "budget": re.compile(r"(off|\$?[\d.,]+\s*[kKmM]?\s*(/\s*[a-z]+|\s+a\s+[a-z]+)?)?(\s+[a-z]+\s*=\s*\S+)*", re.I),
}


def asking(bot: Bot):
    """The model settings when asking in plain words is on (bot/llm_client.LLMSettings), else None."""
    settings = getattr(bot.settings, "llm", None)
    return settings if settings is not None and settings.configured else None


def why_off(bot: Bot) -> str:
    from ..llm_client import LLMSettings

    return (getattr(bot.settings, "llm", None) or LLMSettings.model_construct()).why_off


def route(text: str, asking: bool) -> str:
    """What `/breakeven TEXT` (or a direct message) is: "subcommand" (help, history, show...), "grammar"
    (key=value pairs from the first word) or "words" (anything else: a question for the model).

    Without a model, nothing that worked before changes: subcommands stay subcommands, and text with
    a `=` in it is read as grammar, whose error says what is wrong with it."""
    word, _, rest = text.strip().partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in SUBCOMMANDS:
        if asking and word in SENTENCE_STARTS and len(re.findall(r"[A-Za-z]{2,}", rest)) >= 3:
            takes = _TAKES.get(word)
            if takes is None or not takes.fullmatch(rest):
                return "words"
        return "subcommand"
    if is_grammar(text) or ("=" in text and not asking):
        return "grammar"
    return "words"


def lane_for(text: str, kind: str) -> str:
    return "fast" if kind == "subcommand" and text.strip().partition(" ")[0].lower() in CHEAP else "slow"


def slack_unescape(text: str) -> str:
    """Slack sends typed &, < and > as entities; the bot works on what the user typed (and escapes
    it again, with everything else, on the way out)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def where_from_command(body: dict) -> Where:
    team = body.get("team_id") or ""
    return Where(
        team=team,
        channel=body.get("channel_id") or "",
        user=body.get("user_id") or "",
        delivery=f"{team}:command:{body.get('trigger_id')}",
        response_url=body.get("response_url"),
    )


def where_from_action(body: dict) -> Where:
    team = (body.get("team") or {}).get("id") or (body.get("view") or {}).get("team_id") or ""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Where(
        team=team,
        channel=channel,
        user=(body.get("user") or {}).get("id") or "",
        delivery=f"{team}:action:{body.get('trigger_id')}",
        response_url=body.get("response_url"),
    )


def action_payload(body: dict) -> dict:
    """What an action's job needs (never the whole body: it holds the legacy verification token)."""
    action = (body.get("actions") or [{}])[0]
    view = body.get("view") or {}
    return {
        "action_id": action.get("action_id"),
        "value": action.get("value"),
        "trigger_id": body.get("trigger_id"),
        "view": {k: view.get(k) for k in ("id", "hash", "private_metadata")} if view else None,
    }


def open_form(
    bot: Bot,
    client: WebClient,
    trigger_id: str | None,
    where: Where,
    scenario: Scenario | None = None,
    analysis_id: int | None = None,
    *,
    ask_id: int | None = None,
) -> None:
    try:
        view = form_view(where.channel, scenario, analysis_id, ask_id=ask_id, sheet=bot.sheet)
        client.views_open(trigger_id=trigger_id, view=view)
    except Exception as exc:
        bot.tell(
            client,
            where,
            f"The form could not be opened ({slack_reason(exc)}). Type the scenario instead: `/breakeven {EXAMPLE}`",
        )


def open_audit_modal(bot: Bot, client: WebClient, trigger_id: str | None, state: AuditState, where: Where) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=audit_view(state))
    except Exception as exc:
        bot.tell(client, where, f"The audit could not be opened ({slack_reason(exc)}). Try `/breakeven audit` again.")


def load_draft(bot: Bot, client: WebClient, where: Where) -> AuditState | None:
    """The user's audit draft, or None; a draft that no longer reads is dropped, and the user told."""
    draft = bot.store.draft(where.team, where.user)
    if draft is None:
        return None
    try:
        state = AuditState.load(draft)
        state.input()
    except (GrammarError, ValueError, TypeError) as exc:
        bot.store.drop_draft(where.team, where.user)
        bot.tell(client, where, f"Your audit draft could not be read ({exc}); it was dropped. Start again.")
        return None
    return state


def offer_or_open_audit(bot: Bot, client: WebClient, trigger_id: str | None, where: Where) -> None:
    """`/breakeven audit`: offer to resume a draft, or open a new audit."""
    saved = load_draft(bot, client, where)
    if saved is None:
        open_audit_modal(bot, client, trigger_id, AuditState(channel=where.channel), where)
        return
    text = f"You have an audit draft at step {saved.step + 1} of {len(STEP_TITLES)}. Resume it, or start over?"
    bot.reply(
        client,
        where,
        text,
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "block_id": "audit_draft",
                "elements": [
                    {
                        "type": "button",
                        "action_id": RESUME,
                        "text": {"type": "plain_text", "text": "Resume draft"},
                        "value": where.channel,
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": START_OVER,
                        "text": {"type": "plain_text", "text": "Start over"},
                        "value": where.channel,
                    },
                ],
            },
        ],
    )
