"""A clean stop through the supervisor: SIGTERM to the real `breakeven-bot` during a burst, under HTTP
and under Socket Mode. The worker finishes the jobs it is running (within SHUTDOWN_TIMEOUT_S), those
it had not started stay queued, both processes end, status 0; the next start answers every command,
each exactly once."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from .conftest import bot_env, free_port, wait_healthy
from .test_durability import command, restart_until_idle, verdicts_per_job, wait_gone, worker_of
from .test_socket_mode import EnvelopeServer, command_envelope

BURST = 20
SLOW_LANE = 8  # bot/service.py LANES["slow"]: the analyses running at once


class Logged:
    """The bot's stderr, read as it comes, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for raw in stream:
            with self._new:
                self.lines.append(raw.decode(errors="replace"))
                self._new.notify_all()

    def wait_for(self, words: str, timeout: float = 30) -> None:
        with self._new:
            assert self._new.wait_for(lambda: any(words in line for line in self.lines), timeout), (
                f"no log line with {words!r}:\n{''.join(self.lines)}"
            )

    def text(self) -> str:
        self._thread.join(timeout=10)
        return "".join(self.lines)


def statuses(db_path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        return dict(db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())


def start(env: dict, port: int, cwd) -> tuple[subprocess.Popen, Logged]:
    process = subprocess.Popen([sys.executable, "-m", "bot.app"], env=env, cwd=cwd, stderr=subprocess.PIPE)
    logged = Logged(process)
    wait_healthy(port, process)
    return process, logged


def stop_during_a_burst(slack, process: subprocess.Popen, logged: Logged, db_path) -> str:
    """With SLOW_LANE verdicts held by Slack and the rest of the burst waiting for a worker: SIGTERM,
    then Slack answers the held ones. Both processes end with status 0; the log."""
    worker = worker_of(process)
    try:
        slack.wait_for(lambda: len(slack.called("chat.postMessage")) == SLOW_LANE, timeout=30, what="posts held")
        process.send_signal(signal.SIGTERM)
        logged.wait_for("the worker is stopping")
        logged.wait_for(f"stopping: {BURST - SLOW_LANE} job(s) not started are left queued for the next start")
    finally:
        slack.release()
    assert process.wait(timeout=60) == 0
    wait_gone(worker)
    log = logged.text()
    assert "the worker stopped" in log and "Traceback" not in log, log
    # The jobs it was running finished and were recorded; no other one was started.
    assert statuses(db_path) == {"done": SLOW_LANE, "queued": BURST - SLOW_LANE}
    assert len(slack.called("chat.postMessage")) == SLOW_LANE
    with sqlite3.connect(db_path) as db:  # an attempt that never began is not counted
        assert db.execute("SELECT max(attempts) FROM jobs WHERE status = 'queued'").fetchone() == (0,)
    return log


def test_sigterm_during_a_burst_over_http_finishes_the_running_jobs_and_the_next_start_the_rest(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "stop.db"
    # One attempt a job: a job a clean stop left queued must not have used it (the poison-job cap gives
    # up a job whose process died running it, bot/service.py), so the next start still answers it.
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), JOB_MAX_ATTEMPTS="1")
    process, logged = start(env, port, tmp_path)
    slack.hold("chat.postMessage")
    try:
        with ThreadPoolExecutor(10) as pool:
            assert list(pool.map(lambda i: command(port, slack, i), range(BURST))) == [200] * BURST
        stop_during_a_burst(slack, process, logged, db_path)
    finally:
        slack.release()
        if process.poll() is None:
            process.kill()
            process.wait()

    stderr = restart_until_idle(env, port, tmp_path, db_path)
    assert f"resuming {BURST - SLOW_LANE} unfinished job(s)" in stderr
    assert "given up" not in stderr, stderr
    assert statuses(db_path) == {"done": BURST}
    answers = verdicts_per_job(slack)
    assert len(answers) == BURST and set(answers.values()) == {1}  # every command answered, once
    assert not slack.responses


def test_sigterm_in_socket_mode_closes_the_socket_finishes_the_running_jobs_and_the_next_start_the_rest(
    slack, tmp_path
):
    envelopes = [command_envelope(f"env-{i}", f"burst-{i}") for i in range(BURST)]
    for i, envelope in enumerate(envelopes):
        envelope["payload"]["text"] = f"volume={100 + i}k/month in=1500 out=200 api=gpt-4o gpu=a10g"
    sockets = EnvelopeServer(envelopes)
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    port, db_path = free_port(), tmp_path / "socket-stop.db"
    env = bot_env(slack.url, SLACK_APP_TOKEN="xapp-1-test", BREAKEVEN_DB=str(db_path), PORT=str(port))
    env.pop("SLACK_SIGNING_SECRET")
    slack.hold("chat.postMessage")
    process, logged = start(env, port, tmp_path)
    try:
        slack.wait_for(lambda: len({m.get("envelope_id") for m in sockets.received}) == BURST, what="20 acks")
        stop_during_a_burst(slack, process, logged, db_path)
    finally:
        slack.release()
        if process.poll() is None:
            process.kill()
            process.wait()
        sockets.close()

    again = EnvelopeServer([])
    slack.socket_url = f"ws://127.0.0.1:{again.port}/link"
    try:
        stderr = restart_until_idle(env, port, tmp_path, db_path)
    finally:
        again.close()
    assert f"resuming {BURST - SLOW_LANE} unfinished job(s)" in stderr
    assert statuses(db_path) == {"done": BURST}
    answers = verdicts_per_job(slack)
    assert len(answers) == BURST and set(answers.values()) == {1}


def test_a_job_still_running_after_shutdown_timeout_is_cut_and_answered_once_at_the_next_start(slack, tmp_path):
    # Slack never answers the held posts: after SHUTDOWN_TIMEOUT_S the front process ends the worker
    # and still exits 0 (the supervisor asked it to stop); the next start finds the posts that reached
    # the channel and posts nothing twice.
    port, db_path = free_port(), tmp_path / "cut.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), SHUTDOWN_TIMEOUT_S="2")
    process, logged = start(env, port, tmp_path)
    release = slack.hold("chat.postMessage")
    try:
        assert [command(port, slack, i) for i in range(3)] == [200] * 3
        slack.wait_for(lambda: len(slack.called("chat.postMessage")) == 3, what="three posts held")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        slack.release()
        release.set()
        if process.poll() is None:
            process.kill()
            process.wait()
    log = logged.text()
    assert "the worker process did not end within 2 s (SHUTDOWN_TIMEOUT_S)" in log, log
    assert statuses(db_path) == {"running": 3}  # cut: resumed at the next start

    restart_until_idle(env, port, tmp_path, db_path)
    assert statuses(db_path) == {"done": 3}
    assert sorted(verdicts_per_job(slack).values()) == [1, 1, 1]
