"""The CLI's stateful commands over the same storage as the bot: import, dry run, the weekly guard."""

import datetime as dt
import sqlite3
import subprocess
import sys

import time_machine

from bot.weekly import post_weekly_summary
from breakeven.cli import main as cli

from .conftest import NOW, WEEK47
from .test_post import seed

RUN = [sys.executable, "-m", "breakeven"]


def test_import_checks_the_whole_file_first_then_keeps_one_copy_and_dry_runs(tmp_path):
    db = str(tmp_path / "cli.db")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,provider,model,cost\n2026-11-17,openai,gpt-4o,5\n2026-11-18,openai,gpt-4o,oops\n")
    result = subprocess.run([*RUN, "spend", "import", str(bad), "--db", db], capture_output=True, text=True)
    assert result.returncode == 2 and "line 3, column 'cost'" in result.stderr
    assert not (tmp_path / "cli.db").exists()  # the file is checked whole before anything is written
    good = tmp_path / "good.csv"
    good.write_text("day,provider,model,cost,requests\n" + "".join(f"{d},openai,gpt-4o,100,10000\n" for d in WEEK47))
    for _ in range(2):  # importing twice keeps one copy
        result = subprocess.run([*RUN, "spend", "import", str(good), "--db", db], capture_output=True, text=True)
        assert result.returncode == 0 and "Imported 7 rows" in result.stdout
    # An overlapping export under another file name replaces the days it covers: no double count.
    overlap = tmp_path / "export-2.csv"
    overlap.write_text("day,provider,model,cost\n" + "".join(f"{d},openai,gpt-4o,50\n" for d in WEEK47[-2:]))
    assert subprocess.run([*RUN, "spend", "import", str(overlap), "--db", db], capture_output=True).returncode == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*), sum(cost) FROM spend").fetchone() == (7, 600.0)
    with time_machine.travel(NOW, tick=False):
        assert cli(["weekly", "--dry-run", "--db", db, "--out", str(tmp_path)]) == 0
    assert "*$600.00*" in (tmp_path / "weekly-2026-W47.txt").read_text()
    assert (tmp_path / "weekly-2026-W47.png").read_bytes().startswith(b"\x89PNG")


def test_a_bad_database_path_is_one_line_and_exit_2(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("day,provider,model,cost\n2026-11-16,openai,gpt-4o,1\n")
    result = subprocess.run(
        [*RUN, "spend", "import", str(good), "--db", str(tmp_path / "missing" / "dir" / "x.db")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot open the database" in result.stderr


def test_the_cli_in_the_same_week_skips_what_the_bot_posted(slack, client, db, db_path, monkeypatch, capsys):
    monkeypatch.chdir(db_path.parent)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    seed(db_path)
    assert post_weekly_summary(client, db, "T1", "C9", NOW).status == "posted"
    with time_machine.travel(NOW + dt.timedelta(days=3), tick=False):
        code = cli(["weekly", "--channel", "C9", "--team", "T1", "--db", str(db_path)])
    assert code == 0 and "C9 2026-W47: skipped" in capsys.readouterr().out
    assert len(slack.called("chat.postMessage")) == 1
