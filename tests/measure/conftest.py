"""Fixtures for the measure tests: fake OpenAI-compatible servers, prompt files, the CLI as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.slack.conftest import slack  # noqa: F401 - the fake Slack (test_slack.py times its own)

from .fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
def fakes():
    """make(**config) -> a running FakeLLM; all are closed at the end of the test."""
    made: list[FakeLLM] = []

    def make(**config) -> FakeLLM:
        server = FakeLLM(**config)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def write_prompts(path: Path, lines: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def reply(text: str, expected=None, *, words: str = "Please answer the question below.", **extra) -> dict:
    """A prompt the fake answers with `text`; `expected` is what the user expects (default: text)."""
    line = {"messages": [{"role": "user", "content": f"{words} Reply with exactly: {text}"}], **extra}
    line["expected"] = text if expected is None else expected
    return line


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: no key or base URL of the developer's own, no stray database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BREAKEVEN_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def breakeven(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "breakeven", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env or clean_env(),
    )
