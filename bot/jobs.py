"""The durable work queue: every command, click and submission is a row before Slack gets its ack.

    listener ──add()──> jobs (running, owned by the process that will run it) ──ack──> Slack
    worker   ──work, post──> done | failed
    start-up ──take_over()─> running rows of a process that died go back to queued;
             ──claim()─> each queued job, running for this process (attempts + 1), runs again

`add` is one INSERT OR IGNORE against the unique delivery key: the same transaction dedupes a
delivery Slack made twice and stores what the work needs. A job records the ts of the message it
posted (`posted`) and the file id of the chart it uploaded (`charted`), and the message carries the
job's uid in its metadata, so a job resumed after a crash between its post and that record can find
its message instead of posting again; its chart, by name in the message's thread (bot/service.py).

A new job is written already claimed by the process that runs it at once (the worker process the
front process hands it to, bot/worker.py, or the acking process itself): two writes a job (add,
finish), each a short transaction, are all the queue costs. One connection for every thread of a
process, under one lock: taking a Python lock is cheaper and fairer than SQLite's busy handler,
which sleeps in steps of milliseconds (between the two processes, that handler it is).

Group commit: `finish(..., deferred=True)` (the bot's fast lane: help, history, show, forms) only
notes the job as finished; a flusher thread writes the noted finishes in one transaction FLUSH_S
after the first of them, or at once when FLUSH_AT are waiting, so a burst of cheap replies costs one
write per batch, not one per job, and no worker waits for the lock every ack takes. Everything that
reads the queue's state (`unfinished`, `get`, `claim`, `take_over`) and `close` flushes first, and so
does every immediate `finish` (its row goes in the same transaction). A process killed before a
flush loses only the record: those jobs are resumed at the next start and must be safe to run twice
(posts and charts are found again, see above; an ephemeral reply may repeat: the one documented
limit). Slow-lane jobs (analyses, measurements) finish immediately: they take seconds, the write is
nothing to them, and a finished measurement is not run again.

That connection never checkpoints the WAL by itself: SQLite's automatic checkpoint runs inside the
commit that crosses the threshold and takes tens of milliseconds, and on this connection it would
land on an ack and hold the lock every other ack waits on. Every CHECKPOINT_EVERY writes made here
(adds, finishes, posts recorded: every one appends to the WAL) a checkpoint runs instead, in two
steps: the bulk on its own connection, after the lock is released (writers go on appending to the
WAL while it copies), then the few frames appended meanwhile on this connection, under the lock and
in FULL mode, which holds back the writers of other connections too (the acks, when they come from
the front process: bot/worker.py) for as long. Only a checkpoint that copies every frame lets the
next write rewind the WAL; under steady load the first step alone never does, and the WAL grew by
~15 KB a job (29 MB over 2,000). A finish (a worker, the flusher) runs it on its own thread; an add
is an ack, so it hands it to the flusher thread instead. Counting every write, not only finishes, is
what bounds the WAL: acks that outrun the finishes (a burst, workers busy with slow analyses) used
to write unchecked between two checkpoints, and the WAL grew with the burst (past 8 MB in a test
whose acking thread got ahead of its worker by 800 jobs).
"""

from __future__ import annotations

import hashlib
import json
import logging
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
CHECKPOINT_EVERY = 200  # writes on one connection between WAL checkpoints (~1,000 pages at most)
FLUSH_S = 0.05  # a deferred finish is written at most this long after it is noted...
FLUSH_AT = 32  # ...or at once when this many are waiting
FLUSHER_IDLE_S = 1.0  # the flusher thread ends after this long with nothing to write (it comes back)

log = logging.getLogger("breakeven.bot")


def process_owner(pid: int | None = None, boot: str | None = None) -> str:
    """host:pid:boot: unique to a process (this one by default), even where every start gets the same
    pid (pid 1 in a container). A process that forks a worker names it with the worker's pid and a
    boot both agree on (bot/worker.py)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}:{boot or uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    """Whether the process runs. A zombie does not: a worker killed with its front process waits,
    reparented, until some init reaps it (which may be never)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):  # no /proc (not Linux): the signal's answer stands
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
FINISH = "UPDATE jobs SET status = ?, finished = ?, error = ? WHERE id = ?"


class Jobs:
    def __init__(
        self,
        connection: sqlite3.Connection,
        checkpoint: Callable[[], None] | None = None,
        *,
        off_the_ack_path: Callable[[Callable[[], None]], None] | None = None,
    ):
        """`checkpoint` runs a WAL checkpoint on another connection (the calling thread's own);
        `off_the_ack_path(fn)` runs fn on another thread (by default the flusher's)."""
        self._db = connection
        self._db.execute("PRAGMA wal_autocheckpoint = 0")
        self._checkpoint = checkpoint
        self._off_the_ack_path = off_the_ack_path or self._on_the_flusher
        self._writes = 0  # rows written on this connection, for the checkpoint's cadence
        self._checkpoint_due = False
        self._lock = threading.Lock()  # the connection
        # Deferred finishes, (status, finished, error, id), and the flusher that writes them.
        self._pending: list[tuple] = []
        self._pending_since = 0.0
        self._noted = threading.Condition(threading.Lock())
        self._flusher: threading.Thread | None = None

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
            due = self._count(1)
        if due:
            self._off_the_ack_path(self._checkpoint_all)
        return Job(job_id, uid, delivery, kind, lane, team, channel, user, response_url, payload, 1, now, None)

    def claim(self, job_id: int, owner: str) -> Job | None:
        """queued -> running for this process; None if another worker has it or it is finished."""
        self.flush()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE jobs SET status = 'running', owner = ?, claimed = ?, attempts = attempts + 1 "
                "WHERE id = ? AND status = 'queued'",
                [owner, time.time(), job_id],
            )
            if cursor.rowcount != 1:
                return None
            return self._one(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", [job_id])

    def release(self, job_ids: list[int]) -> None:
        """Jobs stored running for this process that it will not start (a clean stop): back to the
        queue for the next start, the attempt that never began not counted."""
        self.flush()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "UPDATE jobs SET status = 'queued', owner = NULL, attempts = max(attempts - 1, 0) "
                    "WHERE id = ? AND status = 'running'",
                    [[job_id] for job_id in job_ids],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def posted(self, job_id: int, ts: str) -> None:
        """The job's message is in the channel: a resumed job must not post it again (written at once)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET ts = ? WHERE id = ?", [ts, job_id])
            due = self._count(1)
        if due:
            self._checkpoint_all()

    def charted(self, job_id: int, file_id: str) -> None:
        """The job's chart is uploaded: a resumed job must not upload it again (written at once)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET chart = ? WHERE id = ?", [file_id, job_id])
            due = self._count(1)
        if due:
            self._checkpoint_all()

    def _count(self, rows: int) -> bool:
        """Count rows written (under the lock); whether that made a checkpoint due."""
        before, self._writes = self._writes, self._writes + rows
        return self._checkpoint is not None and before // CHECKPOINT_EVERY != self._writes // CHECKPOINT_EVERY

    def _checkpoint_all(self) -> None:
        """Copy the whole WAL into the database, so that the next write rewinds it (see the module's doc)."""
        self._checkpoint()  # the bulk of the copy, while acks go on appending
        with self._lock:  # the few frames appended meanwhile, with every writer held for as long
            self._db.execute("PRAGMA wal_checkpoint(FULL)")

    def _on_the_flusher(self, run: Callable[[], None]) -> None:
        """An ack made a checkpoint due: the flusher thread runs it (started if it is not running)."""
        with self._noted:
            self._checkpoint_due = True
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_loop, name="breakeven-flush")
                self._flusher.start()
            else:
                self._noted.notify()

    def finish(self, job_id: int, status: str = "done", error: str | None = None, *, deferred: bool = False) -> None:
        """done | failed. Written at once (with any deferred finishes), or, deferred, by the flusher
        within FLUSH_S: only for jobs that are safe to run again after a crash (see the module's doc)."""
        row = (status, time.time(), error, job_id)
        if deferred and threading.main_thread().is_alive():  # at interpreter exit: written at once
            with self._noted:
                self._pending.append(row)
                if len(self._pending) == 1:
                    self._pending_since = time.monotonic()
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_loop, name="breakeven-flush")
                    self._flusher.start()
                elif len(self._pending) in (1, FLUSH_AT):
                    self._noted.notify()
            return
        self._write([row])

    def flush(self) -> None:
        """Write every deferred finish now."""
        self._write([])

    def close(self) -> None:
        """Write every deferred finish; the flusher ends (a later deferred finish starts it again)."""
        self.flush()
        with self._noted:
            flusher, self._flusher = self._flusher, None
            self._noted.notify()
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=10)

    def _write(self, rows: list[tuple]) -> None:
        with self._noted:
            rows, self._pending = self._pending + rows, []
        if not rows:
            return
        try:
            with self._lock:
                if len(rows) == 1:
                    self._db.execute(FINISH, rows[0])
                else:
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        self._db.executemany(FINISH, rows)
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
                    self._db.execute("COMMIT")
                due = self._count(len(rows))
        except BaseException:
            with self._noted:  # kept, in order, for the next write to try again
                self._pending[:0] = rows
            raise
        if due:
            self._checkpoint_all()

    def _flush_loop(self) -> None:
        """The flusher: not a daemon, so a process that exits normally writes what is noted. It also
        runs the checkpoints acks make due. It ends after FLUSHER_IDLE_S with nothing to do, or as soon
        as the main thread has stopped and nothing is left (from then on `finish` writes at once)."""
        me = threading.current_thread()
        idle_since = time.monotonic()
        while True:
            with self._noted:
                if self._flusher is not me:
                    return
                checkpoint, self._checkpoint_due = self._checkpoint_due, False
                running = threading.main_thread().is_alive()
                if not checkpoint:
                    if not self._pending:
                        if not running or time.monotonic() - idle_since > FLUSHER_IDLE_S:
                            self._flusher = None
                            return
                        self._noted.wait(0.25)  # woken by the next finish noted; looks up now and then
                        continue
                    left = self._pending_since + FLUSH_S - time.monotonic()
                    if running and left > 0 and len(self._pending) < FLUSH_AT:
                        self._noted.wait(left)
                        continue
            try:
                if checkpoint:  # one an ack made due (add)
                    self._checkpoint_all()
                else:
                    self.flush()
            except Exception as exc:  # the rows are kept: tried again at the next turn
                log.warning("could not %s: %s", "checkpoint the WAL" if checkpoint else "record finished jobs", exc)
                time.sleep(FLUSH_S)
            idle_since = time.monotonic()

    def take_over(self, owner: str) -> list[tuple[int, str]]:
        """Running jobs whose process is gone go back to the queue; then every queued job, oldest first,
        as (id, lane)."""
        self.flush()
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished < ?", [now - KEEP_S])
            running = self._db.execute("SELECT id, owner, claimed FROM jobs WHERE status = 'running'").fetchall()
            for job_id, job_owner, claimed in running:
                if orphaned(job_owner, owner, claimed, now):
                    self._db.execute("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", [job_id])
            return self._db.execute("SELECT id, lane FROM jobs WHERE status = 'queued' ORDER BY id").fetchall()

    def unfinished(self) -> int:
        self.flush()
        with self._lock:
            return self._db.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    def get(self, job_id: int) -> Job | None:
        self.flush()
        with self._lock:
            return self._one(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", [job_id])
