"""`breakeven ask` against a fake OpenAI-compatible model over real HTTP."""

import json

import pytest

from breakeven.cli import main
from costcore import analyze, parse

from .fake_model import FakeModel

SENTENCE = (
    "We answer about 40k support tickets a month with gpt-4o, prompts around 1,500 tokens and answers of 300; "
    "would a fine-tuned 8B on an L4 pay off?"
)
LINE = "volume=40k/month in=1500 out=300 api=gpt-4o gpu=l4 params=8B"


@pytest.fixture
def model():
    fake = FakeModel()
    yield fake
    fake.close()


@pytest.fixture
def configured(model, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BREAKEVEN_ASK", raising=False)
    monkeypatch.setenv("BREAKEVEN_LLM_MODEL", "reader")
    monkeypatch.setenv("BREAKEVEN_LLM_BASE_URL", model.url)
    monkeypatch.setenv("BREAKEVEN_LLM_API_KEY", "sk-test")
    return model


def test_a_sentence_prints_what_was_understood_the_line_and_the_command(configured, capsys):
    assert main(["ask", SENTENCE]) == 0
    out = capsys.readouterr().out
    assert "volume=40k/month  “about 40k support tickets a month”" in out.replace("    ", "  ")
    assert f"Line: {LINE}" in out
    assert f"  breakeven analyze {LINE}\n" in out
    assert "Left to defaults:" in out and "Read by reader at 127.0.0.1" in out
    assert len(configured.chats()) == 1


def test_yes_runs_the_line_at_once_and_json_has_the_report(configured, capsys):
    assert main(["ask", SENTENCE, "--yes"]) == 0
    assert analyze(parse(LINE)).headline in capsys.readouterr().out
    assert main(["ask", SENTENCE, "--yes", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["line"] == LINE and data["asked"] == SENTENCE
    assert data["report"]["verdict"] == analyze(parse(LINE)).verdict
    assert data["usage"]["tokens_in"] > 0 and data["usage"]["model"] == "reader"
    assert data["understood"][0] == {
        "key": "volume",
        "value": "40k/month",
        "words": "about 40k support tickets a month",
    }


def test_an_invented_value_is_printed_as_left_out(configured, capsys):
    assert main(["ask", "We answer 40k tickets a month on gpt-4o."]) == 0
    out = capsys.readouterr().out
    assert "Not in your message, so left out:\n  gpu=h100" in out and "Line: volume=40k/month api=gpt-4o" in out


def test_a_budget_asking_what_it_misses_runs_the_audit(configured, capsys):
    budget = (
        "Our fine-tuning budget: 30 hours to collect data, 10 hours of cleaning, 15 hours for an eval set, one "
        "training run at $40, engineers at $90/h. What are we missing?"
    )
    assert main(["ask", budget]) == 0
    assert (
        "breakeven audit 'train=$40' runs=1 'rate=$90/h' collect_h=30 clean_h=10 evalset_h=15\n"
        in capsys.readouterr().out
    )
    assert main(["ask", budget, "--yes", "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)["audit"]
    assert audit["input"]["runs"] == 1 and audit["input"]["hours"]["collect_h"] == 30
    assert any("single training run" in p for p in audit["pitfalls"])


def test_a_model_failure_is_exit_1_with_the_reason(configured, capsys):
    configured.then("refuse")
    assert main(["ask", SENTENCE]) == 1
    assert "declined to read this message" in capsys.readouterr().err


def test_grammar_needs_no_model(configured, capsys):
    assert main(["ask", "volume=2M", "api=gpt-4o", "--yes"]) == 0
    assert analyze(parse("volume=2M api=gpt-4o")).headline in capsys.readouterr().out
    assert configured.requests == []


def test_with_nothing_configured_no_request_leaves(model, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("BREAKEVEN_LLM_MODEL", "BREAKEVEN_LLM_BASE_URL", "BREAKEVEN_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["ask", SENTENCE]) == 2
    err = capsys.readouterr().err
    assert "volume=2M/month" in err and "manual_h=3min" in err  # the grammar's keys, with examples
    assert "set BREAKEVEN_LLM_MODEL" in err and model.requests == []
    monkeypatch.setenv("BREAKEVEN_LLM_MODEL", "reader")
    monkeypatch.setenv("BREAKEVEN_LLM_BASE_URL", model.url)
    monkeypatch.setenv("BREAKEVEN_ASK", "off")  # the switch wins over everything else
    assert main(["ask", SENTENCE]) == 2
    assert "BREAKEVEN_ASK=off" in capsys.readouterr().err and model.requests == []
