"""Spend in SQLite: manual entries, CSV files (generic and OpenAI's export), idempotent and whole."""

import datetime as dt
import sqlite3

import pytest
import sqlite_utils

from bot.spend import add_manual, import_csv, load_spend, save_spend
from bot.store import Store
from costcore.spend import SpendCsvError, SpendRow, parse_spend_add, summarise

from .conftest import NOW, WEEK47

GOOD = "day,provider,model,cost,input_tokens,output_tokens,requests\n" + "".join(
    f"{d},OpenAI,gpt-4o,$100,1M,200k,10000\n" for d in WEEK47
)


def _write(path, text):
    path.write_text(text)
    return path


def totals(db_path):
    with sqlite3.connect(db_path) as connection:
        return connection.execute("SELECT count(*), coalesce(sum(cost), 0) FROM spend").fetchone()


def test_importing_the_same_file_twice_keeps_one_copy(db, db_path, tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text(GOOD)
    assert import_csv(db, "T1", path) == "Imported 7 rows from spend.csv: $700.00, 2026-11-16 to 2026-11-22."
    import_csv(db, "T1", path)
    assert totals(db_path) == (7, 700.0)
    rows = load_spend(db, "T1", "2026-11-01")
    assert rows[0] == SpendRow(
        day=dt.date(2026, 11, 16),
        provider="openai",
        model="gpt-4o",
        cost=100,
        input_tokens=1_000_000,
        output_tokens=200_000,
        requests=10_000,
        source="csv:generic",
    )
    assert load_spend(db, "T2", "2026-11-01") == []  # another team sees none of it


def test_a_corrected_file_replaces_the_days_it_covers(db, db_path, tmp_path):
    path = tmp_path / "spend.csv"
    path.write_text(GOOD)
    import_csv(db, "T1", path)
    path.write_text("date,provider,model,cost\n2026-11-16,openai,gpt-4o,150\n")
    import_csv(db, "T1", path)
    assert totals(db_path) == (7, 750.0)


@pytest.mark.parametrize(
    "bad_line, line, column",
    [
        ("2026-11-20,openai,gpt-4o,five dollars,,,", 5, "cost"),
        ("2026-11-20,openai,gpt-4o,5,,,,extra", 5, None),
    ],
)
def test_a_bad_row_rejects_the_whole_file_and_names_line_and_column(  # every kind of bad cell: tests/test_spend.py
    db, db_path, tmp_path, bad_line, line, column
):
    import_csv(db, "T1", _write(tmp_path / "good.csv", GOOD))
    # The same days again at $999, with one bad row in the middle: none of it may land.
    lines = GOOD.replace("$100", "$999").splitlines()
    path = _write(tmp_path / "bad.csv", "\n".join([*lines[:4], bad_line, *lines[4:]]) + "\n")
    with pytest.raises(SpendCsvError) as caught:
        import_csv(db, "T1", path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"line {line}") and "Nothing was imported" in str(caught.value)
    assert totals(db_path) == (7, 700.0)


def test_line_numbers_count_quoted_line_breaks(db, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('day,provider,model,cost,note\n2026-11-16,openai,gpt-4o,5,"two\nlines"\n2026-11-17,openai,,5,\n')
    with pytest.raises(SpendCsvError, match="line 4, column 'model'"):
        import_csv(db, "T1", path)


def test_unreadable_files_are_named(db, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("day,provider,model,cost\n2026-11-16,openai,caf\xe9,5\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        import_csv(db, "T1", path)
    with pytest.raises(ValueError, match="cannot read"):
        import_csv(db, "T1", tmp_path / "missing.csv")


def test_openai_cost_export_and_the_api_do_not_count_twice(db, tmp_path):
    start = int(dt.datetime(2026, 11, 16, tzinfo=dt.UTC).timestamp())
    path = tmp_path / "openai-costs.csv"
    path.write_text(
        "start_time,end_time,amount_value,amount_currency,line_item,project_id\n"
        f'{start},{start + 86400},60,usd,"gpt-4o-2024-08-06, input",proj_1\n'
        f'{start},{start + 86400},40,usd,"gpt-4o-2024-08-06, output",proj_1\n'
        f'{start + 86400},{start + 2 * 86400},30,usd,"gpt-4o-2024-08-06, input",proj_1\n'
    )
    assert "Imported 2 rows" in import_csv(db, "T1", path)
    # The API has the 16th (the same $100); the 17th is known from the export only.
    save_spend(db, "T1", [SpendRow(day=WEEK47[0], provider="openai", model="gpt-4o", cost=100, source="openai-api")])
    assert summarise(load_spend(db, "T1", "2026-11-01"), NOW).total == pytest.approx(130)


def test_spend_add_replies_and_says_what_it_replaced(db):
    row = parse_spend_add("$1,200 openai gpt-4o 2026-11-20 in=30M out=6M requests=40k", today=dt.date(2026, 11, 24))
    assert add_manual(db, "T1", row) == "Recorded $1,200 of openai gpt-4o on 2026-11-20."
    assert add_manual(db, "T1", row).endswith("(already recorded: nothing changed).")
    fixed = parse_spend_add("$1.1k openai gpt-4o 2026-11-20", today=dt.date(2026, 11, 24))
    assert "replaces the $1,200 recorded for that day earlier" in add_manual(db, "T1", fixed)
    assert [r.cost for r in load_spend(db, "T1", "2026-11-01")] == [1100]


def test_the_bot_store_and_these_tables_share_one_file(db_path):
    store = Store(db_path)  # the bot's own migrations first, as at the bot's start
    save_spend(store, "T1", [SpendRow(day=WEEK47[0], provider="openai", model="gpt-4o", cost=5)])
    plain = sqlite_utils.Database(db_path)
    assert [r.cost for r in load_spend(plain, "T1", "2026-11-01")] == [5]
    applied = {(r["migration_set"], r["name"]) for r in plain["_sqlite_migrations"].rows}
    assert ("breakeven-spend", "m001_spend_and_weekly") in applied


def test_overlapping_exports_under_other_names_replace_the_days_they_cover(db, db_path, tmp_path):
    import_csv(db, "T1", _write(tmp_path / "nov-1.csv", GOOD))
    overlap = "day,provider,model,cost\n" + "".join(f"{d},openai,gpt-4o,$50\n" for d in WEEK47[-3:])
    assert "Imported 3 rows" in import_csv(db, "T1", _write(tmp_path / "nov-2.csv", overlap))
    assert totals(db_path) == (7, 4 * 100 + 3 * 50)
    # A corrected export that drops a model from a day drops it from that day.
    fixed = "day,provider,model,cost\n" + f"{WEEK47[0]},anthropic,claude-3-5-haiku,$1\n"
    import_csv(db, "T1", _write(tmp_path / "nov-3.csv", fixed))
    assert {(r.day, r.model) for r in load_spend(db, "T1", WEEK47[0], WEEK47[0])} == {(WEEK47[0], "claude-3-5-haiku")}


def test_a_csv_and_the_api_for_the_same_day_are_a_conflict_counted_once(db, tmp_path, openai_fake):
    from bot.spend import sync_openai

    # The API has gpt-4o-2024-08-06 at $100 a day for week 47; a generic file says $120 for two days.
    sync_openai(db, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    csv = "day,provider,model,cost\n" + "".join(f"{d},openai,gpt-4o-2024-08-06,120\n" for d in WEEK47[:2])
    message = import_csv(db, "T1", _write(tmp_path / "mine.csv", csv))
    assert "2 day(s) were also recorded from another source" in message
    assert "2026-11-16 openai gpt-4o-2024-08-06: openai-api says $100.00, this import $120.00" in message
    rows = load_spend(db, "T1", "2026-11-01")
    assert len(rows) == 7 and sum(r.cost for r in rows) == pytest.approx(5 * 100 + 2 * 120)  # never 100 + 120
    # Syncing again makes the API's figure the latest: it counts, once.
    sync_openai(db, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    assert sum(r.cost for r in load_spend(db, "T1", "2026-11-01")) == pytest.approx(700)


def test_a_sync_replaces_its_window_so_a_day_the_api_now_reports_empty_is_empty(db, openai_fake):
    from bot.spend import SOURCE, sync_openai

    stale = SpendRow(day=dt.date(2026, 11, 20), provider="openai", model="gpt-4-old", cost=9, source=SOURCE)
    save_spend(db, "T1", [stale])
    sync_openai(db, "T1", "sk-admin-test", openai_fake.url, days=10, today=dt.date(2026, 11, 23))
    assert "gpt-4-old" not in {r.model for r in load_spend(db, "T1", "2026-11-01")}
