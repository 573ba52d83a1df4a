"""The SQLite file every part of the bot shares (history, jobs, spend, weekly posts): how a
connection is opened and how the tables are put in place, safely when two processes start at once."""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager

import sqlite_utils
from sqlite_utils.migrations import Migrations


class StoreError(Exception):
    """The database cannot be opened or prepared: one line naming the file and why."""


# Busy, locked: another process holds the database for a moment (two bots starting on a new file).
_TRANSIENT = ("locked", "busy")


def prepare(db: sqlite_utils.Database, *sets: Migrations, attempts: int = 20) -> None:
    """WAL on, then every pending migration of `sets` in one write transaction.

    Two processes starting together on a new file both get here: BEGIN IMMEDIATE makes the second
    wait for the first's migrations (and then find nothing pending), and switching to WAL, which
    SQLite does not make wait on the busy timeout, is simply tried again."""
    for attempt in range(attempts):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a killed process loses nothing committed
            connection = db.conn
            connection.execute("BEGIN IMMEDIATE")
            try:
                for migration_set in sets:
                    migration_set.apply(db)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return
        except sqlite3.OperationalError as exc:
            if attempt == attempts - 1 or not any(word in str(exc).lower() for word in _TRANSIENT):
                raise
            time.sleep(0.05 * (attempt + 1))


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout = 30000")
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
