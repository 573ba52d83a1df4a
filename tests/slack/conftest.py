"""Fixtures: a fake Slack Web API, the real bot behind uvicorn, and signed requests to it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
import uvicorn

from bot.app import asgi, build_app
from bot.llm_client import LLMSettings
from bot.settings import load_settings

from .fake_slack import FakeSlack

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token-1234567890"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signed_post(
    url: str,
    body: bytes,
    *,
    content_type="application/x-www-form-urlencoded",
    timestamp=None,
    secret=SECRET,
    signature=None,
) -> tuple[int, bytes]:
    """POST as Slack does: X-Slack-Signature is the HMAC of v0:timestamp:raw body."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{timestamp}:".encode() + body
    sig = signature or "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sig},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def bot_env(slack_url: str, **settings: str) -> dict[str, str]:
    """The environment of a `breakeven-bot` process talking to the fake Slack (nothing of the developer's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_", "PORT"))}
    env.update({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_url})
    env.update(settings)
    return env


def wait_healthy(port: int, process, timeout: float = 30) -> None:
    """Until the bot process answers /healthz (it must not exit meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                assert response.read() == b"ok"
                return
        except OSError:
            assert process.poll() is None, (process.stdout or process.stderr).read()
            assert time.monotonic() < deadline, "the bot did not come up"
            time.sleep(0.05)


class BotServer:
    def __init__(self, app, bot, port: int, slack: FakeSlack | None = None):
        self.app, self.bot, self.port, self.slack = app, bot, port, slack
        config = uvicorn.Config(asgi(app, SECRET), host="127.0.0.1", port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("bot server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.bot.shutdown(wait=True)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every delivery acked so far has been answered (no job queued or running)."""
        self.bot.wait_idle(timeout)

    def post(self, body: bytes, **kw) -> tuple[int, bytes]:
        return signed_post(self.url + "/slack/events", body, **kw)

    def command(self, text: str, *, trigger_id: str | None = None, channel="C1", user="U1", team="T1", **kw):
        fields = {
            "token": "legacy",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "ada",
            "command": "/breakeven",
            "text": text,
            "api_app_id": "A1",
            "response_url": self.slack.response_url(f"{channel}-{user}") if self.slack else f"{self.url}/unused",
            "trigger_id": trigger_id or f"trig-{time.monotonic_ns()}",
        }
        return self.post(urlencode(fields).encode(), **kw)

    def interaction(self, payload: dict, **kw):
        return self.post(urlencode({"payload": json.dumps(payload)}).encode(), **kw)

    def event(self, event: dict, team="T1"):
        body = {
            "token": "legacy",
            "team_id": team,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(body).encode(), content_type="application/json")


@pytest.fixture
def slack():
    fake = FakeSlack()
    yield fake
    fake.close()


@pytest.fixture
def settings(slack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return load_settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.url,
        breakeven_db=tmp_path / "breakeven.db",
        port=free_port(),
        slack_app_token=None,
        llm=LLMSettings(breakeven_llm_model=None),  # no model, whatever the developer's environment says
    )


@pytest.fixture
def bot_server(settings, slack):
    app, bot = build_app(settings)
    bot.resume()
    server = BotServer(app, bot, settings.port, slack)
    yield server
    server.stop()
