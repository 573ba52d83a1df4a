"""bot/ask.py over real HTTP against a fake OpenAI-compatible server: what is sent, what comes back,
and every way it can fail, each a clear AskError."""

import json
import logging
from pathlib import Path

import pytest

from bot.ask import AskError, understand
from bot.llm_client import LLMSettings
from costcore import parse, to_text
from costcore.ask import instructions, messages
from costcore.grammar import audit_to_text, parse_audit

from .fake_model import FakeModel

PHRASINGS = json.loads((Path(__file__).resolve().parents[1] / "data" / "ask_phrasings.json").read_text())


@pytest.fixture
def fake():
    server = FakeModel(models=("reader", "gpt-4o-mini"))
    yield server
    server.close()


def settings_for(fake, **overrides) -> LLMSettings:
    values = {"breakeven_llm_model": "reader", "breakeven_llm_base_url": fake.url, "breakeven_llm_api_key": "sk-test"}
    return LLMSettings(**{**values, **overrides})


@pytest.fixture(autouse=True)
def _no_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "OPENAI_API_KEY",
        "BREAKEVEN_LLM_MODEL",
        "BREAKEVEN_LLM_BASE_URL",
        "BREAKEVEN_LLM_API_KEY",
        "BREAKEVEN_ASK",
    ):
        monkeypatch.delenv(name, raising=False)


def test_every_recorded_phrasing_goes_through_the_wire_and_gives_its_expected_line(fake):
    settings = settings_for(fake)
    for case in PHRASINGS:
        understood, usage = understand(case["text"], settings)
        expect = case["expect"]
        line = to_text(parse(expect["line"])) if expect["line"] else ""
        assert (to_text(understood.scenario) if understood.scenario else "") == line, case["text"]
        audit = audit_to_text(parse_audit(expect["audit"])) if expect.get("audit") else ""
        assert (audit_to_text(parse_audit(understood.audit_line)) if understood.audit_line else "") == audit
        assert sorted(d.key for d in understood.dropped) == expect["dropped"]
        assert usage.attempts == 1 and usage.tokens_in > 0 and usage.tokens_out > 0
    assert len(fake.chats()) == len(PHRASINGS)


def test_only_the_message_goes_with_the_fixed_instructions_and_schema(fake):
    understand("We answer about 40k support tickets a month with gpt-4o", settings_for(fake))
    (request,) = fake.chats()
    body = request["body"]
    assert body["messages"] == messages("We answer about 40k support tickets a month with gpt-4o")
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"]
    assert request["headers"]["authorization"] == "Bearer sk-test"


def test_a_follow_up_sends_the_current_line_and_the_question_and_nothing_else(fake):
    line = "volume=40000/month api=gpt-4o gpu=a10g"
    understand("what if we used an H100?", settings_for(fake), current_line=line)
    body = fake.chats()[0]["body"]
    assert body["messages"] == messages("what if we used an H100?", follow_up_line=line)
    assert f"already has this scenario:\n{line}\n" in body["messages"][0]["content"]
    assert body["messages"][0]["content"] == instructions(follow_up_line=line)


def test_keys_and_tokens_are_masked_before_they_leave(fake):
    text = "40k tickets a month on gpt-4o, key sk-proj-Ab3dEf6hIj9kLm2nOp5q, bot token xoxb-1234567890-abcdefghij"
    understood, _ = understand(text, settings_for(fake))
    raw = fake.chats()[0]["raw"]
    assert "sk-proj-Ab3dEf6hIj9kLm2nOp5q" not in raw and "xoxb-1234567890-abcdefghij" not in raw
    assert raw.count("[masked]") == 2 and understood.masked == 2


def test_no_organization_or_project_header_goes_to_a_server_of_ones_own(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-secret")
    understand("40k tickets a month", settings_for(fake))
    headers = fake.chats()[0]["headers"]
    assert "openai-organization" not in headers and "openai-project" not in headers


def test_a_refusal_is_a_clear_error(fake):
    fake.then("refuse")
    with pytest.raises(AskError) as error:
        understand("40k tickets a month", settings_for(fake))
    assert error.value.kind == "refusal" and "declined" in str(error.value) and "Nothing was stored" in str(error.value)


def test_an_invalid_answer_is_asked_again_once_with_the_error(fake):
    fake.then("invalid")
    understood, usage = understand("We answer 40k tickets a month on gpt-4o.", settings_for(fake))
    assert understood.line == "volume=40k/month api=gpt-4o" and usage.attempts == 2
    first, second = fake.chats()
    retry = second["body"]["messages"]
    assert retry[:2] == first["body"]["messages"]
    assert retry[2] == {"role": "assistant", "content": "Sure! They answer about 40k tickets a month."}
    assert "does not match the JSON Schema" in retry[3]["content"] and "Invalid JSON" in retry[3]["content"]

    def words(request):
        return sum(len(str(m["content"]).split()) for m in request["body"]["messages"])

    assert usage.tokens_in == words(first) + words(second)  # both attempts are counted (and priced)


def test_invalid_twice_is_a_clear_error(fake):
    fake.then("invalid", "invalid")
    with pytest.raises(AskError) as error:
        understand("40k tickets a month", settings_for(fake))
    assert error.value.kind == "invalid" and "twice" in str(error.value)
    assert len(fake.chats()) == 2


def test_a_cut_off_answer_is_a_clear_error(fake):
    fake.then("length")
    with pytest.raises(AskError) as error:
        understand("40k tickets a month", settings_for(fake))
    assert error.value.kind == "length" and "cut off" in str(error.value)


def test_a_timeout_is_a_clear_error(fake):
    with pytest.raises(AskError) as error:
        fake.then("hang", "hang")
        understand("40k tickets a month", settings_for(fake, breakeven_llm_timeout_s=0.3))
    assert error.value.kind == "timeout" and "did not answer within 0.3 s" in str(error.value)


def test_a_429_is_a_clear_error_with_when_to_try_again(fake):
    fake.retry_after = "1"
    fake.then(429, 429)
    with pytest.raises(AskError) as error:
        understand("40k tickets a month", settings_for(fake))
    assert error.value.kind == "rate_limited" and "HTTP 429" in str(error.value) and "in 1 s" in str(error.value)
    assert len(fake.chats()) == 2  # one retry, then the user is told


def test_an_unknown_model_and_an_unreachable_server_are_clear_errors(fake):
    with pytest.raises(AskError) as error:
        understand("40k tickets a month", settings_for(fake, breakeven_llm_model="nope"))
    assert error.value.kind == "no_model" and "'nope'" in str(error.value)
    with pytest.raises(AskError) as error:
        understand("40k", settings_for(fake, breakeven_llm_base_url="http://127.0.0.1:1/v1"))
    assert error.value.kind == "unreachable" and "127.0.0.1:1" in str(error.value)


def test_a_server_without_structured_outputs_gets_json_mode_with_the_schema_in_the_prompt(fake):
    fake.schema = False
    understood, usage = understand("We answer 40k tickets a month on gpt-4o.", settings_for(fake))
    assert understood.line == "volume=40k/month api=gpt-4o" and usage.mode == "json"
    refused, answered = fake.chats()
    assert refused["body"]["response_format"]["type"] == "json_schema"
    assert answered["body"]["response_format"] == {"type": "json_object"}
    assert "matching this JSON Schema" in answered["body"]["messages"][0]["content"]
    understand("We answer 40k tickets a month on gpt-4o.", settings_for(fake))  # remembered: straight to JSON mode
    assert fake.chats()[-1]["body"]["response_format"] == {"type": "json_object"} and len(fake.chats()) == 3


def test_each_parse_logs_its_tokens_price_and_latency(fake, caplog):
    caplog.set_level(logging.INFO, logger="breakeven.ask")
    _, usage = understand(
        "We answer 40k tickets a month on gpt-4o.", settings_for(fake, breakeven_llm_model="gpt-4o-mini")
    )
    from costcore.prices import per_request_cost, quote_model

    expected = per_request_cost(quote_model("gpt-4o-mini")[1], usage.tokens_in, usage.tokens_out, 0.0)
    assert usage.cost == pytest.approx(expected) and usage.cost > 0
    (record,) = [r for r in caplog.records if r.name == "breakeven.ask"]
    line = record.getMessage()
    assert (
        f"{usage.tokens_in} + {usage.tokens_out} tokens" in line and f"${usage.cost:.6f}" in line and " s, ok" in line
    )
    _, usage = understand("We answer 40k tickets a month on gpt-4o.", settings_for(fake))
    assert usage.cost is None and usage.cost_text == "not in the price catalogue"


def test_nothing_is_configured_by_default_and_the_switch_turns_it_off(fake):
    assert not LLMSettings().configured
    assert not LLMSettings(breakeven_llm_model="gpt-4o-mini").configured  # no key, no server of one's own
    assert LLMSettings(breakeven_llm_model="gpt-4o-mini", openai_api_key="sk-x").configured
    off = settings_for(fake, breakeven_ask=False)
    assert not off.configured and "BREAKEVEN_ASK=off" in off.why_off
