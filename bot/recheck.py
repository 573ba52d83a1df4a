"""Re-evaluation of saved decisions: every analysis a channel saw (not its what-ifs), re-run with
today's prices (the catalogue and your price sheet) and, where spend is recorded for its API model,
the volume and token mix measured from that spend instead of the typed-in guess.

    recheck()   re-runs them; an evaluation that differs from the decision's latest is stored as a new
                version (table decision_versions, linked to the analysis; the analysis is version 0)
    decisions_section()   the weekly summary's "Decisions": the ones whose verdict changed, or whose
                savings moved by more than RECHECK_THRESHOLD, since the evaluation the channel's last
                summary reported, each with before → after and the input that moved it most; the
                others in one count line. Once posted, `mark_reported` notes the summary's week on
                the versions it listed as changed, so a change is reported once, and the next summary
                compares with the version last shown (not the last re-checked: a slow erosion adds up).
    history_lines()   `/breakeven show ID`: every version of a decision

A version is written inside one write transaction after reading the latest, so two processes re-checking
at once (the scheduler and `breakeven recheck`) write one version, never two of the same evaluation.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import weakref
from dataclasses import dataclass, field, replace

from costcore import GrammarError, PriceError, Scenario, analyze
from costcore.drift import Change, Measured, compare, measured, reasons, remeasured
from costcore.forecast import TREND_DAYS
from costcore.format import count, money

from .db import prepare, transaction
from .spend import database as spend_database
from .spend import load_spend

log = logging.getLogger("breakeven.recheck")
SHOWN_ERRORS = 3
SHOWN_CHANGES = 10  # decisions listed in the weekly section at most; the rest are counted
# What a version keeps of a report: what the comparison, the history and the forecasts read (a whole
# report is about 11 KB; this, about 2).
KEEP = (
    "verdict",
    "headline",
    "baseline",
    "requests_per_month",
    "tokens_per_month",
    "api_monthly_cost",
    "selfhost_monthly_cost",
    "baseline_monthly_cost",
    "monthly_savings",
    "one_time_cost",
    "breakeven_requests_per_month",
    "breakeven_tokens_per_month",
    "payback_months",
    "crossings",
    "cost_model",
    "api_price",
    "standing",
)

_ready: weakref.WeakSet = weakref.WeakSet()


def database(source):
    """The Database (from a Store, a callable or a Database) with the bot's tables in place."""
    from .store import migrations

    db = spend_database(source)
    if db not in _ready:
        prepare(db, migrations)
        _ready.add(db)
    return db


def compact(report: dict) -> dict:
    kept = {key: report.get(key) for key in KEEP}
    kept["why"] = reasons(report)
    return kept


@dataclass
class Evaluation:
    """One evaluation of a decision: the analysis as saved (version 0), or a re-check."""

    analysis_id: int
    channel: str
    version: int
    created: str
    trigger: str
    report: dict  # compact (the analysis' own report for version 0)
    basis: str = ""  # what the volume came from
    summary_week: str | None = None

    @property
    def verdict(self) -> str:
        return self.report["verdict"]


@dataclass
class Outcome:
    """One decision after a re-check: the evaluation before it and the one now (the same when nothing moved)."""

    analysis_id: int
    channel: str
    text: str  # the line the analysis was asked with
    before: Evaluation
    now: Evaluation | None  # None when it could not be re-run (error says why)
    error: str = ""
    new_version: bool = False
    change: Change | None = None
    measured: Measured | None = field(default=None, repr=False)
    analysis: dict = field(default_factory=dict, repr=False)


def _original(row: dict) -> Evaluation:
    return Evaluation(row["id"], row["channel"], 0, row["created"], "as analysed", json.loads(row["report"]))


def _version(row: dict) -> Evaluation:
    return Evaluation(
        row["analysis_id"],
        row["channel"],
        row["version"],
        row["created"],
        row["trigger"] or "",
        json.loads(row["report"]),
        row["basis"] or "",
        row["summary_week"],
    )


def decisions(db, team: str, channel: str | None = None) -> list[dict]:
    """The analyses a channel saw (every channel of the team with None), what-ifs and follow-ups left out."""
    db = database(db)
    sql = "SELECT * FROM analyses WHERE team = ? AND message_ts IS NOT NULL AND parent_id IS NULL"
    params: list = [team]
    if channel is not None:
        sql += " AND channel = ?"
        params.append(channel)
    return list(db.query(sql + " ORDER BY id", params))


def versions(db, analysis: dict) -> list[Evaluation]:
    """The decision's evaluations, the analysis as saved first."""
    rows = database(db).query(
        "SELECT * FROM decision_versions WHERE analysis_id = ? ORDER BY version", [analysis["id"]]
    )
    return [_original(analysis), *(_version(r) for r in rows)]


def latest(db, analysis: dict) -> Evaluation:
    rows = list(
        database(db).query(
            "SELECT * FROM decision_versions WHERE analysis_id = ? ORDER BY version DESC LIMIT 1", [analysis["id"]]
        )
    )
    return _version(rows[0]) if rows else _original(analysis)


def last_reported(db, analysis: dict) -> Evaluation:
    """The evaluation the channel's summaries last reported (the analysis as saved when none did)."""
    rows = list(
        database(db).query(
            "SELECT * FROM decision_versions WHERE analysis_id = ? AND summary_week IS NOT NULL "
            "ORDER BY version DESC LIMIT 1",
            [analysis["id"]],
        )
    )
    return _version(rows[0]) if rows else _original(analysis)


def _same(a: dict, b: dict) -> bool:
    """Two evaluations that say the same: the verdict, the savings and the cost model's inputs."""
    keys = ("verdict", "monthly_savings", "requests_per_month", "one_time_cost", "cost_model", "api_price")
    return all(json.dumps(a.get(k), sort_keys=True) == json.dumps(b.get(k), sort_keys=True) for k in keys)


def api_ref(analysis: dict) -> str | None:
    """'provider:model' of the catalogue model a saved analysis rents (None: an API priced by hand, or none)."""
    quote = json.loads(analysis["report"]).get("api_price") or {}
    if quote.get("custom") or not quote.get("provider"):
        return None
    return f"{quote['provider']}:{quote['model']}".lower()


def sharing(analyses: list[dict]) -> dict[int, list[int]]:
    """{analysis id: the other decisions of the team on the same API model}. Spend is recorded per team
    and model, not per channel: when several decisions rent one model, nothing says which requests are
    whose, so none of them takes the team's whole volume as its own."""
    by_ref: dict[str, list[int]] = {}
    for analysis in analyses:
        ref = api_ref(analysis)
        if ref is not None:
            by_ref.setdefault(ref, []).append(analysis["id"])
    return {i: [o for o in ids if o != i] for ids in by_ref.values() for i in ids}


def evaluate(
    analysis: dict, rows, sheet, now: dt.datetime, shared_with: list[int] | None = None
) -> tuple[dict, dict, str, Measured | None]:
    """Re-run one analysis: (report as JSON, the scenario run, what the volume came from, the measurement).
    shared_with: the team's other decisions on the same API model (then the typed volume is kept).
    GrammarError or PriceError when today's figures cannot be computed with."""
    scenario = Scenario.model_validate(json.loads(analysis["scenario"]))
    saved = json.loads(analysis["report"])
    quote = saved.get("api_price") or {}
    found = None
    ref = api_ref(analysis)
    if ref is None:
        basis = "the volume as typed (the API is priced by you, so no model's spend can be measured)"
        if saved.get("baseline") == "manual" and not quote:
            basis = "the volume as typed (weighed against work by hand)"
    elif shared_with:
        others = ", ".join(f"#{i}" for i in shared_with)
        basis = (
            f"the volume as typed: the team's {ref} spend is shared with {others} (spend is recorded per team "
            "and model, not per decision)"
        )
    else:
        through = now.date() - dt.timedelta(days=1)
        found = measured(rows, ref, through)
        if found is not None:
            scenario = remeasured(scenario, found)
            basis = f"measured: {found.words()}"
        else:
            basis = f"the volume as typed (no week of spend with request or token counts for {ref} in the last 28 days)"
    report = analyze(scenario, now=now, sheet=sheet).model_dump(mode="json")
    return report, scenario.model_dump(mode="json", exclude_none=True), basis, found


def recheck(
    db,
    team: str,
    channel: str | None = None,
    *,
    sheet=None,
    now: dt.datetime | None = None,
    trigger: str = "re-check",
    threshold: float = 0.2,
    store: bool = True,
) -> list[Outcome]:
    """Re-run the team's decisions (one channel's with channel); each differing evaluation is a new version
    (store=False: computed, nothing written: a dry run)."""
    db = database(db)
    now = now or dt.datetime.now(dt.UTC)
    since = now.date() - dt.timedelta(days=2 * TREND_DAYS + 1)  # an import that ends up to 28 days ago is measured
    rows = load_spend(db, team, since)
    outcomes = []
    shared = sharing(decisions(db, team))  # the whole team's: a decision in another channel shares the spend too
    for analysis in decisions(db, team, channel):
        before = latest(db, analysis)
        text = analysis["text"] or ""
        try:
            report, scenario, basis, found = evaluate(analysis, rows, sheet, now, shared.get(analysis["id"]))
        except (GrammarError, PriceError, ValueError) as exc:
            reason = str(exc).splitlines()[0]
            log.info("decision #%s could not be re-checked: %s", analysis["id"], reason)
            outcomes.append(Outcome(analysis["id"], analysis["channel"], text, before, None, reason, analysis=analysis))
            continue
        kept = compact(report)
        current, new = replace(before, basis=basis), False  # unchanged: what the volume came from this time
        if not _same(before.report, kept):
            current = Evaluation(
                analysis["id"], analysis["channel"], before.version + 1, now.isoformat(timespec="seconds"), trigger,
                kept, basis,
            )  # fmt: skip
            if store:
                current, new = _store_version(db, team, analysis, current, scenario)
            else:
                new = True
        outcomes.append(
            Outcome(
                analysis["id"],
                analysis["channel"],
                text,
                before,
                current,
                new_version=new,
                change=compare(before.report, current.report, threshold, current.report.get("why")),
                measured=found,
                analysis=analysis,
            )
        )
    return outcomes


def _store_version(db, team: str, analysis: dict, evaluation: Evaluation, scenario: dict) -> tuple[Evaluation, bool]:
    """Write the version unless the latest (read again under the write lock) says the same already."""
    with transaction(db) as connection:
        row = connection.execute(
            "SELECT report, version FROM decision_versions WHERE analysis_id = ? ORDER BY version DESC LIMIT 1",
            [analysis["id"]],
        ).fetchone()
        if row is not None and _same(json.loads(row[0]), evaluation.report):
            return latest(db, analysis), False
        evaluation.version = (row[1] if row else 0) + 1
        connection.execute(
            "INSERT INTO decision_versions (analysis_id, team, channel, version, created, trigger, scenario, report, "
            "verdict, monthly_savings, basis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                analysis["id"],
                team,
                analysis["channel"],
                evaluation.version,
                evaluation.created,
                evaluation.trigger,
                json.dumps(scenario),
                json.dumps(evaluation.report),
                evaluation.verdict,
                evaluation.report["monthly_savings"],
                evaluation.basis,
            ],
        )
    return evaluation, True


# ---------------------------------------------------------------------------------------
# The weekly summary's "Decisions"


@dataclass
class Reported:
    """What the weekly section says about one decision, against what the last summary reported."""

    analysis_id: int
    before: Evaluation
    now: Evaluation
    change: Change


def since_last_summary(db, outcomes: list[Outcome], threshold: float) -> list[Reported]:
    """Each re-checked decision against the evaluation the channel's last summary reported."""
    found = []
    for outcome in outcomes:
        if outcome.now is None:
            continue
        before = last_reported(db, outcome.analysis)
        change = compare(before.report, outcome.now.report, threshold, outcome.now.report.get("why"))
        found.append(Reported(outcome.analysis_id, before, outcome.now, change))
    return found


def change_line(r: Reported) -> str:
    c, now = r.change, r.now.report
    verdict = f"{c.verdict_before} → {c.verdict_after}" if c.verdict_changed else c.verdict_after
    savings = f"savings {money(c.savings_before)} → {money(c.savings_after)} a month"
    if c.moved is not None and not c.verdict_changed:
        savings += f" ({c.moved:+.0%})"
    line = f"• *#{r.analysis_id} {verdict}*: {savings}"
    if c.mover is not None:
        line += f"; moved most by {c.mover.words()}"
    line += f". {why_verdict(now)}" if why_verdict(now) else ""
    return line + f" `/breakeven show {r.analysis_id}`"


def why_verdict(report: dict) -> str:
    """Where the volume stands, and when the verdict is not BUY although buying saves every month, why
    not: the headline says the payback ("Buying pays at today's 5M requests a month" alone reads as BUY)."""
    standing = report.get("standing") or {}
    if standing.get("where") == "past" and report.get("verdict") != "BUY" and report.get("headline"):
        return f"{report['headline']}."
    return standing.get("sentence") or ""


def decisions_section(reported: list[Reported], errors: list[Outcome], threshold: float) -> str | None:
    """The weekly summary's "Decisions" text (None when the channel has no decisions)."""
    if not reported and not errors:
        return None
    changed = [r for r in reported if r.change.changed]
    unchanged = len(reported) - len(changed)
    lines = [f"*Decisions*, re-checked with today's prices and measured volume ({len(reported) + len(errors)})"]
    lines += [change_line(r) for r in changed[:SHOWN_CHANGES]]
    if len(changed) > SHOWN_CHANGES:
        lines.append(f"_and {len(changed) - SHOWN_CHANGES} more changed: `/breakeven recheck` lists them_")
    if unchanged:
        words = "decision" if unchanged == 1 else "decisions"
        lines.append(
            f"{unchanged} {words} unchanged (same verdict, savings within {threshold:.0%} of the last summary's)."
        )
    for outcome in errors[:SHOWN_ERRORS]:
        lines.append(f"• #{outcome.analysis_id} could not be re-checked: {outcome.error}")
    if len(errors) > SHOWN_ERRORS:
        lines.append(f"_and {len(errors) - SHOWN_ERRORS} more could not be re-checked: `/breakeven recheck` says why_")
    return "\n".join(lines)


def mark_reported(db, reported: list[Reported], week: str) -> None:
    """The summary of `week` listed these evaluations as changed: the next one compares with them. An
    unchanged one is not marked, so the baseline stays the version last shown and savings that erode a
    little every week are reported once the whole move passes the threshold."""
    versions = [r.now for r in reported if r.change.changed and r.now.version > 0]
    if not versions:
        return
    with transaction(database(db)) as connection:
        connection.executemany(
            "UPDATE decision_versions SET summary_week = ? WHERE analysis_id = ? AND version = ? "
            "AND summary_week IS NULL",  # the first summary that reported it
            [[week, v.analysis_id, v.version] for v in versions],
        )


# ---------------------------------------------------------------------------------------
# `/breakeven recheck`, `breakeven recheck` and `/breakeven show ID`


def outcome_line(o: Outcome) -> str:
    if o.now is None:
        return f"• #{o.analysis_id}: could not be re-checked: {o.error}"
    c = o.change
    if not o.new_version:
        return (
            f"• #{o.analysis_id} {o.now.verdict}: unchanged since version {o.before.version} ({_when(o.before)})"
            + (f"; volume: {o.now.basis}" if o.now.basis else "")
        )
    verdict = f"{c.verdict_before} → {c.verdict_after}" if c.verdict_changed else c.verdict_after
    line = (
        f"• #{o.analysis_id} {verdict}: savings {money(c.savings_before)} → {money(c.savings_after)} a month "
        f"(version {o.now.version})"
    )
    if c.mover is not None:
        line += f"; moved most by {c.mover.words()}"
    return line + f"; volume: {o.now.basis}"


def recheck_summary(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "No saved decisions to re-check here yet: `/breakeven volume=...` saves one."
    new = sum(o.new_version for o in outcomes)
    flipped = sum(1 for o in outcomes if o.new_version and o.change.verdict_changed)
    head = (
        f"Re-checked {len(outcomes)} decision(s) with today's prices and measured volume: {new} moved"
        + (f", {flipped} changed verdict" if flipped else "")
        + "."
    )
    return "\n".join([head, *(outcome_line(o) for o in outcomes)])


def history_lines(db, analysis: dict) -> list[str]:
    """Every evaluation of a decision, oldest first, each with what moved since the one before."""
    found = versions(db, analysis)
    lines = [f"*History of decision #{analysis['id']}* ({len(found)} evaluation(s))"]
    previous = None
    for v in found:
        r = v.report
        be = r.get("breakeven_requests_per_month")
        line = (
            f"• v{v.version} {_when(v)}, {v.trigger}: *{v.verdict}*, savings {money(r['monthly_savings'])} a month, "
            f"break-even {'never' if be is None else count(be)}"
        )
        if previous is not None:
            change = compare(previous.report, r, 0.0, r.get("why"))
            if change.mover is not None:
                line += f"; moved most by {change.mover.words()}"
            if v.basis:
                line += f"; volume: {v.basis}"
        if v.summary_week:
            line += f" (in the {v.summary_week} summary)"
        lines.append(line)
        previous = v
    return lines


def _when(v: Evaluation) -> str:
    return v.created[:10]
