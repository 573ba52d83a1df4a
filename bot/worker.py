"""The worker process: `breakeven-bot` acks in one process and does the work in another.

    front process ──ack: jobs.add(owner=worker)──> jobs ──one JSON line a job──> worker process
    worker process ──resume, then each job on its lanes (bot/service.py)──> Slack ──finish──> jobs

Why two processes: the ack must write its job durably before it answers, and that write gives up
Python's interpreter lock while SQLite works. In one process the lock then goes to a worker thread
rendering a reply or talking to the Web API, and the ack waits for it back (up to the switch
interval, 5 ms): at full load that wait, not the write, cost a tenth of the acks. In a process of
its own the front process shares its lock with nobody but its own requests.

The worker is forked at start-up, before the front process has any thread, database connection or
Slack client (so nothing is copied half-held), and waits for `go` before it opens anything: when the
front process cannot start (a wrong setting), the worker ends without a word. Then it resumes what an
earlier life left unfinished and runs every job the front process hands it. Jobs are written running
for the worker (its owner id, `jobs.process_owner` with its pid), so the queue's rule for resuming
after a crash is the one it was: a job whose owner process is gone runs again at the next start.

The two live and die together:
- the front process killed: the kernel kills the worker (Linux: PR_SET_PDEATHSIG), or the worker
  ends at once when its pipe ends without a `stop` (the kernel closes it first, and elsewhere it is
  the only sign); the next start resumes their jobs;
- the worker killed (out of memory, say): the front process stops (status 1) so that its supervisor
  starts both again; what was acked meanwhile is in the queue and resumes then;
- a clean stop (SIGTERM to the front process): it sends `stop`, the worker finishes the jobs it
  is running, writes their finishes, leaves those it had not started queued for the next start, and
  ends; the front process waits for it (SHUTDOWN_TIMEOUT_S, 20 s by default), then kills it: a job
  still running then resumes at the next start like any job of a dead process.
The worker ignores SIGINT and SIGTERM itself: a Ctrl-C or a stop sent to the whole process group
reaches the front process, which stops it as above, without cutting a reply in half.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import uuid

from .jobs import Job, process_owner

log = logging.getLogger("breakeven.bot")

STOP_TIMEOUT_S = 20.0  # a clean stop waits this long for the worker's jobs to finish (SHUTDOWN_TIMEOUT_S)
GO = b"go\n"  # the front process is ready: open the database, resume, take jobs
STOP = b"stop\n"  # a clean stop: finish the jobs taken, then end. The pipe's end alone is a crash.


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel sends SIGKILL to this process when the one that forked it dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the call above: nothing will send the signal
        os._exit(0)


class WorkerProcess:
    """The front process's handle on its worker."""

    def __init__(self, pid: int, boot: str, pipe: int):
        self.pid = pid
        self.owner = process_owner(pid=pid, boot=boot)
        self.failed = False  # the worker ended on its own: the front process stops with status 1
        self._pipe = pipe
        self._lock = threading.Lock()  # one writer at a time: a line must not be cut by another
        self._stopping = False
        self._ended = threading.Event()
        threading.Thread(target=self._watch, name="breakeven-worker-watch", daemon=True).start()

    @classmethod
    def fork(cls, settings, close_in_child: list | None = None) -> WorkerProcess:
        """Fork the worker. Call it before any thread, connection or client exists in this process."""
        read, write = os.pipe()
        boot = uuid.uuid4().hex[:8]
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(write)
                for resource in close_in_child or []:
                    resource.close()
                code = _serve(settings, read, boot, parent)
            except BaseException:  # nothing may return into the front process's code from here
                log.exception("the worker process failed")
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(read)
        return cls(pid, boot, write)

    def go(self) -> None:
        """The front process is ready: the worker opens the database, resumes, and takes jobs."""
        self._write(GO)

    def hand_off(self, job: Job) -> None:
        """The job, stored running for the worker, goes to it. If the worker has gone the job stays in
        the queue (the front process is stopping, see _watch) and resumes at the next start."""
        line = json.dumps(dataclasses.asdict(job), separators=(",", ":")).encode() + b"\n"
        try:
            self._write(line)
        except OSError as exc:
            log.warning("job %s kept for the next start: the worker process is gone (%s)", job.id, exc)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        with self._lock:
            if self._pipe < 0:
                raise BrokenPipeError("the worker was stopped")
            while view:
                view = view[os.write(self._pipe, view) :]

    @property
    def alive(self) -> bool:
        return not self._ended.is_set()

    def _watch(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        self._ended.set()
        if not self._stopping:
            self.failed = True
            log.error(
                "the worker process ended (status %s): stopping, so that a restart resumes its jobs",
                os.waitstatus_to_exitcode(status),
            )
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """No more jobs: the worker finishes those it has and ends; wait for it (at most timeout)."""
        self._stopping = True
        with self._lock:
            if self._pipe >= 0:
                with contextlib.suppress(OSError):  # it has gone already
                    os.write(self._pipe, STOP)
                os.close(self._pipe)
                self._pipe = -1
        if not self._ended.wait(timeout):
            log.warning(
                "the worker process did not end within %.0f s (SHUTDOWN_TIMEOUT_S): its jobs resume at the next start",
                timeout,
            )
            os.kill(self.pid, signal.SIGKILL)
            self._ended.wait(5)


def _serve(settings, pipe: int, boot: str, parent: int) -> int:
    """The worker's life: wait for go, open what it needs, resume, then run what the pipe brings
    until `stop`, after which every job taken is finished (and recorded) before the process ends."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    lines = os.fdopen(pipe, "rb")
    if lines.readline() != GO:
        return 0  # the front process did not start: it says why
    from .oauth import Workspaces
    from .service import Bot
    from .store import Store

    store = Store(settings.breakeven_db)
    workspaces = Workspaces(settings, store)
    bot = Bot(
        store=store,
        settings=settings,
        client=workspaces.single,
        clients=workspaces.client,
        admins=settings.admins,
        owner=process_owner(boot=boot),
    )
    bot.resume()
    for line in lines:
        if line == STOP:
            log.info("the worker is stopping: it finishes the jobs it is running")
            bot.shutdown(wait=True)
            log.info("the worker stopped")
            return 0
        bot.run_soon(Job(**json.loads(line)))
    # The pipe ended without a stop: the front process died. So does the work, at once, as it would
    # by PR_SET_PDEATHSIG: nothing runs on unseen, and the next start resumes every job left.
    os._exit(1)
