"""Fixtures for decisions that stay true: the fake Slack and the bot over HTTP (tests/slack), a price
sheet that flips a saved verdict, and spend to measure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.llm_client import LLMSettings
from bot.settings import load_settings
from costcore.spend import SpendRow
from tests.slack.conftest import SECRET, TOKEN, BotServer, free_port, slack  # noqa: F401 - the fixture

# Bought at list prices: gpt-4o at $2.50 / $10 per 1M makes 5M requests of 1,000 + 100 tokens cost $17,500
# a month on the API; one A10G serves them for far less: BUY. At the price sheet's $0.50 / $2 the API costs
# $3,500 a month and buying pays back only after years: RENT.
FLIPS = "volume=5M/month in=1000 out=100 api=gpt-4o gpu=a10g"
STAYS = "volume=100k/month in=500 out=100 api=gpt-4o-mini gpu=a10g"  # RENT at any gpt-4o price
SHEET = """\
[[api]]
model = "gpt-4o"
input = 0.50
output = 2.00
effective = 2026-01-01
note = "2026 agreement"
"""


@pytest.fixture
def sheet_path(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(SHEET)
    return path


def make_settings(slack_url, tmp_path, **more):  # noqa: F811
    return load_settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_url,
        breakeven_db=tmp_path / "breakeven.db",
        port=free_port(),
        slack_app_token=None,
        llm=LLMSettings(breakeven_llm_model=None),
        **more,
    )


@pytest.fixture
def settings(slack, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return make_settings(slack.url, tmp_path)


@pytest.fixture
def server(settings, slack):  # noqa: F811
    from bot.app import build_app

    app, bot = build_app(settings)
    bot.resume()
    running = BotServer(app, bot, settings.port, slack)
    yield running
    running.stop()


def analyse(server, text: str, channel: str = "C9", user: str = "U1") -> int:
    """A decision saved the way a user saves one: `/breakeven TEXT` over signed HTTP; its id."""
    before = {r["id"] for r in server.bot.store.db.query("SELECT id FROM analyses")}
    status, _ = server.command(text, channel=channel, user=user)
    assert status == 200
    server.wait_idle()
    (new,) = [r["id"] for r in server.bot.store.db.query("SELECT id FROM analyses") if r["id"] not in before]
    return new


def gpt4o_spend(first: dt.date, days: int, requests: int, tokens_in: int, tokens_out: int, cost: float = 50.0):
    """A day of openai gpt-4o spend (as OpenAI's export names it), each day from `first`."""
    return [
        SpendRow(
            day=first + dt.timedelta(days=i),
            provider="openai",
            model="gpt-4o-2024-08-06",
            cost=cost,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            requests=requests,
        )  # fmt: skip
        for i in range(days)
    ]


def sections(call) -> str:
    """A posted message's text, every section of it."""
    blocks = call["args"]["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
