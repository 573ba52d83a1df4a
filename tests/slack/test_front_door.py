"""Verify first, parse second: unsigned or stale requests are 401 before anything reads their body,
signed junk is 400, and neither leaves a traceback: one warning line, however many arrive."""

import json
import logging
import time
from urllib.parse import urlencode

import pytest

from .test_commands import TEXT, rows

GARBAGE = [
    (b"payload=%7Bnot json", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),  # JSON, but not an object
    (b"{broken", "application/json"),
    (b"{broken", "application/x-www-form-urlencoded"),  # Bolt reads a body opening with { as JSON
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
]


@pytest.mark.parametrize("body, content_type", GARBAGE)
def test_unsigned_garbage_is_401_without_a_traceback(bot_server, slack, caplog, body, content_type):
    caplog.set_level(logging.INFO)
    status, _ = bot_server.post(body, content_type=content_type, secret="not-the-secret")
    assert status == 401
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("timestamp", ["yesterday", "", "1e10", "\u00b2", str(int(time.time()) + 3600)])
def test_a_bad_timestamp_is_401(bot_server, slack, timestamp):
    body = urlencode({"command": "/breakeven", "text": "help", "team_id": "T1", "trigger_id": "t"}).encode()
    status, _ = bot_server.post(body, timestamp=timestamp)
    assert status == 401


@pytest.mark.parametrize("body, content_type", GARBAGE)
def test_signed_but_malformed_is_400_and_nothing_happens(bot_server, slack, caplog, body, content_type):
    caplog.set_level(logging.INFO)
    status, _ = bot_server.post(body, content_type=content_type)
    assert status == 400
    bot_server.wait_idle()
    assert slack.calls == [c for c in slack.calls if c["method"] == "auth.test"]
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_flood_of_bad_requests_logs_one_line(bot_server, slack, caplog):
    caplog.set_level(logging.WARNING, logger="breakeven.bot")
    for _ in range(20):
        bot_server.post(b"payload=x", secret="wrong")
    warnings = [r for r in caplog.records if r.name == "breakeven.bot"]
    assert len(warnings) == 1 and "401" in warnings[0].getMessage()


def test_a_good_request_after_the_junk_is_still_answered(bot_server, slack):
    bot_server.post(b"payload=%7B", secret="wrong")
    bot_server.post(b"payload=%7B")
    status, body = bot_server.command(TEXT)
    assert status == 200 and body == b""
    bot_server.wait_idle()
    assert len(rows(bot_server)) == 1
    assert len(slack.called("chat.postMessage")) == 1


def test_an_event_with_a_json_body_still_reaches_its_listener(bot_server, slack):
    status, _ = bot_server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    assert status == 200
    bot_server.wait_idle()
    assert slack.called("views.publish")[0]["args"]["user_id"] == "U1"
    assert json.dumps(slack.called("views.publish")[0]["args"]["view"])  # a real view went out


@pytest.mark.parametrize("secret", [None, "not-the-secret"])
def test_slacks_ssl_check_is_answered_200_signed_or_not_and_does_nothing(bot_server, slack, caplog, secret):
    # Slack checks a slash command's URL with ssl_check=1 and may not sign it (Bolt answers it first too).
    caplog.set_level(logging.INFO)
    status, body = bot_server.post(b"ssl_check=1&token=legacy", **({"secret": secret} if secret else {}))
    assert (status, body) == (200, b"")
    bot_server.wait_idle()
    assert slack.calls == [c for c in slack.calls if c["method"] == "auth.test"]
    assert bot_server.bot.store.jobs.unfinished() == 0 and rows(bot_server) == []
    assert not [r for r in caplog.records if r.name == "breakeven.bot" and r.levelno >= logging.WARNING]
    # only ssl_check=1 is the check: anything else unsigned is still refused
    assert bot_server.post(b"ssl_check=0&token=legacy", secret="not-the-secret")[0] == 401


def test_a_command_whose_text_is_ssl_check_is_run_as_a_command(bot_server, slack):
    status, _ = bot_server.command("ssl_check=1")
    assert status == 200
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the reply")[0]["args"]
    assert "ssl_check" in reply["text"]  # answered as a command with an unknown key, not swallowed


@pytest.mark.parametrize("age_s", [301, 400, 3600, 86400 * 365])
def test_a_replayed_request_with_an_old_timestamp_is_401_and_does_nothing(bot_server, slack, age_s):
    # Signed correctly, but at a time long past: a request captured then and sent again now.
    sent_at = int(time.time()) - age_s
    status, _ = bot_server.command("help", trigger_id=f"replay-{age_s}", timestamp=sent_at)
    assert status == 401
    bot_server.wait_idle()
    assert slack.calls == [c for c in slack.calls if c["method"] == "auth.test"]
    assert bot_server.bot.store.jobs.get(1) is None


def test_a_request_signed_within_five_minutes_is_answered(bot_server, slack):
    status, _ = bot_server.command("help", timestamp=int(time.time()) - 240)
    assert status == 200
    slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the help")
