"""`breakeven-bot` as a process: settings errors in one line, the real server up, no secret in its logs."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import SECRET, TOKEN, free_port


def run_bot(env_overrides, tmp_path, timeout=20):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_", "PORT"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    "env, words",
    [
        ({}, "SLACK_BOT_TOKEN is missing"),
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": TOKEN}, "SLACK_SIGNING_SECRET is missing"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "PORT": "eighty"}, "PORT"),
        (
            {"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong-kind"},
            "SLACK_APP_TOKEN must be an app-level token",
        ),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(env, words, tmp_path):
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert TOKEN not in result.stderr


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=not-a-token\n")
    result = run_bot({}, tmp_path)
    assert "SLACK_BOT_TOKEN must be a bot token" in result.stderr


def test_unreachable_or_refusing_slack_is_one_line_without_the_token(slack, tmp_path):
    slack.fail("auth.test", 401, times=5)
    result = run_bot({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}, tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot start" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_http_mode_serves_healthz_under_uvicorn_and_logs_no_secret(slack, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_", "PORT"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.url,
            "PORT": str(port),
            "BREAKEVEN_DB": str(tmp_path / "b.db"),
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the bot did not come up"
                time.sleep(0.1)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "Uvicorn running" in output or "serving /slack/events" in output
    assert TOKEN not in output and SECRET not in output
    assert (tmp_path / "b.db").exists()
