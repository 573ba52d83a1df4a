"""A fake OpenAI organization costs and usage API on 127.0.0.1 (stdlib http.server in a thread).

Each endpoint answers the configured days in two pages (the second asked for with page=p2);
failures are queued per (endpoint, page): an HTTP status (with headers, e.g. Retry-After), "drop"
(the connection closes without an answer) or "hang" (no answer until the client gives up).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DAY = 86400


def day_start(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


class FakeOpenAI:
    def __init__(self, days: list[dt.date], *, cost_per_day=(60.0, 40.0), usage_per_day=(1_000_000, 200_000, 10_000)):
        self.days = days
        self.cost_per_day = cost_per_day  # input line item, output line item
        self.usage_per_day = usage_per_day  # input tokens, output tokens, requests
        self.requests: list[tuple[str, dict, str]] = []
        self.failures: dict[tuple[str, str | None], list[tuple[int | str, dict]]] = {}
        self.lock = threading.Lock()
        self.released = threading.Event()  # set at close: a hanging request ends then
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(url.query).items()}
                endpoint = url.path.rsplit("/", 1)[-1]
                with fake.lock:
                    fake.requests.append((url.path, query, self.headers.get("Authorization", "")))
                    queued = fake.failures.get((endpoint, query.get("page")))
                    failure = queued.pop(0) if queued else None
                if failure is not None:
                    status, headers = failure
                    if status == "drop":
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if status == "hang":
                        fake.released.wait(10)
                        self.close_connection = True
                        return
                    self._send(status, {"error": {"message": "try again", "type": "server_error"}}, headers)
                    return
                self._send(200, fake.page(endpoint, query.get("page")))

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fail(self, endpoint: str, page: str | None, status: int | str, headers: dict | None = None, times: int = 1):
        """The next `times` requests of that page answer `status` ("drop", "hang" or an HTTP status)."""
        with self.lock:
            self.failures.setdefault((endpoint, page), []).extend([(status, headers or {})] * times)

    def asked(self, endpoint: str, page: str | None) -> int:
        return sum(1 for path, query, _ in self.requests if path.endswith(endpoint) and query.get("page") == page)

    def page(self, endpoint: str, page: str | None) -> dict:
        half = len(self.days) // 2
        days = self.days[:half] if page is None else self.days[half:]
        buckets = []
        for day in days:
            if endpoint == "costs":
                results = [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": value, "currency": "usd"},
                        "line_item": f"gpt-4o-2024-08-06, {kind}",
                        "project_id": None,
                    }
                    for value, kind in zip(self.cost_per_day, ("input", "output"), strict=True)
                ]
            else:
                tokens_in, tokens_out, requests = self.usage_per_day
                results = [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": tokens_in,
                        "output_tokens": tokens_out,
                        "num_model_requests": requests,
                        "model": "gpt-4o-2024-08-06",
                    }
                ]
            buckets.append(
                {"object": "bucket", "start_time": day_start(day), "end_time": day_start(day) + DAY, "results": results}
            )
        return {
            "object": "page",
            "data": buckets,
            "has_more": page is None,
            "next_page": "p2" if page is None else None,
        }

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
