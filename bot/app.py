"""build_app(settings) -> (App, Bot); main() runs Socket Mode, or HTTP under uvicorn.

Listeners store the work as a job and ack (process_before_response, with our own worker lanes):
the HTTP response leaves as soon as the listener returns, and analysis, chart and upload follow
on a worker, so Slack's 3-second limit is never at risk and a restart loses nothing. main() runs
those workers in a process of its own (bot/worker.py); build_app alone runs them on this
process's threads (tests, tools).

HTTP requests pass a front door first (`asgi`): the signature and timestamp are checked on the raw
body before anything parses it (401), then the body must parse and hold what the listeners read
(bot/payloads.py; 400); neither logs a traceback.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import signal
import socket
import sys
import time
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from .delivery import Throttled, web_client
from .listeners import register
from .payloads import problem as payload_problem
from .redact import RedactSecrets, quiet_http_clients, redact, redacting_handler  # noqa: F401 (RedactSecrets: its old home)
from .service import Bot
from .settings import Settings, SettingsError, load_settings
from .store import Store, StoreError
from .worker import WorkerProcess

log = logging.getLogger("breakeven.bot")


def build_app(settings: Settings, *, store: Store | None = None) -> tuple[App, Bot]:
    """The Bolt app and the bot behind it, running its jobs on this process's lanes. Unfinished jobs
    are not resumed here: call bot.resume() once the app is ready to serve (main's worker process
    does, bot/worker.py). Serve it over HTTP only through `asgi` (the app does not check signatures
    itself: that door does, once)."""
    client = web_client(settings)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value() or None,
        # HTTP requests reach the app only through `asgi`, which has verified the raw body before
        # anything parsed it: Bolt's own check would hash the same body a second time on every ack.
        # Socket Mode requests are not signed at all.
        request_verification_enabled=False,
        process_before_response=True,
        token_verification_enabled=True,
    )
    bot = Bot(store=store or Store(settings.breakeven_db), settings=settings, client=client, admins=settings.admins)
    if settings.socket_mode:  # HTTP requests are checked at the front door (`asgi`), before Bolt
        app.use(PayloadCheck())
    register(app, bot)
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
    """Weekly summaries, in-process: one cron job per channel that asked for them."""
    from .weekly import build_scheduler, parse_weekly, set_weekly_channel, weekly_channel

    settings = bot.settings
    if settings is not None and settings.weekly_channel:
        options = parse_weekly(f"{settings.weekly_channel} {settings.weekly_schedule}")
        team = app.client.auth_test()["team_id"]
        if weekly_channel(bot.store, team, options["channel"]) is None:
            set_weekly_channel(
                bot.store, team, options["channel"], options["day"], options["time"], options["tz"], options["quiet"]
            )
    bot.scheduler = build_scheduler(app.client, bot.store, settings)
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


def asgi(app: App, signing_secret: str, path: str = "/slack/events"):
    """Slack's endpoint plus /healthz, as one ASGI application for uvicorn. Verify first, parse second."""
    if not signing_secret:
        raise SettingsError("SLACK_SIGNING_SECRET is missing: HTTP mode needs it")
    secret = signing_secret
    _rejected = Throttled(log)  # junk can come in floods: one line a minute, with a count

    async def reply(send, status: int, body: bytes = b"", content_type: bytes = b"text/plain", headers=()) -> None:
        extra = [(k.encode(), v.encode()) for k, values in headers for v in values]
        start = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": start + extra})
        await send({"type": "http.response.body", "body": body})

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
        if scope["path"] == "/healthz":
            await reply(send, 200, b"ok")
            return
        if scope["path"] != path or scope["method"] != "POST":
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
        response = app.dispatch(request)
        content = response.body.encode() if isinstance(response.body, str) else (response.body or b"")
        content_type = (response.headers.get("content-type") or ["text/plain"])[0].encode()
        others = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")]
        await reply(send, response.status, content, content_type, others)

    return application


def _configure_logging() -> None:
    """One handler, on the root logger, that redacts every record before any formatter sees it
    (bot/redact.py); uvicorn's records come to it too (log_config=None below)."""
    root = logging.getLogger()
    root.handlers[:] = [redacting_handler()]
    root.setLevel(logging.INFO)
    quiet_http_clients()


def bind(port: int) -> socket.socket:
    """The listening socket, bound before anything else starts: a busy PORT is a start-up error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("0.0.0.0", port))
    except OSError as exc:
        sock.close()
        raise SettingsError(f"PORT {port} cannot be used: {exc.strerror}") from None
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
        sock = None if settings.socket_mode else bind(settings.port)
    except SettingsError as exc:
        print(f"breakeven-bot: {exc}", file=sys.stderr)
        return 2
    # The work runs in a process of its own (bot/worker.py), forked now: nothing is open yet.
    worker = WorkerProcess.fork(settings, close_in_child=[sock] if sock else [])
    try:
        with _quiet("slack_sdk", "slack_bolt"):  # their retries would log a screenful: we say one line
            app, bot = build_app(settings)
    except Exception as exc:  # the database, or auth.test: a wrong token or an unreachable SLACK_API_URL
        worker.stop()
        message = str(exc) if isinstance(exc, SettingsError) else _start_up_error(settings, exc)
        print(f"breakeven-bot: {message}", file=sys.stderr)
        return 2
    bot.owner, bot.hand_off = worker.owner, worker.hand_off
    # SIGTERM is a clean stop, not death by signal (under uvicorn: once it has stopped serving, as it
    # raises the signal again). The worker process's death ends in it too (bot/worker.py).
    signal.signal(signal.SIGTERM, _clean_exit)
    try:
        with contextlib.suppress(_Stopped):
            start_scheduler(app, bot)
            worker.go()  # it resumes what a previous process acked and did not finish
            if settings.socket_mode:
                from slack_bolt.adapter.socket_mode import SocketModeHandler

                log.info("starting in Socket Mode")
                SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
            else:
                import uvicorn

                log.info("serving /slack/events and /healthz on port %s", settings.port)
                endpoint = asgi(app, settings.slack_signing_secret.get_secret_value())
                # log_config=None: uvicorn's lines go through the root handler, redacted like every other
                config = uvicorn.Config(endpoint, log_level="info", access_log=False, lifespan="off", log_config=None)
                uvicorn.Server(config).run(sockets=[sock])
    finally:
        bot.shutdown(wait=False)
        worker.stop()  # it finishes the jobs it has
    return 1 if worker.failed else 0


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
