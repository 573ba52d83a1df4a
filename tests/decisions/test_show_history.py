"""`/breakeven show ID` of a decision re-checked many times: the newest evaluations first, and a line counting
the older ones left out (they used to be listed oldest first and cut, so the newest vanished)."""

from __future__ import annotations

import json
import re

from tests.slack.blockkit import check_blocks

from .conftest import FLIPS, analyse


def add_versions(store, analysis_id: int, count: int) -> None:
    """`count` re-checks of the decision, each moving its savings by $1,000 (as a re-check writes them)."""
    (row,) = store.db.query("SELECT * FROM analyses WHERE id = ?", [analysis_id])
    report = json.loads(row["report"])
    for version in range(1, count + 1):
        moved = {**report, "monthly_savings": report["monthly_savings"] - 1000 * version}
        store.db["decision_versions"].insert(
            {
                "analysis_id": analysis_id,
                "team": row["team"],
                "channel": row["channel"],
                "version": version,
                "created": f"2026-{1 + version // 28:02d}-{1 + version % 28:02d}T09:00:00+00:00",
                "trigger": "weekly summary",
                "scenario": row["scenario"],
                "report": json.dumps(moved),
                "verdict": report["verdict"],
                "monthly_savings": moved["monthly_savings"],
                "basis": "typed in",
            }
        )


def shown_history(server, slack, analysis_id: int) -> tuple[str, list[dict]]:
    server.command(f"show {analysis_id}", channel="C9")
    server.wait_idle()
    blocks = slack.called("chat.postMessage")[-1]["args"]["blocks"]
    check_blocks(blocks)
    return "\n".join((b.get("text") or {}).get("text", "") for b in blocks if b["type"] == "section"), blocks


def test_a_long_history_shows_the_newest_evaluations_first_and_counts_the_older(server, slack):
    decision = analyse(server, FLIPS)
    add_versions(server.bot.store, decision, 300)
    text, blocks = shown_history(server, slack, decision)
    assert len(blocks) <= 50
    assert f"*History of decision #{decision}* (301 evaluation(s))" in text
    listed = [int(v) for v in re.findall(r"• v(\d+) ", text)]
    assert listed[0] == 300 and listed == list(range(300, 300 - len(listed), -1))  # the newest, back in time
    older = 301 - len(listed)
    assert older > 0 and f"and {older} older evaluation(s), v0-v{older - 1}, not shown" in json.dumps(blocks)


def test_a_short_history_is_whole(server, slack):
    decision = analyse(server, FLIPS)
    add_versions(server.bot.store, decision, 3)
    text, _ = shown_history(server, slack, decision)
    assert [int(v) for v in re.findall(r"• v(\d+) ", text)] == [3, 2, 1, 0]
    assert "older evaluation" not in text
