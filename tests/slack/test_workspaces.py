"""Many workspaces: the real bot with SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET
serves Slack's install flow against the fake Slack (oauth.v2.access); two workspaces install it,
each is answered with its own token and sees only its own history; uninstalling deletes a token."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from .conftest import bot_env, free_port, signed_post
from .test_durability import start_bot, stop_bot, wait_until_idle
from .test_operations import get, sample

CLIENT_ID = "1111.2222"
OAUTH = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": "client-secret-123", "SLACK_STATE_SECRET": "state-s3cret"}


def raw_get(port: int, path: str, cookie: str | None = None) -> tuple[int, dict, str]:
    """GET without following redirects: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    headers = {k.lower(): v for k, v in response.getheaders()}
    body = response.read().decode()
    connection.close()
    return response.status, headers, body


def install(port: int, slack, team: str) -> tuple[int, str]:
    """A user of `team` goes to /slack/install, consents on Slack, and comes back with a code."""
    status, headers, _ = raw_get(port, "/slack/install")
    assert status == 302
    location = urlsplit(headers["location"])
    query = parse_qs(location.query)
    assert f"{location.netloc}{location.path}" == "slack.com/oauth/v2/authorize"
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["commands,chat:write,chat:write.public,files:write,channels:history,groups:history,"
                              "channels:read,groups:read,im:history,im:write,assistant:write"]  # fmt: skip
    cookie = headers["set-cookie"].split(";")[0]
    slack.installs[f"code-{team}"] = team
    status, _, body = raw_get(port, f"/slack/oauth_redirect?code=code-{team}&state={query['state'][0]}", cookie)
    return status, body


def command(port: int, slack, team: str, trigger: str, text: str, channel: str = "C1") -> int:
    body = {"team_id": team, "channel_id": channel, "user_id": "U1", "command": "/breakeven", "text": text,
            "trigger_id": trigger, "response_url": slack.response_url(f"{team}-{trigger}")}  # fmt: skip
    return signed_post(f"http://127.0.0.1:{port}/slack/events", urlencode(body).encode())[0]


def event(port: int, team: str, event: dict) -> int:
    body = {"team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": f"Ev-{team}-{event['type']}",
            "event_time": 1, "event": event}  # fmt: skip
    return signed_post(
        f"http://127.0.0.1:{port}/slack/events", json.dumps(body).encode(), content_type="application/json"
    )[0]


def workspaces(db_path) -> dict[str, str]:
    with closing(sqlite3.connect(db_path)) as db:
        return dict(db.execute("SELECT team, bot_token FROM workspaces").fetchall())


def answers(slack, method: str, team: str) -> list:
    """Calls of `method` made with `team`'s own token."""
    return [c for c in slack.called(method) if c["authorization"] == f"Bearer xoxb-{team}-bot-token"]


@pytest.fixture
def oauth_bot(slack, tmp_path):
    port, db_path = free_port(), tmp_path / "many.db"
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), **OAUTH)
    env.pop("SLACK_BOT_TOKEN")
    bot = start_bot(env, port, tmp_path)
    yield port, db_path, bot
    stop_bot(bot)
    log = bot.stderr.read().decode()
    assert "client-secret-123" not in log and "state-s3cret" not in log


def test_two_workspaces_install_and_each_is_answered_with_its_own_token_and_history(oauth_bot, slack):
    port, db_path, bot = oauth_bot
    assert not slack.calls  # no token of its own: nothing to verify at start-up
    for team in ("TA", "TB"):
        status, body = install(port, slack, team)
        assert status == 200, body
    exchange = slack.called("oauth.v2.access")
    assert [c["args"]["code"] for c in exchange] == ["code-TA", "code-TB"]
    assert all(c["authorization"].startswith("Basic ") for c in exchange)  # the client secret, never in a URL
    assert workspaces(db_path) == {"TA": "xoxb-TA-bot-token", "TB": "xoxb-TB-bot-token"}

    # Both use channel id C1: only the team tells their histories apart.
    assert command(port, slack, "TA", "a-1", "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g") == 200
    assert command(port, slack, "TB", "b-1", "volume=100k/month in=1500 out=200 api=gpt-4o gpu=a10g") == 200
    wait_until_idle(db_path, bot)
    (posted_a,) = answers(slack, "chat.postMessage", "TA")
    (posted_b,) = answers(slack, "chat.postMessage", "TB")
    assert "Buy" in posted_a["args"]["text"] and "Rent" in posted_b["args"]["text"]
    assert len(answers(slack, "files.completeUploadExternal", "TA")) == 1
    assert len(answers(slack, "files.completeUploadExternal", "TB")) == 1

    with closing(sqlite3.connect(db_path)) as db:
        ids = dict(db.execute("SELECT team, id FROM analyses").fetchall())
    assert command(port, slack, "TA", "a-2", "history") == 200
    assert command(port, slack, "TB", "b-2", f"show {ids['TA']}") == 200  # TA's analysis, asked for from TB
    wait_until_idle(db_path, bot)
    (history_a,) = answers(slack, "chat.postEphemeral", "TA")
    listed = json.dumps(history_a["args"]["blocks"])
    assert f"`#{ids['TA']}`" in listed and "BUY" in listed
    assert f"`#{ids['TB']}`" not in listed and "RENT" not in listed
    (refused_b,) = answers(slack, "chat.postEphemeral", "TB")
    assert f"There is no analysis #{ids['TA']} in this channel" in refused_b["args"]["text"]

    # A forged state, and a genuine one used twice, install nothing.
    slack.installs["code-TC"] = "TC"
    status, _, _ = raw_get(port, "/slack/oauth_redirect?code=code-TC&state=forged.0000",
                           "slack-app-oauth-state=forged.0000")  # fmt: skip
    assert status != 200 and "TC" not in workspaces(db_path)
    assert len(slack.called("oauth.v2.access")) == 2


def test_a_workspaces_post_whose_connection_drops_is_found_not_posted_twice(oauth_bot, slack):
    # Each workspace's client retries only what never reached Slack, as the one-token client does: a
    # connection dropped after Slack made the post is looked for, not sent again (bot/delivery.py).
    port, db_path, bot = oauth_bot
    assert install(port, slack, "TA")[0] == 200
    slack.drop("chat.postMessage")
    assert command(port, slack, "TA", "a-drop", "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g") == 200
    wait_until_idle(db_path, bot)
    assert len(answers(slack, "chat.postMessage", "TA")) == 1
    assert len([m for m in slack.messages["C1"] if not m["thread_ts"]]) == 1  # the verdict, once
    assert answers(slack, "conversations.history", "TA")  # looked for with the workspace's own token
    assert len(answers(slack, "files.completeUploadExternal", "TA")) == 1


def test_uninstalling_deletes_the_workspaces_token_and_its_commands_are_no_longer_run(oauth_bot, slack):
    port, db_path, bot = oauth_bot
    for team in ("TA", "TB"):
        assert install(port, slack, team)[0] == 200
    assert event(port, "TA", {"type": "app_uninstalled"}) == 200
    assert event(port, "TB", {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTTB"]}}) == 200
    assert workspaces(db_path) == {}

    assert command(port, slack, "TA", "a-9", "volume=2M/month api=gpt-4o") == 200
    wait_until_idle(db_path, bot)
    assert not answers(slack, "chat.postMessage", "TA")  # nothing done with a revoked token
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT count(*) FROM jobs").fetchone() == (0,)  # not stored: not authorised
    (told,) = slack.responses  # through the command's response_url
    assert "breakeven is not installed in this workspace" in told["text"] and told["path"] == "/response/TA-a-9"

    # Reinstalled, the workspace is answered again with its new token.
    slack.installs["code-TA-again"] = "TA"
    assert install(port, slack, "TA")[0] == 200
    assert command(port, slack, "TA", "a-10", "help") == 200
    wait_until_idle(db_path, bot)
    assert len(answers(slack, "chat.postEphemeral", "TA")) == 1
    _, text = get(f"http://127.0.0.1:{port}/metrics")
    assert sample(text, "breakeven_commands_finished_total", kind="help", outcome="answered") == 1


def test_a_job_of_a_workspace_that_uninstalled_before_it_ran_is_dropped_not_posted(oauth_bot, slack):
    port, db_path, bot = oauth_bot
    assert install(port, slack, "TA")[0] == 200
    release = slack.hold("chat.postEphemeral")
    try:
        assert command(port, slack, "TA", "a-1", "help") == 200  # the fast lane's 4 workers...
        for i in range(4):
            assert command(port, slack, "TA", f"a-wait-{i}", "help") == 200  # ...busy: one job waits
        slack.wait_for(lambda: len(slack.called("chat.postEphemeral")) == 4, what="four replies held")
        assert event(port, "TA", {"type": "app_uninstalled"}) == 200
    finally:
        slack.release()
        release.set()
    wait_until_idle(db_path, bot)
    assert len(slack.called("chat.postEphemeral")) == 4  # the fifth was never sent
    with closing(sqlite3.connect(db_path)) as db:
        failed = db.execute("SELECT error FROM jobs WHERE status = 'failed'").fetchall()
    assert failed == [("the workspace uninstalled the app",)]
    _, text = get(f"http://127.0.0.1:{port}/metrics")
    assert sample(text, "breakeven_commands_finished_total", kind="help", outcome="failed") == 1


@pytest.mark.parametrize(
    "env, words",
    [
        ({"SLACK_CLIENT_ID": CLIENT_ID}, "SLACK_CLIENT_SECRET, SLACK_STATE_SECRET missing: many workspaces need"),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-one"}, "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID"),
        ({**OAUTH, "WEEKLY_CHANNEL": "C0123456"}, "WEEKLY_CHANNEL needs one workspace"),
    ],
)
def test_oauth_settings_that_do_not_fit_together_are_named(slack, tmp_path, env, words):
    full = bot_env(slack.url, PORT=str(free_port()), BREAKEVEN_DB=str(tmp_path / "b.db"))
    full.pop("SLACK_BOT_TOKEN")
    result = subprocess.run([sys.executable, "-m", "bot.app"], env={**full, **env}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert words in line and "client-secret" not in line


def test_an_oauth_state_is_good_signed_and_once_only(oauth_bot, slack):
    port, db_path, _ = oauth_bot
    _, headers, _ = raw_get(port, "/slack/install")
    state = parse_qs(urlsplit(headers["location"]).query)["state"][0]
    cookie = headers["set-cookie"].split(";")[0]
    slack.installs.update({"code-TC": "TC", "code-TD": "TD"})
    nonce, _, signature = state.partition(".")
    unsigned = f"{nonce}.{'0' * len(signature)}"  # the issued nonce, not signed with SLACK_STATE_SECRET
    assert raw_get(port, f"/slack/oauth_redirect?code=code-TD&state={unsigned}", f"slack-app-oauth-state={unsigned}")[
        0
    ] != 200
    assert raw_get(port, f"/slack/oauth_redirect?code=code-TC&state={state}", cookie)[0] == 200
    assert raw_get(port, f"/slack/oauth_redirect?code=code-TD&state={state}", cookie)[0] != 200  # used already
    assert set(workspaces(db_path)) == {"TC"}
