"""Weekly spend summaries with the fake Slack and a fake OpenAI costs API, the clock controlled."""

import datetime as dt
import sqlite3
import subprocess
import sys

import pytest
import time_machine

from bot.spend import sync_openai
from bot.store import Store
from bot.weekly import post_weekly_summary
from breakeven.cli import main as cli
from costcore import analyze, parse

from .blockkit import check_blocks
from .fake_openai import FakeOpenAI

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # Tuesday of W48: the summary covers W47
WEEK47 = [dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(7)]


@pytest.fixture
def openai_fake():
    fake = FakeOpenAI(WEEK47)
    yield fake
    fake.close()


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "weekly.db")


def spend_count(store):
    return store.db["spend"].count


def test_sync_follows_every_page_and_survives_a_failed_page(store, openai_fake):
    openai_fake.fail("costs", "p2", 500)
    openai_fake.fail("completions", "p2", 429, {"retry-after-ms": "20"})
    written = sync_openai(store, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    assert written == 7
    rows = store.spend("T1", "2026-11-01")
    assert {r.day for r in rows} == set(WEEK47)
    assert all(r.cost == pytest.approx(100) and r.requests == 10_000 and r.model == "gpt-4o-2024-08-06" for r in rows)
    pages = [(path.rsplit("/", 1)[-1], query.get("page")) for path, query, _ in openai_fake.requests]
    assert pages.count(("costs", "p2")) == 2 and pages.count(("completions", "p2")) == 2  # retried once each
    assert all(auth == "Bearer sk-admin-test" for _, _, auth in openai_fake.requests)
    # Syncing again changes nothing.
    sync_openai(store, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    assert spend_count(store) == 7


def test_sync_survives_a_page_that_times_out(store, openai_fake):
    openai_fake.fail("costs", "p2", 0)  # hangs past the timeout once
    written = sync_openai(
        store, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23), timeout=0.5
    )
    assert written == 7
    pages = [(path.rsplit("/", 1)[-1], query.get("page")) for path, query, _ in openai_fake.requests]
    assert pages.count(("costs", "p2")) == 2


def test_a_sync_that_finally_fails_writes_nothing(store, openai_fake):
    from bot.spend import SyncError

    openai_fake.fail("completions", "p2", 500, times=10)
    with pytest.raises(SyncError):
        sync_openai(store, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    assert spend_count(store) == 0


def seed(store):
    from costcore.spend import SpendRow

    rows = [
        SpendRow(
            day=d,
            provider="openai",
            model="gpt-4o",
            cost=100,
            input_tokens=1_000_000,
            output_tokens=200_000,
            requests=10_000,
        )
        for d in WEEK47
    ]
    rows += [SpendRow(day=d - dt.timedelta(days=7), provider="openai", model="gpt-4o", cost=80) for d in WEEK47]
    store.save_spend("T1", rows)
    report = analyze(parse("volume=100k api_per_1k=1 server=$300 maint_h=0"))
    store.claim_analysis(
        delivery="d1",
        team="T1",
        channel="C9",
        user="U1",
        kind="command",
        text="x",
        scenario={},
        report=report.model_dump(mode="json"),
    )


def test_summary_posted_with_its_figures_and_chart(slack, store):
    from slack_sdk import WebClient

    seed(store)
    client = WebClient(token="xoxb-t", base_url=slack.url)
    result = post_weekly_summary(client, store, "T1", "C9", NOW)
    assert result.status == "posted" and result.week == "2026-W47"
    post = slack.called("chat.postMessage")[0]["args"]
    check_blocks(post["blocks"])
    text = post["blocks"][0]["text"]["text"]
    assert "week 2026-W47" in text and "*$700.00*, +$140.00 (+25%) on last week's $560.00" in text
    assert "7M in, 1.4M out; 70k requests" in text
    assert "Month to date $1,260" in text  # 7 x 80 + 7 x 100 over 23 days of November
    assert "month-end forecast $1,643" in text  # 1,260 / 23 x 30
    assert "#1 (RENT): running at 304k requests a month, past break-even by 4.17k requests" in text
    assert any(data.startswith(b"\x89PNG") for data in slack.uploads)
    assert slack.called("files.completeUploadExternal")[0]["args"]["thread_ts"] == result.ts


def test_two_firings_and_a_restart_in_the_same_week_post_once(slack, store, tmp_path, monkeypatch, capsys):
    from slack_sdk import WebClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", slack.url)

    seed(store)
    client = WebClient(token="xoxb-t", base_url=slack.url)
    assert post_weekly_summary(client, store, "T1", "C9", NOW).status == "posted"
    assert post_weekly_summary(client, store, "T1", "C9", NOW + dt.timedelta(hours=1)).status == "skipped"
    restarted = Store(store.path)  # a new process's view of the same database
    assert post_weekly_summary(client, restarted, "T1", "C9", NOW + dt.timedelta(days=2)).status == "skipped"
    # Another process, through the CLI, in the same week.
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        code = cli(["weekly", "--channel", "C9", "--team", "T1", "--db", str(store.path)])
    assert code == 0 and "C9 2026-W47: skipped" in capsys.readouterr().out
    assert len(slack.called("chat.postMessage")) == 1
    # Next week is a new summary.
    assert post_weekly_summary(client, store, "T1", "C9", NOW + dt.timedelta(days=7)).status == "posted"


def test_a_failed_post_can_be_retried_and_quiet_weeks(slack, store):
    from slack_sdk import WebClient

    client = WebClient(token="xoxb-t", base_url=slack.url)
    slack.fail("chat.postMessage", 400, times=1)
    assert post_weekly_summary(client, store, "T1", "C9", NOW).status == "failed"
    assert post_weekly_summary(client, store, "T1", "C9", NOW).status == "posted"
    assert slack.called("chat.postMessage")[0]["args"]["text"] == "No LLM API spend recorded for week 2026-W47."
    assert post_weekly_summary(client, store, "T1", "C8", NOW, quiet=True).status == "quiet"
    assert len(slack.called("chat.postMessage")) == 1


def test_alert_when_a_decision_crossed_its_break_even(slack, store):
    from slack_sdk import WebClient

    from costcore.spend import SpendRow

    client = WebClient(token="xoxb-t", base_url=slack.url)
    seed(store)
    # Week 46 had a quarter of the volume: below break-even then.
    store.save_spend(
        "T1",
        [
            SpendRow(day=d - dt.timedelta(days=7), provider="openai", model="gpt-4o", cost=80, requests=2_500)
            for d in WEEK47
        ],
    )
    post_weekly_summary(client, store, "T1", "C9", NOW - dt.timedelta(days=7))
    post_weekly_summary(client, store, "T1", "C9", NOW)
    first, second = (c["args"]["blocks"][0]["text"]["text"] for c in slack.called("chat.postMessage")[:2])
    assert "crossed above its break-even" not in first
    assert "#1 crossed above its break-even since the last summary" in second


def test_cli_import_and_dry_run(tmp_path):
    db = str(tmp_path / "cli.db")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,provider,model,cost\n2026-11-17,openai,gpt-4o,5\n2026-11-18,openai,gpt-4o,oops\n")
    run = [sys.executable, "-m", "breakeven"]
    result = subprocess.run([*run, "spend", "import", str(bad), "--db", db], capture_output=True, text=True)
    assert result.returncode == 2 and "line 3, column 'cost'" in result.stderr
    assert not (tmp_path / "cli.db").exists()  # the file is checked whole before anything is written
    good = tmp_path / "good.csv"
    good.write_text("day,provider,model,cost,requests\n" + "".join(f"{d},openai,gpt-4o,100,10000\n" for d in WEEK47))
    for _ in range(2):  # importing twice keeps one copy
        result = subprocess.run([*run, "spend", "import", str(good), "--db", db], capture_output=True, text=True)
        assert result.returncode == 0 and "Imported 7 rows" in result.stdout
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*), sum(cost) FROM spend").fetchone() == (7, 700.0)
    with time_machine.travel(NOW, tick=False):
        assert cli(["weekly", "--dry-run", "--db", db, "--out", str(tmp_path)]) == 0
    assert "*$700.00*" in (tmp_path / "weekly-2026-W47.txt").read_text()
    assert (tmp_path / "weekly-2026-W47.png").read_bytes().startswith(b"\x89PNG")


def test_slash_spend_add_and_weekly_schedule(bot_server, slack):
    bot_server.command("spend add $1,200 openai gpt-4o 2026-11-20 requests=40k")
    bot_server.command("weekly <#C77|finops> tue 10:30 Europe/Paris")
    bot_server.command("weekly finops")
    replies = slack.wait_for(
        lambda: len(slack.called("chat.postEphemeral")) == 3 and slack.called("chat.postEphemeral"),
        what="three replies",
    )
    texts = [r["args"]["text"] for r in replies]
    assert any("Recorded $1,200 of openai gpt-4o on 2026-11-20" in t for t in texts)
    assert any("every Tue at 10:30 Europe/Paris" in t for t in texts)
    assert any("pick it from Slack's #autocomplete" in t for t in texts)
    store = bot_server.bot.store
    assert [r.cost for r in store.spend("T1", "2026-11-01")] == [1200]
    assert store.weekly_channel("T1", "C77")["tz"] == "Europe/Paris"


def test_scheduler_fires_on_the_channels_day_and_time_and_posts_once(slack, store):
    from slack_sdk import WebClient

    from bot.weekly import build_scheduler

    seed(store)
    store.set_weekly_channel("T1", "C9", "tue", "10:30", "Europe/Paris", False)
    scheduler = build_scheduler(WebClient(token="xoxb-t", base_url=slack.url), store)
    job = scheduler.get_job("weekly:T1:C9")
    fire = job.trigger.get_next_fire_time(None, NOW)
    assert fire.isoformat() == "2026-11-24T10:30:00+01:00"
    with time_machine.travel(fire, tick=False):
        assert job.func(*job.args).status == "posted"
        assert job.func(*job.args).status == "skipped"  # a second firing in the same week
    assert len(slack.called("chat.postMessage")) == 1


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
        bot.executor.shutdown()


def test_a_bad_weekly_schedule_setting_is_named(tmp_path, monkeypatch):
    from bot.settings import SettingsError, load_settings

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match="WEEKLY_SCHEDULE"):
        load_settings(slack_bot_token="xoxb-t", slack_signing_secret="s", weekly_schedule="someday")
