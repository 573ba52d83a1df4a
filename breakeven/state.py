"""The CLI's commands that keep state: spend import/sync and the weekly summary.

The database and the network code they use live in bot/ (store, spend sources, weekly summary);
costcore stays pure.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path


def _store(db: str | None):
    from bot.store import Store

    return Store(db or os.environ.get("BREAKEVEN_DB") or "breakeven.db")


def spend_import(path: Path, team: str, db: str | None) -> str:
    from bot.spend import import_csv
    from costcore.spend import SpendCsvError

    try:
        return import_csv(lambda: _store(db), team, path)  # opened once the file passed
    except SpendCsvError as exc:
        raise ValueError(f"{path}: {exc}") from None


def spend_sync(team: str, db: str | None, days: int) -> str:
    from bot.spend import SyncError, sync_openai

    key = os.environ.get("OPENAI_ADMIN_KEY")
    if not key:
        raise ValueError("OPENAI_ADMIN_KEY is not set: an organization admin key (sk-admin-...) is needed")
    try:
        written = sync_openai(_store(db), team, key, os.environ.get("OPENAI_BASE_URL") or None, days=days)
    except SyncError as exc:
        raise ValueError(str(exc)) from None
    return f"Synced {written} rows of OpenAI spend (last {days} days)."


def _threshold() -> float:
    from .sheet import threshold

    return threshold()


def _slack():
    """The Slack settings (the environment or .env) for the commands that post."""
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        raise ValueError(str(exc)) from None


def weekly(team: str, channel: str | None, db: str | None, dry_run: bool, out: Path, sheet=None) -> str:
    from bot.weekly import post_weekly_summary, weekly_channels

    store = _store(db)
    now = dt.datetime.now(dt.UTC)
    if dry_run:
        out.mkdir(parents=True, exist_ok=True)
        result = post_weekly_summary(
            None, store, team, channel or "", now, dry_run_dir=out, sheet=sheet, threshold=_threshold()
        )
        return f"{result.text}\n\nWritten to {out}/weekly-{result.week}.txt and .png"
    from bot.oauth import Workspaces

    settings = _slack()
    workspaces = Workspaces(settings, store)  # one bot token, or each workspace's own
    targets = [
        (r["team"], r["channel"], bool(r["quiet"]))
        for r in weekly_channels(store)
        if (channel is None or r["channel"] == channel)
    ]
    if channel and not targets:
        targets = [(team, channel, False)]
    if not targets:
        raise ValueError("no channel asked for weekly summaries: give --channel C123 or use `/breakeven weekly`")
    lines = []
    for target_team, target_channel, quiet in targets:
        client = workspaces.client(target_team)
        if client is None:
            lines.append(f"{target_channel}: not posted, workspace {target_team} has not installed the app")
            continue
        result = post_weekly_summary(
            client, store, target_team, target_channel, now, quiet=quiet, sheet=sheet or settings.price_sheet,
            threshold=settings.recheck_threshold,
        )  # fmt: skip
        lines.append(f"{target_channel} {result.week}: {result.status}")
    return "\n".join(lines)


def recheck(team: str, channel: str | None, db: str | None, sheet, as_json: bool) -> str:
    """`breakeven recheck --team T`: every saved decision of the team (one channel's with --channel)."""
    import json

    from bot.recheck import recheck as run_recheck
    from bot.recheck import recheck_summary

    outcomes = run_recheck(
        _store(db), team, channel, sheet=sheet, trigger="breakeven recheck", threshold=_threshold()
    )
    if not as_json:
        return recheck_summary(outcomes).replace("`/breakeven volume=...`", "`/breakeven volume=...` in Slack")
    return json.dumps(
        [
            {
                "analysis": o.analysis_id,
                "channel": o.channel,
                "error": o.error or None,
                "version": None if o.now is None else o.now.version,
                "new_version": o.new_version,
                "verdict_before": o.before.verdict,
                "verdict": None if o.now is None else o.now.verdict,
                "monthly_savings_before": o.before.report["monthly_savings"],
                "monthly_savings": None if o.now is None else o.now.report["monthly_savings"],
                "moved_most": None if o.change is None or o.change.mover is None else o.change.mover.words(),
                "volume": None if o.now is None else o.now.basis,
            }
            for o in outcomes
        ],
        indent=2,
    )


def check(team: str, db: str | None, dry_run: bool) -> tuple[str, str | None]:
    """`breakeven check --team T`: the daily budget check, now (alerts already posted are not posted again).
    (what to print, the failure to report on stderr when an alert was not posted: the exit status is then 1)."""
    from bot.budget import budget_lines, budget_today, budgets, plan, run_check

    from .sheet import budget_settings

    store = _store(db)
    if dry_run:
        today = budget_today(budget_settings())
        found = budgets(store, team)
        if not found:
            return f"No budget is set in team {team}: `/breakeven budget $5,000/month` in a channel sets one.", None
        lines = budget_lines(store, found, today)
        return "\n".join(
            f"{b.channel}: {line[2:]}\n{b.channel}: {plan(store, b, today)}"
            for b, line in zip(found, lines, strict=True)
        ), None
    from bot.oauth import Workspaces

    settings = _slack()
    workspaces = Workspaces(settings, store)  # one bot token, or each workspace's own
    results = run_check(workspaces.client, store, settings, team=team)
    if not results:
        return f"Checked the budgets of team {team}: no alert is due.", None
    text = "\n".join(
        f"{r.budget.channel} {r.budget.what} {r.threshold}: {r.status}" + (f" ({r.reason})" if r.reason else "")
        for r in results
    )
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        return text, None
    count = f"{len(failed)} alert{'s' if len(failed) > 1 else ''}"
    return text, (
        f"{count} not posted: Slack refused ({', '.join(sorted({r.reason for r in failed}))}); where the bot is not "
        "in the channel, `/invite @breakeven` there. The next check tries again."
    )


def run(args) -> int:
    from bot.store import StoreError

    try:
        if args.command == "spend" and args.action == "import":
            print(spend_import(args.file, args.team, args.db))
        elif args.command == "spend":
            print(spend_sync(args.team, args.db, args.days))
        elif args.command == "recheck":
            print(recheck(args.team, args.channel, args.db, args.sheet, args.json))
        elif args.command == "check":
            text, failure = check(args.team, args.db, args.dry_run)
            print(text)
            if failure:  # a cron job or a script sees it: the alert reached nobody
                print(f"breakeven: {failure}", file=sys.stderr)
                return 1
        else:
            print(weekly(args.team, args.channel, args.db, args.dry_run, args.out, args.sheet))
    except (ValueError, StoreError) as exc:
        from bot.redact import redact

        print(f"breakeven: {redact(str(exc))}", file=sys.stderr)  # a server may echo the key it refused
        return 2
    return 0
