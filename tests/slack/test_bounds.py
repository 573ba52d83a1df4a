"""Every argument of every subcommand is bounded in length before a parser or a library sees it (a
time-zone lookup of 3,000 characters once failed in the file system), with a message that names it;
and text cut to fit Slack's limits is cut line by line, never by dropping whole sections."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import escaped_len, fit_lines

LONG = "x" * 3000

# (the command, the argument its reply must name): one row per argument a user types.
ARGUMENTS = [
    (f"weekly {LONG}", "`channel`"),
    (f"weekly <#C0123456|{LONG}>", "`channel`"),
    (f"weekly C0123456 mon 09:00 {LONG}", "`timezone`"),
    (f"weekly C0123456 mon 09:00 Europe/{LONG}", "`timezone`"),
    (f"spend add {LONG} openai gpt-4o", "`amount`"),
    (f"spend add $10 {LONG} gpt-4o", "`provider`"),
    (f"spend add $10 openai {LONG}", "`model`"),
    (f"spend add $10 openai gpt-4o {LONG}", "`day`"),
    (f"spend add $10 openai gpt-4o in={LONG}", "`in`"),
    (f"measure {LONG}", "`endpoint`"),
    (f"measure box save={LONG}", "`save`"),
    (f"measured={LONG} volume=1M", "`measured`"),
    (f"use={LONG}", "`use`"),
    (f"history {LONG}", "`history`"),
    (f"show {LONG}", "`show`"),
    (f"compare {LONG} 1", "`compare`"),
]


@pytest.mark.parametrize("text, named", ARGUMENTS, ids=[named for _, named in ARGUMENTS])
def test_a_very_long_argument_is_refused_with_one_clear_message_and_nothing_stored(
    bot_server, slack, caplog, text, named
):
    caplog.set_level(logging.INFO)
    status, _ = bot_server.command(text)
    assert status == 200
    bot_server.wait_idle()
    (reply,) = [c["args"]["text"] for c in slack.called("chat.postEphemeral")]
    assert named in reply and LONG not in reply and len(reply) < 1000, reply
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    with sqlite3.connect(bot_server.bot.store.path) as db:
        for table in ("spend", "weekly_channels", "analyses", "measurements"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


def test_the_weekly_summary_keeps_every_section_when_long_names_must_be_cut():
    # Spend synced from a provider (or recorded before names were bounded) with model names of 3,000
    # characters: the summary used to drop lines from the end until it fitted, the decisions first,
    # then the movers; now each long line is cut, with an ellipsis, and every section stays.
    from bot.weekly import summary_blocks, summary_lines
    from costcore import analyze, parse
    from costcore.spend import SpendRow, summarise

    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    rows = [
        SpendRow(day=dt.date(2026, 11, 16) + dt.timedelta(days=d), provider="openai", model=f"{i}-{LONG}", cost=10 + i)
        for i in range(4)
        for d in range(7)
    ]
    report = analyze(parse("volume=100k api_per_1k=1 server=$300 maint_h=0")).model_dump(mode="json")
    analyses = [{"id": n, "report": report} for n in range(40)]
    summary = summarise(rows, now, analyses, {})
    lines = summary_lines(summary)
    assert escaped_len("\n".join(lines)) > 3000
    _, blocks = summary_blocks(summary, ["manual"])
    text = blocks[0]["text"]["text"]
    assert escaped_len(text) <= 3000
    kept = text.split("\n")
    assert len(kept) == len(lines)  # every line is there, the long ones shortened
    for line, original in zip(kept, lines, strict=True):
        assert line == original or (line.endswith("…") and original.startswith(line[:-1]))
    assert "*Top movers*" in text and "*Decisions saved in this channel" in text
    assert text.count("• ") == 3 + 5  # three movers and the five latest decisions


@given(
    st.lists(st.text(alphabet="ab&<> \u00e9", max_size=400), min_size=1, max_size=60),
    st.integers(min_value=100, max_value=3000),
)
def test_fit_lines_fits_the_limit_once_escaped_and_drops_no_line(lines, limit):
    text = fit_lines(lines, limit)
    assert escaped_len(text) <= limit
    out = text.split("\n")
    assert len(out) == len(lines)
    for line, original in zip(out, lines, strict=True):
        assert line == original or (line.endswith("…") and original.startswith(line[:-1]))
    if escaped_len("\n".join(lines)) <= limit:
        assert text == "\n".join(lines)
