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
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO analyses (team, channel, user, created, kind, text, scenario, report, verdict, "
            "headline, delivery, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                team,
                channel,
                user,
                now_iso(),
                kind,
                text,
                json.dumps(scenario),
                json.dumps(report),
                report["verdict"],
                report["headline"],
                delivery,
                parent_id,
            ],
        )
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
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO audits (team, channel, user, created, analysis_id, answers, result, delivery) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [team, channel, user, now_iso(), analysis_id, answers, json.dumps(result), delivery],
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

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
