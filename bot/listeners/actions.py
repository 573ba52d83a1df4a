"""Buttons on a verdict: what-ifs (volume x2, x0.5) in the thread, and Edit assumptions."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from costcore import Scenario

from ..render import EDIT, WHATIF_DOUBLE, WHATIF_HALF
from ..service import Bot, Where, publish_analysis, tell


def where_from_action(body: dict) -> Where:
    team = (body.get("team") or {}).get("id") or ""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return Where(
        team=team,
        channel=channel,
        user=(body.get("user") or {}).get("id") or "",
        delivery=f"{team}:action:{body.get('trigger_id')}",
    )


def scaled(scenario: Scenario, requests: float, factor: float) -> Scenario:
    values = scenario.model_dump(exclude_none=True)
    if "tokens_per_month" in values:
        values["tokens_per_month"] *= factor
    else:
        values["requests_per_month"] = requests * factor
    return Scenario.model_validate(values)


def register(app: App, bot: Bot) -> None:
    @app.action(WHATIF_DOUBLE)
    def double(ack, body, client):
        ack()
        bot.later(what_if, bot, client, body, 2.0)

    @app.action(WHATIF_HALF)
    def half(ack, body, client):
        ack()
        bot.later(what_if, bot, client, body, 0.5)

    @app.action(EDIT)
    def edit(ack, body, client):
        ack()
        bot.later(edit_assumptions, bot, client, body)


def _analysis(bot: Bot, client: WebClient, body: dict, where: Where):
    try:
        analysis_id = int(body["actions"][0]["value"])
    except (KeyError, IndexError, ValueError):
        return None
    found = bot.store.analysis(where.team, where.channel, analysis_id)
    if found is None:
        tell(client, where, f"Analysis #{analysis_id} is not in this channel's history any more.")
    return found


def what_if(bot: Bot, client: WebClient, body: dict, factor: float) -> None:
    where = where_from_action(body)
    found = _analysis(bot, client, body, where)
    if found is None:
        return
    scenario = scaled(Scenario.model_validate(found.scenario), found.report["requests_per_month"], factor)
    where.thread_ts = found.message_ts
    publish_analysis(bot, client, where, scenario, kind=f"what-if x{factor:g}", parent_id=found.id)


def edit_assumptions(bot: Bot, client: WebClient, body: dict) -> None:
    from .commands import open_form

    where = where_from_action(body)
    found = _analysis(bot, client, body, where)
    if found is None:
        return
    open_form(client, body.get("trigger_id"), where, Scenario.model_validate(found.scenario), found.id)
