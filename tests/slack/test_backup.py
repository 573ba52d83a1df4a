"""Backups of the real bot's database: `breakeven-bot backup FILE` while it writes, the daily backup
with rotation, a restore as the README says, and the start-up check that refuses a damaged file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from contextlib import closing

import pytest

from .conftest import bot_env, free_port
from .test_durability import command, restart_until_idle, start_bot, stop_bot, wait_until_idle
from .test_operations import get, sample


def backup_command(env: dict, target, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.app", "backup", str(target)], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def checked(path) -> tuple[int, str]:
    """(analyses in the copy, its integrity check)."""
    with closing(sqlite3.connect(path)) as db:
        count = db.execute("SELECT count(*) FROM analyses").fetchone()[0]
        return count, db.execute("PRAGMA integrity_check").fetchone()[0]


def test_backup_while_the_bot_writes_is_consistent_and_restores(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "live.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path))
    bot = start_bot(env, port, tmp_path)
    copies = []
    try:
        statuses: list[int] = []  # checked after the join: an assert in the thread would fail no test
        burst = threading.Thread(target=lambda: statuses.extend(command(port, slack, i) for i in range(40)))
        burst.start()
        for n in range(3):  # taken while commands are stored and answered
            result = backup_command(env, tmp_path / f"during-{n}.db", tmp_path)
            assert result.returncode == 0, result.stderr
            assert f"backed up {db_path} to {tmp_path / f'during-{n}.db'}" in result.stdout
            copies.append(tmp_path / f"during-{n}.db")
        burst.join()
        assert statuses == [200] * 40
        wait_until_idle(db_path, bot)
        final = tmp_path / "final.db"
        assert backup_command(env, final, tmp_path).returncode == 0
    finally:
        stop_bot(bot)
    for copy in copies:
        count, integrity = checked(copy)
        assert integrity == "ok" and 0 <= count <= 40
        assert not os.path.exists(f"{copy}-wal")  # one self-contained file
        assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600  # it may hold workspace tokens
    assert checked(final) == (40, "ok")

    # Restore (README, Deploy): with the bot stopped, the file and its -wal and -shm are moved aside,
    # and a copy of the backup takes the file's place.
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute("DELETE FROM analyses")  # the loss the backup is for
    aside = tmp_path / "aside"
    aside.mkdir()
    for part in (db_path, f"{db_path}-wal", f"{db_path}-shm"):
        if os.path.exists(part):
            shutil.move(part, aside)
    shutil.copy(final, db_path)
    restart_until_idle(env, port, tmp_path, db_path)
    assert checked(db_path) == (40, "ok")


def test_a_backup_to_a_place_that_cannot_be_written_says_so_in_one_line(slack, tmp_path):
    env = bot_env(slack.url, BREAKEVEN_DB=str(tmp_path / "none-yet.db"))
    result = backup_command(env, tmp_path / "b.db", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"breakeven-bot: {tmp_path / 'none-yet.db'} does not exist: nothing to back up " \
        "(BREAKEVEN_DB)"  # fmt: skip
    sqlite3.connect(tmp_path / "none-yet.db").close()
    result = backup_command(env, tmp_path / "missing" / "dir" / "b.db", tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot write" in result.stderr and "missing/dir" in result.stderr
    result = backup_command(env, "", tmp_path)
    assert result.returncode == 2
    assert subprocess.run([sys.executable, "-m", "bot.app", "bakup"], env=env, cwd=tmp_path, capture_output=True,
                          text=True).stderr.startswith("breakeven-bot: usage: breakeven-bot backup FILE")  # fmt: skip


def test_the_daily_backup_runs_at_start_when_the_last_is_a_day_old_and_keeps_the_newest(slack, tmp_path):
    backups = tmp_path / "backups"
    backups.mkdir()
    for name in ("breakeven-20260101-030000.db", "breakeven-20260102-030000.db", "breakeven-20260103-030000.db"):
        (backups / name).write_bytes(b"an old backup")
    (backups / "notes.txt").write_text("not a backup: never deleted")
    port, db_path = free_port(), tmp_path / "daily.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), BACKUP_DIR=str(backups), BACKUP_KEEP="2")
    bot = start_bot(env, port, tmp_path)
    try:
        assert command(port, slack, 0) == 200
        wait_until_idle(db_path, bot)
        slack.wait_for(lambda: "breakeven-20260101-030000.db" not in os.listdir(backups), what="the rotation")
        _, text = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop_bot(bot)
    names = sorted(os.listdir(backups))
    assert len(names) == 3 and names[0] == "breakeven-20260103-030000.db" and names[2] == "notes.txt"
    new = backups / names[1]
    assert new.name.startswith("breakeven-2") and checked(new)[1] == "ok"
    assert sample(text, "breakeven_backups_total", outcome="made") == 1


def damage_a_page(path) -> None:
    with open(path, "r+b") as f:
        f.seek(4096 * 5)
        f.write(b"\xff" * 64)


def damage_the_header(path) -> None:
    with open(path, "r+b") as f:
        f.write(b"this is not SQLite" * 8)


@pytest.mark.parametrize("damage", [damage_a_page, damage_the_header])
def test_a_damaged_database_stops_start_up_naming_the_file_and_the_newest_backup(slack, tmp_path, damage):
    db_path, backups = tmp_path / "hurt.db", tmp_path / "backups"
    backups.mkdir()
    for name in ("breakeven-20261101-030000.db", "breakeven-20261130-030000.db"):
        (backups / name).write_bytes(b"")
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute("CREATE TABLE filler (x)")
        db.executemany("INSERT INTO filler VALUES (?)", [("x" * 200,) for _ in range(2000)])
    damage(db_path)
    env = bot_env(slack.url, PORT=str(free_port()), BREAKEVEN_DB=str(db_path), BACKUP_DIR=str(backups))
    result = subprocess.run([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"breakeven-bot: BREAKEVEN_DB: {db_path} is damaged (")
    assert f"restore the newest backup, {backups / 'breakeven-20261130-030000.db'}" in line
    assert not slack.calls  # refused before anything talked to Slack


def test_a_damaged_database_without_backups_says_none_was_found(slack, tmp_path):
    db_path = tmp_path / "hurt.db"
    sqlite3.connect(db_path).close()
    damage_the_header(db_path)
    env = bot_env(slack.url, PORT=str(free_port()), BREAKEVEN_DB=str(db_path))
    result = subprocess.run([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "no backup was found (BACKUP_DIR is not set)" in result.stderr.strip()
