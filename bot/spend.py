"""Spend sources that need the outside world: the OpenAI organization costs and usage API.

Costs (by line item) and completions usage (by model) are fetched day by day through the openai
SDK with an admin key, every page followed; the SDK retries rate limits (honouring Retry-After),
server errors and timeouts. Rows are written only when every page has arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from costcore.spend import SpendRow

log = logging.getLogger("breakeven.spend")
SOURCE = "openai-api"


class SyncError(RuntimeError):
    pass


def openai_client(admin_key: str, base_url: str | None = None, *, max_retries: int = 4, timeout: float = 30.0):
    from openai import OpenAI  # about 0.65 s to import: only when a sync runs

    return OpenAI(
        api_key="unused-for-admin-endpoints",
        admin_api_key=admin_key,
        base_url=base_url,
        max_retries=max_retries,
        timeout=timeout,
    )


def _pages(call, **params):
    page = None
    while True:
        response = call(**params, **({"page": page} if page else {}))
        yield response
        if not getattr(response, "has_more", False) or not getattr(response, "next_page", None):
            return
        page = response.next_page


def fetch_openai(client, start: dt.date, end: dt.date) -> list[SpendRow]:
    """Daily rows per model from start (inclusive) to end (exclusive)."""
    import openai

    start_time = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
    end_time = int(dt.datetime.combine(end, dt.time(), dt.UTC).timestamp())
    days = max(1, (end - start).days)
    usage_api = client.admin.organization.usage
    costs: dict[tuple, float] = defaultdict(float)
    usage: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    try:
        for page in _pages(
            usage_api.costs,
            start_time=start_time,
            end_time=end_time,
            bucket_width="1d",
            group_by=["line_item"],
            limit=min(days, 180),
        ):
            for bucket in page.data:
                day = dt.datetime.fromtimestamp(bucket.start_time, dt.UTC).date()
                for result in bucket.results:
                    model = (getattr(result, "line_item", None) or "unattributed").split(",")[0].strip()
                    amount = getattr(result, "amount", None)
                    costs[(day, model)] += float(getattr(amount, "value", 0) or 0)
        for page in _pages(
            usage_api.completions,
            start_time=start_time,
            end_time=end_time,
            bucket_width="1d",
            group_by=["model"],
            limit=min(days, 31),
        ):
            for bucket in page.data:
                day = dt.datetime.fromtimestamp(bucket.start_time, dt.UTC).date()
                for result in bucket.results:
                    totals = usage[(day, getattr(result, "model", None) or "unattributed")]
                    totals[0] += result.input_tokens
                    totals[1] += result.output_tokens
                    totals[2] += result.num_model_requests
    except openai.APIError as exc:
        raise SyncError(f"OpenAI costs API: {exc.__class__.__name__}: {getattr(exc, 'message', exc)}") from None
    rows = []
    for day, model in sorted(set(costs) | set(usage)):
        tokens_in, tokens_out, requests = usage.get((day, model), (0, 0, 0))
        rows.append(
            SpendRow(
                day=day,
                provider="openai",
                model=model,
                cost=round(costs.get((day, model), 0.0), 6),
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                requests=requests,
                source=SOURCE,
            )
        )
    return rows


def sync_openai(
    store,
    team: str,
    admin_key: str,
    base_url: str | None,
    *,
    days: int = 35,
    today: dt.date | None = None,
    timeout: float = 30.0,
) -> int:
    """Fetch the last `days` days and store them (idempotent). Returns the number of rows written."""
    today = today or dt.datetime.now(dt.UTC).date()
    client = openai_client(admin_key, base_url, timeout=timeout)
    rows = fetch_openai(client, today - dt.timedelta(days=days), today + dt.timedelta(days=1))
    return store.save_spend(team, rows) if rows else 0
