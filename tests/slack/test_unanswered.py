"""Posts Slack carried out without the bot hearing so, against `breakeven-bot` as a real process:
the connection drops after Slack recorded the post, or Slack answers after the bot's timeout. The
verdict must be in the channel once, its analysis kept, its chart attached, and nobody told that
nothing was saved."""

from __future__ import annotations

import sqlite3

from .test_durability import command, on_a_new_database, start_bot, verdicts_per_job, wait_until_idle
from .test_operations import get, sample


def _analyses(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT id, message_ts FROM analyses").fetchall()


def _run_one_analysis(slack, tmp_path, **settings) -> tuple:
    """The bot's database, its log, and how many unanswered posts /metrics counted, by outcome."""
    port, db_path, env = on_a_new_database(slack, tmp_path / "unanswered.db")
    process = start_bot({**env, **settings}, port, tmp_path)
    try:
        assert command(port, slack, 0) == 200
        wait_until_idle(db_path, process)
        _, text = get(f"http://127.0.0.1:{port}/metrics")
        counted = {o: sample(text, "breakeven_posts_unanswered_total", outcome=o) for o in ("found", "unconfirmed")}
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[1].decode()
    return db_path, log, counted


def test_a_post_whose_connection_drops_after_slack_made_it_is_found_not_posted_twice(slack, tmp_path):
    # slack_sdk's connection retry would send the same chat.postMessage again: a second verdict.
    slack.drop("chat.postMessage")
    db_path, log, counted = _run_one_analysis(slack, tmp_path)
    assert list(verdicts_per_job(slack).values()) == [1]
    assert len(slack.called("chat.postMessage")) == 1
    ((_, message_ts),) = _analyses(db_path)
    assert message_ts == slack.messages["C1"][0]["ts"]  # found by its job's metadata, and recorded
    assert len(slack.called("files.completeUploadExternal")) == 1  # the chart followed it, once
    assert not slack.responses and not slack.called("chat.postEphemeral")
    assert "no answer to its post (RemoteDisconnected): looking for it" in log
    assert counted == {"found": 1, "unconfirmed": 0}


def test_a_post_answered_after_the_timeout_is_found_and_the_analysis_kept(slack, tmp_path):
    # The verdict is in the channel; the answer comes after the bot stopped waiting. It used to be
    # deleted from the history, with "nothing was saved" sent to the user.
    slack.late("chat.postMessage")
    db_path, log, counted = _run_one_analysis(slack, tmp_path, SLACK_TIMEOUT_S="2")
    assert list(verdicts_per_job(slack).values()) == [1]
    ((_, message_ts),) = _analyses(db_path)
    assert message_ts == slack.messages["C1"][0]["ts"]
    assert len(slack.called("files.completeUploadExternal")) == 1
    told = [r["text"] for r in slack.responses] + [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert not any("nothing was saved" in text for text in told) and told == []
    assert "no answer to its post (TimeoutError): looking for it" in log
    assert counted == {"found": 1, "unconfirmed": 0}


def test_a_post_never_confirmed_nor_found_is_counted_and_the_user_told_it_may_not_have_arrived(slack, tmp_path):
    # HTTP 500 on every try (Slack: "some aspect of the operation may have succeeded"), and the post is
    # never in the history: an operator sees it in /metrics, the user reads that it may not have arrived.
    slack.fail("chat.postMessage", 500, times=10)
    db_path, log, counted = _run_one_analysis(slack, tmp_path)
    assert counted == {"found": 0, "unconfirmed": 1}
    (told,) = [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert "The analysis may not have reached the channel" in told and "nothing was saved" not in told
    assert [message_ts for _, message_ts in _analyses(db_path)] == [None]  # kept, not forgotten
