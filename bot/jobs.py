"""The durable work queue: every command, click and submission is a row before Slack gets its ack.

    listener ──add()──> jobs (running, owned by this process) ──ack──> Slack
    worker   ──work, post──> done | failed
    start-up ──take_over()─> running rows of a process that died go back to queued;
             ──claim()─> each queued job, running for this process (attempts + 1), runs again

`add` is one INSERT OR IGNORE against the unique delivery key: the same transaction dedupes a
delivery Slack made twice and stores what the work needs. A job records the ts of the message it
posted (`posted`), and the message carries the job's uid in its metadata, so a job resumed after a
crash between its post and that record can find its message instead of posting again. It records
the file id of the chart it uploaded too (`charted`): a resumed job does not upload its chart twice.

A new job is written already claimed by the process that acks it (it runs it at once): two writes a
job (add, finish), each a short transaction, are all the queue costs. One connection for every
thread, under one lock: taking a Python lock is cheaper and fairer than SQLite's busy handler,
which sleeps in steps of milliseconds.

That connection never checkpoints the WAL itself: SQLite's automatic checkpoint runs inside the
commit that crosses the threshold and takes tens of milliseconds, and on this connection it would
land on an ack and hold the lock every other ack waits on. Every CHECKPOINT_EVERY finished jobs the
worker that finished the last one checkpoints instead, on its own connection, after the lock is
released (writers go on appending to the WAL while a checkpoint copies it).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

UNFINISHED = ("queued", "running")
LEASE_S = 900  # a job running on another host is taken over only after this long
KEEP_S = 30 * 86400  # finished jobs are kept a month (Slack's retries come within minutes), then pruned
CHECKPOINT_EVERY = 200  # finished jobs between WAL checkpoints (about 400 writes, ~1,000 pages at most)


def process_owner() -> str:
    """host:pid:boot: unique to this process, even where every start gets the same pid (pid 1 in a container)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(owner: str | None, me: str, claimed: float | None, now: float) -> bool:
    """Whether a running job's owner is gone: a process of this host that is not running any more
    (or an earlier life of this very pid), or a claim on another host older than the lease."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, _boot = rest.partition(":")
    my_host, _, my_rest = me.partition(":")
    if host == my_host:
        pid = int(pid_text) if pid_text.isdigit() else -1
        return owner != me and (pid == os.getpid() or not _alive(pid))
    return claimed is None or now - claimed > LEASE_S


@dataclass
class Job:
    id: int
    uid: str
    delivery: str
    kind: str
    lane: str
    team: str
    channel: str
    user: str
    response_url: str | None
    payload: dict
    attempts: int
    created: float
    ts: str | None
    chart: str | None = None

    @property
    def resumed(self) -> bool:
        """Claimed before: it may have posted already, so it looks before posting again."""
        return self.attempts > 1

    @classmethod
    def from_row(cls, row: tuple, names: list[str]) -> Job:
        values = dict(zip(names, row, strict=True))
        return cls(
            id=values["id"],
            uid=values["uid"],
            delivery=values["delivery"],
            kind=values["kind"],
            lane=values["lane"],
            team=values["team"] or "",
            channel=values["channel"] or "",
            user=values["user"] or "",
            response_url=values["response_url"],
            payload=json.loads(values["payload"]),
            attempts=values["attempts"],
            created=values["created"],
            ts=values["ts"],
            chart=values["chart"],
        )


COLUMNS = "id, uid, delivery, kind, lane, team, channel, user, response_url, payload, attempts, created, ts, chart"


class Jobs:
    def __init__(self, connection: sqlite3.Connection, checkpoint: Callable[[], None] | None = None):
        """`checkpoint` runs a WAL checkpoint on another connection (the calling thread's own)."""
        self._db = connection
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpoint = checkpoint
        self._finished = 0
        self._lock = threading.Lock()

    def _one(self, sql: str, params: list) -> Job | None:
        cursor = self._db.execute(sql, params)
        row = cursor.fetchone()
        return Job.from_row(row, [d[0] for d in cursor.description]) if row else None

    def add(
        self,
        *,
        delivery: str,
        kind: str,
        lane: str,
        team: str,
        channel: str,
        user: str,
        response_url: str | None,
        payload: dict,
        owner: str,
    ) -> Job | None:
        """Store the job, running for `owner`, unless this delivery was seen before (None)."""
        now = time.time()
        uid = hashlib.sha256(delivery.encode()).hexdigest()[:32]  # unique as the delivery is
        text = json.dumps(payload)
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO jobs (uid, delivery, kind, lane, team, channel, user, response_url, payload, "
                "status, attempts, owner, created, claimed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?)",
                [uid, delivery, kind, lane, team, channel, user, response_url, text, owner, now, now],
            )
            if cursor.rowcount != 1:
                return None
            job_id = cursor.lastrowid
        return Job(job_id, uid, delivery, kind, lane, team, channel, user, response_url, payload, 1, now, None)

    def claim(self, job_id: int, owner: str) -> Job | None:
        """queued -> running for this process; None if another worker has it or it is finished."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE jobs SET status = 'running', owner = ?, claimed = ?, attempts = attempts + 1 "
                "WHERE id = ? AND status = 'queued'",
                [owner, time.time(), job_id],
            )
            if cursor.rowcount != 1:
                return None
            return self._one(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", [job_id])

    def posted(self, job_id: int, ts: str) -> None:
        """The job's message is in the channel: a resumed job must not post it again."""
        with self._lock:
            self._db.execute("UPDATE jobs SET ts = ? WHERE id = ?", [ts, job_id])

    def charted(self, job_id: int, file_id: str) -> None:
        """The job's chart is uploaded: a resumed job must not upload it again."""
        with self._lock:
            self._db.execute("UPDATE jobs SET chart = ? WHERE id = ?", [file_id, job_id])

    def finish(self, job_id: int, status: str = "done", error: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status = ?, finished = ?, error = ? WHERE id = ?", [status, time.time(), error, job_id]
            )
            self._finished += 1
            due = self._finished % CHECKPOINT_EVERY == 0
        if due and self._checkpoint is not None:
            self._checkpoint()

    def take_over(self, owner: str) -> list[tuple[int, str]]:
        """Running jobs whose process is gone go back to the queue; then every queued job, oldest first,
        as (id, lane)."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished < ?", [now - KEEP_S])
            running = self._db.execute("SELECT id, owner, claimed FROM jobs WHERE status = 'running'").fetchall()
            for job_id, job_owner, claimed in running:
                if orphaned(job_owner, owner, claimed, now):
                    self._db.execute("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", [job_id])
            return self._db.execute("SELECT id, lane FROM jobs WHERE status = 'queued' ORDER BY id").fetchall()

    def unfinished(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._one(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", [job_id])
