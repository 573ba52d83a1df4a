"""The work behind every listener, run after the ack on the bot's own worker pool.

One path publishes an analysis, whatever asked for it (command, form, what-if button): claim the
row (a repeated delivery stops here), post the verdict, then upload the chart into its thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from costcore import Report, Scenario, analyze
from costcore.grammar import to_text

from .render import error_blocks, report_blocks
from .store import Store

log = logging.getLogger("breakeven.bot")


@dataclass
class Where:
    """Who asked, where to answer, and the delivery that asked (the idempotency key)."""

    team: str
    channel: str
    user: str
    delivery: str
    thread_ts: str | None = None


@dataclass
class Bot:
    store: Store
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="breakeven-work")
    )
    settings: Any = None
    scheduler: Any = None  # APScheduler, when the weekly summaries run in this process

    def later(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run slow work after the ack; failures are logged with the listener's context, never lost silently."""

        def run() -> None:
            try:
                fn(*args, **kwargs)
            except Exception:  # a worker must not die quietly: the user may be waiting on it
                log.exception("background work %s failed", getattr(fn, "__name__", fn))

        self.executor.submit(run)


def slack_reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return error or f"Slack answered HTTP {exc.response.status_code}"
    return type(exc).__name__


def tell(client: WebClient, where: Where, text: str) -> None:
    """An ephemeral note to the user who asked."""
    try:
        client.chat_postEphemeral(channel=where.channel, user=where.user, text=text, blocks=error_blocks(text))
    except Exception as exc:  # nothing else to tell them with
        log.warning("could not tell %s in %s: %s", where.user, where.channel, slack_reason(exc))


def publish_analysis(
    bot: Bot,
    client: WebClient,
    where: Where,
    scenario: Scenario,
    *,
    kind: str,
    text: str | None = None,
    parent_id: int | None = None,
) -> int | None:
    """Analyse, store, post the verdict and its chart. Returns the analysis id (None for a repeat)."""
    report = analyze(scenario)
    analysis_id = bot.store.claim_analysis(
        delivery=where.delivery,
        team=where.team,
        channel=where.channel,
        user=where.user,
        kind=kind,
        text=text if text is not None else to_text(scenario),
        scenario=scenario.model_dump(mode="json", exclude_none=True),
        report=report.model_dump(mode="json"),
        parent_id=parent_id,
    )
    if analysis_id is None:
        log.info("delivery %s seen before: not posted again", where.delivery)
        return None
    post_report(bot, client, where, report, analysis_id, on_failure=lambda: bot.store.forget_analysis(analysis_id))
    return analysis_id


def post_report(
    bot: Bot,
    client: WebClient,
    where: Where,
    report: Report,
    analysis_id: int,
    *,
    on_failure: Callable[[], None] | None = None,
    record_ts: bool = True,
) -> str | None:
    """Post the verdict, then its chart; the user is told if the post finally fails.

    record_ts=False re-renders a stored analysis without moving its thread (what-ifs answer in
    the thread of the first post)."""
    blocks = report_blocks(report, analysis_id)
    try:
        response = client.chat_postMessage(
            channel=where.channel, text=report.headline, blocks=blocks, thread_ts=where.thread_ts
        )
    except Exception as exc:
        if on_failure:
            on_failure()
        saved = "nothing was saved" if on_failure else "it is still in the history"
        tell(client, where, f"The analysis could not be posted ({slack_reason(exc)}); {saved}. Try again in a minute.")
        return None
    ts = response["ts"]
    if record_ts:
        bot.store.set_message_ts(analysis_id, ts)
    attach_chart(client, where, report, analysis_id, ts)
    return ts


def attach_chart(client: WebClient, where: Where, report: Report, analysis_id: int, message_ts: str) -> None:
    """Upload the break-even chart into the verdict's thread; if that fails the verdict says so."""
    from costcore.charts import breakeven_chart

    try:
        png = breakeven_chart(report)
        client.files_upload_v2(
            channel=where.channel,
            thread_ts=where.thread_ts or message_ts,
            content=png,
            filename=f"breakeven-{analysis_id}.png",
            title=f"Break-even, analysis #{analysis_id}",
            initial_comment="Monthly cost against volume: where buying starts to pay.",
        )
    except Exception as exc:
        log.warning("chart for analysis %s not attached: %s", analysis_id, slack_reason(exc))
        note = f":warning: The chart could not be attached ({slack_reason(exc)}); the verdict above stands."
        try:
            client.chat_update(
                channel=where.channel,
                ts=message_ts,
                text=report.headline,
                blocks=report_blocks(report, analysis_id, chart_note=note),
            )
        except Exception as update_exc:
            log.warning("could not note the missing chart: %s", slack_reason(update_exc))
