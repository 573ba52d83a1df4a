"""A fake OpenAI-compatible server whose timings are recorded, not slept, for measure tests that do
not depend on the machine's speed or load.

`RecordedClock` is virtual time with one timeline per thread: each measuring thread starts at the
time of the thread that made the clock, and only the fake moves it. `RecordedLLM` is an httpx2
transport (the engine takes one: `measure(..., transport=fake, clock=fake.clock)`) that answers the
chat API as a server with the configured time to first token and time between tokens would, and
advances the reading thread's timeline by exactly those times as the engine reads each part of the
stream. So a time to first token of 150 ms measures 150 ms, on any machine, however loaded.

What happens between requests of one thread (taking the next prompt) costs no virtual time. Threads
are not scheduled in virtual time, so a run at concurrency C shares its work evenly only with
`gather=C`: then each request waits until C streams are open (a round), as on a server that serves
C at once, and a run of N = k x C requests takes exactly k answers' time.
"""

from __future__ import annotations

import json
import re
import threading

import httpx2

REPLY = re.compile(r"Reply with exactly: (.*)$", re.S)


class RecordedClock:
    def __init__(self) -> None:
        self._start_thread = threading.current_thread()
        self._times: dict[threading.Thread, float] = {}
        self._lock = threading.Lock()

    def _now(self, thread: threading.Thread) -> float:
        if thread not in self._times:
            self._times[thread] = self._times.get(self._start_thread, 0.0)
        return self._times[thread]

    def __call__(self) -> float:
        with self._lock:
            return self._now(threading.current_thread())

    def advance(self, seconds: float) -> None:
        with self._lock:
            me = threading.current_thread()
            self._times[me] = self._now(me) + seconds


class RecordedLLM(httpx2.BaseTransport):
    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("small",),
        ttft: float = 0.05,
        token_delay: float = 0.01,
        out_tokens: int = 20,
        error_every: int = 0,
        error_status: int = 500,
        hang_every: int = 0,  # the answer stops after its first chunk for `hang_s`
        hang_s: float = 3600.0,
        empty_every: int = 0,
        wrong_every: int = 0,
        usage: bool = True,
        prompt_extra_tokens: int = 0,
        cached_tokens: int = 0,
        gather: int = 1,  # streams that begin together: each request waits for the others of its round
        batch_penalty: float = 0.0,  # like a GPU: each other stream of the round slows every stream by this share
    ) -> None:
        self.models = models
        self.ttft, self.token_delay, self.out_tokens = ttft, token_delay, out_tokens
        self.error_every, self.error_status = error_every, error_status
        self.hang_every, self.hang_s = hang_every, hang_s
        self.empty_every, self.wrong_every = empty_every, wrong_every
        self.usage, self.prompt_extra_tokens, self.cached_tokens = usage, prompt_extra_tokens, cached_tokens
        self.clock = RecordedClock()
        self.gather, self.batch_penalty = gather, batch_penalty
        self._round = threading.Barrier(gather) if gather > 1 else None
        self.requests: list[dict] = []
        self.chat_count = 0
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.rstrip("/")
        body = json.loads(request.content or b"{}") if request.method == "POST" else None
        with self._lock:
            self.requests.append({"path": str(request.url), "headers": dict(request.headers), "body": body})
        if path.endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
            return httpx2.Response(200, json={"object": "list", "data": data})
        if not path.endswith("/chat/completions"):
            return httpx2.Response(404, json={"error": {"message": "not found"}})
        if body.get("model") not in self.models:
            return httpx2.Response(404, json={"error": {"message": f"The model `{body.get('model')}` does not exist"}})
        with self._lock:
            self.chat_count += 1
            n = self.chat_count
        if self.error_every and n % self.error_every == 0:
            return httpx2.Response(self.error_status, json={"error": {"message": "overloaded", "type": "server_error"}})
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=self._stream(body, n))

    def _stream(self, body: dict, n: int):
        def every(k: int) -> bool:
            return bool(k) and n % k == 0

        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            messages = body.get("messages") or []
            limit = body.get("max_completion_tokens") or body.get("max_tokens") or self.out_tokens
            match = REPLY.search(str(messages[-1].get("content") or "")) if messages else None
            if every(self.empty_every):
                pieces: list[str] = []
            elif match and every(self.wrong_every):
                pieces = ["WRONG"]
            elif match:
                pieces = re.findall(r"\S+\s*", match.group(1).strip())
            else:
                pieces = ["tok "] * min(limit, self.out_tokens)
            base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}

            def event(payload) -> bytes:
                data = payload if isinstance(payload, str) else json.dumps({**base, **payload})
                return f"data: {data}\n\n".encode()

            def choice(delta: dict, finish=None) -> dict:
                return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

            yield event(choice({"role": "assistant", "content": ""}))  # at once, as the real API does
            if self._round is not None and threading.current_thread() is not self.clock._start_thread:
                self._round.wait(timeout=30)  # the round's streams run side by side (the warm-up alone)
            delay = self.token_delay * (1 + self.batch_penalty * (self.gather - 1))
            if every(self.hang_every):
                self.clock.advance(self.hang_s)
                yield event(choice({"content": "late "}))
                return
            for i, piece in enumerate(pieces):
                self.clock.advance(self.ttft if i == 0 else delay)
                yield event(choice({"content": piece}))
            yield event(choice({}, "stop"))
            if self.usage and (body.get("stream_options") or {}).get("include_usage"):
                prompt = sum(len(str(m.get("content") or "").split()) for m in messages) + self.prompt_extra_tokens
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(pieces),
                    "total_tokens": prompt + len(pieces),
                    "prompt_tokens_details": {"cached_tokens": min(self.cached_tokens, prompt)},
                }
                yield event({"choices": [], "usage": usage})
            yield event("[DONE]")
        finally:
            with self._lock:
                self.in_flight -= 1

    def chat_requests(self) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["body"] is not None]
