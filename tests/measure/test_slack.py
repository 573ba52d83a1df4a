"""`/breakeven measure` end to end: signed requests to the real bot, a fake Slack and fake model servers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from bot.app import build_app
from bot.settings import load_settings
from tests.slack.blockkit import check_blocks
from tests.slack.conftest import SECRET, TOKEN, BotServer, free_port
from tests.slack.fake_slack import FakeSlack

from .conftest import ROOT


class TimedSlack(FakeSlack):
    """The fake Slack, also noting when each call arrived."""

    def __init__(self) -> None:
        self.arrived: list[tuple[str, float]] = []
        super().__init__()

    def _answer(self, method, raw, content_type, authorization):
        self.arrived.append((method, time.monotonic()))
        return super()._answer(method, raw, content_type, authorization)


@pytest.fixture
def slack():
    fake = TimedSlack()
    yield fake
    fake.close()


@pytest.fixture
def start_bot(slack, tmp_path, monkeypatch):
    """start_bot(endpoints, **settings) -> a BotServer whose admin configured these endpoints."""
    monkeypatch.chdir(tmp_path)
    servers = []

    def start(endpoints: dict, **overrides) -> BotServer:
        settings = load_settings(
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.url,
            breakeven_db=tmp_path / "breakeven.db",
            port=free_port(),
            slack_app_token=None,
            breakeven_endpoints=json.dumps(endpoints),
            **overrides,
        )
        app, bot = build_app(settings)
        server = BotServer(app, bot, settings.port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def updates(slack, ts=None) -> list[dict]:
    return [c["args"] for c in slack.called("chat.update") if ts is None or c["args"]["ts"] == ts]


def final(slack) -> dict:
    """The measurement's last edit: its result (the one with a table)."""
    return slack.wait_for(
        lambda: next((u for u in updates(slack) if "```" in json.dumps(u.get("blocks"))), None),
        timeout=60,
        what="the measurement's result",
    )


def ephemeral(slack) -> str:
    return slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the reply")[0]["args"]["text"]


@pytest.mark.parametrize(
    "typed",
    ["http://127.0.0.1:{port}/v1", "<http://127.0.0.1:{port}/v1>", "127.0.0.1:{port}", "evil.example.com"],
)
def test_an_address_typed_in_slack_is_refused_and_never_contacted(start_bot, slack, fakes, typed):
    fake = fakes(models=("small",))
    server = start_bot({"l4-vllm": {"url": fake.url, "model": "small"}})
    status, _ = server.command(f"measure {typed.format(port=fake.port)}")
    assert status == 200
    text = ephemeral(slack)
    assert "never an address typed here" in text and "`l4-vllm`" in text
    assert fake.requests == [] and slack.called("chat.postMessage") == []


def test_an_unknown_name_lists_the_configured_ones(start_bot, slack):
    server = start_bot({})
    server.command("measure gpu-box")
    assert "No configured endpoint is called `gpu-box`" in ephemeral(slack)
    assert "an admin lists them in the bot's BREAKEVEN_ENDPOINTS setting" in ephemeral(slack)


def test_a_configured_endpoint_is_measured_with_progress_then_a_table_and_a_button(start_bot, slack, fakes, tmp_path):
    own = fakes(models=("small",), ttft=0.05, token_delay=0.01, out_tokens=20)  # about 0.25 s an answer
    api = fakes(models=("gpt-4o-mini",), out_tokens=20)
    prompts = tmp_path / "team.jsonl"
    prompts.write_text(
        json.dumps({"messages": [{"role": "user", "content": "Reply with exactly: ok"}], "expected": "ok"})
    )
    endpoints = {
        "openai": {"url": api.url, "model": "gpt-4o-mini", "key_env": "TEST_API_KEY", "api": True},
        "l4-vllm": {"url": own.url, "model": "small", "gpu": "l4", "prompts": str(prompts)},
    }
    os.environ["TEST_API_KEY"] = "sk-slack-SECRET-123456"
    try:
        server = start_bot(endpoints, measure_progress_every_s=0.5)
        status, body = server.command("measure openai l4-vllm requests=8 concurrency=1,2 save=nov")
        assert status == 200 and body == b""
        # Acked at once: the measurement was still to come when Slack had its answer.
        assert not any("```" in json.dumps(u.get("blocks")) for u in updates(slack))
        result = final(slack)
    finally:
        del os.environ["TEST_API_KEY"]
    post = slack.called("chat.postMessage")[0]["args"]
    assert post["channel"] == "C1" and "Measuring `openai` vs `l4-vllm`" in post["text"]
    progress = updates(slack)[:-1]
    assert progress and all("requests" in u["text"] and " in all." in u["text"] for u in progress)
    assert {u["ts"] for u in updates(slack)} == {result["ts"]}  # one message, edited in place
    # At most one edit each 0.5 s: a run of seconds and 32 requests makes a handful of edits, not one a request.
    arrived = [t for method, t in slack.arrived if method == "chat.update"][: len(progress)]
    assert len(progress) <= (arrived[-1] - arrived[0]) / 0.5 + 2
    check_blocks(result["blocks"])
    everything = json.dumps(result["blocks"])
    assert "openai gpt-4o-mini" in everything and "l4-vllm small" in everything
    assert "Scenario keys: `in=" in everything and "capacity=" in everything and "fail_ft=0%" in everything
    assert "Saved as `nov`" in everything and own.url not in everything and "SECRET" not in everything
    button = result["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == "Analyze with these figures"
    assert json.loads(button["value"]) == {"measured": "nov", "extra": "api=gpt-4o-mini gpu=l4"}
    assert {r["authorization"] for r in api.requests} == {"Bearer sk-slack-SECRET-123456"}
    assert {r["authorization"] for r in own.requests} == {"Bearer no-key"}

    # The button: an analysis with the measured figures, in the measurement's thread.
    server.interaction(
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "container": {"type": "message", "message_ts": result["ts"], "channel_id": "C1"},
            "trigger_id": "trig-analyze",
            "actions": [{"action_id": button["action_id"], "value": button["value"]}],
        }
    )
    verdict = slack.wait_for(lambda: slack.called("chat.postMessage")[1:], what="the analysis")[0]["args"]
    assert verdict["thread_ts"] == result["ts"]
    with sqlite3.connect(server.bot.store.path) as db:
        text, scenario = db.execute("SELECT text, scenario FROM analyses").fetchone()
        stored = db.execute("SELECT team, name, endpoint FROM measurements").fetchall()
    assert text == "measured=nov api=gpt-4o-mini gpu=l4"
    assert set(json.loads(scenario)["provenance"]) >= {"in_tokens", "out_tokens", "capacity_tok_s", "fail_api"}
    assert stored == [("T1", "nov", "openai (gpt-4o-mini) vs l4-vllm (small)")]

    # And typed: /breakeven measured=NAME volume=... fills the same figures; an unknown name lists the saved ones.
    server.command("measured=nov volume=1M/month api=gpt-4o-mini")
    slack.wait_for(lambda: slack.called("chat.postMessage")[2:], what="the typed analysis")
    server.command("measured=dec volume=1M/month")
    assert "no saved measurement is called 'dec'; saved: `nov`" in ephemeral(slack)


def test_an_endpoint_that_is_down_is_said_in_the_message(start_bot, slack):
    server = start_bot({"gpu-box": {"url": "http://127.0.0.1:9/v1", "model": "m"}})
    server.command("measure gpu-box requests=2 concurrency=1")
    edited = slack.wait_for(lambda: updates(slack), what="the failure")[0]
    assert edited["text"].startswith(":x: `gpu-box` could not be measured: cannot reach gpu-box")
    assert "127.0.0.1" not in edited["text"]


def test_limits_from_the_settings_are_enforced(start_bot, slack, fakes):
    fake = fakes(models=("small",), out_tokens=3)
    server = start_bot({"box": {"url": fake.url, "model": "small"}}, measure_max_requests=5, measure_max_concurrency=2)
    server.command("measure box requests=50")
    assert "`requests`: give 1 to 5" in ephemeral(slack)
    server.command("measure box requests=4 concurrency=1,8")  # refused up front, with the limit named
    slack.wait_for(lambda: len(slack.called("chat.postEphemeral")) == 2, what="the second refusal")
    refusal = slack.called("chat.postEphemeral")[1]["args"]["text"]
    assert "`concurrency`: 8 streams at once; give 1 to 2 (the bot's MEASURE_MAX_CONCURRENCY)" in refusal
    assert fake.chat_requests() == [] and slack.called("chat.postMessage") == []
    server.command("measure box requests=4")  # the default levels, 1 and 8, within the limit: 1 and 2
    result = final(slack)
    assert fake.max_in_flight <= 2 and "concurrency 1, 2" in slack.called("chat.postMessage")[0]["args"]["text"]
    check_blocks(result["blocks"])


def test_a_bad_endpoints_setting_stops_start_up_naming_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_", "PORT"))}
    env.update(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        BREAKEVEN_ENDPOINTS='{"box": {"url": "http://10.0.0.5:8000/v1"}}',
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run([sys.executable, "-m", "bot.app"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "breakeven-bot: BREAKEVEN_ENDPOINTS 'box': model is missing (each endpoint needs url and model)"
    )


@pytest.mark.parametrize(
    "options, refusal",
    [
        ("in=200k", "`in`: 200,000 tokens a prompt; at most 128,000"),
        ("out=100k", "`out`: 100,000 tokens an answer; at most 32,000"),
        ("concurrency=1,2,3,4,5,6,7,8,9", "`concurrency`: 9 levels; at most 8"),
        ("requests=5000", "`requests`: give 1 to 100 (the bot's MEASURE_MAX_REQUESTS)"),
        ("requests=" + "9" * 100, "`requests`: 100 characters; at most 40"),
        ("save=" + "n" * 81, "`save`: 81 characters; at most 80"),
        ("x" * 3000, "`endpoint`: a name of 3,000 characters; names have at most 64"),
    ],
)
def test_a_measurement_that_would_build_too_much_is_refused_before_anything_is_sent(
    start_bot, slack, fakes, options, refusal
):
    # in=2M (which the grammar allows) built hundreds of MB of prompts: the worker died, every start.
    fake = fakes(models=("small",))
    server = start_bot({"box": {"url": fake.url, "model": "small"}})
    server.command(f"measure box {options}")
    text = ephemeral(slack)
    assert refusal in text and len(text) < 1000, text
    assert fake.requests == [] and slack.called("chat.postMessage") == []


def _finished(slack, n: int) -> None:
    slack.wait_for(lambda: len([u for u in updates(slack) if "```" in json.dumps(u.get("blocks"))]) == n, timeout=60)


def test_each_user_has_a_daily_budget_of_requests_and_admins_have_none(start_bot, slack, fakes):
    fake = fakes(models=("small",), out_tokens=2)
    server = start_bot(
        {"box": {"url": fake.url, "model": "small"}}, measure_user_daily_requests=10, breakeven_admins="UADMIN"
    )
    for n in (1, 2):  # 3 requests and a warm-up each: 8 of U1's 10
        server.command("measure box requests=3 concurrency=1", user="U1")
        _finished(slack, n)
    sent = len(fake.chat_requests())
    server.command("measure box requests=3 concurrency=1", user="U1")
    refusal = ephemeral(slack)
    assert "This measurement sends 4 requests, and you sent 8 in the last 24 hours: over your limit of 10" in refusal
    assert "(MEASURE_USER_DAILY_REQUESTS)" in refusal and "ask an admin of breakeven" in refusal
    assert len(fake.chat_requests()) == sent  # nothing sent for it
    server.command("measure box requests=3 concurrency=1", user="U2")  # another user's budget is their own
    _finished(slack, 3)
    for n in (4, 5, 6):  # an admin has no limit
        server.command("measure box requests=3 concurrency=1", user="UADMIN")
        _finished(slack, n)


def test_a_saved_measurement_is_replaced_only_by_who_saved_it_or_an_admin(start_bot, slack, fakes):
    fake = fakes(models=("small",), out_tokens=2)
    server = start_bot({"box": {"url": fake.url, "model": "small"}}, breakeven_admins="UADMIN")
    server.command("measure box requests=2 concurrency=1 save=nov", user="U1")
    _finished(slack, 1)
    sent = len(fake.chat_requests())
    server.command("measure box requests=2 concurrency=1 save=nov", user="U2")
    refusal = ephemeral(slack)
    assert "`nov` was saved by <@U1> on " in refusal and "only they or an admin of breakeven" in refusal
    assert len(fake.chat_requests()) == sent  # refused before anything was measured
    server.command("measure box requests=2 concurrency=1 save=nov", user="U1")  # its owner may
    _finished(slack, 2)
    server.command("measure box requests=2 concurrency=1 save=nov", user="UADMIN")  # and an admin
    _finished(slack, 3)
    assert "(replaced the one measured on " in json.dumps(updates(slack)[-1]["blocks"])
    with sqlite3.connect(server.bot.store.path) as db:
        assert db.execute("SELECT name, saved_by FROM measurements").fetchall() == [("nov", "UADMIN")]
