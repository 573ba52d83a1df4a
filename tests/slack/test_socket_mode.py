"""Socket Mode: the bot connects to a local WebSocket server speaking Slack's envelope protocol."""

import json
import threading

from slack_bolt.adapter.socket_mode import SocketModeHandler
from websockets.sync.server import serve

from bot.app import build_app
from bot.settings import load_settings

from .conftest import TOKEN
from .test_commands import TEXT


class EnvelopeServer:
    """Sends envelopes to whoever connects, and records what comes back."""

    def __init__(self, envelopes):
        self.envelopes = envelopes
        self.received: list[dict] = []
        self.server = serve(self._session, "127.0.0.1", 0)
        self.port = self.server.socket.getsockname()[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _session(self, websocket):
        websocket.send(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        for envelope in self.envelopes:
            websocket.send(json.dumps(envelope))
        try:
            for message in websocket:
                self.received.append(json.loads(message))
        except Exception:
            pass

    def close(self):
        self.server.shutdown()


def command_envelope(envelope_id: str, trigger: str) -> dict:
    """`/breakeven TEXT` in C1 by U1, as Socket Mode delivers it."""
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/breakeven",
            "text": TEXT,
            "trigger_id": trigger,
            "api_app_id": "A1",
            "response_url": "http://127.0.0.1:1/x",
        },
    }


def test_slash_command_over_socket_mode_is_acked_and_answered(slack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    envelope = command_envelope("env-1", "trig-socket")
    sockets = EnvelopeServer([envelope])
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    settings = load_settings(
        slack_bot_token=TOKEN,
        slack_app_token="xapp-1-test",
        slack_api_url=slack.url,
        breakeven_db=tmp_path / "b.db",
        slack_signing_secret="",
    )
    assert settings.socket_mode
    app, bot = build_app(settings)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    handler.connect()
    try:
        slack.wait_for(lambda: any(m.get("envelope_id") == "env-1" for m in sockets.received), what="the ack")
        slack.wait_for(lambda: slack.called("files.completeUploadExternal"), timeout=15, what="the chart")
        post = slack.called("chat.postMessage")[0]["args"]
        assert "Buy: self-hosting saves $9,768 a month" in str(post["blocks"][0])
        opened = slack.called("apps.connections.open")[0]
        assert opened["authorization"] == "Bearer xapp-1-test"
    finally:
        handler.close()
        sockets.close()
        bot.shutdown(wait=True)


def test_breakeven_bot_in_socket_mode_answers_from_its_worker_and_stops_cleanly(slack, tmp_path):
    # The real process (`python -m bot.app` with an app token): it acks over the WebSocket, its
    # worker process posts the verdict, and SIGTERM stops both with status 0.
    import signal
    import subprocess
    import sys

    from .conftest import bot_env

    envelope = command_envelope("env-2", "trig-socket-process")
    sockets = EnvelopeServer([envelope])
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    from .conftest import free_port

    env = bot_env(slack.url, SLACK_APP_TOKEN="xapp-1-test", BREAKEVEN_DB=str(tmp_path / "b.db"), PORT=str(free_port()))
    env.pop("SLACK_SIGNING_SECRET")
    bot = subprocess.Popen([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        slack.wait_for(lambda: any(m.get("envelope_id") == "env-2" for m in sockets.received), what="the ack")
        slack.wait_for(lambda: slack.called("files.completeUploadExternal"), timeout=30, what="the chart")
        assert "Buy: self-hosting saves $9,768 a month" in str(slack.called("chat.postMessage")[0]["args"]["blocks"])
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, bot.stderr.read().decode()
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
        sockets.close()
    assert "Traceback" not in bot.stderr.read().decode()


def test_a_malformed_payload_over_socket_mode_goes_no_further_than_the_check(slack, tmp_path, monkeypatch, caplog):
    # Socket Mode has no front door of ours: the same check runs as the app's first middleware.
    import logging

    caplog.set_level(logging.INFO)
    monkeypatch.chdir(tmp_path)
    empty_actions = {
        "envelope_id": "env-bad",
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": {
            "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}, "trigger_id": "t", "actions": [],
        },  # fmt: skip
    }
    sockets = EnvelopeServer([empty_actions, command_envelope("env-good", "trig-good")])
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    settings = load_settings(
        slack_bot_token=TOKEN, slack_app_token="xapp-1-test", slack_api_url=slack.url,
        breakeven_db=tmp_path / "b.db", slack_signing_secret="",
    )  # fmt: skip
    app, bot = build_app(settings)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    handler.connect()
    try:
        slack.wait_for(lambda: slack.called("files.completeUploadExternal"), timeout=15, what="the good one's chart")
        bot.wait_idle()
    finally:
        handler.close()
        sockets.close()
        bot.shutdown(wait=True)
    assert bot.store.jobs.get(2) is None  # one job: the good command's
    assert "rejected a malformed payload: block_actions: actions: List should have at least 1 item" in caplog.text
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
