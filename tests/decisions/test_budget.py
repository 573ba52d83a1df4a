"""Budgets and alerts: `/breakeven budget`, the daily check posting each threshold's alert once a month
(across a restart and a double firing, with real processes), Acknowledge clearing it from the App Home
and the weekly summary."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.budget import Budget, budgets, label, open_alerts, parse_budget, run_check, set_budget
from bot.spend import save_spend
from bot.store import Store
from bot.weekly import run_weekly
from costcore.grammar import GrammarError
from costcore.spend import SpendRow
from tests.slack.blockkit import check_blocks, check_view
from tests.slack.conftest import bot_env, free_port
from tests.slack.test_durability import start_bot, stop_bot
from tests.slack.test_operations import get, sample

from .conftest import sections

NOW = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC)  # after the 09:00 UTC check; Nov 1-23 are complete


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("", {"action": "list", "model": ""}),
        ("$5,000/month", {"action": "set", "amount": 5000, "model": "", "thresholds": (0.5, 0.8, 1.0)}),
        ("$60k/year model=gpt-4o", {"action": "set", "amount": 5000, "model": "gpt-4o", "thresholds": (0.5, 0.8, 1.0)}),
        ("5000 a month at=90%,50%", {"action": "set", "amount": 5000, "model": "", "thresholds": (0.5, 0.9)}),
        ("off model=gpt-4o", {"action": "off", "model": "gpt-4o"}),
    ],
)
def test_the_budget_grammar(text, wanted):
    assert parse_budget(text) == wanted


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("five thousand", "budget", "is not a number"),
        ("$5,000 tokens", "budget", "counts tokens, but this key is an amount of dollars"),
        ("$0/month", "budget", "is not an amount between $0 and $1,000,000,000 a month"),
        ("$2B/month", "budget", "is not an amount between"),
        ("-5000", "budget", "is negative"),
        ("1e400", "budget", "too large to be a real figure"),
        ("$5,000/m", "budget", "'/m' is ambiguous"),
        ("$5,000 limit=3", "limit", "unknown; a budget takes model= and at="),
        ("$5,000 at=150%", "at", "is over 100%"),
        ("$5,000 at=$5", "at", "has a money sign"),
        ("model=gpt-4o at=50%", "budget", "give the amount a month first"),
    ],
)
def test_a_wrong_budget_names_what_is_wrong_with_an_example(text, key, words):
    with pytest.raises(GrammarError) as caught:
        parse_budget(text)
    assert caught.value.key == key and words in caught.value.problem, caught.value.problem
    assert "budget $5,000/month" in caught.value.example


def test_budget_in_slack_sets_lists_and_removes(server, slack):
    for text in ("budget $5,000/month model=gpt-4o", "budget", "budget off model=gpt-4o", "budget a lot"):
        server.command(text, channel="C9")
        server.wait_idle()  # one after the other: the fast lane runs commands side by side
    texts = [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert texts[0].startswith(
        "Budget set for <#C9>: $5,000 a month of gpt-4o spend. Alerts here at 50%, 80%, 100% of it and when the "
        "month's forecast is over it, each once a month, checked every day at 09:00 UTC."
    )
    assert "No spend of `gpt-4o` is recorded yet" in texts[0]
    assert texts[1].startswith("*Budgets in <#C9>*\n• gpt-4o spend: budget $5,000 a month, alerts at 50%, 80%, 100%")
    assert texts[2] == "The gpt-4o spend budget of <#C9> is removed."
    assert "`budget`: 'a lot' is not a number" in texts[3]
    assert open_alerts(server.bot.store, "T1") == [] and server.bot.store.db["budgets"].count == 0


def rising(store, team="T1", last=dt.date(2026, 11, 23)):
    """$50 on Oct 27, a dollar more each day: $1,518 spent Nov 1-23, forecast $2,085 for November."""
    first = dt.date(2026, 10, 27)
    save_spend(
        store,
        team,
        [
            SpendRow(day=first + dt.timedelta(days=i), provider="openai", model="gpt-4o", cost=50.0 + i)
            for i in range((last - first).days + 1)
        ],
    )


def alerts(slack, channel="C9") -> list[str]:
    return [sections(c) for c in slack.called("chat.postMessage") if c["args"]["channel"] == channel]


def test_each_threshold_alerts_once_a_month_and_only_the_highest_of_those_crossed_together(server, slack):
    store, client = server.bot.store, server.bot.client_for
    rising(store)
    set_budget(store, Budget("T1", "C9", "", 2000.0, (0.5, 0.8, 1.0), "U1"))
    fired = run_check(client, store, server.bot.settings, NOW)
    assert [(f.threshold, f.status) for f in fired] == [("50%", "fired"), ("forecast", "fired")]
    posted = alerts(slack)
    assert posted[0].startswith(
        ":rotating_light: *Budget alert*: LLM API spend reached 50% of its $2,000 budget for November: $1,518 spent "
        "November 1-23. $1,518 of $2,000 (76%): at the forecast the budget runs out on Nov 29. Month-end forecast "
        "$2,085: $1,518 spent Nov 1-23, and 7 more days at $77.00 a day rising $1.00 a day"
    )
    assert posted[1].startswith(
        ":chart_with_upwards_trend: *Budget forecast*: LLM API spend is on course for $2,085 in November, over its "
        "$2,000 budget"
    )
    for call in slack.called("chat.postMessage"):
        check_blocks(call["args"]["blocks"])
        assert "Acknowledge" in json.dumps(call["args"]["blocks"])
    # The check again, the same day or the next: nothing new to say.
    assert [f.status for f in run_check(client, store, server.bot.settings, NOW)] == ["skipped", "skipped"]
    # Nov 24 and 25 spent $300 each: $2,118 by Nov 25. 80% and 100% are crossed at once: 100% alerts, 80% is
    # covered by it and never posted; the forecast's alert has nothing left to forecast (posted already anyway).
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, d), provider="openai", model="gpt-4o", cost=300)
                             for d in (24, 25)])  # fmt: skip
    later = run_check(client, store, server.bot.settings, NOW + dt.timedelta(days=2))
    assert [(f.threshold, f.status) for f in later] == [("100%", "fired")]
    assert len(alerts(slack)) == 3
    with closing(sqlite3.connect(store.path)) as db:
        rows = db.execute("SELECT threshold, status FROM budget_alerts ORDER BY id").fetchall()
    assert rows == [("50%", "posted"), ("forecast", "posted"), ("80%", "covered"), ("100%", "posted")]
    # The budget raised to $2,500 after its 100% alert: its own thresholds alert ($2,118 is 85% of it, and the
    # month's forecast is over it too), once.
    set_budget(store, Budget("T1", "C9", "", 2500.0, (0.5, 0.8, 1.0), "U1"))
    raised = run_check(client, store, server.bot.settings, NOW + dt.timedelta(days=2))
    assert [(f.threshold, f.status) for f in raised] == [("80%", "fired"), ("forecast", "fired")]
    assert "reached 80% of its $2,500 budget" in alerts(slack)[-2]
    again = run_check(client, store, server.bot.settings, NOW + dt.timedelta(days=2))
    assert [f.status for f in again] == ["skipped", "skipped"]
    # December is a new month: its thresholds alert again (none crossed yet on Dec 2).
    assert run_check(client, store, server.bot.settings, dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)) == []


def test_a_failed_post_is_tried_again_at_the_next_check_and_a_models_budget_counts_that_model(server, slack):
    store, client = server.bot.store, server.bot.client_for
    rising(store)
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, 20), provider="openai", model="gpt-4o-mini", cost=5000)])
    set_budget(store, Budget("T1", "C9", "gpt-4o", 2500.0, (0.5,), "U1"))  # gpt-4o alone: $1,518 of $2,500
    slack.refusing["C9"] = "not_in_channel"
    assert [f.status for f in run_check(client, store, server.bot.settings, NOW)] == ["failed"]
    del slack.refusing["C9"]
    assert [f.status for f in run_check(client, store, server.bot.settings, NOW)] == ["fired"]
    (text,) = alerts(slack)
    assert "gpt-4o spend reached 50% of its $2,500 budget for November: $1,518 spent" in text


def click_acknowledge(server, alert_id: int, channel: str | None = "C9", user: str = "U1", action="budget_alert_ack"):
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user},
        "trigger_id": f"trig-ack-{alert_id}-{user}-{channel}",
        "actions": [{"action_id": action, "value": str(alert_id), "type": "button"}],
    }
    if channel:
        payload |= {"channel": {"id": channel}, "container": {"type": "message", "channel_id": channel}}
    else:
        payload |= {"view": {"type": "home", "id": "VH"}, "container": {"type": "view", "view_id": "VH"}}
    assert server.interaction(payload)[0] == 200
    server.wait_idle()


def home_of(slack, user="U1") -> dict:
    return [c for c in slack.called("views.publish") if c["args"]["user_id"] == user][-1]["args"]["view"]


def test_acknowledge_clears_the_alert_from_the_app_home_and_the_summary(server, slack):
    store, client = server.bot.store, server.bot.client_for
    slack.members["C9"] = ["U1", "U2"]
    rising(store)
    set_budget(store, Budget("T1", "C9", "", 2000.0, (0.5, 0.8, 1.0), "U1"))
    run_check(client, store, server.bot.settings, NOW)
    first, forecast = open_alerts(store, "T1")[::-1]
    assert slack.called("chat.postMessage")[0]["args"]["text"] == (
        "Budget alert: LLM API spend reached 50% of its $2,000 budget for November"
    )
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    server.wait_idle()
    home = home_of(slack)
    check_view(home)
    assert "*Open alerts* (2)" in json.dumps(home)
    run_weekly(client, store, server.bot.settings, "T1", "C9", now=NOW)
    summary = slack.called("chat.postMessage")[-1]["args"]
    check_blocks(summary["blocks"])
    assert "*Open budget alerts* (2, until acknowledged)" in sections(slack.called("chat.postMessage")[-1])

    click_acknowledge(server, first.id)  # in the channel, on the alert
    (update,) = slack.called("chat.update")
    assert update["args"]["ts"] == first.ts and update["args"]["channel"] == "C9"
    assert "Acknowledged by <@U1>" in update["args"]["text"] and "budget_alert_ack" not in json.dumps(update["args"])
    home = home_of(slack)  # published again for the one who clicked
    assert "*Open alerts* (1)" in json.dumps(home) and f'"value": "{forecast.id}"' in json.dumps(home)
    # The forecast's, from its button in the weekly summary (one of a row: its action id is numbered).
    (button,) = [e for b in summary["blocks"] if b.get("block_id") == "open_alerts" for e in b["elements"]
                 if e["value"] == str(forecast.id)]  # fmt: skip
    click_acknowledge(server, forecast.id, action=button["action_id"])
    assert "*Open alerts*: none." in json.dumps(home_of(slack))
    click_acknowledge(server, first.id, user="U2")  # a second click, by someone else
    told = slack.called("chat.postEphemeral")[-1]["args"]
    assert told["user"] == "U2" and "That alert was acknowledged already: Acknowledged by <@U1>" in told["text"]
    published = len(slack.called("views.publish"))
    click_acknowledge(server, first.id, channel=None, user="U2")  # from a Home tab that had not been refreshed
    assert len(slack.called("views.publish")) == published + 1 and "Open alerts*: none" in json.dumps(
        home_of(slack, "U2")
    )
    assert len(slack.called("chat.update")) == 2

    run_weekly(client, store, server.bot.settings, "T1", "C9", now=NOW + dt.timedelta(days=7))
    assert "Open budget alerts" not in sections(slack.called("chat.postMessage")[-1])


# --- real processes: the bot's scheduled check across a restart, two `breakeven check` at once --------


def a_budget_over(db_path, team="T1", channel="C9"):
    """This month (up to yesterday) spent $100 a day against a budget of 90% of it: 100% is crossed."""
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = yesterday.replace(day=1)
    store = Store(db_path)
    days = (yesterday - first).days + 1
    save_spend(store, team, [SpendRow(day=first + dt.timedelta(days=i), provider="openai", model="gpt-4o", cost=100)
                             for i in range(days)])  # fmt: skip
    set_budget(store, Budget(team, channel, "", 90.0 * days, (0.5, 0.8, 1.0), "U1"))


def test_the_real_bot_posts_each_alert_once_across_a_restart(slack, tmp_path):
    db_path = tmp_path / "alerts.db"
    a_budget_over(db_path)
    port = free_port()
    env = bot_env(slack.url, PORT=str(port), BREAKEVEN_DB=str(db_path), DAILY_CHECK="00:00 UTC")
    for outcome in ("fired", "skipped"):  # the start-up's check, then the next start's
        bot = start_bot(env, port, tmp_path)
        try:
            slack.wait_for(
                lambda o=outcome: sample(get(f"http://127.0.0.1:{port}/metrics")[1], "breakeven_budget_alerts_total",
                                         outcome=o) >= 1,
                what=f"an alert counted {outcome}",
            )  # fmt: skip
        finally:
            stop_bot(bot)
    (posted,) = [c for c in slack.called("chat.postMessage") if c["args"]["channel"] == "C9"]
    assert "reached 100% of its" in sections(posted)
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT threshold, status FROM budget_alerts ORDER BY threshold").fetchall() == [
            ("100%", "posted"),
            ("50%", "covered"),
            ("80%", "covered"),
            ("forecast", "covered"),  # spent already: nothing left to forecast
        ]


def check_process(slack, db_path, tmp_path) -> subprocess.Popen:
    env = bot_env(slack.url, BREAKEVEN_DB=str(db_path))
    return subprocess.Popen(
        [sys.executable, "-m", "breakeven", "check", "--team", "T1"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_checks_fired_at_once_post_each_alert_once(slack, tmp_path):
    db_path = tmp_path / "twice.db"
    a_budget_over(db_path)
    release = slack.hold("chat.postMessage")  # the first check is mid-post when the second one runs
    try:
        first = check_process(slack, db_path, tmp_path)
        slack.wait_for(lambda: slack.called("chat.postMessage"), timeout=60, what="the first check posting")
        second = check_process(slack, db_path, tmp_path)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        assert out.strip() == "C9 LLM API spend 100%: skipped"
    finally:
        slack.release()
        release.set()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert out.strip() == "C9 LLM API spend 100%: fired"
    again = check_process(slack, db_path, tmp_path)  # and once more, later
    assert again.communicate(timeout=60)[0].strip() == "C9 LLM API spend 100%: skipped"
    assert len(slack.called("chat.postMessage")) == 1


def test_an_alert_slack_posted_without_answering_is_found_not_posted_again(server, slack):
    store, client = server.bot.store, server.bot.client_for
    rising(store)
    set_budget(store, Budget("T1", "C9", "", 1000.0, (1.0,), "U1"))  # $1,518 spent: 100%, nothing to forecast
    slack.drop("chat.postMessage")  # carried out, then the connection closes without an answer
    assert [(f.threshold, f.status) for f in run_check(client, store, server.bot.settings, NOW)] == [("100%", "fired")]
    (posted,) = slack.messages["C9"]
    (alert,) = open_alerts(store, "T1")
    assert alert.ts == posted["ts"]  # found by the key its metadata carries, and recorded
    assert [f.status for f in run_check(client, store, server.bot.settings, NOW)] == ["skipped"]
    assert len(slack.messages["C9"]) == 1


# --- thresholds: every one its own alert, read as it was typed ------------------------------------------


@given(st.lists(st.integers(min_value=1, max_value=100_000), min_size=1, max_size=10))
def test_every_accepted_threshold_set_has_labels_that_are_distinct_and_not_zero(thousandths):
    """Alerts are keyed by their label: two thresholds with one label would share one alert (the due one
    found 'posted' under the other's row); a threshold reading '0%' would say nothing true."""
    text = "$1,000/month at=" + ",".join(f"{t / 1000:g}%" for t in thousandths)
    try:
        thresholds = parse_budget(text)["thresholds"]
    except GrammarError as exc:  # refused: it names the key and what to write
        assert exc.key == "at" and "at=" in exc.example, exc
        return
    labels = [label(t) for t in thresholds]
    assert len(set(labels)) == len(labels) and "0%" not in labels, labels
    for t, shown in zip(thresholds, labels, strict=True):  # the label is the threshold as typed
        assert float(shown.rstrip("%")) == pytest.approx(t * 100, abs=0.005 + 1e-9)


@pytest.mark.parametrize(
    "text, words",
    [
        ("$1,000/month at=0.004%", "rounds to 0%"),
        ("$1,000/month at=50.001%,50.002%", "both read 50%"),
    ],
)
def test_thresholds_that_cannot_be_told_apart_are_refused(text, words):
    with pytest.raises(GrammarError) as caught:
        parse_budget(text)
    assert caught.value.key == "at" and words in caught.value.problem, caught.value.problem


def test_a_threshold_just_under_another_alerts_on_its_own(server, slack):
    """`budget $1,000/month at=99.5%,100%` with $1,080 spent: the 100% alert posts (99.5% is covered by it);
    both used to read '100%', the covered one took the row and the due one was skipped: nothing posted."""
    store, client = server.bot.store, server.bot.client_for
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, 2), provider="openai", model="gpt-4o", cost=1080)])
    server.command("budget $1,000/month at=99.5%,100%", channel="C9")
    server.wait_idle()
    assert "Alerts here at 99.5%, 100% of it" in slack.called("chat.postEphemeral")[-1]["args"]["text"]
    fired = run_check(client, store, server.bot.settings, NOW)
    assert [(f.threshold, f.status) for f in fired] == [("100%", "fired")]
    (text,) = alerts(slack)
    assert "reached 100% of its $1,000 budget" in text
    server.command("budget $100,000/month at=0.4%", channel="C8")
    server.wait_idle()
    assert "Alerts here at 0.4% of it" in slack.called("chat.postEphemeral")[-1]["args"]["text"]


# --- a budget's model: one spend, one budget ------------------------------------------------------------


@pytest.mark.parametrize("typed", ["GPT-4o", "gpt-4o", " Gpt-4O"])
def test_a_model_is_one_budget_whatever_its_case(typed):
    assert parse_budget(f"$5,000/month model={typed}")["model"] == "gpt-4o"


@pytest.mark.parametrize(
    "text, key",
    [
        ("$5,000/month model=gpt-4o model=gpt-4o-mini", "model"),
        ("$5,000/month at=50% at=90%", "at"),
        ("off model=gpt-4o model=claude", "model"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it(text, key):
    with pytest.raises(GrammarError) as caught:
        parse_budget(text)
    assert caught.value.key == key and "given twice" in caught.value.problem, caught.value.problem


def test_two_spellings_of_a_model_set_one_budget_in_slack(server, slack):
    for text in ("budget $5,000/month model=gpt-4o", "budget $6,000/month model=GPT-4o"):
        server.command(text, channel="C9")
        server.wait_idle()
    assert slack.called("chat.postEphemeral")[-1]["args"]["text"].startswith("Budget replaced for <#C9>: $6,000")
    assert [(b.model, b.amount) for b in budgets(server.bot.store, "T1")] == [("gpt-4o", 6000.0)]


# --- an alert the bot cannot post is never silent -----------------------------------------------------


@pytest.mark.parametrize(
    "refused, info",
    [
        ("channel_not_found", {"error": "channel_not_found"}),  # a private channel the bot is not in
        ("not_in_channel", {"channel": {"id": "C9", "is_channel": True, "is_member": False}}),  # a public one
    ],
)
def test_a_budget_in_a_channel_the_bot_cannot_post_in_says_so_and_its_failed_alerts_wait_in_the_app_home(
    server, slack, refused, info
):
    store = server.bot.store
    slack.refusing["C9"] = refused
    if "error" in info:
        slack.errors["conversations.info"] = info["error"]
    else:
        slack.answers["conversations.info"] = info
    slack.members["C9"] = ["U1"]
    server.command("budget $1,000/month", channel="C9")
    server.wait_idle()
    (answer,) = [r for r in slack.responses if r["path"].endswith("C9-U1")]  # through the response_url
    assert answer["text"].startswith("Budget set for <#C9>")
    assert (
        "I cannot post in <#C9>, and the alerts post there: invite me with `/invite @breakeven`, or they wait "
        "in the App Home" in answer["text"]
    )
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, 2), provider="openai", model="gpt-4o", cost=1080)])
    assert [f.status for f in run_check(server.bot.client_for, store, server.bot.settings, NOW)] == ["failed"]
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    server.wait_idle()
    home = home_of(slack)
    check_view(home)
    shown = json.dumps(home)
    assert "*Alerts not posted* (1)" in shown
    assert (
        f"<#C9> 2026-11: LLM API spend reached 100% of its $1,000 budget, not posted ({refused}): invite me "
        "with `/invite @breakeven`; the next daily check posts it" in shown
    )
    del slack.refusing["C9"]  # invited
    assert [f.status for f in run_check(server.bot.client_for, store, server.bot.settings, NOW)] == ["fired"]
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    server.wait_idle()
    assert "Alerts not posted" not in json.dumps(home_of(slack)) and "*Open alerts* (1)" in json.dumps(home_of(slack))


def test_a_budget_in_a_channel_the_bot_is_in_has_no_warning(server, slack):
    slack.answers["conversations.info"] = {"channel": {"id": "C9", "is_channel": True, "is_member": True}}
    server.command("budget $1,000/month", channel="C9")
    server.wait_idle()
    assert "invite me" not in slack.called("chat.postEphemeral")[-1]["args"]["text"]


# --- `breakeven check`: its exit status and its dry run -------------------------------------------------


def test_check_exits_1_when_an_alert_was_not_posted_and_its_dry_run_names_the_alerts_due(slack, tmp_path):
    db_path = tmp_path / "check.db"
    a_budget_over(db_path)  # 100% crossed this month
    env = bot_env(slack.url, BREAKEVEN_DB=str(db_path))

    def check(*more):
        return subprocess.run([sys.executable, "-m", "breakeven", "check", "--team", "T1", *more], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)  # fmt: skip

    dry = check("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "C9: due now: 100% (50%, 80%, forecast passed over: the highest alerts alone)" in dry.stdout, dry.stdout
    slack.refusing["C9"] = "channel_not_found"
    failed = check()
    assert failed.returncode == 1, failed.stderr
    assert failed.stdout.strip() == "C9 LLM API spend 100%: failed (channel_not_found)"
    assert "1 alert not posted" in failed.stderr and "/invite @breakeven" in failed.stderr
    assert "C9: due now: 100% (not posted before: channel_not_found)" in check("--dry-run").stdout
    del slack.refusing["C9"]
    posted = check()
    assert (posted.returncode, posted.stdout.strip()) == (0, "C9 LLM API spend 100%: fired")
    assert "C9: due now: none (posted: 100%)" in check("--dry-run").stdout
    assert not [c for c in slack.called("chat.postMessage") if c["args"]["channel"] != "C9"]


def test_an_alert_that_could_not_be_posted_can_be_dismissed_from_the_app_home(server, slack):
    store = server.bot.store
    slack.refusing["C9"] = "channel_not_found"
    slack.members["C9"] = ["U1"]
    set_budget(store, Budget("T1", "C9", "", 1000.0, (1.0,), "U1"))
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, 2), provider="openai", model="gpt-4o", cost=1080)])
    assert [f.status for f in run_check(server.bot.client_for, store, server.bot.settings, NOW)] == ["failed"]
    server.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    server.wait_idle()
    (dismiss,) = [b["accessory"] for b in home_of(slack)["blocks"] if b.get("accessory", {}).get("text", {}).get(
        "text") == "Dismiss"]  # fmt: skip
    click_acknowledge(server, int(dismiss["value"]), channel=None)
    assert "Alerts not posted" not in json.dumps(home_of(slack))  # published again, without it
    del slack.refusing["C9"]
    assert [f.status for f in run_check(server.bot.client_for, store, server.bot.settings, NOW)] == ["skipped"]
    assert alerts(slack) == []  # dismissed: not posted later either
