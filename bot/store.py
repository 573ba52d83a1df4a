"""History in SQLite (sqlite-utils): analyses and audits, keyed so that a repeated delivery
writes one row. One connection per thread; WAL so readers never wait for the writer."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("breakeven")


@migrations()
def m001_analyses(db: sqlite_utils.Database) -> None:
    db["analyses"].create(
        {
            "id": int,
            "team": str,
            "channel": str,
            "user": str,
            "created": str,
            "kind": str,
            "text": str,
            "scenario": str,
            "report": str,
            "verdict": str,
            "headline": str,
            "delivery": str,
            "message_ts": str,
            "parent_id": int,
        },
        pk="id",
        not_null={"team", "channel", "user", "created", "scenario", "report", "delivery"},
    )
    db["analyses"].create_index(["delivery"], unique=True)
    db["analyses"].create_index(["team", "channel", "id"])


@migrations()
def m002_audits(db: sqlite_utils.Database) -> None:
    db["audits"].create(
        {
            "id": int,
            "team": str,
            "channel": str,
            "user": str,
            "created": str,
            "analysis_id": int,
            "answers": str,
            "result": str,
            "delivery": str,
            "message_ts": str,
        },
        pk="id",
        not_null={"team", "user", "created", "answers", "result", "delivery"},
    )
    db["audits"].create_index(["delivery"], unique=True)
    db["audits"].create_index(["team", "channel", "id"])
    db["audit_drafts"].create(
        {"team": str, "user": str, "updated": str, "state": str},
        pk=("team", "user"),
    )


@migrations()
def m003_spend_and_weekly(db: sqlite_utils.Database) -> None:
    db["spend"].create(
        {
            "team": str,
            "day": str,
            "provider": str,
            "model": str,
            "source": str,
            "cost": float,
            "input_tokens": int,
            "output_tokens": int,
            "requests": int,
            "updated": str,
        },
        pk=("team", "day", "provider", "model", "source"),
    )
    db["weekly_channels"].create(
        {"team": str, "channel": str, "day": str, "time": str, "tz": str, "quiet": int, "updated": str},
        pk=("team", "channel"),
    )
    # One row per team, channel and ISO week: the exactly-once guard of the weekly summary.
    db["weekly_posts"].create(
        {"team": str, "channel": str, "week": str, "status": str, "claimed": str, "ts": str, "sides": str},
        pk=("team", "channel", "week"),
    )


@dataclass(frozen=True)
class Analysis:
    id: int
    team: str
    channel: str
    user: str
    created: str
    kind: str
    text: str
    scenario: dict
    report: dict
    verdict: str
    headline: str
    message_ts: str | None
    parent_id: int | None

    @classmethod
    def from_row(cls, row: dict) -> Analysis:
        return cls(
            id=row["id"],
            team=row["team"],
            channel=row["channel"],
            user=row["user"],
            created=row["created"],
            kind=row["kind"],
            text=row["text"] or "",
            scenario=json.loads(row["scenario"]),
            report=json.loads(row["report"]),
            verdict=row["verdict"],
            headline=row["headline"],
            message_ts=row["message_ts"],
            parent_id=row["parent_id"],
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: Path | str):
        self.path = str(path)
        self._local = threading.local()
        db = self.db
        db.enable_wal()
        migrations.apply(db)

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (sqlite3 connections may not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA busy_timeout = 30000")
            db = sqlite_utils.Database(connection)
            self._local.db = db
        return db

    # --- analyses --------------------------------------------------------------------------

    def claim_analysis(
        self,
        *,
        delivery: str,
        team: str,
        channel: str,
        user: str,
        kind: str,
        text: str,
        scenario: dict,
        report: dict,
        parent_id: int | None = None,
    ) -> int | None:
        """Insert the analysis unless this delivery was already seen: its id, or None for a repeat."""
        return self._insert_once(
            "analyses",
            {
                "team": team,
                "channel": channel,
                "user": user,
                "created": now_iso(),
                "kind": kind,
                "text": text,
                "scenario": json.dumps(scenario),
                "report": json.dumps(report),
                "verdict": report["verdict"],
                "headline": report["headline"],
                "delivery": delivery,
                "parent_id": parent_id,
            },
        )

    def _insert_once(self, table: str, values: dict[str, Any]) -> int | None:
        """INSERT OR IGNORE against the table's unique delivery key: the new row id, or None if it existed."""
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self.db.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", list(values.values()))
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def set_message_ts(self, analysis_id: int, ts: str) -> None:
        self.db.execute("UPDATE analyses SET message_ts = ? WHERE id = ?", [ts, analysis_id])

    def forget_analysis(self, analysis_id: int) -> None:
        """Undo a claim whose message could not be posted, so history holds only what the channel saw."""
        self.db.execute("DELETE FROM analyses WHERE id = ?", [analysis_id])

    def analysis(self, team: str, channel: str, analysis_id: int) -> Analysis | None:
        """One analysis, only if it belongs to this team and channel."""
        rows = list(
            self.db.query(
                "SELECT * FROM analyses WHERE id = ? AND team = ? AND channel = ?", [analysis_id, team, channel]
            )
        )
        return Analysis.from_row(rows[0]) if rows else None

    def history(self, team: str, channel: str, limit: int = 10) -> list[Analysis]:
        rows = self.db.query(
            "SELECT * FROM analyses WHERE team = ? AND channel = ? ORDER BY id DESC LIMIT ?", [team, channel, limit]
        )
        return [Analysis.from_row(row) for row in rows]

    def count_analyses(self) -> int:
        return self.db["analyses"].count

    # --- audits ----------------------------------------------------------------------------

    def claim_audit(
        self,
        *,
        delivery: str,
        team: str,
        channel: str,
        user: str,
        analysis_id: int | None,
        answers: str,
        result: dict,
    ) -> int | None:
        return self._insert_once(
            "audits",
            {
                "team": team,
                "channel": channel,
                "user": user,
                "created": now_iso(),
                "analysis_id": analysis_id,
                "answers": answers,
                "result": json.dumps(result),
                "delivery": delivery,
            },
        )

    def set_audit_ts(self, audit_id: int, ts: str) -> None:
        self.db.execute("UPDATE audits SET message_ts = ? WHERE id = ?", [ts, audit_id])

    def forget_audit(self, audit_id: int) -> None:
        self.db.execute("DELETE FROM audits WHERE id = ?", [audit_id])

    def audits(self, team: str, channel: str, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, user, created, analysis_id, result FROM audits WHERE team = ? AND channel = ? "
            "ORDER BY id DESC LIMIT ?",
            [team, channel, limit],
        )
        return [{**row, "result": json.loads(row["result"])} for row in rows]

    def save_draft(self, team: str, user: str, state: str) -> None:
        self.db["audit_drafts"].upsert(
            {"team": team, "user": user, "updated": now_iso(), "state": state}, pk=("team", "user")
        )

    def draft(self, team: str, user: str) -> str | None:
        rows = list(self.db.query("SELECT state FROM audit_drafts WHERE team = ? AND user = ?", [team, user]))
        return rows[0]["state"] if rows else None

    def drop_draft(self, team: str, user: str) -> None:
        self.db.execute("DELETE FROM audit_drafts WHERE team = ? AND user = ?", [team, user])

    def all_reports(self, team: str, channel: str) -> list[dict]:
        rows = self.db.query(
            "SELECT id, report FROM analyses WHERE team = ? AND channel = ? ORDER BY id", [team, channel]
        )
        return [{"id": row["id"], "report": json.loads(row["report"])} for row in rows]

    # --- spend -----------------------------------------------------------------------------

    def save_spend(self, team: str, rows: list) -> int:
        """Insert or replace rows (SpendRow) in one transaction: re-importing the same data changes nothing."""
        stamp = now_iso()
        records = [
            {
                "team": team,
                "day": r.day.isoformat(),
                "provider": r.provider,
                "model": r.model,
                "source": r.source,
                "cost": r.cost,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "requests": r.requests,
                "updated": stamp,
            }
            for r in rows
        ]
        columns = list(records[0]) if records else []
        sql = f"INSERT OR REPLACE INTO spend ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        connection = self.db.conn
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(sql, [list(r.values()) for r in records])
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return len(records)

    def spend(self, team: str, since: str) -> list:
        from costcore.spend import SpendRow

        rows = self.db.query("SELECT * FROM spend WHERE team = ? AND day >= ? ORDER BY day", [team, since])
        return [
            SpendRow(
                day=r["day"],
                provider=r["provider"],
                model=r["model"],
                cost=r["cost"],
                input_tokens=r["input_tokens"],
                output_tokens=r["output_tokens"],
                requests=r["requests"],
                source=r["source"],
            )
            for r in rows
        ]

    # --- weekly summaries ------------------------------------------------------------------

    def set_weekly_channel(self, team: str, channel: str, day: str, time: str, tz: str, quiet: bool) -> None:
        self.db["weekly_channels"].upsert(
            {
                "team": team,
                "channel": channel,
                "day": day,
                "time": time,
                "tz": tz,
                "quiet": int(quiet),
                "updated": now_iso(),
            },
            pk=("team", "channel"),
        )

    def weekly_channels(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM weekly_channels"))

    def weekly_channel(self, team: str, channel: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM weekly_channels WHERE team = ? AND channel = ?", [team, channel]))
        return rows[0] if rows else None

    def claim_week(self, team: str, channel: str, week: str, *, stale_after_s: int = 600) -> bool:
        """Claim the week's summary for this channel; False if it was posted, or is being posted, already.

        The claim is a row in the database, so two processes, a restart, the scheduler and the CLI
        all see it. A failed post, or a claim left by a process that died mid-post, may be retaken.
        """
        stamp = now_iso()
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO weekly_posts (team, channel, week, status, claimed) VALUES (?, ?, ?, 'posting', ?)",
            [team, channel, week, stamp],
        )
        if cursor.rowcount == 1:
            return True
        stale = datetime.fromtimestamp(datetime.now(UTC).timestamp() - stale_after_s, UTC).isoformat(timespec="seconds")
        cursor = self.db.execute(
            "UPDATE weekly_posts SET status = 'posting', claimed = ? WHERE team = ? AND channel = ? AND week = ? "
            "AND (status = 'failed' OR (status = 'posting' AND claimed < ?))",
            [stamp, team, channel, week, stale],
        )
        return cursor.rowcount == 1

    def finish_week(
        self, team: str, channel: str, week: str, *, ok: bool, ts: str | None = None, sides: dict | None = None
    ) -> None:
        self.db.execute(
            "UPDATE weekly_posts SET status = ?, ts = ?, sides = ? WHERE team = ? AND channel = ? AND week = ?",
            ["posted" if ok else "failed", ts, json.dumps(sides or {}), team, channel, week],
        )

    def last_sides(self, team: str, channel: str, before_week: str) -> dict[int, bool]:
        rows = list(
            self.db.query(
                "SELECT sides FROM weekly_posts WHERE team = ? AND channel = ? AND week < ? AND status = 'posted' "
                "ORDER BY week DESC LIMIT 1",
                [team, channel, before_week],
            )
        )
        if not rows or not rows[0]["sides"]:
            return {}
        return {int(k): v for k, v in json.loads(rows[0]["sides"]).items()}
