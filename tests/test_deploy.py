"""What deploy/ ships, checked without a container engine: the manifests ask for what the bot uses;
the image installs the package as pyproject.toml describes it, runs as a non-root user with its
database on the volume and a health check the bot answers; the compose file and the systemd unit
stop it within the bot's own shutdown bound."""

import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from bot.oauth import REDIRECT_PATH, SCOPES
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
SHUTDOWN_TIMEOUT_S = Settings.model_fields["shutdown_timeout_s"].default
SERVER_GRACE_S = 5  # bot/app.py _serve: uvicorn's own graceful shutdown


@pytest.mark.parametrize("name", ["manifest-socket-mode.yaml", "manifest-http.yaml"])
def test_manifest_has_the_command_scopes_and_events(name):
    text = (DEPLOY / name).read_text()
    for needed in (
        "command: /breakeven",
        "- commands",
        "- chat:write",
        "- files:write",
        "- app_home_opened",
        "- app_uninstalled",
        "- tokens_revoked",
        "home_tab_enabled: true",
        "interactivity:",
        f"- https://YOUR-HOST{REDIRECT_PATH}",
    ):
        assert needed in text, needed
    socket = "socket_mode_enabled: true" in text
    assert socket == (name == "manifest-socket-mode.yaml")
    if not socket:
        for section in ("url: https://YOUR-HOST/slack/events", "request_url: https://YOUR-HOST/slack/events"):
            assert section in text  # command, events and interactivity all reach the endpoint


@pytest.mark.parametrize("name", ["manifest-socket-mode.yaml", "manifest-http.yaml"])
def test_manifest_scopes_are_the_ones_the_install_flow_asks_for(name):
    # One list (bot/oauth.py SCOPES): what a workspace installing through /slack/install grants is what
    # the app's own page asks for, no more.
    text = (DEPLOY / name).read_text()
    block = text.split("    bot:\n", 1)[1].split("settings:", 1)[0]
    scopes = re.findall(r"^\s+- ([a-z:.]+)", block, re.M)
    assert sorted(scopes) == sorted(SCOPES)


def test_env_example_names_every_setting():
    from bot.settings import ENV_NAMES

    text = (DEPLOY / "env.example").read_text()
    missing = [name for name in ENV_NAMES.values() if not re.search(rf"^#? ?{name}=", text, re.M)]
    assert missing == [], f"deploy/env.example does not show {missing}"


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
        "im:write",  # conversations.open: New analysis on the Home tab is saved in the app's conversation
        "assistant:write",  # suggested prompts and the status while a question is read
    }
    assert _listed(text, "bot_events") == {
        "app_home_opened",
        "message.im",
        "message.channels",  # what-ifs in an answer's thread
        "message.groups",
        "assistant_thread_started",
        "assistant_thread_context_changed",
        "app_uninstalled",  # many workspaces: the workspace's token is deleted
        "tokens_revoked",
    }
    # People type in the Messages tab now, and Slack's agent view sends app_home_opened for it.
    assert "messages_tab_read_only_enabled: false" in text
    assert "agent_view:" in text and "agent_description:" in text


def test_env_example_names_the_settings_of_asking_in_plain_words():
    text = (DEPLOY / "env.example").read_text()
    for name in ("BREAKEVEN_LLM_MODEL", "BREAKEVEN_LLM_BASE_URL", "BREAKEVEN_LLM_API_KEY", "BREAKEVEN_ASK"):
        assert name in text


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def final_stage(text: str) -> list[tuple[str, str]]:
    steps = instructions(text)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def image_env() -> dict[str, str]:
    env = {}
    for op, args in final_stage(DOCKERFILE):
        if op == "ENV":
            env.update(dict(shlex.split(pair)[0].split("=", 1) for pair in shlex.split(args)))
    return env


def test_the_image_installs_the_package_as_pyproject_describes_it():
    steps = instructions(DOCKERFILE)
    copied = {args.split()[0] for op, args in steps if op == "COPY" and "--from" not in args}
    copied |= {name for op, args in steps if op == "COPY" for name in args.split()[:-1]}
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied  # every package pyproject.toml installs
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= copied
    (install,) = [args for op, args in steps if op == "RUN" and "pip install" in args]
    assert re.search(r"pip install [^&]*\.\s*$", install)  # this directory, so pyproject.toml's dependencies
    python = re.search(r"FROM python:(\d+)\.(\d+)-slim", DOCKERFILE)
    minimum = tuple(int(p) for p in re.findall(r"\d+", PYPROJECT["project"]["requires-python"]))
    assert python and (int(python[1]), int(python[2])) >= minimum
    (command,) = [args for op, args in final_stage(DOCKERFILE) if op == "CMD"]
    assert shlex.split(command.strip("[]").replace(",", " "))[0] in PYPROJECT["project"]["scripts"]


def test_the_image_runs_as_a_user_with_the_database_on_the_volume_and_no_secret():
    stage = final_stage(DOCKERFILE)
    (user,) = [args for op, args in stage if op == "USER"]
    assert user.strip() not in ("root", "0") and not user.startswith("0:")
    (volume,) = [args.strip() for op, args in stage if op == "VOLUME"]
    env = image_env()
    assert os.path.dirname(env["BREAKEVEN_DB"]) == volume == "/data"
    assert env["BACKUP_DIR"].startswith(volume + "/")
    for op, args in instructions(DOCKERFILE):  # no token, secret or key baked into a layer
        if op in ("ENV", "ARG"):
            assert not re.search(r"TOKEN|SECRET|KEY|xox|xapp", args, re.I), args
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and "*.db" in ignored
    (entry,) = [args for op, args in stage if op == "ENTRYPOINT"]
    assert "tini" in entry  # PID 1 forwards SIGTERM to the bot and reaps


def test_compose_runs_the_image_with_the_volume_env_file_restart_and_stop_grace():
    text = (DEPLOY / "compose.yaml").read_text()
    assert "restart: unless-stopped" in text
    assert re.search(r"env_file: \.env\b", text)
    assert "dockerfile: deploy/Dockerfile" in text and "context: .." in text
    mount = re.search(r"- (\S+):(/\S+)$", text, re.M)
    assert mount[2] == "/data" and f"{mount[1]}:" in text.split("\nvolumes:", 1)[1]
    assert re.search(r"BREAKEVEN_DB: /data/", text)
    grace = int(re.search(r"stop_grace_period: (\d+)s", text)[1])
    assert grace > SHUTDOWN_TIMEOUT_S + SERVER_GRACE_S  # docker's SIGKILL comes after the bot's own bound


def test_the_systemd_unit_stops_the_bot_within_its_shutdown_bound():
    unit = dict(
        line.split("=", 1) for line in (DEPLOY / "breakeven-bot.service").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )  # fmt: skip
    assert unit["ExecStart"].endswith("/breakeven-bot") and "breakeven-bot" in PYPROJECT["project"]["scripts"]
    assert unit["KillSignal"] == "SIGTERM" and unit["KillMode"] == "mixed"  # the bot stops its worker itself
    assert int(unit["TimeoutStopSec"]) > SHUTDOWN_TIMEOUT_S + SERVER_GRACE_S
    assert unit["Restart"] == "on-failure" and unit["RestartPreventExitStatus"] == "2"
    assert unit["User"] != "root"
    assert "BREAKEVEN_DB=/var/lib/breakeven/" in unit["Environment"]
    assert unit["StateDirectory"] == "breakeven" and unit["WorkingDirectory"] == "/var/lib/breakeven"
