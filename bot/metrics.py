"""What the bot counts for Prometheus (prometheus-client), and /metrics.

The bot is two processes (bot/worker.py): the front process counts the commands it receives and
the scheduled posts it makes; the worker counts answers, failures, job durations, Slack API errors
and verdicts. One /metrics, served by the front process, shows both: prometheus-client's
multiprocess mode, where each process writes its values to memory-mapped files in one directory
(per pid) and the scrape adds them up. It was chosen over sending figures back on the pipe (a
second channel, and the worker's figures would die with a lost message) and over deriving counters
from the queue (finished jobs are pruned after a month, so a counter would go down). The queue's
own state (jobs queued and running, the oldest unfinished one's age) is read from the database at
each scrape: it is the truth, across restarts and processes.

Multiprocess mode must be chosen before the first metric exists, so nothing here imports
prometheus_client until `enable` (called by `breakeven-bot` before it forks its worker). Until
then, and in the CLI and in-process tests, every count below does nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

_m = None  # the metrics, once enabled
_directory: Path | None = None

# Labels come from bounded sets only: a label value typed by a user would make a series per value.
COMMAND_WORDS = {
    "help", "history", "show", "compare", "spend", "weekly", "measure", "audit", "form", "recheck", "budget",
}  # fmt: skip
JOB_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


def kind_of(job_kind: str, payload: dict | None) -> str:
    """The `kind` label of a job: its kind, and for /breakeven the subcommand (an analysis otherwise)."""
    if job_kind != "command":
        return job_kind
    word = ((payload or {}).get("text") or "").strip().partition(" ")[0].lower()
    return "form" if word == "" else word if word in COMMAND_WORDS else "analyze"


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.received = Counter(
            "breakeven_commands_received", "Deliveries stored as a job and acknowledged, by kind", ["kind"]
        )
        self.duplicates = Counter("breakeven_deliveries_repeated", "Deliveries Slack made again, not done twice")
        self.finished = Counter(
            "breakeven_commands_finished",
            "Jobs finished, by kind and outcome (answered, failed, or given_up after JOB_MAX_ATTEMPTS)",
            ["kind", "outcome"],
        )
        self.duration = Histogram(
            "breakeven_job_duration_seconds", "Time a job took to run, by kind", ["kind"], buckets=JOB_DURATION_BUCKETS
        )
        self.slack_errors = Counter(
            "breakeven_slack_api_errors", "Slack Web API calls that failed, by method and error", ["method", "error"]
        )
        self.unanswered = Counter(
            "breakeven_posts_unanswered",
            "Posts Slack may have made without answering (a dropped connection, a late answer, HTTP 500), by what "
            "became of them: found in the channel, or unconfirmed (the user was told it may not have arrived)",
            ["outcome"],
        )
        self.scheduled = Counter(
            "breakeven_scheduled_posts", "Scheduled posts by outcome (posted, quiet, skipped, failed)", ["outcome"]
        )
        self.analyses = Counter("breakeven_analyses", "Analyses posted, by verdict", ["verdict"])
        self.backups = Counter("breakeven_backups", "Scheduled backups by outcome (made, failed)", ["outcome"])
        self.alerts = Counter(
            "breakeven_budget_alerts",
            "Budget alerts by outcome (fired; skipped: posted before or the workspace is gone; covered: a higher "
            "threshold posted instead; failed)",
            ["outcome"],
        )


def enable(directory: Path) -> None:
    """Count from now on, in this process and in those it forks, into `directory` (emptied first)."""
    global _m, _directory
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # in case prometheus_client was imported before
    _directory = directory
    _m = _Metrics()


def disable() -> None:
    """At the bot's exit: its files go (a next start counts from zero, as Prometheus expects)."""
    global _m, _directory
    if _directory is not None:
        shutil.rmtree(_directory, ignore_errors=True)
    _m = _directory = None


def command_received(job_kind: str, payload: dict | None) -> None:
    if _m is not None:
        _m.received.labels(kind_of(job_kind, payload)).inc()


def delivery_repeated() -> None:
    if _m is not None:
        _m.duplicates.inc()


def job_finished(job_kind: str, payload: dict | None, outcome: str, seconds: float) -> None:
    if _m is not None:
        kind = kind_of(job_kind, payload)
        _m.finished.labels(kind, outcome).inc()
        _m.duration.labels(kind).observe(seconds)


def job_given_up(job_kind: str, payload: dict | None) -> None:
    """A job dropped after its process ended JOB_MAX_ATTEMPTS times running it (it did not run: no duration)."""
    if _m is not None:
        _m.finished.labels(kind_of(job_kind, payload), "given_up").inc()


def post_unanswered(outcome: str) -> None:
    if _m is not None:
        _m.unanswered.labels(outcome).inc()


def slack_error(method: str, error: str) -> None:
    if _m is not None:
        _m.slack_errors.labels(method[:60], error[:60]).inc()


def scheduled_post(outcome: str) -> None:
    if _m is not None:
        _m.scheduled.labels(outcome).inc()


def analysis_posted(verdict: str) -> None:
    if _m is not None:
        _m.analyses.labels(verdict[:20]).inc()


def budget_alert(outcome: str) -> None:
    if _m is not None:
        _m.alerts.labels(outcome).inc()


def backup_made(outcome: str) -> None:
    if _m is not None:
        _m.backups.labels(outcome).inc()


class _QueueCollector:
    """The queue's gauges, read from the database at each scrape."""

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        jobs = GaugeMetricFamily("breakeven_jobs", "Jobs in the queue, by status (queued, running)", labels=["status"])
        oldest = GaugeMetricFamily(
            "breakeven_jobs_oldest_unfinished_age_seconds", "Age of the oldest queued or running job (0: none)"
        )
        counts = {"queued": 0, "running": 0}
        created = None
        try:
            with _readonly(self.db_path) as db:
                for status, n, first in db.execute(
                    "SELECT status, count(*), min(created) FROM jobs WHERE status IN ('queued', 'running') "
                    "GROUP BY status"
                ):
                    counts[status] = n
                    created = first if created is None else min(created, first)
        except sqlite3.Error:
            return  # /readyz says why; the other metrics are still worth a scrape
        for status, n in counts.items():
            jobs.add_metric([status], n)
        oldest.add_metric([], max(0.0, time.time() - created) if created is not None else 0.0)
        yield jobs
        yield oldest


class _readonly:
    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.connection = sqlite3.connect(self.path, timeout=2)
        return self.connection

    def __exit__(self, *exc) -> None:
        self.connection.close()


class _MultiProcessValues:
    """Both processes' values, from the files that hold some. A process creates its file before it sizes
    it (prometheus/client_python#1199): a scrape in that instant read an empty file and answered 500 for
    every metric. Such a file holds no value yet; the next scrape reads it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        return MultiProcessCollector.merge([str(f) for f in self.path.glob("*.db") if _holds_values(f)])


def _holds_values(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:  # gone since the listing: a stopped process's files are removed
        return False


def exposition(db_path: str) -> bytes:
    """The text /metrics answers: both processes' counts (multiprocess mode) and the queue's gauges."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if _directory is not None:
        registry.register(_MultiProcessValues(_directory))
    registry.register(_QueueCollector(db_path))
    return generate_latest(registry)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
