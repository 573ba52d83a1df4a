"""The queue's claims across processes, and the storage's SQL against hostile values.

A job is run by one process at a time and never again once finished: claims are checked against
real processes (one alive, one killed). Every lookup keyed by something a user types or Slack sends
(a user id, a team id, a saved measurement's name, a provider or model) is parameterised: a value
built to break out of a quoted string finds nothing but its own rows, and changes nothing else."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import pytest

from bot.jobs import Jobs, process_owner
from bot.store import Store

HOSTILE = [
    "' OR '1'='1",
    "x' OR 1=1 --",
    "'; DELETE FROM audit_drafts; --",
    "\" OR \"\"=\"",
    "%",
    "_",
    "\\",
    "U1'",
    "Robert'); DROP TABLE jobs;--",
]


def _add(jobs: Jobs, delivery: str, owner: str):
    return jobs.add(
        delivery=delivery, kind="command", lane="fast", team="T1", channel="C1", user="U1",
        response_url=None, payload={"text": "help"}, owner=owner,
    )  # fmt: skip


def _status(store: Store, job_id: int) -> tuple:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT status, attempts, owner FROM jobs WHERE id = ?", [job_id]).fetchone()


# --- the queue ---------------------------------------------------------------------------


def test_a_finished_job_is_never_claimed_or_resumed_again(tmp_path):
    store = Store(tmp_path / "q.db")
    me = process_owner()
    done = _add(store.jobs, "d-done", me)
    failed = _add(store.jobs, "d-failed", me)
    store.jobs.finish(done.id)
    store.jobs.finish(failed.id, "failed", "bad")
    assert store.jobs.claim(done.id, me) is None and store.jobs.claim(failed.id, me) is None
    assert store.jobs.take_over(process_owner()) == []  # a new start resumes neither
    assert _status(store, done.id)[:2] == ("done", 1) and _status(store, failed.id)[:2] == ("failed", 1)


def test_a_job_another_live_process_runs_is_not_taken_until_that_process_dies(tmp_path):
    store = Store(tmp_path / "q.db")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        theirs = process_owner(pid=other.pid)
        job = _add(store.jobs, "d-theirs", theirs)  # running for the other process
        me = process_owner()
        assert store.jobs.take_over(me) == []  # alive: its job stays its own
        assert store.jobs.claim(job.id, me) is None
        assert _status(store, job.id) == ("running", 1, theirs)
        other.send_signal(signal.SIGKILL)
        other.wait(10)
        assert store.jobs.take_over(me) == [(job.id, "fast")]  # dead: its job goes back to the queue
        claimed = store.jobs.claim(job.id, me)
        assert claimed is not None and claimed.attempts == 2 and claimed.resumed
        assert store.jobs.claim(job.id, process_owner()) is None  # and a second claim finds it taken
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


CLAIM = """
import sys
from bot.jobs import process_owner
from bot.store import Store
job = Store(sys.argv[1]).jobs.claim(int(sys.argv[2]), process_owner())
print("claimed" if job else "taken")
"""


def test_two_processes_claiming_one_queued_job_get_it_once(tmp_path):
    store = Store(tmp_path / "q.db")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    job = _add(store.jobs, "d-queued", process_owner(pid=int(gone.stdout)))
    assert store.jobs.take_over(process_owner()) == [(job.id, "fast")]  # its process is gone: queued
    runs = [
        subprocess.Popen([sys.executable, "-c", CLAIM, store.path, str(job.id)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = sorted(p.communicate(timeout=60)[0].strip() for p in runs)
    assert outcomes == ["claimed", "taken", "taken", "taken"]
    assert _status(store, job.id)[:2] == ("running", 2)


# --- hostile values in the SQL -------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_audit_drafts_are_looked_up_by_user_id_as_a_value(tmp_path, hostile):
    store = Store(tmp_path / "s.db")
    store.save_draft("T1", "U1", '{"s": 2}')
    assert store.draft("T1", hostile) is None  # not U1's draft, whatever the id says
    store.save_draft("T1", hostile, '{"s": 1}')
    assert store.draft("T1", hostile) == '{"s": 1}'
    store.drop_draft("T1", hostile)
    assert store.draft("T1", hostile) is None and store.draft("T1", "U1") == '{"s": 2}'
    assert store.draft(hostile, "U1") is None  # nor by team


def _saved(tmp_path):
    from bot.measure import MeasurementStore, Result, synthetic_prompts

    store = Store(tmp_path / "m.db")
    measurements = MeasurementStore(store)
    result = Result(runs=[], prompts=synthetic_prompts(100, 10, 1), date="2026-11-30", figures={"in_tokens": 900.0})
    measurements.save("T1", result, "nov", by="U1")
    return store, measurements, result


@pytest.mark.parametrize("hostile", HOSTILE)
def test_saved_measurements_are_looked_up_by_name_and_team_as_values(tmp_path, hostile):
    store, measurements, result = _saved(tmp_path)
    assert measurements.get("T1", hostile) is None
    assert measurements.runs("T1", hostile) is None
    assert measurements.owner("T1", hostile) is None
    assert measurements.refusal("T1", hostile, "U2", admin=False) is None  # nothing of that name to protect
    assert measurements.all(hostile) == {}
    assert measurements.save("T1", result, hostile, by="U2") is None  # a new row: it replaced nothing
    assert set(measurements.all("T1")) == {"nov", hostile}
    assert measurements.owner("T1", "nov") == ("U1", "2026-11-30")  # nov untouched


@pytest.mark.parametrize("hostile", HOSTILE[:4])
def test_measured_name_typed_in_an_analysis_finds_only_that_name(tmp_path, hostile):
    from bot.measure import with_measurement
    from costcore import GrammarError, parse

    store, _, _ = _saved(tmp_path)
    name = hostile.replace(" ", "")  # the grammar takes a value without spaces
    with pytest.raises(GrammarError, match="no saved measurement is called"):
        with_measurement(store, "T1", parse(f"measured={name}x volume=1M"))
    with pytest.raises(GrammarError):
        with_measurement(store, hostile, parse("measured=nov volume=1M"))  # another team sees none of T1's
    assert with_measurement(store, "T1", parse("measured=nov volume=1M")).in_tokens == 900


@pytest.mark.parametrize("hostile", HOSTILE)
def test_spend_rows_and_their_owner_are_matched_as_values(tmp_path, hostile):
    import datetime as dt

    from bot.spend import NotYours, add_manual, load_spend
    from costcore.spend import SpendRow

    store = Store(tmp_path / "sp.db")
    day = dt.date(2026, 11, 20)
    add_manual(store, "T1", SpendRow(day=day, provider="openai", model="gpt-4o", cost=100, source="manual"), user="U1")
    add_manual(store, "T1", SpendRow(day=day, provider=hostile, model=hostile, cost=7, source="manual"), user=hostile)
    with pytest.raises(NotYours):  # the hostile id is no key to U1's row
        mine = SpendRow(day=day, provider="openai", model="gpt-4o", cost=1, source="manual")
        add_manual(store, "T1", mine, user=hostile)
    rows = {(r.provider, r.model): r.cost for r in load_spend(store, "T1", day)}
    assert rows == {("openai", "gpt-4o"): 100, (hostile, hostile): 7}
    assert load_spend(store, hostile, day) == []


def test_every_table_is_intact_after_the_hostile_values(tmp_path):
    store = Store(tmp_path / "all.db")
    for hostile in HOSTILE:
        store.save_draft(hostile, hostile, json.dumps({"a": hostile}))
        store.draft(hostile, hostile)
        store.drop_draft(hostile, hostile)
    with sqlite3.connect(store.path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"jobs", "analyses", "audits", "audit_drafts", "spend", "measurements", "measure_runs"} <= tables
