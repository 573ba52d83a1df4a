"""The guided form: a modal whose fields are the grammar's keys, read back into grammar text.

The form builds the same `key=value` text a user would type and hands it to the one grammar,
so a bad field gets the same message as a bad command, shown under that field.
"""

from __future__ import annotations

import json

from costcore.grammar import GrammarError, parse, to_text
from costcore.prices import list_api_models, list_gpus
from costcore.scenario import Scenario
from costcore.templates import catalogue

CALLBACK_ID = "breakeven_form"
CUSTOM = "custom"
FORM_PROVIDERS = ("openai", "anthropic", "google")
TEXT_FIELDS = (
    # block_id (= grammar key), label, hint, placeholder
    ("volume", "Volume", "Requests a month (or /day, /h), e.g. 2M/month, 50k/day; or 3B tokens/month.", "2M/month"),
    ("in", "Input tokens a request", "Prompt + examples + input on the API today (default 500).", "1500"),
    ("out", "Output tokens a request", "Default 200.", "200"),
    ("api_price", "Custom API price", "IN/OUT $ per 1M tokens, e.g. 2.5/10, when the API model is Custom.", "2.5/10"),
    ("server", "...or a fixed server cost", "$ a month for one serving instance, e.g. $800/month.", "$800/month"),
    ("host_price", "...or a per-token host", "$ per 1M tokens on a host of open models, e.g. 0.20.", "0.20"),
    (
        "setup",
        "One-time cost besides training",
        "Total $ of people's time, e.g. $12,000 (empty: typical hours).",
        "$12,000",
    ),
    (
        "extra",
        "More assumptions",
        "Any other key=value pairs, e.g. prompt_cut=80% capacity=30qps maint_h=6 "
        "privacy=yes. `/breakeven help` lists them.",
        "prompt_cut=80% maint_h=6",
    ),
)
FIELD_KEYS = {"volume", "tokens", "in", "out", "api", "api_price", "gpu", "server", "host_price", "setup", "use"}
USE_HINT = "Its typical volume, tokens, complexity and needs fill every field you leave empty; what you type wins."


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, text: str) -> dict:
    return {"text": _plain(text[:75]), "value": value[:150]}


def api_options() -> list[dict]:
    models = [m for m in list_api_models() if m.provider in FORM_PROVIDERS and not m.model_id.startswith("ft:")]
    models.sort(key=lambda m: (FORM_PROVIDERS.index(m.provider), m.model_id))
    options = [_option(m.model_id, f"{m.model_id} (${m.price_in:g}/${m.price_out:g})") for m in models[:98]]
    return [_option(CUSTOM, "Custom price (type it below)"), *options]


def template_options() -> list[dict]:
    return [_option(t.name, f"{t.name}: {t.title}") for t in catalogue()]


def gpu_options() -> list[dict]:
    return [_option(g.id, f"{g.name} (${g.price_per_hour:g}/h)") for g in list_gpus()]


def prefill(scenario: Scenario | None) -> dict[str, str]:
    """Form values from a scenario: each field its key's value, everything else in 'More assumptions'."""
    if scenario is None:
        return {}
    values: dict[str, str] = {}
    extra = []
    for part in to_text(scenario).split():
        key, value = part.split("=", 1)
        if key == "tokens":
            values["volume"] = f"{value.replace('/month', '')} tokens/month"
        elif key in FIELD_KEYS:
            values[key] = value
        else:
            extra.append(part)
    values["extra"] = " ".join(extra)
    return values


def form_view(channel: str, scenario: Scenario | None = None, analysis_id: int | None = None) -> dict:
    values = prefill(scenario)
    blocks: list[dict] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Fill what you know; empty fields take stated defaults, listed with the verdict.",
                }
            ],
        },
        _select_block("use", "Start from a use case", USE_HINT, template_options(), values.get("use", "")),
    ]
    for block_id, label, hint, placeholder in TEXT_FIELDS:
        element = {"type": "plain_text_input", "action_id": "value", "placeholder": _plain(placeholder)}
        if values.get(block_id):
            element["initial_value"] = values[block_id]
        if block_id == "extra":
            element["multiline"] = True
        block = {
            "type": "input",
            "block_id": block_id,
            "optional": True,  # an empty volume is the chosen use case's typical one, or the stated default
            "label": _plain(label),
            "hint": _plain(hint),
            "element": element,
        }
        blocks.append(block)
        if block_id == "out":
            blocks.append(
                _select_block(
                    "api",
                    "API model",
                    "Prices from the bundled genai-prices catalogue.",
                    api_options(),
                    values.get("api") or ("" if "api_price" in values else "gpt-4o-mini"),
                )
            )
        if block_id == "api_price":
            blocks.append(
                _select_block(
                    "gpu",
                    "Self-host on a GPU",
                    "Catalogue GPU at its typical $/h (default A10G); or fill one of the next two fields instead.",
                    gpu_options(),
                    values.get("gpu", ""),
                )
            )
    if "api_price" in values and not values.get("api"):
        _select(blocks, "api", CUSTOM)
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain("Rent or buy?"),
        "submit": _plain("Analyse"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps({"channel": channel, "analysis_id": analysis_id}),
        "blocks": blocks,
    }


def _select_block(block_id: str, label: str, hint: str, options: list[dict], initial: str) -> dict:
    element = {"type": "static_select", "action_id": "value", "options": options, "placeholder": _plain("Choose")}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": _plain(label),
        "hint": _plain(hint),
        "element": element,
    }


def _select(blocks: list[dict], block_id: str, value: str) -> None:
    for block in blocks:
        if block.get("block_id") == block_id:
            chosen = next(o for o in block["element"]["options"] if o["value"] == value)
            block["element"]["initial_option"] = chosen


def submitted_text(values: dict) -> str:
    """view.state.values -> grammar text."""

    def value(block_id: str) -> str:
        element = values.get(block_id, {}).get("value", {})
        if element.get("type") == "static_select":
            return ((element.get("selected_option") or {}).get("value") or "").strip()
        return (element.get("value") or "").strip()

    parts = []
    for block_id in ("use", "volume", "in", "out", "api", "api_price", "gpu", "server", "host_price", "setup"):
        text = value(block_id)
        if not text or (block_id == "api" and text == CUSTOM):
            continue
        parts.append(f"{block_id}={text}")
    extra = value("extra")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def read_form(values: dict) -> tuple[Scenario | None, str, dict[str, str]]:
    """(scenario, text, errors by block_id) for a submitted form."""
    text = submitted_text(values)
    api = values.get("api", {}).get("value", {}).get("selected_option") or {}
    if api.get("value") == CUSTOM and not values.get("api_price", {}).get("value", {}).get("value"):
        return None, text, {"api_price": "Give your API price, IN/OUT $ per 1M tokens, e.g. 2.5/10."}
    try:
        return parse(text), text, {}
    except GrammarError as exc:
        block = exc.key if exc.key in FIELD_KEYS else "extra"
        if exc.key == "tokens":
            block = "volume"
        message = f"{exc.problem} Example: {exc.example}"
        return None, text, {block: message[:300]}
