"""What Slack sends, checked against what the listeners read, before any of them runs.

A signed request is Slack's, but its body may still be malformed (a bug, a replay of something
edited, a test tool): a view without its state, private_metadata that does not read back, an empty
actions list, a number where a string belongs. Each kind of payload a listener handles has a model
here of the parts that listener (and the job behind it) reads; anything else in the body is left
alone (Slack adds fields all the time). `problem(body)` says why a body is refused, or None: the
front door (bot/app.py) answers 400 with one log line and nothing is stored; Socket Mode runs the
same check as the app's first middleware.

Lengths are bounded here too: ids, texts and values longer than Slack ever sends are refused before
a parser or a library sees them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Id = Annotated[str, Field(min_length=1, max_length=64)]  # T0123, U0123, C0123, V0123, trigger ids are longer
Trigger = Annotated[str, Field(min_length=1, max_length=255)]
Url = Annotated[str, Field(max_length=1000)]
MAX_COMMAND_TEXT = 12_000  # characters of `/breakeven ...`: above what Slack sends; the listeners bound each part
MAX_VALUE = 3000  # a button's value, an input's value, private_metadata: Slack's limits are below this
# A message's text: Slack cuts messages at 40,000 characters, and sends &, < and > as entities (longer).
MAX_MESSAGE_TEXT = 200_000
Ts = Annotated[str, Field(min_length=1, max_length=64)]
Word = Annotated[str, Field(max_length=64)]  # a type, subtype, tab or channel type


class _Part(BaseModel):
    # Strict: a listener that reads a string must get a string (lax mode would turn 3 into "3" for it,
    # but the listener reads the body, not this model). Extra fields are Slack's business.
    model_config = ConfigDict(extra="allow", strict=True)


class _WithId(_Part):
    id: Id


class Command(_Part):
    """A slash command (a form body): bot/listeners/commands.py."""

    command: Annotated[str, Field(min_length=1, max_length=64)]
    team_id: Id
    channel_id: Id
    user_id: Id
    trigger_id: Trigger
    text: Annotated[str, Field(max_length=MAX_COMMAND_TEXT)] = ""
    response_url: Url | None = None


class Option(_Part):
    value: Annotated[str, Field(max_length=MAX_VALUE)] | None = None


class Element(_Part):
    """One input's state: typed text or a chosen option (bot/form.py, bot/audit_flow.py read these)."""

    type: Annotated[str, Field(max_length=64)] = ""
    value: Annotated[str, Field(max_length=MAX_VALUE)] | None = None
    selected_option: Option | None = None


class State(_Part):
    values: Annotated[dict[Annotated[str, Field(max_length=255)], dict[str, Element]], Field(max_length=100)]


class FormMetadata(BaseModel):
    """The guided form's private_metadata (bot/form.py form_view)."""

    model_config = ConfigDict(strict=True)

    channel: Annotated[str, Field(max_length=64)] = ""
    analysis_id: Annotated[int, Field(ge=0, le=10**12)] | None = None
    ask: Annotated[int, Field(ge=0, le=10**12)] | None = None  # opened by Edit on a question asked in words


class AuditMetadata(BaseModel):
    """The audit modal's private_metadata (bot/audit_flow.AuditState.dump): the answers must read back."""

    model_config = ConfigDict(strict=True)

    s: Annotated[int, Field(ge=0, le=10)] = 0
    a: Annotated[str, Field(max_length=MAX_VALUE)] = ""
    c: Annotated[str, Field(max_length=64)] = ""
    t: Annotated[str, Field(max_length=64)] | None = None
    i: Annotated[int, Field(ge=0, le=10**12)] | None = None

    @field_validator("a")
    @classmethod
    def _answers_read_back(cls, value: str) -> str:
        from costcore.grammar import GrammarError, parse_audit

        try:
            parse_audit(value)
        except (GrammarError, ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"the audit's answers do not read back ({type(exc).__name__})") from None
        return value


def _metadata_models() -> dict[str, type[BaseModel]]:
    from .audit_flow import CALLBACK_ID as AUDIT
    from .form import CALLBACK_ID as FORM

    return {FORM: FormMetadata, AUDIT: AuditMetadata}


class View(_Part):
    id: Id | None = None
    hash: Annotated[str, Field(max_length=255)] | None = None
    team_id: Id | None = None
    callback_id: Annotated[str, Field(max_length=255)] = ""
    private_metadata: Annotated[str, Field(max_length=MAX_VALUE)] = ""
    state: State | None = None

    def check_metadata(self) -> None:
        """The private_metadata of one of our own modals must read back as that modal wrote it."""
        model = _metadata_models().get(self.callback_id)
        if model is None:
            return
        try:
            data = json.loads(self.private_metadata or "{}")
        except ValueError:
            raise ValueError("private_metadata: not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("private_metadata: not a JSON object")
        try:
            model.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ValueError(f"private_metadata {where}: {error['msg']}") from None


class Action(_Part):
    action_id: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=MAX_VALUE)] | None = None


class Container(_Part):
    channel_id: Id | None = None
    message_ts: Annotated[str, Field(max_length=64)] | None = None
    is_ephemeral: bool | None = None  # the question's confirmation, shown to its asker only (bot/listeners/ask.py)


class Message(_Part):
    ts: Annotated[str, Field(max_length=64)] | None = None


class BlockActions(_Part):
    """A button or select in a message or a modal: bot/listeners/{actions,audit,measure,ask}.py (ask's
    Run, Edit and Cancel read the container too)."""

    type: str
    team: _WithId | None = None
    user: _WithId
    channel: _WithId | None = None
    container: Container | None = None
    message: Message | None = None
    trigger_id: Trigger
    response_url: Url | None = None
    actions: Annotated[list[Action], Field(min_length=1, max_length=25)]
    view: View | None = None


class ViewSubmission(_Part):
    """A modal submitted (the form, an audit step) or closed: bot/listeners/{views,audit}.py."""

    type: str
    team: _WithId | None = None
    user: _WithId
    view: View


class Submitted(View):
    type: Annotated[str, Field(min_length=1, max_length=64)]  # Bolt reads it first (a workflow step's save?)
    id: Id
    hash: Annotated[str, Field(min_length=1, max_length=255)]
    state: State


class ViewSubmitted(ViewSubmission):
    view: Submitted


class BlockSuggestion(_Part):
    """The API model select searching the catalogue as the user types: bot/listeners/views.py."""

    type: str
    action_id: Annotated[str, Field(min_length=1, max_length=255)]
    value: Annotated[str, Field(max_length=200)] = ""


class Event(_Part):
    type: Annotated[str, Field(min_length=1, max_length=64)]
    user: Id | None = None


class HomeOpened(Event):
    """The Home tab, or the Messages tab (`tab` "messages": suggested prompts, bot/listeners/ask.py)."""

    user: Id
    tab: Word | None = None
    channel: Id | None = None


class Inner(_Part):
    """The message inside a message_changed or message_deleted event: Bolt's Assistant middleware reads
    its subtype and thread_ts to skip it."""


class MessageEvent(Event):
    """A message: a direct message or one in the Assistant's thread (answered like /breakeven), or a
    what-if in the thread of an answer (bot/listeners/ask.py). Edits, deletions and the bot's own posts
    are skipped by their subtype and bot_id, so those must be readable too."""

    channel: Id | None = None
    channel_type: Word | None = None
    subtype: Word | None = None
    bot_id: Id | None = None
    text: Annotated[str, Field(max_length=MAX_MESSAGE_TEXT)] | None = None
    ts: Ts | None = None
    thread_ts: Ts | None = None
    message: Inner | None = None
    previous_message: Inner | None = None


class AssistantThread(_Part):
    user_id: Id | None = None
    channel_id: Id
    thread_ts: Ts
    context: _Part | None = None


class AssistantThreadEvent(Event):
    """assistant_thread_started (suggested prompts) and assistant_thread_context_changed (ignored): Bolt's
    Assistant middleware reads the thread's channel and ts before any listener."""

    assistant_thread: AssistantThread


class EventCallback(_Part):
    """The Events API: bot/listeners/audit.py (app_home_opened), bot/listeners/ask.py (messages and the
    Assistant's events); app_uninstalled and tokens_revoked are read by no listener of ours."""

    type: str
    team_id: Id
    event_id: Annotated[str, Field(min_length=1, max_length=255)]
    event: Event


EVENTS: dict[str, type[Event]] = {
    "app_home_opened": HomeOpened,
    "message": MessageEvent,
    "assistant_thread_started": AssistantThreadEvent,
    "assistant_thread_context_changed": AssistantThreadEvent,
}
PAYLOADS: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmitted,
    "view_closed": ViewSubmission,
    "block_suggestion": BlockSuggestion,
    "event_callback": EventCallback,
}


def problem(body: Any) -> str | None:
    """None when the listeners can read this body; else one line saying what is wrong with it.
    A type no listener handles (Slack's url_verification, a shortcut) is left to Bolt."""
    if not isinstance(body, dict):
        return "the body is not an object"
    try:
        if "command" in body:
            Command.model_validate(body)
            return None
        kind = body.get("type")
        if not isinstance(kind, str):
            return "no payload type"
        model = PAYLOADS.get(kind)
        if model is None:
            return None
        payload = model.model_validate(body)
        if isinstance(payload, EventCallback):
            EVENTS.get(payload.event.type, Event).model_validate(body["event"])
        view = getattr(payload, "view", None)
        if isinstance(view, View):  # (a model's extra fields are attributes too: only a checked view)
            view.check_metadata()
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        return f"{body.get('type') or 'command'}: {where}: {error['msg']}"
    except ValueError as exc:  # the view's private_metadata
        return f"{body.get('type')}: view.{exc}"
    return None
