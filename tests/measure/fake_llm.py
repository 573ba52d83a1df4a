"""A fake OpenAI-compatible server on 127.0.0.1: /v1/models and streaming /v1/chat/completions.

Real HTTP (chunked SSE over keep-alive connections), with the behaviour a test configures:
time to first token, delay between tokens, output length, and every k-th request failing with an
HTTP error, hanging past the client's timeout, answering nothing, or answering wrongly. What the
client sent (path, Authorization header, body) is recorded.

Answers: a prompt that says "Reply with exactly: TEXT" is answered TEXT (one token per word);
any other prompt gets `out_tokens` tokens (or max_tokens, if smaller). Input tokens are counted
as whitespace-separated words of every message.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = re.compile(r"Reply with exactly: (.*)$", re.S)


def count_words(messages: list[dict]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in messages)


class FakeLLM:
    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("small",),
        ttft: float = 0.05,
        token_delay: float = 0.005,
        out_tokens: int = 20,
        error_every: int = 0,
        error_status: int = 500,
        hang_every: int = 0,
        empty_every: int = 0,
        wrong_every: int = 0,
        usage: bool = True,
        mode: str = "ok",  # "ok", "html" (a web page, not the API), "no-models" (/v1/models is 404)
        prompt_extra_tokens: int = 0,  # another tokenizer or template: input tokens = words + this
        batch_penalty: float = 0.0,  # like a GPU: each other stream in flight slows every stream by this share
        cached_tokens: int = 0,  # input tokens the provider says it read from its prompt cache
    ) -> None:
        self.models = models
        self.ttft, self.token_delay, self.out_tokens = ttft, token_delay, out_tokens
        self.error_every, self.error_status = error_every, error_status
        self.hang_every, self.empty_every, self.wrong_every = hang_every, empty_every, wrong_every
        self.usage, self.mode = usage, mode
        self.prompt_extra_tokens, self.batch_penalty = prompt_extra_tokens, batch_penalty
        self.cached_tokens = cached_tokens
        self.requests: list[dict] = []
        self.chat_count = 0
        self.completed = 0  # chat requests answered to the end
        self.in_flight = 0
        self.max_in_flight = 0
        self.released = threading.Event()  # set at close: a hung request ends then
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._record(self, None)
                if fake.mode == "html":
                    return self._send(200, b"<html><body>Welcome</body></html>", "text/html")
                if self.path.split("?")[0].rstrip("/").endswith("/v1/models") and fake.mode != "no-models":
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
                    return self._json(200, {"object": "list", "data": data})
                self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake._record(self, body)
                if fake.mode == "html":
                    return self._send(200, b"<html><body>Welcome</body></html>", "text/html")
                if not self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                if body.get("model") not in fake.models:
                    return self._json(
                        404,
                        {
                            "error": {
                                "message": f"The model `{body.get('model')}` does not exist",
                                "code": "model_not_found",
                            }
                        },
                    )
                with fake._lock:
                    fake.chat_count += 1
                    n = fake.chat_count
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    self._chat(body, n)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _chat(self, body: dict, n: int) -> None:
                def every(k: int) -> bool:
                    return bool(k) and n % k == 0

                if every(fake.error_every):
                    return self._json(fake.error_status, {"error": {"message": "overloaded", "type": "server_error"}})
                messages = body.get("messages") or []
                limit = body.get("max_completion_tokens") or body.get("max_tokens") or fake.out_tokens
                last = str(messages[-1].get("content") or "") if messages else ""
                match = REPLY.search(last)
                if every(fake.empty_every):
                    pieces: list[str] = []
                elif match and every(fake.wrong_every):
                    pieces = ["WRONG"]
                elif match:
                    pieces = re.findall(r"\S+\s*", match.group(1).strip())
                else:
                    pieces = ["tok "] * min(limit, fake.out_tokens)
                model = body["model"]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                }

                def event(payload) -> None:
                    data = payload if isinstance(payload, str) else json.dumps({**base, **payload})
                    raw = f"data: {data}\n\n".encode()
                    self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                    self.wfile.flush()

                def choice(delta: dict, finish=None) -> dict:
                    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

                event(choice({"role": "assistant", "content": ""}))  # at once, as the real API does: not a token
                if every(fake.hang_every):
                    fake.released.wait(30)
                    self.close_connection = True
                    return
                time.sleep(fake.ttft)
                for i, piece in enumerate(pieces):
                    if i:
                        time.sleep(fake.token_delay * (1 + fake.batch_penalty * (fake.in_flight - 1)))
                    event(choice({"content": piece}))
                event(choice({}, "stop"))
                options = body.get("stream_options") or {}
                if fake.usage and options.get("include_usage"):
                    prompt = count_words(messages) + fake.prompt_extra_tokens
                    usage = {
                        "prompt_tokens": prompt,
                        "completion_tokens": len(pieces),
                        "total_tokens": prompt + len(pieces),
                        "prompt_tokens_details": {"cached_tokens": min(fake.cached_tokens, prompt)},
                    }
                    event({"choices": [], "usage": usage})
                event("[DONE]")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                with fake._lock:
                    fake.completed += 1

            def _json(self, status: int, payload: dict) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request, client_address):  # a client that hangs up is not news
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, handler: BaseHTTPRequestHandler, body: dict | None) -> None:
        with self._lock:
            self.requests.append(
                {
                    "path": handler.path,
                    "authorization": handler.headers.get("Authorization", ""),
                    "headers": {k.lower(): v for k, v in handler.headers.items()},
                    "body": body,
                }
            )

    def chat_requests(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["body"] is not None]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # run alone for a manual try: python -m tests.measure.fake_llm
    server = FakeLLM(models=("small", "gpt-4o-mini"))
    print(server.url, flush=True)
    threading.Event().wait()
