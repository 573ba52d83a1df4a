"""A fake Slack Web API on 127.0.0.1: real HTTP, every call recorded, failures on demand.

It keeps the messages posted per channel (with their metadata), so conversations.history and
conversations.replies answer as Slack would; channels can refuse the bot (not_in_channel...),
conversations.members lists who is in a channel (and users.conversations the channels of a user),
and /response/... stands for response_urls.
A `before_reply` hook runs after a call is recorded and before it is answered (the kill test
kills the bot there: the message exists, the bot never learns it). `drop` and `late` make Slack's
two unanswered successes: the call is carried out, then the connection closes without an answer,
or the answer waits until the client has given up.

Many workspaces: `installs` maps an OAuth code to the team that granted it; `oauth.v2.access`
trades the code for that team's bot token (`xoxb-<team>-bot-token`), and `auth.test` answers for
the team whose token it is given (T1 for any other token).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def team_of_token(authorization: str) -> str | None:
    """The team of a token oauth.v2.access handed out ("Bearer xoxb-<team>-bot-token")."""
    token = authorization.removeprefix("Bearer ")
    if token.startswith("xoxb-") and token.endswith("-bot-token"):
        return token.removeprefix("xoxb-").removesuffix("-bot-token")
    return None


class Call(dict):
    """One recorded call: {"method", "args", "raw"}."""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: list[bytes] = []
        self.messages: dict[str, list[dict]] = {}  # channel -> messages (and shared files), oldest first
        self._file_names: dict[str, str] = {}  # file id -> the name given when its upload began
        self.responses: list[dict] = []  # what was sent to response_urls
        self.members: dict[str, list[str]] = {}  # channel -> user ids (conversations.members)
        self.refusing: dict[str, str] = {}  # channel -> the error every post to it gets
        self.errors: dict[str, str] = {}  # method -> the error it answers (HTTP 200, ok: false), e.g. a missing scope
        self.answers: dict[str, dict] = {}  # method -> what its answer holds besides ok (conversations.info's channel)
        self.installs: dict[str, str] = {}  # OAuth code -> the team installing the app (oauth.v2.access)
        self.before_reply = None  # fn(method, args), called outside the lock
        self._failures: dict[str, list[tuple[int, dict, str]]] = {}
        self._unanswered: dict[str, list[str]] = {}  # method -> "drop" | "late", for its next calls
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._ts = 0  # message ts: now, and a counter that keeps them unique and ordered
        self.socket_url = "ws://127.0.0.1:1/"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                """/stats: calls so far by method, for a fake running in another process."""
                with fake._lock:
                    counts: dict[str, int] = {}
                    for call in fake.calls:
                        if not call["failed"]:
                            counts[call["method"]] = counts.get(call["method"], 0) + 1
                    counts["uploads"] = len(fake.uploads)
                self._reply(200, json.dumps(counts).encode(), "application/json")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = self.path.split("?")[0]
                if path.startswith("/response/"):
                    with fake._lock:
                        fake.responses.append({"path": path, **json.loads(raw or b"{}")})
                    self._reply(200, b"ok", "text/plain")
                    return
                if path.startswith("/upload/"):
                    with fake._lock:
                        fake.uploads.append(raw)
                    self._reply(200, b"OK", "text/plain")
                    return
                method = path.rsplit("/", 1)[-1]
                status, body, headers = fake._answer(
                    method, raw, self.headers.get("Content-Type", ""), self.headers.get("Authorization", "")
                )
                with fake._lock:
                    queued = fake._unanswered.get(method)
                    unanswered = queued.pop(0) if queued else None
                if unanswered == "drop":  # carried out; the client hears nothing but a closed connection
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if unanswered == "late":  # carried out; answered once the client has stopped waiting
                    fake._wait_for_hang_up(self.connection)
                    self.close_connection = True
                try:
                    self._reply(status, json.dumps(body).encode(), "application/json", headers)
                except OSError:  # the client hung up (late): nobody reads the answer
                    pass

            def _reply(self, status, data, content_type, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()

    # --- behaviour -----------------------------------------------------------------------

    def fail(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None, error: str | None = None
    ) -> None:
        """The next `times` calls of method answer HTTP status (429 with Retry-After when given), with
        `error` (default: ratelimited for 429, fatal_error otherwise)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        error = error or ("ratelimited" if status == 429 else "fatal_error")
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, headers, error)] * times)

    def drop(self, method: str, times: int = 1) -> None:
        """The next `times` successful calls of method are carried out (a post is in the channel), then
        the connection closes without an answer."""
        with self._lock:
            self._unanswered.setdefault(method, []).extend(["drop"] * times)

    def late(self, method: str, times: int = 1) -> None:
        """The next `times` successful calls of method are carried out, and answered only after the
        client has given up waiting for the answer (its timeout) and closed the connection."""
        with self._lock:
            self._unanswered.setdefault(method, []).extend(["late"] * times)

    def _wait_for_hang_up(self, connection: socket.socket, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while not self._closing.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0.2)
            if readable:
                try:
                    if connection.recv(1, socket.MSG_PEEK) == b"":
                        return
                except OSError:
                    return

    def _answer(self, method: str, raw: bytes, content_type: str, authorization: str):
        if "json" in content_type:
            args = json.loads(raw or b"{}")
        else:
            args = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            for key in ("blocks", "view", "files", "attachments"):
                if isinstance(args.get(key), str):
                    try:
                        args[key] = json.loads(args[key])
                    except ValueError:
                        pass
        with self._lock:
            failures = self._failures.get(method)
            self.calls.append(Call(method=method, args=args, authorization=authorization, failed=bool(failures)))
            if failures:
                status, headers, error = failures.pop(0)
                return status, {"ok": False, "error": error}, headers
            self._ts += 1
            ts = f"{int(time.time())}.{self._ts:06d}"
            channel = args.get("channel") or args.get("channel_id")
            refused = self.refusing.get(channel) if method.startswith(("chat.", "files.complete")) else None
            refused = refused or self.errors.get(method)
            if refused:
                self.calls[-1]["failed"] = True
                return 200, {"ok": False, "error": refused}, {}
            if method == "chat.postMessage":
                metadata = args.get("metadata")
                if isinstance(metadata, str):
                    metadata = json.loads(metadata)
                message = {"ts": ts, "text": args.get("text"), "thread_ts": args.get("thread_ts"), "metadata": metadata}
                self.messages.setdefault(channel, []).append(message)
            if method == "files.getUploadURLExternal":
                self._file_names[f"F{ts}"] = args.get("filename")
            if method == "files.completeUploadExternal" and channel:  # shared: a message with the files
                files = [
                    {"id": f.get("id"), "name": self._file_names.get(f.get("id")), "title": f.get("title")}
                    for f in args.get("files") or []
                ]
                message = {"ts": ts, "text": args.get("initial_comment"), "thread_ts": args.get("thread_ts")}
                self.messages.setdefault(channel, []).append({**message, "metadata": None, "files": files})
        if self.before_reply is not None:
            self.before_reply(method, args)
        if method in ("conversations.history", "conversations.replies"):
            return 200, self._history(method, args), {}
        if method == "conversations.members":
            members = self.members.get(args.get("channel"))
            if members is None:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            return 200, {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}, {}
        if method == "users.conversations":  # the channels `members` lists the user in
            with self._lock:
                found = [{"id": c} for c, users in self.members.items() if args.get("user") in users]
            return 200, {"ok": True, "channels": found, "response_metadata": {"next_cursor": ""}}, {}
        if method in self.answers:
            return 200, {"ok": True, **self.answers[method]}, {}
        if method == "conversations.open":  # the app's direct-message channel with the user, as Slack names it
            return 200, {"ok": True, "channel": {"id": f"D{args.get('users', '')}"}}, {}
        if method == "auth.test":
            team = team_of_token(authorization) or "T1"
            bot = "B1" if team == "T1" else f"B{team}"
            return 200, {"ok": True, "team_id": team, "user_id": f"UBOT{team}", "bot_id": bot, "team": "Test"}, {}
        if method == "oauth.v2.access":
            team = self.installs.get(args.get("code"))
            if team is None:
                return 200, {"ok": False, "error": "invalid_code"}, {}
            return 200, {
                "ok": True,
                "app_id": "A1",
                "authed_user": {"id": f"UINSTALL{team}"},
                "scope": args.get("scope_granted", "commands,chat:write,files:write"),
                "token_type": "bot",
                "access_token": f"xoxb-{team}-bot-token",
                "bot_user_id": f"UBOT{team}",
                "team": {"id": team, "name": f"Team {team}"},
                "enterprise": None,
                "is_enterprise_install": False,
            }, {}
        if method == "files.getUploadURLExternal":
            return 200, {"ok": True, "file_id": f"F{ts}", "upload_url": f"http://127.0.0.1:{self.port}/upload/{ts}"}, {}
        if method == "files.completeUploadExternal":
            files = args.get("files") or [{}]
            return 200, {"ok": True, "files": [{"id": f.get("id", "F1"), "title": f.get("title")} for f in files]}, {}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.socket_url}, {}
        if method in ("views.open", "views.update", "views.publish"):
            view = args.get("view") or {}
            return 200, {"ok": True, "view": {**view, "id": "V1", "hash": "h1"}}, {}
        if method in ("chat.postMessage", "chat.update"):
            return (
                200,
                {
                    "ok": True,
                    "channel": args.get("channel"),
                    "ts": args.get("ts") or ts,
                    "message": {"text": args.get("text")},
                },
                {},
            )
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        return 200, {"ok": True}, {}

    def _history(self, method: str, args: dict) -> dict:
        """Newest first, as Slack answers; metadata only when include_all_metadata is asked."""
        with self._lock:
            messages = list(self.messages.get(args.get("channel"), []))
        if method == "conversations.replies":
            messages = [m for m in messages if m["thread_ts"] == args.get("ts") or m["ts"] == args.get("ts")]
        else:
            messages = [m for m in messages if not m["thread_ts"]]
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata")).lower() in ("1", "true")
        found = []
        for m in reversed(messages):
            if float(m["ts"]) < oldest:
                continue
            found.append({k: v for k, v in m.items() if v is not None and (k != "metadata" or with_metadata)})
        return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` are recorded, then wait for the returned event before being answered
        (as a slow Slack would); set it, or call release(), to let them go."""
        release = threading.Event()

        def wait(called, args):
            if called == method:
                release.wait(30)

        self._held = release
        self.before_reply = wait
        return release

    def release(self) -> None:
        held = getattr(self, "_held", None)
        if held is not None:
            held.set()
        self.before_reply = None

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # --- inspection ----------------------------------------------------------------------

    def called(self, method: str, ok_only: bool = True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c["method"] == method and not (ok_only and c["failed"])]

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        """Poll until predicate() is truthy; its value. Fails the test with `what` after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; calls: {[c['method'] for c in self.calls]}")


if __name__ == "__main__":  # run alone: python -m tests.slack.fake_slack PORTFILE
    import sys

    server = FakeSlack()
    with open(sys.argv[1], "w") as out:
        out.write(server.url)
    threading.Event().wait()
