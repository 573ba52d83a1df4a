"""Numbers and units: how every value of the grammar is read, by one rule for each kind of value.

A value is a number, an optional unit and an optional period: `2.5M tokens/day`, `$1,200/month`, `3min`.
Each key of the grammar (costcore/grammar.py) declares its kind, and the kind decides what it accepts:

    count   requests, tokens, GPUs, runs: no money sign, no percentage
    money   dollars, with or without `$`: no count unit after it (tokens, requests, GPUs)
    share   a percentage (80%) or a fraction (0.8), never over what the key allows
    time    ms, s, min, h, d (a calendar day, or an 8-hour working day for people's hours), wk;
            `m` alone is refused (minutes or millions?), and a bare number is read in the unit the key
            names (hours for *_h, months for horizon) or refused where it has none (latency keys)
    factor  3x or 3
    rate    a measured capacity: qps or tok/s, never bare (requests or tokens?)

A period (`/day`, `/month`, `/h`) converts a rate to the key's own period; `/m` is refused likewise.
An error quotes at most a short prefix of what was typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HOURS_PER_MONTH = 365 * 24 / 12  # 730
DAYS_PER_MONTH = 365 / 12


class ValueProblem(ValueError):
    """A value that does not read; the grammar adds the key and an example that works."""


def shown(text: str, limit: int = 40) -> str:
    """What was typed, quoted in a message: at most a short prefix of a long value."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------
# Numbers

_SUFFIX = {"k": 1e3, "m": 1e6, "mm": 1e6, "b": 1e9, "bn": 1e9, "t": 1e12}
_NUMBER = re.compile(
    r"^\s*(?P<sign>-)?\s*(?P<dollar>\$)?\s*(?P<sign2>-)?\s*(?P<num>(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)"
    r"\s*(?:(?P<suffix>k|mm|m|bn|b|t)(?![a-z]))?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reading:
    value: float
    rest: str  # what follows the number: a unit and/or a period
    money: bool  # written with a dollar sign
    scaled: str  # the magnitude suffix as typed (k, M, B...), '' for none


def read(text: str) -> Reading:
    """'$1,200' -> 1200 (money), '2.5M tokens/day' -> 2,500,000 then 'tokens/day'."""
    if len(text) > 200:
        raise ValueProblem(f"'{shown(text)}' is too long to be a value")
    match = _NUMBER.match(text)
    if not match:
        raise ValueProblem(f"'{shown(text)}' is not a number")
    if match["sign"] or match["sign2"]:
        raise ValueProblem(f"'{shown(text)}' is negative; give a value of zero or more")
    value = float(match["num"].replace(",", ""))
    if match["suffix"]:
        value *= _SUFFIX[match["suffix"].lower()]
    if not math.isfinite(value) or value > 1e100:
        raise ValueProblem(f"'{shown(text)}' is too large to be a real figure")
    return Reading(value, match["rest"].strip(), bool(match["dollar"]), match["suffix"] or "")


def number(text: str) -> tuple[float, str]:
    """'$1,200' -> (1200, ''), '2.5M tokens/day' -> (2500000, 'tokens/day')."""
    reading = read(text)
    return reading.value, reading.rest


# ---------------------------------------------------------------------------------------
# Periods: how many of a period fit in a month (calendar time: machines run round the clock)

_PER = {
    "s": HOURS_PER_MONTH * 3600,
    "sec": HOURS_PER_MONTH * 3600,
    "second": HOURS_PER_MONTH * 3600,
    "min": HOURS_PER_MONTH * 60,
    "minute": HOURS_PER_MONTH * 60,
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
AMBIGUOUS_M = "'m' could be minutes, months or millions"


def per_month(word: str) -> float | None:
    """How many of this period fit in a month: day -> 30.4167; None for an unknown period."""
    word = word.strip().lower().rstrip(".")
    if word.endswith("s") and word[:-1] in _PER:
        word = word[:-1]
    return _PER.get(word)


def split_rate(rest: str) -> tuple[str, str | None]:
    """'tokens/day' -> ('tokens', 'day'); '/month' -> ('', 'month'); 'a month' -> ('', 'month')."""
    rest = rest.strip().lower()
    rest = re.sub(r"^(a|an|per|every)\s+", "/", rest)
    rest = re.sub(r"\s+(a|an|per|every)\s+", "/", rest)
    if "/" in rest:
        unit, period = rest.split("/", 1)
        return unit.strip(), period.strip()
    return rest, None


def _check_period(period: str) -> None:
    if period.strip().lower() == "m":
        raise ValueProblem("'/m' is ambiguous ('m' could be minutes or months): write /min or /month")


def monthly(value: float, period: str | None) -> float:
    if period is None:
        return value
    _check_period(period)
    factor = per_month(period)
    if factor is None:
        raise ValueProblem(f"unknown period '/{shown(period, 20)}'; use /s, /h, /day, /week, /month or /year")
    return value * factor


def unit_is(unit: str, *names: str) -> bool:
    return unit in names or (unit.endswith("s") and unit[:-1] in names)


# ---------------------------------------------------------------------------------------
# Time: one table of unit words for every key that takes a time

# People are paid for working hours: a day of work is 8 hours (as `5d` of work is 40 h), a week 40 h,
# a month 40 h x 52 / 12, a year 2,080 h. Machines run round the clock: a calendar day is 24 hours.
WORKING_HOURS = {"h": 1.0, "d": 8.0, "wk": 40.0, "mo": 40 * 52 / 12, "yr": 2080.0}
_TIME_WORDS = {
    "ms": "ms",
    "msec": "ms",
    "millisecond": "ms",
    "s": "s",
    "sec": "s",
    "second": "s",
    "min": "min",
    "minute": "min",
    "h": "h",
    "hr": "h",
    "hour": "h",
    "d": "d",
    "day": "d",
    "w": "wk",
    "wk": "wk",
    "week": "wk",
    "mo": "mo",
    "mon": "mo",
    "month": "mo",
    "y": "yr",
    "yr": "yr",
    "year": "yr",
}
_CALENDAR_HOURS = {"ms": 1 / 3.6e6, "s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "wk": 168.0}
_CALENDAR_HOURS |= {"mo": HOURS_PER_MONTH, "yr": HOURS_PER_MONTH * 12}
_WORK_HOURS = {"ms": 1 / 3.6e6, "s": 1 / 3600, "min": 1 / 60} | WORKING_HOURS


def time_word(word: str) -> str | None:
    word = word.strip().lower().rstrip(".")
    if word in _TIME_WORDS:
        return _TIME_WORDS[word]
    if word.endswith("s") and word[:-1] in _TIME_WORDS:
        return _TIME_WORDS[word[:-1]]
    return None


@dataclass(frozen=True)
class TimeUnit:
    """How a key reads a time: its field's unit, whose hours (a working or a calendar day), the unit
    words it takes, what a bare number means (None: refused), and whether a /period may follow."""

    unit: str  # the field's unit: "ms", "s", "h" or "mo"
    working: bool  # people's time (a day is 8 h) or the clock's (24 h)
    words: tuple[str, ...]  # the unit words accepted, canonical (ms, s, min, h, d, wk, mo, yr)
    bare: str | None  # the unit a bare number is read in; None refuses a bare number
    m_fix: tuple[str, str]  # what `3m` might have meant, offered as the fix: ("min", "ms") -> 3min or 3ms
    per_month: bool = False  # hours a month: a /period converts to a month

    def factor(self, word: str) -> float:
        """The field's value for one of `word` (canonical)."""
        hours = (_WORK_HOURS if self.working else _CALENDAR_HOURS)[word]
        field_hours = {"ms": 1 / 3.6e6, "s": 1 / 3600, "h": 1.0, "mo": HOURS_PER_MONTH}[self.unit]
        return hours / field_hours

    def accepted(self) -> str:
        return ", ".join(self.words)


def time_value(text: str, how: TimeUnit, field: str, fix: str) -> dict[str, Any]:
    """A time in one of the key's units, converted to its field's unit."""
    reading = no_money(text, "is a length of time")
    unit, period = split_rate(reading.rest)
    if unit == "m" or (reading.scaled.lower() == "m" and not unit):
        typed = re.match(r"^(.*?)\s*m\s*(/.*)?$", text.strip(), re.I)
        meant = " or ".join(f"{typed[1]}{word}{typed[2] or ''}" for word in how.m_fix)
        raise ValueProblem(f"'{shown(text)}' is ambiguous ({AMBIGUOUS_M}): write {shown(meant)}")
    if not unit:
        if how.bare is None:
            raise ValueProblem(f"'{shown(text)}' has no unit; give one of {how.accepted()} (e.g. {fix})")
        word = how.bare
    else:
        word = time_word(unit)
        if word is None or word not in how.words:
            raise ValueProblem(f"unknown unit '{shown(unit, 20)}'; give one of {how.accepted()} (e.g. {fix})")
    value = reading.value * how.factor(word)
    if period is not None:
        if not how.per_month:
            raise ValueProblem(f"drop '/{shown(period, 20)}': this is a length of time, not a rate")
        value = monthly(value, period)
    return {field: value}


# ---------------------------------------------------------------------------------------
# The kinds of value, each a reader that turns text into {field: value}

Reader = Callable[[str], dict[str, Any]]
COUNT_WORDS = ("token", "tok", "request", "req", "query", "queries", "task", "call", "gpu", "run", "qps", "rps")


def no_money(text: str, what: str) -> Reading:
    """A number for a key that is not money (`what` says what it is: 'counts tokens', 'is a multiple'):
    a dollar sign or a percentage is refused, saying what the key takes instead."""
    reading = read(text)
    if reading.money:
        raise ValueProblem(f"'{shown(text)}' has a money sign, but this key {what}, not dollars")
    if reading.rest.startswith("%"):
        raise ValueProblem(f"'{shown(text)}' is a percentage, but this key {what}")
    return reading


def money_reading(text: str) -> Reading:
    """A number for a money key: a count unit after it (tokens, requests, GPUs) is refused."""
    reading = read(text)
    unit, _ = split_rate(reading.rest)
    if unit.startswith("%"):
        raise ValueProblem(f"'{shown(text)}' is a percentage, but this key is an amount of dollars")
    if unit and any(unit_is(unit, word) or unit.startswith(word) for word in COUNT_WORDS):
        raise ValueProblem(f"'{shown(text)}' counts {unit}, but this key is an amount of dollars")
    return reading


def volume(text: str) -> dict[str, Any]:
    reading = no_money(text, "counts requests (or tokens)")
    unit, period = split_rate(reading.rest)
    if unit in ("qps", "rps", "rpm", "qpm") and period is None:
        unit, period = "", ("min" if unit.endswith("m") else "s")
    value = monthly(reading.value, period)
    if unit_is(unit, "token", "tok"):
        return {"tokens_per_month": value}
    if unit and not unit_is(
        unit, "request", "req", "query", "queries", "task", "call", "message", "doc", "document", "ticket"
    ):
        raise ValueProblem(f"unknown unit '{shown(unit, 20)}'; use requests (the default) or tokens")
    return {"requests_per_month": value}


def tokens_volume(text: str) -> dict[str, Any]:
    reading = no_money(text, "counts tokens")
    unit, period = split_rate(reading.rest)
    if unit and not unit_is(unit, "token", "tok"):
        raise ValueProblem(f"unknown unit '{shown(unit, 20)}'; tokens= counts tokens (e.g. tokens=50M/day)")
    return {"tokens_per_month": monthly(reading.value, period)}


def token_count(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        reading = no_money(text, "counts tokens")
        if reading.rest and not unit_is(reading.rest.lower(), "token", "tok"):
            raise ValueProblem(f"unexpected '{shown(reading.rest, 20)}' after the number; give tokens a request")
        return {field: reading.value}

    return parse


def share(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        reading = read(text)
        if reading.money:
            raise ValueProblem(f"'{shown(text)}' has a money sign, but this key is a share: give a percentage")
        value, rest = reading.value, reading.rest
        if rest == "%":
            value /= 100
        elif rest:
            raise ValueProblem(f"unexpected '{shown(rest, 20)}'; give a percentage like 80%")
        elif value > 1:
            raise ValueProblem(
                f"'{shown(text)}' is ambiguous; write a percentage like {value:g}% or a fraction like 0.8"
            )
        if value > 1:
            raise ValueProblem(f"{shown(text)} is over 100%")
        return {field: value}

    return parse


def working_hours_in(period: str) -> float:
    _check_period(period)
    word = time_word(period)
    if word not in WORKING_HOURS:
        raise ValueProblem(
            f"unknown period '/{shown(period, 20)}' for a rate of pay; use /h, /day (8 h), /week (40 h) or /month"
        )
    return WORKING_HOURS[word]


def money(field: str, *, per: str | None = None, to_month: bool = False) -> Reader:
    """Money: per='h' for a machine's price an hour (calendar hours), per='work_h' for a person's
    rate (working hours), to_month=True for monthly bills (any period accepted)."""

    def parse(text: str) -> dict[str, Any]:
        reading = money_reading(text)
        unit, period = split_rate(reading.rest)
        if unit in ("usd", "dollars", "dollar", "$"):
            unit = ""
        if unit:
            raise ValueProblem(f"unexpected '{shown(unit, 20)}' after the amount")
        if to_month:
            return {field: monthly(reading.value, period)}
        if per == "work_h" and period is not None:
            return {field: reading.value / working_hours_in(period)}
        if per == "h" and period is not None:
            return {field: monthly(reading.value, period) / HOURS_PER_MONTH}
        if period is not None and per is None:
            raise ValueProblem(f"'{field}' is a one-off amount; drop '/{shown(period, 20)}'")
        return {field: reading.value}

    return parse


def per_million(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        reading = money_reading(text)
        unit, period = split_rate(reading.rest)
        if unit or (period and period.lower() not in ("1m", "m", "mtok", "1m tokens", "million")):
            raise ValueProblem(
                f"unexpected '{shown(reading.rest, 20)}'; give dollars per 1M tokens, e.g. 0.20 or $0.20/1M"
            )
        return {field: reading.value}

    return parse


def api_price(text: str) -> dict[str, Any]:
    cleaned = re.sub(r"\s*(per|/)\s*(1m|m|mtok|million)(\s*tokens)?\s*$", "", text.strip(), flags=re.I)
    parts = [p for p in re.split(r"\s*/\s*", cleaned) if p]
    readings = [money_reading(part) for part in parts] if 1 <= len(parts) <= 3 else []
    if len(parts) == 3:
        if any(r.rest for r in readings):
            raise ValueProblem(f"'{shown(text)}' is not IN/OUT/CACHED dollars per 1M tokens")
        return {
            "api_price_in": readings[0].value,
            "api_price_out": readings[1].value,
            "api_price_cached": readings[2].value,
        }
    if len(parts) == 2:
        if readings[0].rest or readings[1].rest:
            raise ValueProblem(f"'{shown(text)}' is not IN/OUT dollars per 1M tokens")
        return {"api_price_in": readings[0].value, "api_price_out": readings[1].value}
    if len(parts) == 1:
        if readings[0].rest:
            raise ValueProblem(f"unexpected '{shown(readings[0].rest, 20)}' after the price")
        return {"api_price_blended": readings[0].value}
    raise ValueProblem(f"'{shown(text)}' is not IN/OUT dollars per 1M tokens")


def count(field: str, what: str, *, suffix: tuple[str, ...] = ()) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        reading = no_money(text, f"counts {what}")
        if reading.rest and reading.rest.lower() not in suffix:
            raise ValueProblem(f"unexpected '{shown(reading.rest, 20)}' after the number")
        if reading.value != int(reading.value):
            raise ValueProblem(f"'{shown(text)}' is not a whole number")
        return {field: int(reading.value)}

    return parse


def factor(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        reading = no_money(text, "is a multiple")
        if reading.rest.lower() not in ("", "x", "times"):
            raise ValueProblem(f"unexpected '{shown(reading.rest, 20)}'; give a factor like 3x")
        return {field: reading.value}

    return parse


def capacity(text: str) -> dict[str, Any]:
    reading = no_money(text, "is requests or tokens a second")
    unit, period = split_rate(reading.rest)
    if period is not None:
        _check_period(period)
    if unit in ("qps", "rps") and period is None:
        return {"capacity_qps": reading.value}
    if not unit and period is None:
        raise ValueProblem(
            f"'{shown(text)}' has no unit; give requests a second (30qps) or output tokens a second (1200tok/s)"
        )
    if period is not None and per_month(period) is not None:
        per_second = reading.value * per_month(period) / per_month("s")
        if unit in ("", "req", "reqs", "request", "requests", "query", "queries", "q", "r"):
            return {"capacity_qps": per_second}
        if unit in ("tok", "toks", "token", "tokens", "t"):
            return {"capacity_tok_s": per_second}
    raise ValueProblem(f"unknown capacity unit in '{shown(text)}'; use qps (requests a second) or tok/s")


def params(text: str) -> dict[str, Any]:
    no_money(text, "is a number of parameters")
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([bm])?\s*(params|parameters)?\s*$", text, re.I)
    if not match:
        raise ValueProblem(f"'{shown(text)}' is not a model size; write e.g. 8B or 500M")
    value = float(match[1])
    return {"params_b": value / 1000 if (match[2] or "b").lower() == "m" else value}


def bits(text: str) -> dict[str, Any]:
    words = {"fp32": 32, "fp16": 16, "bf16": 16, "int8": 8, "fp8": 8, "int4": 4, "q4": 4, "q8": 8}
    value = words.get(text.strip().lower())
    if value is None:
        try:
            value = int(text.strip().lower().removesuffix("bit").removesuffix("-"))
        except ValueError:
            value = -1
    if value not in (4, 8, 16):
        raise ValueProblem(f"'{shown(text)}' is not 4, 8 or 16 bits (models are served at 16 bits or fewer)")
    return {"bits": value}


_TRUE = {"yes", "y", "true", "on", "1", "required", "strict", "sensitive"}
_FALSE = {"no", "n", "false", "off", "0", "none"}


def flag(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        word = text.strip().lower()
        if word in _TRUE:
            return {field: True}
        if word in _FALSE:
            return {field: False}
        raise ValueProblem(f"'{shown(text)}' is not yes or no")

    return parse


def uptime(text: str) -> dict[str, Any]:
    return {"ha": share("uptime")(text)["uptime"] >= 0.999}


def growth(text: str) -> dict[str, Any]:
    """'10%/month' -> 0.1; '3x/year' -> the monthly rate that triples volume in a year; '-5% a month' -> -0.05."""
    raw = text.strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    reading = read(raw.lstrip("+-"))
    if reading.money:
        raise ValueProblem(f"'{shown(text)}' has a money sign, but growth is a rate: give 10%/month or 3x/year")
    value = reading.value
    unit, period = split_rate(reading.rest)
    if unit in ("times", "fold"):
        unit = "x"
    if unit not in ("", "%", "x"):
        raise ValueProblem(f"unexpected '{shown(unit, 20)}'; give a rate like 10%/month or a factor like 3x/year")
    if period is None:
        if value == 0 and unit != "x":
            return {"growth": 0.0}
        raise ValueProblem(f"'{shown(text)}' needs a period: growth=10%/month or growth=3x/year")
    _check_period(period)
    months = per_month(period)
    if months is None:
        raise ValueProblem(f"unknown period '/{shown(period, 20)}'; use /month, /year, /week or /day")
    if unit == "x":
        if sign < 0 or value <= 0:
            raise ValueProblem(f"'{shown(text)}': a factor is above zero (3x/year triples; 0.5x/year halves)")
        multiple = value
    else:
        if unit == "" and value > 1:
            raise ValueProblem(f"'{shown(text)}' is ambiguous; write a percentage like {value:g}%/{period}")
        change = sign * (value / 100 if unit == "%" else value)
        if months == 1:
            return {"growth": change}
        multiple = 1 + change
        if multiple <= 0:
            raise ValueProblem(f"'{shown(text)}' would take volume to zero or below")
    return {"growth": multiple**months - 1}


def choice(field: str, options: dict[str, str]) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        word = text.strip().lower().replace("_", "-").replace(" ", "-")
        if word in options:
            return {field: options[word]}
        raise ValueProblem(f"'{shown(text)}' is not one of {', '.join(sorted(set(options.values())))}")

    return parse


MAX_NAME = 80  # characters of a name (a saved measurement, a use case): `save=` allows as many


def name(field: str) -> Reader:
    def parse(text: str) -> dict[str, Any]:
        value = text.strip().strip("`'\"")
        if not value:
            raise ValueProblem("give a name")
        if len(value) > MAX_NAME:
            raise ValueProblem(f"is {len(value):,} characters long: a name has at most {MAX_NAME}")
        return {field: value}

    return parse
