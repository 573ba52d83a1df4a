"""LOG_FORMAT=json: every line the real bot writes (both processes, uvicorn's too) is one JSON object
with time, level, logger, message, team, channel and job; secrets are still redacted."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

from .conftest import bot_env, free_port
from .test_durability import command, wait_until_idle
from .test_shutdown import start

TOKEN_IN_TEXT = "xoxb-1234-leaked-in-a-trigger"


def test_json_logs_are_one_object_a_line_with_the_jobs_context_and_no_secret(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "logs.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), LOG_FORMAT="json")
    process, logged = start(env, port, tmp_path)
    slack.fail("files.getUploadURLExternal", 500, times=10)  # the chart fails: the worker logs a warning
    try:
        assert command(port, slack, 0) == 200
        wait_until_idle(db_path, process)
        # A delivery Slack makes twice is logged with its id, which the request chose: a token in it
        # is redacted like any other.
        from urllib.parse import urlencode

        from .conftest import signed_post

        body = urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/breakeven",
                          "text": "help", "trigger_id": TOKEN_IN_TEXT}).encode()  # fmt: skip
        url = f"http://127.0.0.1:{port}/slack/events"
        assert signed_post(url, body)[0] == 200 and signed_post(url, body)[0] == 200
        wait_until_idle(db_path, process)
        logged.wait_for("seen before")
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    text = logged.text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert len(lines) > 5
    for line in lines:
        assert set(line) >= {"time", "level", "logger", "message", "team", "channel", "job"}, line
        assert line["time"].endswith("+00:00") and line["level"] in ("INFO", "WARNING", "ERROR")
    with closing(sqlite3.connect(db_path)) as db:
        job_id = db.execute("SELECT id FROM jobs WHERE delivery = 'T1:command:burst-0'").fetchone()[0]
    (chart,) = [line for line in lines if "not attached" in line["message"]]
    assert (chart["team"], chart["channel"], chart["job"], chart["level"]) == ("T1", "C1", job_id, "WARNING")
    assert chart["logger"] == "breakeven.bot"
    started = [line for line in lines if line["message"].startswith("serving /slack/events")]
    assert started and started[0]["job"] is None  # outside a job: null, not a stale one
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's lines are JSON too
    (repeated,) = [line for line in lines if "seen before" in line["message"]]
    assert "xoxb-[redacted]" in repeated["message"]
    assert TOKEN_IN_TEXT not in text and "xoxb-test-token" not in text


def test_text_logs_stay_the_default(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "text.db"
    process, logged = start(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path)), port, tmp_path)
    process.terminate()
    assert process.wait(timeout=30) == 0
    first = logged.text().splitlines()[0]
    assert not first.startswith("{") and " INFO " in first


def test_a_bad_log_format_is_named(slack, tmp_path):
    import subprocess
    import sys

    env = bot_env(slack.url, PORT=str(free_port()), BREAKEVEN_DB=str(tmp_path / "b.db"), LOG_FORMAT="yaml")
    result = subprocess.run([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith("breakeven-bot: LOG_FORMAT ") and "'text' or 'json'" in result.stderr
