"""`/breakeven measure NAME [NAME2] [requests=20] [concurrency=1,8] [in=1500 out=200] [latency=2s] [save=NAME]`

Measures only endpoints an admin configured (BREAKEVEN_ENDPOINTS: name -> url, model, key variable):
a URL typed in Slack is refused, so nobody can make the bot send requests to an arbitrary address.
The measurement runs after the ack, off the listener thread; one message in the channel shows its
progress (chat.update, at most every MEASURE_PROGRESS_EVERY_S seconds) and then the table, the
scenario keys and an "Analyze with these figures" button. The whole job is `run_measure_job(bot,
client, job)` with a JSON-serialisable job, so a durable queue can hold it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from costcore import GrammarError, parse
from costcore.grammar import pairs

from ..delivery import Where, slack_reason
from ..jobs import Job
from ..measure import (
    Endpoint,
    MeasureError,
    MeasurementStore,
    Options,
    Progress,
    Result,
    capacity_line,
    load_prompts,
    measure,
    run_table,
    with_measurement,
)
from ..service import Bot, publish_analysis, work
from .shared import action_payload, where_from_action

log = logging.getLogger("breakeven.bot")

ANALYZE = "measure_analyze"
USAGE = "`/breakeven measure NAME [requests=20] [concurrency=1,8] [in=1500 out=200] [latency=2s] [save=NAME]`"
OPTION_KEYS = {"requests", "concurrency", "save"}
SHAPE_KEYS = {"in", "out", "latency", "input", "output", "in_tokens", "out_tokens"}

_busy: set[tuple[str, str]] = set()  # (team, endpoint name) being measured in this process
_busy_lock = threading.Lock()


def register(app: App, bot: Bot) -> None:
    @app.action(ANALYZE)
    def analyze_button(ack, body):
        payload = action_payload(body)
        payload["message_ts"] = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
        bot.enqueue("measure_analyze", where_from_action(body), payload, lane="slow")
        ack()


def _configured(bot: Bot) -> dict[str, Any]:
    return dict(getattr(bot.settings, "breakeven_endpoints", None) or {})


def _looks_like_address(word: str) -> bool:
    return word.startswith("<") or bool(re.search(r"://|[/:]|\.\w", word))


def _names_hint(configured: dict[str, Any]) -> str:
    if not configured:
        return "No endpoint is configured: an admin lists them in the bot's BREAKEVEN_ENDPOINTS setting."
    return "Configured: " + ", ".join(f"`{n}`" for n in sorted(configured)) + "."


def start_measure(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    """Check the command and run the measurement (we are already past the ack, on the bot's pool)."""
    configured = _configured(bot)
    words = rest.split()
    names = [w for w in words if "=" not in w]
    refused = [w for w in names if w not in configured and _looks_like_address(w)]
    if refused:
        bot.tell(
            client,
            where,
            "I only measure endpoints an admin has configured, never an address typed here. "
            f"{_names_hint(configured)} Usage: {USAGE}",
        )
        return
    unknown = [w for w in names if w not in configured]
    if unknown or not names:
        what = f"No configured endpoint is called `{unknown[0]}`. " if unknown else "Which endpoint? "
        bot.tell(client, where, f"{what}{_names_hint(configured)} Usage: {USAGE}")
        return
    if len(names) > 2:
        bot.tell(client, where, "Measure one endpoint, or two side by side (the API and your own server).")
        return
    try:
        job = _job(bot, where, names, " ".join(w for w in words if "=" in w))
    except (GrammarError, ValueError) as exc:
        bot.tell(client, where, f"{exc}\nUsage: {USAGE}")
        return
    run_measure_job(bot, client, job)


def _job(bot: Bot, where: Where, names: list[str], text: str) -> dict[str, Any]:
    settings = bot.settings
    options: dict[str, str] = {}
    shape_words = []
    for key, value in pairs(text) if text else []:
        if key in OPTION_KEYS:
            options[key] = value
        elif key in SHAPE_KEYS:
            shape_words.append(f"{key}={value}")
        else:
            raise ValueError(f"`{key}`: measure takes requests, concurrency, in, out, latency and save")
    shape = parse(" ".join(shape_words)) if shape_words else None
    requests = None
    if "requests" in options:
        if not options["requests"].isdigit() or not 1 <= int(options["requests"]) <= settings.measure_max_requests:
            raise ValueError(f"`requests`: give 1 to {settings.measure_max_requests} (the bot's MEASURE_MAX_REQUESTS)")
        requests = int(options["requests"])
    levels = [1, 8]
    if "concurrency" in options:
        parts = [p for p in options["concurrency"].replace(" ", "").split(",") if p]
        if not parts or not all(p.isdigit() for p in parts):
            raise ValueError(f"`concurrency`: '{options['concurrency']}' is not a list like 1,8")
        levels = list(dict.fromkeys(int(p) for p in parts))
    levels = [min(level, settings.measure_max_concurrency) for level in levels]
    if any(level < 1 for level in levels):
        raise ValueError("`concurrency`: each level must be 1 or more")
    save = options.get("save")
    if save is not None and not 1 <= len(save) <= 80:
        raise ValueError("`save`: give a name of 1 to 80 characters")
    return {
        "id": uuid.uuid4().hex,
        "team": where.team,
        "channel": where.channel,
        "user": where.user,
        "endpoints": names,
        "requests": requests,
        "concurrency": list(dict.fromkeys(levels)),
        "in": shape.in_tokens if shape else None,
        "out": shape.out_tokens if shape else None,
        "latency_ms": shape.latency_ms if shape else None,
        "save": save,
    }


def run_measure_job(bot: Bot, client: WebClient, job: dict[str, Any]) -> None:
    """One measurement, start to finish: post a progress message, measure, save, show the result."""
    from ..measure import synthetic_prompts

    where = Where(team=job["team"], channel=job["channel"], user=job["user"], delivery=f"measure:{job['id']}")
    settings = bot.settings
    configured = _configured(bot)
    endpoints, own = [], None
    for name in job["endpoints"]:
        entry = configured.get(name)
        if entry is None:
            bot.tell(client, where, f"`{name}` is no longer configured. {_names_hint(configured)}")
            return
        key = os.environ.get(entry.key_env) if entry.key_env else None
        if entry.key_env and not key:
            bot.tell(client, where, f"`{name}` needs its key in {entry.key_env}, which is not set where the bot runs.")
            return
        kind = "api" if entry.api else "endpoint"
        endpoints.append(
            Endpoint(kind, entry.url, entry.model, key=key, key_source=entry.key_env or "no key", name=name)
        )
        if not entry.api and own is None:
            own = entry
    prompt_files = [configured[n].prompts for n in job["endpoints"] if configured[n].prompts]
    try:
        if prompt_files:
            prompts = load_prompts(prompt_files[0])
        else:
            prompts = synthetic_prompts(job["in"] or 500, job["out"] or 200, job["requests"] or 20)
    except MeasureError as exc:
        bot.tell(client, where, f"The configured prompts cannot be used: {exc}")
        return
    options = Options(
        requests=job["requests"],
        concurrency=tuple(job["concurrency"]),
        request_timeout=settings.measure_request_timeout_s,
        run_timeout=settings.measure_run_timeout_s,
        latency_ms=job["latency_ms"],
        gpu=own.gpu if own else None,
        gpus=own.gpus if own else 1,
        gpu_price=own.gpu_price if own else None,
        max_requests=settings.measure_max_requests,
        max_concurrency=settings.measure_max_concurrency,
    )
    claimed = [(job["team"], n) for n in job["endpoints"]]
    with _busy_lock:
        taken = [n for t, n in claimed if (t, n) in _busy]
        if not taken:
            _busy.update(claimed)
    if taken:
        bot.tell(client, where, f"`{taken[0]}` is being measured already; two runs at once would skew both. Try later.")
        return
    try:
        _measure_and_post(bot, client, where, job, endpoints, prompts, options)
    finally:
        with _busy_lock:
            _busy.difference_update(claimed)


def _measure_and_post(bot, client, where, job, endpoints, prompts, options) -> None:
    names = " vs ".join(f"`{n}`" for n in job["endpoints"])
    per_run = options.requests or min(len(prompts.prompts), options.max_requests)
    levels = ", ".join(str(c) for c in options.concurrency)
    intro = f":stopwatch: Measuring {names}: {per_run} requests at concurrency {levels} ({prompts.source})."
    try:
        posted = client.chat_postMessage(channel=where.channel, text=intro)
    except Exception as exc:
        bot.tell(
            client, where, f"The measurement could not start: its message could not be posted ({slack_reason(exc)})."
        )
        return
    ts = posted["ts"]
    progress = _ProgressMessage(client, where.channel, ts, intro, bot.settings.measure_progress_every_s)
    try:
        result = measure(endpoints, prompts, options, progress=progress)
    except MeasureError as exc:
        _update(client, where.channel, ts, f":x: {names} could not be measured: {exc}")
        return
    save_as, replaced = None, None
    if result.figures and not result.stopped:  # a run cut short is shown, not saved
        save_as = job["save"] or f"{'-vs-'.join(job['endpoints'])}-{result.date}"
        replaced = MeasurementStore(bot.store).save(where.team, result, save_as)
    blocks = result_blocks(result, names, options.latency_ms, save_as, replaced, _extra_keys(job, bot))
    _update(client, where.channel, ts, f"Measured {names}", blocks)


class _ProgressMessage:
    """Edits the progress message at most every `every` seconds: Slack allows chat.update about once a second."""

    def __init__(self, client: WebClient, channel: str, ts: str, intro: str, every: float) -> None:
        self.client, self.channel, self.ts, self.intro, self.every = client, channel, ts, intro, every
        self.last = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        failed = f", {progress.failed} failed" if progress.failed else ""
        _update(
            self.client,
            self.channel,
            self.ts,
            f"{self.intro}\n`{progress.endpoint}` at concurrency {progress.concurrency}: "
            f"{progress.done}/{progress.planned} requests{failed} — {progress.total_done}/{progress.total} in all.",
        )


def _update(client: WebClient, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks or _text_blocks(text))
    except Exception as exc:  # a missed progress update must not stop the measurement
        log.warning("measurement message not updated: %s", slack_reason(exc))


def _text_blocks(text: str) -> list[dict]:
    from ..render import fit_lines

    return [{"type": "section", "text": {"type": "mrkdwn", "text": fit_lines(text.split("\n"), 3000)}}]


def _extra_keys(job: dict[str, Any], bot: Bot) -> str:
    """The keys an analysis needs besides the measured figures: the API model and the hardware measured."""
    from costcore.prices import PriceError, quote_model

    configured = _configured(bot)
    words = []
    for name in job["endpoints"]:
        entry = configured.get(name)
        if entry is None:
            continue
        if entry.api:
            try:
                quote_model(entry.model)
                words.append(f"api={entry.model}")
            except PriceError:
                pass
        else:
            if entry.gpu:
                words.append(f"gpu={entry.gpu}")
            if entry.gpus and entry.gpus != 1:
                words.append(f"gpus={entry.gpus}")
            if entry.gpu_price is not None:
                words.append(f"gpu_price={entry.gpu_price:g}/h")
    if job.get("latency_ms"):
        words.append(f"latency={job['latency_ms']:g}ms")
    return " ".join(dict.fromkeys(words))


def result_blocks(
    result: Result,
    names: str,
    latency_ms: float | None,
    saved_as: str | None,
    replaced: str | None,
    extra: str,
) -> list[dict]:
    from costcore.measured import scenario_keys

    from ..render import fit_lines

    rows = [r.figures() for r in result.runs]
    table = "\n".join(run_table(rows, compact=True))
    head = f"*Measured {names}* on {result.date} ({result.prompts.source})"
    if result.stopped:
        head += f" — stopped early ({result.stopped}): the figures cover the requests that finished"
    blocks = [_text_blocks(head)[0], _text_blocks(f"```\n{fit_lines(table.splitlines(), 2990)}\n```")[0]]
    keys = scenario_keys(result.figures)
    lines = [f"Scenario keys: `{keys}`" if keys else "Scenario keys: none measured (see below)"]
    chosen = capacity_line(result, latency_ms)
    if chosen:
        lines.append(chosen)
    for row in rows:
        if row["failures"]:
            what = ", ".join(f"{n} {k}" for k, n in row["failures"].items())
            lines.append(f"Failures, {row['endpoint']} at concurrency {row['concurrency']}: {what}")
    lines += [f"_{note}_" for note in result.notes]
    blocks.append(_text_blocks("\n".join(lines))[0])
    if saved_as:
        again = f" (replaced the one measured on {replaced})" if replaced else ""
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Saved as `{saved_as}`{again}: use `measured={saved_as}` in any analysis.",
                    }
                ],
            }
        )
        value = json.dumps({"measured": saved_as, "extra": extra})
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ANALYZE,
                        "text": {"type": "plain_text", "text": "Analyze with these figures"},
                        "style": "primary",
                        "value": value[:2000],
                    }
                ],
            }
        )
    return blocks


@work("measure_analyze")
def analyze_measured(bot: Bot, client: WebClient, job: Job) -> None:
    """The button: an analysis with `measured=NAME` (and the API model and hardware measured), in the
    measurement's thread. The verdict's own buttons (what-ifs, Edit assumptions) then set the volume."""
    where = bot.where(job)
    try:
        value = json.loads(job.payload["value"])
        text = f"measured={value['measured']} {value.get('extra', '')}".strip()
    except (KeyError, IndexError, TypeError, ValueError):
        return
    where.thread_ts = job.payload.get("message_ts")
    try:
        scenario = with_measurement(bot.store, where.team, parse(text))
    except GrammarError as exc:
        bot.tell(client, where, str(exc))
        return
    publish_analysis(bot, client, where, scenario, job, kind="measured", text=text)
