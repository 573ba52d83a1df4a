"""Settings from the environment (and a .env file). Secrets stay SecretStr: never logged or shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .llm_client import ENV_NAMES as LLM_ENV_NAMES
from .llm_client import LLMSettings

ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_api_url": "SLACK_API_URL",
    "slack_timeout_s": "SLACK_TIMEOUT_S",
    "breakeven_db": "BREAKEVEN_DB",
    "port": "PORT",
    "openai_admin_key": "OPENAI_ADMIN_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "weekly_channel": "WEEKLY_CHANNEL",
    "weekly_schedule": "WEEKLY_SCHEDULE",
    "breakeven_endpoints": "BREAKEVEN_ENDPOINTS",
    "measure_max_requests": "MEASURE_MAX_REQUESTS",
    "measure_max_concurrency": "MEASURE_MAX_CONCURRENCY",
    "measure_request_timeout_s": "MEASURE_REQUEST_TIMEOUT_S",
    "measure_run_timeout_s": "MEASURE_RUN_TIMEOUT_S",
    "measure_progress_every_s": "MEASURE_PROGRESS_EVERY_S",
    "breakeven_admins": "BREAKEVEN_ADMINS",
    "measure_user_daily_requests": "MEASURE_USER_DAILY_REQUESTS",
    "job_max_attempts": "JOB_MAX_ATTEMPTS",
    **LLM_ENV_NAMES,
    "log_format": "LOG_FORMAT",
    "metrics_port": "METRICS_PORT",
    "metrics_path": "METRICS_PATH",
    "shutdown_timeout_s": "SHUTDOWN_TIMEOUT_S",
    "backup_dir": "BACKUP_DIR",
    "backup_keep": "BACKUP_KEEP",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "slack_state_secret": "SLACK_STATE_SECRET",
    "breakeven_price_sheet": "BREAKEVEN_PRICE_SHEET",
    "recheck_threshold": "RECHECK_THRESHOLD",
    "daily_check": "DAILY_CHECK",
    "schedule_refresh_s": "SCHEDULE_REFRESH_S",
}
# Many workspaces (bot/oauth.py): all three, or none.
OAUTH_SETTINGS = ("slack_client_id", "slack_client_secret", "slack_state_secret")
# Paths the bot serves besides /metrics (which METRICS_PATH may not take).
SERVED_PATHS = ("/slack/events", "/slack/install", "/slack/oauth_redirect", "/healthz", "/readyz")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None  # one workspace; or the three OAuth settings below
    slack_signing_secret: SecretStr = Field(default=SecretStr(""))
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds a Web API call may take. A post unanswered by then may still have been made: it is
    # looked for in the channel before it is sent again (bot/service.py Bot.post).
    slack_timeout_s: float = Field(default=15.0, ge=1, le=120)
    breakeven_db: Path = Path("breakeven.db")
    port: int = Field(default=3000, ge=1, le=65535)
    openai_admin_key: SecretStr | None = None
    openai_base_url: str | None = None
    weekly_channel: str | None = None  # a channel id that always gets the weekly summary
    weekly_schedule: str = "mon 09:00 UTC"  # day time timezone, as in `/breakeven weekly`
    # `/breakeven measure NAME`: name -> endpoint, as JSON; the bot never measures a URL typed in Slack.
    breakeven_endpoints: Annotated[dict[str, Any], NoDecode] = Field(default_factory=dict)  # name -> MeasureEndpoint
    measure_max_requests: int = Field(default=100, ge=1, le=1000)  # per endpoint and concurrency level
    measure_max_concurrency: int = Field(default=16, ge=1, le=128)
    measure_request_timeout_s: float = Field(default=60.0, gt=0, le=600)
    measure_run_timeout_s: float = Field(default=600.0, gt=0, le=3600)
    measure_progress_every_s: float = Field(default=5.0, ge=0.1, le=60)  # chat.update at most this often
    breakeven_admins: str = ""  # user ids, comma-separated, who may point scheduled posts at any channel
    # Requests one user may have `/breakeven measure` send in 24 hours, all runs together (0: no limit;
    # admins have none): the API side costs real money.
    measure_user_daily_requests: int = Field(default=1000, ge=0, le=10_000_000)
    # Runs of one job: a job whose process died this many times while running it is given up, and its
    # user told (a job that kills the worker would otherwise run again at every start, for ever).
    job_max_attempts: int = Field(default=3, ge=1, le=100)
    # Asking in plain words (BREAKEVEN_LLM_MODEL, ...): read from the same environment and .env, off by default.
    llm: LLMSettings = Field(default_factory=LLMSettings)
    # Operations (docs/operations.md)
    log_format: Literal["text", "json"] = "text"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)  # /metrics on this port only, not on PORT
    metrics_path: str = "/metrics"
    shutdown_timeout_s: float = Field(default=20.0, ge=1, le=600)  # SIGTERM: the running jobs' time to finish
    backup_dir: Path | None = None  # a daily backup goes here (bot/backup.py)
    backup_keep: int = Field(default=7, ge=1, le=1000)  # the newest this many backups are kept
    # Many workspaces: Slack's OAuth install flow (bot/oauth.py), instead of SLACK_BOT_TOKEN
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_state_secret: SecretStr | None = None
    # Decisions that stay true (README.md, "Your price sheet", "Budgets and alerts")
    breakeven_price_sheet: Path | None = None  # the prices your company pays (TOML): every analysis uses them
    recheck_threshold: float = Field(default=0.2, ge=0, le=10)  # a re-checked decision is news past this move
    daily_check: str = "09:00 UTC"  # when budgets are checked each day: time timezone
    schedule_refresh_s: float = Field(default=60.0, ge=0.1, le=3600)  # schedules re-read from the database
    _price_sheet: Any = PrivateAttr(default=None)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # WebClient joins method names onto the base URL: without the slash the last part is lost.
        return value if value.endswith("/") else value + "/"

    @field_validator("breakeven_endpoints", mode="before")
    @classmethod
    def _endpoints(cls, value):
        from .measure import parse_endpoints

        return parse_endpoints(value)

    @field_validator("breakeven_admins")
    @classmethod
    def _admins(cls, value: str) -> str:
        for user in filter(None, (u.strip() for u in value.split(","))):
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
                raise ValueError(f"'{user}' is not a Slack user id such as U0123ABCD (comma-separated)")
        return value

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(filter(None, (u.strip() for u in self.breakeven_admins.split(","))))

    @field_validator("slack_client_id", "slack_client_secret", "slack_state_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value):
        return None if value == "" else value

    @field_validator("metrics_path")
    @classmethod
    def _metrics_path(cls, value: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", value) or value in SERVED_PATHS:
            raise ValueError(f"'{value}' is not a free path such as /metrics")
        return value

    @field_validator("breakeven_price_sheet", mode="before")
    @classmethod
    def _sheet(cls, value):
        from costcore.price_sheet import PriceSheetError, load

        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            load(value)  # checked at start: a wrong sheet stops the bot, naming the line
        except PriceSheetError as exc:
            raise ValueError(str(exc)) from None
        return Path(value)

    @model_validator(mode="after")
    def _read_sheet(self) -> Settings:
        from costcore.price_sheet import NO_SHEET, load

        self._price_sheet = NO_SHEET if self.breakeven_price_sheet is None else load(self.breakeven_price_sheet)
        return self

    @property
    def price_sheet(self):
        """The sheet read at start (costcore.price_sheet.NO_SHEET when none is set): edit it, then restart."""
        return self._price_sheet

    @field_validator("recheck_threshold", mode="before")
    @classmethod
    def _threshold(cls, value):
        return percent_setting(value)

    @field_validator("daily_check")
    @classmethod
    def _daily(cls, value: str) -> str:
        return daily_check_setting(value)

    @property
    def oauth(self) -> bool:
        """Many workspaces: each installs the app through /slack/install (bot/oauth.py)."""
        return self.slack_client_id is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @field_validator("weekly_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from costcore.grammar import GrammarError

        from .weekly import parse_weekly

        try:
            parse_weekly(f"C0000000 {value}")
        except GrammarError as exc:
            raise ValueError(
                f"'{value}' is not 'day time timezone', e.g. 'mon 09:00 Europe/Paris': {exc.problem}"
            ) from None
        return value

    def secrets(self) -> list[Any]:
        """Every secret these settings hold or point at, for the log redactor (bot/redact.py): the
        tokens and keys (the OAuth client and state secrets, the plain-words model's key among them),
        credentials in the URLs, and the endpoints' keys as read from the environment. Each
        workspace's bot token, installed at run time, is remembered as it is read (bot/oauth.py)."""
        import os

        found: list[Any] = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.openai_admin_key,
            self.openai_base_url,
            self.slack_api_url,
            self.slack_client_secret,
            self.slack_state_secret,
            *self.llm.secrets(),
        ]
        for endpoint in self.breakeven_endpoints.values():
            found += [endpoint.url, os.environ.get(endpoint.key_env) if endpoint.key_env else None]
        return found

    def check(self) -> None:
        given = [name for name in OAUTH_SETTINGS if getattr(self, name) is not None]
        if given and len(given) < len(OAUTH_SETTINGS):
            missing = ", ".join(ENV_NAMES[name] for name in OAUTH_SETTINGS if name not in given)
            needed = ", ".join(ENV_NAMES[name] for name in OAUTH_SETTINGS)
            raise SettingsError(f"{missing} missing: many workspaces need {needed}")
        if given and self.slack_bot_token is not None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID: give a bot token for one workspace, or the OAuth "
                "settings for many (each workspace then installs the app at /slack/install), not both"
            )
        if not given and self.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is missing")
        if given and self.weekly_channel:
            raise SettingsError("WEEKLY_CHANNEL needs one workspace: with many, use `/breakeven weekly` in each")
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise SettingsError(f"METRICS_PORT {self.metrics_port} is PORT: leave it out to serve /metrics on PORT")
        if not self.socket_mode and not self.slack_signing_secret.get_secret_value():
            raise SettingsError("SLACK_SIGNING_SECRET is missing: HTTP mode needs it (or set SLACK_APP_TOKEN)")


MAX_SHARE = 10.0  # 1000%: RECHECK_THRESHOLD's bound


def percent_setting(value, name: str = "RECHECK_THRESHOLD"):
    """'20%' -> 0.2; a plain number is a fraction ('0.2'), so one over 1 ('5', '20': surely meant as
    percentages, 500% and 2000% as fractions) is refused with an example. ValueError names what was typed."""
    import math

    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value  # pydantic says what is wrong with it
    text = str(value).strip()
    shown = value if isinstance(value, str) else text
    percent = text.endswith("%")
    try:
        number = float(text[:-1].strip() if percent else text)
    except ValueError:
        raise ValueError(f"'{shown}' is not a share such as 20%") from None
    if not math.isfinite(number):
        raise ValueError(f"'{shown}' is not a share such as 20%")
    if number < 0:
        raise ValueError(f"'{shown}' is negative: give a share such as 20%")
    if not percent and number > 1:
        raise ValueError(
            f"'{shown}' would be {number:.0%}: write a percentage, e.g. {name}=20% (a plain number is a fraction)"
        )
    share = number / 100 if percent else number
    if share > MAX_SHARE:
        raise ValueError(f"'{shown}' is more than {MAX_SHARE:.0%}: give a share such as 20%")
    return share


def daily_check_setting(value: str) -> str:
    """DAILY_CHECK '9:00 Europe/Paris' -> '09:00 Europe/Paris'; ValueError names what was typed."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*", value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{value}' is not 'time timezone', e.g. '09:00 Europe/Paris'")
    tz = match[3] or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{tz}' is not a timezone, e.g. '09:00 Europe/Paris'") from None
    return f"{int(match[1]):02d}:{match[2]} {tz}"


class SettingsError(Exception):
    """One line naming the setting at fault."""


def load_settings(**overrides) -> Settings:
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        name = ENV_NAMES.get(field, field.upper())
        problem = "is missing" if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} {problem}") from None
    from .redact import remember

    remember(*settings.secrets())
    settings.check()
    return settings
