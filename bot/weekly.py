"""The weekly spend summary: where the money went, and how far each saved decision is from
break-even at this week's real volume. post_weekly_summary is safe to fire twice: the guard is a
row in the database, claimed before anything is posted."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from costcore.format import count, money
from costcore.scenario import CostModel
from costcore.spend import DAYS_PER_MONTH, WeeklySummary, report_week, summarise

log = logging.getLogger("breakeven.weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class WeeklyResult:
    status: str  # posted | quiet | skipped (already done) | failed
    week: str
    text: str = ""
    ts: str | None = None


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def summary_text(summary: WeeklySummary) -> list[str]:
    pct = "" if summary.change_pct is None else f" ({summary.change_pct:+.0%})"
    sign = "+" if summary.change >= 0 else "-"
    lines = [
        f"*LLM API spend, week {summary.week}* ({summary.monday:%b %d} - {summary.sunday:%b %d}): "
        f"*{money(summary.total)}*, {sign}{money(abs(summary.change))}{pct} on last week's "
        f"{money(summary.last_week_total)}.",
        f"Tokens: {count(summary.input_tokens)} in, {count(summary.output_tokens)} out; "
        f"{count(summary.requests)} requests.",
        f"Month to date {money(summary.month_to_date)}; month-end forecast {money(summary.month_end_forecast)}.",
    ]
    if summary.movers:
        lines.append("*Top movers*")
        for mover in summary.movers[:3]:
            lines.append(
                f"• {mover.provider} {mover.model}: {money(mover.this_week)} "
                f"({'+' if mover.change >= 0 else '-'}{money(abs(mover.change))})"
            )
    if summary.distances:
        lines.append("*Decisions in this channel, at this week's volume*")
        for d in summary.distances:
            if d.breakeven_requests_per_month is None:
                where = "buying never breaks even on cost"
            else:
                gap = d.breakeven_requests_per_month - d.real_requests_per_month
                where = (
                    f"{count(gap)} requests a month below break-even ({count(d.breakeven_requests_per_month)})"
                    if gap > 0
                    else f"past break-even by {count(-gap)} requests a month"
                )
            lines.append(
                f"• #{d.analysis_id} ({d.verdict}): running at {count(d.real_requests_per_month)} requests "
                f"a month, {where}; self-hosted this volume would cost {money(d.selfhost_monthly)} a month "
                f"against {money(d.real_api_monthly)} on the API."
            )
            if d.crossed:
                side = "crossed above" if d.past_breakeven else "fell back below"
                lines.append(
                    f":rotating_light: *#{d.analysis_id} {side} its break-even since the last summary: "
                    f"time to revisit the decision* (`/breakeven show {d.analysis_id}`)."
                )
    return lines


def selfhost_daily(summary: WeeklySummary, reports: list[dict]) -> dict[dt.date, float] | None:
    """What each day's volume would cost self-hosted, from the channel's latest analysis."""
    if not reports:
        return None
    model = CostModel.model_validate(reports[-1]["report"]["cost_model"])
    return {
        day: model.selfhost_monthly(requests * DAYS_PER_MONTH) / DAYS_PER_MONTH
        for day, requests in summary.daily_requests.items()
    }


def build_summary(store, team: str, channel: str, now: dt.datetime) -> tuple[WeeklySummary, list[dict]]:
    monday, _, week = report_week(now)
    since = min(monday - dt.timedelta(days=7), now.date().replace(day=1)).isoformat()
    reports = store.all_reports(team, channel)
    summary = summarise(store.spend(team, since), now, reports, store.last_sides(team, channel, week))
    return summary, reports


def post_weekly_summary(
    client, store, team: str, channel: str, now: dt.datetime, *, quiet: bool = False, dry_run_dir=None
) -> WeeklyResult:
    """Post this channel's summary of the last complete ISO week, once, whoever calls."""
    summary, reports = build_summary(store, team, channel, now)
    lines = summary_text(summary)
    if dry_run_dir is not None:
        from pathlib import Path

        from costcore.charts import weekly_chart

        folder = Path(dry_run_dir)
        (folder / f"weekly-{summary.week}.txt").write_text("\n".join(lines) + "\n")
        (folder / f"weekly-{summary.week}.png").write_bytes(weekly_chart(summary, selfhost_daily(summary, reports)))
        return WeeklyResult("dry-run", summary.week, "\n".join(lines))
    if not store.claim_week(team, channel, summary.week):
        return WeeklyResult("skipped", summary.week)
    sides = {d.analysis_id: d.past_breakeven for d in summary.distances}
    try:
        if summary.total == 0:
            if quiet:
                store.finish_week(team, channel, summary.week, ok=True, sides=sides)
                return WeeklyResult("quiet", summary.week)
            text = f"No LLM API spend recorded for week {summary.week}."
            response = client.chat_postMessage(channel=channel, text=text, blocks=[_section(text)])
            store.finish_week(team, channel, summary.week, ok=True, ts=response["ts"], sides=sides)
            return WeeklyResult("posted", summary.week, text, response["ts"])
        text = lines[0].replace("*", "")
        response = client.chat_postMessage(channel=channel, text=text, blocks=[_section("\n".join(lines))])
    except Exception as exc:
        store.finish_week(team, channel, summary.week, ok=False)
        log.warning("weekly summary for %s %s not posted: %s", channel, summary.week, exc)
        return WeeklyResult("failed", summary.week, str(exc))
    store.finish_week(team, channel, summary.week, ok=True, ts=response["ts"], sides=sides)
    from costcore.charts import weekly_chart

    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=response["ts"],
            filename=f"spend-{summary.week}.png",
            content=weekly_chart(summary, selfhost_daily(summary, reports)),
            title=f"Daily spend, week {summary.week}",
        )
    except Exception as exc:
        log.warning("weekly chart not attached: %s", exc)
        client.chat_postMessage(
            channel=channel,
            thread_ts=response["ts"],
            text=f"The spend chart could not be attached ({type(exc).__name__}).",
        )
    return WeeklyResult("posted", summary.week, "\n".join(lines), response["ts"])


# ---------------------------------------------------------------------------------------
# `/breakeven weekly #channel [day time timezone] [quiet]` and the scheduler

WEEKLY_EXAMPLE = "weekly #finops mon 09:00 Europe/Paris"


def parse_weekly(text: str) -> dict:
    """'<#C123|finops> mon 09:00 Europe/Paris quiet' -> {channel, day, time, tz, quiet}."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from costcore.grammar import GrammarError

    words = text.split()
    if not words:
        raise GrammarError("channel", "name the channel to post in", WEEKLY_EXAMPLE)
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
            except (ZoneInfoNotFoundError, ValueError):
                raise GrammarError(
                    "timezone",
                    f"'{word}' is not a day, a time (09:00) or a timezone (e.g. Europe/Paris)",
                    WEEKLY_EXAMPLE,
                ) from None
            options["tz"] = word
    return {"channel": channel, **options}


def build_scheduler(client, store, settings=None):
    """An APScheduler BackgroundScheduler with one cron job per configured channel."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    for row in store.weekly_channels():
        schedule_channel(scheduler, client, store, settings, row)
    return scheduler


def schedule_channel(scheduler, client, store, settings, row: dict) -> None:
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(p) for p in row["time"].split(":"))
    trigger = CronTrigger(day_of_week=row["day"], hour=hour, minute=minute, timezone=row["tz"])
    scheduler.add_job(
        run_weekly,
        trigger,
        args=[client, store, settings, row["team"], row["channel"], bool(row["quiet"])],
        id=f"weekly:{row['team']}:{row['channel']}",
        replace_existing=True,
        misfire_grace_time=3600,
        coalesce=True,
    )


def run_weekly(
    client, store, settings, team: str, channel: str, quiet: bool, now: dt.datetime | None = None
) -> WeeklyResult:
    """Sync OpenAI spend when a key is set, then post the summary (guarded)."""
    if settings is not None and getattr(settings, "openai_admin_key", None) is not None:
        from .spend import SyncError, sync_openai

        try:
            sync_openai(store, team, settings.openai_admin_key.get_secret_value(), settings.openai_base_url)
        except SyncError as exc:
            log.warning("spend sync before the weekly summary failed: %s", exc)
    return post_weekly_summary(client, store, team, channel, now or dt.datetime.now(dt.UTC), quiet=quiet)
