"""Buttons on a verdict: what-ifs (volume x2, x0.5) in the thread, and Edit assumptions."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from costcore import Scenario

from ..bounds import checked_scenario
from ..jobs import Job
from ..render import EDIT, WHATIF_DOUBLE, WHATIF_HALF
from ..service import Bot, publish_analysis, work
from .shared import action_payload, open_form, where_from_action

FACTORS = {WHATIF_DOUBLE: 2.0, WHATIF_HALF: 0.5}


def scaled(scenario: Scenario, requests: float, factor: float) -> Scenario:
    values = scenario.model_dump(exclude_none=True)
    if "tokens_per_month" in values:
        values["tokens_per_month"] *= factor
    else:
        values["requests_per_month"] = requests * factor
    return Scenario.model_validate(values)


def register(app: App, bot: Bot) -> None:
    @app.action(WHATIF_DOUBLE)
    @app.action(WHATIF_HALF)
    def what_if_clicked(ack, body):
        bot.enqueue("what_if", where_from_action(body), action_payload(body), lane="slow")
        ack()

    @app.action(EDIT)
    def edit_clicked(ack, body):
        bot.enqueue("edit", where_from_action(body), action_payload(body))
        ack()


def _analysis(bot: Bot, client: WebClient, job: Job):
    where = bot.where(job)
    value = job.payload.get("value") or ""
    if not (value.isdigit() and len(value) < 12):
        return None
    found = bot.store.analysis(where.team, where.channel, int(value))
    if found is None:
        bot.tell(client, where, f"Analysis #{value} is not in this channel's history any more.")
    return found


@work("what_if")
def what_if(bot: Bot, client: WebClient, job: Job) -> None:
    found = _analysis(bot, client, job)
    if found is None:
        return
    factor = FACTORS[job.payload["action_id"]]
    scenario = checked_scenario(
        scaled(Scenario.model_validate(found.scenario), found.report["requests_per_month"], factor)
    )
    where = bot.where(job)
    where.thread_ts = found.message_ts
    publish_analysis(bot, client, where, scenario, job, kind=f"what-if x{factor:g}", parent_id=found.id)


@work("edit")
def edit_assumptions(bot: Bot, client: WebClient, job: Job) -> None:
    found = _analysis(bot, client, job)
    if found is None:
        return
    where = bot.where(job)
    open_form(bot, client, job.payload.get("trigger_id"), where, Scenario.model_validate(found.scenario), found.id)
