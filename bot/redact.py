"""No credential in any log line or stored row: one redactor for every secret the bot may hold or be given.

Two kinds of secret are recognised:
- by shape: Slack tokens (`xoxb-`, `xoxp-`, `xapp-`, ...), OpenAI-style keys (`sk-...`, `sk-admin-...`),
  `Bearer`/`Basic` credentials, and credentials in URLs (`user:password@host`, and query parameters
  whose names say key, token, secret, password, signature, auth, credential or code);
- by value: every secret the process was given that has no shape to match (the signing secret, an
  endpoint's key read from the environment, a password in a URL): `remember()` them as they are
  read (bot/settings.py, bot/measure.py), and they are redacted wherever they appear.

`RedactSecrets` is the one logging filter: put it on every handler (not on a logger, which only
sees its own records), and every formatter (plain or JSON) gets records whose message, arguments,
traceback and stack are already redacted. `quiet_http_clients()` lowers the HTTP clients' own
request logs (httpx2, under the openai SDK, logs every URL at INFO), which the filter would redact
anyway.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "[redacted]"
MIN_SECRET = 6  # a shorter "secret" would redact ordinary words all over the log
# A query parameter named like a credential: a word of its name (api-key, access_token, x.sig) says so.
CREDENTIAL_NAME = (
    r"(?:[\w.\-]*[_.\-])?(?:api[_\-]?key|apikey|key|token|secret|passw(?:or)?d|pwd|signature|sig|auth"
    r"|authorization|credentials?|code)(?:[_.\-][\w.\-]*)?"
)

_SHAPES = (
    # Slack tokens: bot, user, app-level, refresh and configuration tokens
    (re.compile(r"\b(xox[abposre]-|xapp-|xoxe\.xox[bp]-|xoxe-)[A-Za-z0-9-]+"), r"\1" + REDACTED),
    # OpenAI and OpenAI-compatible keys: sk-..., sk-proj-..., sk-admin-..., rk-..., pk-...
    (re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_*\-]{6,}"), r"\1-" + REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?\w+\s+)[^\s'\",}]+"), r"\1" + REDACTED),
    # user:password@ (or a lone token@) in any URL
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@"), r"\1" + REDACTED + "@"),
    # ?api-key=..., &access_token=..., ?sig=...: a query parameter whose name says it is a credential
    (re.compile(r"(?i)([?&;]" + CREDENTIAL_NAME + r"=)[^&#\s'\"<>]+"), r"\1" + REDACTED),
)

_known: set[str] = set()
_known_lock = threading.Lock()
_known_pattern: re.Pattern | None = None


def remember(*values: object) -> None:
    """Secrets given to this process (a SecretStr, a str, None): redacted wherever they appear.
    A URL is remembered by its credentials (the password, query values of credential-like names)."""
    global _known_pattern
    added = False
    for value in values:
        secret = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if not isinstance(secret, str):
            continue
        # A URL is no secret (it names where a request went): only the credentials in it are.
        for part in _url_credentials(secret) if "://" in secret else [secret]:
            part = part.strip()
            if len(part) >= MIN_SECRET and part not in _known:
                with _known_lock:
                    _known.add(part)
                added = True
    if added:
        with _known_lock:
            # Longest first: a secret that contains another is redacted whole.
            ordered = sorted(_known, key=len, reverse=True)
            _known_pattern = re.compile("|".join(re.escape(s) for s in ordered))


def _url_credentials(text: str) -> list[str]:
    """The password of user:password@ and the values of credential-like query parameters, when
    text is a URL; nothing otherwise."""
    if "://" not in text:
        return []
    try:
        parts = urlsplit(text.strip())
        found = [unquote(parts.password)] if parts.password else []
        if parts.username and not parts.password:
            found.append(unquote(parts.username))  # https://TOKEN@host
        for name, value in parse_qsl(parts.query):
            if re.fullmatch(CREDENTIAL_NAME, name, re.IGNORECASE):
                found.append(value)
        return found
    except ValueError:
        return []


def redact(text: str) -> str:
    """The text with every secret, known or recognised by its shape, replaced by [redacted]."""
    if not text:
        return text
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Secrets never reach a log line, whoever logs them, whatever formats them: put it on the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call (wrong argument count): shown as the logging module would
            message = f"{record.msg} {record.args}"
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted once here, redacted, and handed on as text: no formatter formats it again.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# Loggers that log every request with its URL (httpx2 at INFO: `HTTP Request: POST http://...`), or
# the request's headers and body at DEBUG: only their warnings are worth a line.
HTTP_CLIENT_LOGGERS = ("httpx2", "httpcore2", "httpx", "httpcore", "urllib3", "openai._base_client")


def quiet_http_clients() -> None:
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def redacting_handler(stream=None, fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> logging.Handler:
    """A stream handler whose every record is redacted first (the bot's and the command line's)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter(fmt))
    return handler
