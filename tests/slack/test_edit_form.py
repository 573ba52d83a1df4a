"""Edit assumptions round-trips any scenario exactly, and the API select searches every provider."""

import json
import sqlite3

import pytest

from .blockkit import check_view
from .test_commands import TEXT
from .test_form_and_buttons import click, state_from, submission

# Every kind of scenario the tests save: catalogue and custom prices, per-request prices, hosts of
# open models, manual work, tokens instead of requests, other providers than OpenAI.
SAVED = [
    TEXT,
    "volume=2M api_price=2.5/10 server=$800/month",
    "volume=10000 manual_h=3min manual_rate=$50/h server=$400",
    "volume=50k/day api=gpt-4o-mini host_price=0.2 prompt_cut=80%",
    "volume=100k api_per_1k=1 server=$300 maint_h=0",
    "tokens=3B/month api=claude-3-5-haiku gpu=l4 billing=serverless",
    "volume=2M api=gemini-1.5-flash gpu=a10g",
    "volume=10k api=gpt-4o-mini",
    "volume=300k in=800 out=300 api=anthropic:claude-3-5-haiku capacity=20qps peak=3x ha=no fail_api=2% fail_ft=4%",
    "volume=1M api=gpt-4o-mini gpu=h100 latency=3s api_latency=1.5s ft_latency=2.5s",
]


def analyses(bot_server):
    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT id, kind, scenario, report, message_ts FROM analyses ORDER BY id").fetchall()


@pytest.mark.parametrize("text", SAVED)
def test_a_saved_scenario_edited_and_submitted_unchanged_gives_the_identical_analysis(bot_server, slack, text):
    bot_server.command(text)
    bot_server.wait_idle()
    ((first_id, _, scenario, report, message_ts),) = analyses(bot_server)
    click(bot_server, "edit_assumptions", first_id, trigger="trig-edit", message_ts=message_ts)
    bot_server.wait_idle()
    view = slack.called("views.open")[0]["args"]["view"]
    check_view(view)
    status, body = bot_server.interaction(submission(view, state_from(view), trigger="trig-resubmit", hash_="h2"))
    assert status == 200 and not body.strip(b"{}"), body  # no errors
    bot_server.wait_idle()
    (_, kind, scenario_again, report_again, _) = analyses(bot_server)[1]
    assert kind == "form"
    assert json.loads(scenario_again) == json.loads(scenario)
    assert json.loads(report_again) == json.loads(report)


def suggestions(bot_server, query):
    status, body = bot_server.interaction(
        {
            "type": "block_suggestion",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "action_id": "api_model",
            "block_id": "api",
            "value": query,
            "view": {"id": "V1", "callback_id": "breakeven_form", "type": "modal"},
        }
    )
    assert status == 200
    return json.loads(body)["options"]


def test_the_api_select_searches_every_provider(bot_server, slack):
    for query, provider in (("claude-3-5-haiku", "anthropic"), ("gemini-1.5-flash", "google"), ("mistral", "mistral")):
        options = suggestions(bot_server, query)
        assert 0 < len(options) <= 100
        assert any(o["value"].startswith(f"{provider}:") for o in options), (query, options[:3])
    first = suggestions(bot_server, "")
    assert first[0]["value"] == "custom" and len(first) == 100
    assert {o["value"].split(":")[0] for o in first[1:]} >= {"openai"}


def test_a_model_picked_from_another_provider_is_analysed(bot_server, slack):
    from .test_form_and_buttons import open_form

    view = open_form(bot_server, slack)
    value = next(o["value"] for o in suggestions(bot_server, "claude-3-5-haiku") if o["value"].startswith("anthropic"))
    state = state_from(view, volume="2M", api=value)
    status, body = bot_server.interaction(submission(view, state))
    assert status == 200 and not body.strip(b"{}"), body
    bot_server.wait_idle()
    post = slack.called("chat.postMessage")[0]["args"]
    assert "claude-3-5-haiku" in json.dumps(post["blocks"])


def test_a_conflicting_field_is_explained_under_the_field_the_user_typed(bot_server, slack):
    from .test_form_and_buttons import open_form

    view = open_form(bot_server, slack)
    for changes, block, words in [
        ({"volume": "2M", "extra": "api_per_1k=1"}, "extra", "`api_per_1k`: conflicts with `api` (the API model"),
        ({"volume": "2M", "extra": "volume=3M"}, "extra", "`volume`"),
        ({"volume": "2M", "extra": "in=-4"}, "extra", "`in`: '-4' is negative"),
        ({"volume": "2M", "host_price": "0.2", "gpu": "a10g"}, "host_price", "(the Self-host on a GPU field)"),
    ]:
        status, body = bot_server.interaction(submission(view, state_from(view, **changes)))
        errors = json.loads(body)["errors"]
        assert list(errors) == [block] and words in errors[block], (changes, errors)
    assert slack.called("chat.postMessage") == []
