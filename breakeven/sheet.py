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


def _settings():
    """The settings the CLI shares with the bot and needs without Slack: from the environment or .env."""
    from pydantic import Field, ValidationError, field_validator
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from bot.settings import daily_check_setting, percent_setting

    class _Settings(BaseSettings):
        model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
        breakeven_price_sheet: str | None = None
        recheck_threshold: float = Field(default=0.2, ge=0, le=10)
        daily_check: str = "09:00 UTC"  # its timezone says which day budgets count to

        @field_validator("recheck_threshold", mode="before")
        @classmethod
        def _share(cls, value):
            return percent_setting(value)

        @field_validator("daily_check")
        @classmethod
        def _daily(cls, value):
            return daily_check_setting(value)

    try:
        return _Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        raise ValueError(f"{name} {str(error['msg']).removeprefix('Value error, ')}") from None


def setting() -> Path | None:
    """BREAKEVEN_PRICE_SHEET from the environment or .env (None: no sheet)."""
    value = (_settings().breakeven_price_sheet or "").strip()
    return Path(value) if value else None


def threshold() -> float:
    """RECHECK_THRESHOLD: a re-checked decision whose savings move more than this is news (default 20%)."""
    return _settings().recheck_threshold


def budget_settings():
    """What `breakeven check` needs without Slack: DAILY_CHECK (bot.budget.budget_today reads it)."""
    return _settings()


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
