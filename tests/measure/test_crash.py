"""`/breakeven measure` across a crash: `breakeven-bot` as a real process, SIGKILLed at its
measurement's message, started again on the same database. The message is never posted twice and
the endpoint never measured twice (the API side costs money): the resumed job shows what it knows."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading

from tests.slack.test_durability import command, on_a_new_database, restart_until_idle, start_bot


def _measure_bot(slack, fake, tmp_path):
    port, db_path, env = on_a_new_database(slack, tmp_path / "measure.db")
    env["BREAKEVEN_ENDPOINTS"] = json.dumps({"box": {"url": fake.url, "model": "small"}})
    return port, db_path, env


def _kill_at(slack, bot, predicate) -> threading.Event:
    killed = threading.Event()

    def kill(method, args):
        if not killed.is_set() and predicate(method, args):
            killed.set()
            os.kill(bot.pid, signal.SIGKILL)

    slack.before_reply = kill
    return killed


def _intros(slack) -> list[dict]:
    return [m for m in slack.messages.get("C1", []) if (m["text"] or "").startswith(":stopwatch: Measuring")]


def test_a_measurement_killed_at_its_message_is_not_posted_or_measured_again(slack, fakes, tmp_path):
    fake = fakes(models=("small",), out_tokens=3)
    port, db_path, env = _measure_bot(slack, fake, tmp_path)
    bot = start_bot(env, port, tmp_path)
    killed = _kill_at(slack, bot, lambda method, args: method == "chat.postMessage")
    assert command(port, slack, 0, "measure box requests=2 concurrency=1") == 200
    assert killed.wait(60) and bot.wait(timeout=60) == -signal.SIGKILL
    slack.before_reply = None
    assert len(_intros(slack)) == 1  # in the channel; the bot never heard so

    restart_until_idle(env, port, tmp_path, db_path)
    assert len(_intros(slack)) == 1  # found by its job's metadata, not posted again
    assert fake.chat_requests() == []  # and nothing measured: it had started when the bot stopped
    last = slack.called("chat.update")[-1]["args"]
    assert last["ts"] == _intros(slack)[0]["ts"]
    assert "The bot restarted while measuring `box`: this measurement stopped, and nothing was saved" in last["text"]
    assert "`/breakeven measure box requests=2 concurrency=1`" in last["text"]
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT status FROM jobs").fetchall() == [("done",)]


def test_a_measurement_killed_at_its_result_shows_the_result_again_without_measuring(slack, fakes, tmp_path):
    fake = fakes(models=("small",), out_tokens=3)
    port, db_path, env = _measure_bot(slack, fake, tmp_path)
    bot = start_bot(env, port, tmp_path)
    killed = _kill_at(slack, bot, lambda method, args: method == "chat.update" and "```" in json.dumps(args))
    assert command(port, slack, 0, "measure box requests=2 concurrency=1 save=nov") == 200
    assert killed.wait(60) and bot.wait(timeout=60) == -signal.SIGKILL
    slack.before_reply = None
    sent = len(fake.chat_requests())
    result = slack.called("chat.update")[-1]["args"]

    restart_until_idle(env, port, tmp_path, db_path)
    assert len(fake.chat_requests()) == sent  # not measured again
    assert len(_intros(slack)) == 1
    again = slack.called("chat.update")[-1]["args"]
    assert again["ts"] == result["ts"] and again["blocks"] == result["blocks"]  # the same result, shown again
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT name FROM measurements").fetchall() == [("nov",)]
        assert db.execute("SELECT status FROM jobs").fetchall() == [("done",)]
