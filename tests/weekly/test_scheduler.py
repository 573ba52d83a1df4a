"""The in-process schedule: APScheduler cron jobs per channel, a catch-up at start, retries."""

import datetime as dt

import sqlite_utils
import time_machine

from bot.weekly import build_scheduler, catch_up, set_weekly_channel

from .conftest import NOW
from .test_post import seed

PARIS_TUESDAY = dt.datetime.fromisoformat("2026-11-24T10:30:00+01:00")


def connect_to(db_path):
    return lambda: sqlite_utils.Database(db_path)  # a connection for the job's own thread


def test_each_channel_fires_on_its_day_and_time_and_posts_once(slack, client, db, db_path):
    seed(db_path)
    set_weekly_channel(db, "T1", "C9", "tue", "10:30", "Europe/Paris", quiet=False)
    scheduler = build_scheduler(client, connect_to(db_path))
    job = scheduler.get_job("weekly:T1:C9")
    assert job.trigger.get_next_fire_time(None, NOW) == PARIS_TUESDAY
    with time_machine.travel(PARIS_TUESDAY, tick=False):
        assert job.func(*job.args).status == "posted"
        assert job.func(*job.args).status == "skipped"  # a second firing in the same week
    assert len(slack.called("chat.postMessage")) == 1


def test_the_running_scheduler_posts_when_the_time_comes(slack, client, db, db_path):
    seed(db_path)
    with time_machine.travel(PARIS_TUESDAY - dt.timedelta(seconds=1), tick=True):
        set_weekly_channel(db, "T1", "C9", "tue", "10:30", "Europe/Paris", quiet=False)
        scheduler = build_scheduler(client, connect_to(db_path))
        scheduler.start()
        try:
            slack.wait_for(lambda: slack.called("files.completeUploadExternal"), what="the summary and its chart")
        finally:
            scheduler.shutdown(wait=True)
    assert len(slack.called("chat.postMessage")) == 1


def test_a_summary_missed_while_the_bot_was_down_is_posted_at_start(slack, client, db, db_path):
    seed(db_path)
    with time_machine.travel(NOW - dt.timedelta(days=5), tick=False):  # set up the week before
        set_weekly_channel(db, "T1", "C9", "mon", "09:00", "UTC", quiet=False)
    scheduler = build_scheduler(client, connect_to(db_path))
    assert scheduler.get_job("weekly-catch-up") is not None  # runs as soon as the scheduler starts
    # The bot was down on Monday 09:00 and comes back on Tuesday: the week's summary goes out then.
    assert [r.status for r in catch_up(client, connect_to(db_path), None, NOW)] == ["posted"]
    assert [r.status for r in catch_up(client, connect_to(db_path), None, NOW)] == ["skipped"]
    assert len(slack.called("chat.postMessage")) == 1


def test_a_channel_set_up_after_this_weeks_time_waits_for_next_week(slack, client, db, db_path):
    seed(db_path)
    with time_machine.travel(NOW, tick=False):  # Tuesday: Monday 09:00 has passed
        set_weekly_channel(db, "T1", "C9", "mon", "09:00", "UTC", quiet=False)
    assert catch_up(client, connect_to(db_path), None, NOW + dt.timedelta(hours=1)) == []
    assert slack.called("chat.postMessage") == []


def test_a_failed_scheduled_post_is_tried_again_later(slack, client, db, db_path):
    seed(db_path)
    set_weekly_channel(db, "T1", "C9", "tue", "10:30", "Europe/Paris", quiet=False)
    scheduler = build_scheduler(client, connect_to(db_path))
    job = scheduler.get_job("weekly:T1:C9")
    slack.fail("chat.postMessage", 500)
    with time_machine.travel(PARIS_TUESDAY, tick=False):
        assert job.func(*job.args).status == "failed"
        retry = scheduler.get_job("weekly-retry:T1:C9")
        assert retry.trigger.run_date == PARIS_TUESDAY + dt.timedelta(minutes=10)
    with time_machine.travel(retry.trigger.run_date, tick=False):
        assert retry.func(*retry.args).status == "posted"
    assert len(slack.called("chat.postMessage")) == 1


def test_the_weekly_run_syncs_openai_first_when_a_key_is_set(slack, client, db, db_path, openai_fake):
    from types import SimpleNamespace

    from pydantic import SecretStr

    from bot.weekly import run_weekly

    set_weekly_channel(db, "T1", "C9", "mon", "09:00", "UTC", quiet=False)
    settings = SimpleNamespace(openai_admin_key=SecretStr("sk-admin-test"), openai_base_url=openai_fake.url)
    with time_machine.travel(NOW, tick=False):
        assert run_weekly(client, connect_to(db_path), settings, "T1", "C9").status == "posted"
    assert openai_fake.asked("costs", None) == 1
    assert "*$700.00*" in slack.called("chat.postMessage")[0]["args"]["blocks"][0]["text"]["text"]
