"""The work behind every listener: stored as a job before the ack, run on the bot's worker lanes.

One path publishes an analysis, whatever asked for it (command, form, what-if button): the row of
the delivery, the verdict posted (once, even across a crash), then the chart in its thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from costcore import Report, Scenario, analyze
from costcore.grammar import to_text

from . import metrics
from .delivery import (
    Responder,
    Unconfirmed,
    Where,
    find_file,
    find_message,
    job_metadata,
    may_have_arrived,
    slack_reason,
    tell,
    unconfirmed,
    undelivered,
)
from .jobs import Job, process_owner
from .logs import job_context
from .redact import redact
from .render import MAX_BLOCKS, cut_line, report_blocks
from .store import Store

log = logging.getLogger("breakeven.bot")

# Cheap replies (help, errors, history, show, forms) never wait behind analyses and charts.
LANES = {"fast": 4, "slow": 8}
WORK: dict[str, Callable[[Bot, WebClient, Job], None]] = {}
POST_ATTEMPTS = 3  # a post Slack never answered is looked for, then sent again, at most this often
LOOK_AGAIN_S = (0.0, 0.5, 1.5)  # pauses before each look for a post that may have been made


def work(kind: str):
    """Register the function that does a kind of job (the kind is stored: keep names stable)."""

    def register(fn):
        WORK[kind] = fn
        return fn

    return register


def _lanes() -> dict[str, ThreadPoolExecutor]:
    return {
        name: ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"breakeven-{name}") for name, n in LANES.items()
    }


@dataclass
class Bot:
    store: Store
    settings: Any = None
    scheduler: Any = None  # APScheduler, when the weekly summaries run in this process
    client: WebClient | None = None
    lanes: dict[str, ThreadPoolExecutor] = field(default_factory=_lanes)
    owner: str = field(default_factory=process_owner)  # whose jobs this bot stores (and runs)
    admins: frozenset[str] = frozenset()
    # Where a stored job goes: the worker process (bot/worker.py; `owner` is then the worker's), or,
    # None, this process's own lanes.
    hand_off: Callable[[Job], None] | None = None
    # The client to answer a team with (bot/oauth.py: each workspace's own token); None: `client`.
    clients: Callable[[str], WebClient | None] | None = None

    def __post_init__(self) -> None:
        self.responder = Responder(getattr(self.settings, "slack_api_url", None))
        self._idle = threading.Condition()
        self._started: dict[Future, int | None] = {}  # jobs given to the lanes and not run yet: job id
        self._started_lock = threading.Lock()

    @property
    def sheet(self):
        """The prices the company pays (BREAKEVEN_PRICE_SHEET, read at start): every analysis uses them."""
        return getattr(self.settings, "price_sheet", None)

    def client_for(self, team: str) -> WebClient | None:
        """The Web API client that answers this team (None: its workspace uninstalled the app)."""
        return self.clients(team) if self.clients is not None else self.client

    # --- the queue ---------------------------------------------------------------------------

    def enqueue(self, kind: str, where: Where, payload: dict, *, lane: str = "fast") -> bool:
        """Called by a listener before its ack: store the job (a repeated delivery stops here), then
        hand it to a worker. False for a delivery seen before."""
        job = self.store.jobs.add(
            delivery=where.delivery,
            kind=kind,
            lane=lane,
            team=where.team,
            channel=where.channel,
            user=where.user,
            response_url=where.response_url,
            payload=payload,
            owner=self.owner,
        )
        if job is None:
            log.info("delivery %s seen before: not done again", where.delivery)
            metrics.delivery_repeated()
            return False
        metrics.command_received(kind, payload)
        if self.hand_off is not None:
            self.hand_off(job)
        else:
            self.run_soon(job)
        return True

    def run_soon(self, job: Job) -> None:
        """The job, stored running for this process, goes to a worker thread of its lane."""
        self._submit(job.lane, self._run, job, job.id)

    def _submit(self, lane: str, fn: Callable, arg, job_id: int | None) -> None:
        """On the lane's pool, noted until it starts: a clean stop leaves what has not started queued."""
        future = self.lanes.get(lane, self.lanes["slow"]).submit(fn, arg)
        with self._started_lock:
            if not future.done():
                self._started[future] = job_id
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._started_lock:
            self._started.pop(future, None)

    def resume(self) -> int:
        """At start-up: every job a dead process left running, and every queued one, runs again."""
        waiting = self.store.jobs.take_over(self.owner)
        for job_id, lane in waiting:
            self._submit(lane, self._resume, job_id, None)  # still queued until claimed
        if waiting:
            log.info("resuming %d unfinished job(s)", len(waiting))
        return len(waiting)

    def _resume(self, job_id: int) -> None:
        job = self.store.jobs.claim(job_id, self.owner)
        if job is None:  # another process took it first, or it is finished
            return
        if job.attempts > self.max_attempts:
            self._give_up(job)
            return
        self._run(job)

    @property
    def max_attempts(self) -> int:
        return getattr(self.settings, "job_max_attempts", None) or 3

    def _give_up(self, job: Job) -> None:
        """A job whose process ended while running it, time after time (out of memory, killed): it
        would run again at every start, for ever. It ends here, failed, and its user is told (with the
        token of the job's workspace; nobody, when that workspace has uninstalled the app)."""
        tries = job.attempts - 1
        with job_context(job.team, job.channel, job.id):
            log.error("job %s (%s) given up: its process ended %d times while running it", job.id, job.kind, tries)
            client = self.client_for(job.team)
            if client is not None:
                tell(
                    client,
                    self.where(job),
                    f"Sorry: {describe(job)} was dropped. The bot stopped {tries} times while working on it (it may "
                    f"need more memory than the bot has), so it will not try again, and nothing more will be posted "
                    f"for it. {advice(job)}",
                    self.responder,
                )
            self.store.jobs.finish(job.id, "failed", f"given up after {tries} attempts: its process ended each time")
            metrics.job_given_up(job.kind, job.payload)

    def _run(self, job: Job) -> None:
        started = time.monotonic()
        outcome = "answered"
        with job_context(job.team, job.channel, job.id):
            try:
                client = self.client_for(job.team)
                if client is None:
                    outcome = "failed"
                    log.warning("job %s dropped: workspace %s has uninstalled the app", job.id, job.team)
                    self.store.jobs.finish(job.id, "failed", "the workspace uninstalled the app")
                    return
                try:
                    WORK[job.kind](self, client, job)
                except Exception as exc:  # a worker must not die quietly: the user is waiting on it
                    outcome = "failed"
                    log.exception("job %s (%s) failed", job.id, job.kind)
                    # Told before the job is marked: an idle queue means every answer has been sent.
                    tell(
                        client,
                        self.where(job),
                        f"Sorry, this could not be answered ({type(exc).__name__}); nothing was posted. "
                        "Check the numbers, or try again.",
                        self.responder,
                    )
                    error = redact(f"{type(exc).__name__}: {exc}")[:500]  # stored: no credential in a row either
                    self.store.jobs.finish(job.id, "failed", error, deferred=self._cheap(job))
                else:
                    self.store.jobs.finish(job.id, deferred=self._cheap(job))
            finally:
                metrics.job_finished(job.kind, job.payload, outcome, time.monotonic() - started)
                with self._idle:
                    self._idle.notify_all()

    @staticmethod
    def _cheap(job: Job) -> bool:
        """A fast-lane job's finish is group-committed (bot/jobs.py): it is safe to run again after a
        crash (an ephemeral reply may repeat; posts and charts are found again). A slow-lane job
        (analysis, measurement) is seconds long: its finish is written at once."""
        return job.lane == "fast"

    def where(self, job: Job) -> Where:
        return Where(
            team=job.team,
            channel=job.channel,
            user=job.user,
            delivery=job.delivery,
            response_url=job.response_url,
            job_uid=job.uid,
            job_created=job.created,
            resumed=job.resumed,
        )

    def idle(self) -> bool:
        """No job queued or running (in the database: what a test or an operator can rely on)."""
        return self.store.jobs.unfinished() == 0

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until the queue is empty: for tests and a graceful shutdown."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while not self.idle():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.store.jobs.unfinished()} job(s) still unfinished")
                self._idle.wait(min(left, 0.05))

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking work: the jobs that have not started stay queued for the next start (their
        attempt not counted); with wait, once the running ones have finished, their finishes are
        written. (The caller bounds the wait: bot/worker.py.)"""
        with self._started_lock:
            waiting = dict(self._started)  # a cancelled future leaves `_started` as it is cancelled
        for executor in self.lanes.values():
            executor.shutdown(wait=False, cancel_futures=True)
        left = [job_id for future, job_id in waiting.items() if future.cancelled() and job_id is not None]
        resumes = sum(1 for future, job_id in waiting.items() if future.cancelled() and job_id is None)
        if left:
            self.store.jobs.release(left)
        if left or resumes:
            log.info("stopping: %d job(s) not started are left queued for the next start", len(left) + resumes)
        if wait:
            for executor in self.lanes.values():
                executor.shutdown(wait=True)
        self.store.jobs.close()

    def tell(self, client: WebClient, where: Where, text: str) -> None:
        """A warning only the user sees (through response_url where the channel refuses the bot)."""
        tell(client, where, text, self.responder)

    def reply(self, client: WebClient, where: Where, text: str, blocks: list[dict] | None = None) -> None:
        """An answer only the user sees: help, history, a confirmation."""
        tell(
            client,
            where,
            text,
            self.responder,
            blocks or [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        )

    # --- posting once ----------------------------------------------------------------------

    def post(
        self, client: WebClient, where: Where, *, text: str, blocks: list[dict] | None, job: Job | None = None
    ) -> str:
        """chat.postMessage carrying the job's uid in its metadata; the message's ts, recorded on the
        job. Posted once, whatever happens on the way:
        - a resumed job first looks for its message (recorded, or in the channel), so a crash between
          posting and recording it does not post twice;
        - a post that may have reached Slack without an answer coming back (the connection dropped
          after sending, or the answer came after the timeout) is looked for before it is sent again:
          the client retries only what never left (bot/delivery.py).
        SlackApiError when Slack refuses; Unconfirmed when it may have posted and the message cannot
        be found."""
        if where.resumed:
            found = (job.ts if job else None) or find_posted(client, where)
            if found:
                log.info("job %s had posted already (%s): not posted again", where.job_uid, found)
                self._posted(job, found)
                return found
        metadata = job_metadata(where.job_uid) if where.job_uid else None
        for attempt in range(POST_ATTEMPTS):
            try:
                response = client.chat_postMessage(
                    channel=where.channel, text=text, blocks=blocks, thread_ts=where.thread_ts, metadata=metadata
                )
            except Exception as exc:
                if not (may_have_arrived(exc) and where.job_uid):
                    raise
                log.warning("job %s: no answer to its post (%s): looking for it", where.job_uid, type(exc).__name__)
                found = self._look_again(client, where)
                if found:
                    metrics.post_unanswered("found")
                    self._posted(job, found)
                    return found
                if attempt == POST_ATTEMPTS - 1:
                    metrics.post_unanswered("unconfirmed")
                    raise Unconfirmed(exc) from exc
                continue
            self._posted(job, response["ts"])
            return response["ts"]
        raise AssertionError("unreachable")

    def _posted(self, job: Job | None, ts: str) -> None:
        if job is not None:
            job.ts = ts
            self.store.jobs.posted(job.id, ts)

    @staticmethod
    def _look_again(client: WebClient, where: Where) -> str | None:
        """The message a post without an answer may have made: Slack shows a new message in the
        history within moments, so it is looked for a few times before it counts as not posted."""
        for pause in LOOK_AGAIN_S:
            time.sleep(pause)
            found = find_posted(client, where)
            if found:
                return found
        return None


def describe(job: Job) -> str:
    """What the user asked for, in their words, for a message about the job."""
    if job.kind == "command":
        return f"`/breakeven {cut_line(str(job.payload.get('text') or ''), 200)}`"
    return {
        "form": "your form",
        "what_if": "your what-if",
        "edit": "your click on Edit assumptions",
        "audit_finish": "your audit",
        "measure_analyze": "your click on Analyze with these figures",
    }.get(job.kind, f"your request ({job.kind})")


def advice(job: Job) -> str:
    """What to do instead, for a job that could never finish."""
    text = str(job.payload.get("text") or "")
    if job.kind == "command" and text.partition(" ")[0].lower() == "measure":
        return "Measure with fewer `requests=`, fewer concurrency levels or a smaller `in=`/`out=`."
    return "Try it with smaller figures, or tell whoever runs the bot."


def find_posted(client: WebClient, where: Where) -> str | None:
    """The ts of the message this job posted before a crash, from the channel (or thread) history."""
    oldest = (where.job_created or 0) - 5
    return find_message(client, where.channel, where.job_uid, oldest=oldest, thread_ts=where.thread_ts)


def find_shared_file(client: WebClient, where: Where, thread_ts: str, filename: str) -> str | None:
    """The id of a file named `filename` shared in the thread since the job was made, if any."""
    return find_file(client, where.channel, thread_ts, filename, oldest=(where.job_created or 0) - 5)


def publish_analysis(
    bot: Bot,
    client: WebClient,
    where: Where,
    scenario: Scenario,
    job: Job,
    *,
    kind: str,
    text: str | None = None,
    parent_id: int | None = None,
    asked: str | None = None,
    lead: Callable[[Report], list[dict]] | None = None,
) -> int | None:
    """Analyse, store, post the verdict and its chart. Returns the analysis id (None when not posted).

    asked: the plain words it was asked in (stored beside the line that ran); lead: blocks shown above
    the verdict (a follow-up's changes and the verdict before them)."""
    report = analyze(scenario, sheet=bot.sheet)
    analysis_id, message_ts = bot.store.claim_analysis(
        delivery=where.delivery,
        team=where.team,
        channel=where.channel,
        user=where.user,
        kind=kind,
        text=text if text is not None else to_text(scenario),
        scenario=scenario.model_dump(mode="json", exclude_none=True),
        report=report.model_dump(mode="json"),
        parent_id=parent_id,
        asked=asked,
        thread_ts=where.thread_ts,
    )
    if message_ts:  # a resumed job: the verdict is in the channel; its chart may not be yet
        log.info("analysis %s was posted before: not posted again", analysis_id)
        attach_chart(bot, client, where, report, analysis_id, message_ts, job, lead=lead)
        return analysis_id
    ts = post_report(
        bot,
        client,
        where,
        report,
        analysis_id,
        job,
        on_failure=lambda: bot.store.forget_analysis(analysis_id),
        lead=lead,
    )
    if ts:
        metrics.analysis_posted(report.verdict)
    return analysis_id if ts else None


def post_report(
    bot: Bot,
    client: WebClient,
    where: Where,
    report: Report,
    analysis_id: int,
    job: Job,
    *,
    on_failure: Callable[[], None] | None = None,
    record_ts: bool = True,
    lead: Callable[[Report], list[dict]] | None = None,
) -> str | None:
    """Post the verdict, then its chart; the user is told if the post finally fails.

    record_ts=False re-renders a stored analysis without moving its thread (what-ifs answer in
    the thread of the first post)."""
    blocks = with_lead(lead, report, report_blocks(report, analysis_id))
    try:
        ts = bot.post(client, where, text=report.headline, blocks=blocks, job=job)
    except Unconfirmed as exc:  # it may be in the channel: the analysis is kept, and nobody says otherwise
        bot.tell(client, where, unconfirmed("The analysis", exc))
        return None
    except Exception as exc:
        if on_failure:
            on_failure()
        saved = "nothing was saved." if on_failure else "it is still in the history."
        bot.tell(client, where, undelivered(slack_reason(exc), "The analysis", saved))
        return None
    if record_ts:
        bot.store.set_message_ts(analysis_id, ts)
    attach_chart(bot, client, where, report, analysis_id, ts, job, lead=lead)
    return ts


def with_lead(lead: Callable[[Report], list[dict]] | None, report: Report, blocks: list[dict]) -> list[dict]:
    """The verdict's blocks under the lead's (a follow-up's changes and the verdict before them)."""
    return ([*lead(report), *blocks] if lead else blocks)[:MAX_BLOCKS]


def attach_chart(
    bot: Bot,
    client: WebClient,
    where: Where,
    report: Report,
    analysis_id: int,
    message_ts: str,
    job: Job | None,
    *,
    lead: Callable[[Report], list[dict]] | None = None,
) -> None:
    """Upload the break-even chart into the verdict's thread, once per job; if that fails the
    verdict says so."""
    from costcore.charts import breakeven_chart

    problem = share_chart_once(
        bot,
        client,
        where,
        job,
        thread_ts=where.thread_ts or message_ts,
        filename=f"breakeven-{analysis_id}.png",
        render=lambda: breakeven_chart(report),
        title=f"Break-even, analysis #{analysis_id}",
        initial_comment="Monthly cost against volume: where buying starts to pay.",
    )
    if problem is None:
        return
    note = f":warning: The chart could not be attached ({problem}); the verdict above stands."
    try:
        client.chat_update(
            channel=where.channel,
            ts=message_ts,
            text=report.headline,
            blocks=with_lead(lead, report, report_blocks(report, analysis_id, chart_note=note)),
        )
    except Exception as update_exc:
        log.warning("could not note the missing chart: %s", slack_reason(update_exc))


def share_chart_once(
    bot: Bot,
    client: WebClient,
    where: Where,
    job: Job | None,
    *,
    thread_ts: str,
    filename: str,
    render: Callable[[], bytes],
    title: str,
    initial_comment: str | None = None,
) -> str | None:
    """Upload a chart into a thread once per job, across crashes: not if the job recorded it, nor, for
    a resumed job (it may have died between the upload and that record), if a file of that name is in
    the thread. None when the chart is there; else why not (Slack's reason)."""
    if job is not None and job.chart:
        log.info("job %s had attached its chart already (%s): not attached again", job.uid, job.chart)
        return None
    if job is not None and job.resumed:
        found = find_shared_file(client, where, thread_ts, filename)
        if found:
            log.info("job %s had attached its chart already (%s): not attached again", job.uid, found)
            bot.store.jobs.charted(job.id, found)
            return None
    try:
        response = client.files_upload_v2(
            channel=where.channel,
            thread_ts=thread_ts,
            content=render(),
            filename=filename,
            title=title,
            initial_comment=initial_comment,
        )
    except Exception as exc:
        # The upload's last step shares the file: without its answer, the file may be in the thread.
        found = find_shared_file(client, where, thread_ts, filename) if may_have_arrived(exc) else None
        if found:
            if job is not None:
                bot.store.jobs.charted(job.id, found)
            return None
        log.warning("%s not attached: %s", filename, slack_reason(exc))
        return slack_reason(exc)
    if job is not None:
        file = response.get("file") or (response.get("files") or [{}])[0]
        bot.store.jobs.charted(job.id, file.get("id") or "uploaded")
    return None
