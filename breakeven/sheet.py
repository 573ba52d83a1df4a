"""The CLI's price sheet: `--price-sheet FILE`, else the setting BREAKEVEN_PRICE_SHEET (the
environment, or a .env file in the working directory, as the bot reads it)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--price-sheet",
        type=Path,
        metavar="FILE",
        help="the prices your company pays (TOML; README.md, 'Your price sheet'); default BREAKEVEN_PRICE_SHEET",
    )


def setting() -> Path | None:
    """BREAKEVEN_PRICE_SHEET from the environment or .env (None: no sheet)."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _Setting(BaseSettings):
        model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
        breakeven_price_sheet: str | None = None

    value = (_Setting().breakeven_price_sheet or "").strip()
    return Path(value) if value else None


def load(args: argparse.Namespace):
    """The sheet this command prices with (costcore.price_sheet.NO_SHEET when none is set). ValueError
    with one line naming the option or setting, the file, the line and the key at fault."""
    from costcore.price_sheet import NO_SHEET, PriceSheetError
    from costcore.price_sheet import load as read

    given = getattr(args, "price_sheet", None)
    path = given or setting()
    if path is None:
        return NO_SHEET
    try:
        return read(path)
    except PriceSheetError as exc:
        raise ValueError(f"{'--price-sheet' if given else 'BREAKEVEN_PRICE_SHEET'} {exc}") from None
