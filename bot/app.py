"""build_app(settings) -> (App, Bot); main() runs Socket Mode, or HTTP under uvicorn.

Listeners ack before any slow work (process_before_response with our own worker pool): the
HTTP response leaves as soon as the listener returns, and analysis, chart and upload follow on
the pool, so Slack's 3-second limit is never at risk.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from .listeners import register
from .service import Bot
from .settings import Settings, SettingsError, load_settings
from .store import Store

log = logging.getLogger("breakeven.bot")
SECRET = re.compile(r"\b(xox[abposr]-|xapp-)[A-Za-z0-9-]+")


class RedactSecrets(logging.Filter):
    """Tokens never reach a log line, whoever logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET.search(message):
            record.msg = SECRET.sub(r"\1[redacted]", message)
            record.args = ()
        return True


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: Settings, *, store: Store | None = None) -> tuple[App, Bot]:
    app = App(
        client=web_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value() or None,
        request_verification_enabled=not settings.socket_mode,
        process_before_response=True,
        token_verification_enabled=True,
    )
    bot = Bot(store=store or Store(settings.breakeven_db), settings=settings)
    register(app, bot)
    return app, bot


def start_scheduler(app: App, bot: Bot) -> None:
    """Weekly summaries, in-process: one cron job per channel that asked for them."""
    from .weekly import build_scheduler, parse_weekly

    settings = bot.settings
    if settings is not None and settings.weekly_channel:
        options = parse_weekly(f"{settings.weekly_channel} {settings.weekly_schedule}")
        team = app.client.auth_test()["team_id"]
        if bot.store.weekly_channel(team, options["channel"]) is None:
            bot.store.set_weekly_channel(
                team, options["channel"], options["day"], options["time"], options["tz"], options["quiet"]
            )
    bot.scheduler = build_scheduler(app.client, bot.store, settings)
    bot.scheduler.start()


def asgi(app: App, path: str = "/slack/events"):
    """Slack's endpoint plus /healthz, as one ASGI application for uvicorn."""
    slack = SlackRequestHandler(app, path=path)

    async def application(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await slack(scope, receive, send)

    return application


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main() -> int:
    _configure_logging()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"breakeven-bot: {exc}", file=sys.stderr)
        return 2
    # The secrets live in `settings` from here on; Bolt would otherwise read them from the
    # environment a second time (and warn that the token is given twice).
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        os.environ.pop(name, None)
    try:
        app, _bot = build_app(settings)
    except Exception as exc:  # auth.test failed: a wrong token or an unreachable SLACK_API_URL
        message = SECRET.sub(r"\1[redacted]", str(exc)).splitlines()[0]
        print(
            f"breakeven-bot: cannot start with SLACK_BOT_TOKEN at {settings.slack_api_url}: {message}", file=sys.stderr
        )
        return 2
    start_scheduler(app, _bot)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("starting in Socket Mode")
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
        return 0
    import uvicorn

    log.info("serving /slack/events and /healthz on port %s", settings.port)
    uvicorn.run(asgi(app), host="0.0.0.0", port=settings.port, log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
