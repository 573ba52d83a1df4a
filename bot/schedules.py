"""Everything the bot does on a clock, in the process that answers Slack: the weekly summaries (one cron
job a channel, bot/weekly.py), the daily budget check (DAILY_CHECK, bot/budget.py), each with a catch-up
at start-up, and the daily backup (bot/backup.py, added by bot/app.py).

`/breakeven weekly #channel` is answered by the worker process (bot/worker.py), which has no scheduler,
and `breakeven weekly` setups may come from anywhere that writes the database: so the scheduler reads
the channels' schedules again every SCHEDULE_REFRESH_S seconds (60 by default) and adds or moves the
cron job of every channel that is new or changed since, without a restart. Budgets need nothing of the
kind: the daily check reads them from the database each time it runs.

Every job posts through its exactly-once guard (a row claimed before posting), so a job that fires
twice, in two processes, or again after a restart posts nothing twice.
"""

from __future__ import annotations

import logging
import threading

from .budget import catch_up as budget_catch_up
from .budget import check_time, run_check
from .weekly import build_scheduler, connector, schedule_channel, weekly_channels

log = logging.getLogger("breakeven.schedules")
DEFAULT_REFRESH_S = 60.0


class Refresher:
    """Keeps the scheduler's weekly jobs as the table `weekly_channels` says."""

    def __init__(self, scheduler, client, connect, settings) -> None:
        self.scheduler, self.client, self.connect, self.settings = scheduler, client, connect, settings
        self._known: dict[str, tuple] = {}
        self._lock = threading.Lock()
        for row in weekly_channels(connect()):  # build_scheduler scheduled these already
            self._known[_job_id(row)] = _when(row)

    def __call__(self) -> list[str]:
        """The ids of the jobs added or moved."""
        changed = []
        with self._lock:
            for row in weekly_channels(self.connect()):
                job_id = _job_id(row)
                if self._known.get(job_id) == _when(row) and self.scheduler.get_job(job_id) is not None:
                    continue
                schedule_channel(self.scheduler, self.client, self.connect, self.settings, row)
                self._known[job_id] = _when(row)
                changed.append(job_id)
        if changed:
            log.info("schedules read from the database: %s", ", ".join(changed))
        return changed


def _job_id(row: dict) -> str:
    return f"weekly:{row['team']}:{row['channel']}"


def _when(row: dict) -> tuple:
    return (row["day"], row["time"], row["tz"])


def build(client, connect, settings=None):
    """The APScheduler BackgroundScheduler (not started): the weekly summaries and their catch-up, the
    daily budget check and its catch-up, and the refresh of the weekly schedules."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    connect = connector(connect)
    scheduler = build_scheduler(client, connect, settings)
    hour, minute, tz = check_time(getattr(settings, "daily_check", None) or "09:00 UTC")
    scheduler.add_job(
        run_check,
        CronTrigger(hour=hour, minute=minute, timezone=tz),
        args=[client, connect, settings],
        id="daily-check",
        replace_existing=True,
        misfire_grace_time=3600,
        coalesce=True,
    )
    scheduler.add_job(
        budget_catch_up, args=[client, connect, settings], id="daily-check-catch-up", misfire_grace_time=None
    )
    every = getattr(settings, "schedule_refresh_s", None) or DEFAULT_REFRESH_S
    scheduler.add_job(
        Refresher(scheduler, client, connect, settings),
        IntervalTrigger(seconds=every),
        id="schedules-refresh",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return scheduler
