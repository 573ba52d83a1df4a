"""Measure instead of assume: the same prompts against the provider's API and a self-hosted
OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama), through the openai client.

The engine streams every request (stream_options include_usage) so that it sees the time to the
first token, the pace of the rest, and the token counts the server reports. For each endpoint and
concurrency level it sends N requests from C threads and reports what a buyer needs: failures,
tokens a request, TTFT and latency percentiles, output tokens a second per stream and in all,
requests a second, and a cost a request. Then the figures a scenario can reuse (in, out, ft_in,
capacity, fail_api, fail_ft), and storage of named measurements beside the bot's history.

Nothing here talks to Slack or prints: the CLI (breakeven/measure_cli.py) and the bot
(bot/listeners/measure.py) show the results. The openai package is imported lazily (~0.65 s).
Keys are held in `Endpoint.key` only: never in a label, a message, a result or the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlite_utils.migrations import Migrations

from costcore.measured import Measurement, resolve_measured
from costcore.scenario import Scenario

MAX_REQUESTS = 1000  # a run's requests per endpoint and concurrency level (CLI; the bot has its own setting)
MAX_CONCURRENCY = 128
MAX_LEVELS = 8  # concurrency levels in one measurement
# The work one measurement may build, whoever asks: a prompt of in= tokens is a string of about six
# bytes a token, built for every request in flight (2M tokens, which the grammar allows, is 12 MB a
# request, hundreds of MB at concurrency 16); a prompt file is read whole.
MAX_PROMPT_TOKENS = 128_000  # in= of synthetic prompts: the largest context windows measured in practice
MAX_OUTPUT_TOKENS = 32_000  # out=
MAX_PROMPTS_BYTES = 64 * 1024 * 1024  # a prompt file (JSONL)
REQUEST_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 900.0


class MeasureError(Exception):
    """A one-line reason a measurement cannot start: bad input, or an endpoint that is not usable."""


# ---------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True)
class Endpoint:
    """One thing to measure. `key` is the secret: it never appears in `label` or in any result."""

    kind: Literal["api", "endpoint"]
    url: str | None  # None: the openai client's default (api.openai.com)
    model: str
    key: str | None = field(default=None, repr=False)
    key_source: str = "no key"  # where the key came from, for messages: "OPENAI_API_KEY", "--key-env VLLM_KEY"
    name: str | None = None  # an admin's name for it (the bot shows names, not internal URLs)

    def __post_init__(self) -> None:
        from .redact import remember

        remember(self.key, self.url)  # never in a log line, whoever logs it (bot/redact.py)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return "api" if self.kind == "api" and self.url is None else safe_url(self.url or "")


def safe_url(url: str) -> str:
    """The URL without user:password@, query string or fragment (where keys hide)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def check_url(url: str) -> None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MeasureError(f"--endpoint: '{safe_url(url)}' is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")


def _redact(text: str, *secrets: str | None) -> str:
    from .redact import redact

    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[key]")
    return redact(text)


def _client(endpoint: Endpoint, request_timeout: float, transport: Any = None):
    """An openai client for one endpoint: no retries (a retry would hide a failure and stretch a latency).
    `transport` (an httpx2 transport) replaces the network: tests give a fake server that way."""
    from .llm_client import openai_client

    return openai_client(
        # An explicit key, always: without one the client would send OPENAI_API_KEY to whatever server this is.
        api_key=endpoint.key or "no-key",
        base_url=endpoint.url,
        timeout=request_timeout,
        connect_timeout=min(10.0, request_timeout),
        max_retries=0,
        # Nor the organization and project ids of OPENAI_ORG_ID / OPENAI_PROJECT_ID to a server of one's own.
        third_party=endpoint.kind == "endpoint",
        transport=transport,
    )


class MeasureEndpoint(BaseModel):
    """An endpoint `/breakeven measure NAME` may measure (BREAKEVEN_ENDPOINTS): only an admin sets these."""

    model_config = ConfigDict(extra="forbid")

    url: str
    model: str = Field(min_length=1)
    key_env: str | None = None  # the environment variable holding its key; never the key itself
    api: bool = False  # the provider's API: priced from the catalogue, its figures are in, out and fail_api
    prompts: Path | None = None  # a JSONL file of the team's prompts; synthetic prompts otherwise
    gpu: str | None = None  # the hardware behind a self-hosted endpoint, for its cost a request
    gpus: int = Field(default=1, ge=1, le=64)
    gpu_price: float | None = Field(default=None, ge=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname:
            raise ValueError("must be an http(s) URL such as http://10.0.0.5:8000/v1")
        return value

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, value: str | None) -> str | None:
        from costcore.prices import PriceError, find_gpu

        if value is not None:
            try:
                find_gpu(value)
            except PriceError as exc:
                raise ValueError(str(exc)) from None
        return value


def parse_endpoints(value: Any) -> dict[str, MeasureEndpoint]:
    """BREAKEVEN_ENDPOINTS: a JSON object of name -> {url, model, key_env, ...}; ValueError names the entry."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError('is not JSON: {"name": {"url": "http://...:8000/v1", "model": "..."}}') from None
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object: {"name": {"url": "...", "model": "..."}}')
    checked = {}
    for name, entry in value.items():
        try:
            checked[str(name)] = MeasureEndpoint.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "entry"
            problem = str(error["msg"]).removeprefix("Value error, ")
            problem = "is missing" if error["type"] == "missing" else problem
            hint = " (each endpoint needs url and model)" if error["type"] == "missing" else ""
            raise ValueError(f"'{name}': {where} {problem}{hint}") from None
    return checked


# ---------------------------------------------------------------------------------------
# Prompts


@dataclass(frozen=True)
class Prompt:
    messages: list[dict]
    max_tokens: int | None = None
    expected: Any = None  # a string (exact match) or a JSON object (fields present and equal)


@dataclass(frozen=True)
class PromptSet:
    prompts: Sequence[Prompt]
    source: str  # "support.jsonl (40 lines)" or "synthetic in=1500 out=200"
    sha256: str | None  # of the file's bytes; None for synthetic prompts
    synthetic: bool


def load_prompts(path: Path) -> PromptSet:
    """One chat request a line: {"messages": [...], "max_tokens": 200, "expected": ...}."""
    try:
        size = path.stat().st_size
        if size > MAX_PROMPTS_BYTES:
            raise MeasureError(
                f"--prompts: {path.name} is {size / 2**20:,.0f} MB: at most {MAX_PROMPTS_BYTES // 2**20} MB of prompts"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise MeasureError(f"--prompts: cannot read {path}: {exc.strerror}") from None
    prompts = []
    for number, line in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        where = f"--prompts: {path.name} line {number}"
        try:
            item = json.loads(line)
        except ValueError:
            raise MeasureError(f"{where} is not JSON") from None
        if not isinstance(item, dict):
            raise MeasureError(f"{where}: expected an object with messages")
        messages = item.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise MeasureError(f'{where}: needs "messages", a list like [{{"role": "user", "content": "..."}}]')
        max_tokens = item.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise MeasureError(f"{where}: max_tokens must be a whole number of 1 or more")
        prompts.append(Prompt(messages=messages, max_tokens=max_tokens, expected=item.get("expected")))
    if not prompts:
        raise MeasureError(f"--prompts: {path.name} has no requests (one JSON object a line)")
    digest = hashlib.sha256(data).hexdigest()
    return PromptSet(prompts, f"{path.name} ({len(prompts)} lines)", digest, synthetic=False)


# Common short English words: about one token each in the GPT and Llama tokenizers alike.
_WORDS = (
    "the of and to in is was for on that with as by at from this it be are or an have not which but "
    "one all were they there been has more when will would who so no if out up what about into than "
    "them can only other new some could time these two may first then do any like my now over such our "
    "man me even most made after also did many before must through back years where much your way well"
).split()


class _Synthetic(Sequence):
    """Synthetic prompts, each built when it is sent: a run holds only the ones in flight."""

    def __init__(self, words_needed: int, out_tokens: float, count: int):
        self.words_needed, self.out_tokens, self.count = words_needed, out_tokens, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.count))]
        if not -self.count <= i < self.count:
            raise IndexError(i)
        i %= self.count
        words = _WORDS
        body = " ".join(words[(i * 7 + j * 13 + j // len(words)) % len(words)] for j in range(self.words_needed))
        text = (
            f"Request {i + 1}. Here is a text: {body}\n"
            f"Write about {int(self.out_tokens)} words on what the text says. Do not stop early."
        )
        return Prompt(messages=[{"role": "user", "content": text}], max_tokens=max(1, int(self.out_tokens)))


def synthetic_prompts(in_tokens: float, out_tokens: float, count: int) -> PromptSet:
    """Prompts of the scenario's shape: about in_tokens of text, asking for out_tokens.

    Each prompt starts differently, so a server's prefix cache cannot make them artificially fast.
    MeasureError beyond MAX_PROMPT_TOKENS or MAX_OUTPUT_TOKENS: the work would not fit in memory."""
    if in_tokens > MAX_PROMPT_TOKENS:
        raise MeasureError(f"in={in_tokens:,.0f} tokens a prompt: synthetic prompts have at most {MAX_PROMPT_TOKENS:,}")
    if out_tokens > MAX_OUTPUT_TOKENS:
        raise MeasureError(f"out={out_tokens:,.0f} tokens an answer: at most {MAX_OUTPUT_TOKENS:,}")
    words_needed = max(1, int(in_tokens) - 25)  # the instruction and the chat template take about 25 tokens
    prompts = _Synthetic(words_needed, out_tokens, count)
    return PromptSet(prompts, f"synthetic in={in_tokens:g} out={out_tokens:g}", None, synthetic=True)


def check_answer(text: str, expected: Any) -> bool:
    """Exact match for a string; for a JSON object, every expected field present and equal."""
    if isinstance(expected, str):
        return text.strip() == expected.strip()
    parsed = _json_in(text)
    if isinstance(expected, dict):
        return isinstance(parsed, dict) and all(k in parsed and parsed[k] == v for k, v in expected.items())
    return parsed == expected if parsed is not _NOT_JSON else text.strip() == json.dumps(expected)


_NOT_JSON = object()


def _json_in(text: str) -> Any:
    """JSON from an answer, also when the model wrapped it in a ```json fence."""
    cleaned = text.strip()
    fence = re.match(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", cleaned, re.S)
    if fence:
        cleaned = fence.group(1).strip()
    try:
        return json.loads(cleaned)
    except ValueError:
        return _NOT_JSON


# ---------------------------------------------------------------------------------------
# One request


@dataclass
class Sample:
    """What one request did. Times in seconds from just before the request was sent."""

    error: str | None = None  # None when an answer came back; "HTTP 500", "timeout", "empty answer", ...
    ttft: float | None = None
    latency: float | None = None
    decode_tok_s: float | None = None
    in_tokens: float | None = None
    out_tokens: float | None = None
    cached_tokens: float = 0.0  # input the provider read from its prompt cache (cheaper)
    usage_reported: bool = False
    finished: float | None = None  # the clock's time when the answer ended (time.perf_counter by default)
    correct: bool | None = None  # None: no expected answer to check
    cost: float | None = None
    detail: str = ""  # the server's message for an error, redacted

    @property
    def ok(self) -> bool:
        return self.error is None


def _content_of(delta: Any) -> tuple[str, bool, bool]:
    """(visible text, streamed reasoning?, a tool call?) of one delta."""
    text = (getattr(delta, "content", None) or "") + (getattr(delta, "refusal", None) or "")
    extra = getattr(delta, "model_extra", None) or {}
    reasoning = bool(extra.get("reasoning_content") or extra.get("reasoning"))
    return text, reasoning, bool(getattr(delta, "tool_calls", None))


def send_one(
    client: Any,
    endpoint: Endpoint,
    prompt: Prompt,
    *,
    timeout: float,
    stop: threading.Event,
    include_usage: bool = True,
    clock: Callable[[], float] = time.perf_counter,
) -> Sample | None:
    """Send one streaming request and time it (on `clock`). None if `stop` was set before it finished."""
    import openai

    kwargs: dict[str, Any] = {"model": endpoint.model, "messages": prompt.messages, "stream": True}
    if include_usage:
        kwargs["stream_options"] = {"include_usage": True}
    if prompt.max_tokens:
        # The provider's newer models refuse max_tokens; servers of open models all know max_tokens.
        kwargs["max_completion_tokens" if endpoint.kind == "api" else "max_tokens"] = prompt.max_tokens
    start = clock()
    first = last = None
    pieces: list[str] = []
    token_chunks = reasoning_chunks = tool_chunks = chunks = 0
    usage = None
    try:
        stream = client.chat.completions.create(**kwargs)
        with stream:
            for chunk in stream:
                now = clock()
                chunks += 1
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                for choice in getattr(chunk, "choices", None) or []:
                    text, reasoning, tool = _content_of(choice.delta)
                    if text or reasoning or tool:  # a generated token: the first one sets TTFT
                        first = now if first is None else first
                        last = now
                        token_chunks += 1
                        reasoning_chunks += reasoning
                        tool_chunks += tool
                    if text:
                        pieces.append(text)
                if stop.is_set():
                    return None
                if now - start > timeout:
                    return Sample(error="timeout", detail=f"still streaming after {timeout:g} s")
    except openai.APITimeoutError:
        return None if stop.is_set() else Sample(error="timeout", detail=f"no answer within {timeout:g} s")
    except openai.APIStatusError as exc:
        return Sample(error=f"HTTP {exc.status_code}", detail=_redact(_message(exc), endpoint.key))
    except openai.APIConnectionError as exc:
        if stop.is_set():
            return None
        return Sample(error="connection", detail=_redact(_cause(exc), endpoint.key))
    except openai.APIError as exc:  # an error event inside the stream
        return Sample(error="stream error", detail=_redact(_message(exc), endpoint.key))
    except ValueError:  # a data line that is not JSON
        return Sample(error="not JSON", detail="the stream carried data that is not JSON")
    end = clock()
    if chunks == 0:
        return Sample(error="not JSON", detail="the answer was not a stream of JSON chunks (server-sent events)")
    sample = Sample(latency=end - start, ttft=None if first is None else first - start, finished=end)
    if usage is not None and usage.completion_tokens is not None:
        sample.usage_reported = True
        sample.in_tokens = float(usage.prompt_tokens or 0)
        sample.out_tokens = float(usage.completion_tokens)
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None)
        sample.cached_tokens = float(cached or 0)
        # Reasoning the provider does not stream (its models think before the first token) is billed
        # output, but took no part in the pace of the stream.
        details = getattr(usage, "completion_tokens_details", None)
        hidden = float(getattr(details, "reasoning_tokens", None) or 0) if not reasoning_chunks else 0.0
        streamed = max(0.0, sample.out_tokens - hidden)
    else:  # the server sent no usage: one token a chunk is what servers of open models do
        sample.out_tokens = float(token_chunks)
        streamed = float(token_chunks)
    if first is not None and last is not None and last > first and streamed >= 2:
        sample.decode_tok_s = (streamed - 1) / (last - first)
    text = "".join(pieces)
    if not text.strip() and not tool_chunks:
        sample.error = "empty answer"
        return sample
    if prompt.expected is not None:
        sample.correct = check_answer(text, prompt.expected)
    return sample


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(getattr(exc, "message", "") or exc)[:300]


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(cause) if cause else str(exc)
    match = re.search(r"\[Errno \d+\] ([^')\]]+)", text)
    return (match.group(1) if match else text).strip()[:200]


# ---------------------------------------------------------------------------------------
# Runs: N requests at concurrency C


@dataclass
class Run:
    endpoint: Endpoint
    concurrency: int
    planned: int
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    stopped: str | None = None  # "interrupted" or "time limit"
    cost_basis: str | None = None
    selfhost_hourly: float | None = None

    def ok_samples(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    def usage_missing(self) -> bool:
        """Answers came back, but the server reported no token usage for any of them."""
        ok = self.ok_samples()
        return bool(ok) and not any(s.usage_reported for s in ok)

    def figures(self) -> dict[str, Any]:
        ok = self.ok_samples()
        failed = len(self.samples) - len(ok)
        checked = [s for s in ok if s.correct is not None]
        wrong = sum(1 for s in checked if not s.correct)
        failures: dict[str, int] = {}
        for s in self.samples:
            if s.error:
                failures[s.error] = failures.get(s.error, 0) + 1
        if wrong:
            failures["wrong answer"] = wrong
        requests = len(self.samples)
        with_usage = [s for s in ok if s.usage_reported]
        ins = [s.in_tokens for s in with_usage if s.in_tokens is not None]
        cached_share = sum(s.cached_tokens for s in with_usage) / sum(ins) if sum(ins) else None
        outs = [s.out_tokens for s in ok if s.out_tokens is not None]
        out_total = sum(outs)
        rps = len(ok) / self.wall_s if self.wall_s > 0 else None
        cost = None
        if self.endpoint.kind == "api":
            costs = [s.cost for s in ok if s.cost is not None]
            cost = sum(costs) / len(costs) if costs else None
        elif self.selfhost_hourly is not None and rps:
            cost = self.selfhost_hourly / 3600 / rps
        return {
            "endpoint": self.endpoint.label,
            "kind": self.endpoint.kind,
            "model": self.endpoint.model,
            "concurrency": self.concurrency,
            "requests": requests,
            "ok": len(ok),
            "failed": failed,
            "failures": failures,
            "checked": len(checked),
            "wrong": wrong,
            "failure_rate": _round((failed + wrong) / requests, 4) if requests else None,
            "in_tokens_mean": _round(_mean(ins), 1),
            "in_tokens_p95": _round(percentile(ins, 95), 1),
            "out_tokens_mean": _round(_mean(outs), 1),
            "out_tokens_p95": _round(percentile(outs, 95), 1),
            "usage_reported": len(with_usage),
            "cached_share": _round(cached_share, 4),
            "ttft_ms_p50": _ms(percentile([s.ttft for s in ok if s.ttft is not None], 50)),
            "ttft_ms_p95": _ms(percentile([s.ttft for s in ok if s.ttft is not None], 95)),
            "latency_ms_p50": _ms(percentile([s.latency for s in ok if s.latency is not None], 50)),
            "latency_ms_p95": _ms(percentile([s.latency for s in ok if s.latency is not None], 95)),
            "output_tok_s_per_stream": _round(_mean([s.decode_tok_s for s in ok if s.decode_tok_s]), 2),
            "output_tok_s": _round(out_total / self.wall_s, 2) if self.wall_s > 0 and ok else None,
            "requests_per_s": _round(rps, 4) if ok else None,
            "wall_s": _round(self.wall_s, 3),
            "cost_per_request": _round(cost, 8),
            "cost_basis": self.cost_basis,
            "planned": self.planned,
            "stopped": self.stopped,
        }


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


@dataclass(frozen=True)
class Progress:
    """Where a measurement is, for a progress bar or a Slack message."""

    endpoint: str
    concurrency: int
    done: int  # requests finished in this run
    planned: int
    failed: int
    total_done: int  # in the whole measurement
    total: int


@dataclass
class Options:
    requests: int | None = None  # per endpoint and level; None: one per prompt
    concurrency: tuple[int, ...] = (1, 8)
    request_timeout: float = REQUEST_TIMEOUT_S
    run_timeout: float = RUN_TIMEOUT_S
    latency_ms: float | None = None  # the bound the chosen concurrency must meet (p95)
    gpu: str | None = None
    gpus: int = 1
    gpu_price: float | None = None  # $ a GPU-hour
    max_requests: int = MAX_REQUESTS
    max_concurrency: int = MAX_CONCURRENCY


@dataclass
class Result:
    runs: list[Run]
    prompts: PromptSet
    date: str
    stopped: str | None = None
    notes: list[str] = field(default_factory=list)
    chosen: Run | None = None  # the endpoint run whose throughput becomes capacity=
    figures: dict[str, float] = field(default_factory=dict)  # scenario field -> measured value
    api_model: str | None = None  # the catalogue model behind --api, so measured=NAME can name it
    gpu: str | None = None  # the hardware behind the own endpoint (gpu=), likewise
    gpus: int | None = None

    def measurement(self, name: str) -> Measurement:
        endpoints = list(dict.fromkeys(f"{r.endpoint.label} ({r.endpoint.model})" for r in self.runs))
        return Measurement(
            name=name,
            date=self.date,
            endpoint=" vs ".join(endpoints) or None,
            api_model=self.api_model,
            gpu=self.gpu,
            gpus=self.gpus,
            **self.figures,
        )

    def to_json(self) -> dict[str, Any]:
        from costcore.measured import scenario_keys

        return {
            "date": self.date,
            "prompts": {"source": self.prompts.source, "sha256": self.prompts.sha256},
            "runs": [r.figures() for r in self.runs],
            "chosen": None if self.chosen is None else {"concurrency": self.chosen.concurrency},
            "figures": self.figures,
            "scenario_keys": scenario_keys(self.figures),
            "stopped": self.stopped,
            "notes": self.notes,
        }


def measure(
    endpoints: list[Endpoint],
    prompts: PromptSet,
    options: Options,
    *,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.perf_counter,
    transport: Any = None,
) -> Result:
    """Check each endpoint, then run every concurrency level against each, side by side.

    Every time measured is read from `clock`, and `transport` (an httpx2 transport) may stand for the
    network: a test gives a fake server whose timings are recorded on the clock, not slept.

    Raises MeasureError if an endpoint is unusable (down, not JSON, no such model). Ctrl-C (a
    KeyboardInterrupt in the calling thread), `stop` or the run timeout end it early: the result
    then holds the requests that finished, and `stopped` says why."""
    check_options(endpoints, options)
    stop = stop or threading.Event()
    deadline = time.monotonic() + options.run_timeout
    per_run = options.requests or min(len(prompts.prompts), options.max_requests)
    clients = {}
    usage_option = {}
    for endpoint in endpoints:
        clients[endpoint] = _client(endpoint, options.request_timeout, transport)
        usage_option[endpoint] = preflight(
            clients[endpoint], endpoint, prompts.prompts[0], options.request_timeout, clock=clock
        )
    pricing = {e: _pricing(e, options) for e in endpoints}
    own = any(e.kind == "endpoint" for e in endpoints)
    result = Result(
        runs=[],
        prompts=prompts,
        date=dt.datetime.now(dt.UTC).date().isoformat(),
        api_model=next((e.model for e in endpoints if e.kind == "api"), None),
        gpu=options.gpu if own else None,
        gpus=options.gpus if own and options.gpu and (options.gpus or 1) > 1 else None,  # 1: the model picks
    )
    total = per_run * len(endpoints) * len(options.concurrency)
    done_before = 0
    try:
        for level in options.concurrency:
            for endpoint in endpoints:
                run = Run(endpoint=endpoint, concurrency=level, planned=per_run)
                run.cost_basis, run.selfhost_hourly, price = pricing[endpoint]
                result.runs.append(run)

                def report(r: Run = run, before: int = done_before) -> None:
                    if progress is not None:
                        failed = sum(1 for s in r.samples if not s.ok)
                        done = len(r.samples)
                        label = r.endpoint.label
                        progress(Progress(label, r.concurrency, done, r.planned, failed, before + done, total))

                _run(
                    clients[endpoint], run, prompts.prompts, options, stop, deadline, usage_option[endpoint], report,
                    clock,
                )  # fmt: skip
                _price_samples(run, price)
                done_before += run.planned
                if run.stopped:
                    result.stopped = run.stopped
                    raise _Stopped
    except _Stopped:
        pass
    except KeyboardInterrupt:
        stop.set()
        result.stopped = "interrupted"
        if result.runs and result.runs[-1].stopped is None:
            result.runs[-1].stopped = "interrupted"
    finally:
        for client in clients.values():
            try:
                client.close()
            except Exception:  # closing is best effort; in-flight threads may still hold connections
                pass
    _summarise(result, options)
    return result


class _Stopped(Exception):
    pass


def check_options(endpoints: list[Endpoint], options: Options) -> None:
    if not endpoints:
        raise MeasureError("nothing to measure: give --api MODEL and/or --endpoint URL --model NAME")
    if options.requests is not None and not 1 <= options.requests <= options.max_requests:
        raise MeasureError(f"--requests: give 1 to {options.max_requests} requests (got {options.requests})")
    if not options.concurrency or any(not 1 <= c <= options.max_concurrency for c in options.concurrency):
        raise MeasureError(f"--concurrency: each level must be 1 to {options.max_concurrency}")
    if len(options.concurrency) > MAX_LEVELS:
        raise MeasureError(f"--concurrency: at most {MAX_LEVELS} levels (got {len(options.concurrency)})")
    if options.request_timeout <= 0 or options.run_timeout <= 0:
        raise MeasureError("--timeout and --max-duration must be more than 0 seconds")


def preflight(
    client: Any, endpoint: Endpoint, prompt: Prompt, timeout: float, *, clock: Callable[[], float] = time.perf_counter
) -> bool:
    """Is the endpoint up, speaking JSON, serving the model? One warm-up request, not counted, also
    loads the model on servers that load lazily (Ollama, llama.cpp). Returns whether the server
    accepts stream_options (some older ones refuse it: then output tokens are counted by chunk)."""
    import openai

    label = endpoint.label
    listed: list[str] | None = None
    try:
        raw = client.models.with_raw_response.list()
        try:
            data = json.loads(raw.text)
            listed = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]
        except (ValueError, AttributeError):
            kind = (raw.headers.get("content-type") or "no content type").split(";")[0]
            raise MeasureError(
                f"{label} answered GET /models with {kind}, not JSON: is this the OpenAI-compatible base URL "
                "(it usually ends in /v1)?"
            ) from None
    except openai.APITimeoutError:
        raise MeasureError(f"{label} did not answer within {timeout:g} s (GET /models)") from None
    except openai.APIConnectionError as exc:
        raise MeasureError(f"cannot reach {label}: {_redact(_cause(exc), endpoint.key)}") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        raise MeasureError(
            f"{label} refused the key ({endpoint.key_source}): HTTP {exc.status_code}: "
            f"{_redact(_message(exc), endpoint.key)}"
        ) from None
    except openai.APIStatusError as exc:
        if exc.status_code not in (404, 405):  # a server that lists no models is fine: the warm-up decides
            raise MeasureError(
                f"{label} answered HTTP {exc.status_code} to GET /models: {_redact(_message(exc), endpoint.key)}"
            ) from None
    warm = Prompt(messages=prompt.messages, max_tokens=min(prompt.max_tokens or 16, 16))
    never = threading.Event()
    sample = send_one(client, endpoint, warm, timeout=timeout, stop=never, clock=clock)
    include_usage = True
    if sample is not None and sample.error in ("HTTP 400", "HTTP 422") and "stream_options" in sample.detail:
        include_usage = False
        sample = send_one(client, endpoint, warm, timeout=timeout, stop=never, include_usage=False, clock=clock)
    if sample is None or sample.ok:
        return include_usage
    served = f"; it serves: {', '.join(listed[:12])}" if listed else ""
    if sample.error in ("HTTP 404", "HTTP 400") and (listed is not None and endpoint.model not in listed):
        raise MeasureError(f"{label} has no model '{endpoint.model}'{served}")
    if sample.error == "HTTP 404":
        raise MeasureError(f"{label} has no model '{endpoint.model}' (HTTP 404: {sample.detail}){served}")
    if sample.error in ("HTTP 401", "HTTP 403"):
        raise MeasureError(f"{label} refused the key ({endpoint.key_source}): {sample.error}: {sample.detail}")
    if sample.error == "not JSON":
        raise MeasureError(f"{label} answered the chat request with something that is not JSON: {sample.detail}")
    if sample.error == "empty answer":
        return include_usage  # an empty answer is a measured failure, not a broken endpoint
    if sample.error == "timeout":
        raise MeasureError(f"{label} did not answer a first request within {timeout:g} s")
    detail = f": {sample.detail}" if sample.detail else ""
    raise MeasureError(f"{label} failed a first request ({sample.error}{detail})")


def _run(
    client: Any,
    run: Run,
    prompts: Sequence[Prompt],
    options: Options,
    stop: threading.Event,
    deadline: float,
    usage: bool,
    report: Callable[[], None],
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    """N requests from C worker threads; this thread watches the clock, Ctrl-C and progress."""
    indices: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(run.planned):
        indices.put(i)
    finished: queue.SimpleQueue[Sample] = queue.SimpleQueue()
    run_stop = threading.Event()

    def worker() -> None:
        while not (stop.is_set() or run_stop.is_set()):
            try:
                i = indices.get_nowait()
            except queue.Empty:
                return
            prompt = prompts[i % len(prompts)]
            try:
                timeout = options.request_timeout
                sample = send_one(
                    client, run.endpoint, prompt, timeout=timeout, stop=run_stop, include_usage=usage, clock=clock
                )
            except Exception as exc:  # never lose a worker silently: it is a failed request
                sample = Sample(error=type(exc).__name__, detail=_redact(str(exc)[:200], run.endpoint.key))
            if sample is not None:
                finished.put(sample)

    # Daemon threads: a request stuck past Ctrl-C must not keep the process alive.
    threads = [threading.Thread(target=worker, daemon=True, name=f"measure-{i}") for i in range(run.concurrency)]
    start = clock()
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads):
            try:
                run.samples.append(finished.get(timeout=0.1))
                while True:
                    run.samples.append(finished.get_nowait())
            except queue.Empty:
                pass
            report()
            if stop.is_set():
                run.stopped = run.stopped or "interrupted"
                break
            if time.monotonic() > deadline:
                run.stopped = "time limit"
                break
    except KeyboardInterrupt:
        run.stopped = "interrupted"
        run_stop.set()
        _collect(finished, run)
        run.wall_s = _wall(run, start, clock)
        raise
    finally:
        if run.stopped:
            run_stop.set()
    _collect(finished, run)
    run.wall_s = _wall(run, start, clock)
    report()


def _wall(run: Run, start: float, clock: Callable[[], float] = time.perf_counter) -> float:
    """From the first request to the last answer that ended: a slow progress update (a Slack edit)
    in the watching thread must not stretch the run and understate its throughput."""
    ends = [s.finished for s in run.samples if s.finished is not None]
    return (max(ends) if ends else clock()) - start


def _collect(finished: queue.SimpleQueue, run: Run) -> None:
    while True:
        try:
            run.samples.append(finished.get_nowait())
        except queue.Empty:
            return


def _pricing(endpoint: Endpoint, options: Options) -> tuple[str | None, float | None, Any]:
    """(basis shown to the user, self-host $ an hour, genai-prices price object for the API)."""
    from costcore.prices import PriceError, find_gpu, quote_model

    if endpoint.kind == "api":
        try:
            quote, price = quote_model(endpoint.model)
        except PriceError:
            return f"'{endpoint.model}' is not in the price catalogue", None, None
        return f"{quote.provider}:{quote.model} list price, {quote.date}", None, price
    if options.gpu_price is None and options.gpu is None:
        return "give gpu= or gpu_price= for a self-host cost", None, None
    hourly = options.gpu_price
    gpu = find_gpu(options.gpu) if options.gpu is not None else None
    name = gpu.name if gpu is not None else "GPU"
    if hourly is None:
        hourly = gpu.price_per_hour  # the always-on median: a measured server runs all month
        if hourly is None:
            other = "" if gpu.price_label == "no catalogue price" else f" (only {gpu.price_label})"
            return (
                f"the catalogue has no always-on price for the {name}{other}, and a measured server runs all "
                "month: give gpu_price= with your price an hour",
                None,
                None,
            )
    gpus = options.gpus or 1
    return f"{gpus} x {name} at ${hourly:g}/h", hourly * gpus, None


def _price_samples(run: Run, price: Any) -> None:
    if price is None:
        return
    from costcore.prices import per_request_cost

    for sample in run.ok_samples():
        if sample.in_tokens is not None and sample.out_tokens is not None:
            cached = sample.cached_tokens / sample.in_tokens if sample.in_tokens else 0.0
            sample.cost = per_request_cost(price, sample.in_tokens, sample.out_tokens, min(cached, 1.0))


def _summarise(result: Result, options: Options) -> None:
    """The figures a scenario can reuse, and the notes that explain them."""
    api_runs = [r for r in result.runs if r.endpoint.kind == "api"]
    own_runs = [r for r in result.runs if r.endpoint.kind == "endpoint"]
    notes = result.notes
    synthetic = result.prompts.synthetic
    figures = result.figures

    def pooled(runs: list[Run]) -> list[Sample]:
        return [s for r in runs for s in r.samples]

    if not synthetic:
        api_ok = [s for s in pooled(api_runs) if s.ok and s.usage_reported]
        if api_ok:
            figures["in_tokens"] = round(sum(s.in_tokens for s in api_ok) / len(api_ok), 1)
            figures["out_tokens"] = round(sum(s.out_tokens for s in api_ok) / len(api_ok), 1)
        own_ok = [s for s in pooled(own_runs) if s.ok and s.usage_reported]
        if own_ok:
            figures["ft_in_tokens"] = round(sum(s.in_tokens for s in own_ok) / len(own_ok), 1)
        for runs, key in ((api_runs, "fail_api"), (own_runs, "fail_ft")):
            samples = pooled(runs)
            checked = [s for s in samples if s.ok and s.correct is not None]
            if checked:
                failed = sum(1 for s in samples if not s.ok) + sum(1 for s in checked if not s.correct)
                figures[key] = round(failed / len(samples), 4)
        if any(r.samples for r in result.runs) and not any(
            s.correct is not None for r in result.runs for s in r.samples
        ):
            notes.append('no line has "expected": give expected answers to measure the failure rates')
        elif any(s.ok and s.correct is None for r in result.runs for s in r.samples):
            notes.append(
                'some lines have no "expected": the failure rates count transport failures on those, '
                "wrong answers only on the others"
            )
    else:
        notes.append(
            "synthetic prompts measure speed, not your traffic: in, out, ft_in and the failure rates "
            "come from your own prompts (a JSONL prompt file)"
        )
    api_answers = [s for s in pooled(api_runs) if s.ok]
    if api_answers:  # p95: a latency bound is one that answers must meet, not on average
        figures["api_latency_ms"] = round(percentile([s.latency for s in api_answers], 95) * 1000, 1)
        ttfts = [s.ttft for s in api_answers if s.ttft is not None]
        if ttfts:
            figures["api_ttft_ms"] = round(percentile(ttfts, 95) * 1000, 1)
    api_usage = [s for s in pooled(api_runs) if s.ok and s.usage_reported]
    cached = sum(s.cached_tokens for s in api_usage) / max(1.0, sum(s.in_tokens for s in api_usage))
    if cached >= 0.01:
        notes.append(
            f"the API read {cached:.0%} of the input from its prompt cache (priced in $/request): "
            f"add cached={cached:.0%} to the analysis"
        )
    if own_runs:
        complete = [r for r in own_runs if r.ok_samples() and r.figures()["output_tok_s"]]
        meeting = complete
        if options.latency_ms is not None:
            meeting = [r for r in complete if (r.figures()["latency_ms_p95"] or math.inf) <= options.latency_ms]
            if complete and not meeting:
                best_p95 = min(r.figures()["latency_ms_p95"] for r in complete)
                notes.append(
                    f"no concurrency met latency={options.latency_ms:g}ms at p95 (the best was {best_p95:,.0f} ms): "
                    "no capacity figure"
                )
        if meeting:
            chosen = max(meeting, key=lambda r: r.figures()["output_tok_s"])
            result.chosen = chosen
            at_capacity = chosen.figures()
            figures["capacity_tok_s"] = round(at_capacity["output_tok_s"], 1)
            # the latency that capacity comes with: at that concurrency, p95, as the API's is
            for key, measured in (("ft_latency_ms", "latency_ms_p95"), ("ft_ttft_ms", "ttft_ms_p95")):
                if at_capacity[measured] is not None:
                    figures[key] = at_capacity[measured]
    for run in result.runs:
        fig = run.figures()
        if run.usage_missing():
            notes.append(f"{fig['endpoint']} reported no token usage: output tokens counted one a chunk")
        if fig["requests"] and fig["requests"] < 2 * run.concurrency and run.concurrency > 1:
            notes.append(
                f"{fig['endpoint']} at concurrency {run.concurrency}: {fig['requests']} requests barely fill it; "
                f"use {3 * run.concurrency} requests or more for a steady throughput"
            )
    result.notes = list(dict.fromkeys(notes))


# ---------------------------------------------------------------------------------------
# Saved measurements: the same SQLite file as the bot's history, a table of our own


migrations = Migrations("breakeven-measure")


@migrations()
def m001_measurements(db: sqlite_utils.Database) -> None:
    db["measurements"].create(
        {
            "team": str,
            "name": str,
            "date": str,
            "endpoint": str,
            "prompts": str,
            "prompts_sha256": str,
            "measurement": str,  # costcore.measured.Measurement as JSON
            "runs": str,  # the per-run figures as JSON
            "saved": str,
        },
        pk=("team", "name"),
        not_null={"team", "name", "date", "measurement", "saved"},
    )


@migrations()
def m002_measure_runs_per_user(db: sqlite_utils.Database) -> None:
    # The bot's measurements, one row per job: who asked for how many requests when (the per-user
    # budget, MEASURE_USER_DAILY_REQUESTS), and what the run showed at its end (a job resumed after a
    # crash shows it again instead of measuring again).
    db["measure_runs"].create(
        {"job": str, "team": str, "user": str, "started": float, "requests": int, "result": str},
        pk="job",
        not_null={"team", "user", "started", "requests"},
    )
    db["measure_runs"].create_index(["team", "user", "started"])


@migrations()
def m003_measurement_saved_by(db: sqlite_utils.Database) -> None:
    # Who saved a measurement from Slack: only they, or an admin, may replace it (docs/measure.md).
    db["measurements"].add_column("saved_by", str)


class MeasurementStore:
    """Named measurements of one SQLite file, keyed by team + name. Shares the bot Store's
    per-thread connections."""

    def __init__(self, store: Any):
        self.store = store
        migrations.apply(store.db)

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def owner(self, team: str, name: str) -> tuple[str | None, str] | None:
        """(who saved it from Slack, or None from the command line; its date), or None if not saved."""
        rows = list(self.db.query("SELECT saved_by, date FROM measurements WHERE team = ? AND name = ?", [team, name]))
        return (rows[0]["saved_by"], rows[0]["date"]) if rows else None

    def refusal(self, team: str, name: str, user: str, *, admin: bool) -> str | None:
        """Why `user` may not replace the measurement saved as `name` (None: they may). Only the user
        who saved it from Slack, or an admin, may; one saved from the command line, only an admin."""
        found = self.owner(team, name)
        if found is None or admin or (found[0] is not None and found[0] == user):
            return None
        from .render import mention

        by = mention(found[0]) if found[0] else "the command line"
        return (
            f"`{name}` was saved by {by} on {found[1]}: only they or an admin of breakeven (BREAKEVEN_ADMINS) "
            "may replace it. Pick another name with `save=NAME`."
        )

    def save(self, team: str, result: Result, name: str, *, by: str | None = None) -> str | None:
        """Store the result under name (saved `by` a Slack user, or None from the command line); the
        date of the measurement it replaced, or None."""
        measurement = result.measurement(name)
        previous = self.get(team, name)
        self.db["measurements"].upsert(
            {
                "team": team,
                "name": name,
                "date": measurement.date,
                "endpoint": measurement.endpoint,
                "prompts": result.prompts.source,
                "prompts_sha256": result.prompts.sha256,
                "measurement": measurement.model_dump_json(),
                "runs": json.dumps([r.figures() for r in result.runs]),
                "saved": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "saved_by": by,
            },
            pk=("team", "name"),
        )
        return previous.date if previous is not None else None

    def get(self, team: str, name: str) -> Measurement | None:
        rows = list(self.db.query("SELECT measurement FROM measurements WHERE team = ? AND name = ?", [team, name]))
        return Measurement.model_validate_json(rows[0]["measurement"]) if rows else None

    def all(self, team: str) -> dict[str, Measurement]:
        rows = self.db.query("SELECT name, measurement FROM measurements WHERE team = ? ORDER BY name", [team])
        return {r["name"]: Measurement.model_validate_json(r["measurement"]) for r in rows}

    def runs(self, team: str, name: str) -> list[dict] | None:
        rows = list(self.db.query("SELECT runs FROM measurements WHERE team = ? AND name = ?", [team, name]))
        return json.loads(rows[0]["runs"]) if rows else None


class MeasureRuns:
    """The bot's measurements, one row per job (table measure_runs): the per-user budget of requests,
    and the result a resumed job shows again."""

    DAY_S = 86400.0

    def __init__(self, store: Any):
        self.store = store
        migrations.apply(store.db)

    def reserve(self, *, job: str, team: str, user: str, requests: int, limit: int | None) -> str | None:
        """Count `requests` against the user's last 24 hours, in one transaction (two runs of one user
        at once cannot both slip under the limit); why not (None: reserved). limit None: no limit."""
        from .db import transaction

        now = time.time()
        with transaction(self.store.db) as connection:
            used = connection.execute(
                "SELECT coalesce(sum(requests), 0), min(started) FROM measure_runs "
                "WHERE team = ? AND user = ? AND started > ? AND job != ?",
                [team, user, now - self.DAY_S, job],
            ).fetchone()
            if limit is not None and used[0] + requests > limit:
                again = dt.datetime.fromtimestamp((used[1] or now) + self.DAY_S, dt.UTC).strftime("%H:%M UTC")
                return (
                    f"This measurement sends {requests:,} requests, and you sent {used[0]:,} in the last 24 hours: "
                    f"over your limit of {limit:,} (MEASURE_USER_DAILY_REQUESTS). Use fewer `requests=` or levels, "
                    f"try again after {again}, or ask an admin of breakeven (BREAKEVEN_ADMINS), who has no limit."
                )
            connection.execute(
                "INSERT OR REPLACE INTO measure_runs (job, team, user, started, requests) VALUES (?, ?, ?, ?, ?)",
                [job, team, user, now, requests],
            )
        return None

    def release(self, job: str) -> None:
        """The run never started (its message could not be posted): its requests do not count."""
        self.store.db.execute("DELETE FROM measure_runs WHERE job = ?", [job])

    def finished(self, job: str, result: dict) -> None:
        self.store.db.execute("UPDATE measure_runs SET result = ? WHERE job = ?", [json.dumps(result), job])

    def result(self, job: str) -> dict | None:
        rows = list(self.store.db.query("SELECT result FROM measure_runs WHERE job = ?", [job]))
        return json.loads(rows[0]["result"]) if rows and rows[0]["result"] else None


def with_measurement(store: Any, team: str, scenario: Scenario) -> Scenario:
    """The scenario filled from the measurement its `measured=NAME` names (GrammarError if unknown)."""
    if scenario.measured is None:
        return scenario
    return resolve_measured(scenario, MeasurementStore(store).all(team))


# ---------------------------------------------------------------------------------------
# Tables, for the terminal and for Slack


def short_label(row: dict) -> str:
    """'127.0.0.1:8000 my-model' or 'api gpt-4o-mini'."""
    where = row["endpoint"]
    if "://" in where:
        where = urlsplit(where).netloc or where
    return f"{where} {row['model']}"


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def _pair(a: float | None, b: float | None) -> str:
    return f"{_num(a)} / {_num(b)}"


def run_table(rows: list[dict], *, compact: bool = False) -> list[str]:
    """The figures of each run as aligned text lines (monospace), header first."""
    from costcore.format import money

    if compact:
        header = ["endpoint", "conc", "ok/sent", "fail", "TTFT p50", "lat p95", "tok/s", "req/s", "$/req"]
        body = [
            [
                short_label(r),
                str(r["concurrency"]),
                f"{r['ok']}/{r['requests']}",
                "-" if r["failure_rate"] is None else f"{r['failure_rate']:.0%}",
                f"{_num(r['ttft_ms_p50'])} ms",
                f"{_num(r['latency_ms_p95'])} ms",
                _num(r["output_tok_s"], ",.0f"),
                _num(r["requests_per_s"], ",.2f"),
                money(r["cost_per_request"]),
            ]
            for r in rows
        ]
    else:
        header = [
            "endpoint",
            "conc",
            "sent",
            "ok",
            "failed",
            "fail%",
            "in",
            "out",
            "TTFT p50/p95 ms",
            "latency p50/p95 ms",
            "tok/s/stream",
            "tok/s",
            "req/s",
            "$/request",
        ]
        body = [
            [
                short_label(r),
                str(r["concurrency"]),
                str(r["requests"]),
                str(r["ok"]),
                str(r["failed"]),
                "-" if r["failure_rate"] is None else f"{r['failure_rate']:.1%}",
                _num(r["in_tokens_mean"]),
                _num(r["out_tokens_mean"]),
                _pair(r["ttft_ms_p50"], r["ttft_ms_p95"]),
                _pair(r["latency_ms_p50"], r["latency_ms_p95"]),
                _num(r["output_tok_s_per_stream"], ",.1f"),
                _num(r["output_tok_s"], ",.1f"),
                _num(r["requests_per_s"], ",.2f"),
                money(r["cost_per_request"]),
            ]
            for r in rows
        ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = "  ".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return f"{first}  {rest}".rstrip()

    return [line(header), *(line(cells) for cells in body)]


def capacity_line(result: Result, latency_ms: float | None) -> str | None:
    """Which run became capacity=, and why."""
    if result.chosen is None:
        return None
    row = result.chosen.figures()
    bound = f", p95 latency {row['latency_ms_p95']:,.0f} ms meets latency={latency_ms:g}ms" if latency_ms else ""
    cost = ""
    if row["cost_per_request"] is not None:
        from costcore.format import money

        cost = f"; self-host {money(row['cost_per_request'])} a request ({row['cost_basis']})"
    return (
        f"capacity: {short_label(row)} at concurrency {row['concurrency']}, {row['output_tok_s']:,.1f} output tok/s, "
        f"{row['requests_per_s']:,.2f} req/s{bound}{cost}"
    )
