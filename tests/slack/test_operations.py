"""Running it in production: /healthz, /readyz and /metrics of the real `breakeven-bot` process (both
of its processes), over 127.0.0.1, against the fake Slack."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import closing

from .conftest import bot_env, free_port, wait_healthy
from .test_durability import command, start_bot, stop_bot, wait_until_idle
from .test_socket_mode import EnvelopeServer, command_envelope


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus's text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)", line)
        if not match or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[3] or ""))
        if found == labels:
            return float(match[4])
    return 0.0


def test_readyz_is_ready_then_names_a_database_that_cannot_be_written_or_lacks_a_migration(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "ready.db"
    bot = start_bot(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path)), port, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{base}/healthz") == (200, "ok")
        assert get(f"{base}/readyz") == (200, "ready")

        # Another writer holds the database past the probe's 2 s: not ready, and it says why.
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            status, body = get(f"{base}/readyz")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert status == 503 and "\n" not in body.strip()
        assert body.startswith(f"not ready: database {db_path} cannot be written: database is locked"), body
        assert get(f"{base}/healthz") == (200, "ok")  # the process itself still answers
        assert get(f"{base}/readyz") == (200, "ready")

        # A database another version left behind (a restored backup, say) lacks a migration: of any of the
        # table sets start-up applies (bot/store.py migration_sets), the measurements' included.
        with sqlite3.connect(db_path) as db:
            gone = ("m006_readiness_probe", "m003_measurement_saved_by")
            db.execute("DELETE FROM _sqlite_migrations WHERE name IN (?, ?)", gone)
        status, body = get(f"{base}/readyz")
        assert (status, body) == (503, f"not ready: database {db_path} lacks migrations m006_readiness_probe, "
                                  "m003_measurement_saved_by: restart the bot to apply them")  # fmt: skip
    finally:
        stop_bot(bot)


def test_metrics_count_what_both_processes_did(slack, tmp_path):
    # Commands are received by the front process and answered by its worker process: one /metrics
    # shows both, with Slack's refusals by method and error, and verdicts.
    port, db_path = free_port(), tmp_path / "metrics.db"
    bot = start_bot(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path)), port, tmp_path)
    slack.refusing["C1"] = "not_in_channel"
    try:
        assert command(port, slack, 0, "help") == 200
        assert command(port, slack, 1) == 200  # an analysis, refused by the channel: a failed post
        wait_until_idle(db_path, bot)
        del slack.refusing["C1"]
        assert command(port, slack, 2) == 200
        assert command(port, slack, 3) == 200
        wait_until_idle(db_path, bot)
        status, text = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop_bot(bot)
    assert status == 200
    assert sample(text, "breakeven_commands_received_total", kind="help") == 1
    assert sample(text, "breakeven_commands_received_total", kind="analyze") == 3
    assert sample(text, "breakeven_commands_finished_total", kind="analyze", outcome="answered") == 3
    assert sample(text, "breakeven_commands_finished_total", kind="help", outcome="answered") == 1
    assert sample(text, "breakeven_job_duration_seconds_count", kind="analyze") == 3
    assert sample(text, "breakeven_slack_api_errors_total", method="chat.postMessage", error="not_in_channel") == 1
    assert sample(text, "breakeven_analyses_total", verdict="RENT") == 2  # 102k and 103k a month: rent
    assert [sample(text, "breakeven_jobs", status=status) for status in ("queued", "running")] == [0, 0]
    assert "breakeven_jobs_oldest_unfinished_age_seconds 0.0" in text


def test_the_queue_gauges_see_the_jobs_waiting_for_slack(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "gauges.db"
    bot = start_bot(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path)), port, tmp_path)
    release = slack.hold("chat.postMessage")
    try:
        for i in range(10):  # 8 slow-lane workers: 8 posts held by Slack, 2 jobs waiting for a worker
            assert command(port, slack, i) == 200
        slack.wait_for(lambda: len(slack.called("chat.postMessage")) == 8, what="eight posts held")
        status, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert sample(text, "breakeven_jobs", status="running") == 10  # stored running for the worker
        assert sample(text, "breakeven_jobs_oldest_unfinished_age_seconds") > 0
    finally:
        slack.release()
        release.set()
    try:
        wait_until_idle(db_path, bot)
        _, text = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop_bot(bot)
    assert sample(text, "breakeven_jobs", status="running") == 0
    assert sample(text, "breakeven_jobs_oldest_unfinished_age_seconds") == 0
    assert sample(text, "breakeven_commands_finished_total", kind="analyze", outcome="answered") == 10


def test_metrics_port_keeps_metrics_off_the_public_port(slack, tmp_path):
    port, metrics_port, db_path = free_port(), free_port(), tmp_path / "m.db"
    env = bot_env(slack.url, PORT=str(port), METRICS_PORT=str(metrics_port), METRICS_PATH="/internal/metrics",
                  BREAKEVEN_DB=str(db_path))  # fmt: skip
    bot = start_bot(env, port, tmp_path)
    try:
        assert get(f"http://127.0.0.1:{port}/internal/metrics")[0] == 404
        assert get(f"http://127.0.0.1:{port}/metrics")[0] == 404
        status, text = get(f"http://127.0.0.1:{metrics_port}/internal/metrics")
        assert status == 200 and "breakeven_jobs" in text
        assert get(f"http://127.0.0.1:{metrics_port}/slack/events")[0] == 404
        assert get(f"http://127.0.0.1:{metrics_port}/readyz")[0] == 404
    finally:
        stop_bot(bot)


def test_socket_mode_serves_health_readiness_and_metrics_on_port(slack, tmp_path):
    sockets = EnvelopeServer([command_envelope("env-ops", "trig-ops")])
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    port, db_path = free_port(), tmp_path / "s.db"
    env = bot_env(slack.url, SLACK_APP_TOKEN="xapp-1-test", BREAKEVEN_DB=str(db_path), PORT=str(port))
    env.pop("SLACK_SIGNING_SECRET")
    bot = subprocess.Popen([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        wait_healthy(port, bot)
        slack.wait_for(lambda: slack.called("files.completeUploadExternal"), timeout=30, what="the chart")
        wait_until_idle(db_path, bot)
        assert get(f"http://127.0.0.1:{port}/readyz") == (200, "ready")
        status, text = get(f"http://127.0.0.1:{port}/metrics")
        assert sample(text, "breakeven_commands_finished_total", kind="analyze", outcome="answered") == 1
        assert get(f"http://127.0.0.1:{port}/slack/events")[0] == 404  # no HTTP endpoint in Socket Mode
        sockets.close()  # Slack's end of the socket goes away: not ready until it is back
        slack.wait_for(lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 503, what="not ready")
        assert get(f"http://127.0.0.1:{port}/readyz")[1] == "not ready: the Socket Mode connection to Slack is down"
    finally:
        bot.terminate()
        code = bot.wait(timeout=30)
        sockets.close()
    assert code == 0, bot.stderr.read().decode()


def test_metrics_scrapes_while_commands_arrive_lose_no_count(slack, tmp_path):
    # The worker's counts live in files the scrape reads: scraped during a burst, the final scrape
    # still counts every command once.
    port, db_path = free_port(), tmp_path / "scrape.db"
    bot = start_bot(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path)), port, tmp_path)
    done = threading.Event()
    answers: list[int] = []

    def scrape() -> None:  # the statuses are checked here: an assert in this thread would fail no test
        while not done.is_set():
            answers.append(get(f"http://127.0.0.1:{port}/metrics")[0])

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        for i in range(30):
            assert command(port, slack, i, "help") == 200
        wait_until_idle(db_path, bot)
    finally:
        done.set()
        scraper.join()
    assert answers and set(answers) == {200}, sorted(set(answers))
    _, text = get(f"http://127.0.0.1:{port}/metrics")
    stop_bot(bot)
    assert sample(text, "breakeven_commands_received_total", kind="help") == 30
    assert sample(text, "breakeven_commands_finished_total", kind="help", outcome="answered") == 30


def test_a_scrape_while_a_process_creates_its_metrics_file_still_answers(slack, tmp_path):
    # A process creates its values' file before it sizes it: a scrape in between found an empty file and
    # answered 500, losing every metric of that scrape. The instant is reproduced with an empty file.
    port, db_path = free_port(), tmp_path / "empty.db"
    bot = start_bot(bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), TMPDIR=str(tmp_path)), port, tmp_path)
    try:
        assert command(port, slack, 1, "help") == 200
        wait_until_idle(db_path, bot)
        (directory,) = tmp_path.glob("breakeven-metrics-*")
        (directory / "counter_4242424.db").touch()
        status, text = get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop_bot(bot)
    assert status == 200, text
    assert sample(text, "breakeven_commands_received_total", kind="help") == 1


def test_the_images_health_check_passes_against_the_real_bot_and_fails_without_it(slack, tmp_path):
    import json

    from tests.test_deploy import DOCKERFILE, final_stage

    (check,) = [args for op, args in final_stage(DOCKERFILE) if op == "HEALTHCHECK"]
    argv = json.loads(re.search(r"CMD (\[.*\])", check)[1])
    assert argv[0] == "python" and "/readyz" in argv[-1]
    port = free_port()
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(tmp_path / "b.db"))
    bot = start_bot(env, port, tmp_path)
    try:  # the image's own command, as Docker runs it inside the container (PORT from the environment)
        ran = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=30)
        assert ran.returncode == 0, ran.stderr
        holder = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a database that cannot be written: unhealthy
        try:
            ran = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert ran.returncode != 0 and "503" in ran.stderr
    finally:
        stop_bot(bot)
    ran = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=30)
    assert ran.returncode != 0  # no bot: unhealthy


def test_scheduled_posts_are_counted_posted_then_skipped_by_the_guard(slack, tmp_path):
    # A channel asked for Monday 00:00 summaries long ago, and the bot was down then: the start-up's
    # catch-up posts this week's once (counted posted); the next start finds it posted (skipped).
    from bot.store import Store

    db_path = tmp_path / "weekly.db"
    Store(db_path)
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute(
            "INSERT INTO weekly_channels (team, channel, day, time, tz, quiet, updated) "
            "VALUES ('T1', 'C9', 'mon', '00:00', 'UTC', 0, '2020-01-06T00:00:00+00:00')"
        )
    port = free_port()
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path))
    for outcome in ("posted", "skipped"):
        bot = start_bot(env, port, tmp_path)
        try:
            slack.wait_for(
                lambda o=outcome: sample(get(f"http://127.0.0.1:{port}/metrics")[1], "breakeven_scheduled_posts_total",
                                         outcome=o) == 1,
                what=f"a scheduled post counted {outcome}",
            )  # fmt: skip
        finally:
            stop_bot(bot)
    assert [m["text"] for m in slack.messages["C9"]] == [slack.messages["C9"][0]["text"]]  # posted once
    assert "No LLM API spend recorded" in slack.messages["C9"][0]["text"]
