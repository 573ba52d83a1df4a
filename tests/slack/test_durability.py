"""No lost commands: `breakeven-bot` as a real process, killed (SIGKILL) during a burst and started
again on the same database; every acked command is answered exactly once, counted in the fake Slack."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from .conftest import bot_env, free_port, signed_post, wait_healthy

BURST = 50


# `breakeven-bot` whose group-committed finishes (bot/jobs.py) wait an hour for their flush: what a
# kill leaves when it comes between a job's finish and the flush.
UNFLUSHED = "import sys, bot.jobs; bot.jobs.FLUSH_S = 3600; from bot.app import main; sys.exit(main())"


def on_a_new_database(slack, db_path) -> tuple[int, object, dict]:
    """A free port, the database file and the environment for a `breakeven-bot` talking to the fake."""
    port = free_port()
    return port, db_path, bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path))


def start_bot(env: dict, port: int, cwd, code: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "bot.app"] if code is None else [sys.executable, "-c", code]
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_healthy(port, process)
    return process


def stop_bot(process: subprocess.Popen) -> None:
    """SIGTERM, as an operator stops it: the bot and its worker end cleanly (exit 0), else the test fails
    with what the bot wrote on stderr, which says why."""
    process.terminate()
    try:
        status = process.wait(timeout=30)
    finally:
        said = process.stderr.read().decode(errors="replace") if process.stderr else ""
    assert status == 0, f"the bot exited {status}:\n{said[-4000:]}"


def command(port: int, slack, i: int, text: str | None = None) -> int:
    body = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/breakeven",
        "text": text or f"volume={100 + i}k/month in=1500 out=200 api=gpt-4o gpu=a10g",
        "trigger_id": f"burst-{i}",
        "response_url": slack.response_url(f"burst-{i}"),
    }
    return signed_post(f"http://127.0.0.1:{port}/slack/events", urlencode(body).encode())[0]


def worker_of(process: subprocess.Popen) -> int:
    """The pid of the bot's worker process (bot/worker.py): the one child of the front process."""
    (child,) = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return int(child)


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while running(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.02)


def verdicts_per_job(slack) -> dict[str, int]:
    """How many verdicts the channel got for each job (its uid is in the message's metadata)."""
    per_job: dict[str, int] = {}
    for message in slack.messages.get("C1", []):
        if not message["thread_ts"]:
            uid = message["metadata"]["event_payload"]["job"]
            per_job[uid] = per_job.get(uid, 0) + 1
    return per_job


def job_row(db_path, trigger: str) -> tuple | None:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT status, ts, chart FROM jobs WHERE delivery = ?", [f"T1:command:{trigger}"]).fetchone()


def unfinished(db_path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]


def wait_until_idle(db_path, process, timeout=120) -> None:
    """The condition the bot's own wait_idle() checks, read from another process: no unfinished job."""
    deadline = time.monotonic() + timeout
    while unfinished(db_path):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, f"{unfinished(db_path)} jobs still unfinished"
        time.sleep(0.1)


def restart_until_idle(env: dict, port: int, cwd, db_path) -> str:
    """Start the bot again on the same database, wait until every job is finished, stop it; its log."""
    second = start_bot(env, port, cwd)
    try:
        wait_until_idle(db_path, second)
    finally:
        second.terminate()
        stderr = second.communicate(timeout=30)[1].decode()
    return stderr


def test_a_bot_killed_during_a_burst_answers_every_command_once_after_restart(slack, tmp_path):
    port, db_path, env = on_a_new_database(slack, tmp_path / "durable.db")
    first = start_bot(env, port, tmp_path)
    worker = worker_of(first)
    all_acked = threading.Event()
    killed = threading.Event()

    def kill_after_the_fifth_post(method, args):
        # The fifth verdict is in the channel, and the bot will never hear back: the crash between
        # post and record that a resumed job must not repeat.
        posts = [m for m in slack.messages.get("C1", []) if not m["thread_ts"]]
        if method == "chat.postMessage" and len(posts) == 5 and not killed.is_set():
            killed.set()
            all_acked.wait(30)
            os.kill(first.pid, signal.SIGKILL)

    slack.before_reply = kill_after_the_fifth_post
    try:
        with ThreadPoolExecutor(10) as pool:
            statuses = list(pool.map(lambda i: command(port, slack, i), range(BURST)))
        all_acked.set()
        assert statuses == [200] * BURST  # every command was acked before the kill
        assert first.wait(timeout=60) == -signal.SIGKILL
        wait_gone(worker)  # the work dies with the process that acked it: nothing runs on unseen
    finally:
        all_acked.set()
        if first.poll() is None:
            first.kill()
            first.wait()
    slack.before_reply = None
    left = unfinished(db_path)
    assert left > 0, "the kill came too late to test anything"

    stderr = restart_until_idle(env, port, tmp_path, db_path)
    assert f"resuming {left} unfinished job(s)" in stderr

    with sqlite3.connect(db_path) as db:
        jobs = dict(db.execute("SELECT uid, status FROM jobs").fetchall())
        analyses = db.execute("SELECT count(*), count(message_ts) FROM analyses").fetchone()
    assert len(jobs) == BURST and set(jobs.values()) == {"done"}
    assert verdicts_per_job(slack) == dict.fromkeys(jobs, 1)  # one verdict per command, none twice, none missing
    assert analyses == (BURST, BURST)  # and no claimed-but-unposted row left in the history
    assert not slack.responses  # nobody had to be told their command failed


def test_a_bot_whose_worker_process_dies_stops_and_answers_every_command_once_after_restart(slack, tmp_path):
    # The work runs in a process of its own (bot/worker.py). Killed (out of memory, say) while a
    # verdict is on its way, it takes nothing with it: the bot stops with status 1 so that its
    # supervisor starts it again, and the next start answers every acked command, that one once.
    port, db_path, env = on_a_new_database(slack, tmp_path / "durable.db")
    first = start_bot(env, port, tmp_path)
    posting, release = threading.Event(), threading.Event()

    def hold_the_first_verdict(method, args):
        if method == "chat.postMessage" and not posting.is_set():
            posting.set()
            release.wait(30)

    slack.before_reply = hold_the_first_verdict
    try:
        assert [command(port, slack, i) for i in range(5)] == [200] * 5
        assert posting.wait(30)
        os.kill(worker_of(first), signal.SIGKILL)
        assert first.wait(timeout=60) == 1
    finally:
        release.set()
        slack.before_reply = None
        if first.poll() is None:
            first.kill()
            first.wait()
    assert "the worker process ended (status -9): stopping, so that a restart resumes its jobs" in (
        first.stderr.read().decode()
    )
    assert unfinished(db_path) == 5

    restart_until_idle(env, port, tmp_path, db_path)
    with sqlite3.connect(db_path) as db:
        jobs = dict(db.execute("SELECT uid, status FROM jobs").fetchall())
    assert set(jobs.values()) == {"done"}
    assert verdicts_per_job(slack) == dict.fromkeys(jobs, 1)  # the held verdict was found, not posted again
    assert not slack.responses


def test_a_cheap_job_killed_before_its_finish_was_written_posts_and_charts_once(slack, tmp_path):
    # `show` runs on the fast lane, whose finishes are group-committed: the bot is killed once the
    # job has posted its verdict and uploaded its chart but before the flush recorded it done. The
    # next start runs it again, and it must find both instead of posting or uploading twice.
    port, db_path, env = on_a_new_database(slack, tmp_path / "durable.db")
    first = start_bot(env, port, tmp_path, UNFLUSHED)
    try:
        assert command(port, slack, 0) == 200  # an analysis (#1), on the slow lane: finished at once
        wait_until_idle(db_path, first)
        assert command(port, slack, 1, "show 1") == 200
        slack.wait_for(lambda: (job_row(db_path, "burst-1") or (None, None, None))[2], what="the chart recorded")
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    status, ts, chart = job_row(db_path, "burst-1")
    assert status == "running" and ts and chart  # posted and charted, but not recorded done
    assert len(slack.called("files.completeUploadExternal")) == 2

    stderr = restart_until_idle(env, port, tmp_path, db_path)
    assert "resuming 1 unfinished job(s)" in stderr
    assert job_row(db_path, "burst-1")[0] == "done"
    posts = [m for m in slack.messages["C1"] if not m["thread_ts"]]
    assert len(posts) == 2  # the verdict of #1 and the one `show 1` posted: not a third
    assert len(slack.called("files.completeUploadExternal")) == 2  # and no chart uploaded again
    assert not slack.responses


def test_a_job_killed_between_sharing_its_chart_and_recording_it_shares_it_once(slack, tmp_path):
    # The chart is in the verdict's thread, and the bot dies before it hears so: the resumed job
    # finds the file in the thread instead of uploading it a second time.
    port, db_path, env = on_a_new_database(slack, tmp_path / "durable.db")
    first = start_bot(env, port, tmp_path)
    worker = worker_of(first)
    killed = threading.Event()

    def kill_at_the_share(method, args):
        if method == "files.completeUploadExternal" and not killed.is_set():
            killed.set()
            os.kill(first.pid, signal.SIGKILL)
            wait_gone(worker)  # before the answer: nobody will hear it

    slack.before_reply = kill_at_the_share
    try:
        assert command(port, slack, 0) == 200
        assert first.wait(timeout=60) == -signal.SIGKILL
    finally:
        slack.before_reply = None
        if first.poll() is None:
            first.kill()
            first.wait()
    status, ts, chart = job_row(db_path, "burst-0")
    assert status == "running" and ts and not chart  # the verdict recorded, the chart not

    restart_until_idle(env, port, tmp_path, db_path)
    status, _, chart = job_row(db_path, "burst-0")
    assert status == "done" and chart  # the shared file, found and recorded
    assert len(slack.called("files.completeUploadExternal")) == 1
    assert list(verdicts_per_job(slack).values()) == [1]


def test_a_stopped_bot_writes_the_finishes_it_had_not_flushed(slack, tmp_path):
    # SIGTERM is a clean stop: the finishes waiting for their group commit are written on the way out.
    port, db_path, env = on_a_new_database(slack, tmp_path / "stopped.db")
    bot = start_bot(env, port, tmp_path, UNFLUSHED)
    try:
        assert [command(port, slack, i, "help") for i in range(5)] == [200] * 5
        slack.wait_for(lambda: len(slack.called("chat.postEphemeral")) == 5, what="five help replies")
    finally:
        stop_bot(bot)
    assert unfinished(db_path) == 0
    assert [job_row(db_path, f"burst-{i}")[0] for i in range(5)] == ["done"] * 5


def test_a_job_that_fails_for_good_tells_the_user_why_and_keeps_no_history(bot_server, slack, monkeypatch):
    import bot.service

    def overflow(scenario, **_options):  # analyze(scenario, sheet=...)
        raise OverflowError("math range error")

    monkeypatch.setattr(bot.service, "analyze", overflow)
    bot_server.command("volume=2M api=gpt-4o gpu=a10g")
    bot_server.wait_idle()
    (reply,) = slack.called("chat.postEphemeral")
    assert "could not be answered (OverflowError)" in reply["args"]["text"] and reply["args"]["user"] == "U1"
    with sqlite3.connect(bot_server.bot.store.path) as db:
        assert db.execute("SELECT status, error FROM jobs").fetchall() == [
            ("failed", "OverflowError: math range error")
        ]
        assert db.execute("SELECT count(*) FROM analyses").fetchone() == (0,)
    assert slack.called("chat.postMessage") == []


def test_the_queue_keeps_its_wal_checkpointed_off_the_ack_path(tmp_path):
    # The ack's INSERT must never run SQLite's automatic checkpoint (tens of milliseconds, under the
    # lock every other ack waits on): the workers checkpoint instead, so the WAL still stays small.
    from bot.db import connect
    from bot.jobs import CHECKPOINT_EVERY, Jobs
    from bot.store import Store

    def run_jobs(jobs: Jobs, path: str, n: int) -> int:
        for i in range(n):
            job = jobs.add(
                delivery=f"d-{i}", kind="command", lane="fast", team="T1", channel="C1", user="U1",
                response_url=None, payload={"text": "help"}, owner="me",
            )  # fmt: skip
            jobs.finish(job.id)
        return os.path.getsize(f"{path}-wal")

    store = Store(tmp_path / "kept.db")
    assert store.jobs._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    unchecked = Store(tmp_path / "unchecked.db")  # what the WAL would grow to with no checkpoint at all
    n = 5 * CHECKPOINT_EVERY
    kept = run_jobs(store.jobs, store.path, n)
    grown = run_jobs(Jobs(connect(unchecked.path), checkpoint=None), unchecked.path, n)
    assert kept < grown / 3, (kept, grown)
    with sqlite3.connect(store.path) as db:  # and nothing was lost to the checkpoints
        assert db.execute("SELECT count(*) FROM jobs WHERE status = 'done'").fetchone()[0] == n


@pytest.mark.parametrize(
    "acks, finishes",
    [(1, 1), (3, 1), (500, 100), (2000, 2000)],
    ids=["in step", "acks ahead", "bursts", "every ack first"],
)
def test_the_wal_stays_small_however_acks_and_finishes_interleave(tmp_path, acks, finishes):
    # The acks never stop appending: a checkpoint taken beside them never catches up, and SQLite only
    # rewinds a WAL whose every frame is back in the database. And they may run far ahead of the
    # finishes (a burst; workers busy with slow analyses): checkpoints paced by finishes alone let
    # them write unchecked, and the WAL grew with the lead (this test, run with two threads, failed
    # whenever the acking thread got ~800 jobs ahead). Here each interleaving is played out in turn,
    # the ack path's checkpoints run at once where the flusher thread would run them.
    from bot.db import connect
    from bot.jobs import CHECKPOINT_EVERY, Jobs
    from bot.store import Store

    store = Store(tmp_path / "busy.db")
    jobs = Jobs(connect(store.path), checkpoint=store.checkpoint, off_the_ack_path=lambda checkpoint: checkpoint())
    n = 10 * CHECKPOINT_EVERY
    acked: list[int] = []
    finished = largest = 0
    while finished < n:
        for _ in range(acks):
            if len(acked) < n:
                job = jobs.add(
                    delivery=f"d-{len(acked)}", kind="command", lane="fast", team="T1", channel="C1", user="U1",
                    response_url=None, payload={"text": "help " * 200}, owner="me",
                )  # fmt: skip
                acked.append(job.id)
        for _ in range(finishes):
            if finished < len(acked):
                jobs.finish(acked[finished])
                finished += 1
        largest = max(largest, os.path.getsize(f"{store.path}-wal"))
    assert largest < 8_000_000, largest  # 2,000 unchecked acks alone are ~25 MB
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT count(*) FROM jobs WHERE status = 'done'").fetchone()[0] == n


def test_an_ack_that_makes_a_checkpoint_due_leaves_it_to_the_flusher(tmp_path):
    # A checkpoint takes tens of milliseconds: the ack that makes one due must not wait for it.
    import threading

    from bot.db import connect
    from bot.jobs import CHECKPOINT_EVERY, Jobs
    from bot.store import Store

    store = Store(tmp_path / "acks.db")
    started, release, copied = threading.Event(), threading.Event(), threading.Event()

    def slow_bulk() -> None:  # the checkpoint's first step, held until the acks are done
        started.set()
        release.wait(30)
        store.checkpoint()
        copied.set()

    jobs = Jobs(connect(store.path), checkpoint=slow_bulk)
    for i in range(CHECKPOINT_EVERY + 5):  # one of these makes a checkpoint due; none waits for it
        jobs.add(
            delivery=f"d-{i}", kind="command", lane="fast", team="T1", channel="C1", user="U1",
            response_url=None, payload={"text": "help"}, owner="me",
        )  # fmt: skip
    assert started.wait(10) and not copied.is_set()  # running on the flusher, still held
    release.set()
    assert copied.wait(10)
    jobs.close()  # the flusher ends once its checkpoint (the bulk, then the catch-up) is done
    jobs.add(
        delivery="d-next", kind="command", lane="fast", team="T1", channel="C1", user="U1",
        response_url=None, payload={"text": "help"}, owner="me",
    )  # fmt: skip  # the next write rewinds a WAL whose every frame was copied
    with sqlite3.connect(store.path) as db:
        _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 10


def test_the_catch_up_checkpoint_waits_for_an_ack_written_by_the_front_process(tmp_path):
    # The bot acks in one process and works in another (bot/worker.py): an ack can be in the middle
    # of its write, on a connection of its own, when the worker's catch-up checkpoint runs. A
    # checkpoint that does not wait for it leaves its frames behind, the WAL cannot rewind, and under
    # steady load it grows without end. Here the ack's write is held open across the catch-up.
    import threading

    from bot.jobs import CHECKPOINT_EVERY
    from bot.store import Store

    store = Store(tmp_path / "two.db")
    front = Store(tmp_path / "two.db")  # the front process's connection and lock
    front.jobs._checkpoint = None  # the front process's own checkpoints are not what this test is about
    held = front.jobs._db
    committed = threading.Event()

    def ack(i: int):
        return front.jobs.add(
            delivery=f"d-{i}", kind="command", lane="fast", team="T1", channel="C1", user="U1",
            response_url=None, payload={"text": "help " * 200}, owner="me",
        )  # fmt: skip

    for i in range(CHECKPOINT_EVERY - 1):
        store.jobs.finish(ack(i).id)
    bulk = store.jobs._checkpoint

    def bulk_then_an_ack_begins() -> None:
        bulk()
        for i in range(100):  # acks go on while the bulk is copied: frames the catch-up must copy
            ack(10_000 + i)
        held.execute("BEGIN IMMEDIATE")  # and one is writing when the catch-up comes
        held.execute("UPDATE jobs SET attempts = 2 WHERE id = 1")

        def commit_later() -> None:
            time.sleep(0.3)
            held.execute("COMMIT")
            committed.set()

        threading.Thread(target=commit_later).start()

    store.jobs._checkpoint = bulk_then_an_ack_begins
    store.jobs.finish(ack(CHECKPOINT_EVERY).id)  # the finish that checkpoints
    committed.wait(10)
    ack(CHECKPOINT_EVERY + 1)  # the next write rewinds the WAL if every frame was copied back
    with sqlite3.connect(store.path) as db:
        _, frames, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 10, f"{frames} frames in the WAL: it did not rewind"
