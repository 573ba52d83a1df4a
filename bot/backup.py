"""Backups of the one SQLite file that holds months of decisions and spend, and the start-up check
that refuses a damaged one.

`backup(db, target)` copies the database with SQLite's online backup API while the bot goes on
writing (WAL: the copy reads one consistent snapshot and holds back no writer), checks the copy
(`PRAGMA quick_check`) and only then moves it into place, so a backup file is whole or absent.
With BACKUP_DIR set the bot makes one a day (APScheduler, beside the weekly summaries), as
breakeven-YYYYMMDD-HHMMSS.db, and keeps the newest BACKUP_KEEP. Restoring is copying one back while
the bot is stopped (README, "Deploy").

In OAuth mode (many workspaces) the database holds each workspace's bot token: a backup is
written readable by its owner only (0600).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
from pathlib import Path

log = logging.getLogger("breakeven.backup")

NAME = re.compile(r"breakeven-\d{8}-\d{6}\.db")
EVERY = dt.timedelta(days=1)


class BackupError(Exception):
    """One line: what could not be backed up, and why."""


def backup(db_path: Path | str, target: Path | str) -> Path:
    """A consistent copy of the database at `target` (written beside it first, then renamed)."""
    source_path, target = Path(db_path), Path(target)
    if not source_path.is_file():
        raise BackupError(f"{source_path} does not exist: nothing to back up (BREAKEVEN_DB)")
    if target.exists() and target.is_dir():
        raise BackupError(f"{target} is a directory: give a file name, e.g. {target / 'breakeven-backup.db'}")
    partial = target.with_name(f".{target.name}.partial")
    try:
        source = sqlite3.connect(source_path, timeout=30)
        try:
            partial.unlink(missing_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # every page in one step: one consistent snapshot
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
                verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                copy.close()
        finally:
            source.close()
        if verdict != "ok":
            raise BackupError(f"the copy of {source_path} failed its check ({verdict}): {source_path} may be damaged")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source_path} to {target}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def backups(directory: Path | str) -> list[Path]:
    """The bot's backups in `directory`, oldest first (by the time in their names)."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NAME.fullmatch(p.name))


def newest_backup(directory: Path | str | None) -> Path | None:
    found = backups(directory) if directory else []
    return found[-1] if found else None


def daily_backup(db_path: Path | str, directory: Path | str, keep: int, now: dt.datetime | None = None) -> Path:
    """A backup named by the time, then every backup but the newest `keep` deleted."""
    from . import metrics

    folder = Path(directory)
    now = now or dt.datetime.now(dt.UTC)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        made = backup(db_path, folder / f"breakeven-{now:%Y%m%d-%H%M%S}.db")
    except BackupError as exc:
        metrics.backup_made("failed")
        log.error("daily backup failed: %s", exc)
        raise
    metrics.backup_made("made")
    for old in backups(folder)[:-keep]:
        old.unlink(missing_ok=True)
    log.info("backed up the database to %s (keeping the newest %d)", made, keep)
    return made


def next_backup_at(directory: Path | str, now: dt.datetime | None = None) -> dt.datetime:
    """A day after the newest backup, or now when there is none (or the newest is older): a bot that
    restarts often still backs up daily, and one that was down a week backs up as it starts."""
    now = now or dt.datetime.now(dt.UTC)
    newest = newest_backup(directory)
    if newest is None:
        return now
    made = dt.datetime.strptime(newest.name, "breakeven-%Y%m%d-%H%M%S.db").replace(tzinfo=dt.UTC)
    return max(now, made + EVERY)


def schedule_backups(scheduler, db_path: Path | str, directory: Path | str, keep: int) -> None:
    """Daily backups on the bot's APScheduler."""
    from apscheduler.triggers.interval import IntervalTrigger

    def run() -> None:
        try:
            daily_backup(db_path, directory, keep)
        except BackupError:
            pass  # logged and counted; tomorrow's may work

    scheduler.add_job(
        run,
        IntervalTrigger(days=1, start_date=next_backup_at(directory), timezone="UTC"),
        id="daily-backup",
        replace_existing=True,
        misfire_grace_time=None,
        coalesce=True,
        next_run_time=next_backup_at(directory),
    )


def damage(db_path: Path | str) -> str | None:
    """None if the database passes SQLite's quick check (or does not exist yet); else what is wrong."""
    from . import db

    path = Path(db_path)
    if not path.exists():
        return None
    try:  # a lock held past START_WAIT_S is not damage: the start-up's own open names it (bot/db.py)
        connection = sqlite3.connect(path, timeout=db.START_WAIT_S)
        try:
            rows = connection.execute("PRAGMA quick_check(3)").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc) or "unable to open" in str(exc):
            return None  # not damage: the start-up's own open names the problem
        return str(exc)
    found = [row[0] for row in rows]
    return None if found == ["ok"] else "; ".join(found)[:300]


def refusal(db_path: Path | str, backup_dir: Path | str | None) -> str | None:
    """The one line the bot stops with when its database is damaged (None when it is not): the file,
    what SQLite found, and the newest backup to restore."""
    problem = damage(db_path)
    if problem is None:
        return None
    newest = newest_backup(backup_dir)
    where = (
        f"restore the newest backup, {newest}"
        if newest
        else f"no backup was found{f' in {backup_dir}' if backup_dir else ' (BACKUP_DIR is not set)'}"
    )
    return (
        f"BREAKEVEN_DB: {db_path} is damaged ({problem}); refusing to start on it: {where} "
        "(README.md, Deploy: restore a backup)"
    )


USAGE = "usage: breakeven-bot backup FILE   (a consistent copy of BREAKEVEN_DB, safe while the bot runs)"


def command(args: list[str]) -> int:
    """`breakeven-bot backup FILE`: reads BREAKEVEN_DB from the environment or .env, as the bot does."""
    import sys

    if args in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(args) != 2 or args[0] != "backup":
        print(f"breakeven-bot: {USAGE}", file=sys.stderr)
        return 2
    db_path = _database_setting()
    try:
        made = backup(db_path, args[1])
    except BackupError as exc:
        print(f"breakeven-bot: {exc}", file=sys.stderr)
        return 2
    print(f"backed up {db_path} to {made} ({made.stat().st_size:,} bytes, checked)")
    return 0


def _database_setting() -> Path:
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Database(BaseSettings):  # BREAKEVEN_DB only: a backup needs no Slack token
        model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
        breakeven_db: Path = Path("breakeven.db")

    return Database().breakeven_db
