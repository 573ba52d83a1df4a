"""Budgets and their alerts: `/breakeven budget $5,000/month [model=gpt-4o] [at=50%,80%,100%]` in a
channel, checked every day (DAILY_CHECK, APScheduler; `breakeven check` by hand).

An alert fires once per budget, month and threshold: 50%, 80% and 100% of the month's budget by
default, and "forecast" when the month's forecast (costcore/forecast.py) is over the budget before
the spend is. Each is guarded as the weekly summary is: a row keyed by team, channel, model, month
and threshold is claimed in a transaction before anything is posted and marked posted with the
message's ts, so a second firing (two processes, a restart, the scheduler and the CLI) posts
nothing; a post that failed marks the row failed for the next check to retry, and a claim left by
a process that died mid-post is taken again after STALE_S, looking in the channel first for the
message (its metadata carries the alert's key) so that it is not posted twice. When a check finds
several thresholds crossed at once (the first check after a budget is set, say), only the highest
posts; the lower ones are recorded as covered, never posted.

An alert carries an Acknowledge button; until someone clicks it, it stays listed in the App Home
(bot/home.py) and in the channel's weekly summary.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from costcore.forecast import BudgetOutlook, budget_outlook, daily_costs, last_recorded, lookback, rows_of
from costcore.format import money
from costcore.grammar import GrammarError
from costcore.units import ValueProblem, share
from costcore.units import money as money_reader

from . import metrics
from .db import transaction
from .delivery import post_guarded, slack_reason
from .recheck import database
from .spend import load_spend, now_iso

log = logging.getLogger("breakeven.budget")
BUDGET_EXAMPLE = "budget $5,000/month model=gpt-4o"
DEFAULT_THRESHOLDS = (0.5, 0.8, 1.0)
FORECAST = "forecast"
MAX_BUDGET = 1e9  # dollars a month
ACK = "budget_alert_ack"
STALE_S = 600  # a claim older than this whose post never finished is taken again
LOOK_BACK_S = 2 * 86400  # an alert that may have been posted is looked for this far back


@dataclass(frozen=True)
class Budget:
    team: str
    channel: str
    model: str  # '' for all the team's LLM API spend
    amount: float  # dollars a month
    thresholds: tuple[float, ...]
    user: str = ""

    @property
    def what(self) -> str:
        return f"{self.model} spend" if self.model else "LLM API spend"


@dataclass
class Alert:
    id: int
    team: str
    channel: str
    model: str
    period: str  # YYYY-MM
    threshold: str  # "50%", "80%", "100%" or "forecast"
    status: str  # posting | posted | failed | covered
    ts: str | None
    text: str  # the alert as posted; of a failed one, Slack's reason (channel_not_found, ...)
    spent: float
    budget: float
    forecast: float
    acked_by: str | None
    acked_at: str | None

    @classmethod
    def from_row(cls, row: dict) -> Alert:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


# ---------------------------------------------------------------------------------------
# `/breakeven budget ...`


def parse_budget(text: str) -> dict:
    """'' -> {"action": "list"}; 'off [model=X]' -> remove; '$5,000/month [model=X] [at=50%,90%]' -> set.
    GrammarError names what was wrong and shows an example that works."""
    words = re.sub(r"\s*=\s*", "=", text.strip()).split()
    options: dict[str, str] = {}
    for key, value in (w.split("=", 1) for w in words if "=" in w):
        if key not in ("model", "at"):
            raise GrammarError(key, "unknown; a budget takes model= and at=", BUDGET_EXAMPLE)
        if key in options:  # the second would silently win
            raise GrammarError(key, f"given twice ('{options[key]}' and '{value}'): give it once", BUDGET_EXAMPLE)
        options[key] = value
    rest = [w for w in words if "=" not in w]
    # Spend names a model in any case (rows_of matches it so): one budget for gpt-4o and GPT-4o.
    model = options.get("model", "").strip().lower()
    if "model" in options and not (0 < len(model) <= 100):
        raise GrammarError("model", "give the model as the spend names it, e.g. model=gpt-4o", BUDGET_EXAMPLE)
    if not rest:
        if options.keys() - {"model"}:
            raise GrammarError("budget", "give the amount a month first, e.g. $5,000/month", BUDGET_EXAMPLE)
        return {"action": "list", "model": model}
    if [w.lower() for w in rest] == ["off"]:
        return {"action": "off", "model": model}
    amount_text = " ".join(rest)
    try:
        amount = money_reader("amount", to_month=True)(amount_text)["amount"]
    except ValueProblem as exc:
        raise GrammarError("budget", str(exc), BUDGET_EXAMPLE) from None
    if not 0 < amount <= MAX_BUDGET:
        raise GrammarError(
            "budget", f"'{amount_text}' is not an amount between $0 and {money(MAX_BUDGET)} a month", BUDGET_EXAMPLE
        )
    thresholds = DEFAULT_THRESHOLDS
    if "at" in options:
        try:
            thresholds = tuple(sorted({share("at")(part)["at"] for part in options["at"].split(",") if part}))
        except ValueProblem as exc:
            raise GrammarError("at", str(exc), "budget $5,000/month at=50%,90%,100%") from None
        if not thresholds or any(t <= 0 for t in thresholds) or len(thresholds) > 10:
            raise GrammarError("at", "give one to ten shares of the budget above 0%", "budget $5,000/month at=50%,90%")
        _distinct(thresholds)
    return {"action": "set", "amount": amount, "model": model, "thresholds": thresholds}


def _distinct(thresholds: tuple[float, ...]) -> None:
    """An alert is keyed and shown by its label: each threshold needs one of its own, and not 0%."""
    example = "budget $5,000/month at=50%,99.5%,100%"
    seen: dict[str, float] = {}
    for t in thresholds:
        shown = label(t)
        if shown == "0%":
            raise GrammarError("at", f"{t * 100:g}% rounds to 0%: give a share of at least 0.01%", example)
        if shown in seen:
            raise GrammarError(
                "at", f"{seen[shown] * 100:g}% and {t * 100:g}% both read {shown}: give thresholds 0.01% apart", example
            )
        seen[shown] = t


def set_budget(db, budget: Budget) -> bool:
    """Store (or replace) the channel's budget: True when it replaced one."""
    db = database(db)
    with transaction(db) as connection:
        # model = lower(model): a budget stored before models were lower-cased is the same budget
        before = connection.execute(
            "DELETE FROM budgets WHERE team = ? AND channel = ? AND lower(model) = ?",
            [budget.team, budget.channel, budget.model],
        ).rowcount
        connection.execute(
            "INSERT OR REPLACE INTO budgets (team, channel, model, amount, thresholds, user, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [budget.team, budget.channel, budget.model, budget.amount, json.dumps(budget.thresholds), budget.user,
             now_iso()],
        )  # fmt: skip
    return before > 0


def remove_budget(db, team: str, channel: str, model: str) -> bool:
    db = database(db)
    with transaction(db) as connection:
        cursor = connection.execute(
            "DELETE FROM budgets WHERE team = ? AND channel = ? AND lower(model) = ?", [team, channel, model.lower()]
        )
    return cursor.rowcount >= 1


def budgets(db, team: str | None = None, channel: str | None = None) -> list[Budget]:
    sql, params = "SELECT * FROM budgets WHERE 1 = 1", []
    if team is not None:
        sql, params = sql + " AND team = ?", [*params, team]
    if channel is not None:
        sql, params = sql + " AND channel = ?", [*params, channel]
    return [
        Budget(r["team"], r["channel"], r["model"], r["amount"], tuple(json.loads(r["thresholds"])), r["user"] or "")
        for r in database(db).query(sql + " ORDER BY team, channel, model", params)
    ]


def outlook(db, budget: Budget, today: dt.date) -> BudgetOutlook:
    """This month's spend against the budget, and where the forecast takes it."""
    through = today - dt.timedelta(days=1)
    rows = load_spend(database(db), budget.team, lookback(through))
    mine = rows_of(rows, budget.model or None)
    # a model's month ends where its sources' records end, as the weekly Forecast's does
    return budget_outlook(daily_costs(mine), budget.amount, today, last_recorded(rows, through, of=mine))


def label(threshold: float) -> str:
    """'50%', '99.5%', '0.25%': the threshold as typed (to 0.01%), so that no two of a budget read alike."""
    return f"{round(threshold * 100, 2):g}%"


def budget_lines(db, found: list[Budget], today: dt.date) -> list[str]:
    """Each budget with this month's spend against it and the forecast (`/breakeven budget`, the summary)."""
    lines = []
    for b in found:
        seen = outlook(db, b, today)
        lines.append(
            f"• {b.what}: budget {money(b.amount)} a month, alerts at "
            f"{', '.join(label(t) for t in b.thresholds)} and forecast. {seen.sentence()}"
        )
    return lines


# ---------------------------------------------------------------------------------------
# The daily check


def due(budget: Budget, seen: BudgetOutlook) -> tuple[list[str], list[str]]:
    """(thresholds to fire, thresholds passed over): only the highest crossed fires; the forecast alert
    fires while the spend is still under the budget and the forecast is over it."""
    spent = seen.month.spent
    crossed = [label(t) for t in budget.thresholds if spent >= t * budget.amount]
    fire, covered = crossed[-1:], crossed[:-1]
    if seen.exceeds:
        (covered if spent >= budget.amount else fire).append(FORECAST)
    return fire, covered


# An alert's key: the budget (its amount too: a budget raised after its 100% alert alerts again at the new
# amount), the month and the threshold.
KEY = "team = ? AND channel = ? AND model = ? AND period = ? AND threshold = ? AND budget = ?"


def _key(budget: Budget, period: str, threshold: str) -> list:
    return [budget.team, budget.channel, budget.model, period, threshold, budget.amount]


def claim_alert(db, budget: Budget, period: str, threshold: str, *, stale_after_s: int = STALE_S) -> str | None:
    """Claim the alert: "new", "retaken" (a post failed or its process died: it may be in the channel
    already), or None when it was posted (or covered, or is being posted, or dismissed unposted) already."""
    db = database(db)
    stamp = dt.datetime.now(dt.UTC)
    stale = (stamp - dt.timedelta(seconds=stale_after_s)).isoformat(timespec="seconds")
    with transaction(db) as connection:
        cursor = connection.execute(
            "INSERT OR IGNORE INTO budget_alerts (team, channel, model, period, threshold, budget, status, claimed) "
            "VALUES (?, ?, ?, ?, ?, ?, 'posting', ?)",
            [*_key(budget, period, threshold), stamp.isoformat(timespec="seconds")],
        )
        if cursor.rowcount == 1:
            return "new"
        cursor = connection.execute(
            f"UPDATE budget_alerts SET status = 'posting', claimed = ? WHERE {KEY} "
            "AND ((status = 'failed' AND acked_at IS NULL) OR (status = 'posting' AND claimed < ?))",
            [stamp.isoformat(timespec="seconds"), *_key(budget, period, threshold), stale],
        )
        return "retaken" if cursor.rowcount == 1 else None


def _cover(db, budget: Budget, period: str, threshold: str) -> None:
    with transaction(database(db)) as connection:
        connection.execute(
            "INSERT OR IGNORE INTO budget_alerts (team, channel, model, period, threshold, budget, status, claimed) "
            "VALUES (?, ?, ?, ?, ?, ?, 'covered', ?)",
            [*_key(budget, period, threshold), now_iso()],
        )


def _finish(db, budget: Budget, period: str, threshold: str, **values) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    with transaction(database(db)) as connection:
        connection.execute(
            f"UPDATE budget_alerts SET {sets} WHERE {KEY}", [*values.values(), *_key(budget, period, threshold)]
        )


def alert_key(budget: Budget, period: str, threshold: str) -> str:
    return f"alert:{budget.team}:{budget.channel}:{budget.model}:{period}:{threshold}:{budget.amount:g}"


def alert_text(budget: Budget, seen: BudgetOutlook, threshold: str) -> str:
    month = seen.month
    span = f"{month.month_start:%B} 1-{month.through.day}"
    if threshold == FORECAST:
        return (
            f":chart_with_upwards_trend: *Budget forecast*: {budget.what} is on course for "
            f"{money(month.forecast)} in {month.month_start:%B}, over its {money(budget.amount)} budget: "
            f"{seen.sentence()} {month.sentence()}"
        )
    return (
        f":rotating_light: *Budget alert*: {budget.what} reached {threshold} of its {money(budget.amount)} budget "
        f"for {month.month_start:%B}: {money(month.spent)} spent {span}. {seen.sentence()} {month.sentence()}"
    )


def notification(budget: Budget, seen: BudgetOutlook, threshold: str) -> str:
    """The alert in one line: what a notification shows."""
    month = f"{seen.month.month_start:%B}"
    if threshold == FORECAST:
        return (
            f"Budget forecast: {budget.what} on course for {money(seen.month.forecast)} in {month}, over its "
            f"{money(budget.amount)} budget"
        )
    return f"Budget alert: {budget.what} reached {threshold} of its {money(budget.amount)} budget for {month}"


def alert_blocks(text: str, alert_id: int | None, acked: str | None = None) -> list[dict]:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
    if acked:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": acked[:2000]}]})
    elif alert_id is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": "budget_alert",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACK,
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "value": str(alert_id),
                        "style": "primary",
                    }
                ],
            }
        )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Each threshold alerts once a month. Until acknowledged it stays in the App Home "
                        "and the weekly summary. `/breakeven budget` lists this channel's budgets.",
                    }
                ],
            }
        )
    return blocks


@dataclass
class Fired:
    budget: Budget
    threshold: str
    status: str  # fired | skipped | failed | covered
    reason: str = ""  # why Slack refused a failed one


def plan(db, budget: Budget, today: dt.date) -> str:
    """What the check would do now, for `breakeven check --dry-run`: the alerts due (and those passed over),
    or none, with the ones posted this month."""
    seen = outlook(db, budget, today)
    period = seen.month.month_start.strftime("%Y-%m")
    fire, covered = due(budget, seen)
    rows = {
        r["threshold"]: r
        for r in database(db).query(
            "SELECT threshold, status, text, acked_at FROM budget_alerts WHERE team = ? AND channel = ? AND model = ? "
            "AND period = ? AND budget = ?",
            [budget.team, budget.channel, budget.model, period, budget.amount],
        )
    }
    waiting = [t for t in fire if t not in rows or (rows[t]["status"] == "failed" and not rows[t]["acked_at"])]
    failed = [f"{t}: {rows[t]['text']}" if len(waiting) > 1 else rows[t]["text"] for t in waiting if t in rows]
    posted = [t for t, r in rows.items() if r["status"] in ("posted", "posting")]
    if not waiting:
        return "due now: none" + (f" (posted: {', '.join(posted)})" if posted else "")
    notes = []
    passed = [t for t in covered if t not in rows]
    if passed:
        notes.append(f"{', '.join(passed)} passed over: the highest alerts alone")
    if failed:
        notes.append(f"not posted before: {'; '.join(failed)}")
    return f"due now: {', '.join(waiting)}" + (f" ({'; '.join(notes)})" if notes else "")


def check_budget(client, db, budget: Budget, today: dt.date) -> list[Fired]:
    """Post the budget's alerts that are due this month and not posted yet."""
    db = database(db)
    seen = outlook(db, budget, today)
    period = seen.month.month_start.strftime("%Y-%m")
    fire, covered = due(budget, seen)
    results = []
    for threshold in covered:
        _cover(db, budget, period, threshold)
    for threshold in fire:
        claim = claim_alert(db, budget, period, threshold)
        if claim is None:
            results.append(Fired(budget, threshold, "skipped"))
            continue
        text = alert_text(budget, seen, threshold)
        alert_id = (
            database(db)
            .execute(f"SELECT id FROM budget_alerts WHERE {KEY}", _key(budget, period, threshold))
            .fetchone()[0]
        )
        try:
            ts = post_guarded(
                client,
                budget.channel,
                alert_key(budget, period, threshold),
                claim,
                text=notification(budget, seen, threshold),
                blocks=alert_blocks(text, alert_id),
                look_back_s=LOOK_BACK_S,
            )
        except Exception as exc:
            # why, for the App Home: an alert that cannot be posted waits there, never silent
            _finish(db, budget, period, threshold, status="failed", text=slack_reason(exc))
            log.warning("budget alert %s not posted: %s", alert_key(budget, period, threshold), slack_reason(exc))
            results.append(Fired(budget, threshold, "failed", slack_reason(exc)))
            continue
        _finish(
            db, budget, period, threshold, status="posted", ts=ts, text=text, spent=seen.month.spent,
            forecast=seen.month.forecast,
        )  # fmt: skip
        results.append(Fired(budget, threshold, "fired"))
    for result in results:
        metrics.budget_alert(result.status)
    for _ in covered:
        metrics.budget_alert("covered")
    return results


def cannot_post(client, channel: str) -> str | None:
    """Why the bot cannot post in `channel` (Slack's reason: channel_not_found, not_in_channel, is_archived),
    or None when it can or Slack does not say (conversations.info, channels:read and groups:read)."""
    from .delivery import NOT_IN_CHANNEL

    try:
        found = client.conversations_info(channel=channel).get("channel") or {}
    except Exception as exc:
        reason = slack_reason(exc)
        return reason if reason in NOT_IN_CHANNEL else None
    if found.get("is_archived"):
        return "is_archived"
    if found.get("is_member") is False and not found.get("is_im"):
        return "not_in_channel"
    return None


def check_time(setting: str) -> tuple[int, int, str]:
    """DAILY_CHECK '09:00 Europe/Paris' -> (9, 0, 'Europe/Paris')."""
    time_text, _, tz = setting.strip().partition(" ")
    hour, minute = (int(p) for p in time_text.split(":"))
    return hour, minute, tz.strip() or "UTC"


def budget_today(settings=None, now: dt.datetime | None = None) -> dt.date:
    """What "today" is for budgets: the day in DAILY_CHECK's timezone, where the check that alerts runs. Every
    place that shows a budget (the check, `/breakeven budget` and `spend`, the App Home, `breakeven check`)
    counts the month up to the day before it, so all of them show one figure."""
    _, _, tz = check_time(getattr(settings, "daily_check", None) or "09:00 UTC")
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(tz)).date() if now.tzinfo else now.date()


def run_check(client, connect, settings=None, now: dt.datetime | None = None, team: str | None = None) -> list[Fired]:
    """The daily check: every budget (one team's with team), after syncing OpenAI spend when
    OPENAI_ADMIN_KEY is set. client: a WebClient, or a callable giving a team's (None: uninstalled)."""
    db = database(connect)
    today = budget_today(settings, now)
    results = []
    found = budgets(db, team)
    key = getattr(settings, "openai_admin_key", None) if settings is not None else None
    if key is not None:
        from .spend import SyncError, sync_openai

        secret = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        for each in sorted({b.team for b in found}):
            try:
                sync_openai(db, each, secret, getattr(settings, "openai_base_url", None))
            except SyncError as exc:
                log.warning("spend sync before the budget check failed: %s", exc)
    for budget in found:
        team_client = client(budget.team) if callable(client) else client
        if team_client is None:
            log.warning("budgets of %s not checked: the workspace uninstalled the app", budget.team)
            metrics.budget_alert("skipped")
            continue
        results += check_budget(team_client, db, budget, today)
    return results


def catch_up(client, connect, settings=None, now: dt.datetime | None = None) -> list[Fired]:
    """At start-up: the check runs when today's time has passed (alerts already posted are skipped)."""
    hour, minute, tz = check_time(getattr(settings, "daily_check", None) or "09:00 UTC")
    now = now or dt.datetime.now(dt.UTC)
    local = now.astimezone(ZoneInfo(tz))
    if (local.hour, local.minute) < (hour, minute):
        return []
    return run_check(client, connect, settings, now)


# ---------------------------------------------------------------------------------------
# Open alerts, and Acknowledge


def open_alerts(db, team: str, channels: list[str] | None = None) -> list[Alert]:
    """Alerts posted and not acknowledged, newest first (of these channels only, when given)."""
    sql = "SELECT * FROM budget_alerts WHERE team = ? AND status = 'posted' AND acked_at IS NULL"
    params: list = [team]
    if channels is not None:
        if not channels:
            return []
        sql += f" AND channel IN ({', '.join('?' for _ in channels)})"
        params += channels
    return [Alert.from_row(r) for r in database(db).query(sql + " ORDER BY id DESC", params)]


def unposted_alerts(db, team: str, channels: list[str]) -> list[Alert]:
    """Alerts of these channels' budgets that Slack refused to post (the bot not in the channel, say) and
    nobody dismissed, newest first: the App Home lists them, as the channel never showed them."""
    if not channels:
        return []
    sql = (
        "SELECT * FROM budget_alerts a WHERE team = ? AND status = 'failed' AND acked_at IS NULL "
        f"AND channel IN ({', '.join('?' for _ in channels)}) AND EXISTS (SELECT 1 FROM budgets b WHERE "
        "b.team = a.team AND b.channel = a.channel AND b.model = a.model AND b.amount = a.budget) ORDER BY id DESC"
    )
    return [Alert.from_row(r) for r in database(db).query(sql, [team, *channels])]


def alert(db, team: str, alert_id: int) -> Alert | None:
    rows = list(database(db).query("SELECT * FROM budget_alerts WHERE id = ? AND team = ?", [alert_id, team]))
    return Alert.from_row(rows[0]) if rows else None


def acknowledge(db, team: str, alert_id: int, user: str) -> tuple[Alert | None, bool]:
    """(the alert, True if this click acknowledged it; False if someone had already). An alert Slack refused
    to post is dismissed so too, from the App Home."""
    db = database(db)
    with transaction(db) as connection:
        cursor = connection.execute(
            "UPDATE budget_alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND team = ? "
            "AND status IN ('posted', 'failed') AND acked_at IS NULL",
            [user, now_iso(), alert_id, team],
        )
    return alert(db, team, alert_id), cursor.rowcount == 1


def alerts_section(found: list[Alert]) -> tuple[str, list[dict]] | None:
    """The weekly summary's open alerts: a text and Acknowledge buttons (five at most in one row)."""
    if not found:
        return None
    lines = [f"*Open budget alerts* ({len(found)}, until acknowledged)"]
    for a in found[:10]:
        what = f"{a.model} spend" if a.model else "LLM API spend"
        if a.threshold == FORECAST:
            lines.append(f"• {a.period}: {what} forecast {money(a.forecast)}, over its {money(a.budget)} budget")
        else:
            lines.append(f"• {a.period}: {what} reached {a.threshold} of {money(a.budget)} ({money(a.spent)})")
    buttons = [
        {
            "type": "button",
            "action_id": f"{ACK}_{i}",  # unique in the block: Slack refuses two buttons with one action_id
            "text": {"type": "plain_text", "text": f"Acknowledge {a.period} {a.threshold}"[:75]},
            "value": str(a.id),
        }
        for i, a in enumerate(found[:5])
    ]
    return "\n".join(lines), [{"type": "actions", "block_id": "open_alerts", "elements": buttons}]
