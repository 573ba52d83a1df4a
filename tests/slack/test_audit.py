"""The guided hidden-cost audit through the fake Slack: entry points, steps, back, cancel, resume."""

import json
import sqlite3

from .blockkit import check_blocks, check_view
from .test_form_and_buttons import _verdict, click

ZERO_DATA = {"collect_h": "20", "clean_h": "10", "format_h": "5", "review_h": "10", "iterate_h": "15"}  # 60 h


def step_state(view, **changes):
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        if element["type"] in ("static_select", "radio_buttons"):
            chosen = element.get("initial_option")
            value = changes.get(block["block_id"], chosen["value"] if chosen else None)
            values[block["block_id"]] = {
                "value": {"type": element["type"], "selected_option": {"value": value} if value else None}
            }
        else:
            value = changes.get(block["block_id"], element.get("initial_value"))
            values[block["block_id"]] = {"value": {"type": "plain_text_input", "value": value}}
    return {"values": values}


def submit(bot_server, view, n, **changes):
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": f"trig-a{n}",
        "view": {**view, "id": "VA", "hash": f"h{n}", "team_id": "T1", "state": step_state(view, **changes)},
    }
    status, body = bot_server.interaction(payload)
    assert status == 200
    return json.loads(body) if body else {}


def walk(bot_server, view, answers_by_step):
    """Answer each step; returns the views seen."""
    seen = [view]
    for n, changes in enumerate(answers_by_step):
        answer = submit(bot_server, view, n, **changes)
        if n < 4:
            assert answer["response_action"] == "update", answer
            view = answer["view"]
            check_view(view)
            seen.append(view)
        else:
            assert answer in ({}, {"response_action": "clear"}) or "response_action" not in answer
    return seen


def close(bot_server, view, hash_="hc"):
    """The user closes the modal (Cancel or x): Slack sends view_closed with the view as it was."""
    return bot_server.interaction(
        {
            "type": "view_closed",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "view": {**view, "id": "VA", "hash": hash_, "team_id": "T1"},
            "is_cleared": False,
        }
    )


def press(bot_server, action_id, value, *, view=None, trigger="trig-press"):
    """A button of the audit: Back inside the modal (view), or Resume / Start over in the channel."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": trigger,
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }
    if view is not None:
        payload["view"] = {**view, "id": "VA", "hash": "hb"}
    else:
        payload["channel"] = {"id": "C1"}
    return bot_server.interaction(payload)


def audits(bot_server):
    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT analysis_id, channel, answers FROM audits").fetchall()


def test_audit_from_a_verdict_walks_five_steps_and_answers_in_its_thread(bot_server, slack):
    _, analysis_id, message_ts = _verdict(bot_server, slack)
    click(bot_server, "audit_start", analysis_id, trigger="trig-audit", message_ts=message_ts)
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    check_view(view)
    assert view["title"]["text"] == "Audit 1/5 The task"
    seen = walk(
        bot_server,
        view,
        [
            {"complexity": "well-defined"},
            ZERO_DATA,
            {"metrics_h": "2", "evalset_h": "10", "pipeline_h": "5", "analysis_h": "5"},  # 22 h
            {"server_h": "5", "monitoring_h": "3", "maintenance_h": "3", "updates_h": "2", "incidents_h": "1"},
            {"rate": "$50/h", "runs": "5", "train": "$20"},
        ],
    )
    assert [v["title"]["text"] for v in seen] == [
        "Audit 1/5 The task",
        "Audit 2/5 Data work",
        "Audit 3/5 Evaluation",
        "Audit 4/5 Infra and ops",
        "Audit 5/5 Rate and runs",
    ]
    post = slack.wait_for(
        lambda: [c for c in slack.called("chat.postMessage") if "audit" in c["args"]["text"].lower()],
        what="the audit answer",
    )[0]["args"]
    check_blocks(post["blocks"])
    assert post["thread_ts"] == message_ts
    text = str(post["blocks"])
    # Base by hand: 5 runs x $20 + (60 + 22 + 8) h x $50 = $4,600; well-defined 2-3x.
    assert "Realistic one-time cost: $9,200 - $13,800" in text
    assert "x 2-3 for a well-defined task" in text
    assert "Maintenance at 6 h" not in text  # 6 h a month is within the 5-10 h budget
    # Re-run verdict: one-time $4,600 x 2.5 = $11,500 (from the default $76,750) and operations 6 h x $50 a month.
    assert "$76,750 → $11,500" in text
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 2, what="the iceberg")
    assert sum(data.startswith(b"\x89PNG") for data in slack.uploads) == 2
    assert [(a, c) for a, c, _ in audits(bot_server)] == [(analysis_id, "C1")]
    bot_server.command("history")
    history = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="history")[0]["args"]
    assert "Hidden-cost audits" in str(history["blocks"]) and "$9,200 - $13,800" in str(history["blocks"])


def test_invalid_answers_get_errors_per_field_and_nothing_is_stored(bot_server, slack):
    bot_server.command("audit")
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    view = submit(bot_server, view, 0)["view"]
    answer = submit(bot_server, view, 1, collect_h="-4")
    assert answer["response_action"] == "errors" and "negative" in answer["errors"]["collect_h"]
    answer = submit(bot_server, view, 2, clean_h="lots")
    assert "not a number" in answer["errors"]["clean_h"]
    for n in range(3):
        view = submit(bot_server, view, 3 + n)["view"]
    answer = submit(bot_server, view, 9, rate="0")
    assert answer["response_action"] == "errors" and "over 0" in answer["errors"]["rate"]
    assert audits(bot_server) == []


def test_back_goes_to_the_previous_step_with_views_update(bot_server, slack):
    bot_server.command("audit")
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    view = submit(bot_server, view, 0, complexity="novel")["view"]
    view = submit(bot_server, view, 1, collect_h="33")["view"]
    press(bot_server, "audit_back", "2", view=view)
    update = slack.wait_for(lambda: slack.called("views.update"), what="views.update")[0]["args"]
    check_view(update["view"])
    assert update["view_id"] == "VA" and update["view"]["title"]["text"] == "Audit 2/5 Data work"
    collect = next(b for b in update["view"]["blocks"] if b.get("block_id") == "collect_h")
    assert collect["element"]["initial_value"] == "33"  # the answer given is kept


def test_cancel_keeps_a_draft_that_audit_offers_to_resume(bot_server, slack):
    bot_server.command("audit")
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    view = submit(bot_server, view, 0, complexity="novel")["view"]
    view = submit(bot_server, view, 1, iterate_h="44")["view"]
    close(bot_server, view)
    bot_server.command("audit")
    offer = slack.wait_for(lambda: slack.called("chat.postEphemeral"), what="the resume offer")[0]["args"]
    check_blocks(offer["blocks"])
    assert "step 3 of 5" in offer["text"]
    press(bot_server, "audit_resume", "C1")
    resumed = (
        slack.wait_for(lambda: len(slack.called("views.open")) == 2, what="the resumed audit")
        and slack.called("views.open")[1]["args"]["view"]
    )
    assert resumed["title"]["text"] == "Audit 3/5 Evaluation"
    assert "iterate_h=44" in resumed["private_metadata"] and "complexity=novel" in resumed["private_metadata"]


def test_home_tab_starts_an_audit(bot_server, slack):
    bot_server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    home = slack.wait_for(lambda: slack.called("views.publish"), what="the Home tab")[0]["args"]
    assert home["user_id"] == "U1"
    check_blocks(home["view"]["blocks"], limit=100)
    buttons = [e for b in home["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    (button,) = [e for e in buttons if e["action_id"] == "audit_home"]
    bot_server.interaction(
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "trigger_id": "trig-home",
            "view": {"type": "home", "id": "VH"},
            "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}],
        }
    )
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    check_view(view)
    walk(bot_server, view, [{}, {}, {}, {}, {}])
    # Started from Home, the answer goes to the user's own DM channel.
    post = slack.wait_for(lambda: slack.called("chat.postMessage"), what="the audit answer")[0]["args"]
    assert post["channel"] == "U1"
    assert "Realistic one-time cost: $61,400 - $92,100" in str(post["blocks"])  # typical mid-range x 4-6


def _draft_offer(bot_server, slack):
    """What `/breakeven audit` answers now: the resume offer's text, or None when it opens a new audit."""
    before = len(slack.called("chat.postEphemeral"))
    bot_server.command("audit")
    bot_server.wait_idle()
    offers = slack.called("chat.postEphemeral")[before:]
    return offers[0]["args"]["text"] if offers else None


def test_closing_the_modal_alone_keeps_a_draft(bot_server, slack):
    """Only the close handler saves here: no step was submitted in this test."""
    from bot.audit_flow import AuditState, audit_view

    state = AuditState(step=2, answers="complexity=novel iterate_h=44", channel="C1")
    close(bot_server, audit_view(state))
    assert "step 3 of 5" in (_draft_offer(bot_server, slack) or "")


def test_each_step_submitted_keeps_a_draft_even_if_the_modal_is_never_closed(bot_server, slack):
    """Only the step handler saves here: the modal is never closed (a browser that crashed)."""
    bot_server.command("audit")
    bot_server.wait_idle()
    view = slack.called("views.open")[0]["args"]["view"]
    view = submit(bot_server, view, 0, complexity="novel")["view"]
    view = submit(bot_server, view, 1, iterate_h="44")["view"]
    offer = _draft_offer(bot_server, slack)
    assert offer is not None and "step 3 of 5" in offer


def _finished_audit(bot_server, slack):
    """An audit from a verdict, walked to its answer and iceberg chart; the id of its job."""
    _, analysis_id, message_ts = _verdict(bot_server, slack)
    click(bot_server, "audit_start", analysis_id, trigger="trig-audit", message_ts=message_ts)
    view = slack.wait_for(lambda: slack.called("views.open"), what="the audit")[0]["args"]["view"]
    walk(bot_server, view, [{"complexity": "well-defined"}, ZERO_DATA, {}, {}, {"rate": "$50/h"}])
    slack.wait_for(lambda: len(slack.called("files.completeUploadExternal")) == 2, what="the iceberg")
    bot_server.wait_idle()
    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT id FROM jobs WHERE kind = 'audit_finish'").fetchone()[0]


def _crash_before_the_finish_was_recorded(bot_server, job_id):
    """What a process killed after the audit was posted leaves: its job running, no chart recorded."""
    import socket

    with sqlite3.connect(bot_server.bot.store.path) as db:
        db.execute(
            "UPDATE jobs SET status = 'running', owner = ?, chart = NULL WHERE id = ?",
            [f"{socket.gethostname()}:999999999:dead", job_id],
        )


def test_an_audit_resumed_after_sharing_its_chart_does_not_share_it_again(bot_server, slack):
    job_id = _finished_audit(bot_server, slack)
    _crash_before_the_finish_was_recorded(bot_server, job_id)
    assert bot_server.bot.resume() == 1
    bot_server.wait_idle()
    assert len(slack.called("files.completeUploadExternal")) == 2  # the iceberg was found in the thread
    assert len([c for c in slack.called("chat.postMessage") if "audit" in c["args"]["text"].lower()]) == 1
    assert bot_server.bot.store.jobs.get(job_id).chart


def test_an_audit_resumed_before_sharing_its_chart_shares_it(bot_server, slack):
    job_id = _finished_audit(bot_server, slack)
    _crash_before_the_finish_was_recorded(bot_server, job_id)
    for messages in slack.messages.values():  # the crash came before the upload: no file in the thread
        messages[:] = [m for m in messages if not any(f["name"].startswith("audit-") for f in m.get("files", []))]
    assert bot_server.bot.resume() == 1
    bot_server.wait_idle()
    assert len(slack.called("files.completeUploadExternal")) == 3  # the iceberg, attached this time
    assert len([c for c in slack.called("chat.postMessage") if "audit" in c["args"]["text"].lower()]) == 1
