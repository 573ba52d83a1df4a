"""Real spend: rows of (day, provider, model, cost, tokens, requests), parsed from text and CSV,
and the weekly summary's arithmetic. Pure: no database, no network.

CSV formats accepted (the header row decides; header names are case-insensitive, extra columns
are ignored, a UTF-8 byte-order mark is fine):

* generic: `day,provider,model,cost[,input_tokens,output_tokens,requests]`. `date` may stand for
  `day` (YYYY-MM-DD); `cost` in US dollars, written `1200.50`, `$1,200.50` or `1.2k`; the last
  three columns are optional whole numbers (`2.5M` is fine). Rows with the same day, provider
  and model add up.
* OpenAI's costs (Usage, Cost, Export; the organization costs API's fields, flattened):
  `start_time,amount_value,line_item[,end_time,amount_currency,project_id,...]`, one row per day
  and line item. `start_time` is Unix seconds (or `start_time_iso`, an ISO date or time, instead);
  `amount_currency` must be `usd` when present; the model is the line item's first part
  (`gpt-4o-2024-08-06, input` -> `gpt-4o-2024-08-06`), and a model's line items add up.

A bad row rejects the whole file: SpendCsvError names its line and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from . import units
from .grammar import GrammarError, number, pairs

DAYS_PER_MONTH = 365 / 12


class SpendRow(BaseModel):
    day: dt.date
    provider: str = Field(min_length=1)
    model: str = Field(min_length=1)
    cost: float = Field(ge=0)
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    requests: int = Field(default=0, ge=0)
    source: str = "manual"


SPEND_EXAMPLE = "spend add $1,200 openai gpt-4o 2026-11-20 in=30M out=6M requests=40k"
SPEND_KEYS = {"in": "input tokens", "out": "output tokens", "tokens": "input tokens", "requests": "requests"}


def parse_spend_add(text: str, *, today: dt.date | None = None) -> SpendRow:
    """`$1,200 openai gpt-4o [2026-11-20] [in=30M out=6M | tokens=36M] [requests=40k]`.

    The day defaults to today. `tokens=` alone counts as input tokens. GrammarError names the
    part that was wrong (amount, day, or the key) and shows an example that works.
    """
    text = re.sub(r"\s*=\s*", "=", text.strip())
    words = text.split()
    positional = [w for w in words if "=" not in w]
    options = " ".join(w for w in words if "=" in w)
    if len(positional) not in (3, 4):
        raise GrammarError(
            None,
            "give the amount, the provider, the model and optionally the day (YYYY-MM-DD)"
            + (f"; got {len(positional)} words: '{' '.join(positional)}'" if positional else ""),
            SPEND_EXAMPLE,
        )
    try:
        reading = units.money_reading(positional[0])
        cost, rest = reading.value, reading.rest
    except ValueError as exc:
        raise GrammarError("amount", str(exc), SPEND_EXAMPLE) from None
    if rest:
        raise GrammarError("amount", f"'{positional[0]}' is not an amount in dollars", SPEND_EXAMPLE)
    today = today or dt.date.today()
    day = today
    if len(positional) == 4:
        try:
            day = dt.date.fromisoformat(positional[3])
        except ValueError:
            raise GrammarError("day", f"'{positional[3]}' is not a date like 2026-11-20", SPEND_EXAMPLE) from None
        if day > today + dt.timedelta(days=1):
            raise GrammarError("day", f"{day} is in the future: record spend once it happened", SPEND_EXAMPLE)
    values = dict.fromkeys(SPEND_KEYS, 0.0)
    for key, raw in pairs(options):
        if key not in values:
            raise GrammarError(key, "unknown; use in=, out=, tokens= or requests=", SPEND_EXAMPLE)
        try:  # the same rule as the analysis grammar: a count takes no money sign
            reading = units.no_money(raw, f"counts {SPEND_KEYS[key]}")
            values[key], unit = reading.value, reading.rest
        except ValueError as exc:
            raise GrammarError(key, str(exc), SPEND_EXAMPLE) from None
        if unit and unit.lower() not in ("tokens", "tok", "requests", "req"):
            raise GrammarError(key, f"unexpected '{unit}' after the number", SPEND_EXAMPLE)
    if values["tokens"] and (values["in"] or values["out"]):
        raise GrammarError("tokens", "give either tokens= or in= and out=, not both", SPEND_EXAMPLE)
    for key in ("in", "out", "tokens", "requests"):
        if values[key] != int(values[key]):
            raise GrammarError(key, f"{values[key]:g} is not a whole number of {SPEND_KEYS[key]}", SPEND_EXAMPLE)
    return SpendRow(
        day=day,
        provider=positional[1].lower(),
        model=positional[2],
        cost=cost,
        input_tokens=round(values["in"] or values["tokens"]),
        output_tokens=round(values["out"]),
        requests=round(values["requests"]),
    )


class SpendCsvError(ValueError):
    def __init__(self, line: int, column: str | None, problem: str):
        self.line, self.column, self.problem = line, column, problem
        where = f"line {line}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}. Nothing was imported.")


GENERIC = ("day", "provider", "model", "cost")
OPENAI = ("amount_value", "line_item")


def parse_csv(text: str, *, source: str = "csv") -> list[SpendRow]:
    """Every row of the file, or SpendCsvError naming the first bad line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise SpendCsvError(1, None, f"not a CSV file ({exc})") from None
    if "date" in header and "day" not in header:
        header = ["day" if h == "date" else h for h in header]
    reader.fieldnames = header
    if all(c in header for c in OPENAI) and ("start_time" in header or "start_time_iso" in header):
        convert, fmt = _openai_row, "openai"
    elif all(c in header for c in GENERIC):
        convert, fmt = _generic_row, "generic"
    else:
        raise SpendCsvError(
            1,
            None,
            "unknown header; expected day,provider,model,cost[,input_tokens,output_tokens,"
            "requests] or OpenAI's cost export (start_time,amount_value,line_item,...)",
        )
    rows = []
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if None in record:  # more cells than the header has columns
                raise SpendCsvError(line, None, f"{len(header) + len(record[None])} cells for {len(header)} columns")
            if not any((v or "").strip() for v in record.values()):
                continue
            rows.append(convert(line, record, f"{source}:{fmt}"))
    except csv.Error as exc:
        raise SpendCsvError(reader.line_num or line, None, f"unreadable CSV ({exc})") from None
    if not rows:
        raise SpendCsvError(1, None, "the file has a header but no rows")
    return _merge(rows)


def _cell(line: int, record: dict, column: str) -> str:
    value = (record.get(column) or "").strip()
    if not value:
        raise SpendCsvError(line, column, "is empty")
    return value


def _amount(line: int, record: dict, column: str, *, whole: bool = False, required: bool = True) -> float:
    raw = (record.get(column) or "").strip()
    if not raw and not required:
        return 0.0
    try:
        value, rest = number(_cell(line, record, column))
    except ValueError as exc:
        if raw.startswith("-"):
            raise SpendCsvError(line, column, f"'{raw}' is negative") from None
        value, rest = math.nan, str(exc)
    if rest or math.isnan(value):
        raise SpendCsvError(line, column, f"'{raw}' is not a number")
    if whole and value != int(value):
        raise SpendCsvError(line, column, f"'{raw}' is not a whole number")
    return value


def _generic_row(line: int, record: dict, source: str) -> SpendRow:
    try:
        day = dt.date.fromisoformat(_cell(line, record, "day"))
    except ValueError:
        raise SpendCsvError(line, "day", f"'{record.get('day')}' is not a date like 2026-11-20") from None
    return SpendRow(
        day=day,
        provider=_cell(line, record, "provider").lower(),
        model=_cell(line, record, "model"),
        cost=_amount(line, record, "cost"),
        input_tokens=int(_amount(line, record, "input_tokens", whole=True, required=False)),
        output_tokens=int(_amount(line, record, "output_tokens", whole=True, required=False)),
        requests=int(_amount(line, record, "requests", whole=True, required=False)),
        source=source,
    )


def _openai_day(line: int, record: dict) -> dt.date:
    if (record.get("start_time") or "").strip():
        stamp = _amount(line, record, "start_time", whole=True)
        return dt.datetime.fromtimestamp(stamp, dt.UTC).date()
    raw = _cell(line, record, "start_time_iso")
    try:
        stamp = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise SpendCsvError(line, "start_time_iso", f"'{raw}' is not a date or time") from None
    return (stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp).date()


def _openai_row(line: int, record: dict, source: str) -> SpendRow:
    day = _openai_day(line, record)
    currency = (record.get("amount_currency") or "usd").strip().lower()
    if currency != "usd":
        raise SpendCsvError(line, "amount_currency", f"'{currency}' is not usd")
    line_item = (record.get("line_item") or "").strip()
    return SpendRow(
        day=day,
        provider="openai",
        model=line_item.split(",")[0].strip() or "unattributed",
        cost=_amount(line, record, "amount_value"),
        source=source,
    )


def _merge(rows: list[SpendRow]) -> list[SpendRow]:
    """One row per day, provider, model and source (line items of one model add up)."""
    merged: dict[tuple, SpendRow] = {}
    for row in rows:
        key = (row.day, row.provider, row.model, row.source)
        if key in merged:
            old = merged[key]
            merged[key] = old.model_copy(
                update={
                    "cost": old.cost + row.cost,
                    "input_tokens": old.input_tokens + row.input_tokens,
                    "output_tokens": old.output_tokens + row.output_tokens,
                    "requests": old.requests + row.requests,
                }
            )
        else:
            merged[key] = row
    return list(merged.values())


# ---------------------------------------------------------------------------------------
# The weekly summary

API_SOURCE = "openai-api"  # rows fetched from the OpenAI costs API (bot.spend)
EXPORT_SOURCE = "csv:openai"  # rows imported from OpenAI's cost export: the same money


def report_week(now: dt.datetime) -> tuple[dt.date, dt.date, str]:
    """The last complete ISO week before now, in now's timezone: (monday, sunday, '2026-W47')."""
    this_monday = now.date() - dt.timedelta(days=now.date().weekday())
    monday = this_monday - dt.timedelta(days=7)
    year, week, _ = monday.isocalendar()
    return monday, monday + dt.timedelta(days=6), f"{year}-W{week:02d}"


def without_double_counting(rows: list[SpendRow]) -> list[SpendRow]:
    """OpenAI's cost export and its costs API report the same money: on a day the API covers, the
    export's rows are dropped. Manual entries and other files always count."""
    api_days = {r.day for r in rows if r.source == API_SOURCE}
    return [r for r in rows if not (r.source.endswith(EXPORT_SOURCE) and r.day in api_days)]


@dataclass
class Mover:
    provider: str
    model: str
    this_week: float
    last_week: float

    @property
    def change(self) -> float:
        return self.this_week - self.last_week


@dataclass
class Distance:
    """Where one saved analysis stands at the real volume of the week."""

    analysis_id: int
    verdict: str
    api_model: str | None
    breakeven_requests_per_month: float | None  # the nearest break-even volume (None: buying never pays)
    real_requests_per_month: float
    volume_estimated: bool  # no request counts recorded: the volume is spend / the analysis' $ a request
    api_monthly: float  # this volume at the analysis' API price
    selfhost_monthly: float  # this volume self-hosted, as the analysis costed it
    past_breakeven: bool  # self-hosting this volume costs less than the API
    crossed: bool  # changed side since the last summary

    @property
    def gap(self) -> float | None:
        """Requests a month to go (positive) or past (negative) the break-even."""
        if self.breakeven_requests_per_month is None:
            return None
        return self.breakeven_requests_per_month - self.real_requests_per_month


@dataclass
class WeeklySummary:
    week: str
    monday: dt.date
    sunday: dt.date
    total: float
    last_week_total: float
    movers: list[Mover]
    input_tokens: int
    output_tokens: int
    requests: int
    month_start: dt.date
    month_through: dt.date  # month to date counts the days up to this one: the last recorded (costcore/forecast.py)
    month_to_date: float
    month_end_forecast: float
    daily: dict[dt.date, dict[str, float]]  # day -> provider -> cost
    daily_requests: dict[dt.date, int]
    distances: list[Distance]
    selfhost_daily: dict[dt.date, float] | None = None  # each day's volume self-hosted (latest analysis)
    selfhost_basis: int | None = None  # the analysis id selfhost_daily comes from
    providers: list[str] = field(default_factory=list)

    @property
    def change(self) -> float:
        return self.total - self.last_week_total

    @property
    def change_pct(self) -> float | None:
        return None if self.last_week_total == 0 else self.change / self.last_week_total


def _nearest_breakeven(report: dict, requests: float, past: bool) -> float | None:
    """The break-even volume nearest on the way: the next one up when below it, the one passed when above.
    With capacity steps the self-hosted bill is a staircase and there may be several."""
    starts = sorted(
        c["requests_per_month"] for c in report.get("crossings") or [] if c.get("direction") == "buy_starts_paying"
    )
    if past:
        passed = [c for c in starts if c <= requests]
        return passed[-1] if passed else report.get("breakeven_requests_per_month")
    ahead = [c for c in starts if c > requests]
    return ahead[0] if ahead else report.get("breakeven_requests_per_month")


def summarise(
    rows: list[SpendRow],
    now: dt.datetime,
    analyses: list[dict] | None = None,
    previous_sides: dict[int, bool] | None = None,
) -> WeeklySummary:
    """The figures of the last complete week before now (in the channel's timezone).

    analyses: [{"id", "report"}] saved in the channel, reports as JSON dicts; previous_sides:
    {analysis id: past break-even?} as of the last summary, for the crossing alerts.
    """
    from .scenario import CostModel

    rows = without_double_counting(rows)
    monday, sunday, week = report_week(now)
    last_monday = monday - dt.timedelta(days=7)
    this: dict[tuple[str, str], float] = defaultdict(float)
    last: dict[tuple[str, str], float] = defaultdict(float)
    daily: dict[dt.date, dict[str, float]] = {monday + dt.timedelta(days=i): defaultdict(float) for i in range(7)}
    daily_requests = dict.fromkeys(daily, 0)
    tokens_in = tokens_out = requests = 0
    for row in rows:
        key = (row.provider, row.model)
        if monday <= row.day <= sunday:
            this[key] += row.cost
            daily[row.day][row.provider] += row.cost
            daily_requests[row.day] += row.requests
            tokens_in += row.input_tokens
            tokens_out += row.output_tokens
            requests += row.requests
        elif last_monday <= row.day < monday:
            last[key] += row.cost
    from .forecast import daily_costs, month_end

    # The month to date ends at the last day spend is recorded, as the forecasts' does: one figure.
    month = month_end(daily_costs(rows), now.date())
    movers = [Mover(p, m, this.get((p, m), 0.0), last.get((p, m), 0.0)) for p, m in set(this) | set(last)]
    movers = [m for m in movers if m.change != 0]
    movers.sort(key=lambda mv: (-abs(mv.change), mv.provider, mv.model))
    total = sum(this.values())

    distances = []
    selfhost_daily = selfhost_basis = None
    for analysis in sorted(analyses or [], key=lambda a: a["id"]):
        report = analysis["report"]
        model = CostModel.model_validate(report["cost_model"])
        estimated = requests == 0 and total > 0 and model.api_cost_per_request > 0
        per_request = model.api_cost_per_request if estimated else None
        real = (total / per_request if per_request else requests) * DAYS_PER_MONTH / 7
        past = model.selfhost_monthly(real) < model.api_monthly(real)
        before = (previous_sides or {}).get(analysis["id"])
        distances.append(
            Distance(
                analysis_id=analysis["id"],
                verdict=str(report.get("verdict", "")),
                api_model=(report.get("api_price") or {}).get("model"),
                breakeven_requests_per_month=_nearest_breakeven(report, real, past),
                real_requests_per_month=real,
                volume_estimated=estimated,
                api_monthly=model.api_monthly(real),
                selfhost_monthly=model.selfhost_monthly(real),
                past_breakeven=past,
                crossed=before is not None and before != past,
            )
        )
        # The chart's self-hosted line: each day's volume, a month of it costed by the latest
        # analysis, divided back to a day (so the fixed server cost is spread evenly).
        selfhost_basis = analysis["id"]
        selfhost_daily = {
            day: model.selfhost_monthly(
                (sum(daily[day].values()) / per_request if per_request else daily_requests[day]) * DAYS_PER_MONTH
            )
            / DAYS_PER_MONTH
            for day in daily
        }
    return WeeklySummary(
        week=week,
        monday=monday,
        sunday=sunday,
        total=total,
        last_week_total=sum(last.values()),
        movers=movers[:5],
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        requests=requests,
        month_start=month.month_start,
        month_through=month.through,
        month_to_date=month.spent,
        month_end_forecast=month.run_rate_forecast,
        daily={d: dict(v) for d, v in daily.items()},
        daily_requests=daily_requests,
        distances=distances,
        selfhost_daily=selfhost_daily,
        selfhost_basis=selfhost_basis,
        providers=sorted({p for costs in daily.values() for p in costs}),
    )
