"""A fake OpenAI organization costs and usage API on 127.0.0.1, two pages each, failures on demand."""

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
    def __init__(self, days: list[dt.date]):
        self.days = days
        self.requests: list[tuple[str, dict, str]] = []
        self.failures: dict[tuple[str, str | None], list[tuple[int, dict]]] = {}
        self.hang = threading.Event()  # set at close: a hung request ends then
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append((url.path, query, self.headers.get("Authorization", "")))
                key = (url.path.rsplit("/", 1)[-1], query.get("page"))
                if fake.failures.get(key):
                    status, headers = fake.failures[key].pop(0)
                    if status == 0:  # hang past the client's timeout, then drop the connection
                        fake.hang.wait(5)
                        self.close_connection = True
                        return
                    self._send(status, {"error": {"message": "try again", "type": "server_error"}}, headers)
                    return
                self._send(200, fake.page(url.path, query.get("page")))

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

    def fail(self, endpoint: str, page: str | None, status: int, headers: dict | None = None, times: int = 1):
        """The next `times` requests of that page answer `status`; status 0 hangs (a timeout)."""
        self.failures.setdefault((endpoint, page), []).extend([(status, headers or {})] * times)

    def page(self, path: str, page: str | None) -> dict:
        """The days split in two pages: the first half, then (page=p2) the rest."""
        half = len(self.days) // 2
        days = self.days[:half] if page is None else self.days[half:]
        buckets = []
        for day in days:
            if path.endswith("/costs"):
                results = [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 60.0, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, input",
                        "project_id": None,
                    },
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": 40.0, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, output",
                        "project_id": None,
                    },
                ]
            else:
                results = [
                    {
                        "object": "organization.usage.completions.result",
                        "input_tokens": 1_000_000,
                        "output_tokens": 200_000,
                        "num_model_requests": 10_000,
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
        self.hang.set()
        self.server.shutdown()
        self.server.server_close()
