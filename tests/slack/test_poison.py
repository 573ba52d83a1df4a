"""A job that kills the worker: `breakeven-bot` as a real process, restarted by hand as a supervisor
would. The job is given up after JOB_MAX_ATTEMPTS runs, its user told, and the bot carries on."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import urllib.request

from .test_durability import command, on_a_new_database, start_bot, unfinished

# `breakeven-bot` where `/breakeven poison` ends the worker process as the kernel's OOM killer would
# (SIGKILL, mid-job): the stand-in for a job too big for the machine, whatever made it so.
POISONED = """
import os, signal, sys
import bot.listeners.commands
from bot import service
command = service.WORK["command"]
def poisoned(bot_, client, job):
    if job.payload.get("text") == "poison":
        os.kill(os.getpid(), signal.SIGKILL)
    return command(bot_, client, job)
service.WORK["command"] = poisoned
from bot.app import main
sys.exit(main())
"""


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False


def supervise(env: dict, port: int, cwd, db_path) -> tuple[subprocess.Popen, int]:
    """Start the bot again each time it stops, as `restart: unless-stopped` would, until it stays up
    with its queue empty; the process and the number of restarts."""
    restarts = 0
    while True:
        process = subprocess.Popen([sys.executable, "-c", POISONED], env=env, cwd=cwd, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and not (_healthy(port) and unfinished(db_path) == 0):
            assert time.monotonic() < deadline, "neither up nor down"
            time.sleep(0.05)
        if process.poll() is None:
            return process, restarts
        assert process.returncode == 1, process.returncode  # the worker died: the bot stops for its supervisor
        restarts += 1
        assert restarts < 6, "it kept dying"


def test_a_job_that_kills_the_worker_is_given_up_after_its_attempts_and_the_user_told(slack, tmp_path):
    port, db_path, env = on_a_new_database(slack, tmp_path / "poison.db")
    env = {**env, "JOB_MAX_ATTEMPTS": "3"}
    first = start_bot(env, port, tmp_path, POISONED)
    assert command(port, slack, 0, "poison") == 200
    assert first.wait(timeout=60) == 1
    bot, restarts = supervise(env, port, tmp_path, db_path)
    try:
        assert command(port, slack, 1, "help") == 200  # and it carries on
        slack.wait_for(lambda: len(slack.called("chat.postEphemeral")) >= 2, what="the notice and the help")
    finally:
        bot.terminate()
        bot.wait(timeout=30)
    assert restarts == 2  # runs 2 and 3 died too; the start after them gave it up
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT status, attempts, error FROM jobs ORDER BY id").fetchall()
    assert rows[0] == ("failed", 4, "given up after 3 attempts: its process ended each time")
    assert rows[1][0] == "done"
    told = [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert "`/breakeven poison` was dropped. The bot stopped 3 times while working on it" in told[0], told
    assert "How to use /breakeven" in told[1]
