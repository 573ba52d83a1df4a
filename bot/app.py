"""build_app(settings) -> (App, Bot); main() runs Socket Mode, or HTTP under uvicorn.

Listeners store the work as a job and ack (process_before_response, with our own worker lanes):
the HTTP response leaves as soon as the listener returns, and analysis, chart and upload follow
on a worker, so Slack's 3-second limit is never at risk and a restart loses nothing. main() runs
those workers in a process of its own (bot/worker.py); build_app alone runs them on this
process's threads (tests, tools).

HTTP requests pass a front door first (`asgi`): the signature and timestamp are checked on the raw
body before anything parses it (401), then the body must parse and hold what the listeners read
(bot/payloads.py; 400); neither logs a traceback. Socket Mode runs the same payload check as the
app's first middleware (`PayloadCheck`).

Beside Slack's endpoint the same door serves /healthz, /readyz (bot/health.py), /metrics
(bot/metrics.py) and, with many workspaces, Slack's install flow (bot/oauth.py). In Socket Mode,
which needs no public endpoint, it serves those alone on PORT: an HTTP listener is what a
container's health check, a load balancer and Prometheus know how to ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from . import logs, metrics
from .delivery import Throttled, web_client
from .health import Readiness
from .listeners import register
from .payloads import problem as payload_problem
from .redact import quiet_http_clients, redact
from .service import Bot
from .settings import Settings, SettingsError, load_settings
from .store import Store, StoreError
from .worker import WorkerProcess

log = logging.getLogger("breakeven.bot")


NOT_INSTALLED = (
    ":warning: breakeven is not installed in this workspace (any more), so it cannot answer here. "
    "Ask an admin of this workspace to install it again from the bot's /slack/install page."
)


def build_app(settings: Settings, *, store: Store | None = None) -> tuple[App, Bot]:
    """The Bolt app and the bot behind it, running its jobs on this process's lanes. Unfinished jobs
    are not resumed here: call bot.resume() once the app is ready to serve (main's worker process
    does, bot/worker.py). Serve it over HTTP only through `asgi` (the app does not check signatures
    itself: that door does, once)."""
    from .oauth import StoreAuthorize, Workspaces, oauth_settings

    client = web_client(settings)
    store = store or Store(settings.breakeven_db)
    many = {}
    if settings.oauth:  # many workspaces: each delivery is authorised with its workspace's token
        many["oauth_settings"] = oauth_settings(settings, store)
        many["authorize"] = StoreAuthorize(many["oauth_settings"].installation_store)
        many["user_facing_authorize_error_message"] = NOT_INSTALLED
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value() or None,
        # HTTP requests reach the app only through `asgi`, which has verified the raw body before
        # anything parsed it: Bolt's own check would hash the same body a second time on every ack.
        # Socket Mode requests are not signed at all.
        request_verification_enabled=False,
        process_before_response=True,
        token_verification_enabled=True,
        **many,
    )
    workspaces = Workspaces(settings, store, client)
    bot = Bot(store=store, settings=settings, client=client, clients=workspaces.client, admins=settings.admins)
    if settings.socket_mode:  # HTTP requests are checked at the front door (`asgi`), before Bolt
        app.use(PayloadCheck())
    register(app, bot)
    # Registered last: Bolt tries listeners in order, each match costs a few microseconds, and these
    # events are rare, so a command never waits for them to be ruled out.
    if settings.oauth:
        app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked: the token is deleted
    else:

        @app.event("app_uninstalled")
        @app.event("tokens_revoked")
        def token_gone(event):  # answered 200, so that Slack does not retry (nor turn events off)
            log.error("Slack says %s: SLACK_BOT_TOKEN no longer works until the app is installed again", event["type"])
    return app, bot


class PayloadCheck(Middleware):
    """Socket Mode's front door: a body the listeners cannot read goes no further (bot/payloads.py).
    A Middleware class, not a function: Bolt builds a function middleware's arguments from the body
    first (the first action of an empty list...), which is what this check is for."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next):
        problem = payload_problem(req.body)
        if problem:
            log.warning("rejected a malformed payload: %s", problem)
            return BoltResponse(status=400, body="")
        return next()


def start_scheduler(app: App, bot: Bot) -> None:
    """Weekly summaries (one cron job per channel that asked for them), the daily budget check and the
    daily backup, in-process (bot/schedules.py)."""
    from .schedules import build as build_scheduler
    from .weekly import parse_weekly, set_weekly_channel, weekly_channel

    settings = bot.settings
    if settings is not None and settings.weekly_channel:
        options = parse_weekly(f"{settings.weekly_channel} {settings.weekly_schedule}")
        team = app.client.auth_test()["team_id"]
        if weekly_channel(bot.store, team, options["channel"]) is None:
            set_weekly_channel(
                bot.store, team, options["channel"], options["day"], options["time"], options["tz"], options["quiet"]
            )
    bot.scheduler = build_scheduler(bot.client_for, bot.store, settings)
    if settings is not None and settings.backup_dir is not None:
        from .backup import schedule_backups

        schedule_backups(bot.scheduler, bot.store.path, settings.backup_dir, settings.backup_keep)
    bot.scheduler.start()


MAX_BODY = 1_000_000  # Slack's payloads are far smaller; a bigger body is not Slack's
MAX_CLOCK_SKEW_S = 300


def verify(secret: str, body: bytes, headers: dict[str, str], now: float | None = None) -> str | None:
    """None if the request is Slack's (signature of the raw body, fresh timestamp); else why not."""
    stamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        return "missing or non-numeric timestamp"
    if abs((now or time.time()) - int(stamp)) > MAX_CLOCK_SKEW_S:
        return "timestamp too old or in the future"
    expected = b"v0=" + hmac.digest(secret.encode(), b"v0:" + stamp.encode() + b":" + body, "sha256").hex().encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def ssl_check(body: bytes) -> bool:
    """Slack's SSL check of a slash command's URL: a short form `ssl_check=1&token=...`, which Slack
    may send unsigned (Bolt answers it before verifying). It is answered 200 and nothing else: no
    listener, no job, no Slack call, so an unsigned one can do no harm."""
    if len(body) > 1000 or b"ssl_check=" not in body:
        return False
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True)).get("ssl_check") == "1"


@dataclass
class Ops:
    """What the bot serves besides Slack's endpoint: /readyz's checks, and /metrics (on METRICS_PORT
    alone when that is set, else on PORT)."""

    readiness: Readiness
    db_path: str
    metrics_path: str = "/metrics"
    metrics_port: int | None = None


def asgi(app: App, signing_secret: str | None, path: str = "/slack/events", *, ops: Ops | None = None):
    """Slack's endpoint plus /healthz, as one ASGI application for uvicorn. Verify first, parse second.
    signing_secret None: no Slack endpoint (Socket Mode), the rest only."""
    if signing_secret is not None and not signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is missing: HTTP mode needs it")
    secret = signing_secret
    oauth = app.oauth_flow
    oauth_paths = {}
    if oauth is not None:  # many workspaces: Slack's install flow (bot/oauth.py)
        oauth_paths = {oauth.install_path: oauth.handle_installation, oauth.redirect_uri_path: oauth.handle_callback}
    _rejected = Throttled(log)  # junk can come in floods: one line a minute, with a count

    async def reply(send, status: int, body: bytes = b"", content_type: bytes = b"text/plain", headers=()) -> None:
        extra = [(k.encode(), v.encode()) for k, values in headers for v in values]
        start = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": start + extra})
        await send({"type": "http.response.body", "body": body})

    async def reply_bolt(send, response) -> None:
        content = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        content_type = (response.headers.get("content-type") or ["text/plain"])[0].encode()
        others = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")]
        await reply(send, response.status, content, content_type, others)

    async def application(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        port = (scope.get("server") or (None, None))[1]
        if ops is not None and ops.metrics_port is not None and port == ops.metrics_port:  # /metrics alone
            if scope["path"] == ops.metrics_path:
                body = await asyncio.to_thread(metrics.exposition, ops.db_path)
                await reply(send, 200, body, metrics.CONTENT_TYPE.encode())
            else:
                await reply(send, 404, b"Not Found")
            return
        if scope["path"] == "/healthz":
            await reply(send, 200, b"ok")
            return
        if ops is not None and scope["path"] == "/readyz":
            problem = await asyncio.to_thread(ops.readiness.problem)
            await reply(send, 503 if problem else 200, f"not ready: {problem}".encode() if problem else b"ready")
            return
        if ops is not None and ops.metrics_port is None and scope["path"] == ops.metrics_path:
            body = await asyncio.to_thread(metrics.exposition, ops.db_path)
            await reply(send, 200, body, metrics.CONTENT_TYPE.encode())
            return
        if scope["path"] in oauth_paths and scope["method"] == "GET":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            request = BoltRequest(body="", query=scope.get("query_string", b"").decode(), headers=headers)
            await reply_bolt(send, await asyncio.to_thread(oauth_paths[scope["path"]], request))
            return
        if secret is None or scope["path"] != path or scope["method"] != "POST":
            await reply(send, 404, b"Not Found")
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if len(body) > MAX_BODY:
                _rejected.warning("large", "rejected a request: body over %d bytes", MAX_BODY)
                await reply(send, 413)
                return
            if not message.get("more_body"):
                break
        body = bytes(body)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if ssl_check(body):
            await reply(send, 200)
            return
        problem = verify(secret, body, headers)
        if problem:
            _rejected.warning("unsigned", "rejected a request (401): %s", problem)
            await reply(send, 401)
            return
        try:  # Bolt parses the body once, here (JSON, a form, or a form's JSON payload)
            request = BoltRequest(
                body=body.decode("utf-8"), query=scope.get("query_string", b"").decode(), headers=headers
            )
            problem = payload_problem(request.body)
        except Exception as exc:  # not UTF-8, not JSON, not an object: no listener could read it
            problem = f"malformed body ({type(exc).__name__})"
        if problem:
            _rejected.warning("malformed", "rejected a signed request (400): %s", problem)
            await reply(send, 400)
            return
        await reply_bolt(send, app.dispatch(request))

    return application


def _configure_logging(log_format: str = "text") -> None:
    """One handler, on the root logger, that redacts every record before any formatter (text or JSON)
    sees it (bot/redact.py, bot/logs.py); uvicorn's records come to it too (log_config=None below)."""
    logs.configure(log_format)
    quiet_http_clients()


def bind(port: int, name: str = "PORT") -> socket.socket:
    """The listening socket, bound before anything else starts: a busy PORT is a start-up error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("0.0.0.0", port))
    except OSError as exc:
        sock.close()
        raise SettingsError(f"{name} {port} cannot be used: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def _start_up_error(settings: Settings, exc: Exception) -> str:
    """One line naming the setting at fault when the app cannot be built."""
    from slack_bolt.error import BoltError

    if isinstance(exc, StoreError):
        return f"BREAKEVEN_DB: {exc}"
    message = redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, BoltError) and "auth.test" in str(exc):  # Slack answered: the token is wrong
        return f"cannot start: SLACK_BOT_TOKEN was refused by Slack at {settings.slack_api_url}: {message}"
    return f"cannot start: SLACK_API_URL {settings.slack_api_url} cannot be reached: {message}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:  # `breakeven-bot backup FILE`: no Slack settings needed
        from .backup import command

        return command(args)
    _configure_logging()
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"breakeven-bot: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_format)
    # The secrets live in `settings` from here on; Bolt would otherwise read them from the
    # environment a second time (and warn that the token is given twice, or load OAuth on its own).
    secrets = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
    for name in secrets:
        os.environ.pop(name, None)
    from .backup import refusal

    damaged = refusal(settings.breakeven_db, settings.backup_dir)
    if damaged:
        print(f"breakeven-bot: {damaged}", file=sys.stderr)
        return 2
    try:  # PORT serves Slack's endpoint (HTTP mode), health, metrics and the install flow
        sockets = [bind(settings.port)]
        if settings.metrics_port is not None:
            sockets.append(bind(settings.metrics_port, "METRICS_PORT"))
    except SettingsError as exc:
        print(f"breakeven-bot: {exc}", file=sys.stderr)
        return 2
    # Counted in both processes into one directory, so enabled before the fork (bot/metrics.py).
    metrics.enable(Path(tempfile.mkdtemp(prefix="breakeven-metrics-")))
    # The work runs in a process of its own (bot/worker.py), forked now: nothing is open yet.
    worker = WorkerProcess.fork(settings, close_in_child=sockets)
    try:
        with _quiet("slack_sdk", "slack_bolt"):  # their retries would log a screenful: we say one line
            app, bot = build_app(settings)
    except Exception as exc:  # the database, or auth.test: a wrong token or an unreachable SLACK_API_URL
        worker.stop()
        metrics.disable()
        message = str(exc) if isinstance(exc, SettingsError) else _start_up_error(settings, exc)
        print(f"breakeven-bot: {message}", file=sys.stderr)
        return 2
    bot.owner, bot.hand_off = worker.owner, worker.hand_off
    from .health import database_check

    readiness = Readiness(
        [lambda: None if worker.alive else "the worker process has ended", database_check(str(settings.breakeven_db))]
    )
    ops = Ops(readiness, str(settings.breakeven_db), settings.metrics_path, settings.metrics_port)
    handler = None
    # SIGTERM is a clean stop, not death by signal (uvicorn stops serving, then raises the signal
    # again). The worker process's death ends in it too (bot/worker.py).
    signal.signal(signal.SIGTERM, _clean_exit)
    try:
        with contextlib.suppress(_Stopped):
            start_scheduler(app, bot)
            worker.go()  # it resumes what a previous process acked and did not finish
            if settings.socket_mode:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
                handler.connect()
                readiness.add(
                    lambda: None if handler.client.is_connected() else "the Socket Mode connection to Slack is down"
                )
                log.info("connected in Socket Mode; serving /healthz, /readyz and metrics on port %s", settings.port)
                endpoint = asgi(app, None, ops=ops)
            else:
                log.info("serving /slack/events, /healthz, /readyz and metrics on port %s", settings.port)
                endpoint = asgi(app, settings.slack_signing_secret.get_secret_value(), ops=ops)
            _serve(endpoint, sockets)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean stop short
        readiness.stopping()
        if handler is not None:
            handler.close()  # no more deliveries: what Slack sends now waits for the next start
        if bot.scheduler is not None:
            bot.scheduler.shutdown(wait=True)
        bot.shutdown(wait=False)
        worker.stop(settings.shutdown_timeout_s)  # it finishes the jobs it is running; the rest stay queued
        metrics.disable()
    return 1 if worker.failed else 0


def _serve(endpoint, sockets: list[socket.socket]) -> None:
    """uvicorn on the bound sockets, in this (main) thread: on SIGTERM it stops accepting, lets the
    requests in flight finish (5 s at most), and returns."""
    import uvicorn

    config = uvicorn.Config(
        endpoint, log_level="info", log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    uvicorn.Server(config).run(sockets=sockets)


class _Stopped(Exception):
    """SIGTERM: stop taking requests, let the worker finish what it has, exit."""


def _clean_exit(signum, frame) -> None:
    raise _Stopped


@contextlib.contextmanager
def _quiet(*names: str):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
