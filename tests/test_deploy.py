"""The app manifests ask for what the bot uses: its command, scopes, events and interactivity."""

from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


@pytest.mark.parametrize("name", ["manifest-socket-mode.yaml", "manifest-http.yaml"])
def test_manifest_has_the_command_scopes_and_events(name):
    text = (DEPLOY / name).read_text()
    for needed in (
        "command: /breakeven",
        "- commands",
        "- chat:write",
        "- files:write",
        "- app_home_opened",
        "home_tab_enabled: true",
        "interactivity:",
    ):
        assert needed in text, needed
    socket = "socket_mode_enabled: true" in text
    assert socket == (name == "manifest-socket-mode.yaml")
    if not socket:
        for section in ("url: https://YOUR-HOST/slack/events", "request_url: https://YOUR-HOST/slack/events"):
            assert section in text  # command, events and interactivity all reach the endpoint


def test_env_example_names_every_setting():
    text = (DEPLOY / "env.example").read_text()
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "BREAKEVEN_DB", "PORT"):
        assert name in text


def _listed(text: str, section: str) -> set[str]:
    """The `- item` lines under `section:` (a scope or event list), comments left out."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{section}:")
    indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
    found = set()
    for line in lines[start + 1 :]:
        if line.strip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) < indent or not line.strip().startswith("- "):
            break
        found.add(line.strip()[2:].split("#")[0].strip())
    return found


@pytest.mark.parametrize("name", ["manifest-socket-mode.yaml", "manifest-http.yaml"])
def test_manifest_asks_for_exactly_the_scopes_and_events_the_bot_uses(name):
    text = (DEPLOY / name).read_text()
    assert _listed(text, "bot") == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "im:history",  # message.im: questions in the Messages tab
        "assistant:write",  # suggested prompts and the status while a question is read
    }
    assert _listed(text, "bot_events") == {
        "app_home_opened",
        "message.im",
        "message.channels",  # what-ifs in an answer's thread
        "message.groups",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    }
    # People type in the Messages tab now, and Slack's agent view sends app_home_opened for it.
    assert "messages_tab_read_only_enabled: false" in text
    assert "agent_view:" in text and "agent_description:" in text


def test_env_example_names_the_settings_of_asking_in_plain_words():
    text = (DEPLOY / "env.example").read_text()
    for name in ("BREAKEVEN_LLM_MODEL", "BREAKEVEN_LLM_BASE_URL", "BREAKEVEN_LLM_API_KEY", "BREAKEVEN_ASK"):
        assert name in text
