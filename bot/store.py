"""History in SQLite (sqlite-utils): analyses and audits, keyed so that a repeated delivery
writes one row. One connection per thread; WAL so readers never wait for the writer."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .db import StoreError, connect, prepare, why_not, write_probe

log = logging.getLogger("breakeven.bot")

__all__ = ["Analysis", "Store", "StoreError", "migrations"]

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
def m004_jobs(db: sqlite_utils.Database) -> None:
    # The durable work queue (bot/jobs.py): one row per delivery Slack made, stored before the ack.
    db["jobs"].create(
        {
            "id": int,
            "uid": str,
            "delivery": str,
            "kind": str,
            "lane": str,
            "team": str,
            "channel": str,
            "user": str,
            "response_url": str,
            "payload": str,
            "status": str,
            "attempts": int,
            "owner": str,
            "created": float,
            "claimed": float,
            "finished": float,
            "ts": str,
            "error": str,
        },
        pk="id",
        not_null={"uid", "delivery", "kind", "lane", "payload", "status", "attempts", "created"},
        defaults={"attempts": 0, "status": "queued"},
    )
    db["jobs"].create_index(["delivery"], unique=True)
    # No index on status: every index is written on the ack path, and only start-up and idle
    # checks look jobs up by status (finished rows are pruned, so the scan stays short).


@migrations()
def m005_job_chart(db: sqlite_utils.Database) -> None:
    # The file id of the chart a job uploaded: a job resumed after a crash does not upload it again.
    db["jobs"].add_column("chart", str)


@migrations()
def m006_analysis_asked_text(db: sqlite_utils.Database) -> None:
    # What was asked in plain words (masked, as it was sent), beside the grammar line that ran (`text`);
    # and the thread an answer was posted in: a follow-up there finds its analysis here, never through
    # conversations.history.
    db["analyses"].add_column("asked", str)
    db["analyses"].add_column("thread_ts", str)
    db["analyses"].create_index(["channel", "message_ts"])
    db["analyses"].create_index(["channel", "thread_ts"])


@migrations()
def m006_ask_confirmations(db: sqlite_utils.Database) -> None:
    # A question understood and waiting for Run, Edit or Cancel (bot/listeners/ask.py): stored only once
    # the model's answer was read and checked, so a failure leaves nothing behind.
    db["asks"].create(
        {
            "id": int,
            "team": str,
            "channel": str,
            "user": str,
            "thread_ts": str,
            "created": str,
            "delivery": str,
            "asked": str,
            "line": str,
            "audit_line": str,
            "intent": str,
            "understood": str,
            "usage": str,
            "status": str,
            "confirm_ts": str,
            "run_delivery": str,
            "analysis_id": int,
        },
        pk="id",
        not_null={"team", "channel", "user", "created", "delivery", "asked", "understood", "status"},
        defaults={"status": "pending"},
    )
    db["asks"].create_index(["delivery"], unique=True)
    # Who was shown the Messages tab's welcome (where suggested prompts are not available): once each.
    db["ask_welcomed"].create({"team": str, "user": str, "created": str}, pk=("team", "user"))


@migrations()
def m006_readiness_probe(db: sqlite_utils.Database) -> None:
    # /readyz proves the database takes a write by rewriting this one row (bot/health.py).
    db["readiness"].create({"id": int, "checked": float}, pk="id")


@migrations()
def m007_oauth_workspaces(db: sqlite_utils.Database) -> None:
    # Many workspaces (bot/oauth.py): each one's bot installation, and the OAuth states in flight.
    db["workspaces"].create(
        {
            "team": str,
            "enterprise": str,
            "team_name": str,
            "app_id": str,
            "bot_token": str,
            "bot_id": str,
            "bot_user_id": str,
            "bot_scopes": str,
            "installed": float,
        },
        pk="team",
        not_null={"team", "bot_token"},
    )
    db["oauth_states"].create({"nonce": str, "expires": float}, pk="nonce", not_null={"expires"})


@migrations()
def m008_decision_versions(db: sqlite_utils.Database) -> None:
    # A saved analysis re-evaluated with today's prices and measured volume (bot/recheck.py): a version is
    # written when the evaluation differs from the latest one, linked to the original analysis; the weekly
    # summary that reported it is noted, so a change is reported once.
    db["decision_versions"].create(
        {
            "id": int,
            "analysis_id": int,
            "team": str,
            "channel": str,
            "version": int,
            "created": str,
            "trigger": str,
            "scenario": str,
            "report": str,
            "verdict": str,
            "monthly_savings": float,
            "basis": str,
            "summary_week": str,
        },
        pk="id",
        not_null={"analysis_id", "team", "channel", "version", "created", "scenario", "report", "verdict"},
        foreign_keys=[("analysis_id", "analyses", "id")],
    )
    db["decision_versions"].create_index(["analysis_id", "version"], unique=True)
    db["decision_versions"].create_index(["team", "channel"])


@migrations()
def m008_budgets_and_alerts(db: sqlite_utils.Database) -> None:
    # `/breakeven budget` (bot/budget.py): a channel's monthly budget, for all its spend or one model ('').
    db["budgets"].create(
        {
            "team": str,
            "channel": str,
            "model": str,
            "amount": float,
            "thresholds": str,
            "user": str,
            "updated": str,
        },
        pk=("team", "channel", "model"),
        not_null={"amount", "thresholds"},
    )
    # One row per budget (its amount too), month and threshold: the exactly-once guard of an alert (claimed,
    # then posted, as the weekly summary's), and the alert itself until someone acknowledges it.
    db["budget_alerts"].create(
        {
            "id": int,
            "team": str,
            "channel": str,
            "model": str,
            "period": str,
            "threshold": str,
            "status": str,
            "claimed": str,
            "ts": str,
            "text": str,
            "spent": float,
            "budget": float,
            "forecast": float,
            "acked_by": str,
            "acked_at": str,
        },
        pk="id",
        not_null={"team", "channel", "model", "period", "threshold", "status"},
    )
    db["budget_alerts"].create_index(["team", "channel", "model", "period", "threshold", "budget"], unique=True)


def migration_sets() -> tuple[Migrations, ...]:
    """Every table set of the bot's one database, in the order they are applied (the store's own, the
    spend and weekly tables, the measurements): what start-up applies and /readyz expects applied."""
    from .measure import migrations as measure_migrations
    from .spend import migrations as spend_migrations

    return (migrations, spend_migrations, measure_migrations)


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
    asked: str | None = None  # the words it was asked in, when it was asked in plain words
    thread_ts: str | None = None  # the thread it was posted in (None: a message of its own)

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
            asked=row.get("asked"),
            thread_ts=row.get("thread_ts"),
        )


def _ask_row(row: dict) -> dict[str, Any]:
    return {**row, "understood": json.loads(row["understood"]), "usage": json.loads(row["usage"] or "{}")}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: Path | str):
        self.path = str(path)
        self._local = threading.local()
        self._jobs = None
        try:  # the tables in place, and a write that proves the file takes one (or one line why not)
            prepare(self.db, *migration_sets(), probe=write_probe)
        except sqlite3.Error as exc:
            raise StoreError(why_not(self.path, exc)) from None

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (sqlite3 connections may not cross threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(connect(self.path))
            self._local.db = db
        return db

    @property
    def jobs(self):
        """The work queue, on its own connection shared by every thread under one lock."""
        if self._jobs is None:
            from .jobs import Jobs

            self._jobs = Jobs(connect(self.path), checkpoint=self.checkpoint)
        return self._jobs

    def checkpoint(self) -> None:
        """Copy the WAL into the database (PASSIVE: waits for no reader or writer), on this thread's
        connection; a failure is only logged, the next checkpoint catches up."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)

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
        asked: str | None = None,
        thread_ts: str | None = None,
    ) -> tuple[int, str | None]:
        """The analysis row of this delivery: (id, message_ts). Inserted the first time; a job resumed
        after a crash finds its own row again (message_ts set if it was posted)."""
        self._insert_once(
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
                "asked": asked,
                "thread_ts": thread_ts,
            },
        )
        row = self.db.execute("SELECT id, message_ts FROM analyses WHERE delivery = ?", [delivery]).fetchone()
        return row[0], row[1]

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
        # Only what the channel saw: a row whose post never happened is not history.
        rows = list(
            self.db.query(
                "SELECT * FROM analyses WHERE id = ? AND team = ? AND channel = ? AND message_ts IS NOT NULL",
                [analysis_id, team, channel],
            )
        )
        return Analysis.from_row(rows[0]) if rows else None

    def history(self, team: str, channel: str, limit: int = 10) -> list[Analysis]:
        rows = self.db.query(
            "SELECT * FROM analyses WHERE team = ? AND channel = ? AND message_ts IS NOT NULL ORDER BY id DESC LIMIT ?",
            [team, channel, limit],
        )
        return [Analysis.from_row(row) for row in rows]

    def count_analyses(self) -> int:
        return self.db["analyses"].count

    def thread_analysis(self, team: str, channel: str, thread_ts: str) -> Analysis | None:
        """The latest analysis the channel saw in this thread (its first message, or a reply in it): the
        scenario a follow-up there changes."""
        rows = list(
            self.db.query(
                "SELECT * FROM analyses WHERE channel = ? AND (message_ts = ? OR thread_ts = ?) AND team = ? "
                "AND message_ts IS NOT NULL ORDER BY id DESC LIMIT 1",
                [channel, thread_ts, thread_ts, team],
            )
        )
        return Analysis.from_row(rows[0]) if rows else None

    def answered_in(self, team: str, channel: str, thread_ts: str) -> bool:
        """Whether an analysis was posted in this thread (for the message listener: two index lookups)."""
        return bool(
            self.db.execute(
                "SELECT 1 FROM analyses WHERE channel = ? AND message_ts = ? AND team = ? UNION ALL "
                "SELECT 1 FROM analyses WHERE channel = ? AND thread_ts = ? AND team = ? LIMIT 1",
                [channel, thread_ts, team, channel, thread_ts, team],
            ).fetchone()
        )

    # --- questions asked in plain words ------------------------------------------------------

    def claim_ask(
        self,
        *,
        delivery: str,
        team: str,
        channel: str,
        user: str,
        thread_ts: str | None,
        asked: str,
        understood: dict,
        usage: dict,
    ) -> tuple[int, str | None]:
        """The question of this delivery, understood: (id, ts of its confirmation once posted). A job
        resumed after a crash finds its row again instead of asking the model twice."""
        self._insert_once(
            "asks",
            {
                "team": team,
                "channel": channel,
                "user": user,
                "thread_ts": thread_ts,
                "created": now_iso(),
                "delivery": delivery,
                "asked": asked,
                "line": understood.get("line") or "",
                "audit_line": understood.get("audit_line") or "",
                "intent": understood.get("intent") or "analysis",
                "understood": json.dumps(understood),
                "usage": json.dumps(usage),
            },
        )
        row = self.db.execute("SELECT id, confirm_ts FROM asks WHERE delivery = ?", [delivery]).fetchone()
        return row[0], row[1]

    def found_ask(self, delivery: str) -> dict[str, Any] | None:
        """The question a delivery already stored (a resumed job), or None."""
        rows = list(self.db.query("SELECT * FROM asks WHERE delivery = ?", [delivery]))
        return _ask_row(rows[0]) if rows else None

    def ask(self, team: str, ask_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM asks WHERE id = ? AND team = ?", [ask_id, team]))
        return _ask_row(rows[0]) if rows else None

    def set_ask_confirm_ts(self, ask_id: int, ts: str) -> None:
        self.db.execute("UPDATE asks SET confirm_ts = ? WHERE id = ?", [ts, ask_id])

    def take_ask(self, ask_id: int, delivery: str, status: str) -> bool:
        """Mark a pending question `status` (ran, cancelled) for this delivery, once: False when it was
        run or cancelled before (a second click), True again for the same delivery (a resumed job)."""
        cursor = self.db.execute(
            "UPDATE asks SET status = ?, run_delivery = ? WHERE id = ? AND (status = 'pending' OR run_delivery = ?)",
            [status, delivery, ask_id, delivery],
        )
        return cursor.rowcount == 1

    def release_ask(self, ask_id: int) -> None:
        """Back to pending: its run could not be posted, so Run may be clicked again."""
        self.db.execute("UPDATE asks SET status = 'pending', run_delivery = NULL WHERE id = ?", [ask_id])

    def set_ask_analysis(self, ask_id: int, analysis_id: int) -> None:
        self.db.execute("UPDATE asks SET analysis_id = ? WHERE id = ?", [analysis_id, ask_id])

    def welcome_once(self, team: str, user: str) -> bool:
        """True the first time only: the Messages tab's welcome message is not posted on every visit."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO ask_welcomed (team, user, created) VALUES (?, ?, ?)", [team, user, now_iso()]
        )
        return cursor.rowcount == 1

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
    ) -> tuple[int, str | None]:
        """The audit row of this delivery: (id, message_ts), as claim_analysis."""
        self._insert_once(
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
        row = self.db.execute("SELECT id, message_ts FROM audits WHERE delivery = ?", [delivery]).fetchone()
        return row[0], row[1]

    def set_audit_ts(self, audit_id: int, ts: str) -> None:
        self.db.execute("UPDATE audits SET message_ts = ? WHERE id = ?", [ts, audit_id])

    def forget_audit(self, audit_id: int) -> None:
        self.db.execute("DELETE FROM audits WHERE id = ?", [audit_id])

    def audits(self, team: str, channel: str, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, user, created, analysis_id, result FROM audits WHERE team = ? AND channel = ? "
            "AND message_ts IS NOT NULL ORDER BY id DESC LIMIT ?",
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
