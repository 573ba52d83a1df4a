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


def weekly(team: str, channel: str | None, db: str | None, dry_run: bool, out: Path) -> str:
    from bot.weekly import post_weekly_summary, weekly_channels

    store = _store(db)
    now = dt.datetime.now(dt.UTC)
    if dry_run:
        out.mkdir(parents=True, exist_ok=True)
        result = post_weekly_summary(None, store, team, channel or "", now, dry_run_dir=out)
        return f"{result.text}\n\nWritten to {out}/weekly-{result.week}.txt and .png"
    from bot.oauth import Workspaces
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
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
        result = post_weekly_summary(client, store, target_team, target_channel, now, quiet=quiet)
        lines.append(f"{target_channel} {result.week}: {result.status}")
    return "\n".join(lines)


def run(args) -> int:
    from bot.store import StoreError

    try:
        if args.command == "spend" and args.action == "import":
            print(spend_import(args.file, args.team, args.db))
        elif args.command == "spend":
            print(spend_sync(args.team, args.db, args.days))
        else:
            print(weekly(args.team, args.channel, args.db, args.dry_run, args.out))
    except (ValueError, StoreError) as exc:
        from bot.redact import redact

        print(f"breakeven: {redact(str(exc))}", file=sys.stderr)  # a server may echo the key it refused
        return 2
    return 0
