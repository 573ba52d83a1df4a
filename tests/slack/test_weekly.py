"""Spend and weekly summaries from Slack: `/breakeven spend add`, `/breakeven weekly` (only where the
user may send posts), and the weekly channel named in settings. The summary itself, its storage and
its schedule are tested in tests/weekly."""

import datetime as dt

import pytest

from bot.spend import load_spend
from bot.weekly import weekly_channel

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def replies(slack, n):
    found = slack.wait_for(
        lambda: len(slack.called("chat.postEphemeral")) >= n and slack.called("chat.postEphemeral"),
        what=f"{n} replies",
    )
    return [r["args"]["text"] for r in found]


def test_slash_spend_add_and_weekly_schedule(bot_server, slack):
    slack.members["C77"] = ["U1", "U5"]
    bot_server.command("spend add $1,200 openai gpt-4o 2026-11-20 requests=40k")
    bot_server.command("weekly <#C77|finops> tue 10:30 Europe/Paris")
    bot_server.command("weekly finops")
    bot_server.wait_idle()
    texts = replies(slack, 3)
    assert any("Recorded $1,200 of openai gpt-4o on 2026-11-20" in t for t in texts)
    assert any("every Tue at 10:30 Europe/Paris" in t and "<#C77>" in t for t in texts)
    assert any("pick it from Slack's #autocomplete" in t for t in texts)
    store = bot_server.bot.store
    assert [r.cost for r in load_spend(store, "T1", "2026-11-01")] == [1200]
    assert weekly_channel(store, "T1", "C77")["tz"] == "Europe/Paris"


def test_weekly_summary_only_where_the_user_is_a_member_or_an_admin(settings, slack):
    from bot.app import build_app

    from .conftest import BotServer

    slack.members.update({"C77": ["U5"], "C78": ["U1"]})
    app, bot = build_app(settings.model_copy(update={"breakeven_admins": "UADMIN"}))
    server = BotServer(app, bot, settings.port, slack)
    try:
        server.command("weekly <#C77|finops>", user="U1")  # not a member
        server.command("weekly <#C79|secret>", user="U1")  # the bot cannot see it
        server.command("weekly <#C78|mine>", user="U1")  # a member
        server.command("weekly <#C77|finops>", user="UADMIN")  # an admin
        server.wait_idle()
    finally:
        server.stop()
    texts = {(r["args"]["user"], r["args"]["text"]) for r in slack.called("chat.postEphemeral")}
    assert any(u == "U1" and "Only members of <#C77> can send the weekly summary there" in t for u, t in texts)
    assert any(u == "U1" and "I cannot see who is in <#C79> (channel_not_found)" in t for u, t in texts)
    assert any(u == "U1" and "Weekly spend summary for <#C78>" in t for u, t in texts)
    assert any(u == "UADMIN" and "Weekly spend summary for <#C77>" in t for u, t in texts)
    assert {r["channel"] for r in bot.store.db.query("SELECT channel FROM weekly_channels")} == {"C77", "C78"}


def test_weekly_channel_from_settings_is_scheduled_at_start(slack, tmp_path, monkeypatch):
    from bot.app import build_app, start_scheduler
    from bot.settings import load_settings

    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        slack_bot_token="xoxb-t",
        slack_signing_secret="s",
        slack_api_url=slack.url,
        breakeven_db=tmp_path / "s.db",
        weekly_channel="C0424242",
        weekly_schedule="fri 17:00 UTC",
    )
    app, bot = build_app(settings)
    start_scheduler(app, bot)
    try:
        job = bot.scheduler.get_job("weekly:T1:C0424242")  # T1: the team auth.test names
        assert job.trigger.get_next_fire_time(None, NOW).isoformat() == "2026-11-27T17:00:00+00:00"
    finally:
        bot.scheduler.shutdown(wait=False)
        bot.shutdown()


def test_a_bad_weekly_schedule_setting_is_named(tmp_path, monkeypatch):
    from bot.settings import SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="WEEKLY_SCHEDULE"):
        load_settings(slack_bot_token="xoxb-t", slack_signing_secret="s", weekly_schedule="someday")


def test_a_manual_spend_row_is_replaced_only_by_who_recorded_it_or_an_admin(settings, slack):
    from bot.app import build_app

    from .conftest import BotServer

    app, bot = build_app(settings.model_copy(update={"breakeven_admins": "UADMIN"}))
    server = BotServer(app, bot, settings.port, slack)
    day = "spend add {} openai gpt-4o 2026-11-20"
    try:
        for user, amount in (("U1", "$1,200"), ("U2", "$5"), ("U1", "$1,300"), ("UADMIN", "$1,250"), ("U1", "$9")):
            server.command(day.format(amount), user=user)
            server.wait_idle()
    finally:
        server.stop()
    texts = [(r["args"]["user"], r["args"]["text"]) for r in slack.called("chat.postEphemeral")]
    assert texts[0] == ("U1", "Recorded $1,200 of openai gpt-4o on 2026-11-20.")
    assert texts[1] == (
        "U2",
        "$1,200 of openai gpt-4o on 2026-11-20 was recorded by <@U1>: only they or an admin of breakeven "
        "(BREAKEVEN_ADMINS) may replace it. Nothing was changed.",
    )
    assert "it replaces the $1,200" in texts[2][1]  # its author may
    assert texts[3][0] == "UADMIN" and "it replaces the $1,300" in texts[3][1]  # and an admin, who then owns it
    assert "was recorded by <@UADMIN>" in texts[4][1]
    assert [r.cost for r in load_spend(bot.store, "T1", "2026-11-01")] == [1250]
