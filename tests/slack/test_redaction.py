"""No credential in any log line, stored row or Slack message: secrets configured in every place the
bot and the command line take them (environment, .env file, BREAKEVEN_ENDPOINTS with keys in its
URLs and in key variables, the OpenAI keys, command-line flags), then the bot and the CLI run as real
processes doing what touches them; every line they log and every row of the database is searched."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.measure.conftest import breakeven, clean_env
from tests.measure.fake_llm import FakeLLM

from .conftest import bot_env, free_port, wait_healthy
from .test_durability import wait_until_idle
from .test_socket_mode import EnvelopeServer, command_envelope

BOT_TOKEN = "xoxb-REDACT-bot-token-1111"
SIGNING_SECRET = "signing-secret-REDACT-2222"  # no shape: only its value tells it
APP_TOKEN = "xapp-1-REDACT-3333"
ADMIN_KEY = "sk-admin-REDACT4444"
BASE_PASSWORD = "BASEPASS5555"
URL_PASSWORD = "URLPASS6666"
URL_QUERY_KEY = "QUERY7777"
ENDPOINT_KEY = "vllm-REDACT-8888"
API_KEY = "sk-proj-REDACT9999"
DOWN_TOKEN = "DOWNTOKEN1010"
CLI_PASSWORD = "CLIPASS1212"
CLI_KEY = "cli-endpoint-REDACT-1313"
SECRETS = [
    BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, ADMIN_KEY, BASE_PASSWORD, URL_PASSWORD, URL_QUERY_KEY, ENDPOINT_KEY, API_KEY,
    DOWN_TOKEN, CLI_PASSWORD, CLI_KEY,
]  # fmt: skip


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def every_row(db_path) -> str:
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


def slack_messages(slack) -> str:
    return json.dumps([c["args"] for c in slack.calls]) + json.dumps(slack.responses)


class EchoingOpenAI:
    """An OpenAI-compatible API that refuses every key, and says which (as some servers do)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                key = self.headers.get("Authorization", "")
                body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}", "type": "auth"}}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_the_bot_logs_and_stores_no_secret_from_any_setting(slack, tmp_path):
    own, api = FakeLLM(models=("small",), out_tokens=3), FakeLLM(models=("gpt-4o-mini",), out_tokens=3)
    try:
        host = f"127.0.0.1:{own.port}"
        endpoints = {
            "own": {"url": f"http://alice:{URL_PASSWORD}@{host}/v1?api-key={URL_QUERY_KEY}", "model": "small",
                    "key_env": "VLLM_KEY"},
            "openai": {"url": api.url, "model": "gpt-4o-mini", "key_env": "OPENAI_API_KEY", "api": True},
            "down": {"url": f"http://127.0.0.1:9/v1?token={DOWN_TOKEN}", "model": "m"},
        }  # fmt: skip
        port, db_path = free_port(), tmp_path / "secrets.db"
        env = bot_env(slack.url, SLACK_BOT_TOKEN=BOT_TOKEN, PORT=str(port), BREAKEVEN_DB=str(db_path))
        env.pop("SLACK_SIGNING_SECRET")
        env.update(OPENAI_ADMIN_KEY=ADMIN_KEY, VLLM_KEY=ENDPOINT_KEY, OPENAI_API_KEY=API_KEY)
        env["BREAKEVEN_ENDPOINTS"] = json.dumps(endpoints)
        (tmp_path / ".env").write_text(  # and some in the .env file
            f"SLACK_SIGNING_SECRET={SIGNING_SECRET}\nOPENAI_BASE_URL=http://base:{BASE_PASSWORD}@127.0.0.1:1/v1\n"
        )
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_healthy(port, bot)
            from .conftest import signed_post

            def send(i: int, text: str) -> None:
                body = {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/breakeven", "text": text,
                        "trigger_id": f"secret-{i}", "response_url": slack.response_url(f"r{i}")}  # fmt: skip
                from urllib.parse import urlencode

                assert signed_post(f"http://127.0.0.1:{port}/slack/events", urlencode(body).encode(),
                                   secret=SIGNING_SECRET)[0] == 200  # fmt: skip

            send(0, "help")
            send(1, "measure openai own requests=2 concurrency=1")
            send(2, "measure down requests=1 concurrency=1")
            send(3, "volume=2M api=gpt-4o gpu=a10g")
            wait_until_idle(db_path, bot)
        finally:
            bot.send_signal(signal.SIGTERM)
            log = bot.communicate(timeout=30)[0].decode()
        # The secrets were used: the measured server got the key in its URL and the endpoint's key.
        assert any(URL_QUERY_KEY in r["path"] for r in own.requests)
        assert {r["authorization"] for r in api.requests} == {f"Bearer {API_KEY}"}
        assert slack.called("chat.postMessage") and "Measured `openai` vs `own`" in slack_messages(slack)
        assert leaked(log) == [], log
        assert leaked(every_row(db_path)) == []
        assert leaked(slack_messages(slack)) == []
    finally:
        own.close()
        api.close()


def test_the_bot_in_socket_mode_logs_no_app_token(slack, tmp_path):
    sockets = EnvelopeServer([command_envelope("env-s", "trig-s")])
    slack.socket_url = f"ws://127.0.0.1:{sockets.port}/link"
    env = bot_env(slack.url, BREAKEVEN_DB=str(tmp_path / "s.db"), SLACK_BOT_TOKEN=BOT_TOKEN)
    env.pop("SLACK_SIGNING_SECRET")
    (tmp_path / ".env").write_text(f"SLACK_APP_TOKEN={APP_TOKEN}\n")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        slack.wait_for(lambda: slack.called("files.completeUploadExternal"), timeout=30, what="the answer")
    finally:
        bot.send_signal(signal.SIGTERM)
        log = bot.communicate(timeout=30)[0].decode()
        sockets.close()
    assert slack.called("apps.connections.open")[0]["authorization"] == f"Bearer {APP_TOKEN}"  # it was used
    assert leaked(log) == [], log
    assert leaked(every_row(tmp_path / "s.db")) == []


def test_the_command_line_prints_no_secret_from_its_flags_or_environment(tmp_path):
    refusing = EchoingOpenAI()
    own = FakeLLM(models=("small",), out_tokens=3)
    try:
        sync = breakeven(
            "spend", "sync", "openai", "--db", str(tmp_path / "c.db"), cwd=tmp_path,
            env=clean_env(OPENAI_ADMIN_KEY=ADMIN_KEY, OPENAI_BASE_URL=refusing.url),
        )  # fmt: skip
        assert sync.returncode == 2 and "Incorrect API key provided" in sync.stderr  # the server said it
        endpoint = f"http://cli:{CLI_PASSWORD}@127.0.0.1:{own.port}/v1?token={CLI_KEY}"
        measured = breakeven(
            "measure", "--endpoint", endpoint, "--model", "small", "--key-env", "CLIKEY", "--requests", "2",
            "--concurrency", "1", "--save", "cli", "--db", str(tmp_path / "c.db"), cwd=tmp_path,
            env=clean_env(CLIKEY=CLI_KEY, OPENAI_API_KEY=API_KEY),
        )  # fmt: skip
        assert measured.returncode == 0, measured.stderr
        down = breakeven(
            "measure", "--endpoint", f"http://cli:{CLI_PASSWORD}@127.0.0.1:9/v1?token={CLI_KEY}", "--model", "m",
            cwd=tmp_path, env=clean_env(),
        )  # fmt: skip
        assert down.returncode == 2
    finally:
        refusing.close()
        own.close()
    output = sync.stdout + sync.stderr + measured.stdout + measured.stderr + down.stdout + down.stderr
    assert leaked(output) == [], output
    assert leaked(every_row(tmp_path / "c.db")) == []
