"""`breakeven spend sync openai` against a fake costs API over real HTTP: every page, retried pages."""

import datetime as dt

import pytest

from bot.spend import SyncError, load_spend, sync_openai

from .conftest import WEEK47

TODAY = dt.date(2026, 11, 23)


def sync(db, fake, **kw):
    return sync_openai(db, "T1", "sk-admin-test", fake.url, days=10, today=TODAY, **kw)


def test_every_page_is_read_and_costs_meet_usage_per_model_and_day(db, openai_fake):
    assert sync(db, openai_fake) == 7
    rows = load_spend(db, "T1", "2026-11-01")
    assert [r.day for r in rows] == WEEK47  # page 1 has the first three days, page 2 the rest
    assert {(r.provider, r.model, r.source) for r in rows} == {("openai", "gpt-4o-2024-08-06", "openai-api")}
    assert all(r.cost == pytest.approx(100) for r in rows)  # input $60 + output $40 line items
    assert {(r.input_tokens, r.output_tokens, r.requests) for r in rows} == {(1_000_000, 200_000, 10_000)}
    assert all(auth == "Bearer sk-admin-test" for _, _, auth in openai_fake.requests)
    (costs_query,) = [q for path, q, _ in openai_fake.requests if path.endswith("/costs") and "page" not in q]
    assert costs_query["bucket_width"] == "1d" and costs_query["group_by[]"] == "line_item"  # as the SDK sends it
    sync(db, openai_fake)  # again: the same rows, not twice as many
    assert len(load_spend(db, "T1", "2026-11-01")) == 7


@pytest.mark.parametrize(
    "failure, headers",
    [(500, {}), (429, {"Retry-After": "0"}), (429, {"retry-after-ms": "30"}), ("drop", {})],
    ids=["server error", "rate limited", "rate limited (ms)", "dropped connection"],
)
def test_a_failed_second_page_is_retried(db, openai_fake, failure, headers):
    openai_fake.fail("costs", "p2", failure, headers)
    openai_fake.fail("completions", "p2", failure, headers)
    assert sync(db, openai_fake) == 7
    assert openai_fake.asked("costs", "p2") == 2 and openai_fake.asked("completions", "p2") == 2
    assert sum(r.cost for r in load_spend(db, "T1", "2026-11-01")) == pytest.approx(700)


def test_a_page_that_hangs_is_retried_after_the_timeout(db, openai_fake):
    openai_fake.fail("costs", "p2", "hang")
    assert sync(db, openai_fake, timeout=0.5) == 7
    assert openai_fake.asked("costs", "p2") == 2


def test_a_sync_that_fails_for_good_writes_nothing_and_says_why(db, openai_fake):
    openai_fake.fail("completions", "p2", 429, {"Retry-After": "0"}, times=10)
    with pytest.raises(SyncError, match="HTTP 429 after retries"):
        sync(db, openai_fake, max_retries=2)
    assert openai_fake.asked("completions", "p2") == 3  # the first try and two retries
    assert load_spend(db, "T1", "2026-11-01") == []
