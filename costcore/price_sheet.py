"""Your price sheet: the prices your company pays, in place of list prices, each from a date on.

A TOML file (read with the standard library's tomllib), named by BREAKEVEN_PRICE_SHEET (the bot and
the CLI) or `--price-sheet FILE` (the CLI):

    [[api]]
    model = "gpt-4o"            # as api= takes it: a catalogue model, or provider:model
    input = 2.00                # $ per 1M input tokens
    output = 8.00               # $ per 1M output tokens
    cached = 1.00               # optional: $ per 1M cached input tokens
    effective = 2026-10-01      # from this day on (a TOML date)
    note = "2026 enterprise agreement"   # optional: shown beside the price

    [[gpu]]
    gpu = "a10g"                # as gpu= takes it
    mode = "reserved-1y"        # the billing mode the price was quoted in
    price_per_hour = 0.75       # $ a GPU-hour (mode = "owned": purchase = $ a GPU instead)
    effective = 2026-09-01

An entry is in effect from its date on; of the entries for one model (or one GPU in one mode), the
newest in effect wins, and one dated later is not in effect yet (so next quarter's price can be
written down today). The rent stage prices an API model from the sheet when it has an entry in
effect, else from the catalogue; the buy stage does the same for a GPU's hourly price. Nothing
else prices anything: every analysis, re-check and chart takes its prices through those stages.

A GPU price is used only in the billing mode it was quoted in (the GPU catalogue's modes: always-on,
reserved-1y, reserved-3y, spot, serverless, owned). A scenario that names its mode (billing=) gets the
sheet's price in that mode, or the catalogue's when the sheet has none; one that names none is billed
the way the sheet says the company pays for that GPU (the first of its modes, in that order), or
always-on at the catalogue's price when the sheet has nothing for it.

`parse` checks everything at once and raises PriceSheetError with one line naming the file, the
line and the key at fault, and an example that works. Pure: the caller reads the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .prices import MODES  # the billing modes a GPU price is quoted in, as the catalogue has them

MAX_TOKEN_PRICE = 1000.0  # $ per 1M tokens: the grammar's bound on api_price=
MAX_GPU_HOUR = 1000.0  # $ a GPU-hour: the grammar's bound on gpu_price=
MAX_PURCHASE = 10_000_000.0  # $ for one GPU
API_EXAMPLE = 'model = "gpt-4o", input = 2.00, output = 8.00, effective = 2026-10-01'
GPU_EXAMPLE = 'gpu = "a10g", mode = "reserved-1y", price_per_hour = 0.75, effective = 2026-09-01'
# A contract price of nothing: a typo far more often than a contract, and it would make the API (or the GPU) free
# in every analysis, so it is refused, not priced.
ZERO = "a contract price of $0 is almost always a typo"
API_KEYS = ("model", "input", "output", "cached", "effective", "note")
GPU_KEYS = ("gpu", "mode", "price_per_hour", "purchase", "effective", "note")


class PriceSheetError(ValueError):
    """One line: the file, the line and the key at fault, what is wrong, and an example that works."""


@dataclass(frozen=True)
class ApiEntry:
    model: str  # as written in the sheet
    provider: str  # the catalogue's provider id
    model_id: str  # the catalogue's model id: what api= resolves to
    price_in: float
    price_out: float
    cache_price: float | None
    effective: dt.date
    note: str = ""
    line: int = 0

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model_id}"


@dataclass(frozen=True)
class GpuEntry:
    gpu: str  # the catalogue's GPU id
    mode: str
    price_per_hour: float | None  # None for owned
    purchase: float | None  # owned only
    effective: dt.date
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class PriceSheet:
    name: str  # the file's name, for messages; "" for no sheet
    api: tuple[ApiEntry, ...] = ()
    gpu: tuple[GpuEntry, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.api or self.gpu)

    def source(self, entry: ApiEntry | GpuEntry) -> str:
        """How an assumption names where a price came from: 'your price sheet, effective DATE'."""
        note = f": {entry.note}" if entry.note else ""
        return f"your price sheet, effective {entry.effective.isoformat()}{note}"

    def api_price(self, provider: str, model_id: str, on: dt.date) -> ApiEntry | None:
        """The newest entry in effect on `on` for this catalogue model, or None."""
        found = [e for e in self.api if (e.provider, e.model_id) == (provider, model_id) and e.effective <= on]
        return max(found, key=lambda e: e.effective, default=None)

    def gpu_price(self, gpu_id: str, mode: str, on: dt.date) -> GpuEntry | None:
        """The newest entry in effect on `on` for this GPU in this billing mode, or None."""
        found = [e for e in self.gpu if (e.gpu, e.mode) == (gpu_id, mode) and e.effective <= on]
        return max(found, key=lambda e: e.effective, default=None)

    def gpu_contract(
        self, gpu_id: str, on: dt.date, mode: str | None = None, billable: tuple[str, ...] = MODES
    ) -> tuple[GpuEntry | None, list[GpuEntry]]:
        """The GPU's price from the sheet, and the entries in effect that were not used.

        mode: the billing mode the scenario asks for (billing=): the sheet's entry in that mode, if any.
        None: the company pays the way its sheet says: the entry in effect in the first mode of MODES that
        `billable` holds."""
        in_effect = [e for e in (self.gpu_price(gpu_id, m, on) for m in MODES) if e is not None]
        if mode is not None:
            chosen = self.gpu_price(gpu_id, mode, on)
        else:
            chosen = next((e for e in in_effect if e.mode in billable), None)
        return chosen, [e for e in in_effect if e is not chosen]

    def gpu_modes(self, gpu_id: str, on: dt.date | None, catalogued: tuple[str, ...]) -> list[str]:
        """The billing modes a GPU is priced in: the catalogue's, and your sheet's in effect on `on`."""
        mine = {e.mode for e in self.gpu if e.gpu == gpu_id and (on is None or e.effective <= on)}
        return [m for m in MODES if m in catalogued or m in mine]

    def status(self, entry: ApiEntry | GpuEntry, on: dt.date) -> str:
        """'in effect', 'from 2027-01-01' (not yet) or 'replaced 2026-12-01' (a newer one is in effect)."""
        if entry.effective > on:
            return f"from {entry.effective.isoformat()}"
        if isinstance(entry, ApiEntry):
            current = self.api_price(entry.provider, entry.model_id, on)
        else:
            current = self.gpu_price(entry.gpu, entry.mode, on)
        if current is not entry:
            return f"replaced {current.effective.isoformat()}"
        return "in effect"


NO_SHEET = PriceSheet("")


def load(path: Path | str) -> PriceSheet:
    """Read and check the file: PriceSheetError names what is wrong (a missing file too)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PriceSheetError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PriceSheetError(f"{path}: is a directory, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise PriceSheetError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise PriceSheetError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse(text, str(path))


def parse(text: str, name: str = "price sheet") -> PriceSheet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "Invalid value (at line 7, column 9)": the line first, as every error here
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        if where:
            at = f" line {where[1]}, column {where[2]}"
        else:  # "(at end of document)": something opened and never closed
            at = f" line {max(1, len(text.splitlines()))}, at the end"
        raise PriceSheetError(f"{name}{at}: not valid TOML: {problem}") from None
    lines = _Lines(text)
    for key in data:
        if key not in ("api", "gpu"):
            close = difflib.get_close_matches(key, ["api", "gpu"], n=1)
            hint = f" (did you mean [[{close[0]}]]?)" if close else ""
            raise PriceSheetError(
                f"{name} line {lines.top(key)}: unknown section '{key}'{hint}; a price sheet has [[api]] and "
                f"[[gpu]] entries, e.g. [[api]] {API_EXAMPLE}"
            )
    api = tuple(_api(name, lines, i, entry) for i, entry in enumerate(_entries(name, lines, data, "api")))
    gpu = tuple(_gpu(name, lines, i, entry) for i, entry in enumerate(_entries(name, lines, data, "gpu")))
    _no_duplicates(name, api, lambda e: (e.provider, e.model_id, e.effective), lambda e: e.ref)
    _no_duplicates(name, gpu, lambda e: (e.gpu, e.mode, e.effective), lambda e: f"{e.gpu} {e.mode}")
    return PriceSheet(Path(name).name if name else "", api, gpu)


class _Lines:
    """Where a key of the n-th [[api]] or [[gpu]] entry is written, for the error's line number: as `key = `,
    as a dotted `key.sub = `, as a table of the entry (`[[api.key]]`, `[api.key]`), bare or quoted."""

    NAME = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
    PATH = rf"{NAME}(?:\s*\.\s*{NAME})*"
    ARRAY = re.compile(rf"^\s*\[\[\s*({PATH})\s*\]\]")
    TABLE = re.compile(rf"^\s*\[\s*({PATH})\s*\]")
    KEY = re.compile(rf"^\s*({PATH})\s*=")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    @classmethod
    def parts(cls, path: str) -> list[str]:
        return [p.strip().strip("\"'") for p in re.findall(cls.NAME, path)]

    def _header(self, line: str) -> tuple[bool, list[str]] | None:
        """(an array of tables?, the header's dotted path) of a header line, else None."""
        found = self.ARRAY.match(line)
        if found:
            return True, self.parts(found[1])
        found = self.TABLE.match(line)
        return (False, self.parts(found[1])) if found else None

    def _key(self, line: str) -> str | None:
        found = self.KEY.match(line)
        return self.parts(found[1])[0] if found else None

    def top(self, key: str) -> int:
        for number, line in enumerate(self.lines, start=1):
            header = self._header(line)
            if (header and header[1][:1] == [key]) or (header is None and self._key(line) == key):
                return number
        return 1

    def of(self, kind: str, index: int, key: str | None = None) -> int:
        """The line of `key` in the index-th [[kind]] entry (its header when key is None or absent)."""
        seen, inside, nested, header_line = -1, False, False, 0
        for number, line in enumerate(self.lines, start=1):
            header = self._header(line)
            if header is not None:
                array, path = header
                if array and path == [kind]:  # the next entry
                    inside, nested = True, False
                    seen += 1
                    if seen == index:
                        header_line = number
                    elif seen > index:
                        break
                elif inside and path[0] == kind and len(path) > 1:  # a table inside the current entry
                    nested = True
                    if seen == index and path[1] == key:
                        return number
                else:
                    inside = False
                continue
            if inside and not nested and seen == index and key is not None and self._key(line) == key:
                return number
        return header_line or self.top(kind)


def _entries(name: str, lines: _Lines, data: dict, kind: str) -> list[dict]:
    value = data.get(kind, [])
    example = API_EXAMPLE if kind == "api" else GPU_EXAMPLE
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise PriceSheetError(
            f"{name} line {lines.top(kind)}: '{kind}' must be a list of [[{kind}]] entries, e.g. [[{kind}]] {example}"
        )
    return value


def _fail(name: str, lines: _Lines, kind: str, index: int, key: str | None, problem: str) -> PriceSheetError:
    example = API_EXAMPLE if kind == "api" else GPU_EXAMPLE
    where = f"[[{kind}]] #{index + 1}" + (f" {key}" if key else "")
    return PriceSheetError(f"{name} line {lines.of(kind, index, key)}: {where}: {problem}; e.g. {example}")


def _check_keys(name: str, lines: _Lines, kind: str, index: int, entry: dict, allowed: tuple[str, ...]) -> None:
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise _fail(name, lines, kind, index, key, f"unknown key{hint}; an entry takes {', '.join(allowed)}")


def _amount(
    name: str, lines: _Lines, kind: str, index: int, entry: dict, key: str, what: str, high: float, required: bool
) -> float | None:
    if key not in entry:
        if required:
            raise _fail(name, lines, kind, index, None, f"'{key}' is missing ({what})")
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, lines, kind, index, key, f"must be a number ({what}), not {_shown(value)}")
    if not math.isfinite(value):
        raise _fail(name, lines, kind, index, key, f"must be a finite number ({what}), not {value}")
    if value < 0:
        raise _fail(name, lines, kind, index, key, f"is negative ({value:g}); give {what}")
    if value > high:
        raise _fail(name, lines, kind, index, key, f"{value:g} is more than {high:,.0f}: give {what}")
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= 40 else text[:39] + "…"


def _effective(name: str, lines: _Lines, kind: str, index: int, entry: dict) -> dt.date:
    if "effective" not in entry:
        raise _fail(name, lines, kind, index, None, "'effective' is missing (the day the price applies from)")
    value = entry["effective"]
    if isinstance(value, dt.datetime):
        raise _fail(name, lines, kind, index, "effective", "must be a day like 2026-10-01, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _fail(name, lines, kind, index, "effective", f"{_shown(value)} is not a day like 2026-10-01")


def _text(name: str, lines: _Lines, kind: str, index: int, entry: dict, key: str, required: bool = True) -> str:
    value = entry.get(key)
    if value is None and not required:
        return ""
    if value is None:
        raise _fail(name, lines, kind, index, None, f"'{key}' is missing")
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, lines, kind, index, key, f"must be a non-empty text in quotes, not {_shown(value)}")
    if len(value) > 200:
        raise _fail(name, lines, kind, index, key, "is longer than 200 characters")
    return value.strip()


def _api(name: str, lines: _Lines, index: int, entry: dict) -> ApiEntry:
    from .prices import PriceError, _lookup

    _check_keys(name, lines, "api", index, entry, API_KEYS)
    model = _text(name, lines, "api", index, entry, "model")
    try:
        provider, found = _lookup(model)
    except PriceError as exc:
        hint = f" (did you mean {', '.join(exc.suggestions[:3])}?)" if exc.suggestions else ""
        raise _fail(
            name, lines, "api", index, "model",
            f"'{model}' is not in the price catalogue{hint}; `breakeven prices NAME` lists the models",
        ) from None  # fmt: skip
    per_1m = "$ per 1M tokens"
    price_in = _amount(name, lines, "api", index, entry, "input", f"{per_1m} of input", MAX_TOKEN_PRICE, True)
    price_out = _amount(name, lines, "api", index, entry, "output", f"{per_1m} of output", MAX_TOKEN_PRICE, True)
    cached = _amount(name, lines, "api", index, entry, "cached", f"{per_1m} of cached input", MAX_TOKEN_PRICE, False)
    if price_in == 0 and price_out == 0:
        raise _fail(name, lines, "api", index, "input", f"input and output are both $0: {ZERO}; give {per_1m}")
    return ApiEntry(
        model=model,
        provider=provider.id,
        model_id=found.id,
        price_in=price_in,
        price_out=price_out,
        cache_price=cached,
        effective=_effective(name, lines, "api", index, entry),
        note=_text(name, lines, "api", index, entry, "note", required=False),
        line=lines.of("api", index),
    )


def _gpu(name: str, lines: _Lines, index: int, entry: dict) -> GpuEntry:
    from .prices import PriceError, find_gpu

    _check_keys(name, lines, "gpu", index, entry, GPU_KEYS)
    gpu = _text(name, lines, "gpu", index, entry, "gpu")
    try:
        gpu_id = find_gpu(gpu).id
    except PriceError as exc:
        problem = str(exc).replace("unknown GPU", "not in the GPU catalogue:")
        raise _fail(name, lines, "gpu", index, "gpu", problem) from None
    mode = _text(name, lines, "gpu", index, entry, "mode")
    if mode not in MODES:
        close = difflib.get_close_matches(mode, MODES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problem = f"'{mode}' is not a billing mode{hint}: one of {', '.join(MODES)}"
        raise _fail(name, lines, "gpu", index, "mode", problem)
    if mode == "owned":
        if "price_per_hour" in entry:
            raise _fail(name, lines, "gpu", index, "price_per_hour", "an owned GPU has a purchase price (purchase =), "
                        "not a price an hour")  # fmt: skip
        purchase = _amount(name, lines, "gpu", index, entry, "purchase", "$ for one GPU", MAX_PURCHASE, True)
        hourly = None
        if purchase == 0:
            raise _fail(name, lines, "gpu", index, "purchase", f"is $0: {ZERO}; give $ for one GPU")
    else:
        if "purchase" in entry:
            raise _fail(name, lines, "gpu", index, "purchase", f"a purchase price goes with mode = \"owned\"; {mode} "
                        "takes price_per_hour")  # fmt: skip
        hourly = _amount(name, lines, "gpu", index, entry, "price_per_hour", "$ a GPU-hour", MAX_GPU_HOUR, True)
        purchase = None
        if hourly == 0:
            raise _fail(name, lines, "gpu", index, "price_per_hour", f"is $0: {ZERO}; give $ a GPU-hour")
    return GpuEntry(
        gpu=gpu_id,
        mode=mode,
        price_per_hour=hourly,
        purchase=purchase,
        effective=_effective(name, lines, "gpu", index, entry),
        note=_text(name, lines, "gpu", index, entry, "note", required=False),
        line=lines.of("gpu", index),
    )


def _no_duplicates(name: str, entries: tuple, key, label) -> None:
    seen: dict = {}
    for entry in entries:
        k = key(entry)
        if k in seen:
            raise PriceSheetError(
                f"{name} line {entry.line}: {label(entry)} is priced twice from {entry.effective.isoformat()} "
                f"(also line {seen[k].line}): keep one, or give the newer price a later effective date"
            )
        seen[k] = entry
