"""What an analysis assumed and what it could not use, collected as the stages run.

Every input either changes the result or is answered with a note: a stage that cannot use a
given input calls `ignored(key, why)`, a stage that chose one reading of an input calls `note`.
Defaults go through `default` / `pick`, so each appears once in the report's assumptions with
where its figure comes from.
"""

from __future__ import annotations

from typing import Any

from .defaults import DEFAULTS, Default
from .scenario import Assumption, Scenario


class Ledger:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.assumptions: list[Assumption] = []
        self.notes: list[str] = []
        self._assumed: set[str] = set()

    def default(
        self, key: str, *, shown: str | None = None, source: str | None = None, entry: Default | None = None
    ) -> Any:
        """The default for a grammar key, listed once among the assumptions (shown as it was priced);
        `entry` names another documented default for the key (e.g. the horizon when volume grows)."""
        default = entry or DEFAULTS[key]
        if key not in self._assumed:
            self._assumed.add(key)
            self.assumptions.append(Assumption(key=key, value=shown or default.shown, note=default.why, source=source))
        return default.value

    def pick(self, given: Any, key: str, entry: Default | None = None) -> Any:
        return given if given is not None else self.default(key, entry=entry)

    def assume(self, key: str, value: str, note: str = "", source: str | None = None, custom: bool = False) -> None:
        if key in self._assumed:
            return
        self._assumed.add(key)
        self.assumptions.append(Assumption(key=key, value=value, note=note, source=source, custom=custom))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def ignored(self, key: str, why: str) -> None:
        self.note(f"`{key}=` is not used: {why}")
