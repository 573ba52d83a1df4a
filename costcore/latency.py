"""How long a hosted API takes to answer a request: time to first token plus the output at its streaming
speed, from dated third-party medians bundled in costcore/data/api_latency.json. Pure; no network.

    api_latency("gpt-4o-mini", out_tokens=200).latency_ms   # TTFT + 200 / tok/s

An unknown model falls back to its provider's usual row, then to the median of all rows, and says so.
"""

from __future__ import annotations

import json
import math
import statistics
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel


class ApiLatency(BaseModel):
    model: str
    row: str  # the data row used
    provider: str | None
    basis: Literal["model family", "provider's usual model", "all providers' median"]
    ttft_ms: float
    output_tok_s: float
    latency_ms: float  # the whole answer, TTFT + out_tokens / output_tok_s
    source: str
    date: str
    notes: list[str]


@cache
def _data() -> dict:
    return json.loads(resources.files("costcore").joinpath("data/api_latency.json").read_text())


def _bare(model: str) -> str:
    name = model.strip().lower().replace("_", "-").replace(" ", "-")
    return name.split(":", 1)[1] if ":" in name else name


def _provider(model: str) -> str | None:
    raw = model.strip().lower()
    if ":" in raw:
        prefix = raw.split(":", 1)[0]
        if prefix in _data()["providers"]:
            return prefix
    name = _bare(model)
    for provider, fragments in _data()["providers"].items():
        if any(name.startswith(f) for f in fragments):
            return provider
    return None


def api_latency(model: str, *, out_tokens: float, in_tokens: float = 0.0) -> ApiLatency:
    """Typical whole-answer latency of a hosted API model for a request shape, with its source and date.

    The medians were measured on short prompts: a long prompt adds prefill time the data do not give,
    which the notes say when in_tokens passes 2,000."""
    out = float(out_tokens)
    if not math.isfinite(out) or out < 0:
        raise ValueError(f"out_tokens must be a finite number of at least 0, not {out_tokens!r}")
    rows = _data()["rows"]
    name = _bare(model)
    provider = _provider(model)
    notes: list[str] = []
    row = next((r for r in rows if any(fragment in name for fragment in r["match"])), None)
    if row is not None and provider is not None and row["provider"] != provider:
        row = None  # a fragment matched another provider's family
    basis: Literal["model family", "provider's usual model", "all providers' median"] = "model family"
    if row is None and provider is not None:
        row = next((r for r in rows if r["provider"] == provider and r.get("provider_default")), None)
        basis = "provider's usual model"
        if row is not None:
            notes.append(f"No speed data for {model}; {provider}'s usual model ({row['id']}) is used.")
    if row is None:
        basis = "all providers' median"
        ttft = statistics.median(r["ttft_ms"] for r in rows)
        tok_s = statistics.median(r["output_tok_s"] for r in rows)
        newest = max(r["date"] for r in rows)
        notes.append(f"No speed data for {model} or its provider; the median of {len(rows)} hosted models is used.")
        row = {
            "id": "median",
            "provider": None,
            "ttft_ms": ttft,
            "output_tok_s": tok_s,
            "source": "median of the rows of costcore/data/api_latency.json",
            "date": newest,
        }
    if row.get("caveat"):
        notes.append(row["caveat"][0].upper() + row["caveat"][1:] + ".")
    if in_tokens and float(in_tokens) > 2000:
        notes.append("The speeds were measured on short prompts; a long prompt makes the first token slower.")
    latency = row["ttft_ms"] + (out / row["output_tok_s"]) * 1000
    return ApiLatency(
        model=model,
        row=row["id"],
        provider=row["provider"] or provider,
        basis=basis,
        ttft_ms=row["ttft_ms"],
        output_tok_s=row["output_tok_s"],
        latency_ms=latency,
        source=row["source"],
        date=row["date"],
        notes=notes,
    )
