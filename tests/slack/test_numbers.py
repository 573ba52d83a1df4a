"""Every number from Slack goes through the grammar and the same bounds: a huge or impossible number
is a clear error naming its field, nothing is stored, and no draft is broken."""

import json
import sqlite3

import pytest

from .test_audit import close, press, submit
from .test_form_and_buttons import open_form, state_from, submission


def refused(message: str) -> bool:
    """The grammar's range or the bot's bound, whichever speaks first: either says what is allowed."""
    return "too large" in message or "100,000" in message


def stored(bot_server):
    with sqlite3.connect(bot_server.bot.store.path) as db:
        return {
            "analyses": db.execute("SELECT count(*) FROM analyses").fetchone()[0],
            "spend": db.execute("SELECT count(*) FROM spend").fetchone()[0],
            "failed jobs": db.execute("SELECT count(*) FROM jobs WHERE status = 'failed'").fetchone()[0],
        }


@pytest.mark.parametrize(
    "text, words",
    [
        ("volume=1e309 api=gpt-4o", "`volume`: '1e309' is too large"),
        ("volume=2M api=gpt-4o rate=1e308", "`rate`: '1e308' is too large"),
        ("volume=2M api=gpt-4o server=$1e400", "`server`: '$1e400' is too large"),
        ("spend add $1e309 openai gpt-4o", "`amount`: '$1e309' is too large"),
        ("spend add $inf openai gpt-4o", "`amount`: '$inf' is not a number"),
        ("spend add $5 openai gpt-4o requests=1e400", "`requests`: '1e400' is too large"),
        ("spend add $5 openai gpt-4o requests=1.5", "`requests`: '1.5' is not a whole number of requests"),
        ("spend add $-5 openai gpt-4o", "`amount`: '$-5' is negative"),
        ("spend add -$5 openai gpt-4o", "`amount`: '-$5' is negative"),
    ],
)
def test_a_huge_or_impossible_number_is_an_error_naming_its_field(bot_server, slack, text, words):
    bot_server.command(text)
    bot_server.wait_idle()
    (reply,) = slack.called("chat.postEphemeral")
    assert words in reply["args"]["text"], reply["args"]["text"]
    assert stored(bot_server) == {"analyses": 0, "spend": 0, "failed jobs": 0}
    assert slack.called("chat.postMessage") == []


def test_the_form_refuses_a_huge_volume_under_its_field(bot_server, slack):
    view = open_form(bot_server, slack)
    status, body = bot_server.interaction(submission(view, state_from(view, volume="1e309")))
    assert json.loads(body)["errors"].keys() == {"volume"}
    assert "too large" in json.loads(body)["errors"]["volume"]
    bot_server.wait_idle()
    assert stored(bot_server)["analyses"] == 0


def test_a_huge_audit_answer_is_refused_and_the_draft_still_resumes(bot_server, slack):
    bot_server.command("audit")
    bot_server.wait_idle()
    view = slack.called("views.open")[0]["args"]["view"]
    view = submit(bot_server, view, 0, complexity="novel")["view"]
    for n, huge in enumerate(("1e309", "5e5")):
        answer = submit(bot_server, view, 1 + n, collect_h=huge)
        assert answer["response_action"] == "errors" and refused(answer["errors"]["collect_h"])
    view = submit(bot_server, view, 3, collect_h="33")["view"]
    answer = submit(bot_server, view, 4, metrics_h="1e309")
    assert refused(answer["errors"]["metrics_h"])
    close(bot_server, view)
    bot_server.command("audit")
    bot_server.wait_idle()
    assert "step 3 of 5" in slack.called("chat.postEphemeral")[-1]["args"]["text"]
    press(bot_server, "audit_resume", "C1")
    bot_server.wait_idle()
    resumed = slack.called("views.open")[-1]["args"]["view"]
    assert resumed["title"]["text"] == "Audit 3/5 Evaluation" and "collect_h=33" in resumed["private_metadata"]


def test_a_csv_with_a_huge_number_names_its_line_and_imports_nothing(tmp_path):
    from bot.spend import import_csv, load_spend
    from bot.store import Store
    from costcore.spend import SpendCsvError

    store = Store(tmp_path / "b.db")
    for cost, requests, column in (("1e309", "1", "cost"), ("2e9", "1", "cost"), ("5", "1e400", "requests")):
        path = tmp_path / "spend.csv"
        path.write_text(
            "day,provider,model,cost,requests\n2026-11-16,openai,gpt-4o,1,1\n"
            f"2026-11-17,openai,gpt-4o,{cost},{requests}\n"
        )
        with pytest.raises(SpendCsvError) as caught:
            import_csv(store, "T1", path)
        assert caught.value.line == 3 and caught.value.column == column, str(caught.value)
    assert load_spend(store, "T1", "2026-01-01") == []
