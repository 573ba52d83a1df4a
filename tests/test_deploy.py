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
    from bot.settings import ENV_NAMES

    text = (DEPLOY / "env.example").read_text()
    missing = [name for name in ENV_NAMES.values() if f"{name}=" not in text]
    assert missing == [], f"deploy/env.example does not show {missing}"
