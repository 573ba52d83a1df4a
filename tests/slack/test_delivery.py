"""Answers that reach the user: through response_url when the channel refuses the bot, once per
delivery, cheap replies beside busy analyses, and the ack before any Slack call."""

from pathlib import Path

import pytest

from .test_commands import TEXT, rows
from .test_form_and_buttons import open_form, state_from, submission

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize(
    "reason, fix",
    [
        ("not_in_channel", "invite me with `/invite @breakeven`"),
        ("channel_not_found", "invite me with `/invite @breakeven`"),
        ("is_archived", "this channel is archived"),
    ],
)
def test_a_channel_that_refuses_the_bot_gets_the_answer_through_response_url(bot_server, slack, reason, fix):
    slack.refusing["C5"] = reason
    bot_server.command(TEXT, channel="C5")
    bot_server.command("help", channel="C5")
    bot_server.wait_idle()
    texts = [r["text"] for r in slack.responses]
    assert len(texts) == 2
    assert any(f"The analysis could not be posted ({reason})" in t and fix in t for t in texts)
    assert any("How to use /breakeven" in t for t in texts)
    assert all(r["response_type"] == "ephemeral" for r in slack.responses)
    assert all(r["path"] == "/response/C5-U1" for r in slack.responses)
    assert rows(bot_server) == []  # nothing the channel did not see is kept as history


def test_a_form_sent_from_a_channel_that_refuses_the_bot_is_answered_in_a_direct_message(bot_server, slack):
    # A form's submission carries no response_url: the user hears in the bot's direct messages instead.
    view = open_form(bot_server, slack)
    slack.refusing["C1"] = "not_in_channel"
    state = state_from(view, volume="2M/month", **{"in": "1500", "out": "200"}, api="gpt-4o", gpu="a10g")
    status, _ = bot_server.interaction(submission(view, state))
    assert status == 200
    bot_server.wait_idle()
    direct = [c["args"] for c in slack.called("chat.postMessage") if c["args"]["channel"] == "U1"]
    assert len(direct) == 1
    assert "The analysis could not be posted (not_in_channel)" in direct[0]["text"]
    assert "invite me with `/invite @breakeven`" in direct[0]["text"]
    assert rows(bot_server) == []  # nothing the channel did not see is kept as history


def test_a_replayed_show_or_compare_posts_once(bot_server, slack):
    bot_server.command(TEXT)
    bot_server.command("volume=10k api=gpt-4o-mini")
    bot_server.wait_idle()
    first, second = (r[0] for r in _ids(bot_server))
    for _ in range(2):
        bot_server.command(f"show {first}", trigger_id="trig-show")
        bot_server.command(f"compare {first} {second}", trigger_id="trig-compare")
    bot_server.wait_idle()
    texts = [c["args"]["text"] for c in slack.called("chat.postMessage")]
    assert sum("Comparing" in t for t in texts) == 1
    assert len(texts) == 4  # two verdicts, one show, one comparison


def _ids(bot_server):
    import sqlite3

    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT id FROM analyses ORDER BY id").fetchall()


def test_help_does_not_wait_behind_analyses(bot_server, slack):
    release = slack.hold("chat.postMessage")
    try:
        for i in range(10):  # more than the slow lane's workers: every one of them is busy
            bot_server.command(f"volume={i + 1}M api=gpt-4o gpu=a10g")
        slack.wait_for(lambda: len(slack.called("chat.postMessage")) >= 8, what="the slow lane to be busy")
        bot_server.command("help")
        reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), timeout=10, what="help beside analyses")
        assert "How to use /breakeven" in reply[0]["args"]["text"]
        assert not release.is_set()  # still holding every analysis
    finally:
        slack.release()
    bot_server.wait_idle(60)
    assert len(rows(bot_server)) == 10


def test_the_audit_back_button_is_acked_before_views_update(bot_server, slack):
    from .test_audit import press, submit

    bot_server.command("audit")
    bot_server.wait_idle()
    view = slack.called("views.open")[0]["args"]["view"]
    view = submit(bot_server, view, 0)["view"]
    release = slack.hold("views.update")
    try:
        status, _ = press(bot_server, "audit_back", "1", view=view)
        assert status == 200
        slack.wait_for(lambda: slack.called("views.update"), what="the update, still held")
        assert not release.is_set()  # the ack came back while views.update was still unanswered
    finally:
        slack.release()
    bot_server.wait_idle()
    assert slack.called("views.update")[0]["args"]["view"]["title"]["text"] == "Audit 1/5 The task"


@pytest.mark.parametrize("name", ["manifest-socket-mode.yaml", "manifest-http.yaml"])
def test_the_manifests_ask_for_the_scopes_the_bot_uses(name):
    text = (DEPLOY / name).read_text()
    for scope in ("chat:write.public", "channels:history", "groups:history", "channels:read", "groups:read"):
        assert f"- {scope}" in text, scope
    # The direct-message fallback (a form from a channel that refuses the bot) needs the Messages tab.
    assert "messages_tab_enabled: true" in text
