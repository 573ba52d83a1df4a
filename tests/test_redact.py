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


def _secret_fields(model) -> list[str]:
    """The fields of a settings model that hold a secret (SecretStr, or SecretStr | None)."""
    from pydantic import SecretStr

    return [name for name, field in model.model_fields.items() if "SecretStr" in str(field.annotation)
            or field.annotation is SecretStr]  # fmt: skip


def test_every_secret_setting_is_remembered_by_the_redactor(monkeypatch, tmp_path):
    # Generated from the settings models: a secret field added to Settings or to the plain-words model's
    # settings (bot/llm_client.py) without reaching Settings.secrets() goes red here. The values have no
    # shape the redactor knows, so only the remembered value can hide them.
    from bot.llm_client import LLMSettings
    from bot.settings import ENV_NAMES, Settings, load_settings

    monkeypatch.chdir(tmp_path)  # no .env
    for name in [*ENV_NAMES.values(), "OPENAI_API_KEY"]:
        monkeypatch.delenv(name, raising=False)
    fields = _secret_fields(Settings) + _secret_fields(LLMSettings)
    assert {"slack_client_secret", "slack_state_secret", "breakeven_llm_api_key", "openai_api_key"} <= set(fields)
    prefixes = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}
    values = {name: f"{prefixes.get(name, '')}{name.replace('_', '')}-NoShape-{i}42" for i, name in enumerate(fields)}
    # Many workspaces (the OAuth secrets) exclude the one bot token: each set is loaded on its own.
    one = {k: v for k, v in values.items() if k not in ("slack_client_secret", "slack_state_secret")}
    many = {k: v for k, v in values.items() if k != "slack_bot_token"}
    for chosen, extra in ((one, {}), (many, {"SLACK_CLIENT_ID": "1111.2222"})):
        for name, value in {**chosen, **{k.lower(): v for k, v in extra.items()}}.items():
            monkeypatch.setenv(name.upper(), value)
        load_settings()
        for name in chosen:
            monkeypatch.delenv(name.upper())
    for name, value in values.items():
        line = f"{name} was {value}!"
        assert value not in redact(line), name


def test_a_workspace_token_saved_or_read_at_run_time_is_redacted(tmp_path):
    # Many workspaces: tokens arrive after start-up (an install), or are read from the database another
    # process saved them in. Either way they are redacted, shape or no shape.
    from slack_sdk.oauth.installation_store import Bot as InstalledBot

    from bot.oauth import SQLiteInstallations
    from bot.store import Store

    store = Store(tmp_path / "ws.db")
    installations = SQLiteInstallations(store)
    saved = "ws-token-NoShape-saved-1717"
    installations.save_bot(InstalledBot(team_id="TS", bot_token=saved, bot_id="B", bot_user_id="U", installed_at=1.0))
    assert saved not in redact(f"posting with {saved}")
    read = "ws-token-NoShape-read-1818"  # written by the other process: this one first meets it reading
    with store.db.conn:
        store.db.execute("INSERT INTO workspaces (team, bot_token, installed) VALUES ('TR', ?, 1.0)", [read])
    assert read in redact(f"posting with {read}")  # not met yet: nothing to know it by
    assert installations.find_bot(enterprise_id=None, team_id="TR").bot_token == read
    assert read not in redact(f"posting with {read}")


def test_json_logs_are_redacted_tracebacks_included(capsys):
    # LOG_FORMAT=json sits on the redacting handler: the message, its arguments and the traceback it
    # carries as `exception` are redacted before the JSON is made.
    import json

    from bot import logs

    remember("json-secret-NoShape-2020")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("json")
        try:
            raise RuntimeError("refused json-secret-NoShape-2020 and xoxb-77-JsonToken")
        except RuntimeError:
            logging.getLogger("breakeven.test").exception("posting with %s failed", "sk-proj-JsonKey12345")
    finally:
        root.handlers[:], root.level = handlers, level
    (line,) = [json.loads(text) for text in capsys.readouterr().err.splitlines()]
    assert line["message"] == "posting with sk-[redacted] failed"
    assert "Traceback" in line["exception"]
    assert "RuntimeError: refused [redacted] and xoxb-[redacted]" in line["exception"]
    assert "NoShape" not in json.dumps(line) and "JsonToken" not in json.dumps(line)
