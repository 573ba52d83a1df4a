"""The guided hidden-cost audit: started from a verdict's button, `/breakeven audit` or the Home tab;
five steps in one modal (views.update, never pushed); a closed modal keeps a draft to resume."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from costcore import Report, Scenario, analyze
from costcore.audit import audited_scenario, run_audit

from ..audit_flow import BACK_ACTION, CALLBACK_ID, STEP_TITLES, AuditState, audit_view, read_step
from ..render import AUDIT, audit_blocks, home_view
from ..service import Bot, Where, slack_reason, tell

log = logging.getLogger("breakeven.bot")
RESUME, START_OVER, HOME = "audit_resume", "audit_new", "audit_home"


def register(app: App, bot: Bot) -> None:
    @app.action(AUDIT)
    def from_verdict(ack, body, client):
        ack()
        bot.later(start_for_analysis, bot, client, body)

    @app.action(RESUME)
    def resume(ack, body, client):
        ack()
        bot.later(open_audit, bot, client, body, resume_draft=True, channel=body["actions"][0].get("value"))

    @app.action(START_OVER)
    def start_over(ack, body, client):
        ack()
        bot.later(open_audit, bot, client, body, resume_draft=False, channel=body["actions"][0].get("value"))

    @app.action(HOME)
    def from_home(ack, body, client):
        ack()
        # From the Home tab there is no channel: the answer goes to the user's DM with the app.
        resume_draft = body["actions"][0].get("value") == "resume"
        bot.later(open_audit, bot, client, body, resume_draft=resume_draft, channel=None)

    @app.action(BACK_ACTION)
    def back(ack, body, client):
        ack()
        view = body["view"]
        state = AuditState.load(view.get("private_metadata"))
        state.step = max(0, state.step - 1)
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=audit_view(state))

    @app.view(CALLBACK_ID)
    def step_submitted(ack, body, view, client):
        team, user = _team_user(body)
        state, errors = read_step(AuditState.load(view.get("private_metadata")), view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=errors)
            return
        if state.step < len(STEP_TITLES) - 1:
            state.step += 1
            # Saved in order, before the ack (a millisecond): a later step must never be overwritten
            # by an earlier one finishing late on the worker pool.
            bot.store.save_draft(team, user, state.dump())
            ack(response_action="update", view=audit_view(state))
            return
        ack()
        delivery = f"{team}:audit:{view.get('id')}:{view.get('hash')}"
        bot.later(finish, bot, client, team, user, state, delivery)

    @app.view_closed(CALLBACK_ID)
    def closed(ack, body, view):
        team, user = _team_user(body)
        bot.store.save_draft(team, user, view.get("private_metadata") or "{}")
        ack()

    @app.event("app_home_opened")
    def home(event, body, client):
        team = body.get("team_id") or ""
        user = event.get("user") or ""
        bot.later(_publish_home, bot, client, team, user)


def _team_user(body: dict) -> tuple[str, str]:
    team = (body.get("team") or {}).get("id") or (body.get("view") or {}).get("team_id") or ""
    return team, (body.get("user") or {}).get("id") or ""


def _publish_home(bot: Bot, client: WebClient, team: str, user: str) -> None:
    client.views_publish(user_id=user, view=home_view(bot.store.draft(team, user) is not None))


def _open(client: WebClient, trigger_id: str, state: AuditState, where: Where) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=audit_view(state))
    except Exception as exc:
        tell(client, where, f"The audit could not be opened ({slack_reason(exc)}). Try `/breakeven audit` again.")


def start_audit_from_command(bot: Bot, client: WebClient, body: dict, where: Where) -> None:
    draft = bot.store.draft(where.team, where.user)
    if draft is not None:
        saved = AuditState.load(draft)
        text = f"You have an audit draft at step {saved.step + 1} of {len(STEP_TITLES)}. Resume it, or start over?"
        client.chat_postEphemeral(
            channel=where.channel,
            user=where.user,
            text=text,
            blocks=[
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
        return
    _open(client, body.get("trigger_id"), AuditState(channel=where.channel), where)


def start_for_analysis(bot: Bot, client: WebClient, body: dict) -> None:
    from .actions import where_from_action

    where = where_from_action(body)
    try:
        analysis_id = int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError):
        return
    found = bot.store.analysis(where.team, where.channel, analysis_id)
    if found is None:
        tell(client, where, f"Analysis #{analysis_id} is not in this channel's history any more.")
        return
    state = AuditState(channel=where.channel, thread_ts=found.message_ts, analysis_id=found.id)
    _open(client, body.get("trigger_id"), state, where)


def open_audit(bot: Bot, client: WebClient, body: dict, *, resume_draft: bool, channel: str | None) -> None:
    """Open the audit fresh or from the user's draft; it answers in `channel`, or the user's DM."""
    team, user = _team_user(body)
    where = Where(team=team, channel=channel or user, user=user, delivery="")
    draft = bot.store.draft(team, user) if resume_draft else None
    if not resume_draft:
        bot.store.drop_draft(team, user)
    state = AuditState.load(draft) if draft else AuditState()
    state.channel = state.channel or where.channel
    _open(client, body.get("trigger_id"), state, where)


def finish(bot: Bot, client: WebClient, team: str, user: str, state: AuditState, delivery: str) -> None:
    answers = state.input()
    result = run_audit(answers)
    where = Where(team=team, channel=state.channel or user, user=user, delivery=delivery, thread_ts=state.thread_ts)
    original = audited = None
    if state.analysis_id is not None:
        found = bot.store.analysis(team, where.channel, state.analysis_id)
        if found is not None:
            original = Report.model_validate(found.report)
            audited = analyze(audited_scenario(Scenario.model_validate(found.scenario), answers))
    audit_id = bot.store.claim_audit(
        delivery=delivery,
        team=team,
        channel=where.channel,
        user=user,
        analysis_id=state.analysis_id,
        answers=state.answers,
        result=result.model_dump(mode="json"),
    )
    if audit_id is None:
        return
    blocks = audit_blocks(result, original, audited, audit_id)
    headline = f"Hidden-cost audit: {result.realistic_low:,.0f} - {result.realistic_high:,.0f} USD one-time"
    try:
        response = client.chat_postMessage(
            channel=where.channel, thread_ts=where.thread_ts, text=headline, blocks=blocks
        )
    except Exception as exc:
        bot.store.forget_audit(audit_id)
        tell(
            client,
            where,
            f"The audit could not be posted ({slack_reason(exc)}); your draft is kept. "
            "Run `/breakeven audit` to resume it.",
        )
        bot.store.save_draft(team, user, state.dump())
        return
    bot.store.set_audit_ts(audit_id, response["ts"])
    bot.store.drop_draft(team, user)
    from costcore.charts import audit_iceberg_chart

    try:
        client.files_upload_v2(
            channel=where.channel,
            thread_ts=where.thread_ts or response["ts"],
            content=audit_iceberg_chart(result),
            filename=f"audit-{audit_id}.png",
            title=f"Cost iceberg, audit {audit_id}",
        )
    except Exception as exc:
        note = f":warning: The iceberg chart could not be attached ({slack_reason(exc)})."
        try:
            client.chat_update(
                channel=where.channel,
                ts=response["ts"],
                text=headline,
                blocks=audit_blocks(result, original, audited, audit_id, chart_note=note),
            )
        except Exception as update_exc:
            log.warning("could not note the missing chart: %s", slack_reason(update_exc))
