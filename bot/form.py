"""The guided form: a modal whose fields are the grammar's keys, read back into grammar text.

The form builds the same `key=value` text a user would type and hands it to the one grammar,
so a bad field gets the same message as a bad command, shown under that field.
"""

from __future__ import annotations

import json
import re
from functools import cache

from costcore.grammar import ALIASES, GrammarError, pairs, parse, to_text
from costcore.prices import MODES, list_api_models, list_gpus, money_of
from costcore.scenario import Scenario
from costcore.templates import catalogue

from .bounds import checked_scenario

CALLBACK_ID = "breakeven_form"
API_ACTION = "api_model"  # the external_select over the whole catalogue: options come from options_for()
CUSTOM = "custom"
FORM_PROVIDERS = ("openai", "anthropic", "google")  # listed first; every other provider is searchable
MAX_OPTIONS = 100  # Slack's limit for an options response
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


@cache
def _catalogue() -> tuple:
    """Every token-priced model of every provider, the form's three first (read once: 2,000 entries)."""
    models = [m for m in list_api_models() if not m.model_id.startswith("ft:")]
    rank = {p: i for i, p in enumerate(FORM_PROVIDERS)}
    models.sort(key=lambda m: (rank.get(m.provider, len(rank)), m.provider, m.model_id))
    return tuple(models)


def _today():
    import datetime as dt

    return dt.datetime.now(dt.UTC).date()


def _model_label(m, sheet=None) -> str:
    """A model with the price an analysis will use: yours where the price sheet has one in effect."""
    contract = sheet.api_price(m.provider, m.model_id, _today()) if sheet else None
    if contract is not None:
        return f"{m.model_id} ({m.provider}, yours ${contract.price_in:g}/${contract.price_out:g})"
    return f"{m.model_id} ({m.provider}, ${m.price_in:g}/${m.price_out:g})"


def options_for(query: str, sheet=None) -> list[dict]:
    """The API select's options for what the user typed (block_suggestion): matches on provider,
    model id or name, at most 100, with Custom price first when it matches."""
    words = query.lower().split()
    found = [m for m in _catalogue() if all(w in f"{m.provider}:{m.model_id} {m.name}".lower() for w in words)]
    options = [_option(m.ref, _model_label(m, sheet)) for m in found[: MAX_OPTIONS - 1]]
    if not words or "custom".startswith(words[0]):
        options.insert(0, _option(CUSTOM, "Custom price (type it below)"))
    return options[:MAX_OPTIONS]


def api_option(value: str, sheet=None) -> dict:
    """The option for a value already chosen (a scenario's api=...), its label from the catalogue."""
    if value == CUSTOM:
        return _option(CUSTOM, "Custom price (type it below)")
    lowered = value.lower()
    match = next((m for m in _catalogue() if lowered in (m.ref.lower(), m.model_id.lower())), None)
    return _option(value, _model_label(match, sheet) if match else value)


def template_options() -> list[dict]:
    return [_option(t.name, f"{t.name}: {t.title}") for t in catalogue()]


def gpu_options(sheet=None) -> list[dict]:
    """Each GPU with the price an analysis will use: yours where the price sheet has one in effect (in the
    mode it will be billed in when none is asked for), else the catalogue's."""
    options = []
    for g in list_gpus():
        contract = sheet.gpu_contract(g.id, _today(), billable=MODES)[0] if sheet else None
        if contract is None:
            price = g.price_label
        elif contract.mode == "owned":
            price = f"yours {money_of(contract.purchase)} owned"
        else:
            price = f"yours ${contract.price_per_hour:g}/h {contract.mode}"
        options.append(_option(g.id, f"{g.name} ({price})"))
    return options


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


def form_view(
    channel: str,
    scenario: Scenario | None = None,
    analysis_id: int | None = None,
    *,
    ask_id: int | None = None,
    sheet=None,
) -> dict:
    """The form, filled from a scenario; ask_id: a question asked in words, whose words the analysis keeps;
    sheet: your price sheet, whose prices the menus show where it has them."""
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
            blocks.append(_api_block(_initial_api(scenario, values), sheet))
        if block_id == "api_price":
            blocks.append(
                _select_block(
                    "gpu",
                    "Self-host on a GPU",
                    "Catalogue GPU at its typical $/h (default A10G); or fill one of the next two fields instead.",
                    gpu_options(sheet),
                    values.get("gpu", ""),
                )
            )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain("Rent or buy?"),
        "submit": _plain("Analyse"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(
            {"channel": channel, "analysis_id": analysis_id, **({"ask": ask_id} if ask_id is not None else {})}
        ),
        "blocks": blocks,
    }


def _initial_api(scenario: Scenario | None, values: dict[str, str]) -> str:
    """What the API select shows. A new form suggests gpt-4o-mini; an edited scenario shows exactly
    what it had (nothing, for a comparison with manual work or a per-request price), so that
    submitting it unchanged gives the same scenario."""
    if values.get("api"):
        return values["api"]
    if "api_price" in values:
        return CUSTOM
    return "gpt-4o-mini" if scenario is None else ""


def _api_block(initial: str, sheet=None) -> dict:
    element = {
        "type": "external_select",
        "action_id": API_ACTION,
        "placeholder": _plain("Search every provider's models"),
        "min_query_length": 0,
    }
    if initial:
        element["initial_option"] = api_option(initial, sheet)
    return {
        "type": "input",
        "block_id": "api",
        "optional": True,
        "label": _plain("API model"),
        "hint": _plain("Any provider in the bundled genai-prices catalogue: type to search (e.g. claude, gemini)."),
        "element": element,
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


def submitted_text(values: dict) -> str:
    """view.state.values -> grammar text."""
    parts = []
    for block_id in ("use", "volume", "in", "out", "api", "api_price", "gpu", "server", "host_price", "setup"):
        text = _value(values, block_id)
        if not text or (block_id == "api" and text == CUSTOM):
            continue
        parts.append(f"{block_id}={text}")
    extra = _value(values, "extra")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def _value(values: dict, block_id: str) -> str:
    element = next(iter(values.get(block_id, {}).values()), {})
    if "selected_option" in element or element.get("type", "").endswith("select"):
        return ((element.get("selected_option") or {}).get("value") or "").strip()
    return (element.get("value") or "").strip()


LABELS = {block_id: label for block_id, label, _hint, _placeholder in TEXT_FIELDS} | {
    "api": "API model",
    "gpu": "Self-host on a GPU",
}


def _extra_keys(extra: str) -> set[str]:
    try:
        return {ALIASES.get(key, key) for key, _value in pairs(extra)}
    except GrammarError:
        return set()


def read_form(values: dict) -> tuple[Scenario | None, str, dict[str, str]]:
    """(scenario, text, errors by block_id) for a submitted form. An error is shown under the field
    the user typed the bad value in: a key given in 'More assumptions' is blamed there, by name, and
    a conflict names the field it conflicts with."""
    text = submitted_text(values)
    if _value(values, "api") == CUSTOM and not _value(values, "api_price"):
        return None, text, {"api_price": "Give your API price, IN/OUT $ per 1M tokens, e.g. 2.5/10."}
    try:
        return checked_scenario(parse(text)), text, {}
    except GrammarError as exc:
        key = "volume" if exc.key == "tokens" and "tokens" not in _extra_keys(_value(values, "extra")) else exc.key
        in_extra = key in _extra_keys(_value(values, "extra")) or key not in FIELD_KEYS
        block = "extra" if in_extra else key
        problem = exc.problem
        for other, label in LABELS.items():  # "conflicts with `api`" -> which field that is
            problem = re.sub(rf"`{other}`(?=[:;])", f"`{other}` (the {label} field)", problem, count=1)
        message = f"`{exc.key}`: {problem}" if in_extra and exc.key else problem
        return None, text, {block: f"{message} Example: {exc.example}"[:300]}
