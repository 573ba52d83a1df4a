"""Spend in SQLite, and the sources that need the outside world.

Storage: every function takes a `sqlite_utils.Database` (the bot's `Store` is accepted too: its
`.db` is this thread's connection) and creates its own tables through its own migration set,
"breakeven-spend" (the bot's Store applies it at start, under the same lock as its own). This is
the one storage path for spend and weekly posts: the bot, the CLI and the scheduler all use it.

One row per team, day, provider, model and source. A source is where figures come from: `manual`,
`csv:generic`, `csv:openai` (a file's format, not its name: two overlapping exports are one source)
or `openai-api`. An import replaces what its source said about the days it covers (a corrected or
overlapping export never adds up twice, and a model dropped from a day is dropped); a day that
another source also recorded is reported as a conflict, and only the latest import of it counts.
A batch is written in one transaction, or not at all.

The OpenAI organization costs and usage API: costs (by line item) and completions usage (by
model), day by day through the openai SDK with an admin key, every page followed; the SDK
retries rate limits (honouring Retry-After), server errors, dropped connections and timeouts.
Rows are written only when every page has arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections import defaultdict
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from costcore.format import money
from costcore.spend import API_SOURCE, SpendRow

from .db import prepare, transaction

log = logging.getLogger("breakeven.spend")
SOURCE = API_SOURCE
migrations = Migrations("breakeven-spend")


@migrations()
def m001_spend_and_weekly(db: sqlite_utils.Database) -> None:
    # The same tables, columns and keys as bot/store.py's m003 once created: a database that already
    # has them carries on with its rows (if_not_exists), a new one gets them from here.
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
        if_not_exists=True,
    )
    db["weekly_channels"].create(
        {"team": str, "channel": str, "day": str, "time": str, "tz": str, "quiet": int, "updated": str},
        pk=("team", "channel"),
        if_not_exists=True,
    )
    # One row per team, channel and ISO week: the exactly-once guard of the weekly summary.
    db["weekly_posts"].create(
        {"team": str, "channel": str, "week": str, "status": str, "claimed": str, "ts": str, "sides": str},
        pk=("team", "channel", "week"),
        if_not_exists=True,
    )


@migrations()
def m002_spend_recorded_by(db: sqlite_utils.Database) -> None:
    # Who recorded a manual row (`/breakeven spend add`): only they, or an admin, may replace it.
    db["spend"].add_column("recorded_by", str)


_ready: weakref.WeakSet = weakref.WeakSet()


def database(source) -> sqlite_utils.Database:
    """A sqlite_utils.Database (or the bot's Store, or a callable giving either, opened only when
    needed: a file that fails its checks creates no database) with this module's tables in place."""
    if callable(source) and not isinstance(source, sqlite_utils.Database):
        source = source()
    db = source if isinstance(source, sqlite_utils.Database) else source.db
    if db not in _ready:
        if db.execute("PRAGMA busy_timeout").fetchone()[0] == 0:
            db.execute("PRAGMA busy_timeout = 30000")  # two processes: wait for the other's write
        prepare(db, migrations)
        _ready.add(db)
    return db


def now_iso() -> str:
    # Microseconds: "the latest import counts" must tell apart two imports in the same second.
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


COLUMNS = ("team", "day", "provider", "model", "source", "cost", "input_tokens", "output_tokens", "requests")


def save_spend(db, team: str, rows: list[SpendRow]) -> int:
    """Insert or replace rows in one transaction; the number written."""
    db = database(db)
    stamp = now_iso()
    values = [
        [team, r.day.isoformat(), r.provider, r.model, r.source, r.cost, r.input_tokens, r.output_tokens, r.requests]
        + [stamp]
        for r in rows
    ]
    sql = (
        f"INSERT OR REPLACE INTO spend ({', '.join(COLUMNS)}, updated) "
        f"VALUES ({', '.join('?' for _ in range(len(COLUMNS) + 1))})"
    )
    with transaction(db) as connection:
        connection.executemany(sql, values)
    return len(values)


# When two sources recorded the same day, provider and model the latest import counts; at the same
# second, the more complete source.
_PRECEDENCE = {SOURCE: 3, "csv:openai": 2, "csv:generic": 1, "manual": 0}


def load_spend(db, team: str, since: dt.date | str, until: dt.date | str | None = None) -> list[SpendRow]:
    """The team's rows from since (inclusive) to until (inclusive), oldest first; one row per day,
    provider and model (see conflicts)."""
    db = database(db)
    sql = f"SELECT {', '.join(COLUMNS)}, updated FROM spend WHERE team = ? AND day >= ?"
    params = [team, str(since)]
    if until is not None:
        sql += " AND day <= ?"
        params.append(str(until))
    chosen: dict[tuple, dict] = {}
    for row in db.query(sql + " ORDER BY day, provider, model", params):
        key = (row["day"], row["provider"], row["model"])
        rank = (row["updated"] or "", _PRECEDENCE.get(row["source"], 0))
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, row)
    return [
        SpendRow(**{k: v for k, v in row.items() if k not in ("team", "updated")}) for _rank, row in chosen.values()
    ]


def replace_days(db, team: str, source: str, rows: list[SpendRow], days: set[dt.date]) -> tuple[int, list[str]]:
    """What `source` says about `days`, in place of what it said before: (rows written, conflicts),
    a conflict being a day, provider and model another source recorded too. One transaction."""
    db = database(db)
    stamp = now_iso()
    day_list = sorted(d.isoformat() for d in days)
    with transaction(db) as connection:
        connection.executemany(
            "DELETE FROM spend WHERE team = ? AND source = ? AND day = ?", [[team, source, d] for d in day_list]
        )
        connection.executemany(
            f"INSERT OR REPLACE INTO spend ({', '.join(COLUMNS)}, updated) VALUES ({', '.join('?' * 10)})",
            [
                [team, r.day.isoformat(), r.provider, r.model, source, r.cost]
                + [r.input_tokens, r.output_tokens, r.requests, stamp]
                for r in rows
            ],
        )
        found = []
        for day in day_list:
            found += connection.execute(
                "SELECT o.day, o.provider, o.model, o.source, o.cost, n.cost FROM spend o JOIN spend n "
                "ON n.team = o.team AND n.day = o.day AND n.provider = o.provider AND n.model = o.model "
                "WHERE o.team = ? AND o.day = ? AND n.source = ? AND o.source != ? ORDER BY o.provider, o.model",
                [team, day, source, source],
            ).fetchall()
    conflicts = [
        f"{day} {provider} {model}: {other} says {money(old)}, this import {money(new)}"
        for day, provider, model, other, old, new in found
    ]
    return len(rows), conflicts


def _conflict_note(conflicts: list[str]) -> str:
    if not conflicts:
        return ""
    shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
    return (
        f" {len(conflicts)} day(s) were also recorded from another source; the weekly summary counts this "
        f"latest import for them (import the other source again to prefer it): {shown}."
    )


class NotYours(ValueError):
    """A row someone else recorded: only they, or an admin, may replace it (docs/slack.md)."""


def add_manual(db, team: str, row: SpendRow, *, user: str | None = None, admin: bool = False) -> str:
    """`/breakeven spend add ...`: store the row, recorded by `user`; the reply for the user (says
    what it replaced). NotYours when the day's row for that provider and model was recorded by
    someone else (or before the bot kept who recorded rows) and `user` is not an admin."""
    from .render import mention

    db = database(db)
    with transaction(db) as connection:
        before = connection.execute(
            "SELECT cost, recorded_by FROM spend WHERE team = ? AND day = ? AND provider = ? AND model = ? "
            "AND source = ?",
            [team, row.day.isoformat(), row.provider, row.model, row.source],
        ).fetchone()
        if before is not None and user is not None and not admin and before[1] != user:
            by = f"by {mention(before[1])}" if before[1] else "before the bot kept who records spend"
            raise NotYours(
                f"{money(before[0])} of {row.provider} {row.model} on {row.day} was recorded {by}: only they or an "
                "admin of breakeven (BREAKEVEN_ADMINS) may replace it. Nothing was changed."
            )
        save_spend(db, team, [row])
        connection.execute(
            "UPDATE spend SET recorded_by = ? WHERE team = ? AND day = ? AND provider = ? AND model = ? AND source = ?",
            [user, team, row.day.isoformat(), row.provider, row.model, row.source],
        )
    text = f"Recorded {money(row.cost)} of {row.provider} {row.model} on {row.day}"
    if before is not None and before[0] != row.cost:
        text += f" (it replaces the {money(before[0])} recorded for that day earlier)"
    elif before is not None:
        text += " (already recorded: nothing changed)"
    return text + "."


def import_csv(db, team: str, path: Path | str) -> str:
    """`breakeven spend import FILE.csv`: the whole file, or nothing (SpendCsvError names the line).
    It replaces what the same kind of file said about the days it covers."""
    from .bounds import spend_csv

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}). Nothing was imported.") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    rows = spend_csv(text)  # every row checked (and bounded) before anything is written
    written, conflicts = replace_days(db, team, rows[0].source, rows, {r.day for r in rows})
    first, last = min(r.day for r in rows), max(r.day for r in rows)
    total = money(sum(r.cost for r in rows))
    return f"Imported {written} rows from {path.name}: {total}, {first} to {last}." + _conflict_note(conflicts)


# ---------------------------------------------------------------------------------------
# The OpenAI organization costs and usage API


class SyncError(RuntimeError):
    pass


def openai_client(admin_key: str, base_url: str | None = None, *, max_retries: int = 4, timeout: float = 30.0):
    from .llm_client import openai_client as client  # the openai package loads only when a sync runs

    return client(
        api_key="unused-for-admin-endpoints",
        admin_api_key=admin_key,
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout,
    )


def _pages(call, **params):
    page = None
    while True:
        response = call(**params, **({"page": page} if page else {}))
        yield response
        if not getattr(response, "has_more", False) or not getattr(response, "next_page", None):
            return
        page = response.next_page


def fetch_openai(client, start: dt.date, end: dt.date) -> list[SpendRow]:
    """Daily rows per model from start (inclusive) to end (exclusive)."""
    import openai

    start_time = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
    end_time = int(dt.datetime.combine(end, dt.time(), dt.UTC).timestamp())
    days = max(1, (end - start).days)
    usage_api = client.admin.organization.usage
    costs: dict[tuple, float] = defaultdict(float)
    usage: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    try:
        for page in _pages(
            usage_api.costs,
            start_time=start_time,
            end_time=end_time,
            bucket_width="1d",
            group_by=["line_item"],
            limit=min(days, 180),
        ):
            for bucket in page.data:
                day = dt.datetime.fromtimestamp(bucket.start_time, dt.UTC).date()
                for result in bucket.results:
                    model = (getattr(result, "line_item", None) or "unattributed").split(",")[0].strip()
                    amount = getattr(result, "amount", None)
                    costs[(day, model or "unattributed")] += float(getattr(amount, "value", 0) or 0)
        for page in _pages(
            usage_api.completions,
            start_time=start_time,
            end_time=end_time,
            bucket_width="1d",
            group_by=["model"],
            limit=min(days, 31),
        ):
            for bucket in page.data:
                day = dt.datetime.fromtimestamp(bucket.start_time, dt.UTC).date()
                for result in bucket.results:
                    totals = usage[(day, getattr(result, "model", None) or "unattributed")]
                    totals[0] += result.input_tokens or 0
                    totals[1] += result.output_tokens or 0
                    totals[2] += result.num_model_requests or 0
    except openai.APIError as exc:
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status else exc.__class__.__name__
        raise SyncError(f"OpenAI costs API: {what} after retries: {getattr(exc, 'message', exc)}") from None
    rows = []
    for day, model in sorted(set(costs) | set(usage)):
        tokens_in, tokens_out, requests = usage.get((day, model), (0, 0, 0))
        rows.append(
            SpendRow(
                day=day,
                provider="openai",
                model=model,
                cost=round(max(costs.get((day, model), 0.0), 0.0), 6),
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                requests=requests,
                source=SOURCE,
            )
        )
    return rows


def sync_openai(
    db,
    team: str,
    admin_key: str,
    base_url: str | None = None,
    *,
    days: int = 35,
    today: dt.date | None = None,
    timeout: float = 30.0,
    max_retries: int = 4,
) -> int:
    """`breakeven spend sync openai`: fetch the last `days` days and store them (idempotent).
    The number of rows written; SyncError (nothing written) when a page fails after the retries."""
    today = today or dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=days)
    client = openai_client(admin_key, base_url, timeout=timeout, max_retries=max_retries)
    try:
        rows = fetch_openai(client, start, today + dt.timedelta(days=1))
    finally:
        client.close()
    # The API's word on every day of the window replaces what it said before (a day it now
    # reports empty is empty); conflicts with files or manual entries are logged.
    window = {start + dt.timedelta(days=i) for i in range(days + 1)}
    written, conflicts = replace_days(db, team, SOURCE, rows, window)
    if conflicts:
        log.info("OpenAI sync:%s", _conflict_note(conflicts))
    return written
