"""No credential in a log line: every kind of secret, however it is logged (message, arguments,
traceback, stack), through the one filter on the handler (bot/redact.py)."""

from __future__ import annotations

import io
import logging

import pytest

from bot.redact import REDACTED, RedactSecrets, quiet_http_clients, redact, redacting_handler, remember

# (what a log line may carry, the secret in it): one row per shape the redactor knows.
SHAPES = [
    ("token xoxb-1111-2222-AbCdEf", "1111-2222-AbCdEf"),
    ("user token xoxp-9-8-7-abc", "9-8-7-abc"),
    ("app token xapp-1-A01-123-abcdef", "1-A01-123-abcdef"),
    ("rotated xoxe.xoxb-1-abcdef", "1-abcdef"),
    ("OPENAI_API_KEY=sk-proj-Abc123_def456", "Abc123_def456"),
    ("admin sk-admin-ZZZ999yyy", "ZZZ999yyy"),
    ("Authorization: Bearer eyJhbGciOi.J9xx", "eyJhbGciOi.J9xx"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
    ('HTTP Request: GET http://alice:hunter22@10.0.0.5:8000/v1/models "HTTP/1.1 200 OK"', "hunter22"),
    ("POST https://ghp_tokenABC@git.example/x", "ghp_tokenABC"),
    ("POST http://10.0.0.5/v1/chat/completions?api-key=QS123&api-version=2024", "QS123"),
    ("GET /v1?access_token=AT777&x=1", "AT777"),
    ("GET /x?client_secret=CS888", "CS888"),
    ("GET /blob?sv=1&sig=SIG999", "SIG999"),
    ("GET /oauth?code=ONE-TIME-CODE&state=s", "ONE-TIME-CODE"),
    ("GET /x?password=pw12345", "pw12345"),
]


@pytest.mark.parametrize("line, secret", SHAPES)
def test_every_shape_of_secret_is_redacted(line, secret):
    cleaned = redact(line)
    assert secret not in cleaned and REDACTED in cleaned


@pytest.mark.parametrize(
    "line",
    [
        "a basic setup, bearer bonds, the key=value grammar",
        "GET https://design.example/?design=1&version=2&monkey=banana",  # 'key' in a value is no key
        "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g",
        "skip-the-line sk- short",
    ],
)
def test_ordinary_text_is_left_alone(line):
    assert redact(line) == line


def test_a_remembered_secret_with_no_shape_is_redacted_and_a_url_gives_its_credentials():
    remember("signing-secret-with-no-shape-42", "http://ops:MuchSecret9@10.0.0.9/v1?token=TkTk1234&v=2")
    assert redact("secret is signing-secret-with-no-shape-42.") == f"secret is {REDACTED}."
    # The password and the token are secrets on their own too, wherever they turn up without the URL.
    assert redact("auth failed for MuchSecret9 / TkTk1234") == f"auth failed for {REDACTED} / {REDACTED}"
    remember("short", None, 12345)  # too short to be told from a word, or not text: ignored
    assert redact("a short word") == "a short word"
    remember("http://10.0.0.7:8000/v1")  # a URL without credentials names a place, and stays readable
    assert redact("cannot reach http://10.0.0.7:8000/v1") == "cannot reach http://10.0.0.7:8000/v1"


def _logged(emit) -> str:
    stream = io.StringIO()
    logger = logging.getLogger("test.redact")
    logger.handlers[:] = [redacting_handler(stream)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.handlers[:] = []
        logger.propagate = True
    return stream.getvalue()


def test_the_filter_redacts_arguments_tracebacks_and_stacks():
    secret = "xoxb-42-42-TopSecretValue"

    def emit(logger):
        logger.info("posting with %s to %s", secret, "http://u:pw123456@h/v1?api-key=K999")
        try:
            raise RuntimeError(f"refused {secret}")
        except RuntimeError:
            logger.exception("failed")
        logger.warning("here", stack_info=True, extra={"unused": secret})

    text = _logged(emit)
    assert "TopSecretValue" not in text and "pw123456" not in text and "K999" not in text
    assert "Traceback" in text and "RuntimeError: refused xoxb-[redacted]" in text  # the traceback is kept


def test_a_record_is_redacted_for_any_formatter_on_the_handler():
    # Another formatter (say JSON) on the same handler gets the record already clean: the filter runs first.
    class JsonLike(logging.Formatter):
        def format(self, record):
            return repr({"msg": record.getMessage(), "exc": record.exc_text})

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonLike())
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s", ("sk-live-abcdefgh",), None)
    handler.handle(record)
    assert "abcdefgh" not in stream.getvalue() and "sk-[redacted]" in stream.getvalue()


def test_the_http_clients_request_lines_are_lowered():
    quiet_http_clients()
    for name in ("httpx2", "httpcore2", "httpx", "urllib3"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
