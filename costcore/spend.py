"""Real spend: rows of (day, provider, model, cost, tokens, requests), parsed from text and CSV,
and the weekly summary's arithmetic. Pure: no database, no network.

CSV formats accepted (the header row decides):

* generic: `day,provider,model,cost,input_tokens,output_tokens,requests` (`date` for `day`;
  the last three columns optional; `cost` may be written `$1,200.50`).
* OpenAI's cost export (Usage, Export, Cost data, grouped by line item, 1-day interval):
  `start_time,end_time,amount_value,amount_currency,line_item,project_id,...`; the model is the
  line item's first part (`gpt-4o-2024-08-06, input` -> `gpt-4o-2024-08-06`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel, Field

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


def parse_spend_add(text: str, *, today: dt.date | None = None) -> SpendRow:
    """`$1,200 openai gpt-4o 2026-11-20 [tokens=...|in=... out=...] [requests=...]`."""
    words = text.split()
    positional = [w for w in words if "=" not in w]
    options = " ".join(w for w in words if "=" in w)
    if len(positional) not in (3, 4):
        raise GrammarError(None, "give the amount, the provider, the model and optionally the day", SPEND_EXAMPLE)
    try:
        cost, rest = number(positional[0])
    except ValueError as exc:
        raise GrammarError("amount", str(exc), SPEND_EXAMPLE) from None
    if rest:
        raise GrammarError("amount", f"'{positional[0]}' is not an amount in dollars", SPEND_EXAMPLE)
    day = today or dt.date.today()
    if len(positional) == 4:
        try:
            day = dt.date.fromisoformat(positional[3])
        except ValueError:
            raise GrammarError("day", f"'{positional[3]}' is not a date like 2026-11-20", SPEND_EXAMPLE) from None
    values = {"in": 0.0, "out": 0.0, "tokens": 0.0, "requests": 0.0}
    for key, raw in pairs(options):
        if key not in values:
            raise GrammarError(key, "unknown; use in=, out=, tokens= or requests=", SPEND_EXAMPLE)
        try:
            values[key], unit = number(raw)
        except ValueError as exc:
            raise GrammarError(key, str(exc), SPEND_EXAMPLE) from None
        if unit and unit.lower() not in ("tokens", "tok", "requests", "req"):
            raise GrammarError(key, f"unexpected '{unit}'", SPEND_EXAMPLE)
    input_tokens = values["in"] or values["tokens"]
    return SpendRow(
        day=day,
        provider=positional[1].lower(),
        model=positional[2],
        cost=cost,
        input_tokens=int(input_tokens),
        output_tokens=int(values["out"]),
        requests=int(values["requests"]),
    )


class SpendCsvError(ValueError):
    def __init__(self, line: int, column: str | None, problem: str):
        self.line, self.column, self.problem = line, column, problem
        where = f"line {line}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}. Nothing was imported.")


GENERIC = ("day", "provider", "model", "cost")
OPENAI = ("start_time", "amount_value", "line_item")


def parse_csv(text: str, *, source: str = "csv") -> list[SpendRow]:
    """Every row of the file, or SpendCsvError naming the first bad line and column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    if "date" in header and "day" not in header:
        reader.fieldnames = ["day" if h == "date" else h for h in header]
        header = reader.fieldnames
    if all(c in header for c in OPENAI):
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
    for line, record in enumerate(reader, start=2):
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        rows.append(convert(line, record, f"{source}:{fmt}"))
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
    except ValueError:
        value, rest = math.nan, raw
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


def _openai_row(line: int, record: dict, source: str) -> SpendRow:
    stamp = _amount(line, record, "start_time", whole=True)
    currency = (record.get("amount_currency") or "usd").strip().lower()
    if currency != "usd":
        raise SpendCsvError(line, "amount_currency", f"'{currency}' is not usd")
    line_item = _cell(line, record, "line_item")
    return SpendRow(
        day=dt.datetime.fromtimestamp(stamp, dt.UTC).date(),
        provider="openai",
        model=line_item.split(",")[0].strip(),
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


def report_week(now: dt.datetime) -> tuple[dt.date, dt.date, str]:
    """The last complete ISO week before now: (monday, sunday, '2026-W47')."""
    this_monday = now.date() - dt.timedelta(days=now.date().weekday())
    monday = this_monday - dt.timedelta(days=7)
    year, week, _ = monday.isocalendar()
    return monday, monday + dt.timedelta(days=6), f"{year}-W{week:02d}"


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
    analysis_id: int
    verdict: str
    breakeven_requests_per_month: float | None
    real_requests_per_month: float
    real_api_monthly: float
    selfhost_monthly: float
    past_breakeven: bool
    crossed: bool  # changed side since the last summary


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
    month_to_date: float
    month_end_forecast: float
    daily: dict[dt.date, dict[str, float]]  # day -> provider -> cost
    daily_requests: dict[dt.date, int]
    distances: list[Distance]

    @property
    def change(self) -> float:
        return self.total - self.last_week_total

    @property
    def change_pct(self) -> float | None:
        return None if self.last_week_total == 0 else self.change / self.last_week_total


def summarise(
    rows: list[SpendRow],
    now: dt.datetime,
    analyses: list[dict] | None = None,
    previous_sides: dict[int, bool] | None = None,
) -> WeeklySummary:
    """The week's figures. analyses: [{"id", "report"}] saved in the channel (report as JSON dicts)."""
    from .scenario import CostModel

    monday, sunday, week = report_week(now)
    last_monday = monday - dt.timedelta(days=7)
    this, last = defaultdict(float), defaultdict(float)
    daily: dict[dt.date, dict[str, float]] = {monday + dt.timedelta(days=i): defaultdict(float) for i in range(7)}
    daily_requests = {day: 0 for day in daily}
    tokens_in = tokens_out = requests = 0
    today = now.date()
    month_start = today.replace(day=1)
    mtd = 0.0
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
        if month_start <= row.day < today:
            mtd += row.cost
    days_elapsed = (today - month_start).days
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    days_in_month = (next_month - month_start).days
    forecast = mtd / days_elapsed * days_in_month if days_elapsed else 0.0
    movers = [Mover(p, m, this.get((p, m), 0.0), last.get((p, m), 0.0)) for p, m in set(this) | set(last)]
    movers.sort(key=lambda mv: (-abs(mv.change), mv.provider, mv.model))

    distances = []
    real_monthly_requests = requests * DAYS_PER_MONTH / 7
    real_api_monthly = sum(this.values()) * DAYS_PER_MONTH / 7
    for analysis in analyses or []:
        report = analysis["report"]
        model = CostModel.model_validate(report["cost_model"])
        be = report.get("breakeven_requests_per_month")
        past = be is not None and real_monthly_requests >= be
        before = (previous_sides or {}).get(analysis["id"])
        distances.append(
            Distance(
                analysis_id=analysis["id"],
                verdict=report["verdict"],
                breakeven_requests_per_month=be,
                real_requests_per_month=real_monthly_requests,
                real_api_monthly=real_api_monthly,
                selfhost_monthly=model.selfhost_monthly(real_monthly_requests),
                past_breakeven=past,
                crossed=before is not None and before != past,
            )
        )
    return WeeklySummary(
        week=week,
        monday=monday,
        sunday=sunday,
        total=sum(this.values()),
        last_week_total=sum(last.values()),
        movers=movers[:5],
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        requests=requests,
        month_to_date=mtd,
        month_end_forecast=forecast,
        daily={d: dict(v) for d, v in daily.items()},
        daily_requests=daily_requests,
        distances=distances,
    )
