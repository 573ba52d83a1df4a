"""`/breakeven`: an analysis, the form, help, history, show, compare, audit."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from costcore import GrammarError, Scenario, parse
from costcore.grammar import EXAMPLE

from ..form import form_view
from ..render import compare_blocks, help_blocks, history_blocks
from ..service import Bot, Where, post_report, publish_analysis, slack_reason, tell

log = logging.getLogger("breakeven.bot")


def where_from_command(body: dict) -> Where:
    team = body.get("team_id") or ""
    return Where(
        team=team,
        channel=body.get("channel_id") or "",
        user=body.get("user_id") or "",
        delivery=f"{team}:command:{body.get('trigger_id')}",
    )


def register(app: App, bot: Bot) -> None:
    @app.command("/breakeven")
    def breakeven(ack, body, client):
        ack()
        bot.later(handle, bot, client, body)


def handle(bot: Bot, client: WebClient, body: dict) -> None:
    text = (body.get("text") or "").strip()
    where = where_from_command(body)
    word, _, rest = text.partition(" ")
    word = word.lower()
    if word in ("", "form"):
        open_form(client, body.get("trigger_id"), where)
    elif word == "help":
        client.chat_postEphemeral(
            channel=where.channel, user=where.user, text="How to use /breakeven", blocks=help_blocks()
        )
    elif word == "history":
        history(bot, client, where, rest)
    elif word == "show":
        show(bot, client, where, rest)
    elif word == "compare":
        compare(bot, client, where, rest)
    elif word == "spend":
        spend(bot, client, where, rest)
    elif word == "weekly":
        weekly(bot, client, where, rest)
    elif word == "measure":  # only endpoints an admin configured (BREAKEVEN_ENDPOINTS)
        from .measure import start_measure

        start_measure(bot, client, where, rest)
    elif word == "audit":
        from .audit import start_audit_from_command

        start_audit_from_command(bot, client, body, where)
    else:
        analyse_text(bot, client, where, text)


def analyse_text(bot: Bot, client: WebClient, where: Where, text: str) -> None:
    try:
        scenario = parse(text)
        if scenario.measured:  # measured=NAME: the saved measurement fills the figures it has
            from ..measure import with_measurement

            scenario = with_measurement(bot.store, where.team, scenario)
    except GrammarError as exc:
        tell(client, where, f"{exc}\nType `/breakeven help` for every key.")
        return
    publish_analysis(bot, client, where, scenario, kind="command", text=text)


def open_form(
    client: WebClient,
    trigger_id: str | None,
    where: Where,
    scenario: Scenario | None = None,
    analysis_id: int | None = None,
) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=form_view(where.channel, scenario, analysis_id))
    except Exception as exc:
        tell(
            client,
            where,
            f"The form could not be opened ({slack_reason(exc)}). Type the scenario instead: `/breakeven {EXAMPLE}`",
        )


def _ids(rest: str, wanted: int) -> list[int] | None:
    parts = [p.lstrip("#") for p in rest.split()]
    if len(parts) != wanted or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


def history(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    rest = rest.strip()
    if rest and not rest.isdigit():
        tell(client, where, f"`history` takes a number of analyses: `/breakeven history 10` (got '{rest}').")
        return
    limit = max(1, min(int(rest or 10), 50))
    rows = bot.store.history(where.team, where.channel, limit)
    audits = bot.store.audits(where.team, where.channel, limit)
    client.chat_postEphemeral(
        channel=where.channel,
        user=where.user,
        text="Recent analyses in this channel",
        blocks=history_blocks(rows, audits),
    )


def show(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    ids = _ids(rest, 1)
    if ids is None:
        tell(client, where, "`show` takes one analysis number: `/breakeven show 12` (`/breakeven history` lists them).")
        return
    found = bot.store.analysis(where.team, where.channel, ids[0])
    if found is None:
        tell(client, where, f"There is no analysis #{ids[0]} in this channel. `/breakeven history` lists them.")
        return
    from costcore import Report

    post_report(bot, client, where, Report.model_validate(found.report), found.id, record_ts=False)


def compare(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    ids = _ids(rest, 2)
    if ids is None:
        tell(client, where, "`compare` takes two analysis numbers: `/breakeven compare 12 15`.")
        return
    found = [bot.store.analysis(where.team, where.channel, i) for i in ids]
    missing = [str(i) for i, a in zip(ids, found, strict=True) if a is None]
    if missing:
        tell(
            client,
            where,
            f"There is no analysis #{', #'.join(missing)} in this channel. `/breakeven history` lists them.",
        )
        return
    first, second = found
    try:
        client.chat_postMessage(
            channel=where.channel, text=f"Comparing #{first.id} and #{second.id}", blocks=compare_blocks(first, second)
        )
    except Exception as exc:
        tell(client, where, f"The comparison could not be posted ({slack_reason(exc)}); please try again.")


def spend(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    from costcore.format import money
    from costcore.spend import SPEND_EXAMPLE, parse_spend_add

    verb, _, args = rest.strip().partition(" ")
    if verb != "add":
        tell(
            client,
            where,
            f"`spend` records spend by hand: `/breakeven {SPEND_EXAMPLE}`. "
            "CSV files and the OpenAI costs API: `breakeven spend import|sync` on the command line.",
        )
        return
    try:
        row = parse_spend_add(args)
    except GrammarError as exc:
        tell(client, where, str(exc))
        return
    bot.store.save_spend(where.team, [row])
    client.chat_postEphemeral(
        channel=where.channel,
        user=where.user,
        text=f"Recorded {money(row.cost)} of {row.provider} {row.model} on {row.day}.",
    )


def weekly(bot: Bot, client: WebClient, where: Where, rest: str) -> None:
    from ..weekly import parse_weekly, schedule_channel

    try:
        options = parse_weekly(rest)
    except GrammarError as exc:
        tell(client, where, str(exc))
        return
    bot.store.set_weekly_channel(
        where.team, options["channel"], options["day"], options["time"], options["tz"], options["quiet"]
    )
    if bot.scheduler is not None:
        schedule_channel(bot.scheduler, client, bot.store, bot.settings, {"team": where.team, **options})
    quiet = " Quiet weeks post nothing." if options["quiet"] else ""
    client.chat_postEphemeral(
        channel=where.channel,
        user=where.user,
        text=f"Weekly spend summary for <#{options['channel']}> every {options['day'].title()} at "
        f"{options['time']} {options['tz']}.{quiet}",
    )
