"""The guided form's submission: errors per field at once, or an analysis posted like the command."""

from __future__ import annotations

import json

from slack_bolt import App
from slack_sdk import WebClient

from costcore import parse

from ..delivery import Where
from ..form import API_ACTION, CALLBACK_ID, options_for, read_form
from ..jobs import Job
from ..render import finalize, safe_errors
from ..service import Bot, publish_analysis, work


def register(app: App, bot: Bot) -> None:
    @app.options(API_ACTION)
    def api_models(ack, body):
        # The API select searches the whole catalogue as the user types (block_suggestion).
        ack(options=finalize(options_for(body.get("value") or "", bot.sheet)))

    @app.view(CALLBACK_ID)
    def submitted(ack, body, view):
        _scenario, text, errors = read_form(view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=safe_errors(errors))
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        team = (body.get("team") or {}).get("id") or view.get("team_id") or ""
        where = Where(
            team=team,
            channel=meta.get("channel") or "",
            user=(body.get("user") or {}).get("id") or "",
            delivery=f"{team}:form:{view.get('id')}:{view.get('hash')}",
        )
        bot.enqueue("form", where, {"text": text, "ask": meta.get("ask")}, lane="slow")
        ack()


@work("form")
def form_submitted(bot: Bot, client: WebClient, job: Job) -> None:
    text = job.payload["text"]
    where = bot.where(job)
    # Opened with Edit on a question asked in words: the analysis keeps the words it was asked in.
    ask = bot.store.ask(where.team, job.payload["ask"]) if isinstance(job.payload.get("ask"), int) else None
    asked = ask["asked"] if ask is not None and ask["user"] == where.user else None
    # The form's text was checked before the ack: the same grammar gives the same scenario.
    analysis_id = publish_analysis(bot, client, where, parse(text), job, kind="form", text=text, asked=asked)
    if asked is not None and analysis_id is not None and bot.store.take_ask(ask["id"], where.delivery, "ran"):
        bot.store.set_ask_analysis(ask["id"], analysis_id)
