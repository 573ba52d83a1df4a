"""A fake Slack Web API on 127.0.0.1: real HTTP, every call recorded, failures on demand."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Call(dict):
    """One recorded call: {"method", "args", "raw"}."""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: list[bytes] = []
        self._failures: dict[str, list[tuple[int, dict]]] = {}
        self._lock = threading.Lock()
        self._ts = 1700000000
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
                if path.startswith("/upload/"):
                    with fake._lock:
                        fake.uploads.append(raw)
                    self._reply(200, b"OK", "text/plain")
                    return
                method = path.rsplit("/", 1)[-1]
                status, body, headers = fake._answer(
                    method, raw, self.headers.get("Content-Type", ""), self.headers.get("Authorization", "")
                )
                self._reply(status, json.dumps(body).encode(), "application/json", headers)

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
        self.server.shutdown()
        self.server.server_close()

    # --- behaviour -----------------------------------------------------------------------

    def fail(self, method: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` calls of method answer HTTP status (429 with Retry-After when given)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, headers)] * times)

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
                status, headers = failures.pop(0)
                return status, {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}, headers
            self._ts += 1
            ts = f"{self._ts}.000100"
        if method == "auth.test":
            return 200, {"ok": True, "team_id": "T1", "user_id": "UBOT", "bot_id": "B1", "team": "Test"}, {}
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
