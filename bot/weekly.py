"""The weekly spend summary: where the money went, and how far each decision saved in the channel is
from break-even at this week's real volume.

post_weekly_summary is safe to fire twice, from anywhere (two processes, a restart, the scheduler
and the CLI): before anything is posted it claims a row keyed by team, channel and ISO week in
the database, in a transaction. A post that fails marks the row failed, so a retry can post; a
claim left by a process that died mid-post is retaken after `stale_after_s`.

Storage functions take a `sqlite_utils.Database` (or the bot's Store); the tables are created by
bot.spend's own migration set. The scheduler takes `connect`, a callable that returns a Database
for the calling thread (APScheduler runs jobs in worker threads; sqlite3 connections may not
cross threads), e.g. `lambda: store.db`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from costcore.format import count, money
from costcore.spend import WeeklySummary, report_week, summarise

from .db import transaction
from .delivery import find_file, post_guarded
from .spend import database, load_spend, now_iso

log = logging.getLogger("breakeven.weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RETRY_DELAYS_S = (600, 1800, 3600)  # a scheduled post that failed is tried again after these
LOOK_BACK_S = 2 * 86400  # a summary that may have been posted is looked for this far back
SHOWN_DECISIONS = 5


@dataclass
class WeeklyResult:
    status: str  # posted | quiet | skipped (already posted, or being posted) | failed | dry-run
    week: str
    text: str = ""
    ts: str | None = None


# ---------------------------------------------------------------------------------------
# Storage: the channels that asked, and the exactly-once guard


def set_weekly_channel(db, team: str, channel: str, day: str, time: str, tz: str, quiet: bool) -> None:
    db = database(db)
    with transaction(db) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO weekly_channels (team, channel, day, time, tz, quiet, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [team, channel, day, time, tz, int(quiet), now_iso()],
        )


def weekly_channels(db) -> list[dict]:
    return list(database(db).query("SELECT * FROM weekly_channels ORDER BY team, channel"))


def weekly_channel(db, team: str, channel: str) -> dict | None:
    rows = list(database(db).query("SELECT * FROM weekly_channels WHERE team = ? AND channel = ?", [team, channel]))
    return rows[0] if rows else None


def claim_week(db, team: str, channel: str, week: str, *, stale_after_s: int = 600) -> str | None:
    """Claim the week's summary for this channel: "new", or "retaken" (a post failed, or its process
    died: the summary may be in the channel already); None if it was posted, or is being posted."""
    db = database(db)
    stamp = dt.datetime.now(dt.UTC)
    stale = (stamp - dt.timedelta(seconds=stale_after_s)).isoformat(timespec="seconds")
    with transaction(db) as connection:
        cursor = connection.execute(
            "INSERT OR IGNORE INTO weekly_posts (team, channel, week, status, claimed) VALUES (?, ?, ?, 'posting', ?)",
            [team, channel, week, stamp.isoformat(timespec="seconds")],
        )
        if cursor.rowcount == 1:
            return "new"
        cursor = connection.execute(
            "UPDATE weekly_posts SET status = 'posting', claimed = ? WHERE team = ? AND channel = ? AND week = ? "
            "AND (status = 'failed' OR (status = 'posting' AND claimed < ?))",
            [stamp.isoformat(timespec="seconds"), team, channel, week, stale],
        )
        return "retaken" if cursor.rowcount == 1 else None


def finish_week(
    db, team: str, channel: str, week: str, *, status: str, ts: str | None = None, sides: dict | None = None
) -> None:
    """status: posted | quiet (both final) or failed (a retry may claim the week again)."""
    db = database(db)
    with transaction(db) as connection:
        connection.execute(
            "UPDATE weekly_posts SET status = ?, ts = ?, sides = ? WHERE team = ? AND channel = ? AND week = ?",
            [status, ts, json.dumps(sides or {}), team, channel, week],
        )


def last_sides(db, team: str, channel: str, before_week: str) -> dict[int, bool]:
    """{analysis id: past break-even?} as of the channel's last summary before this week."""
    rows = list(
        database(db).query(
            "SELECT sides FROM weekly_posts WHERE team = ? AND channel = ? AND week < ? "
            "AND status IN ('posted', 'quiet') ORDER BY week DESC LIMIT 1",
            [team, channel, before_week],
        )
    )
    if not rows or not rows[0]["sides"]:
        return {}
    return {int(k): bool(v) for k, v in json.loads(rows[0]["sides"]).items()}


def saved_analyses(db, team: str, channel: str, current: dict[int, dict] | None = None) -> list[dict]:
    """The analyses saved in the channel, oldest first, each with its latest evaluation (bot/recheck.py:
    today's prices and measured volume, once re-checked; `current` by analysis id: this week's, which a
    dry run does not store), from the bot's store. None yet (a spend-only database): []."""
    from .recheck import latest

    db = database(db)
    if not db["analyses"].exists():
        return []
    rows = db.query("SELECT * FROM analyses WHERE team = ? AND channel = ? ORDER BY id", [team, channel])
    current = current or {}
    return [{"id": row["id"], "report": current.get(row["id"]) or latest(db, row).report} for row in rows]


# ---------------------------------------------------------------------------------------
# The message


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def _change(amount: float, before: float) -> str:
    sign = "+" if amount >= 0 else "-"
    pct = f", {amount / before:+.0%}" if before else ""
    return f"{sign}{money(abs(amount))}{pct}"


def _distance_line(d) -> str:
    what = f"#{d.analysis_id} ({d.verdict})"
    volume = f"running at {count(d.real_requests_per_month)} requests a month"
    if d.volume_estimated:
        volume += " (estimated from spend: no request counts recorded)"
    if d.gap is None:
        where = "buying never breaks even on cost"
    elif d.past_breakeven:
        where = f"past break-even by {count(max(-d.gap, 0))} requests a month ({count(d.breakeven_requests_per_month)})"
    else:
        share = d.real_requests_per_month / d.breakeven_requests_per_month if d.breakeven_requests_per_month else 0
        where = (
            f"{count(d.gap)} requests a month short of break-even ({count(d.breakeven_requests_per_month)}; "
            f"{share:.0%} of the way)"
        )
    return (
        f"• {what}: {volume}, {where}; self-hosted this volume would cost {money(d.selfhost_monthly)} a month "
        f"against {money(d.api_monthly)} on the API"
        + (f" ({d.api_model})" if d.api_model and d.api_model != "custom" else "")
        + "."
    )


def _alert_line(d) -> str:
    if d.past_breakeven:
        side = "crossed above its break-even since the last summary: self-hosting now costs less than the API"
    else:
        side = "fell back below its break-even since the last summary: the API is cheaper again"
    return f":rotating_light: *#{d.analysis_id} {side}*. Time to revisit: `/breakeven show {d.analysis_id}`."


def _month_line(summary: WeeklySummary) -> str:
    """The month to date, up to the last day spend is recorded (the forecasts' window: costcore/forecast.py)."""
    if summary.month_through < summary.month_start:
        return (
            f"Month to date: nothing recorded in {summary.month_start:%B} yet; month-end forecast "
            f"{money(summary.month_end_forecast)} at the daily rate last recorded."
        )
    return (
        f"Month to date {money(summary.month_to_date)} ({summary.month_start:%b} 1-{summary.month_through.day}); "
        f"month-end forecast {money(summary.month_end_forecast)} at this month's daily rate."
    )


def summary_lines(summary: WeeklySummary) -> list[str]:
    """The message as mrkdwn lines, the most important first (cut to Slack's limit line by line)."""
    lines = [
        f"*LLM API spend, week {summary.week}* ({_day(summary.monday)} - {_day(summary.sunday)}): "
        f"*{money(summary.total)}*, {_change(summary.change, 0)}"
        + ("" if summary.change_pct is None else f" ({summary.change_pct:+.0%})")
        + f" on last week's {money(summary.last_week_total)}.",
        f"Tokens: {count(summary.input_tokens)} in, {count(summary.output_tokens)} out; "
        f"{count(summary.requests)} requests.",
        _month_line(summary),
    ]
    alerts = [d for d in summary.distances if d.crossed]
    lines += [_alert_line(d) for d in alerts]
    if summary.movers:
        lines.append("*Top movers*")
        lines += [
            f"• {m.provider} {m.model}: {money(m.last_week)} → {money(m.this_week)} ({_change(m.change, m.last_week)})"
            for m in summary.movers[:3]
        ]
    if summary.distances:
        shown = summary.distances[-SHOWN_DECISIONS:]
        shown = [d for d in alerts if d not in shown] + shown
        lines.append("*Decisions saved in this channel, at this week's volume (all providers)*")
        lines += [_distance_line(d) for d in shown]
        older = len(summary.distances) - len(shown)
        if older > 0:
            lines.append(f"_and {older} older analyses: `/breakeven history`_")
    return lines


def summary_blocks(summary: WeeklySummary, sources: list[str]) -> tuple[str, list[dict]]:
    """(notification text, blocks), validated by slack_sdk's block models."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

    from .render import fit_lines

    text_of_lines = fit_lines(summary_lines(summary), 3000)  # long lines cut, none dropped
    notes = [f"Sources: {', '.join(sources) or 'none'}."]
    if summary.selfhost_basis is not None:
        notes.append(f"Self-hosted figures from analysis #{summary.selfhost_basis}'s cost model. Chart in the thread.")
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text_of_lines)),
        ContextBlock(elements=[MarkdownTextObject(text=fit_lines([" ".join(notes)], 3000))]),
    ]
    text = (
        f"LLM API spend, week {summary.week}: {money(summary.total)} "
        f"({_change(summary.change, summary.last_week_total)} on last week)"
    )
    return text, [b.to_dict() for b in blocks]


def quiet_blocks(week: str) -> tuple[str, list[dict]]:
    from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

    text = f"No LLM API spend recorded for week {week}."
    return text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]


# ---------------------------------------------------------------------------------------
# Posting


def build_summary(
    db, team: str, channel: str, now: dt.datetime, current: dict[int, dict] | None = None
) -> tuple[WeeklySummary, list[str]]:
    """The summary of the last complete week before now (now in the channel's timezone), and its sources.
    current: this week's re-checked evaluations by analysis id, so the post says one thing of a decision."""
    monday, _, week = report_week(now)
    since = min(monday - dt.timedelta(days=7), (now.date() - dt.timedelta(days=1)).replace(day=1))
    rows = load_spend(db, team, since)
    analyses = saved_analyses(db, team, channel, current)
    summary = summarise(rows, now, analyses, last_sides(db, team, channel, week))
    sources = sorted({r.source for r in rows if monday <= r.day <= summary.sunday})
    return summary, sources


def post_weekly_summary(
    client,
    db,
    team: str,
    channel: str,
    now: dt.datetime,
    *,
    quiet: bool | None = None,
    tz: str | None = None,
    dry_run_dir: Path | str | None = None,
    sheet=None,
    threshold: float = 0.2,
    budget_day: dt.date | None = None,
) -> WeeklyResult:
    """Post this channel's summary of the last complete ISO week, once, whoever calls.

    tz and quiet default to the channel's `/breakeven weekly` settings (else UTC, not quiet): the
    week is the channel's. dry_run_dir: write weekly-<week>.txt, .json (blocks) and .png there instead.
    sheet, threshold: the prices the channel's decisions are re-checked with, and the move in savings
    that makes a re-checked decision news (bot/decisions.py).
    """
    from .decisions import weekly_extras

    db = database(db)
    setup = weekly_channel(db, team, channel) or {}
    tz = tz or setup.get("tz") or "UTC"
    quiet = bool(setup.get("quiet")) if quiet is None else quiet
    local_now = now.astimezone(ZoneInfo(tz)) if now.tzinfo else now
    # Re-checked first: every section that shows a decision shows this week's evaluation of it.
    extras = weekly_extras(
        db, team, channel, local_now, sheet=sheet, threshold=threshold, store=dry_run_dir is None, budget_day=budget_day
    )
    summary, sources = build_summary(db, team, channel, local_now, extras.current)
    week = summary.week
    no_spend = summary.total == 0 and not any(summary.daily_requests.values())
    empty = no_spend and not extras.news  # a changed decision or an open alert is news in a quiet week too
    text, blocks = quiet_blocks(week) if no_spend else summary_blocks(summary, sources)
    blocks = [blocks[0], *extras.blocks, *blocks[1:]]
    if dry_run_dir is not None:
        from costcore.spend_chart import weekly_chart

        folder = Path(dry_run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        (folder / f"weekly-{week}.txt").write_text(body + "\n")
        (folder / f"weekly-{week}.json").write_text(json.dumps({"text": text, "blocks": blocks}, indent=2) + "\n")
        (folder / f"weekly-{week}.png").write_bytes(weekly_chart(summary))
        return WeeklyResult("dry-run", week, body)
    sides = {d.analysis_id: d.past_breakeven for d in summary.distances}
    claim = claim_week(db, team, channel, week)
    if not claim:
        return WeeklyResult("skipped", week)
    if empty and quiet:
        finish_week(db, team, channel, week, status="quiet", sides=sides)
        return WeeklyResult("quiet", week)
    try:
        key = f"weekly:{team}:{channel}:{week}"
        ts = post_guarded(client, channel, key, claim, text=text, blocks=blocks, look_back_s=LOOK_BACK_S)
    except Exception as exc:
        finish_week(db, team, channel, week, status="failed")
        log.warning("weekly summary for %s %s not posted: %s", channel, week, exc)
        return WeeklyResult("failed", week, str(exc))
    finish_week(db, team, channel, week, status="posted", ts=ts, sides=sides)  # before the chart: never twice
    extras.posted(db, week)
    if not no_spend:
        _attach_chart(client, channel, ts, summary, look_first=claim == "retaken")
    return WeeklyResult("posted", week, blocks[0]["text"]["text"], ts)


def _attach_chart(client, channel: str, ts: str, summary: WeeklySummary, *, look_first: bool = False) -> None:
    from costcore.spend_chart import weekly_chart

    filename = f"spend-{summary.week}.png"
    if look_first and find_file(client, channel, ts, filename, oldest=time.time() - LOOK_BACK_S):
        return  # attached before the process that posted it died
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            filename=filename,
            content=weekly_chart(summary),
            title=f"Daily spend, week {summary.week}",
        )
    except Exception as exc:
        log.warning("weekly chart not attached: %s", exc)
        try:
            client.chat_postMessage(
                channel=channel, thread_ts=ts, text=f"The spend chart could not be attached ({type(exc).__name__})."
            )
        except Exception:
            log.warning("could not tell the channel either")


# ---------------------------------------------------------------------------------------
# `/breakeven weekly #channel [day time timezone] [quiet]` and the scheduler

WEEKLY_EXAMPLE = "weekly #finops mon 09:00 Europe/Paris"


def parse_weekly(text: str) -> dict:
    """'<#C123|finops> mon 09:00 Europe/Paris quiet' -> {channel, day, time, tz, quiet}."""
    from zoneinfo import ZoneInfoNotFoundError

    from costcore.grammar import GrammarError

    from .bounds import check_length

    words = text.split()
    if not words:
        raise GrammarError("channel", "name the channel to post in", WEEKLY_EXAMPLE)
    # Bounded before any lookup: a time zone of 3,000 characters is an error of the file system.
    check_length("channel", words[0], 100, WEEKLY_EXAMPLE)  # <#C0123|name>: names are at most 80
    for word in words[1:]:
        check_length("timezone", word, 64, WEEKLY_EXAMPLE)  # the longest of the other words is 9
    if len(words) > 5:
        raise GrammarError(None, "give the channel, then at most a day, a time, a timezone and quiet", WEEKLY_EXAMPLE)
    match = re.fullmatch(r"<#([A-Z0-9]+)(\|[^>]*)?>", words[0])
    if match:
        channel = match[1]
    elif re.fullmatch(r"[CG][A-Z0-9]{6,}", words[0]):
        channel = words[0]
    else:
        raise GrammarError(
            "channel", f"'{words[0]}' is not a channel: pick it from Slack's #autocomplete", WEEKLY_EXAMPLE
        )
    options = {"day": "mon", "time": "09:00", "tz": "UTC", "quiet": False}
    for word in words[1:]:
        lowered = word.lower()
        if lowered[:3] in DAYS and lowered.isalpha():
            options["day"] = lowered[:3]
        elif re.fullmatch(r"\d{1,2}:\d{2}", word):
            hour, minute = (int(p) for p in word.split(":"))
            if hour > 23 or minute > 59:
                raise GrammarError("time", f"'{word}' is not a time of day", WEEKLY_EXAMPLE)
            options["time"] = f"{hour:02d}:{minute:02d}"
        elif lowered == "quiet":
            options["quiet"] = True
        else:
            try:
                ZoneInfo(word)
            except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: not a file name at all
                raise GrammarError(
                    "timezone",
                    f"'{word}' is not a day, a time (09:00) or a timezone (e.g. Europe/Paris)",
                    WEEKLY_EXAMPLE,
                ) from None
            options["tz"] = word
    return {"channel": channel, **options}


def connector(source) -> Callable[[], object]:
    """A callable giving the calling thread's Database: from a callable, the bot's Store, or a Database."""
    import sqlite_utils

    if isinstance(source, sqlite_utils.Database):
        return lambda: source
    if callable(source):
        return source
    return lambda: source.db


def run_weekly(
    client, connect, settings, team: str, channel: str, now: dt.datetime | None = None, **options
) -> WeeklyResult:
    """Sync OpenAI spend when OPENAI_ADMIN_KEY is set (a failed sync is logged; the summary goes out
    with what is stored), then post the summary (guarded). client: a WebClient, or a callable giving
    the team's (many workspaces: bot/oauth.py; None when the workspace uninstalled the app)."""
    from . import metrics
    from .budget import budget_today

    if callable(client):
        client = client(team)
        if client is None:
            log.warning("weekly summary for %s not posted: workspace %s uninstalled the app", channel, team)
            metrics.scheduled_post("skipped")
            return WeeklyResult("skipped", "")
    db = connector(connect)()
    key = getattr(settings, "openai_admin_key", None) if settings is not None else None
    if key is not None:
        from .spend import SyncError, sync_openai

        secret = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        try:
            sync_openai(db, team, secret, getattr(settings, "openai_base_url", None))
        except SyncError as exc:
            log.warning("spend sync before the weekly summary failed: %s", exc)
    options.setdefault("sheet", getattr(settings, "price_sheet", None))
    options.setdefault("threshold", getattr(settings, "recheck_threshold", 0.2))
    now = now or dt.datetime.now(dt.UTC)
    options.setdefault("budget_day", budget_today(settings, now))
    result = post_weekly_summary(client, db, team, channel, now, **options)
    metrics.scheduled_post(result.status)
    return result


def _scheduled(scheduler, client, connect, settings, team: str, channel: str, attempt: int = 0) -> WeeklyResult:
    """A cron firing (or a retry): post, and when the post failed try again later, a few times."""
    result = run_weekly(client, connect, settings, team, channel)
    if result.status == "failed" and scheduler is not None and attempt < len(RETRY_DELAYS_S):
        from apscheduler.triggers.date import DateTrigger

        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETRY_DELAYS_S[attempt])
        scheduler.add_job(
            _scheduled,
            DateTrigger(run_date=when),
            args=[scheduler, client, connect, settings, team, channel, attempt + 1],
            id=f"weekly-retry:{team}:{channel}",
            replace_existing=True,
        )
        log.info("weekly summary for %s will be tried again at %s", channel, when.isoformat(timespec="minutes"))
    return result


def schedule_channel(scheduler, client, connect, settings, row: dict) -> None:
    """Add (or replace) the channel's cron job: row has team, channel, day, time, tz."""
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(p) for p in row["time"].split(":"))
    trigger = CronTrigger(day_of_week=row["day"], hour=hour, minute=minute, timezone=row["tz"])
    scheduler.add_job(
        _scheduled,
        trigger,
        args=[scheduler, client, connector(connect), settings, row["team"], row["channel"]],
        id=f"weekly:{row['team']}:{row['channel']}",
        replace_existing=True,
        misfire_grace_time=3600,
        coalesce=True,
    )


def due_this_week(row: dict, now: dt.datetime) -> dt.datetime:
    """When the channel's summary was (or is) due in the current week, in its timezone."""
    local = now.astimezone(ZoneInfo(row["tz"]))
    monday = local.date() - dt.timedelta(days=local.weekday())
    hour, minute = (int(p) for p in row["time"].split(":"))
    day = monday + dt.timedelta(days=DAYS.index(row["day"]))
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(row["tz"]))


def catch_up(client, connect, settings, now: dt.datetime | None = None) -> list[WeeklyResult]:
    """At start-up: post the summaries whose time this week passed while the bot was down (the
    guard skips those already posted). A channel set up after this week's time waits for next week."""
    now = now or dt.datetime.now(dt.UTC)
    db = connector(connect)()
    results = []
    for row in weekly_channels(db):
        due = due_this_week(row, now)
        if due <= now and dt.datetime.fromisoformat(row["updated"]) < due:
            results.append(run_weekly(client, connect, settings, row["team"], row["channel"], now))
    return results


def build_scheduler(client, connect, settings=None):
    """An APScheduler BackgroundScheduler (not started) with one cron job per channel that asked,
    and a one-off catch-up job that runs as soon as it starts. connect: see the module docstring."""
    from apscheduler.schedulers.background import BackgroundScheduler

    connect = connector(connect)
    scheduler = BackgroundScheduler(timezone="UTC")
    for row in weekly_channels(connect()):
        schedule_channel(scheduler, client, connect, settings, row)
    scheduler.add_job(catch_up, args=[client, connect, settings], id="weekly-catch-up", misfire_grace_time=None)
    return scheduler
