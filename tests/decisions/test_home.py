"""The App Home over HTTP: the user's channels' latest decisions with verdict and age, spend this month
against budget with a bar, open alerts with Acknowledge, New analysis and Start audit; within Block
Kit's limits however much there is; each workspace's Home published with its own token."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

from bot.budget import Budget, run_check, set_budget
from bot.home import home_view
from bot.spend import save_spend
from costcore.format import money
from costcore.spend import SpendRow
from tests.slack.blockkit import check_view
from tests.slack.test_durability import wait_until_idle
from tests.slack.test_workspaces import OAUTH, answers, command, event, install, oauth_bot  # noqa: F401

from .conftest import STAYS, analyse


def open_home(server, user="U1"):
    server.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    server.wait_idle()
    return [c for c in server.slack.called("views.publish") if c["args"]["user_id"] == user][-1]["args"]["view"]


def texts(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")


def test_the_home_tab_shows_the_users_channels_decisions_budget_and_alerts(server, slack):
    slack.members.update({"C9": ["U1"], "C8": ["U1", "U2"], "C7": ["U2"]})
    analyse(server, "volume=5M/month in=1000 out=100 api=gpt-4o gpu=a10g", channel="C9")
    latest = analyse(server, STAYS, channel="C9")
    in_c8 = analyse(server, "volume=5M/month in=1000 out=100 api=gpt-4o gpu=a10g", channel="C8")
    analyse(server, STAYS, channel="C7")  # not a channel of U1's
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = yesterday.replace(day=1)
    days = (yesterday - first).days + 1
    save_spend(server.bot.store, "T1", [SpendRow(day=first + dt.timedelta(days=i), provider="openai", model="gpt-4o",
                                                 cost=100) for i in range(days)])  # fmt: skip
    set_budget(server.bot.store, Budget("T1", "C9", "", 200.0 * days, (0.5, 0.8, 1.0), "U1"))  # spent: 50%
    fired = [f for f in run_check(server.bot.client_for, server.bot.store, server.bot.settings) if f.status == "fired"]

    view = open_home(server)
    check_view(view)
    shown = texts(view)
    assert f"<#C9> *#{latest} RENT*, today:" in shown and f"<#C8> *#{in_c8} BUY*, today:" in shown
    assert "<#C7>" not in shown
    assert shown.index(f"#{in_c8} BUY") < shown.index(f"#{latest} RENT")  # the newest decision first
    assert f"<#C9> LLM API spend: {money(100 * days)} of {money(200 * days)} (50%)\n`█████░░░░░`" in shown
    assert f"*Open alerts* ({len(fired)})" in shown and "reached 50% of its" in shown  # and the forecast's, if over
    buttons = [
        e for b in view["blocks"] for e in ([b.get("accessory")] if b.get("accessory") else b.get("elements", []))
    ]
    assert {(b["action_id"], b["text"]["text"]) for b in buttons if b.get("type") == "button"} == {
        ("budget_alert_ack", "Acknowledge"),
        ("home_new_analysis", "New analysis"),
        ("audit_home", "Start audit"),
    }


def test_a_crowded_home_stays_within_block_kits_limits(server, slack):
    store = server.bot.store
    channels = [f"C{n:04d}" for n in range(40)]
    for n, channel in enumerate(channels):
        analysis_id, _ = store.claim_analysis(
            delivery=f"d{n}", team="T1", channel=channel, user="U1", kind="command", text="volume=1M",
            scenario={}, report={"verdict": "RENT", "headline": "Rent: " + "<!channel> " * 400},
        )  # fmt: skip
        store.set_message_ts(analysis_id, f"{n}.1")
        set_budget(store, Budget("T1", channel, "", 10.0, (0.5,), "U1"))
    save_spend(store, "T1", [SpendRow(day=dt.date(2026, 11, 2), provider="openai", model="gpt-4o", cost=1000)])
    run_check(server.bot.client_for, store, server.bot.settings, dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC))
    view = home_view(store, "T1", channels, has_draft=False)
    check_view(view)
    assert len(view["blocks"]) <= 100
    words = json.dumps(view)
    assert "and 30 more open alerts" in words and "and 30 more budgets" in words
    assert "and 25 more channels with decisions" in words


def test_new_analysis_opens_the_form_answering_in_the_users_conversation(server, slack):
    """The decision is saved in the app's direct-message channel with the user (conversations.open), not under
    the user's id: the Home lists it, `/breakeven show` in that conversation finds it, re-checks see it."""
    from tests.slack.test_form_and_buttons import state_from, submission

    open_home(server)
    status, _ = server.interaction(
        {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "trigger_id": "trig-new",
            "view": {"type": "home", "id": "VH"},
            "actions": [{"action_id": "home_new_analysis", "value": "new", "type": "button"}],
        }
    )
    assert status == 200
    server.wait_idle()
    (opened,) = slack.called("views.open")
    check_view(opened["args"]["view"])
    view = opened["args"]["view"]
    assert json.loads(view["private_metadata"])["channel"] == "DU1"
    state = state_from(view, volume="2M/month", **{"in": "1500", "out": "200"}, api="gpt-4o", gpu="a10g")
    assert server.interaction(submission(view, state))[0] == 200
    server.wait_idle()
    ((saved, channel),) = server.bot.store.db.execute("SELECT id, channel FROM analyses").fetchall()
    assert channel == "DU1"
    assert f"Direct messages *#{saved} BUY*, today" in texts(open_home(server))
    server.command(f"show {saved}", channel="DU1")
    server.wait_idle()
    assert not [c for c in slack.called("chat.postEphemeral") if "There is no analysis" in c["args"]["text"]]
    assert any(c["args"]["channel"] == "DU1" for c in slack.called("chat.postMessage")[1:])


def test_without_users_conversations_the_home_lists_the_channels_the_user_asked_in(server, slack):
    slack.errors["users.conversations"] = "missing_scope"
    mine = analyse(server, STAYS, channel="C9")
    theirs = analyse(server, STAYS, channel="C8", user="U2")
    shown = texts(open_home(server))
    assert f"#{mine} RENT" in shown and f"#{theirs}" not in shown


def test_each_workspaces_home_and_alerts_use_its_own_token(oauth_bot, slack, tmp_path):  # noqa: F811
    port, db_path, bot = oauth_bot
    for team in ("TA", "TB"):
        assert install(port, slack, team)[0] == 200
    slack.members["C1"] = ["U1"]
    assert command(port, slack, "TA", "ta-budget", "budget $100/month") == 200
    assert event(port, "TA", {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}) == 200
    wait_until_idle(db_path, bot)
    (home,) = answers(slack, "views.publish", "TA")[-1:]
    assert "LLM API spend: $0.00 of $100.00 (0%)" in json.dumps(home)
    assert not answers(slack, "views.publish", "TB")

    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    save_spend(_store(db_path), "TA", [SpendRow(day=yesterday, provider="openai", model="gpt-4o", cost=500)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_"))}
    env |= {**OAUTH, "SLACK_API_URL": slack.url, "SLACK_SIGNING_SECRET": "s", "BREAKEVEN_DB": str(db_path)}
    checked = subprocess.run([sys.executable, "-m", "breakeven", "check", "--team", "TA"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "C1 LLM API spend 100%: fired"
    (alert,) = answers(slack, "chat.postMessage", "TA")
    assert alert["args"]["channel"] == "C1" and "reached 100% of its $100.00 budget" in json.dumps(alert["args"])


def _store(db_path):
    from bot.store import Store

    return Store(db_path)


def far_timezone() -> str:
    """A timezone whose date is not UTC's right now (Pago Pago is UTC-11, Kiritimati UTC+14): for at least an hour."""
    return "Pacific/Pago_Pago" if dt.datetime.now(dt.UTC).hour < 10 else "Pacific/Kiritimati"


def test_every_place_that_shows_a_budget_counts_to_the_budgets_own_day(slack, tmp_path, monkeypatch):
    """DAILY_CHECK's timezone says what 'today' is for budgets: the `/breakeven budget` reply, the App Home and
    `breakeven check --dry-run` and the weekly summary show the same month (they used to count to UTC's yesterday in
    three of them)."""
    from bot.app import build_app
    from tests.slack.conftest import BotServer

    from .conftest import make_settings

    monkeypatch.chdir(tmp_path)
    tz = far_timezone()
    settings = make_settings(slack.url, tmp_path, daily_check=f"09:00 {tz}")
    app, bot = build_app(settings)
    bot.resume()
    server = BotServer(app, bot, settings.port, slack)
    try:
        budget_day = dt.datetime.now(ZoneInfo(tz)).date()
        assert budget_day != dt.datetime.now(dt.UTC).date()
        first = budget_day - dt.timedelta(days=40)
        save_spend(bot.store, "T1", [SpendRow(day=first + dt.timedelta(days=i), provider="openai", model="gpt-4o",
                                              cost=100) for i in range(60)])  # fmt: skip  (spend "tomorrow" too)
        slack.members["C9"] = ["U1"]
        server.command("budget $100,000/month", channel="C9")
        server.wait_idle()
        spent = money(100 * (budget_day - budget_day.replace(day=1)).days)  # the 1st up to yesterday, its day
        reply = slack.called("chat.postEphemeral")[-1]["args"]["text"]
        assert f"{spent} of $100,000" in reply, reply
        assert f"<#C9> LLM API spend: {spent} of $100,000" in texts(open_home(server))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_", "DAILY_"))}
        command = ["check", "--team", "T1", "--dry-run", "--db", str(settings.breakeven_db)]
        dry = subprocess.run(
            [sys.executable, "-m", "breakeven", *command],
            env=env | {"DAILY_CHECK": f"09:00 {tz}"}, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert dry.returncode == 0, dry.stderr
        assert f"{spent} of $100,000" in dry.stdout, dry.stdout
        from bot.weekly import run_weekly  # the weekly summary's week is the channel's (UTC), its budgets' day not

        assert run_weekly(bot.client_for, bot.store, settings, "T1", "C9").status == "posted"
        summary = str(slack.called("chat.postMessage")[-1]["args"]["blocks"])
        assert f"Budget, LLM API spend: {spent} of $100,000" in summary, summary
    finally:
        server.stop()
