"""A job that kills the worker: `breakeven-bot` as a real process, restarted by hand as a supervisor
would. The job is given up after JOB_MAX_ATTEMPTS runs, its user told, and the bot carries on."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import urllib.request

from .test_durability import command, on_a_new_database, start_bot, unfinished
from .test_operations import get, sample

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
        _, text = get(f"http://127.0.0.1:{port}/metrics")  # an operator sees it: not answered, not failed
        assert sample(text, "breakeven_commands_finished_total", kind="analyze", outcome="given_up") == 1
        assert sample(text, "breakeven_commands_finished_total", kind="help", outcome="answered") == 1
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


def test_a_job_given_up_in_one_of_many_workspaces_is_told_with_that_workspaces_token(slack, tmp_path, monkeypatch):
    # Many workspaces: the bot has no token of its own, so the notice goes with the token of the job's
    # workspace, as its answer would have.
    import socket

    from slack_sdk.oauth.installation_store import Bot as InstalledBot

    from bot.app import build_app
    from bot.llm_client import LLMSettings
    from bot.oauth import SQLiteInstallations
    from bot.settings import load_settings
    from bot.store import Store

    from .conftest import SECRET, free_port

    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        slack_bot_token=None, slack_app_token=None, slack_signing_secret=SECRET, slack_api_url=slack.url,
        slack_client_id="1111.2222", slack_client_secret="client-secret-123", slack_state_secret="state-s3cret",
        breakeven_db=tmp_path / "many.db", port=free_port(), llm=LLMSettings(breakeven_llm_model=None),
    )  # fmt: skip
    store = Store(settings.breakeven_db)
    SQLiteInstallations(store).save_bot(
        InstalledBot(team_id="TA", bot_token="xoxb-TA-bot-token", bot_id="B1", bot_user_id="UB1", installed_at=1.0)
    )
    # A job whose process died running it three times: still `running` for a process that is gone.
    job = store.jobs.add(
        delivery="TA:command:poison", kind="command", lane="slow", team="TA", channel="C1", user="U1",
        response_url=None, payload={"text": "poison"}, owner=f"{socket.gethostname()}:999999999:gone",
    )  # fmt: skip
    with sqlite3.connect(settings.breakeven_db) as db:
        db.execute("UPDATE jobs SET attempts = 3 WHERE id = ?", [job.id])
    _, bot = build_app(settings, store=store)
    try:
        bot.resume()
        bot.wait_idle()
    finally:
        bot.shutdown()
    (told,) = slack.called("chat.postEphemeral")
    assert told["authorization"] == "Bearer xoxb-TA-bot-token"
    assert "`/breakeven poison` was dropped. The bot stopped 3 times" in told["args"]["text"]
    with sqlite3.connect(settings.breakeven_db) as db:
        assert db.execute("SELECT status, attempts FROM jobs").fetchall() == [("failed", 4)]
