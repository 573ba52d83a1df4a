"""`/breakeven`: an analysis, the form, help, history, show, compare, spend, weekly, audit, recheck, budget.

The listener stores the command as a job and acks; `command` below does the work on a lane:
analyses on the slow lane, everything cheap on the fast one, so help never waits behind charts.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from costcore import GrammarError, Report, parse
from costcore.ask import is_grammar

from ..bounds import checked_scenario
from ..delivery import Unconfirmed, Where, slack_reason, unconfirmed, undelivered
from ..jobs import Job
from ..render import channel_link, compare_blocks, cut_line, help_blocks, history_blocks, slack_text
from ..service import Bot, post_report, publish_analysis, work
from .shared import (
    asking,
    lane_for,
    offer_or_open_audit,
    open_form,
    route,
    slack_unescape,
    where_from_command,
    why_off,
)

log = logging.getLogger("breakeven.bot")


def register(app: App, bot: Bot) -> None:
    @app.command("/breakeven")
    def breakeven(ack, body):
        text = (body.get("text") or "").strip()
        settings = asking(bot)
        kind = route(slack_unescape(text), settings is not None)
        bot.enqueue(
            "command",
            where_from_command(body),
            {"text": text, "trigger_id": body.get("trigger_id")},
            lane=lane_for(text, kind),
        )
        if kind == "words" and settings is not None:  # the status while the model reads it: seconds
            ack(slack_text(f":hourglass_flowing_sand: Reading your question with {settings.model}…"))
        else:
            ack()


@work("command")
def command(bot: Bot, client: WebClient, job: Job) -> None:
    """/breakeven TEXT, or a direct message to the app (payload `dm`, answered in its thread)."""
    where = bot.where(job)
    where.thread_ts = job.payload.get("thread_ts")
    text = slack_unescape(job.payload.get("text") or "").strip()
    trigger_id = job.payload.get("trigger_id")
    kind = route(text, asking(bot) is not None)
    if job.payload.get("dm") and where.thread_ts and kind != "subcommand":  # in an answer's thread: a what-if
        from .ask import follow_up_in_thread

        if follow_up_in_thread(bot, client, where, text, job, dm=True):
            return
    if kind == "words":
        from .ask import ask_words

        ask_words(bot, client, where, text, job, dm=bool(job.payload.get("dm")))
        return
    word, _, rest = text.partition(" ")
    word = word.lower()
    if word in ("", "form"):
        open_form(bot, client, trigger_id, where)
    elif word == "help":
        bot.reply(client, where, "How to use /breakeven", help_blocks())
    elif word == "history":
        history(bot, client, where, rest)
    elif word == "show":
        show(bot, client, where, rest, job)
    elif word == "compare":
        compare(bot, client, where, rest, job)
    elif word == "spend":
        spend(bot, client, where, rest)
    elif word == "weekly":
        weekly(bot, client, where, rest)
    elif word == "recheck":
        recheck_here(bot, client, where, rest)
    elif word == "budget":
        budget(bot, client, where, rest)
    elif word == "measure":  # only endpoints an admin configured (BREAKEVEN_ENDPOINTS)
        from .measure import start_measure

        start_measure(bot, client, where, rest, job)
    elif word == "audit":
        offer_or_open_audit(bot, client, trigger_id, where)
    else:
        analyse_text(bot, client, where, text, job)


def analyse_text(bot: Bot, client: WebClient, where: Where, text: str, job: Job) -> None:
    try:
        scenario = checked_scenario(parse(text))
        if scenario.measured:  # measured=NAME: the saved measurement fills the figures it has
            from ..measure import with_measurement

            scenario = with_measurement(bot.store, where.team, scenario)
    except GrammarError as exc:
        words = "" if is_grammar(text) else f"\n{why_off(bot)}"  # words with a `=` in them, and no model to read them
        bot.tell(client, where, f"{exc}\nType `/breakeven help` for every key.{words}")
        return
    publish_analysis(bot, client, where, scenario, job, kind="command", text=text)


def _ids(rest: str, wanted: int) -> list[int] | None:
    parts = [p.lstrip("#") for p in rest.split()]
    if len(parts) != wanted or not all(p.isdigit() and len(p) < 12 for p in parts):
        return None
    return [int(p) for p in parts]


def history(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    rest = rest.strip()
    if rest and not (rest.isdigit() and len(rest) < 6):
        got = cut_line(rest, 20)
        bot.tell(client, where, f"`history` takes a number of analyses: `/breakeven history 10` (got '{got}').")
        return
    limit = max(1, min(int(rest or 10), 50))
    rows = bot.store.history(where.team, where.channel, limit)
    audits = bot.store.audits(where.team, where.channel, limit)
    bot.reply(client, where, "Recent analyses in this channel", history_blocks(rows, audits))


def show(bot: Bot, client: WebClient, where: Where, rest: str, job: Job) -> None:
    ids = _ids(rest, 1)
    if ids is None:
        bot.tell(
            client, where, "`show` takes one analysis number: `/breakeven show 12` (`/breakeven history` lists them)."
        )
        return
    found = bot.store.analysis(where.team, where.channel, ids[0])
    if found is None:
        bot.tell(client, where, f"There is no analysis #{ids[0]} in this channel. `/breakeven history` lists them.")
        return
    post_report(
        bot, client, where, Report.model_validate(found.report), found.id, job, record_ts=False,
        lead=lambda _report: decision_history(bot, where, found.id),
    )  # fmt: skip


def decision_history(bot: Bot, where: Where, analysis_id: int) -> list[dict]:
    """Above a shown decision that was re-checked since: where it stands now, and every evaluation of it."""
    from ..recheck import database, history_lines, latest
    from ..render import _context, _section

    db = database(bot.store)
    rows = list(db.query("SELECT * FROM analyses WHERE id = ? AND team = ?", [analysis_id, where.team]))
    if not rows or rows[0]["parent_id"] is not None:
        return []
    now = latest(bot.store, rows[0])
    if now.version == 0:
        return []
    head = _section(
        f":arrows_counterclockwise: *Now: {now.verdict}* (re-checked {now.created[:10]} with the prices of that day"
        f" and {now.basis}): {now.report['headline']}"
    )
    return [head, *history_blocks_newest_first(history_lines(bot.store, rows[0])),
            _context(f"Analysis #{analysis_id} as it was first posted:")]  # fmt: skip


HISTORY_SECTIONS = 8  # of the message's 50 blocks: the report itself takes the rest


def history_blocks_newest_first(lines: list[str]) -> list[dict]:
    """A decision's evaluations (history_lines: a title, then one line each, oldest first) as sections, the newest
    first; what does not fit in HISTORY_SECTIONS is counted in a line, never cut unsaid."""
    from ..render import _chunks, _context, _section

    title, entries = lines[0], lines[1:][::-1]
    chunks = _chunks([title, *entries])
    if len(chunks) <= HISTORY_SECTIONS:
        return [_section(text) for text in chunks]
    kept = chunks[:HISTORY_SECTIONS]
    older = len(entries) - (sum(text.count("\n") + 1 for text in kept) - 1)
    return [
        *(_section(text) for text in kept),
        _context(f"and {older} older evaluation(s), v0-v{older - 1}, not shown"),
    ]


def compare(bot: Bot, client: WebClient, where: Where, rest: str, job: Job) -> None:
    ids = _ids(rest, 2)
    if ids is None:
        bot.tell(client, where, "`compare` takes two analysis numbers: `/breakeven compare 12 15`.")
        return
    found = [bot.store.analysis(where.team, where.channel, i) for i in ids]
    missing = [str(i) for i, a in zip(ids, found, strict=True) if a is None]
    if missing:
        bot.tell(
            client,
            where,
            f"There is no analysis #{', #'.join(missing)} in this channel. `/breakeven history` lists them.",
        )
        return
    first, second = found
    try:
        bot.post(
            client, where, text=f"Comparing #{first.id} and #{second.id}", blocks=compare_blocks(first, second), job=job
        )
    except Unconfirmed as exc:
        bot.tell(client, where, unconfirmed("The comparison", exc))
    except Exception as exc:
        bot.tell(client, where, undelivered(slack_reason(exc), "The comparison", "Nothing was lost."))


def spend(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    from costcore.spend import SPEND_EXAMPLE

    from ..bounds import spend_add
    from ..spend import NotYours, add_manual

    verb, _, args = rest.strip().partition(" ")
    if verb == "":
        spend_forecast(bot, client, where)
        return
    if verb != "add":
        bot.tell(
            client,
            where,
            f"`spend` records spend by hand: `/breakeven {SPEND_EXAMPLE}`; `/breakeven spend` alone forecasts it. "
            "CSV files and the OpenAI costs API: `breakeven spend import|sync` on the command line.",
        )
        return
    try:
        row = spend_add(args)
    except GrammarError as exc:
        bot.tell(client, where, str(exc))
        return
    try:
        reply = add_manual(bot.store, where.team, row, user=where.user, admin=where.user in bot.admins)
    except NotYours as exc:
        bot.tell(client, where, str(exc))
        return
    bot.reply(client, where, reply)


def may_post_in(bot: Bot, client: WebClient, user: str, channel: str) -> str | None:
    """None if `user` may point scheduled posts at `channel`: a member of it (conversations.members),
    or an admin named in BREAKEVEN_ADMINS. Otherwise why not, for the user."""
    if user in bot.admins:
        return None
    members: set[str] = set()
    cursor = None
    try:
        while True:
            page = client.conversations_members(channel=channel, limit=1000, cursor=cursor)
            members.update(page.get("members") or [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if user in members or not cursor:
                break
    except Exception as exc:
        return (
            f"I cannot see who is in {channel_link(channel)} ({slack_reason(exc)}), so I cannot check you are in it. "
            "Invite me there with `/invite @breakeven`, or ask an admin of breakeven."
        )
    if user in members:
        return None
    return (
        f"Only members of {channel_link(channel)} can send the weekly summary there, and you are not one. "
        "Join it, or ask an admin of breakeven."
    )


def weekly(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    from ..weekly import parse_weekly, schedule_channel, set_weekly_channel

    try:
        options = parse_weekly(rest)
    except GrammarError as exc:
        bot.tell(client, where, str(exc))
        return
    refusal = may_post_in(bot, client, where.user, options["channel"])
    if refusal:
        bot.tell(client, where, refusal)
        return
    set_weekly_channel(
        bot.store, where.team, options["channel"], options["day"], options["time"], options["tz"], options["quiet"]
    )
    if bot.scheduler is not None:
        schedule_channel(bot.scheduler, client, bot.store, bot.settings, {"team": where.team, **options})
    quiet = " Quiet weeks post nothing." if options["quiet"] else ""
    bot.reply(
        client,
        where,
        f"Weekly spend summary for {channel_link(options['channel'])} every {options['day'].title()} at "
        f"{options['time']} {options['tz']}.{quiet}",
    )


def _today(bot: Bot):
    """Today where budgets are checked (DAILY_CHECK's timezone): the day forecasts count up to."""
    from ..budget import budget_today

    return budget_today(bot.settings)


def spend_forecast(bot: Bot, client: WebClient, where: Where) -> None:
    """`/breakeven spend`: the month's end, this channel's budgets and its decisions' break-even crossings."""
    from costcore.spend import SPEND_EXAMPLE

    from ..forecasts import forecast_section

    text = forecast_section(bot.store, where.team, where.channel, _today(bot))
    if text is None:
        text = (
            f"No spend is recorded yet. Record it: `/breakeven {SPEND_EXAMPLE}`, or `breakeven spend import FILE.csv` "
            "and `breakeven spend sync openai` on the command line."
        )
    bot.reply(client, where, text)


def recheck_here(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    """`/breakeven recheck`: this channel's decisions re-run with today's prices and measured volume."""
    from ..recheck import recheck, recheck_summary
    from ..render import _chunks, _section
    from .home import republish

    if rest.strip():
        bot.tell(client, where, "`recheck` takes nothing: `/breakeven recheck` re-checks this channel's decisions.")
        return
    outcomes = recheck(
        bot.store,
        where.team,
        where.channel,
        sheet=bot.sheet,
        trigger="/breakeven recheck",
        threshold=getattr(bot.settings, "recheck_threshold", 0.2),
    )
    text = recheck_summary(outcomes)
    bot.reply(client, where, text.splitlines()[0], [_section(t) for t in _chunks(text.splitlines())][:50])
    republish(bot, client, where.team, where.user)


def budget(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    """`/breakeven budget [$5,000/month] [model=gpt-4o] [at=50%,80%,100%]`, or `budget off [model=...]`."""
    from ..budget import (
        BUDGET_EXAMPLE,
        Budget,
        budget_lines,
        budgets,
        cannot_post,
        label,
        parse_budget,
        remove_budget,
        set_budget,
    )
    from .home import republish

    try:
        asked = parse_budget(rest)
    except GrammarError as exc:
        bot.tell(client, where, str(exc))
        return
    here = channel_link(where.channel)
    model = asked["model"]
    what = f"{model} spend" if model else "LLM API spend"
    if asked["action"] == "list":
        found = [b for b in budgets(bot.store, where.team, where.channel) if not model or b.model.lower() == model]
        if not found:
            bot.reply(client, where, f"No budget in {here} yet. Set one: `/breakeven {BUDGET_EXAMPLE}`.")
            return
        lines = budget_lines(bot.store, found, _today(bot))
        bot.reply(client, where, "\n".join([f"*Budgets in {here}*", *lines, "`/breakeven budget off` removes one."]))
        return
    if asked["action"] == "off":
        removed = remove_budget(bot.store, where.team, where.channel, model)
        text = f"The {what} budget of {here} is removed." if removed else f"{here} has no {what} budget to remove."
        bot.reply(client, where, text)
        republish(bot, client, where.team, where.user)
        return
    chosen = Budget(where.team, where.channel, model, asked["amount"], asked["thresholds"], where.user)
    replaced = set_budget(bot.store, chosen)
    when = getattr(bot.settings, "daily_check", None) or "09:00 UTC"
    lines = [
        f"{'Budget replaced' if replaced else 'Budget set'} for {here}: {money_text(chosen.amount)} a month of {what}. "
        f"Alerts here at {', '.join(label(t) for t in chosen.thresholds)} of it and when the month's forecast is "
        f"over it, each once a month, checked every day at {when}.",
        *budget_lines(bot.store, [chosen], _today(bot)),
    ]
    refused = cannot_post(client, where.channel)
    if refused:
        lines.append(
            f":warning: I cannot post in {here}, and the alerts post there: invite me with `/invite @breakeven`, "
            f"or they wait in the App Home ({refused})."
        )
    if model and not _has_spend(bot, where.team, model):
        lines.append(
            f"No spend of `{model}` is recorded yet: the model is named as your spend names it "
            "(`breakeven spend import`, `/breakeven spend add`)."
        )
    bot.reply(client, where, "\n".join(lines))
    republish(bot, client, where.team, where.user)


def money_text(amount: float) -> str:
    from costcore.format import money

    return money(amount)


def _has_spend(bot: Bot, team: str, model: str) -> bool:
    import datetime as dt

    from costcore.forecast import rows_of

    from ..spend import load_spend

    since = _today(bot) - dt.timedelta(days=62)
    return bool(rows_of(load_spend(bot.store, team, since), model))
