"""Bounds on every number that reaches the bot, on top of the grammar's own checks.

Every number goes through the grammar's parsers first (costcore.grammar.parse, parse_audit,
costcore.spend.parse_spend_add, parse_csv); what they do not bound yet is bounded here, so that a
number too large to compute with is a clear error naming its field, and nothing is stored:
finite, not negative, at most a sane maximum, and whole where only whole numbers make sense.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from costcore.grammar import EXAMPLE, KEYS, GrammarError, key_for_field, number, pairs
from costcore.scenario import Scenario
from costcore.spend import SPEND_EXAMPLE, SpendCsvError, SpendRow, parse_csv, parse_spend_add

MAX_SCENARIO_VALUE = 1e15  # requests or tokens a month, dollars, hours: beyond any real project
MAX_COST = 1e9  # dollars of spend on one model on one day
MAX_COUNT = 1e15  # tokens or requests on one model on one day
AUDIT_MAX = {"hours": 100_000.0, "rate": 100_000.0, "runs": 10_000.0, "train": 1e8, "params_b": 10_000.0}
MAX_NAME = 100  # characters of a provider's or a model's name (the longest fine-tuned model ids are ~70)


def check_length(key: str, text: str, limit: int, example: str) -> None:
    """GrammarError naming `key` when text is longer than `limit`: checked before any parser or
    library sees it (a time-zone lookup of 3,000 characters fails in the file system)."""
    if len(text) > limit:
        raise GrammarError(key, f"is {len(text):,} characters long: at most {limit}", example)


def _too_large(value: float, limit: float) -> str | None:
    if not math.isfinite(value) or value > limit:
        return f"is too large: at most {limit:,.0f}"
    return None


def _shown(value: float) -> str:
    return f"'{value:g}' " if math.isfinite(value) else ""


def checked_scenario(scenario: Scenario) -> Scenario:
    """GrammarError naming the key of any figure the cost model cannot compute with."""
    for field, value in scenario.model_dump(exclude_none=True).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        problem = _too_large(abs(value), MAX_SCENARIO_VALUE)
        if problem:
            key = key_for_field(field)
            raise GrammarError(key, f"{_shown(value)}{problem}", KEYS[key].example if key in KEYS else EXAMPLE)
    return scenario


def spend_add(text: str, *, today: dt.date | None = None) -> SpendRow:
    """`/breakeven spend add ...`: the grammar's row, with amounts and counts bounded and whole."""
    words = re.sub(r"\s*=\s*", "=", text.strip()).split()
    positional = [w for w in words if "=" not in w]
    for name, word in zip(("amount", "provider", "model", "day"), positional, strict=False):
        check_length(name, word, MAX_NAME, SPEND_EXAMPLE)
    for word in (w for w in words if "=" in w):  # in=30M, requests=40k: a number and a unit at most
        check_length(word.partition("=")[0][:20], word, 40, SPEND_EXAMPLE)
    amount = next((w for w in words if "=" not in w), "")
    if re.match(r"^\$?\s*-|^-", amount):
        raise GrammarError(
            "amount",
            f"'{amount}' is negative: spend is zero or more (correct a day by recording it again)",
            SPEND_EXAMPLE,
        )
    for key, raw in pairs(" ".join(w for w in words if "=" in w)):
        try:
            value, _unit = number(raw)
        except ValueError:
            continue  # the grammar says what is wrong with it
        problem = _too_large(value, MAX_COUNT)
        if problem:
            raise GrammarError(key, f"'{raw}' {problem}", SPEND_EXAMPLE)
        if value != int(value):
            what = "requests" if key == "requests" else "tokens"
            raise GrammarError(key, f"'{raw}' is not a whole number of {what}", SPEND_EXAMPLE)
    row = parse_spend_add(text, today=today)
    problem = _too_large(row.cost, MAX_COST)
    if problem:
        raise GrammarError("amount", f"'{amount}' {problem} dollars", SPEND_EXAMPLE)
    return row


def spend_csv(text: str, *, source: str = "csv") -> list[SpendRow]:
    """parse_csv, with every amount and count bounded: SpendCsvError names the line."""
    try:
        rows = parse_csv(text, source=source)
    except OverflowError:
        raise SpendCsvError(_line_of_huge_number(text), None, "a number is too large (infinite)") from None
    for row in rows:
        for column, name in (("provider", row.provider), ("model", row.model)):
            if len(name) > MAX_NAME:
                raise SpendCsvError(
                    _line_of(text, name), column, f"is {len(name):,} characters long: at most {MAX_NAME}"
                )
        for column, value, limit in (
            ("cost", row.cost, MAX_COST),
            ("input_tokens", row.input_tokens, MAX_COUNT),
            ("output_tokens", row.output_tokens, MAX_COUNT),
            ("requests", row.requests, MAX_COUNT),
        ):
            problem = _too_large(value, limit)
            if problem:
                line = _line_of_huge_number(text)
                raise SpendCsvError(line, column, f"{row.day} {row.provider} {row.model}: {value:g} {problem}")
    return rows


def _line_of(text: str, value: str) -> int:
    """The first line holding value (for the message)."""
    return next((n for n, line in enumerate(text.splitlines(), start=1) if value in line), 1)


def _line_of_huge_number(text: str) -> int:
    """The first line holding a number Python reads as infinite or beyond the bounds (for the message)."""
    for number_line, line in enumerate(text.splitlines(), start=1):
        for word in re.findall(r"[\d.,]+(?:e[+-]?\d+)?", line, re.IGNORECASE):
            try:
                value = float(word.replace(",", ""))
            except ValueError:
                continue
            if not math.isfinite(value) or value > MAX_COST:
                return number_line
    return 1


def checked_audit(answers) -> None:
    """GrammarError naming the audit line whose figure is beyond reason (hours, rate, runs, ...)."""
    for key, hours in answers.hours.items():
        problem = _too_large(hours, AUDIT_MAX["hours"])
        if problem:
            raise GrammarError(key, f"{_shown(hours)}{problem} hours")
    for key in ("rate", "runs", "train", "params_b"):
        value = float(getattr(answers, key))
        problem = _too_large(value, AUDIT_MAX[key])
        if problem:
            raise GrammarError({"params_b": "params"}.get(key, key), f"{_shown(value)}{problem}")
