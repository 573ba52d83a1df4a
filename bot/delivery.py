"""How an answer reaches the person who asked: where to answer, the Web API client every call goes
through (texts escaped there, see render.finalize), ephemeral notes, and the command's
response_url when the channel itself refuses the bot."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from . import metrics
from .render import error_blocks, finalize_args

log = logging.getLogger("breakeven.bot")

METADATA_EVENT = "breakeven_answer"  # the event_type of the metadata every post of the bot carries

# The channel will not take the bot's post: the user can fix these, so say how.
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


@dataclass
class Where:
    """Who asked, where to answer, and the delivery that asked (the idempotency key)."""

    team: str
    channel: str
    user: str
    delivery: str
    thread_ts: str | None = None
    response_url: str | None = None
    job_uid: str | None = None  # carried in the posted message's metadata
    job_created: float | None = None  # messages of the job are not older than this
    resumed: bool = False  # claimed before: look for the job's message before posting


class SafeWebClient(WebClient):
    """A WebClient whose every call has its texts escaped and cut (render.finalize_args): one exit,
    so no message the bot sends can forget it."""

    def api_call(self, api_method, *, http_verb="POST", files=None, data=None, params=None, json=None, **kwargs):
        try:
            return super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=finalize_args(data),
                params=finalize_args(params),
                json=finalize_args(json),
                **kwargs,
            )
        except Exception as exc:  # counted by method and Slack's error (or the exception's kind), then raised
            status = getattr(getattr(exc, "response", None), "status_code", None)
            reason = slack_reason(exc)
            metrics.slack_error(api_method, f"http_{status}" if reason.startswith("Slack answered HTTP") else reason)
            raise


class NotSentRetryHandler(RetryHandler):
    """Retries a call that never reached Slack, and only that: the connection could not be made, or
    failed while the request was being sent (urllib wraps exactly those in URLError). A connection
    that drops after the request was sent, or an answer that comes too late, may follow a post Slack
    made: slack_sdk's ConnectionErrorRetryHandler retries those too, and posts a verdict twice.
    Those are left to the caller, which looks for the message before posting again (Bot.post)."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return isinstance(error, URLError) and not isinstance(error, HTTPError) and response is None


class UnavailableRetryHandler(RetryHandler):
    """HTTP 503 (`service_unavailable`): Slack did not take the call. Not 500: Slack documents
    `internal_error` and `fatal_error` as "it's possible some aspect of the operation succeeded"."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return response is not None and response.status_code == 503


def retry_handlers() -> list[RetryHandler]:
    """What every client of the bot retries: only what is known not to have arrived (bot/delivery.py)."""
    return [
        NotSentRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),  # 429: refused, to be sent again after Retry-After
        UnavailableRetryHandler(max_retry_count=2),
    ]


def may_have_arrived(exc: Exception) -> bool:
    """Whether a failed call may still have been carried out by Slack: the request was sent and no
    clear answer came back (the connection dropped, the answer came after the timeout, or Slack said
    internal_error / fatal_error). A refusal Slack answered, or a request never sent, did not arrive."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return status in (500, 502, 504) or error in ("internal_error", "fatal_error", "request_timeout")
    if isinstance(exc, URLError) and not isinstance(exc, HTTPError):
        return False
    return isinstance(exc, OSError | EOFError) or type(exc).__module__ == "http.client"


class Unconfirmed(Exception):
    """Slack never confirmed a post it may have made, and the message cannot be found (yet): the
    caller must neither say nothing was posted nor forget what it was posting."""

    def __init__(self, cause: Exception):
        super().__init__(f"{type(cause).__name__}: Slack did not confirm the post")
        self.cause = cause


def web_client(settings, token: str | None = None) -> SafeWebClient:
    """The bot's Web API client, from its settings (bot/settings.py): with the one bot token, or with
    `token` (a workspace's own, bot/oauth.py)."""
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return SafeWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=getattr(settings, "slack_timeout_s", 15.0),
        retry_handlers=retry_handlers(),
    )


def slack_reason(exc: Exception) -> str:
    if isinstance(exc, Unconfirmed):
        return f"{type(exc.cause).__name__}, unconfirmed"
    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        return error or f"Slack answered HTTP {exc.response.status_code}"
    return type(exc).__name__


def trusted_response_url(url: str | None, api_url: str | None) -> bool:
    """A response_url comes signed from Slack; still, only Slack's hosts (or the configured API host,
    for a test server) are ever called with it."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme == "https" and (parts.hostname or "").endswith(".slack.com"):
        return True
    api = urlsplit(api_url or "")
    return bool(api.hostname) and (parts.scheme, parts.hostname, parts.port) == (api.scheme, api.hostname, api.port)


class Responder:
    """Posts to a command's response_url (ephemeral), which works where the bot is not a member."""

    def __init__(self, api_url: str | None):
        self.api_url = api_url

    def send(self, url: str | None, text: str, blocks: list[dict] | None = None) -> bool:
        if not trusted_response_url(url, self.api_url):
            return False
        from slack_sdk.webhook import WebhookClient

        body = finalize_args({"response_type": "ephemeral", "text": text, "blocks": blocks or error_blocks(text)})
        try:
            response = WebhookClient(url, timeout=10, retry_handlers=retry_handlers()).send_dict(body)
        except Exception as exc:  # network: nothing else to try
            log.warning("response_url failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("response_url answered HTTP %s", response.status_code)
        return response.status_code == 200


def tell(
    client: WebClient, where: Where, text: str, responder: Responder | None = None, blocks: list[dict] | None = None
) -> bool:
    """An ephemeral message to the user who asked (a warning, unless blocks are given): in the channel,
    or else through the command's response_url (the channel may refuse the bot: not a member, archived),
    or else, where there is no response_url (a form, a button), in the user's direct messages with the bot."""
    blocks = blocks or error_blocks(text)
    try:
        client.chat_postEphemeral(channel=where.channel, user=where.user, text=text, blocks=blocks)
        return True
    except Exception as exc:
        reason = slack_reason(exc)
    if reason in NOT_IN_CHANNEL | {"user_not_in_channel"}:
        if responder is not None and responder.send(where.response_url, text, blocks):
            return True
        try:  # a user id as the channel: the app's own conversation with that user
            client.chat_postMessage(channel=where.user, text=text, blocks=blocks)
            return True
        except Exception as exc:
            log.warning(
                "could not tell %s in %s (%s) nor in a direct message: %s",
                where.user,
                where.channel,
                reason,
                slack_reason(exc),
            )
            return False
    log.warning("could not tell %s in %s: %s", where.user, where.channel, reason)
    return False


def unconfirmed(what: str, exc: Unconfirmed) -> str:
    """What the user reads when `what` may be in the channel but Slack never said so: never that
    nothing was posted or saved."""
    return (
        f"{what} may not have reached the channel: Slack did not confirm it ({type(exc.cause).__name__}). "
        "If it is not above, ask again."
    )


def undelivered(reason: str, what: str, saved: str) -> str:
    """What the user reads when `what` could not be posted: how to fix it when they can."""
    if reason in NOT_IN_CHANNEL:
        fix = {
            "is_archived": "this channel is archived: ask again in another one",
            "channel_not_found": "I cannot see this channel: invite me with `/invite @breakeven`, or ask in a "
            "channel I am in",
        }.get(reason, "I am not a member of this channel: invite me with `/invite @breakeven` and ask again")
        return f"{what} could not be posted ({reason}): {fix}. {saved}"
    return f"{what} could not be posted ({reason}); {saved} Try again in a minute."


def job_metadata(key: str) -> dict:
    """The message metadata that lets a post be found again: the key of the job (or guard) that made it."""
    return {"event_type": METADATA_EVENT, "event_payload": {"job": key}}


PAGES = 5  # 1,000 messages since the job was made: more than a crash or a lost answer leaves


def find_message(client: WebClient, channel: str, key: str | None, *, oldest: float, thread_ts: str | None = None):
    """The ts of the message carrying `key` in its metadata (job_metadata), posted since `oldest`, in
    the channel or the thread; None when there is none, or when Slack cannot be asked (posting again
    beats never answering)."""
    if not key:
        return None
    since = f"{max(oldest, 0):.6f}"
    try:
        cursor = None
        for _ in range(PAGES):
            if thread_ts:
                page = client.conversations_replies(
                    channel=channel, ts=thread_ts, oldest=since, include_all_metadata=True, limit=200, cursor=cursor
                )
            else:
                page = client.conversations_history(
                    channel=channel, oldest=since, include_all_metadata=True, limit=200, cursor=cursor
                )
            for message in page.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("job") == key:
                    return message.get("ts")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
    except Exception as exc:
        log.warning("could not look for the message of %s: %s", key, slack_reason(exc))
    return None


def post_guarded(
    client: WebClient, channel: str, key: str, claim: str, *, text: str, blocks: list[dict], look_back_s: float
) -> str:
    """Post a scheduled message whose guard row was claimed (claim: "new" or "retaken"): the ts. The post
    carries the guard's key, so that one Slack made without the bot hearing so (a lost answer, a process
    that died mid-post) is found instead of posted again: a retaken claim looks for it first, and a post
    that may have arrived is looked for before it counts as failed (then the exception is raised). The
    weekly summaries (bot/weekly.py) and the budget alerts (bot/budget.py) post through here."""
    since = time.time() - look_back_s
    ts = find_message(client, channel, key, oldest=since) if claim == "retaken" else None
    if ts is not None:
        return ts
    try:
        return client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, metadata=job_metadata(key)
        )["ts"]
    except Exception as exc:
        unanswered = may_have_arrived(exc)
        ts = find_message(client, channel, key, oldest=since) if unanswered else None
        if unanswered:  # counted with the jobs' posts Slack did not answer (bot/metrics.py)
            metrics.post_unanswered("found" if ts else "unconfirmed")
        if ts is None:
            raise
        return ts


def find_file(client: WebClient, channel: str, thread_ts: str, filename: str, *, oldest: float) -> str | None:
    """The id of a file named `filename` shared in the thread since `oldest`, if any."""
    since = f"{max(oldest, 0):.6f}"
    try:
        cursor = None
        for _ in range(PAGES):
            page = client.conversations_replies(channel=channel, ts=thread_ts, oldest=since, limit=200, cursor=cursor)
            for message in page.get("messages") or []:
                for file in message.get("files") or []:
                    if file.get("name") == filename:
                        return file.get("id") or "uploaded"
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
    except Exception as exc:  # uploading again beats never attaching it
        log.warning("could not look for %s: %s", filename, slack_reason(exc))
    return None


class Throttled:
    """One log line per `every` seconds for a kind of event, with the count of those not logged."""

    def __init__(self, logger: logging.Logger, every: float = 60.0):
        self.logger, self.every = logger, every
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self.every) < self.every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now
        suffix = f" ({skipped} more since the last line)" if skipped else ""
        self.logger.warning(message + suffix, *args)
