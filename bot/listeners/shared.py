"""What more than one listener module needs: where an answer goes, the form and the audit's modal.

Every listener module imports this one and none imports another listener module, so there is no
import circle (commands -> audit -> actions -> commands was one).
"""

from __future__ import annotations

from slack_sdk import WebClient

from costcore import Scenario
from costcore.grammar import EXAMPLE, GrammarError

from ..audit_flow import STEP_TITLES, AuditState, audit_view
from ..delivery import Where, slack_reason
from ..form import form_view
from ..service import Bot

RESUME, START_OVER, HOME = "audit_resume", "audit_new", "audit_home"


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
) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=form_view(where.channel, scenario, analysis_id))
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
