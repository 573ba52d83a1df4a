"""The guided form and the buttons on a verdict, driven by signed interaction payloads."""

import json

from .blockkit import check_blocks, check_view
from .test_commands import TEXT, rows


def _value(view, block_id):
    for block in view["blocks"]:
        if block.get("block_id") == block_id:
            element = block["element"]
            if "initial_option" in element:
                return {"type": element["type"], "selected_option": element["initial_option"]}
            return {"type": element["type"], "value": element.get("initial_value")}
    raise KeyError(block_id)


def state_from(view, **changes):
    """The state Slack would send back for this view, with some fields changed by the user."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        block_id = block["block_id"]
        values[block_id] = {"value": _value(view, block_id)}
    for block_id, new in changes.items():
        if block_id in ("api", "gpu", "use"):
            values[block_id] = {
                "value": {
                    "type": "static_select",
                    "selected_option": {"value": new, "text": {"type": "plain_text", "text": new}},
                }
            }
        else:
            values[block_id] = {"value": {"type": "plain_text_input", "value": new}}
    return {"values": values}


def submission(view, state, trigger="trig-submit", view_id="V1", hash_="h1"):
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": trigger,
        "view": {**view, "id": view_id, "hash": hash_, "team_id": "T1", "state": state},
    }


def open_form(bot_server, slack, text="form"):
    bot_server.command(text)
    view = slack.wait_for(lambda: slack.called("views.open"), what="the form")[0]["args"]["view"]
    check_view(view)
    return view


def test_form_opens_with_hints_and_defaults(bot_server, slack):
    view = open_form(bot_server, slack, "")
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[:4] == ["Start from a use case", "Volume", "Input tokens a request", "Output tokens a request"]
    assert "API model" in labels and "Self-host on a GPU" in labels
    api = next(b for b in view["blocks"] if b.get("block_id") == "api")
    assert api["element"]["initial_option"]["value"] == "gpt-4o-mini"
    assert all("hint" in b for b in view["blocks"] if b["type"] == "input")


def test_valid_form_posts_like_the_command(bot_server, slack):
    view = open_form(bot_server, slack)
    state = state_from(view, volume="2M/month", **{"in": "1500", "out": "200"}, api="gpt-4o", gpu="a10g")
    status, body = bot_server.interaction(submission(view, state))
    assert status == 200 and body in (b"", b"{}")
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the chart")
    post = slack.called("chat.postMessage")[0]["args"]
    assert post["channel"] == "C1"
    assert "Buy: self-hosting saves $9,768 a month" in str(post["blocks"][0])
    assert rows(bot_server)[0][3] == "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"


def test_invalid_form_gets_errors_per_field_and_nothing_is_stored(bot_server, slack):
    view = open_form(bot_server, slack)
    for changes, block, words in [
        ({"volume": "lots"}, "volume", "not a number"),
        ({"volume": "2M", "in": "-5"}, "in", "negative"),
        ({"volume": "2M", "api": "custom"}, "api_price", "IN/OUT"),
        ({"volume": "2M", "api_price": "2/8"}, "api_price", "conflicts with `api`"),
        ({"volume": "2M", "server": "$800", "host_price": "0.2"}, "host_price", "conflicts with `server`"),
        ({"volume": "2M", "extra": "colour=blue"}, "extra", "unknown key"),
    ]:
        status, body = bot_server.interaction(submission(view, state_from(view, **changes)))
        assert status == 200
        answer = json.loads(body)
        assert answer["response_action"] == "errors"
        assert block in answer["errors"] and words in answer["errors"][block], (changes, answer)
    assert slack.called("chat.postMessage") == []
    assert rows(bot_server) == []


def _verdict(bot_server, slack):
    bot_server.command(TEXT)
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the verdict")
    post = slack.called("chat.postMessage")[0]
    (analysis_id, message_ts) = _row(bot_server)
    return post["args"], analysis_id, message_ts


def _row(bot_server):
    import sqlite3

    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT id, message_ts FROM analyses ORDER BY id LIMIT 1").fetchone()


def click(bot_server, action_id, value, trigger="trig-click", channel="C1", message_ts="1.0"):
    return bot_server.interaction(
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "trigger_id": trigger,
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
            "message": {"ts": message_ts},
            "actions": [
                {
                    "action_id": action_id,
                    "value": str(value),
                    "type": "button",
                    "block_id": "analysis_actions",
                    "action_ts": "1.1",
                }
            ],
        }
    )


def test_what_if_buttons_reply_in_the_thread(bot_server, slack):
    _, analysis_id, message_ts = _verdict(bot_server, slack)
    for action, volume in (("whatif_double", "4M"), ("whatif_half", "1M")):
        status, _ = click(bot_server, action, analysis_id, trigger=f"trig-{action}", message_ts=message_ts)
        assert status == 200
        reply = slack.wait_for(
            lambda: [
                c
                for c in slack.called("chat.postMessage")
                if c["args"].get("thread_ts") == message_ts and volume in str(c["args"])  # noqa: B023 - waited on here
            ],
            what=f"the {action} reply",
        )[0]["args"]
        check_blocks(reply["blocks"])
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 3, what="three charts")
    import sqlite3

    with sqlite3.connect(bot_server.bot.store.path) as db:
        kinds = db.execute("SELECT kind, parent_id FROM analyses ORDER BY id").fetchall()
    assert kinds == [("command", None), ("what-if x2", analysis_id), ("what-if x0.5", analysis_id)]


def test_same_click_delivered_twice_answers_once(bot_server, slack):
    _, analysis_id, message_ts = _verdict(bot_server, slack)
    click(bot_server, "whatif_double", analysis_id, trigger="trig-dup", message_ts=message_ts)
    click(bot_server, "whatif_double", analysis_id, trigger="trig-dup", message_ts=message_ts)
    bot_server.wait_idle()
    assert len(slack.called("chat.postMessage")) == 2
    assert len(slack.called("files.completeUploadExternal")) == 2


def test_edit_assumptions_opens_the_form_prefilled(bot_server, slack):
    _, analysis_id, message_ts = _verdict(bot_server, slack)
    click(bot_server, "edit_assumptions", analysis_id, trigger="trig-edit", message_ts=message_ts)
    view = slack.wait_for(lambda: slack.called("views.open"), what="the form")[0]["args"]["view"]
    check_view(view)
    assert _value(view, "volume")["value"] == "2000000/month"
    assert _value(view, "in")["value"] == "1500"
    assert _value(view, "api")["selected_option"]["value"] == "gpt-4o"
    assert _value(view, "gpu")["selected_option"]["value"] == "a10g"
    # Submitting it unchanged gives the same verdict again.
    bot_server.interaction(submission(view, state_from(view), trigger="trig-resubmit", hash_="h2"))
    slack.wait_for(lambda: len(slack.called("chat.postMessage")) == 2, what="the new verdict")
    assert "saves $9,768" in str(slack.called("chat.postMessage")[1]["args"]["blocks"][0])


def test_buttons_from_another_channel_cannot_read_an_analysis(bot_server, slack):
    _, analysis_id, _ = _verdict(bot_server, slack)
    click(bot_server, "whatif_double", analysis_id, trigger="trig-other", channel="C2")
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the refusal")[0]["args"]
    assert "not in this channel" in reply["text"]
    assert len(slack.called("chat.postMessage")) == 1
