"""A fake OpenAI-compatible chat model on 127.0.0.1: POST /v1/chat/completions, not streamed.

It answers from recorded answers, keyed by the message it is sent (the first user message: what
the bot let leave), in the full strict form a structured-outputs model gives: every key of the
schema, null where the message said nothing. A recorded answer is written compactly,
{"intent": ..., "figures": {key: [value, words]}}.

Behaviours for the next requests can be queued (`then`): "refuse", "invalid" (words, not JSON),
"length" (cut off), "hang" (no answer until the client gives up), an HTTP status (429 with
Retry-After, 500...), or an answer of its own. `schema=False` answers 400 to structured outputs,
as a server without them does. Everything received is recorded (path, headers, body).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PHRASINGS = Path(__file__).resolve().parents[1] / "data" / "ask_phrasings.json"


def full_answer(compact: dict) -> dict:
    """{"intent", "figures": {key: [value, words]}} -> the strict schema's answer, every key present."""
    from costcore.ask import ask_keys

    figures = {name: None for name in ask_keys()}
    for name, (value, words) in (compact.get("figures") or {}).items():
        figures[name] = {"value": value, "words": words}
    return {"intent": compact.get("intent", "analysis"), "figures": figures}


def recorded() -> dict[str, dict]:
    """The recorded answers of tests/data/ask_phrasings.json, by message."""
    return {case["text"]: case["answer"] for case in json.loads(PHRASINGS.read_text())}


class FakeModel:
    def __init__(self, answers: dict[str, dict] | None = None, *, models=("reader",), schema: bool = True):
        self.answers = dict(recorded() if answers is None else answers)
        self.models = models
        self.schema = schema
        self.retry_after = "7"  # seconds a 429 asks the client to wait
        self.requests: list[dict] = []
        self._script: list = []
        self._lock = threading.Lock()
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                         "raw": raw.decode("utf-8", "replace")}
                    )  # fmt: skip
                    behaviour = fake._script.pop(0) if fake._script else None
                if not self.path.split("?")[0].rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                if body.get("model") not in fake.models:
                    return self._json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist"}})
                fmt = (body.get("response_format") or {}).get("type")
                if fmt == "json_schema" and not fake.schema:
                    return self._json(400, {"error": {"message": "response_format json_schema is not supported"}})
                if isinstance(behaviour, int):
                    headers = {"Retry-After": fake.retry_after} if behaviour == 429 else {}
                    return self._json(behaviour, {"error": {"message": "slow down", "type": "requests"}}, headers)
                if behaviour == "hang":
                    fake.released.wait(10)
                    self.close_connection = True
                    return None
                messages = body.get("messages") or []
                asked = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
                content, finish, refusal = None, "stop", None
                if behaviour == "refuse":
                    refusal = "I can't help with that."
                elif behaviour == "invalid":
                    content = "Sure! They answer about 40k tickets a month."
                else:
                    compact = behaviour if isinstance(behaviour, dict) else fake.answers.get(asked, {"figures": {}})
                    content = json.dumps(full_answer(compact))
                    if behaviour == "length":
                        content, finish = content[: len(content) // 3], "length"
                prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
                completion = len(content or refusal or "") // 4
                return self._json(
                    200,
                    {
                        "id": f"chatcmpl-{len(fake.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content, "refusal": refusal},
                                "finish_reason": finish,
                            }
                        ],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                  "total_tokens": prompt + completion},
                    },
                )  # fmt: skip

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # a client that gave up is not news
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def then(self, *behaviours) -> None:
        """The next requests behave so, in order (then the recorded answers again)."""
        with self._lock:
            self._script.extend(behaviours)

    def chats(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"].rstrip("/").endswith("/chat/completions")]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":  # python -m tests.ask.fake_model: the recorded model, for a manual try
    fake = FakeModel()
    print(fake.url, flush=True)
    threading.Event().wait()
