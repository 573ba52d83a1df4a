"""Many workspaces: Slack's OAuth install flow, each workspace's bot token kept in the bot's own
SQLite database, and the Web API client of a job's workspace.

With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_STATE_SECRET set (and no SLACK_BOT_TOKEN), the
bot serves /slack/install (a redirect to Slack's consent page) and /slack/oauth_redirect (Bolt's
OAuthFlow: `oauth.v2.access`, then the installation is saved here). Every delivery is authorised
with its workspace's token (`StoreAuthorize`: one indexed read, no Slack call on the ack path), the
worker posts each job with the token of the job's team (`Workspaces.client`), and `app_uninstalled`
or `tokens_revoked` delete the workspace's token (Bolt's token revocation listeners, on this store).

Why not Bolt's SQLite3InstallationStore and SQLite3OAuthStateStore on the same file: they create
their tables outside the bot's migrations (two processes starting on a new file race on
CREATE TABLE), open a connection per call without the bot's busy timeout, and Bolt's default
authorizer then calls `auth.test` on every delivery unless cached. These two small stores use the
bot's migrations and connections (bot/db.py); the installer's user token is not asked for (the bot
needs none), so only bot tokens are kept.

Every bot token read or saved here is remembered by the log redactor (bot/redact.py), and each
workspace's client retries only what never reached Slack (bot/delivery.py `retry_handlers`), as the
one-workspace client does.

SLACK_STATE_SECRET signs the OAuth `state` (HMAC-SHA256): a forged or altered state is refused
before the database is read; a genuine one is also single-use and expires after ten minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Sequence

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk.oauth.installation_store import Bot as InstalledBot
from slack_sdk.oauth.installation_store import Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from .db import transaction
from .redact import remember

log = logging.getLogger("breakeven.oauth")

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot token's scopes (the manifests in deploy/ ask for the same: tests/test_deploy.py).
SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
    "im:history",  # questions in the Messages tab (docs/ask.md)
    "im:write",  # New analysis on the Home tab answers in the app's conversation with the user (conversations.open)
    "assistant:write",  # its suggested prompts, and the status while a question is read
)
STATE_EXPIRES_S = 600


def _scopes(value: str | Sequence[str] | None) -> str:
    return value if isinstance(value, str) else ",".join(value or [])


class SQLiteInstallations(InstallationStore):
    """Each workspace's bot installation, one row a team (table `workspaces`, bot/store.py)."""

    def __init__(self, store) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        if not installation.bot_token:
            raise ValueError("the installation has no bot token (the bot scopes were not granted)")
        self.save_bot(installation.to_bot())
        log.info("workspace %s (%s) installed the app", installation.team_id, installation.team_name or "")

    def save_bot(self, bot: InstalledBot) -> None:
        remember(bot.bot_token)  # installed at run time: redacted from every log line from now on
        with transaction(self.store.db) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO workspaces (team, enterprise, team_name, app_id, bot_token, bot_id, "
                "bot_user_id, bot_scopes, installed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    bot.team_id or "",
                    bot.enterprise_id or "",
                    bot.team_name,
                    bot.app_id,
                    bot.bot_token,
                    bot.bot_id,
                    bot.bot_user_id,
                    _scopes(bot.bot_scopes),
                    bot.installed_at,
                ],
            )

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> InstalledBot | None:
        row = self.store.db.execute(
            "SELECT team, enterprise, team_name, app_id, bot_token, bot_id, bot_user_id, bot_scopes, installed "
            "FROM workspaces WHERE team = ?",
            [team_id or ""],
        ).fetchone()
        if row is None:
            return None
        team, enterprise, team_name, app_id, token, bot_id, bot_user_id, scopes, installed = row
        remember(token)  # read by this process (the other one installed it): redacted here too
        return InstalledBot(
            app_id=app_id,
            enterprise_id=enterprise or None,
            team_id=team,
            team_name=team_name,
            bot_token=token,
            bot_id=bot_id,
            bot_user_id=bot_user_id,
            bot_scopes=scopes,
            installed_at=installed,
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        if user_id is not None:
            return None  # no user tokens are kept
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id,
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            team_name=bot.team_name,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id="",
            installed_at=bot.installed_at,
        )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with transaction(self.store.db) as connection:
            connection.execute("DELETE FROM workspaces WHERE team = ?", [team_id or ""])
        log.info("workspace %s: its bot token was revoked and deleted", team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # the workspace's installation itself; a user's token was never kept
            self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        log.info("workspace %s uninstalled the app", team_id)

    def teams(self) -> list[str]:
        return [row[0] for row in self.store.db.execute("SELECT team FROM workspaces ORDER BY team")]


class SignedStates(OAuthStateStore):
    """OAuth `state` values: random, signed with SLACK_STATE_SECRET, single-use, kept ten minutes."""

    def __init__(self, store, secret: str, expires_s: int = STATE_EXPIRES_S) -> None:
        self.store, self._key, self.expires_s = store, secret.encode(), expires_s

    @property
    def logger(self) -> logging.Logger:
        return log

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, *args, **kwargs) -> str:
        nonce = secrets.token_urlsafe(24)
        now = time.time()
        with transaction(self.store.db) as connection:
            connection.execute("DELETE FROM oauth_states WHERE expires < ?", [now])
            connection.execute("INSERT INTO oauth_states (nonce, expires) VALUES (?, ?)", [nonce, now + self.expires_s])
        return f"{nonce}.{self._sign(nonce)}"

    def consume(self, state: str) -> bool:
        nonce, _, signature = (state or "").partition(".")
        if not nonce or not hmac.compare_digest(self._sign(nonce), signature):
            log.warning("refused an OAuth callback: its state is not signed with SLACK_STATE_SECRET")
            return False
        with transaction(self.store.db) as connection:
            cursor = connection.execute(
                "DELETE FROM oauth_states WHERE nonce = ? AND expires >= ?", [nonce, time.time()]
            )
        return cursor.rowcount == 1


class StoreAuthorize(Authorize):
    """A delivery's workspace token from the store, without Bolt's auth.test call a delivery: the bot
    and user ids were saved at install time. None (Bolt answers the user) for a workspace not
    installed, or uninstalled since."""

    def __init__(self, installations: SQLiteInstallations) -> None:
        self.installations = installations

    def __call__(self, *, context, enterprise_id, team_id, user_id, **_actor) -> AuthorizeResult | None:
        bot = self.installations.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            log.warning("a delivery from workspace %s, which has not installed the app (or uninstalled it)", team_id)
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


def oauth_settings(settings, store):
    """Bolt's OAuthSettings for the install flow, on this bot's stores."""
    from slack_bolt.oauth.oauth_settings import OAuthSettings

    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        install_page_rendering_enabled=False,  # /slack/install goes straight to Slack's consent page
        installation_store=SQLiteInstallations(store),
        installation_store_bot_only=True,
        state_store=SignedStates(store, settings.slack_state_secret.get_secret_value()),
        state_expiration_seconds=STATE_EXPIRES_S,
    )


class Workspaces:
    """The Web API client to answer a team with: the one bot token's, or, with many workspaces, the
    team's own (None when that workspace has uninstalled the app)."""

    def __init__(self, settings, store, client=None) -> None:
        from .delivery import web_client

        self.settings, self.store = settings, store
        self.single = None if settings.oauth else (client or web_client(settings))
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def client(self, team: str):
        if self.single is not None:
            return self.single
        bot = SQLiteInstallations(self.store).find_bot(enterprise_id=None, team_id=team)
        if bot is None:
            return None
        with self._lock:  # one client a token: a reinstall's new token gets a new one
            client = self._clients.get(bot.bot_token)
            if client is None:
                from .delivery import web_client

                client = self._clients[bot.bot_token] = web_client(self.settings, token=bot.bot_token)
            return client
