"""The weekly summary posted to the fake Slack: figures by hand, the chart in the thread, once per
team, channel and ISO week whoever fires it, alerts, quiet weeks, the channel's timezone."""

import datetime as dt
import subprocess
import sys
import threading

import pytest
import sqlite_utils
import time_machine

from bot.spend import save_spend
from bot.store import Store
from bot.weekly import claim_week, post_weekly_summary, set_weekly_channel
from costcore import analyze, parse
from costcore.spend import SpendRow
from tests.slack.blockkit import check_blocks

from .conftest import NOW, WEEK47

BREAKEVEN_300K = "volume=100k api_per_1k=1 server=$300 maint_h=0"  # break-even at 300k requests a month


def seed(db_path, *, requests=10_000, analysis=BREAKEVEN_300K, channel="C9"):
    """Week 47: gpt-4o $100 a day, haiku $5 a day; week 46: $80 and $10. One analysis saved in C9."""
    rows = []
    for day in WEEK47:
        rows.append(
            SpendRow(
                day=day,
                provider="openai",
                model="gpt-4o",
                cost=100,
                input_tokens=1_000_000,
                output_tokens=200_000,
                requests=requests,
            )
        )
        rows.append(SpendRow(day=day, provider="anthropic", model="claude-3-5-haiku", cost=5))
        rows.append(SpendRow(day=day - dt.timedelta(days=7), provider="openai", model="gpt-4o", cost=80))
        rows.append(SpendRow(day=day - dt.timedelta(days=7), provider="anthropic", model="claude-3-5-haiku", cost=10))
    rows.append(SpendRow(day=dt.date(2026, 10, 31), provider="openai", model="gpt-4o", cost=999))  # October
    store = Store(db_path)  # the bot's store: analyses are saved there
    save_spend(store, "T1", rows)
    if analysis:
        report = analyze(parse(analysis)).model_dump(mode="json")
        store.claim_analysis(
            delivery=f"d-{channel}", team="T1", channel=channel, user="U1", kind="command", text=analysis,
            scenario={}, report=report,
        )  # fmt: skip
    return store


def posted_text(slack, i=0):
    return slack.called("chat.postMessage")[i]["args"]["blocks"][0]["text"]["text"]


def test_the_summary_against_hand_computed_figures_with_its_chart_in_the_thread(slack, client, db, db_path):
    seed(db_path)
    result = post_weekly_summary(client, db, "T1", "C9", NOW)
    assert (result.status, result.week) == ("posted", "2026-W47")
    post = slack.called("chat.postMessage")[0]["args"]
    check_blocks(post["blocks"])
    assert post["channel"] == "C9"
    assert post["text"] == "LLM API spend, week 2026-W47: $735.00 (+$105.00, +17% on last week)"
    text = posted_text(slack)
    # 7 x (100 + 5) = $735 against 7 x (80 + 10) = $630.
    assert "week 2026-W47* (Nov 16 - Nov 22): *$735.00*, +$105.00 (+17%) on last week's $630.00." in text
    assert "• openai gpt-4o: $560.00 → $700.00 (+$140.00, +25%)" in text
    assert "• anthropic claude-3-5-haiku: $70.00 → $35.00 (-$35.00, -50%)" in text
    assert text.index("openai gpt-4o:") < text.index("anthropic claude")  # the bigger move first
    assert "Tokens: 7M in, 1.4M out; 70k requests." in text
    # November 1-22, the last day recorded: 630 + 735 = $1,365 (October's $999 not in it); 1,365 / 22 x 30 = $1,861
    # (Nov 23 has nothing recorded yet: not a day of $0).
    assert "Month to date $1,365 (Nov 1-22); month-end forecast $1,861" in text
    # 70k requests a week = 70,000 x 365/12 / 7 = 304,167 a month: 4,167 past the 300k break-even;
    # self-hosted $300 a month against 304,167 x $0.001 = $304.17 on the API.
    assert (
        "#1 (RENT): running at 304k requests a month, past break-even by 4.17k requests a month (300k); "
        "self-hosted this volume would cost $300.00 a month against $304.17 on" in text
    )
    assert "crossed" not in text  # no summary before this one: nothing to compare with
    assert slack.uploads and slack.uploads[0].startswith(b"\x89PNG")
    complete = slack.called("files.completeUploadExternal")[0]["args"]
    assert (complete["channel_id"], complete["thread_ts"]) == ("C9", result.ts)


def test_two_firings_at_the_same_moment_post_once(slack, client, db_path):
    seed(db_path)
    start = threading.Barrier(2)
    results = []

    def fire():
        db = sqlite_utils.Database(db_path)  # each its own connection, as two processes would have
        start.wait()
        results.append(post_weekly_summary(client, db, "T1", "C9", NOW).status)

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["posted", "skipped"]
    assert len(slack.called("chat.postMessage")) == 1


def test_a_restarted_process_does_not_post_the_week_again(slack, client, db, db_path):
    seed(db_path)
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "posted"
    assert post_weekly_summary(client, db, "T1", "C9", NOW + dt.timedelta(hours=3)).status == "skipped"
    script = (
        "import datetime as dt, sqlite_utils\n"
        "from slack_sdk import WebClient\n"
        "from bot.weekly import post_weekly_summary\n"
        f"now = dt.datetime.fromisoformat({(NOW + dt.timedelta(days=2)).isoformat()!r})\n"
        f"client = WebClient(token='xoxb-test', base_url={slack.url!r})\n"
        f"print(post_weekly_summary(client, sqlite_utils.Database({str(db_path)!r}), 'T1', 'C9', now).status)\n"
    )
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "skipped", again.stderr
    assert len(slack.called("chat.postMessage")) == 1
    # The next week is a new summary.
    assert post_weekly_summary(client, db, "T1", "C9", NOW + dt.timedelta(days=7)).week == "2026-W48"
    assert len(slack.called("chat.postMessage")) == 2


def test_a_failed_post_is_released_so_a_retry_posts(slack, client, db, db_path):
    seed(db_path)
    slack.fail("chat.postMessage", 500)
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "failed"
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "posted"
    assert len(slack.called("chat.postMessage")) == 1


def test_a_claim_left_by_a_process_that_died_is_retaken_after_ten_minutes(slack, client, db, db_path):
    seed(db_path)
    with time_machine.travel(NOW, tick=False) as clock:
        assert claim_week(db, "T1", "C9", "2026-W47")  # a process claimed the week, then died
        assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "skipped"
        clock.shift(dt.timedelta(minutes=11))
        assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "posted"
    assert len(slack.called("chat.postMessage")) == 1


def test_a_summary_whose_connection_drops_after_slack_posted_it_is_found_not_posted_again(slack, client, db, db_path):
    seed(db_path)
    slack.drop("chat.postMessage")  # posted; the answer never comes
    result = post_weekly_summary(client, db, "T1", "C9", NOW)
    assert result.status == "posted" and result.ts == slack.messages["C9"][0]["ts"]
    assert len(slack.called("chat.postMessage")) == 1 and len(slack.called("files.completeUploadExternal")) == 1
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "skipped"


def test_a_claim_retaken_after_a_process_died_mid_post_finds_the_summary_and_attaches_its_chart_once(
    slack, client, db, db_path
):
    from bot.delivery import job_metadata

    seed(db_path)
    with time_machine.travel(NOW, tick=False) as clock:
        assert claim_week(db, "T1", "C9", "2026-W47") == "new"  # a process claimed the week, posted, and died
        client.chat_postMessage(channel="C9", text="summary", metadata=job_metadata("weekly:T1:C9:2026-W47"))
        clock.shift(dt.timedelta(minutes=11))
        result = post_weekly_summary(client, db, "T1", "C9", NOW)
    assert result.status == "posted" and result.ts == slack.messages["C9"][0]["ts"]
    assert len(slack.called("chat.postMessage")) == 1  # found by its key, not posted again
    assert len(slack.called("files.completeUploadExternal")) == 1  # its chart had not come: attached once


def test_a_week_without_spend_posts_one_quiet_line_or_nothing_if_asked(slack, client, db):
    assert post_weekly_summary(client, db, "T1", "C1", NOW).status == "posted"
    (post,) = slack.called("chat.postMessage")
    assert post["args"]["text"] == "No LLM API spend recorded for week 2026-W47."
    assert len(post["args"]["blocks"]) == 1 and not slack.uploads
    set_weekly_channel(db, "T1", "C2", "mon", "09:00", "UTC", quiet=True)
    assert post_weekly_summary(client, db, "T1", "C2", NOW).status == "quiet"
    assert post_weekly_summary(client, db, "T1", "C2", NOW).status == "skipped"
    assert len(slack.called("chat.postMessage")) == 1


def test_an_alert_when_a_decision_crossed_its_break_even_since_the_last_summary(slack, client, db, db_path):
    seed(db_path)
    # Week 46 ran a quarter of the volume (2,500 requests a day): below break-even then.
    save_spend(
        db,
        "T1",
        [
            SpendRow(day=d - dt.timedelta(days=7), provider="openai", model="gpt-4o", cost=80, requests=2_500)
            for d in WEEK47
        ],
    )
    post_weekly_summary(client, db, "T1", "C9", NOW - dt.timedelta(days=7))
    post_weekly_summary(client, db, "T1", "C9", NOW)
    post_weekly_summary(client, db, "T1", "C9", NOW + dt.timedelta(days=7))  # W48: no spend
    first, second, third = (posted_text(slack, i) for i in range(3))
    assert "224k requests a month short of break-even (300k; 25% of the way)" in first  # 76k a month
    assert ":rotating_light:" not in first
    assert ":rotating_light: *#1 crossed above its break-even since the last summary" in second
    assert "`/breakeven show 1`" in second
    assert third == "No LLM API spend recorded for week 2026-W48."


def test_without_request_counts_the_volume_is_estimated_from_spend(slack, client, db, db_path):
    seed(db_path, requests=0)
    post_weekly_summary(client, db, "T1", "C9", NOW)
    # $735 a week at the analysis' $0.001 a request: 735,000 a week, 3.19M a month.
    assert "running at 3.19M requests a month (estimated from spend" in posted_text(slack)


def test_the_week_is_the_channels_week(slack, client, db, db_path):
    seed(db_path)
    set_weekly_channel(db, "T1", "C9", "mon", "09:00", "Pacific/Auckland", quiet=False)
    monday_in_auckland = dt.datetime(2026, 11, 22, 20, 0, tzinfo=dt.UTC)  # Monday 23rd, 09:00 there
    assert post_weekly_summary(client, db, "T1", "C9", monday_in_auckland).week == "2026-W47"
    assert "*$735.00*" in posted_text(slack)


def test_dry_run_writes_the_message_and_chart_and_posts_nothing(slack, client, db, db_path, tmp_path):
    seed(db_path)
    result = post_weekly_summary(None, db, "T1", "C9", NOW, dry_run_dir=tmp_path / "out")
    assert result.status == "dry-run"
    assert "*$735.00*" in (tmp_path / "out" / "weekly-2026-W47.txt").read_text()
    assert (tmp_path / "out" / "weekly-2026-W47.png").read_bytes().startswith(b"\x89PNG")
    assert '"blocks"' in (tmp_path / "out" / "weekly-2026-W47.json").read_text()
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "posted"  # a dry run claims nothing


@pytest.mark.parametrize("analyses", [0, 12])
def test_the_message_stays_within_slacks_limits(slack, client, db, db_path, analyses):
    store = seed(db_path, analysis=None)
    for i in range(analyses):
        text = f"volume=100k api_per_1k=1 server=${200 + 10 * i} maint_h=0"
        report = analyze(parse(text)).model_dump(mode="json")
        store.claim_analysis(
            delivery=f"d{i}", team="T1", channel="C9", user="U1", kind="command", text=text, scenario={}, report=report
        )
    post_weekly_summary(client, db, "T1", "C9", NOW)
    check_blocks(slack.called("chat.postMessage")[0]["args"]["blocks"])
    if analyses:
        assert "_and 7 older analyses" in posted_text(slack)
