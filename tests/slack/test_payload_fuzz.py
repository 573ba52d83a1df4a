"""Signed but malformed interaction payloads: generated from every kind the listeners handle, with
fields missing, added and of the wrong type. Each is answered 200 (read), 400 (refused, nothing
stored) or 404 (no listener): never 500, never a traceback, in the front door or in the work."""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ask_view import CANCEL as ASK_CANCEL
from bot.ask_view import EDIT as ASK_EDIT
from bot.ask_view import RUN as ASK_RUN
from bot.audit_flow import BACK_ACTION, AuditState, audit_view
from bot.form import form_view
from bot.listeners.measure import ANALYZE
from bot.listeners.shared import HOME, RESUME, START_OVER
from bot.render import AUDIT, EDIT, WHATIF_DOUBLE

from .test_audit import step_state
from .test_form_and_buttons import state_from

FORM = form_view("C1")
ASKED_FORM = form_view("C1", ask_id=1)  # opened by Edit on a question asked in words
STEP = audit_view(AuditState(step=1, channel="C1", answers="complexity=medium"))


def _action(action_id: str, value: str, **extra) -> dict:
    return {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C1"},
        "trigger_id": "t",
        "response_url": "http://127.0.0.1:1/r",
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        **extra,
    }


def _modal(view: dict, state: dict) -> dict:
    return {**view, "id": "V1", "hash": "h1", "team_id": "T1", "state": state}


def _event(event: dict) -> dict:
    return {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event": event}


THREAD = {"user_id": "U1", "channel_id": "D1", "thread_ts": "7.0", "context": {"channel_id": "C9", "team_id": "T1"}}


TEMPLATES = [
    _action(WHATIF_DOUBLE, "1"),
    _action(EDIT, "1"),
    _action(AUDIT, "1"),
    _action(RESUME, "C1"),
    _action(START_OVER, "C1"),
    _action(HOME, "home"),
    _action(ANALYZE, json.dumps({"measured": "nov", "extra": "api=gpt-4o-mini"})),
    _action(BACK_ACTION, "1", view=_modal(STEP, step_state(STEP))),
    {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": "t",
        "view": _modal(FORM, state_from(FORM, volume="2M/month", api="gpt-4o-mini", gpu="a10g")),
    },
    {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": _modal(STEP, step_state(STEP)),
    },
    {"type": "view_closed", "team": {"id": "T1"}, "user": {"id": "U1"}, "view": _modal(STEP, step_state(STEP))},
    {
        "type": "block_suggestion",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "action_id": "api_model",
        "block_id": "api",
        "value": "gpt",
        "view": {
            "id": "V1", "callback_id": "breakeven_form", "type": "modal", "private_metadata": FORM["private_metadata"],
        },  # fmt: skip
    },
    _event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}),
    # Asking in plain words (bot/listeners/ask.py): the confirmation's buttons, shown to the asker only...
    _action(ASK_RUN, "1", container={"type": "message", "message_ts": "1.0", "channel_id": "C1", "is_ephemeral": True}),
    _action(ASK_EDIT, "1"),
    _action(ASK_CANCEL, "1"),
    {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "trigger_id": "t",
        "view": _modal(ASKED_FORM, state_from(ASKED_FORM, volume="2M/month", api="gpt-4o-mini", gpu="a10g")),
    },
    # ...the Messages tab, a direct message, a what-if in an answer's thread, an edit Bolt skips...
    _event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "messages"}),
    _event({"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": "help", "ts": "5.1"}),
    _event(
        {"type": "message", "channel": "C1", "channel_type": "channel", "user": "U1", "text": "what if gpu=h100?",
         "ts": "5.2", "thread_ts": "1.0"}
    ),  # fmt: skip
    _event(
        {"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im", "ts": "5.3",
         "message": {"type": "message", "user": "U1", "text": "help", "ts": "5.1", "thread_ts": "7.0"},
         "previous_message": {"type": "message", "user": "U1", "text": "hlep", "ts": "5.1", "thread_ts": "7.0"}}
    ),  # fmt: skip
    # ...and the Assistant's thread: started, its context changed, a message in it.
    _event({"type": "assistant_thread_started", "assistant_thread": THREAD, "event_ts": "7.1"}),
    _event({"type": "assistant_thread_context_changed", "assistant_thread": THREAD, "event_ts": "7.2"}),
    _event(
        {"type": "message", "channel": "D1", "channel_type": "im", "user": "U1", "text": "help", "ts": "7.3",
         "thread_ts": "7.0"}
    ),  # fmt: skip
]
COMMAND = {
    "team_id": "T1",
    "channel_id": "C1",
    "user_id": "U1",
    "command": "/breakeven",
    "text": "help",
    "trigger_id": "t",
    "response_url": "http://127.0.0.1:1/r",
}

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.text(min_size=5000, max_size=5000, alphabet="x<&"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just("{not json"),
    st.just([]),
    st.just({}),
)


def _paths(value, prefix=()):
    """Every place in a JSON value: (path to it, its container kind)."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append(prefix + (key,))
            found += _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append(prefix + (index,))
            found += _paths(inner, prefix + (index,))
    return found


def _mutate(payload, path, operation, junk):
    *parents, last = path
    container = payload
    for step in parents:
        container = container[step]
    if operation == "drop":
        del container[last]
    elif operation == "retype":
        container[last] = junk
    elif isinstance(container, dict):  # an extra field beside it
        container[f"extra_{len(container)}"] = junk
    return payload


@st.composite
def payloads(draw):
    """(kind, body, content type): a template with one to three fields dropped, retyped or added."""
    if draw(st.integers(0, len(TEMPLATES))) == len(TEMPLATES):  # a slash command: a form of strings
        fields = dict(COMMAND)
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(sorted(fields) + ["extra"]))
            if draw(st.booleans()) and key in fields:
                del fields[key]
            else:
                fields[key] = draw(st.one_of(st.text(max_size=20), st.text(min_size=5000, max_size=5000)))
        return "command", fields
    payload = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    # The modal's private_metadata is a JSON text the listener reads back: mutate what it holds too.
    view = payload.get("view") if isinstance(payload.get("view"), dict) else None
    if view is not None and draw(st.booleans()):
        metadata = json.loads(view["private_metadata"])
        paths = _paths(metadata)
        if paths:
            path = paths[draw(st.integers(0, len(paths) - 1))]
            _mutate(metadata, path, draw(st.sampled_from(["drop", "retype", "add"])), draw(JUNK))
            view["private_metadata"] = json.dumps(metadata)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(payload)
        if not paths:
            break
        path = paths[draw(st.integers(0, len(paths) - 1))]
        _mutate(payload, path, draw(st.sampled_from(["drop", "retype", "add"])), draw(JUNK))
    return "interaction", payload


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["type"] + ":" + str(i) for i, t in enumerate(TEMPLATES)])
def test_every_well_formed_payload_passes_the_check(bot_server, slack, template):
    # The check refuses what a listener cannot read, and nothing a listener can: each kind, as Slack sends it.
    payload = copy.deepcopy(template)
    status, _ = bot_server.post(urlencode({"payload": json.dumps(payload)}).encode())
    assert status == 200
    fields = {**COMMAND, "trigger_id": "well-formed"}
    assert bot_server.post(urlencode(fields).encode())[0] == 200


def _jobs(bot_server) -> int:
    with sqlite3.connect(bot_server.bot.store.path) as db:
        return db.execute("SELECT count(*) FROM jobs").fetchone()[0]


def test_generated_malformed_payloads_get_a_4xx_or_200_never_a_500_or_a_traceback(bot_server, slack, caplog):
    caplog.set_level(logging.INFO)
    seen = {"n": 0, "statuses": {}}

    @settings(max_examples=160, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payloads())
    def one(generated):
        kind, payload = generated
        seen["n"] += 1
        unique = f"fuzz-{time.monotonic_ns()}"
        if kind == "command":
            if "trigger_id" in payload:
                payload["trigger_id"] = unique
            body = urlencode(payload).encode()
        else:
            if isinstance(payload.get("trigger_id"), str):
                payload["trigger_id"] = unique
            if isinstance(payload.get("event_id"), str):
                payload["event_id"] = unique
            body = urlencode({"payload": json.dumps(payload)}).encode()
        before = _jobs(bot_server)
        status, _ = bot_server.post(body)
        seen["statuses"][status] = seen["statuses"].get(status, 0) + 1
        assert status == 200 or 400 <= status < 500, (status, payload)
        if status == 400:
            assert _jobs(bot_server) == before, "a refused payload stored a job"

    one()
    bot_server.wait_idle(120)
    assert seen["n"] >= 100
    assert seen["statuses"].get(400, 0) > 20 and seen["statuses"].get(200, 0) > 20, seen["statuses"]
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [r.getMessage() for r in tracebacks][:3]
    assert "Traceback" not in caplog.text
