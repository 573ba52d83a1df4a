"""Fixtures for the weekly summary: the fake Slack (helper bot's, reused as is), a fake OpenAI
costs API, and a database file opened the plain sqlite-utils way."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlite_utils

from tests.slack.conftest import slack  # noqa: F401 - the same fake Slack fixture

from .fake_openai import FakeOpenAI

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # Tuesday of W48: the summary covers W47
WEEK47 = [dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(7)]


@pytest.fixture
def openai_fake():
    fake = FakeOpenAI(WEEK47)
    yield fake
    fake.close()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "breakeven.db"


@pytest.fixture
def db(db_path):
    database = sqlite_utils.Database(db_path)
    yield database
    database.close()


@pytest.fixture
def client(slack):  # noqa: F811 - the imported fixture, requested by name
    """The bot's own client: what the tests see is what Slack would get (texts escaped)."""
    from bot.delivery import SafeWebClient, retry_handlers

    return SafeWebClient(token="xoxb-test", base_url=slack.url, retry_handlers=retry_handlers())
