"""Whose volume the spend is, through `breakeven recheck`: a model's spend replaces a decision's typed volume
only when no other decision of the team rents the same model (spend is recorded per team and model, not per
decision); only that provider's rows count; a token mix measured from spend is named as such; and spend whose
import ends two weeks ago is measured up to its last day, not read as two weeks of nothing."""

from __future__ import annotations

import datetime as dt

from bot.spend import save_spend
from bot.store import Store
from costcore import analyze, parse

from .conftest import gpt4o_spend
from .test_recheck import breakeven, saved

REQUESTS, TOKENS_IN, TOKENS_OUT = 50_000, 60_000_000, 15_000_000  # a day: 1,200 tokens in and 300 out a request


def recheck(db_path, cwd) -> list[str]:
    result = breakeven("recheck", "--team", "T1", "--db", str(db_path), cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def day(d: dt.date) -> str:
    return f"{d:%b} {d.day}"


def test_spend_shared_by_several_decisions_on_one_model_is_no_ones_volume(tmp_path):
    db_path = tmp_path / "shared.db"
    texts = {
        "C9": "use=support-chatbot api=gpt-4o",
        "C8": "volume=40k/month api=gpt-4o",
        "C7": "tokens=2B/month api=gpt-4o",
    }
    ids = {channel: saved(db_path, text, channel=channel) for channel, text in texts.items()}
    today = dt.date.today()
    save_spend(Store(db_path), "T1", gpt4o_spend(today - dt.timedelta(days=28), 28, REQUESTS, TOKENS_IN, TOKENS_OUT))
    lines = recheck(db_path, tmp_path)
    # 50k requests a day is 1.52M a month for the whole team: none of the three is that volume, none flips.
    assert lines[0] == "Re-checked 3 decision(s) with today's prices and measured volume: 0 moved."
    for line, (channel, text) in zip(lines[1:], texts.items(), strict=True):
        me = ids[channel]
        others = ", ".join(f"#{i}" for i in ids.values() if i != me)
        assert line.startswith(f"• #{me} {analyze(parse(text)).verdict}: unchanged since version 0"), line
        assert line.endswith(
            f"volume: the volume as typed: the team's openai:gpt-4o spend is shared with {others} (spend is recorded "
            "per team and model, not per decision)"
        ), line
    assert "1.52M" not in "\n".join(lines)


def test_a_decisions_own_model_is_measured_from_that_providers_spend_and_a_token_mix_is_named(tmp_path):
    db_path = tmp_path / "own.db"
    decision = saved(db_path, "tokens=2B/month api=gpt-4o gpu=a10g")
    today = dt.date.today()
    first, last = today - dt.timedelta(days=28), today - dt.timedelta(days=1)
    rows = gpt4o_spend(first, 28, REQUESTS, TOKENS_IN, TOKENS_OUT)
    # Azure's gpt-4o is another bill (and another price): 900k requests a day there are not this decision's.
    rows += [r.model_copy(update={"provider": "azure", "model": "gpt-4o", "requests": 900_000}) for r in rows]
    save_spend(Store(db_path), "T1", rows)
    lines = recheck(db_path, tmp_path)
    source = f"from spend of openai:gpt-4o, {day(first)} - {day(last)}"
    assert lines[1].startswith(f"• #{decision} ")
    # 50,000 x 365/12 = 1.52M requests a month; typed: 2B tokens at 700 a request. The price a token did not
    # move: the price a request did, because a request is 1,500 tokens, not 700.
    assert lines[1].endswith(
        f"volume: measured: 1.52M requests a month, 1,200 tokens in and 300 out a request, {source}"
    ), lines[1]
    assert f"(the token mix: 700 → 1,500 tokens a request, {source}" in lines[1], lines[1]
    assert "genai-prices" not in lines[1]


def test_spend_imported_up_to_two_weeks_ago_is_measured_up_to_its_last_day(tmp_path):
    db_path = tmp_path / "lagging.db"
    decision = saved(db_path, "volume=40k/month api=gpt-4o gpu=a10g")
    today = dt.date.today()
    last = today - dt.timedelta(days=16)  # the CSV ends 15 days before yesterday
    first = last - dt.timedelta(days=27)
    save_spend(Store(db_path), "T1", gpt4o_spend(first - dt.timedelta(days=10), 38, REQUESTS, TOKENS_IN, TOKENS_OUT))
    lines = recheck(db_path, tmp_path)
    # The 28 days up to the last recorded one, 50k a day: 1.52M a month (not 706k, with 15 days of nothing),
    # and the dates say where the data ends.
    assert lines[1].startswith(f"• #{decision} RENT → BUY:"), lines[1]
    assert lines[1].endswith(
        f"volume: measured: 1.52M requests a month, 1,200 tokens in and 300 out a request, from spend of "
        f"openai:gpt-4o, {day(first)} - {day(last)}"
    ), lines[1]
