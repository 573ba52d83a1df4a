"""Schedules without a restart: `/breakeven weekly` is answered by the worker process, which has no
scheduler; the front process's scheduler reads the schedules again and picks the channel up. The daily
budget check runs at DAILY_CHECK, and at start-up once that time has passed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from bot.app import build_app
from bot.budget import Budget, catch_up, set_budget
from bot.schedules import build
from bot.spend import save_spend
from costcore.spend import SpendRow
from tests.slack.conftest import BotServer, bot_env

from .conftest import make_settings

TUESDAY = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def test_a_weekly_schedule_set_in_slack_is_picked_up_without_a_restart(slack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_settings(slack.url, tmp_path, schedule_refresh_s=0.2)
    app, bot = build_app(settings)  # its bot has no scheduler, as the worker process's has none
    server = BotServer(app, bot, settings.port, slack)
    scheduler = build(bot.client_for, bot.store, settings)  # the front process's
    scheduler.start()
    try:
        slack.members["C77"] = ["U1"]
        server.command("weekly <#C77|finops> tue 10:30 Europe/Paris", channel="C1")
        server.wait_idle()
        assert bot.scheduler is None
        job = slack.wait_for(lambda: scheduler.get_job("weekly:T1:C77"), what="the channel's weekly job")
        assert job.trigger.get_next_fire_time(None, TUESDAY).isoformat() == "2026-11-24T10:30:00+01:00"
        server.command("weekly <#C77|finops> fri 17:00 UTC", channel="C1")  # moved: the job moves with it
        server.wait_idle()
        slack.wait_for(
            lambda: (
                scheduler.get_job("weekly:T1:C77").trigger.get_next_fire_time(None, TUESDAY).isoformat()
                == "2026-11-27T17:00:00+00:00"
            ),
            what="the job moved to Friday",
        )
    finally:
        scheduler.shutdown(wait=True)
        server.stop()


def test_the_daily_check_runs_at_its_time_and_catches_up_at_start(slack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_settings(slack.url, tmp_path, daily_check="07:15 Europe/Paris")
    app, bot = build_app(settings)
    scheduler = build(bot.client_for, bot.store, settings)
    assert scheduler.get_job("daily-check").trigger.get_next_fire_time(None, TUESDAY).isoformat() == (
        "2026-11-25T07:15:00+01:00"
    )
    assert scheduler.get_job("daily-check-catch-up") is not None  # runs as soon as the scheduler starts
    save_spend(bot.store, "T1", [SpendRow(day=dt.date(2026, 11, 23), provider="openai", model="gpt-4o", cost=500)])
    set_budget(bot.store, Budget("T1", "C9", "", 100.0, (1.0,), "U1"))
    before = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)  # 07:00 in Paris: not yet
    assert catch_up(bot.client_for, bot.store, settings, before) == []
    after = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.UTC)  # 07:30 in Paris
    assert [f.status for f in catch_up(bot.client_for, bot.store, settings, after)] == ["fired"]
    bot.shutdown()


@pytest.mark.parametrize(
    "setting, words",
    [
        ({"BREAKEVEN_PRICE_SHEET": "prices.toml"}, "BREAKEVEN_PRICE_SHEET prices.toml line 3: [[api]] #1 input: "
         "must be a number ($ per 1M tokens of input), not '2.5'"),
        ({"BREAKEVEN_PRICE_SHEET": "nowhere.toml"}, "BREAKEVEN_PRICE_SHEET nowhere.toml: no such file"),
        ({"DAILY_CHECK": "9am"}, "DAILY_CHECK '9am' is not 'time timezone', e.g. '09:00 Europe/Paris'"),
        ({"DAILY_CHECK": "09:00 Mars/Olympus"}, "DAILY_CHECK 'Mars/Olympus' is not a timezone"),
        ({"RECHECK_THRESHOLD": "lots"}, "RECHECK_THRESHOLD 'lots' is not a share such as 20%"),
        ({"RECHECK_THRESHOLD": "5"}, "RECHECK_THRESHOLD '5' would be 500%"),
    ],
)  # fmt: skip
def test_a_wrong_setting_stops_the_bot_in_one_line_naming_it(slack, tmp_path, setting, words):
    (tmp_path / "prices.toml").write_text(
        '[[api]]\nmodel = "gpt-4o"\ninput = "2.5"\noutput = 10\neffective = 2026-01-01\n'
    )
    result = subprocess.run([sys.executable, "-m", "bot.app"], env=bot_env(slack.url, **setting), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == f"breakeven-bot: {words}" or line.startswith(f"breakeven-bot: {words}"), line


# RECHECK_THRESHOLD as typed -> the share it means, or the start of the refusal (None: accepted).
THRESHOLDS = [
    ("20%", 0.2, None),
    ("0.2", 0.2, None),
    (" 35 % ", 0.35, None),
    ("0", 0.0, None),
    ("1", 1.0, None),
    ("250%", 2.5, None),
    ("5", None, "'5' would be 500%: write a percentage, e.g. RECHECK_THRESHOLD=20% (a plain number is a fraction)"),
    ("20", None, "'20' would be 2000%: write a percentage"),
    ("2000%", None, "'2000%' is more than 1000%"),
    ("-5%", None, "'-5%' is negative"),
    ("nan", None, "'nan' is not a share such as 20%"),
    ("inf%", None, "'inf%' is not a share such as 20%"),
    ("lots", None, "'lots' is not a share such as 20%"),
]


@pytest.mark.parametrize("typed, share, refusal", THRESHOLDS)
def test_recheck_threshold_reads_a_percentage_and_refuses_a_plain_number_over_1(typed, share, refusal, tmp_path):
    from bot.settings import SettingsError, load_settings
    from tests.slack.conftest import SECRET, TOKEN

    settings = {"slack_bot_token": TOKEN, "slack_signing_secret": SECRET, "breakeven_db": tmp_path / "t.db"}
    if refusal is None:
        assert load_settings(recheck_threshold=typed, **settings).recheck_threshold == pytest.approx(share)
        return
    with pytest.raises(SettingsError) as caught:
        load_settings(recheck_threshold=typed, **settings)
    assert str(caught.value).startswith(f"RECHECK_THRESHOLD {refusal}"), str(caught.value)


@pytest.mark.parametrize("typed, share, refusal", [t for t in THRESHOLDS if t[0] in ("5", "20%", "-5%")])
def test_the_cli_reads_recheck_threshold_as_the_bot_does(typed, share, refusal, tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKEVEN_", "RECHECK_"))}
    result = subprocess.run(
        [sys.executable, "-m", "breakeven", "recheck", "--team", "T1", "--db", str(tmp_path / "t.db")],
        env=env | {"RECHECK_THRESHOLD": typed}, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if refusal is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2 and result.stderr.startswith(f"breakeven: RECHECK_THRESHOLD {refusal}"), (
            result.stderr
        )
