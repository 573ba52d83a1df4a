"""Asking in plain words: the message to a chat model, its answer checked by costcore.ask.

    understand(text, settings) -> (Understood, Usage)     # AskError: a clear reason, nothing stored

Only the message (masked: costcore.ask.mask_secrets) and, for a follow-up, the current grammar line
ever leave, with the fixed instructions and the schema; never history, other channels or spend.
The server's structured outputs are used where it has them (`response_format` with the JSON
Schema generated from the key table); a server that refuses them gets JSON mode with the schema
in the prompt (BREAKEVEN_LLM_MODE=auto, the default; `json_schema` or `json` forces one). Every
answer is validated with pydantic; an invalid one is asked again once, with the error. A refusal,
a cut-off answer, a timeout, a 429 or any other failure is an AskError whose message says what
happened; the caller stores nothing then.

Each parse logs its model, tokens, price (genai-prices, the same catalogue as the analyses) and
latency on the `breakeven.ask` logger.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from costcore.ask import MAX_MESSAGE, Understood, check, json_schema, mask_secrets, messages, understanding_model

from .llm_client import LLMSettings

log = logging.getLogger("breakeven.ask")

MAX_ANSWER_TOKENS = 2000  # the whole form with every key null is about 500; a longer answer is a runaway
_NO_SCHEMA: set[tuple[str, str]] = set()  # (server, model) that refused structured outputs: JSON mode next time
_NO_SCHEMA_LOCK = threading.Lock()


class AskError(Exception):
    """The model could not give a usable answer: `kind` for tests and logs, the message for people."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Usage:
    """What one parse cost: tokens over every attempt, the list price of those tokens, the time."""

    model: str
    server: str
    mode: str = "json_schema"
    attempts: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None  # None: the model is not in the price catalogue
    latency_s: float = 0.0
    costs: list[float | None] = field(default_factory=list, repr=False)

    @property
    def cost_text(self) -> str:
        return "not in the price catalogue" if self.cost is None else f"${self.cost:.6f}"

    def line(self) -> str:
        return (
            f"{self.model} at {self.server}: {self.tokens_in:,} + {self.tokens_out:,} tokens, {self.cost_text}, "
            f"{self.latency_s:.1f} s"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "server": self.server,
            "mode": self.mode,
            "attempts": self.attempts,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost": self.cost,
            "latency_s": round(self.latency_s, 3),
        }


def _price(model: str):
    """genai-prices' price object for the model, or None (a model of one's own is not in it)."""
    from costcore.prices import PriceError, quote_model

    try:
        return quote_model(model)[1]
    except PriceError:
        return None


def _add_usage(usage: Usage, completion: Any, price: Any) -> None:
    from costcore.prices import per_request_cost

    counted = getattr(completion, "usage", None)
    tokens_in = int(getattr(counted, "prompt_tokens", 0) or 0)
    tokens_out = int(getattr(counted, "completion_tokens", 0) or 0)
    usage.tokens_in += tokens_in
    usage.tokens_out += tokens_out
    # Priced request by request, as billed (a tiered price applies to a request's own tokens).
    usage.costs.append(per_request_cost(price, tokens_in, tokens_out, 0.0) if price is not None else None)
    usage.cost = None if price is None else sum(c for c in usage.costs if c is not None)


def _json_part(content: str) -> str:
    """The JSON object in an answer: as it is, or out of a ```json fence or surrounding words."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.S)
    if fenced:
        return fenced[1]
    if not text.startswith("{") and "{" in text and "}" in text:
        return text[text.index("{") : text.rindex("}") + 1]
    return text


def _short(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "the answer"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg')}{more}"


def understand(
    text: str,
    settings: LLMSettings,
    *,
    current_line: str | None = None,
    client: Any = None,
) -> tuple[Understood, Usage]:
    """Read a message (a new question, or with current_line a follow-up to that line) with the
    configured model; the checked understanding and what it cost. AskError when no usable answer came."""
    import openai

    masked, count = mask_secrets(text[:MAX_MESSAGE])
    usage = Usage(model=settings.model or "?", server=settings.where)
    key = (settings.base_url or "openai", settings.model or "")
    mode = "json" if settings.mode == "json" or (settings.mode == "auto" and key in _NO_SCHEMA) else "json_schema"
    chat = messages(masked, follow_up_line=current_line, schema_in_prompt=mode == "json")
    own_client = client is None
    client = client or settings.client()
    price = _price(settings.model or "")
    started = time.monotonic()
    outcome = "ok"
    try:
        for attempt in (1, 2):
            completion, mode, chat = _complete(client, settings, chat, mode, key, masked, current_line)
            usage.mode = mode
            usage.attempts += 1
            _add_usage(usage, completion, price)
            choice = completion.choices[0]
            message = choice.message
            if getattr(message, "refusal", None):
                raise AskError(
                    "refusal",
                    f"The model declined to read this message (it said: “{str(message.refusal)[:200]}”). "
                    "Nothing was stored. Rephrase it, or type the scenario as key=value pairs.",
                )
            if choice.finish_reason == "length":
                raise AskError(
                    "length",
                    "The model's answer was cut off before it ended (its length limit), so it cannot be read. "
                    "Nothing was stored. Try a shorter message, or type the scenario as key=value pairs.",
                )
            if choice.finish_reason == "content_filter":
                raise AskError(
                    "refusal",
                    "The model's provider filtered its answer, so there is nothing to read. Nothing was stored. "
                    "Rephrase the message, or type the scenario as key=value pairs.",
                )
            content = message.content or ""
            try:
                answer = understanding_model().model_validate_json(_json_part(content))
            except ValidationError as exc:
                if attempt == 2:
                    raise AskError(
                        "invalid",
                        f"The model answered twice with something that is not the form it was given ({_short(exc)}). "
                        "Nothing was stored. Try again, or type the scenario as key=value pairs.",
                    ) from None
                chat = chat + [
                    {"role": "assistant", "content": content[:4000]},
                    {
                        "role": "user",
                        "content": f"That answer does not match the JSON Schema: {_short(exc)}. Answer again with "
                        "the JSON object only.",
                    },
                ]
                continue
            understood = check(answer, masked, current_line=current_line)
            understood.masked = count
            return understood, usage
        raise AssertionError("unreachable")
    except AskError as exc:
        outcome = exc.kind
        raise
    except openai.APITimeoutError:
        outcome = "timeout"
        raise AskError(
            "timeout",
            f"The model at {settings.where} did not answer within {settings.timeout_s:g} s. Nothing was stored. "
            "Try again in a minute, or type the scenario as key=value pairs.",
        ) from None
    except openai.RateLimitError as exc:
        outcome = "rate_limited"
        wait = (exc.response.headers.get("retry-after") or "").strip()
        when = f"in {wait} s" if wait.isdigit() else "in a minute"
        raise AskError(
            "rate_limited",
            f"The model at {settings.where} is busy: it answered HTTP 429 (too many requests). Nothing was stored. "
            f"Try again {when}, or type the scenario as key=value pairs.",
        ) from None
    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
        outcome = "key_refused"
        raise AskError(
            "key_refused",
            f"The model at {settings.where} refused the key (HTTP {exc.status_code}): an admin checks "
            "BREAKEVEN_LLM_API_KEY. Nothing was stored.",
        ) from None
    except openai.NotFoundError:
        outcome = "no_model"
        raise AskError(
            "no_model",
            f"The server at {settings.where} has no model '{settings.model}' (HTTP 404): an admin checks "
            "BREAKEVEN_LLM_MODEL. Nothing was stored.",
        ) from None
    except openai.APIConnectionError:
        outcome = "unreachable"
        raise AskError(
            "unreachable",
            f"The model at {settings.where} cannot be reached. Nothing was stored. Try again later, or type the "
            "scenario as key=value pairs.",
        ) from None
    except openai.APIStatusError as exc:
        outcome = f"http_{exc.status_code}"
        raise AskError(
            "status",
            f"The model at {settings.where} answered HTTP {exc.status_code}. Nothing was stored. Try again later, "
            "or type the scenario as key=value pairs.",
        ) from None
    finally:
        usage.latency_s = time.monotonic() - started
        if own_client:
            client.close()
        log.info(
            "ask: %s %s, %s attempt(s), %d + %d tokens, %s, %.2f s, %s",
            "follow-up" if current_line is not None else "question",
            usage.model,
            usage.attempts,
            usage.tokens_in,
            usage.tokens_out,
            usage.cost_text,
            usage.latency_s,
            outcome,
        )


def _complete(client, settings: LLMSettings, chat: list[dict], mode: str, key, masked: str, current_line):
    """One chat completion: (completion, the mode it was made in, the messages it was made with). In auto
    mode a server that refuses the request with structured outputs (400 or 422: no json_schema, or no
    max_completion_tokens) is asked again at once in JSON mode, with the schema in the prompt and the
    older max_tokens, and from then on."""
    import openai

    try:
        return _create(client, settings, chat, mode), mode, chat
    except (openai.BadRequestError, openai.UnprocessableEntityError):
        if mode != "json_schema" or settings.mode != "auto":
            raise
    with _NO_SCHEMA_LOCK:
        _NO_SCHEMA.add(key)
    log.info("ask: %s refused structured outputs: JSON mode with the schema in the prompt", settings.where)
    chat = messages(masked, follow_up_line=current_line, schema_in_prompt=True) + chat[2:]
    return _create(client, settings, chat, "json"), "json", chat


def _create(client, settings: LLMSettings, chat: list[dict], mode: str):
    if mode == "json_schema":
        return client.chat.completions.create(
            model=settings.model,
            messages=chat,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "breakeven_scenario", "strict": True, "schema": json_schema()},
            },
            max_completion_tokens=MAX_ANSWER_TOKENS,
        )
    # JSON mode: what servers without structured outputs (and older OpenAI-compatible ones) take.
    return client.chat.completions.create(
        model=settings.model, messages=chat, response_format={"type": "json_object"}, max_tokens=MAX_ANSWER_TOKENS
    )


def schema_text() -> str:
    """The schema as sent, for docs and debugging."""
    return json.dumps(json_schema(), indent=2)
