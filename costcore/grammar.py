"""The one text grammar shared by `/breakeven` and the CLI.

    volume=2M/month in=1,500 out=200 api=gpt-4o gpu=a10g setup=$12k

`key=value` pairs separated by spaces. Values take human numbers (10k, 2.5M, $1,200,
80%), rates (/day, /month, /h) and units (tokens/day, tok/s, qps, min). A value may
contain spaces (`volume=2M tokens/day`): words without `=` continue the previous value.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from . import units
from .scenario import HOURS_PER_MONTH, Scenario
from .units import DAYS_PER_MONTH, WORKING_HOURS, shown

__all__ = ["DAYS_PER_MONTH", "EXAMPLE", "KEYS", "WORKING_HOURS", "GrammarError", "Key", "number", "pairs", "parse"]

EXAMPLE = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"


class GrammarError(ValueError):
    """Bad input: which key, what was wrong, and an example that works."""

    def __init__(self, key: str | None, problem: str, example: str = EXAMPLE):
        self.key = key
        self.problem = problem
        self.example = example
        where = f"`{shown(key, 30)}`: " if key else ""
        super().__init__(f"{where}{problem}\nExample that works: `{example}`")


# A value that does not read; the caller adds the key and the example.
_ValueError = units.ValueProblem
number = units.number


# ---------------------------------------------------------------------------------------
# The keys: each with its kind of value and the units it accepts (costcore/units.py reads them)

Unit = tuple[str, float, str]  # (as typed after the number, the field's value for one of it, the field)
KINDS = ("count", "money", "price", "share", "time", "factor", "rate", "growth", "size", "choice", "flag", "name")


@dataclass(frozen=True)
class Key:
    name: str
    parse: Callable[[str], dict[str, Any]]
    example: str
    help: str
    fields: tuple[str, ...]
    kind: str = "name"
    units: tuple[Unit, ...] = ()  # every unit the key accepts ('' is a bare number), for docs and tests
    bare: str = ""  # what a bare number means, in words; '' when a bare number is refused or not a number


KEYS: dict[str, Key] = {}


def _key(
    name: str,
    parse: Callable[[str], dict[str, Any]],
    example: str,
    help: str,
    *fields: str,
    kind: str = "name",
    units: tuple[Unit, ...] | list[Unit] = (),
    bare: str = "",
) -> None:
    assert kind in KINDS, kind
    KEYS[name] = Key(name, parse, example, help, fields, kind, tuple(units), bare)


def _periods(field: str, *, base: float = 1.0) -> list[Unit]:
    """A monthly figure written per period: '' (a month), /month, /day, /week, /h, /year."""
    return [
        ("", base, field),
        ("/month", base, field),
        ("/day", base * units.DAYS_PER_MONTH, field),
        ("/week", base * units.DAYS_PER_MONTH / 7, field),
        ("/h", base * HOURS_PER_MONTH, field),
        ("/year", base / 12, field),
    ]


_PAY: list[Unit] = [("/h", 1.0, "rate"), ("", 1.0, "rate"), ("/day", 1 / units.WORKING_HOURS["d"], "rate")]
_PAY += [("/week", 1 / units.WORKING_HOURS["wk"], "rate"), ("/month", 1 / units.WORKING_HOURS["mo"], "rate")]


def _pay(field: str) -> list[Unit]:
    return [(suffix, factor, field) for suffix, factor, _ in _PAY]


def _time_key(name: str, field: str, how: units.TimeUnit, example: str, help: str, fix: str) -> None:
    """A key that takes a time: one table of unit words (units.TimeUnit), `m` refused as ambiguous."""
    accepted: list[Unit] = [(word, how.factor(word), field) for word in how.words]
    if how.bare is not None:
        accepted.insert(0, ("", how.factor(how.bare), field))
    bare = {"h": "hours", "mo": "months", "ms": "milliseconds"}[how.bare] if how.bare else ""
    _key(
        name,
        lambda text: units.time_value(text, how, field, fix),
        example,
        help,
        field,
        kind="time",
        units=accepted,
        bare=bare,
    )


_TIMES = ("ms", "s", "min", "h", "d")
_LATENCY = units.TimeUnit("ms", working=False, words=_TIMES, bare=None, m_fix=("min", "ms"))
_WORK = units.TimeUnit("h", working=True, words=(*_TIMES, "wk"), bare="h", m_fix=("min", "h"))
_WORK_A_MONTH = units.TimeUnit("h", working=True, words=(*_TIMES, "wk"), bare="h", m_fix=("min", "h"), per_month=True)
_MONTHS = units.TimeUnit("mo", working=False, words=(*_TIMES, "wk", "mo", "yr"), bare="mo", m_fix=("mo", "min"))

_key(
    "volume",
    units.volume,
    "volume=2M/month",
    "requests a month (or /day, /h, or a rate: 10qps, 600/min); `volume=3B tokens/month` for tokens",
    "requests_per_month",
    "tokens_per_month",
    kind="count",
    units=_periods("requests_per_month")
    + [("qps", HOURS_PER_MONTH * 3600, "requests_per_month"), ("/min", HOURS_PER_MONTH * 60, "requests_per_month")]
    + [(" tokens/month", 1.0, "tokens_per_month"), (" tokens/day", units.DAYS_PER_MONTH, "tokens_per_month")],
    bare="requests a month",
)
_key(
    "tokens",
    units.tokens_volume,
    "tokens=50M/day",
    "token volume (input + output) instead of requests",
    "tokens_per_month",
    kind="count",
    units=_periods("tokens_per_month") + [(" tokens/month", 1.0, "tokens_per_month")],
    bare="tokens a month",
)
for _name, _field, _example, _help in (
    ("in", "in_tokens", "in=1500", "input tokens a request on the API (prompt + examples + input)"),
    ("out", "out_tokens", "out=200", "output tokens a request"),
    ("ft_in", "ft_in_tokens", "ft_in=300", "input tokens a request after fine-tuning"),
):
    _key(
        _name,
        units.token_count(_field),
        _example,
        _help,
        _field,
        kind="count",
        units=[("", 1.0, _field), (" tokens", 1.0, _field)],
        bare="tokens a request",
    )


def _share_key(name: str, field: str, example: str, help: str) -> None:
    _key(
        name,
        units.share(field),
        example,
        help,
        field,
        kind="share",
        units=[("%", 0.01, field), ("", 1.0, field)],
        bare="a fraction (0.8 is 80%)",
    )


_share_key("prompt_cut", "prompt_cut", "prompt_cut=80%", "share of the prompt that fine-tuning removes")
_share_key("cached", "cached_share", "cached=30%", "share of API input tokens read from the provider's cache")
_key("api", units.name("api_model"), "api=gpt-4o-mini", "API model from the price catalogue", "api_model")
_key(
    "api_price",
    units.api_price,
    "api_price=2.5/10",
    "your API price, IN/OUT $ per 1M tokens (IN/OUT/CACHED with a cached-input price), or one blended figure",
    "api_price_in",
    "api_price_out",
    "api_price_cached",
    "api_price_blended",
    kind="price",
    units=[("", 1.0, "api_price_blended"), ("/1M", 1.0, "api_price_blended"), (" per 1M", 1.0, "api_price_blended")],
    bare="$ per 1M tokens",
)
_key(
    "api_per_1k",
    units.money("api_per_1k"),
    "api_per_1k=$0.20",
    "your API price, $ per 1,000 requests",
    "api_per_1k",
    kind="money",
    units=[("", 1.0, "api_per_1k")],
    bare="dollars",
)
_key("gpu", units.name("gpu"), "gpu=a10g", "serving GPU from the catalogue (`breakeven gpus`)", "gpu")
_key(
    "gpus",
    units.count("gpus", "GPUs", suffix=("gpu", "gpus", "x")),
    "gpus=2",
    "GPUs in one serving instance",
    "gpus",
    kind="count",
    units=[("", 1.0, "gpus"), (" gpus", 1.0, "gpus"), ("x", 1.0, "gpus")],
    bare="GPUs",
)
_key(
    "gpu_price",
    units.money("gpu_price", per="h"),
    "gpu_price=$1.20/h",
    "your price a GPU-hour",
    "gpu_price",
    kind="money",
    units=[("/h", 1.0, "gpu_price"), ("", 1.0, "gpu_price"), ("/month", 1 / HOURS_PER_MONTH, "gpu_price")]
    + [("/day", units.DAYS_PER_MONTH / HOURS_PER_MONTH, "gpu_price")],
    bare="dollars an hour",
)
_key(
    "server",
    units.money("server_monthly", to_month=True),
    "server=$800/month",
    "fixed hosting for one serving instance (a month, or /day, /h)",
    "server_monthly",
    kind="money",
    units=_periods("server_monthly"),
    bare="dollars a month",
)
_key(
    "host_price",
    units.per_million("host_price"),
    "host_price=0.20",
    "per-token host of open models, $ per 1M tokens",
    "host_price",
    kind="money",
    units=[("", 1.0, "host_price"), ("/1M", 1.0, "host_price")],
    bare="$ per 1M tokens",
)
_key(
    "capacity",
    units.capacity,
    "capacity=30qps",
    "what one instance serves, measured: qps or tok/s (output tokens)",
    "capacity_qps",
    "capacity_tok_s",
    kind="rate",
    units=[("qps", 1.0, "capacity_qps"), (" req/s", 1.0, "capacity_qps"), ("/min", 1 / 60, "capacity_qps")]
    + [("tok/s", 1.0, "capacity_tok_s"), (" tokens/s", 1.0, "capacity_tok_s")],
)
_key(
    "peak",
    units.factor("peak"),
    "peak=3x",
    "peak load over the average load",
    "peak",
    kind="factor",
    units=[("x", 1.0, "peak"), ("", 1.0, "peak")],
    bare="a multiple",
)
_key("ha", units.flag("ha"), "ha=yes", "keep one spare instance (N+1) for high availability", "ha", kind="flag")
_key("uptime", units.uptime, "uptime=99.9%", "99.9% or more keeps a spare instance (N+1)", "ha", kind="share")
_key(
    "concurrency",
    units.count("concurrency", "requests at once", suffix=("x", "requests", "streams")),
    "concurrency=32",
    "requests one instance serves at once (default: the most that fit and meet latency=)",
    "concurrency",
    kind="count",
    units=[("", 1.0, "concurrency"), (" streams", 1.0, "concurrency")],
    bare="requests at once",
)
_key(
    "params",
    units.params,
    "params=8B",
    "size of the open model you fine-tune",
    "params_b",
    kind="size",
    units=[("B", 1.0, "params_b"), ("M", 0.001, "params_b"), ("", 1.0, "params_b")],
    bare="billions of parameters",
)
_key(
    "base",
    units.name("base_model"),
    "base=llama-3.1-8b",
    "the open model you fine-tune and serve (`breakeven serving` knows their layouts); or params=",
    "base_model",
)
_key(
    "streaming",
    units.flag("streaming"),
    "streaming=yes",
    "answers stream: latency= bounds the first token",
    "streaming",
    kind="flag",
)
_key("bits", units.bits, "bits=8", "weight precision when serving: 4, 8 or 16", "bits", kind="choice")
for _name, _example, _help in (
    ("setup", "setup=$12,000", "one-time cost besides training runs, in total"),
    ("train", "train=$40", "compute for one training run"),
):
    _key(
        _name,
        units.money(_name),
        _example,
        _help,
        _name,
        kind="money",
        units=[("", 1.0, _name)],
        bare="dollars",
    )
_key(
    "runs",
    units.count("runs", "training runs", suffix=("runs", "run", "x")),
    "runs=5",
    "training runs planned",
    "runs",
    kind="count",
    units=[("", 1.0, "runs"), (" runs", 1.0, "runs")],
    bare="runs",
)
for _name, _example, _help in (
    ("data_h", "data_h=100", "hours of data preparation"),
    ("eval_h", "eval_h=40", "hours of evaluation work"),
    ("infra_h", "infra_h=12", "hours of infrastructure set-up"),
):
    _time_key(_name, _name, _WORK, _example, _help + " (a day of work is 8 h)", f"{_name}=40h or {_name}=5d")
_key(
    "rate",
    units.money("rate", per="work_h"),
    "rate=$100/h",
    "loaded cost of an engineering hour (a day rate is 8 h: $800/day = $100/h)",
    "rate",
    kind="money",
    units=_pay("rate"),
    bare="dollars an hour",
)
_key(
    "complexity",
    units.choice(
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
    kind="choice",
)
_key(
    "iter",
    units.factor("iter"),
    "iter=3x",
    "iteration multiplier on the one-time cost",
    "iter",
    kind="factor",
    units=[("x", 1.0, "iter"), ("", 1.0, "iter")],
    bare="a multiple",
)
_time_key("maint_h", "maint_h", _WORK_A_MONTH, "maint_h=6", "hours a month to run the model", "maint_h=6h or 2h/week")
_key(
    "oversight",
    units.money("oversight", to_month=True),
    "oversight=$5,000/month",
    "human review a month",
    "oversight",
    kind="money",
    units=_periods("oversight"),
    bare="dollars a month",
)
_time_key(
    "horizon",
    "horizon",
    _MONTHS,
    "horizon=18",
    "months buying must pay back within (default 12; with growth= the months projected, default 24)",
    "horizon=18months or horizon=2y",
)
_key(
    "growth",
    units.growth,
    "growth=10%/month",
    "volume growth, compounded month by month over the horizon (10%/month, 3x/year, -5%/month)",
    "growth",
    kind="growth",
    units=[("%/month", 0.01, "growth"), ("/month", 1.0, "growth")],
)
_time_key("manual_h", "manual_h", _WORK, "manual_h=3min", "time a task takes by hand today", "manual_h=3min or 3h")
_key(
    "manual_rate",
    units.money("manual_rate", per="work_h"),
    "manual_rate=$50/h",
    "cost of an hour of manual work (a day rate is 8 h)",
    "manual_rate",
    kind="money",
    units=_pay("manual_rate"),
    bare="dollars an hour",
)
_share_key("fail_api", "fail_api", "fail_api=5%", "share of API answers that fail")
_share_key("fail_ft", "fail_ft", "fail_ft=3%", "share of fine-tuned answers that fail")
_key(
    "fail_cost",
    units.money("fail_cost"),
    "fail_cost=$2",
    "what one failure costs",
    "fail_cost",
    kind="money",
    units=[("", 1.0, "fail_cost")],
    bare="dollars",
)
_key("privacy", units.flag("privacy"), "privacy=yes", "data may not leave the company", "privacy", kind="flag")
_time_key("latency", "latency_ms", _LATENCY, "latency=150ms", "the latency bound a whole answer must meet", "3s or 3ms")
_time_key(
    "api_latency",
    "api_latency_ms",
    _LATENCY,
    "api_latency=1.2s",
    "the API's latency for a whole answer, as you measured it (default: a typical figure)",
    "3s or 3ms",
)
_time_key(
    "ft_latency",
    "ft_latency_ms",
    _LATENCY,
    "ft_latency=900ms",
    "your own endpoint's latency for a whole answer, as you measured it (default: the serving model's)",
    "3s or 3ms",
)
_key(
    "task",
    units.choice(
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
    kind="choice",
)

_key(
    "use",
    units.name("use"),
    "use=support-chatbot",
    "start from a use-case template (`breakeven templates`): its volume, tokens and needs; any key overrides them",
    "use",
)
_key(
    "measured",
    units.name("measured"),
    "measured=support-bot-nov",
    "a saved measurement (`breakeven measure --save NAME`): its in, out, capacity and failure rates",
    "measured",
)

# ---------------------------------------------------------------------------------------
# Prices as they are paid: billing modes, the load over the week, owned hardware, API tiers (issue 20).

_key(
    "billing",
    units.choice(
        "billing",
        {
            "always-on": "always-on",
            "on-demand": "always-on",
            "ondemand": "always-on",
            "dedicated": "always-on",
            "reserved-1y": "reserved-1y",
            "reserved-1-year": "reserved-1y",
            "1y": "reserved-1y",
            "reserved-3y": "reserved-3y",
            "reserved-3-years": "reserved-3y",
            "3y": "reserved-3y",
            "spot": "spot",
            "preemptible": "spot",
            "serverless": "serverless",
            "per-second": "serverless",
            "owned": "owned",
            "bought": "owned",
            "on-prem": "owned",
        },
    ),
    "billing=reserved-1y",
    "how the GPUs are paid for: always-on (default), reserved-1y, reserved-3y, spot, serverless or owned",
    "billing",
    kind="choice",
)

_A_DAY = units.TimeUnit("h", working=False, words=_TIMES, bare="h", m_fix=("min", "h"))


def _active(text: str) -> dict[str, Any]:
    """Hours a day the service is used: 10h/day, 10 hours a day, or 10h (a day is understood)."""
    head, period = units.split_rate(text)
    if period is not None:
        if period.strip() == "m":
            raise _ValueError(
                f"'{shown(text)}': '/m' is ambiguous (minutes or months? write /min or /month for those); "
                "this key is hours a day: write e.g. 10h/day"
            )
        if units.per_month(period) != DAYS_PER_MONTH:
            raise _ValueError(f"'{shown(text)}' is not hours a day; write e.g. 10h/day")
    value = units.time_value(head, _A_DAY, "active_hours", "10h/day")["active_hours"]
    if value > 24:
        raise _ValueError(f"'{shown(text)}' is more than the 24 hours of a day")
    return {"active_hours": value}


_key(
    "active",
    _active,
    "active=10h/day",
    "hours a day the service is used (the same monthly volume in fewer hours)",
    "active_hours",
    kind="time",
    units=[("", 1.0, "active_hours"), ("h/day", 1.0, "active_hours")]
    + [(word, _A_DAY.factor(word), "active_hours") for word in _A_DAY.words],
    bare="hours a day",
)
_PROFILES = units.choice(
    "profile",
    {
        "24x7": "24x7",
        "24/7": "24x7",
        "always": "24x7",
        "business-hours": "business-hours",
        "business": "business-hours",
        "office-hours": "business-hours",
        "weekdays": "weekdays",
        "weekday": "weekdays",
    },
)


def _profile(text: str) -> dict[str, Any]:
    """A built-in profile (24x7, business-hours, weekdays) or busy hours a day (10h/day, as active=)."""
    if re.match(r"^\s*[\d.]+\s*h", text.strip(), re.I):
        return _active(text)
    return _PROFILES(text)


_key(
    "profile",
    _profile,
    "profile=business-hours",
    "when the requests come: 24x7 (default), business-hours (10 h a day, Monday to Friday), weekdays, or busy "
    "hours a day (10h/day); the monthly volume is the same",
    "profile",
    "active_hours",
    kind="choice",
)
_key(
    "autoscale",
    units.flag("autoscale"),
    "autoscale=yes",
    "instances follow the load hour by hour (a floor of one unless min_instances=0)",
    "autoscale",
    kind="flag",
)
_key(
    "min_instances",
    units.count("min_instances", "instances", suffix=("instances", "instance", "x")),
    "min_instances=0",
    "instances kept at the quietest hour (autoscale or serverless; 0 scales to zero)",
    "min_instances",
    kind="count",
    units=[("", 1.0, "min_instances"), (" instances", 1.0, "min_instances")],
    bare="instances",
)
_SECONDS = units.TimeUnit("s", working=False, words=_TIMES, bare=None, m_fix=("min", "ms"))
_time_key(
    "cold_start",
    "cold_start_s",
    _SECONDS,
    "cold_start=30s",
    "time a serverless instance bills to start and load the model",
    "30s or 2min",
)
_key(
    "purchase",
    units.money("purchase"),
    "purchase=$30,000",
    "billing=owned: what one instance's hardware costs",
    "purchase",
    kind="money",
    units=[("", 1.0, "purchase")],
    bare="dollars",
)
_time_key(
    "depreciation",
    "depreciation_months",
    _MONTHS,
    "depreciation=36months",
    "billing=owned: months the purchase is written off over (default 36)",
    "depreciation=36months or 3y",
)


def _watts(text: str) -> dict[str, Any]:
    reading = units.no_money(text, "counts watts")
    unit = reading.rest.strip().lower()
    if unit in ("", "w", "watt", "watts"):
        return {"watts": reading.value}
    if unit in ("kw", "kilowatt", "kilowatts"):
        return {"watts": reading.value * 1000}
    raise _ValueError(f"unexpected '{shown(reading.rest, 20)}'; give watts, e.g. 700W or 0.7kW")


_key(
    "watts",
    _watts,
    "watts=700W",
    "billing=owned: power one instance draws (default: its GPUs' data sheet)",
    "watts",
    kind="count",
    units=[("", 1.0, "watts"), ("W", 1.0, "watts"), ("kW", 1000.0, "watts")],
    bare="watts",
)
_key(
    "pue",
    units.factor("pue"),
    "pue=1.4",
    "billing=owned: the data centre's power usage effectiveness (default 1.4)",
    "pue",
    kind="factor",
    units=[("", 1.0, "pue"), ("x", 1.0, "pue")],
    bare="a multiple",
)


def _per_kwh(text: str) -> dict[str, Any]:
    reading = units.money_reading(text)
    unit, period = units.split_rate(reading.rest)
    if period is not None and period.strip() == "m":
        raise _ValueError(
            f"'{shown(text)}': '/m' is ambiguous (minutes or months? write /min or /month for those); "
            "this key is dollars a kWh: write e.g. $0.12/kWh"
        )
    if unit in ("usd", "$"):
        unit = ""
    if unit or (period is not None and period.replace(" ", "") != "kwh"):
        raise _ValueError(f"unexpected '{shown(reading.rest, 20)}'; give dollars a kWh, e.g. $0.12/kWh")
    return {"power_price": reading.value}


_key(
    "power_price",
    _per_kwh,
    "power_price=$0.12/kWh",
    "billing=owned: electricity, $ a kWh (default $0.12)",
    "power_price",
    kind="money",
    units=[("/kWh", 1.0, "power_price"), ("", 1.0, "power_price")],
    bare="dollars a kWh",
)
_key(
    "colo",
    units.money("colo", to_month=True),
    "colo=$200/month",
    "billing=owned: colocation for one instance, a month",
    "colo",
    kind="money",
    units=_periods("colo"),
    bare="dollars a month",
)
_share_key("residual", "residual", "residual=20%", "billing=owned: share of the purchase it resells for at the end")


def _batch(text: str) -> dict[str, Any]:
    word = text.strip().lower()
    if word in ("yes", "y", "true", "on", "all"):
        return {"batch_share": 1.0}
    if word in ("no", "n", "false", "off", "none"):
        return {"batch_share": 0.0}
    return units.share("batch_share")(text)


_key(
    "batch",
    _batch,
    "batch=60%",
    "share of the API traffic that can wait a day for the batch API's discount (batch=yes: all of it)",
    "batch_share",
    kind="share",
    units=[("%", 0.01, "batch_share"), ("", 1.0, "batch_share")],
    bare="a fraction (0.6 is 60%; yes is all of it)",
)
_key(
    "tier",
    units.choice("api_tier", {"standard": "standard", "default": "standard", "flex": "flex", "priority": "priority"}),
    "tier=flex",
    "the API's service tier where the catalogue prices it: standard, flex or priority",
    "api_tier",
    kind="choice",
)
_share_key(
    "cache_write",
    "cache_write_share",
    "cache_write=5%",
    "share of API input written to the provider's cache a request (priced where the provider charges writes)",
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
    dict.fromkeys(("profile", "active"), "when the requests come"),
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
    "billing_mode": "billing",
    "load_profile": "profile",
    "depreciation_months": "depreciation",
    "cold_start_s": "cold_start",
    "api_tier": "tier",
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


SHARES = {"prompt_cut", "cached_share", "fail_api", "fail_ft", "growth", "residual", "batch_share", "cache_write_share"}
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


def units_text(key: Key) -> str:
    """The units a key accepts and what a bare number means, as `breakeven keys` and the docs show them."""
    if not key.units:
        return ""
    written = [suffix.strip() for suffix, _, _ in key.units if suffix.strip()]
    accepted = ", ".join(dict.fromkeys(written))
    if key.bare:
        bare = f"a bare number is {key.bare}"
    elif key.kind in ("time", "rate"):
        bare = "a bare number is refused: give a unit"
    else:
        bare = ""
    return "; ".join(part for part in (f"units {accepted}" if accepted else "", bare) if part)


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
    ("billing", lambda v: f"billing={v}"),
    ("profile", lambda v: f"profile={v}"),
    ("active_hours", lambda v: f"active={_num(v)}h/day"),
    ("autoscale", lambda v: f"autoscale={'yes' if v else 'no'}"),
    ("min_instances", lambda v: f"min_instances={v}"),
    ("cold_start_s", lambda v: f"cold_start={_num(v * 1000)}ms"),
    ("purchase", lambda v: f"purchase={_num(v)}"),
    ("depreciation_months", lambda v: f"depreciation={_num(v)}months"),
    ("watts", lambda v: f"watts={_num(v)}W"),
    ("pue", lambda v: f"pue={_num(v)}x"),
    ("power_price", lambda v: f"power_price={_num(v)}/kWh"),
    ("colo", lambda v: f"colo={_num(v)}/month"),
    ("residual", lambda v: f"residual={_num(v)}"),
    ("batch_share", lambda v: f"batch={_num(v)}"),
    ("api_tier", lambda v: f"tier={v}"),
    ("cache_write_share", lambda v: f"cache_write={_num(v)}"),
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
        "train_gpu": Key(
            "train_gpu", units.name("train_gpu"), "train_gpu=a10g", "GPU the training runs on", ("train_gpu",)
        ),
    }
    for activity in ACTIVITIES:
        ops = activity.group == "ops"
        how = _WORK_A_MONTH if ops else _WORK
        fix = f"{activity.key}={activity.default:g}h or {activity.key}=1d"

        def parse_hours(text: str, how=how, field=activity.key, fix=fix) -> dict[str, Any]:
            return units.time_value(text, how, field, fix)

        keys[activity.key] = Key(
            activity.key,
            parse_hours,
            f"{activity.key}={activity.default:g}",
            f"{activity.label}: hours{' a month' if ops else ''} (typical {activity.low:g}-{activity.high:g})",
            (activity.key,),
            "time",
            tuple([("", 1.0, activity.key)] + [(w, how.factor(w), activity.key) for w in how.words]),
            "hours",
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
