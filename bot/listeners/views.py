"""The guided form's submission: errors per field, or an analysis posted like the command."""

from __future__ import annotations

import json

from slack_bolt import App

from ..form import CALLBACK_ID, read_form
from ..service import Bot, Where, publish_analysis


def register(app: App, bot: Bot) -> None:
    @app.view(CALLBACK_ID)
    def submitted(ack, body, client, view):
        scenario, text, errors = read_form(view["state"]["values"])
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        team = (body.get("team") or {}).get("id") or view.get("team_id") or ""
        where = Where(
            team=team,
            channel=meta.get("channel") or "",
            user=(body.get("user") or {}).get("id") or "",
            delivery=f"{team}:form:{view.get('id')}:{view.get('hash')}",
        )
        bot.later(publish_analysis, bot, client, where, scenario, kind="form", text=text)
