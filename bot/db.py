"""The SQLite file every part of the bot shares (history, jobs, spend, weekly posts): how a
connection is opened and how the tables are put in place, safely when two processes start at once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import contextmanager

import sqlite_utils
from sqlite_utils.migrations import Migrations


class StoreError(Exception):
    """The database cannot be opened or prepared: one line naming the file and why."""


# Busy, locked: another process holds the database for a moment (two bots starting on a new file).
_TRANSIENT = ("locked", "busy")
START_WAIT_S = 10.0  # how long a start waits for another process's lock before it says so
BUSY_TIMEOUT_MS = 30000  # a running bot waits this long for the other process's write


def prepare(
    db: sqlite_utils.Database,
    *sets: Migrations,
    wait_s: float | None = None,
    probe: Callable[[sqlite3.Connection], None] | None = None,
) -> None:
    """WAL on, then every pending migration of `sets` in one write transaction, and in it `probe`
    (the bot's store passes `write_probe`: a read-only file opens and reads, so it must fail here,
    not on the first command).

    Two processes starting together on a new file both get here: BEGIN IMMEDIATE makes the second
    wait for the first's migrations (and then find nothing pending), and switching to WAL, which
    SQLite does not make wait on the busy timeout, is simply tried again. A lock held longer than
    `wait_s` (START_WAIT_S) is an error: another process is using the file."""
    deadline = time.monotonic() + (START_WAIT_S if wait_s is None else wait_s)
    connection = db.conn
    connection.execute(f"PRAGMA busy_timeout = {int(1000 * (START_WAIT_S if wait_s is None else wait_s))}")
    attempt = 0
    try:
        while True:
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.enable_wal()
                db.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses nothing committed
                connection.execute("BEGIN IMMEDIATE")
                try:
                    for migration_set in sets:
                        migration_set.apply(db)
                    if probe is not None:
                        probe(connection)
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                attempt += 1
                if time.monotonic() >= deadline or not any(word in str(exc).lower() for word in _TRANSIENT):
                    raise
                time.sleep(min(0.05 * attempt, 0.5))
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def write_probe(connection: sqlite3.Connection) -> None:
    """The one write that proves the database takes writes, at start-up (in `prepare`) and at every
    /readyz (bot/health.py): a read-only file or mount, a full disk, or a lock held past the busy
    timeout fail it. It rewrites the one row of `readiness` (bot/store.py m006_readiness_probe), a
    real write: SQLite must append it to the WAL, so a disk with no room left says so."""
    connection.execute("INSERT OR REPLACE INTO readiness (id, checked) VALUES (1, ?)", [time.time()])


def why_not(path: str, exc: sqlite3.Error) -> str:
    """One line for a database that cannot be used, saying what to do about it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return (
            f"{path} is read-only ({text}): the bot writes every command it acknowledges there; "
            "give it a file it can write, in a directory it can write"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or any(word in text.lower() for word in _TRANSIENT):
        return (
            f"{path} is locked by another process (still locked after {START_WAIT_S:g} s): stop the process "
            "holding it, or give this bot a database of its own"
        )
    if name.startswith("SQLITE_NOTADB") or "not a database" in text:
        return f"{path} is not a SQLite database ({text})"
    return f"cannot open the database {path}: {text}"


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


@contextmanager
def transaction(db: sqlite_utils.Database):
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error; joins a transaction already open."""
    connection = db.conn
    if connection.in_transaction:
        yield connection
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
