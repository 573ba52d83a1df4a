"""Use-case templates: narrow, high-volume jobs to start an analysis from (`use=NAME`).

The catalogue is data (costcore/data/templates.json): each use case's request shape, volume range,
complexity band, latency and privacy needs, and the published figures behind them. `start_from`
fills what the scenario leaves open from the template, and records each figure it filled as an
assumption that names the template and its source (not as a default); any key given overrides it.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from .format import count
from .ledger import Ledger
from .scenario import Complexity, Scenario, Task, TemplateRef
from .scenario import TemplateSource as Source


class VolumeRange(BaseModel):
    low: float = Field(gt=0)
    typical: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> VolumeRange:
        if not self.low <= self.typical <= self.high:
            raise ValueError("volume: low <= typical <= high")
        return self


class Need(BaseModel):
    detail: str


class LatencyNeed(Need):
    need: Literal["interactive", "batch"]


class PrivacyNeed(Need):
    required: bool


class Template(BaseModel):
    name: str
    title: str
    example: str
    in_tokens: float = Field(gt=0)
    out_tokens: float = Field(gt=0)
    volume: VolumeRange
    complexity: Complexity
    task: Task
    latency: LatencyNeed
    privacy: PrivacyNeed
    rationale: str
    sources: list[Source] = Field(min_length=1)

    @property
    def source(self) -> str:
        """Where the figures come from, as the assumptions show it (the titles are on the report's template)."""
        return "; ".join(f"{s.url} ({s.date})" for s in self.sources)


class TemplateError(ValueError):
    def __init__(self, name: str, suggestions: list[str]):
        self.suggestions = suggestions
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no use-case template named '{name}'.{hint} `breakeven templates` lists them.")


@cache
def catalogue() -> tuple[Template, ...]:
    data = json.loads(resources.files("costcore").joinpath("data/templates.json").read_text())
    return tuple(Template(**item) for item in data["templates"])


def names() -> list[str]:
    return [t.name for t in catalogue()]


def find(name: str) -> Template:
    wanted = name.strip().lower().replace("_", "-").replace(" ", "-")
    for template in catalogue():
        if template.name == wanted:
            return template
    raise TemplateError(name, difflib.get_close_matches(wanted, names(), n=3, cutoff=0.5))


# Scenario field -> (grammar key, the template's value, how it reads) for every figure a template gives.
def _figures(t: Template) -> list[tuple[str, str, object, str]]:
    return [
        (
            "requests_per_month",
            "volume",
            t.volume.typical,
            (f"{count(t.volume.typical)} requests a month (typical of {count(t.volume.low)}-{count(t.volume.high)})"),
        ),
        ("in_tokens", "in", t.in_tokens, f"{t.in_tokens:g} tokens"),
        ("out_tokens", "out", t.out_tokens, f"{t.out_tokens:g} tokens"),
        ("complexity", "complexity", t.complexity, t.complexity),
        ("task", "task", t.task, t.task),
        ("privacy", "privacy", t.privacy.required, "yes" if t.privacy.required else "no"),
    ]


def _given(s: Scenario, field: str) -> bool:
    """Did the user say this figure (one way or another)?"""
    alternatives = {
        "requests_per_month": ("requests_per_month", "tokens_per_month"),
        "complexity": ("complexity", "iter"),
    }
    return any(getattr(s, f) is not None for f in alternatives.get(field, (field,)))


def start_from(s: Scenario, ledger: Ledger) -> tuple[Scenario, TemplateRef | None]:
    """The scenario with the template's figures where the user gave none, each recorded as an assumption."""
    if s.use is None:
        return s, None
    t = find(s.use)
    update: dict[str, object] = {}
    filled, overridden = [], []
    for field, key, value, shown in _figures(t):
        if _given(s, field):
            overridden.append(key)
            continue
        update[field] = value
        filled.append(key)
        why = {"privacy": t.privacy.detail}.get(
            key, t.rationale if key == "volume" else f"typical of {t.title.lower()}"
        )
        ledger.assume(key, shown, f"from use={t.name}: {why}", t.source)
    if not filled:
        ledger.ignored(
            "use", f"every figure of the {t.name} template was given with another key ({', '.join(overridden)})"
        )
    effective = s.model_copy(update=update)
    ledger.scenario = effective
    return effective, TemplateRef(
        name=t.name, title=t.title, rationale=t.rationale, sources=t.sources, filled=filled, overridden=overridden
    )
