"""Forecasts from real spend: where the month ends, the day a budget runs out, and the month a
volume growing at its recent trend reaches a saved decision's break-even. Pure: spend rows in,
figures out, each with the figures it was computed from.

    month end    spent so far this month, plus each day left at the daily spend's trend: the least-
                 squares line through the last 28 days' spend (days with nothing recorded count as
                 $0 between the first and the last day spend is recorded), never below $0 a day. With
                 fewer than 14 days from the first recorded day to the last there is no trend, and the
                 month ends at this month's daily rate instead (spent / days recorded x days in the
                 month), which is also given for comparison.
    budget       the day the month's spend reached the budget, or the day the forecast reaches it,
                 or none this month.
    break-even   the volume of the decision's API model (requests, else tokens) in each of the last
                 8 whole weeks, its growth as the least-squares line through their logarithms
                 (a week's growth factor, compounded to a month: x^(365/12/7)), and the number of
                 months until the volume at that growth reaches the decision's break-even.

"Today" is the caller's: the last complete day is the day before it. Every window ends at the last
day spend is recorded (`last_recorded`), not at yesterday: spend imported from a file that ends two
weeks ago is two weeks of nothing recorded, not two weeks of $0, and the text names that day. The days
after it are forecast like the days to come.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from .format import count, money
from .spend import DAYS_PER_MONTH, SpendRow, without_double_counting

TREND_DAYS = 28  # the daily trend looks at four whole weeks: every weekday counted the same
MIN_TREND_DAYS = 14
GROWTH_WEEKS = 8
MIN_GROWTH_WEEKS = 3


# ---------------------------------------------------------------------------------------
# Which rows are a model's


@cache
def catalogue_ref(provider: str, model: str) -> str | None:
    """'provider:model_id' as the price catalogue names a spend row's model (a dated id such as
    gpt-4o-2024-08-06 is gpt-4o's), or None for a name it does not know."""
    from .prices import PriceError, _lookup

    for name in (f"{provider}:{model}" if provider else model, model):
        try:
            found_provider, found = _lookup(name)
        except PriceError:
            continue
        return f"{found_provider.id}:{found.id}"
    return None


def rows_of(rows: Iterable[SpendRow], ref: str | None) -> list[SpendRow]:
    """The rows of one catalogue model ('provider:model_id', or a name as typed in a budget); all rows
    for None. A row whose model the catalogue does not know matches only by its own name. With a
    provider ('openai:gpt-4o') only that provider's rows count: Azure's gpt-4o is another bill."""
    if ref is None:
        return list(rows)
    wanted = ref.lower()
    provider, name = wanted.split(":", 1) if ":" in wanted else ("", wanted)
    resolved = catalogue_ref(provider, name)
    out = []
    for row in rows:
        if provider and row.provider.lower() != provider:
            continue
        own = catalogue_ref(row.provider, row.model)
        if (own is not None and own == resolved) or row.model.lower() == name:
            out.append(row)
    return out


def lookback(through: dt.date) -> dt.date:
    """The first day of spend a forecast up to `through` reads: the month so far, and a trend and growth that
    end at the last day spend is recorded, which may be weeks before `through` when an import lags."""
    return min(through.replace(day=1), through - dt.timedelta(days=7 * GROWTH_WEEKS + TREND_DAYS))


def last_recorded(rows: Iterable[SpendRow], through: dt.date, of: Iterable[SpendRow] | None = None) -> dt.date | None:
    """The last day up to `through` that spend is recorded (None when none is). With `of` (a model's
    rows), the last day the sources that recorded them recorded anything: a model not used since
    Monday in a daily sync has its days since then at $0, while a file imported up to Monday ends there."""
    sources = None if of is None else {r.source for r in of}
    return max((r.day for r in rows if r.day <= through and (sources is None or r.source in sources)), default=None)


def daily_costs(rows: Iterable[SpendRow]) -> dict[dt.date, float]:
    totals: dict[dt.date, float] = {}
    for row in without_double_counting(list(rows)):
        totals[row.day] = totals.get(row.day, 0.0) + row.cost
    return totals


# ---------------------------------------------------------------------------------------
# The daily trend and the month's end


@dataclass(frozen=True)
class Trend:
    """The least-squares line through the daily spend of `first`..`last` (days with no row are $0)."""

    first: dt.date
    last: dt.date
    level: float  # the line's value on `last`: $ a day
    slope: float  # $ a day, each day

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def on(self, day: dt.date) -> float:
        """The line's spend on a day after `last`, never below $0."""
        return max(0.0, self.level + self.slope * (day - self.last).days)

    def words(self) -> str:
        way = "rising" if self.slope > 0 else "falling" if self.slope < 0 else "flat"
        change = "" if self.slope == 0 else f" {money(abs(self.slope))} a day"
        return (
            f"{money(self.level)} a day {way}{change} (the trend of the {self.days} days "
            f"{_day(self.first)} - {_day(self.last)})"
        )


def trend(daily: dict[dt.date, float], last: dt.date, days: int = TREND_DAYS) -> Trend | None:
    """The trend of the `days` days up to `last`, from the first day any spend is recorded; None with
    fewer than MIN_TREND_DAYS days of it."""
    recorded = [d for d in daily if d <= last]
    if not recorded:
        return None
    first = max(last - dt.timedelta(days=days - 1), min(recorded))
    n = (last - first).days + 1
    if n < MIN_TREND_DAYS:
        return None
    ys = [daily.get(first + dt.timedelta(days=i), 0.0) for i in range(n)]
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(ys)) / sum((i - mean_x) ** 2 for i in range(n))
    level = mean_y + slope * (n - 1 - mean_x)
    return Trend(first, last, level, slope)


@dataclass(frozen=True)
class MonthEnd:
    month_start: dt.date
    through: dt.date  # the last day counted: the last recorded (the day before month_start: none this month)
    days_in_month: int
    spent: float  # from month_start to through
    daily_rate: float  # this month's spend a day recorded (none recorded: the trend window's)
    run_rate_forecast: float  # spent + the days left at daily_rate
    trend: Trend | None
    forecast: float  # at the trend when there is one, else at the run rate
    complete: dt.date  # the last complete day (the day before today): spend after `through` is forecast
    recorded: dt.date | None  # the last day spend is recorded

    @property
    def days_elapsed(self) -> int:
        return (self.through - self.month_start).days + 1

    @property
    def days_left(self) -> int:
        return self.days_in_month - self.days_elapsed

    @property
    def month_last(self) -> dt.date:
        return self.month_start.replace(day=self.days_in_month)

    def projected(self, day: dt.date) -> float:
        """One day's forecast spend after `through`."""
        if self.trend is not None:
            return self.trend.on(day)
        return self.daily_rate

    def lag(self) -> str:
        """' Spend is recorded through Dec 5: ...' when the last recorded day is before yesterday."""
        if self.recorded is None or self.recorded >= self.complete:
            return ""
        return f" Spend is recorded through {_day(self.recorded)} only: the days since are forecast too."

    def sentence(self) -> str:
        if self.days_elapsed <= 0:
            rate = (
                self.trend.words()
                if self.trend is not None
                else f"the daily rate last recorded, {money(self.daily_rate)}"
            )
            return (
                f"Month-end forecast {money(self.forecast)}: nothing recorded in {self.month_start:%B} yet, so "
                f"{self.days_in_month} days at {rate}.{self.lag()}"
            )
        span = f"{self.month_start:%b} 1-{self.through.day}"
        if self.days_left == 0:
            return f"{self.month_start:%B} spend: {money(self.spent)} ({span})."
        if self.trend is None:
            return (
                f"Month-end forecast {money(self.forecast)}: {money(self.spent)} spent {span}, and "
                f"{self.days_left} more days at this month's daily rate of {money(self.daily_rate)} "
                f"(less than {MIN_TREND_DAYS} days of spend recorded: no trend yet).{self.lag()}"
            )
        return (
            f"Month-end forecast {money(self.forecast)}: {money(self.spent)} spent {span}, and {self.days_left} "
            f"more days at {self.trend.words()}; at this month's daily rate alone, "
            f"{money(self.run_rate_forecast)}.{self.lag()}"
        )


def month_end(daily: dict[dt.date, float], today: dt.date, recorded: dt.date | None = None) -> MonthEnd:
    """recorded: the last day spend is recorded (`last_recorded`); by default the last day in `daily`."""
    complete = today - dt.timedelta(days=1)
    start = complete.replace(day=1)
    days_in_month = calendar.monthrange(start.year, start.month)[1]
    if recorded is None:
        recorded = max((d for d in daily if d <= complete), default=None)
    recorded = None if recorded is None else min(recorded, complete)
    through = start - dt.timedelta(days=1) if recorded is None or recorded < start else recorded
    spent = sum(amount for day, amount in daily.items() if start <= day <= through)
    elapsed = (through - start).days + 1
    line = None if recorded is None else trend(daily, recorded)
    if elapsed > 0:
        rate = spent / elapsed
    elif recorded is not None:  # nothing this month yet: the rate of the days recorded before it
        first = max(recorded - dt.timedelta(days=TREND_DAYS - 1), min(daily))
        rate = sum(a for d, a in daily.items() if first <= d <= recorded) / ((recorded - first).days + 1)
    else:
        rate = 0.0
    left = days_in_month - elapsed
    run_rate = spent + rate * left
    forecast = run_rate
    if line is not None:
        forecast = spent + sum(line.on(through + dt.timedelta(days=k)) for k in range(1, left + 1))
    return MonthEnd(start, through, days_in_month, spent, rate, run_rate, line, forecast, complete, recorded)


# ---------------------------------------------------------------------------------------
# A budget


@dataclass(frozen=True)
class BudgetOutlook:
    budget: float
    month: MonthEnd
    ran_out: dt.date | None  # the day this month's spend reached the budget
    runs_out: dt.date | None  # the day the forecast reaches it (not reached yet)

    @property
    def share(self) -> float:
        return self.month.spent / self.budget if self.budget else math.inf

    @property
    def exceeds(self) -> bool:
        """The month's forecast is over the budget, once a day of the month is recorded (before that, the
        forecast is the last recorded days' trend carried into a month nothing is known of: shown, not alerted)."""
        return self.month.days_elapsed > 0 and self.month.forecast > self.budget

    def sentence(self) -> str:
        spent = f"{money(self.month.spent)} of {money(self.budget)} ({self.share:.0%})"
        if self.ran_out is not None:
            return f"{spent}: the budget ran out on {_day(self.ran_out)}."
        if self.runs_out is not None:
            return f"{spent}: at the forecast the budget runs out on {_day(self.runs_out)}."
        return f"{spent}: at the forecast ({money(self.month.forecast)}) the budget lasts the month."


def budget_outlook(
    daily: dict[dt.date, float], budget: float, today: dt.date, recorded: dt.date | None = None
) -> BudgetOutlook:
    month = month_end(daily, today, recorded)
    total = 0.0
    day = month.month_start
    while day <= month.through:
        total += daily.get(day, 0.0)
        if total >= budget:
            return BudgetOutlook(budget, month, day, None)
        day += dt.timedelta(days=1)
    while day <= month.month_last:
        total += month.projected(day)
        if total >= budget:
            return BudgetOutlook(budget, month, None, day)
        day += dt.timedelta(days=1)
    return BudgetOutlook(budget, month, None, None)


# ---------------------------------------------------------------------------------------
# The volume's growth, and when it reaches a break-even


@dataclass(frozen=True)
class Growth:
    """A model's volume in each of the last complete weeks, and the trend through them."""

    unit: str  # "requests" or "tokens"
    weeks: list[tuple[dt.date, float]]  # (the week's first day, its volume), oldest first
    monthly_volume: float  # the trend's value for the latest week, a month of it
    monthly_growth: float  # 0.08 = 8% a month

    def words(self) -> str:
        last = self.weeks[-1][0] + dt.timedelta(days=6)
        return (
            f"{count(self.monthly_volume)} {self.unit} a month, "
            f"{'growing' if self.monthly_growth >= 0 else 'shrinking'} {abs(self.monthly_growth):.1%} a month "
            f"(the trend of {len(self.weeks)} weeks to {_day(last)})"
        )


def growth(rows: Iterable[SpendRow], through: dt.date, weeks: int = GROWTH_WEEKS) -> Growth | None:
    """The trend of the weekly volume (requests where recorded, else tokens) over the last `weeks`
    whole weeks up to `through` (the last day spend is recorded: `last_recorded`); None with fewer than
    MIN_GROWTH_WEEKS weeks, or a week without any. A week that starts before the first recorded day is
    left out: counted, a model first used on a Friday would read as growing many times over."""
    rows = [r for r in without_double_counting(list(rows)) if r.day <= through]
    if not rows:
        return None
    unit = "requests" if any(r.requests for r in rows) else "tokens"
    began = min(r.day for r in rows)
    start = through - dt.timedelta(days=7 * weeks - 1)
    volumes: list[tuple[dt.date, float]] = []
    for w in range(weeks):
        first = start + dt.timedelta(days=7 * w)
        if first < began:
            continue
        last = first + dt.timedelta(days=6)
        total = sum(
            (r.requests if unit == "requests" else r.input_tokens + r.output_tokens)
            for r in rows
            if first <= r.day <= last
        )
        volumes.append((first, float(total)))
    if len(volumes) < MIN_GROWTH_WEEKS or any(v <= 0 for _, v in volumes):
        return None
    n = len(volumes)
    logs = [math.log(v) for _, v in volumes]
    mean_x, mean_y = (n - 1) / 2, sum(logs) / n
    slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(logs)) / sum((i - mean_x) ** 2 for i in range(n))
    latest = math.exp(mean_y + slope * (n - 1 - mean_x))
    per_month = DAYS_PER_MONTH / 7
    return Growth(unit, volumes, latest * per_month, math.exp(slope * per_month) - 1)


@dataclass(frozen=True)
class Crossing:
    """When the volume, at its trend, reaches a decision's break-even."""

    analysis_id: int
    growth: Growth
    breakeven: float | None  # in growth.unit a month; None: buying never breaks even
    months: float | None  # from the latest week's volume; 0: already there; None: not at this trend
    month: str | None  # YYYY-MM
    not_bought: str = ""  # past the break-even, the verdict still not BUY: its headline says why (the payback)

    def sentence(self) -> str:
        g = self.growth
        head = f"#{self.analysis_id}: {g.words()}"
        if self.breakeven is None:
            return f"{head}; buying never breaks even at these prices."
        be = f"break-even {count(self.breakeven)} {g.unit} a month"
        if self.months == 0 and self.not_bought:
            return f"{head}, past its {be}, but {self.not_bought}."
        if self.months == 0:
            return f"{head}, past its {be}: buying pays at today's volume."
        if self.month is None:
            return f"{head}; {be}: at this trend the volume does not reach it."
        return f"{head}; {be}: at this growth, buying pays from {self.month}."


def crossing(analysis_id: int, found: Growth, report: dict, through: dt.date) -> Crossing:
    """report: a saved analysis' report (as JSON), whose break-even volume is compared with the trend."""
    breakeven = _breakeven_ahead(report, found)
    volume = found.monthly_volume
    if breakeven is None:
        return Crossing(analysis_id, found, None, None, None)
    if volume >= breakeven:
        verdict = report.get("verdict")
        why = f"the verdict is {verdict}: {report['headline']}" if verdict != "BUY" and report.get("headline") else ""
        return Crossing(analysis_id, found, breakeven, 0.0, None, why)
    if found.monthly_growth <= 0:
        return Crossing(analysis_id, found, breakeven, None, None)
    months = math.log(breakeven / volume) / math.log(1 + found.monthly_growth)
    if months > 120:  # ten years: not a forecast any more
        return Crossing(analysis_id, found, breakeven, None, None)
    day = through + dt.timedelta(days=months * DAYS_PER_MONTH)
    return Crossing(analysis_id, found, breakeven, months, f"{day.year}-{day.month:02d}")


def _breakeven_ahead(report: dict, found: Growth) -> float | None:
    """The decision's break-even in the unit the volume is measured in: the first volume above the
    latest one where buying starts paying (the self-hosted bill is a staircase), else its break-even."""
    requests = report.get("requests_per_month") or 0.0
    per_request = report.get("tokens_per_month", 0.0) / requests if requests else 0.0
    scale = 1.0 if found.unit == "requests" else per_request
    if found.unit == "tokens" and not scale:
        return None
    starts = sorted(
        c["requests_per_month"] * scale
        for c in report.get("crossings") or []
        if c.get("direction") == "buy_starts_paying"
    )
    ahead = [c for c in starts if c > found.monthly_volume]
    if ahead:
        return ahead[0]
    first = report.get("breakeven_requests_per_month")
    return None if first is None else first * scale


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}"
