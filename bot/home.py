"""The App Home: a user's channels' latest decisions, spend this month against their budgets, the
open budget alerts (with Acknowledge), and the buttons to start an analysis or an audit.

Published with views.publish when the user opens the Home tab (app_home_opened with tab == "home";
the Messages tab is answered elsewhere, bot/listeners/ask.py) and again after a change the user made
(an alert acknowledged, a budget set, a re-check). "The user's channels" are the channels
users.conversations lists for them (channels:read and groups:read; a private channel only where the
bot is a member too), or, when Slack does not answer that, the channels where they asked for an
analysis or set a budget. The view keeps to Block Kit's limits for a Home tab: 100 blocks, 3,000
characters a section, 75 a button; lists are cut with a count of what is left out.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from costcore.format import money

from .budget import ACK, FORECAST, budget_today, budgets, open_alerts, outlook, unposted_alerts
from .recheck import database, latest
from .render import EXAMPLE, _button, channel_link

log = logging.getLogger("breakeven.home")
NEW_ANALYSIS = "home_new_analysis"
AUDIT = "audit_home"  # bot/listeners/shared.HOME: the audit's own handler opens it
MAX_BLOCKS = 100
SHOWN = {"alerts": 10, "budgets": 10, "decisions": 15}
BAR = 10  # cells of the budget bar


def user_channels(client, user: str, pages: int = 5) -> list[str] | None:
    """The channels the user is in, as Slack lists them (None when Slack refuses: a missing scope)."""
    from .delivery import slack_reason

    found: list[str] = []
    cursor = None
    try:
        for _ in range(pages):
            page = client.users_conversations(
                user=user, types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
            )
            found += [c["id"] for c in page.get("channels") or [] if c.get("id")]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    except Exception as exc:
        log.info(
            "users.conversations for %s: %s; the Home tab shows the channels they asked in", user, slack_reason(exc)
        )
        return None
    return found


def channels_for(db, client, team: str, user: str) -> list[str]:
    """The user's channels, and their direct-message conversation with the app where they saved decisions
    (New analysis on the Home tab answers there)."""
    db = database(db)
    direct = [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT channel FROM analyses WHERE team = ? AND user = ? AND channel LIKE 'D%'", [team, user]
        )
    ]
    listed = user_channels(client, user)
    if listed is not None:
        return list(dict.fromkeys(listed + direct))
    asked = [
        r[0] for r in db.execute("SELECT DISTINCT channel FROM analyses WHERE team = ? AND user = ?", [team, user])
    ]
    budgeted = [
        r[0] for r in db.execute("SELECT DISTINCT channel FROM budgets WHERE team = ? AND user = ?", [team, user])
    ]
    return list(dict.fromkeys(asked + budgeted + direct))


def place(channel: str) -> str:
    """A channel as the Home names it: a link, or the user's conversation with the app."""
    return "Direct messages" if channel.startswith("D") else channel_link(channel)


def bar(share: float) -> str:
    filled = max(0, min(BAR, round(share * BAR)))
    return "█" * filled + "░" * (BAR - filled)


def age(created: str, now: dt.datetime) -> str:
    try:
        then = dt.datetime.fromisoformat(created)
    except ValueError:
        return created[:10]
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.UTC)
    days = (now - then).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 60:
        return f"{days} days ago"
    return f"{days // 30} months ago"


def _section(text: str, accessory: dict | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if accessory:
        block["accessory"] = accessory
    return block


def _more(left: int, what: str) -> list[dict]:
    return (
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {left} more {what}"}]}] if left > 0 else []
    )


def home_view(
    db, team: str, channels: list[str], *, has_draft: bool, now: dt.datetime | None = None, settings=None
) -> dict:
    """The Home tab for a user in `channels` (their channels, in Slack's order); settings: DAILY_CHECK's
    timezone says which day the budgets count to (bot.budget.budget_today)."""
    now = now or dt.datetime.now(dt.UTC)
    db = database(db)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "breakeven"}},
        _section(
            "Rent an LLM API per token, or fine-tune and self-host? Here: your channels' latest decisions, spend "
            f"this month against their budgets, and open alerts. In a channel: `/breakeven {EXAMPLE}`."
        ),
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [
                _button(NEW_ANALYSIS, "New analysis", "new", "primary"),
                _button(
                    AUDIT, "Resume my audit draft" if has_draft else "Start audit", "resume" if has_draft else "new"
                ),
            ],
        },
        {"type": "divider"},
    ]
    alerts = open_alerts(db, team, channels)
    blocks.append(_section(f"*Open alerts* ({len(alerts)})" if alerts else "*Open alerts*: none."))
    for a in alerts[: SHOWN["alerts"]]:
        what = f"{a.model} spend" if a.model else "LLM API spend"
        if a.threshold == FORECAST:
            text = (
                f"{channel_link(a.channel)} {a.period}: {what} forecast {money(a.forecast)}, over its "
                f"{money(a.budget)} budget"
            )
        else:
            text = (
                f"{channel_link(a.channel)} {a.period}: {what} reached {a.threshold} of its {money(a.budget)} "
                f"budget ({money(a.spent)})"
            )
        blocks.append(_section(text, _button(ACK, "Acknowledge", str(a.id), "primary")))
    blocks += _more(len(alerts) - SHOWN["alerts"], "open alerts")
    unposted = unposted_alerts(db, team, channels)
    if unposted:
        blocks.append(_section(f"*Alerts not posted* ({len(unposted)})"))
    for a in unposted[: SHOWN["alerts"]]:
        blocks.append(_section(_unposted_text(a), _button(ACK, "Dismiss", str(a.id))))
    blocks += _more(len(unposted) - SHOWN["alerts"], "alerts not posted")

    found = [b for b in budgets(db, team) if b.channel in set(channels)]
    blocks.append(_section("*Spend this month against budget*" if found else "*Budgets*: none in your channels. "
                           "`/breakeven budget $5,000/month` in a channel sets one."))  # fmt: skip
    today = budget_today(settings, now)
    for b in found[: SHOWN["budgets"]]:
        seen = outlook(db, b, today)
        over = f", over by {money(seen.month.spent - b.amount)}" if seen.month.spent > b.amount else ""
        blocks.append(
            _section(
                f"{channel_link(b.channel)} {b.what}: {money(seen.month.spent)} of {money(b.amount)} "
                f"({seen.share:.0%}{over})\n`{bar(seen.share)}` forecast {money(seen.month.forecast)}; "
                + seen.sentence().split(": ", 1)[-1]
            )
        )
    blocks += _more(len(found) - SHOWN["budgets"], "budgets")

    latest_decisions = _latest_decisions(db, team, channels)
    blocks.append(
        _section("*Latest decisions in your channels*" if latest_decisions else "*Decisions*: none in your "
                 f"channels yet. `/breakeven {EXAMPLE}` in a channel, or *New analysis* above.")
    )  # fmt: skip
    for analysis in latest_decisions[: SHOWN["decisions"]]:
        blocks.append(_section(_decision_text(db, analysis, now)))
    blocks += _more(len(latest_decisions) - SHOWN["decisions"], "channels with decisions")
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Updated {now:%Y-%m-%d %H:%M} UTC. In a channel: `/breakeven budget $5,000/month`, "
                    "`/breakeven recheck`, `/breakeven show ID`.",
                }
            ],
        }
    )
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _unposted_text(a) -> str:
    from .delivery import NOT_IN_CHANNEL

    what = f"{a.model} spend" if a.model else "LLM API spend"
    crossed = (
        f"forecast over its {money(a.budget)} budget"
        if a.threshold == FORECAST
        else f"reached {a.threshold} of its {money(a.budget)} budget"
    )
    reason = a.text or "Slack refused it"
    fix = (
        "invite me with `/invite @breakeven`; the next daily check posts it"
        if reason in NOT_IN_CHANNEL
        else "the next daily check tries again"
    )
    return f"{channel_link(a.channel)} {a.period}: {what} {crossed}, not posted ({reason}): {fix}"


def _latest_decisions(db, team: str, channels: list[str]) -> list[dict]:
    """Each channel's latest decision (not a what-if), the channels with the newest first."""
    if not channels:
        return []
    marks = ", ".join("?" for _ in channels)
    rows = db.query(
        f"SELECT * FROM analyses WHERE id IN (SELECT max(id) FROM analyses WHERE team = ? AND channel IN ({marks}) "
        "AND message_ts IS NOT NULL AND parent_id IS NULL GROUP BY channel) ORDER BY id DESC",
        [team, *channels],
    )
    return list(rows)


def _decision_text(db, analysis: dict, now: dt.datetime) -> str:
    now_eval = latest(db, analysis)
    asked = json.loads(analysis["report"])
    verdict = now_eval.verdict
    text = (
        f"{place(analysis['channel'])} *#{analysis['id']} {verdict}*, {age(analysis['created'], now)}: "
        f"{now_eval.report.get('headline') or asked.get('headline', '')}"
    )
    if now_eval.version > 0:
        was = f", was {asked['verdict']}" if asked["verdict"] != verdict else ""
        text += f"\n_re-checked {age(now_eval.created, now)}{was}_"
    return text


def publish(bot, client, team: str, user: str) -> None:
    """views.publish the user's Home tab (with their workspace's client)."""
    view = home_view(
        bot.store,
        team,
        channels_for(bot.store, client, team, user),
        has_draft=bot.store.draft(team, user) is not None,
        settings=bot.settings,
    )
    client.views_publish(user_id=user, view=view)
