"""Asking in plain words, end to end over real HTTP: signed requests to the bot, a fake Slack, and a fake
OpenAI-compatible model that records everything it receives."""

import json
import sqlite3
from pathlib import Path

import pytest

from bot.app import build_app
from bot.llm_client import LLMSettings
from bot.settings import load_settings
from costcore import parse, to_text
from tests.ask.fake_model import FakeModel

from .blockkit import check_blocks, check_view
from .conftest import SECRET, TOKEN, BotServer, free_port
from .test_form_and_buttons import _value, state_from, submission

SENTENCE = (
    "We answer about 40k support tickets a month with gpt-4o, prompts around 1,500 tokens and answers of 300; "
    "would a fine-tuned 8B on an L4 pay off?"
)
LINE = "volume=40k/month in=1500 out=300 api=gpt-4o gpu=l4 params=8B"
INVENTED = "We answer 40k tickets a month on gpt-4o."  # its recorded answer invents gpu=h100 ("an H100")
H100 = "what if we used an H100?"
TRIPLE = "and at three times the volume?"


@pytest.fixture
def model():
    fake = FakeModel()
    fake.answers[H100] = {"figures": {"gpu": ["h100", "an H100"]}}
    fake.answers[TRIPLE] = {"figures": {"volume": ["120000/month", "three times the volume"]}}
    yield fake
    fake.close()


def start(slack, tmp_path, monkeypatch, llm: LLMSettings | None) -> BotServer:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.url,
        breakeven_db=tmp_path / "breakeven.db",
        port=free_port(),
        slack_app_token=None,
        llm=llm or LLMSettings(breakeven_llm_model=None, breakeven_llm_base_url=None),
    )
    app, bot = build_app(settings)
    bot.resume()
    return BotServer(app, bot, settings.port, slack)


def llm_for(model, **overrides) -> LLMSettings:
    values = {"breakeven_llm_model": "reader", "breakeven_llm_base_url": model.url, "breakeven_llm_api_key": "sk-test"}
    return LLMSettings(**{**values, **overrides})


@pytest.fixture
def server(slack, tmp_path, monkeypatch, model):
    running = start(slack, tmp_path, monkeypatch, llm_for(model))
    yield running
    running.stop()


def table(server, sql):
    with sqlite3.connect(server.bot.store.path) as db:
        return db.execute(sql).fetchall()


def click(
    server, action_id, value, *, ephemeral=True, channel="C1", message_ts="9.0", trigger="trig-click", slack=None
):
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": trigger,
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": message_ts, "is_ephemeral": ephemeral},
        "actions": [{"action_id": action_id, "value": str(value), "type": "button", "block_id": "ask_confirm"}],
    }
    if slack is not None:
        payload["response_url"] = slack.response_url(f"click-{trigger}")
    return server.interaction(payload)


def confirm_of(slack):
    return slack.wait_for(
        lambda: [c for c in slack.called("chat.postEphemeral") if "understood" in c["args"]["text"]],
        what="the confirmation",
    )[0]["args"]


def ask_id(server) -> int:
    return table(server, "SELECT id FROM asks ORDER BY id DESC LIMIT 1")[0][0]


# --- a sentence, confirmed before it runs --------------------------------------------------------


def test_a_sentence_gets_a_status_then_what_was_understood_in_words_and_as_the_line(server, slack, model):
    status, body = server.command(SENTENCE)
    assert status == 200 and "Reading your question with reader" in body.decode()
    confirm = confirm_of(slack)
    check_blocks(confirm["blocks"])
    text = json.dumps(confirm["blocks"], ensure_ascii=False)
    assert f"/breakeven {LINE}" in text  # the grammar line that Run runs
    for pair, words in (("volume=40k/month", "about 40k support tickets a month"), ("gpu=l4", "an L4")):
        assert f"`{pair}` from “{words}”" in text
    assert "_Left to defaults:_" in text and "`bits`" not in text  # the main keys left to defaults are named
    buttons = [e["text"]["text"] for b in confirm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["Run", "Edit", "Cancel"]
    assert "Read by reader at 127.0.0.1" in text and "tokens" in text
    assert table(server, "SELECT count(*) FROM analyses") == [(0,)]  # nothing runs before Run
    assert table(server, "SELECT status, line FROM asks") == [("pending", LINE)]
    assert len(model.chats()) == 1


def test_run_gives_the_normal_answer_and_chart_and_history_shows_what_was_asked_and_what_ran(server, slack):
    server.command(SENTENCE)
    confirm_of(slack)
    click(server, "ask_run", ask_id(server), slack=slack, trigger="trig-run")
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the chart")
    post = slack.called("chat.postMessage")[0]["args"]
    check_blocks(post["blocks"])
    from costcore import analyze

    assert post["blocks"][0]["text"]["text"].endswith(f"*{analyze(parse(LINE)).headline}*")  # the line's own verdict
    assert table(server, "SELECT kind, text, asked FROM analyses") == [("ask", LINE, SENTENCE)]
    replaced = slack.wait_for(lambda: [r for r in slack.responses if r.get("replace_original")], what="the update")
    assert "Ran as analysis #1" in replaced[0]["text"]
    # A second click runs nothing more.
    click(server, "ask_run", ask_id(server), slack=slack, trigger="trig-run-again")
    server.wait_idle()
    assert len(slack.called("chat.postMessage")) == 1
    assert "already run" in slack.called("chat.postEphemeral")[-1]["args"]["text"]
    server.command("history")
    history = slack.wait_for(
        lambda: [c for c in slack.called("chat.postEphemeral") if "Recent analyses" in c["args"]["text"]],
        what="history",
    )[0]["args"]
    assert f"asked “{SENTENCE[:40]}" in json.dumps(history["blocks"], ensure_ascii=False)
    assert f"ran `{LINE}`" in json.dumps(history["blocks"], ensure_ascii=False)


def test_edit_opens_the_form_filled_from_the_line_and_its_analysis_keeps_the_words(server, slack):
    server.command(SENTENCE)
    confirm_of(slack)
    click(server, "ask_edit", ask_id(server), trigger="trig-edit")
    view = slack.wait_for(lambda: slack.called("views.open"), what="the form")[0]["args"]["view"]
    check_view(view)
    assert _value(view, "volume")["value"] == "40000/month"
    assert _value(view, "in")["value"] == "1500" and _value(view, "out")["value"] == "300"
    assert _value(view, "api")["selected_option"]["value"] == "gpt-4o"
    assert _value(view, "gpu")["selected_option"]["value"] == "l4"
    server.interaction(submission(view, state_from(view, out="250"), trigger="trig-submit"))
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the analysis")
    ((kind, text, asked),) = table(server, "SELECT kind, text, asked FROM analyses")
    assert kind == "form" and "out=250" in text and asked == SENTENCE


def test_cancel_runs_nothing(server, slack):
    server.command(SENTENCE)
    confirm_of(slack)
    click(server, "ask_cancel", ask_id(server), slack=slack, trigger="trig-cancel")
    slack.wait_for(lambda: [r for r in slack.responses if r.get("replace_original")], what="the update")
    click(server, "ask_run", ask_id(server), slack=slack, trigger="trig-late-run")
    server.wait_idle()
    assert slack.called("chat.postMessage") == []
    assert table(server, "SELECT status FROM asks") == [("cancelled",)]


def test_a_value_the_model_invents_is_dropped_and_listed(server, slack):
    server.command(INVENTED)
    text = json.dumps(confirm_of(slack)["blocks"], ensure_ascii=False)
    assert "*Not in your message*, so left out: `gpu=h100` (“an H100”)" in text
    assert "/breakeven volume=40k/month api=gpt-4o`" in text
    assert table(server, "SELECT line FROM asks") == [("volume=40k/month api=gpt-4o",)]


def test_a_budget_asking_what_it_misses_opens_the_audit_with_its_lines_filled(server, slack):
    phrasings = json.loads((Path(__file__).resolve().parents[1] / "data" / "ask_phrasings.json").read_text())
    budget = next(c["text"] for c in phrasings if c["expect"].get("audit"))
    server.command(budget)
    assert "opens the hidden-cost audit" in json.dumps(confirm_of(slack)["blocks"])
    click(server, "ask_run", ask_id(server), slack=slack, trigger="trig-audit")
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    assert "collect_h=30" in view["private_metadata"] and "evalset_h=15" in view["private_metadata"]


@pytest.mark.parametrize(
    "behaviour, words",
    [
        (["refuse"], "declined to read this message"),
        (["invalid", "invalid"], "answered twice with something that is not the form"),
        (["hang", "hang"], "did not answer within 0.3 s"),
        ([429, 429], "HTTP 429"),
    ],
)
def test_each_failure_is_answered_clearly_and_nothing_is_half_stored(
    slack, tmp_path, monkeypatch, model, behaviour, words
):
    model.retry_after = "1"
    model.then(*behaviour)
    server = start(slack, tmp_path, monkeypatch, llm_for(model, breakeven_llm_timeout_s=0.3))
    try:
        server.command(SENTENCE)
        server.wait_idle(timeout=30)
        (reply,) = [c["args"] for c in slack.called("chat.postEphemeral")]
        assert words in reply["text"] and "Nothing was stored" in reply["text"]
        assert table(server, "SELECT count(*) FROM asks") == [(0,)]
        assert table(server, "SELECT count(*) FROM analyses") == [(0,)]
        assert table(server, "SELECT status FROM jobs") == [("done",)]
        assert slack.called("chat.postMessage") == []
    finally:
        server.stop()


def test_with_nothing_configured_no_request_leaves_and_words_get_the_grammar_help(slack, tmp_path, monkeypatch, model):
    server = start(slack, tmp_path, monkeypatch, None)
    try:
        status, body = server.command(SENTENCE)
        assert status == 200 and body == b""
        reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the help")[0]["args"]
        text = json.dumps(reply["blocks"])
        assert "How to use" in text or "/breakeven volume=" in text
        assert "BREAKEVEN_LLM_MODEL" in text and "docs/ask.md" in text
        server.command("we have volume=2M api=gpt-4o")  # words with pairs in them: the grammar's error
        server.wait_idle()
        assert "BREAKEVEN_LLM_MODEL" in slack.called("chat.postEphemeral")[-1]["args"]["text"]
        server.command("help me decide between gpt-4o and a fine-tuned model")  # a subcommand stays one
        server.wait_idle()
        assert model.requests == []
    finally:
        server.stop()


def test_nothing_is_contacted_at_start_up_and_grammar_never_goes_to_the_model(server, slack, model):
    server.command("volume=2M api=gpt-4o")
    server.command("help")
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"})
    server.wait_idle()
    assert model.requests == []


def test_a_secret_in_the_message_never_leaves_nor_is_stored(server, slack, model):
    model.answers[f"{SENTENCE} Our key is [masked]"] = model.answers[SENTENCE]  # what the model gets to see
    server.command("volume=7654321/month api=claude-3-haiku", channel="C2")  # another channel's: never sent
    server.wait_idle()
    server.command(f"{SENTENCE} Our key is sk-proj-Ab3dEf6hIj9kLm2nOp5q")
    confirm_of(slack)
    raw = " ".join(r["raw"] for r in model.chats())
    assert "sk-proj-Ab3dEf6hIj9kLm2nOp5q" not in raw and "[masked]" in raw
    assert "7654321" not in raw and "claude-3-haiku" not in raw
    (request,) = model.chats()
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]
    assert request["body"]["messages"][1]["content"] == SENTENCE + " Our key is [masked]"
    assert table(server, "SELECT asked FROM asks") == [(SENTENCE + " Our key is [masked]",)]


def test_what_a_user_typed_is_escaped_in_every_answer(server, slack):
    server.command("tell <!channel> and <@U999> about <https://evil.example|this> please")
    server.wait_idle()
    reply = slack.called("chat.postEphemeral")[-1]["args"]
    text = json.dumps(reply["blocks"])
    assert "&lt;!channel&gt;" in text and "&lt;@U999&gt;" in text and "<!channel>" not in text


# --- follow-ups in the thread of an answer -----------------------------------------------------

CURRENT = "volume=40000/month in=1500 out=300 api=gpt-4o gpu=a10g"


def _answer(server, slack):
    server.command(CURRENT)
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the answer")
    ((analysis_id, ts),) = table(server, "SELECT id, message_ts FROM analyses")
    return analysis_id, ts


def _reply(server, ts, text, channel="C1"):
    return server.event(
        {"type": "message", "channel": channel, "channel_type": "channel", "user": "U1", "text": text,
         "ts": f"{ts}1", "thread_ts": ts}
    )  # fmt: skip


def _thread_posts(slack, ts):
    return [c["args"] for c in slack.called("chat.postMessage") if c["args"].get("thread_ts") == ts]


def test_a_what_if_in_the_thread_changes_only_the_keys_it_names(server, slack, model):
    first, ts = _answer(server, slack)
    _reply(server, ts, H100)
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 2, what="the what-if's chart")
    (post,) = _thread_posts(slack, ts)
    check_blocks(post["blocks"])
    text = json.dumps(post["blocks"], ensure_ascii=False)
    assert "• `gpu`: a10g → h100" in text and f"*Before* (#{first})" in text and "*Now*" in text
    ((kind, line, parent, asked),) = table(server, "SELECT kind, text, parent_id, asked FROM analyses WHERE id > 1")
    assert kind == "follow-up" and parent == first and asked == H100
    assert to_text(parse(line)) == to_text(parse(CURRENT.replace("gpu=a10g", "gpu=h100")))
    (request,) = model.chats()  # the current line and the question: nothing else
    assert request["body"]["messages"][1]["content"] == H100
    assert f"already has this scenario:\n{to_text(parse(CURRENT))}\n" in request["body"]["messages"][0]["content"]
    # A second what-if builds on the first.
    _reply(server, ts, TRIPLE)
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 3, what="the second chart")
    last = table(server, "SELECT text FROM analyses ORDER BY id DESC LIMIT 1")[0][0]
    assert parse(last).requests_per_month == 120_000 and parse(last).gpu == "h100"
    assert "• `volume`: 40000/month → 120000/month" in json.dumps(
        _thread_posts(slack, ts)[-1]["blocks"], ensure_ascii=False
    )


def test_typed_grammar_in_the_thread_does_the_same_without_a_model(server, slack, model):
    _, ts = _answer(server, slack)
    _reply(server, ts, "host_price=0.2")
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 2, what="the what-if")
    text = json.dumps(_thread_posts(slack, ts)[0]["blocks"], ensure_ascii=False)
    assert "• `host_price`: gpu=a10g → 0.2" in text  # host_price replaces the GPU it conflicts with
    assert model.requests == []


def test_talk_in_the_thread_that_asks_nothing_of_the_bot_is_not_sent_anywhere(server, slack, model):
    _, ts = _answer(server, slack)
    _reply(server, ts, "thanks, that is helpful")
    _reply(server, "1.000000", "what if we used an H100?")  # a thread with no answer of the bot's
    server.wait_idle()
    assert model.requests == [] and _thread_posts(slack, ts) == []


# --- the Messages tab and direct messages -------------------------------------------------------


def test_the_messages_tab_offers_suggested_prompts_and_the_home_tab_keeps_its_view(server, slack):
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"})
    server.wait_idle()
    (call,) = slack.called("assistant.threads.setSuggestedPrompts")
    assert call["args"]["channel_id"] == "D1" and "thread_ts" not in call["args"]  # the agent view: no thread
    assert len(call["args"]["prompts"]) == 4 and all(p["title"] and p["message"] for p in call["args"]["prompts"])
    assert slack.called("views.publish") == []
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    slack.wait_for(lambda: slack.called("views.publish"), what="the Home tab")


def test_without_ai_app_features_the_messages_tab_gets_a_short_welcome_once(server, slack):
    slack.errors["assistant.threads.setSuggestedPrompts"] = "not_allowed_token_type"
    for _ in range(2):
        server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"})
        server.wait_idle()
    (welcome,) = slack.called("chat.postMessage")
    assert welcome["args"]["channel"] == "D1" and "40k support tickets" in welcome["args"]["text"]
    assert welcome["args"]["metadata"]["event_payload"]["job"]  # the job's guarded post (Bot.post)


def test_a_direct_message_is_answered_like_the_command_with_a_status_while_it_works(server, slack):
    server.event(
        {"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": SENTENCE, "ts": "5.1"}
    )
    confirm = slack.wait_for(lambda: slack.called("chat.postMessage"), what="the confirmation")[0]["args"]
    (status,) = slack.called("assistant.threads.setStatus")
    assert status["args"]["channel_id"] == "D1" and status["args"]["thread_ts"] == "5.1"
    assert (
        confirm["channel"] == "D1"
        and confirm["thread_ts"] == "5.1"
        and LINE in json.dumps(confirm["blocks"], ensure_ascii=False)
    )
    # The job records the confirmation's ts once Slack has answered the post: wait for it, not for the post.
    confirm_ts = slack.wait_for(lambda: table(server, "SELECT confirm_ts FROM asks")[0][0], what="the ts recorded")
    click(server, "ask_run", ask_id(server), ephemeral=False, channel="D1", message_ts=confirm_ts, trigger="trig-dm")
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the chart")
    verdict = slack.called("chat.postMessage")[1]["args"]
    assert verdict["channel"] == "D1" and verdict["thread_ts"] == "5.1"
    update = slack.wait_for(lambda: slack.called("chat.update"), what="the settled confirmation")[0]["args"]
    assert update["ts"] == confirm_ts and "Ran as analysis" in update["text"]
    # A follow-up in that thread changes the answer.
    server.event(
        {
            "type": "message",
            "channel": "D1",
            "channel_type": "im",
            "user": "U1",
            "text": H100,
            "ts": "5.3",
            "thread_ts": "5.1",
        }
    )
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 2, what="the follow-up")
    assert "• `gpu`: l4 → h100" in json.dumps(
        slack.called("chat.postMessage")[-1]["args"]["blocks"], ensure_ascii=False
    )


def test_a_direct_message_answer_whose_connection_drops_is_found_not_said_twice(slack, tmp_path, monkeypatch, model):
    # The answer in a direct message is the job's post (Bot.post): carried out by Slack without an answer,
    # it is found by the job's metadata, not posted again nor repeated as a note.
    server = start(slack, tmp_path, monkeypatch, None)
    try:
        slack.drop("chat.postMessage")
        server.event({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": SENTENCE,
                      "ts": "5.1"})  # fmt: skip
        server.wait_idle()
        (answer,) = slack.messages["D1"]
        assert answer["thread_ts"] == "5.1" and answer["metadata"]["event_payload"]["job"]
        assert "BREAKEVEN_LLM_MODEL" in answer["text"]
        assert len(slack.called("chat.postMessage")) == 1 and slack.called("conversations.replies")
        assert not slack.called("chat.postEphemeral")
    finally:
        server.stop()


def test_the_assistant_view_gets_prompts_in_its_thread_and_its_messages_are_answered(server, slack):
    server.event(
        {"type": "assistant_thread_started",
         "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": "7.0", "context": {"channel_id": "C9"}}}
    )  # fmt: skip
    call = slack.wait_for(lambda: slack.called("assistant.threads.setSuggestedPrompts"), what="prompts")[0]["args"]
    assert call["channel_id"] == "D1" and call["thread_ts"] == "7.0"
    server.event(
        {"type": "assistant_thread_context_changed",
         "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": "7.0", "context": {"channel_id": "C8"}}}
    )  # fmt: skip
    server.event(
        {
            "type": "message",
            "channel": "D1",
            "channel_type": "im",
            "user": "U1",
            "text": SENTENCE,
            "ts": "7.2",
            "thread_ts": "7.0",
        }
    )
    confirm = slack.wait_for(lambda: slack.called("chat.postMessage"), what="the confirmation")[0]["args"]
    assert confirm["thread_ts"] == "7.0" and LINE in json.dumps(confirm["blocks"], ensure_ascii=False)
    assert slack.called("conversations.history") == [] and slack.called("conversations.info") == []


# --- what is grammar, a subcommand, or words -------------------------------------------------------


@pytest.mark.parametrize(
    "text, with_model, without_model",
    [
        ("volume=2M api=gpt-4o", "grammar", "grammar"),
        ("volume = 2M tokens/day", "grammar", "grammar"),
        ("we have volume=2M api=gpt-4o", "words", "grammar"),  # without a model, the grammar's error says why
        ("we answer 40k tickets a month", "words", "words"),
        ("", "subcommand", "subcommand"),
        ("help", "subcommand", "subcommand"),
        ("history 5", "subcommand", "subcommand"),
        ("show 12", "subcommand", "subcommand"),
        ("show 12 OR 1=1", "subcommand", "subcommand"),  # the subcommand's own error answers it
        ("compare 12 15", "subcommand", "subcommand"),
        ("compare renting gpt-4o with a fine-tuned 8B on an L4", "words", "subcommand"),
        ("help me decide between gpt-4o and a fine-tuned model", "words", "subcommand"),
        ("spend add $5 openai gpt-4o", "subcommand", "subcommand"),
        ("measure gpu-box", "subcommand", "subcommand"),
    ],
)
def test_text_is_grammar_a_subcommand_or_words(text, with_model, without_model):
    from bot.listeners.shared import route

    assert route(text, True) == with_model
    assert route(text, False) == without_model


def test_a_subcommand_in_a_direct_message_thread_with_an_answer_is_still_the_subcommand(server, slack, model):
    server.event({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": CURRENT, "ts": "6.1"})
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the answer")
    server.event(
        {
            "type": "message",
            "channel": "D1",
            "channel_type": "im",
            "user": "U1",
            "text": "help",
            "ts": "6.2",
            "thread_ts": "6.1",
        }
    )
    server.wait_idle()
    assert "How to use /breakeven" in slack.called("chat.postEphemeral")[-1]["args"]["text"]
    assert model.requests == []
