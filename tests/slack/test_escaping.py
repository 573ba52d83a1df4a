"""User text is data, never markup: hostile strings through every path that echoes text reach the
fake Slack escaped (&amp; &lt; &gt;), and only the bot's own code makes mentions and links."""

import datetime as dt
import json

from bot.delivery import SafeWebClient
from bot.render import channel_link, mention, slack_text
from bot.spend import import_csv
from bot.weekly import post_weekly_summary

from .test_audit import submit
from .test_form_and_buttons import open_form, state_from, submission

MARKUP = ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>")
WEEK = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # its summary covers 2026-11-16 to 22


def everything_sent(slack) -> str:
    """Every argument of every call and every response_url body, as Slack would read them."""
    return json.dumps([c["args"] for c in slack.calls] + slack.responses, ensure_ascii=False)


def assert_no_markup(text: str) -> None:
    for raw in MARKUP:
        assert raw not in text, raw


def test_spend_provider_and_model_are_escaped_in_the_reply_and_the_weekly_summary(bot_server, slack):
    bot_server.command("spend add $5 <!channel> <@U123> 2026-11-17")
    bot_server.wait_idle()
    reply = slack.called("chat.postEphemeral")[0]["args"]
    assert "Recorded $5.00 of &lt;!channel&gt; &lt;@U123&gt; on 2026-11-17" in reply["text"]
    result = post_weekly_summary(bot_server.bot.client, bot_server.bot.store, "T1", "C1", WEEK)
    assert result.status == "posted"
    summary = slack.called("chat.postMessage")[0]["args"]
    assert "&lt;!channel&gt; &lt;@U123&gt;" in summary["blocks"][0]["text"]["text"]
    assert_no_markup(everything_sent(slack))


def test_a_csv_import_cannot_ping_the_channel_through_the_summary(bot_server, slack, tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text(
        "day,provider,model,cost\n"
        "2026-11-17,<!here>,<https://evil.example|click>,40\n"
        '2026-11-18,openai,"gpt & <@U123>",2\n'
    )
    import_csv(bot_server.bot.store, "T1", path)
    post_weekly_summary(bot_server.bot.client, bot_server.bot.store, "T1", "C1", WEEK)
    text = slack.called("chat.postMessage")[0]["args"]["blocks"][0]["text"]["text"]
    assert "&lt;!here&gt; &lt;https://evil.example|click&gt;" in text
    assert "gpt &amp; &lt;@U123&gt;" in text
    assert_no_markup(everything_sent(slack))


def test_errors_that_echo_the_command_are_escaped(bot_server, slack):
    bot_server.command("volume=<!channel> api=gpt-4o")
    bot_server.command("history <@U123>")
    bot_server.command("weekly <https://evil.example|click>")
    bot_server.wait_idle()
    texts = [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert any("'&lt;!channel&gt;' is not a number" in t for t in texts)
    assert any("(got '&lt;@U123&gt;')" in t for t in texts)
    assert len(texts) == 3
    assert_no_markup(everything_sent(slack))


def test_a_scenario_name_and_form_fields_are_escaped(bot_server, slack):
    bot_server.command("volume=2M api=gpt-4o gpu=a10g measured=<!channel>")
    view = open_form(bot_server, slack)
    state = state_from(view, volume="2M", extra="<!here>=5")
    status, body = bot_server.interaction(submission(view, state))
    errors = json.loads(body)["errors"]
    assert "&lt;!here&gt;" in errors["extra"] and "<!here>" not in errors["extra"]
    bot_server.wait_idle()
    assert_no_markup(everything_sent(slack))


def test_audit_answers_are_escaped_in_the_modal_errors(bot_server, slack):
    bot_server.command("audit")
    bot_server.wait_idle()
    view = slack.called("views.open")[0]["args"]["view"]
    view = submit(bot_server, view, 0)["view"]
    answer = submit(bot_server, view, 1, collect_h="<!channel>")
    assert answer["response_action"] == "errors"
    assert "&lt;!channel&gt;" in answer["errors"]["collect_h"] and "<!channel>" not in answer["errors"]["collect_h"]


def test_only_the_bots_own_code_makes_mentions_and_links():
    assert slack_text(f"{mention('U2')} in {channel_link('C7')}") == "<@U2> in <#C7>"
    assert slack_text(mention("<!channel>")) == "&lt;!channel&gt;"  # not an id: text
    forged = "\ue000" + "0" * 16 + "@U2\ue001"
    assert "<@U2>" not in slack_text(forged)  # without this process's secret, no link


def test_every_text_object_of_a_call_is_escaped_once(slack):
    client = SafeWebClient(token="xoxb-t", base_url=slack.url)
    client.chat_postMessage(
        channel="C1",
        text="a < b & c",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "<!channel>"}},
            {"type": "context", "elements": [{"type": "plain_text", "text": "x > y"}]},
        ],
    )
    sent = slack.called("chat.postMessage")[0]["args"]
    assert sent["text"] == "a &lt; b &amp; c"
    assert sent["blocks"][0]["text"]["text"] == "&lt;!channel&gt;"
    assert sent["blocks"][1]["elements"][0]["text"] == "x &gt; y"


def test_the_fallback_text_is_cut_to_slacks_limit(slack):
    client = SafeWebClient(token="xoxb-t", base_url=slack.url)
    client.chat_postMessage(channel="C1", text="&" * 50_000)
    text = slack.called("chat.postMessage")[0]["args"]["text"]
    assert len(text) <= 40_000 and text.endswith("&amp;…")
