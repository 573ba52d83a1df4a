"""`breakeven-bot` as a process: settings errors in one line, the real server up, no secret in its logs."""

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from .conftest import SECRET, TOKEN, bot_env, free_port, wait_healthy


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
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN must be a bot token" in result.stderr


def one_line(result) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert TOKEN not in result.stderr + result.stdout and SECRET not in result.stderr + result.stdout
    return lines[0]


def test_a_refusing_slack_names_the_token(slack, tmp_path):
    slack.fail("auth.test", 401, times=5)
    result = run_bot({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}, tmp_path)
    assert "cannot start: SLACK_BOT_TOKEN was refused by Slack" in one_line(result)


def test_an_unreachable_slack_names_the_api_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api/"
    result = run_bot({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": url}, tmp_path)
    assert f"cannot start: SLACK_API_URL {url} cannot be reached" in one_line(result)


@pytest.mark.parametrize("where", ["missing/dir/b.db", "."])
def test_a_bad_database_path_names_breakeven_db_not_the_token(slack, tmp_path, where):
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
    result = run_bot({**env, "BREAKEVEN_DB": str(tmp_path / where), "PORT": str(free_port())}, tmp_path)
    line = one_line(result)
    assert line.startswith("breakeven-bot: BREAKEVEN_DB: cannot open the database") and "TOKEN" not in line


def test_a_port_in_use_is_named(slack, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
        result = run_bot({**env, "PORT": str(port), "BREAKEVEN_DB": str(tmp_path / "b.db")}, tmp_path)
    assert f"PORT {port} cannot be used" in one_line(result)


def test_two_bots_starting_together_on_a_new_database_both_come_up(slack, tmp_path):
    env = bot_env(slack.url, BREAKEVEN_DB=str(tmp_path / "new.db"))
    ports = [free_port(), free_port()]
    bots = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.app"],
            env={**env, "PORT": str(port)},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, bots, strict=True):
            wait_healthy(port, process)
    finally:
        outputs = []
        for process in bots:
            process.terminate()
            outputs.append(process.communicate(timeout=20)[0])
    for output in outputs:
        assert "Traceback" not in output and "locked" not in output, output
    with sqlite3.connect(tmp_path / "new.db") as db:
        applied = db.execute("SELECT count(*), count(DISTINCT name) FROM _sqlite_migrations").fetchone()
    assert applied[0] == applied[1] >= 4  # each migration once


def test_http_mode_serves_healthz_under_uvicorn_and_logs_no_secret(slack, tmp_path):
    port = free_port()
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(tmp_path / "b.db"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_healthy(port, process)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert process.returncode == 0  # a clean stop on SIGTERM
    assert "Uvicorn running" in output or "serving /slack/events" in output
    assert TOKEN not in output and SECRET not in output
    assert (tmp_path / "b.db").exists()


OPEN_AT = (
    "import sys, time\n"
    "import bot.spend\n"
    "from bot.store import Store\n"
    "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
    "Store(sys.argv[1])\n"
)


def test_many_processes_opening_a_new_database_at_once_never_fail(tmp_path):
    for round_ in range(3):
        path = tmp_path / f"race-{round_}.db"
        start_at = time.time() + 4  # after every interpreter has imported what Store needs
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT, str(path), str(start_at)], stderr=subprocess.PIPE, text=True
            )
            for _ in range(6)
        ]
        errors = [p.communicate(timeout=60)[1] for p in processes]
        assert [p.returncode for p in processes] == [0] * 6, errors


def test_a_read_only_database_stops_start_up_with_one_line_naming_breakeven_db(slack, tmp_path):
    # A valid database the bot may read but not write: it opens, and every command would fail after
    # its ack. The start says so instead, in one line, with status 2.
    from bot.store import Store

    path = tmp_path / "theirs.db"
    Store(path)
    # Root writes any file whatever its mode: the immutable attribute is what stops root.
    read_only = ["chattr", "+i", str(path)] if os.geteuid() == 0 else None
    if read_only:
        subprocess.run(read_only, check=True)
    else:
        path.chmod(0o444)
    try:
        env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
        result = run_bot({**env, "BREAKEVEN_DB": str(path), "PORT": str(free_port())}, tmp_path)
    finally:
        if read_only:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    line = one_line(result)
    assert line.startswith(f"breakeven-bot: BREAKEVEN_DB: {path} is read-only"), line
    assert line.endswith("give it a file it can write, in a directory it can write")


def test_a_database_locked_by_another_process_stops_start_up_with_one_line(slack, tmp_path):
    from bot.store import Store

    path = tmp_path / "held.db"
    Store(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write it never finishes
    try:
        env = bot_env(slack.url, BREAKEVEN_DB=str(path), PORT=str(free_port()))
        quick = "import sys, bot.db; bot.db.START_WAIT_S = 1.0; from bot.app import main; sys.exit(main())"
        result = subprocess.run(
            [sys.executable, "-c", quick], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = one_line(result)
    assert line == (
        f"breakeven-bot: BREAKEVEN_DB: {path} is locked by another process (still locked after 1 s): "
        "stop the process holding it, or give this bot a database of its own"
    ), line
