"""Asking in plain words, in Slack: `/breakeven <a sentence>`, a direct message, the Messages tab, and
what-ifs in the thread of an answer.

    /breakeven we answer 40k tickets a month...   -> the model reads it (bot/ask.py), checked
        -> "Here is what I understood" + the line, with Run / Edit / Cancel (only the asker sees it)
        Run  -> the analysis and its chart, as if the line had been typed; the line is stored with it
        Edit -> the guided form, filled from the line        Cancel -> nothing runs
    a reply in the thread of an answer ("what if we used an H100?", or `gpu=h100`)
        -> only the keys it names change (`gpu: a10g -> h100`), the new verdict beside the old
    the Messages tab -> suggested prompts (assistant.threads.setSuggestedPrompts), or once a short
        message where the workspace has no AI-app features; a direct message is answered like the
        slash command, with a status while the model reads it

Context lives in the database: a thread's scenario is the latest analysis posted in it (never read
back through conversations.history), a question waiting for Run is a row of `asks`. Nothing is
stored for a question the model could not read. Without a model configured, no request leaves:
plain words get the grammar's help and how to turn asking on.
"""

from __future__ import annotations

import logging
import re

from slack_bolt import App, Assistant
from slack_bolt.context.assistant.thread_context import AssistantThreadContext
from slack_bolt.context.assistant.thread_context_store.store import AssistantThreadContextStore
from slack_sdk import WebClient

from costcore import GrammarError, Report, Scenario, parse, to_text
from costcore.ask import Understood, follow_up, is_grammar, mask_secrets, typed_changes
from costcore.grammar import EXAMPLE

from ..ask import AskError, understand
from ..ask_view import (
    CANCEL,
    EDIT,
    RUN,
    confirm_blocks,
    follow_up_blocks,
    nothing_understood_blocks,
    prompts,
    settled_blocks,
    welcome_text,
)
from ..audit_flow import AuditState
from ..bounds import checked_scenario
from ..delivery import Unconfirmed, Where, slack_reason, trusted_response_url, unconfirmed
from ..jobs import Job
from ..render import finalize_args, help_blocks
from ..service import Bot, publish_analysis, work
from .shared import (
    action_payload,
    asking,
    lane_for,
    open_audit_modal,
    open_form,
    route,
    slack_unescape,
    where_from_action,
    why_off,
)

log = logging.getLogger("breakeven.bot")
STATUS = "is reading your question…"
LOADING = ["Reading your question…", "Finding the figures in it…", "Checking each figure against your words…"]
# In a channel, a reply in an answer's thread is for the bot when it asks something of it: people also
# talk to each other there, and their words are not sent anywhere.
WHAT_IF = re.compile(r"\?\s*$|^\s*(?:what if|what about|how about|and\b|with\b|at\b|if\b|suppose|assume)", re.I)
MENTION = re.compile(r"<@[A-Z0-9]+>")


class NoThreadContext(AssistantThreadContextStore):
    """The Assistant's thread context (the channel the user is looking at) is never kept: nothing of
    another channel is ever read or sent. (Bolt's default store reads conversations.history.)"""

    def save(self, *, channel_id: str, thread_ts: str, context: dict) -> None:
        return None

    def find(self, *, channel_id: str, thread_ts: str) -> AssistantThreadContext | None:
        return None


def _event_where(body: dict, event: dict, *, channel: str | None = None, user: str | None = None) -> Where:
    team = body.get("team_id") or ""
    return Where(
        team=team,
        channel=channel or event.get("channel") or "",
        user=user or event.get("user") or "",
        delivery=f"{team}:event:{body.get('event_id')}",
    )


def _text_of(event: dict) -> str:
    return MENTION.sub("", event.get("text") or "").strip()


def register(app: App, bot: Bot) -> None:
    @app.action(RUN)
    @app.action(EDIT)
    @app.action(CANCEL)
    def clicked(ack, body):
        container = body.get("container") or {}
        payload = {
            **action_payload(body),
            "message_ts": container.get("message_ts"),
            "ephemeral": bool(container.get("is_ephemeral")),
        }
        action = payload["action_id"]
        bot.enqueue(action, where_from_action(body), payload, lane="slow" if action == RUN else "fast")
        ack()

    def direct_message(body: dict, event: dict) -> None:
        """A message to the app, in or out of a thread: answered like /breakeven, in its thread."""
        text = _text_of(event)
        if not text:  # a file alone, or only a mention: nothing to answer
            return
        kind = route(slack_unescape(text), asking(bot) is not None)
        payload = {"text": text, "thread_ts": event.get("thread_ts") or event.get("ts"), "dm": True}
        bot.enqueue("command", _event_where(body, event), payload, lane=lane_for(text, kind))

    @app.event("message")
    def message(ack, body, event):
        if event.get("subtype") not in (None, "file_share", "thread_broadcast") or event.get("bot_id"):
            ack()  # edits, deletions, joins, the bot's own posts
            return
        if event.get("channel_type") == "im":
            direct_message(body, event)
        elif event.get("thread_ts") and bot.store.answered_in(
            body.get("team_id") or "", event.get("channel") or "", event["thread_ts"]
        ):
            text = _text_of(event)
            if is_grammar(text) or WHAT_IF.search(text) or MENTION.search(event.get("text") or ""):
                bot.enqueue(
                    "follow_up", _event_where(body, event), {"text": text, "thread_ts": event["thread_ts"]}, lane="slow"
                )
        ack()

    # The Assistant side panel (Slack's earlier AI-app view): prompts when a thread starts, and the user's
    # messages in it answered like direct messages. Its thread context is not kept (NoThreadContext).
    assistant = Assistant(thread_context_store=NoThreadContext())

    @assistant.thread_started
    def thread_started(body, event):
        thread = event.get("assistant_thread") or {}
        where = _event_where(body, event, channel=thread.get("channel_id"), user=thread.get("user_id"))
        bot.enqueue("ask_welcome", where, {"thread_ts": thread.get("thread_ts")})

    @assistant.thread_context_changed
    def context_changed():
        return None  # the channel the user looks at is none of our business

    @assistant.user_message
    def user_message(body, payload):
        direct_message(body, payload)

    app.use(assistant)


# ---------------------------------------------------------------------------------------
# A question in words


def _status(client: WebClient, where: Where) -> None:
    """The Messages tab's "is reading your question…" while the model works (assistant.threads.setStatus,
    cleared by the answer); an ephemeral note where the workspace has no AI-app features."""
    try:
        client.assistant_threads_setStatus(
            channel_id=where.channel, thread_ts=where.thread_ts, status=STATUS, loading_messages=LOADING
        )
    except Exception as exc:
        log.info("no thread status (%s): an ephemeral note instead", slack_reason(exc))
        try:
            client.chat_postEphemeral(
                channel=where.channel, user=where.user, thread_ts=where.thread_ts, text=f"_{LOADING[0]}_"
            )
        except Exception as note_exc:
            log.info("no reading note either: %s", slack_reason(note_exc))


def _say(
    bot: Bot, client: WebClient, where: Where, text: str, blocks: list[dict] | None, *, dm: bool, job: Job
) -> None:
    """A reply to the asker: in a direct message, a message in its thread, posted as the job's (once,
    even across a crash or an unanswered post: Bot.post); elsewhere only they see it."""
    if dm:
        try:
            bot.post(client, where, text=text, blocks=blocks, job=job)
            return
        except Unconfirmed as exc:  # it may be in the conversation: not said a second time
            bot.tell(client, where, unconfirmed("The answer", exc))
            return
        except Exception as exc:
            log.warning("could not answer in the direct message: %s", slack_reason(exc))
    if where.thread_ts:
        try:
            client.chat_postEphemeral(
                channel=where.channel, user=where.user, thread_ts=where.thread_ts, text=text, blocks=blocks
            )
            return
        except Exception as exc:
            log.info("no ephemeral reply in the thread (%s): told the usual way", slack_reason(exc))
    if blocks:
        bot.reply(client, where, text, blocks)
    else:
        bot.tell(client, where, text)


def ask_words(bot: Bot, client: WebClient, where: Where, text: str, job: Job, *, dm: bool) -> None:
    """A question in plain words: the model reads it, and the asker confirms what was understood."""
    settings = asking(bot)
    if settings is None:  # no request leaves: the grammar's help, and how to turn asking on
        blocks = [*help_blocks(), {"type": "context", "elements": [{"type": "mrkdwn", "text": why_off(bot)}]}]
        _say(bot, client, where, f"Type the scenario as key=value pairs. {why_off(bot)}", blocks, dm=dm, job=job)
        return
    found = bot.store.found_ask(where.delivery)  # a job resumed after a crash: understood before
    if found is not None:
        _confirm(bot, client, where, found, job, dm=dm)
        return
    if dm:
        _status(client, where)
    try:
        understood, usage = understand(text, settings)
    except AskError as exc:
        _say(bot, client, where, f":warning: {exc}", None, dm=dm, job=job)
        return
    asked = mask_secrets(text)[0][:4000]  # as it was sent: a key typed by mistake is never stored
    if understood.empty:
        blocks = nothing_understood_blocks(asked, understood.to_json(), usage.to_json(), EXAMPLE)
        _say(bot, client, where, "I found no figure I could use in your message.", blocks, dm=dm, job=job)
        return
    ask_id, _ = bot.store.claim_ask(
        delivery=where.delivery,
        team=where.team,
        channel=where.channel,
        user=where.user,
        thread_ts=where.thread_ts,
        asked=asked,
        understood={**understood.to_json()},
        usage=usage.to_json(),
    )
    _confirm(bot, client, where, bot.store.ask(where.team, ask_id), job, dm=dm)


def _confirm(bot: Bot, client: WebClient, where: Where, ask: dict, job: Job, *, dm: bool) -> None:
    blocks = confirm_blocks(
        ask["id"], ask["asked"], ask["understood"], ask["usage"], ask["understood"].get("masked", 0)
    )
    text = f"Here is what I understood: {ask['line'] or ask['audit_line']}"
    if dm:  # a message of its own, in the question's thread: found again if the job is resumed
        try:
            ts = bot.post(client, where, text=text, blocks=blocks, job=job)
            bot.store.set_ask_confirm_ts(ask["id"], ts)
            return
        except Exception as exc:
            log.warning("could not post the confirmation in the direct message: %s", slack_reason(exc))
    bot.reply(client, where, text, blocks)


# ---------------------------------------------------------------------------------------
# Run, Edit, Cancel


def _clicked_ask(bot: Bot, client: WebClient, job: Job) -> tuple[Where, dict] | None:
    where = bot.where(job)
    value = job.payload.get("value") or ""
    ask = bot.store.ask(where.team, int(value)) if value.isdigit() and len(value) < 12 else None
    if ask is None or ask["user"] != where.user:
        bot.tell(client, where, "This question is not yours or no longer exists: ask it again.")
        return None
    where.channel, where.thread_ts = ask["channel"], ask["thread_ts"]
    return where, ask


def _settle(bot: Bot, client: WebClient, job: Job, where: Where, ask: dict, outcome: str) -> None:
    """The confirmation loses its buttons and says what became of it."""
    blocks = settled_blocks(ask["asked"], ask["line"] or ask["audit_line"], outcome)
    if job.payload.get("ephemeral"):
        url = job.payload.get("response_url") or where.response_url
        if trusted_response_url(url, bot.responder.api_url):
            from slack_sdk.webhook import WebhookClient

            body = finalize_args({"replace_original": True, "text": outcome, "blocks": blocks})
            try:
                WebhookClient(url, timeout=10).send_dict(body)
            except Exception as exc:
                log.info("the confirmation was not replaced: %s", type(exc).__name__)
        return
    ts = job.payload.get("message_ts") or ask.get("confirm_ts")
    if ts:
        try:
            client.chat_update(channel=where.channel, ts=ts, text=outcome, blocks=blocks)
        except Exception as exc:
            log.info("the confirmation was not updated: %s", slack_reason(exc))


def _opens_audit(ask: dict) -> bool:
    return bool(ask["understood"].get("runs_audit"))


def _open_audit(bot: Bot, client: WebClient, job: Job, where: Where, ask: dict) -> None:
    state = AuditState(channel=where.channel, thread_ts=where.thread_ts, answers=ask["audit_line"])
    open_audit_modal(bot, client, job.payload.get("trigger_id"), state, where)


@work(RUN)
def run_ask(bot: Bot, client: WebClient, job: Job) -> None:
    found = _clicked_ask(bot, client, job)
    if found is None:
        return
    where, ask = found
    if not bot.store.take_ask(ask["id"], where.delivery, "ran"):
        bot.tell(client, where, "This question was already run or cancelled: ask it again to run it anew.")
        return
    if _opens_audit(ask):
        _open_audit(bot, client, job, where, ask)
        _settle(bot, client, job, where, ask, ":ice_cube: Opened the hidden-cost audit with these lines.")
        return
    try:
        scenario = checked_scenario(parse(ask["line"]))
        if scenario.measured:
            from ..measure import with_measurement

            scenario = with_measurement(bot.store, where.team, scenario)
    except GrammarError as exc:  # the catalogue or a saved measurement changed since it was understood
        bot.store.release_ask(ask["id"])
        bot.tell(client, where, f"{exc}\nEdit it, or ask again.")
        return
    analysis_id = publish_analysis(bot, client, where, scenario, job, kind="ask", text=ask["line"], asked=ask["asked"])
    if analysis_id is None:  # not posted (the user was told why): Run can be clicked again
        bot.store.release_ask(ask["id"])
        return
    bot.store.set_ask_analysis(ask["id"], analysis_id)
    _settle(bot, client, job, where, ask, f":white_check_mark: Ran as analysis #{analysis_id}.")


@work(EDIT)
def edit_ask(bot: Bot, client: WebClient, job: Job) -> None:
    found = _clicked_ask(bot, client, job)
    if found is None:
        return
    where, ask = found
    if _opens_audit(ask):
        _open_audit(bot, client, job, where, ask)
        return
    try:
        scenario = parse(ask["line"])
    except GrammarError as exc:
        bot.tell(client, where, f"{exc}\nAsk again.")
        return
    open_form(bot, client, job.payload.get("trigger_id"), where, scenario, ask_id=ask["id"])


@work(CANCEL)
def cancel_ask(bot: Bot, client: WebClient, job: Job) -> None:
    found = _clicked_ask(bot, client, job)
    if found is None:
        return
    where, ask = found
    if not bot.store.take_ask(ask["id"], where.delivery, "cancelled"):
        bot.tell(client, where, "This question was already run or cancelled.")
        return
    _settle(bot, client, job, where, ask, "Cancelled: nothing was run.")


# ---------------------------------------------------------------------------------------
# Follow-ups in the thread of an answer


@work("follow_up")
def follow_up_job(bot: Bot, client: WebClient, job: Job) -> None:
    where = bot.where(job)
    where.thread_ts = job.payload.get("thread_ts")
    follow_up_in_thread(bot, client, where, slack_unescape(job.payload.get("text") or "").strip(), job, dm=False)


def follow_up_in_thread(bot: Bot, client: WebClient, where: Where, text: str, job: Job, *, dm: bool) -> bool:
    """A what-if in the thread of an answer: typed grammar applied as is, words read by the model (it
    gets the thread's current line and the question, nothing more). False when the thread holds no
    answer (a direct message's new question)."""
    found = bot.store.thread_analysis(where.team, where.channel, where.thread_ts or "")
    if found is None:
        return False
    current = to_text(Scenario.model_validate(found.scenario))
    asked = None
    if is_grammar(text):
        try:
            understood = Understood(intent="analysis", kept=typed_changes(text))
        except GrammarError as exc:
            _say(bot, client, where, f"{exc}\nType `/breakeven help` for every key.", None, dm=dm, job=job)
            return True
        follow_up(understood, current)
    else:
        settings = asking(bot)
        if settings is None:
            _say(
                bot,
                client,
                where,
                f"To change this answer, type the keys to change, e.g. `gpu=h100` or `volume=3M/month`. {why_off(bot)}",
                None,
                dm=dm,
                job=job,
            )
            return True
        if dm:
            _status(client, where)
        try:
            understood, _usage = understand(text, settings, current_line=current)
        except AskError as exc:
            _say(bot, client, where, f":warning: {exc}", None, dm=dm, job=job)
            return True
        asked = mask_secrets(text)[0][:4000]
    if not understood.changes:
        problems = "; ".join(f"`{d.key}={d.value}`: {d.reason}" for d in understood.dropped + understood.refused)
        _say(
            bot,
            client,
            where,
            "I found nothing to change in your message, so nothing was run"
            + (f" ({problems})" if problems else "")
            + '. Name a figure ("what if we used an H100?") or type it: `gpu=h100`.',
            None,
            dm=dm,
            job=job,
        )
        return True
    try:
        scenario = checked_scenario(understood.scenario)
        if scenario.measured:
            from ..measure import with_measurement

            scenario = with_measurement(bot.store, where.team, scenario)
    except GrammarError as exc:
        _say(bot, client, where, f"{exc}\nNothing was run.", None, dm=dm, job=job)
        return True
    changes = [vars(c) for c in understood.changes]
    details = understood.to_json()

    def lead(report: Report) -> list[dict]:
        return follow_up_blocks(text, changes, details, found.id, found.report, report.model_dump(mode="json"))

    publish_analysis(
        bot, client, where, scenario, job, kind="follow-up", text=understood.line, parent_id=found.id, asked=asked,
        lead=lead,
    )  # fmt: skip
    return True


# ---------------------------------------------------------------------------------------
# The Messages tab


@work("ask_welcome")
def welcome(bot: Bot, client: WebClient, job: Job) -> None:
    """Suggested prompts in the Messages tab (the agent view: the DM channel; the Assistant view: its
    thread), or, where the workspace has no AI-app features, a short message, once a user."""
    where = bot.where(job)
    on = asking(bot) is not None
    args = {"channel_id": where.channel, "prompts": prompts(on), "title": "Rent or buy? Ask about your workload"}
    if job.payload.get("thread_ts"):
        args["thread_ts"] = job.payload["thread_ts"]
    try:
        client.assistant_threads_setSuggestedPrompts(**args)
        return
    except Exception as exc:
        log.info("no suggested prompts (%s): a welcome message instead", slack_reason(exc))
    if bot.store.welcome_once(where.team, where.user):
        where.channel = where.channel or where.user
        where.thread_ts = job.payload.get("thread_ts")
        text = welcome_text(on, why_off(bot))
        try:  # the job's guarded post: not twice for an unanswered post
            bot.post(client, where, text=text, blocks=None, job=job)
        except Exception as exc:
            log.warning("could not post the welcome: %s", slack_reason(exc))
