"""The one way the bot and the CLI build an openai client: measurements, the spend sync and asking
in plain words all go through `openai_client`.

The openai package is imported only when a client is built (about 0.65 s): nothing at start-up
talks to a model or even loads its client. A client always gets an explicit key (without one the
SDK would send OPENAI_API_KEY to whatever server it is pointed at), and one pointed at another
server than OpenAI's gets no organization or project header either.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

OPENAI_URL = "https://api.openai.com/v1"


def openai_client(
    *,
    api_key: str,
    base_url: str | None = None,
    timeout: float = 30.0,
    connect_timeout: float | None = None,
    max_retries: int = 0,
    admin_api_key: str | None = None,
    third_party: bool = False,
    transport: Any = None,
):
    """An openai.OpenAI for one server. A query string on base_url (?api-version=...) is sent with
    every request (and never shown); third_party drops the OPENAI_ORG_ID / OPENAI_PROJECT_ID headers
    the SDK would otherwise read from the environment and send along; `transport` (an httpx2
    transport) replaces the network (tests give a fake server that way)."""
    import openai  # about 0.65 s: only when a client is needed

    kwargs: dict[str, Any] = {
        "api_key": api_key,
        "max_retries": max_retries,
        "timeout": openai.Timeout(timeout, connect=min(connect_timeout or timeout, timeout)),
    }
    if admin_api_key is not None:
        kwargs["admin_api_key"] = admin_api_key
    if base_url is not None:
        parts = urlsplit(base_url.strip())
        kwargs["base_url"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        if parts.query:
            kwargs["default_query"] = dict(parse_qsl(parts.query))
    if transport is not None:
        import httpx2

        kwargs["http_client"] = httpx2.Client(transport=transport)
    client = openai.OpenAI(**kwargs)
    if third_party:
        client.organization = client.project = None
    return client


class LLMSettings(BaseSettings):
    """Asking in plain words: which model reads the message, where it runs, and the switch.

    Nothing is configured by default, and then nothing is ever sent anywhere: plain words get the
    grammar's help. BREAKEVEN_LLM_MODEL turns it on; BREAKEVEN_LLM_BASE_URL points it at your own
    OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama) instead of OpenAI's;
    BREAKEVEN_LLM_API_KEY (else OPENAI_API_KEY) is its key; BREAKEVEN_ASK=off turns it off whatever
    else is set."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Named as the environment names them: pydantic-settings would read an alias (or a bare MODEL) too.
    breakeven_ask: bool = True
    breakeven_llm_model: str | None = None
    breakeven_llm_base_url: str | None = None
    breakeven_llm_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    breakeven_llm_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # json_schema: structured outputs; json: JSON mode with the schema in the prompt (servers without
    # structured outputs); auto tries the first and falls back to the second if the server refuses it.
    breakeven_llm_mode: str = "auto"

    @field_validator("breakeven_llm_model", "breakeven_llm_base_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("breakeven_llm_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value.strip()).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8000/v1")
        return value

    @field_validator("breakeven_llm_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "json_schema", "json"):
            raise ValueError("must be auto, json_schema or json")
        return value

    @property
    def model(self) -> str | None:
        return self.breakeven_llm_model

    @property
    def base_url(self) -> str | None:
        return self.breakeven_llm_base_url

    @property
    def mode(self) -> str:
        return self.breakeven_llm_mode

    @property
    def timeout_s(self) -> float:
        return self.breakeven_llm_timeout_s

    @property
    def key(self) -> str | None:
        for secret in (self.breakeven_llm_api_key, self.openai_api_key):
            if secret is not None and secret.get_secret_value().strip():
                return secret.get_secret_value().strip()
        return None

    def secrets(self) -> list[Any]:
        """The keys, and any credential in the server's URL, for the log redactor (bot/redact.py)."""
        return [self.breakeven_llm_api_key, self.openai_api_key, self.breakeven_llm_base_url]

    @property
    def configured(self) -> bool:
        """On, with a model, and a key or a server of one's own (a local server may need no key)."""
        return self.breakeven_ask and self.model is not None and (self.key is not None or self.base_url is not None)

    @property
    def why_off(self) -> str:
        """One line for users on how to turn asking in plain words on (or that an admin turned it off)."""
        if not self.breakeven_ask:
            return "Asking in plain words is turned off here (BREAKEVEN_ASK=off)."
        return (
            "To ask in plain words, set BREAKEVEN_LLM_MODEL (and BREAKEVEN_LLM_API_KEY, or "
            "BREAKEVEN_LLM_BASE_URL for a model of your own): see docs/ask.md."
        )

    @property
    def where(self) -> str:
        """Where messages go, for people: the server's host, never a key or a query string."""
        parts = urlsplit(self.base_url or OPENAI_URL)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"

    def client(self, *, max_retries: int = 1):
        return openai_client(
            api_key=self.key or "no-key",
            base_url=self.base_url or OPENAI_URL,
            timeout=self.timeout_s,
            connect_timeout=min(10.0, self.timeout_s),
            max_retries=max_retries,
            third_party=self.base_url is not None,
        )


ENV_NAMES = {name: name.upper() for name in LLMSettings.model_fields}
