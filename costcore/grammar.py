"""The one text grammar shared by `/breakeven` and the CLI.

    volume=2M/month in=1,500 out=200 api=gpt-4o gpu=a10g setup=$12k

`key=value` pairs separated by spaces. Values take human numbers (10k, 2.5M, $1,200,
80%), rates (/day, /month, /h) and units (tokens/day, tok/s, qps, min). A value may
contain spaces (`volume=2M tokens/day`): words without `=` continue the previous value.
"""

from __future__ import annotations

import difflib
import html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .scenario import HOURS_PER_MONTH, Scenario

EXAMPLE = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"
DAYS_PER_MONTH = 365 / 12


class GrammarError(ValueError):
    """Bad input: which key, what was wrong, and an example that works."""

    def __init__(self, key: str | None, problem: str, example: str = EXAMPLE):
        self.key = key
        self.problem = problem
        self.example = example
        where = f"`{key}`: " if key else ""
        super().__init__(f"{where}{problem}\nExample that works: `{example}`")


class _ValueError(ValueError):
    """A value that does not parse; the caller adds the key and the example."""


# ---------------------------------------------------------------------------------------
# Numbers, rates and units

_SUFFIX = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_NUMBER = re.compile(
    r"^\s*(?P<sign>-)?\s*(?P<dollar>\$)?\s*(?P<sign2>-)?\s*(?P<num>(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)"
    r"\s*(?:(?P<suffix>k|mm|m|bn|b|t)(?![a-z]))?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)

_PER = {
    "s": 730 * 3600,
    "sec": 730 * 3600,
    "second": 730 * 3600,
    "min": 730 * 60,
    "minute": 730 * 60,
    "h": HOURS_PER_MONTH,
    "hr": HOURS_PER_MONTH,
    "hour": HOURS_PER_MONTH,
    "d": DAYS_PER_MONTH,
    "day": DAYS_PER_MONTH,
    "wk": DAYS_PER_MONTH / 7,
    "week": DAYS_PER_MONTH / 7,
    "mo": 1.0,
    "mon": 1.0,
    "month": 1.0,
    "yr": 1 / 12,
    "year": 1 / 12,
    "y": 1 / 12,
}


def _per_factor(word: str) -> float | None:
    """How many of this period fit in a month: /day -> 30.4167."""
    word = word.strip().lower().rstrip(".")
    if word.endswith("s") and word[:-1] in _PER:
        word = word[:-1]
    return _PER.get(word)


def number(text: str) -> tuple[float, str]:
    """'$1,200' -> (1200, ''), '2.5M tokens/day' -> (2500000, 'tokens/day')."""
    match = _NUMBER.match(text)
    if not match:
        raise _ValueError(f"'{text}' is not a number")
    if match["sign"] or match["sign2"]:
        raise _ValueError(f"'{text}' is negative; give a value of zero or more")
    value = float(match["num"].replace(",", ""))
    if match["suffix"]:
        value *= _SUFFIX[match["suffix"].lower()]
    if not math.isfinite(value) or value > 1e100:
        raise _ValueError(f"'{text.strip()}' is too large to be a real figure")
    return value, match["rest"].strip()


def _split_rate(rest: str) -> tuple[str, str | None]:
    """'tokens/day' -> ('tokens', 'day'); '/month' -> ('', 'month'); 'a month' -> ('', 'month')."""
    rest = rest.strip().lower()
    rest = re.sub(r"^(a|an|per|every)\s+", "/", rest)
    rest = re.sub(r"\s+(a|an|per|every)\s+", "/", rest)
    if "/" in rest:
        unit, period = rest.split("/", 1)
        return unit.strip(), period.strip()
    return rest, None


def _monthly(value: float, period: str | None) -> float:
    if period is None:
        return value
    factor = _per_factor(period)
    if factor is None:
        raise _ValueError(f"unknown period '/{period}'; use /s, /h, /day, /week, /month or /year")
    return value * factor


def _unit_is(unit: str, *names: str) -> bool:
    return unit in names or (unit.endswith("s") and unit[:-1] in names)


# ---------------------------------------------------------------------------------------
# Value kinds: each turns text into {field: value}


def _volume(text: str) -> dict[str, Any]:
    value, rest = number(text)
    unit, period = _split_rate(rest)
    if unit in ("qps", "rps", "rpm", "qpm") and period is None:
        unit, period = "", ("min" if unit.endswith("m") else "s")
    monthly = _monthly(value, period)
    if _unit_is(unit, "token", "tok"):
        return {"tokens_per_month": monthly}
    if unit and not _unit_is(
        unit, "request", "req", "query", "queries", "task", "call", "message", "doc", "document", "ticket"
    ):
        raise _ValueError(f"unknown unit '{unit}'; use requests (the default) or tokens")
    return {"requests_per_month": monthly}


def _tokens_volume(text: str) -> dict[str, Any]:
    value, rest = number(text)
    unit, period = _split_rate(rest)
    if unit and not _unit_is(unit, "token", "tok"):
        raise _ValueError(f"unknown unit '{unit}'; tokens= counts tokens (e.g. tokens=50M/day)")
    return {"tokens_per_month": _monthly(value, period)}


def _token_count(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        if rest and not _unit_is(rest.lower(), "token", "tok"):
            raise _ValueError(f"unexpected '{rest}' after the number; give tokens a request")
        return {field: value}

    return parse


def _share(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        if rest == "%":
            value /= 100
        elif rest:
            raise _ValueError(f"unexpected '{rest}'; give a percentage like 80%")
        elif value > 1:
            raise _ValueError(f"'{text}' is ambiguous; write a percentage like {value:g}% or a fraction like 0.8")
        if value > 1:
            raise _ValueError(f"{text} is over 100%")
        return {field: value}

    return parse


# People are paid for working hours: a day rate is 8 hours (as `5d` of work is 40 h), a week 40 h,
# a month 40 h x 52 / 12, a year 2,080 h. Machines run round the clock: a GPU's day is 24 hours.
WORKING_HOURS = {"h": 1.0, "d": 8.0, "wk": 40.0, "mo": 40 * 52 / 12, "yr": 2080.0}
_PERIOD_NAMES = {
    "h": "h",
    "hr": "h",
    "hour": "h",
    "d": "d",
    "day": "d",
    "wk": "wk",
    "week": "wk",
    "mo": "mo",
    "mon": "mo",
    "month": "mo",
    "yr": "yr",
    "year": "yr",
    "y": "yr",
}


def _working_hours(period: str) -> float:
    word = period.strip().lower().rstrip(".")
    if word.endswith("s") and word[:-1] in _PERIOD_NAMES:
        word = word[:-1]
    if word not in _PERIOD_NAMES:
        raise _ValueError(f"unknown period '/{period}' for a rate of pay; use /h, /day (8 h), /week (40 h) or /month")
    return WORKING_HOURS[_PERIOD_NAMES[word]]


def _money(field: str, *, per: str | None = None, to_month: bool = False) -> Callable[[str], dict[str, Any]]:
    """Money: per='h' for a machine's price an hour (calendar hours), per='work_h' for a person's
    rate (working hours), to_month=True for monthly bills (any period accepted)."""

    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        unit, period = _split_rate(rest)
        if unit in ("usd", "dollars", "dollar", "$"):
            unit = ""
        if unit:
            raise _ValueError(f"unexpected '{unit}' after the amount")
        if to_month:
            return {field: _monthly(value, period)}
        if per == "work_h" and period is not None:
            return {field: value / _working_hours(period)}
        if per == "h" and period is not None:
            monthly = _monthly(value, period)
            return {field: monthly / HOURS_PER_MONTH}
        if period is not None and per is None:
            raise _ValueError(f"'{field}' is a one-off amount; drop '/{period}'")
        return {field: value}

    return parse


def _per_million(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        unit, period = _split_rate(rest)
        if unit or (period and period.lower() not in ("1m", "m", "mtok", "1m tokens", "million")):
            raise _ValueError(f"unexpected '{rest}'; give dollars per 1M tokens, e.g. 0.20 or $0.20/1M")
        return {field: value}

    return parse


def _api_price(text: str) -> dict[str, Any]:
    cleaned = re.sub(r"\s*(per|/)\s*(1m|m|mtok|million)(\s*tokens)?\s*$", "", text.strip(), flags=re.I)
    parts = [p for p in re.split(r"\s*/\s*", cleaned) if p]
    if len(parts) == 3:
        prices = [number(part) for part in parts]
        if any(rest for _, rest in prices):
            raise _ValueError(f"'{text}' is not IN/OUT/CACHED dollars per 1M tokens")
        return {"api_price_in": prices[0][0], "api_price_out": prices[1][0], "api_price_cached": prices[2][0]}
    if len(parts) == 2:
        price_in, rest_in = number(parts[0])
        price_out, rest_out = number(parts[1])
        if rest_in or rest_out:
            raise _ValueError(f"'{text}' is not IN/OUT dollars per 1M tokens")
        return {"api_price_in": price_in, "api_price_out": price_out}
    if len(parts) == 1:
        value, rest = number(parts[0])
        if rest:
            raise _ValueError(f"unexpected '{rest}' after the price")
        return {"api_price_blended": value}
    raise _ValueError(f"'{text}' is not IN/OUT dollars per 1M tokens")


def _hours(field: str, *, monthly: bool = False) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        if re.match(r"^\s*\$?[\d.,]+\s*m\s*(/.*)?$", text):
            raise _ValueError(f"'{text.strip()}' is ambiguous: write minutes as 3min, or a million hours as 3M")
        value, rest = number(text)
        unit, period = _split_rate(rest)
        if unit in ("", "h", "hr", "hrs", "hour", "hours"):
            hours = value
        elif unit in ("min", "mins", "minute", "minutes"):
            hours = value / 60
        elif unit in ("d", "day", "days"):
            hours = value * 8
        elif unit in ("w", "wk", "wks", "week", "weeks"):
            hours = value * 40
        else:
            raise _ValueError(f"unknown unit '{unit}'; give hours (40h), minutes (3min), days (5d = 40 h) or weeks")
        if period is not None:
            if not monthly:
                raise _ValueError(f"drop '/{period}': this is a number of hours")
            hours = _monthly(hours, period)
        return {field: hours}

    return parse


def _count(field: str, *, suffix: tuple[str, ...] = ()) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        if rest and rest.lower() not in suffix:
            raise _ValueError(f"unexpected '{rest}' after the number")
        if value != int(value):
            raise _ValueError(f"'{text}' is not a whole number")
        return {field: int(value)}

    return parse


def _factor(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        value, rest = number(text)
        if rest.lower() not in ("", "x", "times"):
            raise _ValueError(f"unexpected '{rest}'; give a factor like 3x")
        return {field: value}

    return parse


def _capacity(text: str) -> dict[str, Any]:
    value, rest = number(text)
    unit, period = _split_rate(rest)
    if unit in ("", "qps", "rps") and period is None:
        return {"capacity_qps": value}
    if period is not None and _per_factor(period) is not None:
        per_second = value * _per_factor(period) / _per_factor("s")
        if unit in ("", "req", "reqs", "request", "requests", "query", "queries", "q", "r"):
            return {"capacity_qps": per_second}
        if unit in ("tok", "toks", "token", "tokens", "t"):
            return {"capacity_tok_s": per_second}
    raise _ValueError(f"unknown capacity unit in '{text}'; use qps (requests a second) or tok/s")


def _params(text: str) -> dict[str, Any]:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([bm])?\s*(params|parameters)?\s*$", text, re.I)
    if not match:
        raise _ValueError(f"'{text}' is not a model size; write e.g. 8B or 500M")
    value = float(match[1])
    return {"params_b": value / 1000 if (match[2] or "b").lower() == "m" else value}


def _bits(text: str) -> dict[str, Any]:
    words = {"fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "fp8": 8, "int4": 4, "q4": 4, "q8": 8}
    value = words.get(text.strip().lower())
    if value is None:
        try:
            value = int(text.strip().lower().removesuffix("bit").removesuffix("-"))
        except ValueError:
            value = -1
    if value not in (4, 8, 16):
        raise _ValueError(f"'{text}' is not 4, 8 or 16 bits (models are served at 16 bits or fewer)")
    return {"bits": value}


_TRUE = {"yes", "y", "true", "on", "1", "required", "strict", "sensitive"}
_FALSE = {"no", "n", "false", "off", "0", "none"}


def _flag(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        word = text.strip().lower()
        if word in _TRUE:
            return {field: True}
        if word in _FALSE:
            return {field: False}
        raise _ValueError(f"'{text}' is not yes or no")

    return parse


def _uptime(text: str) -> dict[str, Any]:
    share = _share("uptime")(text)["uptime"]
    return {"ha": share >= 0.999}


def _latency(text: str) -> dict[str, Any]:
    value, rest = number(text)
    unit = rest.lower()
    if unit in ("", "ms", "msec", "milliseconds"):
        return {"latency_ms": value}
    if unit in ("s", "sec", "seconds", "second"):
        return {"latency_ms": value * 1000}
    raise _ValueError(f"unknown unit '{rest}'; give milliseconds, e.g. 150ms")


def _months(text: str) -> dict[str, Any]:
    value, rest = number(text)
    unit = rest.lower()
    if unit in ("", "mo", "mos", "month", "months", "m"):
        return {"horizon": value}
    if unit in ("y", "yr", "yrs", "year", "years"):
        return {"horizon": value * 12}
    raise _ValueError(f"unknown unit '{rest}'; give months (18) or years (2 years)")


def _growth(text: str) -> dict[str, Any]:
    """'10%/month' -> 0.1; '3x/year' -> the monthly rate that triples volume in a year; '-5% a month' -> -0.05."""
    raw = text.strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    value, rest = number(raw.lstrip("+-"))
    unit, period = _split_rate(rest)
    if unit in ("times", "fold"):
        unit = "x"
    if unit not in ("", "%", "x"):
        raise _ValueError(f"unexpected '{unit}'; give a rate like 10%/month or a factor like 3x/year")
    if period is None:
        if value == 0 and unit != "x":
            return {"growth": 0.0}
        raise _ValueError(f"'{text.strip()}' needs a period: growth=10%/month or growth=3x/year")
    per_month = _per_factor(period)
    if per_month is None:
        raise _ValueError(f"unknown period '/{period}'; use /month, /year, /week or /day")
    if unit == "x":
        if sign < 0 or value <= 0:
            raise _ValueError(f"'{text.strip()}': a factor is above zero (3x/year triples; 0.5x/year halves)")
        factor = value
    else:
        if unit == "" and value > 1:
            raise _ValueError(f"'{text.strip()}' is ambiguous; write a percentage like {value:g}%/{period}")
        change = sign * (value / 100 if unit == "%" else value)
        if per_month == 1:
            return {"growth": change}
        factor = 1 + change
        if factor <= 0:
            raise _ValueError(f"'{text.strip()}' would take volume to zero or below")
    return {"growth": factor**per_month - 1}


def _choice(field: str, options: dict[str, str]) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        word = text.strip().lower().replace("_", "-").replace(" ", "-")
        if word in options:
            return {field: options[word]}
        raise _ValueError(f"'{text}' is not one of {', '.join(sorted(set(options.values())))}")

    return parse


MAX_NAME = 80  # characters of a name (a saved measurement, a use case): `save=` allows as many


def _name(field: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        name = text.strip().strip("`'\"")
        if not name:
            raise _ValueError("give a name")
        if len(name) > MAX_NAME:
            raise _ValueError(f"is {len(name):,} characters long: a name has at most {MAX_NAME}")
        return {field: name}

    return parse


# ---------------------------------------------------------------------------------------
# The keys


@dataclass(frozen=True)
class Key:
    name: str
    parse: Callable[[str], dict[str, Any]]
    example: str
    help: str
    fields: tuple[str, ...]


KEYS: dict[str, Key] = {}


def _key(name: str, parse: Callable[[str], dict[str, Any]], example: str, help: str, *fields: str) -> None:
    KEYS[name] = Key(name, parse, example, help, fields)


_key(
    "volume",
    _volume,
    "volume=2M/month",
    "requests a month (or /day, /h, or a rate: 10qps, 600/min); `volume=3B tokens/month` for tokens",
    "requests_per_month",
    "tokens_per_month",
)
_key(
    "tokens", _tokens_volume, "tokens=50M/day", "token volume (input + output) instead of requests", "tokens_per_month"
)
_key(
    "in",
    _token_count("in_tokens"),
    "in=1500",
    "input tokens a request on the API (prompt + examples + input)",
    "in_tokens",
)
_key("out", _token_count("out_tokens"), "out=200", "output tokens a request", "out_tokens")
_key("ft_in", _token_count("ft_in_tokens"), "ft_in=300", "input tokens a request after fine-tuning", "ft_in_tokens")
_key("prompt_cut", _share("prompt_cut"), "prompt_cut=80%", "share of the prompt that fine-tuning removes", "prompt_cut")
_key(
    "cached",
    _share("cached_share"),
    "cached=30%",
    "share of API input tokens read from the provider's cache",
    "cached_share",
)
_key(
    "api", _name("api_model"), "api=gpt-4o-mini", "API model from the price catalogue (`breakeven prices`)", "api_model"
)
_key(
    "api_price",
    _api_price,
    "api_price=2.5/10",
    "your API price, IN/OUT $ per 1M tokens (IN/OUT/CACHED with a cached-input price), or one blended figure",
    "api_price_in",
    "api_price_out",
    "api_price_cached",
    "api_price_blended",
)
_key("api_per_1k", _money("api_per_1k"), "api_per_1k=$0.20", "your API price, $ per 1,000 requests", "api_per_1k")
_key("gpu", _name("gpu"), "gpu=a10g", "serving GPU from the catalogue (`breakeven gpus`)", "gpu")
_key("gpus", _count("gpus", suffix=("gpu", "gpus", "x")), "gpus=2", "GPUs in one serving instance", "gpus")
_key("gpu_price", _money("gpu_price", per="h"), "gpu_price=$1.20/h", "your price a GPU-hour", "gpu_price")
_key(
    "server",
    _money("server_monthly", to_month=True),
    "server=$800/month",
    "fixed hosting for one serving instance (a month, or /day, /h)",
    "server_monthly",
)
_key(
    "host_price",
    _per_million("host_price"),
    "host_price=0.20",
    "per-token host of open models, $ per 1M tokens",
    "host_price",
)
_key(
    "capacity",
    _capacity,
    "capacity=30qps",
    "what one instance serves, measured: qps or tok/s (output tokens)",
    "capacity_qps",
    "capacity_tok_s",
)
_key("peak", _factor("peak"), "peak=3x", "peak load over the average load", "peak")
_key("ha", _flag("ha"), "ha=yes", "keep one spare instance (N+1) for high availability", "ha")
_key("uptime", _uptime, "uptime=99.9%", "99.9% or more keeps a spare instance (N+1)", "ha")
_key(
    "concurrency",
    _count("concurrency", suffix=("x", "requests", "streams")),
    "concurrency=32",
    "requests one instance serves at once (default: the most that fit and meet latency=)",
    "concurrency",
)
_key("params", _params, "params=8B", "size of the open model you fine-tune", "params_b")
_key(
    "base",
    _name("base_model"),
    "base=llama-3.1-8b",
    "the open model you fine-tune and serve (`breakeven serving` knows their layouts); or params=",
    "base_model",
)
_key("streaming", _flag("streaming"), "streaming=yes", "answers stream: latency= bounds the first token", "streaming")
_key("bits", _bits, "bits=8", "weight precision when serving: 4, 8 or 16", "bits")
_key("setup", _money("setup"), "setup=$12,000", "one-time cost besides training runs, in total", "setup")
_key("train", _money("train"), "train=$40", "compute for one training run", "train")
_key("runs", _count("runs", suffix=("runs", "run", "x")), "runs=5", "training runs planned", "runs")
_key("data_h", _hours("data_h"), "data_h=100", "hours of data preparation", "data_h")
_key("eval_h", _hours("eval_h"), "eval_h=40", "hours of evaluation work", "eval_h")
_key("infra_h", _hours("infra_h"), "infra_h=12", "hours of infrastructure set-up", "infra_h")
_key(
    "rate",
    _money("rate", per="work_h"),
    "rate=$100/h",
    "loaded cost of an engineering hour (a day rate is 8 h: $800/day = $100/h)",
    "rate",
)
_key(
    "complexity",
    _choice(
        "complexity",
        {
            "well-defined": "well-defined",
            "welldefined": "well-defined",
            "simple": "well-defined",
            "medium": "medium",
            "novel": "novel",
            "complex": "novel",
        },
    ),
    "complexity=medium",
    "well-defined (2-3x), medium (4-6x) or novel (8-10x) re-work",
    "complexity",
)
_key("iter", _factor("iter"), "iter=3x", "iteration multiplier on the one-time cost", "iter")
_key("maint_h", _hours("maint_h", monthly=True), "maint_h=6", "hours a month to run the model", "maint_h")
_key("oversight", _money("oversight", to_month=True), "oversight=$5,000/month", "human review a month", "oversight")
_key(
    "horizon",
    _months,
    "horizon=18",
    "months buying must pay back within (default 12; with growth= the months projected, default 24)",
    "horizon",
)
_key(
    "growth",
    _growth,
    "growth=10%/month",
    "volume growth, compounded month by month over the horizon (10%/month, 3x/year, -5%/month)",
    "growth",
)
_key("manual_h", _hours("manual_h"), "manual_h=3min", "time a task takes by hand today", "manual_h")
_key(
    "manual_rate",
    _money("manual_rate", per="work_h"),
    "manual_rate=$50/h",
    "cost of an hour of manual work (a day rate is 8 h)",
    "manual_rate",
)
_key("fail_api", _share("fail_api"), "fail_api=5%", "share of API answers that fail", "fail_api")
_key("fail_ft", _share("fail_ft"), "fail_ft=3%", "share of fine-tuned answers that fail", "fail_ft")
_key("fail_cost", _money("fail_cost"), "fail_cost=$2", "what one failure costs", "fail_cost")
_key("privacy", _flag("privacy"), "privacy=yes", "data may not leave the company", "privacy")
_key("latency", _latency, "latency=150ms", "the latency bound a whole answer must meet", "latency_ms")
_key(
    "api_latency",
    lambda text: {"api_latency_ms": _latency(text)["latency_ms"]},
    "api_latency=1.2s",
    "the API's latency for a whole answer, as you measured it (default: a typical figure)",
    "api_latency_ms",
)
_key(
    "ft_latency",
    lambda text: {"ft_latency_ms": _latency(text)["latency_ms"]},
    "ft_latency=900ms",
    "your own endpoint's latency for a whole answer, as you measured it (default: the serving model's)",
    "ft_latency_ms",
)
_key(
    "task",
    _choice(
        "task",
        {
            "narrow": "narrow",
            "mixed": "mixed",
            "varied": "varied",
            "open-ended": "varied",
            "reasoning": "reasoning",
            "reasoning-heavy": "reasoning",
        },
    ),
    "task=narrow",
    "narrow, mixed, varied or reasoning",
    "task",
)

_key(
    "use",
    _name("use"),
    "use=support-chatbot",
    "start from a use-case template (`breakeven templates`): its volume, tokens and needs; any key overrides them",
    "use",
)
_key(
    "measured",
    _name("measured"),
    "measured=support-bot-nov",
    "a saved measurement (`breakeven measure --save NAME`): its in, out, capacity and failure rates",
    "measured",
)

EXCLUSIVE: list[dict[str, str]] = [
    dict.fromkeys(("volume", "tokens"), "how much traffic there is"),
    dict.fromkeys(("ft_in", "prompt_cut"), "how long the fine-tuned prompt is"),
    dict.fromkeys(("api", "api_price", "api_per_1k"), "what the API costs"),
    dict.fromkeys(("complexity", "iter"), "how much re-work to expect"),
    dict.fromkeys(("base", "params"), "which open model is served"),
    dict.fromkeys(("host_price", "gpu"), "how the model is hosted"),
    dict.fromkeys(("host_price", "server"), "how the model is hosted"),
    dict.fromkeys(("gpu_price", "server"), "what a server costs"),
    dict.fromkeys(("ha", "uptime"), "whether to keep a spare instance"),
]

ALIASES = {
    "requests": "volume",
    "queries": "volume",
    "tasks": "volume",
    "vol": "volume",
    "input": "in",
    "in_tokens": "in",
    "output": "out",
    "out_tokens": "out",
    "model": "api",
    "api_model": "api",
    "ft_in_tokens": "ft_in",
    "cut": "prompt_cut",
    "server_monthly": "server",
    "rate_h": "rate",
    "iterations": "iter",
    "multiplier": "iter",
    "maintenance": "maint_h",
    "maint": "maint_h",
    "months": "horizon",
    "template": "use",
    "use_case": "use",
    "usecase": "use",
    "grow": "growth",
}

_FIELD_TO_KEY = {field: key.name for key in reversed(list(KEYS.values())) for field in key.fields}
_FIELD_TO_KEY["ha"] = "ha"


def key_for_field(field: str) -> str:
    return _FIELD_TO_KEY.get(field, field)


# ---------------------------------------------------------------------------------------
# Parsing


def _clean(text: str) -> str:
    """Undo what chat clients do to text: HTML entities, smart quotes, links, spaces around '='."""
    text = html.unescape(text)
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    text = text.replace("\u00a0", " ").replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"<(?:https?|mailto):[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"\s*=\s*", "=", text)
    return text.strip()


def pairs(text: str) -> list[tuple[str, str]]:
    """'volume=2M tokens/day in=500' -> [('volume', '2M tokens/day'), ('in', '500')]."""
    found: list[list[str]] = []
    for word in _clean(text).split():
        if "=" in word:
            key, value = word.split("=", 1)
            found.append([key.lower().strip(","), value])
        elif found:
            found[-1][1] = f"{found[-1][1]} {word}".strip()
        else:
            raise GrammarError(None, f"expected key=value pairs, got '{word}'")
    result = []
    for key, value in found:
        value = value.strip().rstrip(",;")
        if not key:
            raise GrammarError(None, f"'={value}' has no key in front of it")
        result.append((key, value))
    return result


def _resolve_key(name: str) -> Key:
    if name in KEYS:
        return KEYS[name]
    if name in ALIASES:
        return KEYS[ALIASES[name]]
    close = difflib.get_close_matches(name, list(KEYS) + list(ALIASES), n=3, cutoff=0.6)
    close = list(dict.fromkeys(ALIASES.get(c, c) for c in close))
    hint = (
        f" Did you mean {' or '.join(f'`{c}`' for c in close)}?"
        if close
        else " `breakeven keys` (or `/breakeven help` in Slack) lists every key."
    )
    example = KEYS[close[0]].example if close else EXAMPLE
    raise GrammarError(name, f"unknown key.{hint}", example)


def parse(text: str, *, check_names: bool = True) -> Scenario:
    """Text to a validated Scenario; GrammarError names the key at fault.

    check_names also checks that the API model and GPU exist in the catalogues, so a typo is
    caught here, with suggestions, rather than at analysis time.
    """
    values: dict[str, Any] = {}
    given_by: dict[str, str] = {}
    for name, raw in pairs(text):
        key = _resolve_key(name)
        if not raw:
            raise GrammarError(key.name, "has no value", key.example)
        try:
            parsed = key.parse(raw)
        except _ValueError as exc:
            raise GrammarError(key.name, str(exc), key.example) from None
        for earlier in given_by.values():
            rivals = next((group for group in EXCLUSIVE if {earlier, key.name} <= group.keys()), None)
            if rivals and earlier != key.name:
                raise GrammarError(
                    key.name, f"conflicts with `{earlier}`: both say {rivals[key.name]}; keep one", key.example
                )
        for field in parsed:
            if field in given_by:
                other = given_by[field]
                problem = "is given twice" if other == key.name else f"conflicts with `{other}`"
                raise GrammarError(key.name, f"{problem}; keep one", key.example)
            given_by[field] = key.name
        values.update(parsed)
    scenario = build(values)
    if check_names:
        check_catalogue_names(scenario)
    return scenario


def build(values: dict[str, Any]) -> Scenario:
    """Validate field values into a Scenario, reporting errors by grammar key."""
    try:
        return Scenario(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if field:
            key = key_for_field(field)
            raise GrammarError(key, _friendly(message, field), KEYS[key].example if key in KEYS else EXAMPLE) from None
        key = next((k for k in KEYS if re.search(rf"\b{k}\b", message)), None)
        raise GrammarError(key, message, KEYS[key].example if key else EXAMPLE) from None


SHARES = {"prompt_cut", "cached_share", "fail_api", "fail_ft", "growth"}
_WORDS = {
    "less than or equal to": "at most",
    "greater than or equal to": "at least",
    "less than": "under",
    "greater than": "over",
}


def _bound(value: float, field: str) -> str:
    if field in SHARES:
        return f"{value:.0%}"
    if abs(value) >= 10_000:
        from .format import count

        return count(value)
    return f"{value:g}"


def _friendly(message: str, field: str) -> str:
    match = re.match(
        r"Input should be (less than or equal to|greater than or equal to|less than|greater than) (\S+)", message
    )
    if match:
        described = Scenario.model_fields[field].description if field in Scenario.model_fields else None
        what = f" ({described})" if described else ""
        return f"must be {_WORDS[match[1]]} {_bound(float(match[2]), field)}{what}"
    return message


def field_range(field: str) -> tuple[float | None, float | None]:
    """The (lowest, highest) value a Scenario field accepts, from its declared constraints."""
    low = high = None
    for item in Scenario.model_fields[field].metadata:
        for name in ("ge", "gt"):
            if getattr(item, name, None) is not None:
                low = float(getattr(item, name))
        for name in ("le", "lt"):
            if getattr(item, name, None) is not None:
                high = float(getattr(item, name))
    return low, high


def key_range(key: str) -> str:
    """A key's accepted range in words, e.g. '0 to 1T'; empty for keys that are not numbers."""
    parts = []
    for field in KEYS[key].fields:
        low, high = field_range(field) if field in Scenario.model_fields else (None, None)
        if high is not None:
            parts.append(
                f"{_bound(low or 0, field)} to {_bound(high, field)}" + (" a month" if field == "growth" else "")
            )
    return "; ".join(dict.fromkeys(parts))


def schema() -> dict[str, Any]:
    """A JSON Schema of the grammar: one property a key, named as users type them."""
    properties = {}
    for key in KEYS.values():
        prop: dict[str, Any] = {
            "type": "string",
            "description": key.help,
            "examples": [key.example.split("=", 1)[1]],
        }
        if key_range(key.name):
            prop["x-range"] = key_range(key.name)
        properties[key.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "breakeven scenario",
        "description": "key=value pairs, as typed after `breakeven analyze` or `/breakeven`; each value is text in "
        "the grammar's own form (human numbers, rates and units). Ranges are in the key's base unit.",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }


def check_catalogue_names(scenario: Scenario) -> None:
    from .prices import PriceError, find_gpu, quote_model
    from .templates import TemplateError, find

    try:
        if scenario.use is not None:
            find(scenario.use)
    except TemplateError as exc:
        example = f"use={exc.suggestions[0]}" if exc.suggestions else KEYS["use"].example
        raise GrammarError("use", str(exc), example) from None
    try:
        if scenario.api_model is not None:
            quote_model(scenario.api_model)
    except PriceError as exc:
        example = f"api={exc.suggestions[0]}" if exc.suggestions else KEYS["api"].example
        raise GrammarError("api", str(exc), example) from None
    try:
        if scenario.gpu is not None:
            find_gpu(scenario.gpu)
    except PriceError as exc:
        example = f"gpu={exc.suggestions[0]}" if exc.suggestions else KEYS["gpu"].example
        raise GrammarError("gpu", str(exc), example) from None
    if scenario.base_model is not None:
        from .serving import ServingError, find_open_model

        try:
            find_open_model(scenario.base_model)
        except ServingError as exc:
            raise GrammarError("base", str(exc), KEYS["base"].example) from None


# ---------------------------------------------------------------------------------------
# Back to text


def _num(value: float) -> str:
    text = repr(float(value))
    return text.removesuffix(".0")


_TO_TEXT: list[tuple[str, Callable[[Any], str]]] = [
    ("use", lambda v: f"use={v}"),
    ("requests_per_month", lambda v: f"volume={_num(v)}/month"),
    ("tokens_per_month", lambda v: f"tokens={_num(v)}/month"),
    ("in_tokens", lambda v: f"in={_num(v)}"),
    ("out_tokens", lambda v: f"out={_num(v)}"),
    ("ft_in_tokens", lambda v: f"ft_in={_num(v)}"),
    ("prompt_cut", lambda v: f"prompt_cut={_num(v)}"),
    ("cached_share", lambda v: f"cached={_num(v)}"),
    ("api_model", lambda v: f"api={v}"),
    ("api_per_1k", lambda v: f"api_per_1k={_num(v)}"),
    ("api_price_blended", lambda v: f"api_price={_num(v)}"),
    ("gpu", lambda v: f"gpu={v}"),
    ("gpus", lambda v: f"gpus={v}"),
    ("gpu_price", lambda v: f"gpu_price={_num(v)}/h"),
    ("server_monthly", lambda v: f"server={_num(v)}/month"),
    ("host_price", lambda v: f"host_price={_num(v)}"),
    ("capacity_qps", lambda v: f"capacity={_num(v)}qps"),
    ("capacity_tok_s", lambda v: f"capacity={_num(v)}tok/s"),
    ("concurrency", lambda v: f"concurrency={v}"),
    ("peak", lambda v: f"peak={_num(v)}x"),
    ("ha", lambda v: f"ha={'yes' if v else 'no'}"),
    ("params_b", lambda v: f"params={_num(v)}B"),
    ("base_model", lambda v: f"base={v}"),
    ("streaming", lambda v: f"streaming={'yes' if v else 'no'}"),
    ("bits", lambda v: f"bits={v}"),
    ("setup", lambda v: f"setup={_num(v)}"),
    ("train", lambda v: f"train={_num(v)}"),
    ("runs", lambda v: f"runs={v}"),
    ("data_h", lambda v: f"data_h={_num(v)}"),
    ("eval_h", lambda v: f"eval_h={_num(v)}"),
    ("infra_h", lambda v: f"infra_h={_num(v)}"),
    ("rate", lambda v: f"rate={_num(v)}/h"),
    ("complexity", lambda v: f"complexity={v}"),
    ("iter", lambda v: f"iter={_num(v)}x"),
    ("maint_h", lambda v: f"maint_h={_num(v)}"),
    ("oversight", lambda v: f"oversight={_num(v)}/month"),
    ("horizon", lambda v: f"horizon={_num(v)}"),
    ("growth", lambda v: _growth_text(v)),
    ("manual_h", lambda v: f"manual_h={_num(v)}h"),
    ("manual_rate", lambda v: f"manual_rate={_num(v)}/h"),
    ("fail_api", lambda v: f"fail_api={_num(v)}"),
    ("fail_ft", lambda v: f"fail_ft={_num(v)}"),
    ("fail_cost", lambda v: f"fail_cost={_num(v)}"),
    ("privacy", lambda v: f"privacy={'yes' if v else 'no'}"),
    ("latency_ms", lambda v: f"latency={_num(v)}ms"),
    ("api_latency_ms", lambda v: f"api_latency={_num(v)}ms"),
    ("ft_latency_ms", lambda v: f"ft_latency={_num(v)}ms"),
    ("task", lambda v: f"task={v}"),
    ("measured", lambda v: f"measured={v}"),
]


def _growth_text(rate: float) -> str:
    """10%/month where that reads back exactly, else the fraction (parse(to_text(s)) == s)."""
    percent = _num(rate * 100)
    return f"growth={percent}%/month" if float(percent) / 100 == rate else f"growth={_num(rate)}/month"


def to_text(scenario: Scenario) -> str:
    """The canonical text of a scenario; parse(to_text(s)) == s."""
    parts = []
    if scenario.api_price_in is not None and scenario.api_price_out is not None:
        cached = "" if scenario.api_price_cached is None else f"/{_num(scenario.api_price_cached)}"
        parts.append(f"api_price={_num(scenario.api_price_in)}/{_num(scenario.api_price_out)}{cached}")
    for field, render in _TO_TEXT:
        value = getattr(scenario, field)
        if value is not None and field not in scenario.provenance:  # measured figures come from measured=
            parts.append(render(value))
    return " ".join(parts)


# ---------------------------------------------------------------------------------------
# The hidden-cost audit: the same value grammar, one key per line of the audit

AUDIT_EXAMPLE = "complexity=medium collect_h=30 evalset_h=15 rate=$90/h runs=5 train=$40"


def _audit_keys() -> dict[str, Key]:
    from .audit import ACTIVITIES

    keys = {
        "complexity": KEYS["complexity"],
        "task": KEYS["task"],
        "rate": KEYS["rate"],
        "runs": KEYS["runs"],
        "train": KEYS["train"],
        "params": KEYS["params"],
        "train_gpu": Key("train_gpu", _name("train_gpu"), "train_gpu=a10g", "GPU the training runs on", ("train_gpu",)),
    }
    for activity in ACTIVITIES:
        per = " a month" if activity.group == "ops" else ""
        keys[activity.key] = Key(
            activity.key,
            _hours(activity.key, monthly=activity.group == "ops"),
            f"{activity.key}={activity.default:g}",
            f"{activity.label}: hours{per} (typical {activity.low:g}-{activity.high:g})",
            (activity.key,),
        )
    return keys


def parse_audit(text: str):
    """Text to the audit's answers; GrammarError names the line at fault."""
    from .audit import ACTIVITIES, AuditInput
    from .prices import PriceError, find_gpu

    keys = _audit_keys()
    activity_keys = {a.key for a in ACTIVITIES}
    values: dict[str, Any] = {}
    hours: dict[str, float] = {}
    for name, raw in pairs(text):
        if name not in keys:
            close = difflib.get_close_matches(name, list(keys), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
            raise GrammarError(name, f"unknown audit line.{hint}", keys[close[0]].example if close else AUDIT_EXAMPLE)
        key = keys[name]
        if name in values or name in hours:
            raise GrammarError(name, "is given twice; keep one", key.example)
        try:
            parsed = key.parse(raw) if raw else None
        except _ValueError as exc:
            raise GrammarError(name, str(exc), key.example) from None
        if parsed is None:
            raise GrammarError(name, "has no value", key.example)
        field, value = next(iter(parsed.items()))
        if name in activity_keys:
            hours[name] = value
        else:
            values[field] = value
    if "train_gpu" in values:
        try:
            find_gpu(values["train_gpu"])
        except PriceError as exc:
            raise GrammarError("train_gpu", str(exc), keys["train_gpu"].example) from None
    try:
        return AuditInput(hours=hours, **values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else None
        message = str(error["msg"]).removeprefix("Value error, ")
        key = {"params_b": "params"}.get(field, field)
        raise GrammarError(
            key, _friendly(message, field or ""), keys[key].example if key in keys else AUDIT_EXAMPLE
        ) from None


def audit_to_text(answers) -> str:
    """Canonical text of the audit's answers; parse_audit(audit_to_text(a)) == a."""
    parts = [f"complexity={answers.complexity}", f"task={answers.task}"]
    parts += [f"{key}={_num(value)}" for key, value in answers.hours.items()]
    parts += [f"rate={_num(answers.rate)}/h", f"runs={answers.runs}", f"train={_num(answers.train)}"]
    if answers.train_gpu:
        parts.append(f"train_gpu={answers.train_gpu}")
    parts.append(f"params={_num(answers.params_b)}B")
    return " ".join(parts)
