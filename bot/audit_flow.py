"""The guided hidden-cost audit as a five-step modal: views, and answers read back from them.

Pure Block Kit (dicts) in, audit answers out: no Slack client, no database. The modal carries
its state in private_metadata (the answers so far as audit text, the step, where to answer),
so every step can be rebuilt from the view Slack sends back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from costcore.audit import ACTIVITIES, AuditInput
from costcore.grammar import GrammarError, audit_to_text, parse_audit
from costcore.prices import list_gpus

from .bounds import checked_audit

CALLBACK_ID = "audit_step"
BACK_ACTION = "audit_back"
STEP_TITLES = ("1/5 The task", "2/5 Data work", "3/5 Evaluation", "4/5 Infra and ops", "5/5 Rate and runs")
STEP_GROUPS = {1: ("data",), 2: ("eval",), 3: ("infra", "ops")}

COMPLEXITY_OPTIONS = (
    ("well-defined", "Well-defined (re-work 2-3x)"),
    ("medium", "Medium complexity (4-6x)"),
    ("novel", "Novel or complex (8-10x)"),
)
TASK_OPTIONS = (
    ("narrow", "Narrow and repetitive"),
    ("mixed", "Mixed: a narrow core, some varied work"),
    ("varied", "Open-ended and varied"),
    ("reasoning", "Reasoning-heavy"),
)


@dataclass
class AuditState:
    """What the modal carries between steps."""

    step: int = 0
    answers: str = ""  # audit text, parse_audit() turns it into AuditInput
    channel: str = ""
    thread_ts: str | None = None
    analysis_id: int | None = None

    def dump(self) -> str:
        return json.dumps(
            {"s": self.step, "a": self.answers, "c": self.channel, "t": self.thread_ts, "i": self.analysis_id}
        )

    @classmethod
    def load(cls, text: str) -> AuditState:
        data = json.loads(text or "{}")
        return cls(
            step=data.get("s", 0),
            answers=data.get("a", ""),
            channel=data.get("c", ""),
            thread_ts=data.get("t"),
            analysis_id=data.get("i"),
        )

    def input(self) -> AuditInput:
        return parse_audit(self.answers)


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, label: str) -> dict:
    return {"text": _plain(label), "value": value}


def _text_input(block_id: str, label: str, initial: str, hint: str, optional: bool = False) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "hint": _plain(hint),
        "element": {"type": "plain_text_input", "action_id": "value", "initial_value": initial},
    }


def _select(block_id: str, label: str, options, initial: str, hint: str, radio: bool = False) -> dict:
    opts = [_option(value, text) for value, text in options]
    chosen = next(o for o in opts if o["value"] == initial)
    element = {
        "type": "radio_buttons" if radio else "static_select",
        "action_id": "value",
        "options": opts,
        "initial_option": chosen,
    }
    return {"type": "input", "block_id": block_id, "label": _plain(label), "hint": _plain(hint), "element": element}


def _num(value: float) -> str:
    return f"{value:g}"


def step_blocks(step: int, answers: AuditInput) -> list[dict]:
    if step == 0:
        return [
            _select(
                "complexity",
                "How well defined is the task?",
                COMPLEXITY_OPTIONS,
                answers.complexity,
                "First attempts rarely work: this sets the iteration multiplier range.",
            ),
            _select(
                "task",
                "What kind of task is it?",
                TASK_OPTIONS,
                answers.task,
                "Varied or reasoning-heavy work is beyond a small fine-tuned model.",
                radio=True,
            ),
        ]
    if step in STEP_GROUPS:
        blocks = []
        for activity in ACTIVITIES:
            if activity.group not in STEP_GROUPS[step]:
                continue
            per = " a month" if activity.group == "ops" else ""
            blocks.append(
                _text_input(
                    activity.key,
                    f"{activity.label} (hours{per})",
                    _num(answers.hours_of(activity)),
                    f"Typical {activity.low:g}-{activity.high:g} h{per}.",
                )
            )
        return blocks
    gpu_options = [("", "Not decided")] + [(g.id, f"{g.name} ({g.price_label})") for g in list_gpus()]
    gpu_select = {
        "type": "static_select",
        "action_id": "value",
        "placeholder": _plain("Choose a GPU"),
        "options": [_option(v or "none", t) for v, t in gpu_options],
    }
    chosen = next((o for o in gpu_select["options"] if o["value"] == answers.train_gpu), None)
    if chosen:
        gpu_select["initial_option"] = chosen
    return [
        _text_input("rate", "Hourly rate ($ an hour)", _num(answers.rate), "Loaded cost of an engineer's hour."),
        _text_input("runs", "Training runs planned", str(answers.runs), "Plan 5-10: first runs rarely work."),
        _text_input("train", "Compute price a run ($)", _num(answers.train), "A 7B LoRA run costs tens of dollars."),
        {
            "type": "input",
            "block_id": "train_gpu",
            "optional": True,
            "label": _plain("GPU for training"),
            "hint": _plain("A slow card saves a few dollars a run and costs days."),
            "element": gpu_select,
        },
    ]


def audit_view(state: AuditState) -> dict:
    """The modal for state.step, pre-filled with the answers so far."""
    answers = state.input()
    blocks: list[dict] = [
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Hidden-cost audit: most of a fine-tuning project's cost is "
                    "people's time. Defaults are typical mid-range figures.",
                }
            ],
        },
        *step_blocks(state.step, answers),
    ]
    if state.step > 0:
        blocks.append(
            {
                "type": "actions",
                "block_id": "nav",
                "elements": [
                    {"type": "button", "action_id": BACK_ACTION, "text": _plain("Back"), "value": str(state.step)}
                ],
            }
        )
    last = state.step == len(STEP_TITLES) - 1
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain(f"Audit {STEP_TITLES[state.step]}"[:24]),
        "submit": _plain("Finish" if last else "Next"),
        "close": _plain("Cancel"),
        "notify_on_close": True,
        "private_metadata": state.dump(),
        "blocks": blocks,
    }


def read_step(state: AuditState, values: dict) -> tuple[AuditState, dict[str, str]]:
    """Merge one step's submitted values into the answers; per-block errors when a value is bad.

    values is view["state"]["values"]: {block_id: {"value": {...element state...}}}.
    """
    answers = state.input()
    pairs: dict[str, str] = {}
    for block_id, elements in values.items():
        element = elements.get("value") or {}
        if element.get("type") in ("static_select", "radio_buttons"):
            chosen = (element.get("selected_option") or {}).get("value")
            if chosen:
                pairs[block_id] = chosen
        else:
            text = (element.get("value") or "").strip()
            if text:
                pairs[block_id] = text
            elif block_id != "train_gpu":
                return state, {block_id: "Give a number (0 if none)."}
    errors: dict[str, str] = {}
    base = audit_to_text(answers)
    for key, value in pairs.items():
        try:
            # The grammar's parser, then the bot's bounds: a figure no draft could be read back from
            # (1e309 hours is infinity) is refused here, before any draft is saved.
            checked_audit(parse_audit(_replace(base, key, value)))
        except GrammarError as exc:
            errors[key] = exc.problem[:150]
    if errors:
        return state, errors
    merged = base
    for key, value in pairs.items():
        merged = _replace(merged, key, value)
    new_answers = parse_audit(merged)
    return replace(state, answers=audit_to_text(new_answers)), {}


def _replace(text: str, key: str, value: str) -> str:
    """The audit text with key set to value ("none" removes it); spaces inside a value are dropped."""
    kept = [part for part in text.split() if not part.startswith(f"{key}=")]
    if value == "none":
        return " ".join(kept)
    return " ".join([*kept, f"{key}={value.replace(' ', '')}"])
