"""Slack listeners, one module per kind, each with register(app, bot)."""

from . import actions, ask, audit, commands, home, measure, views


def register(app, bot) -> None:
    commands.register(app, bot)
    ask.register(app, bot)
    actions.register(app, bot)
    views.register(app, bot)
    audit.register(app, bot)
    measure.register(app, bot)
    home.register(app, bot)
