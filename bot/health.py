"""/healthz and /readyz: whether the process answers, and whether it can do its work.

/healthz is 200 as long as the front process answers HTTP (a supervisor restarts one that does not).
/readyz is 200 only when every check below passes, else 503 with the first failing one's reason in
one line: the bot is stopping; its worker process is gone; the database cannot be written (a full
disk, a read-only mount, a lock held too long) or its migrations are not the ones this version
expects; Slack refused the token at start-up (the bot then does not start at all, so a running bot
has passed that one); the Socket Mode connection is down. A container's HEALTHCHECK and a load
balancer ask /readyz.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlite_utils import Database

from .db import write_probe

Check = Callable[[], str | None]  # None when fine, else why not (one line)
WRITE_TIMEOUT_S = 2.0  # a probe waits this long for the write lock; the acks wait up to 30 s


def database_check(path: str) -> Check:
    """The database has every migration this version knows (bot/store.py migration_sets) and takes a
    write: the same write probe start-up makes (bot/db.py write_probe)."""

    def check() -> str | None:
        from .store import migration_sets

        try:
            connection = sqlite3.connect(path, timeout=WRITE_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            return f"database {path} cannot be opened: {exc}"
        try:
            pending = [m.name for s in migration_sets() for m in s.pending(Database(connection))]
            if pending:
                return f"database {path} lacks migrations {', '.join(pending)}: restart the bot to apply them"
            write_probe(connection)
        except sqlite3.Error as exc:
            return f"database {path} cannot be written: {exc}"
        finally:
            connection.close()
        return None

    return check


class Readiness:
    """The checks /readyz runs, in order; `stopping()` turns it 503 at once (a load balancer then stops
    sending deliveries before the listener closes)."""

    def __init__(self, checks: list[Check] | None = None) -> None:
        self.checks = list(checks or [])
        self._stopping = False

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def stopping(self) -> None:
        self._stopping = True

    def problem(self) -> str | None:
        if self._stopping:
            return "stopping"
        for check in self.checks:
            problem = check()
            if problem:
                return problem
        return None
