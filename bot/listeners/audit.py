"""The guided hidden-cost audit: started from a verdict's button, `/breakeven audit` or the Home tab;
five steps in one modal (views.update, never pushed); a closed modal keeps a draft to resume."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from costcore import Report, Scenario, analyze
from costcore.audit import AuditResult, audited_scenario, run_audit

from ..audit_flow import BACK_ACTION, CALLBACK_ID, STEP_TITLES, AuditState, audit_view, read_step
from ..delivery import Unconfirmed, Where, slack_reason, unconfirmed, undelivered
from ..jobs import Job
from ..render import AUDIT, audit_blocks, finalize, safe_errors
from ..service import Bot, share_chart_once, work
from .shared import HOME, RESUME, START_OVER, action_payload, load_draft, open_audit_modal, where_from_action

log = logging.getLogger("breakeven.bot")


def register(app: App, bot: Bot) -> None:
    @app.action(AUDIT)
    def from_verdict(ack, body):
        bot.enqueue("audit_for_analysis", where_from_action(body), action_payload(body))
        ack()

    @app.action(RESUME)
    @app.action(START_OVER)
    @app.action(HOME)
    def open_clicked(ack, body):
        where = where_from_action(body)
        action = action_payload(body)
        if action["action_id"] == HOME:
            where.channel = ""  # from the Home tab the answer goes to the user's DM with the app
        bot.enqueue("audit_open", where, action)
        ack()

    @app.action(BACK_ACTION)
    def back(ack, body):
        # Ack first: views.update waits for a worker, never the HTTP answer Slack is timing.
        bot.enqueue("audit_back", where_from_action(body), action_payload(body))
        ack()

    @app.view(CALLBACK_ID)
    def step_submitted(ack, body, view):
        team, user = _team_user(body)
        state, errors = read_step(AuditState.load(view.get("private_metadata")), view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=safe_errors(errors))
            return
        if state.step < len(STEP_TITLES) - 1:
            state.step += 1
            # Saved in order, before the ack (a millisecond): a later step must never be overwritten
            # by an earlier one finishing late on a worker.
            bot.store.save_draft(team, user, state.dump())
            ack(response_action="update", view=finalize(audit_view(state)))
            return
        where = Where(
            team=team,
            channel=state.channel or user,
            user=user,
            delivery=f"{team}:audit:{view.get('id')}:{view.get('hash')}",
        )
        bot.enqueue("audit_finish", where, {"state": state.dump()}, lane="slow")
        ack()

    @app.view_closed(CALLBACK_ID)
    def closed(ack, body, view):
        team, user = _team_user(body)
        bot.store.save_draft(team, user, view.get("private_metadata") or "{}")
        ack()

    @app.event("app_home_opened")
    def home(ack, event, body):
        # The one app_home_opened listener (Bolt runs only the first that matches): one branch a tab.
        team = body.get("team_id") or ""
        user = event.get("user") or ""
        delivery = f"{team}:event:{body.get('event_id')}"
        tab = event.get("tab") or "home"
        if tab == "messages":  # the conversation with the app: suggested prompts (bot/listeners/ask.py)
            channel = event.get("channel") or ""
            bot.enqueue("ask_welcome", Where(team=team, channel=channel, user=user, delivery=delivery), {})
        elif tab == "home":  # the Home tab's view (bot/home.py, published by bot/listeners/home.py)
            bot.enqueue("home", Where(team=team, channel="", user=user, delivery=delivery), {})
        ack()


def _team_user(body: dict) -> tuple[str, str]:
    team = (body.get("team") or {}).get("id") or (body.get("view") or {}).get("team_id") or ""
    return team, (body.get("user") or {}).get("id") or ""


@work("audit_back")
def back_a_step(bot: Bot, client: WebClient, job: Job) -> None:
    view = job.payload.get("view") or {}
    state = AuditState.load(view.get("private_metadata"))
    state.step = max(0, state.step - 1)
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=audit_view(state))
    except Exception as exc:  # the modal moved on (hash_conflict) or was closed: nothing to go back in
        log.info("audit Back not applied: %s", slack_reason(exc))


@work("audit_for_analysis")
def start_for_analysis(bot: Bot, client: WebClient, job: Job) -> None:
    where = bot.where(job)
    value = job.payload.get("value") or ""
    if not (value.isdigit() and len(value) < 12):
        return
    found = bot.store.analysis(where.team, where.channel, int(value))
    if found is None:
        bot.tell(client, where, f"Analysis #{value} is not in this channel's history any more.")
        return
    state = AuditState(channel=where.channel, thread_ts=found.message_ts, analysis_id=found.id)
    open_audit_modal(bot, client, job.payload.get("trigger_id"), state, where)


@work("audit_open")
def open_audit(bot: Bot, client: WebClient, job: Job) -> None:
    """Resume the user's draft or start over; it answers in the button's channel, or the user's DM."""
    where = bot.where(job)
    channel = job.payload.get("value") if job.payload.get("action_id") != HOME else None
    where.channel = channel or where.channel or where.user
    resume = job.payload.get("action_id") == RESUME or job.payload.get("value") == "resume"
    state = load_draft(bot, client, where) if resume else None
    if not resume:
        bot.store.drop_draft(where.team, where.user)
    state = state or AuditState()
    state.channel = state.channel or where.channel
    open_audit_modal(bot, client, job.payload.get("trigger_id"), state, where)


@work("audit_finish")
def finish(bot: Bot, client: WebClient, job: Job) -> None:
    state = AuditState.load(job.payload["state"])
    team, user = job.team, job.user
    answers = state.input()
    result = run_audit(answers)
    where = bot.where(job)
    where.thread_ts = state.thread_ts
    original = audited = None
    if state.analysis_id is not None:
        found = bot.store.analysis(team, where.channel, state.analysis_id)
        if found is not None:
            original = Report.model_validate(found.report)
            audited = analyze(audited_scenario(Scenario.model_validate(found.scenario), answers), sheet=bot.sheet)
    audit_id, message_ts = bot.store.claim_audit(
        delivery=where.delivery,
        team=team,
        channel=where.channel,
        user=user,
        analysis_id=state.analysis_id,
        answers=state.answers,
        result=result.model_dump(mode="json"),
    )
    headline = f"Hidden-cost audit: {result.realistic_low:,.0f} - {result.realistic_high:,.0f} USD one-time"
    if message_ts:  # a resumed job: the audit is in the channel; its chart may not be yet
        attach_iceberg(bot, client, where, job, result, original, audited, audit_id, headline, message_ts)
        return
    blocks = audit_blocks(result, original, audited, audit_id)
    try:
        ts = bot.post(client, where, text=headline, blocks=blocks, job=job)
    except Unconfirmed as exc:  # it may be in the channel: the audit and the draft are kept
        bot.store.save_draft(team, user, state.dump())
        bot.tell(client, where, unconfirmed("The audit", exc))
        return
    except Exception as exc:
        bot.store.forget_audit(audit_id)
        bot.store.save_draft(team, user, state.dump())
        saved = "Your draft is kept: run `/breakeven audit` to resume it."
        bot.tell(client, where, undelivered(slack_reason(exc), "The audit", saved))
        return
    bot.store.set_audit_ts(audit_id, ts)
    bot.store.drop_draft(team, user)
    attach_iceberg(bot, client, where, job, result, original, audited, audit_id, headline, ts)


def attach_iceberg(
    bot: Bot,
    client: WebClient,
    where: Where,
    job: Job,
    result: AuditResult,
    original: Report | None,
    audited: Report | None,
    audit_id: int,
    headline: str,
    ts: str,
) -> None:
    """The audit's iceberg chart in its thread, once per job; if that fails the audit says so."""
    from costcore.charts import audit_iceberg_chart

    problem = share_chart_once(
        bot,
        client,
        where,
        job,
        thread_ts=where.thread_ts or ts,
        filename=f"audit-{audit_id}.png",
        render=lambda: audit_iceberg_chart(result),
        title=f"Cost iceberg, audit {audit_id}",
    )
    if problem is None:
        return
    note = f":warning: The iceberg chart could not be attached ({problem})."
    try:
        client.chat_update(
            channel=where.channel,
            ts=ts,
            text=headline,
            blocks=audit_blocks(result, original, audited, audit_id, chart_note=note),
        )
    except Exception as update_exc:
        log.warning("could not note the missing chart: %s", slack_reason(update_exc))
