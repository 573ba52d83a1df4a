"""/breakeven end to end: signed requests to the real endpoint, answers through a fake Slack."""

import sqlite3
import time
from pathlib import Path

from .blockkit import check_blocks
from .conftest import TOKEN

PNG = b"\x89PNG\r\n\x1a\n"
TEXT = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"


def rows(server):
    with sqlite3.connect(server.bot.store.path) as db:
        return db.execute("SELECT team, channel, user, text, verdict, message_ts FROM analyses").fetchall()


def test_command_posts_the_verdict_and_uploads_the_chart_in_its_thread(bot_server, slack):
    status, body = bot_server.command(TEXT)
    assert status == 200 and body == b""
    upload = slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the chart upload")
    post = slack.called("chat.postMessage")[0]["args"]
    assert post["channel"] == "C1"
    check_blocks(post["blocks"])
    headline = post["blocks"][0]["text"]["text"]
    assert "Buy: self-hosting saves $9,768 a month" in headline
    everything = str(post["blocks"])
    assert "genai-prices" in everything and "data as of" in everything  # price source and date
    assert "What if volume x2" in everything and "Edit assumptions" in everything
    assert "API prices -50%: $4,018 a month, RENT" in everything  # the sensitivity what-ifs
    # The sizing a lead can check, in one line: the same instance the analysis priced.
    from costcore import analyze, parse

    assert f"Sizing: {analyze(parse(TEXT)).capacity.summary}." in everything
    # The chart lands in the verdict's thread, and the PNG bytes arrived.
    assert any(data.startswith(PNG) for data in slack.uploads)
    complete = upload[0]["args"]
    message_ts = rows(bot_server)[0][5]
    assert complete["thread_ts"] == message_ts
    assert rows(bot_server) == [("T1", "C1", "U1", TEXT, "BUY", message_ts)]
    # The token goes to Slack in the Authorization header, and nowhere else.
    assert slack.called("chat.postMessage")[0]["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in everything
    db = Path(bot_server.bot.store.path)
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # with the WAL
    assert TOKEN.encode() not in stored and b"test-signing-secret" not in stored


def test_inputs_that_cannot_apply_are_answered_in_a_notes_section(bot_server, slack):
    bot_server.command("volume=1M api_per_1k=$0.20 cached=30%")
    post = slack.wait_for(lambda: slack.called("chat.postMessage"), what="the verdict")[0]["args"]
    check_blocks(post["blocks"])
    notes = next(b["text"]["text"] for b in post["blocks"] if b.get("text", {}).get("text", "").startswith("*Notes*"))
    assert "`cached=` is not used: the API is priced per request" in notes


def test_custom_prices_are_marked(bot_server, slack):
    bot_server.command("volume=2M api_price=2.5/10 server=$800/month")
    post = slack.wait_for(lambda: slack.called("chat.postMessage"), what="the verdict")[0]["args"]
    assert "_(yours)_" in str(post["blocks"])


def test_bad_input_is_an_ephemeral_error_naming_the_key_and_nothing_is_stored(bot_server, slack):
    bot_server.command("volme=2M api=gpt-4o")
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the error")[0]["args"]
    assert reply["user"] == "U1"
    assert "`volme`" in reply["text"] and "Did you mean `volume`" in reply["text"]
    assert "Example that works" in reply["text"]
    check_blocks(reply["blocks"])
    assert slack.called("chat.postMessage") == []
    assert rows(bot_server) == []


def test_bad_signature_or_old_timestamp_is_401_and_nothing_happens(bot_server, slack):
    status, _ = bot_server.command(TEXT, secret="not-the-secret")
    assert status == 401
    status, _ = bot_server.command(TEXT, timestamp=int(time.time()) - 6 * 60)
    assert status == 401
    bot_server.wait_idle()
    assert slack.called("chat.postMessage") == []
    assert rows(bot_server) == []


def test_the_same_delivery_twice_gives_one_row_and_one_post(bot_server, slack):
    bot_server.command(TEXT, trigger_id="trig-same")
    bot_server.command(TEXT, trigger_id="trig-same")
    bot_server.wait_idle()  # both deliveries have been handled
    assert len(slack.called("chat.postMessage")) == 1
    assert len(slack.called("files.completeUploadExternal")) == 1
    assert len(rows(bot_server)) == 1


def test_post_retried_after_500_and_after_429_with_retry_after(bot_server, slack):
    slack.fail("chat.postMessage", 500, times=1)
    slack.fail("chat.postMessage", 429, times=1, retry_after=1)
    bot_server.command(TEXT)
    slack.wait_for(lambda: slack.called("chat.postMessage"), timeout=15, what="the retried post")
    attempts = slack.called("chat.postMessage", ok_only=False)
    assert [a["failed"] for a in attempts] == [True, True, False]
    assert len(rows(bot_server)) == 1


def test_a_post_slack_answers_with_an_internal_error_is_looked_for_before_each_new_try(bot_server, slack):
    # Slack documents HTTP 500 (internal_error, fatal_error) as "it's possible some aspect of the
    # operation succeeded": the post is looked for in the channel before it is sent again, and when it
    # is never found the user hears it may not have arrived, never that nothing was posted or saved.
    from bot.service import POST_ATTEMPTS

    slack.fail("chat.postMessage", 500, times=10)
    bot_server.command(TEXT)
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), timeout=30, what="the notice")
    text = reply[0]["args"]["text"]
    assert "The analysis may not have reached the channel: Slack did not confirm it" in text
    assert "nothing was saved" not in text and "could not be posted" not in text
    assert len(slack.called("chat.postMessage", ok_only=False)) == POST_ATTEMPTS
    assert len(slack.called("conversations.history")) >= POST_ATTEMPTS  # looked for before each new try
    assert [r[5] for r in rows(bot_server)] == [None]  # the analysis is kept (not shown until it is posted)


def test_a_post_slack_refuses_tells_the_user_and_keeps_nothing(bot_server, slack):
    slack.fail("chat.postMessage", 200, times=10, error="msg_blocks_too_long")  # an answer: refused, not lost
    bot_server.command(TEXT)
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), timeout=20, what="the failure notice")
    assert "The analysis could not be posted (msg_blocks_too_long)" in reply[0]["args"]["text"]
    assert len(slack.called("chat.postMessage", ok_only=False)) == 1  # not tried again
    assert rows(bot_server) == []


def test_chart_upload_failure_keeps_the_verdict_and_says_so(bot_server, slack):
    slack.fail("files.getUploadURLExternal", 400, times=10)
    bot_server.command(TEXT)
    update = slack.wait_for(lambda: slack.called("chat.update"), timeout=20, what="the note on the verdict")
    blocks = update[0]["args"]["blocks"]
    check_blocks(blocks)
    assert "chart could not be attached" in str(blocks)
    assert "Buy: self-hosting saves" in str(blocks[0])
    assert len(rows(bot_server)) == 1


def test_help_is_ephemeral_with_examples_that_work(bot_server, slack):
    from costcore import parse

    bot_server.command("help")
    reply = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="help")[0]["args"]
    check_blocks(reply["blocks"])
    text = str(reply["blocks"])
    assert "/breakeven history" in text
    for example in (
        "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g",
        "volume=50k/day api=gpt-4o-mini host_price=0.2 prompt_cut=80%",
    ):
        assert example in text
        parse(example)


def test_history_show_and_compare(bot_server, slack):
    # Ids are given as analyses finish: one at a time, so #first is the BUY and #second the RENT.
    bot_server.command(TEXT)
    bot_server.wait_idle()
    bot_server.command("volume=10k api=gpt-4o-mini", user="U2")
    bot_server.wait_idle()
    (first,), (second,) = _ids(bot_server)

    bot_server.command("history 5")
    history = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="history")[0]["args"]
    check_blocks(history["blocks"])
    text = str(history["blocks"])
    assert f"#{first}" in text and f"#{second}" in text and "<@U2>" in text and "RENT" in text and "BUY" in text

    bot_server.command(f"show {first}")
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 3, what="the re-rendered chart")
    shown = slack.called("chat.postMessage")[-1]["args"]
    check_blocks(shown["blocks"])
    assert "Buy: self-hosting saves $9,768" in str(shown["blocks"][0])

    bot_server.command(f"compare {first} {second}")
    compared = slack.wait_for(
        lambda: [c for c in slack.called("chat.postMessage") if "Comparing" in c["args"]["text"]], what="the comparison"
    )[0]["args"]
    check_blocks(compared["blocks"])
    assert "BUY" in str(compared["blocks"]) and "RENT" in str(compared["blocks"])



def test_history_and_compare_name_what_each_analysis_weighed_buying_against(bot_server, slack):
    # A by-hand analysis has no API bill: it shows the work's own cost, counted in tasks.
    bot_server.command("volume=10000 manual_h=0.5h manual_rate=$50/h server=$800 capacity=30qps setup=20000")
    bot_server.wait_idle()
    bot_server.command("volume=10k api=gpt-4o-mini")
    bot_server.wait_idle()
    (by_hand,), (api,) = _ids(bot_server)

    bot_server.command("history 5")
    history = str(slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="history")[0]["args"]["blocks"])
    assert "by hand $250,000 vs self-host" in history and "n/a" not in history

    bot_server.command(f"compare {by_hand} {api}")
    compared = slack.wait_for(
        lambda: [c for c in slack.called("chat.postMessage") if "Comparing" in c["args"]["text"]], what="the comparison"
    )[0]["args"]
    text = str(compared["blocks"])
    assert f"*Rent*: #{by_hand} by hand $250,000 · #{api} API $" in text
    assert f"*Volume*: #{by_hand} 10k tasks/mo · #{api} 10k requests/mo" in text

def _ids(server):
    with sqlite3.connect(server.bot.store.path) as db:
        return db.execute("SELECT id FROM analyses ORDER BY id").fetchall()


def test_a_channel_sees_only_its_own_history(bot_server, slack):
    bot_server.command(TEXT, channel="C1")
    slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the analysis")
    (analysis_id,) = _ids(bot_server)[0]
    bot_server.command("history", channel="C2")
    bot_server.command(f"show {analysis_id}", channel="C2")
    bot_server.command(f"show {analysis_id}", team="T9", channel="C1")
    replies = slack.wait_for(
        lambda: len(slack.called("chat.postEphemeral")) == 3 and slack.called("chat.postEphemeral"),
        what="three replies",
    )
    texts = [r["args"]["text"] + str(r["args"]["blocks"]) for r in replies]
    assert sum("No analyses in this channel yet" in t for t in texts) == 1
    assert sum(f"no analysis #{analysis_id} in this channel" in t for t in texts) == 2
    assert len(slack.called("chat.postMessage")) == 1


def test_healthz(bot_server):
    import urllib.request

    with urllib.request.urlopen(bot_server.url + "/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok"


HOSTILE_CHANNELS = ["C2' OR '1'='1", "C1' --", 'C1" OR ""="', "C1; DROP TABLE analyses; --"]


def test_hostile_channel_ids_and_numbers_see_nothing_of_another_channel_and_break_nothing(bot_server, slack):
    bot_server.command(TEXT, channel="C1")
    bot_server.wait_idle()
    (analysis_id,) = _ids(bot_server)[0]
    for channel in HOSTILE_CHANNELS:
        bot_server.command("history", channel=channel)
        bot_server.command(f"show {analysis_id}", channel=channel)
    for rest in (f"{analysis_id} OR 1=1", f"{analysis_id}'", "1e3", "99999999999999999999"):
        bot_server.command(f"show {rest}", channel="C2")
    bot_server.wait_idle()
    replies = [c["args"] for c in slack.called("chat.postEphemeral")]
    assert len(replies) == 2 * len(HOSTILE_CHANNELS) + 4
    texts = [r["text"] + str(r.get("blocks")) for r in replies]
    assert sum("No analyses in this channel yet" in t for t in texts) == len(HOSTILE_CHANNELS)
    assert sum(f"no analysis #{analysis_id} in this channel" in t for t in texts) == len(HOSTILE_CHANNELS)
    assert sum("`show` takes one analysis number" in t for t in texts) == 4
    assert len(slack.called("chat.postMessage")) == 1  # nothing shown anywhere else
    assert len(rows(bot_server)) == 1  # and the table is whole
    with sqlite3.connect(bot_server.bot.store.path) as db:
        assert db.execute("SELECT count(*) FROM jobs WHERE status = 'failed'").fetchone() == (0,)
