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
from urllib.parse import urlencode

from .conftest import bot_env, free_port, signed_post, wait_healthy

BURST = 50


def start_bot(env: dict, port: int, cwd) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.app"], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    wait_healthy(port, process)
    return process


def command(port: int, slack, i: int) -> int:
    body = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "command": "/breakeven",
        "text": f"volume={100 + i}k/month in=1500 out=200 api=gpt-4o gpu=a10g",
        "trigger_id": f"burst-{i}",
        "response_url": slack.response_url(f"burst-{i}"),
    }
    return signed_post(f"http://127.0.0.1:{port}/slack/events", urlencode(body).encode())[0]


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


def test_a_bot_killed_during_a_burst_answers_every_command_once_after_restart(slack, tmp_path):
    port = free_port()
    db_path = tmp_path / "durable.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path))
    first = start_bot(env, port, tmp_path)
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
    finally:
        all_acked.set()
        if first.poll() is None:
            first.kill()
            first.wait()
    slack.before_reply = None
    left = unfinished(db_path)
    assert left > 0, "the kill came too late to test anything"

    second = start_bot(env, port, tmp_path)
    try:
        wait_until_idle(db_path, second)
    finally:
        second.terminate()
        stderr = second.communicate(timeout=30)[1].decode()
    assert f"resuming {left} unfinished job(s)" in stderr

    with sqlite3.connect(db_path) as db:
        jobs = dict(db.execute("SELECT uid, status FROM jobs").fetchall())
        analyses = db.execute("SELECT count(*), count(message_ts) FROM analyses").fetchone()
    assert len(jobs) == BURST and set(jobs.values()) == {"done"}
    posts = [m for m in slack.messages["C1"] if not m["thread_ts"]]
    per_job = {}
    for message in posts:
        uid = message["metadata"]["event_payload"]["job"]
        per_job[uid] = per_job.get(uid, 0) + 1
    assert per_job == dict.fromkeys(jobs, 1)  # one verdict per command, none twice, none missing
    assert analyses == (BURST, BURST)  # and no claimed-but-unposted row left in the history
    assert not slack.responses  # nobody had to be told their command failed


def test_a_job_that_fails_for_good_tells_the_user_why_and_keeps_no_history(bot_server, slack, monkeypatch):
    import bot.service

    def overflow(scenario):
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
    from bot.jobs import CHECKPOINT_EVERY
    from bot.store import Store

    def run_jobs(store: Store, n: int) -> int:
        for i in range(n):
            job = store.jobs.add(
                delivery=f"d-{i}", kind="command", lane="fast", team="T1", channel="C1", user="U1",
                response_url=None, payload={"text": "help"}, owner="me",
            )  # fmt: skip
            store.jobs.finish(job.id)
        return os.path.getsize(f"{store.path}-wal")

    store = Store(tmp_path / "kept.db")
    assert store.jobs._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    unchecked = Store(tmp_path / "unchecked.db")
    unchecked.checkpoint = lambda: None  # what the WAL would grow to with neither kind of checkpoint
    n = 5 * CHECKPOINT_EVERY
    kept, grown = run_jobs(store, n), run_jobs(unchecked, n)
    assert kept < grown / 3, (kept, grown)
    with sqlite3.connect(store.path) as db:  # and nothing was lost to the checkpoints
        assert db.execute("SELECT count(*) FROM jobs WHERE status = 'done'").fetchone()[0] == n
