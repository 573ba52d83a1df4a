"""The engine: what it measures matches what the fake server was set to do.

Timings come from a fake whose times are recorded on the engine's clock, not slept
(tests/measure/recorded.py): a time to first token of 150 ms measures exactly 150 ms on any machine,
however loaded, so timing checks are equalities, not bands. What the engine does over the wire
(streaming, errors, keys, URLs) is checked against a fake server over real HTTP (fake_llm.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.measure import Endpoint, MeasureError, Options, check_answer, load_prompts, measure, synthetic_prompts
from costcore import prices
from costcore.prices import list_gpus

from .conftest import reply, write_prompts
from .recorded import RecordedLLM


def own(fake, model="small", **kw) -> Endpoint:
    return Endpoint("endpoint", fake.url, model, **kw)


def run(fake, *, requests=6, concurrency=(1,), prompts=None, **options):
    prompts = prompts or synthetic_prompts(120, 40, requests)
    return measure([own(fake)], prompts, Options(requests=requests, concurrency=concurrency, **options))


def only(result) -> dict:
    assert len(result.runs) == 1
    return result.runs[0].figures()


def recorded(fake: RecordedLLM, *, requests=6, concurrency=(1,), prompts=None, progress=None, **options):
    prompts = prompts or synthetic_prompts(120, 40, requests)
    endpoint = Endpoint("endpoint", "http://fake.test/v1", "small")
    return measure(
        [endpoint], prompts, Options(requests=requests, concurrency=concurrency, **options),
        clock=fake.clock, transport=fake, progress=progress,
    )  # fmt: skip


def test_ttft_pace_and_tokens_are_what_the_server_did(fakes):
    row = only(recorded(RecordedLLM(ttft=0.15, token_delay=0.01, out_tokens=40), requests=5))
    assert row["ok"] == row["requests"] == 5 and row["failed"] == 0
    assert row["out_tokens_mean"] == 40 and row["usage_reported"] == 5  # from the usage chunk
    # TTFT is to the first token, not to the empty role chunk the server sends at once.
    assert row["ttft_ms_p50"] == row["ttft_ms_p95"] == 150.0
    assert row["output_tok_s_per_stream"] == 100.0  # one token each 10 ms
    assert row["latency_ms_p50"] == 150 + 39 * 10  # the whole answer: the first token and 39 more
    assert row["wall_s"] == 5 * 0.54 and row["requests_per_s"] == round(1 / 0.54, 4)
    # Over the wire, the same request: streamed, usage asked for, tokens as the server counts them.
    fake = fakes(out_tokens=40)
    wire = only(run(fake, requests=2))
    sent = fake.chat_requests()[-1]["body"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert wire["in_tokens_mean"] == sum(len(m["content"].split()) for m in sent["messages"])
    assert wire["out_tokens_mean"] == 40


def test_a_slower_server_measures_slower_by_exactly_as_much():
    base = only(recorded(RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=30), requests=5))
    late = only(recorded(RecordedLLM(ttft=0.35, token_delay=0.01, out_tokens=30), requests=5))
    slow = only(recorded(RecordedLLM(ttft=0.05, token_delay=0.02, out_tokens=30), requests=5))
    # 300 ms more before the first token: the TTFT shows it, and the pace of the stream does not.
    assert late["ttft_ms_p50"] - base["ttft_ms_p50"] == pytest.approx(300)
    assert late["output_tok_s_per_stream"] == base["output_tok_s_per_stream"] == 100.0
    # Twice the delay between tokens: half the pace, the same first token, 29 x 10 ms more an answer.
    assert slow["output_tok_s_per_stream"] == 50.0 and slow["ttft_ms_p50"] == base["ttft_ms_p50"]
    assert slow["latency_ms_p50"] - base["latency_ms_p50"] == pytest.approx(290)


def test_concurrency_multiplies_throughput_and_never_exceeds_the_level():
    one = only(recorded(RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=20), requests=12, concurrency=(1,)))
    fake = RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=20, gather=4)  # 4 streams at once, as served
    four = only(recorded(fake, requests=12, concurrency=(4,)))
    assert fake.max_in_flight == 4  # four streams at once, never five
    assert four["output_tok_s"] == pytest.approx(4 * one["output_tok_s"], abs=0.05)  # 12 answers in the time of 3
    assert four["requests_per_s"] == pytest.approx(4 * one["requests_per_s"], abs=0.001)
    # The pace of one stream does not depend on how many run beside it, on this server.
    assert four["output_tok_s_per_stream"] == one["output_tok_s_per_stream"]
    crowded = only(recorded(RecordedLLM(token_delay=0.01, gather=4, batch_penalty=0.5), requests=8, concurrency=(4,)))
    assert crowded["output_tok_s_per_stream"] == pytest.approx(100 / 2.5)  # 3 others slow each by half


def test_http_errors_timeouts_and_empty_answers_are_counted_as_failures(fakes):
    # The warm-up is the fake's request 1; the 12 measured ones are 2..13.
    errors = only(recorded(RecordedLLM(error_every=4, error_status=503), requests=12, concurrency=(3,)))
    assert errors["failures"] == {"HTTP 503": 3} and errors["failed"] == 3 and errors["ok"] == 9
    assert errors["failure_rate"] == 0.25
    hangs = only(recorded(RecordedLLM(hang_every=5), requests=9, request_timeout=1.5))  # 2..10: 5 and 10 hang
    assert hangs["failures"] == {"timeout": 2} and hangs["ok"] == 7
    empty = only(recorded(RecordedLLM(empty_every=3), requests=9))
    assert empty["failures"] == {"empty answer": 3} and empty["failure_rate"] == pytest.approx(3 / 9, abs=1e-4)
    # Over the wire, a real HTTP error and a stream that never ends are counted the same way.
    wire = only(run(fakes(error_every=3, hang_every=4), requests=4, request_timeout=1.0))
    assert wire["failures"] == {"HTTP 500": 1, "timeout": 1} and wire["ok"] == 2


def test_wrong_answers_make_the_measured_failure_rate(fakes, tmp_path):
    lines = [  # first, so that the fake's wrong 5th and 10th answers fall on plain ones
        reply('{"label": "billing", "urgent": true, "score": 0.9}', {"label": "billing", "urgent": True}),
        reply('```json\n{"label": "refund"}\n```', {"label": "refund"}),
    ] + [reply(str(i)) for i in range(8)]
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", lines))
    result = run(fakes(wrong_every=5), requests=10, prompts=prompts, concurrency=(2,))
    row = only(result)
    # Requests 2..11 on the fake: 5 and 10 get "WRONG"; the JSON answers (extra fields, a fence) pass.
    assert row["checked"] == 10 and row["wrong"] == 2 and row["failures"] == {"wrong answer": 2}
    assert row["failure_rate"] == 0.2
    assert result.figures["fail_ft"] == 0.2 and "fail_api" not in result.figures
    assert result.figures["ft_in_tokens"] == row["in_tokens_mean"]


def test_answer_checks():
    assert check_answer(" 4\n", "4") and not check_answer("4.", "4")
    assert check_answer('{"a": 1, "b": [2]}', {"a": 1}) and not check_answer('{"a": 2}', {"a": 1})
    assert check_answer('```json\n{"a": 1}\n```', {"a": 1}) and not check_answer("a: 1", {"a": 1})
    assert check_answer("[1, 2]", [1, 2]) and check_answer("7", 7)


def test_without_usage_tokens_are_counted_by_chunk_and_the_user_is_told(fakes):
    result = run(fakes(usage=False, out_tokens=25), requests=3)
    row = only(result)
    assert row["out_tokens_mean"] == 25 and row["usage_reported"] == 0 and row["in_tokens_mean"] is None
    assert any("reported no token usage" in note for note in result.notes)


def test_capacity_is_the_best_throughput_that_meets_the_latency_bound():
    # Like a GPU, each stream slows as more run: concurrency 4 serves more tokens a second in all
    # (4 / 2.8 = 1.43x), but each answer takes 50 + 29 x 28 = 862 ms instead of 340 ms.
    def level(concurrency: int, latency_ms=None):
        fake = RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=30, gather=concurrency, batch_penalty=0.6)
        return recorded(fake, requests=8, concurrency=(concurrency,), latency_ms=latency_ms)

    one, four = only(level(1)), only(level(4))
    assert (one["latency_ms_p95"], four["latency_ms_p95"]) == (pytest.approx(340), pytest.approx(862))
    assert four["output_tok_s"] == pytest.approx(one["output_tok_s"] * 4 * 340 / 862, abs=0.05)
    assert level(4).figures["capacity_tok_s"] == pytest.approx(four["output_tok_s"], abs=0.1)
    assert "capacity_tok_s" not in level(4, latency_ms=800).figures  # 862 ms misses a bound of 800
    impossible = level(1, latency_ms=1)
    assert "capacity_tok_s" not in impossible.figures
    assert any("no concurrency met latency=1ms at p95 (the best was 340 ms)" in n for n in impossible.notes)


def test_costs_a_request(fakes, monkeypatch, request):
    fake = fakes(models=("small", "gpt-4o-mini"), out_tokens=20, cached_tokens=100)
    prompts = synthetic_prompts(200, 20, 4)
    api = Endpoint("api", fake.url, "gpt-4o-mini", key="sk-x")
    result = measure([api, own(fake)], prompts, Options(requests=4, concurrency=(2,), gpu="l4", gpus=2, gpu_price=0.80))
    api_row, own_row = (r.figures() for r in result.runs)
    # The API at its list price for the measured tokens: gpt-4o-mini is $0.15 / $0.60 per 1M, and
    # $0.075 for input read from its cache (100 tokens a request here).
    expected = ((api_row["in_tokens_mean"] - 100) * 0.15 + 100 * 0.075 + 20 * 0.60) / 1e6
    assert api_row["cost_per_request"] == pytest.approx(expected, rel=0.01)
    assert api_row["cached_share"] == pytest.approx(100 / api_row["in_tokens_mean"], rel=0.01)
    assert any(f"add cached={100 / api_row['in_tokens_mean']:.0%}" in n for n in result.notes)
    # Self-hosting: two L4s at the price given an hour over the requests served an hour.
    assert own_row["cost_per_request"] == pytest.approx(2 * 0.80 / 3600 / own_row["requests_per_s"], rel=0.01)
    assert "L4" in own_row["cost_basis"]
    # A GPU with no always-on price in the catalogue: a measured server runs all month, so no price
    # from another billing mode stands in for it; the basis says so and what to give.
    # Every GPU has an always-on price today: withdraw the H100's, as for a variant priced in other modes only.
    kept = tuple(p for p in prices.list_prices() if not (p.gpu == "h100" and p.mode == "always-on"))
    monkeypatch.setattr(prices, "list_prices", lambda: kept)
    for cached in (prices.gpu_quote, prices.modes_priced):
        cached.cache_clear()
        request.addfinalizer(cached.cache_clear)
    unpriced = [g for g in list_gpus() if g.price_per_hour is None]
    assert [g.id for g in unpriced] == ["h100"]
    catalogue_only = measure([own(fake)], prompts, Options(requests=2, concurrency=(1,), gpu=unpriced[0].id))
    row = catalogue_only.runs[0].figures()
    assert row["cost_per_request"] is None
    assert f"no always-on price for the {unpriced[0].name}" in row["cost_basis"] and "gpu_price=" in row["cost_basis"]
    unknown = measure([own(fake)], prompts, Options(requests=2, concurrency=(1,)))
    assert unknown.runs[0].figures()["cost_per_request"] is None


def test_a_slow_progress_display_does_not_lower_the_measured_throughput():
    quick = only(recorded(RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=10), requests=5))
    calls = []

    def slow_display(progress) -> None:  # a Slack edit that takes a while, while the answers go on
        calls.append(progress)
        if len(calls) == 1:
            time.sleep(0.3)

    fake = RecordedLLM(ttft=0.05, token_delay=0.01, out_tokens=10)
    slow = only(recorded(fake, requests=5, progress=slow_display))
    assert calls and slow["requests_per_s"] == quick["requests_per_s"]  # the display is not the server's time


def test_a_stop_or_the_run_timeout_ends_it_with_what_finished(fakes):
    fake = fakes(ttft=0.05, token_delay=0.02, out_tokens=20)  # about 0.45 s an answer
    began = time.monotonic()
    result = run(fake, requests=60, concurrency=(2, 4), run_timeout=2.0)
    # The limit held: both levels would take 20 s; a starved machine may add seconds, not tens of them.
    assert time.monotonic() - began < 2.0 + 8.0
    assert result.stopped == "time limit" and len(result.runs) == 1 and result.runs[0].stopped == "time limit"
    assert result.runs[0].figures()["ok"] < 60
    stop = threading.Event()

    def stop_after_two(progress) -> None:  # as the bot would stop, or Ctrl-C in the CLI
        if progress.done >= 2:
            stop.set()

    prompts = synthetic_prompts(50, 20, 40)
    stopped = measure([own(fake)], prompts, Options(requests=40, concurrency=(2,)), stop=stop, progress=stop_after_two)
    row = stopped.runs[0].figures()
    assert stopped.stopped == "interrupted" and 2 <= row["ok"] == row["requests"] < 40  # in flight: dropped, not failed


@pytest.mark.parametrize(
    "config, model, words",
    [
        ({"mode": "html"}, "small", "not JSON: is this the OpenAI-compatible base URL"),
        ({}, "llama-70b", "has no model 'llama-70b'; it serves: small"),
        ({"mode": "no-models"}, "llama-70b", "has no model 'llama-70b' (HTTP 404"),
        ({"error_every": 1, "error_status": 500}, "small", "failed a first request (HTTP 500: overloaded)"),
    ],
)
def test_an_unusable_endpoint_is_one_clear_error(fakes, config, model, words):
    fake = fakes(**config)
    with pytest.raises(MeasureError) as caught:
        measure([own(fake, model)], synthetic_prompts(50, 10, 2), Options(requests=2, concurrency=(1,)))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_server_that_is_down_is_named():
    down = Endpoint("endpoint", "http://127.0.0.1:9/v1", "small")
    with pytest.raises(MeasureError, match=r"cannot reach http://127.0.0.1:9/v1: Connection refused"):
        measure([down], synthetic_prompts(50, 10, 1), Options(requests=1, concurrency=(1,)))


def test_keys_go_only_where_they_belong(fakes, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-123456")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-ours")
    fake = fakes(models=("small", "gpt-4o-mini"))
    keyed = own(fake, key="vllm-secret-key", key_source="--key-env VLLM_KEY")
    measure([own(fake), keyed], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    seen = {r["authorization"] for r in fake.requests}
    # The provider's key and organization from the environment never reach a self-hosted server.
    assert seen == {"Bearer no-key", "Bearer vllm-secret-key"}
    assert not any("org-ours" in str(r["headers"]) for r in fake.requests)
    api = Endpoint("api", fake.url, "gpt-4o-mini", key="sk-from-the-environment-123456")
    measure([api], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    assert fake.requests[-1]["headers"].get("openai-organization") == "org-ours"  # the API keeps it
    assert keyed.label == fake.url and "secret" not in repr(keyed)


def test_a_url_with_a_key_in_it_is_shown_without_it(fakes):
    fake = fakes()
    endpoint = Endpoint("endpoint", f"http://user:pw@127.0.0.1:{fake.port}/v1?api-key=SECRET&x=1", "small")
    result = measure([endpoint], synthetic_prompts(50, 5, 1), Options(requests=1, concurrency=(1,)))
    assert result.runs[0].figures()["endpoint"] == fake.url
    assert "SECRET" not in str(result.to_json()) and "pw" not in str(result.to_json())
    assert all("api-key=SECRET" in r["path"] for r in fake.requests)  # sent, as the server needs it


def test_prompt_files_are_checked_line_by_line(tmp_path):
    good = write_prompts(tmp_path / "good.jsonl", [reply("4"), {"messages": [{"role": "user", "content": "hi"}]}])
    loaded = load_prompts(good)
    assert len(loaded.prompts) == 2 and loaded.prompts[0].expected == "4" and len(loaded.sha256) == 64
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": "hi"}\n')
    with pytest.raises(MeasureError, match='bad.jsonl line 2: needs "messages"'):
        load_prompts(bad)
    bad.write_text("not json\n")
    with pytest.raises(MeasureError, match="line 1 is not JSON"):
        load_prompts(bad)


def test_synthetic_prompts_have_the_scenario_shape_and_differ(fakes):
    prompts = synthetic_prompts(1500, 200, 3)
    texts = [p.messages[0]["content"] for p in prompts.prompts]
    assert len(set(t[:40] for t in texts)) == 3  # different openings: no prefix-cache shortcut
    assert all(1400 <= len(t.split()) <= 1550 for t in texts)
    assert all(p.max_tokens == 200 for p in prompts.prompts)
