"""The App Home (bot/home.py) and what is clicked there or on an alert: Acknowledge, New analysis.

The app_home_opened listener (bot/listeners/audit.py, the one for both tabs) stores a "home" job for
the Home tab; the job publishes the view with the team's own client."""

from __future__ import annotations

import logging
import re

from slack_bolt import App
from slack_sdk import WebClient

from ..budget import ACK, acknowledge, alert_blocks
from ..delivery import slack_reason
from ..home import NEW_ANALYSIS, publish
from ..jobs import Job
from ..render import mention
from ..service import Bot, work
from .shared import action_payload, open_form, where_from_action

log = logging.getLogger("breakeven.bot")
ACK_ACTIONS = re.compile(rf"^{ACK}(_\d+)?$")  # one Acknowledge in a block, or one of a row (the summary's)


def register(app: App, bot: Bot) -> None:
    @app.action(ACK_ACTIONS)
    def acknowledge_clicked(ack, body):
        bot.enqueue("alert_ack", where_from_action(body), action_payload(body))
        ack()

    @app.action(NEW_ANALYSIS)
    def new_analysis_clicked(ack, body):
        bot.enqueue("home_new_analysis", where_from_action(body), action_payload(body))
        ack()


@work("home")
def publish_home(bot: Bot, client: WebClient, job: Job) -> None:
    publish(bot, client, job.team, job.user)


def republish(bot: Bot, client: WebClient, team: str, user: str) -> None:
    """After a change the user made: their Home tab shows it (a failure only means it shows at the next visit)."""
    try:
        publish(bot, client, team, user)
    except Exception as exc:
        log.info("Home tab of %s not re-published: %s", user, slack_reason(exc))


@work("alert_ack")
def acknowledge_alert(bot: Bot, client: WebClient, job: Job) -> None:
    where = bot.where(job)
    value = job.payload.get("value") or ""
    if not (value.isdigit() and len(value) < 12):
        return
    found, mine = acknowledge(bot.store, where.team, int(value), where.user)
    if found is None:
        if where.channel:
            bot.tell(client, where, "That alert is not in this workspace's records any more.")
        republish(bot, client, where.team, where.user)
        return
    when = (found.acked_at or "")[:16].replace("T", " ")
    done = f":white_check_mark: Acknowledged by {mention(found.acked_by or where.user)} on {when} UTC."
    if mine and found.ts:
        try:
            client.chat_update(
                channel=found.channel, ts=found.ts, text=done, blocks=alert_blocks(found.text, None, done)
            )
        except Exception as exc:  # the alert is acknowledged whatever the message shows
            log.info("alert %s acknowledged; its message not updated: %s", found.id, slack_reason(exc))
    elif not mine and where.channel:
        bot.tell(client, where, f"That alert was acknowledged already: {done[len(':white_check_mark: ') :]}")
    republish(bot, client, where.team, where.user)


@work("home_new_analysis")
def new_analysis(bot: Bot, client: WebClient, job: Job) -> None:
    """From the Home tab the answer goes to the user's conversation with the app: its channel id (D...), so that
    the decision is saved where `/breakeven show` in that conversation, the Home and the re-checks find it."""
    where = bot.where(job)
    where.channel = direct_channel(client, where.user)
    open_form(bot, client, job.payload.get("trigger_id"), where)


def direct_channel(client: WebClient, user: str) -> str:
    """The app's direct-message channel with the user (conversations.open); the user id when Slack does not
    answer (chat.postMessage takes it too, only the decision is then filed under it)."""
    try:
        opened = client.conversations_open(users=user)
    except Exception as exc:
        log.warning("conversations.open for %s: %s; answering to the user id", user, slack_reason(exc))
        return user
    return (opened.get("channel") or {}).get("id") or user
