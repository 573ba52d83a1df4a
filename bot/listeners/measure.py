"""`/breakeven measure NAME [NAME2] [requests=20] [concurrency=1,8] [in=1500 out=200] [latency=2s] [save=NAME]`

Measures only endpoints an admin configured (BREAKEVEN_ENDPOINTS: name -> url, model, key variable):
a URL typed in Slack is refused, so nobody can make the bot send requests to an arbitrary address.
The measurement runs after the ack, off the listener thread; one message in the channel shows its
progress (chat.update, at most every MEASURE_PROGRESS_EVERY_S seconds) and then the table, the
scenario keys and an "Analyze with these figures" button.

It is a command job like any other (bot/jobs.py): its message is posted through the job's guarded
post, so a crash never posts it twice, and a job resumed after a crash never measures (and spends)
twice. What a measurement may build is bounded before anything is sent (in=, out=, levels, the
prompt file), and each user's requests a day too (MEASURE_USER_DAILY_REQUESTS; admins have no limit).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from costcore import GrammarError, parse
from costcore.grammar import pairs

from ..delivery import Unconfirmed, Where, slack_reason
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
from ..service import Bot, find_posted, publish_analysis, work
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


MAX_NAME = 64  # characters of a configured endpoint's name
MAX_SAVE = 80  # characters of a measurement's name (the grammar's measured= takes as many)


def start_measure(bot: Bot, client: WebClient, where: Where, rest: str, job: Job) -> None:
    """Check the command and run the measurement (we are already past the ack, on the bot's pool).
    Everything a measurement would build is bounded here, before anything is sent or posted."""
    configured = _configured(bot)
    words = rest.split()
    names = [w for w in words if "=" not in w]
    too_long = next((w for w in names if len(w) > MAX_NAME), None)
    if too_long is not None:
        bot.tell(client, where, f"`endpoint`: a name of {len(too_long):,} characters; names have at most {MAX_NAME}.")
        return
    for key, _, value in (w.partition("=") for w in words if "=" in w):
        limit = MAX_SAVE if key == "save" else 40
        if len(key) > 40 or len(value) > limit:
            bot.tell(client, where, f"`{key[:40]}`: {len(value):,} characters; at most {limit}.\nUsage: {USAGE}")
            return
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
        plan = _plan(bot, where, names, " ".join(w for w in words if "=" in w))
    except (GrammarError, ValueError) as exc:
        bot.tell(client, where, f"{exc}\nUsage: {USAGE}")
        return
    run_measure_job(bot, client, where, job, plan)


def _plan(bot: Bot, where: Where, names: list[str], text: str) -> dict[str, Any]:
    from ..measure import MAX_LEVELS, MAX_OUTPUT_TOKENS, MAX_PROMPT_TOKENS

    settings = bot.settings
    options: dict[str, str] = {}
    shape_words = []
    for key, value in pairs(text) if text else []:  # each word's length was checked by start_measure
        if key in OPTION_KEYS:
            options[key] = value
        elif key in SHAPE_KEYS:
            shape_words.append(f"{key}={value}")
        else:
            raise ValueError(f"`{key}`: measure takes requests, concurrency, in, out, latency and save")
    shape = parse(" ".join(shape_words)) if shape_words else None
    if shape and (shape.in_tokens or 0) > MAX_PROMPT_TOKENS:
        raise ValueError(f"`in`: {shape.in_tokens:,.0f} tokens a prompt; at most {MAX_PROMPT_TOKENS:,}")
    if shape and (shape.out_tokens or 0) > MAX_OUTPUT_TOKENS:
        raise ValueError(f"`out`: {shape.out_tokens:,.0f} tokens an answer; at most {MAX_OUTPUT_TOKENS:,}")
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
        if len(levels) > MAX_LEVELS:
            raise ValueError(f"`concurrency`: {len(levels)} levels; at most {MAX_LEVELS}")
        over = [level for level in levels if not 1 <= level <= settings.measure_max_concurrency]
        if over:
            raise ValueError(
                f"`concurrency`: {over[0]} streams at once; give 1 to {settings.measure_max_concurrency} "
                "(the bot's MEASURE_MAX_CONCURRENCY)"
            )
    else:
        levels = [min(level, settings.measure_max_concurrency) for level in levels]  # the default, within the limit
    save = options.get("save")
    if save is not None and not 1 <= len(save) <= MAX_SAVE:
        raise ValueError(f"`save`: give a name of 1 to {MAX_SAVE} characters")
    return {
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


def run_measure_job(bot: Bot, client: WebClient, where: Where, job: Job, plan: dict[str, Any]) -> None:
    """One measurement, start to finish: post a progress message (through the job's guarded post),
    measure, save, show the result. At most once per job: a resumed job whose message is in the
    channel had started, and shows what it knows instead of measuring (and spending) again."""
    from ..measure import MeasureRuns, synthetic_prompts

    names = " vs ".join(f"`{n}`" for n in plan["endpoints"])
    if job.resumed:
        ts = job.ts or find_posted(client, where)
        if ts:
            _show_resumed(bot, client, where, job, ts, names)
            return
    settings = bot.settings
    configured = _configured(bot)
    endpoints, own = [], None
    for name in plan["endpoints"]:
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
    prompt_files = [configured[n].prompts for n in plan["endpoints"] if configured[n].prompts]
    try:
        if prompt_files:
            prompts = load_prompts(prompt_files[0])
        else:
            prompts = synthetic_prompts(plan["in"] or 500, plan["out"] or 200, plan["requests"] or 20)
    except MeasureError as exc:
        bot.tell(client, where, f"The prompts cannot be used: {exc}")
        return
    options = Options(
        requests=plan["requests"],
        concurrency=tuple(plan["concurrency"]),
        request_timeout=settings.measure_request_timeout_s,
        run_timeout=settings.measure_run_timeout_s,
        latency_ms=plan["latency_ms"],
        gpu=own.gpu if own else None,
        gpus=own.gpus if own else 1,
        gpu_price=own.gpu_price if own else None,
        max_requests=settings.measure_max_requests,
        max_concurrency=settings.measure_max_concurrency,
    )
    admin = where.user in bot.admins
    measurements = MeasurementStore(bot.store)
    save_as = plan["save"]
    if save_as is None:  # the day's default name, or the next one free if another user has it
        base = f"{'-vs-'.join(plan['endpoints'])}-{dt.date.today().isoformat()}"
        save_as = next(
            name
            for name in (base, *(f"{base}-{n}" for n in range(2, 1000)))
            if measurements.refusal(where.team, name, where.user, admin=admin) is None
        )
    refusal = measurements.refusal(where.team, save_as, where.user, admin=admin)
    if refusal:  # before a request is sent: nobody measures for a result they could not keep
        bot.tell(client, where, refusal)
        return
    claimed = [(plan["team"], n) for n in plan["endpoints"]]
    with _busy_lock:
        taken = [n for t, n in claimed if (t, n) in _busy]
        if not taken:
            _busy.update(claimed)
    if taken:
        bot.tell(client, where, f"`{taken[0]}` is being measured already; two runs at once would skew both. Try later.")
        return
    try:
        per_run = options.requests or min(len(prompts.prompts), options.max_requests)
        planned = (per_run * len(options.concurrency) + 1) * len(endpoints)  # and one warm-up each
        limit = None if admin or not settings.measure_user_daily_requests else settings.measure_user_daily_requests
        runs = MeasureRuns(bot.store)
        refusal = runs.reserve(job=job.uid, team=where.team, user=where.user, requests=planned, limit=limit)
        if refusal:
            bot.tell(client, where, refusal)
            return
        _measure_and_post(bot, client, where, job, plan, endpoints, prompts, options, runs, names, save_as)
    finally:
        with _busy_lock:
            _busy.difference_update(claimed)


def _show_resumed(bot: Bot, client: WebClient, where: Where, job: Job, ts: str, names: str) -> None:
    """The job's message is in the channel: it had started measuring when the bot stopped. Its
    result, if it had one, is shown again; otherwise it says it stopped. Nothing is measured twice."""
    from ..measure import MeasureRuns

    shown = MeasureRuns(bot.store).result(job.uid)
    if shown is not None:
        _update(client, where.channel, ts, shown["text"], shown["blocks"])
        return
    from ..render import cut_line

    text = cut_line(str(job.payload.get("text") or "measure"), 300)
    _update(
        client,
        where.channel,
        ts,
        f":warning: The bot restarted while measuring {names}: this measurement stopped, and nothing was saved. "
        f"To measure again: `/breakeven {text}`",
    )


def _measure_and_post(bot, client, where, job, plan, endpoints, prompts, options, runs, names, save_as) -> None:
    per_run = options.requests or min(len(prompts.prompts), options.max_requests)
    levels = ", ".join(str(c) for c in options.concurrency)
    intro = f":stopwatch: Measuring {names}: {per_run} requests at concurrency {levels} ({prompts.source})."
    try:
        ts = bot.post(client, where, text=intro, blocks=_text_blocks(intro), job=job)
    except Unconfirmed:  # it may be in the channel, where a resumed job would find it: measure nothing
        runs.release(job.uid)
        bot.tell(client, where, f"The measurement of {names} did not start: Slack did not confirm its message.")
        return
    except Exception as exc:
        runs.release(job.uid)
        bot.tell(
            client, where, f"The measurement could not start: its message could not be posted ({slack_reason(exc)})."
        )
        return
    progress = _ProgressMessage(client, where.channel, ts, intro, bot.settings.measure_progress_every_s)
    try:
        result = measure(endpoints, prompts, options, progress=progress)
    except MeasureError as exc:
        text = f":x: {names} could not be measured: {exc}"
        runs.finished(job.uid, {"text": text, "blocks": _text_blocks(text)})
        _update(client, where.channel, ts, text)
        return
    saved, replaced = None, None
    if result.figures and not result.stopped:  # a run cut short is shown, not saved
        store = MeasurementStore(bot.store)
        if store.refusal(where.team, save_as, where.user, admin=where.user in bot.admins) is None:
            saved = save_as
            replaced = store.save(where.team, result, save_as, by=where.user)
        else:  # someone saved that name meanwhile: shown, and kept under a name of its own
            saved = f"{save_as}-{job.uid[:6]}"
            replaced = store.save(where.team, result, saved, by=where.user)
    blocks = result_blocks(result, names, options.latency_ms, saved, replaced, _extra_keys(plan, bot))
    runs.finished(job.uid, {"text": f"Measured {names}", "blocks": blocks})
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
